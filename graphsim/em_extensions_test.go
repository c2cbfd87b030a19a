package graphsim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Microsoft's example ids and the logic app URLs of the documented
// responses (create example 1 and 2).
const (
	exPolicyPackage = "5ad1eb64-15f7-4614-b419-05d11ee266bf"
	exPolicyExt     = "bebe7873-1f0d-4db9-b6c3-01f7ebfe8476"
	exURLRequest    = "https://prod-31.eastus.logic.azure.com:443/workflows/8ccffea766ae48e680gd9a22d1549bbc/triggers/manual/paths/invoke?api-version=2016-10-01"
	exURLAssignment = "https://prod-31.eastus.logic.azure.com:443/workflows/7ccffea766ae48e680gd9a22d1549bbc/triggers/manual/paths/invoke?api-version=2016-10-01"
)

// documentedValue is the entity of a documented response; the pages wrap
// single entities in "value", which Graph does not (they are
// @odata.context + the entity, as every other entity response).
func documentedValue(t *testing.T, name string) map[string]any {
	t.Helper()
	m := exampleObject(t, name)
	if v, ok := m["value"].(map[string]any); ok {
		return v
	}
	return m
}

// asSent turns a documented create request into what an application must
// send: unwrapped from "value", callbackConfiguration's timeout under its
// CSDL name timeoutDuration (the examples' durationBeforeTimeout is not a
// v1.0 property) and the logic app url, required without a signed-in user.
func asSent(t *testing.T, name, url string) map[string]any {
	t.Helper()
	m := documentedValue(t, name)
	if cb, ok := m["callbackConfiguration"].(map[string]any); ok {
		cb["timeoutDuration"] = cb["durationBeforeTimeout"]
		delete(cb, "durationBeforeTimeout")
	}
	m["endpointConfiguration"].(map[string]any)["url"] = url
	return m
}

func jsonEqual(a, b any) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ra, &x)
	_ = json.Unmarshal(rb, &y)
	return reflect.DeepEqual(x, y)
}

// sameAsDocumented compares got with a documented extension field by field:
// same property names (extra: documented additions), same values except
// server-set ids and timestamps; callbackConfiguration is compared as
// timeoutDuration (see asSent).
func sameAsDocumented(t *testing.T, what string, want, got map[string]any, extra ...string) {
	t.Helper()
	sameKeys(t, what, want, got, append([]string{"@odata.context", "createdBy", "lastModifiedBy"}, extra...)...)
	for k, wv := range want {
		switch k {
		case "id", "createdDateTime", "lastModifiedDateTime":
			if str(got[k]) == "" {
				t.Errorf("%s: %s is empty", what, k)
			}
		case "callbackConfiguration":
			wcb := wv.(map[string]any)
			gcb, _ := got[k].(map[string]any)
			if gcb["timeoutDuration"] != wcb["durationBeforeTimeout"] || !strings.HasSuffix(str(gcb["@odata.type"]), "microsoft.graph.customExtensionCallbackConfiguration") {
				t.Errorf("%s: callbackConfiguration = %v, documented %v", what, gcb, wcb)
			}
		default:
			if !jsonEqual(wv, got[k]) {
				t.Errorf("%s: %s = %v, documented %v", what, k, got[k], wv)
			}
		}
	}
}

func mustBadRequest(t *testing.T, what string, r *result, code string) {
	t.Helper()
	if r.status != 400 || r.errorCode() != code || r.errorMessage() == "" {
		t.Errorf("%s: %d %s (want 400 %s)", what, r.status, r.raw, code)
		return
	}
	sameKeys(t, what, exampleObject(t, "error-generic.response.json"), r.obj)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
}

