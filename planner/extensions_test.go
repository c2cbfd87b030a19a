package planner

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

const extTicket = "00000000-0000-0000-0000-0000000e0001"

// ticketBody is a request extension as Graph returns it.
func ticketBody() map[string]any {
	return map[string]any{"@odata.type": model.RequestExtensionType, "id": extTicket, "displayName": "Ticket", "description": "Opens a ticket",
		"createdDateTime": "2026-11-01T00:00:00Z", "clientConfiguration": nil,
		"endpointConfiguration": map[string]any{"@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
			"subscriptionId": "38ab2ccc-3747-4567-b36b-9478f5602f0d", "resourceGroupName": "rg", "logicAppWorkflowName": "ticket", "url": "https://example.logic.azure.com/ticket"},
		"authenticationConfiguration": map[string]any{"@odata.type": "#microsoft.graph.azureAdPopTokenAuthentication"},
	}
}

// extObserved is emObserved whose catalog has the Ticket extension, run by
// its policy when a request is created (as a read with
// $expand=customExtensionStageSettings($expand=customExtension) shows it).
func extObserved(hooked bool) *model.Tenant {
	t := emObserved()
	t.Catalogs[0].CustomExtensions = &[]*model.CustomExtension{{ID: extTicket, DisplayName: "Ticket", Body: ticketBody()}}
	if hooked {
		(*t.AccessPackages[0].Policies)[0].Body["customExtensionStageSettings"] = []any{
			map[string]any{"stage": "assignmentRequestCreated", "customExtension": ticketBody()},
		}
	}
	return t
}

// desiredTicket is the Ticket extension as the spec loader writes it.
func desiredTicket() *model.CustomExtension {
	b := ticketBody()
	for _, k := range []string{"id", "createdDateTime", "clientConfiguration"} {
		delete(b, k)
	}
	return &model.CustomExtension{DisplayName: "Ticket", Body: b}
}

func hook(stage, name string) any {
	return map[string]any{"stage": stage, "customExtension": map[string]any{"displayName": name}}
}

func extPlan(t *testing.T, obs *model.Tenant, exts []*model.CustomExtension, hooks ...any) *Plan {
	t.Helper()
	pol := direct()
	if hooks != nil {
		pol.Body["customExtensionStageSettings"] = hooks
	}
	cat := &model.Catalog{DisplayName: "Marketing"}
	if exts != nil {
		cat.CustomExtensions = &exts
	}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Catalogs: []*model.Catalog{cat},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Policies: &[]*model.Policy{pol}}}}
	model.Normalize(desired)
	return Compute(desired, obs, Options{})
}

func change(p *Plan, addr string) *Change {
	for i := range p.Changes {
		if p.Changes[i].Address == addr {
			return &p.Changes[i]
		}
	}
	return nil
}

// A live extension and its hook as the spec writes them are no drift: the
// expanded extension Graph returns holds what the spec sets.
func TestHookedPolicyAsLiveIsNoDrift(t *testing.T) {
	p := extPlan(t, extObserved(true), []*model.CustomExtension{desiredTicket()}, hook("assignmentRequestCreated", "Ticket"))
	if p.HasChanges() || p.Errored {
		t.Fatalf("false drift: %v %v", summary(p), p.Diagnostics)
	}
}

// A new extension is created in its catalog, and the policy that runs it
// waits for the create and names it by a placeholder the applier fills;
// the live one is named by id. What the policy writes carries only ids.
func TestNewExtensionIsCreatedBeforeThePolicyRunningIt(t *testing.T) {
	warn := &model.CustomExtension{DisplayName: "Expiry warning", Body: map[string]any{"@odata.type": model.AssignmentExtensionType, "displayName": "Expiry warning"}}
	p := extPlan(t, extObserved(false), []*model.CustomExtension{desiredTicket(), warn},
		hook("assignmentRequestCreated", "Ticket"), hook("assignmentOneDayBeforeExpiration", "Expiry warning"))
	if p.Errored {
		t.Fatal(p.Diagnostics)
	}
	xa := model.CustomExtensionAddress("Marketing", "Expiry warning")
	create := change(p, xa)
	if create == nil || create.Action != Create || create.Parents["catalog"].ID != catID {
		t.Fatalf("extension create: %+v (changes %v)", create, summary(p))
	}
	pol := change(p, `assignment_policy["Marketing"/"Campaign"/"Direct"]`)
	if pol == nil || pol.Action != Update || !slices.Contains(pol.DependsOn, xa) {
		t.Fatalf("policy update: %+v", pol)
	}
	want := []any{
		map[string]any{"stage": "assignmentRequestCreated", "customExtension": map[string]any{"id": extTicket, "@odata.type": model.RequestExtensionType}},
		map[string]any{"stage": "assignmentOneDayBeforeExpiration", "customExtension": map[string]any{"id": "{" + xa + ".id}", "@odata.type": model.AssignmentExtensionType}},
	}
	if diff := cmp.Diff(want, pol.Body["customExtensionStageSettings"]); diff != "" {
		t.Errorf("written stages (-want +got):\n%s", diff)
	}
	if change(p, model.CustomExtensionAddress("Marketing", "Ticket")) != nil {
		t.Error("the unchanged live extension is planned")
	}
}

