package planner

// The permission lists behind risk codes ES201 and ES202, kept as data in
// this one file with where each entry comes from. Names are Microsoft Graph
// application permissions (app role values).

// privilegedPermissions let their holder take over the tenant or its data:
// granting one carries ES201, which needs an approval by default.
var privilegedPermissions = map[string]string{
	// shared/seeds/001_fa902eb62e77c0f0.txt, "Let's create a High privileged
	// App registration": the permissions that make an app registration as
	// powerful as a Global Administrator.
	"Directory.ReadWrite.All":                   "seeds/001 high-privileged table",
	"User.ReadWrite.All":                        "seeds/001 high-privileged table",
	"Policy.ReadWrite.ConditionalAccess":        "seeds/001 high-privileged table",
	"Mail.ReadWrite":                            "seeds/001 high-privileged table",
	"Application.ReadWrite.All":                 "seeds/001 high-privileged table",
	"PrivilegedAccess.ReadWrite.AzureResources": "seeds/001 high-privileged table",
	// Issue 4 names these: each lets the holder grant itself more.
	"RoleManagement.ReadWrite.Directory": "issue 4: assigns directory roles, Global Administrator included",
	"AppRoleAssignment.ReadWrite.All":    "issue 4: grants any application permission, itself included",
}

// blockedForAgents are the Microsoft Graph permissions Entra refuses to
// agent identities: a grant of one to an agent identity is refused at plan
// time (ES202), since Graph would refuse it or leave a delivery stuck.
//
// Source: microsoft-graph-docs-contrib,
// api-reference/beta/resources/agentid-platform-overview.md, "Microsoft
// Graph permissions blocked for agents" (ms.date 2025-11-13), as recorded in
// graphsim/em_agents.go; shared/seeds/002 says the same of high-privilege
// roles in prose. Later revisions of that page reportedly list more.
var blockedForAgents = map[string]string{
	"Application.ReadWrite.All":    "agentid-platform-overview (2025-11-13)",
	"RoleManagement.ReadWrite.All": "agentid-platform-overview (2025-11-13)",
	"User.ReadWrite.All":           "agentid-platform-overview (2025-11-13)",
	"Directory.AccessAsUser.All":   "agentid-platform-overview (2025-11-13), a delegated permission",
}
