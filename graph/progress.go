package graph

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Progress lets a caller follow a long operation (the CLI's status line)
// without graph knowing who shows it. It travels in the context, so the
// client's methods keep their signatures. Either callback may be nil; both
// may be called from several goroutines at once.
type Progress struct {
	// Done is called as parts of one operation finish: done of its total
	// items (members added or removed, $batch items written).
	Done func(done, total int)
	// Waiting is called when a request is about to wait before it is sent
	// again: Graph throttled it, or it met a transient failure.
	Waiting func(w Wait)
}

// Wait is one wait of the retry layer before a request is sent again.
type Wait struct {
	// For is how long the request waits.
	For time.Duration
	// Throttled is set when Graph answered 429 or 503: it asked the client
	// to slow down, rather than failing.
	Throttled bool
	// RetryAfter is set when the wait is Graph's Retry-After, not the
	// client's own backoff.
	RetryAfter bool
	// Status is the HTTP status that caused the wait; 0 for a lost
	// connection or an attempt that got no answer.
	Status int
}

type progressKey struct{}

// WithProgress returns a context whose Graph calls report to p.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

func progressOf(ctx context.Context) Progress {
	p, _ := ctx.Value(progressKey{}).(Progress)
	return p
}

// reportWait tells the context's Progress that a request waits for w.
func reportWait(ctx context.Context, w Wait) {
	if p := progressOf(ctx); p.Waiting != nil {
		p.Waiting(w)
	}
}

// waitOf describes the wait the retry layer chose after resp (nil when the
// connection failed).
func waitOf(resp *http.Response, d time.Duration, fromHeader bool) Wait {
	w := Wait{For: d, RetryAfter: fromHeader}
	if resp != nil {
		w.Status = resp.StatusCode
		w.Throttled = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
	}
	return w
}

// itemCounter adds up the items of one operation as its parts finish, for
// the context's Progress. Parts finish on several goroutines.
type itemCounter struct {
	fn    func(done, total int)
	mu    sync.Mutex
	done  int
	total int
}

// countItems returns the counter of an operation on total items; it is
// inert when ctx carries no Progress.
func countItems(ctx context.Context, total int) *itemCounter {
	return &itemCounter{fn: progressOf(ctx).Done, total: total}
}

// add records n more items done. The callback runs under the counter's
// lock, so the caller sees done grow in order.
func (c *itemCounter) add(n int) {
	if c.fn == nil || n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += n
	c.fn(c.done, c.total)
}

// writeSlots bounds the write requests in flight across one Client
// (Options.Parallelism).
type writeSlots chan struct{}

// acquire waits for a slot, or for ctx to end.
func (s writeSlots) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s writeSlots) release() { <-s }

// withoutProgress keeps a Progress's waits but not its item counts: for
// the inner steps of an operation that counts its items itself.
func withoutProgress(ctx context.Context) context.Context {
	p := progressOf(ctx)
	if p.Done == nil {
		return ctx
	}
	p.Done = nil
	return WithProgress(ctx, p)
}
