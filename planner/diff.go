package planner

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrasync/entrasync/model"
)

// Options carries everything Compute needs besides the two states.
type Options struct {
	// Now is the clock; CreatedAt is Now(). Nil means the zero time, which
	// keeps tests deterministic.
	Now         func() time.Time
	ToolVersion string
	SpecDigest  string
	// Policy is the floor of the spec's settings (safeguards.go), from
	// PolicyFile; nil when there is none.
	Policy     *model.Settings
	PolicyFile string
	// Targets narrow the plan (target.go): address patterns such as
	// group["Team *"].
	Targets []string
}

// Compute diffs desired against observed and returns the plan. Both tenants
// must be normalised (model.Normalize). Compute never fails: problems are
// diagnostics in the plan, and a plan with errors has Errored set.
func Compute(desired, observed *model.Tenant, opts Options) *Plan {
	p := &Plan{
		FormatVersion: FormatVersion,
		ToolVersion:   opts.ToolVersion,
		Tenant:        desired.Domain,
		SpecDigest:    opts.SpecDigest,
		PolicyFile:    opts.PolicyFile,
		Changes:       []Change{},
	}
	if opts.Now != nil {
		p.CreatedAt = opts.Now().UTC()
	}
	d := &differ{observed: observed, setLimits: map[string]model.Limit{}, floor: opts.Policy, declaredIDs: map[string]bool{}}
	d.disables = slices.ContainsFunc(desired.Lifecycle, func(r *model.LifecycleRule) bool { return r.Disable })
	if opts.Policy != nil {
		dt := *desired
		dt.Settings = d.applyPolicy(desired.Settings, opts.Policy, opts.PolicyFile)
		desired = &dt
	}
	d.desired, d.idx = desired, newIndex(desired, observed)
	if opts.Now != nil {
		d.now = opts.Now().UTC()
	}
	if observed.Domain != "" && desired.Domain != "" && observed.Domain != desired.Domain {
		d.diags.Errorf(model.Pos{}, "the spec is for tenant %q but Graph answered for %q; check the credentials or --graph-url", desired.Domain, observed.Domain)
		// Nothing is compared against the wrong tenant.
		p.Diagnostics, p.Errored = d.diags, true
		return p
	}
	p.RequireApproval = d.requiredApproval()
	for _, g := range d.ignoreFields() {
		d.group(g)
	}
	d.entitlement()
	d.grants()
	d.agents()
	d.deleteInUseLast()
	for i := range d.changes {
		analyze(&d.changes[i])
	}
	if ts, err := compileTargets(opts.Targets); err != nil {
		d.diags.Errorf(model.Pos{}, "%v", err)
	} else {
		d.narrow(ts)
		p.Targets = opts.Targets
	}
	d.checkProtected()
	d.checkLimits(p)
	if len(d.changes) > 0 {
		p.Safeguards = d.weakened(desired.Settings, d.allSetLimits())
	}
	ordered, err := order(d.changes)
	if err != nil {
		d.diags.Errorf(model.Pos{}, "%v", err)
	}
	p.Changes = ordered
	// A mistake repeated on many rows (a CSV file of unknown users) is
	// listed model.MaxPerKind times per file and counted: the references'
	// diagnostics were limited as they were found (refErrorf).
	for _, dg := range d.diags {
		d.limit.Add(dg)
	}
	d.diags = d.limit.Diagnostics()
	model.Sort(d.diags)
	p.Diagnostics = d.diags
	p.Errored = d.diags.HasErrors()
	return p
}

type differ struct {
	desired, observed *model.Tenant
	idx               *index
	changes           []Change
	diags             model.Diagnostics
	// limit holds the diagnostics of references (refErrorf) until the end
	// of Compute, a bounded number per file and kind.
	limit model.Limiter
	// refKinds are refKind's names.
	refKinds map[[2]string]string
	// lastAddr is address's memory.
	lastAddr struct {
		g    *model.Group
		addr string
	}
	// observedManaged are the observed groups the spec names: the managed
	// objects that a run's changes are measured against.
	observedManaged []*model.Group
	// setLimits are the limits that sets other than group members declare,
	// by change address.
	setLimits map[string]model.Limit
	// floor is the policy's settings (Options.Policy), nil without one.
	floor *model.Settings
	// now is the plan's clock (zero when the caller gives none: lifecycle
	// rules, which need an age, are then not evaluated).
	now time.Time
	// declaredIDs are the observed agent identities the spec declares:
	// lifecycle rules judge them with the spec's tags (agentIdentity), and
	// the other identities of the tenant in lifecycle.
	declaredIDs map[string]bool
	// lifecycleScope counts the undeclared agent identities disabling
	// rules select (by blueprint and tags, of any age): the managed objects
	// their changes are measured against in changesPerRun.
	lifecycleScope int
	// disables is whether a lifecycle rule disables: without one no change
	// can carry ES104, so a requireApproval list written before the code
	// existed does not drop it (gateMatters).
	disables bool
}

