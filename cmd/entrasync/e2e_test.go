package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

// startSim serves a simulator for one test and returns it with its URL.
func startSim(t *testing.T, fx *graphsim.Fixture) (*graphsim.Sim, string) {
	t.Helper()
	s := graphsim.New(graphsim.Options{Fixture: fx, Seed: 7})
	url, stop, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s, url
}

type result struct {
	code           int
	stdout, stderr string
}

// entrasync runs the CLI in-process against url.
func entrasync(t *testing.T, url string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--graph-url", url)
	code := run(args, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// entrasyncApart runs the CLI against url in a process of its own
// (entrasyncProcess), so that tests which mostly wait on faults and lag can
// run in parallel.
func entrasyncApart(t *testing.T, url string, args ...string) result {
	t.Helper()
	return entrasyncProcess(t, append(args, "--graph-url", url)...)
}

// leaseTraffic returns, for a log, which entries are the run lease's own
// requests (graph/lease.go): its create, renewals and release. Tests that
// count a spec's writes leave them out.
func leaseTraffic(log []graphsim.LogEntry) map[int]bool {
	out := map[int]bool{}
	ids := map[string]bool{}
	for i, e := range log {
		if e.Method == "POST" && strings.HasSuffix(e.Path, "/groups") && strings.Contains(string(e.Body), `"entrasync-lease-`) {
			out[i] = true
			var g struct{ ID string }
			if json.Unmarshal(e.ResponseBody, &g) == nil && g.ID != "" {
				ids[g.ID] = true
			}
		}
	}
	for i, e := range log {
		if id := e.Path[strings.LastIndex(e.Path, "/")+1:]; ids[id] && strings.Contains(e.Path, "/groups/") {
			out[i] = true
		}
	}
	return out
}

// withoutLease drops the run lease's requests from a log.
func withoutLease(log []graphsim.LogEntry) []graphsim.LogEntry {
	lease := leaseTraffic(log)
	var out []graphsim.LogEntry
	for i, e := range log {
		if !lease[i] {
			out = append(out, e)
		}
	}
	return out
}

// writes counts HTTP requests that wrote to what the spec manages: a $batch
// counts when one of its sub-requests is a write. The run lease's own
// requests are left out (TestRunLease counts those).
func writes(log []graphsim.LogEntry) (n int) {
	lease := leaseTraffic(log)
	batchWrites := map[int]bool{} // by the $batch entry's index in log
	for i, e := range log {
		if e.InBatch && e.Write && !lease[i] {
			batchWrites[e.Batch] = true
		}
	}
	for i, e := range log {
		switch {
		case lease[i] || e.InBatch:
		case strings.HasSuffix(e.Path, "/$batch"):
			if batchWrites[i] {
				n++
			}
		case e.Write:
			n++
		}
	}
	return n
}

func requests(log []graphsim.LogEntry) (n int) {
	for _, e := range log {
		if !e.InBatch {
			n++
		}
	}
	return n
}

func TestQuickstartConverges(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "quickstart")

	r := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("first plan: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`# group["Marketing resources"] will be created`,
		`# group["Sec group 1"].cloudManaged will be converted from AD-synced to cloud-managed  [ES301 needs approval]`,
		`- heidi@contoso.com`,
		`+ group "Marketing leads"`,
		`Plan: 1 to create, 5 to update, 1 to delete; members: 8 to add, 1 to remove.`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}

	// --auto-approve applies everything but the gated deletion and
	// conversion, lists them, and exits 3.
	r = entrasync(t, url, "apply", "-f", spec, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, "Apply complete: 4 applied, 0 failed, 3 skipped.") ||
		!strings.Contains(r.stdout, `Skipped: group["Sec group 1"].members (waits for group["Sec group 1"].cloudManaged, which needs approval)`) ||
		!strings.Contains(r.stderr, "Waiting for approval: 2 changes need approval and 1 more depends on them; everything else was applied.") ||
		!strings.Contains(r.stderr, "To apply them too, rerun with --approve ES101,ES301.") || strings.Contains(r.stderr, "Error:") {
		t.Fatalf("apply --auto-approve: exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, "Plan: 0 to create, 2 to update, 1 to delete; members: 1 to add, 0 to remove.") {
		t.Fatalf("plan after gated apply: exit %d\n%s", r.code, r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES101,ES301"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after apply: exit %d, want 0 and No changes\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 {
		t.Fatalf("second apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := writes(sim.Log()); n != 0 {
		t.Errorf("second apply sent %d write requests, want 0", n)
	}
}

// Under throttling storms, server errors, lost responses and replication
// lag, apply may need more than one run, but it never creates a duplicate
// group or member and never touches what the plan did not name.
func TestConvergesUnderFaults(t *testing.T) {
	t.Parallel() // it mostly waits: its runs are processes (entrasyncApart)
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: seed})
			url, stop, err := sim.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			spec := filepath.Join("..", "..", "examples", "quickstart")
			before := snapshot(t, sim)
			sim.SetFaults(graphsim.Faults{
				StormRate: 0.15, StormRetryAfter: 20 * time.Millisecond,
				ServerErrorRate: 0.1, ServerErrorRetryAfter: 10 * time.Millisecond,
				DropResponseRate: 0.1, ReplicationLag: 300 * time.Millisecond,
			})
			// The faults that matter most, scripted so that every seed meets
			// them: the group create's answer is lost (the retry must not make
			// a second group), a member add's answer is lost (the retry must
			// not fail on "already exist"), a batch of removals fails once,
			unique := planner.UniqueNameFor(&model.Group{DisplayName: "Marketing resources"})
			// The lease's create comes first, so the second POST dropped
			// is the group's.
			sim.DropNext("POST", "/groups", 2)
			sim.DropNext("PATCH", "/groups/*", 1)
			sim.FailNext("DELETE", "/groups/*/members/*/$ref", 503, 1)
			// and a throttled read, whatever the storm's dice say.
			sim.FailNext("GET", "/groups", 429, 1)
			converged := false
			for attempt := 1; attempt <= 4 && !converged; attempt++ {
				r := entrasyncApart(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES101,ES301")
				t.Logf("apply %d: exit %d", attempt, r.code)
				time.Sleep(400 * time.Millisecond) // let replication catch up before judging
				p := entrasyncApart(t, url, "plan", "-f", spec, "--detailed-exitcode")
				converged = p.code == 0
			}
			sim.SetFaults(graphsim.Faults{})
			var dropped, throttled, failed int
			createDropped := false
			for _, e := range sim.Log() {
				if e.Dropped && e.Method == "POST" && strings.HasSuffix(e.Path, "/groups") && strings.Contains(string(e.Body), unique) {
					createDropped = true
				}
				switch {
				case e.Dropped:
					dropped++
				case e.Throttled:
					throttled++
				case e.Injected && e.Status >= 500:
					failed++
				}
			}
			t.Logf("faults seen: %d dropped responses, %d throttled, %d server errors", dropped, throttled, failed)
			if !createDropped || dropped < 2 || throttled == 0 || failed == 0 {
				t.Fatalf("the faults did not all fire (dropped %d, throttled %d, 5xx %d): the test proves nothing", dropped, throttled, failed)
			}
			if !converged {
				t.Fatal("did not converge in 4 applies")
			}
			after := snapshot(t, sim)
			if n := after.count("Marketing resources"); n != 1 {
				t.Errorf("%d groups named Marketing resources, want exactly 1", n)
			}
			if got := after.members("Marketing resources"); len(got) != 6 {
				t.Errorf("Marketing resources has %d members, want 6: %v", len(got), got)
			}
			// Groups the spec does not name are untouched.
			for _, name := range []string{"Marketing leads", "Sales dynamic"} {
				if fmt.Sprint(before.members(name)) != fmt.Sprint(after.members(name)) {
					t.Errorf("%s changed: %v -> %v", name, before.members(name), after.members(name))
				}
			}
			if after.count("Old project") != 0 {
				t.Error("Old project still exists")
			}
		})
	}
}

