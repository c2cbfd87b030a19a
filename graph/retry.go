package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// The retry layer (docs/architecture.md, rule 6). Retrying is bounded in
// time, not in attempts: a request that Graph throttles or answers with a
// transient error is sent again, after Retry-After or a jittered
// exponential backoff, for as long as the next wait still ends within the
// request's retry budget (Options.RetryBudget, measured from its first
// attempt). Two count bounds remain as backstops: Options.MaxRetries
// against a server that answers "Retry-After: 0" forever, and
// maxTimeoutRetries, so that a server that never answers surfaces after
// about three request timeouts.

// DefaultRetryBudget is how long one request (or one $batch item) is
// retried, from its first attempt, before entrasync gives up.
//
// Five minutes rides out the throttling Graph documents: its Retry-After
// values are seconds to a few minutes, and the identity and entitlement
// management limits are counted over windows of seconds to minutes, so a
// storm that a fixed 8 attempts could not outlast ends well inside it. It
// also leaves room for five backoff waits of the longest length (MaxWait,
// 60s) when Graph sends no Retry-After, and it is longer than three
// request timeouts (3 × 60s), so a dead endpoint is still reported by the
// timeout rule, with its own message. And it is short enough that a
// scheduled run against a tenant that stays throttled fails within minutes
// with the reason, instead of holding a CI job for its whole allowance.
const DefaultRetryBudget = 5 * time.Minute

// DefaultMaxRetries caps the retries of one request. It is not the budget
// (time is); it only stops a server that answers "Retry-After: 0" forever.
const DefaultMaxRetries = 100

// maxTimeoutRetries bounds the retries of a request whose attempts got no
// answer within the request timeout: three tries in all.
const maxTimeoutRetries = 2

// DefaultRequestTimeout bounds one attempt of a request. Graph answers
// within seconds; its own gateway gives up long before this.
const DefaultRequestTimeout = 60 * time.Second

// giveUp says why retrying stopped.
type giveUp int

const (
	keepTrying giveUp = iota
	budgetSpent
	attemptCap
	timedOut
)

// RetryError is a request that was retried and given up on: the next wait
// would have passed its retry budget, it reached the attempt cap, or it got
// no answer within the request timeout three times. It wraps the last
// answer (an *Error, so errors.As still finds Graph's status and code) or
// the last connection error.
type RetryError struct {
	Method, Path string
	// Attempts is how many times the request was sent.
	Attempts int
	// Elapsed runs from the first attempt to giving up; Waited is the part
	// of it spent waiting between attempts.
	Elapsed, Waited time.Duration
	// Budget is the retry budget of the request.
	Budget time.Duration
	// NextWait is the wait that would have passed the budget, and
	// RetryAfter whether Graph asked for it (else it is the backoff).
	NextWait   time.Duration
	RetryAfter bool
	// Timeout is the request timeout, when attempts got no answer in it.
	Timeout time.Duration
	// Last is the last answer or error.
	Last error

	why      giveUp
	timeouts int  // attempts that got no answer within Timeout
	shared   bool // the budget was that of the $batch items the request carried
}

func (e *RetryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: %s %s: ", e.Method, e.Path)
	if e.why == timedOut {
		fmt.Fprintf(&b, "no answer within %s, %d times (the request timeout; raise it with --request-timeout if Graph is slow, or check --graph-url and the network): %v",
			e.Timeout, e.timeouts, e.Last)
		return b.String()
	}
	var ge *Error
	if errors.As(e.Last, &ge) {
		b.WriteString(ge.answer())
	} else {
		fmt.Fprint(&b, e.Last)
	}
	fmt.Fprintf(&b, "; gave up after %d %s in %s (%s of it waiting)",
		e.Attempts, plural(e.Attempts, "attempt", "attempts"), e.Elapsed.Round(time.Millisecond), e.Waited.Round(time.Millisecond))
	switch e.why {
	case budgetSpent:
		what := "the backoff"
		if e.RetryAfter {
			what = "Graph's Retry-After"
		}
		fmt.Fprintf(&b, ": the next wait, %s (%s), would pass the retry budget of %s", e.NextWait.Round(time.Millisecond), what, e.Budget)
		if e.shared {
			b.WriteString(", shared with the $batch items it carries")
		}
	case attemptCap:
		fmt.Fprintf(&b, ": the limit of %d attempts, within the retry budget of %s", e.Attempts, e.Budget)
	}
	return b.String()
}

func (e *RetryError) Unwrap() error { return e.Last }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// retryState is one request's retry bookkeeping. Its attempts run one after
// another, so it needs no lock.
type retryState struct {
	start    time.Time
	deadline time.Time // start + budget, or earlier (a $batch item's)
	attempts int
	timeouts int
	waited   time.Duration
	next     time.Duration // the wait checkRetry chose, for Backoff
	// Why retrying stopped, and the wait that was not taken.
	why        giveUp
	nextWait   time.Duration
	retryAfter bool
}

type retryDeadlineKey struct{}

// withRetryDeadline makes the requests sent with ctx give up retrying at t
// at the latest: the $batch posts of a chunk share the budget of the items
// they carry.
func withRetryDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, retryDeadlineKey{}, t)
}

// retryDeadline is the time a request started now stops retrying at.
func (c *Client) retryDeadline(ctx context.Context, start time.Time) time.Time {
	d := start.Add(c.opts.RetryBudget)
	if t, ok := ctx.Value(retryDeadlineKey{}).(time.Time); ok && t.Before(d) {
		return t
	}
	return d
}

