package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// The client's requests meet in shared $batch calls (issue 13, "writes at
// the bound"). Every sub-request the client makes (a member chunk's PATCH,
// a $ref DELETE, a group's upsert and its look-up, a page of a read) is
// handed to the coalescer, which sends what goroutines hand it at about the
// same time in $batch calls of up to 20, whichever change or read phase each
// item belongs to. An apply of 200 new groups is then 10 calls of upserts and
// 30 of member adds, not 800 requests; the result of every item still goes
// back to the call that made it, so each write stays attributable to its
// change and is judged (and retried, within its budget) as before.
//
// At most max(Options.Parallelism, Concurrency) calls of each lane (below)
// are in flight, and calls of reads only beyond that, up to readCalls,
// while the estimate of Graph's resource-unit budget holds them (pacer.go);
// calls that write also wait for one of the client's Parallelism write
// slots (retry.go), so writes in flight stay bounded by --parallelism
// across lanes. A call is sent at once when 20
// items wait; otherwise the first item waits at most coalesceLinger for
// company. When a call comes back, the items queued behind it wait the same
// linger before a partial call leaves: the callers it answered are about to
// send their next requests (a group's member chunks after its upsert), and
// those fill the call. So under load the calls fill by themselves, and a
// lone request waits 5 ms, never a round trip.
//
// Items are grouped by what the $batch call they share must agree on: the
// API version, whether they are creates that must not be repeated
// (createOnce: the call's retry rule), and whether they keep the run
// itself going (unpaced: the run lease's requests skip the write slots).

// coalesceLinger is how long a queued item waits for others before its
// call goes out anyway. Measured on the Terraform-peer create (200 groups,
// 20 entitlement sets; TestZZ-style request counts, three runs each): 1 ms
// sent 88-102 calls, 5 ms 85-88, 10 ms 84-86; at Graph's latencies of a
// hundred milliseconds and more per call, 5 ms is a few percent a round.
const coalesceLinger = 5 * time.Millisecond

type coalesceKey struct {
	version    string
	createOnce bool
	unpaced    bool
}

// queued is one sub-request waiting for its $batch call, and then for its
// answer.
type queued struct {
	ctx  context.Context
	item batchItem
	res  batchResult
	err  error // the failure of the $batch call that carried it
	done chan struct{}
	// taken is set (under the coalescer's lock) when a call takes the item:
	// from then on it may reach Graph whatever its caller does.
	taken bool
}

type coalescer struct {
	c    *Client
	mu   sync.Mutex
	q    map[coalesceKey]*lane
	pace pacer
}

// lane is the queue and the calls in flight of one key.
type lane struct {
	key      coalesceKey
	waiting  []*queued
	inflight int
	timer    *time.Timer
}

func (co *coalescer) limit() int { return max(co.c.opts.Parallelism, co.c.opts.Concurrency, 1) }

// send hands items to the coalescer and waits for each one's answer. It
// returns one result per item, in order, and the first failure of a $batch
// call that carried one of them (its items' results say lost), as batch
// does. When ctx ends first, the items still queued are unsent and the ones
// already in a call are lost (see abandon).
func (co *coalescer) send(ctx context.Context, version string, items []batchItem) ([]batchResult, error) {
	key := coalesceKey{version: version, createOnce: isCreateOnce(ctx), unpaced: ctx.Value(unpacedKey{}) != nil}
	qs := make([]*queued, len(items))
	for i := range items {
		qs[i] = &queued{ctx: ctx, item: items[i], done: make(chan struct{})}
	}
	co.enqueue(key, qs)
	results := make([]batchResult, len(items))
	var firstErr error
	for i, q := range qs {
		select {
		case <-q.done:
			results[i] = q.res
			if q.err != nil && firstErr == nil {
				firstErr = q.err
			}
		case <-ctx.Done():
			results[i] = co.abandon(key, q)
			if firstErr == nil {
				firstErr = results[i].lost
			}
		}
	}
	return results, firstErr
}

