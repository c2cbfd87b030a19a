package graphsim

import (
	"fmt"
	"strings"
	"time"
)

// Assignment policies (README §6): POST → 201, GET list/by id, PUT (full
// replace) → 200 with the policy, DELETE → 204. v1.0 has no PATCH (the
// router answers 405) and no durationInDays (unknown property → 400).

func registerEMPolicyRoutes(r *router) {
	r.add("GET", emPrefix+"/assignmentPolicies", listPolicies)
	r.add("POST", emPrefix+"/assignmentPolicies", createPolicy)
	r.add("GET", emPrefix+"/assignmentPolicies/{id}", getPolicy)
	r.add("PUT", emPrefix+"/assignmentPolicies/{id}", putPolicy)
	r.add("DELETE", emPrefix+"/assignmentPolicies/{id}", deletePolicy)
}

var policyType = newEMType("accessPackageAssignmentPolicy",
	[]string{"id", "displayName", "description", "allowedTargetScope", "specificAllowedTargets", "expiration", "requestorSettings", "requestApprovalSettings", "reviewSettings", "automaticRequestSettings", "notificationSettings", "createdDateTime", "modifiedDateTime"},
	[]string{"accessPackage", "catalog", "questions", "customExtensionStageSettings"},
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}, "allowedTargetScope": {}, "accessPackage/id": {}, "catalog/id": {}})

// policyNested: customExtensionStageSettings($expand=customExtension), the
// documented way to read a policy's custom extensions.
var policyNested = map[string][]string{"customExtensionStageSettings": {"customExtension"}}

// policyFromBody validates a policy body. For POST existing is nil and
// packageID empty (taken from accessPackage.id); for PUT existing is the
// stored policy; fixture loading passes packageID and allows server
// properties. Read-only properties (createdDateTime, modifiedDateTime) and
// instance annotations are ignored, so a GET body can be PUT back.
func (st *store) policyFromBody(m map[string]any, packageID string, existing *policyRec, ids *splitmix, fixture bool) (*policyRec, *emErr) {
	known := map[string]bool{"id": true, "accessPackage": true, "catalog": true, "questions": true, "customExtensionStageSettings": true, "createdDateTime": true, "modifiedDateTime": true}
	for _, f := range policyFields {
		known[f.name] = true
	}
	for k, v := range m {
		if k == "@odata.type" {
			if s, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(s, "#"), "microsoft.graph.accessPackageAssignmentPolicy") {
				return nil, shapeErr("Invalid @odata.type '%v' for 'microsoft.graph.accessPackageAssignmentPolicy'.", v)
			}
			continue
		}
		if strings.HasPrefix(k, "@") {
			continue
		}
		if !known[k] {
			return nil, unknownProp(k, "accessPackageAssignmentPolicy")
		}
	}
	p := &policyRec{}
	if existing != nil {
		*p = *existing
	}
	if v, ok := m["id"]; ok && v != nil {
		s, _ := v.(string)
		switch {
		case existing != nil && !strings.EqualFold(s, existing.id):
			return nil, semErr("The id in the request body ('%v') does not match the id in the URL ('%s').", v, existing.id)
		case existing == nil && fixture:
			p.id = strings.ToLower(s)
		}
	}
	if fixture {
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["createdDateTime"])); err == nil {
			p.created = t.UTC()
		}
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["modifiedDateTime"])); err == nil {
			p.modified = t.UTC()
		}
	}
	// accessPackage {id}
	apID := ""
	if v, ok := m["accessPackage"]; ok && v != nil {
		ap, ok := v.(map[string]any)
		if !ok {
			return nil, shapeErr("Cannot convert the value of 'accessPackage' to the expected type 'microsoft.graph.accessPackage'.")
		}
		s, _ := ap["id"].(string)
		apID = strings.ToLower(s)
	}
	switch {
	case existing != nil:
		if apID != "" && apID != existing.packageID {
			return nil, semErr("The access package of an assignment policy cannot be changed.")
		}
		p.packageID = existing.packageID
	case packageID != "":
		if apID != "" && apID != packageID {
			return nil, semErr("The policy's accessPackage does not match its parent access package.")
		}
		p.packageID = packageID
	default:
		if apID == "" {
			return nil, semErr("A value is required for property 'accessPackage' of resource 'accessPackageAssignmentPolicy'.")
		}
		if st.em.packages[apID] == nil {
			return nil, &emErr{404, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", apID)}
		}
		p.packageID = apID
	}
	pkg := st.em.packages[p.packageID]
	if v, ok := m["catalog"]; ok && v != nil {
		cm, _ := v.(map[string]any)
		if s, _ := cm["id"].(string); pkg != nil && s != "" && !strings.EqualFold(s, pkg.catalogID) {
			return nil, semErr("The policy's catalog must be the catalog of its access package.")
		}
	}
	// customExtensionStageSettings: replaced when sent (null or [] clears
	// them, as the update page's example does), kept by a PUT that omits
	// them (a GET body without $expand does not carry them).
	if v, ok := m["customExtensionStageSettings"]; ok {
		var cat *catalogRec
		if pkg != nil {
			cat = st.em.catalogs[pkg.catalogID]
		}
		ss, err := stageSettingsFromBody(v, cat, p.stageSettings, ids, fixture)
		if err != nil {
			return nil, err
		}
		p.stageSettings = ss
	}
	body := object{}
	for _, f := range policyFields {
		raw, present := m[f.name]
		val, err := normalizeField(f, raw, present, f.name)
		if err != nil {
			return nil, err
		}
		body = append(body, field{f.name, val})
	}
	p.questions = nil
	if v, ok := m["questions"]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return nil, shapeErr("A collection is expected for 'questions'.")
		}
		for i, q := range arr {
			o, err := normalize(tQuestion, q, fmt.Sprintf("questions[%d]", i))
			if err != nil {
				return nil, err
			}
			for j := range o {
				if o[j].K == "id" && o[j].V == nil {
					o[j].V = ids.uuid()
				}
			}
			p.questions = append(p.questions, o)
		}
	}
	if err := st.checkPolicySemantics(body, !fixture); err != nil {
		return nil, err
	}
	p.body = body
	if p.id == "" {
		p.id = ids.uuid()
	}
	return p, nil
}

