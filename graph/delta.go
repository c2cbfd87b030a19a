package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

// Delta reads (issue 13, "delta-based drift"). A full read lists every
// member of every group whose members the spec manages. ReadDelta reads
// instead what changed since the last run, through Graph's delta
// queries: /groups/delta for those groups' members, /users/delta for the
// names of the users they hold. What the rounds showed is kept in a
// DeltaState between runs. It is a cache, not a state file: it holds only
// what Graph answered, each part exactly as of the delta link kept with
// it, and losing it, or a link Graph no longer honours, costs one full
// read of what it covered.
//
// The users the state knows answer the look-ups of users the spec names
// outside any member set (a drifted spec's new members: fromUserDelta).
// Everything else is read as Read reads it, every run: the groups
// themselves (their properties, and whether a group of that name now
// exists), owners, source of authority, entitlement management, agents
// and grants. Delta serves a member set only when Graph's v1.0 list would
// show it (the spec names no service principal in it) and every member
// is a user; any other set, and any set whose state is missing, is read
// in full.

// DeltaState is what delta reads keep between runs (see above). The zero
// value is an empty cache: the first ReadDelta fills it.
type DeltaState struct {
	Version int       `json:"version"`
	Saved   time.Time `json:"saved"`
	// Users is the users of the managed sets (and those looked up since)
	// as /users/delta last showed them.
	Users *UserDelta `json:"users,omitempty"`
	// Groups are delta chains of at most 50 groups each (Graph's limit on
	// a delta filter of ids).
	Groups []*GroupDelta `json:"groups,omitempty"`
	// Directory answers the look-ups of the groups the spec names
	// (delta_groups.go).
	Directory *GroupDirectory `json:"directory,omitempty"`
	// Report says what the last ReadDelta did; it is not saved.
	Report DeltaReport `json:"-"`
	// usersCurrent is set once this ReadDelta's users round is in: the
	// users Users holds are then as of that round, and answer look-ups of
	// users the spec names (resolve).
	usersCurrent bool
}

// DeltaStateVersion is the format of DeltaState; a state of another
// version is not used.
const DeltaStateVersion = 1

// UserDelta is the users round's link and the users it has shown.
type UserDelta struct {
	Link  string               `json:"link"`
	Known map[string]DeltaUser `json:"known"` // lower-case id → names
}

// DeltaUser is a user's names, as member lists show them.
type DeltaUser struct {
	DisplayName string `json:"n,omitempty"`
	UPN         string `json:"u,omitempty"`
	Mail        string `json:"m,omitempty"`
}

// GroupDelta is one delta chain: the groups its filter names, its link,
// and the member ids of those of its groups whose members are all users.
type GroupDelta struct {
	Link string `json:"link"`
	// At is when the link was issued: Graph honours a link for seven
	// days, so an older chain is dropped unused.
	At      time.Time           `json:"at"`
	IDs     []string            `json:"ids"`
	Members map[string][]string `json:"members"`
	// current is set once this ReadDelta's round of the chain is in: the
	// groups that packages deliver to are served after the managed ones,
	// from the same round, not from a second one (a request and a round
	// trip more, to learn what a second ago's round said).
	current bool
}

// DeltaReport is what one ReadDelta did.
type DeltaReport struct {
	// FromDelta and InFull count the managed member sets served from the
	// delta state and read in full.
	FromDelta, InFull int
	// Restarted lists why parts of the state were dropped (an expired
	// link), for the run's log.
	Restarted []string
}

const (
	deltaChainSize = 50 // ids a delta $filter may name
	deltaLinkLife  = 7 * 24 * time.Hour
	userDeltaPath  = "/users/delta?$select=" + userSelect
	groupDeltaPath = "/groups/delta?$select=members&$filter="
	userType       = "#microsoft.graph.user"
)

// ReadDelta is Read with the member sets it can serve taken from st and
// the delta rounds since (see the top of this file). st is updated in
// place, to be saved once the run has used it; on error it is left as it
// was, or with parts dropped, never with a link its contents do not
// match.
func (c *Client) ReadDelta(ctx context.Context, desired *model.Tenant, st *DeltaState) (*model.Tenant, error) {
	if st.Version != DeltaStateVersion {
		*st = DeltaState{Version: DeltaStateVersion}
	}
	st.Report, st.usersCurrent = DeltaReport{}, false
	for _, ch := range st.Groups {
		ch.current = false
	}
	return c.read(ctx, desired, st)
}

