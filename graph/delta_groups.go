package graph

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The groups' directory (issue 13, "delta-based drift"). A full read looks
// every group the spec names up by name or id, 15 to a filter: for 200
// groups that is most of what a delta read still costs. In a delta read
// the directory answers those look-ups instead. It follows /groups/delta
// over the whole tenant with the groups' properties selected and not
// their members, so a round shows every group created, renamed, changed
// or deleted since the last one, and with it a new group taking a name
// the spec manages, which a delta filtered by ids could not show. Of what
// the rounds show it keeps only the groups of the names and ids it
// answers for; a name no group has is an answer too (the group is to be
// created).
//
// Like the member chains, it starts from $deltatoken=latest, taken before
// the look-ups that seed it, so whatever changes between the two shows in
// the next round; names it does not answer for yet are looked up, as
// Read looks them up, in the same $batch call as its round, and answered
// for from then on. Names longer than Graph's eq matches are looked up by
// prefix every run. A link Graph no longer honours drops the directory:
// the run looks everything up and starts a new one.

// GroupDirectory is the groups' directory kept in a DeltaState (above).
type GroupDirectory struct {
	Link string    `json:"link"`
	At   time.Time `json:"at"`
	// Names (lower case) and IDs are the keys the directory answers for.
	Names []string `json:"names"`
	IDs   []string `json:"ids"`
	// Groups are the groups with those names or ids, as Graph last showed
	// them.
	Groups []groupJSON `json:"groups"`
}

// groupDeltaDirectory is the directory's first request: every group's
// properties, not its members.
const groupDeltaDirectory = "/groups/delta?$select=" + groupSelect

// dirObject is a group of a directory round, or its removal.
type dirObject struct {
	groupJSON `json:",inline"`
	Removed   *struct{} `json:"@removed"`
}

// dirRound is the directory during one read: the keys it answers for and
// the groups it holds, updated by the round and the look-ups.
type dirRound struct {
	link       string // the round's first request
	fresh      bool   // a new directory: its link is taken, no round is due
	names, ids map[string]bool
	groups     map[string]groupJSON // lower-case id →
}

// openDirectory returns the directory for this delta read: the state's,
// unless its link is too old for Graph to honour, or a new one whose link
// it takes now (a round trip before the look-ups, on the first run only).
// It returns nil when the read is not a delta read, or when Graph refuses
// the directory's query (the groups are then looked up, as Read does).
func (r *reader) openDirectory(ctx context.Context) (*dirRound, error) {
	st := r.delta
	if st == nil {
		return nil, nil
	}
	d := &dirRound{names: map[string]bool{}, ids: map[string]bool{}, groups: map[string]groupJSON{}}
	if old := st.Directory; old != nil && time.Since(old.At) < deltaLinkLife {
		d.link = old.Link
		for _, n := range old.Names {
			d.names[n] = true
		}
		for _, id := range old.IDs {
			d.ids[id] = true
		}
		for _, g := range old.Groups {
			d.groups[strings.ToLower(g.ID)] = g
		}
		return d, nil
	}
	st.Directory = nil
	link, err := deltaRound(ctx, r.c, groupDeltaDirectory+"&$deltatoken=latest", nil, func(dirObject) {})
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && !deltaExpired(err) {
		r.c.log.Warn("Graph refused the groups' delta query; the groups are looked up by name instead", "code", e.Code, "request-id", e.RequestID)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.link, d.fresh = link, true
	return d, nil
}

// answers reports whether the directory answers for a name or id.
func (d *dirRound) answersName(name string) bool {
	return d != nil && !d.fresh && d.names[strings.ToLower(name)]
}

func (d *dirRound) answersID(id string) bool {
	return d != nil && !d.fresh && d.ids[strings.ToLower(id)]
}

// lookingUp notes the names and ids looked up this run: the directory
// answers for them from now, with what the look-ups found.
func (d *dirRound) lookingUp(names, ids []string) {
	for _, n := range names {
		d.names[strings.ToLower(n)] = true
	}
	for _, id := range ids {
		d.ids[strings.ToLower(id)] = true
	}
}

// found records a group a look-up found.
func (d *dirRound) found(g groupJSON) {
	d.groups[strings.ToLower(g.ID)] = g
}

// apply is the round's handling of one object: a group of a name or id
// the directory answers for is kept as shown, one that no longer has such
// a name (renamed away) or is gone is dropped.
func (d *dirRound) apply(o dirObject) {
	id := strings.ToLower(o.ID)
	if o.Removed != nil || !(d.ids[id] || d.names[strings.ToLower(o.DisplayName)]) {
		delete(d.groups, id)
		return
	}
	d.groups[id] = o.groupJSON
}

// matching returns the groups of the names and ids asked, in id order.
func (d *dirRound) matching(names, ids []string) []groupJSON {
	wantName, wantID := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		wantName[strings.ToLower(n)] = true
	}
	for _, id := range ids {
		wantID[strings.ToLower(id)] = true
	}
	var out []groupJSON
	for _, id := range slices.Sorted(maps.Keys(d.groups)) {
		if g := d.groups[id]; wantID[id] || wantName[strings.ToLower(g.DisplayName)] {
			out = append(out, g)
		}
	}
	return out
}

// save keeps the directory in the state, with the round's next link.
func (d *dirRound) save(st *DeltaState, next string) {
	dir := &GroupDirectory{Link: next, At: time.Now(),
		Names: slices.Sorted(maps.Keys(d.names)), IDs: slices.Sorted(maps.Keys(d.ids))}
	for _, id := range slices.Sorted(maps.Keys(d.groups)) {
		dir.Groups = append(dir.Groups, d.groups[id])
	}
	st.Directory = dir
}
