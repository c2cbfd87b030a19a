package graphsim

import (
	"fmt"
	"strings"
	"time"
)

// Custom extensions of entitlement management: a catalog's
// customWorkflowExtensions (accessPackageAssignmentRequestWorkflowExtension
// and accessPackageAssignmentWorkflowExtension, both derived from the
// abstract customCalloutExtension) and the customExtensionStageSettings of
// assignment policies that run them. POST → 201, GET list/by id, PUT (an
// update of the properties sent: the v1.0 update pages use PUT with a
// partial body) → 200 with the extension, DELETE → 204. v1.0 has no PATCH
// (the router answers 405). em_doc.go lists the rules and their sources.

func registerEMExtensionRoutes(r *router) {
	r.add("GET", emPrefix+"/catalogs/{id}/customWorkflowExtensions", listExtensions)
	r.add("POST", emPrefix+"/catalogs/{id}/customWorkflowExtensions", createExtension)
	r.add("GET", emPrefix+"/catalogs/{id}/customWorkflowExtensions/{extensionId}", getExtension)
	r.add("PUT", emPrefix+"/catalogs/{id}/customWorkflowExtensions/{extensionId}", putExtension)
	r.add("DELETE", emPrefix+"/catalogs/{id}/customWorkflowExtensions/{extensionId}", deleteExtension)
}

const (
	extRequestType    = "accessPackageAssignmentRequestWorkflowExtension"
	extAssignmentType = "accessPackageAssignmentWorkflowExtension"
)

var extensionType = newEMType("customCalloutExtension",
	[]string{"id", "displayName", "description", "createdDateTime", "lastModifiedDateTime", "createdBy", "lastModifiedBy", "clientConfiguration", "endpointConfiguration", "authenticationConfiguration", "callbackConfiguration"},
	nil,
	map[string]filterProp{"id": {}, "displayName": {}, "description": {}})

// The complex types of a custom extension (v1.0 CSDL).
var (
	// customExtensionEndpointConfiguration is abstract; entitlement
	// management calls logic apps (httpRequestEndpoint, the other derived
	// type, belongs to custom authentication extensions and is refused).
	tEndpointConfig = &ctype{name: "customExtensionEndpointConfiguration", abstract: true, derived: []*ctype{
		{name: "logicAppTriggerEndpointConfiguration", typed: true, fields: []fdef{
			{name: "subscriptionId", kind: fString},
			{name: "resourceGroupName", kind: fString},
			{name: "logicAppWorkflowName", kind: fString},
			{name: "url", kind: fString},
		}},
	}}

	tAuthConfig = &ctype{name: "customExtensionAuthenticationConfiguration", abstract: true, derived: []*ctype{
		{name: "azureAdPopTokenAuthentication", typed: true},
		{name: "azureAdTokenAuthentication", typed: true, fields: []fdef{{name: "resourceId", kind: fString}}},
	}}

	tClientConfig = &ctype{name: "customExtensionClientConfiguration", fields: []fdef{
		{name: "maximumRetries", kind: fInt},
		{name: "timeoutInMilliseconds", kind: fInt},
	}}

	// customExtensionCallbackConfiguration is abstract in the CSDL, but
	// Microsoft's examples send and return it by that type name, so the
	// base type is accepted (and is what an untyped value becomes).
	tCallbackConfig = &ctype{name: "customExtensionCallbackConfiguration", typed: true,
		fields: []fdef{{name: "timeoutDuration", kind: fDuration}},
		derived: []*ctype{
			{name: "accessPackageRequestApprovalStageCallbackConfiguration", typed: true, fields: []fdef{{name: "timeoutDuration", kind: fDuration}}},
		}}

	// extensionFields are the structural properties a client sets, in
	// rendering order.
	extensionFields = []fdef{
		{name: "displayName", kind: fString},
		{name: "description", kind: fString},
		{name: "clientConfiguration", kind: fObject, typ: tClientConfig},
		{name: "endpointConfiguration", kind: fObject, typ: tEndpointConfig},
		{name: "authenticationConfiguration", kind: fObject, typ: tAuthConfig},
		{name: "callbackConfiguration", kind: fObject, typ: tCallbackConfig},
	}

	enumCustomExtensionStage = []string{"assignmentRequestCreated", "assignmentRequestApproved", "assignmentRequestGranted", "assignmentRequestRemoved", "assignmentFourteenDaysBeforeExpiration", "assignmentOneDayBeforeExpiration", "unknownFutureValue"}
)

// extensionStages are the stages each extension type can run at (the use
// cases listed on the two resource pages).
var extensionStages = map[string][]string{
	extRequestType:    {"assignmentRequestCreated", "assignmentRequestApproved", "assignmentRequestGranted", "assignmentRequestRemoved"},
	extAssignmentType: {"assignmentFourteenDaysBeforeExpiration", "assignmentOneDayBeforeExpiration"},
}

