package graphsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Blueprint principals, agent identities and agent users (README §1 steps
// 4–6), service principal look-ups and deletion.

const (
	aiCast  = "microsoft.graph.agentIdentity"
	bppCast = "microsoft.graph.agentIdentityBlueprintPrincipal"
	auCast  = "microsoft.graph.agentUser"
)

func registerAgentSPRoutes(r *router) {
	r.add("GET", "/servicePrincipals/"+bppCast, listSPsOfType(odataBlueprintPrinc, bppCast))
	r.add("POST", "/servicePrincipals/"+bppCast, createBlueprintPrincipal)
	r.add("GET", "/servicePrincipals/"+aiCast, listSPsOfType(odataAgentIdentity, aiCast))
	r.add("POST", "/servicePrincipals/"+aiCast, createAgentIdentity)
	ai := "/servicePrincipals/{id}/" + aiCast
	r.add("GET", ai, getAgentIdentity)
	r.add("PATCH", ai, patchAgentIdentity)
	r.add("DELETE", ai, deleteServicePrincipal(true))
	r.add("GET", ai+"/sponsors", listSPSponsors)
	r.add("POST", ai+"/sponsors/$ref", addSPSponsor)
	r.add("DELETE", ai+"/sponsors/{refId}/$ref", removeSPSponsor)
	r.add("GET", "/servicePrincipals(appId='{appId}')", getServicePrincipal)
	r.add("GET", "/servicePrincipals/{spId}", getServicePrincipal)
	r.add("DELETE", "/servicePrincipals/{spId}", deleteServicePrincipal(false))
	for _, action := range []string{"addPassword", "addKey"} {
		r.add("POST", "/servicePrincipals/{spId}/"+action, addSPCredential)
	}
	r.add("GET", "/users/"+auCast, listAgentUsers, withRU(2))
	r.add("POST", "/users/"+auCast, createAgentUser)
	r.add("DELETE", "/users/{id}", deleteAgentUser)
}

// agentSchemaProps: servicePrincipal plus the agentIdentity members.
var agentSchemaProps = func() map[string]string {
	m := map[string]string{}
	for k, v := range spSchemaProps {
		m[k] = v
	}
	for _, n := range []string{"agentIdentityBlueprintId", "createdDateTime", "publisherName", "publishedPermissionScopes"} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

var agentSPType = &typeProps{name: "servicePrincipal", resource: "ServicePrincipal", schema: agentSchemaProps, filterable: map[string]filterProp{
	"id": {kind: pGUID}, "appid": {}, "displayname": {}, "serviceprincipaltype": {}, "accountenabled": {kind: pBool},
	"agentidentityblueprintid": {}, "tags": {kind: pStringColl},
}}

var (
	aiListProps   = []string{"id", "displayName", "createdDateTime", "createdByAppId", "agentIdentityBlueprintId", "accountEnabled", "disabledByMicrosoftStatus", "servicePrincipalType", "tags"}
	aiCreateProps = []string{"id", "createdByAppId", "displayName", "servicePrincipalType", "tags", "agentIdentityBlueprintId"}
	bppProps      = []string{"id", "accountEnabled", "appId", "appRoleAssignmentRequired", "createdByAppId", "displayName", "publisherName", "servicePrincipalNames", "signInAudience", "servicePrincipalType", "tags", "appRoles", "info", "publishedPermissionScopes"}
)

// agentFields are the service principal properties beyond the default set
// (appended to spRec.render for $select, $filter and the agent shapes).
func (s *spRec) agentFields() []field {
	scopes := renderScopes(s.OAuth2PermissionScopes)
	var bpID any
	if s.ODataType == odataAgentIdentity {
		bpID = s.AgentIdentityBlueprintID
	}
	names := []string{s.AppID}
	return []field{
		{"appRoleAssignmentRequired", false},
		{"createdByAppId", nullable(s.CreatedByAppID)},
		{"createdDateTime", graphTime(s.created)},
		{"disabledByMicrosoftStatus", nil},
		{"publisherName", nil},
		{"servicePrincipalNames", names},
		{"signInAudience", "AzureADMyOrg"},
		{"tags", strs(s.Tags)},
		{"info", object{{"termsOfServiceUrl", nil}, {"supportUrl", nil}, {"privacyStatementUrl", nil}, {"marketingUrl", nil}, {"logoUrl", nil}}},
		{"oauth2PermissionScopes", scopes},
		{"publishedPermissionScopes", scopes},
		{"agentIdentityBlueprintId", bpID},
	}
}

func spItem(sp *spRec, def []string, schema map[string]string) *item {
	return &item{seq: sp.seq, full: sp.render(), def: def, odataType: sp.odataType(), baseType: kindSP.odataType(), schema: schema}
}

func listSPsOfType(odataType, cast string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "orderby", "search"); r != nil {
			return r
		}
		def := aiListProps
		if odataType == odataBlueprintPrinc {
			def = bppProps
		}
		var items []*item
		for _, sp := range s.st.sortedSPs() {
			if sp.ODataType == odataType && s.visible(c, sp.created) {
				items = append(items, spItem(sp, def, agentSchemaProps))
			}
		}
		return c.list(listSpec{contextSet: "servicePrincipals/" + cast, t: agentSPType, items: items, maxTop: 100})
	}
}

