package planner

import "strings"

// RiskCode is the stable code of a risk analyzer. Codes never change meaning;
// each has a documentation page under docs/risks/.
type RiskCode string

// The risk codes known to this version. The ES1xx range is about losing
// objects or access, ES2xx about granting privilege, ES3xx about changes that
// entrasync cannot undo by itself.
const (
	RiskDelete            RiskCode = "ES101" // an object is deleted
	RiskMemberRemoval     RiskCode = "ES102" // members or assignments are removed
	RiskOwnerRemoval      RiskCode = "ES103" // sponsors or owners are removed
	RiskLifecycleDisable  RiskCode = "ES104" // a lifecycle rule disables an agent identity
	RiskPrivilegedGrant   RiskCode = "ES201" // a privileged permission is granted
	RiskAgentBlocked      RiskCode = "ES202" // a grant Entra blocks for agents (refused outright)
	RiskSignInTrust       RiskCode = "ES203" // an outside issuer may sign in as an application
	RiskSourceOfAuthority RiskCode = "ES301" // an AD-synced object becomes cloud-managed
)

// RiskInfo describes a risk code for help and reports.
type RiskInfo struct {
	Code    RiskCode
	Title   string
	Explain string
}

// Risks lists every code with its meaning, in code order.
var Risks = []RiskInfo{
	{RiskDelete, "delete", "The change deletes an object. Security groups are deleted permanently."},
	{RiskMemberRemoval, "member removal", "The change removes members from an authoritative set; they lose the access the set grants."},
	{RiskOwnerRemoval, "sponsor or owner removal", "The change removes a sponsor or owner."},
	{RiskLifecycleDisable, "lifecycle disable", "A lifecycle rule disables an agent identity (accountEnabled=false), declared in the spec or not: the agent can no longer sign in."},
	{RiskPrivilegedGrant, "privileged grant", "The change grants a permission that can take over the tenant or its data."},
	{RiskAgentBlocked, "grant blocked for agents", "Entra refuses this permission for agent identities."},
	{RiskSignInTrust, "sign-in trust", "The change lets tokens from an outside issuer sign in as a blueprint (a federated credential is added or re-pointed)."},
	{RiskSafeguard, "safeguard weakened", "The spec's settings are weaker than the policy or the defaults: a gate dropped, a limit raised, fields handed to another system. Apply refuses the whole plan unless ES401 is approved."},
	{RiskSourceOfAuthority, "cloud-managed conversion", "The group stops following on-premises AD; rolling back completes only at the next sync cycle and must be done deliberately."},
}

// analyze attaches risk codes to a change. Analyzers look only at the change.
func analyze(c *Change) {
	var codes []RiskCode
	if c.Action == Delete {
		codes = append(codes, RiskDelete)
	}
	if c.Members != nil && len(c.Members.Remove) > 0 && (c.Kind == KindGroupMembers || c.Kind == KindAssignments) {
		codes = append(codes, RiskMemberRemoval)
	}
	if c.Roles != nil && len(c.Roles.Remove) > 0 && c.Kind == KindPackageRoles {
		// Assignees lose the removed roles at once.
		codes = append(codes, RiskMemberRemoval)
	}
	if (c.Kind == KindSponsors || c.Kind == KindGroupOwners) && c.Members != nil && len(c.Members.Remove) > 0 {
		codes = append(codes, RiskOwnerRemoval)
	}
	if (c.Kind == KindDelegatedGrant || c.Kind == KindInheritable) && len(c.Fields) == 1 {
		if c.Fields[0].After == AllScopes && c.Fields[0].Before != AllScopes && c.Parents["resource"].ID == msGraphAppID {
			// Every scope Microsoft Graph allows includes its privileged ones.
			codes = append(codes, RiskPrivilegedGrant)
		}
		before := map[string]bool{}
		if b, ok := c.Fields[0].Before.(string); ok {
			for _, sc := range strings.Fields(b) {
				before[sc] = true
			}
		}
		after, _ := c.Fields[0].After.(string)
		for _, sc := range strings.Fields(after) {
			if _, priv := privilegedPermissions[sc]; priv && !before[sc] {
				codes = append(codes, RiskPrivilegedGrant)
				break
			}
		}
	}
	if c.Kind == KindGrant && c.Roles != nil {
		for _, r := range c.Roles.Add {
			if _, ok := privilegedPermissions[r.Role]; ok {
				codes = append(codes, RiskPrivilegedGrant)
				break
			}
		}
	}
	if c.Kind == KindPackageRoles && c.Roles != nil {
		// An application's app role as a package role: every assignee of the
		// package holds that application permission.
		for _, r := range c.Roles.Add {
			if _, ok := privilegedPermissions[r.Role]; ok && r.AppID == msGraphAppID {
				codes = append(codes, RiskPrivilegedGrant)
				break
			}
		}
	}
	if isLifecycleDisable(c) {
		codes = append(codes, RiskLifecycleDisable)
	}
	if c.Kind == KindCredential && (c.Action == Create || c.Action == Update) {
		codes = append(codes, RiskSignInTrust)
	}
	if c.Kind == KindExposedScopes {
		// A removed scope breaks every client that asks for it.
		for _, f := range c.Fields {
			if f.After == nil {
				codes = append(codes, RiskDelete)
				break
			}
		}
	}
	if c.Kind == KindGroupSourceOfAuthority && c.Action != NoOp {
		codes = append(codes, RiskSourceOfAuthority)
	}
	c.Risks = codes
}
