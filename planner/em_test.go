package planner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

const (
	catID  = "00000000-0000-0000-0000-00000000ca01"
	pkgID  = "00000000-0000-0000-0000-00000000ac01"
	polID  = "00000000-0000-0000-0000-00000000b001"
	grpRes = "00000000-0000-0000-0000-00000000a001"
)

// emObserved is a tenant with a catalog holding group "Res", a package
// granting its Member role, a policy as Graph returns it (defaults filled),
// and assignments for alice (delivered, but not a member: to repair) and bob.
func emObserved() *model.Tenant {
	t := observedTenant()
	t.Principals = append(t.Principals, model.Principal{ID: grpRes, Kind: model.GroupKind, DisplayName: "Res"})
	t.Catalogs = []*model.Catalog{{ID: catID, DisplayName: "Marketing", Description: ptr(""), State: ptr("published"),
		Groups: &[]model.Ref{{Kind: model.GroupKind, Value: grpRes}}, ResourceIDs: map[string]string{grpRes: "res-1"}}}
	t.AccessPackages = []*model.AccessPackage{{ID: pkgID, DisplayName: "Campaign", Catalog: "Marketing", CatalogID: catID, Description: ptr(""),
		Roles: &[]model.RoleScope{{Group: model.Ref{Kind: model.GroupKind, Value: grpRes}, Role: "Member", ID: "rrs-1"}},
		Policies: &[]*model.Policy{{ID: polID, DisplayName: "Direct", Body: map[string]any{
			"id": polID, "displayName": "Direct", "description": "", "allowedTargetScope": "notSpecified",
			"createdDateTime":         "2026-11-01T00:00:00Z",
			"expiration":              map[string]any{"type": "afterDuration", "duration": "P30D", "endDateTime": nil},
			"requestApprovalSettings": map[string]any{"isApprovalRequiredForAdd": false, "isApprovalRequiredForUpdate": false, "stages": []any{}},
		}}},
		Assignments: &model.AssignmentSet{Live: []model.Assignment{
			{ID: "as-alice", TargetID: alice, PolicyID: polID, State: "delivered"},
			{ID: "as-bob", TargetID: bob, PolicyID: polID, State: "delivered"},
		}}}}
	t.GroupMembers = map[string][]string{grpRes: {bob}}
	model.Normalize(t)
	return t
}

func emPlan(t *testing.T, desired *model.Tenant) *Plan {
	t.Helper()
	desired.Domain = "contoso.onmicrosoft.com"
	model.Normalize(desired)
	return Compute(desired, emObserved(), Options{})
}

func direct() *model.Policy {
	return &model.Policy{DisplayName: "Direct", Body: map[string]any{"displayName": "Direct", "allowedTargetScope": "notSpecified",
		"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}}
}

func TestPolicyWithGraphDefaultsIsNoDrift(t *testing.T) {
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
		Policies: &[]*model.Policy{direct()}}}})
	if p.HasChanges() || p.Errored {
		t.Fatalf("false drift: %v %v", summary(p), p.Diagnostics)
	}
}

func TestPolicyUpdateIsWholeMergedBody(t *testing.T) {
	pol := direct()
	pol.Body["expiration"] = map[string]any{"type": "afterDuration", "duration": "P90D"}
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Policies: &[]*model.Policy{pol}}}})
	if len(p.Changes) != 1 || p.Changes[0].Kind != KindPolicy || p.Changes[0].Action != Update {
		t.Fatalf("changes = %v", summary(p))
	}
	body := p.Changes[0].Body
	want := map[string]any{"type": "afterDuration", "duration": "P90D", "endDateTime": nil}
	if diff := cmp.Diff(want, body["expiration"]); diff != "" {
		t.Errorf("merged expiration (-want +got):\n%s", diff)
	}
	if body["requestApprovalSettings"] == nil || body["createdDateTime"] != nil {
		t.Errorf("merged body lost an unmanaged property or kept a read-only one: %v", body)
	}
}

