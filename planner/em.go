package planner

// Entitlement management: catalogs, their group resources, access packages,
// their roles, assignment policies and assignment sets.
//
// Order, as Microsoft's tutorial does it: catalog → resources → package →
// roles → policy → assignments; deletion in reverse, assignments first.
// Policies are compared on the properties the spec writes and nothing else
// (Graph fills defaults and server-set fields), and written whole: the
// observed policy with the spec's properties merged in.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrasync/entrasync/model"
)

func policyAddress(pkg *model.AccessPackage, name string) string {
	return fmt.Sprintf("assignment_policy[%q/%q/%q]", pkg.Catalog, pkg.DisplayName, name)
}

// emState indexes entitlement management in both states.
type emState struct {
	obsCatalogs map[string][]*model.Catalog       // name key
	obsPackages map[string][]*model.AccessPackage // package key
	desCatalogs map[string]*model.Catalog
}

func (d *differ) entitlement() {
	st := &emState{obsCatalogs: map[string][]*model.Catalog{}, obsPackages: map[string][]*model.AccessPackage{}, desCatalogs: map[string]*model.Catalog{}}
	for _, c := range d.observed.Catalogs {
		st.obsCatalogs[c.Key()] = append(st.obsCatalogs[c.Key()], c)
	}
	for _, p := range d.observed.AccessPackages {
		st.obsPackages[p.Key()] = append(st.obsPackages[p.Key()], p)
	}
	for _, c := range d.desired.Catalogs {
		st.desCatalogs[c.Key()] = c
	}
	for _, c := range d.desired.Catalogs {
		d.catalog(st, c)
	}
	for _, p := range d.desired.AccessPackages {
		d.accessPackage(st, p)
	}
	d.extensionDeletesLast()
}

// oneCatalog finds the live catalog with a name; two is an error.
func (d *differ) oneCatalog(st *emState, name string, pos model.Pos) (*model.Catalog, bool) {
	cands := st.obsCatalogs[model.NameKey(name)]
	if len(cands) > 1 {
		d.errorf(pos, model.CatalogAddress(name), "Rename or delete one of them in the tenant.", "%d live catalogs are named %q (ids %s, %s)", len(cands), name, cands[0].ID, cands[1].ID)
		return nil, false
	}
	if len(cands) == 1 {
		return cands[0], true
	}
	return nil, true
}

func (d *differ) catalog(st *emState, c *model.Catalog) {
	addr := model.CatalogAddress(c.DisplayName)
	obs, ok := d.oneCatalog(st, c.DisplayName, c.Pos)
	if !ok {
		return
	}
	if c.Absent {
		if obs != nil {
			var deps []string
			for _, p := range st.obsPackages {
				if len(p) > 0 && p[0].CatalogID == obs.ID {
					deps = append(deps, p[0].Address())
				}
			}
			slices.Sort(deps)
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCatalog, Action: Delete, Object: obs.DisplayName, ObjectID: obs.ID,
				Reason: "marked absent in the spec", DependsOn: deps, ObservedFingerprint: fingerprint(catalogFields(obs)), Pos: c.Pos})
		}
		return
	}
	var deps []string
	if obs == nil {
		fields := []FieldDiff{{Field: "displayName", After: c.DisplayName}}
		if c.Description != nil {
			fields = append(fields, FieldDiff{Field: "description", After: *c.Description})
		}
		if c.IsExternallyVisible != nil {
			fields = append(fields, FieldDiff{Field: "isExternallyVisible", After: *c.IsExternallyVisible})
		}
		if c.State != nil {
			fields = append(fields, FieldDiff{Field: "state", After: *c.State})
		}
		sortFields(fields)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindCatalog, Action: Create, Object: c.DisplayName, Fields: fields, Reason: "not found in the tenant", Pos: c.Pos})
		deps = []string{addr}
	} else {
		var fs []FieldDiff
		if c.DisplayName != obs.DisplayName {
			fs = append(fs, FieldDiff{Field: "displayName", Before: obs.DisplayName, After: c.DisplayName})
		}
		if c.Description != nil && *c.Description != deref(obs.Description) {
			fs = append(fs, FieldDiff{Field: "description", Before: deref(obs.Description), After: *c.Description})
		}
		if c.IsExternallyVisible != nil && (obs.IsExternallyVisible == nil || *obs.IsExternallyVisible != *c.IsExternallyVisible) {
			fs = append(fs, FieldDiff{Field: "isExternallyVisible", Before: obs.IsExternallyVisible != nil && *obs.IsExternallyVisible, After: *c.IsExternallyVisible})
		}
		if c.State != nil && !strings.EqualFold(*c.State, deref(obs.State)) {
			fs = append(fs, FieldDiff{Field: "state", Before: deref(obs.State), After: *c.State})
		}
		if len(fs) > 0 {
			sortFields(fs)
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCatalog, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
				Fields: fs, ObservedFingerprint: fingerprint(catalogFields(obs)), Pos: c.Pos})
		}
	}
	d.customExtensions(c, obs, deps)
	if c.Groups == nil && c.Applications == nil && c.Sites == nil {
		return
	}
	have := map[string]bool{}
	var haveKinds []model.Ref
	if obs != nil {
		for _, list := range []*[]model.Ref{obs.Groups, obs.Applications, obs.Sites} {
			if list != nil {
				for _, r := range *list {
					have[r.Value] = true
					haveKinds = append(haveKinds, r)
				}
			}
		}
	}
	md := &MemberDiff{Mode: model.Authoritative, Live: len(have)}
	want := map[string]bool{}
	addWanted := func(m Member) {
		want[m.ID+m.Address] = true
		if m.ID == "" || !have[m.ID] {
			md.Add = append(md.Add, m)
		}
	}
	if c.Groups != nil {
		for _, ref := range *c.Groups {
			if m, ok := d.resolveGroup(ref, addr); ok {
				addWanted(m)
			}
		}
	}
	if c.Applications != nil {
		for _, ref := range *c.Applications {
			if sp := d.resolveApp(ref, addr); sp != nil {
				addWanted(Member{Kind: model.ServicePrincipal, ID: sp.ID, Label: sp.DisplayName, Pos: ref.Pos})
			}
		}
	}
	if c.Sites != nil {
		for _, ref := range *c.Sites {
			addWanted(Member{Kind: model.SiteKind, ID: ref.Value, Label: ref.Value, Pos: ref.Pos})
		}
	}
	for _, r := range haveKinds {
		// A kind the spec does not manage (applications: absent) stays.
		if (r.Kind == model.GroupKind && c.Groups == nil) || (r.Kind == model.ServicePrincipal && c.Applications == nil) ||
			(r.Kind == model.SiteKind && c.Sites == nil) {
			continue
		}
		if !want[r.Value] {
			label := r.Value
			if r.Kind != model.SiteKind {
				label = d.label(r.Value)
			}
			md.Remove = append(md.Remove, Member{Kind: r.Kind, ID: r.Value, Label: label})
		}
	}
	if len(md.Add)+len(md.Remove) == 0 {
		return
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	ch := Change{Address: addr + ".resources", Kind: KindCatalogResources, Action: Update, Object: c.DisplayName, Members: md,
		DependsOn: appendDeps(deps, md), Parents: map[string]Parent{"catalog": {Address: addr, ID: idOf(obs)}}, Pos: c.Pos}
	if obs != nil {
		ch.ObjectID = obs.ID
		ch.ObservedFingerprint = fingerprint(obs.ResourceIDs)
		// Removals need the catalog resource's id.
		for i := range md.Remove {
			md.Remove[i].Assignment = obs.ResourceIDs[md.Remove[i].ID]
		}
	}
	d.changes = append(d.changes, ch)
}

