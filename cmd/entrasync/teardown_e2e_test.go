package main

// The whole teardown of each example, end to end: apply the example to a
// fresh simulator, then a spec that marks each of its objects absent, and
// read from the simulator's request log that the removals reached Graph in
// the order of Microsoft's entitlement-management tutorial (seeds/004,
// step 5): assignments → policies → package → (catalog resources) →
// catalog → the groups that served it; for Agent ID, agent users → agent
// identities → blueprint.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

// graphOrderRule says that every request made for a change whose address
// matches earlier reached Graph before any request made for a change whose
// address matches later (patterns are --target globs).
type graphOrderRule struct {
	earlier, later string
	// ifPlanned allows the earlier side to match no change.
	ifPlanned bool
}

// removalRequests attributes the teardown's write requests in log to the
// plan's changes: a DELETE by the object id in its path, an adminRemove by
// the assignment (or catalog resource) id in its body. It returns, per
// change address, the log positions of its requests, and what it could not
// attribute (a write the plan did not ask for) or what failed.
func removalRequests(p *planner.Plan, log []graphsim.LogEntry) (map[string][]int, []string) {
	byID := map[string]string{}
	for _, c := range p.Changes {
		if c.Action == planner.Delete && c.ObjectID != "" {
			byID[strings.ToLower(c.ObjectID)] = c.Address
		}
		if c.Members != nil {
			for _, m := range c.Members.Remove {
				if m.Assignment != "" {
					byID[strings.ToLower(m.Assignment)] = c.Address
				}
			}
		}
		if c.Roles != nil {
			for _, r := range c.Roles.Remove {
				if r.ID != "" {
					byID[strings.ToLower(r.ID)] = c.Address
				}
			}
		}
	}
	at := map[string][]int{}
	var problems []string
	for i, e := range withoutLease(log) {
		if !e.Write || (!e.InBatch && strings.HasSuffix(e.Path, "/$batch")) {
			continue // reads, and $batch envelopes (their sub-requests are logged one by one)
		}
		addr := ""
		switch {
		case e.Method == "DELETE":
			for _, seg := range strings.Split(e.Path, "/") {
				if a, ok := byID[strings.ToLower(seg)]; ok {
					addr = a
				}
			}
		case e.Method == "POST" && strings.Contains(string(e.Body), `"adminRemove"`):
			body := strings.ToLower(string(e.Body))
			for id, a := range byID {
				if strings.Contains(body, id) {
					addr = a
				}
			}
		}
		if addr == "" {
			problems = append(problems, "the teardown sent a write the plan does not explain: "+e.Method+" "+e.Path+" "+string(e.Body))
			continue
		}
		if e.Status >= 300 {
			problems = append(problems, fmt.Sprintf("%s: %s %s answered %d", addr, e.Method, e.Path, e.Status))
		}
		at[addr] = append(at[addr], i)
	}
	return at, problems
}

// checkGraphOrder checks the rules against the requests' log positions.
func checkGraphOrder(at map[string][]int, rules []graphOrderRule) []string {
	matching := func(pattern string) []string {
		var out []string
		for a := range at {
			if model.GlobMatch(pattern, a) {
				out = append(out, a)
			}
		}
		slices.Sort(out)
		return out
	}
	var problems []string
	for _, r := range rules {
		earlier, later := matching(r.earlier), matching(r.later)
		if len(later) == 0 || (len(earlier) == 0 && !r.ifPlanned) {
			problems = append(problems, "rule "+r.earlier+" before "+r.later+" names no request")
			continue
		}
		for _, e := range earlier {
			for _, l := range later {
				if last, first := slices.Max(at[e]), slices.Min(at[l]); last > first {
					problems = append(problems, fmt.Sprintf("Graph order: %s (request %d) must reach Graph before %s (request %d)", e, last+1, l, first+1))
				}
			}
		}
	}
	return problems
}

