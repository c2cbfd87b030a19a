package planner

// Application permissions granted by name. A grant is the set of app roles
// one principal holds on one resource application; names resolve to app
// role ids through the resource's appRoles, read at plan time.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// KindGrant is a principal's application permissions on one resource;
// KindDelegatedGrant its delegated permissions for all users (one
// oauth2PermissionGrant, whose scopes are set, never POSTed twice).
const (
	KindGrant          Kind = "grant"
	KindDelegatedGrant Kind = "delegated_grant"
)

func grantAddress(principal, resource string) string {
	return fmt.Sprintf("grant[%q/%q]", principal, resource)
}

func (d *differ) grants() {
	for _, g := range d.desired.Grants {
		d.grant(g)
	}
}

func (d *differ) grant(g *model.Grant) {
	res := d.resolveApp(g.Resource, grantAddress(g.Principal.Value, g.Resource.Value))
	if res == nil {
		return
	}
	addr := grantAddress(g.Principal.Value, res.DisplayName)
	var deps []string
	principal := Parent{}
	pr, ok := d.findServicePrincipal(g.Principal)
	if !ok {
		// An agent identity this plan creates: the grant follows its create.
		a := d.declaredIdentity(g.Principal.Value)
		if a == nil {
			d.resolveServicePrincipal(g.Principal, addr) // reports it
			return
		}
		pr = model.Principal{Kind: "agentIdentity", DisplayName: a.DisplayName}
		principal.Address = model.AgentIdentityAddress(a.Blueprint, a.DisplayName)
		deps = append(deps, principal.Address)
	}
	principal.ID = pr.ID
	// Issue 4's order: blueprint → principal → identities → agent users →
	// grants. A grant to an identity waits for that identity's agent user.
	for _, u := range d.desired.AgentUsers {
		if !u.Absent && model.NameKey(u.Identity) == model.NameKey(pr.DisplayName) {
			deps = append(deps, model.AgentUserAddress(u.UserPrincipalName))
		}
	}
	var have map[string]model.GrantedRole
	var observed *model.Grant
	for _, o := range d.observed.Grants {
		if o.Principal.Value == pr.ID && o.Resource.Value == res.ID {
			observed = o
			have = map[string]model.GrantedRole{}
			for _, r := range o.AppRoles {
				have[r.RoleID] = r
			}
		}
	}
	d.delegated(g, res, pr, principal, observed, deps, addr)
	holder := Member{Kind: pr.Kind, ID: pr.ID, Label: pr.Label()}
	rd := &RoleDiff{}
	want := map[string]bool{}
	for _, r := range g.AppRoles {
		role, ok := d.appRole(res, r.Value, r.Pos, addr)
		if !ok {
			continue
		}
		if src, blocked := blockedForAgents[role.Value]; blocked && pr.Kind == "agentIdentity" && res.AppID == msGraphAppID {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos, Address: addr,
				Summary: fmt.Sprintf("[%s] %s cannot be granted to agent identity %q: Entra blocks it for agents", RiskAgentBlocked, role.Value, pr.Label()),
				Detail:  fmt.Sprintf("Source: %s. Grant a narrower permission; see docs/risks/ES202.md.", src)})
			continue
		}
		want[role.ID] = true
		if _, ok := have[role.ID]; !ok {
			rd.Add = append(rd.Add, RoleRef{Group: holder, Role: role.Value, RoleID: role.ID})
		}
	}
	if g.Mode == model.Authoritative {
		for id, r := range have {
			if !want[id] {
				rd.Remove = append(rd.Remove, RoleRef{Group: holder, Role: d.appRoleValue(res.ID, id), RoleID: id, ID: r.ID})
			}
		}
	}
	if len(rd.Add)+len(rd.Remove) == 0 {
		return
	}
	sortRoles(rd.Add)
	sortRoles(rd.Remove)
	ch := Change{Address: addr, Kind: KindGrant, Action: Update, Object: pr.Label(), ObjectID: pr.ID, Roles: rd, DependsOn: deps,
		Parents: map[string]Parent{"resource": {Address: "application[" + res.DisplayName + "]", ID: res.ID}, "principal": principal}, Pos: g.Pos}
	ch.ObservedFingerprint = fingerprint(have)
	d.changes = append(d.changes, ch)
}

// msGraphAppID is Microsoft Graph's appId, the same in every tenant.
const msGraphAppID = "00000003-0000-0000-c000-000000000000"

