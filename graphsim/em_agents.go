package graphsim

// msGraphAppID is the appId of the Microsoft Graph service principal (the
// same in every tenant).
const msGraphAppID = "00000003-0000-0000-c000-000000000000"

// permissionsBlockedForAgents are the Microsoft Graph permissions Entra
// refuses to grant to agent identities. An access package that holds one
// of them as an API-permission resource role (role type application or
// delegated on the Microsoft Graph service principal) fails delivery to an
// agent-identity target: the assignment request ends deliveryFailed with
// status "Request_BadRequest" and no assignment is delivered.
//
// Source: microsoft-graph-docs-contrib,
// api-reference/beta/resources/agentid-platform-overview.md, section
// "Microsoft Graph permissions blocked for agents" (ms.date 2025-11-13;
// stored copy at commit 0152cbac). Later revisions of that page reportedly
// list more permissions; extend this list, and only this list, when the
// reference is updated.
var permissionsBlockedForAgents = []string{
	"Application.ReadWrite.All",
	"RoleManagement.ReadWrite.All",
	"User.ReadWrite.All",
	"Directory.AccessAsUser.All", // delegated
}