// gateMatters reports whether leaving code out of requireApproval can let
// a change of this spec through ungated.
func (d *differ) gateMatters(code string) bool {
	return code != string(RiskLifecycleDisable) || d.disables
}

// Phases order independent changes: creations first, deletions last.
const (
	phaseCreate = iota
	phaseSourceOfAuthority
	phaseUpdate
	phaseMembers
	phaseDelete
)

func phaseOf(c *Change) int {
	switch {
	case c.Action == Delete:
		return phaseDelete
	case c.Action == Create:
		return phaseCreate
	case c.Kind == KindGroupSourceOfAuthority:
		return phaseSourceOfAuthority
	case c.Kind == KindGroupMembers, c.Kind == KindGroupOwners, c.Kind == KindCatalogResources, c.Kind == KindPackageRoles, c.Kind == KindAssignments, c.Kind == KindIncompatible, c.Kind == KindSponsors, c.Kind == KindOwners:
		return phaseMembers
	}
	return phaseUpdate
}

func (d *differ) errorf(pos model.Pos, addr, detail, format string, args ...any) {
	d.diags = append(d.diags, model.Diagnostic{Severity: model.Error, Pos: pos, Address: addr, Summary: fmt.Sprintf(format, args...), Detail: detail})
}

// address is the address resolve's diagnostics name for g, kept for the
// group whose references are being resolved: a member list of a million
// rows does not format it a million times.
func (d *differ) address(g *model.Group) string {
	if d.lastAddr.g != g { // (the cache holds g, so no other group can take its place)
		addr := g.Address()
		if strings.HasPrefix(g.DisplayName, "\x00") {
			addr = g.DisplayName[1:] // a reference from another kind of object
		}
		d.lastAddr.g, d.lastAddr.addr = g, addr
	}
	return d.lastAddr.addr
}

// refKind names a kind of reference problem, format with the kind of
// reference ("unknown %s" of a user is "unknown user"), made once per
// kind, not per reference.
func (d *differ) refKind(format string, k model.PrincipalKind) string {
	key := [2]string{format, string(k)}
	name, ok := d.refKinds[key]
	if !ok {
		name = fmt.Sprintf(format, k)
		if d.refKinds == nil {
			d.refKinds = map[[2]string]string{}
		}
		d.refKinds[key] = name
	}
	return name
}

// refErrorf reports a problem with one reference. Its kind ("unknown
// user") groups it with the same problem in other references of the same
// file: a million unknown users in a CSV file are listed model.MaxPerKind
// times and counted, not kept, and the message is made only for the ones
// listed.
func (d *differ) refErrorf(kind string, pos model.Pos, addr, detail string, summary func() string) {
	dg := model.Diagnostic{Severity: model.Error, Pos: pos, Address: addr, Kind: kind}
	if d.limit.Wants(dg) { // else it is only counted
		dg.Summary, dg.Detail = summary(), detail
	}
	d.limit.Add(dg)
}

// match finds the observed group a desired group stands for: by pinned id,
// else by display name. Two live groups with one name is an error, never a
// guess.
func (d *differ) match(g *model.Group) (*model.Group, bool) {
	if g.ID != "" {
		if o := d.idx.groupByID[g.ID]; o != nil {
			return o, true
		}
		if !g.Absent {
			d.errorf(g.Pos, g.Address(), "Remove id: to let entrasync create the group, or correct the id.", "no group has the pinned id %s", g.ID)
			return nil, false
		}
		return nil, true
	}
	cands := d.idx.groupsByKey[g.Key()]
	switch len(cands) {
	case 0:
		return nil, true
	case 1:
		return cands[0], true
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.ID
	}
	d.errorf(g.Pos, g.Address(), "Pin the one to manage with id: in the spec, or rename or delete the others in the tenant.",
		"%d live groups are named %q (ids %s)", len(cands), g.DisplayName, strings.Join(ids, ", "))
	return nil, false
}

