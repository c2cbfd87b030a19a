package graphsim

import (
	"fmt"
	"net/http"
	"strings"
)

// App role assignments and delegated permission grants (README §2).
//
// Assignments are stored once and listed from both sides: the resource's
// appRoleAssignedTo and the principal's appRoleAssignments. Inherited
// assignments: an agent identity lists only its own assignments (Graph
// does not materialize inherited ones); EffectiveAppRoles adds those of its
// blueprint principal, which is what its tokens would carry.

func registerGrantRoutes(r *router) {
	for _, nav := range []string{"appRoleAssignedTo", "appRoleAssignments"} {
		ru := 1
		if nav == "appRoleAssignments" {
			ru = 2
		}
		r.add("GET", "/servicePrincipals/{spId}/"+nav, listRoleAssignments(nav), withRU(ru))
		r.add("POST", "/servicePrincipals/{spId}/"+nav, createRoleAssignment(nav))
		r.add("DELETE", "/servicePrincipals/{spId}/"+nav+"/{assignmentId}", deleteRoleAssignment(nav))
	}
	r.add("GET", "/oauth2PermissionGrants", listGrants, withRU(2))
	r.add("POST", "/oauth2PermissionGrants", createGrant)
	r.add("GET", "/oauth2PermissionGrants/{grantId}", getGrant, withRU(2))
	r.add("PATCH", "/oauth2PermissionGrants/{grantId}", patchGrant)
	r.add("DELETE", "/oauth2PermissionGrants/{grantId}", deleteGrant)
}

var assignmentType2 = &typeProps{name: "appRoleAssignment", resource: "AppRoleAssignment",
	schema:     setOf("id deletedDateTime appRoleId createdDateTime principalDisplayName principalId principalType resourceDisplayName resourceId"),
	filterable: map[string]filterProp{"principalid": {kind: pGUID}, "resourceid": {kind: pGUID}, "approleid": {kind: pGUID}, "principaltype": {}}}

var grantType = &typeProps{name: "oAuth2PermissionGrant", resource: "OAuth2PermissionGrant",
	schema:     setOf("id clientId consentType principalId resourceId scope"),
	filterable: map[string]filterProp{"id": {}, "clientid": {kind: pGUID}, "resourceid": {kind: pGUID}, "principalid": {kind: pGUID}, "consenttype": {}}}

func (s *Sim) displayNameOf(id string) any {
	if u, ok := s.st.users[id]; ok {
		return nullable(u.DisplayName)
	}
	if g, ok := s.st.groups[id]; ok {
		return nullable(g.DisplayName)
	}
	if sp, ok := s.st.sps[id]; ok {
		return nullable(sp.DisplayName)
	}
	return nil
}

func (s *Sim) renderAssignment(a *araRec) object {
	ptype := "ServicePrincipal"
	if k, ok := s.st.kindOf(a.PrincipalID); ok {
		switch k {
		case kindUser:
			ptype = "User"
		case kindGroup:
			ptype = "Group"
		}
	}
	return object{
		{"id", a.ID},
		{"deletedDateTime", nil},
		{"appRoleId", a.AppRoleID},
		{"createdDateTime", graphTime(a.created)},
		{"principalDisplayName", s.displayNameOf(a.PrincipalID)},
		{"principalId", a.PrincipalID},
		{"principalType", ptype},
		{"resourceDisplayName", s.displayNameOf(a.ResourceID)},
		{"resourceId", a.ResourceID},
	}
}

var roleAssignmentProps = []string{"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName", "principalId", "principalType", "resourceDisplayName", "resourceId"}

func (s *Sim) assignmentsOf(sp *spRec, nav string) []*araRec {
	var out []*araRec
	for _, a := range s.st.sortedAssignments() {
		if (nav == "appRoleAssignedTo" && a.ResourceID == sp.ID) || (nav == "appRoleAssignments" && a.PrincipalID == sp.ID) {
			out = append(out, a)
		}
	}
	return out
}

func listRoleAssignments(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		if r := c.checkOptions("select", "filter", "top", "skiptoken", "count"); r != nil {
			return r
		}
		sp, key := s.spByKey(c, true)
		if sp == nil {
			return c.notFound(key)
		}
		var items []*item
		for _, a := range s.assignmentsOf(sp, nav) {
			if s.visible(c, a.created) {
				items = append(items, &item{seq: a.seq, full: s.renderAssignment(a), def: roleAssignmentProps})
			}
		}
		return c.list(listSpec{contextSet: "servicePrincipals('" + sp.ID + "')/" + nav, t: assignmentType2, items: items, maxTop: 999})
	}
}

