package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	emURL     = "/v1.0/identityGovernance/entitlementManagement"
	spGraph   = "5a1b7c2e-0c1d-4f44-9b1a-0e5d8f3c9a01"
	spAgent   = "7d9e4f10-2b3c-4d5e-8f60-718293a4b5c6"
	spCafe    = "2f1099a6-d4fc-4cc9-a0ef-ddd3f1bf0b7e"
	roleRWAll = "741f803b-c850-494e-b5df-cde7c675a1ca" // User.ReadWrite.All (application)
	roleRAll  = "df021288-bdef-4463-88db-98f22de89214" // User.Read.All (application)
)

// emFixture is the demo tenant plus the Microsoft Graph service principal
// (with two application permissions), an agent identity and an ordinary
// application with a user app role.
func emFixture() *Fixture {
	f := DemoFixture()
	f.ServicePrincipals = append(f.ServicePrincipals,
		ServicePrincipal{ID: spGraph, AppID: msGraphAppID, DisplayName: "Microsoft Graph", AppRoles: []AppRole{
			{ID: roleRWAll, Value: "User.ReadWrite.All", DisplayName: "Read and write all users' full profiles", AllowedMemberTypes: []string{"Application"}},
			{ID: roleRAll, Value: "User.Read.All", DisplayName: "Read all users' full profiles", AllowedMemberTypes: []string{"Application"}},
		}},
		ServicePrincipal{ID: spAgent, AppID: spAgent, DisplayName: "Support agent 1", ServicePrincipalType: "ServiceIdentity", ODataType: "#microsoft.graph.agentIdentity"},
		ServicePrincipal{ID: spCafe, DisplayName: "Faculty cafeteria ordering", AppRoles: []AppRole{
			{ID: "2cab8bf6-3fa2-4cc5-b0a7-a401af9f6197", Value: "admin", DisplayName: "admin", Description: "Administrator in the application", AllowedMemberTypes: []string{"User"}},
		}},
	)
	return f
}

type emWorld struct{ cat, res, role, scope, pkg, pol, rrs string }

func str(v any) string { s, _ := v.(string); return s }

func objAt(t *testing.T, v any, path ...any) any {
	t.Helper()
	cur := v
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("path %v: %v is not an object", path, cur)
			}
			cur = m[k]
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("path %v: %v has no element %d", path, cur, k)
			}
			cur = a[k]
		}
	}
	return cur
}

