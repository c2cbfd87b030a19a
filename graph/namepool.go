package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
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
// displayName is name, as NameKey compares names, each with the properties
// sel names (displayName among them), asking for top a page.
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
		l.timer = time.AfterFunc(coalesceLinger, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			c.sendNames(l)
		})
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
	names := make([]string, len(asks))
	for i, a := range asks {
		qs[i], names[i] = &queued{ctx: a.ctx}, a.name
	}
	// The look-up lives while any caller waits for it (sharedContext).
	ctx, stop := sharedContext(qs)
	defer stop()
	byName := map[string][]json.RawMessage{}
	var err error
	for _, q := range filterQueries("displayName", uniqueFold(names), l.sel) {
		q = strings.Replace(q, fmt.Sprintf("$top=%d", maxPage), fmt.Sprintf("$top=%d", l.top), 1)
		var resp *response
		if resp, err = c.send(ctx, abs.GET, l.collection+"?"+q, nil, nil); err != nil {
			break
		}
		var all []json.RawMessage
		if all, err = listAll[json.RawMessage](ctx, c, resp.Body, nil); err != nil {
			break
		}
		for _, o := range all {
			var n struct {
				DisplayName string `json:"displayName"`
			}
			if json.Unmarshal(o, &n) == nil {
				k := model.NameKey(n.DisplayName)
				byName[k] = append(byName[k], o)
			}
		}
	}
	for _, a := range asks {
		a.objs, a.err = byName[model.NameKey(a.name)], err
		close(a.done)
	}
}
