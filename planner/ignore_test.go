package planner

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

// Issue 9, hole 4: settings.ignore hands fields of every kind the spec
// manages to another system. In each test one ignored field has drifted and
// produces no change, one field that is not ignored still does, and the
// caller's desired tenant is left as it was.

// ignorePlan plans desired against obs and checks that Compute did not
// change desired.
func ignorePlan(t *testing.T, desired, obs *model.Tenant) []string {
	t.Helper()
	desired.Domain = "contoso.onmicrosoft.com"
	model.Normalize(desired)
	before := snapshot(t, desired)
	p := Compute(desired, obs, Options{})
	if p.Errored {
		t.Fatalf("diagnostics: %v", p.Diagnostics)
	}
	if diff := cmp.Diff(before, snapshot(t, desired)); diff != "" {
		t.Errorf("Compute changed its input (-before +after):\n%s", diff)
	}
	return summary(p)
}

func snapshot(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIgnoreRuleForCatalogs(t *testing.T) {
	desired := &model.Tenant{
		Settings: model.Settings{Ignore: []model.IgnoreRule{{Catalog: "MARKET*", Fields: []string{"description", "resources"}}}},
		Catalogs: []*model.Catalog{{DisplayName: "Marketing", Description: ptr("Owned by the HR system"), State: ptr("unpublished"),
			Groups: &[]model.Ref{}}}, // would remove group Res from the catalog
	}
	got := ignorePlan(t, desired, emObserved())
	if want := []string{`update catalog["Marketing"] state`}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	// Without the rule both fields are planned.
	desired.Settings.Ignore = nil
	if got := ignorePlan(t, desired, emObserved()); len(got) != 2 {
		t.Errorf("without the rule: changes = %q, want the catalog update and its resources", got)
	}
}

func TestIgnoreRuleForAccessPackages(t *testing.T) {
	desired := &model.Tenant{
		Settings: model.Settings{Ignore: []model.IgnoreRule{{AccessPackage: "campaign", Fields: []string{"description", "assignments"}}}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Description: ptr("Owned elsewhere"), IsHidden: ptr(true),
			// Authoritative with carol only: would add her and remove alice and bob.
			Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct", Targets: []model.Ref{{Kind: model.User, Value: "carol@contoso.com"}}}}},
	}
	got := ignorePlan(t, desired, emObserved())
	if want := []string{`update access_package["Marketing"/"Campaign"] isHidden`}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	desired.Settings.Ignore = nil
	if got := ignorePlan(t, desired, emObserved()); len(got) != 2 {
		t.Errorf("without the rule: changes = %q, want the package update and its assignments", got)
	}
}

const (
	bpID    = "00000000-0000-0000-0000-0000000b1001"
	bpApp   = "00000000-0000-0000-0000-0000000b1002"
	bpSP    = "00000000-0000-0000-0000-0000000b1003"
	agentID = "00000000-0000-0000-0000-0000000a9001"
)

// agentObserved is a tenant with blueprint "HR agents" (with its principal)
// and its enabled agent identity "Helper", both tagged hr.
func agentObserved() *model.Tenant {
	t := observedTenant()
	t.Blueprints = []*model.Blueprint{{ID: bpID, AppID: bpApp, PrincipalID: bpSP, DisplayName: "HR agents", Description: ptr("Live"), Tags: &[]string{"hr"}}}
	t.AgentIdentities = []*model.AgentIdentity{{ID: agentID, DisplayName: "Helper", Blueprint: bpApp, Tags: &[]string{"hr"}, Enabled: ptr(true)}}
	model.Normalize(t)
	return t
}

func TestIgnoreRuleForBlueprints(t *testing.T) {
	desired := &model.Tenant{
		Settings:   model.Settings{Ignore: []model.IgnoreRule{{Blueprint: "hr *", Fields: []string{"tags"}}}},
		Blueprints: []*model.Blueprint{{DisplayName: "HR agents", Description: ptr("Changed"), Tags: &[]string{"hr", "pilot"}}},
	}
	got := ignorePlan(t, desired, agentObserved())
	if want := []string{`update blueprint["HR agents"] description`}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	desired.Settings.Ignore = nil
	if got := ignorePlan(t, desired, agentObserved()); !slices.Equal(got, []string{`update blueprint["HR agents"] description tags`}) {
		t.Errorf("without the rule: changes = %q", got)
	}
}

func TestIgnoreRuleForAgentIdentities(t *testing.T) {
	desired := &model.Tenant{
		Settings: model.Settings{Ignore: []model.IgnoreRule{{AgentIdentity: "help?r", Fields: []string{"enabled"}}}},
		AgentIdentities: []*model.AgentIdentity{{DisplayName: "Helper", Blueprint: "HR agents", Tags: &[]string{"hr", "pilot"},
			Enabled: ptr(false)}}, // a security tool disabled it, say: entrasync must not enable it again
	}
	got := ignorePlan(t, desired, agentObserved())
	if want := []string{`update agent_identity["HR agents"/"Helper"] tags`}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	desired.Settings.Ignore = nil
	if got := ignorePlan(t, desired, agentObserved()); !slices.Equal(got, []string{`update agent_identity["HR agents"/"Helper"] accountEnabled tags`}) {
		t.Errorf("without the rule: changes = %q", got)
	}
}

// A rule is about its own kind only: a catalog rule matching every name
// leaves groups, packages and blueprints of that name managed, and group
// rules work as they did.
func TestIgnoreRuleIsAboutOneKind(t *testing.T) {
	desired := &model.Tenant{
		Settings: model.Settings{Ignore: []model.IgnoreRule{{Catalog: "*", Fields: []string{"description"}}, {Group: "fin*", Fields: []string{"members"}}}},
		Groups: []*model.Group{{DisplayName: "Finance", Description: ptr("Changed"),
			Members: &model.MemberSet{Mode: model.Authoritative, Members: users("carol@contoso.com")}}},
	}
	got := ignorePlan(t, desired, observedTenant())
	if want := []string{`update group["Finance"] description`}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
}

// Every field the spec accepts for a kind (model.IgnorableFields) is taken
// out of the desired object: the unset functions and the list agree.
func TestIgnorableFieldsAreAllUnset(t *testing.T) {
	refs := &[]model.Ref{{Kind: model.GroupKind, Value: "x"}}
	tags := &[]string{"a"}
	full := &model.Tenant{
		Groups: []*model.Group{{DisplayName: "X", Description: ptr("d"), MailNickname: ptr("x"), MembershipRule: ptr("r"),
			MembershipRuleProcessingState: ptr("On"), Members: &model.MemberSet{}, Owners: &model.MemberSet{}}},
		Catalogs: []*model.Catalog{{DisplayName: "X", Description: ptr("d"), IsExternallyVisible: ptr(true), State: ptr("published"),
			Groups: refs, Applications: refs, Sites: refs}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "X", Catalog: "C", Description: ptr("d"), IsHidden: ptr(true),
			Roles: &[]model.RoleScope{}, Policies: &[]*model.Policy{}, Assignments: &model.AssignmentSet{}, Incompatible: &model.Incompatible{}}},
		Blueprints:      []*model.Blueprint{{DisplayName: "X", Description: ptr("d"), Tags: tags, Sponsors: refs, Owners: refs}},
		AgentIdentities: []*model.AgentIdentity{{DisplayName: "X", Blueprint: "B", Tags: tags, Enabled: ptr(true), Sponsors: refs}},
	}
	objectOf := func(t *model.Tenant, kind string) any {
		switch kind {
		case model.IgnoreGroup:
			return *t.Groups[0]
		case model.IgnoreCatalog:
			return *t.Catalogs[0]
		case model.IgnoreAccessPackage:
			return *t.AccessPackages[0]
		case model.IgnoreBlueprint:
			return *t.Blueprints[0]
		}
		return *t.AgentIdentities[0]
	}
	for _, kind := range model.IgnoreKinds {
		fields := model.IgnorableFields[kind]
		if len(fields) == 0 {
			t.Errorf("%s: no ignorable fields", kind)
		}
		for _, f := range fields {
			r := model.IgnoreRule{Fields: []string{f}}
			switch kind {
			case model.IgnoreGroup:
				r.Group = "x"
			case model.IgnoreCatalog:
				r.Catalog = "x"
			case model.IgnoreAccessPackage:
				r.AccessPackage = "x"
			case model.IgnoreBlueprint:
				r.Blueprint = "x"
			case model.IgnoreAgentIdentity:
				r.AgentIdentity = "x"
			}
			if r.Kind() != kind || r.Pattern() != "x" {
				t.Fatalf("rule %+v: Kind %s Pattern %q", r, r.Kind(), r.Pattern())
			}
			in := *full
			in.Settings.Ignore = []model.IgnoreRule{r}
			out := ignored(&in)
			before, after := objectOf(full, kind), objectOf(out, kind)
			if reflect.DeepEqual(before, after) {
				t.Errorf("%s field %q: listed as ignorable but not taken out", kind, f)
			}
			for _, other := range model.IgnoreKinds {
				if other != kind && !reflect.DeepEqual(objectOf(full, other), objectOf(out, other)) {
					t.Errorf("a %s rule for %q changed a %s", kind, f, other)
				}
			}
		}
	}
}

// Covers, which a policy's rules allow a spec's by, compares kinds as well
// as patterns; Objects names the kind in messages.
func TestIgnoreRuleCoversItsOwnKindOnly(t *testing.T) {
	policy := model.IgnoreRule{Blueprint: "*", Fields: []string{"description", "tags"}}
	for _, c := range []struct {
		rule model.IgnoreRule
		want bool
	}{
		{model.IgnoreRule{Blueprint: "*", Fields: []string{"tags"}}, true},
		{model.IgnoreRule{Blueprint: "*", Fields: []string{"tags", "description"}}, true},
		{model.IgnoreRule{Blueprint: "HR*", Fields: []string{"tags"}}, false},
		{model.IgnoreRule{Catalog: "*", Fields: []string{"description"}}, false},
		{model.IgnoreRule{Group: "*", Fields: []string{"description"}}, false},
	} {
		if got := policy.Covers(c.rule); got != c.want {
			t.Errorf("%+v covers %+v = %v, want %v", policy, c.rule, got, c.want)
		}
	}
	if got := (model.IgnoreRule{AccessPackage: "Payroll"}).Objects(); got != `access packages matching "Payroll"` {
		t.Errorf("Objects = %s", got)
	}
}