func TestAssignmentsAddRemoveRepair(t *testing.T) {
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", RepairDelivery: true,
		Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct",
			Targets: []model.Ref{{Kind: model.User, Value: "alice@contoso.com"}, {Kind: model.User, Value: "carol@contoso.com"}, {Kind: model.User, Value: "new@fabrikam.com"}},
			Invite:  &model.Invite{RedirectURL: "https://myapps.microsoft.com"}}}}})
	if p.Errored || len(p.Changes) != 1 {
		t.Fatalf("plan: %v %v", summary(p), p.Diagnostics)
	}
	md := p.Changes[0].Members
	var add, remove, repair []string
	for _, m := range md.Add {
		add = append(add, m.Label+map[bool]string{true: " (invite)"}[m.Invite])
	}
	for _, m := range md.Remove {
		remove = append(remove, m.Label+"/"+m.Assignment)
	}
	for _, m := range md.Repair {
		repair = append(repair, m.Label+"/"+m.Assignment)
	}
	got := strings.Join(add, ",") + " | " + strings.Join(remove, ",") + " | " + strings.Join(repair, ",")
	if want := "carol@contoso.com,new@fabrikam.com (invite) | bob@contoso.com/as-bob | alice@contoso.com/as-alice"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if p.Changes[0].Parents["policy"].ID != polID || p.Changes[0].Risks[0] != RiskMemberRemoval {
		t.Errorf("change = %+v", p.Changes[0])
	}
}

// Issue 9, hole 5: alice's delivered assignment lacks its membership, but
// the spec removes her: the plan removes it and does not also repair it
// (Graph refuses to reprocess an assignment being removed).
func TestRemovedAssignmentIsNotRepaired(t *testing.T) {
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", RepairDelivery: true,
		Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct",
			Targets: []model.Ref{{Kind: model.User, Value: "bob@contoso.com"}}}}}})
	if p.Errored || len(p.Changes) != 1 {
		t.Fatalf("plan: %v %v", summary(p), p.Diagnostics)
	}
	md := p.Changes[0].Members
	if len(md.Remove) != 1 || md.Remove[0].Assignment != "as-alice" {
		t.Errorf("removals = %+v, want alice's", md.Remove)
	}
	if len(md.Repair) != 0 {
		t.Errorf("repairs = %+v: an assignment the plan removes is repaired too", md.Repair)
	}
}

func TestNewPackageChainIsOrdered(t *testing.T) {
	p := emPlan(t, &model.Tenant{
		Groups:   []*model.Group{{DisplayName: "New res"}},
		Catalogs: []*model.Catalog{{DisplayName: "Sales", Groups: &[]model.Ref{{Kind: model.GroupKind, Value: "New res"}}}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Deals", Catalog: "Sales",
			Roles:       &[]model.RoleScope{{Group: model.Ref{Kind: model.GroupKind, Value: "New res"}, Role: "Member"}},
			Policies:    &[]*model.Policy{direct()},
			Assignments: &model.AssignmentSet{Policy: "Direct", Targets: []model.Ref{{Kind: model.User, Value: "bob@contoso.com"}}}}},
	})
	if p.Errored {
		t.Fatal(p.Diagnostics)
	}
	pos := map[string]int{}
	for i, c := range p.Changes {
		pos[c.Address] = i
	}
	if pos[`group["New res"]`] > pos[`catalog["Sales"].resources`] {
		t.Errorf("the group must be created before the catalog can hold it: %v", summary(p))
	}
	chain := []string{`catalog["Sales"]`, `catalog["Sales"].resources`, `access_package["Sales"/"Deals"]`,
		`access_package["Sales"/"Deals"].roles`, `assignment_policy["Sales"/"Deals"/"Direct"]`, `access_package["Sales"/"Deals"].assignments`}
	for i := 1; i < len(chain); i++ {
		a, aok := pos[chain[i-1]]
		b, bok := pos[chain[i]]
		if !aok || !bok || a > b {
			t.Errorf("%s (at %d) should come before %s (at %d): %v", chain[i-1], a, chain[i], b, summary(p))
		}
	}
}