func TestEMCustomExtensions(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	extURL := emURL + "/catalogs/" + w.cat + "/customWorkflowExtensions"

	// The documented bodies as they stand: durationBeforeTimeout is not a
	// property of customExtensionCallbackConfiguration, and example 2 is
	// wrapped in "value".
	r := h.do("POST", extURL, string(readExample(t, "entitlement-customWorkflowExtension-create.request.json")))
	mustBadRequest(t, "example 1 unchanged", r, "BadRequest")
	if !strings.Contains(r.errorMessage(), "durationBeforeTimeout") {
		t.Errorf("example 1 unchanged: %s", r.raw)
	}
	mustBadRequest(t, "example 2 unchanged", h.do("POST", extURL, string(readExample(t, "entitlement-customWorkflowExtension-create-assignment.request.json"))), "BadRequest")

	// Example 1, as an application sends it.
	created := h.do("POST", extURL, asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageAssignmentRequestWorkflowExtension", created.raw)
	sameAsDocumented(t, "request extension", documentedValue(t, "entitlement-customWorkflowExtension-create.response.json"), created.obj)
	if created.obj["createdDateTime"] != "2026-11-23T01:02:03Z" || !strings.HasSuffix(str(created.obj["@odata.context"]), "/v1.0/$metadata#identityGovernance/entitlementManagement/catalogs('"+w.cat+"')/customWorkflowExtensions/$entity") {
		t.Errorf("created = %s", created.raw)
	}
	reqExt := str(created.obj["id"])

	// Example 2 (assignment extension: no callback in the example).
	created2 := h.do("POST", extURL, asSent(t, "entitlement-customWorkflowExtension-create-assignment.request.json", exURLAssignment)).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageAssignmentWorkflowExtension", created2.raw)
	sameAsDocumented(t, "assignment extension", documentedValue(t, "entitlement-customWorkflowExtension-create-assignment.response.json"), created2.obj, "callbackConfiguration")
	if created2.obj["callbackConfiguration"] != nil {
		t.Errorf("callbackConfiguration = %v", created2.obj["callbackConfiguration"])
	}
	asgExt := str(created2.obj["id"])

	// Refused bodies.
	good := func(mod func(m map[string]any)) map[string]any {
		m := asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)
		mod(m)
		return m
	}
	ep := func(m map[string]any) map[string]any { return m["endpointConfiguration"].(map[string]any) }
	for name, tc := range map[string]struct {
		body map[string]any
		code string
	}{
		"no @odata.type":        {good(func(m map[string]any) { delete(m, "@odata.type") }), "Request_BadRequest"},
		"abstract type":         {good(func(m map[string]any) { m["@odata.type"] = "#microsoft.graph.customCalloutExtension" }), "BadRequest"},
		"unknown property":      {good(func(m map[string]any) { m["workflowName"] = "x" }), "BadRequest"},
		"no displayName":        {good(func(m map[string]any) { delete(m, "displayName") }), "Request_BadRequest"},
		"blank displayName":     {good(func(m map[string]any) { m["displayName"] = " " }), "Request_BadRequest"},
		"no endpoint":           {good(func(m map[string]any) { delete(m, "endpointConfiguration") }), "Request_BadRequest"},
		"no authentication":     {good(func(m map[string]any) { delete(m, "authenticationConfiguration") }), "Request_BadRequest"},
		"no url":                {good(func(m map[string]any) { delete(ep(m), "url") }), "Request_BadRequest"},
		"untyped endpoint":      {good(func(m map[string]any) { delete(ep(m), "@odata.type") }), "BadRequest"},
		"http endpoint":         {good(func(m map[string]any) { ep(m)["@odata.type"] = "#microsoft.graph.httpRequestEndpoint" }), "BadRequest"},
		"endpoint typo":         {good(func(m map[string]any) { ep(m)["logicAppName"] = "x" }), "BadRequest"},
		"timeout below 5 min":   {good(func(m map[string]any) { m["callbackConfiguration"].(map[string]any)["timeoutDuration"] = "PT4M" }), "Request_BadRequest"},
		"timeout above 14 days": {good(func(m map[string]any) { m["callbackConfiguration"].(map[string]any)["timeoutDuration"] = "P15D" }), "Request_BadRequest"},
		"timeout not duration":  {good(func(m map[string]any) { m["callbackConfiguration"].(map[string]any)["timeoutDuration"] = "1 hour" }), "BadRequest"},
	} {
		mustBadRequest(t, name, h.do("POST", extURL, tc.body), tc.code)
	}
	h.do("POST", emURL+"/catalogs/4b1c2d3e-0000-4000-8000-000000000000/customWorkflowExtensions", good(func(map[string]any) {})).mustStatus(t, 404)

	// List: both types, each with its @odata.type (also under $select).
	list := h.do("GET", extURL, nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.customCalloutExtensionCollectionResponse", list.raw)
	docList := exampleObject(t, "entitlement-customWorkflowExtension-list.response.json")["value"].([]any)
	if vals := list.values(); len(vals) != 2 || vals[0]["@odata.type"] != "#microsoft.graph."+extRequestType || vals[1]["@odata.type"] != "#microsoft.graph."+extAssignmentType {
		t.Fatalf("list = %s", list.raw)
	} else {
		sameKeys(t, "list[0]", docList[0].(map[string]any), vals[0], "createdBy", "lastModifiedBy")
		sameKeys(t, "list[1]", docList[1].(map[string]any), vals[1], "createdBy", "lastModifiedBy", "callbackConfiguration")
	}
	sel := h.do("GET", extURL+"?$select=displayName&$filter=displayName eq 'test_action_0127_email'", nil).mustStatus(t, 200)
	if vals := sel.values(); len(vals) != 1 || len(vals[0]) != 2 || vals[0]["@odata.type"] != "#microsoft.graph."+extAssignmentType {
		t.Fatalf("select = %s", sel.raw)
	}

	// Get.
	got := h.do("GET", extURL+"/"+reqExt, nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentRequestWorkflowExtension", got.raw)
	sameAsDocumented(t, "get", documentedValue(t, "entitlement-customWorkflowExtension-create.response.json"), got.obj)
	h.do("GET", extURL+"/"+strings.ToUpper(reqExt), nil).mustStatus(t, 200)
	h.do("GET", extURL+"/0d0a7f5c-1111-4222-8333-444455556666", nil).mustStatus(t, 404)
	other := str(h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "Other"}).mustStatus(t, 201).obj["id"])
	h.do("GET", emURL+"/catalogs/"+other+"/customWorkflowExtensions/"+reqExt, nil).mustStatus(t, 404)

	// Update (PUT with the properties to change; the rest is kept).
	h.clock.Advance(time.Minute)
	upd := strings.Replace(string(readExample(t, "entitlement-customWorkflowExtension-update.request.json")), "this is for graph testing only", "updated", 1)
	put := h.do("PUT", extURL+"/"+reqExt, upd).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentRequestWorkflowExtension", put.raw)
	sameKeys(t, "update", documentedValue(t, "entitlement-customWorkflowExtension-update.response.json"), put.obj, "@odata.context", "createdBy", "lastModifiedBy")
	if put.obj["description"] != "updated" || objAt(t, put.obj, "endpointConfiguration", "url") != exURLRequest ||
		objAt(t, put.obj, "callbackConfiguration", "timeoutDuration") != "PT1H" || put.obj["lastModifiedDateTime"] != "2026-11-23T01:03:03Z" || put.obj["createdDateTime"] != "2026-11-23T01:02:03Z" {
		t.Fatalf("updated = %s", put.raw)
	}
	// A GET body goes back unchanged.
	back := h.do("PUT", extURL+"/"+reqExt, h.do("GET", extURL+"/"+reqExt, nil).mustStatus(t, 200).raw).mustStatus(t, 200)
	if !jsonEqual(back.obj["endpointConfiguration"], put.obj["endpointConfiguration"]) || back.obj["description"] != "updated" {
		t.Fatalf("round trip = %s", back.raw)
	}
	mustBadRequest(t, "type change", h.do("PUT", extURL+"/"+reqExt, map[string]any{"@odata.type": "#microsoft.graph." + extAssignmentType}), "Request_BadRequest")
	mustBadRequest(t, "clear endpoint", h.do("PUT", extURL+"/"+reqExt, map[string]any{"endpointConfiguration": nil}), "Request_BadRequest")
	mustBadRequest(t, "other id", h.do("PUT", extURL+"/"+reqExt, map[string]any{"id": asgExt}), "Request_BadRequest")
	if r := h.do("PATCH", extURL+"/"+reqExt, map[string]any{"description": "x"}); r.status != 405 {
		t.Errorf("PATCH: %d %s", r.status, r.raw)
	}

	// The catalog expands its extensions.
	cat := h.do("GET", emURL+"/catalogs/"+w.cat+"?$expand=customWorkflowExtensions", nil).mustStatus(t, 200)
	if xs, _ := cat.obj["customWorkflowExtensions"].([]any); len(xs) != 2 {
		t.Fatalf("catalog expand = %s", cat.raw)
	}

	// Delete an unused extension.
	h.do("DELETE", extURL+"/"+asgExt, nil).mustStatus(t, 204)
	h.do("GET", extURL+"/"+asgExt, nil).mustStatus(t, 404)
}

