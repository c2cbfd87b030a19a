package graphsim

import (
	"strings"
	"testing"
)

// The demo catalog Marketing holds the SharePoint site
// https://contoso.sharepoint.com/sites/Contoso with its three groups as
// roles (Microsoft's examples: originSystem SharePointOnline, originId the
// group's number, displayName the group's name).
const (
	demoMarketingCatalog = "5c2f8a4e-7b1d-4e39-9a6c-3d0e1f2a4b5c"
	demoSite             = "https://contoso.sharepoint.com/sites/Contoso"
	demoSiteResource     = "53c71803-a0a8-4777-aecc-075de8ee3991"
)

func TestEMSharePointSiteRoles(t *testing.T) {
	h := newHarness(t, emFixture())
	res := h.do("GET", emURL+"/catalogs/"+demoMarketingCatalog+"/resources?$filter=originId eq '"+demoSite+"'&$expand=roles,scopes", nil).mustStatus(t, 200)
	if len(res.values()) != 1 {
		t.Fatalf("site resource: %s", res.raw)
	}
	site := res.values()[0]
	var names []string
	for _, r := range site["roles"].([]any) {
		ro := r.(map[string]any)
		if ro["originSystem"] != "SharePointOnline" {
			t.Errorf("role %v: originSystem %v", ro["displayName"], ro["originSystem"])
		}
		names = append(names, str(ro["displayName"])+"="+str(ro["originId"]))
	}
	if got := strings.Join(names, ","); got != "Contoso Owners=3,Contoso Members=4,Contoso Visitors=5" {
		t.Fatalf("site roles = %s", got)
	}
	if sc := objAt(t, site, "scopes", 0); str(objAt(t, sc, "originId")) != demoSite || objAt(t, sc, "isRootScope") != true {
		t.Fatalf("site scope = %v", sc)
	}

	pkg := h.do("POST", emURL+"/accessPackages", map[string]any{"displayName": "Intranet", "catalog": map[string]any{"id": demoMarketingCatalog}}).mustStatus(t, 201)
	pkgID := str(pkg.obj["id"])
	rrsURL := emURL + "/accessPackages/" + pkgID + "/resourceRoleScopes"

	// Microsoft's example body (role by originId within resource.id, scope by
	// the site URL), with the demo's resource and site.
	body := strings.NewReplacer("https://contoso.sharepoint.com/portals/Community", demoSite).
		Replace(string(readExample(t, "entitlement-accessPackage-resourceRoleScope-create-sharePointSite.request.json")))
	created := h.do("POST", rrsURL, body).mustStatus(t, 201)
	sameKeys(t, "resourceRoleScope", exampleObject(t, "entitlement-accessPackage-resourceRoleScope-create-sharePointSite.response.json"), created.obj, "@odata.context")
	if id := str(created.obj["id"]); id != "7d3e9b1a-4c2f-4e8d-9a6b-5f1c0e2d3a4b_5ae0ae7c-d0a5-42aa-ab37-1f15e9a61d33" {
		t.Fatalf("role scope id = %s (want <roleId>_<scopeId>)", id)
	}
	// The same role again: Graph's 400 saying it is already there.
	again := h.do("POST", rrsURL, body).mustStatus(t, 400)
	if again.errorCode() != "Request_BadRequest" || !strings.Contains(again.errorMessage(), "already") {
		t.Fatalf("duplicate = %s", again.raw)
	}
	got := h.do("GET", emURL+"/accessPackages/"+pkgID+"?$expand=resourceRoleScopes($expand=role,scope)", nil).mustStatus(t, 200)
	rrs := objAt(t, got.obj, "resourceRoleScopes", 0)
	if str(objAt(t, rrs, "role", "originId")) != "4" || str(objAt(t, rrs, "role", "originSystem")) != "SharePointOnline" ||
		str(objAt(t, rrs, "role", "displayName")) != "Contoso Members" || str(objAt(t, rrs, "scope", "originId")) != demoSite {
		t.Fatalf("read back = %s", got.raw)
	}

	// A role the site does not have, and a role named under another origin
	// system: Graph's error bodies, nothing created.
	for _, bad := range []map[string]any{
		{"role": map[string]any{"originSystem": "SharePointOnline", "originId": "9", "resource": map[string]any{"id": demoSiteResource}},
			"scope": map[string]any{"originId": demoSite, "originSystem": "SharePointOnline", "isRootScope": true}},
		{"role": map[string]any{"originSystem": "AadGroup", "originId": "5", "resource": map[string]any{"id": demoSiteResource}},
			"scope": map[string]any{"originId": demoSite, "originSystem": "SharePointOnline", "isRootScope": true}},
		{"role": map[string]any{"originSystem": "SharePointOnline", "originId": "5", "resource": map[string]any{"id": demoSiteResource}},
			"scope": map[string]any{"originId": "https://contoso.sharepoint.com/sites/Other", "originSystem": "SharePointOnline", "isRootScope": true}},
	} {
		r := h.do("POST", rrsURL, bad).mustStatus(t, 400)
		if r.errorCode() != "Request_BadRequest" || r.errorMessage() == "" {
			t.Fatalf("bad role scope = %s", r.raw)
		}
		sameKeys(t, "error", exampleObject(t, "error-generic.response.json"), r.obj)
	}
	if n := len(h.do("GET", rrsURL, nil).mustStatus(t, 200).values()); n != 1 {
		t.Fatalf("%d role scopes after refused requests, want 1", n)
	}
}

// A site added by a resource request gets its groups as roles, named after
// the site.
func TestEMSharePointSiteAddedRoles(t *testing.T) {
	h := newHarness(t, emFixture())
	const site = "https://contoso.sharepoint.com/sites/Payroll"
	h.do("POST", emURL+"/resourceRequests", map[string]any{"requestType": "adminAdd",
		"resource": map[string]any{"originId": site, "originSystem": "SharePointOnline"}, "catalog": map[string]any{"id": demoMarketingCatalog}}).mustStatus(t, 201)
	res := h.do("GET", emURL+"/catalogs/"+demoMarketingCatalog+"/resources?$filter=originId eq '"+site+"'&$expand=roles", nil).mustStatus(t, 200)
	var names []string
	for _, r := range objAt(t, res.values()[0], "roles").([]any) {
		names = append(names, str(r.(map[string]any)["displayName"]))
	}
	if got := strings.Join(names, ","); got != "Payroll Owners,Payroll Members,Payroll Visitors" {
		t.Fatalf("roles = %s", got)
	}
}