// Entitlement management accepts callback timeouts from 5 minutes to 14
// days (customExtensionCallbackConfiguration, timeoutDuration).
const (
	minCallbackTimeout = 5 * time.Minute
	maxCallbackTimeout = 14 * 24 * time.Hour
)

func extensionObject(x *extensionRec) object {
	o := object{
		{"@odata.type", "#microsoft.graph." + x.typ},
		{"id", x.id},
		{"displayName", objGet(x.body, "displayName")},
		{"description", objGet(x.body, "description")},
		{"createdDateTime", emTimeOr(x.created)},
		{"lastModifiedDateTime", emTimeOr(x.modified)},
		// The userPrincipalName of the creator: application callers have
		// none, and what Graph records for them is not documented.
		{"createdBy", nil},
		{"lastModifiedBy", nil},
	}
	for _, f := range extensionFields[2:] {
		o = append(o, field{f.name, objGet(x.body, f.name)})
	}
	return o
}

func (s *Sim) extensionItem(x *extensionRec) *emItem {
	full := extensionObject(x)
	return &emItem{seq: x.seq, full: full, filter: full, odataType: "#microsoft.graph." + x.typ}
}

func extensionTypeName(v any) (string, bool) {
	s, _ := v.(string)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "#"), "microsoft.graph.")
	for _, t := range []string{extRequestType, extAssignmentType} {
		if strings.EqualFold(s, t) {
			return t, true
		}
	}
	return "", false
}

// extensionFromBody validates a POST body (existing nil) or a PUT body
// (existing: the stored extension; properties not sent keep their
// values). Fixture loading allows server properties. Read-only properties
// and instance annotations are ignored, so a GET body can be PUT back.
func extensionFromBody(m map[string]any, existing *extensionRec, fixture bool) (*extensionRec, *emErr) {
	x := &extensionRec{}
	if existing != nil {
		*x = *existing
		x.body = append(object{}, existing.body...)
	}
	known := map[string]bool{"id": true, "createdDateTime": true, "lastModifiedDateTime": true, "createdBy": true, "lastModifiedBy": true}
	for _, f := range extensionFields {
		known[f.name] = true
	}
	typ := "customCalloutExtension"
	if existing != nil {
		typ = existing.typ
	} else if t, ok := extensionTypeName(m["@odata.type"]); ok {
		typ = t
	}
	for k := range m {
		if !known[k] && !strings.HasPrefix(k, "@") {
			return nil, unknownProp(k, typ)
		}
	}
	if v, ok := m["@odata.type"]; ok {
		t, known := extensionTypeName(v)
		switch {
		case !known:
			return nil, shapeErr("The type '%v' is not a valid type for a custom workflow extension (expected #microsoft.graph.%s or #microsoft.graph.%s).", v, extRequestType, extAssignmentType)
		case existing != nil && t != existing.typ:
			return nil, semErr("The type of a custom workflow extension cannot be changed (it is %s).", existing.typ)
		}
		x.typ = t
	} else if existing == nil {
		return nil, semErr("An @odata.type of #microsoft.graph.%s or #microsoft.graph.%s is required to create a custom workflow extension.", extRequestType, extAssignmentType)
	}
	if v, ok := m["id"]; ok && v != nil {
		s, _ := v.(string)
		switch {
		case existing != nil && !strings.EqualFold(s, existing.id):
			return nil, semErr("The id in the request body ('%v') does not match the id in the URL ('%s').", v, existing.id)
		case existing == nil && fixture:
			x.id = strings.ToLower(s)
		}
	}
	if fixture {
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["createdDateTime"])); err == nil {
			x.created = t.UTC()
		}
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["lastModifiedDateTime"])); err == nil {
			x.modified = t.UTC()
		}
	}
	body := object{}
	for _, f := range extensionFields {
		raw, present := m[f.name]
		if existing != nil && !present {
			body = append(body, field{f.name, objGet(existing.body, f.name)})
			continue
		}
		val, err := normalizeField(f, raw, present, f.name)
		if err != nil {
			return nil, err
		}
		body = append(body, field{f.name, val})
	}
	x.body = body
	if err := checkExtension(x); err != nil {
		return nil, err
	}
	return x, nil
}

