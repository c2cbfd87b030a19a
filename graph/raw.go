package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// response is a raw Graph answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one raw request through the kiota adapter (authentication,
// retrying transport, counting) and returns the answer; a status of 400 or
// more becomes an *Error. target is a path below the versioned base URL
// ("/groups") or an absolute URL (an @odata.nextLink, a /beta path).
func (c *Client) do(ctx context.Context, method abs.HttpMethod, target string, body any, headers map[string]string) (*response, error) {
	u := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		u = c.base + target
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("graph: encode %s %s: %w", method, target, err)
		}
	}
	ri, err := c.rawRequest(method, u, raw, headers)
	if err != nil {
		return nil, err
	}
	var resp *response
	handler := abs.NewRequestHandlerOption()
	handler.SetResponseHandler(func(r any, _ abs.ErrorMappings) (any, error) {
		hr, ok := r.(*http.Response)
		if !ok {
			return nil, fmt.Errorf("graph: unexpected response type %T", r)
		}
		defer hr.Body.Close()
		b, err := readBody(hr.Body)
		if err != nil {
			return nil, err
		}
		resp = &response{Status: hr.StatusCode, Header: hr.Header, Body: b}
		return nil, nil
	})
	ri.AddRequestOptions([]abs.RequestOption{handler})
	if _, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", nil); err != nil {
		var re *RetryError
		if errors.As(err, &re) {
			// Retried and given up on: it names the request, the attempts,
			// the time waited and the last answer.
			return nil, re
		}
		if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)) {
			// Our own per-attempt timeout, not the caller's cancellation,
			// on a request that was not retried (a create sent once).
			return nil, fmt.Errorf("graph: %s %s: no answer within %s (the request timeout; raise it with --request-timeout if Graph is slow, or check --graph-url and the network): %w",
				method, c.shortPath(u), c.opts.RequestTimeout, err)
		}
		return nil, fmt.Errorf("graph: %s %s: %w", method, c.shortPath(u), err)
	}
	if resp == nil {
		return nil, fmt.Errorf("graph: %s %s: no response", method, c.shortPath(u))
	}
	if resp.Status >= 400 {
		return resp, newError(method.String(), c.shortPath(u), resp.Status, resp.Body, resp.Header.Get("request-id"))
	}
	return resp, nil
}

// bodyBuffers are the buffers readBody reads answers into.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer readBody keeps for the next answer.
const maxPooledBody = 8 << 20

// readBody is io.ReadAll(r), reading into a buffer kept from answer to
// answer and copying out only the answer itself: io.ReadAll's growing reads
// allocate about twice an answer's size again, for every page of a large
// group's members.
func readBody(r io.Reader) ([]byte, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r)
	b := append(make([]byte, 0, max(buf.Len(), 1)), buf.Bytes()...) // never nil, as io.ReadAll's
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
	return b, err
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// shortPath strips the endpoint from a URL for messages.
func (c *Client) shortPath(u string) string {
	p := strings.TrimPrefix(u, c.root)
	if i := strings.Index(p, "?"); i >= 0 && len(p) > 120 {
		p = p[:i] + "?…"
	}
	return p
}

// batchItem is one sub-request of a JSON $batch.
type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
	// read marks a POST that only reads (directoryObjects/getByIds): it
	// is paced and retried as a GET is.
	read bool
}

// writes reports whether the item changes the tenant.
func (it *batchItem) writes() bool { return it.Method != http.MethodGet && !it.read }

