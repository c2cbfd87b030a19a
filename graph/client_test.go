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

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2.128", 2128 * time.Millisecond, true}, // Graph sends fractional seconds
		{"120", 120 * time.Second, true},
		{" 0.25 ", 250 * time.Millisecond, true},
		{"Mon, 23 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0, true}, // in the past: retry now
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, ok := range []string{"https://graph.microsoft.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"} {
		if err := CheckBaseURL(ok); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"http://graph.example.com", "graph.microsoft.com", "ftp://127.0.0.1"} {
		if err := CheckBaseURL(bad); err == nil {
			t.Errorf("CheckBaseURL(%q) accepted a URL that would send tokens in clear text", bad)
		}
	}
}

// scripted is a fake Graph endpoint answering from a list of statuses.
type scripted struct {
	calls    atomic.Int32
	statuses []int
	header   http.Header
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.calls.Add(1)) - 1
	status := s.statuses[min(i, len(s.statuses)-1)]
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", fmt.Sprintf("req-%d", i))
	w.WriteHeader(status)
	if status >= 400 {
		fmt.Fprintf(w, `{"error":{"code":"Code%d","message":"status %d","innerError":{"date":"2026-11-23T01:02:03","request-id":"inner-%d"}}}`, status, status, i)
		return
	}
	io.WriteString(w, `{"value":[]}`)
}

func newTestClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, MinWait: time.Millisecond, MaxWait: 50 * time.Millisecond, MaxRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		header    http.Header
		wantCalls int32
		wantErr   string
		throttled int64
	}{
		{name: "429 honours Retry-After then succeeds", statuses: []int{429, 429, 200}, header: http.Header{"Retry-After": {"0.01"}}, wantCalls: 3, throttled: 2},
		{name: "503 is retried", statuses: []int{503, 200}, wantCalls: 2},
		{name: "504 is retried", statuses: []int{504, 200}, wantCalls: 2},
		{name: "400 is never retried", statuses: []int{400}, wantCalls: 1, wantErr: "400 Code400: status 400 (request-id inner-0, date 2026-11-23T01:02:03)"},
		{name: "403 is never retried", statuses: []int{403}, wantCalls: 1, wantErr: "403 Code403"},
		{name: "404 is never retried", statuses: []int{404}, wantCalls: 1, wantErr: "404 Code404"},
		{name: "retries are bounded", statuses: []int{503}, wantCalls: 4, wantErr: "503 Code503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{statuses: tt.statuses, header: tt.header}
			c := newTestClient(t, s)
			_, err := c.do(context.Background(), abs.GET, "/groups", nil, nil)
			if got := s.calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != "" {
				var ge *Error
				if !errors.As(err, &ge) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want *Error containing %q", err, tt.wantErr)
				}
			}
			st := c.Stats().Snapshot()
			if st.Requests != int64(tt.wantCalls) || st.Retries != int64(tt.wantCalls-1) || st.Throttled != tt.throttled {
				t.Errorf("stats = %+v", st)
			}
			if tt.header != nil && st.Waiting < 20*time.Millisecond {
				t.Errorf("waited %v, want at least the two Retry-After values (20ms)", st.Waiting)
			}
		})
	}
}