// setupEM builds catalog → group resource (Finance) → package → Member
// role scope → direct-assignment policy from the documented examples.
func setupEM(t *testing.T, h *harness) emWorld {
	t.Helper()
	var w emWorld
	cat := h.do("POST", emURL+"/catalogs", string(readExample(t, "entitlement-catalog-create.request.json"))).mustStatus(t, 201)
	w.cat = str(cat.obj["id"])
	req := strings.NewReplacer("8ab659d0-3839-427d-8c54-5ae92f0b3e2e", demoFinance, "beedadfe-01d5-4025-910b-84abb9369997", w.cat).
		Replace(string(readExample(t, "entitlement-resourceRequest-addGroup.request.json")))
	rr := h.do("POST", emURL+"/resourceRequests", req).mustStatus(t, 201)
	if rr.obj["state"] != "delivered" {
		t.Fatalf("resource request = %s", rr.raw)
	}
	res := h.do("GET", emURL+"/catalogs/"+w.cat+"/resources?$filter=originId eq '"+demoFinance+"'&$expand=roles,scopes", nil).mustStatus(t, 200)
	if len(res.values()) != 1 {
		t.Fatalf("resources = %s", res.raw)
	}
	r0 := res.values()[0]
	w.res = str(r0["id"])
	for _, ro := range r0["roles"].([]any) {
		if str(ro.(map[string]any)["originId"]) == "Member_"+demoFinance {
			w.role = str(ro.(map[string]any)["id"])
		}
	}
	w.scope = str(objAt(t, r0, "scopes", 0, "id"))
	pkgBody := strings.Replace(string(readExample(t, "entitlement-accessPackage-create.request.json")), "66584aae-98bb-48cc-9458-7bee5d2a6577", w.cat, 1)
	w.pkg = str(h.do("POST", emURL+"/accessPackages", pkgBody).mustStatus(t, 201).obj["id"])
	rrs := strings.NewReplacer(
		"748f8431-c7c6-404d-8564-df67aa8cfc5e", w.role, "b16e0e71-17b4-4ebd-a3cd-8a468542e418", w.res,
		"0282e19d-bf41-435d-92a4-99bab93af305", demoFinance, "83b3e3e9-c8b3-481b-ad80-53e29d1eda9c", w.scope,
	).Replace(string(readExample(t, "entitlement-accessPackage-resourceRoleScope-create-group.request.json")))
	w.rrs = str(h.do("POST", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes", rrs).mustStatus(t, 201).obj["id"])
	pol := strings.Replace(string(readExample(t, "entitlement-assignmentPolicy-create-direct.request.json")), "a2e1ca1e-4e56-47d2-9daa-e2ba8d12a82b", w.pkg, 1)
	w.pol = str(h.do("POST", emURL+"/assignmentPolicies", pol).mustStatus(t, 201).obj["id"])
	return w
}

func adminAdd(w emWorld, target string) map[string]any {
	return map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": target, "assignmentPolicyId": w.pol, "accessPackageId": w.pkg}}
}

func memberIDs(t *testing.T, h *harness, group string) string {
	t.Helper()
	r := h.do("GET", "/v1.0/groups/"+group+"/members?$select=id", nil).mustStatus(t, 200)
	return strings.Join(r.ids(), ",")
}

func TestEMCatalogs(t *testing.T) {
	h := newHarness(t, emFixture())
	r := h.do("POST", emURL+"/catalogs", string(readExample(t, "entitlement-catalog-create.request.json"))).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageCatalog", r.raw)
	sameKeys(t, "catalog create", exampleObject(t, "entitlement-catalog-create.response.json"), r.obj, "@odata.context")
	if r.obj["catalogType"] != "userManaged" || r.obj["state"] != "published" || r.obj["createdDateTime"] != "2026-11-23T01:02:03Z" {
		t.Fatalf("catalog = %s", r.raw)
	}
	id := str(r.obj["id"])
	h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "other", "state": "unpublished"}).mustStatus(t, 201)
	l := h.do("GET", emURL+"/catalogs?$filter=displayName eq 'sales'", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageCatalogCollectionResponse", l.raw)
	if got := strings.Join(l.ids(), ","); got != id {
		t.Fatalf("filter = %s", l.raw)
	}
	h.clock.Advance(time.Minute)
	h.do("PATCH", emURL+"/catalogs/"+id, map[string]any{"description": "changed", "isExternallyVisible": false}).mustStatus(t, 204)
	g := h.do("GET", emURL+"/catalogs/"+id, nil).mustStatus(t, 200)
	if g.obj["description"] != "changed" || g.obj["isExternallyVisible"] != false || g.obj["modifiedDateTime"] != "2026-11-23T01:03:03Z" {
		t.Fatalf("patched = %s", g.raw)
	}
	for name, body := range map[string]any{
		"unknown property": map[string]any{"displayName": "x", "catalogStatus": "Published"},
		"bad state":        map[string]any{"displayName": "x", "state": "live"},
		"no displayName":   map[string]any{"description": "x"},
		"serviceDefault":   map[string]any{"displayName": "x", "catalogType": "serviceDefault"},
	} {
		if e := h.do("POST", emURL+"/catalogs", body); e.status != 400 {
			t.Errorf("%s: %d %s", name, e.status, e.raw)
		} else {
			validate(t, "microsoft.graph.ODataErrors.ODataError", e.raw)
		}
	}
	h.do("DELETE", emURL+"/catalogs/"+id, nil).mustStatus(t, 204)
	h.do("GET", emURL+"/catalogs/"+id, nil).mustStatus(t, 404)
	// beta is served by the same routes.
	h.do("GET", "/beta/identityGovernance/entitlementManagement/catalogs", nil).mustStatus(t, 200)
}

func TestEMCatalogResources(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	rr := h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": demoFinance, "originSystem": "AadGroup"}, "catalog": map[string]any{"id": w.cat}})
	if rr.status != 400 {
		t.Fatalf("duplicate resource: %d %s", rr.status, rr.raw)
	}
	res := h.do("GET", emURL+"/catalogs/"+w.cat+"/resources?$filter=originId eq '"+demoFinance+"'&$expand=roles,scopes", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageResourceCollectionResponse", res.raw)
	ex := exampleObject(t, "entitlement-catalog-resources-list-byOriginId-expandRolesScopes.response.json")["value"].([]any)[0].(map[string]any)
	got := res.values()[0]
	sameKeys(t, "resource", ex, got)
	sameKeys(t, "role", objAt(t, ex, "roles", 0).(map[string]any), objAt(t, got, "roles", 0).(map[string]any), "description", "type")
	sameKeys(t, "scope", objAt(t, ex, "scopes", 0).(map[string]any), objAt(t, got, "scopes", 0).(map[string]any))
	if got["displayName"] != "Finance" || objAt(t, got, "scopes", 0, "originId") != demoFinance || objAt(t, got, "scopes", 0, "isRootScope") != true ||
		objAt(t, got, "roles", 1, "originId") != "Owner_"+demoFinance || objAt(t, got, "roles", 1, "displayName") != "Owner" {
		t.Fatalf("group resource = %s", res.raw)
	}

	// Application: its app roles; scope originId = service principal id.
	h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": spCafe, "originSystem": "AadApplication"}, "catalog": map[string]any{"id": w.cat}}).mustStatus(t, 201)
	app := h.do("GET", emURL+"/catalogs/"+w.cat+"/resources?$filter=originSystem eq 'AadApplication'&$expand=roles,scopes", nil).mustStatus(t, 200)
	exApp := exampleObject(t, "entitlement-catalog-resources-list-app-expandRolesScopes.response.json")["value"].([]any)[0].(map[string]any)
	gotApp := app.values()[0]
	sameKeys(t, "app role", objAt(t, exApp, "roles", 0).(map[string]any), objAt(t, gotApp, "roles", 0).(map[string]any), "type")
	if objAt(t, gotApp, "roles", 0, "originId") != "2cab8bf6-3fa2-4cc5-b0a7-a401af9f6197" || objAt(t, gotApp, "roles", 0, "description") != "Administrator in the application" ||
		objAt(t, gotApp, "scopes", 0, "originId") != spCafe {
		t.Fatalf("app resource = %s", app.raw)
	}

	// Unknown, AD-synced and dynamic groups cannot be onboarded.
	for _, g := range []string{"5b31c38c-2584-42f0-aa47-657fb3a84230", demoSecGroup1, demoSalesDyn} {
		r := h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": g, "originSystem": "AadGroup"}, "catalog": map[string]any{"id": w.cat}}).mustStatus(t, 201)
		if r.obj["state"] != "deliveryFailed" {
			t.Errorf("%s: %s", g, r.raw)
		}
	}
	roles := h.do("GET", emURL+"/catalogs/"+w.cat+"/resourceRoles?$filter=originSystem eq 'AadGroup' and resource/id eq '"+w.res+"' and displayName eq 'Member'", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageResourceRoleCollectionResponse", roles.raw)
	if got := strings.Join(roles.ids(), ","); got != w.role {
		t.Fatalf("resourceRoles = %s", roles.raw)
	}
	list := h.do("GET", emURL+"/resourceRequests?$filter=state eq 'deliveryFailed'", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageResourceRequestCollectionResponse", list.raw)
	if len(list.values()) != 3 {
		t.Fatalf("failed requests = %s", list.raw)
	}
	// A resource in use by a package cannot be removed; once unused it can.
	rm := map[string]any{"requestType": "adminRemove", "resource": map[string]any{"id": w.res}, "catalog": map[string]any{"id": w.cat}}
	if r := h.do("POST", emURL+"/resourceRequests", rm); r.status != 400 {
		t.Fatalf("remove in-use resource: %d", r.status)
	}
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes/"+w.rrs, nil).mustStatus(t, 204)
	h.do("POST", emURL+"/resourceRequests", rm).mustStatus(t, 201)
	if n := len(h.do("GET", emURL+"/catalogs/"+w.cat+"/resources", nil).values()); n != 1 {
		t.Fatalf("resources after remove: %d", n)
	}
	// A catalog with access packages cannot be deleted.
	if r := h.do("DELETE", emURL+"/catalogs/"+w.cat, nil); r.status != 400 {
		t.Fatalf("delete catalog with packages: %d", r.status)
	}
}

func TestEMPackagesAndRoleScopes(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	if w.rrs != w.role+"_"+w.scope {
		t.Fatalf("rrs id %s, want %s_%s", w.rrs, w.role, w.scope)
	}
	g := h.do("GET", emURL+"/accessPackages/"+w.pkg+"?$expand=resourceRoleScopes($expand=role,scope)", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackage", g.raw)
	ex := exampleObject(t, "entitlement-accessPackage-get-expandResourceRoleScopes.response.json")
	// catalogId is a beta leftover in the doc example (not in the v1.0
	// CSDL); v1.0 returns created/modified times.
	delete(ex, "catalogId")
	sameKeys(t, "package", ex, g.obj, "@odata.context", "createdDateTime", "modifiedDateTime")
	rs := objAt(t, g.obj, "resourceRoleScopes", 0).(map[string]any)
	exRS := objAt(t, ex, "resourceRoleScopes", 0).(map[string]any)
	sameKeys(t, "rrs", exRS, rs)
	sameKeys(t, "rrs role", exRS["role"].(map[string]any), rs["role"].(map[string]any), "description", "type")
	sameKeys(t, "rrs scope", exRS["scope"].(map[string]any), rs["scope"].(map[string]any))
	if objAt(t, rs, "role", "originId") != "Member_"+demoFinance || objAt(t, rs, "scope", "isRootScope") != true {
		t.Fatalf("rrs = %v", rs)
	}
	// Create response shape.
	create := h.do("POST", emURL+"/accessPackages", map[string]any{"displayName": "second", "catalog": map[string]any{"id": w.cat}}).mustStatus(t, 201)
	sameKeys(t, "package create", exampleObject(t, "entitlement-accessPackage-create.response.json"), create.obj, "@odata.context")
	l := h.do("GET", emURL+"/accessPackages?$filter=catalog/id eq '"+w.cat+"'&$expand=resourceRoleScopes($expand=role,scope)", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageCollectionResponse", l.raw)
	if len(l.values()) != 2 || len(l.values()[0]["resourceRoleScopes"].([]any)) != 1 {
		t.Fatalf("list = %s", l.raw)
	}
	if n := len(h.do("GET", emURL+"/accessPackages?$filter=displayName eq 'sales reps'&$expand=catalog", nil).mustStatus(t, 200).values()); n != 1 {
		t.Fatalf("displayName filter: %d", n)
	}
	c := h.do("GET", emURL+"/accessPackages/"+w.pkg+"?$expand=catalog", nil).mustStatus(t, 200)
	if objAt(t, c.obj, "catalog", "id") != w.cat {
		t.Fatalf("expand catalog = %s", c.raw)
	}
	// Role scope errors: duplicate, role of a resource not in the catalog.
	dup := map[string]any{"role": map[string]any{"originId": "Member_" + demoFinance, "originSystem": "AadGroup", "resource": map[string]any{"id": w.res}}, "scope": map[string]any{"originId": demoFinance, "originSystem": "AadGroup"}}
	if r := h.do("POST", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes", dup); r.status != 400 {
		t.Fatalf("duplicate rrs: %d", r.status)
	}
	other := str(h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "other"}).mustStatus(t, 201).obj["id"])
	otherPkg := str(h.do("POST", emURL+"/accessPackages", map[string]any{"displayName": "p", "catalog": map[string]any{"id": other}}).mustStatus(t, 201).obj["id"])
	if r := h.do("POST", emURL+"/accessPackages/"+otherPkg+"/resourceRoleScopes", dup); r.status != 400 {
		t.Fatalf("rrs outside catalog: %d %s", r.status, r.raw)
	}
	// Owner role by originId without ids.
	own := h.do("POST", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes", map[string]any{"role": map[string]any{"originId": "Owner_" + demoFinance, "originSystem": "AadGroup", "resource": map[string]any{"originId": demoFinance, "originSystem": "AadGroup"}}, "scope": map[string]any{"originId": demoFinance, "originSystem": "AadGroup"}}).mustStatus(t, 201)
	sameKeys(t, "rrs create", exampleObject(t, "entitlement-accessPackage-resourceRoleScope-create-group.response.json"), own.obj, "@odata.context")
	// PATCH, incompatible packages/groups.
	h.do("PATCH", emURL+"/accessPackages/"+w.pkg, map[string]any{"isHidden": true}).mustStatus(t, 204)
	if h.do("GET", emURL+"/accessPackages/"+w.pkg, nil).obj["isHidden"] != true {
		t.Fatal("isHidden not patched")
	}
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/" + otherPkg}
	h.do("POST", emURL+"/accessPackages/"+w.pkg+"/incompatibleAccessPackages/$ref", ref).mustStatus(t, 204)
	h.do("POST", emURL+"/accessPackages/"+w.pkg+"/incompatibleAccessPackages/$ref", ref).mustStatus(t, 400)
	h.do("POST", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + demoOldProj}).mustStatus(t, 204)
	if got := strings.Join(h.do("GET", emURL+"/accessPackages/"+w.pkg+"/incompatibleAccessPackages", nil).mustStatus(t, 200).ids(), ","); got != otherPkg {
		t.Fatalf("incompatible = %s", got)
	}
	if got := strings.Join(h.do("GET", emURL+"/accessPackages/"+otherPkg+"/accessPackagesIncompatibleWith", nil).mustStatus(t, 200).ids(), ","); got != w.pkg {
		t.Fatalf("incompatibleWith = %s", got)
	}
	if got := strings.Join(h.do("GET", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups", nil).mustStatus(t, 200).ids(), ","); got != demoOldProj {
		t.Fatalf("incompatibleGroups = %s", got)
	}
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups/"+demoOldProj+"/$ref", nil).mustStatus(t, 204)
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups/"+demoOldProj+"/$ref", nil).mustStatus(t, 404)
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg+"/incompatibleAccessPackages/"+otherPkg+"/$ref", nil).mustStatus(t, 204)
}

func TestEMAssignmentLifecycle(t *testing.T) {
	h := newHarness(t, emFixture())
	h.sim.SetFaults(Faults{DeliveryDelay: 10 * time.Second})
	w := setupEM(t, h)
	body := strings.NewReplacer("46184453-e63b-4f20-86c2-c557ed5d5df9", demoCarol, "2264bf65-76ba-417b-a27d-54d291f0cbc8", w.pol, "a914b616-e04e-476b-aa37-91038f0b165b", w.pkg).
		Replace(string(readExample(t, "entitlement-assignmentRequest-adminAdd.request.json")))
	r := h.do("POST", emURL+"/assignmentRequests", body).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageAssignmentRequest", r.raw)
	if r.obj["state"] != "submitted" || r.obj["status"] != "Accepted" || r.obj["requestType"] != "adminAdd" {
		t.Fatalf("request = %s", r.raw)
	}
	reqID := str(r.obj["id"])
	// Duplicate while the first is being delivered.
	if d := h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoCarol)); d.status != 400 {
		t.Fatalf("duplicate adminAdd: %d", d.status)
	}
	a := h.do("GET", emURL+"/assignments?$filter=accessPackage/id eq '"+w.pkg+"'&$expand=target", nil).mustStatus(t, 200)
	if len(a.values()) != 1 || a.values()[0]["state"] != "delivering" {
		t.Fatalf("assignments before delivery = %s", a.raw)
	}
	h.clock.Advance(5 * time.Second)
	if s := h.do("GET", emURL+"/assignmentRequests/"+reqID, nil).mustStatus(t, 200).obj["state"]; s != "delivering" {
		t.Fatalf("state at half delay = %v", s)
	}
	if strings.Contains(memberIDs(t, h, demoFinance), demoCarol) {
		t.Fatal("member before delivery")
	}
	h.clock.Advance(5 * time.Second)
	g := h.do("GET", emURL+"/assignmentRequests/"+reqID+"?$expand=assignment", nil).mustStatus(t, 200)
	if g.obj["state"] != "delivered" || g.obj["completedDateTime"] != "2026-11-23T01:02:13Z" || objAt(t, g.obj, "assignment", "state") != "delivered" {
		t.Fatalf("request after delay = %s", g.raw)
	}
	if !strings.Contains(memberIDs(t, h, demoFinance), demoCarol) {
		t.Fatal("no membership after delivery")
	}
	a = h.do("GET", emURL+"/assignments?$filter=accessPackage/id eq '"+w.pkg+"'&$expand=target,accessPackage,assignmentPolicy", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentCollectionResponse", a.raw)
	av := a.values()[0]
	sameKeys(t, "assignment", exampleObject(t, "entitlement-assignments-list.response.json")["value"].([]any)[0].(map[string]any), av, "target", "accessPackage", "assignmentPolicy")
	if av["state"] != "delivered" || av["status"] != "Delivered" || objAt(t, av, "target", "objectId") != demoCarol ||
		objAt(t, av, "target", "principalName") != "carol@contoso.com" || objAt(t, av, "target", "email") != "carol@contoso.com" ||
		objAt(t, av, "target", "subjectType") != "user" || objAt(t, av, "accessPackage", "id") != w.pkg || objAt(t, av, "assignmentPolicy", "id") != w.pol ||
		objAt(t, av, "schedule", "expiration", "type") != "noExpiration" {
		t.Fatalf("assignment = %v", av)
	}
	asgID := str(av["id"])
	// A role added to the package reaches existing assignees at once;
	// removing it takes the access away.
	own := h.do("POST", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes", map[string]any{"role": map[string]any{"originId": "Owner_" + demoFinance, "originSystem": "AadGroup"}}).mustStatus(t, 201)
	if o := strings.Join(h.do("GET", "/v1.0/groups/"+demoFinance+"/owners?$select=id", nil).mustStatus(t, 200).ids(), ","); o != demoCarol {
		t.Fatalf("owners after adding the Owner role = %s", o)
	}
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg+"/resourceRoleScopes/"+str(own.obj["id"]), nil).mustStatus(t, 204)
	if o := h.do("GET", "/v1.0/groups/"+demoFinance+"/owners?$select=id", nil).mustStatus(t, 200).ids(); len(o) != 0 {
		t.Fatalf("owners after removing the Owner role = %v", o)
	}
	// EM requests work inside $batch like any other.
	b := h.do("POST", "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/identityGovernance/entitlementManagement/assignments?$filter=state eq 'delivered'"},
		map[string]any{"id": "2", "method": "POST", "url": "/identityGovernance/entitlementManagement/assignments/" + asgID + "/reprocess"},
	}}).mustStatus(t, 200)
	if objAt(t, b.obj, "responses", 0, "status") != float64(200) || objAt(t, b.obj, "responses", 1, "status") != float64(202) {
		t.Fatalf("batch = %s", b.raw)
	}
	for _, q := range []string{"state eq 'Delivered'", "target/objectId eq '" + demoCarol + "'", "accessPackage/id eq '" + w.pkg + "' and state eq 'delivered'"} {
		if n := len(h.do("GET", emURL+"/assignments?$filter="+q, nil).mustStatus(t, 200).values()); n != 1 {
			t.Errorf("$filter=%s: %d", q, n)
		}
	}
	sel := h.do("GET", emURL+"/assignments?$select=id,state", nil).mustStatus(t, 200)
	if len(sel.values()[0]) != 2 {
		t.Fatalf("$select = %s", sel.raw)
	}
	if e := h.do("GET", emURL+"/assignments?$filter=bogus eq 'x'", nil); e.status != 400 {
		t.Fatalf("bad filter: %d", e.status)
	}
	if d := h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoCarol)); d.status != 400 {
		t.Fatalf("duplicate adminAdd after delivery: %d", d.status)
	}
	// The package cannot be deleted while the assignment is live.
	if d := h.do("DELETE", emURL+"/accessPackages/"+w.pkg, nil); d.status != 400 || d.errorCode() != "Request_BadRequest" {
		t.Fatalf("delete package with assignment: %d %s", d.status, d.raw)
	}
	if d := h.do("DELETE", emURL+"/assignmentPolicies/"+w.pol, nil); d.status != 400 {
		t.Fatalf("delete policy with assignment: %d", d.status)
	}
	// adminRemove: removed after the delay, membership gone.
	rm := strings.Replace(string(readExample(t, "entitlement-assignmentRequest-adminRemove.request.json")), "a6bb6942-3ae1-4259-9908-0133aaee9377", asgID, 1)
	rr := h.do("POST", emURL+"/assignmentRequests", rm).mustStatus(t, 201)
	if rr.obj["requestType"] != "adminRemove" || rr.obj["state"] != "submitted" {
		t.Fatalf("adminRemove = %s", rr.raw)
	}
	if d := h.do("POST", emURL+"/assignmentRequests", rm); d.status != 400 {
		t.Fatalf("second adminRemove: %d", d.status)
	}
	h.clock.Advance(10 * time.Second)
	ga := h.do("GET", emURL+"/assignments/"+asgID, nil).mustStatus(t, 200)
	if ga.obj["state"] != "expired" || ga.obj["expiredDateTime"] != "2026-11-23T01:02:23Z" {
		t.Fatalf("removed assignment = %s", ga.raw)
	}
	if strings.Contains(memberIDs(t, h, demoFinance), demoCarol) {
		t.Fatal("membership not removed")
	}
	if m := memberIDs(t, h, demoFinance); m != strings.Join([]string{demoFrank, "ac8efe12-1c59-49f1-ba2d-de83458bfed0", "5796a670-482c-490e-8d97-82bfcdc83011"}, ",") {
		t.Fatalf("other members touched: %s", m)
	}
	h.do("DELETE", emURL+"/accessPackages/"+w.pkg, nil).mustStatus(t, 204)
	h.do("GET", emURL+"/assignmentPolicies/"+w.pol, nil).mustStatus(t, 404)
	h.do("GET", emURL+"/assignments/"+asgID, nil).mustStatus(t, 404)
}

