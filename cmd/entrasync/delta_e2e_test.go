package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

// drift --refresh=delta finds what a full read finds, on the Terraform-peer
// scope with 5 % of the memberships swapped (issue 13): the two plans are
// equal, the delta read lists no member set, and it costs a fraction of
// the full read's resource units. A correction through delta verifies its
// writes through delta, and the delta read after it sees the tenant
// converged.
func TestDeltaDriftPlansEqualFullRead(t *testing.T) {
	s := scenarios[0]
	sim, url := startSim(t, s.fixture())
	want, drift := t.TempDir(), t.TempDir()
	for name, data := range s.files(false) {
		os.WriteFile(filepath.Join(want, name), data, 0o644)
	}
	for name, data := range s.files(true) {
		os.WriteFile(filepath.Join(drift, name), data, 0o644)
	}
	cache := filepath.Join(t.TempDir(), "delta.json")
	run := func(wantCode int, args ...string) (result, []graphsim.LogEntry) {
		t.Helper()
		sim.ResetLog()
		r := entrasync(t, url, args...)
		if r.code != wantCode {
			t.Fatalf("entrasync %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.code, wantCode, tail(r.stdout), tail(r.stderr))
		}
		return r, sim.Log()
	}
	plan := func(r result) *planner.Plan {
		t.Helper()
		p, err := planner.Decode([]byte(r.stdout))
		if err != nil {
			t.Fatalf("decode plan: %v\n%s", err, tail(r.stdout))
		}
		p.CreatedAt = time.Time{}
		return p
	}
	ru := func(log []graphsim.LogEntry) (n int) {
		for _, e := range log {
			n += e.RU
		}
		return n
	}
	memberLists := func(log []graphsim.LogEntry) (n int) {
		for _, e := range log {
			if e.Method == "GET" && strings.HasSuffix(e.Path, "/members") {
				n++
			}
		}
		return n
	}

	run(0, "apply", "-f", want, "--auto-approve")
	// The first delta run lists the sets in full and starts the links from
	// now.
	r, _ := run(0, "drift", "-f", want, "--refresh=delta", "--delta-cache", cache)
	if !strings.Contains(r.stderr, "no cache at") || !strings.Contains(r.stderr, "0 member sets from delta links, 200 read in full") {
		t.Fatalf("first delta run's notes:\n%s", r.stderr)
	}

	run(0, "apply", "-f", drift, "--auto-approve", "--approve", "ES102")
	full, fullLog := run(2, "drift", "-f", want, "--format", "json")
	delta, deltaLog := run(2, "drift", "-f", want, "--format", "json", "--refresh=delta", "--delta-cache", cache)
	if d := cmp.Diff(plan(full), plan(delta)); d != "" {
		t.Fatalf("the delta drift plan differs from the full read's (-full +delta):\n%s", d)
	}
	if n := len(plan(delta).Changes); n != s.groups {
		t.Fatalf("%d changes, want one per drifted group (%d)", n, s.groups)
	}
	if n := memberLists(deltaLog); n != 0 {
		t.Fatalf("the delta read listed %d member sets", n)
	}
	fullRU, deltaRU := ru(fullLog), ru(deltaLog)
	if deltaRU*2 > fullRU {
		t.Fatalf("the delta read cost %d RU, the full read %d", deltaRU, fullRU)
	}
	t.Logf("5%% drift: full read %d RU, delta read %d RU (%.1f%%)", fullRU, deltaRU, 100*float64(deltaRU)/float64(fullRU))

	// The correction reads through delta too, and so does the check of its
	// writes: no member set is listed, the verification is a second delta
	// round, and a full read then agrees that the tenant converged.
	_, correctLog := run(0, "drift", "-f", want, "--correct", "--approve", "ES102", "--refresh=delta", "--delta-cache", cache)
	if n := memberLists(correctLog); n != 0 {
		t.Fatalf("the delta correction listed %d member sets", n)
	}
	rounds := 0
	for _, e := range correctLog {
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/users/delta") {
			rounds++
		}
	}
	if rounds != 2 {
		t.Fatalf("the delta correction read /users/delta %d times, want 2 (the plan's read and the verification's)", rounds)
	}
	run(0, "plan", "-f", want, "--detailed-exitcode")
	run(0, "drift", "-f", want, "--refresh=delta", "--delta-cache", cache)
}

// --refresh=delta reads /users/delta, which needs User.Read.All where the
// full read's user look-ups need only User.ReadBasic.All: the permission
// check before the run asks for it, and only then.
func TestDeltaRefreshNeedsUserRead(t *testing.T) {
	desired := &model.Tenant{Groups: []*model.Group{{DisplayName: "Team", Members: &model.MemberSet{Mode: model.Authoritative}}}}
	perms := func(mode string) []string {
		a := &app{refresh: refreshFlags{mode: mode}}
		return graph.PermissionNames(graph.Requirements(a.needs(desired, false)))
	}
	if got := perms("full"); slices.Contains(got, "User.Read.All") {
		t.Fatalf("a full read asks for User.Read.All: %v", got)
	}
	if got := perms("delta"); !slices.Contains(got, "User.Read.All") {
		t.Fatalf("a delta read does not ask for User.Read.All: %v", got)
	}
}
