package graph

// Least privilege for entrasync itself. Operations is the one table of every
// kind of Graph call this package makes (read.go, write.go), each with the
// least-privileged application permission Microsoft documents for it and the
// higher-privileged permissions that also allow it. Sources: the operation
// index in testdata/graph/operations.json (Microsoft's least-privileged
// application permission for each call, with the learn.microsoft.com page
// it comes from; row numbers below; permissions_test.go reads it and
// compares), and for the higher-privileged column Microsoft's
// permission tables (microsoft-graph-docs-contrib,
// api-reference/v1.0/includes/permissions/<page>-permissions.md).
//
// Needs(desired, writing) picks the operations a plan (or an apply) of a
// spec performs; Requirements turns them into the smallest list of
// permissions that allows all of them: each operation's least permission,
// then every entry another entry already covers is dropped (Group.ReadWrite.All
// also allows reading groups and writing members, so an apply needs it and
// not GroupMember.Read.All or GroupMember.ReadWrite.All besides). No entry
// of the result is covered by the others, so removing any one of them
// leaves an operation without permission: Check names it.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/entrasync/entrasync/model"
)

// Operation is one kind of Graph call entrasync makes.
type Operation struct {
	// ID names the operation in code and tests.
	ID string
	// Method, Version and Path as in the README's operation index.
	Method, Version, Path string
	// Least is the least-privileged application permission.
	Least string
	// Also are the higher-privileged permissions that allow the call too.
	Also []string
	// Source is where Least comes from.
	Source string
	// Optional operations are skipped, with a warning, when forbidden.
	Optional bool
	// Why says what entrasync uses the call for.
	Why string
}

// String is "GET /groups" (with " (beta)" for beta calls).
func (o *Operation) String() string {
	s := o.Method + " " + o.Path
	if o.Version == "beta" {
		s += " (beta)"
	}
	return s
}

// allows reports whether a role set (lower-case names) allows the call.
func (o *Operation) allows(roles map[string]bool) bool {
	if roles[strings.ToLower(o.Least)] {
		return true
	}
	return slices.ContainsFunc(o.Also, func(p string) bool { return roles[strings.ToLower(p)] })
}

// Permission names.
const (
	PermGroupMemberRead      = "GroupMember.Read.All"
	PermGroupMemberReadWrite = "GroupMember.ReadWrite.All"
	PermGroupRead            = "Group.Read.All"
	PermGroupReadWrite       = "Group.ReadWrite.All"
	PermGroupCreate          = "Group.Create"
	PermUserReadBasic        = "User.ReadBasic.All"
	PermUserRead             = "User.Read.All"
	PermUserReadWrite        = "User.ReadWrite.All"
	PermApplicationRead      = "Application.Read.All"
	PermApplicationReadWrite = "Application.ReadWrite.All"
	PermDirectoryRead        = "Directory.Read.All"
	PermDirectoryReadWrite   = "Directory.ReadWrite.All"
	PermGroupSyncBehavior    = "Group-OnPremisesSyncBehavior.ReadWrite.All"
	PermEMRead               = "EntitlementManagement.Read.All"
	PermEMReadWrite          = "EntitlementManagement.ReadWrite.All"
	PermUserInvite           = "User.Invite.All"
	PermAppRoleAssignment    = "AppRoleAssignment.ReadWrite.All"
	PermBlueprintReadWrite   = "AgentIdentityBlueprint.ReadWrite.All"
)

// Higher-privileged permissions, from Microsoft's permission tables.
var (
	alsoReadGroups   = []string{PermGroupRead, PermGroupReadWrite, PermDirectoryRead, PermDirectoryReadWrite}                           // group-list, group-get
	alsoReadMembers  = []string{PermGroupMemberReadWrite, PermGroupRead, PermGroupReadWrite, PermDirectoryRead, PermDirectoryReadWrite} // group-list-members
	alsoWriteMembers = []string{PermGroupReadWrite, PermDirectoryReadWrite}                                                             // group-post-members, group-delete-members
	alsoReadOwners   = []string{PermGroupReadWrite, PermDirectoryRead, PermGroupRead, PermGroupMemberReadWrite}                         // group-list-owners
	alsoWriteGroups  = []string{PermDirectoryReadWrite}                                                                                 // group-update
	alsoReadUsers    = []string{PermUserRead, PermUserReadWrite, PermDirectoryRead, PermDirectoryReadWrite}                             // user-list
	alsoReadApps     = []string{PermApplicationReadWrite, PermDirectoryRead, PermDirectoryReadWrite}                                    // serviceprincipal-list
	alsoReadDir      = []string{PermDirectoryReadWrite}                                                                                 // organization-list
	alsoReadEM       = []string{PermEMReadWrite}                                                                                        // entitlement management reads
	alsoInvite       = []string{PermUserReadWrite, PermDirectoryReadWrite}                                                              // invitation-post

	// Agent ID. Microsoft's tables for these calls (v1.0 unless said) and
	// microsoft-graph-devx-content permissions/new/permissions.json (the
	// commit the operation index was checked against) list these, and only
	// these, as higher privileged.
	alsoListBlueprints   = []string{PermBlueprintReadWrite}                          // agentidentityblueprint-list; devx: GET /applications/microsoft.graph.agentIdentityBlueprint
	alsoGetBlueprint     = []string{PermBlueprintReadWrite}                          // devx: GET /applications/microsoft.graph.agentIdentityBlueprint/{id}
	alsoBlueprintNav     = []string{PermApplicationRead}                             // agentidentityblueprint-list-sponsors (as its least), -list-owners, -list-inheritablepermissions
	alsoBlueprintFICs    = []string{PermApplicationRead, PermDirectoryRead}          // federatedidentitycredential-list (beta), "Permissions for an agentIdentityBlueprint"
	alsoWriteBlueprint   = []string{PermBlueprintReadWrite}                          // agentidentityblueprint-upsert, -update, -post-inheritablepermissions; devx: PATCH .../agentIdentityBlueprint/{id}
	alsoBlueprintCreds   = []string{PermBlueprintReadWrite}                          // federatedidentitycredential-upsert (beta), "Permissions for an agentIdentityBlueprint"
	alsoListBPPrincipals = []string{"AgentIdentityBlueprintPrincipal.ReadWrite.All"} // agentidentityblueprintprincipal-list
	alsoListAgentIDs     = []string{"AgentIdentity.ReadWrite.All"}                   // agentidentity-list
)

