package graphsim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Agent identity blueprints (README §1): the applications collection
// through the microsoft.graph.agentIdentityBlueprint cast, upsert by
// uniqueName, sponsors and owners, inheritable permissions and federated
// identity credentials. graphsim models only blueprint applications: a
// plain /applications/{id} that is not a blueprint is 404.

const bpCast = "microsoft.graph.agentIdentityBlueprint"

func registerBlueprintRoutes(r *router) {
	bp := "/applications/{id}/" + bpCast
	r.add("GET", "/applications/"+bpCast, listBlueprints, withRU(2))
	r.add("POST", "/applications/"+bpCast, createBlueprint)
	r.add("GET", "/applications(uniqueName='{uniqueName}')/"+bpCast, getBlueprint)
	r.add("PATCH", "/applications(uniqueName='{uniqueName}')/"+bpCast, upsertBlueprint)
	r.add("GET", bp, getBlueprint)
	r.add("PATCH", bp, patchBlueprint)
	r.add("DELETE", bp, deleteBlueprint)
	r.add("PATCH", "/applications/{appObjectId}", patchBlueprint)
	r.add("DELETE", "/applications/{appObjectId}", deleteBlueprint)
	for _, nav := range []string{"sponsors", "owners"} {
		r.add("GET", bp+"/"+nav, listAppLinks(nav))
		r.add("POST", bp+"/"+nav+"/$ref", addAppLink(nav))
		r.add("DELETE", bp+"/"+nav+"/{refId}/$ref", removeAppLink(nav))
	}
	r.add("GET", bp+"/inheritablePermissions", listInheritable)
	r.add("POST", bp+"/inheritablePermissions", createInheritable)
	r.add("GET", bp+"/inheritablePermissions/{resourceAppId}", getInheritable)
	r.add("PATCH", bp+"/inheritablePermissions/{resourceAppId}", patchInheritable)
	r.add("DELETE", bp+"/inheritablePermissions/{resourceAppId}", deleteInheritable)
	r.add("GET", "/applications/{id}/federatedIdentityCredentials", listFICs)
	r.add("POST", "/applications/{id}/federatedIdentityCredentials", createFIC)
	r.add("PATCH", "/applications/{id}/federatedIdentityCredentials(name='{name}')", upsertFIC)
	r.add("DELETE", "/applications/{id}/federatedIdentityCredentials/{ficId}", deleteFIC)
}

var appSchemaProps = setOf("addIns api appId applicationTemplateId appRoles authenticationBehaviors certification createdByAppId createdDateTime defaultRedirectUri description disabledByMicrosoftStatus displayName groupMembershipClaims identifierUris info isDeviceOnlyAuthSupported isDisabled isFallbackPublicClient keyCredentials logo managerApplications nativeAuthenticationApisEnabled notes oauth2RequirePostResponse optionalClaims parentalControlSettings passwordCredentials publicClient publisherDomain requestSignatureVerification requiredResourceAccess samlMetadataUrl serviceManagementReference servicePrincipalLockConfiguration signInAudience spa tags tokenEncryptionKeyId uniqueName verifiedPublisher web id deletedDateTime")

var blueprintType = &typeProps{name: "agentIdentityBlueprint", resource: "AgentIdentityBlueprint", schema: appSchemaProps, filterable: map[string]filterProp{
	"id": {kind: pGUID}, "appid": {}, "displayname": {}, "uniquename": {}, "description": {}, "tags": {kind: pStringColl},
	"identifieruris": {kind: pStringColl},
}}

// Default property sets: the list example (GET), the create example (POST)
// and the upsert example (PATCH create branch).
var (
	bpListProps   = []string{"id", "appId", "identifierUris", "createdByAppId", "createdDateTime", "description", "disabledByMicrosoftStatus", "displayName", "groupMembershipClaims", "publisherDomain", "signInAudience", "tags", "tokenEncryptionKeyId", "uniqueName", "serviceManagementReference", "optionalClaims", "api", "appRoles", "info", "keyCredentials", "passwordCredentials", "requiredResourceAccess", "verifiedPublisher", "web"}
	bpCreateProps = []string{"id", "appId", "identifierUris", "createdDateTime", "displayName", "publisherDomain", "requiredResourceAccess", "signInAudience"}
	bpUpsertProps = []string{"id", "deletedDateTime", "appId", "identifierUris", "createdDateTime", "displayName", "groupMembershipClaims", "optionalClaims", "publisherDomain", "requiredResourceAccess", "signInAudience", "tags", "tokenEncryptionKeyId", "api", "appRoles", "info", "keyCredentials", "passwordCredentials", "uniqueName", "web"}
)

func renderScopes(ps []PermissionScope) []object {
	out := []object{}
	for _, p := range ps {
		en := p.IsEnabled == nil || *p.IsEnabled
		typ := p.Type
		if typ == "" {
			typ = "User"
		}
		out = append(out, object{
			{"adminConsentDescription", nullable(p.AdminConsentDescription)},
			{"adminConsentDisplayName", nullable(p.AdminConsentDisplayName)},
			{"id", p.ID},
			{"isEnabled", en},
			{"type", typ},
			{"userConsentDescription", nullable(p.UserConsentDescription)},
			{"userConsentDisplayName", nullable(p.UserConsentDisplayName)},
			{"value", nullable(p.Value)},
		})
	}
	return out
}