// retryTransport runs each request through its own go-retryablehttp
// client, so the retry policy sees that request's state (its start, its
// attempts, its timeouts) however it was sent: raw (c.do) or through
// msgraph-sdk-go. base sends one attempt with the request timeout and
// counts it.
type retryTransport struct {
	c    *Client
	base *http.Client
}

func (t *retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := t.c
	if isWrite(r) && r.Context().Value(unpacedKey{}) == nil {
		// Outside the retry budget and the request timeout: waiting for a
		// slot is the run's pacing, not Graph being slow.
		if err := c.writes.acquire(r.Context()); err != nil {
			return nil, err
		}
		defer c.writes.release()
	}
	now := time.Now()
	st := &retryState{start: now, deadline: c.retryDeadline(r.Context(), now)}
	rc := &retryablehttp.Client{
		HTTPClient:   t.base,
		RetryWaitMin: c.opts.MinWait,
		RetryWaitMax: c.opts.MaxWait,
		// checkRetry stops at MaxRetries; this is only a second fence.
		RetryMax: c.opts.MaxRetries + 1,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			return c.checkRetry(ctx, st, resp, err)
		},
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return st.next },
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			st.attempts = attempt + 1
			if attempt > 0 {
				c.stats.Retries.Add(1)
				c.log.Debug("graph: retrying", "method", r.Method, "path", r.URL.Path, "attempt", attempt, "elapsed", time.Since(st.start).Round(time.Millisecond))
			}
		},
	}
	req, err := retryablehttp.FromRequest(r)
	if err != nil {
		return nil, err
	}
	resp, err := rc.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		// The outer http.Client wraps it again.
		err = ue.Err
	}
	if st.why == keepTrying {
		return resp, err
	}
	path := c.shortPath(r.URL.String())
	re := &RetryError{Method: r.Method, Path: path, Attempts: st.attempts, Elapsed: time.Since(st.start), Waited: st.waited,
		Budget: c.opts.RetryBudget, NextWait: st.nextWait, RetryAfter: st.retryAfter, Last: err, why: st.why}
	re.shared = st.deadline.Before(st.start.Add(c.opts.RetryBudget))
	if st.why == timedOut {
		re.Timeout, re.timeouts = c.opts.RequestTimeout, st.timeouts
	}
	if resp != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		re.Last = newError(r.Method, path, resp.StatusCode, body, resp.Header.Get("request-id"))
	}
	if re.Last == nil {
		re.Last = errors.New("no answer")
	}
	c.log.Debug("graph: giving up", "method", r.Method, "path", r.URL.Path, "attempts", re.Attempts, "elapsed", re.Elapsed.Round(time.Millisecond))
	return nil, re
}

// checkRetry retries throttling, transient server errors and lost
// connections, and nothing else, while the next wait ends within the
// request's retry budget. It chooses that wait (Backoff returns it) and
// accounts it in Stats.
func (c *Client) checkRetry(ctx context.Context, st *retryState, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if !c.retryable(ctx, resp, err) {
		return false, nil
	}
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)) {
		// An attempt that got no answer within the request timeout: a
		// server that accepts connections and never answers would
		// otherwise cost the whole budget. Two more tries.
		if st.timeouts++; st.timeouts > maxTimeoutRetries {
			st.why = timedOut
			return false, nil
		}
	}
	if st.attempts > c.opts.MaxRetries {
		st.why = attemptCap
		return false, nil
	}
	var retryAfter string
	if resp != nil {
		retryAfter = resp.Header.Get("Retry-After")
	}
	d, fromHeader := c.wait(retryAfter, st.attempts-1)
	if time.Now().Add(d).After(st.deadline) {
		// Sleeping past the budget only to fail after it: fail now.
		st.why, st.nextWait, st.retryAfter = budgetSpent, d, fromHeader
		return false, nil
	}
	st.next = d
	st.waited += d
	c.stats.WaitNanos.Add(int64(d))
	reportWait(ctx, waitOf(resp, d, fromHeader))
	return true, nil
}

// retryable says whether an answer or error may be retried at all.
func (c *Client) retryable(ctx context.Context, resp *http.Response, err error) bool {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		c.stats.Throttled.Add(1)
	}
	if isCreateOnce(ctx) && !retryCreate(resp, err) {
		return false
	}
	if err != nil {
		// Connection-level failures (including a response lost after the
		// server committed a write) are retried: see the package comment for
		// why every write is safe to repeat. DefaultRetryPolicy refuses the
		// hopeless ones (bad scheme, TLS certificate errors).
		ok, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err)
		return ok
	}
	return retryableStatus(resp.StatusCode)
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// wait computes one wait from a Retry-After value ("" when absent) and the
// retry number (0 for the first retry), and says whether it is Graph's. A
// Retry-After is honoured as given: retrying earlier only meets another 429,
// and the retry budget, not MaxWait, bounds how long entrasync waits in all.
// Without one, the wait is a jittered exponential backoff within
// [MinWait/2, MaxWait].
func (c *Client) wait(retryAfter string, attempt int) (time.Duration, bool) {
	if d, ok := ParseRetryAfter(retryAfter, time.Now()); ok {
		return d, true
	}
	return c.backoff(attempt), false
}

// backoff is the jittered exponential wait before retry number attempt.
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.opts.MinWait << min(max(attempt, 0), 16)
	ceiling = min(ceiling, c.opts.MaxWait)
	// "Full jitter": a uniform wait in [ceiling/2, ceiling).
	half := ceiling / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
