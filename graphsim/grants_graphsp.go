package graphsim

// The Microsoft Graph service principal's permissions (README §2 table,
// from provisioningInfo.json): app role ids for application permissions and
// scope ids for delegated ones. The ids are global (the same in every
// tenant). Display names and descriptions are plausible wording, verified
// only for User.Read.All (examples/servicePrincipal-graph-appRoles-get);
// User.Read's scope id is not in the README table (well-known id of the
// default "Sign in and read user profile" scope). Agent ID permissions are
// absent: their ids are not published in the reference.

type graphPerm struct {
	value, roleID, scopeID, what string
}

var graphPerms = []graphPerm{
	{"User.Read", "", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "sign in and read user profile"},
	{"User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "a154be20-db9c-4678-8ab7-66f6cc099a59", "read all users' full profiles"},
	{"User.ReadBasic.All", "97235f07-e226-4f63-ace3-39588e11d3a1", "b340eb25-3456-403f-be2f-af7a0d370277", "read all users' basic profiles"},
	{"User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca", "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "read and write all users' full profiles"},
	{"User.Invite.All", "09850681-111b-4a89-9bed-3f2cae46d706", "63dd7cd9-b489-4adf-a28c-ac38b9a0f962", "invite guest users to the organization"},
	{"Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b", "5f8c59db-677d-491f-a6b8-5f174b11ec1d", "read all groups"},
	{"Group.ReadWrite.All", "62a82d76-70ea-41e2-9197-370581804d09", "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "read and write all groups"},
	{"Group.Create", "bf7b1a76-6e77-406b-b258-bf5c7720e98f", "", "create groups"},
	{"GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6", "bc024368-1153-4739-b217-4326f2e966d0", "read all group memberships"},
	{"GroupMember.ReadWrite.All", "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "f81125ac-d3b7-4573-a3b2-7099cc39df9e", "read and write all group memberships"},
	{"Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "c79f8feb-a9db-4090-85f9-90d820caa0eb", "read all applications"},
	{"Application.ReadWrite.All", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "bdfbf15f-ee85-4955-8675-146e8e5296b5", "read and write all applications"},
	{"Application.ReadWrite.OwnedBy", "18a4783c-866b-4cc7-a460-3d5e5662c884", "", "manage apps that this app creates or owns"},
	{"AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f", "84bccea3-f856-4a8a-967b-dbe0a3d53a64", "manage app permission grants and app role assignments"},
	{"DelegatedPermissionGrant.ReadWrite.All", "8e8e4742-1d95-4f68-9d56-6ee75648c72a", "41ce6ca6-6826-4807-84f1-1c82854f7ee5", "manage all delegated permission grants"},
	{"Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "06da0dbc-49e2-44d2-8312-53f166ab848a", "read directory data"},
	// Delegated only; its scope id is the well-known one (not in the
	// reference table). Entra blocks it for agents (em_agents.go).
	{"Directory.AccessAsUser.All", "", "0e263e50-5827-48a4-b97c-d940288653c7", "access the directory as the signed-in user"},
	{"Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "c5366453-9fb0-48a5-a156-24f0c49a4b84", "read and write directory data"},
	{"EntitlementManagement.Read.All", "c74fd47d-ed3c-45c3-9a9e-b8676de685d2", "5449aa12-1393-4ea2-a7c7-d0e06c1a56b2", "read all entitlement management resources"},
	{"EntitlementManagement.ReadWrite.All", "9acd699f-1e81-4958-b001-93b1d2506e19", "ae7a573d-81d7-432b-ad44-4ed5c9d89038", "read and write all entitlement management resources"},
	{"RoleManagement.Read.Directory", "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "741c54c3-0c1e-44a1-818b-3f97ab4e8c83", "read all directory RBAC settings"},
	{"RoleManagement.ReadWrite.Directory", "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "d01b97e9-cbc0-49fe-810a-750afd5527a3", "read and write all directory RBAC settings"},
	{"RoleEligibilitySchedule.Read.Directory", "ff278e11-4a33-4d0c-83d2-d01dc58929a5", "eb0788c2-6d4e-4658-8c9e-c0fb8053f03d", "read all eligible role assignments and role schedules"},
	{"RoleEligibilitySchedule.ReadWrite.Directory", "fee28b28-e1f3-4841-818e-2704dc62245f", "62ade113-f8e0-4bf9-a6ba-5acb31db32fd", "read, update, and delete all eligible role assignments and schedules"},
	{"AgentIdUser.ReadWrite.IdentityParentedBy", "b289933a-7ef7-c0d0-dedf-17468cb8aaf4", "a1943f6a-e709-4b6c-baf0-25f7912a03bf", "create agent users parented by the agent identity"},
	{"AgentIdUser.ReadWrite.All", "d0ca41aa-9212-8ec6-8bee-d30600b82eda", "c3da4fc2-a3f7-fb10-b270-15dd66d000b6", "read and write all agent users"},
	{"Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "read mail"},
}

func microsoftGraphRoles() []AppRole {
	var out []AppRole
	for _, p := range graphPerms {
		if p.roleID == "" {
			continue
		}
		name := "Allow the app to " + p.what
		desc := "Allows the app to " + p.what + " without a signed-in user."
		if p.value == "User.Read.All" {
			name, desc = "Read all users' full profiles", "Allows the app to read user profiles without a signed in user."
		}
		out = append(out, AppRole{ID: p.roleID, Value: p.value, DisplayName: name, Description: desc, AllowedMemberTypes: []string{"Application"}})
	}
	return out
}

func microsoftGraphScopes() []PermissionScope {
	var out []PermissionScope
	for _, p := range graphPerms {
		if p.scopeID == "" {
			continue
		}
		typ := "Admin"
		if p.value == "User.Read" || p.value == "Mail.Read" || p.value == "User.ReadBasic.All" {
			typ = "User"
		}
		out = append(out, PermissionScope{ID: p.scopeID, Value: p.value, Type: typ,
			AdminConsentDisplayName: "Allow the app to " + p.what + " on behalf of the signed-in user",
			AdminConsentDescription: "Allows the app to " + p.what + " on behalf of the signed-in user.",
			UserConsentDisplayName:  p.what,
			UserConsentDescription:  "Allows the app to " + p.what + " on your behalf."})
	}
	return out
}