// Graph throttles $batch items one by one inside a 200 answer; the client
// sends only the throttled items again, after their Retry-After.
func TestBatchRetriesOnlyFailedItems(t *testing.T) {
	var rounds [][]string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Requests []batchItem `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var ids []string
		var resp struct {
			Responses []map[string]any `json:"responses"`
		}
		for _, it := range req.Requests {
			ids = append(ids, it.ID)
			status := 200
			headers := map[string]string{}
			if len(rounds) == 0 && (it.ID == "1" || it.ID == "3") {
				status = 429
				headers["Retry-After"] = "0.02"
			}
			resp.Responses = append(resp.Responses, map[string]any{"id": it.ID, "status": status, "headers": headers, "body": map[string]any{"value": []any{}}})
		}
		rounds = append(rounds, ids)
		json.NewEncoder(w).Encode(resp)
	})
	c := newTestClient(t, h)
	items := make([]batchItem, 5)
	for i := range items {
		items[i] = batchItem{Method: "GET", URL: fmt.Sprintf("/groups?i=%d", i)}
	}
	results, err := c.batch(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rounds) != "[[0 1 2 3 4] [1 3]]" {
		t.Errorf("rounds = %v, want all five then the two throttled", rounds)
	}
	for i, r := range results {
		if r.Status != 200 {
			t.Errorf("item %d status %d", i, r.Status)
		}
	}
	if st := c.Stats().Snapshot(); st.Throttled != 2 || st.Retries != 2 || st.Waiting < 20*time.Millisecond {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchSplitsAtTwenty(t *testing.T) {
	var (
		mu    sync.Mutex
		sizes []int
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Requests []batchItem `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		resp := map[string][]map[string]any{"responses": {}}
		for _, it := range req.Requests {
			resp["responses"] = append(resp["responses"], map[string]any{"id": it.ID, "status": 204})
		}
		mu.Lock()
		sizes = append(sizes, len(req.Requests))
		mu.Unlock()
		json.NewEncoder(w).Encode(resp)
	})
	c := newTestClient(t, h)
	items := make([]batchItem, 45)
	for i := range items {
		items[i] = batchItem{Method: "DELETE", URL: "/x"}
	}
	if _, err := c.batch(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	slices.Sort(sizes) // the calls go in parallel
	if fmt.Sprint(sizes) != "[5 20 20]" {
		t.Errorf("batch sizes = %v", sizes)
	}
	if st := c.Stats().Snapshot(); st.Writes != 3 || st.Reads != 0 {
		t.Errorf("a $batch of deletes must count as a write: %+v", st)
	}
}

func TestFilterQueries(t *testing.T) {
	got := filterQueries("displayName", []string{"Bob's group", "A&B"}, "id")
	want := []string{"$filter=displayName%20in%20%28%27Bob%27%27s%20group%27%2C%27A%26B%27%29&$select=id&$top=999"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("filterQueries = %s\nwant            %s", got, want)
	}
	// At most 15 values per in(), and at most maxFilterLen encoded characters.
	var many, long []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("u%d@contoso.com", i))
		long = append(long, strings.Repeat("é", 100)+fmt.Sprint(i))
	}
	if n := len(filterQueries("mail", many, "id")); n != 3 {
		t.Errorf("40 values in %d queries, want 3", n)
	}
	for _, q := range filterQueries("displayName", long, "id") {
		f, _, _ := strings.Cut(strings.TrimPrefix(q, "$filter="), "&")
		if len(f) > maxFilterLen {
			t.Errorf("filter of %d encoded characters, limit %d", len(f), maxFilterLen)
		}
	}
}