func (s *Sim) renderApp(a *appRec) object {
	nullInfo := object{{"termsOfServiceUrl", nil}, {"supportUrl", nil}, {"privacyStatementUrl", nil}, {"marketingUrl", nil}, {"logoUrl", nil}}
	var deleted any
	if a.DeletedDateTime != nil {
		deleted = graphTime(*a.DeletedDateTime)
	}
	var created any = graphTime(a.created)
	return object{
		{"id", a.ID},
		{"deletedDateTime", deleted},
		{"appId", a.AppID},
		{"identifierUris", strs(a.IdentifierURIs)},
		{"createdByAppId", s.st.tenant.AppID},
		{"createdDateTime", created},
		{"description", nullable(a.Description)},
		{"disabledByMicrosoftStatus", nil},
		{"displayName", a.DisplayName},
		{"groupMembershipClaims", nil},
		{"publisherDomain", s.st.tenant.Domain},
		{"signInAudience", "AzureADMyOrg"},
		{"tags", strs(a.Tags)},
		{"tokenEncryptionKeyId", nil},
		{"uniqueName", nullable(a.UniqueName)},
		{"serviceManagementReference", nil},
		{"optionalClaims", nil},
		{"api", object{
			{"requestedAccessTokenVersion", 2},
			{"acceptMappedClaims", nil},
			{"knownClientApplications", []string{}},
			{"oauth2PermissionScopes", renderScopes(a.OAuth2PermissionScopes)},
			{"preAuthorizedApplications", []string{}},
		}},
		{"appRoles", []object{}},
		{"info", nullInfo},
		{"keyCredentials", []object{}},
		{"passwordCredentials", []object{}},
		{"requiredResourceAccess", []object{}},
		{"verifiedPublisher", object{{"displayName", nil}, {"verifiedPublisherId", nil}, {"addedDateTime", nil}}},
		{"web", object{
			{"redirectUris", []string{}},
			{"homePageUrl", nil},
			{"logoutUrl", nil},
			{"redirectUriSettings", []object{}},
			{"implicitGrantSettings", object{{"enableIdTokenIssuance", false}, {"enableAccessTokenIssuance", false}}},
		}},
	}
}

func (s *Sim) appItem(a *appRec, def []string) *item {
	return &item{seq: a.seq, full: s.renderApp(a), def: def, odataType: odataBlueprint, baseType: odataBlueprint, schema: appSchemaProps}
}

// appByKey resolves {id}, {appObjectId} or (uniqueName='…'). Reads honour
// replication lag; writes see every object.
func (s *Sim) appByKey(c *reqCtx, read bool) (*appRec, string) {
	var a *appRec
	key := c.params["id"]
	if k, ok := c.params["appObjectId"]; ok {
		key = k
	}
	if n, ok := c.params["uniqueName"]; ok {
		key = n
		a = s.st.appByUniqueName(n)
	} else {
		a = s.st.agent.apps[strings.ToLower(key)]
	}
	if a != nil && read && !s.visible(c, a.created) {
		a = nil
	}
	return a, key
}

func listBlueprints(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "orderby", "search"); r != nil {
		return r
	}
	var items []*item
	for _, a := range s.st.sortedApps() {
		if s.visible(c, a.created) {
			items = append(items, s.appItem(a, bpListProps))
		}
	}
	return c.list(listSpec{contextSet: "applications/" + bpCast, t: blueprintType, items: items, maxTop: 100, typed: true})
}

func getBlueprint(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	a, key := s.appByKey(c, true)
	if a == nil {
		return c.notFound(key)
	}
	sel, r := c.parseSelect(blueprintType)
	if r != nil {
		return r
	}
	ctx := "applications/" + bpCast + "/$entity"
	if sel != nil {
		ctx = "applications/" + bpCast + "(" + strings.Join(sel, ",") + ")/$entity"
	}
	out := object{{"@odata.context", c.context(ctx)}, {"@odata.type", odataBlueprint}}
	return c.jsonResp(200, append(out, s.appItem(a, bpListProps).project(sel, false)...))
}

// bpBody is a decoded blueprint create/update body.
type bpBody struct {
	set   map[string]any
	binds map[string][]string // sponsors, owners
}

// Writable blueprint properties; other application properties are refused
// with AgentBlueprint_IncompatibleProperty (README §1 "Updates").
var bpWritable = map[string]bool{"displayName": true, "description": true, "uniqueName": true, "identifierUris": true, "api": true, "tags": true}