// policyWithExtension creates the documented policy (create policy,
// example 5) on w's package running extension ext.
func policyWithExtension(t *testing.T, h *harness, w emWorld, ext string) *result {
	t.Helper()
	body := strings.NewReplacer(exPolicyPackage, w.pkg, exPolicyExt, ext).
		Replace(string(readExample(t, "entitlement-assignmentPolicy-create-customExtension.request.json")))
	return h.do("POST", emURL+"/assignmentPolicies", body)
}

func TestEMPolicyCustomExtensionStages(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	extURL := emURL + "/catalogs/" + w.cat + "/customWorkflowExtensions"
	reqExt := str(h.do("POST", extURL, asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)).mustStatus(t, 201).obj["id"])
	asgExt := str(h.do("POST", extURL, asSent(t, "entitlement-customWorkflowExtension-create-assignment.request.json", exURLAssignment)).mustStatus(t, 201).obj["id"])
	other := str(h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "Other"}).mustStatus(t, 201).obj["id"])
	foreign := str(h.do("POST", emURL+"/catalogs/"+other+"/customWorkflowExtensions", asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)).mustStatus(t, 201).obj["id"])

	created := policyWithExtension(t, h, w, reqExt).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicy", created.raw)
	pol := str(created.obj["id"])
	polURL := emURL + "/assignmentPolicies/" + pol
	// A navigation property: not in the default rendering.
	if _, ok := created.obj["customExtensionStageSettings"]; ok {
		t.Errorf("create response carries customExtensionStageSettings: %s", created.raw)
	}
	if _, ok := h.do("GET", polURL, nil).mustStatus(t, 200).obj["customExtensionStageSettings"]; ok {
		t.Errorf("GET without $expand carries customExtensionStageSettings")
	}
	flat := h.do("GET", polURL+"?$expand=customExtensionStageSettings", nil).mustStatus(t, 200)
	ss := objAt(t, flat.obj, "customExtensionStageSettings", 0).(map[string]any)
	if len(ss) != 2 || ss["stage"] != "assignmentRequestCreated" || str(ss["id"]) == "" {
		t.Fatalf("stage settings = %s", flat.raw)
	}
	full := h.do("GET", polURL+"?$expand=customExtensionStageSettings($expand=customExtension)", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicy", full.raw)
	ce := objAt(t, full.obj, "customExtensionStageSettings", 0, "customExtension").(map[string]any)
	if ce["id"] != reqExt || ce["@odata.type"] != "#microsoft.graph."+extRequestType || objAt(t, ce, "endpointConfiguration", "url") != exURLRequest {
		t.Fatalf("expanded extension = %s", full.raw)
	}
	lst := h.do("GET", emURL+"/assignmentPolicies?$filter=id eq '"+pol+"'&$expand=customExtensionStageSettings($expand=customExtension)", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicyCollectionResponse", lst.raw)
	mustBadRequest(t, "nested expand typo", h.do("GET", polURL+"?$expand=customExtensionStageSettings($expand=extension)", nil), "BadRequest")

	// Refusals, on create and on PUT; nothing changes.
	stage := func(st string, ext any) map[string]any {
		return map[string]any{"stage": st, "customExtension": ext}
	}
	ref := func(id string) map[string]any { return map[string]any{"id": id} }
	for name, tc := range map[string]struct {
		setting any
		code    string
	}{
		"unknown stage":             {stage("assignmentRequestSubmitted", ref(reqExt)), "BadRequest"},
		"unknownFutureValue":        {stage("unknownFutureValue", ref(reqExt)), "Request_BadRequest"},
		"no stage":                  {map[string]any{"customExtension": ref(reqExt)}, "Request_BadRequest"},
		"no extension":              {map[string]any{"stage": "assignmentRequestCreated"}, "Request_BadRequest"},
		"no extension id":           {stage("assignmentRequestCreated", map[string]any{"@odata.type": "#microsoft.graph." + extRequestType}), "Request_BadRequest"},
		"unknown id":                {stage("assignmentRequestCreated", ref("0d0a7f5c-1111-4222-8333-444455556666")), "Request_BadRequest"},
		"other catalog":             {stage("assignmentRequestCreated", ref(foreign)), "Request_BadRequest"},
		"wrong type annotation":     {stage("assignmentRequestCreated", map[string]any{"@odata.type": "#microsoft.graph." + extAssignmentType, "id": reqExt}), "Request_BadRequest"},
		"assignment ext at request": {stage("assignmentRequestCreated", ref(asgExt)), "Request_BadRequest"},
		"request ext at expiry":     {stage("assignmentOneDayBeforeExpiration", ref(reqExt)), "Request_BadRequest"},
		"unknown setting property":  {map[string]any{"stage": "assignmentRequestCreated", "customExtension": ref(reqExt), "order": 1}, "BadRequest"},
		"not an object":             {"assignmentRequestCreated", "BadRequest"},
	} {
		body := exampleObject(t, "entitlement-assignmentPolicy-create-customExtension.request.json")
		body["accessPackage"] = map[string]any{"id": w.pkg}
		body["customExtensionStageSettings"] = []any{tc.setting}
		mustBadRequest(t, "create: "+name, h.do("POST", emURL+"/assignmentPolicies", body), tc.code)
		delete(body, "accessPackage")
		mustBadRequest(t, "put: "+name, h.do("PUT", polURL, body), tc.code)
	}
	if n := len(h.do("GET", emURL+"/assignmentPolicies?$filter=accessPackage/id eq '"+w.pkg+"'", nil).mustStatus(t, 200).values()); n != 2 {
		t.Fatalf("%d policies after refused creates, want 2", n)
	}
	// Each type at its own stages.
	body := exampleObject(t, "entitlement-assignmentPolicy-create-customExtension.request.json")
	body["accessPackage"] = map[string]any{"id": w.pkg}
	body["customExtensionStageSettings"] = []any{
		stage("assignmentRequestApproved", ref(reqExt)), stage("assignmentRequestGranted", ref(reqExt)), stage("assignmentRequestRemoved", ref(reqExt)),
		stage("assignmentFourteenDaysBeforeExpiration", ref(asgExt)), stage("ASSIGNMENTONEDAYBEFOREEXPIRATION", ref(strings.ToUpper(asgExt))),
	}
	second := str(h.do("POST", emURL+"/assignmentPolicies", body).mustStatus(t, 201).obj["id"])
	all := h.do("GET", emURL+"/assignmentPolicies/"+second+"?$expand=customExtensionStageSettings", nil).mustStatus(t, 200)
	var stages []string
	for _, s := range all.obj["customExtensionStageSettings"].([]any) {
		stages = append(stages, str(s.(map[string]any)["stage"]))
	}
	if got := strings.Join(stages, ","); got != "assignmentRequestApproved,assignmentRequestGranted,assignmentRequestRemoved,assignmentFourteenDaysBeforeExpiration,assignmentOneDayBeforeExpiration" {
		t.Fatalf("stages = %s", got)
	}
	h.do("DELETE", emURL+"/assignmentPolicies/"+second, nil).mustStatus(t, 204)

	// PUT of a GET body (with the expansion) round-trips, ids included; a
	// GET body without the expansion keeps the settings.
	put := h.do("PUT", polURL, full.raw).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicy", put.raw)
	again := h.do("GET", polURL+"?$expand=customExtensionStageSettings($expand=customExtension)", nil).mustStatus(t, 200)
	if !jsonEqual(again.obj["customExtensionStageSettings"], full.obj["customExtensionStageSettings"]) {
		t.Fatalf("after PUT of the GET body:\n%s\nwas\n%s", again.raw, full.raw)
	}
	h.do("PUT", polURL, h.do("GET", polURL, nil).mustStatus(t, 200).raw).mustStatus(t, 200)
	if n := len(h.do("GET", polURL+"?$expand=customExtensionStageSettings", nil).mustStatus(t, 200).obj["customExtensionStageSettings"].([]any)); n != 1 {
		t.Fatalf("PUT without the settings dropped them (%d left)", n)
	}

	// The extension cannot go while the policy runs it.
	del := h.do("DELETE", extURL+"/"+reqExt, nil)
	mustBadRequest(t, "delete used extension", del, "Request_BadRequest")
	if !strings.Contains(del.errorMessage(), pol) {
		t.Errorf("delete message does not name the policy: %s", del.raw)
	}
	// PUT replaces the settings: with [] they are gone and the delete
	// goes through.
	cleared := exampleObject(t, "entitlement-assignmentPolicy-create-customExtension.request.json")
	delete(cleared, "accessPackage")
	cleared["customExtensionStageSettings"] = []any{stage("assignmentFourteenDaysBeforeExpiration", ref(asgExt))}
	h.do("PUT", polURL, cleared).mustStatus(t, 200)
	h.do("DELETE", extURL+"/"+reqExt, nil).mustStatus(t, 204)
	cleared["customExtensionStageSettings"] = []any{}
	h.do("PUT", polURL, cleared).mustStatus(t, 200)
	if n := len(h.do("GET", polURL+"?$expand=customExtensionStageSettings", nil).mustStatus(t, 200).obj["customExtensionStageSettings"].([]any)); n != 0 {
		t.Fatalf("%d stage settings after PUT []", n)
	}
	h.do("DELETE", extURL+"/"+asgExt, nil).mustStatus(t, 204)
}

// Extensions and the stage settings that use them survive Save/Restore;
// deleting the catalog takes its extensions with it.
func TestEMCustomExtensionsSaveRestore(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	extURL := emURL + "/catalogs/" + w.cat + "/customWorkflowExtensions"
	reqExt := str(h.do("POST", extURL, asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)).mustStatus(t, 201).obj["id"])
	pol := str(policyWithExtension(t, h, w, reqExt).mustStatus(t, 201).obj["id"])

	var saved bytes.Buffer
	if err := h.sim.Save(&saved); err != nil {
		t.Fatal(err)
	}
	s2, err := Restore(bytes.NewReader(saved.Bytes()), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, saved.String())
	}
	var again bytes.Buffer
	if err := s2.Save(&again); err != nil {
		t.Fatal(err)
	}
	if saved.String() != again.String() {
		t.Fatalf("save → restore → save differs:\n%s\n---\n%s", saved.String(), again.String())
	}
	base2, stop, err := s2.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h2 := &harness{t: t, sim: s2, base: base2, client: h.client, clock: h.clock}
	for _, path := range []string{
		extURL,
		emURL + "/assignmentPolicies/" + pol + "?$expand=customExtensionStageSettings($expand=customExtension)",
	} {
		a, b := h.do("GET", path, nil).mustStatus(t, 200), h2.do("GET", path, nil).mustStatus(t, 200)
		delete(a.obj, "@odata.context")
		delete(b.obj, "@odata.context")
		if !jsonEqual(a.obj, b.obj) {
			t.Errorf("%s differs after restore:\n%s\n%s", path, a.raw, b.raw)
		}
	}

	// Catalog deletion: refused while it holds packages; once empty, its
	// extensions go with it.
	h.do("DELETE", emURL+"/catalogs/"+w.cat, nil).mustStatus(t, 400)
	cat := str(h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "Extensions only"}).mustStatus(t, 201).obj["id"])
	h.do("POST", emURL+"/catalogs/"+cat+"/customWorkflowExtensions", asSent(t, "entitlement-customWorkflowExtension-create.request.json", exURLRequest)).mustStatus(t, 201)
	h.do("DELETE", emURL+"/catalogs/"+cat, nil).mustStatus(t, 204)
	h.do("GET", emURL+"/catalogs/"+cat+"/customWorkflowExtensions", nil).mustStatus(t, 404)
}
