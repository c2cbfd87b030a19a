package planner

// Inheritable permissions: the delegated permissions a blueprint's agent
// identities inherit on a resource, without a grant of their own. Once a
// blueprint's spec writes inheritablePermissions the list is authoritative:
// a resource the tenant has and the list lacks is removed (gated as ES101).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// KindInheritable is one blueprint's inheritable permissions on one resource.
const KindInheritable Kind = "inheritable_permissions"

// AllScopes is how a plan shows "every delegated permission the resource
// allows" (allAllowedScopes in Graph).
const AllScopes = "(all allowed scopes)"

func inheritableAddress(blueprint, resource string) string {
	return fmt.Sprintf("%s.inheritable[%q]", model.BlueprintAddress(blueprint), resource)
}

func inheritableValue(all bool, scopes []string) string {
	if all {
		return AllScopes
	}
	s := slices.Clone(scopes)
	slices.Sort(s)
	return strings.Join(s, " ")
}

// inheritable plans b's inheritable permissions. obs is nil when the plan
// creates the blueprint.
func (d *differ) inheritable(b, obs *model.Blueprint) {
	if b.Inheritable == nil || b.Absent {
		return
	}
	bpAddr := model.BlueprintAddress(b.DisplayName)
	parent := Parent{Address: bpAddr}
	var deps []string
	have := map[string]model.InheritablePermission{}
	if obs != nil {
		parent.ID = obs.ID
		if obs.Inheritable != nil {
			for _, ip := range *obs.Inheritable {
				have[ip.ResourceAppID] = ip
			}
		}
	} else {
		deps = []string{bpAddr}
	}
	wanted := map[string]bool{}
	for _, ip := range *b.Inheritable {
		res := d.resolveApp(ip.Resource, inheritableAddress(b.DisplayName, ip.Resource.Value))
		if res == nil {
			continue
		}
		addr := inheritableAddress(b.DisplayName, res.DisplayName)
		if wanted[res.AppID] {
			d.errorf(ip.Pos, addr, "List each resource once.", "blueprint %q lists resource %q twice", b.DisplayName, res.DisplayName)
			continue
		}
		wanted[res.AppID] = true
		var scopes []string
		ok := true
		for _, sc := range ip.Scopes {
			s, found := d.scope(res, sc, ip.Pos, addr)
			ok = ok && found
			scopes = append(scopes, s)
		}
		if !ok {
			continue
		}
		if res.AppID == msGraphAppID {
			// Agent identities inherit these: one Entra blocks for agents
			// would leave every agent of the blueprint with a consent
			// Graph refuses (ES202), as a direct grant would.
			for _, s := range scopes {
				if src, blocked := blockedForAgents[s]; blocked {
					d.errorf(ip.Pos, addr, fmt.Sprintf("Source: %s. See docs/risks/ES202.md.", src),
						"[%s] %s cannot be inherited by the agent identities of blueprint %q: Entra blocks it for agents", RiskAgentBlocked, s, b.DisplayName)
					ok = false
				}
			}
			if !ok {
				continue
			}
		}
		after := inheritableValue(ip.All, scopes)
		parents := map[string]Parent{"blueprint": parent, "resource": {Address: "application[" + res.DisplayName + "]", ID: res.AppID}}
		o, exists := have[res.AppID]
		switch {
		case !exists:
			d.changes = append(d.changes, Change{Address: addr, Kind: KindInheritable, Action: Create, Object: b.DisplayName,
				Fields:  []FieldDiff{{Field: "inheritableScopes", After: after}},
				Reason:  "agent identities of the blueprint inherit these delegated permissions on " + res.DisplayName,
				Parents: parents, DependsOn: deps, Pos: ip.Pos})
		case inheritableValue(o.All, o.Scopes) != after:
			before := inheritableValue(o.All, o.Scopes)
			d.changes = append(d.changes, Change{Address: addr, Kind: KindInheritable, Action: Update, Object: b.DisplayName, ObjectID: obs.ID,
				Fields: []FieldDiff{{Field: "inheritableScopes", Before: before, After: after}}, ObservedFingerprint: fingerprint(before),
				Parents: parents, Pos: ip.Pos})
		}
	}
	if obs == nil {
		return
	}
	gone := make([]string, 0, len(have))
	for appID := range have {
		gone = append(gone, appID)
	}
	slices.Sort(gone)
	for _, appID := range gone {
		if wanted[appID] {
			continue
		}
		o := have[appID]
		name := appID
		if appID == msGraphAppID {
			name = "Microsoft Graph"
		}
		for _, sp := range d.observed.ServicePrincipals {
			if sp.AppID == appID {
				name = sp.DisplayName
			}
		}
		before := inheritableValue(o.All, o.Scopes)
		d.changes = append(d.changes, Change{Address: inheritableAddress(b.DisplayName, name), Kind: KindInheritable, Action: Delete, Object: b.DisplayName, ObjectID: obs.ID,
			Fields: []FieldDiff{{Field: "inheritableScopes", Before: before}}, Reason: "not listed under the blueprint's inheritablePermissions",
			ObservedFingerprint: fingerprint(before),
			Parents:             map[string]Parent{"blueprint": parent, "resource": {Address: "application[" + name + "]", ID: appID}}, Pos: b.Pos})
	}
}
