package planner

// Entra Agent ID: blueprints (created with their principal) and agent
// identities with their sponsors. Creation runs blueprint → principal →
// identities; deletion in reverse.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// The Agent ID change kinds.
const (
	KindBlueprint          Kind = "blueprint"
	KindBlueprintPrincipal Kind = "blueprint_principal"
	KindAgentIdentity      Kind = "agent_identity"
	KindSponsors           Kind = "sponsors"
	KindAgentUser          Kind = "agent_user"
	KindOwners             Kind = "owners"
)

// BlueprintUniqueName is the uniqueName entrasync upserts a blueprint by
// when the spec gives none: derived from the natural key, like groups'.
func BlueprintUniqueName(b *model.Blueprint) string {
	if b.UniqueName != "" {
		return b.UniqueName
	}
	return UniqueNameFor(&model.Group{DisplayName: b.DisplayName})
}

func (d *differ) agents() {
	byName := map[string]*model.Blueprint{}
	for _, b := range d.observed.Blueprints {
		byName[b.Key()] = b
	}
	byApp := map[string]*model.Blueprint{}
	for _, b := range d.observed.Blueprints {
		byApp[b.AppID] = b
	}
	userDeletes := map[string][]string{} // identity address → agent user delete addresses
	for _, u := range d.desired.AgentUsers {
		d.agentUser(u, byName[model.NameKey(u.Blueprint)], userDeletes)
	}
	var identityDeletes = map[string][]string{} // blueprint key → identity delete addresses
	for _, a := range d.desired.AgentIdentities {
		d.agentIdentity(a, byName[model.NameKey(a.Blueprint)], identityDeletes, userDeletes)
	}
	for _, b := range d.desired.Blueprints {
		d.blueprint(b, byName[b.Key()], identityDeletes[b.Key()])
	}
	d.lifecycle(byName, byApp)
}

func (d *differ) blueprint(b, obs *model.Blueprint, identityDeletes []string) {
	addr := model.BlueprintAddress(b.DisplayName)
	if b.Absent {
		if obs != nil {
			d.changes = append(d.changes, Change{Address: addr, Kind: KindBlueprint, Action: Delete, Object: obs.DisplayName, ObjectID: obs.ID,
				Reason:    "marked absent in the spec; Entra deletes its principal with it and soft-deletes its agent identities about a day later",
				DependsOn: identityDeletes, ObservedFingerprint: fingerprint(blueprintFields(obs)), Pos: b.Pos})
		}
		return
	}
	if obs == nil {
		fields := []FieldDiff{{Field: "displayName", After: b.DisplayName}, {Field: "uniqueName", After: BlueprintUniqueName(b)}}
		if b.Description != nil {
			fields = append(fields, FieldDiff{Field: "description", After: *b.Description})
		}
		if b.Tags != nil {
			fields = append(fields, FieldDiff{Field: "tags", After: sortedStrings(*b.Tags)})
		}
		sortFields(fields)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindBlueprint, Action: Create, Object: b.DisplayName, Fields: fields,
			Reason: "not found in the tenant; its principal is created with it", Pos: b.Pos})
		d.sponsors(addr, "blueprint", b.DisplayName, "", b.Sponsors, nil, []string{addr}, b.Pos)
		d.inheritable(b, nil)
		d.credentials(b, nil)
		d.exposedScopes(b, nil)
		d.owners(b, nil)
		return
	}
	var fs []FieldDiff
	if b.Description != nil && *b.Description != deref(obs.Description) {
		fs = append(fs, FieldDiff{Field: "description", Before: deref(obs.Description), After: *b.Description})
	}
	if b.Tags != nil && !slices.Equal(sortedStrings(*b.Tags), sortedStrings(derefTags(obs.Tags))) {
		fs = append(fs, FieldDiff{Field: "tags", Before: sortedStrings(derefTags(obs.Tags)), After: sortedStrings(*b.Tags)})
	}
	if len(fs) > 0 {
		sortFields(fs)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindBlueprint, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
			Fields: fs, ObservedFingerprint: fingerprint(blueprintFields(obs)), Pos: b.Pos})
	}
	if obs.PrincipalID == "" {
		d.changes = append(d.changes, Change{Address: addr + ".principal", Kind: KindBlueprintPrincipal, Action: Create, Object: obs.DisplayName,
			Fields: []FieldDiff{{Field: "appId", After: obs.AppID}}, Reason: "the blueprint has no principal", Pos: b.Pos})
	}
	d.sponsors(addr, "blueprint", obs.DisplayName, obs.ID, b.Sponsors, obs.Sponsors, nil, b.Pos)
	d.inheritable(b, obs)
	d.credentials(b, obs)
	d.exposedScopes(b, obs)
	d.owners(b, obs)
}

