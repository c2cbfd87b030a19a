package graphsim

import (
	"fmt"
	"strings"
)

// Catalogs and catalog resources (README §6).

func registerEMCatalogRoutes(r *router) {
	r.add("GET", emPrefix+"/catalogs", listCatalogs)
	r.add("POST", emPrefix+"/catalogs", createCatalog)
	r.add("GET", emPrefix+"/catalogs/{id}", getCatalog)
	r.add("PATCH", emPrefix+"/catalogs/{id}", patchCatalog)
	r.add("DELETE", emPrefix+"/catalogs/{id}", deleteCatalog)
	r.add("GET", emPrefix+"/catalogs/{id}/resources", listCatalogResources)
	r.add("GET", emPrefix+"/catalogs/{id}/resources/{resourceId}", getCatalogResource)
	r.add("GET", emPrefix+"/catalogs/{id}/resourceRoles", listCatalogRoles)
	r.add("GET", emPrefix+"/catalogs/{id}/accessPackages", listCatalogPackages)
	r.add("GET", emPrefix+"/resourceRequests", listResourceRequests)
	r.add("POST", emPrefix+"/resourceRequests", createResourceRequest)
}

var catalogType = newEMType("accessPackageCatalog",
	[]string{"id", "displayName", "description", "catalogType", "state", "isExternallyVisible", "createdDateTime", "modifiedDateTime"},
	[]string{"accessPackages", "customWorkflowExtensions", "resources", "resourceRoles", "resourceScopes"},
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}, "catalogType": {}, "state": {}, "isExternallyVisible": {kind: pBool}})

var resourceType = newEMType("accessPackageResource",
	[]string{"id", "displayName", "description", "originId", "originSystem", "createdDateTime"},
	[]string{"roles", "scopes"},
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}, "originId": {}, "originSystem": {}})

var resourceRoleType = newEMType("accessPackageResourceRole",
	[]string{"id", "displayName", "description", "originSystem", "originId", "type"},
	[]string{"resource"},
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}, "originSystem": {}, "originId": {}, "type": {}, "resource/id": {}})

var resourceRequestType = newEMType("accessPackageResourceRequest",
	[]string{"id", "requestType", "state", "createdDateTime"},
	[]string{"catalog", "resource"},
	map[string]filterProp{"id": {}, "requestType": {}, "state": {}, "catalog/id": {}, "resource/id": {}})

func catalogObject(c *catalogRec) object {
	return object{
		{"id", c.id},
		{"displayName", c.displayName},
		{"description", nullable(c.description)},
		{"catalogType", c.catalogType},
		{"state", c.state},
		{"isExternallyVisible", c.externallyVisible},
		{"createdDateTime", emTimeOr(c.created)},
		{"modifiedDateTime", emTimeOr(c.modified)},
	}
}

func resourceObject(r *resourceRec) object {
	return object{
		{"id", r.id},
		{"displayName", nullable(r.displayName)},
		{"description", nullable(r.description)},
		{"originId", r.originID},
		{"originSystem", r.originSystem},
		{"createdDateTime", emTimeOr(r.created)},
	}
}

func roleObject(r *roleRec) object {
	return object{
		{"id", r.id},
		{"displayName", nullable(r.displayName)},
		{"description", nullable(r.description)},
		{"originSystem", r.resource.originSystem},
		{"originId", r.originID},
		{"type", nullable(r.typ)},
	}
}

func scopeObject(s *scopeRec) object {
	return object{
		{"id", s.id},
		{"displayName", nullable(s.displayName)},
		{"description", nullable(s.description)},
		{"originId", s.originID},
		{"originSystem", s.resource.originSystem},
		{"isRootScope", s.root},
	}
}

func (s *Sim) catalogItem(c *reqCtx, cat *catalogRec, exp emExpand) *emItem {
	full := catalogObject(cat)
	it := &emItem{seq: cat.seq, full: full, filter: full}
	if exp.has("accessPackages") {
		vals := []object{}
		for _, p := range s.st.em.sortedPackages() {
			if p.catalogID == cat.id {
				vals = append(vals, s.packageItem(c, p, emExpand{}).full)
			}
		}
		it.expansions = append(it.expansions, field{"accessPackages", vals})
	}
	if exp.has("customWorkflowExtensions") {
		vals := []object{}
		for _, x := range cat.extensions {
			vals = append(vals, extensionObject(x))
		}
		it.expansions = append(it.expansions, field{"customWorkflowExtensions", vals})
	}
	if exp.has("resources") {
		vals := []object{}
		for _, r := range cat.resources {
			vals = append(vals, resourceObject(r))
		}
		it.expansions = append(it.expansions, field{"resources", vals})
	}
	if exp.has("resourceRoles") {
		vals := []object{}
		for _, r := range cat.resources {
			for _, ro := range r.roles {
				vals = append(vals, roleObject(ro))
			}
		}
		it.expansions = append(it.expansions, field{"resourceRoles", vals})
	}
	if exp.has("resourceScopes") {
		vals := []object{}
		for _, r := range cat.resources {
			for _, sc := range r.scopes {
				vals = append(vals, scopeObject(sc))
			}
		}
		it.expansions = append(it.expansions, field{"resourceScopes", vals})
	}
	return it
}

