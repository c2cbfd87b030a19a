package planner

// The permission lists behind risk codes ES201 and ES202, kept as data in
// this one file with where each entry comes from. Names are Microsoft Graph
// application permissions (app role values).

// privilegedPermissions let their holder take over the tenant or its data:
// granting one carries ES201, which needs an approval by default.
var privilegedPermissions = map[string]string{
	// A practitioner's audit of privileged app registrations (justinverstijnen.nl,
	// the Entra break-glass and app-audit posts entrasync was conceived
	// from, "Let's create a High privileged App registration"): the
	// permissions that make an app registration as powerful as a Global
	// Administrator. Microsoft labels privileged roles and permissions
	// (learn.microsoft.com/entra/identity/role-based-access-control/
	// privileged-roles-permissions) but publishes no such list for Graph
	// application permissions; this one is entrasync's judgement.
	"Directory.ReadWrite.All":                   "justinverstijnen.nl privileged app registration audit",
	"User.ReadWrite.All":                        "justinverstijnen.nl privileged app registration audit",
	"Policy.ReadWrite.ConditionalAccess":        "justinverstijnen.nl privileged app registration audit",
	"Mail.ReadWrite":                            "justinverstijnen.nl privileged app registration audit",
	"Application.ReadWrite.All":                 "justinverstijnen.nl privileged app registration audit",
	"PrivilegedAccess.ReadWrite.AzureResources": "justinverstijnen.nl privileged app registration audit",
	// Issue 4 names these: each lets the holder grant itself more.
	"RoleManagement.ReadWrite.Directory": "issue 4: assigns directory roles, Global Administrator included",
	"AppRoleAssignment.ReadWrite.All":    "issue 4: grants any application permission, itself included",
}

// blockedForAgents are the Microsoft Graph permissions Entra refuses to
// agent identities: a grant of one to an agent identity is refused at plan
// time (ES202), since Graph would refuse it or leave a delivery stuck.
//
// Source: Microsoft's Agent ID platform overview,
// https://learn.microsoft.com/graph/api/resources/agentid-platform-overview?view=graph-rest-beta
// (microsoft-graph-docs-contrib api-reference/beta/resources/agentid-platform-overview.md),
// "Microsoft Graph permissions blocked for agents" (ms.date 2025-11-13), as
// recorded in graphsim/em_agents.go. Later revisions of that page
// reportedly list more.
var blockedForAgents = map[string]string{
	"Application.ReadWrite.All":    "agentid-platform-overview (2025-11-13)",
	"RoleManagement.ReadWrite.All": "agentid-platform-overview (2025-11-13)",
	"User.ReadWrite.All":           "agentid-platform-overview (2025-11-13)",
	"Directory.AccessAsUser.All":   "agentid-platform-overview (2025-11-13), a delegated permission",
}