func (d *differ) agentIdentity(a *model.AgentIdentity, bp *model.Blueprint, deletes, userDeletes map[string][]string) {
	addr := model.AgentIdentityAddress(a.Blueprint, a.DisplayName)
	bpAddr := model.BlueprintAddress(a.Blueprint)
	var obs *model.AgentIdentity
	if bp != nil {
		for _, o := range d.observed.AgentIdentities {
			if o.Blueprint == bp.AppID && model.NameKey(o.DisplayName) == model.NameKey(a.DisplayName) {
				if obs != nil {
					d.errorf(a.Pos, addr, "Rename or delete one of them in the tenant.", "2 live agent identities are named %q in blueprint %q (ids %s, %s)", a.DisplayName, a.Blueprint, obs.ID, o.ID)
					return
				}
				obs = o
			}
		}
	}
	if obs != nil {
		d.declaredIDs[obs.ID] = true
	}
	if a.Absent {
		if obs != nil {
			d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentIdentity, Action: Delete, Object: obs.DisplayName, ObjectID: obs.ID,
				Reason: "marked absent in the spec", DependsOn: userDeletes[addr], ObservedFingerprint: fingerprint(identityFields(obs)), Pos: a.Pos})
			key := model.NameKey(a.Blueprint)
			deletes[key] = append(deletes[key], addr)
		}
		return
	}
	declared := slices.ContainsFunc(d.desired.Blueprints, func(b *model.Blueprint) bool { return b.Key() == model.NameKey(a.Blueprint) && !b.Absent })
	if bp == nil && !declared {
		d.errorf(a.Pos, addr, "Declare the blueprint under blueprints:, or correct the name.", "blueprint %q does not exist and the spec does not declare it", a.Blueprint)
		return
	}
	parents := map[string]Parent{"blueprint": {Address: bpAddr}}
	if bp != nil {
		parents["blueprint"] = Parent{Address: bpAddr, ID: bp.AppID}
	}
	if obs == nil {
		fields := []FieldDiff{{Field: "displayName", After: a.DisplayName}}
		if a.Tags != nil {
			fields = append(fields, FieldDiff{Field: "tags", After: sortedStrings(*a.Tags)})
		}
		if a.Enabled != nil {
			fields = append(fields, FieldDiff{Field: "accountEnabled", After: *a.Enabled})
		}
		sortFields(fields)
		// Entra refuses an agent identity without sponsors, so they go into
		// the create itself.
		md := &MemberDiff{Mode: model.Authoritative}
		if a.Sponsors != nil {
			for _, ref := range *a.Sponsors {
				if m, ok := d.resolve(&model.Group{DisplayName: "\x00" + addr}, ref); ok && d.sponsorGroupOK(m, ref, addr) {
					md.Add = append(md.Add, m)
				}
			}
		}
		sortMembers(md.Add)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentIdentity, Action: Create, Object: a.DisplayName, Fields: fields, Members: md,
			Reason: "not found in its blueprint", DependsOn: []string{bpAddr, bpAddr + ".principal"}, Parents: parents, Pos: a.Pos})
		return
	}
	var fs []FieldDiff
	reason := ""
	if r, age := d.expired(a.Blueprint, a.Tags, obs); r != nil {
		switch {
		case !r.Disable:
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: a.Pos, Address: addr,
				Summary: fmt.Sprintf("lifecycle rule %q: agent identity %q is %d days old (more than %d)", r.Name, a.DisplayName, age, r.OlderThanDays),
				Detail:  "Delete it (absent: true), retag it, or set the rule's action to disable."})
		case d.enabledHandedOff(a.DisplayName):
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: a.Pos, Address: addr,
				Summary: fmt.Sprintf("lifecycle rule %q would disable agent identity %q (%d days old), but settings.ignore hands its enabled field to another system", r.Name, a.DisplayName, age),
				Detail:  "The ignore rule wins; narrow it to let the lifecycle rule disable the identity."})
		case a.Enabled != nil && *a.Enabled:
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: a.Pos, Address: addr,
				Summary: fmt.Sprintf("lifecycle rule %q would disable agent identity %q (%d days old), but the spec says enabled: true", r.Name, a.DisplayName, age),
				Detail:  "The spec's enabled: true wins; remove it to let the rule disable the identity."})
		case obs.Enabled == nil || *obs.Enabled:
			fs = append(fs, FieldDiff{Field: "accountEnabled", Before: true, After: false})
			reason = fmt.Sprintf(lifecycleReason+"%q: %d days old, more than %d", r.Name, age, r.OlderThanDays)
		}
	}
	if a.Tags != nil && !slices.Equal(sortedStrings(*a.Tags), sortedStrings(derefTags(obs.Tags))) {
		fs = append(fs, FieldDiff{Field: "tags", Before: sortedStrings(derefTags(obs.Tags)), After: sortedStrings(*a.Tags)})
	}
	if a.Enabled != nil && obs.Enabled != nil && *a.Enabled != *obs.Enabled && reason == "" {
		fs = append(fs, FieldDiff{Field: "accountEnabled", Before: *obs.Enabled, After: *a.Enabled})
	}
	if len(fs) > 0 {
		sortFields(fs)
		d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentIdentity, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
			Fields: fs, Reason: reason, ObservedFingerprint: fingerprint(identityFields(obs)), Parents: parents, Pos: a.Pos})
	}
	d.sponsors(addr, "agentIdentity", obs.DisplayName, obs.ID, a.Sponsors, obs.Sponsors, nil, a.Pos)
}