// findServicePrincipal is resolveServicePrincipal without reporting.
func (d *differ) findServicePrincipal(ref model.Ref) (model.Principal, bool) {
	v := strings.ToLower(strings.TrimSpace(ref.Value))
	var found []model.Principal
	for _, p := range d.observed.Principals {
		if p.Kind != model.User && p.Kind != model.GroupKind &&
			(p.ID == v || (p.AppID != "" && p.AppID == v) || (!ref.IsID() && model.NameKey(p.DisplayName) == v)) {
			found = append(found, p)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return model.Principal{}, false
}

// declaredIdentity is the agent identity the spec declares with that name.
func (d *differ) declaredIdentity(name string) *model.AgentIdentity {
	for _, a := range d.desired.AgentIdentities {
		if !a.Absent && model.NameKey(a.DisplayName) == model.NameKey(name) {
			return a
		}
	}
	return nil
}

// resolveServicePrincipal finds a service principal (agent identities and
// blueprint principals included) by object id, appId or display name.
func (d *differ) resolveServicePrincipal(ref model.Ref, addr string) (model.Principal, bool) {
	v := strings.ToLower(strings.TrimSpace(ref.Value))
	var found []model.Principal
	for _, p := range d.observed.Principals {
		if p.Kind == model.User || p.Kind == model.GroupKind {
			continue
		}
		if p.ID == v || (p.AppID != "" && p.AppID == v) || (!ref.IsID() && model.NameKey(p.DisplayName) == v) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		d.errorf(ref.Pos, addr, "Name a service principal or agent identity by display name, appId or object id.", "unknown service principal %q", ref.Value)
		return model.Principal{}, false
	case 1:
		return found[0], true
	}
	d.errorf(ref.Pos, addr, "Use the object id of the one you mean.", "service principal %q is ambiguous: %s and %s", ref.Value, found[0].ID, found[1].ID)
	return model.Principal{}, false
}

// delegated plans the AllPrincipals delegated grant of a principal on a
// resource: additive sets add scopes to the grant, authoritative ones make
// it exactly the listed scopes.
func (d *differ) delegated(g *model.Grant, res *model.AppPrincipal, pr model.Principal, principal Parent, observed *model.Grant, deps []string, grantAddr string) {
	if g.Scopes == nil {
		return
	}
	addr := strings.Replace(grantAddr, "grant[", "delegated_grant[", 1)
	var have []string
	id := ""
	if observed != nil && observed.Scopes != nil {
		have, id = *observed.Scopes, observed.ScopeGrantID
	}
	want := map[string]bool{}
	if g.Mode != model.Authoritative {
		for _, sc := range have {
			want[sc] = true
		}
	}
	for _, sc := range *g.Scopes {
		s, ok := d.scope(res, sc, g.Pos, addr)
		if !ok {
			continue
		}
		if src, blocked := blockedForAgents[s]; blocked && pr.Kind == "agentIdentity" && res.AppID == msGraphAppID {
			d.errorf(g.Pos, addr, fmt.Sprintf("Source: %s. See docs/risks/ES202.md.", src), "[%s] %s cannot be granted to agent identity %q: Entra blocks it for agents", RiskAgentBlocked, s, pr.Label())
			continue
		}
		want[s] = true
	}
	after := make([]string, 0, len(want))
	for sc := range want {
		after = append(after, sc)
	}
	before := sortedStrings(have)
	after = sortedStrings(after)
	if slices.Equal(before, after) {
		return
	}
	action := Update
	if id == "" && observed == nil || id == "" && len(have) == 0 {
		action = Create
	}
	ch := Change{Address: addr, Kind: KindDelegatedGrant, Action: action, Object: pr.Label(), ObjectID: id, DependsOn: deps,
		Fields:  []FieldDiff{{Field: "scope", Before: strings.Join(before, " "), After: strings.Join(after, " ")}},
		Parents: map[string]Parent{"resource": {Address: "application[" + res.DisplayName + "]", ID: res.ID}, "principal": principal},
		Pos:     g.Pos, ObservedFingerprint: fingerprint(before)}
	if action == Create {
		ch.Fields[0].Before = nil
	}
	if len(after) == 0 && id != "" {
		// A grant with no scope grants nothing: remove it rather than
		// leave an empty one behind.
		ch.Action, ch.Fields[0].After, ch.DependsOn = Delete, nil, nil
		ch.Reason = "its last delegated permission is removed"
	}
	d.changes = append(d.changes, ch)
}

// scope finds a delegated permission of a resource by value.
func (d *differ) scope(res *model.AppPrincipal, value string, pos model.Pos, addr string) (string, bool) {
	var values []string
	for _, s := range res.Scopes {
		if strings.EqualFold(s.Value, value) {
			return s.Value, true
		}
		values = append(values, s.Value)
	}
	sum := fmt.Sprintf("application %q has no delegated permission %q", res.DisplayName, value)
	if c := closest(value, values); c != "" {
		sum += fmt.Sprintf("; did you mean %q?", c)
	}
	d.errorf(pos, addr, "Its delegated permissions: "+strings.Join(values, ", ")+".", "%s", sum)
	return "", false
}