// Operation ids.
const (
	OpReadOrganization    = "read-organization"
	OpListGroups          = "list-groups"
	OpListMembers         = "list-members"
	OpListTransitive      = "list-transitive-members"
	OpListMembersBeta     = "list-members-beta"
	OpListUsers           = "list-users"
	OpGroupsDelta         = "groups-delta"
	OpUsersDelta          = "users-delta"
	OpListSPs             = "list-service-principals"
	OpReadSyncBehavior    = "read-sync-behavior"
	OpGetGroupUniqueName  = "get-group-by-unique-name"
	OpGetGroup            = "get-group"
	OpUpdateGroup         = "update-group"
	OpDeleteGroup         = "delete-group"
	OpCreateGroup         = "create-group"
	OpAddMembersBind      = "add-members-bind"
	OpAddMemberRef        = "add-member-ref"
	OpRemoveMemberRef     = "remove-member-ref"
	OpListGroupOwners     = "list-group-owners"
	OpListGroupOwnersBeta = "list-group-owners-beta"
	OpAddGroupOwner       = "add-group-owner"
	OpRemoveGroupOwner    = "remove-group-owner"
	OpSetCloudManaged     = "set-cloud-managed"
	OpListCatalogs        = "list-catalogs"
	OpListCatalogRes      = "list-catalog-resources"
	OpListPackages        = "list-access-packages"
	OpListPolicies        = "list-assignment-policies"
	OpListExtensions      = "list-custom-extensions"
	OpCreateExtension     = "create-custom-extension"
	OpUpdateExtension     = "update-custom-extension"
	OpDeleteExtension     = "delete-custom-extension"
	OpListAssignments     = "list-assignments"
	OpCreateCatalog       = "create-catalog"
	OpUpdateCatalog       = "update-catalog"
	OpDeleteCatalog       = "delete-catalog"
	OpResourceRequest     = "resource-request"
	OpResourceRequestGrp  = "resource-request-group"
	OpCreatePackage       = "create-access-package"
	OpUpdatePackage       = "update-access-package"
	OpDeletePackage       = "delete-access-package"
	OpAddRoleScope        = "add-role-scope"
	OpRemoveRoleScope     = "remove-role-scope"
	OpCreatePolicy        = "create-assignment-policy"
	OpReplacePolicy       = "replace-assignment-policy"
	OpDeletePolicy        = "delete-assignment-policy"
	OpAssignmentRequest   = "assignment-request"
	OpReprocess           = "reprocess-assignment"
	OpInvite              = "invite-guest"
	OpListAppRoleAssigns  = "list-app-role-assignments"
	OpListBlueprints      = "list-blueprints"
	OpListBPSponsors      = "list-blueprint-sponsors"
	OpUpsertBlueprint     = "upsert-blueprint"
	OpGetBlueprintUnique  = "get-blueprint-by-uniquename"
	OpUpdateBlueprint     = "update-blueprint"
	OpUpdateBlueprintAPI  = "update-blueprint-exposed-scopes"
	OpDeleteBlueprint     = "delete-blueprint"
	OpAddBPSponsor        = "add-blueprint-sponsor"
	OpRemoveBPSponsor     = "remove-blueprint-sponsor"
	OpListInheritable     = "list-inheritable-permissions"
	OpCreateInheritable   = "create-inheritable-permissions"
	OpUpdateInheritable   = "update-inheritable-permissions"
	OpDeleteInheritable   = "delete-inheritable-permissions"
	OpListFICs            = "list-federated-credentials"
	OpListBPOwners        = "list-blueprint-owners"
	OpAddBPOwner          = "add-blueprint-owner"
	OpUpsertFIC           = "upsert-federated-credential"
	OpDeleteFIC           = "delete-federated-credential"
	OpListBPPrincipals    = "list-blueprint-principals"
	OpCreateBPPrincipal   = "create-blueprint-principal"
	OpListAgentIdentities = "list-agent-identities"
	OpListAISponsors      = "list-agent-identity-sponsors"
	OpCreateAgentIdentity = "create-agent-identity"
	OpUpdateAgentIdentity = "update-agent-identity"
	OpDeleteAgentIdentity = "delete-agent-identity"
	OpAddAISponsor        = "add-agent-identity-sponsor"
	OpRemoveAISponsor     = "remove-agent-identity-sponsor"
	OpListAgentUsers      = "list-agent-users"
	OpListDelegated       = "list-delegated-grants"
	OpCreateDelegated     = "create-delegated-grant"
	OpUpdateDelegated     = "update-delegated-grant"
	OpDeleteDelegated     = "delete-delegated-grant"
	OpCreateAgentUser     = "create-agent-user"
	OpDeleteAgentUser     = "delete-agent-user"
	OpGrantAppRole        = "grant-app-role"
	OpRevokeAppRole       = "revoke-app-role"
	emPath                = "/identityGovernance/entitlementManagement"
	readmeIndex           = "testdata/graph/operations.json, operation index"
	readmeBeta            = "https://learn.microsoft.com/graph/api/group-list-members?view=graph-rest-beta (beta returns service principals; v1.0 omits them)"
	docOrganizationList   = "organization-list permission table (Microsoft Graph docs, v1.0)"
	docGroupPostMembersAt = readmeIndex + " row 55; the group-post-members page documents adding members by PATCH members@odata.bind"
	docGroupListOwners    = "https://learn.microsoft.com/graph/api/group-list-owners?view=graph-rest-1.0"
)

