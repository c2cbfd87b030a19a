package graphsim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// field/object form an insertion-ordered JSON object, so bodies come out in
// the same property order as the documented examples.
type field struct {
	K string
	V any
}

type object []field

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(f.K)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(f.V)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: Graph writes '&' in
// nextLinks literally, not as \u0026.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// get looks a property up case-insensitively (Graph treats property names in
// query options case-insensitively).
func (o object) get(k string) (any, bool) {
	for _, f := range o {
		if strings.EqualFold(f.K, k) {
			return f.V, true
		}
	}
	return nil, false
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// defaultCreated is reported as createdDateTime for fixture objects that do
// not carry one.
var defaultCreated = time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)

func graphTime(t time.Time) string {
	if t.IsZero() {
		t = defaultCreated
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return graphTime(*t)
}

// securityIdentifier derives the cloud SID Entra reports for cloud groups
// (S-1-12-1- followed by the object id as four little-endian uint32 values).
func securityIdentifier(id string) string {
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 {
		return ""
	}
	// GUID byte order: first three fields are little-endian in the binary form.
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = raw[3], raw[2], raw[1], raw[0]
	b[4], b[5] = raw[5], raw[4]
	b[6], b[7] = raw[7], raw[6]
	copy(b[8:], raw[8:])
	parts := make([]string, 4)
	for i := range 4 {
		parts[i] = fmt.Sprint(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return "S-1-12-1-" + strings.Join(parts, "-")
}

// User properties returned when no $select is given (user-get doc, README §3).
var userDefaultProps = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

func (u *userRec) render() object {
	return object{
		{"businessPhones", strs(u.BusinessPhones)},
		{"displayName", nullable(u.DisplayName)},
		{"givenName", nullable(u.GivenName)},
		{"jobTitle", nullable(u.JobTitle)},
		{"mail", nullable(u.Mail)},
		{"mobilePhone", nullable(u.MobilePhone)},
		{"officeLocation", nullable(u.OfficeLocation)},
		{"preferredLanguage", nullable(u.PreferredLanguage)},
		{"surname", nullable(u.Surname)},
		{"userPrincipalName", u.UserPrincipalName},
		{"id", u.ID},
		{"deletedDateTime", nil},
		{"accountEnabled", *u.AccountEnabled},
		{"city", nullable(u.City)},
		{"companyName", nullable(u.CompanyName)},
		{"country", nullable(u.Country)},
		{"createdDateTime", graphTime(u.created)},
		{"creationType", nullable(u.CreationType)},
		{"department", nullable(u.Department)},
		{"employeeId", nullable(u.EmployeeID)},
		{"externalUserState", nullable(u.ExternalUserState)},
		{"mailNickname", nullable(u.MailNickname)},
		{"onPremisesImmutableId", nullable(u.OnPremisesImmutableID)},
		{"onPremisesSyncEnabled", boolOrNil(u.OnPremisesSyncEnabled)},
		{"otherMails", strs(u.OtherMails)},
		{"proxyAddresses", strs(u.ProxyAddresses)},
		{"usageLocation", nullable(u.UsageLocation)},
		{"userType", nullable(u.UserType)},
		{"identityParentId", nullable(u.IdentityParentID)},
	}
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// Group properties returned when no $select is given, in the order of
// examples/group-create-security.response.json. uniqueName is appended when
// set (the example predates the property).
var groupDefaultProps = []string{"id", "deletedDateTime", "classification", "createdDateTime", "description", "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors"}

func (g *groupRec) render() object {
	o := object{
		{"id", g.ID},
		{"deletedDateTime", nil},
		{"classification", nullable(g.Classification)},
		{"createdDateTime", graphTime(g.created)},
		{"description", nullable(g.Description)},
		{"displayName", g.DisplayName},
		{"expirationDateTime", nil},
		{"groupTypes", strs(g.GroupTypes)},
		{"isAssignableToRole", boolOrNil(g.IsAssignableToRole)},
		{"mail", nullable(g.Mail)},
		{"mailEnabled", g.MailEnabled},
		{"mailNickname", g.MailNickname},
		{"membershipRule", nullable(g.MembershipRule)},
		{"membershipRuleProcessingState", nullable(g.MembershipRuleProcessingState)},
		{"onPremisesDomainName", nullable(g.OnPremisesDomainName)},
		{"onPremisesLastSyncDateTime", timePtr(g.OnPremisesLastSyncDateTime)},
		{"onPremisesNetBiosName", nullable(g.OnPremisesNetBiosName)},
		{"onPremisesSamAccountName", nullable(g.OnPremisesSamAccountName)},
		{"onPremisesSecurityIdentifier", nullable(g.OnPremisesSecurityIdentifier)},
		{"onPremisesSyncEnabled", boolOrNil(g.OnPremisesSyncEnabled)},
		{"preferredDataLocation", nil},
		{"preferredLanguage", nil},
		{"proxyAddresses", strs(g.ProxyAddresses)},
		{"renewedDateTime", graphTime(g.created)},
		{"resourceBehaviorOptions", []string{}},
		{"resourceProvisioningOptions", []string{}},
		{"securityEnabled", *g.SecurityEnabled},
		{"securityIdentifier", securityIdentifier(g.ID)},
		{"theme", nil},
		{"visibility", nullable(g.Visibility)},
		{"onPremisesProvisioningErrors", []any{}},
	}
	if g.UniqueName != "" {
		o = append(o, field{"uniqueName", g.UniqueName})
	} else {
		o = append(o, field{"uniqueName", nil})
	}
	return o
}

func (g *groupRec) defaultProps() []string {
	if g.UniqueName != "" {
		return append(append([]string{}, groupDefaultProps...), "uniqueName")
	}
	return groupDefaultProps
}

var spDefaultProps = []string{"id", "deletedDateTime", "accountEnabled", "appDisplayName", "appId", "displayName", "servicePrincipalType"}

func (s *spRec) render() object {
	return append(object{
		{"id", s.ID},
		{"deletedDateTime", nil},
		{"accountEnabled", *s.AccountEnabled},
		{"appDisplayName", nullable(s.DisplayName)},
		{"appId", s.AppID},
		{"displayName", nullable(s.DisplayName)},
		{"servicePrincipalType", nullable(s.ServicePrincipalType)},
		{"appRoles", s.renderAppRoles()},
	}, s.agentFields()...) // agent_sps.go
}

// renderAppRoles renders the app roles as Graph's appRole objects.
func (s *spRec) renderAppRoles() []object {
	out := []object{}
	for _, r := range s.AppRoles {
		enabled := r.IsEnabled == nil || *r.IsEnabled
		types := r.AllowedMemberTypes
		if types == nil {
			types = []string{}
		}
		out = append(out, object{
			{"allowedMemberTypes", types}, {"description", nullable(r.Description)}, {"displayName", nullable(r.DisplayName)},
			{"id", r.ID}, {"isEnabled", enabled}, {"origin", "Application"}, {"value", nullable(r.Value)},
		})
	}
	return out
}

func (s *spRec) odataType() string {
	if s.ODataType != "" {
		return s.ODataType
	}
	return kindSP.odataType()
}

// Property names per type from the v1.0 CSDL (openapi-subset), used to tell a
// misspelled $select/$filter property (400) from a valid but unstored one
// (served as null).
var userSchemaProps = setOf("aboutMe accountEnabled ageGroup assignedLicenses assignedPlans authorizationInfo birthday businessPhones city companyName consentProvidedForMinor country createdDateTime creationType customSecurityAttributes department deviceEnrollmentLimit displayName employeeHireDate employeeId employeeLeaveDateTime employeeOrgData employeeType externalUserState externalUserStateChangeDateTime faxNumber givenName hireDate identities identityParentId imAddresses interests isManagementRestricted isResourceAccount jobTitle lastPasswordChangeDateTime legalAgeGroupClassification licenseAssignmentStates mail mailboxSettings mailNickname mobilePhone mySite officeLocation onPremisesDistinguishedName onPremisesDomainName onPremisesExtensionAttributes onPremisesImmutableId onPremisesLastSyncDateTime onPremisesProvisioningErrors onPremisesSamAccountName onPremisesSecurityIdentifier onPremisesSyncEnabled onPremisesUserPrincipalName otherMails passwordPolicies passwordProfile pastProjects postalCode preferredDataLocation preferredLanguage preferredName print provisionedPlans proxyAddresses responsibilities schools securityIdentifier serviceProvisioningErrors showInAddressList signInActivity signInSessionsValidFromDateTime skills state streetAddress surname usageLocation userPrincipalName userType id deletedDateTime")

var groupSchemaProps = setOf("accessType allowExternalSenders assignedLabels assignedLicenses autoSubscribeNewMembers classification createdDateTime description displayName expirationDateTime groupTypes hasMembersWithLicenseErrors hideFromAddressLists hideFromOutlookClients infoCatalogs isArchived isAssignableToRole isFavorite isManagementRestricted isSubscribedByMail licenseProcessingState mail mailEnabled mailNickname membershipRule membershipRuleProcessingState onPremisesDomainName onPremisesExtensionAttributes onPremisesLastSyncDateTime onPremisesNetBiosName onPremisesProvisioningErrors onPremisesSamAccountName onPremisesSecurityIdentifier onPremisesSyncEnabled organizationId preferredDataLocation preferredLanguage proxyAddresses renewedDateTime resourceBehaviorOptions resourceProvisioningOptions securityEnabled securityIdentifier serviceProvisioningErrors theme uniqueName unseenConversationsCount unseenCount unseenMessagesCount visibility welcomeMessageEnabled id deletedDateTime")

var spSchemaProps = setOf("accountEnabled addIns alternativeNames appDescription appDisplayName appId applicationTemplateId appOwnerOrganizationId appRoleAssignmentRequired appRoles createdByAppId customSecurityAttributes description disabledByMicrosoftStatus displayName homepage info isDisabled keyCredentials loginUrl logoutUrl notes notificationEmailAddresses oauth2PermissionScopes passwordCredentials preferredSingleSignOnMode preferredTokenSigningKeyThumbprint replyUrls resourceSpecificApplicationPermissions samlSingleSignOnSettings servicePrincipalNames servicePrincipalType signInAudience tags tokenEncryptionKeyId verifiedPublisher id deletedDateTime")

var dirObjectSchemaProps = setOf("id deletedDateTime")

// setOf maps lower-case names to their canonical spelling.
func setOf(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		m[strings.ToLower(f)] = f
	}
	return m
}