func TestEMAssignmentValidation(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	cases := map[string]struct {
		body   any
		status int
	}{
		"legacy body key":   {map[string]any{"requestType": "adminAdd", "accessPackageAssignment": map[string]any{"targetId": demoCarol}}, 400},
		"unknown package":   {map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": demoCarol, "assignmentPolicyId": w.pol, "accessPackageId": "5b31c38c-2584-42f0-aa47-657fb3a84230"}}, 404},
		"unknown target":    {adminAdd(w, "5b31c38c-2584-42f0-aa47-657fb3a84230"), 404},
		"group target":      {adminAdd(w, demoFinance), 400},
		"userAdd":           {map[string]any{"requestType": "userAdd", "assignment": map[string]any{"targetId": demoCarol, "assignmentPolicyId": w.pol, "accessPackageId": w.pkg}}, 400},
		"remove unknown":    {map[string]any{"requestType": "adminRemove", "assignment": map[string]any{"id": "5b31c38c-2584-42f0-aa47-657fb3a84230"}}, 404},
		"unknown property":  {map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": demoCarol, "assignmentPolicyId": w.pol, "accessPackageId": w.pkg}, "isValidationOnly": true}, 400},
		"external not ok":   {map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"target": map[string]any{"email": "x@fabrikam.com"}, "assignmentPolicyId": w.pol, "accessPackageId": w.pkg}}, 400},
		"email of a member": {map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"target": map[string]any{"email": "carol@contoso.com"}, "assignmentPolicyId": w.pol, "accessPackageId": w.pkg}}, 201},
	}
	for name, tc := range cases {
		r := h.do("POST", emURL+"/assignmentRequests", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	// Reprocess errors.
	h.do("POST", emURL+"/assignments/not-a-guid/reprocess", nil).mustStatus(t, 400)
	h.do("POST", emURL+"/assignments/5b31c38c-2584-42f0-aa47-657fb3a84230/reprocess", nil).mustStatus(t, 404)
}

func TestEMReprocessRepairsMissingMembership(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	h.sim.SetFaults(Faults{MissingMembershipCount: 1})
	h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoCarol)).mustStatus(t, 201)
	h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoNiaj)).mustStatus(t, 201)
	a := h.do("GET", emURL+"/assignments?$filter=state eq 'delivered'&$expand=target", nil).mustStatus(t, 200)
	if len(a.values()) != 2 {
		t.Fatalf("assignments = %s", a.raw)
	}
	members := memberIDs(t, h, demoFinance)
	if strings.Contains(members, demoCarol) || !strings.Contains(members, demoNiaj) {
		t.Fatalf("members = %s (Carol's membership should be missing, Niaj's present)", members)
	}
	if h.sim.Faults().MissingMembershipCount != 0 {
		t.Fatal("fault count not consumed")
	}
	carol := ""
	for _, v := range a.values() {
		if objAt(t, v, "target", "objectId") == demoCarol {
			carol = str(v["id"])
		}
	}
	r := h.do("POST", emURL+"/assignments/"+carol+"/reprocess", nil).mustStatus(t, 202)
	if len(r.raw) != 0 {
		t.Fatalf("reprocess body = %s", r.raw)
	}
	if !strings.Contains(memberIDs(t, h, demoFinance), demoCarol) {
		t.Fatal("reprocess did not repair the membership")
	}
	// Rate-based fault is deterministic by seed.
	run := func() string {
		h2 := newHarness(t, emFixture())
		w2 := setupEM(t, h2)
		h2.sim.SetFaults(Faults{MissingMembershipRate: 0.5})
		for _, u := range []string{demoAlice, demoBob, demoCarol, demoErin, demoIvan, demoNiaj} {
			h2.do("POST", emURL+"/assignmentRequests", adminAdd(w2, u)).mustStatus(t, 201)
		}
		return memberIDs(t, h2, demoFinance)
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("rate fault not deterministic: %s vs %s", a, b)
	}
}

