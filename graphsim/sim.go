package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a simulator.
type Options struct {
	// Fixture seeds the tenant; nil means an empty contoso.onmicrosoft.com
	// tenant. New panics if the fixture does not validate (LoadFixture and
	// DemoFixture always return valid fixtures).
	Fixture *Fixture
	// Seed makes generated ids, request ids and fault decisions
	// deterministic.
	Seed int64
	// Now is the simulator clock (replication lag, throttle buckets,
	// timestamps). Defaults to time.Now.
	Now func() time.Time
	// EnforceAuth requires a token the simulator issued on every Graph
	// request and the route's permission in its roles (auth.go); the
	// fixture's identity.enforce does the same.
	EnforceAuth bool
	// LightLog keeps the request log without request and response bodies:
	// for a simulator that serves for long (entrasync sim serve, --sim),
	// whose log no one reads, and that would otherwise keep every answer
	// it gave (a million-member plan's are a gigabyte).
	LightLog bool
}

// Sim is an in-memory Microsoft Graph tenant. It implements http.Handler and
// is safe for concurrent use.
type Sim struct {
	now    func() time.Time
	router *router
	idp    *idp // identity provider and enforcement (auth.go); own lock
	// lightLog: the log keeps no bodies (Options.LightLog).
	lightLog bool

	mu      sync.Mutex // guards everything below
	st      *store
	ids     splitmix // object ids
	reqs    splitmix // request ids
	faultR  splitmix // fault decisions
	faults  Faults
	ru      *bucket
	writes  *bucket
	scripts []*failRule
	log     []LogEntry
	delta   *deltaState // delta tokens' snapshots (delta.go); not saved with the state
}

// LogEntry records one HTTP request or one $batch sub-request.
type LogEntry struct {
	Method string
	// Path is the decoded request path including the version prefix
	// (e.g. /v1.0/groups/{id}/members/$ref); for $batch sub-requests the
	// batch's version prefix is prepended to the relative url.
	Path string
	// Query is the raw (still escaped) query string.
	Query  string
	Status int
	// Body is the request body (for sub-requests: the JSON "body" value).
	Body []byte
	// InBatch marks a $batch sub-request; BatchIndex is its position in the
	// batch's "requests" array and BatchID its "id". Batch is the index in
	// the log of the enclosing $batch entry.
	InBatch    bool
	Batch      int
	BatchIndex int
	BatchID    string
	// Write is true for POST/PATCH/PUT/DELETE.
	Write bool
	// Throttled is true when the simulator answered 429 (bucket or storm).
	Throttled bool
	// Dropped is true when the write was committed and the response dropped.
	// When a $batch answer is dropped, its entry and those of all its
	// sub-requests are marked: none of their answers arrived.
	Dropped bool
	// Injected is true when the status came from a fault (429, 5xx, FailNext)
	// rather than from the handler.
	Injected bool
	// RU is the resource-unit cost charged (0 for unrouted requests).
	RU        int
	RequestID string
	// ResponseBody is the body sent back (nil when none or dropped).
	ResponseBody []byte
}

// New builds a simulator. See Options.
func New(opts Options) *Sim {
	s, err := newSim(opts, opts.Fixture, nil)
	if err != nil {
		panic(err)
	}
	return s
}

func newSim(opts Options, f *Fixture, state *SimState) (*Sim, error) {
	if f == nil {
		f = &Fixture{Tenant: Tenant{Domain: "contoso.onmicrosoft.com"}}
	}
	s := &Sim{now: opts.Now, router: newRouter(), idp: newIDP(f.Identity, opts.EnforceAuth), lightLog: opts.LightLog}
	if s.now == nil {
		s.now = time.Now
	}
	seed := uint64(opts.Seed)
	s.ids = splitmix{state: seed ^ 0x1d5c0ffee}
	s.reqs = splitmix{state: seed ^ 0x7e9ae57}
	s.faultR = splitmix{state: seed ^ 0xfa017}
	if state != nil {
		s.ids.state, s.reqs.state, s.faultR.state = state.IDState, state.ReqState, state.FaultState
	}
	st, err := newStore(f, &s.ids)
	if err != nil {
		return nil, err
	}
	if state != nil && state.Seq > st.seq {
		st.seq = state.Seq
	}
	if state != nil && state.Delta != nil {
		s.delta = restoreDelta(state.Delta)
	}
	s.st = st
	return s, nil
}

