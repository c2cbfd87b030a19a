package graphsim

import (
	"fmt"
	"strings"
	"testing"
)

func TestDemoFixture(t *testing.T) {
	f := DemoFixture()
	if f.Tenant.Domain != "contoso.onmicrosoft.com" || len(f.Users) != 12 || len(f.Groups) != 5 {
		t.Fatalf("unexpected demo fixture: %s, %d users, %d groups", f.Tenant.Domain, len(f.Users), len(f.Groups))
	}
	h := newHarness(t, nil)
	r := h.do("GET", "/v1.0/users/alice@contoso.com", nil).mustStatus(t, 200)
	if r.obj["displayName"] != "Alice Adams" || r.obj["id"] != demoAlice {
		t.Fatalf("alice = %v", r.obj)
	}
	validate(t, "microsoft.graph.user", r.raw)
	sameKeys(t, "user GET", exampleObject(t, "user-get.response.json"), r.obj, "@odata.context")
	h.do("GET", "/v1.0/users/"+demoNiaj, nil).mustStatus(t, 200)
	// Guest UPN: '#' must be sent as %23.
	g := h.do("GET", "/v1.0/users/mallory_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?$select=mail,userType", nil).mustStatus(t, 200)
	if g.obj["mail"] != "mallory@fabrikam.com" || g.obj["userType"] != "Guest" {
		t.Fatalf("guest = %v", g.obj)
	}
	if _, ok := g.obj["id"]; ok {
		t.Fatalf("$select without id must not return id: %v", g.obj)
	}
	sec := h.do("GET", "/v1.0/groups/"+demoSecGroup1, nil).mustStatus(t, 200)
	if sec.obj["onPremisesSyncEnabled"] != true {
		t.Fatalf("Sec group 1 not synced: %v", sec.obj)
	}
	validate(t, "microsoft.graph.group", sec.raw)
	dyn := h.do("GET", "/v1.0/groups/"+demoSalesDyn+"/members", nil).mustStatus(t, 200)
	if len(dyn.values()) != 2 {
		t.Fatalf("Sales dynamic members = %v", dyn.ids())
	}
}

func TestUserNotFoundShape(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do("GET", "/v1.0/users/5b31c38c-2584-42f0-aa47-657fb3a84230", nil, "client-request-id: abc-123").mustStatus(t, 404)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
	want := exampleObject(t, "error-Request_ResourceNotFound.observed.response.json")
	if r.errorCode() != "Request_ResourceNotFound" || r.errorMessage() != want["error"].(map[string]any)["message"] {
		t.Fatalf("got %s", r.raw)
	}
	inner := r.obj["error"].(map[string]any)["innerError"].(map[string]any)
	sameKeys(t, "innerError", want["error"].(map[string]any)["innerError"].(map[string]any), inner)
	if inner["date"] != "2026-11-23T01:02:03" || inner["client-request-id"] != "abc-123" || inner["request-id"] != r.header.Get("request-id") {
		t.Fatalf("innerError = %v, headers %v", inner, r.header)
	}
	if r.header.Get("client-request-id") != "abc-123" || r.header.Get("x-ms-resource-unit") != "1" {
		t.Fatalf("headers = %v", r.header)
	}
}