func strList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := []string{}
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (c *reqCtx) decodeBlueprintBody(m map[string]any) (*bpBody, *response) {
	b := &bpBody{set: map[string]any{}, binds: map[string][]string{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch {
		case k == "@odata.type":
			if t, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(t, "#"), bpCast) {
				return nil, c.badRequest(fmt.Sprintf("Invalid @odata.type '%v' for resource 'AgentIdentityBlueprint'.", v))
			}
			continue
		case strings.HasSuffix(k, "@odata.bind"):
			nav := strings.TrimSuffix(k, "@odata.bind")
			if nav != "sponsors" && nav != "owners" {
				return nil, c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
			}
			urls, ok := strList(v)
			if !ok {
				return nil, c.badRequest(fmt.Sprintf("Invalid value for '%s': a collection of URLs is expected.", k))
			}
			b.binds[nav] = urls
			continue
		case k == "passwordCredentials" || k == "keyCredentials":
			// README §1: passwordCredentials can't be set by PATCH; secrets
			// and certificates go through addPassword/addKey (not modelled).
			return nil, c.badRequest(fmt.Sprintf("Property '%s' cannot be set on an agent identity blueprint in this request; use the credential actions.", k))
		}
		if !bpWritable[k] {
			if _, known := appSchemaProps[strings.ToLower(k)]; known {
				return nil, c.errResp(400, "AgentBlueprint_IncompatibleProperty", fmt.Sprintf("Property '%s' is not supported for agent identity blueprints.", k))
			}
			return nil, c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
		switch k {
		case "identifierUris", "tags":
			l, ok := strList(v)
			if !ok && v != nil {
				return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Invalid value for property '%s': a collection of Edm.String is expected.", k))
			}
			b.set[k] = l
		case "api":
			scopes, r := c.decodeAPI(v)
			if r != nil {
				return nil, r
			}
			b.set[k] = scopes
		default:
			if v == nil {
				b.set[k] = ""
				continue
			}
			sv, ok := v.(string)
			if !ok {
				return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v))
			}
			b.set[k] = sv
		}
	}
	return b, nil
}

