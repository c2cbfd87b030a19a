package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// After a create that Graph cannot key, the applier looks for the
// object's namesakes (appliers.settleNamesakes): one displayName filter a
// create. An apply of 500 agent identities made 500 of them, each in the
// $batch calls the creates' answers came back in. The pool gathers the
// names asked for in one collection at about the same time (the
// coalescer's linger) into `displayName in (…)` filters of up to 15 names,
// and hands each caller the objects with its name: 34 look-ups, not 500.
// Only collections whose displayName Graph documents `in` for use it.

type namePool struct {
	mu    sync.Mutex
	lanes map[string]*nameLane // by collection and $select
}

type nameLane struct {
	collection, sel string
	top             int // the collection's page size
	waiting         []*nameAsk
	timer           *time.Timer
}

type nameAsk struct {
	ctx  context.Context
	name string
	done chan struct{}
	objs []json.RawMessage
	err  error
}

// named returns the objects of collection (a path without query) whose
// displayName is name, as `displayName eq name` finds them (the name as
// written, without regard to case), each with the properties sel names
// (displayName among them), asking for top a page.
func (c *Client) named(ctx context.Context, collection, sel string, top int, name string) ([]json.RawMessage, error) {
	a := &nameAsk{ctx: ctx, name: name, done: make(chan struct{})}
	p := &c.names
	p.mu.Lock()
	if p.lanes == nil {
		p.lanes = map[string]*nameLane{}
	}
	key := collection + "?" + sel
	l := p.lanes[key]
	if l == nil {
		l = &nameLane{collection: collection, sel: sel, top: top}
		p.lanes[key] = l
	}
	l.waiting = append(l.waiting, a)
	switch {
	case len(l.waiting) >= maxInValues:
		c.sendNames(l)
	case l.timer == nil:
		var t *time.Timer
		t = time.AfterFunc(coalesceLinger, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if l.timer == t { // (not a linger whose names a full look-up took)
				c.sendNames(l)
			}
		})
		l.timer = t
	}
	p.mu.Unlock()
	select {
	case <-a.done:
		return a.objs, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sendNames sends one look-up of what waits on l. It runs under the pool's
// lock; the look-up runs beside it.
func (c *Client) sendNames(l *nameLane) {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	asks := l.waiting
	l.waiting = nil
	if len(asks) == 0 {
		return
	}
	go c.lookUpNames(l, asks)
}

func (c *Client) lookUpNames(l *nameLane, asks []*nameAsk) {
	qs := make([]*queued, len(asks))
	var names []string
	for i, a := range asks {
		qs[i] = &queued{ctx: a.ctx}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, a.name) }) {
			names = append(names, a.name) // as written: Graph compares names as they are
		}
	}
	// The look-up lives while any caller waits for it (sharedContext).
	ctx, stop := sharedContext(qs)
	defer stop()
	found, err := c.lookUpNamed(ctx, l, names)
	if err != nil && len(names) > 1 {
		// Each caller gets its own answer: a name that fails the shared
		// look-up (or a page that failed) is asked for alone, and its
		// error is its caller's only.
		found, errs := map[string][]json.RawMessage{}, map[string]error{}
		for _, n := range names {
			one, err := c.lookUpNamed(ctx, l, []string{n})
			maps.Copy(found, one)
			errs[strings.ToLower(n)] = err
		}
		for _, a := range asks {
			k := strings.ToLower(a.name)
			a.objs, a.err = found[k], errs[k]
			close(a.done)
		}
		return
	}
	for _, a := range asks {
		a.objs, a.err = found[strings.ToLower(a.name)], err
		close(a.done)
	}
}

// lookUpNamed finds the objects named names (a display name each, matched
// as Graph's eq matches, without regard to case), by lower-cased name.
func (c *Client) lookUpNamed(ctx context.Context, l *nameLane, names []string) (map[string][]json.RawMessage, error) {
	found := map[string][]json.RawMessage{}
	for _, q := range filterQueries("displayName", names, l.sel) {
		q = strings.Replace(q, fmt.Sprintf("$top=%d", maxPage), fmt.Sprintf("$top=%d", l.top), 1)
		resp, err := c.send(ctx, abs.GET, l.collection+"?"+q, nil, nil)
		if err != nil {
			return nil, err
		}
		all, err := listAll[json.RawMessage](ctx, c, resp.Body, nil)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			var n struct {
				DisplayName string `json:"displayName"`
			}
			if json.Unmarshal(o, &n) == nil {
				k := strings.ToLower(n.DisplayName)
				found[k] = append(found[k], o)
			}
		}
	}
	return found, nil
}