// A hook that names no extension of the catalog, one the spec deletes, or
// one of the other type than its stage runs, is refused at plan time.
func TestHooksThatCannotRunAreRefused(t *testing.T) {
	absent := &model.CustomExtension{DisplayName: "Ticket", Absent: true}
	for _, tc := range []struct {
		name string
		exts []*model.CustomExtension
		hook any
		want string
	}{
		{"unknown", nil, hook("assignmentRequestCreated", "Nope"), `runs custom extension "Nope" at assignmentRequestCreated, which catalog "Marketing" neither has nor declares`},
		{"absent", []*model.CustomExtension{absent}, hook("assignmentRequestCreated", "Ticket"), `which the spec marks absent: true`},
		{"wrong type", nil, hook("assignmentFourteenDaysBeforeExpiration", "Ticket"), `a stage before expiration runs an extension of type: assignment`},
	} {
		p := extPlan(t, extObserved(false), tc.exts, tc.hook)
		if !p.Errored || !slices.ContainsFunc(p.Diagnostics, func(d model.Diagnostic) bool { return strings.Contains(d.Summary, tc.want) }) {
			t.Errorf("%s: diagnostics %v, want %q", tc.name, p.Diagnostics, tc.want)
		}
		if change(p, `assignment_policy["Marketing"/"Campaign"/"Direct"]`) != nil {
			t.Errorf("%s: the policy is still planned: %v", tc.name, summary(p))
		}
	}
}

// Deleting an extension waits for the policy change that stops running
// it (Graph refuses to delete an extension a policy uses), and is gated
// like every deletion.
func TestExtensionIsDeletedAfterThePolicyStopsRunningIt(t *testing.T) {
	// customExtensions: [] in the spec: the policy runs none.
	p := extPlan(t, extObserved(true), []*model.CustomExtension{{DisplayName: "Ticket", Absent: true}}, []any{}...)
	pol := `assignment_policy["Marketing"/"Campaign"/"Direct"]`
	del := change(p, model.CustomExtensionAddress("Marketing", "Ticket"))
	if p.Errored || del == nil || del.Action != Delete || del.ObjectID != extTicket {
		t.Fatalf("delete: %+v %v %v", del, summary(p), p.Diagnostics)
	}
	if !slices.Contains(del.DependsOn, pol) || change(p, pol) == nil {
		t.Errorf("delete depends on %v, want %s (planned: %v)", del.DependsOn, pol, summary(p))
	}
	if !slices.Contains(del.Risks, RiskDelete) {
		t.Errorf("risks = %v, want %s", del.Risks, RiskDelete)
	}
}

// An extension that differs from the spec is updated with the spec's
// body, and the plan says how in the spec's terms.
func TestExtensionUpdateShowsSpecTerms(t *testing.T) {
	want := desiredTicket()
	want.Body["endpointConfiguration"].(map[string]any)["logicAppWorkflowName"] = "ticket-v2"
	p := extPlan(t, extObserved(false), []*model.CustomExtension{want})
	c := change(p, model.CustomExtensionAddress("Marketing", "Ticket"))
	if p.Errored || c == nil || c.Action != Update {
		t.Fatalf("update: %+v %v %v", c, summary(p), p.Diagnostics)
	}
	if len(c.Fields) != 1 || c.Fields[0].Field != "logicApp" || !strings.HasSuffix(c.Fields[0].After.(string), "/rg/ticket-v2") {
		t.Errorf("fields = %+v", c.Fields)
	}
	if c.Body["@odata.type"] != model.RequestExtensionType {
		t.Errorf("body = %v, want the spec's with its type", c.Body)
	}
}

// A declared policy the planner cannot resolve (an approver who does not
// exist) is an error, and the live policy of that name is not taken for
// an undeclared one to delete.
func TestUnresolvablePolicyIsNotDeleted(t *testing.T) {
	pol := direct()
	pol.Body["specificAllowedTargets"] = []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": "nobody@contoso.com"}}
	p := emPlan(t, &model.Tenant{AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Policies: &[]*model.Policy{pol}}}})
	if !p.Errored {
		t.Fatalf("no error: %v", summary(p))
	}
	if len(p.Changes) != 0 {
		t.Errorf("changes = %v, want none", summary(p))
	}
}
