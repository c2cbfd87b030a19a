package graphsim

// Permissions of the entitlement-management and invitation routes, added
// to routePermissions (auth_perms.go). Rows are the README operation
// index; routes outside the index name their Microsoft page.

func init() {
	const (
		read  = "EntitlementManagement.Read.All"
		write = "EntitlementManagement.ReadWrite.All"
	)
	r := func(row int) permSet { return permSet{least: read, also: []string{write}, row: row} }
	w := func(row int) permSet { return permSet{least: write, row: row} }
	rs := func(src string) permSet { return permSet{least: read, also: []string{write}, source: src} }
	ws := func(src string) permSet { return permSet{least: write, source: src} }
	p := emPrefix
	for k, v := range map[string]permSet{
		"GET " + p + "/catalogs":                                                       r(63),
		"POST " + p + "/catalogs":                                                      w(64),
		"GET " + p + "/catalogs/{id}":                                                  r(65),
		"PATCH " + p + "/catalogs/{id}":                                                w(66),
		"DELETE " + p + "/catalogs/{id}":                                               w(67),
		"GET " + p + "/catalogs/{id}/resources":                                        r(68),
		"GET " + p + "/catalogs/{id}/resources/{resourceId}":                           rs("accesspackagecatalog-list-resources (v1.0 permission table)"),
		"GET " + p + "/catalogs/{id}/resourceRoles":                                    r(69),
		"GET " + p + "/catalogs/{id}/accessPackages":                                   rs("accesspackagecatalog-list-accesspackages (v1.0 permission table)"),
		"POST " + p + "/resourceRequests":                                              w(70),
		"GET " + p + "/resourceRequests":                                               r(71),
		"GET " + p + "/accessPackages":                                                 r(72),
		"POST " + p + "/accessPackages":                                                w(73),
		"GET " + p + "/accessPackages/{id}":                                            r(74),
		"PATCH " + p + "/accessPackages/{id}":                                          w(75),
		"DELETE " + p + "/accessPackages/{id}":                                         w(76),
		"GET " + p + "/accessPackages/{id}/resourceRoleScopes":                         rs("accesspackage-get (resourceRoleScopes navigation, v1.0 permission table)"),
		"POST " + p + "/accessPackages/{id}/resourceRoleScopes":                        w(77),
		"GET " + p + "/accessPackages/{id}/resourceRoleScopes/{rrsId}":                 rs("accesspackage-get (resourceRoleScopes navigation, v1.0 permission table)"),
		"DELETE " + p + "/accessPackages/{id}/resourceRoleScopes/{rrsId}":              w(78),
		"GET " + p + "/accessPackages/{id}/assignmentPolicies":                         rs("accesspackage-get (assignmentPolicies navigation, v1.0 permission table)"),
		"GET " + p + "/accessPackages/{id}/incompatibleAccessPackages":                 rs("accesspackage-list-incompatibleaccesspackages (v1.0 permission table)"),
		"POST " + p + "/accessPackages/{id}/incompatibleAccessPackages/$ref":           ws("accesspackage-post-incompatibleaccesspackage (v1.0 permission table)"),
		"DELETE " + p + "/accessPackages/{id}/incompatibleAccessPackages/{refId}/$ref": ws("accesspackage-delete-incompatibleaccesspackage (v1.0 permission table)"),
		"GET " + p + "/accessPackages/{id}/incompatibleGroups":                         rs("accesspackage-list-incompatiblegroups (v1.0 permission table)"),
		"POST " + p + "/accessPackages/{id}/incompatibleGroups/$ref":                   ws("accesspackage-post-incompatiblegroup (v1.0 permission table)"),
		"DELETE " + p + "/accessPackages/{id}/incompatibleGroups/{refId}/$ref":         ws("accesspackage-delete-incompatiblegroup (v1.0 permission table)"),
		"GET " + p + "/accessPackages/{id}/accessPackagesIncompatibleWith":             rs("accesspackage-list-accesspackagesincompatiblewith (v1.0 permission table)"),
		"GET " + p + "/assignmentPolicies":                                             r(79),
		"POST " + p + "/assignmentPolicies":                                            w(80),
		"GET " + p + "/assignmentPolicies/{id}":                                        r(81),
		"PUT " + p + "/assignmentPolicies/{id}":                                        w(82),
		"DELETE " + p + "/assignmentPolicies/{id}":                                     w(83),
		"POST " + p + "/assignmentRequests":                                            w(84),
		"GET " + p + "/assignmentRequests":                                             r(85),
		"GET " + p + "/assignmentRequests/{id}":                                        r(86),
		"GET " + p + "/assignments":                                                    r(87),
		"GET " + p + "/assignments/{id}":                                               rs("accesspackageassignment-get (v1.0 permission table)"),
		"POST " + p + "/assignments/{id}/reprocess":                                    w(88),
		"GET " + p + "/catalogs/{id}/customWorkflowExtensions":                         r(96),
		"POST " + p + "/catalogs/{id}/customWorkflowExtensions":                        w(97),
		"GET " + p + "/catalogs/{id}/customWorkflowExtensions/{extensionId}":           r(98),
		"PUT " + p + "/catalogs/{id}/customWorkflowExtensions/{extensionId}":           w(99),
		"DELETE " + p + "/catalogs/{id}/customWorkflowExtensions/{extensionId}":        w(100),
		"POST /invitations":                                                            {least: "User.Invite.All", also: []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}, row: 47},
	} {
		routePermissions[k] = v
	}
}
