package graphsim

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// splitmix is a tiny deterministic PRNG whose whole state is one uint64, so it
// can be saved and restored (math/rand sources cannot).
type splitmix struct{ state uint64 }

func (r *splitmix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a value in [0,1).
func (r *splitmix) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// uuid returns a random-looking version-4 GUID.
func (r *splitmix) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.next())
	binary.BigEndian.PutUint64(b[8:], r.next())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

type kind int

const (
	kindUser kind = iota
	kindGroup
	kindSP
)

func (k kind) odataType() string {
	switch k {
	case kindUser:
		return "#microsoft.graph.user"
	case kindGroup:
		return "#microsoft.graph.group"
	}
	return "#microsoft.graph.servicePrincipal"
}

// Storage types. They embed the fixture structs for the stored properties
// (graphsim's own types, deliberately independent of package model) and add
// bookkeeping: a creation sequence number used for stable list order and
// paging, and the simulator time of creation used for replication lag.

type userRec struct {
	User
	seq     int64
	created time.Time // simulator time; zero for fixture objects
}

type spRec struct {
	ServicePrincipal
	seq     int64
	created time.Time
}

type groupRec struct {
	Group   // Members/Owners fields are unused; see members/owners
	seq     int64
	created time.Time
	members linkList
	owners  linkList
}

// linkList is a group's members or owners in the order they were added,
// which is the order lists return them in, with an index by id: a group
// of a million members is looked up, added to and removed from without a
// walk over it. A removed link is marked dead and left out of the order
// when it is next listed.
type linkList struct {
	ls   []*link
	byID map[string]*link
	dead int
}

func (l *linkList) has(id string) bool { return l.byID[id] != nil }

func (l *linkList) add(x *link) {
	if l.byID == nil {
		l.byID = map[string]*link{}
	}
	l.ls = append(l.ls, x)
	l.byID[x.id] = x
}

// drop removes id's link, if any.
func (l *linkList) drop(id string) {
	if x := l.byID[id]; x != nil {
		delete(l.byID, id)
		x.dead = true
		l.dead++
	}
}

// all is the live links, oldest first; the slice is the list's own.
func (l *linkList) all() []*link {
	if l.dead > 0 {
		l.ls = slices.DeleteFunc(l.ls, func(x *link) bool { return x.dead })
		l.dead = 0
	}
	return l.ls
}

// link is one membership/ownership reference.
type link struct {
	id    string // lower-case object id
	dead  bool   // dropped from its linkList (linkList.drop)
	seq   int64
	added time.Time // simulator time; zero for fixture links
}

type store struct {
	tenant Tenant
	users  map[string]*userRec // keyed by lower-case id
	groups map[string]*groupRec
	sps    map[string]*spRec
	seq    int64
	em     *emStore    // entitlement management (em_store.go)
	agent  *agentStore // Agent ID and grants (agent_store.go)
	uidx   *userIndex  // users_index.go; nil until used, or after a change
}

func (st *store) nextSeq() int64 { st.seq++; return st.seq }

// kindOf reports which collection holds id.
func (st *store) kindOf(id string) (kind, bool) {
	id = strings.ToLower(id)
	if _, ok := st.users[id]; ok {
		return kindUser, true
	}
	if _, ok := st.groups[id]; ok {
		return kindGroup, true
	}
	if _, ok := st.sps[id]; ok {
		return kindSP, true
	}
	return 0, false
}

func (st *store) userByUPN(upn string) *userRec {
	for _, u := range st.userIdx().byUPN[foldKey(upn)] {
		if strings.EqualFold(u.UserPrincipalName, upn) {
			return u
		}
	}
	return nil
}

func (st *store) groupByUniqueName(n string) *groupRec {
	for _, g := range st.groups {
		if g.UniqueName != "" && strings.EqualFold(g.UniqueName, n) {
			return g
		}
	}
	return nil
}

// sortedUsers are the users by seq; the slice is the index's, not to be
// changed.
func (st *store) sortedUsers() []*userRec { return st.userIdx().sorted }

