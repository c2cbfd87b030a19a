package planner

import (
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

const (
	aiID   = "00000000-0000-0000-0000-0000000a1001" // agent identity "Triage"
	spID   = "00000000-0000-0000-0000-0000000a2001" // service principal "Reporting app"
	spApp  = "00000000-0000-0000-0000-0000000a2aaa" // its appId
	aiPos  = 7
	polPos = 3
)

// assigneeTenant is emObserved with an agent identity and an ordinary
// service principal in the directory.
func assigneeTenant() *model.Tenant {
	t := emObserved()
	t.Principals = append(t.Principals,
		model.Principal{ID: aiID, Kind: model.AgentIdentityKind, DisplayName: "Triage", AppID: aiID},
		model.Principal{ID: spID, Kind: model.ServicePrincipal, DisplayName: "Reporting app", AppID: spApp})
	model.Normalize(t)
	return t
}

// assigneePlan plans package Campaign with one policy of scope and one
// assignment target.
func assigneePlan(t *testing.T, scope string, target model.Ref, extra ...func(*model.Tenant)) *Plan {
	t.Helper()
	pol := direct()
	pol.Body["allowedTargetScope"] = scope
	pol.Pos = model.Pos{File: "spec.yaml", Line: polPos, Col: 9}
	target.Pos = model.Pos{File: "spec.yaml", Line: aiPos, Col: 24}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
		Policies:    &[]*model.Policy{pol},
		Assignments: &model.AssignmentSet{Policy: "Direct", Targets: []model.Ref{target}}}}}
	for _, f := range extra {
		f(desired)
	}
	model.Normalize(desired)
	return Compute(desired, assigneeTenant(), Options{})
}

// Each kind of target is planned under the scopes Graph lets hold it and
// refused at plan time, at the target's place and naming the policy's,
// under the others.
func TestAssignmentTargetsFollowTheirPolicyScope(t *testing.T) {
	user := model.Ref{Kind: model.User, Value: "carol@contoso.com"}
	agent := model.Ref{Kind: model.AgentIdentityKind, Value: "Triage"}
	agentAsSP := model.Ref{Kind: model.ServicePrincipal, Value: aiID}
	app := model.Ref{Kind: model.ServicePrincipal, Value: spApp} // by appId
	for _, tc := range []struct {
		scope  string
		target model.Ref
		ok     bool
	}{
		{"notSpecified", user, true},
		{"notSpecified", agent, true},
		{"notSpecified", app, true},
		{"allMemberUsers", user, true},
		{"allMemberUsers", agent, false},
		{"specificDirectoryUsers", app, false},
		{"allDirectoryAgentIdentities", agent, true},
		{"allDirectoryAgentIdentities", agentAsSP, true},
		{"allDirectoryAgentIdentities", user, false},
		{"allDirectoryAgentIdentities", app, false},
		{"allDirectoryServicePrincipals", app, true},
		{"allDirectoryServicePrincipals", agent, true},
		{"specificDirectoryServicePrincipals", user, false},
	} {
		p := assigneePlan(t, tc.scope, tc.target)
		if !tc.ok {
			if !p.Errored || len(p.Diagnostics) != 1 {
				t.Errorf("%s under %s: planned (%v), want refused; diagnostics %v", tc.target, tc.scope, summary(p), p.Diagnostics)
				continue
			}
			d := p.Diagnostics[0]
			if d.Pos.Line != aiPos || !strings.Contains(d.Summary, `under policy "Direct" (spec.yaml:3:9): its allowedTargetScope `+tc.scope+" admits only") {
				t.Errorf("%s under %s: %s: %s", tc.target, tc.scope, d.Pos, d.Summary)
			}
			continue
		}
		asg := assignmentChange(p)
		if p.Errored || asg == nil || len(asg.Members.Add) != 1 {
			t.Errorf("%s under %s: %v %v, want one assignment", tc.target, tc.scope, summary(p), p.Diagnostics)
			continue
		}
		m := asg.Members.Add[0]
		if want := map[model.Ref]string{user: carol, agent: aiID, agentAsSP: aiID, app: spID}[tc.target]; m.ID != want {
			t.Errorf("%s under %s: target id %s, want %s", tc.target, tc.scope, m.ID, want)
		}
	}
}

