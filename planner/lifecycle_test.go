package planner

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/model"
)

var lifecycleNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const salesApp = "00000000-0000-0000-0000-0000000b2002"

// lifecycleObserved is agentObserved plus every agent identity of the
// tenant: the declared "Helper" and undeclared ones of two blueprints.
func lifecycleObserved() *model.Tenant {
	t := agentObserved()
	t.Blueprints = append(t.Blueprints, &model.Blueprint{ID: "00000000-0000-0000-0000-0000000b2001", AppID: salesApp, DisplayName: "Sales agents"})
	ident := func(id, name, app string, days int, enabled bool, tags ...string) *model.AgentIdentity {
		created := lifecycleNow.AddDate(0, 0, -days)
		return &model.AgentIdentity{ID: id, DisplayName: name, Blueprint: app, Tags: &tags, Enabled: &enabled, Created: &created}
	}
	t.AllAgentIdentities = []*model.AgentIdentity{
		ident(agentID, "Helper", bpApp, 400, true, "hr", "environment:development"),
		ident("00000000-0000-0000-0000-0000000a9101", "Old dev", bpApp, 120, true, "environment:development"),
		ident("00000000-0000-0000-0000-0000000a9102", "Young dev", bpApp, 10, true, "environment:development"),
		ident("00000000-0000-0000-0000-0000000a9103", "Old prod", bpApp, 200, true, "environment:production"),
		ident("00000000-0000-0000-0000-0000000a9104", "Sales pilot", salesApp, 150, true, "environment:development", "team:sales"),
		ident("00000000-0000-0000-0000-0000000a9105", "Switched off", bpApp, 300, false, "environment:development"),
	}
	t.AgentIdentities[0].Created = t.AllAgentIdentities[0].Created
	model.Normalize(t)
	return t
}

// Lifecycle rules select from every agent identity of the tenant: reports
// are warnings, disables are ES104-gated updates, nothing is deleted, and
// the declared identity is judged where it is planned.
func TestLifecycleRulesOverTheTenant(t *testing.T) {
	declared := []*model.AgentIdentity{{DisplayName: "Helper", Blueprint: "HR agents", Tags: &[]string{"hr"}}}
	for _, tc := range []struct {
		name      string
		rule      model.LifecycleRule
		protected string
		ignore    bool     // settings.ignore hands the enabled field of "sales *" off
		changes   []string // "update address reason"
		warnings  []string
		errors    []string
	}{
		{name: "report", rule: model.LifecycleRule{Tags: []string{"environment:development"}},
			warnings: []string{
				`agent_identity["HR agents"/"Old dev"]: lifecycle rule "r": agent identity "Old dev" (id 00000000-0000-0000-0000-0000000a9101) is 120 days old (more than 90); the spec does not declare it`,
				`agent_identity["Sales agents"/"Sales pilot"]: lifecycle rule "r": agent identity "Sales pilot" (id 00000000-0000-0000-0000-0000000a9104) is 150 days old (more than 90); the spec does not declare it`,
				`agent_identity["HR agents"/"Switched off"]: lifecycle rule "r": agent identity "Switched off" (id 00000000-0000-0000-0000-0000000a9105) is 300 days old (more than 90, already disabled); the spec does not declare it`,
			}},
		{name: "disable", rule: model.LifecycleRule{Tags: []string{"environment:development"}, Disable: true},
			changes: []string{
				`update agent_identity["HR agents"/"Old dev"] lifecycle rule "r": 120 days old, more than 90; not declared in the spec`,
				`update agent_identity["Sales agents"/"Sales pilot"] lifecycle rule "r": 150 days old, more than 90; not declared in the spec`,
			}},
		{name: "blueprint narrows", rule: model.LifecycleRule{Blueprint: "sales AGENTS", Disable: true},
			changes: []string{`update agent_identity["Sales agents"/"Sales pilot"] lifecycle rule "r": 150 days old, more than 90; not declared in the spec`}},
		{name: "every tag must match", rule: model.LifecycleRule{Tags: []string{"environment:development", "team:sales"}},
			warnings: []string{`agent_identity["Sales agents"/"Sales pilot"]: lifecycle rule "r": agent identity "Sales pilot" (id 00000000-0000-0000-0000-0000000a9104) is 150 days old (more than 90); the spec does not declare it`}},
		{name: "declared identity uses the spec's tags", rule: model.LifecycleRule{Tags: []string{"hr"}, Disable: true},
			changes: []string{`update agent_identity["HR agents"/"Helper"] lifecycle rule "r": 400 days old, more than 90`}},
		{name: "ignore rule hands enabled off", rule: model.LifecycleRule{Blueprint: "Sales agents", Disable: true}, ignore: true,
			warnings: []string{`agent_identity["Sales agents"/"Sales pilot"]: lifecycle rule "r" would disable agent identity "Sales pilot" (150 days old), but settings.ignore hands its enabled field to another system`}},
		{name: "unknown blueprint", rule: model.LifecycleRule{Blueprint: "Nope"},
			errors: []string{`lifecycle["r"]: lifecycle rule "r": blueprint "Nope" does not exist and the spec does not declare it`}},
		{name: "protected", rule: model.LifecycleRule{Blueprint: "Sales agents", Disable: true}, protected: "00000000-0000-0000-0000-0000000a9104",
			changes: []string{`update agent_identity["Sales agents"/"Sales pilot"] lifecycle rule "r": 150 days old, more than 90; not declared in the spec`},
			errors:  []string{`agent_identity["Sales agents"/"Sales pilot"]: the plan would disable protected agent identity "Sales pilot" (00000000-0000-0000-0000-0000000a9104): lifecycle rule "r": 150 days old, more than 90; not declared in the spec`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := tc.rule
			rule.Name, rule.OlderThanDays = "r", 90
			desired := &model.Tenant{AgentIdentities: declared, Lifecycle: []*model.LifecycleRule{&rule}}
			if tc.ignore {
				desired.Settings.Ignore = []model.IgnoreRule{{AgentIdentity: "sales *", Fields: []string{"enabled"}}}
			}
			if tc.protected != "" {
				desired.Settings.Protected = []model.Ref{{Kind: model.User, Value: tc.protected}}
			}
			model.Normalize(desired)
			p := Compute(desired, lifecycleObserved(), Options{Now: func() time.Time { return lifecycleNow }})
			var changes, warnings, errs []string
			for _, c := range p.Changes {
				changes = append(changes, c.Action.String()+" "+c.Address+" "+c.Reason)
				if c.Action != Update || len(c.Fields) != 1 || c.Fields[0].Field != "accountEnabled" || c.Fields[0].After != false {
					t.Errorf("%s: fields %+v, want accountEnabled -> false only", c.Address, c.Fields)
				}
				if !slices.Equal(c.Risks, []RiskCode{RiskLifecycleDisable}) {
					t.Errorf("%s: risks %v, want [ES104]", c.Address, c.Risks)
				}
			}
			for _, dg := range p.Diagnostics {
				line := dg.Address + ": " + dg.Summary
				if dg.Severity == model.Error {
					errs = append(errs, line)
				} else {
					warnings = append(warnings, line)
				}
			}
			for what, pair := range map[string][2][]string{"changes": {tc.changes, changes}, "warnings": {tc.warnings, warnings}, "errors": {tc.errors, errs}} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("%s:\n got %q\nwant %q", what, pair[1], pair[0])
				}
			}
			if len(changes) > 0 && !slices.Contains(p.RequireApproval, RiskLifecycleDisable) {
				t.Errorf("requireApproval %v lacks ES104", p.RequireApproval)
			}
		})
	}
}

