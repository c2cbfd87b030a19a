package planner

// Custom extensions: a catalog's custom workflow extensions (Logic App
// callouts) and the stages of policies that run them. An extension is
// keyed by display name within its catalog; the spec's are created or
// brought to what it writes (a subset comparison, as for policies), those
// it does not list are left alone, and absent: true deletes one after every
// policy change of the catalog (a policy may still run it).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// KindCustomExtension is a catalog's custom workflow extension.
const KindCustomExtension Kind = "custom_extension"

// extensionFields are the properties of an extension body the planner
// compares and shows, in the spec's terms.
func extensionView(body map[string]any) map[string]any {
	out := map[string]any{}
	if t, _ := body["@odata.type"].(string); t != "" {
		out["type"] = map[bool]string{true: "assignment", false: "assignmentRequest"}[strings.EqualFold(t, model.AssignmentExtensionType)]
	}
	if v, ok := body["description"]; ok {
		out["description"] = v
	}
	if ep, ok := body["endpointConfiguration"].(map[string]any); ok {
		out["logicApp"] = fmt.Sprintf("%v/%v/%v", ep["subscriptionId"], ep["resourceGroupName"], ep["logicAppWorkflowName"])
		if u, ok := ep["url"].(string); ok {
			out["logicApp.url"] = u
		}
	}
	if cb, ok := body["callbackConfiguration"].(map[string]any); ok && cb["timeoutDuration"] != nil {
		out["waitForCallback"] = specDuration(fmt.Sprint(cb["timeoutDuration"]))
	}
	return out
}

// specDuration writes an ISO 8601 duration of days or hours as a spec does
// (P2D → 2d, PT12H → 12h); anything else stays as Graph has it.
func specDuration(iso string) string {
	var n int
	var unit string
	switch {
	case strings.HasPrefix(iso, "PT") && strings.HasSuffix(iso, "H"):
		unit = "h"
		_, err := fmt.Sscanf(iso, "PT%dH", &n)
		if err != nil {
			return iso
		}
	case strings.HasPrefix(iso, "P") && strings.HasSuffix(iso, "D") && !strings.Contains(iso, "T"):
		unit = "d"
		if _, err := fmt.Sscanf(iso, "P%dD", &n); err != nil {
			return iso
		}
	default:
		return iso
	}
	if unit == "h" && n%24 == 0 {
		return fmt.Sprintf("%dd", n/24)
	}
	return fmt.Sprintf("%d%s", n, unit)
}

// customExtensions plans the extensions catalog c declares (obs is the
// live catalog, nil when this plan creates it; deps what a create waits
// for).
func (d *differ) customExtensions(c, obs *model.Catalog, deps []string) {
	if c.CustomExtensions == nil {
		return
	}
	catParent := Parent{Address: model.CatalogAddress(c.DisplayName), ID: idOf(obs)}
	have := map[string][]*model.CustomExtension{}
	if obs != nil && obs.CustomExtensions != nil {
		for _, x := range *obs.CustomExtensions {
			have[model.NameKey(x.DisplayName)] = append(have[model.NameKey(x.DisplayName)], x)
		}
	}
	for _, x := range *c.CustomExtensions {
		addr := model.CustomExtensionAddress(c.DisplayName, x.DisplayName)
		cands := have[model.NameKey(x.DisplayName)]
		if len(cands) > 1 {
			d.errorf(x.Pos, addr, "Rename or delete one of them in the tenant.", "%d custom extensions of catalog %q are named %q (ids %s, %s)", len(cands), c.DisplayName, x.DisplayName, cands[0].ID, cands[1].ID)
			continue
		}
		var cur *model.CustomExtension
		if len(cands) == 1 {
			cur = cands[0]
		}
		parents := map[string]Parent{"catalog": catParent}
		switch {
		case x.Absent && cur == nil:
		case x.Absent:
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCustomExtension, Action: Delete, Object: cur.DisplayName, ObjectID: cur.ID,
				Reason: "marked absent in the spec", ObservedFingerprint: fingerprint(cur.Body), Parents: parents, Pos: x.Pos})
		case cur == nil:
			var fs []FieldDiff
			for k, v := range extensionView(x.Body) {
				fs = append(fs, FieldDiff{Field: k, After: v})
			}
			fs = append(fs, FieldDiff{Field: "displayName", After: x.DisplayName})
			sortFields(fs)
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCustomExtension, Action: Create, Object: x.DisplayName, Body: x.Body,
				Fields: fs, Reason: "not found in the tenant", DependsOn: slices.Clone(deps), Parents: parents, Pos: x.Pos})
		default:
			diffs := bodyFields(x.Body, cur.Body)
			if len(diffs) == 0 {
				continue
			}
			want, got := extensionView(x.Body), extensionView(cur.Body)
			var fs []FieldDiff
			for k, v := range want {
				if fmt.Sprint(v) != fmt.Sprint(got[k]) {
					fs = append(fs, FieldDiff{Field: k, Before: got[k], After: v})
				}
			}
			if len(fs) == 0 {
				fs = diffs // a difference the spec's terms do not show: Graph's own
			}
			sortFields(fs)
			// Graph's update is a PUT of the properties sent; the type says
			// which kind of extension the body is.
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCustomExtension, Action: Update, Object: cur.DisplayName, ObjectID: cur.ID,
				Body: x.Body, Fields: fs, ObservedFingerprint: fingerprint(cur.Body), Parents: parents, Pos: x.Pos})
		}
	}
}

