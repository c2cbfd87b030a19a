package planner

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

const spPayroll = "00000000-0000-0000-0000-0000000000e1"

var ownersPos = model.Pos{File: "spec.yaml", Line: 5, Col: 5}

// ownersTenant is observedTenant with a service principal "Payroll sync"
// and Finance owned by the given principals.
func ownersTenant(owners ...model.Ref) *model.Tenant {
	t := observedTenant()
	t.Principals = append(t.Principals, model.Principal{ID: spPayroll, Kind: model.ServicePrincipal, DisplayName: "Payroll sync"})
	for _, g := range t.Groups {
		if g.ID == gFin {
			g.Owners = &model.MemberSet{Mode: model.Authoritative, Members: owners}
		}
	}
	model.Normalize(t)
	return t
}

func sp(id string) model.Ref { return model.Ref{Kind: model.ServicePrincipal, Value: id} }

// planOwners plans Finance with the given owner set against ownersTenant.
func planOwners(t *testing.T, set *model.MemberSet, live ...model.Ref) *Plan {
	t.Helper()
	set.Pos = ownersPos
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{{DisplayName: "Finance", Owners: set, Pos: model.Pos{File: "spec.yaml", Line: 3, Col: 5}}}}
	model.Normalize(desired)
	return Compute(desired, ownersTenant(live...), Options{})
}

func ownerChange(t *testing.T, p *Plan) *Change {
	t.Helper()
	for i := range p.Changes {
		if p.Changes[i].Kind == KindGroupOwners {
			return &p.Changes[i]
		}
	}
	t.Fatalf("no owners change: %v %v", summary(p), p.Diagnostics)
	return nil
}

// Additive owners only add: users by UPN, service principals by display
// name; the change renders like a member set and carries no risk.
func TestGroupOwnersAdditive(t *testing.T) {
	p := planOwners(t, &model.MemberSet{Members: append(users("bob@contoso.com"), model.Ref{Kind: model.ServicePrincipal, Value: "payroll SYNC"})}, ids(alice)...)
	if p.Errored {
		t.Fatal(p.Diagnostics)
	}
	if diff := cmp.Diff([]string{`update group["Finance"].owners +bob@contoso.com +Payroll sync`}, summary(p)); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	c := ownerChange(t, p)
	if c.ObjectID != gFin || c.Members.Live != 1 || c.Members.Mode != model.Additive || len(c.Risks) != 0 || phaseOf(c) != phaseMembers {
		t.Errorf("change = %+v", c)
	}
	var b bytes.Buffer
	if err := RenderText(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`# group["Finance"].owners will change: 2 to add, 0 to remove`,
		`~ owners of group "Finance" (additive) {`,
		`+ bob@contoso.com`,
		`+ servicePrincipal "Payroll sync"`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text view lacks %q:\n%s", want, b.String())
		}
	}
	// Nothing to add: no change.
	if p := planOwners(t, &model.MemberSet{Members: users("alice@contoso.com")}, ids(alice)...); p.HasChanges() {
		t.Errorf("owner already there: %v", summary(p))
	}
}

// An authoritative set removes the owners it does not list: ES103, gated
// by default, as sponsor removals are.
func TestGroupOwnersRemovalIsGated(t *testing.T) {
	p := planOwners(t, &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}, ids(alice, bob)...)
	c := ownerChange(t, p)
	if len(c.Members.Remove) != 1 || c.Members.Remove[0].ID != bob || !slices.Equal(c.Risks, []RiskCode{RiskOwnerRemoval}) {
		t.Fatalf("change = %+v", c)
	}
	if g := Gated(p, nil); g[c.Address] == "" {
		t.Errorf("owner removal not gated by default: %v", g)
	}
	if g := Gated(p, []RiskCode{RiskOwnerRemoval}); len(g) != 0 {
		t.Errorf("approved ES103 still gated: %v", g)
	}
	// A service principal owner goes too, while a user stays.
	p = planOwners(t, &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}, append(ids(alice), sp(spPayroll))...)
	if diff := cmp.Diff([]string{`update group["Finance"].owners -Payroll sync`}, summary(p)); diff != "" || p.Errored {
		t.Errorf("changes (-want +got):\n%s%v", diff, p.Diagnostics)
	}
}