// A plan without a clock evaluates no rule; a requireApproval list that
// leaves out ES104 weakens nothing unless a rule disables.
func TestLifecycleWithoutClockAndGate(t *testing.T) {
	desired := &model.Tenant{Lifecycle: []*model.LifecycleRule{{Name: "r", Tags: []string{"environment:development"}, OlderThanDays: 90, Disable: true}}}
	model.Normalize(desired)
	if p := Compute(desired, lifecycleObserved(), Options{}); len(p.Changes) != 0 || len(p.Diagnostics) != 0 {
		t.Fatalf("without a clock: %v %v", summary(p), p.Diagnostics)
	}
	now := Options{Now: func() time.Time { return lifecycleNow }}
	desired.Settings.RequireApproval = []string{"ES101", "ES103", "ES201", "ES301"}
	p := Compute(desired, lifecycleObserved(), now)
	if len(p.Safeguards) != 1 || !strings.Contains(p.Safeguards[0].Summary, "drops ES104: lifecycle disable") {
		t.Errorf("safeguards = %+v, want ES104 dropped", p.Safeguards)
	}
	desired.Lifecycle[0].Disable = false
	desired.Groups = []*model.Group{{DisplayName: "Finance", Description: ptr("changed")}}
	if p := Compute(desired, lifecycleObserved(), now); len(p.Safeguards) != 0 {
		t.Errorf("report-only rule: safeguards = %+v", p.Safeguards)
	}
}

// Disables count in settings.limits.changesPerRun, measured against every
// undeclared identity the disabling rules select (of any age).
func TestChangesPerRunCountsLifecycleDisables(t *testing.T) {
	obs := agentObserved()
	var all []*model.AgentIdentity
	for i := range 20 {
		created := lifecycleNow.AddDate(0, 0, -10)
		if i < 8 {
			created = lifecycleNow.AddDate(0, 0, -200)
		}
		all = append(all, &model.AgentIdentity{ID: fmt.Sprintf("00000000-0000-0000-0000-0000000a92%02d", i), DisplayName: fmt.Sprintf("Dev %02d", i),
			Blueprint: bpApp, Tags: &[]string{"environment:development"}, Enabled: ptr(true), Created: &created})
	}
	obs.AllAgentIdentities = all
	desired := &model.Tenant{Lifecycle: []*model.LifecycleRule{{Name: "r", Tags: []string{"environment:development"}, OlderThanDays: 90, Disable: true}}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{Now: func() time.Time { return lifecycleNow }})
	if len(p.Changes) != 8 {
		t.Fatalf("changes = %v", summary(p))
	}
	// 8 disables of 20 selected identities + 1 declared-read identity.
	if len(p.Blocks) != 1 || p.Blocks[0].Subject != "run" || !strings.Contains(p.Blocks[0].Summary, "8 updates and deletions (38%) exceed the limit of 30%") ||
		!strings.Contains(p.Blocks[0].Summary, "of 21 managed objects") {
		t.Fatalf("blocks = %+v", p.Blocks)
	}
	desired.Settings.ChangesPerRun = model.Limit{MaxPercent: ptr(50)}
	if p := Compute(desired, obs, Options{Now: func() time.Time { return lifecycleNow }}); len(p.Blocks) != 0 {
		t.Errorf("a 50%% run limit still blocks: %+v", p.Blocks)
	}
}