func (st *store) sortedGroups() []*groupRec {
	out := make([]*groupRec, 0, len(st.groups))
	for _, g := range st.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (st *store) sortedSPs() []*spRec {
	out := make([]*spRec, 0, len(st.sps))
	for _, s := range st.sps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// removeLinksTo drops every membership/ownership pointing at id (object deleted).
func (st *store) removeLinksTo(id string) {
	for _, g := range st.groups {
		g.members.drop(id)
		g.owners.drop(id)
	}
}

func boolPtr(b bool) *bool { return &b }

// newStore builds storage from a (validated) fixture, generating missing ids
// from ids. Objects keep fixture order for listing.
func newStore(f *Fixture, ids *splitmix) (*store, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	st := &store{
		tenant: f.Tenant,
		users:  map[string]*userRec{},
		groups: map[string]*groupRec{},
		sps:    map[string]*spRec{},
	}
	if st.tenant.Domain == "" {
		st.tenant.Domain = "contoso.onmicrosoft.com"
	}
	if st.tenant.ID == "" {
		st.tenant.ID = ids.uuid()
	}
	if st.tenant.AppID == "" {
		st.tenant.AppID = "00000000-0000-0000-0000-000000000000"
	}
	created := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return t.UTC()
	}
	for _, u := range f.Users {
		r := &userRec{User: u, seq: st.nextSeq(), created: created(u.CreatedDateTime)}
		if r.ID == "" {
			r.ID = ids.uuid()
		}
		r.ID = strings.ToLower(r.ID)
		if r.AccountEnabled == nil {
			r.AccountEnabled = boolPtr(true)
		}
		if r.UserType == "" {
			r.UserType = "Member"
			if strings.Contains(r.UserPrincipalName, "#EXT#") {
				r.UserType = "Guest"
			}
		}
		st.users[r.ID] = r
	}
	st.usersChanged()
	for _, sp := range f.ServicePrincipals {
		r := &spRec{ServicePrincipal: sp, seq: st.nextSeq(), created: created(sp.CreatedDateTime)}
		if r.ID == "" {
			r.ID = ids.uuid()
		}
		r.ID = strings.ToLower(r.ID)
		if r.AppID == "" {
			r.AppID = ids.uuid()
		}
		if r.ServicePrincipalType == "" {
			r.ServicePrincipalType = "Application"
		}
		if r.AccountEnabled == nil {
			r.AccountEnabled = boolPtr(true)
		}
		st.sps[r.ID] = r
	}
	var recs []*groupRec
	for _, g := range f.Groups {
		r := &groupRec{Group: g, seq: st.nextSeq(), created: created(g.CreatedDateTime)}
		if r.ID == "" {
			r.ID = ids.uuid()
		}
		r.ID = strings.ToLower(r.ID)
		if r.SecurityEnabled == nil {
			r.SecurityEnabled = boolPtr(true)
		}
		if r.MailNickname == "" {
			r.MailNickname = strings.Map(func(c rune) rune {
				if c > 127 || strings.ContainsRune(forbiddenNickChars, c) {
					return -1
				}
				return c
			}, r.DisplayName)
		}
		if r.OnPremisesSyncEnabled != nil && *r.OnPremisesSyncEnabled {
			r.SourceOnPremises = true
		}
		if r.OnPremisesSyncEnabled != nil && !*r.OnPremisesSyncEnabled {
			r.OnPremisesSyncEnabled = nil
		}
		if isDynamic(r.GroupTypes) && r.MembershipRuleProcessingState == "" {
			r.MembershipRuleProcessingState = "On"
		}
		r.Members, r.Owners = nil, nil
		st.groups[r.ID] = r
		recs = append(recs, r)
	}
	resolve := func(ref string) string {
		if _, ok := st.kindOf(ref); ok {
			return strings.ToLower(ref)
		}
		if u := st.userByUPN(ref); u != nil {
			return u.ID
		}
		return ""
	}
	for i, g := range f.Groups {
		r := recs[i]
		for _, m := range g.Members {
			id := resolve(m)
			if id == "" {
				return nil, fmt.Errorf("graphsim: unresolved member %q", m)
			}
			if !r.members.has(id) {
				r.members.add(&link{id: id, seq: st.nextSeq()})
			}
		}
		for _, o := range g.Owners {
			id := resolve(o)
			if id == "" {
				return nil, fmt.Errorf("graphsim: unresolved owner %q", o)
			}
			if !r.owners.has(id) {
				r.owners.add(&link{id: id, seq: st.nextSeq()})
			}
		}
	}
	if err := st.loadEM(f, ids); err != nil {
		return nil, err
	}
	if err := st.loadAgents(f, ids); err != nil {
		return nil, err
	}
	return st, nil
}

// toFixture snapshots the store in fixture format (used by Save).
func (st *store) toFixture() *Fixture {
	f := &Fixture{Tenant: st.tenant}
	ts := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	for _, u := range st.sortedUsers() {
		x := u.User
		x.CreatedDateTime = ts(u.created)
		f.Users = append(f.Users, x)
	}
	for _, g := range st.sortedGroups() {
		x := g.Group
		x.CreatedDateTime = ts(g.created)
		x.Members, x.Owners = nil, nil
		for _, l := range g.members.all() {
			x.Members = append(x.Members, l.id)
		}
		for _, l := range g.owners.all() {
			x.Owners = append(x.Owners, l.id)
		}
		f.Groups = append(f.Groups, x)
	}
	for _, s := range st.sortedSPs() {
		x := s.ServicePrincipal
		x.CreatedDateTime = ts(s.created)
		f.ServicePrincipals = append(f.ServicePrincipals, x)
	}
	st.saveEM(f)
	st.saveAgents(f)
	return f
}