func idOf(c *model.Catalog) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func (d *differ) label(id string) string {
	if p, ok := d.idx.principal(id); ok && p.Label() != "" {
		return p.Label()
	}
	return id
}

// resolveGroup resolves a group reference, which may be a group this plan
// creates.
func (d *differ) resolveGroup(ref model.Ref, addr string) (Member, bool) {
	ref.Kind = model.GroupKind
	return d.resolve(&model.Group{DisplayName: "\x00" + addr}, ref)
}

func (d *differ) accessPackage(st *emState, p *model.AccessPackage) {
	addr := p.Address()
	catAddr := model.CatalogAddress(p.Catalog)
	cat, ok := d.oneCatalog(st, p.Catalog, p.Pos)
	if !ok {
		return
	}
	if cat == nil && st.desCatalogs[model.NameKey(p.Catalog)] == nil && !p.Absent {
		d.errorf(p.Pos, addr, "Declare the catalog under catalogs:, or correct the name.", "catalog %q does not exist and the spec does not declare it", p.Catalog)
		return
	}
	var obs *model.AccessPackage
	if cat != nil {
		var cands []*model.AccessPackage
		for _, o := range st.obsPackages[p.Key()] {
			if o.CatalogID == cat.ID {
				cands = append(cands, o)
			}
		}
		if len(cands) > 1 {
			d.errorf(p.Pos, addr, "Rename or delete one of them in the tenant.", "%d live access packages are named %q in catalog %q (ids %s, %s)", len(cands), p.DisplayName, p.Catalog, cands[0].ID, cands[1].ID)
			return
		}
		if len(cands) == 1 {
			obs = cands[0]
		}
	}
	catParent := Parent{Address: catAddr, ID: idOf(cat)}
	if p.Absent {
		if obs != nil {
			d.deletePackage(p, obs, catParent)
		}
		return
	}
	// The tutorial's order: the catalog and its resources come first. An
	// edge to a change that is not in the plan is dropped by order().
	deps := []string{catAddr, catAddr + ".resources"}
	pkgParent := Parent{Address: addr}
	if obs == nil {
		fields := []FieldDiff{{Field: "displayName", After: p.DisplayName}}
		if p.Description != nil {
			fields = append(fields, FieldDiff{Field: "description", After: *p.Description})
		}
		if p.IsHidden != nil {
			fields = append(fields, FieldDiff{Field: "isHidden", After: *p.IsHidden})
		}
		sortFields(fields)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindPackage, Action: Create, Object: p.DisplayName, Fields: fields,
			Reason: "not found in the tenant", DependsOn: deps, Parents: map[string]Parent{"catalog": catParent}, Pos: p.Pos})
		deps = []string{addr}
	} else {
		pkgParent.ID = obs.ID
		var fs []FieldDiff
		if p.DisplayName != obs.DisplayName {
			fs = append(fs, FieldDiff{Field: "displayName", Before: obs.DisplayName, After: p.DisplayName})
		}
		if p.Description != nil && *p.Description != deref(obs.Description) {
			fs = append(fs, FieldDiff{Field: "description", Before: deref(obs.Description), After: *p.Description})
		}
		if p.IsHidden != nil && (obs.IsHidden == nil || *obs.IsHidden != *p.IsHidden) {
			fs = append(fs, FieldDiff{Field: "isHidden", Before: obs.IsHidden != nil && *obs.IsHidden, After: *p.IsHidden})
		}
		if len(fs) > 0 {
			sortFields(fs)
			d.changes = append(d.changes, Change{Address: addr, Kind: KindPackage, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
				Fields: fs, ObservedFingerprint: fingerprint([]any{obs.DisplayName, deref(obs.Description), obs.IsHidden}), Pos: p.Pos})
		}
	}
	d.incompatible(st, p, obs, cat, pkgParent, deps)
	rolesAddr := d.packageRoles(st, p, obs, cat, catParent, pkgParent, deps)
	policyAddrs := d.policies(st, cat, p, obs, pkgParent, append(slices.Clone(deps), rolesAddr...))
	d.assignments(p, obs, pkgParent, append(append(slices.Clone(deps), rolesAddr...), policyAddrs...))
}

