package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// Later pages of different lists are fetched at once (issue 13, "reads at
// the bound"). A read that gets the first pages of many lists in $batch
// calls used to follow each list's @odata.nextLink chain in turn, while
// handing its pages over in order: 100 groups of 1,000 members took 100
// round trips after the first. Now, once the first pages are in, a chain
// per list follows the links through the coalescer, so the second pages of
// all lists share calls, then the third, and so on; the reader still takes
// each list's pages in its own order (eachPage asks the prefetcher before
// it sends), so what it records is unchanged. Fetched pages wait only
// until the reader reaches them, and at most prefetchAhead wait at a time.

// prefetchAhead is how many fetched pages may wait for their readers: at
// most 999 objects each, some 256 × 150 KB of JSON. A chain whose next page
// has no slot waits, unless a reader is waiting for that very page (which
// the reader, taking lists in order, may be: it always goes ahead).
var prefetchAhead = 256 // a variable for the test of its bound

// prefetcher holds the pages its chains are fetching or have fetched, by
// the nextLink that names them, until eachPage takes them.
type prefetcher struct {
	mu    sync.Mutex
	m     map[string]*future
	slots chan struct{}
}

// future is one page on its way.
type future struct {
	done   chan struct{}
	wanted chan struct{} // closed when a reader waits for the page
	body   []byte
	err    error
	// slot is set by the chain when the page holds a prefetch slot, and
	// released (under the prefetcher's lock) by whoever frees it first:
	// the reader that takes the page, or the chain's stop.
	slot, released bool
	taken          bool
}

func (pf *prefetcher) slotsLocked() chan struct{} {
	if pf.slots == nil {
		pf.slots = make(chan struct{}, prefetchAhead)
	}
	return pf.slots
}

// release frees f's slot if it holds one. It runs under pf.mu.
func (pf *prefetcher) release(f *future) {
	if f.slot && !f.released {
		f.released = true
		<-pf.slots
	}
}

// follow starts a chain for each first page that has a next link, and
// returns a stop function that ends the chains and forgets their pages
// that nobody took. The chains send headers with every page, as eachPage
// would.
func (pf *prefetcher) follow(ctx context.Context, c *Client, firsts [][]byte, headers map[string]string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	pf.mu.Lock()
	slots := pf.slotsLocked()
	pf.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		mine = map[string]*future{}
	)
	register := func(link string) *future {
		pf.mu.Lock()
		defer pf.mu.Unlock()
		if pf.m == nil {
			pf.m = map[string]*future{}
		}
		if pf.m[link] != nil {
			return nil // another chain has it
		}
		f := &future{done: make(chan struct{}), wanted: make(chan struct{})}
		pf.m[link] = f
		mu.Lock()
		mine[link] = f
		mu.Unlock()
		return f
	}
	for _, body := range firsts {
		link := nextLinkOf(body)
		if link == "" {
			continue
		}
		f := register(link)
		if f == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f != nil {
				select {
				case slots <- struct{}{}:
					f.slot = true
				case <-f.wanted:
				case <-ctx.Done():
					f.err = ctx.Err()
					close(f.done)
					return
				}
				resp, err := c.send(ctx, abs.GET, link, nil, headers)
				var next *future
				if err == nil {
					f.body = resp.Body
					if link = nextLinkOf(resp.Body); link != "" && ctx.Err() == nil {
						next = register(link) // before this page is handed over
					}
				}
				f.err = err
				close(f.done)
				f = next
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		pf.mu.Lock()
		defer pf.mu.Unlock()
		for l, f := range mine {
			if pf.m[l] == f {
				delete(pf.m, l)
			}
			pf.release(f)
		}
	}
}

// take returns the page a chain fetched for link (or the error its
// request ended with), waiting for it if it is on its way; ok is false
// when no chain has it, and the caller fetches it itself. A page is taken
// once.
func (pf *prefetcher) take(ctx context.Context, link string) (body []byte, ok bool, err error) {
	pf.mu.Lock()
	f := pf.m[link]
	delete(pf.m, link)
	if f != nil {
		f.taken = true
	}
	pf.mu.Unlock()
	if f == nil {
		return nil, false, nil
	}
	close(f.wanted)
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
	pf.mu.Lock()
	pf.release(f)
	// The chain keeps its futures until it stops; the page is the
	// reader's now, and is not held past its decoding (a million members'
	// pages are 170 MB of JSON).
	body, err = f.body, f.err
	f.body = nil
	pf.mu.Unlock()
	return body, true, err // an error is the one eachPage's own request got, after its retries
}

var nextLinkKey = []byte(`"@odata.nextLink"`)

// nextLinkOf finds a page's top-level @odata.nextLink without decoding the
// page: the key, quoted and followed by a colon, cannot occur inside a
// JSON string (its quotes would be escaped). A link it misses, or one it
// finds wrongly, costs only a request: eachPage decodes the real one and
// fetches what no chain has.
//
// Graph writes the link before the page's values, so the page's head is
// searched first and the whole page only when that finds none.
func nextLinkOf(body []byte) string {
	i := bytes.Index(body[:min(len(body), 2048)], nextLinkKey)
	if i < 0 {
		i = bytes.LastIndex(body, nextLinkKey)
	}
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(body[i+len(nextLinkKey):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(rest[1:]))
	var link string
	if dec.Decode(&link) != nil {
		return ""
	}
	return link
}
