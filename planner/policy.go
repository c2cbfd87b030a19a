package planner

// Policy: what the spec's settings do to a plan. Ignore rules take fields
// out of the comparison before the diff (an ownership step: what is ignored
// cannot be changed; see ignore.go); protected principals and safety limits
// are checked on the changes the diff produced; approval gates say which
// changes wait.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// DefaultRequireApproval are the risk codes that wait for an explicit
// approval unless the spec's settings say otherwise: losing an object,
// losing an owner or sponsor, an agent switched off by a lifecycle rule,
// granting privilege, and the one-way switch of a synced group to the cloud. Member removals are bounded by the safety
// limits instead, so that drift correction of authoritative sets can run
// unattended.
var DefaultRequireApproval = []RiskCode{RiskDelete, RiskOwnerRemoval, RiskLifecycleDisable, RiskPrivilegedGrant, RiskSourceOfAuthority}

// Default safety limits, after octoDNS: at most 30% of a set of at least 10.
const (
	defaultMaxPercent = 30
	defaultMinSetSize = 10
)

// Block is a safety limit a plan exceeds. A plan with blocks is not applied
// at all: apply stops before its first write.
type Block struct {
	// Subject is the address of the set, or "run" for the run as a whole.
	Subject string `json:"subject"`
	// Setting is what to change in the spec to allow it.
	Setting string    `json:"setting"`
	Summary string    `json:"summary"`
	Pos     model.Pos `json:"pos,omitzero"`
}

// checkProtected refuses every change that takes a protected principal's
// access away: removing it from a group, ending its access-package
// assignment, and deleting a group it is a member of.
func (d *differ) checkProtected() {
	prot := d.desired.Settings.Protected
	if len(prot) == 0 {
		return
	}
	protectedRef := func(id string) (model.Ref, bool) {
		p, _ := d.idx.principal(id)
		for _, ref := range prot {
			v := strings.ToLower(ref.Value)
			if v == id || (p.UserPrincipalName != "" && v == strings.ToLower(p.UserPrincipalName)) || (p.Mail != "" && v == strings.ToLower(p.Mail)) {
				return ref, true
			}
		}
		return model.Ref{}, false
	}
	refuse := func(c Change, label, what string, ref model.Ref) {
		d.diags = append(d.diags, model.Diagnostic{Severity: model.Error, Pos: c.Pos, Address: c.Address,
			Summary: fmt.Sprintf("the plan would %s", what),
			Detail: fmt.Sprintf("%s is listed in settings.protected (%s). Keep it in the spec, or, if it really must go, remove it from settings.protected first.",
				label, ref.Pos)})
	}
	// nested reports the protected principals inside group id, directly
	// or through nesting (graph reads them when protected is set).
	nested := func(id string) []string {
		var out []string
		for _, m := range d.observed.TransitiveMembers[id] {
			if _, ok := protectedRef(m); ok {
				out = append(out, m)
			}
		}
		return out
	}
	for _, c := range d.changes {
		if c.Kind == KindGroup && c.Action == Delete {
			for _, id := range nested(c.ObjectID) {
				ref, _ := protectedRef(id)
				label := d.label(id)
				refuse(c, label, fmt.Sprintf("delete group %q, and with it the membership of protected principal %s (direct or through a nested group)", c.Object, label), ref)
			}
		}

		if c.Kind == KindGroupMembers && c.Members != nil {
			// Un-nesting: removing a group from a set removes everyone in it.
			for _, m := range c.Members.Remove {
				if m.Kind != model.GroupKind {
					continue
				}
				for _, id := range nested(m.ID) {
					ref, _ := protectedRef(id)
					label := d.label(id)
					refuse(c, label, fmt.Sprintf("remove group %s from group %q, and with it protected principal %s, who is a member through it", m.Label, c.Object, label), ref)
				}
			}
		}
		if c.Kind == KindPackageRoles && c.Roles != nil && len(c.Roles.Remove) > 0 {
			// A role taken from a package is taken from every assignee.
			for _, pkg := range d.observed.AccessPackages {
				if pkg.ID != c.ObjectID || pkg.Assignments == nil {
					continue
				}
				for _, a := range pkg.Assignments.Live {
					if !a.Active() {
						continue
					}
					if ref, ok := protectedRef(a.TargetID); ok {
						label := d.label(a.TargetID)
						refuse(c, label, fmt.Sprintf("remove roles from access package %q, and with them the access of protected principal %s, who is assigned to it", c.Object, label), ref)
					}
				}
			}
		}
		if isLifecycleDisable(&c) {
			// A lifecycle rule selects by tags and age, not by name: a
			// protected agent identity it matches is refused, not disabled.
			if ref, ok := protectedRef(c.ObjectID); ok {
				label := fmt.Sprintf("agent identity %q (%s)", c.Object, c.ObjectID)
				refuse(c, label, fmt.Sprintf("disable protected %s: %s", label, c.Reason), ref)
			}
		}
		if c.Members == nil {
			continue
		}
		for _, m := range c.Members.Remove {
			ref, ok := protectedRef(m.ID)
			if !ok {
				continue
			}
			switch c.Kind {
			case KindAssignments:
				refuse(c, m.Label, fmt.Sprintf("remove the assignment of protected principal %s to access package %q", m.Label, c.Object), ref)
			case KindSponsors, KindOwners:
				refuse(c, m.Label, fmt.Sprintf("remove protected principal %s from the %s of %q", m.Label, string(c.Kind), c.Object), ref)
			case KindGroupOwners:
				// Owning a group is access too: its owners manage its
				// members, and a break-glass owner is how a group is
				// recovered.
				refuse(c, m.Label, fmt.Sprintf("remove protected principal %s from the owners of group %q", m.Label, c.Object), ref)
			case KindCatalogResources:
				// A group leaving a catalog takes no one's membership away.
			default:
				refuse(c, m.Label, fmt.Sprintf("remove protected principal %s from group %q", m.Label, c.Object), ref)
			}
		}
	}
}