// Operations is the table: every kind of call read.go and write.go make.
var Operations = []*Operation{
	{ID: OpListDelegated, Method: "GET", Version: "v1.0", Path: "/oauth2PermissionGrants", Least: PermDirectoryRead, Source: readmeIndex + " row 39",
		Why: "read the delegated permissions the spec's principals hold"},
	{ID: OpCreateDelegated, Method: "POST", Version: "v1.0", Path: "/oauth2PermissionGrants", Least: "DelegatedPermissionGrant.ReadWrite.All", Source: readmeIndex + " row 40",
		Why: "grant delegated permissions (one grant per client and resource)"},
	{ID: OpUpdateDelegated, Method: "PATCH", Version: "v1.0", Path: "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}", Least: "DelegatedPermissionGrant.ReadWrite.All", Source: readmeIndex + " row 42",
		Why: "merge scopes into an existing delegated grant"},
	{ID: OpDeleteDelegated, Method: "DELETE", Version: "v1.0", Path: "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}", Least: "DelegatedPermissionGrant.ReadWrite.All", Source: readmeIndex + " row 43",
		Why: "remove a delegated grant whose last scope the spec removes"},
	{ID: OpListAgentUsers, Method: "GET", Version: "v1.0", Path: "/users/microsoft.graph.agentUser", Least: PermUserReadBasic, Also: alsoReadUsers, Source: readmeIndex + " row 29",
		Why: "find the spec's agent users"},
	{ID: OpCreateAgentUser, Method: "POST", Version: "v1.0", Path: "/users/microsoft.graph.agentUser", Least: "AgentIdUser.ReadWrite.IdentityParentedBy", Source: readmeIndex + " row 30",
		Why: "create agent users"},
	{ID: OpDeleteAgentUser, Method: "DELETE", Version: "v1.0", Path: "/users/{user-id}", Least: "AgentIdUser.ReadWrite.IdentityParentedBy", Source: readmeIndex + " row 30 (the permission that owns agent users; delete page not read)",
		Why: "delete agent users marked absent"},
	{ID: OpListBlueprints, Method: "GET", Version: "v1.0", Path: "/applications/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.Read.All", Also: alsoListBlueprints, Source: readmeIndex + " row 1",
		Why: "find the spec's blueprints"},
	{ID: OpListBPSponsors, Method: "GET", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/sponsors", Least: "AgentIdentityBlueprint.Read.All", Also: alsoBlueprintNav, Source: readmeIndex + " row 9",
		Why: "read blueprints' sponsors"},
	{ID: OpUpsertBlueprint, Method: "PATCH", Version: "v1.0", Path: "/applications(uniqueName='{uniqueName}')/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.Create", Also: alsoWriteBlueprint, Source: readmeIndex + " row 6",
		Why: "create blueprints idempotently (upsert by uniqueName)"},
	{ID: OpGetBlueprintUnique, Method: "GET", Version: "v1.0", Path: "/applications(uniqueName='{uniqueName}')/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.Read.All", Also: alsoGetBlueprint, Source: readmeIndex + " row 3 (by alternate key)",
		Why: "read the id of a blueprint the upsert found"},
	{ID: OpUpdateBlueprint, Method: "PATCH", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.UpdateBranding.All", Also: alsoWriteBlueprint, Source: readmeIndex + " row 4",
		Why: "update blueprints' description and tags"},
	{ID: OpUpdateBlueprintAPI, Method: "PATCH", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.UpdateAuthProperties.All", Also: alsoWriteBlueprint, Source: "https://learn.microsoft.com/graph/api/agentidentityblueprint-update?view=graph-rest-1.0: identifierUris and api are auth properties",
		Why: "set a blueprint's identifierUris and exposed scopes (a PATCH whose body holds api or identifierUris)"},
	{ID: OpDeleteBlueprint, Method: "DELETE", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint", Least: "AgentIdentityBlueprint.DeleteRestore.All", Source: readmeIndex + " row 5",
		Why: "delete blueprints marked absent"},
	{ID: OpAddBPSponsor, Method: "POST", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/sponsors/$ref", Least: "AgentIdentityBlueprint.UpdateSponsors.All", Source: readmeIndex + " row 7",
		Why: "add blueprints' sponsors"},
	{ID: OpRemoveBPSponsor, Method: "DELETE", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/sponsors/{directoryObject-id}/$ref", Least: "AgentIdentityBlueprint.UpdateSponsors.All", Source: readmeIndex + " row 8",
		Why: "remove blueprints' sponsors"},
	{ID: OpListInheritable, Method: "GET", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/inheritablePermissions", Least: "AgentIdentityBlueprint.Read.All", Also: alsoBlueprintNav, Source: readmeIndex + " row 12",
		Why: "read the delegated permissions a blueprint's agent identities inherit"},
	{ID: OpCreateInheritable, Method: "POST", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/inheritablePermissions", Least: "AgentIdentityBlueprint.Create", Also: alsoWriteBlueprint, Source: readmeIndex + " row 13",
		Why: "let a blueprint's agent identities inherit delegated permissions on a resource"},
	{ID: OpUpdateInheritable, Method: "PATCH", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/inheritablePermissions/{resourceAppId}", Least: "AgentIdentityBlueprint.ReadWrite.All", Source: readmeIndex + " row 14 (unverified upstream)",
		Why: "change the inheritable scopes on a resource"},
	{ID: OpDeleteInheritable, Method: "DELETE", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/inheritablePermissions/{resourceAppId}", Least: "AgentIdentityBlueprint.ReadWrite.All", Source: readmeIndex + " row 15 (unverified upstream)",
		Why: "stop a blueprint's agent identities inheriting permissions on a resource"},
	{ID: OpListFICs, Method: "GET", Version: "v1.0", Path: "/applications/{application-id}/federatedIdentityCredentials", Least: "AgentIdentityBlueprint.Read.All", Also: alsoBlueprintFICs, Source: "https://learn.microsoft.com/graph/api/federatedidentitycredential-list?view=graph-rest-beta, permissions for an agentIdentityBlueprint (the operation index's entry 16 gives Application.Read.All for other applications)",
		Why: "read a blueprint's federated credentials"},
	{ID: OpUpsertFIC, Method: "PATCH", Version: "v1.0", Path: "/applications/{application-id}/federatedIdentityCredentials(name='{name}')", Least: "AgentIdentityBlueprint.AddRemoveCreds.All", Also: alsoBlueprintCreds, Source: "Microsoft Entra Agent ID how-to (learn.microsoft.com/entra/agent-id): the permission for a blueprint's credentials; https://learn.microsoft.com/graph/api/federatedidentitycredential-upsert?view=graph-rest-1.0 gives Application.ReadWrite.OwnedBy for apps entrasync owns, the beta page AgentIdentityBlueprint.ReadWrite.All for blueprints",
		Why: "create or update a blueprint's federated credential by name"},
	{ID: OpDeleteFIC, Method: "DELETE", Version: "v1.0", Path: "/applications/{application-id}/federatedIdentityCredentials/{federatedIdentityCredential-id}", Least: "AgentIdentityBlueprint.AddRemoveCreds.All", Also: alsoBlueprintCreds, Source: "Microsoft Entra Agent ID how-to (learn.microsoft.com/entra/agent-id), as for the upsert; https://learn.microsoft.com/graph/api/federatedidentitycredential-delete?view=graph-rest-1.0 gives Application.ReadWrite.OwnedBy for owned apps",
		Why: "remove a federated credential the spec no longer lists"},
	{ID: OpListBPOwners, Method: "GET", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/owners", Least: "AgentIdentityBlueprint.Read.All", Also: alsoBlueprintNav, Source: readmeIndex + " row 11",
		Why: "read a blueprint's owners"},
	{ID: OpAddBPOwner, Method: "POST", Version: "v1.0", Path: "/applications/{application-id}/microsoft.graph.agentIdentityBlueprint/owners/$ref", Least: "AgentIdentityBlueprint.ReadWrite.All", Source: readmeIndex + " row 10",
		Why: "add an owner the spec lists"},
	{ID: OpListBPPrincipals, Method: "GET", Version: "v1.0", Path: "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", Least: "AgentIdentityBlueprintPrincipal.Read.All", Also: alsoListBPPrincipals, Source: readmeIndex + " row 22",
		Why: "find blueprints' principals"},
	{ID: OpCreateBPPrincipal, Method: "POST", Version: "v1.0", Path: "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", Least: "AgentIdentityBlueprintPrincipal.Create", Source: readmeIndex + " row 21",
		Why: "create a blueprint's principal"},
	{ID: OpListAgentIdentities, Method: "GET", Version: "v1.0", Path: "/servicePrincipals/microsoft.graph.agentIdentity", Least: "AgentIdentity.Read.All", Also: alsoListAgentIDs, Source: readmeIndex + " row 23",
		Why: "find the spec's agent identities"},
	{ID: OpListAISponsors, Method: "GET", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/microsoft.graph.agentIdentity/sponsors", Least: "AgentIdentity.Read.All", Source: readmeIndex + " row 25 (sponsors navigation)",
		Why: "read agent identities' sponsors"},
	{ID: OpCreateAgentIdentity, Method: "POST", Version: "v1.0", Path: "/servicePrincipals/microsoft.graph.agentIdentity", Least: "AgentIdentity.Create.All", Source: readmeIndex + " row 24",
		Why: "create agent identities"},
	{ID: OpUpdateAgentIdentity, Method: "PATCH", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/microsoft.graph.agentIdentity", Least: "AgentIdentity.EnableDisable.All", Source: readmeIndex + " row 26",
		Why: "enable, disable or tag agent identities"},
	{ID: OpDeleteAgentIdentity, Method: "DELETE", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/microsoft.graph.agentIdentity", Least: "AgentIdentity.DeleteRestore.All", Source: readmeIndex + " row 27",
		Why: "delete agent identities marked absent"},
	{ID: OpAddAISponsor, Method: "POST", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/microsoft.graph.agentIdentity/sponsors/$ref", Least: "AgentIdentity.UpdateSponsors.All", Source: readmeIndex + " row 28",
		Why: "add agent identities' sponsors"},
	{ID: OpRemoveAISponsor, Method: "DELETE", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/microsoft.graph.agentIdentity/sponsors/{directoryObject-id}/$ref", Least: "AgentIdentity.UpdateSponsors.All", Source: readmeIndex + " row 28 (removal, same permission)",
		Why: "remove agent identities' sponsors"},
	{ID: OpListAppRoleAssigns, Method: "GET", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments", Least: PermApplicationRead, Also: alsoReadApps, Source: readmeIndex + " row 36",
		Why: "read the application permissions the spec's principals hold"},
	{ID: OpGrantAppRole, Method: "POST", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo", Least: PermAppRoleAssignment, Source: readmeIndex + " row 34 (with Application.Read.All)",
		Why: "grant application permissions by name"},
	{ID: OpRevokeAppRole, Method: "DELETE", Version: "v1.0", Path: "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo/{appRoleAssignment-id}", Least: PermAppRoleAssignment, Source: readmeIndex + " row 35",
		Why: "revoke application permissions an authoritative grant no longer lists"},
	{ID: OpReadOrganization, Method: "GET", Version: "v1.0", Path: "/organization", Least: PermDirectoryRead, Also: alsoReadDir, Source: docOrganizationList, Optional: true,
		Why: "check that the spec's tenant is the one Graph answers for (skipped with a warning without it)"},
	{ID: OpListGroups, Method: "GET", Version: "v1.0", Path: "/groups", Least: PermGroupMemberRead, Also: alsoReadGroups, Source: readmeIndex + " row 48",
		Why: "find the spec's groups and the groups its member lists name"},
	{ID: OpListMembers, Method: "GET", Version: "v1.0", Path: "/groups/{group-id}/members", Least: PermGroupMemberRead, Also: alsoReadMembers, Source: readmeIndex + " row 54",
		Why: "read the members of groups whose members the spec manages"},
	{ID: OpListTransitive, Method: "GET", Version: "v1.0", Path: "/groups/{group-id}/transitiveMembers", Least: PermGroupMemberRead, Also: alsoReadMembers, Source: "https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0",
		Why: "find protected principals nested in groups a plan deletes or takes out of an authoritative set"},
	{ID: OpListMembersBeta, Method: "GET", Version: "beta", Path: "/groups/{group-id}/members", Least: PermGroupMemberRead, Also: alsoReadMembers, Source: readmeBeta,
		Why: "read member lists that name service principals (v1.0 leaves them out)"},
	{ID: OpListUsers, Method: "GET", Version: "v1.0", Path: "/users", Least: PermUserReadBasic, Also: alsoReadUsers, Source: readmeIndex + " row 44 (basic properties: entrasync selects id, displayName, userPrincipalName, mail)",
		Why: "resolve member users by UPN, mail or id, and read the users in member lists"},
	{ID: OpGroupsDelta, Method: "GET", Version: "v1.0", Path: "/groups/delta()", Least: PermGroupMemberRead, Also: alsoReadGroups, Source: readmeIndex + " row 60",
		Why: "with --refresh=delta: read what changed in the spec's groups and the managed member sets since the last delta run"},
	{ID: OpUsersDelta, Method: "GET", Version: "v1.0", Path: "/users/delta()", Least: PermUserRead, Also: []string{PermUserReadWrite, PermDirectoryRead, PermDirectoryReadWrite}, Source: readmeIndex + " row 46",
		Why: "with --refresh=delta: keep the names of the users in those sets current"},
	{ID: OpListSPs, Method: "GET", Version: "v1.0", Path: "/servicePrincipals", Least: PermApplicationRead, Also: alsoReadApps, Source: readmeIndex + " row 31",
		Why: "resolve member service principals by id, owner service principals by display name or id"},
	{ID: OpReadSyncBehavior, Method: "GET", Version: "beta", Path: "/groups/{group-id}/onPremisesSyncBehavior", Least: PermGroupSyncBehavior, Source: readmeIndex + " row 61",
		Why: "read the source of authority of groups the spec makes cloud-managed"},
	{ID: OpGetGroupUniqueName, Method: "GET", Version: "v1.0", Path: "/groups(uniqueName='{uniqueName}')", Least: PermGroupMemberRead, Also: alsoReadGroups, Source: readmeIndex + " row 50 (get by alternate key)",
		Why: "when a group's create finds its uniqueName taken, see who holds it"},
	{ID: OpGetGroup, Method: "GET", Version: "v1.0", Path: "/groups/{group-id}", Least: PermGroupMemberRead, Also: alsoReadGroups, Source: readmeIndex + " row 50",
		Why: "wait until a new group is visible"},
	{ID: OpUpdateGroup, Method: "PATCH", Version: "v1.0", Path: "/groups/{group-id}", Least: PermGroupReadWrite, Also: alsoWriteGroups, Source: readmeIndex + " row 51",
		Why: "update group properties"},
	{ID: OpDeleteGroup, Method: "DELETE", Version: "v1.0", Path: "/groups/{group-id}", Least: PermGroupReadWrite, Source: readmeIndex + " row 53",
		Why: "delete groups marked absent"},
	{ID: OpCreateGroup, Method: "POST", Version: "v1.0", Path: "/groups", Least: PermGroupCreate, Also: []string{PermGroupReadWrite, PermDirectoryReadWrite}, Source: readmeIndex + " row 49",
		Why: "create groups, and take the run lease, under a uniqueName Graph keeps unique: a create sent twice makes one group"},
	{ID: OpAddMembersBind, Method: "PATCH", Version: "v1.0", Path: "/groups/{group-id} (members@odata.bind)", Least: PermGroupMemberReadWrite, Also: alsoWriteMembers, Source: docGroupPostMembersAt,
		Why: "add members, 20 per request"},
	{ID: OpAddMemberRef, Method: "POST", Version: "v1.0", Path: "/groups/{group-id}/members/$ref", Least: PermGroupMemberReadWrite, Also: alsoWriteMembers, Source: readmeIndex + " row 55",
		Why: "add members one by one when a batch holds one already there"},
	{ID: OpRemoveMemberRef, Method: "DELETE", Version: "v1.0", Path: "/groups/{group-id}/members/{directoryObject-id}/$ref", Least: PermGroupMemberReadWrite, Also: alsoWriteMembers, Source: readmeIndex + " row 56",
		Why: "remove members from authoritative member sets"},
	{ID: OpListGroupOwners, Method: "GET", Version: "v1.0", Path: "/groups/{group-id}/owners", Least: PermGroupMemberRead, Also: alsoReadOwners, Source: readmeIndex + " row 57; higher privileged from " + docGroupListOwners,
		Why: "read the owners of groups whose owners the spec manages"},
	{ID: OpListGroupOwnersBeta, Method: "GET", Version: "beta", Path: "/groups/{group-id}/owners", Least: PermGroupMemberRead, Also: alsoReadOwners, Source: "https://learn.microsoft.com/graph/api/group-list-owners?view=graph-rest-beta (the v1.0 page: service principals are not listed as owners on v1.0)",
		Why: "read owner lists that name service principals (v1.0 leaves them out)"},
	{ID: OpAddGroupOwner, Method: "POST", Version: "v1.0", Path: "/groups/{group-id}/owners/$ref", Least: PermGroupReadWrite, Also: alsoWriteGroups, Source: readmeIndex + " row 58; https://learn.microsoft.com/graph/api/group-post-owners?view=graph-rest-1.0 lists Group.ReadWrite.All, higher Directory.ReadWrite.All",
		Why: "add the owners a group's owners: list names"},
	{ID: OpRemoveGroupOwner, Method: "DELETE", Version: "v1.0", Path: "/groups/{group-id}/owners/{directoryObject-id}/$ref", Least: PermGroupReadWrite, Also: alsoWriteGroups, Source: readmeIndex + " row 59; https://learn.microsoft.com/graph/api/group-delete-owners?view=graph-rest-1.0",
		Why: "remove owners an authoritative owners: list leaves out"},
	{ID: OpSetCloudManaged, Method: "PATCH", Version: "beta", Path: "/groups/{group-id}/onPremisesSyncBehavior", Least: PermGroupSyncBehavior, Source: readmeIndex + " row 62",
		Why: "convert synced groups to cloud-managed"},

	// Entitlement management (em.go).
	{ID: OpListCatalogs, Method: "GET", Version: "v1.0", Path: emPath + "/catalogs", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 63",
		Why: "find the spec's catalogs"},
	{ID: OpListCatalogRes, Method: "GET", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}/resources", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 68",
		Why: "read the groups in catalogs and their roles"},
	{ID: OpListPackages, Method: "GET", Version: "v1.0", Path: emPath + "/accessPackages", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 72",
		Why: "read the access packages of the catalogs, with their resource roles"},
	{ID: OpListPolicies, Method: "GET", Version: "v1.0", Path: emPath + "/assignmentPolicies", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 79",
		Why: "read the assignment policies of access packages"},
	{ID: OpListExtensions, Method: "GET", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}/customWorkflowExtensions", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 96",
		Why: "read the custom extensions of catalogs whose extensions the spec declares or whose policies run some"},
	{ID: OpCreateExtension, Method: "POST", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}/customWorkflowExtensions", Least: PermEMReadWrite, Source: readmeIndex + " row 97",
		Why: "create the custom extensions the spec declares"},
	{ID: OpUpdateExtension, Method: "PUT", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}/customWorkflowExtensions/{customCalloutExtension-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 99",
		Why: "bring custom extensions to what the spec writes"},
	{ID: OpDeleteExtension, Method: "DELETE", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}/customWorkflowExtensions/{customCalloutExtension-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 100",
		Why: "delete custom extensions marked absent"},
	{ID: OpListAssignments, Method: "GET", Version: "v1.0", Path: emPath + "/assignments", Least: PermEMRead, Also: alsoReadEM, Source: readmeIndex + " row 87",
		Why: "read the assignments of access packages"},
	{ID: OpCreateCatalog, Method: "POST", Version: "v1.0", Path: emPath + "/catalogs", Least: PermEMReadWrite, Source: readmeIndex + " row 64",
		Why: "create catalogs"},
	{ID: OpUpdateCatalog, Method: "PATCH", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 66",
		Why: "update catalogs"},
	{ID: OpDeleteCatalog, Method: "DELETE", Version: "v1.0", Path: emPath + "/catalogs/{catalog-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 67",
		Why: "delete catalogs marked absent"},
	{ID: OpResourceRequest, Method: "POST", Version: "v1.0", Path: emPath + "/resourceRequests", Least: PermEMReadWrite, Source: readmeIndex + " row 70",
		Why: "add groups to catalogs and remove them"},
	{ID: OpResourceRequestGrp, Method: "POST", Version: "v1.0", Path: emPath + "/resourceRequests (the group)", Least: PermGroupReadWrite, Also: alsoWriteGroups, Source: readmeIndex + " row 70 (\"+ Group.ReadWrite.All for the resource\")",
		Why: "a group joins a catalog only for a caller that may manage the group"},
	{ID: OpCreatePackage, Method: "POST", Version: "v1.0", Path: emPath + "/accessPackages", Least: PermEMReadWrite, Source: readmeIndex + " row 73",
		Why: "create access packages"},
	{ID: OpUpdatePackage, Method: "PATCH", Version: "v1.0", Path: emPath + "/accessPackages/{accessPackage-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 75",
		Why: "update access packages"},
	{ID: OpDeletePackage, Method: "DELETE", Version: "v1.0", Path: emPath + "/accessPackages/{accessPackage-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 76",
		Why: "delete access packages marked absent"},
	{ID: OpAddRoleScope, Method: "POST", Version: "v1.0", Path: emPath + "/accessPackages/{accessPackage-id}/resourceRoleScopes", Least: PermEMReadWrite, Source: readmeIndex + " row 77",
		Why: "add group roles to access packages"},
	{ID: OpRemoveRoleScope, Method: "DELETE", Version: "v1.0", Path: emPath + "/accessPackages/{accessPackage-id}/resourceRoleScopes/{accessPackageResourceRoleScope-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 78",
		Why: "remove group roles from access packages"},
	{ID: OpCreatePolicy, Method: "POST", Version: "v1.0", Path: emPath + "/assignmentPolicies", Least: PermEMReadWrite, Source: readmeIndex + " row 80",
		Why: "create assignment policies"},
	{ID: OpReplacePolicy, Method: "PUT", Version: "v1.0", Path: emPath + "/assignmentPolicies/{accessPackageAssignmentPolicy-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 82",
		Why: "update assignment policies"},
	{ID: OpDeletePolicy, Method: "DELETE", Version: "v1.0", Path: emPath + "/assignmentPolicies/{accessPackageAssignmentPolicy-id}", Least: PermEMReadWrite, Source: readmeIndex + " row 83",
		Why: "delete assignment policies"},
	{ID: OpAssignmentRequest, Method: "POST", Version: "v1.0", Path: emPath + "/assignmentRequests", Least: PermEMReadWrite, Source: readmeIndex + " row 84",
		Why: "assign access packages and remove assignments"},
	{ID: OpReprocess, Method: "POST", Version: "v1.0", Path: emPath + "/assignments/{accessPackageAssignment-id}/reprocess", Least: PermEMReadWrite, Source: readmeIndex + " row 88",
		Why: "repair deliveries that missed a group membership"},
	{ID: OpInvite, Method: "POST", Version: "v1.0", Path: "/invitations", Least: PermUserInvite, Also: alsoInvite, Source: readmeIndex + " row 47",
		Why: "invite guests named in assignments"},
}

