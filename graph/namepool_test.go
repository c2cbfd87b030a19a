package graph_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
)

// Namesake checks asked at about the same time share `displayName in (…)`
// look-ups of 15 names, and each caller still gets exactly its own
// namesakes: those of its blueprint, its name in any case, oldest first.
func TestNamesakeChecksArePooled(t *testing.T) {
	fx := graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	const bp, other = "b1b1b1b1-0000-4000-8000-000000000001", "b2b2b2b2-0000-4000-8000-000000000002"
	at := func(min int) *time.Time { v := time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC); return &v }
	for i := range 40 {
		fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{
			ID: fmt.Sprintf("a0000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Agent %02d", i),
			ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: bp, CreatedDateTime: at(10)})
	}
	// Agent 07 has a namesake (in another case, made earlier) under the
	// same blueprint, and one under another blueprint.
	fx.ServicePrincipals = append(fx.ServicePrincipals,
		graphsim.ServicePrincipal{ID: "a1000000-0000-4000-8000-000000000007", DisplayName: "AGENT 07", ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: bp, CreatedDateTime: at(1)},
		graphsim.ServicePrincipal{ID: "a2000000-0000-4000-8000-000000000007", DisplayName: "Agent 07", ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: other, CreatedDateTime: at(0)})
	// Two names that differ by a trailing space are two names to Graph.
	fx.ServicePrincipals = append(fx.ServicePrincipals,
		graphsim.ServicePrincipal{ID: "a3000000-0000-4000-8000-000000000001", DisplayName: "Padded ", ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: bp, CreatedDateTime: at(2)},
		graphsim.ServicePrincipal{ID: "a3000000-0000-4000-8000-000000000002", DisplayName: "Padded", ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: bp, CreatedDateTime: at(3)})
	sim, c := simClientOn(t, &fx, graph.Options{})
	sim.ResetLog()

	var wg sync.WaitGroup
	got := make([][]graph.Namesake, 40)
	errs := make([]error, 40)
	for i := range 40 {
		wg.Go(func() {
			got[i], errs[i] = c.AgentIdentitiesNamed(context.Background(), bp, fmt.Sprintf("Agent %02d", i))
		})
	}
	var padded, plain []graph.Namesake
	var paddedErr, plainErr error
	wg.Go(func() { padded, paddedErr = c.AgentIdentitiesNamed(context.Background(), bp, "Padded ") })
	wg.Go(func() { plain, plainErr = c.AgentIdentitiesNamed(context.Background(), bp, "padded") })
	// A caller that gives up does not take the others' look-up with it.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.AgentIdentitiesNamed(gone, bp, "Agent 01"); err == nil {
		t.Error("a cancelled caller got an answer")
	}
	wg.Wait()
	for i := range 40 {
		if errs[i] != nil {
			t.Fatalf("Agent %02d: %v", i, errs[i])
		}
		want := []string{fmt.Sprintf("a0000000-0000-4000-8000-%012d", i)}
		if i == 7 {
			want = []string{"a1000000-0000-4000-8000-000000000007", want[0]} // the older first
		}
		var ids []string
		for _, n := range got[i] {
			ids = append(ids, n.ID)
		}
		if strings.Join(ids, " ") != strings.Join(want, " ") {
			t.Errorf("Agent %02d: namesakes %v, want %v", i, ids, want)
		}
	}
	if paddedErr != nil || plainErr != nil || len(padded) != 1 || padded[0].ID != "a3000000-0000-4000-8000-000000000001" ||
		len(plain) != 1 || plain[0].ID != "a3000000-0000-4000-8000-000000000002" {
		t.Errorf("\"Padded \" and \"padded\": %v %v, %v %v; want each its own identity", padded, paddedErr, plain, plainErr)
	}
	lookUps := 0
	for _, e := range sim.Log() {
		if e.Method == "GET" && strings.Contains(e.Path, "agentIdentity") {
			lookUps++
			if !strings.Contains(e.Query, "%20in%20") && !strings.Contains(e.Query, "+in+") {
				t.Errorf("a look-up by one name: %s", e.Query)
			}
		}
	}
	// 42 names at 15 a look-up are 3 at best; the linger may split one.
	if lookUps < 3 || lookUps > 5 {
		t.Errorf("%d look-ups for 42 namesake checks, want 3 to 5", lookUps)
	}
}