// agentIdentities: names agent identities only; a service principal listed
// there is an error that says where it belongs.
func TestAgentIdentitiesListRefusesOtherServicePrincipals(t *testing.T) {
	p := assigneePlan(t, "notSpecified", model.Ref{Kind: model.AgentIdentityKind, Value: "Reporting app"})
	if !p.Errored || len(p.Diagnostics) != 1 || !strings.Contains(p.Diagnostics[0].Summary, `"Reporting app" is a service principal, not an agent identity`) {
		t.Fatalf("diagnostics = %v", p.Diagnostics)
	}
	p = assigneePlan(t, "notSpecified", model.Ref{Kind: model.ServicePrincipal, Value: "No such app"})
	if !p.Errored || !strings.Contains(p.Diagnostics[0].Summary, `unknown service principal "No such app"`) {
		t.Fatalf("diagnostics = %v", p.Diagnostics)
	}
}

// An agent identity the spec declares and this plan creates is assigned
// after its create, through its address.
func TestAssignmentToDeclaredAgentWaitsForItsCreate(t *testing.T) {
	p := assigneePlan(t, "allDirectoryAgentIdentities", model.Ref{Kind: model.AgentIdentityKind, Value: "New helper"}, func(d *model.Tenant) {
		d.Blueprints = []*model.Blueprint{{DisplayName: "Helpers"}}
		d.AgentIdentities = []*model.AgentIdentity{{DisplayName: "New helper", Blueprint: "Helpers"}}
	})
	asg := assignmentChange(p)
	if asg == nil || len(asg.Members.Add) != 1 {
		t.Fatalf("no assignment change: %v %v", summary(p), p.Diagnostics)
	}
	addr := model.AgentIdentityAddress("Helpers", "New helper")
	if m := asg.Members.Add[0]; m.ID != "" || m.Address != addr || m.Kind != model.AgentIdentityKind {
		t.Errorf("target = %+v, want the create at %s", m, addr)
	}
	if !slices.Contains(asg.DependsOn, addr) {
		t.Errorf("dependsOn = %v, want %s (diagnostics %v)", asg.DependsOn, addr, p.Diagnostics)
	}
}

func assignmentChange(p *Plan) *Change {
	for i := range p.Changes {
		if p.Changes[i].Kind == KindAssignments {
			return &p.Changes[i]
		}
	}
	return nil
}

// An authoritative set removes an agent's assignment as it does a user's,
// and says what kind of target it was.
func TestAuthoritativeAssignmentsRemoveAgents(t *testing.T) {
	obs := assigneeTenant()
	obs.AccessPackages[0].Assignments.Live = append(obs.AccessPackages[0].Assignments.Live,
		model.Assignment{ID: "as-triage", TargetID: aiID, PolicyID: polID, State: "delivered"})
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
		Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct",
			Targets: []model.Ref{{Kind: model.User, Value: "alice@contoso.com"}, {Kind: model.User, Value: "bob@contoso.com"}}}}}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if p.Errored || len(p.Changes) != 1 {
		t.Fatalf("plan: %v %v", summary(p), p.Diagnostics)
	}
	rm := p.Changes[0].Members.Remove
	if len(rm) != 1 || rm[0].Assignment != "as-triage" || rm[0].Kind != model.AgentIdentityKind || rm[0].Label != "Triage" {
		t.Errorf("removals = %+v", rm)
	}
}

// A protected agent identity's assignment is not removed by an
// authoritative set, as a protected user's is not.
func TestProtectedAgentKeepsItsAssignment(t *testing.T) {
	obs := assigneeTenant()
	obs.AccessPackages[0].Assignments.Live = append(obs.AccessPackages[0].Assignments.Live,
		model.Assignment{ID: "as-triage", TargetID: aiID, PolicyID: polID, State: "delivered"})
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing",
		Assignments: &model.AssignmentSet{Mode: model.Authoritative, Policy: "Direct",
			Targets: []model.Ref{{Kind: model.User, Value: "alice@contoso.com"}, {Kind: model.User, Value: "bob@contoso.com"}}}}}}
	desired.Settings.Protected = []model.Ref{{Kind: model.ServicePrincipal, Value: aiID}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if !p.Errored || !strings.Contains(p.Diagnostics[0].Summary, "remove the assignment of protected principal Triage") {
		t.Fatalf("plan: %v %v", summary(p), p.Diagnostics)
	}
}
