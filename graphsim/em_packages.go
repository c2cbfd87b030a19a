package graphsim

import (
	"fmt"
	"strings"
)

// Access packages, their resource role scopes and incompatibilities
// (README §6).

func registerEMPackageRoutes(r *router) {
	p := emPrefix + "/accessPackages"
	r.add("GET", p, listPackages)
	r.add("POST", p, createPackage)
	r.add("GET", p+"/{id}", getPackage)
	r.add("PATCH", p+"/{id}", patchPackage)
	r.add("DELETE", p+"/{id}", deletePackage)
	r.add("GET", p+"/{id}/resourceRoleScopes", listRoleScopes)
	r.add("POST", p+"/{id}/resourceRoleScopes", createRoleScope)
	r.add("GET", p+"/{id}/resourceRoleScopes/{rrsId}", getRoleScope)
	r.add("DELETE", p+"/{id}/resourceRoleScopes/{rrsId}", deleteRoleScope)
	r.add("GET", p+"/{id}/assignmentPolicies", listPackagePolicies)
	r.add("GET", p+"/{id}/incompatibleAccessPackages", listIncompatible("incompatibleAccessPackages"))
	r.add("POST", p+"/{id}/incompatibleAccessPackages/$ref", addIncompatible("incompatibleAccessPackages"))
	r.add("DELETE", p+"/{id}/incompatibleAccessPackages/{refId}/$ref", removeIncompatible("incompatibleAccessPackages"))
	r.add("GET", p+"/{id}/incompatibleGroups", listIncompatible("incompatibleGroups"))
	r.add("POST", p+"/{id}/incompatibleGroups/$ref", addIncompatible("incompatibleGroups"))
	r.add("DELETE", p+"/{id}/incompatibleGroups/{refId}/$ref", removeIncompatible("incompatibleGroups"))
	r.add("GET", p+"/{id}/accessPackagesIncompatibleWith", listIncompatible("accessPackagesIncompatibleWith"))
}

var packageType = newEMType("accessPackage",
	[]string{"id", "displayName", "description", "isHidden", "createdDateTime", "modifiedDateTime"},
	[]string{"catalog", "resourceRoleScopes", "assignmentPolicies", "incompatibleAccessPackages", "incompatibleGroups", "accessPackagesIncompatibleWith"},
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}, "isHidden": {kind: pBool}, "catalog/id": {}})

var packageNested = map[string][]string{"resourceRoleScopes": {"role", "scope"}}

var roleScopeType = newEMType("accessPackageResourceRoleScope",
	[]string{"id", "createdDateTime"},
	[]string{"role", "scope"},
	map[string]filterProp{"id": {}, "role/id": {}, "scope/id": {}, "role/originId": {}, "scope/originId": {}})

func packageObject(p *packageRec) object {
	return object{
		{"id", p.id},
		{"displayName", p.displayName},
		{"description", nullable(p.description)},
		{"isHidden", p.hidden},
		{"createdDateTime", emTimeOr(p.created)},
		{"modifiedDateTime", emTimeOr(p.modified)},
	}
}

func roleScopeObject(rs *roleScopeRec, nested []string) object {
	o := object{{"id", rs.id()}, {"createdDateTime", emTimeOr(rs.created)}}
	if hasName(nested, "role") {
		o = append(o, field{"role", roleObject(rs.role)})
	}
	if hasName(nested, "scope") {
		o = append(o, field{"scope", scopeObject(rs.scope)})
	}
	return o
}