func (d *differ) packageRoles(st *emState, p *model.AccessPackage, obs *model.AccessPackage, cat *model.Catalog, catParent, pkgParent Parent, deps []string) []string {
	if p.Roles == nil {
		// Roles the spec leaves alone still meet policies it may change:
		// a live blocked permission under a policy that lets agents in is
		// refused as it is for declared roles.
		d.liveRolesReachAgents(p, obs)
		return nil
	}
	addr := p.Address() + ".roles"
	have := map[string]model.RoleScope{}
	if obs != nil && obs.Roles != nil {
		for _, r := range *obs.Roles {
			have[roleKey(r)] = r
		}
	}
	rd := &RoleDiff{}
	want := map[string]bool{}
	agents := d.agentsCanRequest(p, obs)
	cdeps := slices.Clone(deps)
	// The group must be a resource of the catalog first.
	cdeps = append(cdeps, model.CatalogAddress(p.Catalog)+".resources")
	for _, r := range *p.Roles {
		if r.Group.Kind == model.SiteKind {
			ref, key, ok := d.siteRole(st, p, cat, r, p.Address())
			if !ok {
				continue
			}
			want[key] = true
			if _, ok := have[key]; !ok {
				rd.Add = append(rd.Add, ref)
			}
			continue
		}
		if r.Group.Kind == model.ServicePrincipal {
			sp := d.resolveApp(r.Group, p.Address())
			if sp == nil {
				continue
			}
			role, ok := d.appRole(sp, r.Role, r.Group.Pos, p.Address())
			if !ok {
				continue
			}
			if src, blocked := blockedForAgents[role.Value]; blocked && sp.AppID == msGraphAppID && agents != "" {
				d.errorf(r.Group.Pos, addr, fmt.Sprintf("%s. Delivery to an agent identity would fail (Request_BadRequest) and stay stuck. Source: %s. See docs/risks/ES202.md.", agents, src),
					"[%s] access package %q would give agent identities %s: Entra blocks it for agents", RiskAgentBlocked, p.DisplayName, role.Value)
				want[sp.ID+"/"+role.ID] = true // refused, not removed: the plan shows no removal of a live one
				continue
			}
			want[sp.ID+"/"+role.ID] = true
			if _, ok := have[sp.ID+"/"+role.ID]; !ok {
				rd.Add = append(rd.Add, RoleRef{Group: Member{Kind: model.ServicePrincipal, ID: sp.ID, Label: sp.DisplayName, Pos: r.Group.Pos}, Role: role.Value, RoleID: role.ID, AppID: sp.AppID})
			}
			continue
		}
		m, ok := d.resolveGroup(r.Group, p.Address())
		if !ok {
			continue
		}
		want[m.ID+m.Address+"/"+r.Role] = true
		if _, ok := have[m.ID+"/"+r.Role]; m.ID == "" || !ok {
			rd.Add = append(rd.Add, RoleRef{Group: m, Role: r.Role})
			if m.Address != "" {
				cdeps = append(cdeps, m.Address)
			}
		}
	}
	for k, r := range have {
		if want[k] {
			continue
		}
		ref := RoleRef{Group: Member{Kind: r.Group.Kind, ID: r.Group.Value, Label: d.label(r.Group.Value)}, Role: r.Role, ID: r.ID}
		if r.Group.Kind == model.ServicePrincipal {
			ref.RoleID, ref.Role = r.Role, d.appRoleValue(r.Group.Value, r.Role)
		}
		if r.Group.Kind == model.SiteKind {
			ref.Group.Label = r.Group.Value
			ref.RoleID, ref.Role = r.Role, siteRoleName(cat, r.Group.Value, r.Role)
		}
		rd.Remove = append(rd.Remove, ref)
	}
	if len(rd.Add)+len(rd.Remove) == 0 {
		return nil
	}
	sortRoles(rd.Add)
	sortRoles(rd.Remove)
	ch := Change{Address: addr, Kind: KindPackageRoles, Action: Update, Object: p.DisplayName, ObjectID: pkgParent.ID, Roles: rd,
		DependsOn: uniq(cdeps), Parents: map[string]Parent{"catalog": catParent, "package": pkgParent}, Pos: p.Pos}
	if obs != nil {
		ch.ObservedFingerprint = fingerprint(obs.Roles)
	}
	d.changes = append(d.changes, ch)
	return []string{addr}
}

// liveRolesReachAgents is the ES202 check for a package whose roles the
// spec does not manage: the observed roles under the policies that will
// exist.
func (d *differ) liveRolesReachAgents(p, obs *model.AccessPackage) {
	if obs == nil || obs.Roles == nil || p.Absent {
		return
	}
	agents := d.agentsCanRequest(p, obs)
	if agents == "" {
		return
	}
	for _, r := range *obs.Roles {
		if r.Group.Kind != model.ServicePrincipal {
			continue
		}
		for _, sp := range d.observed.ServicePrincipals {
			if sp.ID != r.Group.Value || sp.AppID != msGraphAppID {
				continue
			}
			value := d.appRoleValue(sp.ID, r.Role)
			if src, blocked := blockedForAgents[value]; blocked {
				d.errorf(p.Pos, p.Address()+".roles", fmt.Sprintf("%s. The package already grants it (a role the spec does not manage). Delivery to an agent identity would fail (Request_BadRequest) and stay stuck. Source: %s. See docs/risks/ES202.md.", agents, src),
					"[%s] access package %q would give agent identities %s: Entra blocks it for agents", RiskAgentBlocked, p.DisplayName, value)
			}
		}
	}
}