// LeaseOperations are what the run lease (lease.go) sends: create it, read
// its holder, renew it and delete it. Runs that write need them unless
// they run without the lease.
func LeaseOperations() []*Operation {
	var out []*Operation
	for _, id := range []string{OpCreateGroup, OpGetGroupUniqueName, OpUpdateGroup, OpDeleteGroup} {
		out = append(out, OperationByID(id))
	}
	return out
}

// OperationByID returns the table entry with that id; it panics on an
// unknown id (a programming error).
func OperationByID(id string) *Operation {
	for _, o := range Operations {
		if o.ID == id {
			return o
		}
	}
	panic("graph: unknown operation " + id)
}

// DeltaNeeds returns the operations a delta read of desired adds to Needs
// (ReadDelta): none when the spec manages no member set.
func DeltaNeeds(desired *model.Tenant) []*Operation {
	if !slices.ContainsFunc(desired.Groups, func(g *model.Group) bool { return g.Members != nil && !g.Absent }) {
		return nil
	}
	return []*Operation{OperationByID(OpGroupsDelta), OperationByID(OpUsersDelta)}
}

// Needs returns the operations a plan of desired performs, and with
// writing those an apply may perform too (an apply plans first).
func Needs(desired *model.Tenant, writing bool) []*Operation {
	ids := map[string]bool{OpReadOrganization: true}
	if len(desired.Groups) > 0 {
		ids[OpListGroups] = true
	}
	if len(desired.Settings.Protected) > 0 && slices.ContainsFunc(desired.Groups, func(g *model.Group) bool {
		return g.Absent || (g.Members != nil && g.Members.Mode == model.Authoritative)
	}) {
		// graph reads the nested members of groups a plan could take
		// away from a protected principal (read.go transitiveMembers).
		ids[OpListTransitive], ids[OpListMembers], ids[OpListUsers] = true, true, true
	}
	for _, g := range desired.Groups {
		if g.CloudManaged != nil && *g.CloudManaged {
			ids[OpReadSyncBehavior] = true
			if writing {
				ids[OpSetCloudManaged] = true
			}
		}
		if writing {
			if g.Absent {
				ids[OpDeleteGroup] = true
			} else {
				ids[OpGetGroupUniqueName], ids[OpGetGroup], ids[OpCreateGroup], ids[OpUpdateGroup] = true, true, true, true
			}
		}
		if g.Owners != nil && !g.Absent {
			needsOwners(g.Owners, writing, ids)
		}
		if g.Members == nil || g.Absent {
			continue
		}
		// Member lists show users, whose properties need a user read
		// permission (Graph returns only @odata.type and id otherwise).
		ids[OpListUsers] = true
		if slices.ContainsFunc(g.Members.Members, func(r model.Ref) bool { return r.Kind == model.ServicePrincipal }) {
			ids[OpListMembersBeta] = true
		} else {
			ids[OpListMembers] = true
		}
		for _, r := range g.Members.Members {
			if r.Kind == model.ServicePrincipal && r.IsID() {
				ids[OpListSPs] = true
			}
		}
		if writing {
			ids[OpAddMembersBind], ids[OpAddMemberRef] = true, true
			if g.Members.Mode == model.Authoritative {
				ids[OpRemoveMemberRef] = true
			}
		}
	}
	needsEM(desired, writing, ids)
	if len(desired.AgentUsers) > 0 {
		ids[OpListAgentUsers] = true
		if writing {
			ids[OpCreateAgentUser] = true
			for _, u := range desired.AgentUsers {
				if u.Absent {
					ids[OpDeleteAgentUser] = true
				}
			}
		}
	}
	if len(desired.Blueprints)+len(desired.AgentIdentities)+len(desired.AgentUsers) > 0 {
		ids[OpListBlueprints], ids[OpListBPSponsors], ids[OpListBPPrincipals], ids[OpListAgentIdentities], ids[OpListAISponsors] = true, true, true, true, true
		// Sponsors and owners are resolved as the reader does (agentRefs):
		// users by /users, groups by /groups, and only when the spec names
		// some.
		for _, r := range agentRefs(desired) {
			switch r.Kind {
			case model.User:
				ids[OpListUsers] = true
			case model.GroupKind:
				ids[OpListGroups] = true
			}
		}
		if writing {
			for _, op := range []string{OpUpsertBlueprint, OpGetBlueprintUnique, OpUpdateBlueprint, OpAddBPSponsor, OpRemoveBPSponsor, OpCreateBPPrincipal,
				OpCreateAgentIdentity, OpUpdateAgentIdentity, OpAddAISponsor, OpRemoveAISponsor} {
				ids[op] = true
			}
			for _, b := range desired.Blueprints {
				if b.Absent {
					ids[OpDeleteBlueprint] = true
				}
			}
			for _, a := range desired.AgentIdentities {
				if a.Absent {
					ids[OpDeleteAgentIdentity] = true
				}
			}
		}
	}
	if len(desired.Lifecycle) > 0 {
		// Lifecycle rules select from every agent identity of the tenant,
		// and name them by their blueprints' display names (readLifecycle).
		ids[OpListAgentIdentities], ids[OpListBlueprints] = true, true
		for _, rule := range desired.Lifecycle {
			if rule.Disable && writing {
				ids[OpUpdateAgentIdentity] = true
			}
		}
	}
	for _, b := range desired.Blueprints {
		if b.Owners != nil && !b.Absent {
			ids[OpListBPOwners] = true
			if writing {
				ids[OpAddBPOwner] = true
			}
		}
		if b.Scopes != nil && !b.Absent && writing {
			ids[OpUpdateBlueprintAPI] = true
		}
		if b.Credentials != nil && !b.Absent {
			ids[OpListFICs] = true
			if writing {
				ids[OpUpsertFIC], ids[OpDeleteFIC] = true, true
			}
		}
		if b.Inheritable != nil && !b.Absent {
			ids[OpListInheritable], ids[OpListSPs] = true, true
			if writing {
				ids[OpCreateInheritable], ids[OpUpdateInheritable], ids[OpDeleteInheritable] = true, true, true
			}
		}
	}
	for _, g := range desired.Grants {
		if g.Scopes != nil {
			ids[OpListDelegated] = true
			if writing {
				ids[OpCreateDelegated], ids[OpUpdateDelegated] = true, true
				if g.Mode == model.Authoritative {
					ids[OpDeleteDelegated] = true
				}
			}
		}
	}
	if len(desired.Grants) > 0 {
		ids[OpListSPs], ids[OpListAppRoleAssigns] = true, true
		if writing {
			ids[OpGrantAppRole] = true
			for _, g := range desired.Grants {
				if g.Mode == model.Authoritative {
					ids[OpRevokeAppRole] = true
				}
			}
		}
	}
	var out []*Operation
	for _, o := range Operations {
		if ids[o.ID] {
			out = append(out, o)
		}
	}
	return out
}