// spByKey resolves {spId}, {id} or (appId='…').
func (s *Sim) spByKey(c *reqCtx, read bool) (*spRec, string) {
	var sp *spRec
	key := c.params["spId"]
	if k, ok := c.params["id"]; ok {
		key = k
	}
	if a, ok := c.params["appId"]; ok {
		key = a
		sp = s.st.spByAppID(a)
	} else {
		sp = s.st.sps[strings.ToLower(key)]
	}
	if sp != nil && read && !s.visible(c, sp.created) {
		sp = nil
	}
	return sp, key
}

func getServicePrincipal(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	sp, key := s.spByKey(c, true)
	if sp == nil {
		return c.notFound(key)
	}
	sel, r := c.parseSelect(agentSPType)
	if r != nil {
		return r
	}
	ctx := "servicePrincipals/$entity"
	if sel != nil {
		ctx = "servicePrincipals(" + strings.Join(sel, ",") + ")/$entity"
	}
	out := object{{"@odata.context", c.context(ctx)}}
	if sp.ODataType != "" {
		out = append(out, field{"@odata.type", sp.ODataType})
	}
	def := spDefaultProps
	switch sp.ODataType {
	case odataAgentIdentity:
		def = aiListProps
	case odataBlueprintPrinc:
		def = bppProps
	}
	return c.jsonResp(200, append(out, spItem(sp, def, agentSchemaProps).project(sel, false)...))
}

// objectConflict is the observed Request_MultipleObjectsWithSameKeyValue
// body (examples/error-Request_MultipleObjectsWithSameKeyValue.observed).
func (c *reqCtx) objectConflict(status int, msg string) *response {
	r := c.errResp(status, "Request_MultipleObjectsWithSameKeyValue", msg)
	out := object{{"error", object{
		{"code", "Request_MultipleObjectsWithSameKeyValue"},
		{"message", msg},
		{"details", []object{{{"code", "ObjectConflict"}, {"message", msg}, {"target", "None"}, {"blockedWord", ""}, {"prefix", ""}, {"suffix", ""}}}},
		{"innerError", object{{"date", innerDate(c.now)}, {"request-id", c.requestID}, {"client-request-id", c.clientID}}},
	}}}
	r.body, _ = marshal(out)
	return r
}

func credentialsRefused(c *reqCtx) *response {
	return c.errResp(400, "AgentIdentity_CredentialsNotSupported", "Credentials are not supported on agent identities.")
}

// checkODataType accepts an optional @odata.type naming want.
func checkODataType(c *reqCtx, m map[string]any, want, resource string) *response {
	if v, ok := m["@odata.type"]; ok {
		if t, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(t, "#"), want) {
			return c.badRequest(fmt.Sprintf("Invalid @odata.type '%v' for resource '%s'.", v, resource))
		}
	}
	return nil
}