// checkPolicySemantics applies the validation Graph does beyond shape.
// refs checks that subject sets name existing objects (not for fixtures:
// a saved policy may name a group deleted since).
func (st *store) checkPolicySemantics(body object, refs bool) *emErr {
	name, _ := objGet(body, "displayName").(string)
	if strings.TrimSpace(name) == "" {
		return semErr("A value is required for property 'displayName' of resource 'accessPackageAssignmentPolicy'.")
	}
	scope, _ := objGet(body, "allowedTargetScope").(string)
	targets := objList(body, "specificAllowedTargets")
	if strings.HasPrefix(scope, "specific") && len(targets) == 0 {
		return semErr("allowedTargetScope '%s' requires at least one entry in specificAllowedTargets.", scope)
	}
	exp := objGet(body, "expiration")
	switch objGet(exp, "type") {
	case "afterDuration":
		if objGet(exp, "duration") == nil {
			return semErr("expiration of type afterDuration requires a duration.")
		}
	case "afterDateTime":
		if objGet(exp, "endDateTime") == nil {
			return semErr("expiration of type afterDateTime requires an endDateTime.")
		}
	}
	appr := objGet(body, "requestApprovalSettings")
	stages := objList(appr, "stages")
	if (objGet(appr, "isApprovalRequiredForAdd") == true || objGet(appr, "isApprovalRequiredForUpdate") == true) && len(stages) == 0 {
		return semErr("Approval is required but no approval stage is defined.")
	}
	if len(stages) > 3 {
		return semErr("An assignment policy can have at most 3 approval stages.")
	}
	if auto := objGet(body, "automaticRequestSettings"); auto != nil && objGet(auto, "requestAccessForAllowedTargets") == true {
		rule := false
		for _, t := range targets {
			if objGet(t, "@odata.type") == "#microsoft.graph.attributeRuleMembers" {
				rule = true
			}
		}
		if !rule {
			return semErr("An automatic assignment policy needs an attributeRuleMembers entry in specificAllowedTargets.")
		}
	}
	if rv := objGet(body, "reviewSettings"); rv != nil && objGet(rv, "isEnabled") == true {
		if objGet(rv, "schedule") == nil {
			return semErr("reviewSettings.schedule is required when access reviews are enabled.")
		}
		if objGet(rv, "isSelfReview") != true && len(objList(rv, "primaryReviewers")) == 0 {
			return semErr("reviewSettings.primaryReviewers is required unless isSelfReview is true.")
		}
	}
	// Every subject set that names a directory object must resolve.
	var check func(v any) *emErr
	check = func(v any) *emErr {
		switch x := v.(type) {
		case object:
			t, _ := x.get("@odata.type")
			ref := func(prop string, ok func(string) bool) *emErr {
				id, _ := objGet(x, prop).(string)
				if id == "" || !ok(strings.ToLower(id)) {
					return semErr("%s '%s' of subject set %v does not exist.", prop, id, t)
				}
				return nil
			}
			switch t {
			case "#microsoft.graph.singleUser":
				return ref("userId", func(id string) bool { return st.users[id] != nil })
			case "#microsoft.graph.groupMembers":
				return ref("groupId", func(id string) bool { return st.groups[id] != nil })
			case "#microsoft.graph.singleServicePrincipal":
				return ref("servicePrincipalId", func(id string) bool { return st.sps[id] != nil })
			}
			for _, f := range x {
				if err := check(f.V); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := check(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if !refs {
		return nil
	}
	return check(body)
}

func (s *Sim) policyItem(c *reqCtx, p *policyRec, exp emExpand) *emItem {
	full := append(object{{"id", p.id}}, p.body...)
	full = append(full, field{"createdDateTime", emTimeOr(p.created)}, field{"modifiedDateTime", emTimeOr(p.modified)})
	pkg := s.st.em.packages[p.packageID]
	flt := append(object{}, full...)
	flt = append(flt, field{"accessPackage/id", p.packageID})
	if pkg != nil {
		flt = append(flt, field{"catalog/id", pkg.catalogID})
	}
	it := &emItem{seq: p.seq, full: full, filter: flt}
	if exp.has("accessPackage") {
		var v any
		if pkg != nil {
			v = s.packageItem(c, pkg, emExpand{}).full
		}
		it.expansions = append(it.expansions, field{"accessPackage", v})
	}
	if exp.has("catalog") {
		var v any
		if pkg != nil {
			if cat := s.st.em.catalogs[pkg.catalogID]; cat != nil {
				v = catalogObject(cat)
			}
		}
		it.expansions = append(it.expansions, field{"catalog", v})
	}
	if exp.has("questions") {
		qs := []object{}
		qs = append(qs, p.questions...)
		it.expansions = append(it.expansions, field{"questions", qs})
	}
	if exp.has("customExtensionStageSettings") {
		it.expansions = append(it.expansions, field{"customExtensionStageSettings", s.stageSettingObjects(p, hasName(exp["customExtensionStageSettings"], "customExtension"))})
	}
	return it
}

func listPolicies(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(policyType, policyNested)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, p := range s.st.em.sortedPolicies() {
		items = append(items, s.policyItem(c, p, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/assignmentPolicies", policyType, items)
}

func (s *Sim) policyByParam(c *reqCtx) *policyRec {
	return s.st.em.policies[strings.ToLower(c.params["id"])]
}

func getPolicy(c *reqCtx) *response {
	s := c.s
	p := s.policyByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(policyType, policyNested)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/assignmentPolicies", policyType, s.policyItem(c, p, exp))
}

func createPolicy(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	p, err := s.st.policyFromBody(m, "", nil, &s.ids, false)
	if err != nil {
		return c.emErrResp(err)
	}
	p.seq = s.st.nextSeq()
	p.created, p.modified = c.now, c.now
	s.st.em.policies[p.id] = p
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/assignmentPolicies/$entity")}}, s.policyItem(c, p, emExpand{}).full...))
}

func putPolicy(c *reqCtx) *response {
	s := c.s
	old := s.policyByParam(c)
	if old == nil {
		return c.notFound(c.params["id"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	p, err := s.st.policyFromBody(m, "", old, &s.ids, false)
	if err != nil {
		return c.emErrResp(err)
	}
	p.modified = c.now
	s.st.em.policies[p.id] = p
	return c.jsonResp(200, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/assignmentPolicies/$entity")}}, s.policyItem(c, p, emExpand{}).full...))
}

func deletePolicy(c *reqCtx) *response {
	s := c.s
	p := s.policyByParam(c)
	if p == nil {
		return c.notFound(c.params["id"])
	}
	for _, a := range s.st.em.assignments {
		if a.policyID == p.id && liveAssignment(a) {
			return c.badRequest("The policy cannot be deleted because it has active assignments. Remove the assignments first.")
		}
	}
	// Expired and failed assignments of the policy go with it.
	for id, a := range s.st.em.assignments {
		if a.policyID == p.id {
			delete(s.st.em.assignments, id)
		}
	}
	delete(s.st.em.policies, p.id)
	return c.noContent()
}
