// Package graphsim is an in-memory Microsoft Graph tenant served over HTTP.
//
// It is the peer of entrasync's integration tests and the embedded backend of
// --sim demos. It implements Graph as Microsoft documents it (the reference is
// Microsoft's Graph documentation: the pages on learn.microsoft.com, whose
// example bodies, operation index and v1.0 OpenAPI subset the tests carry in
// testdata/graph at the repository root),
// not as entrasync's client happens to call it, and it is strict
// (docs/architecture.md, "Testing shape"): unknown properties, bad query options and malformed
// references are rejected the way Graph rejects them. The package imports no
// other package of this module and keeps its own storage types, so a mapping
// bug in the client cannot be mirrored here.
//
// # Storage
//
// store.go holds users, groups and service principals in maps keyed by
// lower-case object id. Each record embeds the fixture struct (User, Group,
// ServicePrincipal — graphsim's own types) plus a creation sequence number
// (stable list order and paging position) and the simulator time of creation
// (replication lag). Group membership and ownership are ordered slices of
// links, each with its own sequence number and creation time. Ids, request
// ids and fault decisions come from three splitmix64 generators derived
// from Options.Seed; their state is a single uint64 each, so Save/Restore
// continues the exact same sequence. One mutex guards all state; handlers run
// under it, latency is slept outside it.
//
// Rendering (render.go) produces insertion-ordered JSON objects so bodies
// have the property order of the documented examples. Each type has a
// default property set (user: user-get doc; group: group-create-security
// response), a "full" rendering used for $select and $filter, and the list
// of property names from the v1.0 CSDL used to tell a misspelt property
// (400) from a valid but unmodelled one (served as null).
//
// # Routing
//
// router.go matches "/{v1.0|beta}/..." paths segment by segment (literal
// segments case-insensitive, {param} segments, and key segments such as
// groups(uniqueName='{uniqueName}'), a doubled quote inside the key
// standing for one quote). Each resource family
// registers its routes in its own file — users.go, groups.go, members.go,
// directoryobjects.go — through the families list; a new family (entitlement
// management, agent ID) is a new file plus one entry there. A route carries
// its resource-unit cost and whether it is a write. $batch (batch.go) is
// handled before routing and feeds every sub-request through the same
// pipeline as a top-level request. The collection pipeline shared by all
// lists lives in query.go ($filter → $search → $count → $orderby →
// $skiptoken → $top → $select); the $filter parser is filter.go.
//
// # Request pipeline and fault model (faults.go)
//
// Per HTTP request: log entry reserved, Faults.Latency slept, then per
// (sub-)request under the lock: scripted FailNext rules, 429 storm
// (StormRate), resource-unit and write token buckets (ThrottleRU per
// ThrottleWindow, WriteQuota per WriteWindow; continuous refill; a request
// that does not fit gets 429 with Retry-After = time until it fits, in
// fractional seconds, x-ms-throttle-scope and x-ms-throttle-information;
// throttled requests consume nothing), random 5xx (ServerErrorRate: 503
// serviceNotAvailable sometimes with Retry-After, 500 generalException, 504
// gatewayTimeout), then the handler. Injected failures never commit. After a
// committed write, DropResponseRate/DropNext may hijack the connection and
// close it without a response (a $batch that committed any write can be
// dropped as a whole). ReplicationLag hides objects and memberships younger
// than the lag from reads. Every response carries request-id,
// client-request-id (echoed, or equal to request-id) and x-ms-resource-unit.
// The RU costs are README §9's: GET users 2, GET groups/{id}/members 3,
// transitiveMembers 5, getByIds 5 (2 with $select), other GET 1, writes 1 RU
// + 1 write; $select −1, $expand +1, $top<20 −1, never below 1.
//
// # Modelled Graph behaviour (README section → code)
//
//   - §0/§10 error shape {"error":{"code","message","innerError":{"date"
//     without time zone,"request-id","client-request-id"}}}; 429 body as
//     examples/throttling-429.response.json.
//   - §3 users: GET /users (paging, $filter, $select, $top≤999, $count,
//     $search with ConsistencyLevel, $orderby displayName/userPrincipalName),
//     GET /users/{id|userPrincipalName} and /users('upn'), 404
//     Request_ResourceNotFound.
//   - §4 groups: create validation (required displayName, mailEnabled,
//     mailNickname, securityEnabled; mailNickname ≤64 ASCII without
//     @()\[]";:.<>, and space; displayName ≤256; groupTypes Unified/
//     DynamicMembership; dynamic needs membershipRule; mail-enabled
//     security groups refused; unknown property → 400 Request_BadRequest),
//     members@odata.bind/owners@odata.bind ≤20 per request, all-or-nothing;
//     PATCH → 204; DELETE → 204 then 404; upsert by uniqueName with
//     Prefer: create-if-missing (201 + body / 204 / 404); members and owners
//     $ref add/remove; OData casts and /$count; $expand=members|owners (≤20,
//     nested $select); v1.0 member and owner lists omit service principals
//     (the group-list-owners page says so of owners), beta and $expand
//     include them. Removing a group's last user owner is refused with the
//     observed 400 "The group must have at least one owner"
//     (group-delete-owners: "the last owner (a user object) of the group
//     cannot be removed"), also while a service principal owns it;
//     service principal owners can always be removed.
//   - §5 onPremisesSyncBehavior: synced groups reject property and member
//     writes with the observed "originated within an external service"
//     message until PATCH {"isCloudManaged":true} (200 + body); states
//     synced (false,true) → converted (true,null) → rolled back (false,null).
//   - §8 $batch: ≤20 requests, unique case-insensitive ids, Content-Type
//     required with a body, relative urls, dependsOn ordering with 424,
//     outer 200, per-item status/headers/body in request order, per-item
//     metering.
//   - §9 paging: default 100, max 999, "Invalid page size specified" above;
//     absolute @odata.nextLink on the request's scheme and host carrying every
//     original option plus an opaque $skiptoken (it encodes the last item's
//     sort key and sequence, so deletions between pages do not skip
//     survivors); @odata.count only on the first page and only for advanced
//     queries; /$count needs ConsistencyLevel: eventual ($count=true without
//     it is ignored); ne, not, endsWith and $filter on member lists need
//     advanced queries; $expand is refused with advanced queries.
//
// # Decisions where the reference is silent
//
//   - $select does not add "id" implicitly (users-list-filter-advanced
//     example returns no id when it was not selected); directoryObject
//     collections always carry "@odata.type".
//   - Removing a non-member ($ref DELETE) is 404 Request_ResourceNotFound
//     with the observed "removed object references do not exist" message
//     (README lists 404/400; we chose Graph's directory-service 404).
//   - Replication lag applies to reads only. Writes addressed by id or
//     uniqueName (PATCH, DELETE, $ref, onPremisesSyncBehavior PATCH, upsert)
//     and references to lagging objects in @odata.id/@odata.bind succeed:
//     Graph routes writes to the authoritative replica. Removals are visible
//     immediately.
//   - Synced groups: owners stay cloud-writable; DELETE is refused with the
//     same message as PATCH; a rolled-back group is read-only again (the
//     simulator has no sync engine to take it over). Converting a
//     cloud-native group to cloud management is refused (400).
//   - uniqueName cannot be changed once set; conflicts give 400
//     Request_MultipleObjectsWithSameKeyValue with an ObjectConflict detail.
//   - Security groups are deleted permanently (no deletedItems); memberships
//     pointing at a deleted object disappear with it.
//   - Bodies must be sent with Content-Type: application/json (Graph's
//     "Unable to read JSON request payload" otherwise).
//   - Error messages not quoted in the reference (validation wording, batch
//     validation, dynamic-group member changes) are plausible, not verified;
//     clients must branch on status and code only.
//   - FailNext 429/503 carry Retry-After 0.1 s; storm Retry-After defaults
//     to 0.25 s and 5xx Retry-After to 0.1 s so tests stay fast.
//
// # Known gaps
//
// Dynamic membership rules are not evaluated (fixture members of dynamic
// groups are taken as the computed result; manual changes are refused).
// No user writes, invitations, delta queries, directory/deletedItems,
// M365-group specifics (mail, theme, preferredLanguage are not writable),
// $orderby beyond displayName/userPrincipalName, gt/ge/lt/le, the "all"
// lambda, x-ms-throttle-priority, per-tenant and global throttle scopes, or
// HTTP/2 stream resets for dropped responses (HTTP/1.1 connection close, or
// http.ErrAbortHandler when the ResponseWriter cannot be hijacked).
// Entitlement management is described in em_doc.go, the identity provider
// and permission enforcement in auth.go and token.go, Agent ID and
// permission grants in agent_doc.go.
package graphsim
