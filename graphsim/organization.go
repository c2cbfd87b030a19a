package graphsim

// Organization (GET /organization): the tenant itself, so a client can check
// which tenant it is talking to. One object; verifiedDomains lists the
// initial domain (isInitial) and any extra domains of the fixture.

func registerOrganizationRoutes(r *router) {
	r.add("GET", "/organization", listOrganization)
}

var orgSchemaProps = setOf("assignedPlans businessPhones city country countryLetterCode createdDateTime defaultUsageLocation displayName marketingNotificationEmails onPremisesLastSyncDateTime onPremisesSyncEnabled postalCode preferredLanguage privacyProfile provisionedPlans securityComplianceNotificationMails securityComplianceNotificationPhones state street technicalNotificationMails tenantType verifiedDomains id deletedDateTime")

var orgType = &typeProps{name: "organization", resource: "Organization", schema: orgSchemaProps, filterable: map[string]filterProp{"id": {kind: pGUID}}}

var orgDefaultProps = []string{"id", "displayName", "tenantType", "verifiedDomains"}

func listOrganization(c *reqCtx) *response {
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	t := c.s.st.tenant
	domains := []object{{
		{"capabilities", "Email, OfficeCommunicationsOnline"}, {"isDefault", len(t.VerifiedDomains) == 0},
		{"isInitial", true}, {"name", t.Domain}, {"type", "Managed"},
	}}
	for i, d := range t.VerifiedDomains {
		domains = append(domains, object{
			{"capabilities", "Email, OfficeCommunicationsOnline"}, {"isDefault", i == 0},
			{"isInitial", false}, {"name", d}, {"type", "Managed"},
		})
	}
	full := object{{"id", t.ID}, {"displayName", nullable(t.DisplayName)}, {"tenantType", "AAD"}, {"verifiedDomains", domains}}
	return c.list(listSpec{contextSet: "organization", t: orgType, items: []*item{{seq: 1, full: full, def: orgDefaultProps}}, maxTop: 999})
}
