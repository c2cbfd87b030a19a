package planner

// Ignore rules (settings.ignore): fields another system owns are taken out
// of the desired state before the diff, set to nil (unmanaged), so the diff
// neither compares nor writes them. What is ignored cannot be changed.

import (
	"slices"

	"github.com/entrasync/entrasync/model"
)

// ignoreFields takes the fields settings.ignore hands to other systems out
// of the desired catalogs, access packages, blueprints and agent identities
// the diff reads (d.desired becomes a copy; the caller's tenant is never
// changed), and returns the desired groups with theirs taken out, for the
// group diff. d.desired keeps the groups as written: the set limits
// (allSetLimits) and the index read them so.
func (d *differ) ignoreFields() []*model.Group {
	t := ignored(d.desired)
	groups := t.Groups
	t.Groups = d.desired.Groups
	d.desired = t
	return groups
}

// ignored returns a copy of desired with the ignored fields unset. Objects a
// rule matches are copied, never changed in place; the others are shared.
func ignored(desired *model.Tenant) *model.Tenant {
	t := *desired
	rules := desired.Settings.Ignore
	if len(rules) == 0 {
		return &t
	}
	t.Groups = applyIgnore(rules, model.IgnoreGroup, desired.Groups, (*model.Group).Key, unsetGroupField)
	t.Catalogs = applyIgnore(rules, model.IgnoreCatalog, desired.Catalogs, (*model.Catalog).Key, unsetCatalogField)
	t.AccessPackages = applyIgnore(rules, model.IgnoreAccessPackage, desired.AccessPackages,
		func(p *model.AccessPackage) string { return model.NameKey(p.DisplayName) }, unsetPackageField)
	t.Blueprints = applyIgnore(rules, model.IgnoreBlueprint, desired.Blueprints, (*model.Blueprint).Key, unsetBlueprintField)
	t.AgentIdentities = applyIgnore(rules, model.IgnoreAgentIdentity, desired.AgentIdentities,
		func(a *model.AgentIdentity) string { return model.NameKey(a.DisplayName) }, unsetIdentityField)
	return &t
}

// applyIgnore applies the rules of one kind to objs, whose natural key
// (lower-cased display name) key gives: each object a rule's pattern
// matches is copied and unset has the rule's fields taken out of the copy.
// objs itself is returned when no rule matches.
func applyIgnore[T any](rules []model.IgnoreRule, kind string, objs []*T, key func(*T) string, unset func(*T, string)) []*T {
	var out []*T
	for i, o := range objs {
		var c *T
		for _, r := range rules {
			if r.Kind() != kind {
				continue
			}
			if !model.GlobMatch(r.Pattern(), key(o)) {
				continue
			}
			if c == nil {
				cp := *o
				c = &cp
			}
			for _, f := range r.Fields {
				unset(c, f)
			}
		}
		if c == nil {
			continue
		}
		if out == nil {
			out = slices.Clone(objs)
		}
		out[i] = c
	}
	if out == nil {
		return objs
	}
	return out
}

// The unset functions know the fields of model.IgnorableFields; the spec
// refuses any other, and TestIgnorableFieldsAreAllUnset keeps the two in
// step.

func unsetGroupField(g *model.Group, f string) {
	switch f {
	case "description":
		g.Description = nil
	case "mailNickname":
		g.MailNickname = nil
	case "membershipRule":
		g.MembershipRule = nil
	case "membershipRuleProcessingState":
		g.MembershipRuleProcessingState = nil
	case "members":
		g.Members = nil
	case "owners":
		g.Owners = nil
	}
}

func unsetCatalogField(c *model.Catalog, f string) {
	switch f {
	case "description":
		c.Description = nil
	case "isExternallyVisible":
		c.IsExternallyVisible = nil
	case "state":
		c.State = nil
	case "resources":
		c.Groups, c.Applications, c.Sites = nil, nil, nil
	}
}

func unsetPackageField(p *model.AccessPackage, f string) {
	switch f {
	case "description":
		p.Description = nil
	case "isHidden":
		p.IsHidden = nil
	case "roles":
		p.Roles = nil
	case "incompatibleWith":
		p.Incompatible = nil
	case "assignments":
		p.Assignments = nil
	}
}

func unsetBlueprintField(b *model.Blueprint, f string) {
	switch f {
	case "description":
		b.Description = nil
	case "tags":
		b.Tags = nil
	}
}

func unsetIdentityField(a *model.AgentIdentity, f string) {
	switch f {
	case "tags":
		a.Tags = nil
	case "enabled":
		a.Enabled = nil
	}
}
