package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// The retry budget is time, not a count of attempts: these tests use small
// budgets and never assert wall time beyond "it did not hang".

func newBudgetClient(t *testing.T, h http.Handler, opts Options) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL
	if opts.MinWait == 0 {
		opts.MinWait = time.Millisecond
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 20 * time.Millisecond
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storm answers 429 with a Retry-After to the first n calls (every call
// when n < 0), then 200.
type storm struct {
	n          int32
	retryAfter string
	status     int // 429 unless set
	calls      atomic.Int32
}

func (s *storm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := s.calls.Add(1) - 1
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", fmt.Sprintf("req-%d", i))
	if s.n < 0 || i < s.n {
		status := orDefault(s.status, http.StatusTooManyRequests)
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"inner-%d"}}}`, i)
		return
	}
	io.WriteString(w, `{"value":[]}`)
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// The reported problem: a storm longer than the old 8 attempts, with
// Retry-After, is ridden out within the budget.
func TestRetryBudgetRidesOutAStormLongerThanEightAttempts(t *testing.T) {
	s := &storm{n: 12, retryAfter: "0.005"}
	c := newBudgetClient(t, s, Options{RetryBudget: 3 * time.Second})
	if _, err := c.do(context.Background(), abs.GET, "/groups", nil, nil); err != nil {
		t.Fatalf("err = %v, want the storm ridden out", err)
	}
	if got := s.calls.Load(); got != 13 {
		t.Errorf("calls = %d, want 13", got)
	}
	st := c.Stats().Snapshot()
	if st.Requests != 13 || st.Retries != 12 || st.Throttled != 12 {
		t.Errorf("stats = %+v, want 13 requests, 12 retries, 12 throttled", st)
	}
	if st.Waiting < 12*5*time.Millisecond {
		t.Errorf("waited %v, want at least the twelve Retry-After values (60ms)", st.Waiting)
	}
}

// When the next wait would pass the budget, the request fails with an error
// naming the attempts, the time waited, the last status, Graph's code and
// the request-id; the last answer is still an *Error.
func TestRetryBudgetExceeded(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantWhat   string
	}{
		{name: "429 with Retry-After", status: 429, retryAfter: "0.04", wantWhat: "(Graph's Retry-After)"},
		{name: "503 with backoff", status: 503, wantWhat: "(the backoff)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &storm{n: -1, status: tt.status, retryAfter: tt.retryAfter}
			c := newBudgetClient(t, s, Options{RetryBudget: 300 * time.Millisecond, MaxWait: 40 * time.Millisecond})
			begin := time.Now()
			_, err := c.do(context.Background(), abs.GET, "/groups", nil, nil)
			if d := time.Since(begin); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			var re *RetryError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RetryError", err)
			}
			calls := int(s.calls.Load())
			if re.Attempts != calls || calls < 3 {
				t.Errorf("attempts = %d, calls = %d, want equal and several", re.Attempts, calls)
			}
			if re.Waited <= 0 || re.Waited > 300*time.Millisecond || re.Elapsed < re.Waited {
				t.Errorf("waited %v in %v, want within the 300ms budget", re.Waited, re.Elapsed)
			}
			if st := c.Stats().Snapshot(); st.Waiting != re.Waited || st.Retries != int64(calls-1) {
				t.Errorf("stats = %+v, want waiting %v and %d retries", st, re.Waited, calls-1)
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != tt.status {
				t.Errorf("errors.As(*Error) = %v, want status %d", ge, tt.status)
			}
			for _, want := range []string{
				"graph: GET /v1.0/groups: ",
				fmt.Sprintf("%d TooManyRequests: slow down (request-id inner-%d)", tt.status, calls-1),
				fmt.Sprintf("gave up after %d attempts in ", calls),
				"of it waiting",
				tt.wantWhat + ", would pass the retry budget of 300ms",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

// A Retry-After longer than what is left of the budget ends the request at
// once: sleeping past the budget only to fail after it helps nobody.
func TestRetryAfterBeyondBudgetFailsFast(t *testing.T) {
	s := &storm{n: -1, retryAfter: "30"}
	c := newBudgetClient(t, s, Options{RetryBudget: 300 * time.Millisecond})
	begin := time.Now()
	_, err := c.do(context.Background(), abs.GET, "/groups", nil, nil)
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("took %v: it slept into the Retry-After", d)
	}
	if !strings.Contains(err.Error(), "gave up after 1 attempt in ") ||
		!strings.Contains(err.Error(), "the next wait, 30s (Graph's Retry-After), would pass the retry budget of 300ms") {
		t.Errorf("err = %v", err)
	}
	if s.calls.Load() != 1 || c.Stats().Snapshot().Waiting != 0 {
		t.Errorf("calls = %d, stats %+v: want one call and no wait", s.calls.Load(), c.Stats().Snapshot())
	}
}

// A server that answers "Retry-After: 0" forever is stopped by the attempt
// cap, the backstop behind the budget.
func TestRetryAttemptCapIsABackstop(t *testing.T) {
	s := &storm{n: -1, retryAfter: "0"}
	c := newBudgetClient(t, s, Options{RetryBudget: time.Minute})
	_, err := c.do(context.Background(), abs.GET, "/groups", nil, nil)
	if got := s.calls.Load(); got != DefaultMaxRetries+1 {
		t.Errorf("calls = %d, want %d", got, DefaultMaxRetries+1)
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the limit of %d attempts", DefaultMaxRetries+1)) {
		t.Errorf("err = %v", err)
	}
}

// Typed requests built by msgraph-sdk-go and sent as $batch items have the
// same budget and the same error as raw ones, and the error names the item.
func TestRetryBudgetOnTypedCalls(t *testing.T) {
	s := &storm{n: -1, retryAfter: "0.05"}
	c := newBudgetClient(t, s, Options{RetryBudget: 200 * time.Millisecond})
	_, err := c.GroupExists(context.Background(), "g1")
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != int(s.calls.Load()) || !strings.Contains(err.Error(), "graph: GET /v1.0/groups/g1?%24select=id, in a $batch call: ") ||
		!strings.Contains(err.Error(), "would pass the retry budget of 200ms") {
		t.Fatalf("err = %v, want a *RetryError", err)
	}
	if IsNotFound(err) {
		t.Error("a throttled request is not a 404")
	}
}

// Typed calls also get at most three timed-out attempts, with the default
// budget and attempt cap: a dead server surfaces after about three request
// timeouts.
func TestDeadConnectionTimesOutOnTypedCalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	c, err := New(Options{BaseURL: "http://" + ln.Addr().String(), RequestTimeout: 150 * time.Millisecond, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.GroupExists(context.Background(), "g1")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "graph: GET /v1.0/groups/g1") || !strings.Contains(err.Error(), "no answer within 150ms, 3 times (the request timeout") {
			t.Errorf("err = %v, want a timeout", err)
		}
		if got := c.Stats().Snapshot().Requests; got != 3 {
			t.Errorf("%d attempts, want 3", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request still hangs after 10 s")
	}
}

// batchServer answers $batch requests; answer returns each item's status
// and Retry-After for round r (counted from 0 across all chunks), or
// drop=true to close the connection without an answer.
type batchServer struct {
	mu     sync.Mutex
	rounds [][]string
	answer func(round int, id string) (status int, retryAfter string)
	drop   func(round int, ids []string) bool
}

func (b *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []batchItem `json:"requests"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	var ids []string
	for _, it := range req.Requests {
		ids = append(ids, it.ID)
	}
	b.mu.Lock()
	round := len(b.rounds)
	b.rounds = append(b.rounds, ids)
	b.mu.Unlock()
	if b.drop != nil && b.drop(round, ids) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the answer is lost
		}
		return
	}
	var resp struct {
		Responses []map[string]any `json:"responses"`
	}
	for _, id := range ids {
		status, ra := b.answer(round, id)
		headers := map[string]string{"request-id": "item-" + id + "-" + fmt.Sprint(round)}
		if ra != "" {
			headers["Retry-After"] = ra
		}
		var body any = map[string]any{"id": "made-" + id}
		if status >= 400 {
			body = map[string]any{"error": map[string]any{"code": fmt.Sprintf("Code%d", status), "message": "no"}}
		}
		resp.Responses = append(resp.Responses, map[string]any{"id": id, "status": status, "headers": headers, "body": body})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (b *batchServer) sent() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rounds)
}