// agentsCanRequest says which policy lets agent identities hold package p
// ("" when none does): the spec's policies when it manages them, else the
// live ones. allDirectoryAgentIdentities is the scope Graph has for agents.
func (d *differ) agentsCanRequest(p, obs *model.AccessPackage) string {
	pols := p.Policies
	if pols == nil && obs != nil {
		pols = obs.Policies
	}
	if pols == nil {
		return ""
	}
	for _, pol := range *pols {
		if pol == nil {
			continue
		}
		if scope, _ := pol.Body["allowedTargetScope"].(string); scope == "allDirectoryAgentIdentities" {
			return fmt.Sprintf("Policy %q lets agent identities request it (allowedTargetScope %s)", pol.DisplayName, scope)
		}
	}
	if p.Assignments != nil {
		for _, ref := range p.Assignments.Targets {
			if !ref.Kind.IsServicePrincipal() {
				continue
			}
			pr, found := d.findServicePrincipal(ref)
			if (found && pr.Kind == model.AgentIdentityKind) || (!found && ref.Kind == model.AgentIdentityKind) {
				return fmt.Sprintf("Its assignments give it to agent identity %q", ref.Value)
			}
		}
	}
	return ""
}

func sortRoles(rs []RoleRef) {
	slices.SortFunc(rs, func(a, b RoleRef) int { return strings.Compare(a.Group.Label+"/"+a.Role, b.Group.Label+"/"+b.Role) })
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// policies plans each declared policy, and deletes live ones not declared.
func (d *differ) policies(st *emState, cat *model.Catalog, p *model.AccessPackage, obs *model.AccessPackage, pkgParent Parent, deps []string) []string {
	if p.Policies == nil {
		return nil
	}
	have := map[string]*model.Policy{}
	if obs != nil && obs.Policies != nil {
		for _, pol := range *obs.Policies {
			have[model.NameKey(pol.DisplayName)] = pol
		}
	}
	var addrs []string
	for _, pol := range *p.Policies {
		addr := policyAddress(p, pol.DisplayName)
		// The spec declares it: whatever else is wrong with it, the live
		// policy is not one to delete.
		cur := have[model.NameKey(pol.DisplayName)]
		delete(have, model.NameKey(pol.DisplayName))
		hooked, hookDeps, ok := d.resolveHooks(st, cat, p, pol, addr)
		if !ok {
			continue
		}
		want, ok := d.resolveBody(hooked, addr, pol.Pos)
		if !ok {
			continue
		}
		if cur == nil {
			body := writtenHooks(cloneMap(want))
			body["accessPackage"] = map[string]any{"id": pkgParent.ID}
			// The fields are for people: the spec's terms (policyview.go).
			// The body is what the applier writes.
			d.changes = append(d.changes, Change{Address: addr, Kind: KindPolicy, Action: Create, Object: pol.DisplayName, Body: body,
				Fields: policyView(want, d.label), Reason: "not found in the tenant", DependsOn: append(slices.Clone(deps), hookDeps...),
				Parents: map[string]Parent{"package": pkgParent}, Pos: pol.Pos})
			addrs = append(addrs, addr)
			continue
		}
		// Whether the policy changes is bodyFields' decision, as it always
		// was; policyFields says how in the spec's terms, and finds a
		// difference exactly when bodyFields does. Were they ever to
		// disagree, the Graph properties still show why.
		diffs := bodyFields(want, cur.Body)
		if len(diffs) == 0 {
			continue
		}
		if fs := policyFields(want, cur.Body, d.label); len(fs) > 0 {
			diffs = fs
		}
		d.changes = append(d.changes, Change{Address: addr, Kind: KindPolicy, Action: Update, Object: pol.DisplayName, ObjectID: cur.ID,
			Body: writtenHooks(mergeBody(cur.Body, want)), Fields: diffs, ObservedFingerprint: fingerprint(cur.Body), DependsOn: hookDeps,
			Parents: map[string]Parent{"package": pkgParent}, Pos: pol.Pos})
	}
	for _, cur := range have {
		addr := policyAddress(p, cur.DisplayName)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindPolicy, Action: Delete, Object: cur.DisplayName, ObjectID: cur.ID,
			Reason: "not declared in the spec's policies of its package", DependsOn: []string{p.Address() + ".assignments"},
			ObservedFingerprint: fingerprint(cur.Body), Parents: map[string]Parent{"package": pkgParent}, Pos: p.Pos})
	}
	return addrs
}

// resolveBody replaces user and group names in a desired policy's subject
// sets by their ids.
func (d *differ) resolveBody(body map[string]any, addr string, pos model.Pos) (map[string]any, bool) {
	ok := true
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[k] = walk(x)
			}
			for key, kind := range map[string]model.PrincipalKind{"userId": model.User, "groupId": model.GroupKind} {
				if s, isStr := v[key].(string); isStr && !model.IsGUID(s) {
					m, found := d.resolve(&model.Group{DisplayName: "\x00" + addr}, model.Ref{Kind: kind, Value: s, Pos: pos})
					if !found {
						ok = false
					} else if m.ID == "" {
						d.errorf(pos, addr, "Create the group in an earlier apply, or name an existing one.", "policy subject %q is a group this plan creates; policies need existing ids", s)
						ok = false
					}
					out[key] = m.ID
				}
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		}
		return v
	}
	return walk(body).(map[string]any), ok
}

