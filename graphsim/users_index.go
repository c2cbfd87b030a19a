package graphsim

import (
	"slices"
	"strings"
)

// The users' index. A tenant of 100,000 users is looked up 15 names a
// request (README §3's `in` filters on userPrincipalName, mail and id); a
// walk over every user per request, rendering each, made such a tenant
// take hours to plan against. The index narrows a request to the users its
// filter can match before the filter runs: the filter is still evaluated
// on each of them, so an answer is the one a walk gives, only cheaper.
//
// Users change only where graphsim adds or removes one (a fixture or state
// load, an invitation, an agent user); each of those calls usersChanged,
// and the index is built again on next use.
type userIndex struct {
	sorted        []*userRec            // by seq, as lists return them
	byUPN, byMail map[string][]*userRec // keyed by foldKey
	// upnOrder is the users with a userPrincipalName in the order of its
	// lower-case form, the form startswith compares: a prefix is a run.
	upnOrder []upnKey
}

type upnKey struct {
	lower string
	u     *userRec
}

// foldKey is the key under which strings that compare equal with
// strings.EqualFold (the filter's string equality) meet.
func foldKey(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// usersChanged drops the index after a user was added or removed.
func (st *store) usersChanged() { st.uidx = nil }

func (st *store) userIdx() *userIndex {
	if st.uidx != nil {
		return st.uidx
	}
	x := &userIndex{sorted: make([]*userRec, 0, len(st.users)), byUPN: map[string][]*userRec{}, byMail: map[string][]*userRec{}}
	for _, u := range st.users {
		x.sorted = append(x.sorted, u)
	}
	slices.SortFunc(x.sorted, func(a, b *userRec) int { return int(a.seq - b.seq) })
	for _, u := range x.sorted {
		if u.UserPrincipalName != "" {
			k := foldKey(u.UserPrincipalName)
			x.byUPN[k] = append(x.byUPN[k], u)
		}
		if u.Mail != "" {
			k := foldKey(u.Mail)
			x.byMail[k] = append(x.byMail[k], u)
		}
		if u.UserPrincipalName != "" {
			x.upnOrder = append(x.upnOrder, upnKey{strings.ToLower(u.UserPrincipalName), u})
		}
	}
	slices.SortFunc(x.upnOrder, func(a, b upnKey) int { return strings.Compare(a.lower, b.lower) })
	st.uidx = x
	return x
}

// usersMatching are the users a filter can match, by seq, when the index
// can tell (ok); otherwise every user may match and ok is false. A
// comparison eq or an in on id, userPrincipalName or mail, and a
// startswith on userPrincipalName, are answered from the index; an or of
// answerable parts is their union, an and the smaller of its answerable
// sides.
func (st *store) usersMatching(n fnode) (users []*userRec, ok bool) {
	switch n := n.(type) {
	case fnNode:
		if n.fn == "startswith" && n.lhs.vr == "" && n.lhs.prop == "userPrincipalName" {
			prefix := strings.ToLower(n.arg)
			order := st.userIdx().upnOrder
			i, _ := slices.BinarySearchFunc(order, prefix, func(k upnKey, p string) int { return strings.Compare(k.lower, p) })
			var out []*userRec
			for ; i < len(order) && strings.HasPrefix(order[i].lower, prefix); i++ {
				out = append(out, order[i].u)
			}
			slices.SortFunc(out, func(a, b *userRec) int { return int(a.seq - b.seq) })
			return out, true
		}
	case cmpNode:
		if n.op == "eq" {
			return st.usersWith(n.lhs, []literal{n.lit})
		}
	case inNode:
		return st.usersWith(n.lhs, n.lits)
	case orNode:
		l, lok := st.usersMatching(n.l)
		r, rok := st.usersMatching(n.r)
		if lok && rok {
			return unionBySeq(l, r), true
		}
	case andNode:
		l, lok := st.usersMatching(n.l)
		r, rok := st.usersMatching(n.r)
		switch {
		case lok && rok && len(r) < len(l):
			return r, true
		case lok:
			return l, true
		case rok:
			return r, true
		}
	}
	return nil, false
}

func (st *store) usersWith(lhs operand, lits []literal) ([]*userRec, bool) {
	if lhs.vr != "" {
		return nil, false
	}
	var by map[string][]*userRec
	switch lhs.prop {
	case "id":
	case "userPrincipalName":
		by = st.userIdx().byUPN
	case "mail":
		by = st.userIdx().byMail
	default:
		return nil, false
	}
	var out []*userRec
	for _, l := range lits {
		if l.isNull || l.b != nil {
			return nil, false // null and booleans: left to the walk
		}
		if by == nil {
			if u := st.users[strings.ToLower(l.s)]; u != nil && strings.EqualFold(u.ID, l.s) {
				out = append(out, u)
			}
			continue
		}
		out = append(out, by[foldKey(l.s)]...)
	}
	slices.SortFunc(out, func(a, b *userRec) int { return int(a.seq - b.seq) })
	return slices.Compact(out), true
}

// unionBySeq merges two lists sorted by seq, without repeats.
func unionBySeq(a, b []*userRec) []*userRec {
	out := slices.Concat(a, b)
	slices.SortFunc(out, func(x, y *userRec) int { return int(x.seq - y.seq) })
	return slices.Compact(out)
}