func TestCreateGroupFromExample(t *testing.T) {
	h := newHarness(t, nil)
	body := string(readExample(t, "group-create-security.request.json"))
	body = strings.Replace(body, "26be1845-4119-4801-a799-aea79d09f1a2", demoAlice, 1)
	body = strings.Replace(body, "ff7cb387-6688-423c-8188-3da9532a73cc", demoBob, 1)
	body = strings.Replace(body, "69456242-0067-49d3-ba96-9de6f2728e14", demoErin, 1)
	r := h.do("POST", "/v1.0/groups", body).mustStatus(t, 201)
	validate(t, "microsoft.graph.group", r.raw)
	sameKeys(t, "group create", exampleObject(t, "group-create-security.response.json"), r.obj)
	if r.obj["displayName"] != "Operations group" || r.obj["securityEnabled"] != true || r.obj["onPremisesSyncEnabled"] != nil {
		t.Fatalf("created = %v", r.obj)
	}
	if !strings.HasPrefix(r.obj["securityIdentifier"].(string), "S-1-12-1-") {
		t.Fatalf("sid = %v", r.obj["securityIdentifier"])
	}
	id := r.obj["id"].(string)
	m := h.do("GET", "/v1.0/groups/"+id+"/members?$select=id", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.directoryObjectCollectionResponse", m.raw)
	if got := fmt.Sprint(m.ids()); got != fmt.Sprint([]string{demoBob, demoErin}) {
		t.Fatalf("members = %s", got)
	}
	o := h.do("GET", "/v1.0/groups/"+id+"/owners?$select=id", nil).mustStatus(t, 200)
	if got := fmt.Sprint(o.ids()); got != fmt.Sprint([]string{demoAlice}) {
		t.Fatalf("owners = %s", got)
	}
	// Deterministic ids: a second simulator with the same seed creates the same id.
	h2 := newHarness(t, nil)
	if r2 := h2.do("POST", "/v1.0/groups", body).mustStatus(t, 201); r2.obj["id"] != id {
		t.Fatalf("ids not deterministic: %v vs %v", r2.obj["id"], id)
	}
}

func TestCreateGroupValidation(t *testing.T) {
	h := newHarness(t, nil)
	base := func() map[string]any {
		return map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g1", "securityEnabled": true}
	}
	binds := func(n int) []string {
		var out []string
		for range n {
			out = append(out, "https://graph.microsoft.com/v1.0/users/"+demoAlice)
		}
		return out
	}
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		status int
		code   string
		msg    string
	}{
		{"ok", func(m map[string]any) {}, 201, "", ""},
		{"missing displayName", func(m map[string]any) { delete(m, "displayName") }, 400, "Request_BadRequest", "displayName"},
		{"missing mailEnabled", func(m map[string]any) { delete(m, "mailEnabled") }, 400, "Request_BadRequest", "mailEnabled"},
		{"missing mailNickname", func(m map[string]any) { delete(m, "mailNickname") }, 400, "Request_BadRequest", "mailNickname"},
		{"missing securityEnabled", func(m map[string]any) { delete(m, "securityEnabled") }, 400, "Request_BadRequest", "securityEnabled"},
		{"nickname space", func(m map[string]any) { m["mailNickname"] = "a b" }, 400, "Request_BadRequest", "mailNickname"},
		{"nickname at", func(m map[string]any) { m["mailNickname"] = "a@b" }, 400, "Request_BadRequest", "mailNickname"},
		{"nickname too long", func(m map[string]any) { m["mailNickname"] = strings.Repeat("a", 65) }, 400, "Request_BadRequest", "mailNickname"},
		{"nickname non-ascii", func(m map[string]any) { m["mailNickname"] = "café" }, 400, "Request_BadRequest", "mailNickname"},
		{"nickname 64 ok", func(m map[string]any) { m["mailNickname"] = strings.Repeat("a", 64) }, 201, "", ""},
		{"displayName too long", func(m map[string]any) { m["displayName"] = strings.Repeat("d", 257) }, 400, "Request_BadRequest", "displayName"},
		{"unknown property", func(m map[string]any) { m["colour"] = "red" }, 400, "Request_BadRequest", "colour"},
		{"read-only property", func(m map[string]any) { m["securityIdentifier"] = "S-1" }, 400, "Request_BadRequest", "read-only"},
		{"wrong type", func(m map[string]any) { m["securityEnabled"] = "yes" }, 400, "BadRequest", "Edm.Boolean"},
		{"mail-enabled security", func(m map[string]any) { m["mailEnabled"] = true }, 400, "Request_BadRequest", "mail-enabled"},
		{"dynamic without rule", func(m map[string]any) { m["groupTypes"] = []string{"DynamicMembership"} }, 400, "Request_BadRequest", "membershipRule"},
		{"dynamic with rule", func(m map[string]any) {
			m["groupTypes"] = []string{"DynamicMembership"}
			m["membershipRule"] = `(user.department -eq "Sales")`
			m["membershipRuleProcessingState"] = "On"
		}, 201, "", ""},
		{"bad groupType", func(m map[string]any) { m["groupTypes"] = []string{"Security"} }, 400, "Request_BadRequest", "groupTypes"},
		{"20 binds ok", func(m map[string]any) {
			var users []string
			for _, id := range []string{demoAlice, demoBob, demoCarol, demoErin, demoFrank, demoIvan, demoNiaj} {
				users = append(users, "https://graph.microsoft.com/v1.0/directoryObjects/"+id)
			}
			m["members@odata.bind"] = users
		}, 201, "", ""},
		{"21 binds", func(m map[string]any) {
			m["members@odata.bind"] = binds(11)
			m["owners@odata.bind"] = binds(10)
		}, 400, "Request_BadRequest", "20"},
		{"duplicate bind", func(m map[string]any) { m["members@odata.bind"] = binds(2) }, 400, "Request_BadRequest", "already exist"},
		{"unknown member", func(m map[string]any) {
			m["members@odata.bind"] = []string{"https://graph.microsoft.com/v1.0/users/11111111-2222-4333-8444-555555555555"}
		}, 404, "Request_ResourceNotFound", "11111111"},
		{"group owner", func(m map[string]any) {
			m["owners@odata.bind"] = []string{"https://graph.microsoft.com/v1.0/groups/" + demoFinance}
		}, 400, "Request_BadRequest", "owners"},
		{"unknown bind nav", func(m map[string]any) { m["manager@odata.bind"] = "x" }, 400, "Request_BadRequest", "manager@odata.bind"},
		{"uniqueName", func(m map[string]any) { m["uniqueName"] = "ops-team" }, 201, "", ""},
		{"uniqueName conflict", func(m map[string]any) { m["uniqueName"] = "OPS-TEAM" }, 400, "Request_MultipleObjectsWithSameKeyValue", "uniqueName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.mutate(m)
			r := h.do("POST", "/v1.0/groups", m).mustStatus(t, tc.status)
			if tc.status >= 400 {
				validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
				if r.errorCode() != tc.code || !strings.Contains(r.errorMessage(), tc.msg) {
					t.Fatalf("error = %s / %s, want %s containing %q", r.errorCode(), r.errorMessage(), tc.code, tc.msg)
				}
			}
		})
	}
	// No Content-Type → 400; malformed JSON → 400.
	req := h.do("POST", "/v1.0/groups", "{not json").mustStatus(t, 400)
	if req.errorCode() != "BadRequest" {
		t.Fatalf("malformed: %s", req.raw)
	}
}