// resolveHooks puts the ids of the custom extensions a desired policy body
// runs (named by display name in the spec) in place of their names: the
// live extension's id, or, for one of the catalog's declared extensions
// this plan creates, a placeholder the applier fills in, and the create
// becomes a dependency. The display name stays beside the id, for the
// plan's view and the subset comparison (Graph expands it on reads).
func (d *differ) resolveHooks(st *emState, cat *model.Catalog, p *model.AccessPackage, pol *model.Policy, addr string) (map[string]any, []string, bool) {
	hooks, ok := pol.Body["customExtensionStageSettings"].([]any)
	if !ok {
		return pol.Body, nil, true
	}
	var live []*model.CustomExtension
	if cat != nil && cat.CustomExtensions != nil {
		live = *cat.CustomExtensions
	}
	var declared []*model.CustomExtension
	if dc := st.desCatalogs[model.NameKey(p.Catalog)]; dc != nil && dc.CustomExtensions != nil {
		declared = *dc.CustomExtensions
	}
	body := cloneMap(pol.Body)
	out := make([]any, 0, len(hooks))
	var deps []string
	good := true
	for _, h := range hooks {
		hook, _ := h.(map[string]any)
		ce, _ := hook["customExtension"].(map[string]any)
		name, _ := ce["displayName"].(string)
		stage, _ := hook["stage"].(string)
		var found []*model.CustomExtension
		for _, x := range live {
			if model.NameKey(x.DisplayName) == model.NameKey(name) {
				found = append(found, x)
			}
		}
		var decl *model.CustomExtension
		for _, x := range declared {
			if model.NameKey(x.DisplayName) == model.NameKey(name) {
				decl = x
			}
		}
		var id, typ string
		switch {
		case decl != nil && decl.Absent:
			d.errorf(pol.Pos, addr, "Remove the stage from the policy, or keep the extension.", "policy %q runs custom extension %q at %s, which the spec marks absent: true at %s", pol.DisplayName, name, stage, decl.Pos)
			good = false
			continue
		case len(found) > 1:
			d.errorf(pol.Pos, addr, "Rename or delete one of them in the tenant.", "policy %q runs custom extension %q, but %d extensions of catalog %q have that name (ids %s, %s)", pol.DisplayName, name, len(found), p.Catalog, found[0].ID, found[1].ID)
			good = false
			continue
		case len(found) == 1:
			id = found[0].ID
			typ, _ = found[0].Body["@odata.type"].(string)
		case decl != nil:
			xa := model.CustomExtensionAddress(p.Catalog, decl.DisplayName)
			id, typ = "{"+xa+".id}", fmt.Sprint(decl.Body["@odata.type"])
			deps = append(deps, xa)
		default:
			d.errorf(pol.Pos, addr, "Declare it under the catalog's customExtensions:, or correct the name.",
				"policy %q runs custom extension %q at %s, which catalog %q neither has nor declares", pol.DisplayName, name, stage, p.Catalog)
			good = false
			continue
		}
		if msg := stageFits(stage, typ); msg != "" {
			d.errorf(pol.Pos, addr, "", "policy %q runs custom extension %q at %s: %s", pol.DisplayName, name, stage, msg)
			good = false
			continue
		}
		ref := map[string]any{"id": id, "displayName": name}
		if typ != "" {
			ref["@odata.type"] = typ
		}
		out = append(out, map[string]any{"stage": stage, "customExtension": ref})
	}
	body["customExtensionStageSettings"] = out
	return body, deps, good
}

// stageFits says why an extension of type typ cannot run at stage ("" when
// it can): request stages run request extensions, the expiry stages
// assignment extensions.
func stageFits(stage, typ string) string {
	expiry := strings.HasSuffix(stage, "BeforeExpiration")
	switch {
	case typ == "":
		return ""
	case expiry && !strings.EqualFold(typ, model.AssignmentExtensionType):
		return "a stage before expiration runs an extension of type: assignment"
	case !expiry && !strings.EqualFold(typ, model.RequestExtensionType):
		return "a request stage runs an extension of type: assignmentRequest"
	}
	return ""
}

// extensionDeletesLast makes every deletion of a custom extension wait for
// the catalog's policy changes: a policy may run it until it changes.
func (d *differ) extensionDeletesLast() {
	for i := range d.changes {
		c := &d.changes[i]
		if c.Kind != KindCustomExtension || c.Action != Delete {
			continue
		}
		cat := c.Parents["catalog"].Address
		for _, o := range d.changes {
			if o.Kind == KindPolicy && strings.HasPrefix(o.Address, "assignment_policy["+strings.TrimSuffix(strings.TrimPrefix(cat, "catalog["), "]")+"/") {
				c.DependsOn = append(c.DependsOn, o.Address)
			}
		}
	}
}

// writtenHooks is body as Graph takes it: each stage's custom extension
// by id (and type) only, without the name the planner keeps beside it or
// the properties a read expands.
func writtenHooks(body map[string]any) map[string]any {
	hooks, ok := body["customExtensionStageSettings"].([]any)
	if !ok {
		return body
	}
	out := make([]any, 0, len(hooks))
	for _, h := range hooks {
		hook, _ := h.(map[string]any)
		ce, _ := hook["customExtension"].(map[string]any)
		ref := map[string]any{"id": ce["id"]}
		if t, ok := ce["@odata.type"].(string); ok && t != "" {
			ref["@odata.type"] = t
		}
		out = append(out, map[string]any{"stage": hook["stage"], "customExtension": ref})
	}
	body = cloneMap(body)
	body["customExtensionStageSettings"] = out
	return body
}
