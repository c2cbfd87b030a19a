package planner

import (
	"slices"
	"strings"
)

// deleteInUseLast makes a delete wait for the changes that stop other
// objects using what it deletes, in the order Microsoft's entitlement
// tutorial tears down: assignments, policies, the package, the catalog's
// resources, the catalog, and only then the groups that served it; and a
// principal's permission grants before the principal. Without these edges
// the applier, which runs independent deletes side by side, deleted a
// group while its catalog still held it; an agent identity's assignments
// end before it is deleted too. Edges to changes outside the plan
// are dropped by order().
func (d *differ) deleteInUseLast() {
	users := map[string][]string{} // object id → changes that end a use of it
	use := func(id, addr string) {
		if id != "" {
			users[strings.ToLower(id)] = append(users[strings.ToLower(id)], addr)
		}
	}
	for _, c := range d.changes {
		switch {
		case c.Kind == KindCatalog && c.Action == Delete:
			for _, cat := range d.observed.Catalogs {
				if cat.ID == c.ObjectID && cat.Groups != nil {
					for _, g := range *cat.Groups {
						use(g.Value, c.Address)
					}
				}
			}
		case c.Kind == KindCatalogResources && c.Members != nil:
			for _, m := range c.Members.Remove {
				use(m.ID, c.Address)
			}
		case c.Kind == KindPackage && c.Action == Delete:
			for _, p := range d.observed.AccessPackages {
				if p.ID == c.ObjectID && p.Roles != nil {
					for _, r := range *p.Roles {
						use(r.Group.Value, c.Address)
					}
				}
			}
		case c.Kind == KindPackageRoles && c.Roles != nil:
			for _, r := range c.Roles.Remove {
				use(r.Group.ID, c.Address)
			}
		case c.Kind == KindAssignments && c.Members != nil:
			// An agent identity assigned a package keeps its assignment
			// until the removal request is made.
			for _, m := range c.Members.Remove {
				use(m.ID, c.Address)
			}
		case c.Kind == KindGrant:
			use(c.ObjectID, c.Address) // a grant change's object is its principal
		case c.Kind == KindDelegatedGrant:
			use(c.Parents["principal"].ID, c.Address)
		}
	}
	for i := range d.changes {
		c := &d.changes[i]
		if c.Action != Delete || (c.Kind != KindGroup && c.Kind != KindAgentIdentity) {
			continue
		}
		for _, a := range users[strings.ToLower(c.ObjectID)] {
			if a != c.Address && !slices.Contains(c.DependsOn, a) {
				c.DependsOn = append(c.DependsOn, a)
			}
		}
	}
}