// needsOwners adds the operations of a group's owner set to ids, as the
// reader and the appliers make them: the owner list (from beta when the set
// names service principals), the users it shows and the references it
// names, and with writing the adds and, for an authoritative set, the
// removals.
func needsOwners(set *model.MemberSet, writing bool, ids map[string]bool) {
	// Owner lists show users, whose properties need a user read
	// permission (Graph returns only @odata.type and id otherwise).
	ids[OpListUsers] = true
	if slices.ContainsFunc(set.Members, func(r model.Ref) bool { return r.Kind == model.ServicePrincipal }) {
		ids[OpListGroupOwnersBeta], ids[OpListSPs] = true, true
	} else {
		ids[OpListGroupOwners] = true
	}
	if writing {
		ids[OpAddGroupOwner] = true
		if set.Mode == model.Authoritative {
			ids[OpRemoveGroupOwner] = true
		}
	}
}

// needsEM adds the entitlement-management operations of desired to ids.
func needsEM(desired *model.Tenant, writing bool, ids map[string]bool) {
	if len(desired.Catalogs) == 0 && len(desired.AccessPackages) == 0 {
		return
	}
	ids[OpListCatalogs], ids[OpListCatalogRes], ids[OpListPackages] = true, true, true
	refs := func(rs []model.Ref) {
		for _, r := range rs {
			switch {
			case r.Kind == model.GroupKind:
				ids[OpListGroups] = true
			case r.Kind == model.ServicePrincipal && r.IsID():
				ids[OpListSPs] = true
			case r.Kind == model.User:
				ids[OpListUsers] = true
			}
		}
	}
	if len(extensionCatalogs(desired)) > 0 {
		ids[OpListExtensions] = true
	}
	for _, c := range desired.Catalogs {
		if writing {
			if c.Absent {
				ids[OpDeleteCatalog] = true
			} else {
				ids[OpCreateCatalog], ids[OpUpdateCatalog] = true, true
			}
		}
		if c.CustomExtensions != nil && writing {
			for _, x := range *c.CustomExtensions {
				if x.Absent {
					ids[OpDeleteExtension] = true
				} else {
					ids[OpCreateExtension], ids[OpUpdateExtension] = true, true
				}
			}
		}
		if c.Groups != nil {
			refs(*c.Groups)
			if writing {
				ids[OpResourceRequest] = true
				if len(*c.Groups) > 0 {
					ids[OpResourceRequestGrp] = true
				}
			}
		}
	}
	for _, p := range desired.AccessPackages {
		ids[OpListPolicies], ids[OpListAssignments] = true, true
		if writing {
			if p.Absent {
				ids[OpDeletePackage], ids[OpDeletePolicy], ids[OpAssignmentRequest] = true, true, true
			} else {
				ids[OpCreatePackage], ids[OpUpdatePackage] = true, true
			}
		}
		if p.Roles != nil {
			for _, r := range *p.Roles {
				refs([]model.Ref{r.Group})
			}
			if writing {
				ids[OpAddRoleScope], ids[OpRemoveRoleScope] = true, true
			}
		}
		if p.Policies != nil && writing {
			ids[OpCreatePolicy], ids[OpReplacePolicy], ids[OpDeletePolicy] = true, true, true
		}
		if a := p.Assignments; a != nil {
			refs(a.Targets)
			for _, r := range a.Targets {
				if r.Kind.IsServicePrincipal() {
					// Service principal targets are looked up by id, appId
					// or display name (read.go resolve).
					ids[OpListSPs] = true
				}
			}
			if len(a.GroupMembers) > 0 {
				refs(a.GroupMembers)
				ids[OpListMembers], ids[OpListUsers] = true, true
			}
			if writing {
				ids[OpAssignmentRequest] = true
				if a.Invite != nil {
					ids[OpInvite] = true
				}
			}
		}
		if p.RepairDelivery {
			ids[OpListMembers], ids[OpListUsers] = true, true
			if p.Assignments != nil && slices.ContainsFunc(p.Assignments.Targets, func(r model.Ref) bool { return r.Kind.IsServicePrincipal() }) {
				// The groups of a package assigned to service principals
				// are read from beta, which lists them (em.go
				// readGroupMembers).
				ids[OpListMembersBeta] = true
			}
			if writing {
				ids[OpReprocess] = true
			}
		}
	}
}