// sponsors plans a sponsor set as authoritative: the spec lists all of
// them. Removing one carries ES103.
func (d *differ) sponsors(addr, kind, object, id string, want, have *[]model.Ref, deps []string, pos model.Pos) {
	if want == nil {
		return
	}
	haveIDs := map[string]bool{}
	if have != nil {
		for _, r := range *have {
			haveIDs[r.Value] = true
		}
	}
	md := &MemberDiff{Mode: model.Authoritative, Live: len(haveIDs)}
	wantIDs := map[string]bool{}
	for _, ref := range *want {
		m, ok := d.resolve(&model.Group{DisplayName: "\x00" + addr}, ref)
		if !ok || !d.sponsorGroupOK(m, ref, addr) {
			continue
		}
		wantIDs[m.ID] = true
		if !haveIDs[m.ID] {
			md.Add = append(md.Add, m)
		}
	}
	for sid := range haveIDs {
		if !wantIDs[sid] {
			p, _ := d.idx.principal(sid)
			md.Remove = append(md.Remove, Member{Kind: p.Kind, ID: sid, Label: d.label(sid)})
		}
	}
	if len(md.Add)+len(md.Remove) == 0 {
		return
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	d.changes = append(d.changes, Change{Address: addr + ".sponsors", Kind: KindSponsors, Action: Update, Object: object, ObjectID: id,
		Members: md, DependsOn: deps, Parents: map[string]Parent{kind: {Address: addr, ID: id}}, ObservedFingerprint: fingerprint(haveIDs), Pos: pos})
}

// sponsorGroupOK applies Entra's rule for sponsor groups before Graph
// refuses the write: dynamic-membership or Microsoft 365 groups only, never
// role-assignable ones. Groups this plan creates are left to Graph.
func (d *differ) sponsorGroupOK(m Member, ref model.Ref, addr string) bool {
	p, read := d.idx.principal(m.ID)
	if m.Kind != model.GroupKind || m.ID == "" || !read {
		return true
	}
	var facts model.GroupFacts
	if p.Group != nil {
		facts = *p.Group
	}
	has := func(t string) bool {
		return slices.ContainsFunc(facts.GroupTypes, func(g string) bool { return strings.EqualFold(g, t) })
	}
	switch {
	case facts.RoleAssignable:
		d.errorf(ref.Pos, addr, "Sponsor with a group that cannot be assigned directory roles, or with its members as users.",
			"group %q cannot be a sponsor: Entra refuses role-assignable groups as sponsors", p.Label())
		return false
	case !has("DynamicMembership") && !has("Unified"):
		d.errorf(ref.Pos, addr, "Use a dynamic-membership or Microsoft 365 group, or list the people as users.",
			"group %q cannot be a sponsor: Entra accepts only dynamic-membership and Microsoft 365 groups as sponsors", p.Label())
		return false
	}
	return true
}

// owners adds the blueprint's listed owners that are missing. It never
// removes one: Entra makes the creator (entrasync's own principal) an owner.
func (d *differ) owners(b, obs *model.Blueprint) {
	if b.Owners == nil || b.Absent {
		return
	}
	addr := model.BlueprintAddress(b.DisplayName)
	have := map[string]bool{}
	parent := Parent{Address: addr}
	var deps []string
	if obs != nil {
		parent.ID = obs.ID
		if obs.Owners != nil {
			for _, r := range *obs.Owners {
				have[r.Value] = true
			}
		}
	} else {
		deps = []string{addr}
	}
	md := &MemberDiff{Mode: model.Additive, Live: len(have)}
	for _, ref := range *b.Owners {
		if m, ok := d.resolve(&model.Group{DisplayName: "\x00" + addr}, ref); ok && !have[m.ID] {
			have[m.ID] = true
			md.Add = append(md.Add, m)
		}
	}
	if len(md.Add) == 0 {
		return
	}
	sortMembers(md.Add)
	d.changes = append(d.changes, Change{Address: addr + ".owners", Kind: KindOwners, Action: Update, Object: b.DisplayName, ObjectID: parent.ID,
		Members: md, DependsOn: deps, Parents: map[string]Parent{"blueprint": parent}, Pos: b.Pos})
}

// expired returns the lifecycle rule that selects an identity of the
// blueprint named blueprint (display name), with tags (nil: the observed
// ones), whose age its observed creation exceeds, with that age. A rule that
// disables wins over one that reports; else the first in the spec.
func (d *differ) expired(blueprint string, tags *[]string, obs *model.AgentIdentity) (*model.LifecycleRule, int) {
	if d.now.IsZero() || obs.Created == nil {
		return nil, 0
	}
	if tags == nil {
		tags = obs.Tags
	}
	have := derefTags(tags)
	age := model.AgeDays(*obs.Created, d.now)
	var found *model.LifecycleRule
	for _, r := range d.desired.Lifecycle {
		if r.Blueprint != "" && model.NameKey(r.Blueprint) != model.NameKey(blueprint) {
			continue
		}
		carries := true
		for _, t := range r.Tags {
			carries = carries && slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, t) })
		}
		if carries && age > r.OlderThanDays && (found == nil || (r.Disable && !found.Disable)) {
			found = r
		}
	}
	if found == nil {
		return nil, 0
	}
	return found, age
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