// checkExtension applies the documented rules beyond shape.
func checkExtension(x *extensionRec) *emErr {
	if name, _ := objGet(x.body, "displayName").(string); strings.TrimSpace(name) == "" {
		return semErr("A value is required for property 'displayName' of resource '%s'.", x.typ)
	}
	ep := objGet(x.body, "endpointConfiguration")
	if ep == nil {
		return semErr("A value is required for property 'endpointConfiguration' of resource '%s'.", x.typ)
	}
	// logicAppTriggerEndpointConfiguration: the url is "only required for
	// app-only token scenarios", and every caller of this simulator is an
	// application.
	if u, _ := objGet(ep, "url").(string); strings.TrimSpace(u) == "" {
		return semErr("endpointConfiguration.url is required when an application creates a custom extension without a signed-in user.")
	}
	if objGet(x.body, "authenticationConfiguration") == nil {
		return semErr("A value is required for property 'authenticationConfiguration' of resource '%s'.", x.typ)
	}
	if cb := objGet(x.body, "callbackConfiguration"); cb != nil {
		if s, _ := objGet(cb, "timeoutDuration").(string); s != "" {
			if d, ok := parseISODuration(s); ok && (d < minCallbackTimeout || d > maxCallbackTimeout) {
				return semErr("callbackConfiguration.timeoutDuration '%s' is out of range: entitlement management accepts 5 minutes to 14 days.", s)
			}
		}
	}
	return nil
}

func (c *catalogRec) extensionByID(id string) *extensionRec {
	for _, x := range c.extensions {
		if strings.EqualFold(x.id, id) {
			return x
		}
	}
	return nil
}

func extensionsContext(cat *catalogRec) string {
	return "identityGovernance/entitlementManagement/catalogs('" + cat.id + "')/customWorkflowExtensions"
}

func listExtensions(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	if _, r := c.parseEMExpand(extensionType, nil); r != nil {
		return r
	}
	var items []*emItem
	for _, x := range cat.extensions {
		items = append(items, s.extensionItem(x))
	}
	return c.emList(extensionsContext(cat), extensionType, items)
}

func (s *Sim) extensionByParam(c *reqCtx) (*catalogRec, *extensionRec, *response) {
	cat := s.catalogByParam(c)
	if cat == nil {
		return nil, nil, c.notFound(c.params["id"])
	}
	x := cat.extensionByID(c.params["extensionId"])
	if x == nil {
		return nil, nil, c.notFound(c.params["extensionId"])
	}
	return cat, x, nil
}

func getExtension(c *reqCtx) *response {
	s := c.s
	cat, x, r := s.extensionByParam(c)
	if r != nil {
		return r
	}
	if _, r := c.parseEMExpand(extensionType, nil); r != nil {
		return r
	}
	return c.emEntity(200, extensionsContext(cat), extensionType, s.extensionItem(x))
}