func (d *differ) group(g *model.Group) {
	obs, ok := d.match(g)
	if !ok {
		return
	}
	if obs != nil {
		d.observedManaged = append(d.observedManaged, obs)
	}
	addr := g.Address()
	if g.Absent {
		if obs != nil {
			d.changes = append(d.changes, Change{
				Address: addr, Kind: KindGroup, Action: Delete, Object: obs.DisplayName, ObjectID: obs.ID,
				Reason: "marked absent in the spec", ObservedFingerprint: fingerprint(groupFields(obs)), Pos: g.Pos,
			})
		}
		return
	}
	if obs == nil {
		d.create(g)
		return
	}

	converting := false
	if g.CloudManaged != nil && *g.CloudManaged && obs.Synced && !isTrue(obs.CloudManaged) {
		converting = true
		d.changes = append(d.changes, Change{
			Address: addr + ".cloudManaged", Kind: KindGroupSourceOfAuthority, Action: Update,
			Object: obs.DisplayName, ObjectID: obs.ID, Reason: "cloudManaged: true converts the AD-synced group to cloud management",
			Fields:              []FieldDiff{{Field: "cloudManaged", Before: false, After: true}},
			ObservedFingerprint: fingerprint(sourceFields(obs)), Pos: g.Pos,
		})
	}
	if g.CloudManaged != nil && *g.CloudManaged && !obs.Synced && !isTrue(obs.CloudManaged) {
		d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: g.Pos, Address: addr,
			Summary: "cloudManaged: true has no effect: the group is not synced from on-premises AD"})
	}
	readOnly := obs.Synced && !isTrue(obs.CloudManaged) && !converting
	var deps []string
	if converting {
		deps = []string{addr + ".cloudManaged"}
	}

	if fields := updateFields(g, obs); len(fields) > 0 {
		if readOnly {
			d.errorf(g.Pos, addr, "Set cloudManaged: true to make the cloud its source of authority, or make the change in on-premises AD.",
				"group %q is synced from on-premises AD and Graph refuses cloud writes to it (fields: %s)", obs.DisplayName, fieldNames(fields))
		} else {
			d.changes = append(d.changes, Change{
				Address: addr, Kind: KindGroup, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
				Fields: fields, DependsOn: deps, ObservedFingerprint: fingerprint(groupFields(obs)), Pos: g.Pos,
			})
		}
	}
	d.groupOwners(g, obs, deps)
	if g.Members == nil {
		return
	}
	if obs.Dynamic() && !(g.MembershipRule != nil && *g.MembershipRule == "") {
		d.errorf(g.Pos, addr, "Remove members: from the spec, or clear membershipRule to make the group assigned.",
			"group %q is dynamic: Graph computes its members from the rule", obs.DisplayName)
		return
	}
	md := d.memberDiff(g, obs)
	if md == nil {
		return
	}
	if readOnly {
		d.errorf(g.Pos, addr, "Set cloudManaged: true to make the cloud its source of authority, or change membership in on-premises AD.",
			"group %q is synced from on-premises AD and Graph refuses cloud member changes (%d to add, %d to remove)", obs.DisplayName, len(md.Add), len(md.Remove))
		return
	}
	d.changes = append(d.changes, Change{
		Address: addr + ".members", Kind: KindGroupMembers, Action: Update, Object: obs.DisplayName, ObjectID: obs.ID,
		Members: md, DependsOn: appendDeps(deps, md), ObservedFingerprint: fingerprint(memberIDs(obs)), Pos: g.Pos,
	})
}

