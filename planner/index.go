package planner

import (
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// index answers the planner's look-ups in both states.
//
// Principals are found by their position in the observed state's list
// (an int32), not copied into maps: a plan of a million-member group has
// a million of them, and maps of copies were a third of its memory.
type index struct {
	principals []model.Principal // observed.Principals
	extra      []model.Principal // groups read but not listed there, after them
	// sorted is whether principals are in id order, as Normalize leaves
	// them: then an id is found by searching them, and byID holds only
	// the extra groups; otherwise byID holds every id.
	sorted        bool
	byID          map[string]int32
	usersByName   names // lower-cased UPN or mail
	groupsByName  names // lower-cased display name
	spsByName     names
	groupByID     map[string]*model.Group
	groupsByKey   map[string][]*model.Group
	desiredGroups map[string]*model.Group
}

// names finds principals by a name (lower-cased, as model.NameKey makes
// it): an index of positions whose names it reads from the principals
// rather than keeps (a million users' UPNs would be a map of a million
// strings). A handle is a position shifted by one bit, the bit saying
// which of two names it stands for (for users: UPN, mail).
type names struct {
	x *model.Index
}

func newNames(hint int, name func(at int32, second bool) string) names {
	return names{model.NewIndex(hint, func(h uint32) string { return name(int32(h>>1), h&1 == 1) })}
}

// add adds the principal at a position under its first name (second:
// its second).
func (n names) add(at int32, second bool) { n.x.Add(nameHandle(at, second)) }

// addAll adds name handles (nameHandle) all at once (model.Index.AddAll).
func (n names) addAll(handles []uint32) { n.x.AddAll(handles) }

// nameHandle is the handle of a position's first or second name.
func nameHandle(at int32, second bool) uint32 {
	h := uint32(at) << 1
	if second {
		h |= 1
	}
	return h
}

// prefetch reads ahead where the keys of refs would be found (model.Index.Prefetch).
func (n names) prefetch(refs []model.Ref) {
	n.x.Prefetch(len(refs), func(i int) string { return refs[i].Value })
}

// find returns the first principal with the name and how many have it.
func (n names) find(key string) (at int32, count int) {
	at = -1
	for h := range n.x.All(key) {
		if count == 0 {
			at = int32(h >> 1)
		}
		count++
	}
	return at, count
}

// has reports whether any principal has the name.
func (n names) has(key string) bool { return n.x.Has(key) }

// all lists the principals with the name.
func (n names) all(key string) []int32 {
	var ats []int32
	for h := range n.x.All(key) {
		ats = append(ats, int32(h>>1))
	}
	return ats
}

func newIndex(desired, observed *model.Tenant) *index {
	// Sized once by what was read (observed state is bounded by the
	// tenant, not by what a spec may list).
	n := len(observed.Principals)
	sorted := slices.IsSortedFunc(observed.Principals, func(a, b model.Principal) int { return strings.Compare(a.ID, b.ID) })
	byID := n
	if sorted {
		byID = 0 // (the map is for the extra groups)
	}
	ix := &index{
		principals:    observed.Principals,
		sorted:        sorted,
		byID:          make(map[string]int32, byID),
		groupByID:     map[string]*model.Group{},
		groupsByKey:   map[string][]*model.Group{},
		desiredGroups: map[string]*model.Group{},
	}
	ix.usersByName = newNames(n, func(at int32, mail bool) string {
		if p := ix.ptr(at); mail {
			return p.Mail
		} else {
			return p.UserPrincipalName
		}
	})
	displayName := func(at int32, _ bool) string { return ix.ptr(at).DisplayName }
	ix.groupsByName, ix.spsByName = newNames(0, displayName), newNames(0, displayName)
	users := make([]uint32, 0, n)
	for i := range observed.Principals {
		p, at := &observed.Principals[i], int32(i)
		if !sorted {
			ix.byID[p.ID] = at
		}
		switch p.Kind {
		case model.User:
			users = append(users, nameHandle(at, false))
			if p.Mail != p.UserPrincipalName && model.CompareFold(strings.TrimSpace(p.Mail), strings.TrimSpace(p.UserPrincipalName)) != 0 {
				// (most users' mail is their UPN: one name)
				users = append(users, nameHandle(at, true))
			}
		case model.GroupKind:
			ix.groupsByName.add(at, false)
		default:
			if p.Kind.IsServicePrincipal() {
				ix.spsByName.add(at, false)
			}
		}
	}
	ix.usersByName.addAll(users) // (all at once: it reads ahead)
	for _, g := range observed.Groups {
		ix.groupByID[g.ID] = g
		ix.groupsByKey[g.Key()] = append(ix.groupsByKey[g.Key()], g)
		if _, ok := ix.find(g.ID); !ok {
			at := int32(ix.size())
			ix.extra = append(ix.extra, model.Principal{ID: g.ID, Kind: model.GroupKind, DisplayName: g.DisplayName})
			ix.byID[g.ID] = at
			ix.groupsByName.add(at, false)
		}
	}
	for _, g := range desired.Groups {
		ix.desiredGroups[g.Key()] = g
	}
	return ix
}

// principal is the observed principal with the id; the zero Principal and
// false when none was read.
func (ix *index) principal(id string) (model.Principal, bool) {
	if at, ok := ix.find(id); ok {
		return ix.at(at), true
	}
	return model.Principal{}, false
}

// find is the position of the principal with the id.
func (ix *index) find(id string) (int32, bool) {
	return ix.seek(id, -1)
}

// seek is find, searching onwards from the position of an earlier,
// smaller id (-1 for none): ids found in order cost a step or two each,
// not a search of the whole list, and touch the list in order.
func (ix *index) seek(id string, from int32) (int32, bool) {
	if !ix.sorted {
		at, ok := ix.byID[id]
		return at, ok
	}
	ps := ix.principals
	lo := int(from) + 1 // the first place id can be
	if from < 0 || int(from) >= len(ps) || ps[from].ID >= id {
		lo = 0
	}
	// Gallop: from lo, steps of 1, 2, 4, … to an id at or past id, then
	// a binary search of the last step.
	hi, step := lo, 1
	for hi < len(ps) && ps[hi].ID < id {
		lo = hi + 1
		hi += step
		step *= 2
	}
	hi = min(hi, len(ps)-1) + 1
	i, ok := slices.BinarySearchFunc(ps[lo:hi], id, func(p model.Principal, id string) int { return strings.Compare(p.ID, id) })
	if ok {
		return int32(lo + i), true
	}
	at, ok := ix.byID[id] // an extra group
	return at, ok
}

// at is the principal at a position.
func (ix *index) at(at int32) model.Principal {
	if int(at) < len(ix.principals) {
		return ix.principals[at]
	}
	return ix.extra[int(at)-len(ix.principals)]
}

// ptr is where the principal at a position is.
func (ix *index) ptr(at int32) *model.Principal {
	if int(at) < len(ix.principals) {
		return &ix.principals[at]
	}
	return &ix.extra[int(at)-len(ix.principals)]
}

// size is how many positions there are.
func (ix *index) size() int { return len(ix.principals) + len(ix.extra) }

// ids are the object ids of principals at the positions.
func (ix *index) ids(ats []int32) []string {
	out := make([]string, len(ats))
	for i, at := range ats {
		out[i] = ix.at(at).ID
	}
	return out
}

// bitset is a set of principal positions.
type bitset []uint64

func newBitset(n int) bitset       { return make(bitset, (n+63)/64) }
func (b bitset) has(at int32) bool { return b[at/64]&(1<<(at%64)) != 0 }
func (b bitset) set(at int32)      { b[at/64] |= 1 << (at % 64) }
