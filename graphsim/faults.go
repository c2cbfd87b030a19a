package graphsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Faults are runtime-switchable failure modes. The zero value disables all
// of them. Random decisions come from a PRNG seeded by Options.Seed, so a
// given seed and request sequence always fails the same way.
type Faults struct {
	// Latency is added to every HTTP request (not per $batch sub-request).
	Latency time.Duration

	// ThrottleRU enables the resource-unit token bucket (README §9): a bucket
	// of ThrottleRU units refilled continuously over ThrottleWindow (default
	// 10 s). Graph's tiers are 3,500 / 5,000 / 8,000 RU per 10 s; tests can
	// use a small window to run fast.
	ThrottleRU     int
	ThrottleWindow time.Duration
	// WriteQuota enables the write bucket: WriteQuota writes per WriteWindow
	// (default 150 s; Graph: 3,000 per 2 min 30 s).
	WriteQuota  int
	WriteWindow time.Duration

	// StormRate throttles this fraction of requests regardless of the bucket,
	// answering 429 with Retry-After StormRetryAfter (default 250 ms).
	StormRate       float64
	StormRetryAfter time.Duration

	// ServerErrorRate answers this fraction of requests with a 5xx chosen
	// among 503 serviceNotAvailable (half of them with Retry-After
	// ServerErrorRetryAfter, default 100 ms), 500 generalException and 504
	// gatewayTimeout. Nothing is committed.
	ServerErrorRate       float64
	ServerErrorRetryAfter time.Duration

	// DropResponseRate: this fraction of committed writes (including a
	// $batch that committed any write) lose their response — the
	// connection is closed without an answer.
	DropResponseRate float64

	// ReplicationLag hides objects and memberships younger than the lag
	// from reads (GET by id or alternate key, lists, $filter, getByIds).
	ReplicationLag time.Duration

	// DeliveryDelay is how long an entitlement-management assignment
	// request takes from submitted to delivered (submitted for the first
	// half, delivering for the second). 0 delivers on the next request.
	DeliveryDelay time.Duration
	// MissingMembershipCount: the next N deliveries of packages that grant
	// group roles are reported delivered without creating the group
	// memberships (repaired by POST /assignments/{id}/reprocess).
	// MissingMembershipRate does the same for that fraction of deliveries.
	MissingMembershipCount int
	MissingMembershipRate  float64

	// DeltaGone answers every delta round that presents a token with 410
	// Gone and a Location to restart from (README §4). DeltaReplay sends
	// every object of a delta round twice (delta.go).
	DeltaGone   bool
	DeltaReplay bool
	// DeltaUnselectable lists properties a delta query's $select may not
	// name: the first request naming one is 400 Request_UnsupportedQuery,
	// as Graph answers a property its delta does not track.
	DeltaUnselectable []string
}

// SetFaults replaces the fault configuration. Throttle buckets are reset
// (full) whenever their quota or window changes.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.faults
	s.faults = f
	now := s.now()
	if f.ThrottleRU <= 0 {
		s.ru = nil
	} else if s.ru == nil || old.ThrottleRU != f.ThrottleRU || old.ThrottleWindow != f.ThrottleWindow {
		s.ru = newBucket(f.ThrottleRU, orDefault(f.ThrottleWindow, 10*time.Second), now)
	}
	if f.WriteQuota <= 0 {
		s.writes = nil
	} else if s.writes == nil || old.WriteQuota != f.WriteQuota || old.WriteWindow != f.WriteWindow {
		s.writes = newBucket(f.WriteQuota, orDefault(f.WriteWindow, 150*time.Second), now)
	}
}

// Faults returns the current fault configuration.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// failRule is a scripted failure.
type failRule struct {
	method     string
	pattern    []string
	prefix     bool
	status     int
	count      int
	drop       bool
	retryAfter time.Duration
}

// FailNext makes the next count requests matching method and path answer
// status without executing. method "" or "*" matches any method. path is
// matched against the path after the version prefix (a leading /v1.0 or
// /beta in path is ignored): with no wildcard it is a segment-wise prefix
// ("/groups" matches "/groups/{id}/members/$ref"); '*' matches exactly one
// segment and a trailing "**" any remainder, e.g. "/groups/*/members/$ref".
// $batch sub-requests are matched by their own method and url. 429 and 503
// carry Retry-After: 0.1.
func (s *Sim) FailNext(method, path string, status, count int) {
	s.addRule(method, path, count, func(r *failRule) { r.status = status; r.retryAfter = 100 * time.Millisecond })
}

// DropNext commits the next count matching writes and then drops their
// responses (the connection is closed), like DropResponseRate but scripted.
// Only top-level HTTP requests can be dropped; a matching $batch sub-request
// drops the whole batch response.
func (s *Sim) DropNext(method, path string, count int) {
	s.addRule(method, path, count, func(r *failRule) { r.drop = true })
}

func (s *Sim) addRule(method, path string, count int, set func(*failRule)) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > 0 && (segs[0] == "v1.0" || segs[0] == "beta") {
		segs = segs[1:]
	}
	r := &failRule{method: strings.ToUpper(method), pattern: segs, count: count}
	r.prefix = !strings.Contains(path, "*")
	set(r)
	s.mu.Lock()
	s.scripts = append(s.scripts, r)
	s.mu.Unlock()
}