func (d *differ) create(g *model.Group) {
	addr := g.Address()
	nick := ""
	if g.MailNickname != nil {
		nick = *g.MailNickname
	} else {
		nick = DefaultMailNickname(g.DisplayName)
	}
	fields := []FieldDiff{{Field: "displayName", After: g.DisplayName}}
	if g.Description != nil {
		fields = append(fields, FieldDiff{Field: "description", After: *g.Description})
	}
	fields = append(fields, FieldDiff{Field: "mailNickname", After: nick})
	if g.Dynamic() {
		fields = append(fields, FieldDiff{Field: "membershipRule", After: *g.MembershipRule})
		state := "On"
		if g.MembershipRuleProcessingState != nil {
			state = *g.MembershipRuleProcessingState
		}
		fields = append(fields, FieldDiff{Field: "membershipRuleProcessingState", After: state})
	}
	fields = append(fields, FieldDiff{Field: "uniqueName", After: UniqueNameFor(g)})
	sortFields(fields)
	d.changes = append(d.changes, Change{
		Address: addr, Kind: KindGroup, Action: Create, Object: g.DisplayName, Fields: fields,
		Reason: "not found in the tenant", Pos: g.Pos,
	})
	d.groupOwners(g, nil, []string{addr})
	if g.Members == nil || g.Dynamic() {
		return
	}
	if md := d.memberDiff(g, nil); md != nil {
		d.changes = append(d.changes, Change{
			Address: addr + ".members", Kind: KindGroupMembers, Action: Update, Object: g.DisplayName,
			Members: md, DependsOn: appendDeps([]string{addr}, md), Pos: g.Pos,
		})
	}
}

// memberDiff resolves the desired members and compares them with the
// observed ones. It returns nil when nothing changes.
//
// Members are compared by their positions in the index, in bit sets, and
// a Member is made only for what changes: a million-member group that
// changes by a few thousand costs a few bits per member, not a Member and
// two map entries each.
func (d *differ) memberDiff(g, obs *model.Group) *MemberDiff {
	type wanted struct{ at, ref int32 }
	var (
		want    = make([]wanted, 0, len(g.Members.Members)) // resolved to a read principal
		created []Member                                    // groups this plan creates
		wantAt  = newBitset(d.idx.size())
		named   map[string]bool // the created groups' addresses
	)
	for i, ref := range g.Members.Members {
		if i%lookAhead == 0 {
			// (users are most of a large set)
			d.idx.usersByName.prefetch(g.Members.Members[i:min(len(g.Members.Members), i+lookAhead)])
		}
		at, m, ok := d.find(g, ref)
		switch {
		case !ok:
		case at < 0:
			if !named[m.Address] {
				if named == nil {
					named = map[string]bool{}
				}
				named[m.Address] = true
				created = append(created, m)
			}
		case !wantAt.has(at): // (else two spellings of one principal)
			wantAt.set(at)
			want = append(want, wanted{at, int32(i)})
		}
	}
	haveAt := newBitset(d.idx.size())
	live := 0
	authoritative := g.Members.Mode == model.Authoritative
	var removed []int32 // observed members that are not wanted (authoritative sets), by place
	if obs != nil && obs.Members != nil {
		last := int32(-1)
		for i, r := range obs.Members.Members {
			// (Observed ids are sorted, so each search goes on from
			// the last one found.)
			at, ok := d.idx.seek(r.Value, last)
			if ok && int(at) < len(d.idx.principals) {
				last = at
			}
			switch {
			case !ok:
				// A member that is not among the principals read
				// cannot be one the spec names.
				live++
				if authoritative {
					removed = append(removed, int32(i))
				}
			case !haveAt.has(at):
				haveAt.set(at)
				live++
				if authoritative && !wantAt.has(at) {
					removed = append(removed, int32(i))
				}
			}
		}
	}
	md := &MemberDiff{Mode: g.Members.Mode, Live: live}
	adds := len(created)
	for _, w := range want {
		if !haveAt.has(w.at) {
			adds++
		}
	}
	if adds > 0 {
		md.Add = make([]Member, 0, adds)
	}
	for _, w := range want {
		if !haveAt.has(w.at) {
			p := d.idx.at(w.at)
			md.Add = append(md.Add, Member{Kind: p.Kind, ID: p.ID, Label: p.Label(), Pos: g.Members.Members[w.ref].Pos})
		}
	}
	md.Add = append(md.Add, created...)
	if len(removed) > 0 {
		md.Remove = make([]Member, 0, len(removed))
	}
	for _, i := range removed {
		r := obs.Members.Members[i]
		md.Remove = append(md.Remove, Member{Kind: r.Kind, ID: r.Value, Label: d.label(r.Value)})
	}
	if len(md.Add) == 0 && len(md.Remove) == 0 {
		return nil
	}
	if len(want)+len(created) == 0 && len(md.Remove) > 0 && len(g.Members.Members) == 0 {
		d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: g.Pos, Address: g.Address(),
			Summary: fmt.Sprintf("the authoritative member set is empty: all %d members will be removed", len(md.Remove)),
			Detail:  "If that is not intended, list the members, or use mode: additive."})
	}
	sortMembers(md.Add)
	sortMembers(md.Remove)
	return md
}