func TestTeardownOfEachExampleReachesGraphInTutorialOrder(t *testing.T) {
	emRules := func(cat, pkg, group string) []graphOrderRule {
		policies := strings.TrimSuffix(strings.Replace(pkg, "access_package[", "assignment_policy[", 1), "]") + `/*]`
		return []graphOrderRule{
			{earlier: pkg + ".assignments", later: policies},
			{earlier: policies, later: pkg},
			{earlier: pkg, later: model.CatalogAddress(cat)},
			{earlier: model.CatalogAddress(cat) + ".resources", later: model.CatalogAddress(cat), ifPlanned: true},
			{earlier: model.CatalogAddress(cat), later: model.GroupAddress(group)},
		}
	}
	for _, tc := range []struct {
		example string
		approve string // what applying the example needs
		// teardown marks every object of the example absent.
		teardown string
		rules    []graphOrderRule
		// gone checks the simulator's state after the teardown.
		gone func(t *testing.T, s tenantSnapshot)
	}{
		{
			example: "quickstart", approve: "ES101,ES301",
			teardown: `groups:
  - {displayName: Marketing resources, absent: true}
  - {displayName: Sec group 1, absent: true}
  - {displayName: Finance, absent: true}
  - {displayName: Old project, absent: true}
`,
			gone: func(t *testing.T, s tenantSnapshot) {
				for _, g := range []string{"Marketing resources", "Sec group 1", "Finance", "Old project"} {
					if n := s.count(g); n != 0 {
						t.Errorf("group %q: %d left", g, n)
					}
				}
				if s.count("Marketing leads") != 1 {
					t.Errorf("the nested member group Marketing leads is gone too")
				}
			},
		},
		{
			example: "access-package-tutorial",
			teardown: `groups:
  - {displayName: Marketing resources, absent: true}
catalogs:
  - {displayName: Campaigns, absent: true}
accessPackages:
  - {displayName: Marketing Campaign, catalog: Campaigns, absent: true}
`,
			rules: emRules("Campaigns", `access_package["Campaigns"/"Marketing Campaign"]`, "Marketing resources"),
			gone:  emGone([]string{"Marketing resources"}, "Campaigns", []string{"Marketing Campaign"}),
		},
		{
			example: "csv-per-team",
			teardown: `groups:
  - {displayName: Team A resources, absent: true}
  - {displayName: Team B resources, absent: true}
catalogs:
  - {displayName: Teams, absent: true}
accessPackages:
  - {displayName: Team A, catalog: Teams, absent: true}
  - {displayName: Team B, catalog: Teams, absent: true}
`,
			rules: append(emRules("Teams", `access_package["Teams"/"Team A"]`, "Team A resources"),
				emRules("Teams", `access_package["Teams"/"Team B"]`, "Team B resources")...),
			gone: emGone([]string{"Team A resources", "Team B resources"}, "Teams", []string{"Team A", "Team B"}),
		},
		{
			// The permissions entry is left out: it has no absent:, and an
			// authoritative entry listing nothing revokes the grants but then
			// names a principal the same apply deletes, so apply's
			// verification plan errors (unknown service principal) and the
			// apply exits 1. The grants go with their agent identity.
			example: "agents",
			teardown: `groups:
  - {displayName: Helpdesk queue readers, absent: true}
catalogs:
  - {displayName: Agent access, absent: true}
accessPackages:
  - {displayName: Helpdesk queue for agents, catalog: Agent access, absent: true}
blueprints:
  - {displayName: Ticket triage agent, absent: true}
agentIdentities:
  - {displayName: Ticket triage EMEA, blueprint: Ticket triage agent, absent: true}
  - {displayName: Ticket triage test, blueprint: Ticket triage agent, absent: true}
agentUsers:
  - {userPrincipalName: triage-emea@contoso.com, displayName: Ticket triage EMEA (user), identity: Ticket triage EMEA, blueprint: Ticket triage agent, absent: true}
`,
			rules: append(emRules("Agent access", `access_package["Agent access"/"Helpdesk queue for agents"]`, "Helpdesk queue readers"),
				graphOrderRule{earlier: `access_package["Agent access"/"Helpdesk queue for agents"].assignments`, later: `agent_identity["Ticket triage agent"/"Ticket triage EMEA"]`},
				graphOrderRule{earlier: `agent_user["triage-emea@contoso.com"]`, later: `agent_identity["Ticket triage agent"/"Ticket triage EMEA"]`},
				graphOrderRule{earlier: `agent_identity["Ticket triage agent"/*]`, later: `blueprint["Ticket triage agent"]`},
			),
			// Graph soft-deletes blueprints and agent identities: Save
			// keeps them, with deletedDateTime.
			gone: func(t *testing.T, s tenantSnapshot) {
				emGone([]string{"Helpdesk queue readers"}, "Agent access", []string{"Helpdesk queue for agents"})(t, s)
				for _, b := range s.fx.Blueprints {
					if b.DisplayName == "Ticket triage agent" && b.DeletedDateTime == nil {
						t.Errorf("blueprint %q is left", b.DisplayName)
					}
				}
				deleted := map[string]bool{}
				for _, sp := range s.fx.ServicePrincipals {
					if !strings.HasPrefix(sp.DisplayName, "Ticket triage") {
						continue
					}
					if sp.DeletedDateTime == nil {
						t.Errorf("service principal %q (%s) is left", sp.DisplayName, sp.ODataType)
					}
					deleted[sp.ID] = true
				}
				if len(deleted) != 3 { // the blueprint's principal and two agent identities
					t.Errorf("%d deleted service principals of the example, want 3", len(deleted))
				}
				for _, u := range s.fx.Users {
					if strings.EqualFold(u.UserPrincipalName, "triage-emea@contoso.com") {
						t.Errorf("agent user %s is left", u.UserPrincipalName)
					}
				}
				for _, a := range s.fx.AppRoleAssignments {
					if deleted[a.PrincipalID] {
						t.Errorf("app role assignment %s of deleted principal %s is left", a.ID, a.PrincipalID)
					}
				}
			},
		},
		{
			// The catalog's custom extensions go with the catalog.
			example: "custom-extensions",
			teardown: `groups:
  - {displayName: Payroll data readers, absent: true}
catalogs:
  - {displayName: Finance, absent: true}
accessPackages:
  - {displayName: Payroll data, catalog: Finance, absent: true}
`,
			rules: emRules("Finance", `access_package["Finance"/"Payroll data"]`, "Payroll data readers"),
			gone:  emGone([]string{"Payroll data readers"}, "Finance", []string{"Payroll data"}),
		},
	} {
		t.Run(tc.example, func(t *testing.T) {
			sim, url := startSim(t, graphsim.DemoFixture())
			example := filepath.Join("..", "..", "examples", tc.example)
			args := []string{"apply", "-f", example, "--auto-approve"}
			if tc.approve != "" {
				args = append(args, "--approve", tc.approve)
			}
			if r := entrasync(t, url, args...); r.code != 0 {
				t.Fatalf("apply the example: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := entrasync(t, url, "plan", "-f", example, "--detailed-exitcode"); r.code != 0 {
				t.Fatalf("plan the example after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}

			dir := t.TempDir()
			writeSpec(t, dir, tc.teardown)
			planFile := filepath.Join(t.TempDir(), "teardown.json")
			if r := entrasync(t, url, "plan", "-f", dir, "-o", planFile); r.code != 0 {
				t.Fatalf("plan the teardown: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			b, err := os.ReadFile(planFile)
			if err != nil {
				t.Fatal(err)
			}
			p, err := planner.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, c := range p.Changes {
				order = append(order, c.Action.String()+" "+c.Address)
			}
			t.Logf("teardown plan:\n  %s", strings.Join(order, "\n  "))

			sim.ResetLog()
			r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101")
			if r.code != 0 {
				t.Fatalf("apply the teardown: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			log := sim.Log()
			at, problems := removalRequests(p, log)
			var sent []string
			for i, e := range withoutLease(log) {
				if e.Write && (e.InBatch || !strings.HasSuffix(e.Path, "/$batch")) {
					sent = append(sent, fmt.Sprintf("%d. %s %s (%d)", i+1, e.Method, e.Path, e.Status))
				}
			}
			t.Logf("removals as Graph received them:\n  %s", strings.Join(sent, "\n  "))
			for _, problem := range problems {
				t.Error(problem)
			}
			for _, c := range p.Changes {
				if len(at[c.Address]) == 0 {
					t.Errorf("%s %s sent no request", c.Action, c.Address)
				}
				if c.Members != nil && len(at[c.Address]) != len(c.Members.Remove) {
					t.Errorf("%s: %d requests for %d removals", c.Address, len(at[c.Address]), len(c.Members.Remove))
				}
			}
			for _, problem := range checkGraphOrder(at, tc.rules) {
				t.Error(problem)
			}

			r = entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
			if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
				t.Errorf("plan after the teardown: exit %d, want 0 and No changes\n%s%s", r.code, r.stdout, r.stderr)
			}
			tc.gone(t, snapshot(t, sim))
		})
	}
}

// emGone checks that the groups, the catalog and its packages are gone,
// with the packages' policies and assignments.
func emGone(groups []string, catalog string, packages []string) func(t *testing.T, s tenantSnapshot) {
	return func(t *testing.T, s tenantSnapshot) {
		t.Helper()
		for _, g := range groups {
			if n := s.count(g); n != 0 {
				t.Errorf("group %q: %d left", g, n)
			}
		}
		for _, c := range s.fx.Catalogs {
			if c.DisplayName == catalog {
				t.Errorf("catalog %q is left", catalog)
			}
		}
		for _, p := range s.fx.AccessPackages {
			if slices.Contains(packages, p.DisplayName) {
				t.Errorf("access package %q is left", p.DisplayName)
			}
		}
	}
}
