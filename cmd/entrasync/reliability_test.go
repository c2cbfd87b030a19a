package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: seed})
			url, stop, err := sim.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			const lag = 1500 * time.Millisecond
			sim.SetFaults(graphsim.Faults{ReplicationLag: lag})
			// The first run does not wait for its writes to show (as a run
			// that was interrupted, or one made with --verify=false).
			first := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--verify=false")
			if first.code != 0 {
				t.Fatalf("first apply: exit %d\n%s", first.code, first.stderr)
			}
			second := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--format", "json")
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
			if p := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); p.code != 0 {
				t.Errorf("plan after the lag: exit %d\n%s", p.code, p.stdout)
			}
		})
	}
}