func (r *failRule) matches(method string, segs []string) bool {
	if r.method != "" && r.method != "*" && r.method != method {
		return false
	}
	pat := r.pattern
	if len(pat) == 1 && pat[0] == "" {
		pat = nil
	}
	for i, p := range pat {
		if p == "**" {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if p != "*" && !strings.EqualFold(p, segs[i]) {
			return false
		}
	}
	return r.prefix || len(segs) == len(pat)
}

// takeRule consumes one matching scripted rule. Caller holds s.mu.
func (s *Sim) takeRule(c *reqCtx, drop bool) *failRule {
	for i, r := range s.scripts {
		if r.drop != drop || !r.matches(c.method, c.segs) {
			continue
		}
		r.count--
		if r.count <= 0 {
			s.scripts = append(s.scripts[:i:i], s.scripts[i+1:]...)
		}
		return r
	}
	return nil
}

// bucket is a continuously refilled token bucket.
type bucket struct {
	capacity float64
	tokens   float64
	rate     float64 // tokens per second
	last     time.Time
}

func newBucket(capacity int, window time.Duration, now time.Time) *bucket {
	return &bucket{capacity: float64(capacity), tokens: float64(capacity), rate: float64(capacity) / window.Seconds(), last: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.capacity, b.tokens+el*b.rate)
	}
	b.last = now
}

// wait returns how long until cost tokens are available (0 = available).
func (b *bucket) wait(now time.Time, cost float64) time.Duration {
	b.refill(now)
	cost = min(cost, b.capacity)
	if b.tokens >= cost {
		return 0
	}
	return time.Duration((cost - b.tokens) / b.rate * float64(time.Second))
}

// injectFault applies scripted failures, the 429 storm, the RU/write
// buckets and random 5xx, in that order. Caller holds s.mu.
func (s *Sim) injectFault(c *reqCtx, rt *route) *response {
	if r := s.takeRule(c, false); r != nil {
		return c.scriptedResp(r.status, r.retryAfter)
	}
	f := s.faults
	if f.StormRate > 0 && s.faultR.float() < f.StormRate {
		return c.throttledResp(orDefault(f.StormRetryAfter, 250*time.Millisecond), s.throttleScope("ReadWrite"), "CPULimitExceeded")
	}
	if s.ru != nil || (s.writes != nil && rt.write) {
		var wait time.Duration
		info, scope := "", ""
		if s.ru != nil {
			if w := s.ru.wait(c.now, float64(c.ru)); w > wait {
				wait, info, scope = w, "ResourceUnitLimitExceeded", "ReadWrite"
			}
		}
		if s.writes != nil && rt.write {
			if w := s.writes.wait(c.now, 1); w > wait {
				wait, info, scope = w, "WriteLimitExceeded", "Write"
			}
		}
		if wait > 0 {
			return c.throttledResp(wait, s.throttleScope(scope), info)
		}
		if s.ru != nil {
			s.ru.tokens -= min(float64(c.ru), s.ru.capacity)
		}
		if s.writes != nil && rt.write {
			s.writes.tokens--
		}
	}
	if f.ServerErrorRate > 0 && s.faultR.float() < f.ServerErrorRate {
		switch s.faultR.next() % 3 {
		case 0:
			ra := time.Duration(0)
			if s.faultR.next()%2 == 0 {
				ra = orDefault(f.ServerErrorRetryAfter, 100*time.Millisecond)
			}
			return c.scriptedResp(503, ra)
		case 1:
			return c.scriptedResp(500, 0)
		default:
			return c.scriptedResp(504, 0)
		}
	}
	return nil
}

// takeDrop decides whether a committed write loses its response. Caller
// holds s.mu.
func (s *Sim) takeDrop(c *reqCtx) bool {
	if s.takeRule(c, true) != nil || c.dropMarked {
		return true
	}
	return s.faults.DropResponseRate > 0 && s.faultR.float() < s.faults.DropResponseRate
}

func (s *Sim) throttleScope(kind string) string {
	return fmt.Sprintf("Tenant_Application/%s/%s/%s", kind, s.st.tenant.AppID, s.st.tenant.ID)
}

// limitPercentage reports x-ms-throttle-limit-percentage once usage of the
// RU bucket exceeds 80 %. Caller holds s.mu.
func (s *Sim) limitPercentage() string {
	if s.ru == nil {
		return ""
	}
	used := (s.ru.capacity - s.ru.tokens) / s.ru.capacity
	if used <= 0.8 {
		return ""
	}
	return fmt.Sprintf("%.1f", used)
}

// scriptedResp is the error body for an injected status.
func (c *reqCtx) scriptedResp(status int, retryAfter time.Duration) *response {
	var r *response
	switch status {
	case 429:
		r = c.throttledResp(retryAfter, "", "")
	case 500:
		r = c.errResp(500, "generalException", "General exception while processing.")
	case 502:
		r = c.errResp(502, "badGateway", "Bad gateway.")
	case 503:
		r = c.errResp(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		if retryAfter > 0 {
			r.header.Set("Retry-After", formatRetryAfter(retryAfter))
		}
	case 504:
		r = c.errResp(504, "gatewayTimeout", "The gateway did not receive a timely response.")
	case 400:
		r = c.badRequest("Injected failure.")
	case 403:
		r = c.errResp(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	case 404:
		r = c.errResp(404, "Request_ResourceNotFound", "Injected failure: resource does not exist or one of its queried reference-property objects are not present.")
	default:
		r = c.errResp(status, strings.ReplaceAll(http.StatusText(status), " ", ""), "Injected failure.")
	}
	r.injected = true
	return r
}