// logged is a body as the log keeps it.
func (s *Sim) logged(body []byte) []byte {
	if s.lightLog {
		return nil
	}
	return body
}

// Log returns a copy of the request log.
func (s *Sim) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// ResetLog empties the request log.
func (s *Sim) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// TenantID returns the simulated tenant id.
func (s *Sim) TenantID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.tenant.ID
}

// Start serves the simulator on 127.0.0.1 with a random port. baseURL has no
// version suffix (append /v1.0 or /beta).
func (s *Sim) Start() (baseURL string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// reqCtx is one request (or $batch sub-request) being served.
type reqCtx struct {
	s         *Sim
	version   string // "v1.0" or "beta"
	method    string
	segs      []string // decoded path segments after the version
	rawQuery  string
	opts      []queryOpt // query options in order, decoded
	header    http.Header
	body      []byte
	base      string // scheme://host of the incoming request
	now       time.Time
	params    map[string]string
	inBatch   bool
	requestID string
	clientID  string
	caller    *caller // nil unless auth is enforced
	ru        int
	// dropMarked: a $batch sub-request matched a DropNext rule.
	dropMarked bool
}

// response is a fully buffered response.
type response struct {
	status    int
	header    http.Header
	body      []byte
	committed bool // a write was applied
	throttled bool
	injected  bool
}

const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func (c *reqCtx) jsonResp(status int, v any) *response {
	b, err := marshal(v)
	if err != nil {
		return c.errResp(500, "generalException", "serialization failed: "+err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", odataJSON)
	h.Set("OData-Version", "4.0")
	return &response{status: status, header: h, body: b}
}

func (c *reqCtx) noContent() *response {
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

func (c *reqCtx) textResp(s string) *response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	return &response{status: 200, header: h, body: []byte(s)}
}

// innerDate is the innerError.date format: real Graph omits the time zone.
func innerDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// errResp builds a Graph error body (concepts/errors.md, README §10).
func (c *reqCtx) errResp(status int, code, msg string) *response {
	body := object{{"error", object{
		{"code", code},
		{"message", msg},
		{"innerError", object{
			{"date", innerDate(c.now)},
			{"request-id", c.requestID},
			{"client-request-id", c.clientID},
		}},
	}}}
	b, _ := marshal(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &response{status: status, header: h, body: b}
}

func (c *reqCtx) badRequest(msg string) *response {
	return c.errResp(400, "Request_BadRequest", msg)
}

func (c *reqCtx) notFound(id string) *response {
	return c.errResp(404, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// throttled builds the 429 of examples/throttling-429.response.json.
func (c *reqCtx) throttledResp(retry time.Duration, scope, info string) *response {
	body := object{{"error", object{
		{"code", "TooManyRequests"},
		{"innerError", object{
			{"code", "429"},
			{"date", innerDate(c.now)},
			{"message", "Please retry after"},
			{"request-id", c.requestID},
			{"status", "429"},
			{"client-request-id", c.clientID},
		}},
		{"message", "Please retry again later."},
	}}}
	b, _ := marshal(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Retry-After", formatRetryAfter(retry))
	if scope != "" {
		h.Set("x-ms-throttle-scope", scope)
	}
	if info != "" {
		h.Set("x-ms-throttle-information", info)
	}
	return &response{status: 429, header: h, body: b, throttled: true, injected: true}
}

// formatRetryAfter renders seconds with up to millisecond precision
// ("0.25", "2.128", "3"); Graph sends fractional values (README §9).
func formatRetryAfter(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	s := strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveIdentity(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	s.mu.Lock()
	rid := s.reqs.uuid()
	f := s.faults
	idx := len(s.log)
	s.log = append(s.log, LogEntry{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Body: s.logged(body), Write: isWrite(r.Method), RequestID: rid,
	})
	s.mu.Unlock()

	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
		}
	}

	c := &reqCtx{
		s: s, method: strings.ToUpper(r.Method), rawQuery: r.URL.RawQuery,
		header: r.Header, body: body, base: baseOf(r), now: s.now().UTC(),
		requestID: rid, clientID: r.Header.Get("client-request-id"),
	}
	if c.clientID == "" {
		c.clientID = rid
	}
	var resp *response
	segs, err := splitPath(r.URL.EscapedPath())
	switch {
	case err != nil:
		resp = c.errResp(400, "BadRequest", "Invalid request URL.")
	case len(segs) == 0 || (segs[0] != "v1.0" && segs[0] != "beta"):
		v := ""
		if len(segs) > 0 {
			v = segs[0]
		}
		resp = c.errResp(400, "BadRequest", fmt.Sprintf("Invalid version: %s", v))
	default:
		c.version, c.segs = segs[0], segs[1:]
		if c.caller, resp = s.authenticate(c); resp != nil {
			break
		}
		if len(c.segs) == 1 && c.segs[0] == "$batch" {
			if c.method != http.MethodPost {
				resp = c.errResp(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
			} else {
				resp = s.serveBatch(c, idx)
			}
		} else {
			resp = s.handle(c)
		}
	}

	// Lost response: the write is committed, then the connection is closed
	// without an answer.
	drop := false
	if resp.committed {
		s.mu.Lock()
		drop = s.takeDrop(c)
		s.mu.Unlock()
	}
	s.mu.Lock()
	e := &s.log[idx]
	e.Status, e.Throttled, e.Injected, e.RU, e.Dropped = resp.status, resp.throttled, resp.injected, c.ru, drop
	if !drop {
		e.ResponseBody = s.logged(resp.body)
	} else {
		// A $batch answer lost is every sub-request's answer lost.
		for i := idx + 1; i < len(s.log); i++ {
			if sub := &s.log[i]; sub.InBatch && sub.Batch == idx {
				sub.Dropped, sub.ResponseBody = true, nil
			}
		}
	}
	s.mu.Unlock()
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}

	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("request-id", rid)
	h.Set("client-request-id", c.clientID)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

func isWrite(m string) bool {
	switch strings.ToUpper(m) {
	case "POST", "PATCH", "PUT", "DELETE":
		return true
	}
	return false
}

func baseOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	host := r.Host
	if host == "" {
		host = "graph.microsoft.com"
	}
	return scheme + "://" + host
}

// splitPath splits an escaped path into decoded segments. Segments are
// decoded individually so %2F and %23 (guest UPNs) survive.
func splitPath(p string) ([]string, error) {
	var out []string
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" {
			continue
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// handle routes and executes one request or sub-request: faults first
// (scripted, storm, throttle, 5xx), then the handler under the state lock.
func (s *Sim) handle(c *reqCtx) *response {
	rt, params, methodMismatch := s.router.match(c.method, c.segs)
	if rt == nil {
		if methodMismatch {
			return c.errResp(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
		}
		last := ""
		if len(c.segs) > 0 {
			last = c.segs[len(c.segs)-1]
		}
		return c.errResp(400, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", last))
	}
	c.params = params
	opts, err := parseQueryString(c.rawQuery)
	if err != nil {
		return c.errResp(400, "BadRequest", err.Error())
	}
	c.opts = opts
	c.ru = rt.cost(c)
	if r := s.authorize(c, rt); r != nil {
		return r
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := s.injectFault(c, rt)
	if resp == nil {
		resp = rt.h(c)
		if rt.write && resp.status < 300 {
			resp.committed = true
		}
	}
	resp.header.Set("x-ms-resource-unit", strconv.Itoa(c.ru))
	if pct := s.limitPercentage(); pct != "" {
		resp.header.Set("x-ms-throttle-limit-percentage", pct)
	}
	return resp
}

// readJSONObject decodes a request body that must be a JSON object. Graph
// requires Content-Type: application/json on bodies.
func (c *reqCtx) readJSONObject() (map[string]any, *response) {
	ct := c.header.Get("Content-Type")
	if len(bytes.TrimSpace(c.body)) == 0 || !strings.Contains(strings.ToLower(ct), "application/json") {
		return nil, c.errResp(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, c.errResp(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if dec.More() {
		return nil, c.errResp(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return m, nil
}

// visible reports whether an object/link created at t has replicated
// (Faults.ReplicationLag). Caller holds s.mu.
func (s *Sim) visible(c *reqCtx, t time.Time) bool {
	lag := s.faults.ReplicationLag
	return lag <= 0 || t.IsZero() || c.now.Sub(t) >= lag
}

// odataContext builds "<base>/<version>/$metadata#<fragment>".
func (c *reqCtx) context(fragment string) string {
	return c.base + "/" + c.version + "/$metadata#" + fragment
}