// createRoleAssignment: {principalId, resourceId, appRoleId} → 201; the path's
// service principal must be the resource (appRoleAssignedTo) or the
// principal (appRoleAssignments); the role must be one of the resource's
// enabled app roles allowing the principal's kind; a duplicate is 400
// "Permission being assigned already exists on the object.".
func createRoleAssignment(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		sp, key := s.spByKey(c, false)
		if sp == nil {
			return c.notFound(key)
		}
		m, r := c.readJSONObject()
		if r != nil {
			return r
		}
		for k := range m {
			if !oneOf(k, "principalId", "resourceId", "appRoleId", "@odata.type") {
				return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
			}
		}
		get := func(n string) string { v, _ := m[n].(string); return strings.ToLower(v) }
		pid, rid, roleID := get("principalId"), get("resourceId"), get("appRoleId")
		for _, f := range []struct{ n, v string }{{"principalId", pid}, {"resourceId", rid}, {"appRoleId", roleID}} {
			if !isGUID(f.v) {
				return c.badRequest(fmt.Sprintf("Invalid value specified for property '%s' of resource 'AppRoleAssignment'.", f.n))
			}
		}
		if nav == "appRoleAssignedTo" && rid != sp.ID || nav == "appRoleAssignments" && pid != sp.ID {
			return c.badRequest("The resourceId or principalId in the request body does not match the service principal in the URL.")
		}
		res := s.st.sps[rid]
		if res == nil {
			return c.notFound(rid)
		}
		pk, ok := s.st.kindOf(pid)
		if !ok {
			return c.notFound(pid)
		}
		var role *AppRole
		for i := range res.AppRoles {
			if strings.EqualFold(res.AppRoles[i].ID, roleID) {
				role = &res.AppRoles[i]
			}
		}
		member := "Application"
		if pk != kindSP {
			member = "User"
		}
		if role == nil || (role.IsEnabled != nil && !*role.IsEnabled) || !allowsMember(role.AllowedMemberTypes, member) {
			if roleID != "00000000-0000-0000-0000-000000000000" || pk == kindSP {
				return c.badRequest("Permission being assigned was not found on application '" + res.AppID + "'.")
			}
		}
		for _, a := range s.st.agent.assignments {
			if a.PrincipalID == pid && a.ResourceID == rid && a.AppRoleID == roleID {
				return c.badRequest("Permission being assigned already exists on the object.")
			}
		}
		a := &araRec{AppRoleAssignment: AppRoleAssignment{PrincipalID: pid, ResourceID: rid, AppRoleID: roleID}, seq: s.st.nextSeq(), created: c.now}
		a.ID = assignmentID(pid, &s.ids)
		s.st.agent.assignments[a.ID] = a
		out := object{{"@odata.context", c.context("servicePrincipals('" + sp.ID + "')/" + nav + "/$entity")}}
		return c.jsonResp(http.StatusCreated, append(out, s.renderAssignment(a)...))
	}
}

func allowsMember(types []string, m string) bool {
	for _, t := range types {
		if strings.EqualFold(t, m) {
			return true
		}
	}
	return false
}

func deleteRoleAssignment(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		sp, key := s.spByKey(c, false)
		if sp == nil {
			return c.notFound(key)
		}
		id := c.params["assignmentId"]
		a := s.st.agent.assignments[id]
		if a == nil || (nav == "appRoleAssignedTo" && a.ResourceID != sp.ID) || (nav == "appRoleAssignments" && a.PrincipalID != sp.ID) {
			return c.notFound(id)
		}
		delete(s.st.agent.assignments, id)
		return c.noContent()
	}
}

