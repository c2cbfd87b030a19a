package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/planner"
)

// Both entitlement-management examples: plan, apply, plan again is clean,
// and a second apply sends no writes.
func TestEMExamplesConverge(t *testing.T) {
	for _, ex := range []string{"access-package-tutorial", "csv-per-team"} {
		t.Run(ex, func(t *testing.T) {
			sim, url := startSim(t, graphsim.DemoFixture())
			spec := filepath.Join("..", "..", "examples", ex)
			if r := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); r.code != exitChanges {
				t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 {
				t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); r.code != 0 {
				t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			sim.ResetLog()
			if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 {
				t.Fatalf("second apply: exit %d\n%s", r.code, r.stderr)
			}
			if n := writes(sim.Log()); n != 0 {
				t.Errorf("second apply sent %d writes", n)
			}
		})
	}
}

// emTenant writes a spec with one package whose assignments come from a
// CSV of the given addresses, and returns its directory.
func emSpec(t *testing.T, dir string, emails []string, extra string) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("Email;Team\n")
	for _, e := range emails {
		fmt.Fprintf(&csv, "%s;A\n", e)
	}
	os.WriteFile(filepath.Join(dir, "team.csv"), []byte(csv.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
catalogs:
  - displayName: Teams
    resources: {groups: [Team resources]}
accessPackages:
  - displayName: Team
    catalog: Teams
    roles: [{group: Team resources}]
    policies:
      - {displayName: Admin, who: notSpecified, expiration: never}
    assignments:
      policy: Admin
      mode: authoritative
      csv: {path: team.csv, column: Email}
      invite: {redirectUrl: "https://myapps.microsoft.com"}
`+extra), 0o644)
}

// A CSV of 500 addresses, 20 of them unknown: 20 invitations and 500
// assignments; all 500 delivered; removing 10 rows removes exactly 10.
func TestEMCSVOf500WithInvitations(t *testing.T) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var emails []string
	for i := range 500 {
		e := fmt.Sprintf("user%03d@contoso.com", i)
		if i >= 480 {
			e = fmt.Sprintf("guest%03d@fabrikam.com", i)
		} else {
			fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: e, Mail: e})
		}
		emails = append(emails, e)
	}
	var late []string // assigned by the second part of the test
	for i := range 10 {
		e := fmt.Sprintf("late%02d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: e, Mail: e})
		late = append(late, e)
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Team resources", MailNickname: "teamres"}}
	// The simulator's clock runs behind: deliveries look older than
	// planner.RepairGrace, so a missing membership is a failed delivery,
	// not replication.
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 7, Now: func() time.Time { return time.Now().Add(-2 * planner.RepairGrace) }})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	dir := t.TempDir()
	emSpec(t, dir, emails, "")

	r := entrasync(t, url, "plan", "-f", dir, "--stats")
	if !strings.Contains(r.stdout, "will change: 500 to add, 0 to remove (20 guests to invite)") {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--stats")
	logStats(t, r.stderr)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	// All 500 delivered: the next plan has nothing to add or repair.
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
	delivered := 0
	for _, p := range snapshot(t, sim).fx.AccessPackages {
		for _, a := range p.Assignments {
			if a.State == "" || a.State == "delivered" {
				delivered++
			}
		}
	}
	if delivered != 500 {
		t.Errorf("%d assignments delivered, want 500", delivered)
	}
	emSpec(t, dir, emails[10:], "")
	r = entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, "will change: 0 to add, 10 to remove") {
		t.Fatalf("plan after removing 10 rows:\n%s", r.stdout)
	}
}

// deliverySim is a tenant of 40 users (and the extra ones named), with the
// group "Team resources", whose clock runs behind: deliveries look older
// than planner.RepairGrace, so a missing membership is a failed delivery,
// not replication. It returns the 40 users' addresses.
func deliverySim(t *testing.T, extra []string) (*graphsim.Sim, string, []string) {
	t.Helper()
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var emails []string
	for i := range 40 {
		emails = append(emails, fmt.Sprintf("user%02d@contoso.com", i))
	}
	for _, e := range append(slices.Clone(emails), extra...) {
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: e, Mail: e})
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Team resources", MailNickname: "teamres"}}
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 7, Now: func() time.Time { return time.Now().Add(-2 * planner.RepairGrace) }})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return sim, url, emails
}

// With the missing-membership fault on for 25 deliveries, the plan shows 25
// repairs; apply reprocesses them; the next plan is empty.
func TestEMDeliveryRepair(t *testing.T) {
	var late []string // assigned by the second part of the test
	for i := range 10 {
		late = append(late, fmt.Sprintf("late%02d@contoso.com", i))
	}
	sim, url, emails := deliverySim(t, late)
	dir := t.TempDir()
	emSpec(t, dir, emails, "")
	sim.SetFaults(graphsim.Faults{MissingMembershipCount: 25})
	// Without verification the apply stops at "delivered", and the next
	// plan finds the memberships missing.
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--verify=false"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	sim.SetFaults(graphsim.Faults{})
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, "assignments: 0 to add, 0 to remove, 25 to repair") {
		t.Fatalf("plan:\n%s", r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("repair apply: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after repair: exit %d\n%s", r.code, r.stdout)
	}

	// With verification (the default), one apply sees the failed
	// deliveries in its fresh read and repairs them itself.
	emails = append(emails, late...)
	emSpec(t, dir, emails, "")
	sim.SetFaults(graphsim.Faults{MissingMembershipCount: 10})
	sim.ResetLog()
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply with verification: exit %d\n%s", r.code, r.stderr)
	}
	reprocessed := 0
	for _, e := range sim.Log() {
		if strings.HasSuffix(e.Path, "/reprocess") {
			reprocessed++
		}
	}
	if reprocessed != 10 {
		t.Errorf("apply reprocessed %d assignments, want the 10 whose delivery failed\n%s", reprocessed, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the verified apply: exit %d\n%s", r.code, r.stdout)
	}
}

// A package with three policies, approval stages and an access review
// round-trips: no false
// drift from ordering, defaults, nulls or server-set fields.
func TestEMPoliciesRoundTrip(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
catalogs:
  - {displayName: Policies, description: three policies, state: published, isExternallyVisible: false}
accessPackages:
  - displayName: Three
    catalog: Policies
    isHidden: true
    policies:
      - displayName: Requests with two stages
        who: specificDirectoryUsers
        allowedTargets: [{group: Marketing leads}, {user: alice@contoso.com}]
        expiration: 90d
        selfService: {add: true, update: true, remove: true}
        onBehalf: {requestors: [manager], add: true, remove: true}
        approval:
          justification: true
          stages:
            - {approvers: [manager], fallbackApprovers: [{user: bob@contoso.com}], timeout: 7d, justification: true}
            - {approvers: [{group: Finance}], timeout: 14d}
        review:
          every: 3 months
          starting: "2027-01-04"
          duration: 14d
          reviewers: [{group: Marketing leads}]
          onNoResponse: removeAccess
          justification: true
        questions:
          - {text: "Why do you need access?", required: true, multiline: true}
          - {text: "Which region?", choices: [EMEA, Americas, APAC]}
      - displayName: Admin only
        who: notSpecified
        expiration: never
      - displayName: Sales automatically
        autoAssign: (user.department -eq "Sales")
        expiration: 365d
`), 0o644)
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("false drift after apply: exit %d\n%s", r.code, r.stdout)
	}
	// The review is compared, not dropped: changing it plans exactly it.
	b, _ := os.ReadFile(filepath.Join(dir, "spec.yaml"))
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(strings.Replace(string(b), "onNoResponse: removeAccess", "onNoResponse: keepAccess", 1)), 0o644)
	r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, `~ review.onNoResponse = "removeAccess" -> "keepAccess"`) || !strings.Contains(r.stdout, "Plan: 0 to create, 1 to update, 0 to delete.") {
		t.Fatalf("changed review: exit %d\n%s", r.code, r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply of the review change: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after the PUT: exit %d\n%s", r.code, r.stdout)
	}
	// So are the questions (read with $expand=questions).
	b, _ = os.ReadFile(filepath.Join(dir, "spec.yaml"))
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(strings.Replace(string(b), "[EMEA, Americas, APAC]", "[EMEA, Americas]", 1)), 0o644)
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != exitChanges || !strings.Contains(r.stdout, "~ questions") {
		t.Fatalf("changed question: exit %d\n%s", r.code, r.stdout)
	}
}