func TestDeletingAPackageRemovesAssignmentsFirst(t *testing.T) {
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Absent: true}}})
	want := []string{
		`update access_package["Marketing"/"Campaign"].assignments`,
		`delete assignment_policy["Marketing"/"Campaign"/"Direct"]`,
		`delete access_package["Marketing"/"Campaign"]`,
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Action.String()+" "+c.Address)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(p.Changes[0].Members.Remove); n != 2 {
		t.Errorf("%d removals, want both assignments", n)
	}
}

func TestProtectedPrincipalKeepsItsAssignment(t *testing.T) {
	p := emPlan(t, &model.Tenant{Settings: model.Settings{Protected: []model.Ref{{Kind: model.User, Value: "bob@contoso.com"}}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
			Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct", Targets: []model.Ref{{Kind: model.User, Value: "alice@contoso.com"}}}}}})
	if !p.Errored || !strings.Contains(errorsOf(p)[0], "protected principal bob@contoso.com") {
		t.Errorf("diagnostics = %v", p.Diagnostics)
	}
}

// A delivery that failed is reported, not requested again and again.
func TestFailedDeliveryIsReportedNotRetried(t *testing.T) {
	obs := emObserved()
	a := &(*obs.AccessPackages[0]).Assignments.Live
	*a = append(*a, model.Assignment{ID: "as-carol", TargetID: carol, PolicyID: polID, State: "deliveryfailed"})
	desired := &model.Tenant{Domain: obs.Domain, AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
		Assignments: &model.AssignmentSet{Policy: "Direct", Targets: []model.Ref{{Kind: model.User, Value: "carol@contoso.com"}}}}}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if p.HasChanges() || len(p.Diagnostics) != 1 || !strings.Contains(p.Diagnostics[0].Summary, "failed delivery (assignment as-carol)") {
		t.Fatalf("changes %v, diagnostics %v", summary(p), p.Diagnostics)
	}
}

// A policy PUT keeps what the spec does not manage inside lists: an
// approval stage's escalation settings, a question's id; an approver of
// another type replaces the live one whole.
func TestMergeBodyKeepsUnmanagedPropertiesInLists(t *testing.T) {
	live := map[string]any{
		"@odata.etag": "W/1",
		"requestApprovalSettings": map[string]any{"stages": []any{map[string]any{
			"durationBeforeAutomaticDenial": "P14D", "isEscalationEnabled": true, "durationBeforeEscalation": "P2D",
			"escalationApprovers": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": "u-esc"}},
			"primaryApprovers":    []any{map[string]any{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": float64(1)}},
		}}},
		"questions": []any{map[string]any{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "q1", "text": "Why?", "sequence": float64(1)}},
	}
	want := map[string]any{
		"requestApprovalSettings": map[string]any{"stages": []any{map[string]any{
			"durationBeforeAutomaticDenial": "P7D",
			"primaryApprovers":              []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": "u-bob"}},
		}}},
		"questions": []any{
			map[string]any{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "text": "Why exactly?", "sequence": float64(1)},
			map[string]any{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "text": "Until when?", "sequence": float64(2)},
		},
	}
	got := mergeBody(live, want)
	stage := got["requestApprovalSettings"].(map[string]any)["stages"].([]any)[0].(map[string]any)
	if stage["durationBeforeAutomaticDenial"] != "P7D" || stage["isEscalationEnabled"] != true || stage["durationBeforeEscalation"] != "P2D" || stage["escalationApprovers"] == nil {
		t.Errorf("stage = %v, want the new timeout and the live escalation settings", stage)
	}
	approvers := stage["primaryApprovers"].([]any)
	if a := approvers[0].(map[string]any); len(approvers) != 1 || a["managerLevel"] != nil || a["userId"] != "u-bob" {
		t.Errorf("approvers = %v, want the single user alone", approvers)
	}
	qs := got["questions"].([]any)
	if q := qs[0].(map[string]any); q["id"] != "q1" || q["text"] != "Why exactly?" {
		t.Errorf("question 1 = %v, want its live id with the new text", q)
	}
	if q := qs[1].(map[string]any); len(qs) != 2 || q["id"] != nil {
		t.Errorf("questions = %v, want the new second question without an id", qs)
	}
	if _, ok := got["@odata.etag"]; ok {
		t.Error("read-only @odata.etag kept")
	}
}