// resolve turns a spec reference into a member: an observed principal, or a
// group this plan creates.
func (d *differ) resolve(g *model.Group, ref model.Ref) (Member, bool) {
	at, m, ok := d.find(g, ref)
	if ok && at >= 0 {
		p := d.idx.at(at)
		m = Member{Kind: p.Kind, ID: p.ID, Label: p.Label(), Pos: ref.Pos}
	}
	return m, ok
}

// find is resolve by position: the observed principal's (and a zero
// Member), or -1 and the Member of a group this plan creates. It reports
// why a reference resolves to nothing.
func (d *differ) find(g *model.Group, ref model.Ref) (int32, Member, bool) {
	addr := d.address(g)
	if ref.Kind == model.GroupKind && !ref.IsID() {
		if dg := d.idx.desiredGroups[model.NameKey(ref.Value)]; dg != nil && dg.Key() == g.Key() && !strings.HasPrefix(g.DisplayName, "\x00") {
			d.errorf(ref.Pos, addr, "", "group %q cannot be a member of itself", g.DisplayName)
			return -1, Member{}, false
		}
	}
	if ref.IsID() {
		at, ok := d.idx.find(strings.ToLower(ref.Value))
		if !ok {
			d.refErrorf(d.refKind("unknown %s id", ref.Kind), ref.Pos, addr, "Check the id, or name the object by UPN or display name.",
				func() string { return fmt.Sprintf("no %s has the id %s", ref.Kind, ref.Value) })
			return -1, Member{}, false
		}
		p := d.idx.at(at)
		if p.Kind != ref.Kind && !(ref.Kind == model.ServicePrincipal && p.Kind.IsServicePrincipal()) {
			d.refErrorf(d.refKind("not a %s", ref.Kind), ref.Pos, addr, fmt.Sprintf("List it under %ss: instead.", p.Kind),
				func() string { return fmt.Sprintf("object %s is a %s, not a %s", ref.Value, p.Kind, ref.Kind) })
			return -1, Member{}, false
		}
		return at, Member{}, true
	}
	key := model.NameKey(ref.Value)
	var byName *names
	switch ref.Kind {
	case model.User:
		byName = &d.idx.usersByName
	case model.GroupKind:
		byName = &d.idx.groupsByName
		if !byName.has(key) {
			if dg := d.idx.desiredGroups[key]; dg != nil && !dg.Absent {
				return -1, Member{Kind: model.GroupKind, Address: dg.Address(), Label: dg.DisplayName, Pos: ref.Pos}, true
			}
		}
	case model.ServicePrincipal:
		byName = &d.idx.spsByName
	}
	at, n := int32(-1), 0
	if byName != nil {
		at, n = byName.find(key)
	}
	switch n {
	case 0:
		how := "userPrincipalName or mail"
		if ref.Kind != model.User {
			how = "display name"
		}
		d.refErrorf(d.refKind("unknown %s", ref.Kind), ref.Pos, addr, "Check the spelling, or use the object id.",
			func() string {
				return fmt.Sprintf("unknown %s %q: no %s in the tenant has this %s", ref.Kind, ref.Value, ref.Kind, how)
			})
		return -1, Member{}, false
	case 1:
		return at, Member{}, true
	}
	d.refErrorf(d.refKind("ambiguous %s", ref.Kind), ref.Pos, addr, "Use the object id of the one you mean.",
		func() string {
			return fmt.Sprintf("%s %q is ambiguous: it matches %s", ref.Kind, ref.Value, strings.Join(d.idx.ids(byName.all(key)), ", "))
		})
	return -1, Member{}, false
}