func derefTags(t *[]string) []string {
	if t == nil {
		return []string{}
	}
	return *t
}

func blueprintFields(b *model.Blueprint) any {
	return []any{b.ID, b.DisplayName, deref(b.Description), derefTags(b.Tags)}
}

func identityFields(a *model.AgentIdentity) any {
	return []any{a.ID, a.DisplayName, derefTags(a.Tags), a.Enabled}
}

// agentUser plans an agent user: created after its parent identity,
// deleted before it.
func (d *differ) agentUser(u *model.AgentUser, bp *model.Blueprint, deletes map[string][]string) {
	addr := model.AgentUserAddress(u.UserPrincipalName)
	idAddr := model.AgentIdentityAddress(u.Blueprint, u.Identity)
	var obs *model.AgentUser
	for _, o := range d.observed.AgentUsers {
		if strings.EqualFold(o.UserPrincipalName, u.UserPrincipalName) {
			obs = o
		}
	}
	if u.Absent {
		if obs != nil {
			d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentUser, Action: Delete, Object: obs.UserPrincipalName, ObjectID: obs.ID,
				Reason: "marked absent in the spec", ObservedFingerprint: fingerprint([]string{obs.ID, obs.Identity}), Pos: u.Pos})
			deletes[idAddr] = append(deletes[idAddr], addr)
		}
		return
	}
	parent := Parent{Address: idAddr}
	if bp != nil {
		for _, o := range d.observed.AgentIdentities {
			if o.Blueprint == bp.AppID && model.NameKey(o.DisplayName) == model.NameKey(u.Identity) {
				parent.ID = o.ID
			}
		}
	}
	if parent.ID == "" && d.declaredIdentity(u.Identity) == nil {
		d.errorf(u.Pos, addr, "Declare the agent identity under agentIdentities:, or correct the name.", "agent identity %q of blueprint %q does not exist and the spec does not declare it", u.Identity, u.Blueprint)
		return
	}
	if obs != nil {
		if parent.ID != "" && obs.Identity != parent.ID {
			d.errorf(u.Pos, addr, "An agent user's parent cannot change: delete it (absent: true) and create it again under the new identity.",
				"agent user %q belongs to another agent identity (%s)", u.UserPrincipalName, obs.Identity)
		}
		return
	}
	fields := []FieldDiff{{Field: "accountEnabled", After: true}, {Field: "displayName", After: u.DisplayName},
		{Field: "mailNickname", After: u.MailNickname}, {Field: "userPrincipalName", After: u.UserPrincipalName}}
	d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentUser, Action: Create, Object: u.UserPrincipalName, Fields: fields,
		Reason: "not found in the tenant", DependsOn: []string{idAddr}, Parents: map[string]Parent{"agentIdentity": parent}, Pos: u.Pos})
}