func (s *Sim) packageItem(c *reqCtx, p *packageRec, exp emExpand) *emItem {
	full := packageObject(p)
	flt := append(append(object{}, full...), field{"catalog/id", p.catalogID})
	it := &emItem{seq: p.seq, full: full, filter: flt}
	for _, nav := range packageType.navs {
		nested, ok := exp[nav]
		if !ok {
			continue
		}
		var v any
		switch nav {
		case "catalog":
			if cat := s.st.em.catalogs[p.catalogID]; cat != nil {
				v = catalogObject(cat)
			}
		case "resourceRoleScopes":
			vals := []object{}
			for _, rs := range p.roleScopes {
				vals = append(vals, roleScopeObject(rs, nested))
			}
			v = vals
		case "assignmentPolicies":
			vals := []object{}
			for _, pol := range s.st.em.sortedPolicies() {
				if pol.packageID == p.id {
					vals = append(vals, s.policyItem(c, pol, emExpand{}).full)
				}
			}
			v = vals
		case "incompatibleAccessPackages", "accessPackagesIncompatibleWith", "incompatibleGroups":
			vals := []object{}
			for _, x := range s.incompatibleItems(c, p, nav) {
				vals = append(vals, x.full)
			}
			v = vals
		}
		it.expansions = append(it.expansions, field{nav, v})
	}
	return it
}

func (s *Sim) packageByParam(c *reqCtx) *packageRec {
	return s.st.em.packages[strings.ToLower(c.params["id"])]
}

func listPackages(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(packageType, packageNested)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, p := range s.st.em.sortedPackages() {
		items = append(items, s.packageItem(c, p, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/accessPackages", packageType, items)
}

func getPackage(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(packageType, packageNested)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/accessPackages", packageType, s.packageItem(c, p, exp))
}

// packageBody applies a POST/PATCH body; catalogID is returned for POST.
func packageBody(m map[string]any, p *packageRec) (string, *emErr) {
	catID := ""
	for k, v := range m {
		switch k {
		case "@odata.type":
			if s, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(s, "#"), "microsoft.graph.accessPackage") {
				return "", shapeErr("Invalid @odata.type '%v' for 'microsoft.graph.accessPackage'.", v)
			}
		case "id", "createdDateTime", "modifiedDateTime":
		case "displayName", "description":
			s, ok := v.(string)
			if !ok && v != nil {
				return "", shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v)
			}
			if k == "displayName" {
				p.displayName = s
			} else {
				p.description = s
			}
		case "isHidden":
			b, ok := v.(bool)
			if !ok {
				return "", shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v)
			}
			p.hidden = b
		case "catalog":
			cm, ok := v.(map[string]any)
			if !ok {
				return "", shapeErr("Cannot convert the value of 'catalog' to the expected type 'microsoft.graph.accessPackageCatalog'.")
			}
			catID, _ = cm["id"].(string)
			catID = strings.ToLower(catID)
		case "resourceRoleScopes", "assignmentPolicies", "incompatibleAccessPackages", "incompatibleGroups":
			return "", semErr("'%s' cannot be set in an access package body; use its own endpoint.", k)
		default:
			if strings.HasPrefix(k, "@") {
				continue
			}
			return "", unknownProp(k, "accessPackage")
		}
	}
	if strings.TrimSpace(p.displayName) == "" {
		return "", semErr("A value is required for property 'displayName' of resource 'accessPackage'.")
	}
	return catID, nil
}

func createPackage(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	p := &packageRec{}
	catID, err := packageBody(m, p)
	if err != nil {
		return c.emErrResp(err)
	}
	if catID == "" {
		return c.badRequest("A value is required for property 'catalog' of resource 'accessPackage'.")
	}
	if s.st.em.catalogs[catID] == nil {
		return c.notFound(catID)
	}
	p.id, p.catalogID, p.seq = s.ids.uuid(), catID, s.st.nextSeq()
	p.created, p.modified = c.now, c.now
	s.st.em.packages[p.id] = p
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/accessPackages/$entity")}}, packageObject(p)...))
}

func patchPackage(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	upd := *p
	catID, err := packageBody(m, &upd)
	if err != nil {
		return c.emErrResp(err)
	}
	if catID != "" && catID != p.catalogID {
		return c.badRequest("The catalog of an access package cannot be changed.")
	}
	upd.modified = c.now
	*p = upd
	return c.noContent()
}

