package graphsim

// Agent ID and permissions (README §1, §2; issue 4).
//
// Files: agent_fixture.go (fixture types: blueprints, appRoleAssignments,
// oauth2PermissionGrants; agent identities and blueprint principals are
// servicePrincipals with "@odata.type"; agent users are users with
// identityParentId), agent_store.go (storage, soft deletion, cascade,
// Save/Restore), agent_blueprints.go, agent_sps.go, grants.go,
// grants_graphsp.go (Microsoft Graph's permission ids), agent_perms.go.
//
// Modelled: blueprint list/POST/GET/PATCH/DELETE through the cast (cast
// segments case-insensitive) and plain PATCH/DELETE /applications/{id};
// upsert by uniqueName (201 + upsert-example body / 204 / 404 without
// Prefer: create-if-missing); sponsors and owners $ref add/remove/list;
// identifierUris, api.oauth2PermissionScopes, tags; inheritablePermissions
// keyed by resourceAppId (allAllowed/enumerated/none); FICs (POST, upsert by
// name, DELETE, list); blueprint principal create/list with the observed
// ObjectConflict error; agent identities create/list/get/patch/delete with
// sponsors; agent users; GET /servicePrincipals(appId=…) and /{id}; app role
// assignments from both sides; oauth2PermissionGrants. A fixture service
// principal with Microsoft Graph's appId and no appRoles receives the roles
// and scopes of grants_graphsp.go.
//
// Decisions where the reference is silent:
//   - Sponsors are required by POST of a blueprint and of an agent identity,
//     not by the upsert create branch (its documented example has none).
//     Removing the last sponsor is allowed. The blueprint sponsor rules
//     (users or groups; no service principals, no agent users; groups
//     dynamic or Microsoft 365, not role-assignable; ≤100, ≤5 groups) are
//     applied to agent identity sponsors as well.
//   - Blueprint writes accept displayName, description, uniqueName (set
//     once), identifierUris, api (oauth2PermissionScopes only; other api
//     members must keep their defaults), tags. Other application properties:
//     400 AgentBlueprint_IncompatibleProperty; passwordCredentials and
//     keyCredentials: 400 (addPassword/addKey on applications are not
//     modelled). sponsors/owners binds only at create.
//   - Duplicate inheritable permission (same resourceAppId) and duplicate
//     uniqueName: 400 Request_MultipleObjectsWithSameKeyValue. Inheritable
//     scope names are not checked against the resource.
//   - FIC upsert needs no Prefer header (201 create / 204 update); duplicate
//     name or issuer+subject: 400 Request_BadRequest; at most 20.
//   - Duplicate blueprint principal: 400 (README: Graph normally uses 400).
//     An unknown appId: 400. Agent identities: appId == id,
//     servicePrincipalType ServiceIdentity, createdByAppId = the caller's
//     appId when auth is enforced, else the blueprint's appId. A missing
//     blueprint principal: 400 AgentIdentity_AgentBlueprintPrincipalDoesNot
//     Exist. Which app may create which identity is not enforced. Owners of
//     agent identities are validated but not stored.
//   - Credentials on agent identities (PATCH passwordCredentials/
//     keyCredentials, POST addPassword/addKey): 400
//     AgentIdentity_CredentialsNotSupported.
//   - A second agent user for one identity: 400 Request_BadRequest; mail =
//     userPrincipalName (create example). DELETE /users/{id} deletes agent
//     users only (ordinary users: 400, user writes are not modelled).
//   - Deletion: DELETE of a blueprint soft-deletes it and at once its
//     blueprint principal; DELETE of a blueprint principal (or of a
//     blueprint) soft-deletes its agent identities DefaultAgentCascadeDelay
//     (24 h, SetAgentCascadeDelay; not saved) later, evaluated before every
//     request, unless a principal for the appId exists again. Agent users
//     stay. Soft-deleted objects are invisible to every route (there is no
//     restore or deletedItems); their memberships, sponsorships, app role
//     assignments and grants are dropped when they are deleted.
//   - App role assignment ids are base64url(principal id bytes + 16 random
//     bytes), as the documented id decodes; the role must be an enabled app
//     role of the resource allowing the principal's kind (400 otherwise).
//     Inherited assignments are not listed on the agent identity (Graph
//     does not materialize them); (*Sim).EffectiveAppRoles returns direct
//     plus blueprint-principal roles.
//   - Grant ids are base64url(client + resource [+ principal]) like the
//     documented id, which makes the (client, consentType, principal,
//     resource) key unique: a second POST is 409
//     Request_MultipleObjectsWithSameKeyValue (README §2: one source, 409).
//     Scopes are normalised to single spaces and, when the resource
//     publishes scopes, must be among them (400).
//   - Permissions: agent casts stay in routePermissions keys (auth_perms.go
//     permKey) because they select different permissions. Row 4's per-
//     property-group split is not enforced (any of its permissions works).
//
// Gaps: POST /applications with @odata.type, addPassword/addKey on
// blueprints, restore of deleted items, $count segments on agent lists,
// $expand, the beta FIC path through the blueprint cast, claimsMatching
// Expression, agent quotas, blocked permissions for agents (planner side),
// token roles of agent identities from assignments (auth.go still uses
// Identity.Applications[].GrantedPermissions).