func createBlueprintPrincipal(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if r := checkODataType(c, m, bppCast, "AgentIdentityBlueprintPrincipal"); r != nil {
		return r
	}
	var tags []string
	var sponsorURLs []string
	for k, v := range m {
		switch k {
		case "appId", "@odata.type":
		case "tags":
			l, ok := strList(v)
			if !ok {
				return c.badRequest("Invalid value for property 'tags': a collection of Edm.String is expected.")
			}
			tags = l
		case "sponsors@odata.bind":
			l, ok := strList(v)
			if !ok {
				return c.badRequest("Invalid value for 'sponsors@odata.bind': a collection of URLs is expected.")
			}
			sponsorURLs = l
		case "passwordCredentials", "keyCredentials":
			return c.badRequest(fmt.Sprintf("Property '%s' cannot be set when creating a service principal.", k))
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	appID, _ := m["appId"].(string)
	if appID == "" {
		return c.badRequest("A value is required for property 'appId' of resource 'ServicePrincipal'.")
	}
	a := s.st.appByAppID(appID)
	if a == nil {
		return c.badRequest(fmt.Sprintf("The appId '%s' of the service principal does not reference a valid agent identity blueprint.", appID))
	}
	if s.st.spByAppID(appID) != nil {
		return c.objectConflict(400, fmt.Sprintf("The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", a.AppID))
	}
	sponsors, r := s.resolveLinks(c, "sponsors", sponsorURLs, nil)
	if r != nil {
		return r
	}
	sp := &spRec{seq: s.st.nextSeq(), created: c.now}
	sp.ID, sp.AppID, sp.DisplayName = s.ids.uuid(), a.AppID, a.DisplayName
	sp.ServicePrincipalType, sp.AccountEnabled, sp.ODataType = "Application", boolPtr(true), odataBlueprintPrinc
	sp.CreatedByAppID, sp.Tags, sp.Sponsors = callerAppID(c, graphAppID), tags, sponsors
	sp.OAuth2PermissionScopes = append([]PermissionScope(nil), a.OAuth2PermissionScopes...)
	s.st.sps[sp.ID] = sp
	out := object{{"@odata.context", c.context("servicePrincipals/" + bppCast + "/$entity")}, {"@odata.type", odataBlueprintPrinc}}
	return c.jsonResp(http.StatusCreated, append(out, spItem(sp, bppProps, agentSchemaProps).project(nil, false)...))
}

func callerAppID(c *reqCtx, def string) string {
	if c.caller != nil && c.caller.appID != "" {
		return c.caller.appID
	}
	return def
}

// createAgentIdentity: README §1 step 5. displayName, agentIdentityBlueprintId
// (the blueprint's appId) and sponsors are required; the blueprint principal
// must exist; credentials are refused.
func createAgentIdentity(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if r := checkODataType(c, m, aiCast, "AgentIdentity"); r != nil {
		return r
	}
	var binds = map[string][]string{}
	sp := &spRec{}
	sp.AccountEnabled = boolPtr(true)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch k {
		case "@odata.type":
		case "displayName", "agentIdentityBlueprintId":
			sv, _ := v.(string)
			if k == "displayName" {
				sp.DisplayName = sv
			} else {
				sp.AgentIdentityBlueprintID = strings.ToLower(sv)
			}
		case "accountEnabled":
			b, ok := v.(bool)
			if !ok {
				return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v))
			}
			sp.AccountEnabled = &b
		case "tags":
			l, ok := strList(v)
			if !ok {
				return c.badRequest("Invalid value for property 'tags': a collection of Edm.String is expected.")
			}
			sp.Tags = l
		case "sponsors@odata.bind", "owners@odata.bind":
			l, ok := strList(v)
			if !ok {
				return c.badRequest(fmt.Sprintf("Invalid value for '%s': a collection of URLs is expected.", k))
			}
			binds[strings.TrimSuffix(k, "@odata.bind")] = l
		case "passwordCredentials", "keyCredentials", "federatedIdentityCredentials":
			return credentialsRefused(c)
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if sp.DisplayName == "" {
		return c.badRequest("A value is required for property 'displayName' of resource 'AgentIdentity'.")
	}
	if sp.AgentIdentityBlueprintID == "" {
		return c.badRequest("A value is required for property 'agentIdentityBlueprintId' of resource 'AgentIdentity'.")
	}
	if p := s.st.spByAppID(sp.AgentIdentityBlueprintID); p == nil || p.ODataType != odataBlueprintPrinc {
		return c.errResp(400, "AgentIdentity_AgentBlueprintPrincipalDoesNotExist", fmt.Sprintf("The agent identity blueprint principal for appId '%s' does not exist in this tenant.", sp.AgentIdentityBlueprintID))
	}
	if len(binds["sponsors"]) == 0 {
		return c.badRequest("At least one sponsor is required to create an agent identity ('sponsors@odata.bind').")
	}
	sponsors, r := s.resolveLinks(c, "sponsors", binds["sponsors"], nil)
	if r != nil {
		return r
	}
	owners, r := s.resolveLinks(c, "owners", binds["owners"], nil)
	if r != nil {
		return r
	}
	sp.ID = s.ids.uuid()
	sp.AppID = sp.ID // observed: appId == id (README §1 step 5)
	sp.ServicePrincipalType, sp.ODataType = "ServiceIdentity", odataAgentIdentity
	sp.CreatedByAppID = callerAppID(c, sp.AgentIdentityBlueprintID)
	sp.Sponsors = sponsors
	sp.seq, sp.created = s.st.nextSeq(), c.now
	s.st.sps[sp.ID] = sp
	_ = owners // validated; service principal owners are not stored (gap)
	out := object{{"@odata.context", c.context("servicePrincipals/$entity")}, {"@odata.type", odataAgentIdentity}}
	return c.jsonResp(http.StatusCreated, append(out, spItem(sp, aiCreateProps, agentSchemaProps).project(nil, false)...))
}

func (s *Sim) agentIdentityByKey(c *reqCtx, read bool) (*spRec, *response) {
	sp, key := s.spByKey(c, read)
	if sp == nil || sp.ODataType != odataAgentIdentity {
		return nil, c.notFound(key)
	}
	return sp, nil
}

func getAgentIdentity(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	sp, r := s.agentIdentityByKey(c, true)
	if r != nil {
		return r
	}
	sel, r := c.parseSelect(agentSPType)
	if r != nil {
		return r
	}
	out := object{{"@odata.context", c.context("servicePrincipals/" + aiCast + "/$entity")}, {"@odata.type", odataAgentIdentity}}
	return c.jsonResp(200, append(out, spItem(sp, aiListProps, agentSchemaProps).project(sel, false)...))
}

// patchAgentIdentity: displayName, accountEnabled and tags (README §1
// "Updates"); credentials are refused; sponsors go through $ref.
func patchAgentIdentity(c *reqCtx) *response {
	s := c.s
	sp, r := s.agentIdentityByKey(c, false)
	if r != nil {
		return r
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if r := checkODataType(c, m, aiCast, "AgentIdentity"); r != nil {
		return r
	}
	next := *sp
	for k, v := range m {
		switch k {
		case "@odata.type":
		case "displayName":
			sv, ok := v.(string)
			if !ok || sv == "" {
				return c.badRequest("Invalid value specified for property 'displayName' of resource 'AgentIdentity'.")
			}
			next.DisplayName = sv
		case "accountEnabled":
			b, ok := v.(bool)
			if !ok {
				return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v))
			}
			next.AccountEnabled = &b
		case "tags":
			l, ok := strList(v)
			if !ok {
				return c.badRequest("Invalid value for property 'tags': a collection of Edm.String is expected.")
			}
			next.Tags = l
		case "passwordCredentials", "keyCredentials", "federatedIdentityCredentials":
			return credentialsRefused(c)
		case "agentIdentityBlueprintId", "appId", "servicePrincipalType":
			return c.badRequest(fmt.Sprintf("Property '%s' is read-only and cannot be set.", k))
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	*sp = next
	return c.noContent()
}

// deleteServicePrincipal soft-deletes (agent identities and blueprint
// principals; other service principals too). Deleting a blueprint principal
// starts the identity cascade (agent_store.go agentTick).
func deleteServicePrincipal(agentOnly bool) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		sp, key := s.spByKey(c, false)
		if sp == nil || (agentOnly && sp.ODataType != odataAgentIdentity) {
			return c.notFound(key)
		}
		s.st.softDeleteSP(sp, c.now)
		return c.noContent()
	}
}