// bodyFields lists the top-level properties of want whose value differs
// from have on the properties want sets (a subset comparison: what Graph
// adds is not drift).
func bodyFields(want, have map[string]any) []FieldDiff {
	var fs []FieldDiff
	for k, w := range want {
		if k == "displayName" && have != nil {
			continue
		}
		var h any
		if have != nil {
			h = have[k]
		}
		if have == nil || !subset(w, h) {
			fs = append(fs, FieldDiff{Field: k, Before: h, After: w})
		}
	}
	sortFields(fs)
	return fs
}

// subset reports whether every property want sets has that value in have.
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return len(w) == 0 && have == nil
		}
		for i := range w {
			if !subset(w[i], h[i]) {
				return false
			}
		}
		return true
	case string:
		h, ok := have.(string)
		return ok && strings.EqualFold(w, h)
	}
	return fmt.Sprint(want) == fmt.Sprint(have)
}

// mergeBody is have with want's properties written over it, recursively
// for objects; read-only properties are dropped. A list is want's, except
// that an object in it keeps the live properties the spec does not set
// when the live list has an object of the same type at that position: a
// PUT of the policy must not drop an approval stage's escalation settings
// or a question's id, which the portal may have set and the spec does not
// manage. Objects of another type (a manager replacing a single user as
// approver) are want's alone.
func mergeBody(have, want map[string]any) map[string]any {
	out := cloneMap(have)
	for _, k := range []string{"@odata.context", "@odata.etag", "createdDateTime", "modifiedDateTime"} {
		delete(out, k)
	}
	for k, w := range want {
		out[k] = mergeValue(out[k], w)
	}
	return out
}

func mergeValue(have, want any) any {
	switch w := want.(type) {
	case map[string]any:
		if h, ok := have.(map[string]any); ok {
			return mergeBody(h, w)
		}
	case []any:
		h, _ := have.([]any)
		out := make([]any, len(w))
		for i, we := range w {
			out[i] = we
			if i >= len(h) {
				continue
			}
			hm, hok := h[i].(map[string]any)
			wm, wok := we.(map[string]any)
			if hok && wok && strings.EqualFold(fmt.Sprint(hm["@odata.type"]), fmt.Sprint(wm["@odata.type"])) {
				out[i] = mergeBody(hm, wm)
			}
		}
		return out
	}
	return want
}

func cloneMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// assignments plans the package's admin-made assignments: adds (inviting
// missing guests when asked), removes from authoritative sets, and repairs.
func (d *differ) assignments(p *model.AccessPackage, obs *model.AccessPackage, pkgParent Parent, deps []string) {
	set := p.Assignments
	addr := p.Address() + ".assignments"
	var live []model.Assignment
	if obs != nil && obs.Assignments != nil {
		live = obs.Assignments.Live
	}
	md := &MemberDiff{Mode: model.Additive}
	parents := map[string]Parent{"package": pkgParent}
	var policyID string
	if set != nil {
		md.Mode = set.Mode
		md.Invite = set.Invite
		polAddr := policyAddress(p, set.Policy)
		if obs != nil && obs.Policies != nil {
			for _, pol := range *obs.Policies {
				if model.NameKey(pol.DisplayName) == model.NameKey(set.Policy) {
					policyID = pol.ID
				}
			}
		}
		if policyID == "" && !declaresPolicy(p, set.Policy) {
			d.errorf(set.Pos, addr, "Declare the policy under policies:, or name an existing one.", "policy %q does not exist on access package %q", set.Policy, p.DisplayName)
			return
		}
		parents["policy"] = Parent{Address: polAddr, ID: policyID}
		if policyID == "" {
			deps = append(deps, polAddr)
		}
	}
	active, failed := map[string]model.Assignment{}, map[string]model.Assignment{}
	for _, a := range live {
		switch {
		case a.Active():
			active[a.TargetID] = a
		case a.State == "deliveryfailed":
			failed[a.TargetID] = a
		}
	}
	md.Live = len(active)
	want := map[string]bool{}
	if set != nil {
		scope := d.policyScope(p, obs, set.Policy)
		for _, ref := range set.Targets {
			m, ok := d.resolveTarget(ref, addr, set.Invite != nil)
			if !ok || !d.targetFits(m, ref, scope, addr) {
				continue
			}
			if m.ID == "" && m.Address != "" {
				deps = append(deps, m.Address)
			}
			key := m.ID
			switch {
			case m.Invite:
				key = "invite:" + strings.ToLower(m.Label)
			case m.ID == "":
				key = "create:" + m.Address
			}
			if want[key] {
				continue
			}
			want[key] = true
			if f, ok := failed[m.ID]; ok && !m.Invite {
				if _, ok := active[m.ID]; !ok {
					// Requesting again would fail again (a permission Entra
					// blocks for agents, say): report it instead.
					d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: m.Pos, Address: addr,
						Summary: fmt.Sprintf("the assignment of %s failed delivery (assignment %s); entrasync does not request it again", m.Label, f.ID),
						Detail:  "Graph could not deliver it, for example because the package grants a permission Entra blocks for agent identities. Fix the cause, remove the failed assignment, and plan again."})
					continue
				}
			}
			if _, ok := active[m.ID]; m.Invite || !ok {
				md.Add = append(md.Add, m)
			}
		}
		for _, ref := range set.GroupMembers {
			g, ok := d.resolveGroup(ref, addr)
			if !ok {
				continue
			}
			for _, id := range d.observed.GroupMembers[g.ID] {
				pr, _ := d.idx.principal(id)
				if pr.Kind != model.User || want[id] {
					continue
				}
				want[id] = true
				if _, ok := active[id]; !ok {
					md.Add = append(md.Add, Member{Kind: model.User, ID: id, Label: pr.Label(), Pos: ref.Pos})
				}
			}
		}
	}
	if p.Absent || (set != nil && set.Mode == model.Authoritative) {
		for _, a := range active {
			if want[a.TargetID] || (!p.Absent && policyID != "" && a.PolicyID != policyID) {
				continue
			}
			md.Remove = append(md.Remove, Member{Kind: d.kindOf(a.TargetID), ID: a.TargetID, Label: d.label(a.TargetID), Assignment: a.ID})
		}
	}
	if p.RepairDelivery && !p.Absent && obs != nil && obs.Roles != nil {
		removed := map[string]bool{}
		for _, m := range md.Remove {
			removed[m.Assignment] = true
		}
		replicating := 0
		for _, a := range live {
			if a.State != "delivered" || removed[a.ID] {
				// An assignment the plan removes is not repaired: Graph
				// refuses to reprocess it once the removal is under way.
				continue
			}
			if !a.Since.IsZero() && !d.now.IsZero() && d.now.Sub(a.Since) < RepairGrace {
				// Delivered moments ago: the membership Graph made is
				// most likely still replicating; reprocessing it would be
				// a phantom repair, shown again by every plan meanwhile.
				if d.missingMembership(a, obs) {
					replicating++
				}
				continue
			}
			if d.missingMembership(a, obs) {
				md.Repair = append(md.Repair, Member{Kind: d.kindOf(a.TargetID), ID: a.TargetID, Label: d.label(a.TargetID), Assignment: a.ID})
			}
		}
		if replicating > 0 {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: p.Pos, Address: addr,
				Summary: fmt.Sprintf("%d %s delivered in the last %s %s no group membership yet; Graph is most likely still replicating it, so %s not repaired now (a later plan repairs what is still missing)",
					replicating, pluralWord(replicating, "assignment", "assignments"), RepairGrace, pluralWord(replicating, "shows", "show"), pluralWord(replicating, "it is", "they are"))})
		}
	}
	if len(md.Add)+len(md.Remove)+len(md.Repair) == 0 {
		return
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	sortMembers(md.Repair)
	ch := Change{Address: addr, Kind: KindAssignments, Action: Update, Object: p.DisplayName, ObjectID: pkgParent.ID, Members: md,
		DependsOn: uniq(deps), Parents: parents, Pos: p.Pos}
	if set != nil {
		ch.Pos = set.Pos
		if set.Limit != nil {
			d.setLimits[addr] = *set.Limit
		}
	}
	if obs != nil {
		ch.ObservedFingerprint = fingerprint(live)
	}
	d.changes = append(d.changes, ch)
	if len(md.Add) > 0 {
		if policy := d.approvalPolicy(p, set); policy != "" {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: ch.Pos, Address: addr,
				Summary: fmt.Sprintf("policy %q requires approval; admin-made assignments (adminAdd) do not wait for approvers", policy)})
		}
	}
}

