package graphsim

import (
	"slices"
	"testing"
)

const spPayroll = "0a1b2c3d-0000-4000-8000-00000000b001"

// ownersFixture is the demo tenant with Finance owned by alice and the
// service principal "Payroll sync".
func ownersFixture() *Fixture {
	f := DemoFixture()
	f.ServicePrincipals = append(f.ServicePrincipals, ServicePrincipal{ID: spPayroll, DisplayName: "Payroll sync"})
	for i := range f.Groups {
		if f.Groups[i].ID == demoFinance {
			f.Groups[i].Owners = []string{"alice@contoso.com", spPayroll}
		}
	}
	return f
}

// Owner lists as Microsoft documents them: v1.0 leaves service principals
// out (the group-list-owners page), beta lists them; both are
// directoryObject collections whose items carry their @odata.type.
func TestGroupOwnersList(t *testing.T) {
	h := newHarness(t, ownersFixture())
	v1 := h.do("GET", "/v1.0/groups/"+demoFinance+"/owners?$select=id,userPrincipalName,displayName,mail", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.directoryObjectCollectionResponse", v1.raw)
	if got := v1.ids(); !slices.Equal(got, []string{demoAlice}) {
		t.Fatalf("v1.0 owners = %v, want alice only", got)
	}
	if v := v1.values()[0]; v["@odata.type"] != "#microsoft.graph.user" || v["userPrincipalName"] != "alice@contoso.com" {
		t.Fatalf("v1.0 owner = %v", v)
	}
	beta := h.do("GET", "/beta/groups/"+demoFinance+"/owners?$select=id,displayName", nil).mustStatus(t, 200)
	if got := beta.ids(); len(got) != 2 || !slices.Contains(got, spPayroll) {
		t.Fatalf("beta owners = %v, want alice and the service principal", got)
	}
	for _, v := range beta.values() {
		if v["id"] == spPayroll && (v["@odata.type"] != "#microsoft.graph.servicePrincipal" || v["displayName"] != "Payroll sync") {
			t.Fatalf("beta service principal owner = %v", v)
		}
	}
	// Inside $batch, as entrasync reads them.
	b := h.do("POST", "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/groups/" + demoFinance + "/owners?$select=id"},
	}}).mustStatus(t, 200)
	if st := batchResponses(t, b)["1"]["status"]; st != float64(200) {
		t.Fatalf("owners in $batch: %v", batchResponses(t, b)["1"])
	}
}

// Graph refuses to remove a group's last user owner (group-delete-owners:
// "the last owner (a user object) of the group cannot be removed"), with
// the observed 400, also while a service principal still owns the group;
// a service principal owner can go, and adds and removes are repeat-safe.
func TestGroupOwnersLastOwner(t *testing.T) {
	h := newHarness(t, ownersFixture())
	want := exampleObject(t, "error-Request_BadRequest-lastOwner.observed.response.json")["error"].(map[string]any)
	del := func(id string) *result {
		return h.do("DELETE", "/v1.0/groups/"+demoFinance+"/owners/"+id+"/$ref", nil)
	}
	refused := func(r *result) {
		t.Helper()
		r.mustStatus(t, 400)
		validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
		if r.errorCode() != want["code"] || r.errorMessage() != want["message"] {
			t.Fatalf("last-owner refusal = %s, want %v", r.raw, want)
		}
	}
	refused(del(demoAlice)) // the service principal does not count
	add := "/v1.0/groups/" + demoFinance + "/owners/$ref"
	h.do("POST", add, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoBob}).mustStatus(t, 204)
	r := h.do("POST", add, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoBob}).mustStatus(t, 400)
	if r.errorMessage() != "One or more added object references already exist for the following modified properties: 'owners'." {
		t.Fatalf("second add: %s", r.raw)
	}
	h.do("POST", add, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + demoMarketing}).mustStatus(t, 400)
	del(demoAlice).mustStatus(t, 204)
	if r := del(demoAlice).mustStatus(t, 404); r.errorMessage() != "One or more removed object references do not exist for the following modified properties: 'owners'." {
		t.Fatalf("second remove: %s", r.raw)
	}
	del(spPayroll).mustStatus(t, 204)
	refused(del(demoBob))
	// The same inside $batch: the item fails, the batch answers 200.
	b := h.do("POST", "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "DELETE", "url": "/groups/" + demoFinance + "/owners/" + demoBob + "/$ref"},
	}}).mustStatus(t, 200)
	if st := batchResponses(t, b)["1"]["status"]; st != float64(400) {
		t.Fatalf("last owner in $batch: %v", batchResponses(t, b)["1"])
	}
	if got := h.do("GET", "/beta/groups/"+demoFinance+"/owners?$select=id", nil).mustStatus(t, 200).ids(); !slices.Equal(got, []string{demoBob}) {
		t.Fatalf("owners after the refusals = %v, want bob", got)
	}
}