// deletePackage refuses while the package has assignments that are
// delivered or being delivered (Graph: remove assignments first); its
// policies, role scopes and expired/failed assignments go with it.
func deletePackage(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	em := s.st.em
	for _, a := range em.assignments {
		if a.packageID == p.id && liveAssignment(a) {
			return c.badRequest("The access package cannot be deleted because it has active assignments. Remove all assignments first.")
		}
	}
	for id, a := range em.assignments {
		if a.packageID == p.id {
			delete(em.assignments, id)
		}
	}
	for id, pol := range em.policies {
		if pol.packageID == p.id {
			delete(em.policies, id)
		}
	}
	for _, other := range em.packages {
		other.incompatPkgs = removeID(other.incompatPkgs, p.id)
	}
	delete(em.packages, p.id)
	return c.noContent()
}

func removeID(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// --- resource role scopes ------------------------------------------------

func (p *packageRec) roleScope(id string) *roleScopeRec {
	for _, rs := range p.roleScopes {
		if strings.EqualFold(rs.id(), id) {
			return rs
		}
	}
	return nil
}

func listRoleScopes(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(roleScopeType, nil)
	if r != nil {
		return r
	}
	var nested []string
	for n := range exp {
		nested = append(nested, n)
	}
	var items []*emItem
	for _, rs := range p.roleScopes {
		full := object{{"id", rs.id()}, {"createdDateTime", emTimeOr(rs.created)}}
		flt := append(append(object{}, full...), field{"role/id", rs.role.id}, field{"scope/id", rs.scope.id},
			field{"role/originId", rs.role.originID}, field{"scope/originId", rs.scope.originID})
		obj := roleScopeObject(rs, nested)
		items = append(items, &emItem{seq: rs.seq, full: full, filter: flt, expansions: obj[2:]})
	}
	return c.emList("identityGovernance/entitlementManagement/accessPackages('"+p.id+"')/resourceRoleScopes", roleScopeType, items)
}

func getRoleScope(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	rs := p.roleScope(c.params["rrsId"])
	if rs == nil {
		return c.notFound(c.params["rrsId"])
	}
	exp, r := c.parseEMExpand(roleScopeType, nil)
	if r != nil {
		return r
	}
	var nested []string
	for n := range exp {
		nested = append(nested, n)
	}
	obj := roleScopeObject(rs, nested)
	return c.emEntity(200, "identityGovernance/entitlementManagement/accessPackages('"+p.id+"')/resourceRoleScopes", roleScopeType,
		&emItem{full: obj[:2], expansions: obj[2:]})
}

func checkKeys(m map[string]any, typ string, allowed ...string) *emErr {
	for k := range m {
		if k == "@odata.type" || hasName(allowed, k) {
			continue
		}
		return unknownProp(k, typ)
	}
	return nil
}

// createRoleScope adds a resource role of the package's catalog to the
// package. The role is found by role.id or role.originId within
// role.resource (by id, or by originId/originSystem); the scope by
// scope.id or scope.originId, the root scope when neither is given.
// Existing delivered assignments receive the new role at once.
func createRoleScope(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if err := checkKeys(m, "accessPackageResourceRoleScope", "id", "createdDateTime", "role", "scope"); err != nil {
		return c.emErrResp(err)
	}
	role, _ := m["role"].(map[string]any)
	scope, _ := m["scope"].(map[string]any)
	if role == nil {
		return c.badRequest("A value is required for property 'role' of resource 'accessPackageResourceRoleScope'.")
	}
	resKeys := []string{"id", "displayName", "description", "originId", "originSystem", "attributes", "createdDateTime", "modifiedDateTime"}
	if err := checkKeys(role, "accessPackageResourceRole", "id", "displayName", "description", "originSystem", "originId", "type", "resource"); err != nil {
		return c.emErrResp(err)
	}
	if scope != nil {
		if err := checkKeys(scope, "accessPackageResourceScope", "id", "displayName", "description", "originId", "originSystem", "isRootScope", "resource"); err != nil {
			return c.emErrResp(err)
		}
	}
	resBody, _ := role["resource"].(map[string]any)
	if err := checkKeys(resBody, "accessPackageResource", resKeys...); err != nil {
		return c.emErrResp(err)
	}
	cat := s.st.em.catalogs[p.catalogID]
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	var res *resourceRec
	switch {
	case str(resBody, "id") != "":
		for _, x := range cat.resources {
			if strings.EqualFold(x.id, str(resBody, "id")) {
				res = x
			}
		}
	case str(resBody, "originId") != "":
		res = cat.resourceByOrigin(strings.TrimSpace(str(resBody, "originSystem")), str(resBody, "originId"))
	}
	var ro *roleRec
	candidates := cat.resources
	if res != nil {
		candidates = []*resourceRec{res}
	} else if resBody != nil {
		return c.badRequest("The resource of the role is not in the access package's catalog.")
	}
	for _, x := range candidates {
		for _, y := range x.roles {
			if (str(role, "id") != "" && strings.EqualFold(y.id, str(role, "id"))) ||
				(str(role, "id") == "" && str(role, "originId") != "" && strings.EqualFold(y.originID, str(role, "originId"))) {
				ro = y
			}
		}
	}
	if ro == nil {
		return c.badRequest("The role is not a role of a resource in the access package's catalog.")
	}
	if str(role, "originId") != "" && !strings.EqualFold(ro.originID, str(role, "originId")) {
		return c.badRequest("role.id and role.originId name different roles.")
	}
	if sys := strings.TrimSpace(str(role, "originSystem")); sys != "" && !strings.EqualFold(sys, strings.TrimSpace(ro.resource.originSystem)) {
		return c.badRequest(fmt.Sprintf("The role's originSystem '%s' does not match its resource's originSystem '%s'.", sys, ro.resource.originSystem))
	}
	sc := ro.resource.rootScope()
	if scope != nil && (str(scope, "id") != "" || str(scope, "originId") != "") {
		sc = nil
		for _, x := range ro.resource.scopes {
			if (str(scope, "id") != "" && strings.EqualFold(x.id, str(scope, "id"))) ||
				(str(scope, "id") == "" && strings.EqualFold(x.originID, str(scope, "originId"))) {
				sc = x
			}
		}
		if sc == nil {
			return c.badRequest("The scope is not a scope of the role's resource.")
		}
	}
	rs := &roleScopeRec{role: ro, scope: sc, seq: s.st.nextSeq(), created: c.now}
	if p.roleScope(rs.id()) != nil {
		return c.badRequest(fmt.Sprintf("The access package already contains the resource role scope '%s'.", rs.id()))
	}
	p.roleScopes = append(p.roleScopes, rs)
	p.modified = c.now
	for _, a := range s.st.em.sortedAssignments() {
		if a.packageID == p.id && a.state == "delivered" {
			s.grantRole(c, rs, a.targetID)
		}
	}
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/accessPackages('" + p.id + "')/resourceRoleScopes/$entity")}}, roleScopeObject(rs, nil)...))
}

func deleteRoleScope(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	rs := p.roleScope(c.params["rrsId"])
	if rs == nil {
		return c.notFound(c.params["rrsId"])
	}
	var kept []*roleScopeRec
	for _, x := range p.roleScopes {
		if x != rs {
			kept = append(kept, x)
		}
	}
	p.roleScopes = kept
	p.modified = c.now
	for _, a := range s.st.em.sortedAssignments() {
		if a.packageID == p.id && a.state == "delivered" {
			s.revokeRole(rs, a.targetID)
		}
	}
	return c.noContent()
}

func listPackagePolicies(c *reqCtx) *response {
	s := c.s
	p := s.packageByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(policyType, policyNested)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, pol := range s.st.em.sortedPolicies() {
		if pol.packageID == p.id {
			items = append(items, s.policyItem(c, pol, exp))
		}
	}
	return c.emList("identityGovernance/entitlementManagement/accessPackages('"+p.id+"')/assignmentPolicies", policyType, items)
}

// --- incompatibilities ---------------------------------------------------

func (s *Sim) incompatibleItems(c *reqCtx, p *packageRec, nav string) []*emItem {
	var out []*emItem
	switch nav {
	case "incompatibleAccessPackages":
		for _, id := range p.incompatPkgs {
			if q := s.st.em.packages[id]; q != nil {
				out = append(out, &emItem{seq: q.seq, full: packageObject(q), filter: packageObject(q)})
			}
		}
	case "accessPackagesIncompatibleWith":
		for _, q := range s.st.em.sortedPackages() {
			if hasName(q.incompatPkgs, p.id) {
				out = append(out, &emItem{seq: q.seq, full: packageObject(q), filter: packageObject(q)})
			}
		}
	case "incompatibleGroups":
		for _, id := range p.incompatGroups {
			if g := s.st.groups[id]; g != nil {
				out = append(out, &emItem{seq: g.seq, full: g.render(), filter: g.render()})
			}
		}
	}
	return out
}

var groupEMType = newEMType("group", []string{"id", "displayName", "description", "mailNickname", "securityEnabled", "mailEnabled"}, nil,
	map[string]filterProp{"id": {}, "displayName": {}})

func listIncompatible(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		p := s.packageByParam(c)
		if p == nil {
			return c.notFound(c.params["id"])
		}
		items := s.incompatibleItems(c, p, nav)
		if nav == "incompatibleGroups" {
			t := &emType{name: "group", props: strings.Fields("id deletedDateTime classification createdDateTime description displayName expirationDateTime groupTypes isAssignableToRole mail mailEnabled mailNickname membershipRule membershipRuleProcessingState securityEnabled securityIdentifier visibility uniqueName"), tp: groupEMType.tp}
			return c.emList("groups", t, items)
		}
		return c.emList("accessPackages", packageType, items)
	}
}

