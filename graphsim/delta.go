package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Delta queries (README §4 "Delta"; testdata/graph/examples/groups-delta*):
// GET /groups/delta and GET /users/delta.
//
// A round starts from a state token and reports what changed since the
// token was issued; its last page carries the @odata.deltaLink of the
// next round. The simulator does not journal writes: each token keeps a
// snapshot of what the round that issued it reported (the selected
// properties of every object in scope, and a group's members when
// members is selected), and a round is the difference between that
// snapshot and the tenant as it reads now. So every path that changes a
// group (writes, entitlement-management deliveries, deleted objects) is
// reported without being instrumented, and a change still inside the
// replication lag shows in a later round, as Graph's delta reads lag.
//
// As Microsoft documents:
//   - query options go on the first request only; nextLink and deltaLink
//     carry them in their tokens;
//   - $filter accepts only ids (id eq '…' joined by or, at most 50);
//     $top, $orderby and $expand are refused;
//   - members@delta entries carry @odata.type and id, removed ones
//     "@removed": {"reason": "deleted"}; a deleted group is {"id", "@removed"}
//     ("deleted": security groups are deleted permanently), a deleted user
//     "changed" (soft-deleted, restorable);
//   - a large group is split across pages, the same group repeated with the
//     next part of its members: clients merge locally;
//   - $deltatoken=latest starts from now: no objects, only a deltaLink;
//   - an expired (7 days) or unknown token is 400 syncStateNotFound, with
//     the message Microsoft's 2020 announcement of the 7-day lifetime
//     quotes; Faults.DeltaGone answers 410 Gone with a Location to restart
//     from, the form README §4 describes.
//
// Faults.DeltaReplay sends every object of a round a second time, as the
// documented "replays possible" allows.

const (
	// Graph does not document its delta page sizes; these are graphsim's.
	deltaPageObjects = 100 // objects a page holds
	deltaPageLinks   = 500 // members@delta entries a page holds
	deltaTokenLife   = 7 * 24 * time.Hour
	deltaKeep        = 512 // snapshots and unfinished rounds kept; older tokens are unknown
	deltaMaxIDs      = 50
)

// deltaSnap is what a token remembers: the query it continues and the
// state its round reported. It is saved with the simulator's state
// (SimState.Delta), so links stay good across --sim runs.
type deltaSnap struct {
	Coll    string              `json:"coll"` // "groups" or "users"
	Made    time.Time           `json:"made"`
	IDs     map[string]bool     `json:"ids,omitempty"` // $filter ids; nil for the whole collection
	Sel     []string            `json:"sel"`           // selected properties, members aside; nil = defaults
	Members bool                `json:"members,omitempty"`
	Objs    map[string]deltaObj `json:"objs"`
	Order   []string            `json:"order"` // ids in creation order
}

type deltaObj struct {
	Props string            `json:"p"` // the selected properties as JSON: a change is a difference
	Links map[string]string `json:"l,omitempty"`
	obj   object            // the same properties, to send (only in the round's own snapshot)
}

// DeltaSnapshots are the delta tokens' snapshots, saved with the state.
type DeltaSnapshots struct {
	N     int                   `json:"n"`
	Snaps map[string]*deltaSnap `json:"snaps"`
	Order []string              `json:"order"`
}

// deltaRound is a round's pages not yet fetched.
type deltaRound struct {
	pages []object
	next  int
}

type deltaState struct {
	n      int
	snaps  map[string]*deltaSnap
	rounds map[string]*deltaRound
	order  []string // tokens and round ids, oldest first, for eviction
}

// saved is the part of d the state file keeps: the snapshots, not the
// rounds in progress.
func (d *deltaState) saved() *DeltaSnapshots {
	if d == nil {
		return nil
	}
	out := &DeltaSnapshots{N: d.n, Snaps: d.snaps}
	for _, tok := range d.order {
		if d.snaps[tok] != nil {
			out.Order = append(out.Order, tok)
		}
	}
	return out
}

func restoreDelta(s *DeltaSnapshots) *deltaState {
	d := &deltaState{snaps: map[string]*deltaSnap{}, rounds: map[string]*deltaRound{}}
	if s != nil {
		d.n, d.order = s.N, s.Order
		for k, v := range s.Snaps {
			d.snaps[k] = v
		}
	}
	return d
}

func registerDeltaRoutes(r *router) {
	for _, coll := range []string{"groups", "users"} {
		for _, name := range []string{"delta", "delta()"} {
			r.add("GET", "/"+coll+"/"+name, deltaHandler(coll))
		}
	}
}