// Deleting a package with live assignments removes them first and succeeds
// in one apply, though Graph processes removals asynchronously.
func TestEMDeletePackageWithAssignments(t *testing.T) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"},
		Users:  []graphsim.User{{UserPrincipalName: "a@contoso.com", Mail: "a@contoso.com"}, {UserPrincipalName: "b@contoso.com", Mail: "b@contoso.com"}},
		Groups: []graphsim.Group{{DisplayName: "Team resources", MailNickname: "teamres"}}}
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	emSpec(t, dir, []string{"a@contoso.com", "b@contoso.com"}, "")
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	sim.SetFaults(graphsim.Faults{DeliveryDelay: 400_000_000}) // removals take 0.4 s
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte("tenant: contoso.onmicrosoft.com\naccessPackages:\n  - {displayName: Team, catalog: Teams, absent: true}\n"), 0o644)
	r := entrasync(t, url, "plan", "-f", dir)
	order := []string{`access_package["Teams"/"Team"].assignments`, `assignment_policy["Teams"/"Team"/"Admin"] will be deleted`, `access_package["Teams"/"Team"] will be deleted`}
	last := -1
	for _, s := range order {
		i := strings.Index(r.stdout, s)
		if i < last {
			t.Fatalf("%q out of order:\n%s", s, r.stdout)
		}
		last = i
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after delete: exit %d\n%s", r.code, r.stdout)
	}
}