// EffectiveAppRoles returns the app role values (of any resource) that the
// service principal spID holds directly or, for an agent identity, inherits
// from its blueprint principal. Sorted as assigned.
func (s *Sim) EffectiveAppRoles(spID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	spID = strings.ToLower(spID)
	holders := []string{spID}
	if sp := s.st.sps[spID]; sp != nil && sp.ODataType == odataAgentIdentity {
		if p := s.st.spByAppID(sp.AgentIdentityBlueprintID); p != nil {
			holders = append(holders, p.ID)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range s.st.sortedAssignments() {
		if !containsID(holders, a.PrincipalID) {
			continue
		}
		if res := s.st.sps[a.ResourceID]; res != nil {
			for _, r := range res.AppRoles {
				if strings.EqualFold(r.ID, a.AppRoleID) && !seen[r.Value] {
					seen[r.Value] = true
					out = append(out, r.Value)
				}
			}
		}
	}
	return out
}

// Delegated grants.

func renderGrant(g *grantRec) object {
	return object{
		{"clientId", g.ClientID},
		{"consentType", g.ConsentType},
		{"id", g.ID},
		{"principalId", nullable(g.PrincipalID)},
		{"resourceId", g.ResourceID},
		{"scope", g.Scope},
	}
}

var grantProps = []string{"clientId", "consentType", "id", "principalId", "resourceId", "scope"}

func listGrants(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "filter", "top", "skiptoken"); r != nil {
		return r
	}
	var items []*item
	for _, g := range s.st.sortedGrants() {
		items = append(items, &item{seq: g.seq, full: renderGrant(g), def: grantProps})
	}
	return c.list(listSpec{contextSet: "oauth2PermissionGrants", t: grantType, items: items, maxTop: 999})
}

func getGrant(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	g := s.st.agent.grants[c.params["grantId"]]
	if g == nil {
		return c.notFound(c.params["grantId"])
	}
	return c.jsonResp(200, append(object{{"@odata.context", c.context("oauth2PermissionGrants/$entity")}}, renderGrant(g)...))
}

// normalizeScope collapses whitespace in a space-separated scope string.
func normalizeScope(v string) string { return strings.Join(strings.Fields(v), " ") }

// checkScopes: every scope value must be a delegated permission the
// resource publishes (when it publishes any).
func (s *Sim) checkScopes(c *reqCtx, res *spRec, scope string) *response {
	if len(res.OAuth2PermissionScopes) == 0 {
		return nil
	}
	for _, v := range strings.Fields(scope) {
		found := false
		for _, p := range res.OAuth2PermissionScopes {
			if strings.EqualFold(p.Value, v) {
				found = true
			}
		}
		if !found {
			return c.badRequest(fmt.Sprintf("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant': '%s' is not a delegated permission of '%s'.", v, res.AppID))
		}
	}
	return nil
}

// createGrant: one grant per (client, consentType, principal, resource);
// a second POST is 409 Request_MultipleObjectsWithSameKeyValue (README §2:
// the only public source shows 409; unverified).
func createGrant(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	g := &grantRec{}
	for k, v := range m {
		sv, isStr := v.(string)
		if v != nil && !isStr && k != "@odata.type" {
			return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v))
		}
		switch k {
		case "@odata.type":
		case "clientId":
			g.ClientID = strings.ToLower(sv)
		case "consentType":
			g.ConsentType = sv
		case "principalId":
			g.PrincipalID = strings.ToLower(sv)
		case "resourceId":
			g.ResourceID = strings.ToLower(sv)
		case "scope":
			g.Scope = normalizeScope(sv)
		case "startTime", "expiryTime":
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if s.st.sps[g.ClientID] == nil {
		return c.badRequest("Invalid value specified for property 'clientId' of resource 'OAuth2PermissionGrant'.")
	}
	res := s.st.sps[g.ResourceID]
	if res == nil {
		return c.badRequest("Invalid value specified for property 'resourceId' of resource 'OAuth2PermissionGrant'.")
	}
	switch g.ConsentType {
	case "AllPrincipals":
		if g.PrincipalID != "" {
			return c.badRequest("Property 'principalId' must be null when consentType is 'AllPrincipals'.")
		}
	case "Principal":
		if _, ok := s.st.users[g.PrincipalID]; !ok {
			return c.badRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.")
		}
	default:
		return c.badRequest("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")
	}
	if r := s.checkScopes(c, res, g.Scope); r != nil {
		return r
	}
	g.ID = grantID(g.ClientID, g.ResourceID, g.PrincipalID)
	if _, dup := s.st.agent.grants[g.ID]; dup {
		return c.objectConflict(409, "Permission entry already exists.")
	}
	g.seq = s.st.nextSeq()
	s.st.agent.grants[g.ID] = g
	out := object{{"@odata.context", c.context("oauth2PermissionGrants/$entity")}}
	return c.jsonResp(http.StatusCreated, append(out, renderGrant(g)...))
}

func patchGrant(c *reqCtx) *response {
	s := c.s
	g := s.st.agent.grants[c.params["grantId"]]
	if g == nil {
		return c.notFound(c.params["grantId"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	scope := g.Scope
	for k, v := range m {
		switch k {
		case "scope":
			sv, ok := v.(string)
			if !ok && v != nil {
				return c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v))
			}
			scope = normalizeScope(sv)
		case "@odata.type":
		case "clientId", "consentType", "principalId", "resourceId":
			return c.badRequest(fmt.Sprintf("Property '%s' is read-only and cannot be set.", k))
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if res := s.st.sps[g.ResourceID]; res != nil {
		if r := s.checkScopes(c, res, scope); r != nil {
			return r
		}
	}
	g.Scope = scope
	return c.noContent()
}

func deleteGrant(c *reqCtx) *response {
	s := c.s
	id := c.params["grantId"]
	if s.st.agent.grants[id] == nil {
		return c.notFound(id)
	}
	delete(s.st.agent.grants, id)
	return c.noContent()
}