func TestEMPolicies(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	// The documented approval-and-review request, with ids of this tenant.
	body := strings.NewReplacer("7deff43e-1f17-44ef-9e5f-d516b0ba11d4", demoAlice, "46184453-e63b-4f20-86c2-c557ed5d5df9", demoBob,
		"1623f912-5e86-41c2-af47-39dd67582b66", demoMarketing, "a2e1ca1e-4e56-47d2-9daa-e2ba8d12a82b", w.pkg).
		Replace(string(readExample(t, "entitlement-assignmentPolicy-create-approvalAndReview.request.json")))
	r := h.do("POST", emURL+"/assignmentPolicies", body).mustStatus(t, 201)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicy", r.raw)
	sameKeys(t, "policy create", exampleObject(t, "entitlement-assignmentPolicy-create-approvalAndReview.response.json"), r.obj,
		"@odata.context", "allowedTargetScope", "specificAllowedTargets", "expiration", "requestorSettings", "requestApprovalSettings",
		"reviewSettings", "automaticRequestSettings", "notificationSettings", "createdDateTime", "modifiedDateTime")
	id := str(r.obj["id"])
	// Server defaults: fields the client omitted come back filled.
	if objAt(t, r.obj, "expiration", "duration") != nil || objAt(t, r.obj, "expiration", "endDateTime") != nil ||
		objAt(t, r.obj, "requestApprovalSettings", "isRequestorJustificationRequired") != false ||
		objAt(t, r.obj, "requestApprovalSettings", "stages", 0, "approverInformationVisibility") != "default" ||
		objAt(t, r.obj, "automaticRequestSettings") != nil || objAt(t, r.obj, "notificationSettings", "isAssignmentNotificationDisabled") != false ||
		objAt(t, r.obj, "reviewSettings", "schedule", "recurrence", "pattern", "firstDayOfWeek") != "sunday" ||
		objAt(t, r.obj, "reviewSettings", "schedule", "startDateTime") != "2022-07-02T06:59:59.998Z" ||
		objAt(t, r.obj, "requestApprovalSettings", "stages", 0, "primaryApprovers", 0, "@odata.type") != "#microsoft.graph.internalSponsors" ||
		objAt(t, r.obj, "requestApprovalSettings", "stages", 0, "fallbackPrimaryApprovers", 0, "description") != nil {
		t.Fatalf("policy = %s", r.raw)
	}
	// GET equals the create response (minus context).
	g := h.do("GET", emURL+"/assignmentPolicies/"+id, nil).mustStatus(t, 200)
	if !bytes.Equal(bytes.SplitN(g.raw, []byte(","), 2)[1], bytes.SplitN(r.raw, []byte(","), 2)[1]) {
		t.Fatalf("GET differs from POST:\n%s\n%s", g.raw, r.raw)
	}
	// PUT: full replace with the documented update body.
	h.clock.Advance(time.Hour)
	put := strings.NewReplacer("87e1c7f7-c7f7-87e1-f7c7-e187f7c7e187", id, "e6bf4d7d-6824-4dd0-809d-5bf42d4817c2", demoAlice, "49d2c59b-0a81-463d-a8ec-ddad3935d8a0", w.pkg).
		Replace(string(readExample(t, "entitlement-assignmentPolicy-update-put.request.json")))
	p := h.do("PUT", emURL+"/assignmentPolicies/"+id, put).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicy", p.raw)
	sameKeys(t, "policy put", exampleObject(t, "entitlement-assignmentPolicy-update-put.response.json"), p.obj,
		"@odata.context", "allowedTargetScope", "specificAllowedTargets", "expiration", "requestorSettings", "requestApprovalSettings",
		"reviewSettings", "automaticRequestSettings", "notificationSettings", "createdDateTime", "modifiedDateTime")
	if p.obj["displayName"] != "All Users" || p.obj["allowedTargetScope"] != "allDirectoryUsers" || p.obj["reviewSettings"] != nil ||
		objAt(t, p.obj, "requestApprovalSettings", "stages", 0, "durationBeforeAutomaticDenial") != "P2D" ||
		objAt(t, p.obj, "requestApprovalSettings", "stages", 0, "primaryApprovers", 0, "managerLevel") != float64(1) ||
		p.obj["modifiedDateTime"] != "2026-11-23T02:02:03Z" || p.obj["createdDateTime"] != "2026-11-23T01:02:03Z" {
		t.Fatalf("after PUT = %s", p.raw)
	}
	// A GET body can be PUT back unchanged (annotations and read-only
	// properties are ignored).
	g = h.do("GET", emURL+"/assignmentPolicies/"+id, nil).mustStatus(t, 200)
	h.do("PUT", emURL+"/assignmentPolicies/"+id, g.raw).mustStatus(t, 200)
	// v1.0 has no PATCH for policies.
	if e := h.do("PATCH", emURL+"/assignmentPolicies/"+id, map[string]any{"displayName": "x"}); e.status != 405 {
		t.Fatalf("PATCH: %d", e.status)
	}
	bad := map[string]map[string]any{
		"durationInDays":      {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "durationInDays": 30},
		"legacy requestor":    {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "requestorSettings": map[string]any{"scopeType": "NoSubjects"}},
		"bad enum":            {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "allowedTargetScope": "everyone"},
		"bad duration":        {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "expiration": map[string]any{"type": "afterDuration", "duration": "P1Y"}},
		"afterDuration no d":  {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "expiration": map[string]any{"type": "afterDuration"}},
		"no subject type":     {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "allowedTargetScope": "specificDirectoryUsers", "specificAllowedTargets": []any{map[string]any{"userId": demoAlice}}},
		"unknown user":        {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "allowedTargetScope": "specificDirectoryUsers", "specificAllowedTargets": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": "5b31c38c-2584-42f0-aa47-657fb3a84230"}}},
		"specific, no target": {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "allowedTargetScope": "specificDirectoryUsers"},
		"approval no stage":   {"displayName": "p", "accessPackage": map[string]any{"id": w.pkg}, "requestApprovalSettings": map[string]any{"isApprovalRequiredForAdd": true}},
		"no displayName":      {"accessPackage": map[string]any{"id": w.pkg}},
		"no accessPackage":    {"displayName": "p"},
	}
	for name, b := range bad {
		if e := h.do("POST", emURL+"/assignmentPolicies", b); e.status != 400 {
			t.Errorf("%s: %d %s", name, e.status, e.raw)
		}
	}
	if e := h.do("PUT", emURL+"/assignmentPolicies/"+id, map[string]any{"id": w.pol, "displayName": "x"}); e.status != 400 {
		t.Errorf("PUT with another id: %d", e.status)
	}
	// Durations come back in Graph's canonical form; expiration after 30 days
	// sets the assignment's end.
	ex := h.do("POST", emURL+"/assignmentPolicies", map[string]any{"displayName": "30 days", "accessPackage": map[string]any{"id": w.pkg},
		"expiration": map[string]any{"type": "afterDuration", "duration": "PT720H"}}).mustStatus(t, 201)
	if objAt(t, ex.obj, "expiration", "duration") != "P30D" || objAt(t, ex.obj, "requestorSettings", "onBehalfRequestors") == nil {
		t.Fatalf("normalised = %s", ex.raw)
	}
	// Automatic assignment policy (documented example) and questions.
	auto := strings.Replace(string(readExample(t, "entitlement-assignmentPolicy-create-autoAssignment.request.json")), "8a36831e-1527-4b2b-aff2-81259a8d8e76", w.pkg, 1)
	h.do("POST", emURL+"/assignmentPolicies", auto).mustStatus(t, 201)
	q := h.do("POST", emURL+"/assignmentPolicies", map[string]any{"displayName": "q", "accessPackage": map[string]any{"id": w.pkg},
		"questions": []any{map[string]any{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "text": "Why?", "isRequired": true, "sequence": 1}}}).mustStatus(t, 201)
	qs := h.do("GET", emURL+"/assignmentPolicies/"+str(q.obj["id"])+"?$expand=questions,accessPackage", nil).mustStatus(t, 200)
	if objAt(t, qs.obj, "questions", 0, "text") != "Why?" || str(objAt(t, qs.obj, "questions", 0, "id")) == "" || objAt(t, qs.obj, "accessPackage", "id") != w.pkg {
		t.Fatalf("questions = %s", qs.raw)
	}
	l := h.do("GET", emURL+"/assignmentPolicies?$filter=accessPackage/id eq '"+w.pkg+"'&$expand=accessPackage", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackageAssignmentPolicyCollectionResponse", l.raw)
	if n := len(l.values()); n != 5 {
		t.Fatalf("policies = %d", n)
	}
	// Admin-added assignments bypass approval.
	h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": demoIvan, "assignmentPolicyId": id, "accessPackageId": w.pkg}}).mustStatus(t, 201)
	if !strings.Contains(memberIDs(t, h, demoFinance), demoIvan) {
		t.Fatal("approval policy: admin add not delivered")
	}
	// Policy expiration: the 30-day policy's assignment expires.
	h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": demoNiaj, "assignmentPolicyId": str(ex.obj["id"]), "accessPackageId": w.pkg}}).mustStatus(t, 201)
	a := h.do("GET", emURL+"/assignments?$filter=target/objectId eq '"+demoNiaj+"'", nil).mustStatus(t, 200)
	if objAt(t, a.values()[0], "schedule", "expiration", "endDateTime") != "2026-12-23T02:02:03Z" {
		t.Fatalf("schedule = %s", a.raw)
	}
	h.clock.Advance(31 * 24 * time.Hour)
	a = h.do("GET", emURL+"/assignments?$filter=target/objectId eq '"+demoNiaj+"'", nil).mustStatus(t, 200)
	if a.values()[0]["state"] != "expired" || strings.Contains(memberIDs(t, h, demoFinance), demoNiaj) {
		t.Fatalf("not expired: %s", a.raw)
	}
	h.do("DELETE", emURL+"/assignmentPolicies/"+str(q.obj["id"]), nil).mustStatus(t, 204)
	h.do("GET", emURL+"/assignmentPolicies/"+str(q.obj["id"]), nil).mustStatus(t, 404)
}

func TestEMInvitations(t *testing.T) {
	h := newHarness(t, emFixture())
	h.sim.SetFaults(Faults{ReplicationLag: 5 * time.Second})
	r := h.do("POST", "/v1.0/invitations", string(readExample(t, "invitation-create.request.json"))).mustStatus(t, 201)
	validate(t, "microsoft.graph.invitation", r.raw)
	sameKeys(t, "invitation", exampleObject(t, "invitation-create.response.json"), r.obj)
	if r.obj["status"] != "PendingAcceptance" || r.obj["invitedUserType"] != "Guest" || r.obj["sendInvitationMessage"] != false ||
		!strings.HasPrefix(str(r.obj["inviteRedeemUrl"]), "https://login.microsoftonline.com/redeem?rd=") {
		t.Fatalf("invitation = %s", r.raw)
	}
	uid := str(objAt(t, r.obj, "invitedUser", "id"))
	h.do("GET", "/v1.0/users/"+uid, nil).mustStatus(t, 404)
	if n := len(h.do("GET", "/v1.0/users?$filter=mail eq 'admin@fabrikam.com'", nil).values()); n != 0 {
		t.Fatalf("guest visible before the lag: %d", n)
	}
	h.clock.Advance(5 * time.Second)
	u := h.do("GET", "/v1.0/users/"+uid+"?$select=userPrincipalName,mail,userType,externalUserState,displayName,creationType", nil).mustStatus(t, 200)
	if u.obj["userPrincipalName"] != "admin_fabrikam.com#EXT#@contoso.onmicrosoft.com" || u.obj["mail"] != "admin@fabrikam.com" ||
		u.obj["userType"] != "Guest" || u.obj["externalUserState"] != "PendingAcceptance" || u.obj["displayName"] != "admin" {
		t.Fatalf("guest = %s", u.raw)
	}
	// Inviting the same address again names the same guest.
	again := h.do("POST", "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "ADMIN@fabrikam.com", "inviteRedirectUrl": "https://myapp.contoso.com", "sendInvitationMessage": true}).mustStatus(t, 201)
	if objAt(t, again.obj, "invitedUser", "id") != uid || again.obj["id"] == r.obj["id"] {
		t.Fatalf("second invitation = %s", again.raw)
	}
	for name, b := range map[string]any{
		"own domain":   map[string]any{"invitedUserEmailAddress": "zed@contoso.com", "inviteRedirectUrl": "https://x.contoso.com"},
		"no redirect":  map[string]any{"invitedUserEmailAddress": "zed@fabrikam.com"},
		"bad email":    map[string]any{"invitedUserEmailAddress": "zed", "inviteRedirectUrl": "https://x.contoso.com"},
		"unknown prop": map[string]any{"invitedUserEmailAddress": "zed@fabrikam.com", "inviteRedirectUrl": "https://x.contoso.com", "sendEmail": true},
	} {
		if e := h.do("POST", "/v1.0/invitations", b); e.status != 400 {
			t.Errorf("%s: %d %s", name, e.status, e.raw)
		}
	}
	// A just-invited guest can be assigned at once (writes are
	// authoritative) and receives the membership on delivery.
	w := setupEM(t, h)
	g2 := str(h.do("POST", "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "pat@fabrikam.com", "inviteRedirectUrl": "https://x.contoso.com"}).mustStatus(t, 201).obj["invitedUser"].(map[string]any)["id"])
	h.do("POST", emURL+"/assignmentRequests", adminAdd(w, g2)).mustStatus(t, 201)
	h.clock.Advance(5 * time.Second)
	if !strings.Contains(memberIDs(t, h, demoFinance), g2) {
		t.Fatal("guest not delivered")
	}
}

func TestEMExternalTargetByEmail(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	pol := str(h.do("POST", emURL+"/assignmentPolicies", map[string]any{"displayName": "external", "accessPackage": map[string]any{"id": w.pkg}, "allowedTargetScope": "allExternalUsers"}).mustStatus(t, 201).obj["id"])
	h.sim.SetFaults(Faults{DeliveryDelay: time.Second})
	h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"target": map[string]any{"email": "sam@fabrikam.com"}, "assignmentPolicyId": pol, "accessPackageId": w.pkg}}).mustStatus(t, 201)
	a := h.do("GET", emURL+"/assignments?$expand=target", nil).mustStatus(t, 200)
	if objAt(t, a.values()[0], "target", "email") != "sam@fabrikam.com" || objAt(t, a.values()[0], "target", "objectId") != nil {
		t.Fatalf("before delivery = %s", a.raw)
	}
	h.clock.Advance(time.Second)
	a = h.do("GET", emURL+"/assignments?$expand=target", nil).mustStatus(t, 200)
	oid := str(objAt(t, a.values()[0], "target", "objectId"))
	if a.values()[0]["state"] != "delivered" || oid == "" || objAt(t, a.values()[0], "target", "principalName") != "sam_fabrikam.com#EXT#@contoso.onmicrosoft.com" {
		t.Fatalf("after delivery = %s", a.raw)
	}
}

func TestEMBlockedForAgents(t *testing.T) {
	h := newHarness(t, emFixture())
	cat := str(h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "agents"}).mustStatus(t, 201).obj["id"])
	for _, o := range []struct{ id, sys string }{{spGraph, "AadApplication"}, {demoOldProj, "AadGroup"}} {
		h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": o.id, "originSystem": o.sys}, "catalog": map[string]any{"id": cat}}).mustStatus(t, 201)
	}
	roles := h.do("GET", emURL+"/catalogs/"+cat+"/resources?$filter=originId eq '"+spGraph+"'&$expand=roles", nil).mustStatus(t, 200)
	if objAt(t, roles.values()[0], "roles", 0, "type") != "application" {
		t.Fatalf("API permission role = %s", roles.raw)
	}
	mk := func(permRole string) (string, string) {
		pkg := str(h.do("POST", emURL+"/accessPackages", map[string]any{"displayName": "agent " + permRole, "catalog": map[string]any{"id": cat}}).mustStatus(t, 201).obj["id"])
		h.do("POST", emURL+"/accessPackages/"+pkg+"/resourceRoleScopes", map[string]any{"role": map[string]any{"originId": permRole, "originSystem": "AadApplication"}, "scope": map[string]any{"originId": spGraph}}).mustStatus(t, 201)
		h.do("POST", emURL+"/accessPackages/"+pkg+"/resourceRoleScopes", map[string]any{"role": map[string]any{"originId": "Member_" + demoOldProj, "originSystem": "AadGroup"}}).mustStatus(t, 201)
		pol := str(h.do("POST", emURL+"/assignmentPolicies", map[string]any{"displayName": "All agents", "accessPackage": map[string]any{"id": pkg}, "allowedTargetScope": "allDirectoryAgentIdentities"}).mustStatus(t, 201).obj["id"])
		return pkg, pol
	}
	pkg, pol := mk(roleRWAll)
	// Users cannot receive an agents-only policy.
	if r := h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": demoCarol, "assignmentPolicyId": pol, "accessPackageId": pkg}}); r.status != 400 {
		t.Fatalf("user on agent policy: %d", r.status)
	}
	req := h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": spAgent, "assignmentPolicyId": pol, "accessPackageId": pkg}}).mustStatus(t, 201)
	g := h.do("GET", emURL+"/assignmentRequests/"+str(req.obj["id"])+"?$expand=assignment", nil).mustStatus(t, 200)
	if g.obj["state"] != "deliveryFailed" || g.obj["status"] != "Request_BadRequest" || objAt(t, g.obj, "assignment", "state") != "deliveryFailed" {
		t.Fatalf("blocked permission = %s", g.raw)
	}
	exp := h.do("GET", "/beta/groups/"+demoOldProj+"/members?$select=id", nil).mustStatus(t, 200)
	if strings.Contains(strings.Join(exp.ids(), ","), spAgent) {
		t.Fatal("agent got the group membership of a failed delivery")
	}
	if n := len(h.do("GET", emURL+"/assignments?$filter=state eq 'delivered'", nil).values()); n != 0 {
		t.Fatalf("delivered assignments: %d", n)
	}
	// A permission that is not blocked is delivered.
	pkg2, pol2 := mk(roleRAll)
	req2 := h.do("POST", emURL+"/assignmentRequests", map[string]any{"requestType": "adminAdd", "assignment": map[string]any{"targetId": spAgent, "assignmentPolicyId": pol2, "accessPackageId": pkg2}}).mustStatus(t, 201)
	if s := h.do("GET", emURL+"/assignmentRequests/"+str(req2.obj["id"]), nil).obj["state"]; s != "delivered" {
		t.Fatalf("allowed permission: %v", s)
	}
	exp = h.do("GET", "/beta/groups/"+demoOldProj+"/members?$select=id", nil).mustStatus(t, 200)
	if !strings.Contains(strings.Join(exp.ids(), ","), spAgent) {
		t.Fatal("agent not a member after delivery")
	}
}

