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
)

const ownersPayrollSP = "0a1b2c3d-0000-4000-8000-00000000b001"

// ownersFixture is the demo tenant with a service principal "Payroll sync"
// and Finance owned by carol.
func ownersFixture() *graphsim.Fixture {
	fx := graphsim.DemoFixture()
	fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{ID: ownersPayrollSP, DisplayName: "Payroll sync"})
	for i := range fx.Groups {
		if fx.Groups[i].DisplayName == "Finance" {
			fx.Groups[i].Owners = []string{"carol@contoso.com"}
		}
	}
	return fx
}

// owners lists a group's owners in the snapshot by UPN (users) or display
// name (service principals), sorted.
func (s tenantSnapshot) owners(name string) []string {
	label := map[string]string{}
	for _, u := range s.fx.Users {
		label[strings.ToLower(u.ID)] = u.UserPrincipalName
	}
	for _, sp := range s.fx.ServicePrincipals {
		label[strings.ToLower(sp.ID)] = sp.DisplayName
	}
	var out []string
	for _, g := range s.fx.Groups {
		if g.DisplayName != name {
			continue
		}
		for _, o := range g.Owners {
			if l, ok := label[strings.ToLower(o)]; ok {
				o = l
			}
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// ownerWrites counts the owner $ref writes of a log that Graph accepted.
func ownerWrites(log []graphsim.LogEntry) int {
	n := 0
	for _, e := range log {
		if e.Write && strings.Contains(e.Path, "/owners/") && e.Status < 300 {
			n++
		}
	}
	return n
}

const ownersBase = `groups:
  - displayName: Finance
    owners:
      users: [alice@contoso.com]
      servicePrincipals: [Payroll sync]
  - displayName: Payroll
    owners:
      mode: authoritative
      users: [alice@contoso.com, bob@contoso.com]
`

// Issue 15: owners on groups. Additive owners are added (a service
// principal by display name), a new group gets its owners after its
// create, the plan after apply is clean and a second apply writes nothing;
// an authoritative set's removal waits for --approve ES103; removing the
// last owner is refused at plan time, at the owners block, before any
// write.
func TestGroupOwnersPlanApply(t *testing.T) {
	sim, url := startSim(t, ownersFixture())
	dir := t.TempDir()
	writeSpec(t, dir, ownersBase)

	r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	for _, want := range []string{
		`# group["Finance"].owners will change: 2 to add, 0 to remove`,
		`~ owners of group "Finance" (additive) {`,
		`+ servicePrincipal "Payroll sync"`,
		`# group["Payroll"] will be created`,
		`# group["Payroll"].owners will change: 2 to add, 0 to remove`,
		`Plan: 1 to create, 2 to update, 0 to delete.`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if r.code != exitChanges || t.Failed() {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 || writes(sim.Log()) != 0 {
		t.Fatalf("second apply: exit %d, %d writes", r.code, writes(sim.Log()))
	}
	snap := snapshot(t, sim)
	if got := snap.owners("Finance"); !slices.Equal(got, []string{"Payroll sync", "alice@contoso.com", "carol@contoso.com"}) {
		t.Errorf("Finance owners = %v (additive: carol stays)", got)
	}
	if got := snap.owners("Payroll"); !slices.Equal(got, []string{"alice@contoso.com", "bob@contoso.com"}) {
		t.Errorf("Payroll owners = %v", got)
	}

	// Authoritative: carol goes, but only with ES103 approved.
	writeSpec(t, dir, strings.Replace(ownersBase, "    owners:\n      users: [alice", "    owners:\n      mode: authoritative\n      users: [alice", 1))
	sim.ResetLog()
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `# group["Finance"].owners will change: 0 to add, 1 to remove  [ES103 needs approval]`) ||
		!strings.Contains(r.stdout, "- carol@contoso.com") || !strings.Contains(r.stderr, "To apply it too, rerun with --approve ES103.") {
		t.Fatalf("gated removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := writes(sim.Log()); n != 0 {
		t.Errorf("the gated apply sent %d writes", n)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES103"); r.code != 0 {
		t.Fatalf("approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := snapshot(t, sim).owners("Finance"); !slices.Equal(got, []string{"Payroll sync", "alice@contoso.com"}) {
		t.Errorf("Finance owners after the approved removal = %v", got)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The last owner: refused at the owners block, nothing written, approved
	// or not (writeSpec puts tenant: on line 1).
	for _, tc := range []struct{ spec, want string }{
		{strings.Replace(ownersBase, "users: [alice@contoso.com, bob@contoso.com]", "users: []", 1),
			`spec.yaml:8:5: error: group["Payroll"]: the plan would remove the last owner of group "Payroll" (alice@contoso.com, bob@contoso.com)`},
		{strings.Replace(ownersBase, "    owners:\n      users: [alice@contoso.com]\n", "    owners:\n      mode: authoritative\n", 1),
			`spec.yaml:4:5: error: group["Finance"]: the plan would remove the last user owner of group "Finance" (alice@contoso.com)`},
	} {
		writeSpec(t, dir, tc.spec)
		sim.ResetLog()
		r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES103")
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "Nothing was changed.") {
			t.Errorf("last owner: exit %d, want 1 and %q\n%s%s", r.code, tc.want, r.stdout, r.stderr)
		}
		if n := writes(sim.Log()); n != 0 {
			t.Errorf("the refused plan sent %d writes", n)
		}
	}
}

// Under throttling, server errors, lost answers and replication lag the
// owner changes converge: a lost $ref add is sent again and "already
// exist" counts as done, a failed removal is retried, nothing is added
// twice or removed unplanned; and the last-owner refusal holds on every
// run, with no write.
func TestGroupOwnersUnderFaults(t *testing.T) {
	t.Parallel() // it mostly waits: its runs are processes (entrasyncApart)
	spec := strings.Replace(ownersBase, "    owners:\n      users: [alice", "    owners:\n      mode: authoritative\n      users: [alice", 1)
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{Fixture: ownersFixture(), Seed: seed})
			url, stop, err := sim.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			dir := t.TempDir()
			writeSpec(t, dir, spec)
			before := snapshot(t, sim)
			sim.SetFaults(graphsim.Faults{
				StormRate: 0.15, StormRetryAfter: 20 * time.Millisecond,
				ServerErrorRate: 0.1, ServerErrorRetryAfter: 10 * time.Millisecond,
				DropResponseRate: 0.1, ReplicationLag: 300 * time.Millisecond,
			})
			// Whatever the dice say: an owner add's answer is lost, an
			// owner removal fails once, an owner read is throttled.
			sim.DropNext("POST", "/groups/*/owners/$ref", 1)
			sim.FailNext("DELETE", "/groups/*/owners/*/$ref", 503, 1)
			sim.FailNext("GET", "/groups/*/owners", 429, 1)
			converged := false
			for attempt := 1; attempt <= 4 && !converged; attempt++ {
				r := entrasyncApart(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES103")
				t.Logf("apply %d: exit %d", attempt, r.code)
				time.Sleep(400 * time.Millisecond) // let replication catch up before judging
				converged = entrasyncApart(t, url, "plan", "-f", dir, "--detailed-exitcode").code == 0
			}
			var dropped, failed, throttled bool
			for _, e := range sim.Log() {
				dropped = dropped || (e.Dropped && strings.Contains(e.Path, "/owners/$ref"))
				failed = failed || (e.Injected && e.Status == 503 && e.Method == "DELETE" && strings.Contains(e.Path, "/owners/"))
				throttled = throttled || (e.Status == 429 && strings.HasSuffix(e.Path, "/owners"))
			}
			if !dropped || !failed || !throttled {
				t.Fatalf("the scripted faults did not all fire (dropped %v, 5xx %v, 429 %v): the test proves nothing", dropped, failed, throttled)
			}
			if !converged {
				t.Fatal("did not converge in 4 applies")
			}
			after := snapshot(t, sim)
			if got := after.owners("Finance"); !slices.Equal(got, []string{"Payroll sync", "alice@contoso.com"}) {
				t.Errorf("Finance owners = %v", got)
			}
			if n, got := after.count("Payroll"), after.owners("Payroll"); n != 1 || !slices.Equal(got, []string{"alice@contoso.com", "bob@contoso.com"}) {
				t.Errorf("%d groups named Payroll, owners %v", n, got)
			}
			for _, name := range []string{"Finance", "Marketing leads"} {
				if fmt.Sprint(before.members(name)) != fmt.Sprint(after.members(name)) {
					t.Errorf("%s's members changed: %v -> %v", name, before.members(name), after.members(name))
				}
			}

			// Still under faults: removing every owner is refused each time.
			writeSpec(t, dir, strings.Replace(spec, "users: [alice@contoso.com, bob@contoso.com]", "users: []", 1))
			sim.ResetLog()
			for range 2 {
				if r := entrasyncApart(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES103"); r.code != exitError ||
					!strings.Contains(r.stderr, `the plan would remove the last owner of group "Payroll"`) {
					t.Fatalf("last owner under faults: exit %d\n%s", r.code, r.stderr)
				}
			}
			if n := ownerWrites(sim.Log()); n != 0 {
				t.Errorf("the refused plans wrote %d owner changes", n)
			}
			sim.SetFaults(graphsim.Faults{})
		})
	}
}

// The owners spec's permissions are exact, as the examples' are: plan and
// apply succeed with what `entrasync permissions` lists (the owner list on
// beta, service principals looked up by name, owner adds and removals)
// and fail without any one entry.
func TestGroupOwnersPermissionsAreExact(t *testing.T) {
	if testing.Short() {
		t.Skip("many runs against an enforcing simulator")
	}
	dir := t.TempDir()
	// The demo tenant's own service principal stands in for an
	// application that owns a group.
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
groups:
  - displayName: Finance
    owners:
      mode: authoritative
      users: [alice@contoso.com]
      servicePrincipals: [Microsoft Graph]
  - displayName: Payroll
    owners: {users: [bob@contoso.com]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	checkPermissionsExact(t, dir)
}