// batchResult is one sub-response.
type batchResult struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`

	// version is the API version of the call that carried the item, for
	// the paths errors name.
	version string
	// lost is set when the item has no sub-response because the $batch
	// request carrying it failed; unsent when that request was never made
	// (the context ended first).
	lost   error
	unsent bool
	// gaveUp is set when the item was still throttled or failing when its
	// retry budget ran out (Last is filled in by err).
	gaveUp *RetryError
}

// err returns the sub-response as an *Error (inside a *RetryError when the
// item was retried and given up on), the failure of the $batch request that
// carried it, or nil when it succeeded.
func (r *batchResult) err(it *batchItem) error {
	path := it.URL
	if r.version != "" {
		path = "/" + r.version + path
	}
	if r.lost != nil {
		if r.version == "" {
			return r.lost
		}
		return fmt.Errorf("graph: %s %s, in a $batch call: %w", it.Method, path, r.lost)
	}
	if r.Status < 400 {
		return nil
	}
	e := newError(it.Method, path, r.Status, r.Body, headerValue(r.Headers, "request-id"))
	if r.gaveUp != nil {
		re := *r.gaveUp
		re.Method, re.Path, re.Last = it.Method, path, e
		return &re
	}
	return e
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// MaxBatch is Graph's limit of requests in one $batch.
const MaxBatch = 20

const maxBatch = MaxBatch

// batch sends items as JSON $batch sub-requests and returns one result per
// item in the items' order. The items go to the client's coalescer
// (coalesce.go), which packs them with whatever else the client is sending
// at the time into calls of up to 20. Items that come back throttled or
// with a transient error are sent again, after the largest Retry-After
// among their call's, while the next wait ends within the retry budget
// (from the items' first round); what still fails is returned as the
// item's result for the caller to judge. The error is the first $batch
// call carrying one of the items that failed as a whole; its items'
// results say so (lost), and the others' results are complete.
func (c *Client) batch(ctx context.Context, items []batchItem) ([]batchResult, error) {
	return c.batchAt(ctx, "v1.0", items)
}

// batchAt is batch against one API version ("v1.0" or "beta"); the items'
// relative URLs are resolved against that version.
func (c *Client) batchAt(ctx context.Context, version string, items []batchItem) ([]batchResult, error) {
	for i := range items {
		if items[i].Body != nil {
			if items[i].Headers == nil {
				items[i].Headers = map[string]string{}
			}
			items[i].Headers["Content-Type"] = "application/json"
		}
	}
	return c.co.send(ctx, version, items)
}

// batchChunk sends one chunk's items in rounds until none is left to retry.
//
// The items' retry budget runs from the first round, as a single request's
// runs from its first attempt, and the $batch requests of the chunk share
// it (withRetryDeadline): a round whose wait would end past it is not
// waited for, and the items keep their last answers. Besides the budget,
// MaxRetries counts stalled rounds, not rounds, as a backstop: a round in
// which some items got through shows the throttle letting work pass, and
// the items left are sent again at once after Retry-After. After a round in
// which nothing got through, the wait is at least the jittered exponential
// backoff, so that items told to retry after the same few milliseconds do
// not collide again and again.
func (c *Client) batchChunk(ctx context.Context, version string, items []batchItem, pending []int, results []batchResult) error {
	start := time.Now()
	deadline := c.retryDeadline(ctx, start)
	ctx = withRetryDeadline(ctx, deadline)
	rounds, stalls := 0, 0
	var waited time.Duration
	lose := func(err error, unsent bool) error {
		for _, i := range pending {
			results[i] = batchResult{ID: items[i].ID, lost: err, unsent: unsent}
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return lose(fmt.Errorf("graph: $batch not sent: %w", err), true)
		}
		rounds++
		req := struct {
			Requests []batchItem `json:"requests"`
		}{}
		write := false
		for _, i := range pending {
			req.Requests = append(req.Requests, items[i])
			write = write || items[i].writes()
		}
		resp, err := c.do(markWrite(ctx, write), abs.POST, c.root+"/"+version+"/$batch", req, nil)
		if err != nil {
			// The whole answer is lost (or refused). Items of an
			// idempotent $batch were already sent again by the transport;
			// a create's are not (createBatch: ErrMaybeCreated for these
			// items only).
			return lose(err, false)
		}
		var out struct {
			Responses []batchResult `json:"responses"`
		}
		if err := decodeSharing(resp.Body, &out); err != nil {
			return lose(fmt.Errorf("graph: decode $batch response: %w", err), false)
		}
		got := map[string]batchResult{}
		for _, r := range out.Responses {
			got[r.ID] = r
		}
		var retry []int
		retryAfter := ""
		var longest time.Duration
		for _, i := range pending {
			r, ok := got[items[i].ID]
			if !ok {
				r = batchResult{ID: items[i].ID, Status: http.StatusBadGateway, Body: json.RawMessage(`{"error":{"code":"missingBatchResponse","message":"no response for this request in the $batch answer"}}`)}
			}
			results[i] = r
			if r.Status == http.StatusTooManyRequests {
				c.stats.Throttled.Add(1)
			}
			if retryableStatus(r.Status) && (!isCreateOnce(ctx) || r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable) {
				// A create that is not safe to repeat is sent again only
				// when Graph says it was not processed (429, 503); an
				// ambiguous 500/502/504 or a missing answer is the caller's
				// to resolve (createBatch: ErrMaybeCreated).
				retry = append(retry, i)
				ra := headerValue(r.Headers, "Retry-After")
				if d, ok := ParseRetryAfter(ra, time.Now()); ok && d >= longest {
					longest, retryAfter = d, ra
				}
			}
		}
		if len(retry) == 0 {
			return nil
		}
		if len(retry) == len(pending) {
			stalls++
		} else {
			stalls = 0
		}
		d, fromHeader := c.wait(retryAfter, stalls)
		if stalls > 0 {
			d = max(d, c.backoff(stalls-1))
		}
		why := keepTrying
		switch {
		case stalls > c.opts.MaxRetries:
			why = attemptCap
		case time.Now().Add(d).After(deadline):
			why = budgetSpent
		}
		if why != keepTrying {
			// Every item left has been in every round: the chunk's
			// rounds and waits are its own.
			gu := &RetryError{Attempts: rounds, Elapsed: time.Since(start), Waited: waited, Budget: c.opts.RetryBudget,
				NextWait: d, RetryAfter: fromHeader, why: why, shared: deadline.Before(start.Add(c.opts.RetryBudget))}
			for _, i := range retry {
				results[i].gaveUp = gu
			}
			c.log.Debug("graph: giving up on batch items", "items", len(retry), "rounds", rounds, "elapsed", gu.Elapsed.Round(time.Millisecond))
			return nil
		}
		waited += d
		c.stats.WaitNanos.Add(int64(d))
		c.stats.Retries.Add(int64(len(retry)))
		c.log.Debug("graph: retrying batch items", "items", len(retry), "wait", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return lose(fmt.Errorf("graph: $batch not sent again: %w", ctx.Err()), true)
		case <-t.C:
		}
		pending = retry
	}
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// decodePage decodes a collection page from a raw body: its first JSON
// value, as a json.Decoder reads it. A body that is one JSON value (every
// page Graph sends) is decoded by json.Unmarshal, without the decoder's copy
// of the body; anything else (an empty body, data after the value, a syntax
// or type error) goes through the decoder, for the same page and error as
// always.
func decodePage[T any](body []byte) (page[T], error) {
	var p page[T]
	if decodeJSON(body, &p) == nil {
		return p, nil
	}
	p = page[T]{}
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&p)
	return p, err
}

// listAll reads every page of a collection, starting with a first page that
// was already fetched (in a $batch, say), following @odata.nextLink verbatim.
func listAll[T any](ctx context.Context, c *Client, first []byte, headers map[string]string) ([]T, error) {
	var all []T
	pages := 0
	err := eachPage(ctx, c, first, headers, decodePage[T], func(values []T) {
		if pages++; pages == 1 {
			all = values // the first page's values themselves, as always
		} else {
			all = append(all, values...)
		}
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// eachPage reads every page of a collection as listAll does, decoding each
// with decode, and hands each page's values to fn in order, without
// gathering them into one slice.
func eachPage[T any](ctx context.Context, c *Client, first []byte, headers map[string]string, decode func([]byte) (page[T], error), fn func([]T)) error {
	p, err := decode(first)
	if err != nil {
		return fmt.Errorf("graph: decode page: %w", err)
	}
	fn(p.Value)
	for p.NextLink != "" {
		body, ok, err := c.pages.take(ctx, p.NextLink)
		if !ok {
			var resp *response
			resp, err = c.send(ctx, abs.GET, p.NextLink, nil, headers)
			if resp != nil {
				body = resp.Body
			}
		}
		if err != nil {
			return err
		}
		if p, err = decode(body); err != nil {
			return fmt.Errorf("graph: decode page: %w", err)
		}
		fn(p.Value)
	}
	return nil
}