// Requirement is one permission to grant and the operations it allows.
type Requirement struct {
	Permission string       `json:"permission"`
	Operations []*Operation `json:"-"`
	// Optional: without it entrasync works, with a warning.
	Optional bool `json:"optional,omitempty"`
}

// OperationNames lists the operations as "GET /groups".
func (r Requirement) OperationNames() []string {
	out := make([]string, len(r.Operations))
	for i, o := range r.Operations {
		out[i] = o.String()
	}
	return out
}

// MarshalJSON adds the operations by name.
func (r Requirement) MarshalJSON() ([]byte, error) {
	type plain Requirement
	return json.Marshal(struct {
		plain
		Operations []string `json:"operations"`
	}{plain(r), r.OperationNames()})
}

// Requirements is the smallest list of permissions that allows every
// required operation of ops (each operation's least permission, minus the
// entries the others cover), followed by the optional operations' least
// permissions when the required ones do not already cover them.
func Requirements(ops []*Operation) []Requirement {
	var req []*Operation
	for _, o := range ops {
		if !o.Optional {
			req = append(req, o)
		}
	}
	set := map[string]bool{}
	for _, o := range req {
		set[strings.ToLower(o.Least)] = true
	}
	names := map[string]string{}
	for _, o := range req {
		names[strings.ToLower(o.Least)] = o.Least
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
	// Drop every entry the others cover, in name order: the result has no
	// entry that the rest covers.
	for _, k := range keys {
		delete(set, k)
		if !slices.ContainsFunc(req, func(o *Operation) bool { return !o.allows(set) }) {
			continue
		}
		set[k] = true
	}
	var out []Requirement
	for _, k := range keys {
		if set[k] {
			out = append(out, Requirement{Permission: names[k]})
		}
	}
	for _, o := range req {
		i := slices.IndexFunc(out, func(r Requirement) bool { return o.allows(map[string]bool{strings.ToLower(r.Permission): true}) })
		out[i].Operations = append(out[i].Operations, o)
	}
	for _, o := range ops {
		if !o.Optional || o.allows(set) {
			continue
		}
		i := slices.IndexFunc(out, func(r Requirement) bool { return r.Optional && strings.EqualFold(r.Permission, o.Least) })
		if i < 0 {
			out = append(out, Requirement{Permission: o.Least, Optional: true})
			i = len(out) - 1
		}
		out[i].Operations = append(out[i].Operations, o)
	}
	return out
}

// Check compares the requirements with a token's roles and returns the
// requirements the roles leave unmet: for each operation no role allows,
// the requirement that lists it. Optional requirements are returned
// separately.
func Check(reqs []Requirement, roles []string) (missing, missingOptional []Requirement) {
	have := map[string]bool{}
	for _, r := range roles {
		have[strings.ToLower(r)] = true
	}
	for _, r := range reqs {
		var ops []*Operation
		for _, o := range r.Operations {
			if !o.allows(have) {
				ops = append(ops, o)
			}
		}
		if len(ops) == 0 {
			continue
		}
		m := Requirement{Permission: r.Permission, Operations: ops, Optional: r.Optional}
		if r.Optional {
			missingOptional = append(missingOptional, m)
		} else {
			missing = append(missing, m)
		}
	}
	return missing, missingOptional
}

// PermissionNames lists the names of requirements.
func PermissionNames(reqs []Requirement) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Permission
	}
	return out
}