// checkLimits records the safety limits the changes exceed.
func (d *differ) checkLimits(p *Plan) {
	s := d.desired.Settings
	for _, c := range d.changes {
		if c.Members == nil || len(c.Members.Remove) == 0 {
			continue
		}
		lim := s.RemovalsPerSet
		if own, ok := d.setLimits[c.Address]; ok {
			lim = merge(own, lim)
		} else if dg := d.idx.desiredGroups[model.NameKey(c.Object)]; c.Kind == KindGroupMembers && dg != nil && dg.Members != nil && dg.Members.Limit != nil {
			lim = merge(*dg.Members.Limit, lim)
		}
		if lim.Setting == "" {
			lim.Setting = "settings.limits.removalsPerSet"
		}
		lim = d.clampToFloor(lim)
		if b, ok := exceeds(lim, len(c.Members.Remove), c.Members.Live, "removals"); ok {
			b.Subject = c.Address
			b.Summary = fmt.Sprintf("%s: %s from a set of %d", c.Address, b.Summary, c.Members.Live)
			if b.Pos.IsZero() {
				b.Pos = c.Pos
			}
			p.Blocks = append(p.Blocks, b)
		}
	}
	managed, changed := d.managedCount(), 0
	for _, c := range d.changes {
		if runCounted[c.Kind] && (c.Action == Update || c.Action == Delete) {
			changed++
		}
	}
	lim := s.ChangesPerRun
	if lim.Setting == "" {
		lim.Setting = "settings.limits.changesPerRun"
	}
	if b, ok := exceeds(lim, changed, managed, "updates and deletions"); ok {
		b.Subject = "run"
		b.Summary = fmt.Sprintf("this run: %s of %d managed objects", b.Summary, managed)
		p.Blocks = append(p.Blocks, b)
	}
}

// allSetLimits are the limits sets declare of their own, by address:
// assignment sets (setLimits) and group member sets.
func (d *differ) allSetLimits() map[string]model.Limit {
	out := map[string]model.Limit{}
	for k, v := range d.setLimits {
		out[k] = v
	}
	for _, g := range d.desired.Groups {
		if g.Members != nil && g.Members.Limit != nil {
			out[g.Address()+".members"] = *g.Members.Limit
		}
	}
	return out
}

// runCounted are the kinds of object whose updates and deletions count
// against settings.limits.changesPerRun: every kind of object the spec can
// manage, not its sets (members, roles, resources, sponsors), which
// removalsPerSet bounds.
var runCounted = map[Kind]bool{
	KindGroup: true, KindCatalog: true, KindPackage: true, KindPolicy: true,
	KindBlueprint: true, KindAgentIdentity: true, KindAgentUser: true,
	KindGrant: true, KindDelegatedGrant: true, KindCustomExtension: true,
}

// managedCount is the number of managed objects that exist: the observed
// objects of the kinds runCounted lists that the spec names.
func (d *differ) managedCount() int {
	n := len(d.observedManaged)
	cats, pkgs, bps := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range d.desired.Catalogs {
		cats[c.Key()] = true
	}
	for _, p := range d.desired.AccessPackages {
		pkgs[p.Key()] = true
	}
	for _, b := range d.desired.Blueprints {
		bps[b.Key()] = true
	}
	for _, c := range d.observed.Catalogs {
		if cats[c.Key()] {
			n++
		}
	}
	for _, p := range d.observed.AccessPackages {
		if pkgs[p.Key()] {
			n++
			if p.Policies != nil {
				n += len(*p.Policies)
			}
		}
	}
	for _, b := range d.observed.Blueprints {
		if bps[b.Key()] {
			n++
		}
	}
	return n + len(d.observed.AgentIdentities) + d.lifecycleScope + len(d.observed.AgentUsers) + len(d.observed.Grants)
}