// Under lost answers, throttling, server errors and lag, the examples still
// converge without duplicate catalogs, packages or policies: creates Graph
// cannot upsert are looked up, never sent twice.
func TestEMConvergesUnderFaults(t *testing.T) {
	t.Parallel() // it mostly waits: its runs are processes (entrasyncApart)
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: seed})
			url, stop, err := sim.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			spec := filepath.Join("..", "..", "examples", "csv-per-team")
			sim.SetFaults(graphsim.Faults{StormRate: 0.1, StormRetryAfter: 20_000_000, ServerErrorRate: 0.05, ServerErrorRetryAfter: 10_000_000,
				DropResponseRate: 0.15, ReplicationLag: 200_000_000, DeliveryDelay: 100_000_000})
			sim.DropNext("POST", "/identityGovernance/entitlementManagement/catalogs", 1)
			sim.DropNext("POST", "/identityGovernance/entitlementManagement/accessPackages", 1)
			converged := false
			for attempt := 1; attempt <= 4 && !converged; attempt++ {
				r := entrasyncApart(t, url, "apply", "-f", spec, "--auto-approve", "--consistency-timeout", "10s")
				t.Logf("apply %d: exit %d %s", attempt, r.code, lastLine(r.stderr))
				for _, l := range strings.Split(r.stdout, "\n") {
					if strings.HasPrefix(l, "Failed:") || strings.HasPrefix(l, "  ") && strings.Contains(l, "graph:") {
						t.Log(l)
					}
				}
				converged = entrasyncApart(t, url, "plan", "-f", spec, "--detailed-exitcode").code == 0
			}
			if !converged {
				t.Fatal("did not converge in 4 applies")
			}
			dropped := 0
			for _, e := range sim.Log() {
				if e.Dropped {
					dropped++
				}
			}
			fx := snapshot(t, sim).fx
			names := map[string]int{}
			for _, c := range fx.Catalogs {
				names["catalog "+c.DisplayName]++
			}
			for _, p := range fx.AccessPackages {
				names["package "+p.DisplayName]++
				if len(p.AssignmentPolicies) != 1 {
					t.Errorf("package %s has %d policies, want 1", p.DisplayName, len(p.AssignmentPolicies))
				}
			}
			for _, n := range []string{"catalog Teams", "package Team A", "package Team B"} {
				if names[n] != 1 {
					t.Errorf("%d × %s, want exactly 1", names[n], n)
				}
			}
			if dropped < 2 {
				t.Fatalf("only %d dropped answers: the test proves nothing", dropped)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Incompatible packages and groups are an authoritative set of the package.
func TestEMIncompatible(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	spec := func(groups string) {
		os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
catalogs:
  - displayName: Separation
accessPackages:
  - displayName: Payments
    catalog: Separation
    incompatibleWith:
      accessPackages: [Approvals]
      groups: [`+groups+`]
  - displayName: Approvals
    catalog: Separation
`), 0o644)
	}
	spec("Finance, Old project")
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `will change: 3 to add, 0 to remove`) || !strings.Contains(r.stdout, `+ access package "Approvals" (created by this plan)`) {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
	spec("Finance")
	r = entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, `- group "Old project"`) || !strings.Contains(r.stdout, "1 to remove") {
		t.Fatalf("after dropping a group: exit %d\n%s", r.code, r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stdout)
	}
}

// Applications are catalog resources, and their app roles package roles,
// named by the application's name and the role's value.
func TestEMApplicationRoles(t *testing.T) {
	fx := graphsim.DemoFixture()
	fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{
		ID: "5f0e6f0e-1111-4222-8333-944444444444", AppID: "9a9a9a9a-1111-4222-8333-944444444444", DisplayName: "Payroll",
		AppRoles: []graphsim.AppRole{
			{ID: "aaaaaaaa-1111-4222-8333-944444444444", Value: "Approver", DisplayName: "Approver", AllowedMemberTypes: []string{"User"}},
			{ID: "bbbbbbbb-1111-4222-8333-944444444444", Value: "Viewer", DisplayName: "Viewer", AllowedMemberTypes: []string{"User"}},
		}})
	_, url := startSim(t, fx)
	dir := t.TempDir()
	spec := func(role string) {
		os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
catalogs:
  - displayName: Apps
    resources: {applications: [Payroll], groups: [Finance], sharePointSites: ["https://contoso.sharepoint.com/sites/payroll"]}
accessPackages:
  - displayName: Payroll approvers
    catalog: Apps
    roles:
      - {application: Payroll, role: `+role+`}
      - {group: Finance}
`), 0o644)
	}
	spec("Aprover")
	r := entrasync(t, url, "plan", "-f", dir)
	if r.code != exitError || !strings.Contains(r.stderr, `application "Payroll" has no app role "Aprover"; did you mean "Approver"?`) {
		t.Fatalf("misspelt role: exit %d\n%s", r.code, r.stdout)
	}
	spec("Approver")
	r = entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `+ application "Payroll"`) || !strings.Contains(r.stdout, `+ Approver of application "Payroll"`) ||
		!strings.Contains(r.stdout, `+ SharePoint site https://contoso.sharepoint.com/sites/payroll`) {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
	spec("Viewer")
	r = entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, `+ Viewer of application "Payroll"`) || !strings.Contains(r.stdout, `- Approver of application "Payroll"`) {
		t.Fatalf("role swap: exit %d\n%s", r.code, r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply swap: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after swap: exit %d\n%s", r.code, r.stdout)
	}
}