func (s *Sim) catalogByParam(c *reqCtx) *catalogRec {
	return s.st.em.catalogs[strings.ToLower(c.params["id"])]
}

func listCatalogs(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(catalogType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, cat := range s.st.em.sortedCatalogs() {
		items = append(items, s.catalogItem(c, cat, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/catalogs", catalogType, items)
}

func getCatalog(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(catalogType, nil)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/catalogs", catalogType, s.catalogItem(c, cat, exp))
}

// catalogBody applies a POST/PATCH body to cat.
func catalogBody(m map[string]any, cat *catalogRec, create bool) *emErr {
	for k, v := range m {
		switch k {
		case "@odata.type":
			if s, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(s, "#"), "microsoft.graph.accessPackageCatalog") {
				return shapeErr("Invalid @odata.type '%v' for 'microsoft.graph.accessPackageCatalog'.", v)
			}
		case "id", "createdDateTime", "modifiedDateTime":
			// read-only, ignored
		case "displayName", "description":
			s, ok := v.(string)
			if !ok && v != nil {
				return shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v)
			}
			if k == "displayName" {
				cat.displayName = s
			} else {
				cat.description = s
			}
		case "state":
			s, _ := v.(string)
			switch strings.ToLower(s) {
			case "published", "unpublished":
				cat.state = strings.ToLower(s)
			default:
				return shapeErr("The value '%v' is not valid for 'state' (expected published or unpublished).", v)
			}
		case "isExternallyVisible":
			b, ok := v.(bool)
			if !ok {
				return shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v)
			}
			cat.externallyVisible = b
		case "catalogType":
			s, _ := v.(string)
			if !strings.EqualFold(s, cat.catalogType) {
				if create && strings.EqualFold(s, "userManaged") {
					continue
				}
				return semErr("catalogType '%v' cannot be set: only userManaged catalogs can be created and the type cannot change.", v)
			}
		default:
			if strings.HasPrefix(k, "@") {
				continue
			}
			return unknownProp(k, "accessPackageCatalog")
		}
	}
	if strings.TrimSpace(cat.displayName) == "" {
		return semErr("A value is required for property 'displayName' of resource 'accessPackageCatalog'.")
	}
	return nil
}

func createCatalog(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	cat := &catalogRec{catalogType: "userManaged", state: "published", externallyVisible: true}
	if err := catalogBody(m, cat, true); err != nil {
		return c.emErrResp(err)
	}
	cat.id = s.ids.uuid()
	cat.seq = s.st.nextSeq()
	cat.created, cat.modified = c.now, c.now
	s.st.em.catalogs[cat.id] = cat
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/catalogs/$entity")}}, catalogObject(cat)...))
}

func patchCatalog(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	upd := *cat
	if err := catalogBody(m, &upd, false); err != nil {
		return c.emErrResp(err)
	}
	upd.modified = c.now
	*cat = upd
	return c.noContent()
}

func deleteCatalog(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	if cat.catalogType != "userManaged" {
		return c.badRequest("The built-in catalog cannot be deleted.")
	}
	for _, p := range s.st.em.packages {
		if p.catalogID == cat.id {
			return c.badRequest("The catalog cannot be deleted because it contains access packages. Delete the access packages first.")
		}
	}
	delete(s.st.em.catalogs, cat.id)
	return c.noContent()
}

func (s *Sim) resourceItem(cat *catalogRec, r *resourceRec, exp emExpand) *emItem {
	full := resourceObject(r)
	it := &emItem{seq: r.seq, full: full, filter: full}
	if exp.has("roles") {
		vals := []object{}
		for _, ro := range r.roles {
			vals = append(vals, roleObject(ro))
		}
		it.expansions = append(it.expansions, field{"roles", vals})
	}
	if exp.has("scopes") {
		vals := []object{}
		for _, sc := range r.scopes {
			vals = append(vals, scopeObject(sc))
		}
		it.expansions = append(it.expansions, field{"scopes", vals})
	}
	return it
}

func listCatalogResources(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(resourceType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, res := range cat.resources {
		items = append(items, s.resourceItem(cat, res, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/catalogs('"+cat.id+"')/resources", resourceType, items)
}

func getCatalogResource(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	var res *resourceRec
	for _, x := range cat.resources {
		if strings.EqualFold(x.id, c.params["resourceId"]) {
			res = x
		}
	}
	if res == nil {
		return c.notFound(c.params["resourceId"])
	}
	exp, r := c.parseEMExpand(resourceType, nil)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/catalogs('"+cat.id+"')/resources", resourceType, s.resourceItem(cat, res, exp))
}

func listCatalogRoles(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(resourceRoleType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, res := range cat.resources {
		for i, ro := range res.roles {
			full := roleObject(ro)
			flt := append(append(object{}, full...), field{"resource/id", res.id})
			it := &emItem{seq: res.seq*1000 + int64(i), full: full, filter: flt}
			if exp.has("resource") {
				it.expansions = append(it.expansions, field{"resource", resourceObject(res)})
			}
			items = append(items, it)
		}
	}
	return c.emList("identityGovernance/entitlementManagement/catalogs('"+cat.id+"')/resourceRoles", resourceRoleType, items)
}

func listCatalogPackages(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(packageType, packageNested)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, p := range s.st.em.sortedPackages() {
		if p.catalogID == cat.id {
			items = append(items, s.packageItem(c, p, exp))
		}
	}
	return c.emList("identityGovernance/entitlementManagement/catalogs('"+cat.id+"')/accessPackages", packageType, items)
}

// --- resource requests ---------------------------------------------------

func (s *Sim) resReqItem(r *resReqRec, exp emExpand) *emItem {
	full := object{{"id", r.id}, {"requestType", r.requestType}, {"state", r.state}, {"createdDateTime", emTimeOr(r.created)}}
	flt := append(append(object{}, full...), field{"catalog/id", r.catalogID}, field{"resource/id", r.resourceID})
	it := &emItem{seq: r.seq, full: full, filter: flt}
	if exp.has("catalog") {
		var v any
		if cat := s.st.em.catalogs[r.catalogID]; cat != nil {
			v = catalogObject(cat)
		}
		it.expansions = append(it.expansions, field{"catalog", v})
	}
	if exp.has("resource") {
		var v any
		if res := s.st.em.resourceByID(r.resourceID); res != nil {
			v = resourceObject(res)
		} else if r.originID != "" {
			v = object{{"id", nullable(r.resourceID)}, {"originId", r.originID}, {"originSystem", r.originSystem}}
		}
		it.expansions = append(it.expansions, field{"resource", v})
	}
	return it
}

func listResourceRequests(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(resourceRequestType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, rr := range s.st.em.sortedResReqs() {
		items = append(items, s.resReqItem(rr, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/resourceRequests", resourceRequestType, items)
}

// createResourceRequest adds or removes a catalog resource. It completes
// synchronously: the 201 carries state delivered, or deliveryFailed when
// the origin object cannot be onboarded (missing, AD-synced or dynamic
// group, missing service principal).
func createResourceRequest(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	var resource, catalog map[string]any
	reqType := ""
	for k, v := range m {
		switch k {
		case "requestType":
			reqType, _ = v.(string)
		case "resource":
			resource, _ = v.(map[string]any)
			if resource == nil && v != nil {
				return c.emErrResp(shapeErr("Cannot convert the value of 'resource' to the expected type 'microsoft.graph.accessPackageResource'."))
			}
		case "catalog":
			catalog, _ = v.(map[string]any)
			if catalog == nil && v != nil {
				return c.emErrResp(shapeErr("Cannot convert the value of 'catalog' to the expected type 'microsoft.graph.accessPackageCatalog'."))
			}
		case "id", "state", "createdDateTime", "@odata.type":
		default:
			if !strings.HasPrefix(k, "@") {
				return c.emErrResp(unknownProp(k, "accessPackageResourceRequest"))
			}
		}
	}
	for k := range resource {
		if !hasName([]string{"id", "displayName", "description", "originId", "originSystem", "attributes", "createdDateTime", "modifiedDateTime", "@odata.type"}, k) {
			return c.emErrResp(unknownProp(k, "accessPackageResource"))
		}
	}
	for k := range catalog {
		if !hasName([]string{"id", "displayName", "description", "catalogType", "state", "isExternallyVisible", "createdDateTime", "modifiedDateTime", "@odata.type"}, k) {
			return c.emErrResp(unknownProp(k, "accessPackageCatalog"))
		}
	}
	switch strings.ToLower(reqType) {
	case "adminadd":
		reqType = "adminAdd"
	case "adminremove":
		reqType = "adminRemove"
	case "":
		return c.badRequest("A value is required for property 'requestType' of resource 'accessPackageResourceRequest'.")
	default:
		return c.badRequest(fmt.Sprintf("requestType '%s' is not supported for resource requests; use adminAdd or adminRemove.", reqType))
	}
	if resource == nil || catalog == nil {
		return c.badRequest("Both 'resource' and 'catalog' are required.")
	}
	catID, _ := catalog["id"].(string)
	cat := s.st.em.catalogs[strings.ToLower(catID)]
	if cat == nil {
		return c.notFound(catID)
	}
	originID, _ := resource["originId"].(string)
	originSystem, _ := resource["originSystem"].(string)
	originSystem = strings.TrimSpace(originSystem)
	for _, sys := range []string{"AadGroup", "AadApplication", "SharePointOnline"} {
		if strings.EqualFold(sys, originSystem) {
			originSystem = sys
		}
	}
	rr := &resReqRec{id: s.ids.uuid(), requestType: reqType, catalogID: cat.id, originID: originID, originSystem: originSystem,
		seq: s.st.nextSeq(), created: c.now}
	if reqType == "adminAdd" {
		if originID == "" || originSystem == "" {
			return c.badRequest("resource.originId and resource.originSystem are required to add a resource.")
		}
		if !hasName([]string{"AadGroup", "AadApplication", "SharePointOnline"}, originSystem) {
			return c.badRequest(fmt.Sprintf("originSystem '%s' is not supported (AadGroup, AadApplication, SharePointOnline).", originSystem))
		}
		if existing := cat.resourceByOrigin(originSystem, originID); existing != nil {
			return c.badRequest(fmt.Sprintf("The resource '%s' is already in the catalog as resource '%s'.", originID, existing.id))
		}
		rr.state = "delivered"
		if !s.st.onboardable(originSystem, originID) {
			rr.state = "deliveryFailed"
		} else {
			res, err := s.st.buildResource(cat, CatalogResource{OriginID: originID, OriginSystem: originSystem}, &s.ids)
			if err != nil {
				rr.state = "deliveryFailed"
			} else {
				res.created = c.now
				cat.resources = append(cat.resources, res)
				rr.resourceID = res.id
				rr.originID = res.originID
			}
		}
	} else {
		resID, _ := resource["id"].(string)
		var res *resourceRec
		if resID != "" {
			for _, x := range cat.resources {
				if strings.EqualFold(x.id, resID) {
					res = x
				}
			}
		} else if originID != "" {
			res = cat.resourceByOrigin(originSystem, originID)
		}
		if res == nil {
			return c.notFound(resID + originID)
		}
		for _, p := range s.st.em.packages {
			for _, rs := range p.roleScopes {
				if rs.role.resource == res {
					return c.badRequest(fmt.Sprintf("The resource cannot be removed from the catalog because access package '%s' uses its roles.", p.id))
				}
			}
		}
		kept := cat.resources[:0]
		for _, x := range cat.resources {
			if x != res {
				kept = append(kept, x)
			}
		}
		cat.resources = kept
		rr.state = "delivered"
		rr.resourceID, rr.originID, rr.originSystem = res.id, res.originID, res.originSystem
	}
	s.st.em.resReqs[rr.id] = rr
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/resourceRequests/$entity")}}, s.resReqItem(rr, emExpand{}).full...))
}

// onboardable reports whether EM can add the origin object to a catalog:
// groups must exist, be cloud-writable (AD-synced groups cannot be managed
// by EM) and have assigned membership; service principals must exist;
// SharePoint sites are addressed by https URL.
func (st *store) onboardable(system, origin string) bool {
	switch system {
	case "AadGroup":
		g := st.groups[strings.ToLower(origin)]
		return g != nil && !g.cloudReadOnly() && !isDynamic(g.GroupTypes)
	case "AadApplication":
		return st.sps[strings.ToLower(origin)] != nil
	case "SharePointOnline":
		return strings.HasPrefix(strings.ToLower(origin), "https://")
	}
	return false
}