// RepairGrace is how long after delivery a missing group membership is
// taken for replication rather than a failed delivery.
const RepairGrace = 5 * time.Minute

// missingMembership reports whether a delivered assignment's target is
// missing from a group whose Member role the package grants (read groups
// only).
func (d *differ) missingMembership(a model.Assignment, obs *model.AccessPackage) bool {
	for _, r := range *obs.Roles {
		members, read := d.observed.GroupMembers[r.Group.Value]
		if r.Group.Kind == model.GroupKind && r.Role == "Member" && read && !slices.Contains(members, a.TargetID) {
			return true
		}
	}
	return false
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func declaresPolicy(p *model.AccessPackage, name string) bool {
	if p.Policies == nil {
		return false
	}
	for _, pol := range *p.Policies {
		if model.NameKey(pol.DisplayName) == model.NameKey(name) {
			return true
		}
	}
	return false
}

// approvalPolicy returns the set's policy name when the spec says it needs
// approval.
func (d *differ) approvalPolicy(p *model.AccessPackage, set *model.AssignmentSet) string {
	if set == nil || p.Policies == nil {
		return ""
	}
	for _, pol := range *p.Policies {
		if model.NameKey(pol.DisplayName) != model.NameKey(set.Policy) {
			continue
		}
		if ra, ok := pol.Body["requestApprovalSettings"].(map[string]any); ok && ra["isApprovalRequiredForAdd"] == true {
			return pol.DisplayName
		}
	}
	return ""
}

// resolveTarget resolves an assignment target; an unknown user becomes an
// invitation when the set invites. Service principals are found by object
// id, appId or display name; an agent identity also by the name this spec
// declares it with, before it exists (Address then names its create).
func (d *differ) resolveTarget(ref model.Ref, addr string, invite bool) (Member, bool) {
	if ref.Kind.IsServicePrincipal() {
		pr, ok := d.findServicePrincipal(ref)
		if !ok {
			if a := d.declaredIdentity(ref.Value); a != nil && !ref.IsID() {
				return Member{Kind: model.AgentIdentityKind, Address: model.AgentIdentityAddress(a.Blueprint, a.DisplayName), Label: a.DisplayName, Pos: ref.Pos}, true
			}
			if pr, ok = d.resolveServicePrincipal(ref, addr); !ok {
				return Member{}, false
			}
		}
		if ref.Kind == model.AgentIdentityKind && pr.Kind == model.ServicePrincipal && d.declaredIdentity(pr.DisplayName) != nil {
			// Seen only as an assignment's target (which says
			// "servicePrincipal") while the listing of the agent identity
			// the spec declares has not caught up: it is that identity.
			pr.Kind = model.AgentIdentityKind
		}
		if ref.Kind == model.AgentIdentityKind && pr.Kind != model.AgentIdentityKind {
			d.errorf(ref.Pos, addr, "List it under servicePrincipals: instead, or name the agent identity you mean.",
				"%q is a %s, not an agent identity", ref.Value, pr.Kind.Noun())
			return Member{}, false
		}
		return Member{Kind: pr.Kind, ID: pr.ID, Label: pr.Label(), Pos: ref.Pos}, true
	}
	if invite && !ref.IsID() && !d.idx.usersByName.has(model.NameKey(ref.Value)) {
		return Member{Kind: model.User, Label: strings.ToLower(ref.Value), Pos: ref.Pos, Invite: true}, true
	}
	return d.resolve(&model.Group{DisplayName: "\x00" + addr}, ref)
}

// targetScope is the allowedTargetScope of the policy assignments use, and
// where the spec sets it.
type targetScope struct {
	policy, scope string
	pos           model.Pos
}

// policyScope finds the scope of policy name: as the spec declares it,
// else as the tenant has it.
func (d *differ) policyScope(p, obs *model.AccessPackage, name string) targetScope {
	for _, pols := range []*[]*model.Policy{p.Policies, func() *[]*model.Policy {
		if obs == nil {
			return nil
		}
		return obs.Policies
	}()} {
		if pols == nil {
			continue
		}
		for _, pol := range *pols {
			if pol != nil && model.NameKey(pol.DisplayName) == model.NameKey(name) {
				scope, _ := pol.Body["allowedTargetScope"].(string)
				return targetScope{policy: pol.DisplayName, scope: scope, pos: pol.Pos}
			}
		}
	}
	return targetScope{policy: name}
}

// scopeAdmits reports whether Graph lets a policy of that allowedTargetScope
// hold an assignment of a target of kind k. notSpecified, the scope of
// policies for administrators' direct assignments, takes any target;
// agent identities are service principals, and also the only targets
// allDirectoryAgentIdentities takes.
func scopeAdmits(scope string, k model.PrincipalKind) bool {
	switch scope {
	case "", "notSpecified":
		return true
	case "specificDirectoryServicePrincipals", "allDirectoryServicePrincipals":
		return k.IsServicePrincipal()
	case "allDirectoryAgentIdentities":
		return k == model.AgentIdentityKind
	}
	return k == model.User
}

// targetFits refuses, at plan time, a target the policy's scope does not
// admit: Graph would refuse its assignment request (400) halfway through
// apply.
func (d *differ) targetFits(m Member, ref model.Ref, ts targetScope, addr string) bool {
	if scopeAdmits(ts.scope, m.Kind) {
		return true
	}
	where := ""
	if ts.pos.File != "" {
		where = " (" + ts.pos.String() + ")"
	}
	admits := map[bool]string{true: "service principals", false: "users"}[strings.Contains(ts.scope, "ServicePrincipals")]
	if ts.scope == "allDirectoryAgentIdentities" {
		admits = "agent identities"
	}
	d.errorf(ref.Pos, addr, fmt.Sprintf("Assign it under a policy whose allowedTargetScope admits %ss (notSpecified takes any target), or remove it from this list.", m.Kind.Noun()),
		"%s %q cannot be assigned under policy %q%s: its allowedTargetScope %s admits only %s", m.Kind.Noun(), m.Label, ts.policy, where, ts.scope, admits)
	return false
}

// kindOf is the kind of an observed principal (a user when unknown).
func (d *differ) kindOf(id string) model.PrincipalKind {
	if p, ok := d.idx.principal(id); ok && p.Kind != "" {
		return p.Kind
	}
	return model.User
}

// deletePackage removes a package the spec marks absent: its assignments
// first, then its policies, then the package.
func (d *differ) deletePackage(p, obs *model.AccessPackage, catParent Parent) {
	addr := p.Address()
	pkgParent := Parent{Address: addr, ID: obs.ID}
	deps := []string{}
	before := len(d.changes)
	d.assignments(p, obs, pkgParent, nil)
	if len(d.changes) > before {
		deps = append(deps, addr+".assignments")
	}
	if obs.Policies != nil {
		for _, pol := range *obs.Policies {
			pa := policyAddress(p, pol.DisplayName)
			d.changes = append(d.changes, Change{Address: pa, Kind: KindPolicy, Action: Delete, Object: pol.DisplayName, ObjectID: pol.ID,
				Reason: "its access package is marked absent", DependsOn: slices.Clone(deps), ObservedFingerprint: fingerprint(pol.Body),
				Parents: map[string]Parent{"package": pkgParent}, Pos: p.Pos})
			deps = append(deps, pa)
		}
	}
	d.changes = append(d.changes, Change{Address: addr, Kind: KindPackage, Action: Delete, Object: obs.DisplayName, ObjectID: obs.ID,
		Reason: "marked absent in the spec", DependsOn: uniq(deps), Parents: map[string]Parent{"catalog": catParent},
		ObservedFingerprint: fingerprint([]any{obs.DisplayName, deref(obs.Description), obs.IsHidden}), Pos: p.Pos})
}

func catalogFields(c *model.Catalog) any {
	return []any{c.ID, c.DisplayName, deref(c.Description), c.IsExternallyVisible, deref(c.State)}
}

// incompatible plans the packages and groups a package excludes, as one
// authoritative set.
func (d *differ) incompatible(st *emState, p, obs *model.AccessPackage, cat *model.Catalog, pkgParent Parent, deps []string) {
	if p.Incompatible == nil {
		return
	}
	addr := p.Address() + ".incompatible"
	have := map[string]bool{}
	if obs != nil && obs.Incompatible != nil {
		for _, r := range append(slices.Clone(obs.Incompatible.Packages), obs.Incompatible.Groups...) {
			have[r.Value] = true
		}
	}
	md := &MemberDiff{Mode: model.Authoritative, Live: len(have)}
	want := map[string]bool{}
	cdeps := slices.Clone(deps)
	for _, ref := range p.Incompatible.Packages {
		m, ok := d.resolvePackage(st, p, cat, ref)
		if !ok {
			continue
		}
		want[m.ID+m.Address] = true
		if m.ID == "" || !have[m.ID] {
			md.Add = append(md.Add, m)
			if m.Address != "" {
				cdeps = append(cdeps, m.Address)
			}
		}
	}
	for _, ref := range p.Incompatible.Groups {
		m, ok := d.resolveGroup(ref, addr)
		if !ok {
			continue
		}
		want[m.ID+m.Address] = true
		if m.ID == "" || !have[m.ID] {
			md.Add = append(md.Add, m)
			if m.Address != "" {
				cdeps = append(cdeps, m.Address)
			}
		}
	}
	if obs != nil && obs.Incompatible != nil {
		for _, r := range append(slices.Clone(obs.Incompatible.Packages), obs.Incompatible.Groups...) {
			if !want[r.Value] {
				md.Remove = append(md.Remove, Member{Kind: r.Kind, ID: r.Value, Label: d.packageOrLabel(st, r)})
			}
		}
	}
	if len(md.Add)+len(md.Remove) == 0 {
		return
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	ch := Change{Address: addr, Kind: KindIncompatible, Action: Update, Object: p.DisplayName, ObjectID: pkgParent.ID, Members: md,
		DependsOn: uniq(cdeps), Parents: map[string]Parent{"package": pkgParent}, Pos: p.Pos}
	if obs != nil {
		ch.ObservedFingerprint = fingerprint(obs.Incompatible)
	}
	d.changes = append(d.changes, ch)
}

// resolvePackage finds an access package of the same catalog by name or id:
// a live one, or one this plan creates.
func (d *differ) resolvePackage(st *emState, p *model.AccessPackage, cat *model.Catalog, ref model.Ref) (Member, bool) {
	for _, cands := range st.obsPackages {
		for _, o := range cands {
			if (ref.IsID() && o.ID == strings.ToLower(ref.Value)) || (!ref.IsID() && cat != nil && o.CatalogID == cat.ID && model.NameKey(o.DisplayName) == model.NameKey(ref.Value)) {
				return Member{Kind: model.PackageKind, ID: o.ID, Label: o.DisplayName, Pos: ref.Pos}, true
			}
		}
	}
	for _, dp := range d.desired.AccessPackages {
		if !dp.Absent && model.NameKey(dp.Catalog) == model.NameKey(p.Catalog) && model.NameKey(dp.DisplayName) == model.NameKey(ref.Value) {
			return Member{Kind: model.PackageKind, Address: dp.Address(), Label: dp.DisplayName, Pos: ref.Pos}, true
		}
	}
	d.errorf(ref.Pos, p.Address(), "Name an access package of the same catalog, or its id.", "unknown access package %q in catalog %q", ref.Value, p.Catalog)
	return Member{}, false
}

func (d *differ) packageOrLabel(st *emState, r model.Ref) string {
	if r.Kind == model.PackageKind {
		for _, cands := range st.obsPackages {
			for _, o := range cands {
				if o.ID == r.Value {
					return o.DisplayName
				}
			}
		}
	}
	return d.label(r.Value)
}

// resolveApp finds the service principal of an application named by appId
// or display name.
func (d *differ) resolveApp(ref model.Ref, addr string) *model.AppPrincipal {
	var found []*model.AppPrincipal
	for _, sp := range d.observed.ServicePrincipals {
		if (ref.IsID() && (sp.AppID == strings.ToLower(ref.Value) || sp.ID == strings.ToLower(ref.Value))) ||
			(!ref.IsID() && model.NameKey(sp.DisplayName) == model.NameKey(ref.Value)) {
			found = append(found, sp)
		}
	}
	switch len(found) {
	case 0:
		d.errorf(ref.Pos, addr, "Check the name, or use the application's appId.", "unknown application %q: no service principal has this display name or appId", ref.Value)
		return nil
	case 1:
		return found[0]
	}
	d.errorf(ref.Pos, addr, "Use the appId of the one you mean.", "application %q is ambiguous: service principals %s and %s", ref.Value, found[0].ID, found[1].ID)
	return nil
}

// appRole finds an application's app role by value.
func (d *differ) appRole(sp *model.AppPrincipal, value string, pos model.Pos, addr string) (model.AppRole, bool) {
	var values []string
	for _, r := range sp.AppRoles {
		if strings.EqualFold(r.Value, value) {
			return r, true
		}
		values = append(values, r.Value)
	}
	detail := "Its app roles: " + strings.Join(values, ", ") + "."
	if len(values) == 0 {
		detail = "It exposes no app roles."
	}
	sum := fmt.Sprintf("application %q has no app role %q", sp.DisplayName, value)
	if s := closest(value, values); s != "" {
		sum += fmt.Sprintf("; did you mean %q?", s)
	}
	d.errorf(pos, addr, detail, "%s", sum)
	return model.AppRole{}, false
}

// appRoleValue names an app role by its value, for display.
func (d *differ) appRoleValue(spID, roleID string) string {
	for _, sp := range d.observed.ServicePrincipals {
		if sp.ID == spID {
			for _, r := range sp.AppRoles {
				if r.ID == roleID {
					return r.Value
				}
			}
		}
	}
	return roleID
}

// closest is the candidate nearest to s by edit distance, if near enough.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if dist := editDistance(strings.ToLower(s), strings.ToLower(c)); dist < bestD {
			best, bestD = c, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