func createExtension(c *reqCtx) *response {
	s := c.s
	cat := s.catalogByParam(c)
	if cat == nil {
		return c.notFound(c.params["id"])
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	x, err := extensionFromBody(m, nil, false)
	if err != nil {
		return c.emErrResp(err)
	}
	x.id = s.ids.uuid()
	x.catalog = cat
	x.seq = s.st.nextSeq()
	x.created, x.modified = c.now, c.now
	cat.extensions = append(cat.extensions, x)
	return c.jsonResp(201, append(object{{"@odata.context", c.context(extensionsContext(cat) + "/$entity")}}, extensionObject(x)...))
}

func putExtension(c *reqCtx) *response {
	s := c.s
	cat, old, r := s.extensionByParam(c)
	if r != nil {
		return r
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	x, err := extensionFromBody(m, old, false)
	if err != nil {
		return c.emErrResp(err)
	}
	x.modified = c.now
	*old = *x
	return c.jsonResp(200, append(object{{"@odata.context", c.context(extensionsContext(cat) + "/$entity")}}, extensionObject(old)...))
}

// deleteExtension is refused while a policy runs the extension: "The
// custom workflow extension must first be removed from any associated
// policies before it can be deleted."
func deleteExtension(c *reqCtx) *response {
	s := c.s
	cat, x, r := s.extensionByParam(c)
	if r != nil {
		return r
	}
	for _, p := range s.st.em.sortedPolicies() {
		for _, ss := range p.stageSettings {
			if ss.extensionID == x.id {
				return c.badRequest(fmt.Sprintf("The custom workflow extension cannot be deleted because assignment policy '%s' uses it. Remove it from the policy's customExtensionStageSettings first.", p.id))
			}
		}
	}
	kept := cat.extensions[:0]
	for _, e := range cat.extensions {
		if e != x {
			kept = append(kept, e)
		}
	}
	cat.extensions = kept
	return c.noContent()
}

// --- policy side ---------------------------------------------------------

// stageSettingsFromBody validates a policy's customExtensionStageSettings:
// each entry needs a known stage and a customExtension.id naming an
// extension of cat (the catalog of the policy's access package) whose type
// runs at that stage. Settings that keep their stage and extension keep
// their id; fixtures keep the ids they carry.
func stageSettingsFromBody(v any, cat *catalogRec, old []stageSettingRec, ids *splitmix, fixture bool) ([]stageSettingRec, *emErr) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, shapeErr("A collection is expected for 'customExtensionStageSettings'.")
	}
	extKnown := map[string]bool{}
	for _, p := range extensionType.props {
		extKnown[p] = true
	}
	var out []stageSettingRec
	for i, e := range arr {
		path := fmt.Sprintf("customExtensionStageSettings[%d]", i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, shapeErr("Cannot convert the value of '%s' to the expected type 'microsoft.graph.customExtensionStageSetting'.", path)
		}
		for k, val := range m {
			switch {
			case k == "id" || k == "stage" || k == "customExtension":
			case k == "@odata.type":
				if s, _ := val.(string); !strings.EqualFold(strings.TrimPrefix(s, "#"), "microsoft.graph.customExtensionStageSetting") {
					return nil, shapeErr("Invalid @odata.type '%v' for 'microsoft.graph.customExtensionStageSetting' (%s).", val, path)
				}
			case strings.HasPrefix(k, "@"):
			default:
				return nil, unknownProp(k, "customExtensionStageSetting")
			}
		}
		if m["stage"] == nil {
			return nil, semErr("A value is required for property 'stage' of resource 'customExtensionStageSetting' (%s).", path)
		}
		sv, err := enumValue(fdef{enum: enumCustomExtensionStage}, m["stage"], path+".stage")
		if err != nil {
			return nil, err
		}
		stage := sv.(string)
		if stage == "unknownFutureValue" {
			return nil, semErr("'unknownFutureValue' is not a stage at which a custom extension can run (%s).", path)
		}
		ce, ok := m["customExtension"].(map[string]any)
		switch {
		case m["customExtension"] == nil:
			return nil, semErr("A value is required for property 'customExtension' of resource 'customExtensionStageSetting' (%s).", path)
		case !ok:
			return nil, shapeErr("Cannot convert the value of '%s.customExtension' to the expected type 'microsoft.graph.customCalloutExtension'.", path)
		}
		for k := range ce {
			if !extKnown[k] && !strings.HasPrefix(k, "@") {
				return nil, unknownProp(k, "customCalloutExtension")
			}
		}
		xid, _ := ce["id"].(string)
		if xid == "" {
			return nil, semErr("customExtension.id is required (%s).", path)
		}
		var x *extensionRec
		if cat != nil {
			x = cat.extensionByID(xid)
		}
		if x == nil {
			return nil, semErr("The custom workflow extension '%s' does not exist in the catalog of the policy's access package (%s).", xid, path)
		}
		if t, present := ce["@odata.type"]; present {
			if tn, _ := extensionTypeName(t); tn != x.typ {
				return nil, semErr("customExtension '%s' is a %s, not %v (%s).", x.id, x.typ, t, path)
			}
		}
		if !hasName(extensionStages[x.typ], stage) {
			return nil, semErr("A %s cannot run at stage '%s' (%s: %s).", x.typ, stage, path, strings.Join(extensionStages[x.typ], ", "))
		}
		ss := stageSettingRec{stage: stage, extensionID: x.id}
		if id, _ := m["id"].(string); fixture && id != "" {
			ss.id = strings.ToLower(id)
		}
		for _, o := range old {
			if ss.id == "" && o.stage == stage && o.extensionID == x.id {
				ss.id = o.id
			}
		}
		if ss.id == "" {
			ss.id = ids.uuid()
		}
		out = append(out, ss)
	}
	return out, nil
}

// stageSettingObjects renders a policy's customExtensionStageSettings
// (navigation: only on $expand), with customExtension when the nested
// $expand asks for it.
func (s *Sim) stageSettingObjects(p *policyRec, withExtension bool) []object {
	out := []object{}
	var cat *catalogRec
	if pkg := s.st.em.packages[p.packageID]; pkg != nil {
		cat = s.st.em.catalogs[pkg.catalogID]
	}
	for _, ss := range p.stageSettings {
		o := object{{"id", ss.id}, {"stage", ss.stage}}
		if withExtension {
			var v any
			if cat != nil {
				if x := cat.extensionByID(ss.extensionID); x != nil {
					v = extensionObject(x)
				}
			}
			o = append(o, field{"customExtension", v})
		}
		out = append(out, o)
	}
	return out
}

// stageSettingRefs is the saved form of stage settings: the shape a
// client sends, with ids.
func stageSettingRefs(ss []stageSettingRec) []object {
	out := []object{}
	for _, s := range ss {
		out = append(out, object{{"id", s.id}, {"stage", s.stage}, {"customExtension", object{{"id", s.extensionID}}}})
	}
	return out
}