// tenantSnapshot is the simulator's saved state, for assertions.
type tenantSnapshot struct{ fx *graphsim.Fixture }

func snapshot(t *testing.T, s *graphsim.Sim) tenantSnapshot {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	fx, err := graphsim.LoadFixture(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return tenantSnapshot{fx}
}

func (s tenantSnapshot) count(name string) (n int) {
	for _, g := range s.fx.Groups {
		if g.DisplayName == name {
			n++
		}
	}
	return n
}

func (s tenantSnapshot) members(name string) []string {
	for _, g := range s.fx.Groups {
		if g.DisplayName == name {
			return g.Members
		}
	}
	return nil
}

// largeGroup is a tenant with a 5,000-member group "Everyone", and a spec
// (file name → bytes) that makes it authoritative with a CSV differing by
// 300 adds and 300 removes.
func largeGroup() (*graphsim.Fixture, map[string][]byte) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var live []string
	var csv strings.Builder
	csv.WriteString("Email\n")
	for i := range 5300 {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
		if i < 5000 {
			live = append(live, upn)
		}
		if i >= 300 { // desired: users 300..5299 (300 removes, 300 adds)
			fmt.Fprintf(&csv, "%s\n", upn)
		}
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Everyone", MailNickname: "everyone", Members: live}}
	return fx, map[string][]byte{
		"everyone.csv": []byte(csv.String()),
		"spec.yaml":    []byte("tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Everyone\n    members:\n      mode: authoritative\n      csv: {path: everyone.csv, column: Email}\n"),
	}
}

// logStats logs the --stats lines of a run.
func logStats(t *testing.T, stderr string) {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "Graph (") {
			t.Log(line)
		}
	}
}

// A 5,000-member authoritative group whose live membership differs by 300
// adds and 300 removes is planned and applied within a request budget.
func TestLargeAuthoritativeGroup(t *testing.T) {
	fx, spec := largeGroup()
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	for name, data := range spec {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}

	sim.ResetLog()
	r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode", "--stats")
	planReqs := requests(sim.Log())
	logStats(t, r.stderr)
	if r.code != exitChanges || !strings.Contains(r.stdout, "members: 300 to add, 300 to remove") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--stats")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	logStats(t, r.stderr)
	log := sim.Log()
	applyWrites := writes(log)
	t.Logf("plan: %d requests; apply: %d requests, %d of them writes", planReqs, requests(log), applyWrites)
	if planReqs > 20 {
		t.Errorf("plan sent %d requests, budget 20", planReqs)
	}
	if applyWrites > 40 {
		t.Errorf("apply sent %d write requests, budget 40", applyWrites)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
}

// The same change under Graph's resource-unit throttle, scaled down to 150
// RU per second so that the run meets it: requests and $batch items are
// throttled, waited for as Retry-After says, and the result is the same.
func TestLargeGroupUnderResourceUnitThrottle(t *testing.T) {
	fx, spec := largeGroup()
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	for name, data := range spec {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	sim.SetFaults(graphsim.Faults{ThrottleRU: 150, ThrottleWindow: time.Second})
	r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--stats")
	logStats(t, r.stderr)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	throttled := 0
	for _, e := range sim.Log() {
		if e.Throttled {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the resource-unit bucket never throttled: the test proves nothing")
	}
	sim.SetFaults(graphsim.Faults{})
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
}