// A catalog create answered 504 that Graph did not commit is looked for
// for the settle window, then sent again, and the same apply converges: one
// apply, exit 0, one catalog. The create answered and lost after it
// committed is found by the look-up and never sent again.
func TestEMAmbiguousCreateIsResentAfterTheSettleWindow(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "csv-per-team")
	catalogs := "/identityGovernance/entitlementManagement/catalogs"
	count := func(sim *graphsim.Sim) (posts int, names int) {
		for _, e := range sim.Log() {
			if e.Method == "POST" && e.Path == "/v1.0"+catalogs {
				posts++
			}
		}
		for _, c := range snapshot(t, sim).fx.Catalogs {
			if c.DisplayName == "Teams" {
				names++
			}
		}
		return posts, names
	}
	t.Run("not committed", func(t *testing.T) {
		sim, url := startSim(t, graphsim.DemoFixture())
		sim.FailNext("POST", catalogs, 504, 1)
		r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--consistency-timeout", "4s")
		if r.code != 0 || !strings.Contains(r.stderr, "created again") {
			t.Fatalf("apply: exit %d, want 0 with the catalog created again\n%s%s", r.code, r.stdout, r.stderr)
		}
		if posts, n := count(sim); posts != 2 || n != 1 {
			t.Errorf("%d catalog creates, %d catalogs named Teams; want 2 and 1", posts, n)
		}
		if p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); p.code != 0 {
			t.Errorf("plan after apply: exit %d\n%s", p.code, p.stdout)
		}
	})
	t.Run("committed, answer lost", func(t *testing.T) {
		sim, url := startSim(t, graphsim.DemoFixture())
		sim.SetFaults(graphsim.Faults{ReplicationLag: 500 * time.Millisecond})
		sim.DropNext("POST", catalogs, 1)
		r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--consistency-timeout", "4s")
		if r.code != 0 || strings.Contains(r.stderr, "created again") {
			t.Fatalf("apply: exit %d, want 0 without a second create\n%s%s", r.code, r.stdout, r.stderr)
		}
		if posts, n := count(sim); posts != 1 || n != 1 {
			t.Errorf("%d catalog creates, %d catalogs named Teams; want 1 and 1", posts, n)
		}
	})
}

// When the package's role group is one the spec manages too, its members
// are read once, with the group, and the delivery check uses that read:
// the 25 failed deliveries are still found.
func TestEMDeliveryRepairOfAManagedGroup(t *testing.T) {
	sim, url, emails := deliverySim(t, nil)
	dir := t.TempDir()
	emSpec(t, dir, emails, "groups:\n  - displayName: Team resources\n    members:\n      mode: additive\n      users: [user00@contoso.com]\n")
	sim.SetFaults(graphsim.Faults{MissingMembershipCount: 25})
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--verify=false"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	sim.SetFaults(graphsim.Faults{})
	sim.ResetLog()
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, "assignments: 0 to add, 0 to remove, ") || !strings.Contains(r.stdout, " to repair") {
		t.Fatalf("plan:\n%s", r.stdout)
	}
	reads := 0
	for _, e := range sim.Log() {
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/members") {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("the plan read the group's members %d times, want once", reads)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("repair apply: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after repair: exit %d\n%s", r.code, r.stdout)
	}
}