func updateFields(g, obs *model.Group) []FieldDiff {
	var fs []FieldDiff
	if g.DisplayName != obs.DisplayName {
		fs = append(fs, FieldDiff{Field: "displayName", Before: obs.DisplayName, After: g.DisplayName})
	}
	str := func(field string, want, have *string) {
		if want != nil && *want != deref(have) {
			fs = append(fs, FieldDiff{Field: field, Before: deref(have), After: *want})
		}
	}
	str("description", g.Description, obs.Description)
	str("mailNickname", g.MailNickname, obs.MailNickname)
	str("membershipRule", g.MembershipRule, obs.MembershipRule)
	str("membershipRuleProcessingState", g.MembershipRuleProcessingState, obs.MembershipRuleProcessingState)
	if g.MembershipRule != nil && (*g.MembershipRule != "") != obs.Dynamic() {
		// Becoming dynamic or assigned toggles DynamicMembership in
		// groupTypes; other types (Unified) are kept.
		after := slices.DeleteFunc(slices.Clone(obs.GroupTypes), func(t string) bool { return strings.EqualFold(t, "DynamicMembership") })
		if *g.MembershipRule != "" {
			after = append(after, "DynamicMembership")
		}
		before := obs.GroupTypes
		if before == nil {
			before = []string{}
		}
		fs = append(fs, FieldDiff{Field: "groupTypes", Before: before, After: after})
	}
	sortFields(fs)
	return fs
}

func appendDeps(deps []string, md *MemberDiff) []string {
	out := slices.Clone(deps)
	for _, m := range md.Add {
		if m.Address != "" && !slices.Contains(out, m.Address) {
			out = append(out, m.Address)
		}
	}
	slices.Sort(out)
	return out
}

func sortFields(fs []FieldDiff) {
	slices.SortFunc(fs, func(a, b FieldDiff) int { return strings.Compare(a.Field, b.Field) })
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int {
		// (model.CompareFold is the lower-cased labels' order, without
		// lower-casing two labels per comparison.)
		return cmp.Or(model.CompareFold(a.Label, b.Label), strings.Compare(a.ID, b.ID))
	})
}

func fieldNames(fs []FieldDiff) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return strings.Join(names, ", ")
}

// lookAhead is how many references a member list's look-ups read ahead
// (model.Index.Prefetch).
const lookAhead = 256

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func isTrue(b *bool) bool { return b != nil && *b }

// The parts of an observed group that each change kind depends on. A saved
// plan stores their fingerprint, and apply refuses the plan when it moved.
func groupFields(g *model.Group) any {
	return []any{g.ID, g.DisplayName, deref(g.Description), deref(g.MailNickname), deref(g.MembershipRule), deref(g.MembershipRuleProcessingState)}
}

func sourceFields(g *model.Group) any { return []any{g.ID, g.Synced, isTrue(g.CloudManaged)} }

func memberIDs(g *model.Group) any {
	if g.Members == nil {
		return []string{}
	}
	return memberValues(g.Members.Members)
}

// memberValues fingerprints as the sorted list of its references' values
// does: a million-member set is hashed as it is, in the id order Normalize
// leaves an observed set of one kind in, rather than copied and sorted
// first; a set that is not in that order is.
type memberValues []model.Ref

func (refs memberValues) fingerprint() string {
	if fp, ok := hashStrings(len(refs), func(i int) string { return refs[i].Value }, true); ok {
		return fp
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Value
	}
	slices.Sort(ids)
	return fingerprintStrings(ids)
}

// Fingerprint hashes a JSON-encodable value.
func fingerprint(v any) string {
	if mv, ok := v.(memberValues); ok {
		return mv.fingerprint()
	}
	if ss, ok := v.([]string); ok && ss != nil {
		return fingerprintStrings(ss)
	}
	b, _ := json.Marshal(v) // values are built from strings and bools
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:12])
}

// fingerprintStrings is fingerprint of a list of strings (a member set's
// ids), hashing the bytes json.Marshal would write as they are made, not a
// copy of all of them: a million ids were 40 MB of JSON.
func fingerprintStrings(ss []string) string {
	fp, _ := hashStrings(len(ss), func(i int) string { return ss[i] }, false)
	return fp
}

// hashStrings is fingerprintStrings of the n strings at(i) gives; with
// inOrder it gives up, returning false, at the first string smaller than
// the one before.
func hashStrings(n int, at func(int) string, inOrder bool) (string, bool) {
	h := sha256.New()
	w := bufio.NewWriterSize(h, 32<<10)
	w.WriteByte('[')
	for i := range n {
		s := at(i)
		if i > 0 {
			if inOrder && s < at(i-1) {
				return "", false
			}
			w.WriteByte(',')
		}
		if plainJSON(s) {
			w.WriteByte('"')
			w.WriteString(s)
			w.WriteByte('"')
		} else {
			b, _ := json.Marshal(s)
			w.Write(b)
		}
	}
	w.WriteByte(']')
	w.Flush()
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:12]), true
}

// plainJSON reports whether json.Marshal writes s as it is, in quotes:
// printable ASCII without the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
