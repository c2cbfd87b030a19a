package graphsim

// Permissions of the Agent ID and grant routes, added to routePermissions
// (auth_perms.go). Rows are the README operation index; routes outside it
// name their Microsoft page. Where a row lists alternatives by property
// group (row 4) or by object kind (rows 17, 20), the first is the least
// and the others are accepted too: graphsim does not split the PATCH
// permission by the properties a body touches.
//
// Where Microsoft's permission table for a call names its higher
// privileged permissions, exactly those are accepted besides the least
// one: the list calls of blueprints, blueprint principals and agent
// identities (rows 1, 22, 23) take only their ReadWrite.All
// (agentidentityblueprint-list, agentidentityblueprintprincipal-list,
// agentidentity-list; microsoft-graph-devx-content
// permissions/new/permissions.json agrees), not Application.Read.All or
// Directory.*, which only the get-by-id tables list; a blueprint's
// sponsors (rows 7, 8) are changed with UpdateSponsors.All or, by
// agentidentityblueprint-post-sponsors, Application.ReadWrite.All, not
// with AgentIdentityBlueprint.ReadWrite.All.

func init() {
	const (
		bpRead   = "AgentIdentityBlueprint.Read.All"
		bpRW     = "AgentIdentityBlueprint.ReadWrite.All"
		bpCreate = "AgentIdentityBlueprint.Create"
		appRW    = "Application.ReadWrite.All"
		dirRW    = "Directory.ReadWrite.All"
	)
	bp := "/applications/{id}/microsoft.graph.agentIdentityBlueprint"
	rb := func(row int) permSet {
		return permSet{least: bpRead, also: []string{bpRW, appRW, "Application.Read.All", "Directory.Read.All", dirRW}, row: row}
	}
	wb := func(least string, row int) permSet {
		return permSet{least: least, also: withoutPerm([]string{bpRW, appRW, dirRW}, least), row: row}
	}
	fic := func(row int) permSet {
		return permSet{least: "Application.ReadWrite.OwnedBy", also: []string{"AgentIdentityBlueprint.AddRemoveCreds.All", bpRW, appRW}, row: row}
	}
	aiRW := []string{"AgentIdentity.ReadWrite.All", appRW, dirRW}
	for k, v := range map[string]permSet{
		"GET /applications/microsoft.graph.agentIdentityBlueprint":                              {least: bpRead, also: []string{bpRW}, row: 1},
		"POST /applications/microsoft.graph.agentIdentityBlueprint":                             wb(bpCreate, 2),
		"GET /applications(uniqueName='{uniqueName}')/microsoft.graph.agentIdentityBlueprint":   {least: bpRead, also: []string{bpRW, appRW}, source: "agentidentityblueprint-get (alternate key, v1.0 permission table)"},
		"PATCH /applications(uniqueName='{uniqueName}')/microsoft.graph.agentIdentityBlueprint": wb(bpCreate, 6),
		"GET " + bp:                                                                          rb(3),
		"PATCH " + bp:                                                                        {least: "AgentIdentityBlueprint.UpdateBranding.All", also: []string{"AgentIdentityBlueprint.UpdateAuthProperties.All", "AgentIdentityBlueprint.AddRemoveCreds.All", bpRW, appRW, dirRW}, row: 4},
		"DELETE " + bp:                                                                       wb("AgentIdentityBlueprint.DeleteRestore.All", 5),
		"PATCH /applications/{appObjectId}":                                                  {least: "Application.ReadWrite.OwnedBy", also: []string{"AgentIdentityBlueprint.UpdateAuthProperties.All", "AgentIdentityBlueprint.UpdateBranding.All", bpRW, appRW, dirRW}, row: 20},
		"DELETE /applications/{appObjectId}":                                                 {least: "Application.ReadWrite.OwnedBy", also: []string{"AgentIdentityBlueprint.DeleteRestore.All", bpRW, appRW, dirRW}, source: "application-delete (v1.0 permission table)"},
		"POST " + bp + "/sponsors/$ref":                                                      {least: "AgentIdentityBlueprint.UpdateSponsors.All", also: []string{appRW}, row: 7},
		"DELETE " + bp + "/sponsors/{refId}/$ref":                                            {least: "AgentIdentityBlueprint.UpdateSponsors.All", also: []string{appRW}, row: 8},
		"GET " + bp + "/sponsors":                                                            rb(9),
		"POST " + bp + "/owners/$ref":                                                        wb(bpRW, 10),
		"DELETE " + bp + "/owners/{refId}/$ref":                                              {least: bpRW, also: []string{appRW, dirRW}, source: "agentidentityblueprint-delete-owners (by analogy with row 10)"},
		"GET " + bp + "/owners":                                                              rb(11),
		"GET " + bp + "/inheritablePermissions":                                              rb(12),
		"POST " + bp + "/inheritablePermissions":                                             wb(bpCreate, 13),
		"GET " + bp + "/inheritablePermissions/{resourceAppId}":                              {least: bpRead, also: []string{bpRW, appRW}, source: "inheritablepermission-get (by analogy with row 12)"},
		"PATCH " + bp + "/inheritablePermissions/{resourceAppId}":                            wb(bpRW, 14),
		"DELETE " + bp + "/inheritablePermissions/{resourceAppId}":                           wb(bpRW, 15),
		"GET /applications/{id}/federatedIdentityCredentials":                                {least: "Application.Read.All", also: []string{"Application.ReadWrite.OwnedBy", bpRead, appRW, "Directory.Read.All"}, row: 16},
		"POST /applications/{id}/federatedIdentityCredentials":                               fic(17),
		"PATCH /applications/{id}/federatedIdentityCredentials(name='{name}')":               fic(18),
		"DELETE /applications/{id}/federatedIdentityCredentials/{ficId}":                     fic(19),
		"GET /servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal":             {least: "AgentIdentityBlueprintPrincipal.Read.All", also: []string{"AgentIdentityBlueprintPrincipal.ReadWrite.All"}, row: 22},
		"POST /servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal":            {least: "AgentIdentityBlueprintPrincipal.Create", also: []string{"AgentIdentityBlueprintPrincipal.ReadWrite.All", appRW, dirRW}, row: 21},
		"GET /servicePrincipals/microsoft.graph.agentIdentity":                               {least: "AgentIdentity.Read.All", also: []string{"AgentIdentity.ReadWrite.All"}, row: 23},
		"POST /servicePrincipals/microsoft.graph.agentIdentity":                              {least: "AgentIdentity.Create.All", also: append([]string{"AgentIdentity.CreateAsManager"}, aiRW...), row: 24},
		"GET /servicePrincipals/{id}/microsoft.graph.agentIdentity":                          {least: "AgentIdentity.Read.All", also: append([]string{"Application.Read.All", "Directory.Read.All"}, aiRW...), row: 25},
		"PATCH /servicePrincipals/{id}/microsoft.graph.agentIdentity":                        {least: "AgentIdentity.EnableDisable.All", also: append([]string{"AgentIdentity.CreateAsManager"}, aiRW...), row: 26},
		"DELETE /servicePrincipals/{id}/microsoft.graph.agentIdentity":                       {least: "AgentIdentity.DeleteRestore.All", also: aiRW, row: 27},
		"POST /servicePrincipals/{id}/microsoft.graph.agentIdentity/sponsors/$ref":           {least: "AgentIdentity.UpdateSponsors.All", also: aiRW, row: 28},
		"DELETE /servicePrincipals/{id}/microsoft.graph.agentIdentity/sponsors/{refId}/$ref": {least: "AgentIdentity.UpdateSponsors.All", also: aiRW, source: "agentidentity-delete-sponsors (by analogy with row 28)"},
		"GET /servicePrincipals/{id}/microsoft.graph.agentIdentity/sponsors":                 {least: "AgentIdentity.Read.All", also: aiRW, source: "agentidentity-list-sponsors (by analogy with row 25)"},
		"GET /servicePrincipals(appId='{appId}')":                                            {least: "Application.Read.All", also: readApps, row: 32},
		"GET /servicePrincipals/{spId}":                                                      {least: "Application.Read.All", also: readApps, source: "serviceprincipal-get (v1.0 permission table)"},
		"DELETE /servicePrincipals/{spId}":                                                   {least: "Application.ReadWrite.OwnedBy", also: []string{appRW, dirRW}, source: "serviceprincipal-delete (v1.0 permission table)"},
		"POST /servicePrincipals/{spId}/addPassword":                                         {least: "Application.ReadWrite.OwnedBy", also: []string{appRW, dirRW}, source: "serviceprincipal-addpassword (v1.0 permission table)"},
		"POST /servicePrincipals/{spId}/addKey":                                              {least: "Application.ReadWrite.OwnedBy", also: []string{appRW, dirRW}, source: "serviceprincipal-addkey (v1.0 permission table)"},
		"GET /users/microsoft.graph.agentUser":                                               {least: "User.ReadBasic.All", also: readUsers, row: 29},
		"POST /users/microsoft.graph.agentUser":                                              {least: "AgentIdUser.ReadWrite.IdentityParentedBy", also: []string{"AgentIdUser.ReadWrite.All", "User.ReadWrite.All", dirRW}, row: 30},
		"DELETE /users/{id}":                                                                 {least: "AgentIdUser.ReadWrite.IdentityParentedBy", also: []string{"AgentIdUser.ReadWrite.All", "User.ReadWrite.All"}, source: "agentuser-delete (v1.0 permission table; agent users only)"},
		"GET /servicePrincipals/{spId}/appRoleAssignedTo":                                    {least: "Application.Read.All", also: readApps, row: 33},
		"POST /servicePrincipals/{spId}/appRoleAssignedTo":                                   {least: "AppRoleAssignment.ReadWrite.All", also: []string{dirRW}, row: 34},
		"DELETE /servicePrincipals/{spId}/appRoleAssignedTo/{assignmentId}":                  {least: "AppRoleAssignment.ReadWrite.All", also: []string{dirRW}, row: 35},
		"GET /servicePrincipals/{spId}/appRoleAssignments":                                   {least: "Application.Read.All", also: readApps, row: 36},
		"POST /servicePrincipals/{spId}/appRoleAssignments":                                  {least: "AppRoleAssignment.ReadWrite.All", also: []string{dirRW}, row: 37},
		"DELETE /servicePrincipals/{spId}/appRoleAssignments/{assignmentId}":                 {least: "AppRoleAssignment.ReadWrite.All", also: []string{dirRW}, row: 38},
		"GET /oauth2PermissionGrants":                                                        {least: "Directory.Read.All", also: []string{"DelegatedPermissionGrant.ReadWrite.All", dirRW}, row: 39},
		"POST /oauth2PermissionGrants":                                                       {least: "DelegatedPermissionGrant.ReadWrite.All", also: []string{dirRW}, row: 40},
		"GET /oauth2PermissionGrants/{grantId}":                                              {least: "Directory.Read.All", also: []string{"DelegatedPermissionGrant.ReadWrite.All", dirRW}, row: 41},
		"PATCH /oauth2PermissionGrants/{grantId}":                                            {least: "DelegatedPermissionGrant.ReadWrite.All", also: []string{dirRW}, row: 42},
		"DELETE /oauth2PermissionGrants/{grantId}":                                           {least: "DelegatedPermissionGrant.ReadWrite.All", also: []string{dirRW}, row: 43},
	} {
		routePermissions[k] = v
	}
}

func withoutPerm(list []string, p string) []string {
	var out []string
	for _, x := range list {
		if x != p {
			out = append(out, x)
		}
	}
	return out
}
