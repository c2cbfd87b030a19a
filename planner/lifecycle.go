package planner

// Lifecycle rules over every agent identity of the tenant. Declared
// identities are judged where they are planned (agentIdentity, with the
// spec's tags); the others come from observed.AllAgentIdentities, which
// graph reads in one paged list when the spec has rules. An undeclared
// identity is never managed: a rule that reports only lists it (a warning),
// a rule that disables plans accountEnabled=false for it (ES104), and
// nothing ever deletes it.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// lifecycleReason starts the Reason of every change a lifecycle rule plans;
// analyze gives those changes ES104.
const lifecycleReason = "lifecycle rule "

// isLifecycleDisable reports whether c is a lifecycle rule's disable.
func isLifecycleDisable(c *Change) bool {
	if c.Kind != KindAgentIdentity || c.Action != Update || !strings.HasPrefix(c.Reason, lifecycleReason) {
		return false
	}
	return slices.ContainsFunc(c.Fields, func(f FieldDiff) bool { return f.Field == "accountEnabled" && f.After == false })
}

// enabledHandedOff reports whether an ignore rule hands the enabled field
// of the agent identity named name to another system: a lifecycle rule then
// reports it instead of disabling it.
func (d *differ) enabledHandedOff(name string) bool {
	return slices.ContainsFunc(d.desired.Settings.Ignore, func(r model.IgnoreRule) bool {
		return r.Kind() == model.IgnoreAgentIdentity && slices.Contains(r.Fields, "enabled") && model.GlobMatch(r.Pattern(), model.NameKey(name))
	})
}

// lifecycle evaluates the rules over the tenant's undeclared agent
// identities. byName and byApp are the observed blueprints.
func (d *differ) lifecycle(byName, byApp map[string]*model.Blueprint) {
	if len(d.desired.Lifecycle) == 0 {
		return
	}
	for _, r := range d.desired.Lifecycle {
		if r.Blueprint == "" || byName[model.NameKey(r.Blueprint)] != nil {
			continue
		}
		if !slices.ContainsFunc(d.desired.Blueprints, func(b *model.Blueprint) bool { return b.Key() == model.NameKey(r.Blueprint) && !b.Absent }) {
			d.errorf(r.Pos, model.LifecycleRuleAddress(r.Name), "Correct the name (the blueprint's display name), or remove blueprint: to select every blueprint.",
				"lifecycle rule %q: blueprint %q does not exist and the spec does not declare it", r.Name, r.Blueprint)
		}
	}
	all := slices.Clone(d.observed.AllAgentIdentities)
	slices.SortFunc(all, func(a, b *model.AgentIdentity) int {
		if c := strings.Compare(model.NameKey(a.DisplayName), model.NameKey(b.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	planned := map[string]string{} // address → id of the identity planned there
	for _, c := range d.changes {
		if c.Kind == KindAgentIdentity {
			planned[c.Address] = c.ObjectID
		}
	}
	for _, o := range all {
		if d.declaredIDs[o.ID] {
			continue
		}
		// The blueprint's display name when the read has it (declared,
		// or named by a rule), else its appId.
		bpName := o.Blueprint
		if bp := byApp[o.Blueprint]; bp != nil {
			bpName = bp.DisplayName
		}
		if d.lifecycleSelects(bpName, o) {
			d.lifecycleScope++
		}
		r, age := d.expired(bpName, nil, o)
		if r == nil {
			continue
		}
		addr := model.AgentIdentityAddress(bpName, o.DisplayName)
		if r.Disable && d.enabledHandedOff(o.DisplayName) {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: r.Pos, Address: addr,
				Summary: fmt.Sprintf("lifecycle rule %q would disable agent identity %q (%d days old), but settings.ignore hands its enabled field to another system", r.Name, o.DisplayName, age),
				Detail:  "The ignore rule wins; narrow it to let the lifecycle rule disable the identity."})
			continue
		}
		if !r.Disable {
			state := ""
			if o.Enabled != nil && !*o.Enabled {
				state = ", already disabled"
			}
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: r.Pos, Address: addr,
				Summary: fmt.Sprintf("lifecycle rule %q: agent identity %q (id %s) is %d days old (more than %d%s); the spec does not declare it", r.Name, o.DisplayName, o.ID, age, r.OlderThanDays, state),
				Detail:  "Declare it to manage it (absent: true deletes it), retag it, or set the rule's action to disable."})
			continue
		}
		if o.Enabled != nil && !*o.Enabled {
			continue // already disabled: nothing to do
		}
		if other, dup := planned[addr]; dup {
			d.errorf(r.Pos, addr, "Rename or delete one of them in the tenant.", "lifecycle rule %q: 2 live agent identities are named %q in blueprint %q (ids %s, %s)", r.Name, o.DisplayName, bpName, other, o.ID)
			continue
		}
		planned[addr] = o.ID
		d.changes = append(d.changes, Change{Address: addr, Kind: KindAgentIdentity, Action: Update, Object: o.DisplayName, ObjectID: o.ID,
			Fields:              []FieldDiff{{Field: "accountEnabled", Before: true, After: false}},
			Reason:              fmt.Sprintf(lifecycleReason+"%q: %d days old, more than %d; not declared in the spec", r.Name, age, r.OlderThanDays),
			ObservedFingerprint: fingerprint(identityFields(o)),
			Parents:             map[string]Parent{"blueprint": {Address: model.BlueprintAddress(bpName), ID: o.Blueprint}}, Pos: r.Pos})
	}
}

// lifecycleSelects reports whether a disabling rule selects the undeclared
// identity o of blueprint bpName by blueprint and tags, whatever its age.
func (d *differ) lifecycleSelects(bpName string, o *model.AgentIdentity) bool {
	have := derefTags(o.Tags)
	for _, r := range d.desired.Lifecycle {
		if !r.Disable || (r.Blueprint != "" && model.NameKey(r.Blueprint) != model.NameKey(bpName)) {
			continue
		}
		carries := true
		for _, t := range r.Tags {
			carries = carries && slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, t) })
		}
		if carries {
			return true
		}
	}
	return false
}