// deltaObject is an object of a delta page: a user or group, or its removal.
type deltaObject struct {
	ID          string        `json:"id"`
	Removed     *struct{}     `json:"@removed"`
	DisplayName string        `json:"displayName"`
	UPN         string        `json:"userPrincipalName"`
	Mail        string        `json:"mail"`
	Members     []deltaMember `json:"members@delta"`
}

type deltaMember struct {
	Type    string    `json:"@odata.type"`
	ID      string    `json:"id"`
	Removed *struct{} `json:"@removed"`
}

// deltaPage is one page of a delta round of objects of type T.
type deltaPage[T any] struct {
	Value     []T    `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// deltaRound follows a delta round from link, page by page, handing each
// object to fn in order, and returns the next round's link; first, when
// not nil, is the answer to link already fetched (in a $batch call). The
// link is kept below the API version ("/groups/delta?$deltatoken=…"), so
// a cache outlives the host name it was made through (the simulator's
// port changes from run to run).
func deltaRound[T any](ctx context.Context, c *Client, link string, first []byte, fn func(T)) (string, error) {
	for {
		body := first
		if first == nil {
			resp, err := c.send(ctx, abs.GET, link, nil, nil)
			if err != nil {
				return "", err
			}
			body = resp.Body
		}
		first = nil
		var p deltaPage[T]
		if err := decodeJSON(body, &p); err != nil {
			return "", fmt.Errorf("graph: decode delta page of %s: %w", c.shortPath(link), err)
		}
		for _, o := range p.Value {
			fn(o)
		}
		switch {
		case p.DeltaLink != "":
			if rest, ok := strings.CutPrefix(p.DeltaLink, c.root+"/v1.0/"); ok {
				return "/" + rest, nil
			}
			return p.DeltaLink, nil
		case p.NextLink == "":
			return "", fmt.Errorf("graph: delta page of %s has neither a nextLink nor a deltaLink", c.shortPath(link))
		}
		link = p.NextLink
	}
}

// deltaExpired reports Graph's refusal of a delta link it no longer
// honours: 410 Gone (README §4), or syncStateNotFound, which Microsoft's
// announcement of the seven-day lifetime of identity delta links names.
func deltaExpired(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch strings.ToLower(e.Code) {
	case "syncstatenotfound", "resyncrequired", "syncstateinvalid":
		return true
	}
	return e.Status == http.StatusGone
}

// chainRound is one chain's round: its next link, and the member sets it
// leaves (nil once the chain is dropped).
type chainRound struct {
	chain *GroupDelta
	link  string
	sets  map[string]map[string]bool // group id → member ids; a group absent is read in full
}

// deltaMembers sets the members of the managed groups' member sets, from
// the delta state where it can and by reading them in full where not, and
// brings the state up to date.
func (r *reader) deltaMembers(ctx context.Context, managed map[string]*model.Group) error {
	st := r.delta
	wanted := map[string]bool{}
	for _, g := range r.obs.Groups {
		if dg := managed[g.ID]; dg.Members != nil && !namesServicePrincipal(dg.Members) {
			wanted[g.ID] = true
		}
	}
	// Chains that track none of the wanted groups are kept as they are
	// (a spec narrowed with -f or --target reads only some), until their
	// link is too old for Graph to honour.
	now := time.Now()
	var idle, used []*GroupDelta
	for _, ch := range st.Groups {
		switch {
		case slices.ContainsFunc(ch.IDs, func(id string) bool { return wanted[id] }):
			used = append(used, ch)
		case now.Sub(ch.At) < deltaLinkLife:
			idle = append(idle, ch)
		}
	}
	var early *deltaRounds
	if r.rounds != nil {
		var err error
		if early, err = r.rounds(); err != nil {
			return err
		}
		r.rounds = nil
		// Every live chain's round is in: they are all used.
		used, idle = early.chains, nil
	}
	st.Groups = append(idle, used...)
	if len(wanted) == 0 {
		return r.members(ctx, managed, nil)
	}

	// The rounds since the last run: each used chain's and the users'
	// (unless there is no link, or this run's is in already).
	if early == nil {
		var err error
		if early, err = r.runRounds(ctx, used, st.Users != nil && !st.usersCurrent); err != nil {
			return err
		}
	}
	rounds, users := early.rounds, early.users
	if st.usersCurrent {
		users = st.Users // a second pass of the same run (deltaGroupMembers)
	} else if users == nil && st.Users != nil {
		st.Report.Restarted = append(st.Report.Restarted, "the users' delta link expired")
	}
	// New chains for the wanted groups no live chain tracks, and the
	// users when there is no live users link (below).
	tracked := map[string]bool{}
	var live []*chainRound
	for i, rd := range rounds {
		if rd == nil {
			st.Report.Restarted = append(st.Report.Restarted, fmt.Sprintf("a delta link of %d groups expired", len(used[i].IDs)))
			continue
		}
		live = append(live, rd)
		for _, id := range rd.chain.IDs {
			tracked[id] = true
		}
	}
	var untracked []string
	for _, g := range r.obs.Groups {
		if wanted[g.ID] && !tracked[g.ID] {
			untracked = append(untracked, g.ID)
		}
	}
	fresh := make([]*chainRound, 0, (len(untracked)+deltaChainSize-1)/deltaChainSize)
	for ids := range slices.Chunk(untracked, deltaChainSize) {
		fresh = append(fresh, &chainRound{chain: &GroupDelta{IDs: slices.Clone(ids)}, sets: map[string]map[string]bool{}})
	}
	// A new chain, and the users without a live link, start from now
	// ($deltatoken=latest: a link and no objects): their sets are listed
	// in full below, as Read lists them, and what that shows seeds the
	// state. A first round through delta would list the same through
	// delta pages of unpublished size, and list every user of the tenant
	// to learn the names of a few (100,000 users: 1,000 pages, one after
	// another). Taking the links before the lists means nothing is missed:
	// what changes meanwhile the next round shows (again, at worst).
	err := parallel(ctx, len(fresh)+1, func(ctx context.Context, i int) error {
		if i == len(fresh) {
			if users != nil {
				return nil
			}
			link, err := deltaRound(ctx, r.c, userDeltaPath+"&$deltatoken=latest", nil, func(deltaObject) {})
			users = &UserDelta{Link: link, Known: map[string]DeltaUser{}}
			return err
		}
		link, err := deltaRound(ctx, r.c, chainFilter(fresh[i].chain.IDs)+"&$deltatoken=latest", nil, func(deltaObject) {})
		fresh[i].link = link
		return err
	})
	if err != nil {
		return err
	}

	// Serve what the state holds; read the rest in full.
	sets := map[string]map[string]bool{}
	for _, rd := range append(live, fresh...) {
		maps.Copy(sets, rd.sets)
	}
	// Members the state has no name for (users who joined a set since,
	// and were not in one before) are looked up by id (usersByID): far
	// cheaper than listing their sets again.
	var unknown []string
	for _, g := range r.obs.Groups {
		if !wanted[g.ID] {
			continue
		}
		for id := range sets[g.ID] {
			if _, known := users.Known[id]; !known {
				unknown = append(unknown, id)
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		err := r.usersByID(ctx, slices.Compact(unknown), func(p model.Principal) {
			users.Known[p.ID] = DeltaUser{DisplayName: p.DisplayName, UPN: p.UserPrincipalName, Mail: p.Mail}
		})
		if err != nil {
			return err
		}
	}
	inFull := map[string]bool{}
	for _, g := range r.obs.Groups {
		if !wanted[g.ID] {
			continue
		}
		set, ok := sets[g.ID]
		if ok {
			for id := range set {
				if _, known := users.Known[id]; !known {
					ok = false
					break
				}
			}
		}
		if !ok {
			inFull[g.ID] = true
			continue
		}
		ids := slices.Sorted(maps.Keys(set))
		r.reserve(len(ids))
		ms := &model.MemberSet{Mode: model.Authoritative, Members: make([]model.Ref, 0, len(ids))}
		for _, id := range ids {
			u := users.Known[id]
			ms.Members = append(ms.Members, model.Ref{Kind: model.User, Value: id})
			r.addPrincipal(model.Principal{ID: id, Kind: model.User, DisplayName: u.DisplayName, UserPrincipalName: u.UPN, Mail: u.Mail})
		}
		g.Members = ms
		st.Report.FromDelta++
	}
	// Sets no state serves are read in full, as Read reads them: those
	// naming service principals, those with members other than users, and
	// those whose users the users' round has not shown.
	for _, g := range r.obs.Groups {
		if dg := managed[g.ID]; dg.Members != nil && !wanted[g.ID] {
			inFull[g.ID] = true
		}
	}
	st.Report.InFull = len(inFull)
	if err := r.members(ctx, managed, inFull); err != nil {
		return err
	}
	// What was listed in full seeds the state: a new chain's sets whose
	// members are all users, and the names of those users (a live chain
	// whose set named a user the users round had not shown is served
	// next time).
	freshOf := map[string]*chainRound{}
	for _, rd := range fresh {
		for _, id := range rd.chain.IDs {
			freshOf[id] = rd
		}
	}
	for _, g := range r.obs.Groups {
		if !inFull[g.ID] || !wanted[g.ID] || g.Members == nil {
			continue
		}
		set := make(map[string]bool, len(g.Members.Members))
		names := make(map[string]DeltaUser, len(g.Members.Members))
		for _, m := range g.Members.Members {
			p := r.principal(m.Value)
			if m.Kind != model.User || p == nil || p.Kind != model.User {
				set = nil
				break
			}
			set[m.Value] = true
			names[m.Value] = DeltaUser{DisplayName: p.DisplayName, UPN: p.UserPrincipalName, Mail: p.Mail}
		}
		if set == nil {
			continue
		}
		maps.Copy(users.Known, names)
		if rd := freshOf[g.ID]; rd != nil {
			rd.sets[g.ID] = set
		}
	}

	st.Users, st.usersCurrent = users, true
	st.Groups = idle
	for _, rd := range append(live, fresh...) {
		rd.chain.Link, rd.chain.At, rd.chain.current = rd.link, now, true
		rd.chain.Members = make(map[string][]string, len(rd.sets))
		for id, set := range rd.sets {
			rd.chain.Members[id] = slices.Sorted(maps.Keys(set))
		}
		st.Groups = append(st.Groups, rd.chain)
	}
	return nil
}

// deltaRounds are the rounds startRounds ran: each chain's (nil where
// Graph refused its link as expired) and the users' (nil when there was no
// link, or Graph refused it).
type deltaRounds struct {
	chains []*GroupDelta
	rounds []*chainRound
	users  *UserDelta
}

// startRounds runs, beside the groups' look-ups, the round of every chain
// the state holds whose link Graph still honours, and the users' round: a
// round needs nothing the look-ups find, so it costs no round trip of its
// own. (A spec narrowed with -f runs the rounds of chains it does not
// read; they are kept up to date.) The function returned waits for them.
func (r *reader) startRounds(ctx context.Context) func() (*deltaRounds, error) {
	st := r.delta
	var live []*GroupDelta
	now := time.Now()
	for _, ch := range st.Groups {
		if now.Sub(ch.At) < deltaLinkLife {
			live = append(live, ch)
		}
	}
	users := st.Users != nil && !st.usersCurrent
	var out *deltaRounds
	done := make(chan error, 1)
	go func() {
		var err error
		out, err = r.runRounds(ctx, live, users)
		done <- err
	}()
	return sync.OnceValues(func() (*deltaRounds, error) {
		if err := <-done; err != nil {
			return nil, err
		}
		return out, nil
	})
}

// runRounds runs the rounds of chains, and the users' round when users is
// set, at once.
func (r *reader) runRounds(ctx context.Context, chains []*GroupDelta, users bool) (*deltaRounds, error) {
	out := &deltaRounds{chains: chains, rounds: make([]*chainRound, len(chains))}
	err := parallel(ctx, len(chains)+1, func(ctx context.Context, i int) error {
		var err error
		if i < len(chains) {
			out.rounds[i], err = r.chainRound(ctx, chains[i])
		} else if users {
			out.users, err = r.userRound(ctx, r.delta.Users)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chainRound runs one chain's round from its link. A nil round with no
// error means Graph refused the link as expired.
func (r *reader) chainRound(ctx context.Context, ch *GroupDelta) (*chainRound, error) {
	rd := &chainRound{chain: ch, sets: map[string]map[string]bool{}}
	for id, members := range ch.Members {
		set := make(map[string]bool, len(members))
		for _, m := range members {
			set[m] = true
		}
		rd.sets[id] = set
	}
	if ch.current {
		rd.link = ch.Link
		return rd, nil
	}
	untrackable := map[string]bool{} // groups with members other than users, this round
	next, err := deltaRound(ctx, r.c, ch.Link, nil, func(o deltaObject) {
		id := strings.ToLower(o.ID)
		if o.Removed != nil {
			delete(rd.sets, id)
			return
		}
		set := rd.sets[id]
		if set == nil {
			return // not tracked: it is read in full
		}
		for _, m := range o.Members {
			mid := strings.ToLower(m.ID)
			switch {
			case m.Removed != nil:
				delete(set, mid)
			case m.Type != userType:
				untrackable[id] = true
			default:
				set[mid] = true
			}
		}
	})
	if deltaExpired(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for id := range untrackable {
		delete(rd.sets, id)
	}
	rd.link = next
	return rd, nil
}

// userRound runs the users' round from u's link. A nil result with no
// error means Graph refused the link as expired.
func (r *reader) userRound(ctx context.Context, u *UserDelta) (*UserDelta, error) {
	out := &UserDelta{Known: maps.Clone(u.Known)}
	next, err := deltaRound(ctx, r.c, u.Link, nil, func(o deltaObject) {
		id := strings.ToLower(o.ID)
		if o.Removed != nil {
			delete(out.Known, id)
			return
		}
		out.Known[id] = DeltaUser{DisplayName: o.DisplayName, UPN: o.UPN, Mail: o.Mail}
	})
	if deltaExpired(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out.Link = next
	return out, nil
}

// parallel runs fn for 0..n-1 at once and returns the first error in
// index order; a failure stops the others.
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = fn(ctx, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

func namesServicePrincipal(set *model.MemberSet) bool {
	return slices.ContainsFunc(set.Members, func(ref model.Ref) bool { return ref.Kind == model.ServicePrincipal })
}

// currentUsers returns the users the state knows, as of this read's users
// round, or nil when this read ran none.
func (r *reader) currentUsers() *UserDelta {
	if r.delta == nil || !r.delta.usersCurrent {
		return nil
	}
	return r.delta.Users
}

// fromUserDelta records the users names names by userPrincipalName that
// the state's users show, and returns the names it did not find. The
// state knows the users of the managed sets (and, in a cache of an older
// format, every user), each as of this read's users round: a drifted spec
// naming users of other sets costs no look-up. Only userPrincipalName is
// matched, which is unique: a name that is someone's mail is left to the
// look-ups, which prefer a user whose userPrincipalName it is, and the
// state may not know that user.
func (r *reader) fromUserDelta(u *UserDelta, names []string) []string {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	for id, du := range u.Known {
		if upn := strings.ToLower(du.UPN); want[upn] {
			if r.knows(id) {
				continue
			}
			// Only the userPrincipalName is known to be the name: the
			// mail is left to the look-ups, as above.
			index := r.names
			r.names = nil
			r.addPrincipal(model.Principal{ID: id, Kind: model.User, DisplayName: du.DisplayName, UserPrincipalName: du.UPN, Mail: du.Mail})
			r.names = index
			r.names.Add(uint32(len(r.obs.Principals)-1) << 1)
		}
	}
	return slices.DeleteFunc(names, r.named)
}

// chainFilter is the first request of a chain's delta query: its groups'
// members, the groups named by id.
func chainFilter(ids []string) string {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = "id eq " + quote(id)
	}
	return groupDeltaPath + escape(strings.Join(terms, " or "))
}

// principal returns the recorded principal with that id, or nil.
func (r *reader) principal(id string) *model.Principal {
	if i, ok := r.ids.First(id); ok {
		return &r.obs.Principals[i]
	}
	return nil
}

// getByIDsMax is how many ids a directoryObjects/getByIds call may name.
const getByIDsMax = 1000

// usersByID records the users with these ids (distinct) and hands each to
// seen: through directoryObjects/getByIds, 1,000 ids a call, when the
// caller may read any directory object (Client.SetReadsDirectory), else 15
// ids to a filter of the users' list.
func (r *reader) usersByID(ctx context.Context, ids []string, seen func(model.Principal)) error {
	if !r.c.readsDirectory.Load() {
		return r.lookUp(ctx, "/users?", filterQuerySeq("id", ids, userSelect), model.User, seen)
	}
	var items []batchItem
	for chunk := range slices.Chunk(ids, getByIDsMax) {
		items = append(items, batchItem{Method: "POST", URL: "/directoryObjects/getByIds?$select=" + userSelect,
			Body: map[string]any{"ids": chunk, "types": []string{"user"}}, read: true})
	}
	results, err := r.c.batch(ctx, items)
	if err != nil {
		return err
	}
	for i := range results {
		if err := results[i].err(&items[i]); err != nil {
			return err
		}
		// One answer names them all: getByIds has no next page.
		var page struct {
			Value []objectJSON `json:"value"`
		}
		if err := decodeJSON(results[i].Body, &page); err != nil {
			return fmt.Errorf("graph: decode POST /directoryObjects/getByIds: %w", err)
		}
		for _, o := range page.Value {
			p := o.principal(model.User)
			r.addPrincipal(p)
			seen(p)
		}
	}
	return nil
}
