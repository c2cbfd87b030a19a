package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// Requests made at about the same time from many goroutines share $batch
// calls of up to 20, and each caller gets its own answer back.
func TestCoalescerPacksConcurrentRequests(t *testing.T) {
	var calls, items atomic.Int32
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, strings.TrimPrefix(r.URL.Path, "/v1.0/groups/"))
	})
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			calls.Add(1)
		}
		unbatch(inner).ServeHTTP(w, r)
	}))
	const n = 100
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.send(context.Background(), abs.GET, fmt.Sprintf("/groups/g%d", i), nil, nil)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = string(resp.Body)
		}()
	}
	wg.Wait()
	for i, b := range got {
		if want := fmt.Sprintf(`{"id":"g%d"}`, i); strings.TrimSpace(b) != want {
			t.Errorf("caller %d got %s, want %s", i, b, want)
		}
	}
	// 100 items need at least 5 calls; a lone request per call would be 100.
	if calls.Load() > 15 || items.Load() != n {
		t.Errorf("%d items in %d $batch calls, want %d items in at most 15 calls", items.Load(), calls.Load(), n)
	}
}

// An item whose caller gives up while it is still queued never reaches
// Graph, and says so (unsent), so a create may be tried again safely.
func TestCoalescerAbandonedItemIsNotSent(t *testing.T) {
	release := make(chan struct{})
	var sent atomic.Int32
	c := newTestClient(t, unbatch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		<-release
		w.WriteHeader(http.StatusNoContent)
	})))
	c.opts.Parallelism, c.opts.Concurrency = 1, 1
	// The first call takes the only slot and is held by the server.
	first := make(chan error, 1)
	go func() {
		_, err := c.send(context.Background(), abs.DELETE, "/groups/held", nil, nil)
		first <- err
	}()
	for sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []batchResult, 1)
	go func() {
		res, _ := c.co.send(ctx, "v1.0", []batchItem{{Method: "DELETE", URL: "/groups/queued"}})
		done <- res
	}()
	time.Sleep(20 * time.Millisecond) // queued behind the held call
	cancel()
	res := <-done
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a queued item would go out now
	if !res[0].unsent || res[0].lost == nil {
		t.Errorf("abandoned item: %+v, want unsent", res[0])
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("%d items reached the server, want only the held one", n)
	}
}

// An item already in a call when its caller gives up may have reached
// Graph: it is lost, never unsent, so a create is looked up before it is
// tried again.
func TestCoalescerAbandonedItemInFlightIsLost(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	c := newTestClient(t, unbatch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusCreated)
	})))
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []batchResult, 1)
	go func() {
		res, _ := c.co.send(createOnce(ctx), "v1.0", []batchItem{{Method: "POST", URL: "/identityGovernance/entitlementManagement/catalogs", Body: map[string]string{"displayName": "x"}}})
		done <- res
	}()
	<-arrived
	cancel()
	res := <-done
	if res[0].unsent || res[0].lost == nil {
		t.Errorf("in-flight item abandoned: %+v, want lost and not unsent", res[0])
	}
}

// A call shared by a caller that has already given up and one that has
// not lives until the second gives up too.
func TestSharedContextOutlivesACallerAlreadyGone(t *testing.T) {
	for range 100 {
		gone, cancelGone := context.WithCancel(context.Background())
		cancelGone()
		live, cancelLive := context.WithCancel(context.Background())
		ctx, stop := sharedContext([]*queued{{ctx: gone}, {ctx: live}})
		time.Sleep(time.Millisecond) // (the gone caller's AfterFunc runs now)
		if ctx.Err() != nil {
			t.Fatal("the shared call ended while a caller still waits")
		}
		cancelLive()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the shared call outlived every caller")
		}
		stop()
	}
}