func deltaHandler(coll string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		if s.delta == nil {
			s.delta = restoreDelta(nil)
		}
		if tok, ok := c.opt("$skiptoken"); ok {
			rd := s.delta.rounds[tok]
			if rd == nil {
				return syncStateNotFound(c)
			}
			return s.deltaPage(c, tok, rd)
		}
		if r := c.checkOptions("select", "filter", "deltatoken"); r != nil {
			return r
		}
		tok, continued := c.opt("$deltatoken")
		var from *deltaSnap
		if continued && tok != "latest" {
			if s.faults.DeltaGone {
				resp := c.errResp(http.StatusGone, "resyncRequired", "The delta token is no longer valid: synchronize again from the Location this response names.")
				resp.header.Set("Location", c.base+"/"+c.version+"/"+coll+"/delta")
				return resp
			}
			from = s.delta.snaps[tok]
			if from == nil || from.Coll != coll || c.now.Sub(from.Made) > deltaTokenLife {
				return syncStateNotFound(c)
			}
		}
		q := from
		if q == nil {
			var r *response
			if q, r = s.deltaQuery(c, coll); r != nil {
				return r
			}
		}
		now := s.deltaSnapshot(c, q)
		var entries []object
		if tok != "latest" {
			entries = deltaDiff(from, now)
			if s.faults.DeltaReplay {
				entries = append(entries, entries...)
			}
		}
		pages := paginateDelta(entries)
		next := s.delta.keep("t", now, nil)
		last := len(pages) - 1
		pages[last] = append(pages[last], field{"@odata.deltaLink", c.base + "/" + c.version + "/" + coll + "/delta?$deltatoken=" + next})
		ctx := c.context(coll)
		for i := range pages {
			pages[i] = append(object{{"@odata.context", ctx}}, pages[i]...)
		}
		rd := &deltaRound{pages: pages}
		if len(pages) == 1 {
			return c.jsonResp(200, pages[0])
		}
		id := s.delta.keep("r", nil, rd)
		return s.deltaPage(c, id, rd)
	}
}

