package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// concurrentCalls serves $batch calls that each take a moment, and
// records the most that were in flight at once.
func concurrentCalls(t *testing.T) (*Client, *atomic.Int32) {
	var now, most atomic.Int32
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"value":[]}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			n := now.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			defer now.Add(-1)
		}
		unbatch(inner).ServeHTTP(w, r)
	}))
	return c, &most
}

func sameItems(n int, method, path string) []batchItem {
	out := make([]batchItem, n)
	for i := range out {
		out[i] = batchItem{Method: method, URL: fmt.Sprintf(path, i)}
		if method != "GET" {
			out[i].Body = map[string]any{"x": i}
		}
	}
	return out
}

// Reads go beyond the constant limit while the estimated budget holds
// them; writes, and reads once a 429 has emptied the estimate, do not.
func TestPacerLetsReadsGoBeyondTheLimitWithinTheBudget(t *testing.T) {
	ctx := context.Background()
	limit := DefaultParallelism

	c, most := concurrentCalls(t)
	// 12 calls of 20 member reads: 12 × 20 × 2 RU = 480, within 3,500.
	if _, err := c.batchAt(ctx, "v1.0", sameItems(240, "GET", "/groups/g%d/members?$select=id")); err != nil {
		t.Fatal(err)
	}
	if got := int(most.Load()); got <= limit || got > readCalls {
		t.Errorf("reads: %d calls in flight at most, want more than %d and at most %d", got, limit, readCalls)
	}

	c, most = concurrentCalls(t)
	if _, err := c.batchAt(ctx, "v1.0", sameItems(240, "PATCH", "/groups/g%d")); err != nil {
		t.Fatal(err)
	}
	if got := int(most.Load()); got > limit {
		t.Errorf("writes: %d calls in flight at most, want at most %d", got, limit)
	}

	c, most = concurrentCalls(t)
	c.co.mu.Lock()
	c.co.pace.refill(time.Now(), 0)
	c.stats.Throttled.Add(1) // Graph said 429 once
	c.co.mu.Unlock()
	if _, err := c.batchAt(ctx, "v1.0", sameItems(240, "GET", "/groups/g%d/members?$select=id")); err != nil {
		t.Fatal(err)
	}
	if got := int(most.Load()); got > limit {
		t.Errorf("after a 429: %d calls in flight at most, want at most %d", got, limit)
	}
}

// The estimate prices requests as Microsoft's throttling guidance does.
func TestItemCost(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		want        float64
	}{
		{"GET", "/groups/g1/members?$select=id,displayName&$top=999", 2},
		{"GET", "/groups/g1/members", 3},
		{"GET", "/groups/g1/transitiveMembers?$select=id", 4},
		{"GET", "/users?$filter=x&$select=id", 1},
		{"GET", "/users", 2},
		{"GET", "/groups?$filter=x&$top=5", 1},
		{"GET", "/identityGovernance/entitlementManagement/accessPackages?$expand=resourceRoleScopes", 2},
		{"PATCH", "/groups/g1", 1},
	} {
		if got := itemCost(batchItem{Method: tc.method, URL: tc.url}); got != tc.want {
			t.Errorf("%s %s costs %v, want %v", tc.method, tc.url, got, tc.want)
		}
	}
}