func addSPCredential(c *reqCtx) *response {
	s := c.s
	sp, key := s.spByKey(c, false)
	if sp == nil {
		return c.notFound(key)
	}
	if sp.ODataType == odataAgentIdentity {
		return credentialsRefused(c)
	}
	return c.badRequest("graphsim does not model service principal credentials.")
}

func listSPSponsors(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "top", "skiptoken", "count"); r != nil {
		return r
	}
	sp, r := s.agentIdentityByKey(c, true)
	if r != nil {
		return r
	}
	return c.list(listSpec{contextSet: "directoryObjects", t: dirObjType, items: s.idItems(c, sp.Sponsors), typed: true, maxTop: 999})
}

func addSPSponsor(c *reqCtx) *response {
	s := c.s
	sp, r := s.agentIdentityByKey(c, false)
	if r != nil {
		return r
	}
	raw, r := refBody(c)
	if r != nil {
		return r
	}
	added, r := s.resolveLinks(c, "sponsors", []string{raw}, sp.Sponsors)
	if r != nil {
		return r
	}
	sp.Sponsors = append(sp.Sponsors, added...)
	return c.noContent()
}

func removeSPSponsor(c *reqCtx) *response {
	s := c.s
	sp, r := s.agentIdentityByKey(c, false)
	if r != nil {
		return r
	}
	id := strings.ToLower(c.params["refId"])
	if !containsID(sp.Sponsors, id) {
		return c.errResp(404, "Request_ResourceNotFound", "One or more removed object references do not exist for the following modified properties: 'sponsors'.")
	}
	sp.Sponsors = dropID(sp.Sponsors, id)
	return c.noContent()
}

