package graphsim

// Entitlement management and invitations (README §6 and §3).
//
// Files: em_fixture.go (fixture types), em_store.go (storage, fixture
// load/save), em_query.go (EM list pipeline), em_schema.go (v1.0 policy
// model: validation and rendering with defaults), em_catalogs.go,
// em_packages.go, em_policies.go, em_extensions.go (custom extensions and
// policy stage settings), em_assignments.go (requests, delivery,
// reprocess), em_agents.go (permissions blocked for agents), em_perms.go
// (route permissions), invitations.go.
//
// Routes live under /{v1.0|beta}/identityGovernance/entitlementManagement;
// beta serves the same v1.0 model (the legacy beta entity sets such as
// accessPackageCatalogs are not served).
//
// Decisions where the reference is silent or unverified:
//
//   - Error codes: body shape errors (unknown property, wrong JSON type,
//     bad enum or duration) are 400 "BadRequest" with OData's "The property
//     'x' does not exist on type …" wording, as EM's OData layer answers;
//     semantic errors are 400 "Request_BadRequest"; unknown ids (also ids
//     referenced in bodies: accessPackageId, assignmentPolicyId, targetId,
//     catalog.id) are 404 "Request_ResourceNotFound". Messages are ours.
//   - Catalogs: isExternallyVisible defaults to true, state to published;
//     only userManaged catalogs can be created; duplicate displayNames are
//     allowed (README: POST is not idempotent). DELETE is refused (400)
//     while the catalog holds access packages (the portal's documented
//     rule) and for the built-in serviceDefault catalog; its resources go
//     with it.
//   - Resource requests complete synchronously (201 with state delivered).
//     deliveryFailed for a missing, AD-synced (cloud read-only) or dynamic
//     group and a missing service principal. Adding a resource that is
//     already in the catalog is 400; removing one whose roles a package
//     uses is 400. adminRemove accepts resource.id (README) or
//     originId/originSystem. originSystem is matched case-insensitively
//     and trimmed (the 004 tutorial sends "AadGroup ").
//   - Resource roles: group → Member_<id>/Owner_<id>; application → its
//     enabled app roles (originId = app role id, type "application" when
//     allowedMemberTypes contains Application, i.e. an API permission,
//     else null); SharePoint site → its groups "<title> Owners" "3",
//     "<title> Members" "4", "<title> Visitors" "5", the title being the
//     URL's last segment (approximation of SharePoint's default groups;
//     Microsoft's examples show "Woodgrove Visitors" "5", "Contributors"
//     "4"; delivery of SharePoint and app roles is not
//     modelled). One root scope per resource (originId = object id or URL).
//     Role responses carry description and type (null when unset).
//   - Access packages: no catalogId property (beta leftover in the doc
//     example; use $expand=catalog or $filter=catalog/id); duplicate
//     displayNames allowed; the catalog cannot change (PATCH 400). DELETE
//     is 400 while assignments are delivering/delivered and otherwise
//     removes the package's policies, role scopes and expired or failed
//     assignments with it. A role scope added to or removed from a package
//     is applied to its delivered assignments at once. Duplicate role
//     scope → 400.
//   - Policies: the v1.0 model is validated strictly and rendered in full:
//     omitted booleans come back false, collections [], durations and
//     optional complex values null; expiration/requestorSettings/
//     requestApprovalSettings/notificationSettings are always objects;
//     expiration.type defaults to notSpecified, stage
//     approverInformationVisibility to "default", reviewSettings
//     expirationBehavior to keepAccess, requestorManager/targetManager
//     managerLevel to 1, recurrence firstDayOfWeek sunday / index first.
//     Durations are re-serialised canonically (PT48H → P2D, PT720H →
//     P30D), datetimes in UTC, enums accepted case-insensitively and
//     returned in Graph's spelling. Questions are stored (ids assigned) and
//     returned with $expand=questions only. PUT is a full replace (omitted
//     properties reset to defaults, questions included), ignores
//     createdDateTime/modifiedDateTime and @odata annotations (a GET body
//     can be PUT back), rejects another id or accessPackage. Semantic
//     checks: displayName and accessPackage required; specific* scopes need
//     targets; approval required ⇒ 1–3 stages; afterDuration/afterDateTime
//     need their value; automatic policies need an attributeRuleMembers
//     target; enabled reviews need a schedule and reviewers unless
//     self-review; singleUser/groupMembers/singleServicePrincipal must name
//     existing objects. DELETE is 400 while the policy has live
//     assignments (tutorial 004: remove assignments first).
//   - Custom extensions (catalogs/{id}/customWorkflowExtensions, v1.0
//     pages accesspackagecatalog-*-accesspackagecustomworkflowextensions
//     and accesspackageassignment[request]workflowextension-*): POST 201,
//     GET list/by id (@odata.type kept under $select), PUT 200 updating
//     only the properties sent (the update pages' example sends two), no
//     PATCH, DELETE 204. "@odata.type" is required on create (the create
//     page) and cannot change; displayName, endpointConfiguration and
//     authenticationConfiguration are required (create page);
//     endpointConfiguration must be a logicAppTriggerEndpointConfiguration
//     with its url (logicAppTriggerEndpointConfiguration: "only required
//     for app-only token scenarios" — every graphsim caller is an
//     application; Graph resolves the url from the Azure names only for
//     signed-in users, graphsim has no Azure); authentication is
//     azureAdPopTokenAuthentication or azureAdTokenAuthentication;
//     callbackConfiguration.timeoutDuration (the CSDL name; the examples'
//     durationBeforeTimeout is not a v1.0 property and is refused as
//     unknown) must be 5 minutes to 14 days. The abstract
//     customExtensionCallbackConfiguration is accepted by name, as the
//     examples send it. createdBy/lastModifiedBy are null (a user
//     principal name; what Graph records for an application is not
//     documented). Duplicate displayNames are allowed (nothing documents
//     uniqueness). DELETE is 400 while a policy's stage settings use the
//     extension (delete pages: "must first be removed from any associated
//     policies"). A catalog's extensions go with it (contained
//     navigation); its DELETE rule (no packages) already means no policy
//     uses them. Catalogs expand customWorkflowExtensions.
//   - Policy customExtensionStageSettings (navigation property: returned
//     only with $expand=customExtensionStageSettings, each {id, stage};
//     customExtension only with the documented nested
//     $expand=customExtension). POST/PUT validate each entry: a stage of
//     accessPackageCustomExtensionStage other than unknownFutureValue
//     (unknown member: 400 BadRequest), customExtension.id naming an
//     extension of the catalog of the policy's package (unknown id or
//     another catalog's: 400 Request_BadRequest, not 404), and an
//     extension type that runs at that stage (resource pages: request
//     extensions at assignmentRequestCreated/Approved/Granted/Removed,
//     assignment extensions 14 days and one day before expiration). PUT
//     replaces the settings when it sends the property (null or [] clears
//     them, update page example 2) and keeps them when it omits it, so a
//     GET body with or without the expansion can be PUT back; a setting
//     with the same stage and extension keeps its id.
//   - Assignment requests: adminAdd and adminRemove only (userAdd etc. are
//     400: application callers have no user). Admin adds bypass approval
//     (Graph's direct assignment), so an approval policy still delivers.
//     The target must fit the policy's allowedTargetScope kind (users vs
//     service principals vs agent identities; notSpecified takes any) and
//     cannot be a group. A duplicate adminAdd (same package, policy and
//     target with a delivering or delivered assignment) is 400; so is a
//     second adminRemove while one is pending and removing an assignment
//     that is not live. target.email of an unknown address is accepted
//     only for policies scoped to external users; the guest is created on
//     delivery. The assignment exists from submission (state delivering,
//     target with only the email when external), which is how Graph shows
//     requests in flight.
//   - Delivery: Faults.DeliveryDelay (default 0); request states
//     submitted → delivering → delivered, status Accepted → Delivering →
//     Delivered; the assignment turns delivered/"Delivered" and the target
//     is added to every group whose Member (members) or Owner (owners) role
//     the package holds. adminRemove marks the assignment expired/"Expired"
//     with expiredDateTime and removes those memberships unless another
//     delivered assignment of the target grants the same group role
//     (memberships the target had before are removed too). Assignments
//     whose policy expiration has passed expire the same way (computed
//     from the current policy). Agent identity + a blocked Microsoft Graph
//     permission in the package: request deliveryFailed with status
//     "Request_BadRequest", assignment deliveryFailed/"DeliveryFailed", no
//     membership.
//   - Reprocess: 202 without body, immediate; 400 for a malformed id or an
//     assignment that is not delivered, 404 for an unknown id. It
//     re-creates missing group memberships (the MissingMembership faults
//     are not applied to it).
//   - Lists: default page 100, $top ≤ 999, $count=true works without
//     ConsistencyLevel, no $search/$orderby; EM objects are not subject to
//     ReplicationLag (memberships created by delivery are, from the
//     delivery time). The accessPackageSubject id is the object id.
//   - Invitations: see invitations.go.
//   - Fixtures: fixture assignments do not create memberships (the groups'
//     members are the truth), so repairs can be seeded.
//
// Gaps: no app role assignments or SharePoint effects on delivery, no
// connected organizations, no userAdd/approval workflow/access review
// instances, custom extensions are stored but never called (no logic
// apps, no callout instances), no resourceScopes/resource
// environments endpoints, no catalog role assignments, requestor is null.