func TestEMPaging(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	for _, u := range []string{demoAlice, demoBob, demoCarol, demoErin, demoIvan} {
		h.do("POST", emURL+"/assignmentRequests", adminAdd(w, u)).mustStatus(t, 201)
	}
	var got []string
	next := emURL + "/assignments?$filter=accessPackage/id eq '" + w.pkg + "'&$expand=target&$top=2&$count=true"
	pages := 0
	for next != "" {
		r := h.do("GET", next, nil).mustStatus(t, 200)
		if pages == 0 && r.obj["@odata.count"] != float64(5) {
			t.Fatalf("count = %v", r.obj["@odata.count"])
		}
		for _, v := range r.values() {
			got = append(got, str(objAt(t, v, "target", "objectId")))
		}
		next = str(r.obj["@odata.nextLink"])
		if u, _ := url.QueryUnescape(next); next != "" && !strings.Contains(u, "accessPackage/id eq") {
			t.Fatalf("nextLink lost the filter: %s", next)
		}
		pages++
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join([]string{demoAlice, demoBob, demoCarol, demoErin, demoIvan}, ",") {
		t.Fatalf("pages %d: %v", pages, got)
	}
	if r := h.do("GET", emURL+"/assignments?$top=1000", nil); r.status != 400 {
		t.Fatalf("$top=1000: %d", r.status)
	}
}

func TestEMSaveRestore(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	h.do("POST", emURL+"/assignmentPolicies", strings.NewReplacer("7deff43e-1f17-44ef-9e5f-d516b0ba11d4", demoAlice, "46184453-e63b-4f20-86c2-c557ed5d5df9", demoBob,
		"1623f912-5e86-41c2-af47-39dd67582b66", demoMarketing, "a2e1ca1e-4e56-47d2-9daa-e2ba8d12a82b", w.pkg).
		Replace(string(readExample(t, "entitlement-assignmentPolicy-create-approvalAndReview.request.json")))).mustStatus(t, 201)
	h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoCarol)).mustStatus(t, 201)
	h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": spCafe, "originSystem": "AadApplication"}, "catalog": map[string]any{"id": w.cat}}).mustStatus(t, 201)
	// One request still pending at save time.
	h.sim.SetFaults(Faults{DeliveryDelay: time.Minute})
	h.do("POST", emURL+"/assignmentRequests", adminAdd(w, demoNiaj)).mustStatus(t, 201)
	h.do("POST", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + demoOldProj}).mustStatus(t, 204)

	var saved bytes.Buffer
	if err := h.sim.Save(&saved); err != nil {
		t.Fatal(err)
	}
	s2, err := Restore(bytes.NewReader(saved.Bytes()), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, saved.String())
	}
	s2.SetFaults(Faults{DeliveryDelay: time.Minute})
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
		emURL + "/catalogs?$expand=resources",
		emURL + "/catalogs/" + w.cat + "/resources?$expand=roles,scopes",
		emURL + "/accessPackages?$expand=resourceRoleScopes($expand=role,scope),incompatibleGroups",
		emURL + "/assignmentPolicies?$expand=questions",
		emURL + "/assignments?$expand=target",
		emURL + "/assignmentRequests",
		emURL + "/resourceRequests",
	} {
		a := h.do("GET", path, nil).mustStatus(t, 200)
		b := h2.do("GET", path, nil).mustStatus(t, 200)
		if !bytes.Equal(bytes.ReplaceAll(a.raw, []byte(h.base), nil), bytes.ReplaceAll(b.raw, []byte(base2), nil)) {
			t.Errorf("%s differs after restore:\n%s\n%s", path, a.raw, b.raw)
		}
	}
	// The pending request is delivered by the restored simulator.
	h.clock.Advance(time.Minute)
	if !strings.Contains(memberIDs(t, h2, demoFinance), demoNiaj) {
		t.Fatal("pending request not delivered after restore")
	}
	// Ids continue the same sequence.
	a := h.do("POST", emURL+"/catalogs", map[string]any{"displayName": "n"}).mustStatus(t, 201)
	b := h2.do("POST", emURL+"/catalogs", map[string]any{"displayName": "n"}).mustStatus(t, 201)
	if a.obj["id"] != b.obj["id"] {
		t.Fatalf("ids diverge: %v %v", a.obj["id"], b.obj["id"])
	}
}