// Agent users (README §1 step 6).

var auCreateProps = []string{"id", "businessPhones", "displayName", "mail", "mailNickname", "userPrincipalName", "identityParentId"}

func listAgentUsers(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "orderby", "search"); r != nil {
		return r
	}
	var items []*item
	for _, u := range s.st.sortedUsers() {
		if u.IdentityParentID != "" && s.visible(c, u.created) {
			items = append(items, &item{seq: u.seq, full: u.render(), def: append(append([]string{}, userDefaultProps...), "identityParentId"), odataType: odataAgentUser, schema: userSchemaProps})
		}
	}
	return c.list(listSpec{contextSet: "users/" + auCast, t: userType, items: items, maxTop: 999})
}

func createAgentUser(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if r := checkODataType(c, m, auCast, "AgentUser"); r != nil {
		return r
	}
	u := &userRec{}
	var enabled *bool
	for k, v := range m {
		sv, isStr := v.(string)
		switch k {
		case "@odata.type":
		case "accountEnabled":
			b, ok := v.(bool)
			if !ok {
				return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v))
			}
			enabled = &b
		case "displayName", "mailNickname", "userPrincipalName", "identityParentId", "givenName", "surname", "jobTitle", "department", "usageLocation":
			if !isStr {
				return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v))
			}
			switch k {
			case "displayName":
				u.DisplayName = sv
			case "mailNickname":
				u.MailNickname = sv
			case "userPrincipalName":
				u.UserPrincipalName = sv
			case "identityParentId":
				u.IdentityParentID = strings.ToLower(sv)
			case "givenName":
				u.GivenName = sv
			case "surname":
				u.Surname = sv
			case "jobTitle":
				u.JobTitle = sv
			case "department":
				u.Department = sv
			case "usageLocation":
				u.UsageLocation = sv
			}
		case "passwordProfile", "passwordPolicies":
			return c.badRequest("Agent users do not support password authentication.")
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	for _, req := range []struct{ n, v string }{{"displayName", u.DisplayName}, {"mailNickname", u.MailNickname}, {"userPrincipalName", u.UserPrincipalName}, {"identityParentId", u.IdentityParentID}} {
		if req.v == "" {
			return c.badRequest(fmt.Sprintf("A value is required for property '%s' of resource 'AgentUser'.", req.n))
		}
	}
	if enabled == nil {
		return c.badRequest("A value is required for property 'accountEnabled' of resource 'AgentUser'.")
	}
	parent := s.st.sps[u.IdentityParentID]
	if parent == nil || parent.ODataType != odataAgentIdentity {
		return c.badRequest(fmt.Sprintf("Invalid value specified for property 'identityParentId': '%s' is not an agent identity.", u.IdentityParentID))
	}
	for _, o := range s.st.users {
		if o.IdentityParentID == u.IdentityParentID {
			return c.badRequest(fmt.Sprintf("An agent user already exists for the agent identity '%s'.", u.IdentityParentID))
		}
	}
	if s.st.userByUPN(u.UserPrincipalName) != nil {
		return s.conflict(c, "Another object with the same value for property userPrincipalName already exists.")
	}
	u.ID = s.ids.uuid()
	u.AccountEnabled = enabled
	u.Mail = u.UserPrincipalName
	u.UserType = "Member"
	u.seq, u.created = s.st.nextSeq(), c.now
	s.st.users[u.ID] = u
	s.st.usersChanged()
	it := &item{seq: u.seq, full: u.render(), def: auCreateProps, schema: userSchemaProps}
	out := object{{"@odata.context", c.context("users/$entity")}, {"@odata.type", odataAgentUser}}
	return c.jsonResp(http.StatusCreated, append(out, it.project(nil, false)...))
}

// deleteAgentUser: DELETE /users/{id} for agent users. graphsim models no
// other user writes, so deleting an ordinary user is refused.
func deleteAgentUser(c *reqCtx) *response {
	s := c.s
	id := strings.ToLower(c.params["id"])
	u := s.st.users[id]
	if u == nil {
		if u = s.st.userByUPN(c.params["id"]); u == nil {
			return c.notFound(c.params["id"])
		}
	}
	if u.IdentityParentID == "" {
		return c.badRequest("graphsim models user deletion only for agent users.")
	}
	delete(s.st.users, u.ID)
	s.st.usersChanged()
	s.st.removeLinksTo(u.ID)
	s.st.dropGrantsOf(u.ID)
	return c.noContent()
}