// $batch items ride out a storm of more stalled rounds than the old bound,
// within the budget, and Stats count their waits.
func TestBatchItemsRideOutAStormWithinBudget(t *testing.T) {
	b := &batchServer{answer: func(round int, _ string) (int, string) {
		if round < 12 {
			return 429, "0.002"
		}
		return 204, ""
	}}
	c := newBudgetClient(t, b, Options{RetryBudget: 3 * time.Second, MaxWait: 10 * time.Millisecond})
	results, err := c.batch(context.Background(), make([]batchItem, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != 204 {
			t.Errorf("item %d: %d", i, r.Status)
		}
	}
	if n := len(b.sent()); n != 13 {
		t.Errorf("rounds = %d, want 13", n)
	}
	st := c.Stats().Snapshot()
	if st.Throttled != 36 || st.Retries != 36 || st.Waiting < 12*2*time.Millisecond {
		t.Errorf("stats = %+v, want 36 throttled, 36 retries, at least 24ms waiting", st)
	}
}

// When the budget runs out, the items keep their last answer, and their
// error says how many rounds they were sent in, how long they waited, the
// status and the item's request-id.
func TestBatchItemsGiveUpAtBudget(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		maxRounds  int // 1: fails fast, no wait
		want       string
	}{
		{name: "budget spent", retryAfter: "0.04", want: "(Graph's Retry-After), would pass the retry budget of 300ms"},
		{name: "Retry-After beyond budget", retryAfter: "30", maxRounds: 1, want: "the next wait, 30s (Graph's Retry-After), would pass the retry budget of 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batchServer{answer: func(int, string) (int, string) { return 429, tt.retryAfter }}
			c := newBudgetClient(t, b, Options{RetryBudget: 300 * time.Millisecond, MaxWait: 5 * time.Millisecond})
			items := []batchItem{{Method: "DELETE", URL: "/groups/g/members/a/$ref"}, {Method: "DELETE", URL: "/groups/g/members/b/$ref"}}
			begin := time.Now()
			err := c.batchWrites(context.Background(), items, isRefGone)
			if d := time.Since(begin); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			rounds := len(b.sent())
			if tt.maxRounds > 0 && rounds > tt.maxRounds {
				t.Errorf("rounds = %d, want %d", rounds, tt.maxRounds)
			}
			if tt.maxRounds == 0 && rounds < 3 {
				t.Errorf("rounds = %d, want several", rounds)
			}
			var re *RetryError
			if !errors.As(err, &re) || re.Attempts != rounds || re.Waited > 300*time.Millisecond {
				t.Fatalf("err = %v (%+v), want a *RetryError of %d attempts", err, re, rounds)
			}
			if got := c.Stats().Snapshot().Waiting; got != re.Waited {
				t.Errorf("stats waiting %v, error says %v", got, re.Waited)
			}
			for _, want := range []string{
				"graph: DELETE /v1.0/groups/g/members/a/$ref: 429 Code429: no (request-id item-0-" + fmt.Sprint(rounds-1) + ")",
				fmt.Sprintf("gave up after %d %s in ", rounds, plural(rounds, "attempt", "attempts")),
				tt.want,
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

// An idempotent $batch whose whole answer is lost is sent again by the
// transport, as before.
func TestBatchLostAnswerOfIdempotentItemsIsResent(t *testing.T) {
	b := &batchServer{
		answer: func(int, string) (int, string) { return 204, "" },
		drop:   func(round int, _ []string) bool { return round == 0 },
	}
	c := newBudgetClient(t, b, Options{RetryBudget: 3 * time.Second})
	if err := c.RemoveMembers(context.Background(), "g", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b.sent()); got != "[[0 1] [0 1]]" {
		t.Errorf("rounds = %s, want the lost $batch sent again", got)
	}
}

// The reported problem's second half: a lost answer to one assignment
// $batch does not fail the whole set. Its items alone are ErrMaybeCreated
// (and not sent again); the other chunk's items were made.
func TestBatchLostAnswerOfCreatesFailsOnlyItsItems(t *testing.T) {
	b := &batchServer{
		answer: func(int, string) (int, string) { return 201, "" },
		drop:   func(_ int, ids []string) bool { return len(ids) == 5 }, // the second call: items 20..24
	}
	c := newBudgetClient(t, b, Options{RetryBudget: 3 * time.Second})
	ops := make([]AssignmentOp, 25)
	for i := range ops {
		ops[i] = AssignmentOp{TargetID: fmt.Sprint("u", i), PolicyID: "p"}
	}
	err := c.RequestAssignments(context.Background(), "pkg", ops)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrMaybeCreated) {
		t.Fatalf("err = %v, want a *BatchError with ErrMaybeCreated", err)
	}
	if got := fmt.Sprint(be.MaybeCreated()); got != "[20 21 22 23 24]" || len(be.Items) != 5 {
		t.Errorf("maybe created = %s (%d items), want the lost chunk's five", got, len(be.Items))
	}
	if !strings.Contains(err.Error(), "5 of 25 requests got an ambiguous answer and were not sent again") || !strings.Contains(err.Error(), "the other 20 were made") {
		t.Errorf("err = %v", err)
	}
	if n := len(b.sent()); n != 2 {
		t.Errorf("%d $batch requests, want 2: the lost one is not sent again", n)
	}
}

// Within one chunk: what was answered stays answered when a later round's
// answer is lost. Only the items of that round are ErrMaybeCreated, with
// the 504 ones; a refused item is its refusal; the rest were made.
func TestBatchMixedOutcomesOfCreates(t *testing.T) {
	b := &batchServer{
		answer: func(round int, id string) (int, string) {
			switch {
			case round == 0 && id == "1":
				return 429, "0.005"
			case round == 0 && id == "2":
				return 504, ""
			case round == 0 && id == "3":
				return 400, ""
			}
			return 201, ""
		},
		drop: func(round int, _ []string) bool { return round == 1 },
	}
	c := newBudgetClient(t, b, Options{RetryBudget: 3 * time.Second})
	err := c.RequestAssignments(context.Background(), "pkg", make([]AssignmentOp, 5))
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BatchError", err)
	}
	if got := fmt.Sprint(b.sent()); got != "[[0 1 2 3 4] [1]]" {
		t.Errorf("rounds = %s, want all, then only the throttled one", got)
	}
	if got := fmt.Sprint(be.MaybeCreated()); got != "[1 2]" {
		t.Errorf("maybe created = %s, want [1 2]", got)
	}
	var ge *Error
	if len(be.Items) != 3 || be.Items[2].Index != 3 || !errors.As(be.Items[2].Err, &ge) || ge.Status != 400 || errors.Is(be.Items[2].Err, ErrMaybeCreated) {
		t.Errorf("items = %+v, want item 3 refused with its 400", be.Items)
	}
	for _, want := range []string{"1 of 5 requests failed: graph: POST", "2 of 5 requests got an ambiguous answer", "the other 2 were made"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
}

// A create Graph keeps throttling is not made: when the budget runs out it
// is a plain failure, not ErrMaybeCreated, whether the items or the whole
// $batch were throttled.
func TestBatchThrottledCreatesAreNotMaybeCreated(t *testing.T) {
	t.Run("items", func(t *testing.T) {
		b := &batchServer{answer: func(int, string) (int, string) { return 429, "0.05" }}
		c := newBudgetClient(t, b, Options{RetryBudget: 200 * time.Millisecond})
		err := c.RequestAssignments(context.Background(), "pkg", make([]AssignmentOp, 2))
		var re *RetryError
		if errors.Is(err, ErrMaybeCreated) || !errors.As(err, &re) || re.Attempts != len(b.sent()) {
			t.Errorf("err = %v, want a *RetryError and no ErrMaybeCreated", err)
		}
	})
	t.Run("whole batch", func(t *testing.T) {
		s := &storm{n: -1, retryAfter: "0.05"}
		c := newBudgetClient(t, s, Options{RetryBudget: 200 * time.Millisecond})
		err := c.RequestAssignments(context.Background(), "pkg", make([]AssignmentOp, 2))
		var re *RetryError
		if errors.Is(err, ErrMaybeCreated) || !errors.As(err, &re) || re.Attempts != int(s.calls.Load()) || re.Attempts < 2 {
			t.Errorf("err = %v, want a *RetryError and no ErrMaybeCreated", err)
		}
		if !strings.Contains(err.Error(), "shared with the $batch items it carries") {
			t.Errorf("err = %v, want it to say the budget was the items'", err)
		}
	})
}

// The run lease is never paced behind tenant writes: with every write slot
// held by a write Graph has not answered, the lease's renewal still goes out.
func TestLeaseWritesSkipTheWriteSlots(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Bool
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/groups/slow") {
			held.Store(true)
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server closes, so a failure does not hang
	c.writes = make(writeSlots, 1)
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		_, err := c.do(ctx, abs.PATCH, "/groups/slow", map[string]any{"description": "x"}, nil)
		done <- err
	}()
	for !held.Load() {
		time.Sleep(time.Millisecond)
	}
	lease := &Lease{c: c, ID: "lease", stop: make(chan struct{}), done: make(chan struct{})}
	close(lease.done) // no renewal loop: Release's DELETE is the lease write

	renewed := make(chan error, 1)
	go func() { renewed <- lease.Release(ctx) }()
	select {
	case err := <-renewed:
		if err != nil {
			t.Fatalf("lease write: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lease write waited for a write slot held by a tenant write")
	}
	// An ordinary write does wait for the slot.
	paced := make(chan error, 1)
	go func() {
		_, err := c.do(ctx, abs.PATCH, "/groups/other", map[string]any{"description": "y"}, nil)
		paced <- err
	}()
	select {
	case <-paced:
		t.Fatal("a tenant write went out while the only slot was held")
	case <-time.After(100 * time.Millisecond):
	}
	unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-paced; err != nil {
		t.Fatal(err)
	}
}