// abandon is the result of an item whose caller stopped waiting. An item
// still queued is taken out and is unsent: Graph never saw it. One a call
// has taken may have been made (a create may have happened), so it is
// lost, not unsent, and the caller looks before it tries again.
func (co *coalescer) abandon(key coalesceKey, q *queued) batchResult {
	select {
	case <-q.done:
		return q.res // answered after all
	default:
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	err := fmt.Errorf("graph: $batch not sent: %w", q.ctx.Err())
	if q.taken {
		return batchResult{lost: fmt.Errorf("graph: gave up waiting for the $batch answer: %w", q.ctx.Err())}
	}
	if l := co.q[key]; l != nil {
		l.waiting = slices.DeleteFunc(l.waiting, func(w *queued) bool { return w == q })
	}
	return batchResult{lost: err, unsent: true}
}

func (co *coalescer) enqueue(key coalesceKey, qs []*queued) {
	co.mu.Lock()
	defer co.mu.Unlock()
	if co.q == nil {
		co.q = map[coalesceKey]*lane{}
	}
	l := co.q[key]
	if l == nil {
		l = &lane{key: key}
		co.q[key] = l
	}
	l.waiting = append(l.waiting, qs...)
	co.dispatch(l, false)
}

// dispatch sends calls from l while there are slots: full ones always,
// and a partial one when flush is set (the linger ran out). Otherwise it
// arms the linger. It runs under co.mu.
func (co *coalescer) dispatch(l *lane, flush bool) {
	co.pace.refill(time.Now(), co.c.stats.Throttled.Load())
	for len(l.waiting) > 0 {
		within := l.inflight < co.limit()
		if !within && (l.key.unpaced || l.key.createOnce || l.inflight >= readCalls) {
			return
		}
		if len(l.waiting) < maxBatch && !flush {
			if l.timer == nil {
				l.timer = time.AfterFunc(coalesceLinger, func() {
					co.mu.Lock()
					defer co.mu.Unlock()
					l.timer = nil
					co.dispatch(l, true)
				})
			}
			return
		}
		n := min(len(l.waiting), maxBatch)
		call := l.waiting[:n:n]
		// Beyond the constant limit only reads go, and only while the
		// estimated budget holds them (pacer.go).
		cost, reads := callCost(call)
		switch {
		case within:
			co.pace.spend(cost)
		case !reads || !co.pace.take(cost):
			return
		}
		l.waiting = l.waiting[n:]
		for _, q := range call {
			q.taken = true
		}
		l.inflight++
		go co.run(l, call)
	}
}

// run sends one $batch call's items and hands each its answer.
func (co *coalescer) run(l *lane, call []*queued) {
	defer func() {
		co.mu.Lock()
		defer co.mu.Unlock()
		l.inflight--
		co.dispatch(l, false)
	}()
	live := call[:0:0]
	for _, q := range call {
		if err := q.ctx.Err(); err != nil {
			q.res = batchResult{lost: fmt.Errorf("graph: $batch not sent: %w", err), unsent: true}
			q.err = q.res.lost
			close(q.done)
			continue
		}
		live = append(live, q)
	}
	if len(live) == 0 {
		return
	}
	ctx, stop := sharedContext(live)
	defer stop()
	items := make([]batchItem, len(live))
	pending := make([]int, len(live))
	for i, q := range live {
		items[i] = q.item
		items[i].ID = strconv.Itoa(i)
		pending[i] = i
	}
	results := make([]batchResult, len(live))
	err := co.c.batchChunk(ctx, l.key.version, items, pending, results)
	for i, q := range live {
		q.res = results[i]
		q.res.version = l.key.version
		if results[i].lost != nil {
			q.err = err
		}
		close(q.done)
	}
}

// sharedContext is the context of a call carrying items of several
// callers. It keeps the first caller's values (its retry deadline, its
// marks), reports retry waits to every caller's Progress, and ends only
// when every caller's context has ended: one change giving up does not
// take the others' items down with it.
func sharedContext(qs []*queued) (context.Context, func()) {
	first := qs[0].ctx
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(first))
	var (
		mu    sync.Mutex
		stops []func() bool
		seen  = map[context.Context]bool{}
		ctxs  []context.Context
		waits []func(Wait)
	)
	for _, q := range qs {
		if seen[q.ctx] {
			continue
		}
		seen[q.ctx] = true
		ctxs = append(ctxs, q.ctx)
		if p := progressOf(q.ctx); p.Waiting != nil {
			waits = append(waits, p.Waiting)
		}
	}
	// Every caller is counted before any is watched: a context that has
	// already ended runs its AfterFunc at once, and must not find itself
	// the last one left.
	left := len(ctxs)
	for _, qctx := range ctxs {
		stops = append(stops, context.AfterFunc(qctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				cancel(context.Cause(qctx))
			}
		}))
	}
	if len(waits) > 0 {
		p := progressOf(first)
		p.Done = nil
		p.Waiting = func(w Wait) {
			for _, fn := range waits {
				fn(w)
			}
		}
		ctx = WithProgress(ctx, p)
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel(errors.New("graph: $batch call done"))
	}
}

// send is do through the coalescer: the request goes as a $batch item with
// whatever else the client sends at the time, and comes back as do's
// answer would (an *Error for a status of 400 or more, naming the item's
// method and versioned path). Requests outside Graph's v1.0 and beta
// paths, and the run lease's own (unpaced), go alone through do.
func (c *Client) send(ctx context.Context, method abs.HttpMethod, target string, body any, headers map[string]string) (*response, error) {
	version, rel, ok := c.relative(target)
	if !ok || ctx.Value(unpacedKey{}) != nil {
		return c.do(ctx, method, target, body, headers)
	}
	it := batchItem{Method: method.String(), URL: rel, Body: body, Headers: maps.Clone(headers)}
	items := []batchItem{it}
	results, _ := c.batchAt(ctx, version, items)
	r := &results[0]
	err := r.err(&items[0])
	if r.lost != nil {
		return nil, err
	}
	h := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return &response{Status: r.Status, Header: h, Body: r.Body}, err
}

// relative splits a target of do into the API version and the path below
// it, as a $batch item names it; ok is false for a URL elsewhere.
func (c *Client) relative(target string) (version, rel string, ok bool) {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		return "v1.0", target, strings.HasPrefix(target, "/")
	}
	for _, v := range []string{"v1.0", "beta"} {
		if rest, found := strings.CutPrefix(target, c.root+"/"+v+"/"); found {
			return v, "/" + rest, true
		}
	}
	return "", "", false
}
