package planner

// Verifying an apply: after apply has carried out a plan it plans again
// from a fresh read, and what is left is either Graph catching up with the
// writes (replication), writes that failed and may be tried again, or
// something the reviewed plan did not contain. Covers tells the last two
// apart: a follow-up change may only finish what the reviewed change
// started, never remove more than it did.

import (
	"reflect"
	"slices"
	"strings"
)

// Covers reports whether fresh, a change planned after an apply, asks for
// nothing more dangerous than orig, the reviewed change it follows up: the
// same address and kind, the same action (or an update after a create that
// went only part of the way), and no member, resource, role or object
// removal that orig did not plan. Adds and field values move toward the spec
// and are covered: they are what orig asked for, or drift back to it.
func Covers(orig, fresh *Change) bool {
	if orig.Address != fresh.Address || orig.Kind != fresh.Kind {
		return false
	}
	switch {
	case fresh.Action == orig.Action:
	case orig.Action == Create && fresh.Action == Update:
	default:
		return false
	}
	if fresh.Members != nil {
		var planned []Member
		if orig.Members != nil {
			planned = orig.Members.Remove
		}
		for _, m := range fresh.Members.Remove {
			if !containsMember(planned, m) {
				return false
			}
		}
	}
	if fresh.Roles != nil {
		var planned []RoleRef
		if orig.Roles != nil {
			planned = orig.Roles.Remove
		}
		for _, r := range fresh.Roles.Remove {
			if !containsRole(planned, r) {
				return false
			}
		}
	}
	return true
}

func containsMember(ms []Member, m Member) bool {
	for _, o := range ms {
		if o.Kind == m.Kind && o.ID != "" && o.ID == m.ID {
			return true
		}
	}
	return false
}

func containsRole(rs []RoleRef, r RoleRef) bool {
	for _, o := range rs {
		if (o.ID != "" && o.ID == r.ID) || (o.Role == r.Role && o.Group.ID != "" && o.Group.ID == r.Group.ID) {
			return true
		}
	}
	return false
}

// Within reports whether everything fresh asks for is something orig
// already wrote: the same action, field values, and members, resources and
// roles added, removed or repaired. After an apply that succeeded, such a
// change is Graph not showing the writes yet, not work left to do.
func Within(orig, fresh *Change) bool {
	if orig.Address != fresh.Address || orig.Kind != fresh.Kind || orig.Action != fresh.Action {
		return false
	}
	for _, f := range fresh.Fields {
		if !slices.ContainsFunc(orig.Fields, func(o FieldDiff) bool { return o.Field == f.Field && reflect.DeepEqual(o.After, f.After) }) {
			return false
		}
	}
	if fresh.Body != nil && !reflect.DeepEqual(orig.Body, fresh.Body) {
		return false
	}
	if fresh.Members != nil {
		var om MemberDiff
		if orig.Members != nil {
			om = *orig.Members
		}
		for _, pair := range [][2][]Member{{om.Add, fresh.Members.Add}, {om.Remove, fresh.Members.Remove}, {om.Repair, fresh.Members.Repair}} {
			for _, m := range pair[1] {
				if !slices.ContainsFunc(pair[0], func(o Member) bool { return sameMember(o, m) }) {
					return false
				}
			}
		}
	}
	if fresh.Roles != nil {
		var or RoleDiff
		if orig.Roles != nil {
			or = *orig.Roles
		}
		for _, pair := range [][2][]RoleRef{{or.Add, fresh.Roles.Add}, {or.Remove, fresh.Roles.Remove}} {
			for _, r := range pair[1] {
				if !slices.ContainsFunc(pair[0], func(o RoleRef) bool { return sameRole(o, r) && sameMember(o.Group, r.Group) }) {
					return false
				}
			}
		}
	}
	return true
}

// sameMember matches a member across two plans: by id, or, for an object
// the first plan was to create or invite (no id yet), by its label.
func sameMember(a, b Member) bool {
	if a.ID != "" && b.ID != "" {
		return a.ID == b.ID
	}
	return a.Kind == b.Kind && strings.EqualFold(a.Label, b.Label)
}

// sameRole matches a role across two plans. A SharePoint site's role is
// named by display name, as the spec writes it while the site is not yet
// in the catalog, and as Graph spells it once it is.
func sameRole(a, b RoleRef) bool {
	if a.Group.Kind == "sharePointSite" {
		return strings.EqualFold(a.Role, b.Role)
	}
	return a.Role == b.Role
}