func TestEMFixtureSeeding(t *testing.T) {
	const (
		cat = "b1bf99ed-99ed-b1bf-ed99-bfb1ed99bfb1"
		pkg = "642181f0-bc17-4fc6-9ebb-ff53dbf18c2f"
		pol = "87e1c7f7-c7f7-87e1-f7c7-e187f7c7e187"
		asg = "2a353749-3749-2a35-4937-352a4937352a"
	)
	f := emFixture()
	f.Catalogs = []Catalog{{ID: cat, DisplayName: "Marketing", Resources: []CatalogResource{{OriginID: demoMarketing, OriginSystem: "AadGroup"}}}}
	f.AccessPackages = []AccessPackage{{
		ID: pkg, CatalogID: cat, DisplayName: "Campaign",
		ResourceRoleScopes: []RoleScope{{RoleOriginID: "Member_" + demoMarketing}},
		AssignmentPolicies: []json.RawMessage{json.RawMessage(`{"id":"` + pol + `","displayName":"Direct","expiration":{"type":"noExpiration"}}`)},
		// Carol's assignment is delivered but her membership is missing.
		Assignments: []Assignment{{ID: asg, TargetID: demoCarol, AssignmentPolicyID: pol}},
	}}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(f); err != nil {
		t.Fatal(err)
	}
	lf, err := LoadFixture(&buf)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, lf)
	p := h.do("GET", emURL+"/accessPackages/"+pkg+"?$expand=resourceRoleScopes($expand=role,scope),assignmentPolicies", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.accessPackage", p.raw)
	if objAt(t, p.obj, "resourceRoleScopes", 0, "role", "originId") != "Member_"+demoMarketing || objAt(t, p.obj, "assignmentPolicies", 0, "id") != pol {
		t.Fatalf("seeded package = %s", p.raw)
	}
	a := h.do("GET", emURL+"/assignments?$filter=state eq 'Delivered'", nil).mustStatus(t, 200)
	if strings.Join(a.ids(), ",") != asg {
		t.Fatalf("seeded assignments = %s", a.raw)
	}
	if strings.Contains(memberIDs(t, h, demoMarketing), demoCarol) {
		t.Fatal("fixture assignment created a membership")
	}
	h.do("POST", emURL+"/assignments/"+asg+"/reprocess", nil).mustStatus(t, 202)
	if !strings.Contains(memberIDs(t, h, demoMarketing), demoCarol) {
		t.Fatal("reprocess did not create the membership")
	}
	// Invalid fixtures are rejected.
	for name, mut := range map[string]func(f *Fixture){
		"unknown catalog": func(f *Fixture) { f.AccessPackages[0].CatalogID = "5b31c38c-2584-42f0-aa47-657fb3a84230" },
		"unknown role":    func(f *Fixture) { f.AccessPackages[0].ResourceRoleScopes[0].RoleOriginID = "Owner_x" },
		"unknown target":  func(f *Fixture) { f.AccessPackages[0].Assignments[0].TargetID = "5b31c38c-2584-42f0-aa47-657fb3a84230" },
		"bad policy": func(f *Fixture) {
			f.AccessPackages[0].AssignmentPolicies[0] = json.RawMessage(`{"id":"` + pol + `","displayName":"x","durationInDays":3}`)
		},
		"group not exists": func(f *Fixture) { f.Catalogs[0].Resources[0].OriginID = "5b31c38c-2584-42f0-aa47-657fb3a84230" },
	} {
		g := emFixture()
		g.Catalogs = append([]Catalog(nil), f.Catalogs...)
		g.Catalogs[0].Resources = append([]CatalogResource(nil), f.Catalogs[0].Resources...)
		ap := f.AccessPackages[0]
		ap.ResourceRoleScopes = append([]RoleScope(nil), ap.ResourceRoleScopes...)
		ap.AssignmentPolicies = append([]json.RawMessage(nil), ap.AssignmentPolicies...)
		ap.Assignments = append([]Assignment(nil), ap.Assignments...)
		g.AccessPackages = []AccessPackage{ap}
		mut(g)
		if _, err := newSim(Options{}, g, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEMDemoFixture(t *testing.T) {
	h := newHarness(t, nil)
	l := h.do("GET", emURL+"/catalogs?$expand=resources", nil).mustStatus(t, 200)
	var names []string
	for _, v := range l.values() {
		names = append(names, fmt.Sprint(v["displayName"], "/", v["catalogType"]))
	}
	if strings.Join(names, ",") != "General/serviceDefault,Marketing/userManaged" {
		t.Fatalf("demo catalogs = %s", l.raw)
	}
}

// TestEMManyAssignments is the CSV scenario's scale: 500 adminAdds, all
// delivered, listed in pages.
func TestEMManyAssignments(t *testing.T) {
	f := emFixture()
	for i := range 500 {
		f.Users = append(f.Users, User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), UserPrincipalName: fmt.Sprintf("u%d@contoso.com", i), Mail: fmt.Sprintf("u%d@contoso.com", i)})
	}
	h := newHarness(t, f)
	h.sim.SetFaults(Faults{DeliveryDelay: time.Second})
	w := setupEM(t, h)
	for i := range 500 {
		h.do("POST", emURL+"/assignmentRequests", adminAdd(w, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))).mustStatus(t, 201)
	}
	h.clock.Advance(time.Second)
	n := 0
	next := emURL + "/assignments?$filter=accessPackage/id eq '" + w.pkg + "' and state eq 'Delivered'&$expand=target"
	for next != "" {
		r := h.do("GET", next, nil).mustStatus(t, 200)
		n += len(r.values())
		next = str(r.obj["@odata.nextLink"])
	}
	if n != 500 {
		t.Fatalf("delivered = %d", n)
	}
	if m := h.do("GET", "/v1.0/groups/"+demoFinance+"/members?$top=999&$select=id", nil).mustStatus(t, 200); len(m.values()) != 503 {
		t.Fatalf("members = %d", len(m.values()))
	}
}