// refTarget extracts the id from an @odata.id reference URL.
func refTarget(m map[string]any) string {
	u, _ := m["@odata.id"].(string)
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndex(u, "/"); i >= 0 {
		u = u[i+1:]
	}
	u = strings.TrimSuffix(strings.TrimPrefix(u, "accessPackages('"), "')")
	return strings.ToLower(u)
}

func addIncompatible(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		p := s.packageByParam(c)
		if p == nil {
			return c.notFound(c.params["id"])
		}
		m, r := c.readJSONObject()
		if r != nil {
			return r
		}
		id := refTarget(m)
		if id == "" {
			return c.badRequest("The request body must be a reference: {\"@odata.id\": \"<url of the object>\"}.")
		}
		list := &p.incompatPkgs
		if nav == "incompatibleGroups" {
			list = &p.incompatGroups
			if s.st.groups[id] == nil {
				return c.notFound(id)
			}
		} else {
			if s.st.em.packages[id] == nil {
				return c.notFound(id)
			}
			if id == p.id {
				return c.badRequest("An access package cannot be incompatible with itself.")
			}
		}
		if hasName(*list, id) {
			return c.badRequest(fmt.Sprintf("One or more added object references already exist for the following modified properties: '%s'.", nav))
		}
		*list = append(*list, id)
		return c.noContent()
	}
}

func removeIncompatible(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		p := s.packageByParam(c)
		if p == nil {
			return c.notFound(c.params["id"])
		}
		id := strings.ToLower(c.params["refId"])
		list := &p.incompatPkgs
		if nav == "incompatibleGroups" {
			list = &p.incompatGroups
		}
		if !hasName(*list, id) {
			return c.errResp(404, "Request_ResourceNotFound", fmt.Sprintf("One or more removed object references do not exist for the following modified properties: '%s'.", nav))
		}
		*list = removeID(*list, id)
		return c.noContent()
	}
}