// merge fills the unset fields of a from b.
func merge(a, b model.Limit) model.Limit {
	if a.MaxPercent == nil {
		a.MaxPercent = b.MaxPercent
	}
	if a.MaxCount == nil {
		a.MaxCount = b.MaxCount
	}
	if a.MinSetSize == nil {
		a.MinSetSize = b.MinSetSize
	}
	return a
}

// exceeds checks n changes out of size against a limit, defaults filled in.
func exceeds(l model.Limit, n, size int, what string) (Block, bool) {
	pct, minSize := defaultMaxPercent, defaultMinSetSize
	if l.MaxPercent != nil {
		pct = *l.MaxPercent
	}
	if l.MinSetSize != nil {
		minSize = *l.MinSetSize
	}
	b := Block{Setting: l.Setting, Pos: l.Pos}
	if l.MaxCount != nil && n > *l.MaxCount {
		b.Summary = fmt.Sprintf("%d %s exceed the limit of %d (maxCount of %s)", n, what, *l.MaxCount, l.Setting)
		return b, true
	}
	if size >= minSize && size > 0 && n*100 > pct*size {
		b.Summary = fmt.Sprintf("%d %s (%d%%) exceed the limit of %d%% (maxPercent of %s, for sets of at least %d)",
			n, what, n*100/size, pct, l.Setting, minSize)
		return b, true
	}
	return b, false
}

// requiredApproval resolves the codes that need approval: the spec's list,
// or the defaults. Unknown codes are errors at their place.
func (d *differ) requiredApproval() []RiskCode {
	s := d.desired.Settings
	if s.RequireApproval == nil {
		return slices.Clone(DefaultRequireApproval)
	}
	out := []RiskCode{}
	for _, c := range s.RequireApproval {
		if !slices.ContainsFunc(Risks, func(r RiskInfo) bool { return string(r.Code) == c }) {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Error, Pos: s.Pos, Summary: fmt.Sprintf("settings.requireApproval: unknown risk code %s", c),
				Detail: "Known codes: " + knownCodes() + ". See docs/risks/."})
			continue
		}
		out = append(out, RiskCode(c))
	}
	return out
}

func knownCodes() string {
	var cs []string
	for _, r := range Risks {
		cs = append(cs, string(r.Code))
	}
	return strings.Join(cs, ", ")
}

// Gated returns the changes that must wait: those carrying a risk code the
// plan requires approval for and that approved does not approve, with the
// reason. Changes that depend on a gated change wait too (the executor skips
// them), so they are not listed here.
func Gated(p *Plan, approved []RiskCode) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		var waiting []string
		for _, code := range c.Risks {
			if slices.Contains(p.RequireApproval, code) && !slices.Contains(approved, code) {
				waiting = append(waiting, string(code))
			}
		}
		if len(waiting) > 0 {
			out[c.Address] = fmt.Sprintf("needs approval: %s (rerun with --approve %s)", strings.Join(waiting, ", "), strings.Join(waiting, ","))
		}
	}
	return out
}

// GatedCodes lists, sorted, the risk codes that make the gated changes wait:
// what --approve needs to let them through.
func GatedCodes(p *Plan, gated map[string]string) []string {
	var codes []string
	for _, c := range p.Changes {
		if _, ok := gated[c.Address]; !ok {
			continue
		}
		for _, code := range c.Risks {
			if slices.Contains(p.RequireApproval, code) && !slices.Contains(codes, string(code)) {
				codes = append(codes, string(code))
			}
		}
	}
	slices.Sort(codes)
	return codes
}

// Dependants lists, in plan order, the changes that wait because a change
// in gated waits: those that depend on one, directly or through another
// dependant. Apply skips them with the gated ones.
func Dependants(p *Plan, gated map[string]string) []string {
	waits := map[string]bool{}
	for a := range gated {
		waits[a] = true
	}
	var out []string
	// Changes come after what they depend on, so one pass sees every
	// dependency's verdict before the change itself.
	for _, c := range p.Changes {
		if waits[c.Address] {
			continue
		}
		if slices.ContainsFunc(c.DependsOn, func(d string) bool { return waits[d] }) {
			waits[c.Address] = true
			out = append(out, c.Address)
		}
	}
	return out
}