func syncStateNotFound(c *reqCtx) *response {
	return c.errResp(http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
}

// deltaPage answers the next page of a round: a nextLink to the one after,
// or the deltaLink the last page already carries.
func (s *Sim) deltaPage(c *reqCtx, id string, rd *deltaRound) *response {
	p := rd.pages[rd.next]
	rd.next++
	if rd.next < len(rd.pages) {
		p = append(slices.Clone(p[:1]), append(object{{"@odata.nextLink", c.base + "/" + c.version + "/" + strings.Join(c.segs, "/") + "?$skiptoken=" + id}}, p[1:]...)...)
	} else {
		delete(s.delta.rounds, id)
	}
	return c.jsonResp(200, p)
}

// keep stores a snapshot or a round under a new token, forgetting the
// oldest once deltaKeep are kept.
func (d *deltaState) keep(prefix string, snap *deltaSnap, rd *deltaRound) string {
	d.n++
	raw, _ := json.Marshal(map[string]any{"k": prefix, "n": d.n})
	tok := prefix + base64.RawURLEncoding.EncodeToString(raw)
	if snap != nil {
		d.snaps[tok] = snap
	} else {
		d.rounds[tok] = rd
	}
	d.order = append(d.order, tok)
	for len(d.order) > deltaKeep {
		delete(d.snaps, d.order[0])
		delete(d.rounds, d.order[0])
		d.order = d.order[1:]
	}
	return tok
}

// deltaQuery reads a first request's $select and $filter.
func (s *Sim) deltaQuery(c *reqCtx, coll string) (*deltaSnap, *response) {
	t := userType
	if coll == "groups" {
		t = groupType
	}
	q := &deltaSnap{Coll: coll}
	if v, ok := c.opt("$select"); ok {
		var props []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if slices.ContainsFunc(s.faults.DeltaUnselectable, func(u string) bool { return strings.EqualFold(u, p) }) {
				return nil, c.errResp(400, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported query: property '%s' is not supported in a delta query's $select.", p))
			}
			if coll == "groups" && strings.EqualFold(p, "members") {
				q.Members = true
			} else if p != "" {
				props = append(props, p)
			}
		}
		if len(props) > 0 {
			sel, r := parseSelectList(c, strings.Join(props, ","), t)
			if r != nil {
				return nil, r
			}
			q.Sel = sel
		} else {
			q.Sel = []string{}
		}
	}
	if v, ok := c.opt("$filter"); ok {
		q.IDs = map[string]bool{}
		terms := splitOr(v)
		if len(terms) > deltaMaxIDs {
			return nil, c.errResp(400, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported query: a delta $filter names at most %d ids.", deltaMaxIDs))
		}
		for _, term := range terms {
			f := strings.Fields(term)
			if len(f) != 3 || !strings.EqualFold(f[0], "id") || !strings.EqualFold(f[1], "eq") || len(f[2]) < 2 || f[2][0] != '\'' || f[2][len(f[2])-1] != '\'' {
				return nil, c.errResp(400, "Request_UnsupportedQuery", "Unsupported query: delta $filter supports only id eq '…', joined by or.")
			}
			q.IDs[strings.ToLower(f[2][1:len(f[2])-1])] = true
		}
	}
	return q, nil
}

// splitOr splits a filter on " or ", case-insensitively.
func splitOr(v string) []string {
	var out []string
	lower := strings.ToLower(v)
	for {
		i := strings.Index(lower, " or ")
		if i < 0 {
			return append(out, strings.TrimSpace(v))
		}
		out = append(out, strings.TrimSpace(v[:i]))
		v, lower = v[i+4:], lower[i+4:]
	}
}

// deltaSnapshot reads the objects q tracks as they are visible now.
func (s *Sim) deltaSnapshot(c *reqCtx, q *deltaSnap) *deltaSnap {
	now := &deltaSnap{Coll: q.Coll, Made: c.now, IDs: q.IDs, Sel: q.Sel, Members: q.Members, Objs: map[string]deltaObj{}}
	add := func(id string, it *item, links []*link) {
		if q.IDs != nil && !q.IDs[id] {
			return
		}
		obj := it.project(q.Sel, false)
		if _, ok := obj.get("id"); !ok {
			obj = append(object{{"id", id}}, obj...)
		}
		props, _ := json.Marshal(obj)
		o := deltaObj{Props: string(props), obj: obj}
		if q.Members {
			o.Links = map[string]string{}
			for _, l := range links {
				if !s.visible(c, l.added) {
					continue
				}
				if m := s.objectItem(c, l.id, 0); m != nil {
					o.Links[l.id] = m.odataType
				}
			}
		}
		now.Objs[id] = o
		now.Order = append(now.Order, id)
	}
	if q.Coll == "groups" {
		for _, g := range s.st.sortedGroups() {
			if s.visible(c, g.created) {
				add(g.ID, s.groupItem(c, g), g.members.all())
			}
		}
	} else {
		for _, it := range s.userItems(c) {
			id, _ := it.full.get("id")
			add(fmt.Sprint(id), it, nil)
		}
	}
	return now
}

// deltaDiff is what changed from old (nil: nothing known, a first round)
// to now, in creation order, deleted objects last.
func deltaDiff(old, now *deltaSnap) []object {
	var out []object
	for _, id := range now.Order {
		o := now.Objs[id]
		var before deltaObj
		known := false
		if old != nil {
			before, known = old.Objs[id]
		}
		var links []object
		for _, m := range slices.Sorted(maps.Keys(o.Links)) {
			if _, had := before.Links[m]; !known || !had {
				links = append(links, object{{"@odata.type", o.Links[m]}, {"id", m}})
			}
		}
		for _, m := range slices.Sorted(maps.Keys(before.Links)) {
			if _, has := o.Links[m]; !has {
				links = append(links, object{{"@odata.type", before.Links[m]}, {"id", m}, {"@removed", object{{"reason", "deleted"}}}})
			}
		}
		if known && before.Props == o.Props && len(links) == 0 {
			continue
		}
		props := slices.Clone(o.obj)
		if len(links) > 0 {
			props = append(props, field{"members@delta", links})
		}
		out = append(out, props)
	}
	if old != nil {
		reason := "deleted"
		if now.Coll == "users" {
			reason = "changed"
		}
		for _, id := range old.Order {
			if _, ok := now.Objs[id]; !ok {
				out = append(out, object{{"id", id}, {"@removed", object{{"reason", reason}}}})
			}
		}
	}
	return out
}

// paginateDelta cuts a round's objects into pages of at most
// deltaPageObjects objects and deltaPageLinks member entries; a group with
// more members than a page has room for continues on the next pages,
// repeated with the rest of them. Each page is a "value" field; there is
// always at least one page.
func paginateDelta(entries []object) []object {
	var pages []object
	var cur []object
	links := 0
	flush := func() {
		pages = append(pages, object{{"value", cur}})
		cur, links = []object{}, 0
	}
	cur = []object{}
	for _, e := range entries {
		ms, _ := e.get("members@delta")
		all, _ := ms.([]object)
		for first := true; first || len(all) > 0; first = false {
			if len(cur) == deltaPageObjects || (links == deltaPageLinks && len(all) > 0) {
				flush()
			}
			if ms == nil {
				cur = append(cur, e)
				break
			}
			n := min(len(all), deltaPageLinks-links)
			part := make(object, 0, len(e))
			for _, f := range e {
				if f.K == "members@delta" {
					f.V = all[:n:n]
				}
				part = append(part, f)
			}
			cur = append(cur, part)
			links += n
			all = all[n:]
		}
	}
	flush()
	return pages
}
