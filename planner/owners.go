package planner

// Group owners: a set like members, of users and service principals,
// additive unless the spec says authoritative. Removing an owner is ES103
// (gated by default), and a plan that would leave a group without an owner
// is refused: Graph refuses to remove a group's last owner (a user object,
// Microsoft's group-delete-owners page), and a group nobody owns can be
// managed only by administrators.

import (
	"strings"

	"github.com/entrasync/entrasync/model"
)

// groupOwners plans the owner set of desired group g against obs (nil when
// this plan creates g). deps are the changes the owners wait for: the
// group's create, or its conversion to cloud management.
func (d *differ) groupOwners(g, obs *model.Group, deps []string) {
	if g.Owners == nil || g.Absent {
		return
	}
	var want []Member
	wantIDs := map[string]bool{}
	for _, ref := range g.Owners.Members {
		m, ok := d.resolve(g, ref)
		if !ok || wantIDs[m.ID] {
			continue // unresolved (reported), or two spellings of one principal
		}
		wantIDs[m.ID] = true
		want = append(want, m)
	}
	var live []model.Ref
	if obs != nil && obs.Owners != nil {
		live = obs.Owners.Members
	}
	have := map[string]bool{}
	for _, r := range live {
		have[r.Value] = true
	}
	md := &MemberDiff{Mode: g.Owners.Mode, Live: len(have)}
	for _, m := range want {
		if !have[m.ID] {
			md.Add = append(md.Add, m)
		}
	}
	if g.Owners.Mode == model.Authoritative {
		for _, r := range live {
			if !wantIDs[r.Value] {
				md.Remove = append(md.Remove, Member{Kind: r.Kind, ID: r.Value, Label: d.label(r.Value)})
			}
		}
	}
	if len(md.Add)+len(md.Remove) == 0 {
		return
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	addr := g.Address()
	if len(md.Remove) > 0 && !d.ownerLeft(g, addr, live, md) {
		return
	}
	c := Change{Address: addr + ".owners", Kind: KindGroupOwners, Action: Update, Object: g.DisplayName,
		Members: md, DependsOn: deps, Pos: g.Pos}
	if obs != nil {
		c.Object, c.ObjectID, c.ObservedFingerprint = obs.DisplayName, obs.ID, fingerprint(ownerIDs(obs))
	}
	d.changes = append(d.changes, c)
}

// ownerLeft reports whether the group keeps an owner after md, and refuses
// the plan, at the owners block, when it would not: no owner left at all,
// or no user owner left once a user owner is removed (Graph refuses to
// remove the last user owner even while a service principal owns the
// group). Adds count: the applier writes them before the removals.
func (d *differ) ownerLeft(g *model.Group, addr string, live []model.Ref, md *MemberDiff) bool {
	removed := map[string]bool{}
	for _, m := range md.Remove {
		removed[m.ID] = true
	}
	left, users, userRemoved := len(md.Add), 0, false
	for _, m := range md.Add {
		if m.Kind == model.User {
			users++
		}
	}
	for _, r := range live {
		switch {
		case removed[r.Value]:
			userRemoved = userRemoved || r.Kind == model.User
		case r.Kind == model.User:
			left, users = left+1, users+1
		default:
			left++
		}
	}
	pos := g.Owners.Pos
	if pos.IsZero() {
		pos = g.Pos
	}
	switch {
	case left == 0:
		d.errorf(pos, addr, "List at least one owner who stays, or use mode: additive. Graph refuses to remove a group's last owner, and a group without owners can be managed only by administrators.",
			"the plan would remove the last owner of group %q (%s)", g.DisplayName, memberLabels(md.Remove))
	case users == 0 && userRemoved:
		d.errorf(pos, addr, "List at least one user who stays an owner. Graph refuses to remove a group's last user owner, even while a service principal owns it.",
			"the plan would remove the last user owner of group %q (%s)", g.DisplayName, memberLabels(md.Remove))
	default:
		return true
	}
	return false
}

func memberLabels(ms []Member) string {
	labels := make([]string, len(ms))
	for i, m := range ms {
		labels[i] = m.Label
	}
	return strings.Join(labels, ", ")
}

// ownerIDs are the owners a change was computed from, for its fingerprint.
func ownerIDs(g *model.Group) any {
	if g.Owners == nil {
		return []string{}
	}
	return memberIDs(&model.Group{Members: g.Owners})
}

// setNoun is what the entries of a change's set are called in messages.
func setNoun(k Kind) string {
	if k == KindGroupOwners {
		return "owners"
	}
	return "members"
}