// TokenInfo is what entrasync reads from its own access token.
type TokenInfo struct {
	AppID    string   `json:"appId,omitempty"`
	TenantID string   `json:"tenantId,omitempty"`
	Roles    []string `json:"roles"`
	// Delegated is true for a token issued to a signed-in user (Azure CLI
	// with a user login): its permissions are scopes plus the user's
	// roles, which no token claim tells completely.
	Delegated bool     `json:"delegated,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
}

// ReadToken gets a Graph token from cred and decodes its claims (without
// verifying the signature: it is the caller's own token, read for
// diagnostics). The token itself is neither returned nor kept.
func ReadToken(ctx context.Context, cred azcore.TokenCredential) (*TokenInfo, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{GraphScope}})
	if err != nil {
		return nil, err
	}
	return decodeTokenClaims(tok.Token)
}

func decodeTokenClaims(tok string) (*TokenInfo, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("graph: the access token is not a JSON Web Token; its permissions cannot be read")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("graph: the access token's claims cannot be decoded")
	}
	var c struct {
		AppID string   `json:"appid"`
		AZP   string   `json:"azp"`
		TID   string   `json:"tid"`
		Roles []string `json:"roles"`
		SCP   string   `json:"scp"`
		IDTyp string   `json:"idtyp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("graph: the access token's claims cannot be decoded")
	}
	info := &TokenInfo{AppID: c.AppID, TenantID: c.TID, Roles: c.Roles}
	if info.AppID == "" {
		info.AppID = c.AZP
	}
	if c.SCP != "" || c.IDTyp == "user" {
		info.Delegated = true
		info.Scopes = strings.Fields(c.SCP)
	}
	slices.Sort(info.Roles)
	if info.Roles == nil {
		info.Roles = []string{}
	}
	return info, nil
}