// throttleAllBut answers a $batch with 429 for every item but the first
// `pass` of each round.
func throttleAllBut(pass int, rounds *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*rounds++
		var req struct {
			Requests []batchItem `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var resp struct {
			Responses []map[string]any `json:"responses"`
		}
		for i, it := range req.Requests {
			status, headers := 204, map[string]string{}
			if i >= pass {
				status, headers = 429, map[string]string{"Retry-After": "0.001"}
			}
			resp.Responses = append(resp.Responses, map[string]any{"id": it.ID, "status": status, "headers": headers})
		}
		json.NewEncoder(w).Encode(resp)
	})
}

// Rounds that let some items through do not count against the bound: 20
// items, one through per round, finish in 20 rounds with MaxRetries 3.
func TestBatchKeepsGoingWhileItemsGetThrough(t *testing.T) {
	rounds := 0
	c := newTestClient(t, throttleAllBut(1, &rounds))
	results, err := c.batch(context.Background(), make([]batchItem, 20))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != 204 {
			t.Fatalf("item %d: %d", i, r.Status)
		}
	}
	if rounds != 20 {
		t.Errorf("rounds = %d, want 20", rounds)
	}
}

// When nothing gets through, the batch gives up after MaxRetries stalled
// rounds and reports the items' 429s.
func TestBatchGivesUpWhenStalled(t *testing.T) {
	rounds := 0
	c := newTestClient(t, throttleAllBut(0, &rounds))
	results, err := c.batch(context.Background(), make([]batchItem, 3))
	if err != nil {
		t.Fatal(err)
	}
	if rounds != 1+3 || results[0].Status != 429 {
		t.Errorf("rounds = %d (want 4), status %d", rounds, results[0].Status)
	}
}

// Issue 12: a server that accepts the connection and never answers ends
// each attempt at the request timeout, and the run ends with an error that
// says so, instead of hanging.
func TestDeadConnectionTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
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
	c, err := New(Options{BaseURL: "http://" + ln.Addr().String(), RequestTimeout: 150 * time.Millisecond, MaxRetries: 8, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.do(context.Background(), abs.GET, "/groups", nil, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer within 150ms, 3 times (the request timeout") {
			t.Errorf("err = %v, want a timeout", err)
		}
		if got := c.Stats().Snapshot().Requests; got != 3 {
			t.Errorf("%d attempts, want 3: a request that times out is retried twice, not MaxRetries times", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request still hangs after 10 s")
	}
}

// Issue 12: a create inside $batch answered 504 (the server may have made
// it) is not sent again by the batch retry loop; the caller learns
// ErrMaybeCreated. A 429 is still retried: Graph did not process it.
func TestBatchNeverResendsAnAmbiguousCreate(t *testing.T) {
	var rounds [][]string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Requests []batchItem `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var ids []string
		var resp struct {
			Responses []map[string]any `json:"responses"`
		}
		for _, it := range req.Requests {
			ids = append(ids, it.ID)
			status := 201
			if len(rounds) == 0 {
				status = map[string]int{"0": 504, "1": 429}[it.ID]
				if status == 0 {
					status = 201
				}
			}
			resp.Responses = append(resp.Responses, map[string]any{"id": it.ID, "status": status, "headers": map[string]string{"Retry-After": "0.01"}, "body": map[string]any{}})
		}
		rounds = append(rounds, ids)
		json.NewEncoder(w).Encode(resp)
	})
	c := newTestClient(t, h)
	err := c.RequestAssignments(context.Background(), "pkg", []AssignmentOp{{TargetID: "a"}, {TargetID: "b"}, {TargetID: "c"}})
	if fmt.Sprint(rounds) != "[[0 1 2] [1]]" {
		t.Errorf("rounds = %v, want all three, then only the throttled one", rounds)
	}
	if !errors.Is(err, ErrMaybeCreated) || !strings.Contains(err.Error(), "1 of 3 requests got an ambiguous answer and were not sent again") {
		t.Errorf("err = %v, want ErrMaybeCreated naming the one ambiguous request", err)
	}
}

// unbatch serves a $batch call by handing each sub-request to h as the
// plain request Graph would have seen (its method, versioned URL, headers
// and body), and answers with h's responses. Tests written against plain
// requests keep checking the request entrasync makes, whether or not the
// coalescer carried it in a $batch.
func unbatch(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version, ok := strings.CutSuffix(r.URL.Path, "/$batch")
		if !ok || r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		var in struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
				Body    json.RawMessage   `json:"body"`
			} `json:"requests"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type sub struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers,omitempty"`
			Body    json.RawMessage   `json:"body,omitempty"`
		}
		var out struct {
			Responses []sub `json:"responses"`
		}
		for _, s := range in.Requests {
			req := httptest.NewRequest(s.Method, version+s.URL, strings.NewReader(string(s.Body)))
			for k, v := range s.Headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			resp := sub{ID: s.ID, Status: rec.Code, Headers: map[string]string{}}
			for k := range rec.Header() {
				resp.Headers[k] = rec.Header().Get(k)
			}
			if b := rec.Body.Bytes(); json.Valid(b) {
				resp.Body = b
			}
			out.Responses = append(out.Responses, resp)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}