// TestEMRestoreAfterGroupDeleted: references to a deleted group (catalog
// resource, policy subject set, incompatible group) survive Save/Restore.
func TestEMRestoreAfterGroupDeleted(t *testing.T) {
	h := newHarness(t, emFixture())
	w := setupEM(t, h)
	g := str(h.do("POST", "/v1.0/groups", map[string]any{"displayName": "Temp", "mailEnabled": false, "mailNickname": "temp", "securityEnabled": true}).mustStatus(t, 201).obj["id"])
	h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd", "resource": map[string]any{"originId": g, "originSystem": "AadGroup"}, "catalog": map[string]any{"id": w.cat}}).mustStatus(t, 201)
	h.do("POST", emURL+"/assignmentPolicies", map[string]any{"displayName": "temp members", "accessPackage": map[string]any{"id": w.pkg},
		"allowedTargetScope": "specificDirectoryUsers", "specificAllowedTargets": []any{map[string]any{"@odata.type": "#microsoft.graph.groupMembers", "groupId": g}}}).mustStatus(t, 201)
	h.do("POST", emURL+"/accessPackages/"+w.pkg+"/incompatibleGroups/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + g}).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+g, nil).mustStatus(t, 204)
	var saved bytes.Buffer
	if err := h.sim.Save(&saved); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(&saved, Options{Now: h.clock.Now}); err != nil {
		t.Fatalf("restore: %v", err)
	}
}
