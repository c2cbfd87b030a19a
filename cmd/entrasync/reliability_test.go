package main

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
)

// TestStaleReadNeverRemovesDeclaredResource reproduces a stale read: an
// apply creates a group and adds it to a catalog, and the next apply runs
// while the group is still replicating. Its plan does not see the group,
// plans to create it, and sees the catalog resource as one the spec does not
// name. The upsert finds the group the first run made; the resource must
// then be kept, not removed.
func TestStaleReadNeverRemovesDeclaredResource(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, `groups:
  - displayName: Lag team
catalogs:
  - displayName: Lag catalog
    resources:
      groups: [Lag team]
`)
	// The runs spend most of their time waiting for the simulator's slowed
	// clock, so five run at once, more than t.Parallel would let run (each
	// run is a process of its own: entrasyncProcess).
	t.Parallel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, 5)
	defer wg.Wait()
	for seed := int64(1); seed <= 20; seed++ {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
				// The simulator's time runs at a quarter of the real one:
				// however slowly a loaded machine (or -race) makes the
				// runs, the second reads within the lag of the first's
				// writes, and a write's wait for the lag is 6 s at most.
				sim := graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: seed, Now: slowClock(4)})
				url, stop, err := sim.Start()
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				const lag = 1500 * time.Millisecond
				sim.SetFaults(graphsim.Faults{ReplicationLag: lag})
				// The first run does not wait for its writes to show (as a run
				// that was interrupted, or one made with --verify=false).
				first := entrasyncProcess(t, "apply", "-f", dir, "--auto-approve", "--verify=false", "--graph-url", url)
				if first.code != 0 {
					t.Fatalf("first apply: exit %d\n%s", first.code, first.stderr)
				}
				second := entrasyncProcess(t, "apply", "-f", dir, "--auto-approve", "--format", "json", "--graph-url", url)
				if second.code != 0 {
					t.Fatalf("second apply: exit %d\n%s", second.code, second.stderr)
				}
				if !strings.Contains(second.stdout, `"remove"`) {
					t.Fatalf("the second plan saw the group: the stale read did not happen, so the test proves nothing\n%s", second.stdout)
				}
				if !strings.Contains(second.stderr, `(group["Lag team"], id`) {
					t.Errorf("the second apply did not report keeping the resource:\n%s", second.stderr)
				}
				sim.SetFaults(graphsim.Faults{})
				fx := snapshot(t, sim).fx
				for _, c := range fx.Catalogs {
					if c.DisplayName == "Lag catalog" && len(c.Resources) != 1 {
						t.Fatalf("catalog holds %d resources, want the declared group", len(c.Resources))
					}
				}
				if p := entrasyncProcess(t, "plan", "-f", dir, "--detailed-exitcode", "--graph-url", url); p.code != 0 {
					t.Errorf("plan after the lag: exit %d\n%s", p.code, p.stdout)
				}
			})
		})
	}
}

// slowClock is a clock that starts at the real time and runs at 1/factor
// of its speed.
func slowClock(factor time.Duration) func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Since(start) / factor) }
}