func TestPatchDeleteGroup(t *testing.T) {
	h := newHarness(t, nil)
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, map[string]any{"description": "Archived", "displayName": "Old project (archived)"}).mustStatus(t, 204)
	g := h.do("GET", "/v1.0/groups/"+demoOldProj+"?$select=displayName,description", nil).mustStatus(t, 200)
	if g.obj["description"] != "Archived" || g.obj["displayName"] != "Old project (archived)" {
		t.Fatalf("after patch: %v", g.obj)
	}
	if !strings.HasSuffix(g.obj["@odata.context"].(string), "/v1.0/$metadata#groups(displayName,description)/$entity") {
		t.Fatalf("context = %v", g.obj["@odata.context"])
	}
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, map[string]any{"visibility": "Secret"}).mustStatus(t, 400)
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, map[string]any{"bogus": 1}).mustStatus(t, 400)
	// Bulk add (examples/group-members-addBulk-patch.request.json with real ids).
	bulk := string(readExample(t, "group-members-addBulk-patch.request.json"))
	for _, id := range []string{demoAlice, demoBob, demoCarol} {
		bulk = strings.Replace(bulk, "{id}", id, 1)
	}
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, bulk).mustStatus(t, 204)
	m := h.do("GET", "/v1.0/groups/"+demoOldProj+"/members?$select=id", nil).mustStatus(t, 200)
	if len(m.ids()) != 4 {
		t.Fatalf("members = %v", m.ids())
	}
	// All-or-nothing: one duplicate among new ones adds nothing.
	dup := map[string]any{"members@odata.bind": []string{
		"https://graph.microsoft.com/v1.0/directoryObjects/" + demoFrank,
		"https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice,
	}}
	r := h.do("PATCH", "/v1.0/groups/"+demoOldProj, dup).mustStatus(t, 400)
	if r.errorMessage() != "One or more added object references already exist for the following modified properties: 'members'." {
		t.Fatalf("dup message = %q", r.errorMessage())
	}
	if m := h.do("GET", "/v1.0/groups/"+demoOldProj+"/members?$select=id", nil); len(m.ids()) != 4 {
		t.Fatalf("partial add happened: %v", m.ids())
	}
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf("https://graph.microsoft.com/v1.0/directoryObjects/%08d-0000-4000-8000-000000000000", i))
	}
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, map[string]any{"members@odata.bind": many}).mustStatus(t, 400)

	h.do("DELETE", "/v1.0/groups/"+demoOldProj, nil).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+demoOldProj, nil).mustStatus(t, 404)
	h.do("GET", "/v1.0/groups/"+demoOldProj, nil).mustStatus(t, 404)
	h.do("PATCH", "/v1.0/groups/"+demoOldProj, map[string]any{"description": "x"}).mustStatus(t, 404)
}