// decodeAPI reads the api complex property; only oauth2PermissionScopes is
// stored, the other members must keep their defaults.
func (c *reqCtx) decodeAPI(v any) ([]PermissionScope, *response) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, c.badRequest("Invalid value for property 'api'.")
	}
	var out []PermissionScope
	for k, e := range m {
		switch k {
		case "oauth2PermissionScopes":
			arr, ok := e.([]any)
			if !ok {
				return nil, c.badRequest("Invalid value for property 'oauth2PermissionScopes'.")
			}
			seen := map[string]bool{}
			for _, x := range arr {
				sm, ok := x.(map[string]any)
				if !ok {
					return nil, c.badRequest("Invalid value for property 'oauth2PermissionScopes'.")
				}
				str := func(n string) string { s, _ := sm[n].(string); return s }
				p := PermissionScope{ID: strings.ToLower(str("id")), Value: str("value"), Type: str("type"),
					AdminConsentDisplayName: str("adminConsentDisplayName"), AdminConsentDescription: str("adminConsentDescription"),
					UserConsentDisplayName: str("userConsentDisplayName"), UserConsentDescription: str("userConsentDescription")}
				if b, ok := sm["isEnabled"].(bool); ok {
					p.IsEnabled = &b
				}
				for n := range sm {
					if !oneOf(n, "id", "value", "type", "adminConsentDisplayName", "adminConsentDescription", "userConsentDisplayName", "userConsentDescription", "isEnabled", "origin", "@odata.type") {
						return nil, c.badRequest(fmt.Sprintf("Invalid property '%s'.", n))
					}
				}
				if !isGUID(p.ID) {
					return nil, c.badRequest("Invalid value specified for property 'id' of resource 'PermissionScope'.")
				}
				if p.Value == "" || seen[strings.ToLower(p.Value)] || seen[p.ID] {
					return nil, c.badRequest("Invalid value specified for property 'value' of resource 'PermissionScope'.")
				}
				if p.Type != "" && !oneOf(p.Type, "User", "Admin") {
					return nil, c.badRequest("Invalid value specified for property 'type' of resource 'PermissionScope'.")
				}
				seen[strings.ToLower(p.Value)], seen[p.ID] = true, true
				out = append(out, p)
			}
		case "requestedAccessTokenVersion":
			if e != nil && fmt.Sprint(e) != "2" {
				return nil, c.errResp(400, "AgentBlueprint_IncompatibleProperty", "Property 'api.requestedAccessTokenVersion' must be 2 for agent identity blueprints.")
			}
		case "acceptMappedClaims", "knownClientApplications", "preAuthorizedApplications", "@odata.type":
			if l, ok := e.([]any); e != nil && !(ok && len(l) == 0) && k != "@odata.type" {
				return nil, c.errResp(400, "AgentBlueprint_IncompatibleProperty", fmt.Sprintf("Property 'api.%s' is not supported for agent identity blueprints.", k))
			}
		default:
			return nil, c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if out == nil {
		out = []PermissionScope{}
	}
	return out, nil
}

func (b *bpBody) apply(a *appRec) {
	for k, v := range b.set {
		switch k {
		case "displayName":
			a.DisplayName = v.(string)
		case "description":
			a.Description = v.(string)
		case "uniqueName":
			a.UniqueName = v.(string)
		case "identifierUris":
			a.IdentifierURIs = v.([]string)
		case "tags":
			a.Tags = v.([]string)
		case "api":
			a.OAuth2PermissionScopes = v.([]PermissionScope)
		}
	}
}

// resolveDirRef resolves an @odata.id/@odata.bind URL to a live directory
// object (writes are authoritative: replication lag does not apply).
func (s *Sim) resolveDirRef(c *reqCtx, raw string) (string, kind, *response) {
	id, coll, ok := parseRefURL(raw)
	if !ok {
		return "", 0, c.badRequest(fmt.Sprintf("Invalid object identifier '%s'.", raw))
	}
	if !isGUID(id) && coll == "users" {
		if u := s.st.userByUPN(id); u != nil {
			id = u.ID
		}
	}
	if !isGUID(id) {
		return "", 0, c.badRequest(fmt.Sprintf("Invalid object identifier '%s'.", id))
	}
	id = strings.ToLower(id)
	k, found := s.st.kindOf(id)
	if !found || (coll == "users" && k != kindUser) || (coll == "groups" && k != kindGroup) || (coll == "serviceprincipals" && k != kindSP) {
		return "", 0, c.notFound(id)
	}
	return id, k, nil
}

// checkSponsor applies the sponsor rules of the v1.0 post-sponsors page
// (README §1): users or groups, no service principals and no agent users;
// groups must be dynamic or Microsoft 365 and not role-assignable; at most
// 100 sponsors of which at most 5 groups. existing are the current ids.
func (s *Sim) checkSponsor(c *reqCtx, id string, k kind, existing []string) *response {
	switch k {
	case kindSP:
		return c.badRequest("Service principals cannot be sponsors. Sponsors must be users or groups.")
	case kindUser:
		if s.st.users[id].IdentityParentID != "" {
			return c.badRequest("Agent users cannot be sponsors.")
		}
	case kindGroup:
		g := s.st.groups[id]
		if !isDynamic(g.GroupTypes) && !isUnified(g.GroupTypes) {
			return c.badRequest("Sponsor groups must be dynamic membership groups or Microsoft 365 groups.")
		}
		if g.IsAssignableToRole != nil && *g.IsAssignableToRole {
			return c.badRequest("Role-assignable groups cannot be sponsors.")
		}
		groups := 1
		for _, e := range existing {
			if _, ok := s.st.groups[e]; ok {
				groups++
			}
		}
		if groups > 5 {
			return c.badRequest("A maximum of 5 groups can be sponsors.")
		}
	}
	if len(existing)+1 > 100 {
		return c.badRequest("A maximum of 100 sponsors is allowed.")
	}
	return nil
}

// resolveLinks validates sponsors/owners binds against the current lists and
// returns the ids to add.
func (s *Sim) resolveLinks(c *reqCtx, nav string, urls []string, current []string) ([]string, *response) {
	out := append([]string(nil), current...)
	var added []string
	for _, u := range urls {
		id, k, r := s.resolveDirRef(c, u)
		if r != nil {
			return nil, r
		}
		if containsID(out, id) {
			return nil, duplicateRef(c, nav)
		}
		if nav == "sponsors" {
			if r := s.checkSponsor(c, id, k, out); r != nil {
				return nil, r
			}
		} else if k == kindGroup {
			return nil, c.badRequest("Only users and service principals can be owners of an agent identity blueprint.")
		}
		out = append(out, id)
		added = append(added, id)
	}
	return added, nil
}

func createBlueprint(c *reqCtx) *response {
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	return c.s.createBlueprintFrom(c, m, "")
}

// createBlueprintFrom implements POST (sponsors required, README §1 step 1)
// and the create branch of the upsert (uniqueName given; sponsors not
// enforced: the documented upsert example has none, README §12).
func (s *Sim) createBlueprintFrom(c *reqCtx, m map[string]any, uniqueName string) *response {
	b, r := c.decodeBlueprintBody(m)
	if r != nil {
		return r
	}
	if v, _ := b.set["displayName"].(string); v == "" {
		return c.badRequest("A value is required for property 'displayName' of resource 'AgentIdentityBlueprint'.")
	}
	if uniqueName == "" && len(b.binds["sponsors"]) == 0 {
		return c.badRequest("At least one sponsor is required to create an agent identity blueprint ('sponsors@odata.bind').")
	}
	if uniqueName != "" {
		if v, ok := b.set["uniqueName"]; ok && !strings.EqualFold(fmt.Sprint(v), uniqueName) {
			return c.badRequest("Invalid value specified for property 'uniqueName' of resource 'AgentIdentityBlueprint'.")
		}
		b.set["uniqueName"] = uniqueName
	}
	if n, _ := b.set["uniqueName"].(string); n != "" && s.st.appByUniqueName(n) != nil {
		return s.conflict(c, fmt.Sprintf("Another object with the same value for property uniqueName already exists. uniqueName: %s", n))
	}
	sponsors, r := s.resolveLinks(c, "sponsors", b.binds["sponsors"], nil)
	if r != nil {
		return r
	}
	owners, r := s.resolveLinks(c, "owners", b.binds["owners"], nil)
	if r != nil {
		return r
	}
	a := &appRec{}
	b.apply(a)
	a.ID, a.AppID = s.ids.uuid(), s.ids.uuid()
	a.Sponsors, a.Owners = sponsors, owners
	// The creator is automatically an owner (README §1 step 1).
	if c.caller != nil {
		if sp := s.st.spByAppID(c.caller.appID); sp != nil && !containsID(a.Owners, sp.ID) {
			a.Owners = append(a.Owners, sp.ID)
		}
	}
	a.seq, a.created = s.st.nextSeq(), c.now
	s.st.agent.apps[a.ID] = a
	if uniqueName != "" {
		out := object{{"@odata.context", c.context("applications/$entity")}}
		return c.jsonResp(http.StatusCreated, append(out, s.appItem(a, bpUpsertProps).project(nil, false)...))
	}
	out := object{{"@odata.context", c.context("applications/" + bpCast + "/$entity")}}
	resp := c.jsonResp(http.StatusCreated, append(out, s.appItem(a, bpCreateProps).project(nil, false)...))
	resp.header.Set("Location", fmt.Sprintf("%s/v2/%s/directoryObjects/%s/Microsoft.DirectoryServices.Application", c.base, s.st.tenant.ID, a.ID))
	return resp
}

func patchBlueprint(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	if a == nil {
		return c.notFound(key)
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	return s.updateBlueprint(c, a, m)
}

func (s *Sim) updateBlueprint(c *reqCtx, a *appRec, m map[string]any) *response {
	b, r := c.decodeBlueprintBody(m)
	if r != nil {
		return r
	}
	if len(b.binds) > 0 {
		return c.badRequest("Sponsors and owners of an existing agent identity blueprint are changed through their $ref endpoints.")
	}
	if v, ok := b.set["displayName"]; ok && v == "" {
		return c.badRequest("Invalid value specified for property 'displayName' of resource 'AgentIdentityBlueprint'.")
	}
	if v, ok := b.set["uniqueName"]; ok && !strings.EqualFold(fmt.Sprint(v), a.UniqueName) {
		if a.UniqueName != "" {
			return c.badRequest("Property 'uniqueName' is read-only and cannot be set.")
		}
		if o := s.st.appByUniqueName(fmt.Sprint(v)); o != nil && o != a {
			return s.conflict(c, fmt.Sprintf("Another object with the same value for property uniqueName already exists. uniqueName: %v", v))
		}
	}
	if v, ok := b.set["api"]; ok {
		if r := checkScopeRemoval(c, a.OAuth2PermissionScopes, v.([]PermissionScope)); r != nil {
			return r
		}
	}
	b.apply(a)
	if _, ok := b.set["api"]; ok {
		// The blueprint principal publishes its application's scopes: Graph
		// keeps the service principal's oauth2PermissionScopes in step with
		// the application's, whichever was created first.
		if sp := s.st.spByAppID(a.AppID); sp != nil {
			sp.OAuth2PermissionScopes = append([]PermissionScope(nil), a.OAuth2PermissionScopes...)
		}
	}
	return c.noContent()
}

// checkScopeRemoval is Graph's rule for an application's exposed scopes: an
// enabled scope cannot be removed; it must be disabled by one PATCH and
// removed by the next.
func checkScopeRemoval(c *reqCtx, old, next []PermissionScope) *response {
	for _, o := range old {
		if o.IsEnabled != nil && !*o.IsEnabled {
			continue
		}
		if !slices.ContainsFunc(next, func(n PermissionScope) bool { return strings.EqualFold(n.ID, o.ID) }) {
			return c.errResp(400, "CannotDeleteOrUpdateEnabledEntitlement", "Permission (scope or role) cannot be deleted or updated unless disabled first.")
		}
	}
	return nil
}

// upsertBlueprint: PATCH /applications(uniqueName='x')/microsoft.graph.
// agentIdentityBlueprint (README §1 "Idempotent create"): 204 when it
// exists, 201 + body with Prefer: create-if-missing, 404 otherwise.
func upsertBlueprint(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if a != nil {
		if v, ok := m["uniqueName"]; ok && !strings.EqualFold(fmt.Sprint(v), a.UniqueName) {
			return c.badRequest("Invalid value specified for property 'uniqueName' of resource 'AgentIdentityBlueprint'.")
		}
		delete(m, "uniqueName")
		return s.updateBlueprint(c, a, m)
	}
	if !preferCreateIfMissing(c.header) {
		return c.notFound(key)
	}
	return s.createBlueprintFrom(c, m, key)
}

// deleteBlueprint soft-deletes the blueprint and, at once, its blueprint
// principal; the principal's agent identities follow after the cascade
// delay (README §1 "Delete and cascade"). Agent users are left alone.
func deleteBlueprint(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	if a == nil {
		return c.notFound(key)
	}
	at := c.now.UTC()
	a.DeletedDateTime = &at
	delete(s.st.agent.apps, a.ID)
	s.st.agent.deletedApps[a.ID] = a
	if sp := s.st.spByAppID(a.AppID); sp != nil {
		s.st.softDeleteSP(sp, c.now)
	}
	return c.noContent()
}

func (s *Sim) appLinkList(a *appRec, nav string) []string {
	if nav == "sponsors" {
		return a.Sponsors
	}
	return a.Owners
}

// idItems renders directory objects for a sponsors/owners list.
func (s *Sim) idItems(c *reqCtx, ids []string) []*item {
	var out []*item
	for i, id := range ids {
		if it := s.objectItem(c, id, int64(i+1)); it != nil {
			out = append(out, it)
		}
	}
	return out
}

func listAppLinks(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		if r := c.checkOptions("select", "top", "skiptoken", "count"); r != nil {
			return r
		}
		a, key := s.appByKey(c, true)
		if a == nil {
			return c.notFound(key)
		}
		return c.list(listSpec{contextSet: "directoryObjects", t: dirObjType, items: s.idItems(c, s.appLinkList(a, nav)), typed: true, maxTop: 999})
	}
}

func refBody(c *reqCtx) (string, *response) {
	m, r := c.readJSONObject()
	if r != nil {
		return "", r
	}
	raw, ok := m["@odata.id"].(string)
	if !ok {
		return "", c.badRequest("The request body must contain an '@odata.id' reference.")
	}
	for k := range m {
		if k != "@odata.id" && k != "@odata.context" {
			return "", c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	return raw, nil
}

func addAppLink(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		a, key := s.appByKey(c, false)
		if a == nil {
			return c.notFound(key)
		}
		raw, r := refBody(c)
		if r != nil {
			return r
		}
		added, r := s.resolveLinks(c, nav, []string{raw}, s.appLinkList(a, nav))
		if r != nil {
			return r
		}
		if nav == "sponsors" {
			a.Sponsors = append(a.Sponsors, added...)
		} else {
			a.Owners = append(a.Owners, added...)
		}
		return c.noContent()
	}
}

func removeAppLink(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		a, key := s.appByKey(c, false)
		if a == nil {
			return c.notFound(key)
		}
		id := strings.ToLower(c.params["refId"])
		if !containsID(s.appLinkList(a, nav), id) {
			return c.errResp(404, "Request_ResourceNotFound", fmt.Sprintf("One or more removed object references do not exist for the following modified properties: '%s'.", nav))
		}
		if nav == "sponsors" {
			a.Sponsors = dropID(a.Sponsors, id)
		} else {
			a.Owners = dropID(a.Owners, id)
		}
		return c.noContent()
	}
}

// Inheritable permissions (README §1): keyed by resourceAppId.

func renderInheritable(p InheritablePermission) object {
	scopes := object{}
	switch p.Kind {
	case "allAllowed":
		scopes = object{{"@odata.type", "microsoft.graph.allAllowedScopes"}, {"kind", "allAllowed"}}
	case "enumerated":
		scopes = object{{"@odata.type", "microsoft.graph.enumeratedScopes"}, {"kind", "enumerated"}, {"scopes", strs(p.Scopes)}}
	default:
		scopes = object{{"@odata.type", "microsoft.graph.noScopes"}, {"kind", "none"}}
	}
	return object{{"@odata.type", "#microsoft.graph.inheritablePermission"}, {"resourceAppId", p.ResourceAppID}, {"inheritableScopes", scopes}}
}

func (c *reqCtx) decodeInheritableScopes(v any) (string, []string, *response) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", nil, c.badRequest("A value is required for property 'inheritableScopes' of resource 'InheritablePermission'.")
	}
	t, _ := m["@odata.type"].(string)
	var kind string
	switch strings.ToLower(strings.TrimPrefix(t, "#")) {
	case "microsoft.graph.allallowedscopes":
		kind = "allAllowed"
	case "microsoft.graph.enumeratedscopes":
		kind = "enumerated"
	case "microsoft.graph.noscopes":
		kind = "none"
	default:
		return "", nil, c.badRequest("Property 'inheritableScopes' needs '@odata.type' microsoft.graph.allAllowedScopes, microsoft.graph.enumeratedScopes or microsoft.graph.noScopes.")
	}
	for k, e := range m {
		switch k {
		case "@odata.type":
		case "kind":
			if ks, _ := e.(string); e != nil && ks != kind {
				return "", nil, c.badRequest("Invalid value specified for property 'kind' of resource 'InheritableScopes'.")
			}
		case "scopes":
			if kind != "enumerated" {
				return "", nil, c.badRequest(fmt.Sprintf("Invalid property 'scopes' for type '%s'.", strings.TrimPrefix(t, "#")))
			}
		default:
			return "", nil, c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	var scopes []string
	if kind == "enumerated" {
		l, ok := strList(m["scopes"])
		if !ok || len(l) == 0 {
			return "", nil, c.badRequest("Property 'scopes' of an enumeratedScopes must list at least one scope.")
		}
		scopes = l
	}
	return kind, scopes, nil
}

func (s *Sim) inheritableOf(c *reqCtx) (*appRec, int, *response) {
	a, key := s.appByKey(c, c.method == "GET")
	if a == nil {
		return nil, -1, c.notFound(key)
	}
	rid := c.params["resourceAppId"]
	for i, p := range a.InheritablePermissions {
		if strings.EqualFold(p.ResourceAppID, rid) {
			return a, i, nil
		}
	}
	if rid != "" {
		return a, -1, c.notFound(rid)
	}
	return a, -1, nil
}

func (c *reqCtx) inheritableContext(a *appRec) string {
	return c.context("applications('" + a.ID + "')/inheritablePermissions/$entity")
}

func listInheritable(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("top", "skiptoken"); r != nil {
		return r
	}
	a, _, r := s.inheritableOf(c)
	if r != nil {
		return r
	}
	vals := []object{}
	for _, p := range a.InheritablePermissions {
		vals = append(vals, renderInheritable(p))
	}
	return c.jsonResp(200, object{{"@odata.context", c.context("applications('" + a.ID + "')/" + bpCast + "/inheritablePermissions")}, {"value", vals}})
}

func getInheritable(c *reqCtx) *response {
	a, i, r := c.s.inheritableOf(c)
	if r != nil {
		return r
	}
	return c.jsonResp(200, append(object{{"@odata.context", c.inheritableContext(a)}}, renderInheritable(a.InheritablePermissions[i])...))
}

func createInheritable(c *reqCtx) *response {
	s := c.s
	a, _, r := s.inheritableOf(c)
	if r != nil {
		return r
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	for k := range m {
		if !oneOf(k, "resourceAppId", "inheritableScopes", "@odata.type") {
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	rid, _ := m["resourceAppId"].(string)
	if !isGUID(rid) {
		return c.badRequest("Invalid value specified for property 'resourceAppId' of resource 'InheritablePermission'.")
	}
	kind, scopes, r := c.decodeInheritableScopes(m["inheritableScopes"])
	if r != nil {
		return r
	}
	for _, p := range a.InheritablePermissions {
		if strings.EqualFold(p.ResourceAppID, rid) {
			return s.conflict(c, fmt.Sprintf("Another object with the same value for property resourceAppId already exists. resourceAppId: %s", rid))
		}
	}
	p := InheritablePermission{ResourceAppID: strings.ToLower(rid), Kind: kind, Scopes: scopes}
	a.InheritablePermissions = append(a.InheritablePermissions, p)
	return c.jsonResp(http.StatusCreated, append(object{{"@odata.context", c.inheritableContext(a)}}, renderInheritable(p)...))
}

func patchInheritable(c *reqCtx) *response {
	a, i, r := c.s.inheritableOf(c)
	if r != nil {
		return r
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	for k, v := range m {
		switch k {
		case "inheritableScopes", "@odata.type":
		case "resourceAppId":
			if s, _ := v.(string); !strings.EqualFold(s, a.InheritablePermissions[i].ResourceAppID) {
				return c.badRequest("Property 'resourceAppId' is read-only and cannot be set.")
			}
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if v, ok := m["inheritableScopes"]; ok {
		kind, scopes, r := c.decodeInheritableScopes(v)
		if r != nil {
			return r
		}
		a.InheritablePermissions[i].Kind, a.InheritablePermissions[i].Scopes = kind, scopes
	}
	return c.noContent()
}

func deleteInheritable(c *reqCtx) *response {
	a, i, r := c.s.inheritableOf(c)
	if r != nil {
		return r
	}
	a.InheritablePermissions = append(a.InheritablePermissions[:i:i], a.InheritablePermissions[i+1:]...)
	return c.noContent()
}

// Federated identity credentials (README §1 step 2): name ≤120 URL-safe
// characters, immutable; issuer and subject ≤600; exactly one audience;
// issuer+subject unique per application; at most 20.

var ficNameRe = regexp.MustCompile(`^[A-Za-z0-9_~.-]{1,120}$`)

func (s *Sim) renderFIC(c *reqCtx, a *appRec, f AppFederatedCredential) object {
	return object{
		{"@odata.id", fmt.Sprintf("%s/v2/%s/directoryObjects/$/Microsoft.DirectoryServices.Application('%s')/federatedIdentityCredentials/%s", c.base, s.st.tenant.ID, a.ID, f.ID)},
		{"id", f.ID},
		{"name", f.Name},
		{"issuer", f.Issuer},
		{"subject", f.Subject},
		{"description", nullable(f.Description)},
		{"audiences", strs(f.Audiences)},
	}
}

// decodeFIC validates a FIC body onto base (the current credential for an
// update, a zero value for a create).
func (c *reqCtx) decodeFIC(m map[string]any, base AppFederatedCredential, create bool) (AppFederatedCredential, *response) {
	f := base
	f.Audiences = append([]string(nil), base.Audiences...)
	for k, v := range m {
		sv, isStr := v.(string)
		switch k {
		case "@odata.type":
		case "name":
			if !isStr {
				return f, c.badRequest("Invalid value specified for property 'name' of resource 'FederatedIdentityCredential'.")
			}
			if !create && sv != base.Name {
				return f, c.badRequest("Property 'name' is read-only and cannot be set.")
			}
			f.Name = sv
		case "issuer", "subject", "description":
			if v != nil && !isStr {
				return f, c.badRequest(fmt.Sprintf("Invalid value specified for property '%s' of resource 'FederatedIdentityCredential'.", k))
			}
			if len(sv) > 600 {
				return f, c.badRequest(fmt.Sprintf("Property '%s' is too long (maximum 600 characters).", k))
			}
			switch k {
			case "issuer":
				f.Issuer = sv
			case "subject":
				f.Subject = sv
			default:
				f.Description = sv
			}
		case "audiences":
			l, ok := strList(v)
			if !ok || len(l) != 1 || len(l[0]) > 600 || l[0] == "" {
				return f, c.badRequest("Property 'audiences' must contain exactly one value of at most 600 characters.")
			}
			f.Audiences = l
		default:
			return f, c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if !ficNameRe.MatchString(f.Name) {
		return f, c.badRequest("Invalid value specified for property 'name' of resource 'FederatedIdentityCredential'.")
	}
	for _, req := range []struct{ n, v string }{{"issuer", f.Issuer}, {"subject", f.Subject}} {
		if req.v == "" {
			return f, c.badRequest(fmt.Sprintf("A value is required for property '%s' of resource 'FederatedIdentityCredential'.", req.n))
		}
	}
	if len(f.Audiences) != 1 {
		return f, c.badRequest("Property 'audiences' must contain exactly one value of at most 600 characters.")
	}
	return f, nil
}

// checkFIC enforces per-application uniqueness and the limit; skip is the
// index of the credential being updated (-1 on create).
func checkFIC(c *reqCtx, a *appRec, f AppFederatedCredential, skip int) *response {
	for i, o := range a.FederatedIdentityCredentials {
		if i == skip {
			continue
		}
		if strings.EqualFold(o.Name, f.Name) {
			return c.badRequest(fmt.Sprintf("FederatedIdentityCredential with name %s already exists.", f.Name))
		}
		if o.Issuer == f.Issuer && o.Subject == f.Subject {
			return c.badRequest(fmt.Sprintf("FederatedIdentityCredential with issuer %s and subject %s already exists.", f.Issuer, f.Subject))
		}
	}
	if skip < 0 && len(a.FederatedIdentityCredentials) >= maxFICsPerApplication {
		return c.badRequest(fmt.Sprintf("The application already has the maximum of %d federated identity credentials.", maxFICsPerApplication))
	}
	return nil
}

func (c *reqCtx) ficContext(a *appRec) string {
	return c.context("applications('" + a.ID + "')/federatedIdentityCredentials/$entity")
}

func listFICs(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "top", "skiptoken", "filter"); r != nil {
		return r
	}
	a, key := s.appByKey(c, true)
	if a == nil {
		return c.notFound(key)
	}
	vals := []object{}
	for _, f := range a.FederatedIdentityCredentials {
		vals = append(vals, s.renderFIC(c, a, f)[1:])
	}
	return c.jsonResp(200, object{{"@odata.context", c.context("applications('" + a.ID + "')/federatedIdentityCredentials")}, {"value", vals}})
}

func createFIC(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	if a == nil {
		return c.notFound(key)
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	f, r := c.decodeFIC(m, AppFederatedCredential{}, true)
	if r != nil {
		return r
	}
	return s.addFIC(c, a, f)
}

func (s *Sim) addFIC(c *reqCtx, a *appRec, f AppFederatedCredential) *response {
	if r := checkFIC(c, a, f, -1); r != nil {
		return r
	}
	f.ID = s.ids.uuid()
	a.FederatedIdentityCredentials = append(a.FederatedIdentityCredentials, f)
	return c.jsonResp(http.StatusCreated, append(object{{"@odata.context", c.ficContext(a)}}, s.renderFIC(c, a, f)...))
}

// upsertFIC: PATCH …/federatedIdentityCredentials(name='x') updates an
// existing credential (204); it creates one (201 + body) only with Prefer:
// create-if-missing, and is 404 without it: Microsoft's
// federatedidentitycredential-upsert page says the header is what makes
// the request an upsert, otherwise it is an update.
func upsertFIC(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	if a == nil {
		return c.notFound(key)
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	name := c.params["name"]
	for i, o := range a.FederatedIdentityCredentials {
		if strings.EqualFold(o.Name, name) {
			f, r := c.decodeFIC(m, o, false)
			if r != nil {
				return r
			}
			if r := checkFIC(c, a, f, i); r != nil {
				return r
			}
			a.FederatedIdentityCredentials[i] = f
			return c.noContent()
		}
	}
	if !preferCreateIfMissing(c.header) {
		return c.notFound(name)
	}
	if v, ok := m["name"]; ok && v != name {
		return c.badRequest("Invalid value specified for property 'name' of resource 'FederatedIdentityCredential'.")
	}
	m["name"] = name
	f, r := c.decodeFIC(m, AppFederatedCredential{}, true)
	if r != nil {
		return r
	}
	return s.addFIC(c, a, f)
}

func deleteFIC(c *reqCtx) *response {
	s := c.s
	a, key := s.appByKey(c, false)
	if a == nil {
		return c.notFound(key)
	}
	id := c.params["ficId"]
	for i, f := range a.FederatedIdentityCredentials {
		if strings.EqualFold(f.ID, id) {
			a.FederatedIdentityCredentials = append(a.FederatedIdentityCredentials[:i:i], a.FederatedIdentityCredentials[i+1:]...)
			return c.noContent()
		}
	}
	return c.notFound(id)
}