// Removing a group's last owner is refused at plan time, at the owners
// block: no owner left, or no user owner left once a user is removed
// (Graph refuses that even while a service principal owns the group).
// Replacing the last owner is fine: the add is written first.
func TestGroupOwnersLastOwnerRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []model.Ref
		live []model.Ref
		err  string
	}{
		{"empty authoritative set", nil, ids(alice), `the plan would remove the last owner of group "Finance" (alice@contoso.com)`},
		{"no live owner: only an add", users("carol@contoso.com"), nil, ""},
		{"the last user, a service principal stays", []model.Ref{{Kind: model.ServicePrincipal, Value: "Payroll sync"}}, append(ids(alice), sp(spPayroll)),
			`the plan would remove the last user owner of group "Finance" (alice@contoso.com)`},
		{"the only service principal", nil, []model.Ref{sp(spPayroll)}, `the plan would remove the last owner of group "Finance" (Payroll sync)`},
		{"replaced", users("bob@contoso.com"), ids(alice), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planOwners(t, &model.MemberSet{Mode: model.Authoritative, Members: tc.want}, tc.live...)
			if tc.err == "" {
				if p.Errored {
					t.Fatalf("refused: %v", p.Diagnostics)
				}
				return
			}
			if !p.Errored || len(errorsOf(p)) != 1 || errorsOf(p)[0] != tc.err {
				t.Fatalf("errors = %q, want %q", errorsOf(p), tc.err)
			}
			if d := p.Diagnostics[0]; d.Pos != ownersPos || d.Address != `group["Finance"]` {
				t.Errorf("diagnostic at %s (%s), want the owners block %s", d.Pos, d.Address, ownersPos)
			}
			if slices.ContainsFunc(p.Changes, func(c Change) bool { return c.Kind == KindGroupOwners }) {
				t.Errorf("refused owner change still planned: %v", summary(p))
			}
		})
	}
}

// A group this plan creates gets its owners after the create.
func TestGroupOwnersOfANewGroup(t *testing.T) {
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{{DisplayName: "Payroll",
		Owners: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}}}}
	model.Normalize(desired)
	p := Compute(desired, ownersTenant(), Options{})
	if diff := cmp.Diff([]string{`create group["Payroll"] displayName mailNickname uniqueName`, `update group["Payroll"].owners +alice@contoso.com`}, summary(p)); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	if c := ownerChange(t, p); !slices.Equal(c.DependsOn, []string{`group["Payroll"]`}) || c.ObjectID != "" {
		t.Errorf("owners change = %+v", c)
	}
}