func TestMembersRef(t *testing.T) {
	h := newHarness(t, nil)
	add := string(readExample(t, "group-members-add.request.json"))
	add = strings.Replace(add, "{id}", demoCarol, 1)
	path := "/v1.0/groups/" + demoMarketing + "/members/$ref"
	h.do("POST", path, add).mustStatus(t, 204)
	r := h.do("POST", path, add).mustStatus(t, 400)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
	if r.errorCode() != "Request_BadRequest" || r.errorMessage() != "One or more added object references already exist for the following modified properties: 'members'." {
		t.Fatalf("duplicate add: %s", r.raw)
	}
	// Other reference forms and hosts.
	for _, u := range []string{
		"https://graph.microsoft.com/beta/users/" + demoFrank,
		"http://127.0.0.1:1234/v1.0/directoryObjects/" + strings.ToUpper(demoIvan),
		"https://graph.microsoft.com/v1.0/groups/" + demoFinance,
	} {
		h.do("POST", path, map[string]any{"@odata.id": u}).mustStatus(t, 204)
	}
	h.do("POST", path, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/11111111-2222-4333-8444-555555555555"}).mustStatus(t, 404)
	h.do("POST", path, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + demoAlice}).mustStatus(t, 404)
	h.do("POST", path, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + demoMarketing}).mustStatus(t, 400)
	h.do("POST", path, map[string]any{}).mustStatus(t, 400)
	h.do("POST", "/v1.0/groups/11111111-2222-4333-8444-555555555555/members/$ref", add).mustStatus(t, 404)

	all := h.do("GET", "/v1.0/groups/"+demoMarketing+"/members", nil).mustStatus(t, 200)
	if len(all.values()) != 6 {
		t.Fatalf("members = %v", all.ids())
	}
	users := h.do("GET", "/v1.0/groups/"+demoMarketing+"/members/microsoft.graph.user?$select=id,displayName", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.userCollectionResponse", users.raw)
	if len(users.values()) != 5 || !strings.HasSuffix(users.obj["@odata.context"].(string), "#users(id,displayName)") {
		t.Fatalf("user cast = %s", users.raw)
	}
	groups := h.do("GET", "/v1.0/groups/"+demoMarketing+"/members/microsoft.graph.group", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.groupCollectionResponse", groups.raw)
	if fmt.Sprint(groups.ids()) != fmt.Sprint([]string{demoFinance}) {
		t.Fatalf("group cast = %v", groups.ids())
	}
	for _, v := range all.values() {
		if v["@odata.type"] == nil {
			t.Fatalf("member without @odata.type: %v", v)
		}
	}

	del := "/v1.0/groups/" + demoMarketing + "/members/" + demoCarol + "/$ref"
	h.do("DELETE", del, nil).mustStatus(t, 204)
	r = h.do("DELETE", del, nil).mustStatus(t, 404)
	if r.errorCode() != "Request_ResourceNotFound" || r.errorMessage() != "One or more removed object references do not exist for the following modified properties: 'members'." {
		t.Fatalf("second remove: %s", r.raw)
	}
	// Owners: same shape (the last owner's removal: TestGroupOwners).
	opath := "/v1.0/groups/" + demoMarketing + "/owners/$ref"
	for _, u := range []string{demoAlice, demoBob} {
		h.do("POST", opath, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + u}).mustStatus(t, 204)
	}
	h.do("POST", opath, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + demoAlice}).mustStatus(t, 400)
	h.do("DELETE", "/v1.0/groups/"+demoMarketing+"/owners/"+demoAlice+"/$ref", nil).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+demoMarketing+"/owners/"+demoAlice+"/$ref", nil).mustStatus(t, 404)
	// Dynamic groups refuse manual members.
	h.do("POST", "/v1.0/groups/"+demoSalesDyn+"/members/$ref", add).mustStatus(t, 400)
}