// TestRunLease: a run that writes takes the tenant's run lease and releases
// it; a live lease makes it wait and then fail naming the holder, before
// any write; an expired one is taken over.
func TestRunLease(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "quickstart")
	unique := graph.LeaseUniqueName("contoso.onmicrosoft.com", "default")
	withLease := func(expires time.Time) *graphsim.Fixture {
		fx := graphsim.DemoFixture()
		desc, _ := json.Marshal(graph.LeaseHolder{Run: "0123456789abcdef", Holder: "alice@laptop pid 42", Started: expires.Add(-time.Minute), Expires: expires})
		fx.Groups = append(fx.Groups, graphsim.Group{DisplayName: "entrasync run lease (default)", MailNickname: unique, UniqueName: unique, Description: string(desc)})
		return fx
	}
	leaseGroups := func(sim *graphsim.Sim) (n int) {
		for _, g := range snapshot(t, sim).fx.Groups {
			if strings.HasPrefix(g.UniqueName, "entrasync-lease-") {
				n++
			}
		}
		return n
	}

	t.Run("held", func(t *testing.T) {
		sim, url := startSim(t, withLease(time.Now().Add(time.Hour)))
		start := time.Now()
		r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--lock-timeout", "3s")
		if r.code != exitError || !strings.Contains(r.stderr, "alice@laptop pid 42") || !strings.Contains(r.stderr, "nothing was changed") {
			t.Fatalf("apply against a held lease: exit %d\n%s", r.code, r.stderr)
		}
		if time.Since(start) < 2*time.Second {
			t.Errorf("gave up after %s without waiting for the lease", time.Since(start))
		}
		if n := writes(sim.Log()); n != 0 {
			t.Errorf("%d writes while another run held the lease", n)
		}
		if leaseGroups(sim) != 1 {
			t.Error("the other run's lease was removed")
		}
		// Plans do not write, so they take no lease.
		if r := entrasync(t, url, "plan", "-f", spec); r.code != 0 {
			t.Errorf("plan while the lease is held: exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("expired", func(t *testing.T) {
		sim, url := startSim(t, withLease(time.Now().Add(-time.Minute)))
		r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES101,ES301")
		if r.code != 0 {
			t.Fatalf("apply over an expired lease: exit %d\n%s", r.code, r.stderr)
		}
		if n := leaseGroups(sim); n != 0 {
			t.Errorf("%d lease groups left after the run", n)
		}
		var created, deleted int
		for _, e := range sim.Log() {
			switch {
			case e.Method == "POST" && strings.HasSuffix(e.Path, "/v1.0/groups"):
				created++
			case e.Method == "DELETE" && strings.Contains(e.Path, "/v1.0/groups/"):
				deleted++
			}
		}
		// The old lease taken over, the run's own created and released (the
		// quickstart also deletes one group of its own).
		if created < 2 || deleted < 3 {
			t.Errorf("lease traffic: %d creates, %d deletes; want the conflict, the new lease, and the takeover and release deletes", created, deleted)
		}
	})
	t.Run("lost answer", func(t *testing.T) {
		sim, url := startSim(t, graphsim.DemoFixture())
		sim.DropNext("POST", "/groups", 1)
		r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES101,ES301", "--lock-timeout", "5s")
		if r.code != 0 {
			t.Fatalf("apply whose lease answer was lost: exit %d\n%s", r.code, r.stderr)
		}
		if n := leaseGroups(sim); n != 0 {
			t.Errorf("%d lease groups left after the run", n)
		}
	})
}

// A Graph endpoint that accepts connections and never answers: plan fails
// within a few request timeouts, naming the request, and --timeout ends
// the whole run sooner than that.
func TestDeadServerEndsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	url := "http://" + ln.Addr().String()
	spec := filepath.Join("..", "..", "examples", "quickstart")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"request timeout", []string{"--request-timeout", "500ms"}, "/v1.0/$batch: no answer within 500ms, 3 times"},
		{"run timeout", []string{"--request-timeout", "1m", "--timeout", "1500ms"}, "--timeout 1.5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := entrasync(t, url, append([]string{"plan", "-f", spec}, tc.args...)...)
			took := time.Since(start)
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d after %s, want an error naming %q:\n%s", r.code, took, tc.want, r.stderr)
			}
			if took > 30*time.Second {
				t.Errorf("took %s", took)
			}
			t.Logf("%s: failed after %s: %s", tc.name, took.Round(100*time.Millisecond), lastLine(r.stderr))
		})
	}
}

// An agent user's create that is answered 500, or whose answer is lost, is
// sent again (its UPN is unique, so a resend that meets the first create
// is refused and the user looked up): one apply, one agent user.
func TestAgentUserCreateIsResentSafely(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "agents")
	for _, fault := range []string{"500", "lost answer"} {
		t.Run(fault, func(t *testing.T) {
			sim, url := startSim(t, graphsim.DemoFixture())
			if fault == "500" {
				sim.FailNext("POST", "/users/microsoft.graph.agentUser", 500, 1)
			} else {
				sim.DropNext("POST", "/users/microsoft.graph.agentUser", 1)
			}
			r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", approveAll(), "--consistency-timeout", "20s")
			if r.code != 0 {
				t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			posts, agentUsers := 0, 0
			for _, e := range sim.Log() {
				if e.Method == "POST" && strings.HasSuffix(e.Path, "/users/microsoft.graph.agentUser") {
					posts++
				}
			}
			for _, u := range snapshot(t, sim).fx.Users {
				if u.IdentityParentID != "" {
					agentUsers++
				}
			}
			if posts < 2 || agentUsers != 1 {
				t.Errorf("%d creates sent, %d agent users: want the create resent and one agent user", posts, agentUsers)
			}
			if p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); p.code != 0 {
				t.Errorf("plan after apply: exit %d\n%s", p.code, p.stdout)
			}
		})
	}
}