// Every safeguard that covers member sets covers owner sets: protected
// principals, removalsPerSet, --target, ignore rules, unknown references.
func TestGroupOwnersSafeguards(t *testing.T) {
	t.Run("protected principal", func(t *testing.T) {
		desired := &model.Tenant{Domain: "contoso.onmicrosoft.com",
			Settings: model.Settings{Protected: []model.Ref{{Kind: model.User, Value: "bob@contoso.com", Pos: model.Pos{File: "spec.yaml", Line: 2, Col: 16}}}},
			Groups:   []*model.Group{{DisplayName: "Finance", Owners: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}}}}
		model.Normalize(desired)
		p := Compute(desired, ownersTenant(ids(alice, bob)...), Options{})
		if errs := errorsOf(p); len(errs) != 1 || errs[0] != `the plan would remove protected principal bob@contoso.com from the owners of group "Finance"` {
			t.Fatalf("errors = %q", errs)
		}
	})
	t.Run("removalsPerSet", func(t *testing.T) {
		obs := ownersTenant()
		var live []model.Ref
		var keep []string
		for i := range 12 {
			id := fmt.Sprintf("00000000-0000-0000-0001-%012d", i)
			upn := fmt.Sprintf("owner%02d@contoso.com", i)
			obs.Principals = append(obs.Principals, model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn})
			live = append(live, model.Ref{Kind: model.User, Value: id})
			if i < 7 {
				keep = append(keep, upn)
			}
		}
		obs.Groups[0].Owners = &model.MemberSet{Members: live}
		model.Normalize(obs)
		desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "Finance", Owners: &model.MemberSet{Mode: model.Authoritative, Members: users(keep...)}}}}
		model.Normalize(desired)
		p := Compute(desired, obs, Options{})
		want := `group["Finance"].owners: 5 removals (41%) exceed the limit of 30% (maxPercent of settings.limits.removalsPerSet, for sets of at least 10) from a set of 12`
		if len(p.Blocks) != 1 || p.Blocks[0].Summary != want || p.Blocks[0].Subject != `group["Finance"].owners` {
			t.Fatalf("blocks = %+v", p.Blocks)
		}
	})
	t.Run("target", func(t *testing.T) {
		desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
			{DisplayName: "Finance", Description: ptr("Budget"), Owners: &model.MemberSet{Members: users("bob@contoso.com")}},
			{DisplayName: "Payroll", Owners: &model.MemberSet{Members: users("bob@contoso.com")}},
		}}
		model.Normalize(desired)
		for _, tc := range []struct {
			target string
			want   []string
		}{
			{`group["Finance"].owners`, []string{`update group["Finance"].owners +bob@contoso.com`}},
			{`group["Payroll"]`, []string{`create group["Payroll"] displayName mailNickname uniqueName`, `update group["Payroll"].owners +bob@contoso.com`}},
			{`group["Payroll"].owners`, []string{`create group["Payroll"] displayName mailNickname uniqueName`, `update group["Payroll"].owners +bob@contoso.com`}},
		} {
			p := Compute(desired, ownersTenant(ids(alice)...), Options{Targets: []string{tc.target}})
			if diff := cmp.Diff(tc.want, summary(p)); diff != "" {
				t.Errorf("--target %s (-want +got):\n%s", tc.target, diff)
			}
		}
	})
	t.Run("ignore rule", func(t *testing.T) {
		desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Settings: model.Settings{Ignore: []model.IgnoreRule{{Group: "fin*", Fields: []string{"owners"}}}},
			Groups: []*model.Group{{DisplayName: "Finance", Owners: &model.MemberSet{Mode: model.Authoritative, Members: users("bob@contoso.com")}}}}
		model.Normalize(desired)
		if p := Compute(desired, ownersTenant(ids(alice)...), Options{}); p.HasChanges() || p.Errored {
			t.Errorf("ignored owners planned: %v %v", summary(p), p.Diagnostics)
		}
	})
	t.Run("unknown references", func(t *testing.T) {
		p := planOwners(t, &model.MemberSet{Members: []model.Ref{{Kind: model.ServicePrincipal, Value: "Payrol sync", Pos: model.Pos{File: "spec.yaml", Line: 7, Col: 28}},
			{Kind: model.User, Value: "zed@contoso.com"}}})
		if errs := errorsOf(p); len(errs) != 2 || !strings.Contains(strings.Join(errs, "\n"), `unknown servicePrincipal "Payrol sync"`) {
			t.Fatalf("errors = %q", errs)
		}
	})
}

// A saved plan whose group's owners moved is refused, saying so in owners.
func TestGroupOwnersStale(t *testing.T) {
	saved := planOwners(t, &model.MemberSet{Members: users("bob@contoso.com")}, ids(alice)...)
	fresh := planOwners(t, &model.MemberSet{Members: users("bob@contoso.com")}, ids(alice, carol)...)
	if got := howChanged(&saved.Changes[0], &fresh.Changes[0]); got != "it had 1 owners, it has 2 now" {
		t.Errorf("howChanged = %q", got)
	}
	if saved.Changes[0].ObservedFingerprint == fresh.Changes[0].ObservedFingerprint {
		t.Error("the fingerprint does not cover the owners")
	}
}

// An agent identity is a service principal: named by display name or id
// under servicePrincipals:, it resolves although Graph types it
// #microsoft.graph.agentIdentity.
func TestGroupOwnersAgentIdentity(t *testing.T) {
	const agent = "00000000-0000-0000-0000-0000000000e2"
	obs := ownersTenant(ids(alice)...)
	obs.Principals = append(obs.Principals, model.Principal{ID: agent, Kind: "agentIdentity", DisplayName: "Triage agent"})
	model.Normalize(obs)
	for _, ref := range []string{"Triage agent", agent} {
		desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "Finance",
			Owners: &model.MemberSet{Members: []model.Ref{{Kind: model.ServicePrincipal, Value: ref}}}}}}
		model.Normalize(desired)
		p := Compute(desired, obs, Options{})
		if p.Errored || len(p.Changes) != 1 || p.Changes[0].Members.Add[0].ID != agent {
			t.Errorf("owner %q: %v %v", ref, summary(p), p.Diagnostics)
		}
	}
}