func TestServicePrincipalMembersV1VsBeta(t *testing.T) {
	f := DemoFixture()
	f.ServicePrincipals = []ServicePrincipal{{ID: "0a1b2c3d-0000-4000-8000-00000000a001", DisplayName: "Agent one", ODataType: "#microsoft.graph.agentIdentity"}}
	f.Groups[0].Members = append(f.Groups[0].Members, "0a1b2c3d-0000-4000-8000-00000000a001")
	h := newHarness(t, f)
	v1 := h.do("GET", "/v1.0/groups/"+demoMarketing+"/members", nil).mustStatus(t, 200)
	beta := h.do("GET", "/beta/groups/"+demoMarketing+"/members", nil).mustStatus(t, 200)
	if len(v1.values()) != 2 || len(beta.values()) != 3 {
		t.Fatalf("v1.0 %v, beta %v", v1.ids(), beta.ids())
	}
	if beta.values()[2]["@odata.type"] != "#microsoft.graph.agentIdentity" {
		t.Fatalf("beta sp = %v", beta.values()[2])
	}
	exp := h.do("GET", "/v1.0/groups/"+demoMarketing+"?$expand=members($select=id)", nil).mustStatus(t, 200)
	if n := len(exp.obj["members"].([]any)); n != 3 {
		t.Fatalf("$expand=members on v1.0 should include service principals, got %d", n)
	}
	validate(t, "microsoft.graph.group", exp.raw)
	sps := h.do("GET", "/beta/groups/"+demoMarketing+"/members/microsoft.graph.servicePrincipal", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.servicePrincipalCollectionResponse", sps.raw)
	if len(sps.values()) != 1 {
		t.Fatalf("sp cast = %s", sps.raw)
	}
}

func TestExpandMembersCappedAt20(t *testing.T) {
	f := DemoFixture()
	for i := range 30 {
		upn := fmt.Sprintf("u%02d@contoso.com", i)
		f.Users = append(f.Users, User{UserPrincipalName: upn, DisplayName: upn})
		f.Groups[2].Members = append(f.Groups[2].Members, upn)
	}
	h := newHarness(t, f)
	r := h.do("GET", "/v1.0/groups/"+demoOldProj+"?$expand=members", nil).mustStatus(t, 200)
	if n := len(r.obj["members"].([]any)); n != 20 {
		t.Fatalf("$expand returned %d members", n)
	}
	if ru := r.header.Get("x-ms-resource-unit"); ru != "2" {
		t.Fatalf("RU with $expand = %s", ru)
	}
	l := h.do("GET", "/v1.0/groups/"+demoOldProj+"/members?$select=id", nil).mustStatus(t, 200)
	if len(l.values()) != 31 {
		t.Fatalf("list returned %d", len(l.values()))
	}
}

func TestSyncedGroupConversion(t *testing.T) {
	h := newHarness(t, nil)
	g := "/v1.0/groups/" + demoSecGroup1
	want := exampleObject(t, "error-Request_BadRequest-syncedObject.observed.response.json")["error"].(map[string]any)["message"]
	for _, r := range []*result{
		h.do("PATCH", g, map[string]any{"description": "x"}),
		h.do("POST", g+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}),
		h.do("DELETE", g+"/members/"+demoCarol+"/$ref", nil),
		h.do("PATCH", g, map[string]any{"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}}),
	} {
		r.mustStatus(t, 400)
		validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
		if r.errorCode() != "Request_BadRequest" || r.errorMessage() != want {
			t.Fatalf("synced refusal: %s", r.raw)
		}
	}
	b := h.do("GET", g+"/onPremisesSyncBehavior?$select=isCloudManaged", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if b.obj["isCloudManaged"] != false {
		t.Fatalf("before: %v", b.obj)
	}
	validate(t, "microsoft.graph.onPremisesSyncBehavior", b.raw)
	req := string(readExample(t, "group-onPremisesSyncBehavior-update.request.json"))
	r := h.do("PATCH", "/beta/groups/"+demoSecGroup1+"/onPremisesSyncBehavior", req).mustStatus(t, 200)
	validate(t, "microsoft.graph.onPremisesSyncBehavior", r.raw)
	sameKeys(t, "onPremisesSyncBehavior", exampleObject(t, "group-onPremisesSyncBehavior-update.response.json"), r.obj)
	if r.obj["id"] != demoSecGroup1 || r.obj["isCloudManaged"] != true {
		t.Fatalf("after: %v", r.obj)
	}
	// State table: converted = (isCloudManaged true, onPremisesSyncEnabled null).
	after := h.do("GET", g+"?$select=onPremisesSyncEnabled", nil).mustStatus(t, 200)
	if v, ok := after.obj["onPremisesSyncEnabled"]; !ok || v != nil {
		t.Fatalf("onPremisesSyncEnabled after conversion = %v", after.obj)
	}
	h.do("PATCH", g, map[string]any{"description": "now cloud"}).mustStatus(t, 204)
	h.do("POST", g+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}).mustStatus(t, 204)
	h.do("PATCH", g+"/onPremisesSyncBehavior", req).mustStatus(t, 200) // idempotent
	// Rollback: (false, null), read-only again until the next sync.
	h.do("PATCH", g+"/onPremisesSyncBehavior", map[string]any{"isCloudManaged": false}).mustStatus(t, 200)
	h.do("PATCH", g, map[string]any{"description": "x"}).mustStatus(t, 400)
	// Cloud-native groups cannot be "converted"; unknown properties rejected.
	h.do("PATCH", "/v1.0/groups/"+demoFinance+"/onPremisesSyncBehavior", req).mustStatus(t, 400)
	h.do("PATCH", g+"/onPremisesSyncBehavior", map[string]any{"isCloudManaged": true, "x": 1}).mustStatus(t, 400)
}

func TestUpsertByUniqueName(t *testing.T) {
	h := newHarness(t, nil)
	body := map[string]any{"displayName": "Platform team", "mailEnabled": false, "mailNickname": "platform", "securityEnabled": true}
	p := "/v1.0/groups(uniqueName='platform-team')"
	r := h.do("PATCH", p, body).mustStatus(t, 404)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
	r = h.do("PATCH", p, body, "Prefer: create-if-missing").mustStatus(t, 201)
	validate(t, "microsoft.graph.group", r.raw)
	if r.obj["uniqueName"] != "platform-team" {
		t.Fatalf("created = %v", r.obj)
	}
	id := r.obj["id"]
	body["description"] = "v2"
	h.do("PATCH", p, body, "Prefer: create-if-missing").mustStatus(t, 204)
	g := h.do("GET", "/v1.0/groups(uniqueName='platform-team')?$select=id,description", nil).mustStatus(t, 200)
	if g.obj["id"] != id || g.obj["description"] != "v2" {
		t.Fatalf("get by uniqueName = %v", g.obj)
	}
	// Quote escaping in the key.
	h.do("PATCH", "/v1.0/groups(uniqueName='o''brien')", map[string]any{"displayName": "O'Brien", "mailEnabled": false, "mailNickname": "obrien", "securityEnabled": true}, "Prefer: create-if-missing").mustStatus(t, 201)
	if g := h.do("GET", "/v1.0/groups?$filter=uniqueName eq 'o''brien'", nil).mustStatus(t, 200); len(g.values()) != 1 {
		t.Fatalf("filter by quoted uniqueName: %s", g.raw)
	}
	// Create branch validates like POST.
	h.do("PATCH", "/v1.0/groups(uniqueName='bad')", map[string]any{"displayName": "x"}, "Prefer: create-if-missing").mustStatus(t, 400)
}

func TestDirectoryObjects(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do("GET", "/v1.0/directoryObjects/"+demoFinance, nil).mustStatus(t, 200)
	if r.obj["@odata.type"] != "#microsoft.graph.group" {
		t.Fatalf("directoryObject = %v", r.obj)
	}
	validate(t, "microsoft.graph.directoryObject", r.raw)
	h.do("GET", "/v1.0/directoryObjects/11111111-2222-4333-8444-555555555555", nil).mustStatus(t, 404)
	b := h.do("POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{demoAlice, demoFinance, "11111111-2222-4333-8444-555555555555"}, "types": []string{"user", "group"}}).mustStatus(t, 200)
	validate(t, "microsoft.graph.directoryObjectCollectionResponse", b.raw)
	if fmt.Sprint(b.ids()) != fmt.Sprint([]string{demoAlice, demoFinance}) || b.header.Get("x-ms-resource-unit") != "5" {
		t.Fatalf("getByIds = %s (RU %s)", b.raw, b.header.Get("x-ms-resource-unit"))
	}
	u := h.do("POST", "/v1.0/directoryObjects/getByIds?$select=id,displayName", map[string]any{"ids": []string{demoAlice, demoFinance}, "types": []string{"user"}}).mustStatus(t, 200)
	if len(u.values()) != 1 || u.header.Get("x-ms-resource-unit") != "2" {
		t.Fatalf("getByIds types/select = %s", u.raw)
	}
	h.do("POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{demoAlice}, "types": []string{"printer"}}).mustStatus(t, 400)
	// getByIds is a read: not a write in the throttle model, but still a POST in the log.
	if e := h.sim.Log()[len(h.sim.Log())-1]; !e.Write || e.Method != "POST" {
		t.Fatalf("log = %+v", e)
	}
}

func TestRoutingErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.do("GET", "/v2.0/users", nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/nothing", nil).mustStatus(t, 400)
	r := h.do("PUT", "/v1.0/groups/"+demoFinance, map[string]any{}).mustStatus(t, 405)
	if r.errorCode() != "Request_BadRequest" {
		t.Fatalf("405 body = %s", r.raw)
	}
	h.do("GET", "/v1.0/users?$skip=5", nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/users?$select=nope", nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/groups?$expand=manager", nil).mustStatus(t, 400)
	// Non-OData parameters are ignored.
	h.do("GET", "/v1.0/users?foo=bar", nil).mustStatus(t, 200)
}
