package graphsim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Fixture is the JSON seed of a simulated tenant. The same format is written
// by (*Sim).Save, which adds the "simState" block and the ids/timestamps the
// simulator generated, so a saved tenant is also a valid fixture.
//
// Members and owners of a group are given as object ids or, for users, as
// userPrincipalName. Objects without an id get a deterministic GUID derived
// from Options.Seed.
type Fixture struct {
	Tenant            Tenant             `json:"tenant"`
	Users             []User             `json:"users,omitempty"`
	Groups            []Group            `json:"groups,omitempty"`
	ServicePrincipals []ServicePrincipal `json:"servicePrincipals,omitempty"`
	// Entitlement management (em_fixture.go).
	Catalogs           []Catalog           `json:"catalogs,omitempty"`
	AccessPackages     []AccessPackage     `json:"accessPackages,omitempty"`
	AssignmentRequests []AssignmentRequest `json:"assignmentRequests,omitempty"`
	ResourceRequests   []ResourceRequest   `json:"resourceRequests,omitempty"`
	// Agent ID and permissions (agent_fixture.go).
	Blueprints             []Blueprint             `json:"blueprints,omitempty"`
	AppRoleAssignments     []AppRoleAssignment     `json:"appRoleAssignments,omitempty"`
	OAuth2PermissionGrants []OAuth2PermissionGrant `json:"oauth2PermissionGrants,omitempty"`
	// Identity makes the simulator an identity provider for these
	// applications (auth.go). Save does not write it.
	Identity *Identity `json:"identity,omitempty"`
	// State is written by Save and consumed by Restore; fixtures omit it.
	State *SimState `json:"simState,omitempty"`
}

// Tenant identifies the simulated tenant.
type Tenant struct {
	ID     string `json:"id,omitempty"`
	Domain string `json:"domain"` // initial domain, e.g. contoso.onmicrosoft.com
	// VerifiedDomains are custom domains besides the initial one; the first
	// is the default domain.
	VerifiedDomains []string `json:"verifiedDomains,omitempty"`
	DisplayName     string   `json:"displayName,omitempty"`
	// AppID is the client application id reported in x-ms-throttle-scope.
	AppID string `json:"appId,omitempty"`
	// OtherTenants are domains of other tenants the sign-in authority
	// knows, with their tenant ids: their public OpenID metadata is served
	// (as login.microsoftonline.com serves any tenant's), nothing else.
	OtherTenants map[string]string `json:"otherTenants,omitempty"`
}

// User is a fixture user. String properties left empty are served as null.
type User struct {
	ID                    string     `json:"id,omitempty"`
	UserPrincipalName     string     `json:"userPrincipalName"`
	DisplayName           string     `json:"displayName,omitempty"`
	GivenName             string     `json:"givenName,omitempty"`
	Surname               string     `json:"surname,omitempty"`
	Mail                  string     `json:"mail,omitempty"`
	MailNickname          string     `json:"mailNickname,omitempty"`
	OtherMails            []string   `json:"otherMails,omitempty"`
	ProxyAddresses        []string   `json:"proxyAddresses,omitempty"`
	BusinessPhones        []string   `json:"businessPhones,omitempty"`
	MobilePhone           string     `json:"mobilePhone,omitempty"`
	JobTitle              string     `json:"jobTitle,omitempty"`
	Department            string     `json:"department,omitempty"`
	CompanyName           string     `json:"companyName,omitempty"`
	OfficeLocation        string     `json:"officeLocation,omitempty"`
	City                  string     `json:"city,omitempty"`
	Country               string     `json:"country,omitempty"`
	UsageLocation         string     `json:"usageLocation,omitempty"`
	PreferredLanguage     string     `json:"preferredLanguage,omitempty"`
	EmployeeID            string     `json:"employeeId,omitempty"`
	UserType              string     `json:"userType,omitempty"` // Member (default) or Guest
	CreationType          string     `json:"creationType,omitempty"`
	ExternalUserState     string     `json:"externalUserState,omitempty"`
	AccountEnabled        *bool      `json:"accountEnabled,omitempty"` // default true
	OnPremisesSyncEnabled *bool      `json:"onPremisesSyncEnabled,omitempty"`
	OnPremisesImmutableID string     `json:"onPremisesImmutableId,omitempty"`
	CreatedDateTime       *time.Time `json:"createdDateTime,omitempty"`
	// IdentityParentID makes the user an agent user of that agent identity.
	IdentityParentID string `json:"identityParentId,omitempty"`
}

// Group is a fixture group.
type Group struct {
	ID                            string   `json:"id,omitempty"`
	DisplayName                   string   `json:"displayName"`
	Description                   string   `json:"description,omitempty"`
	MailNickname                  string   `json:"mailNickname,omitempty"`
	MailEnabled                   bool     `json:"mailEnabled,omitempty"`
	SecurityEnabled               *bool    `json:"securityEnabled,omitempty"` // default true
	GroupTypes                    []string `json:"groupTypes,omitempty"`
	UniqueName                    string   `json:"uniqueName,omitempty"`
	MembershipRule                string   `json:"membershipRule,omitempty"`
	MembershipRuleProcessingState string   `json:"membershipRuleProcessingState,omitempty"`
	IsAssignableToRole            *bool    `json:"isAssignableToRole,omitempty"`
	Visibility                    string   `json:"visibility,omitempty"`
	Classification                string   `json:"classification,omitempty"`
	Mail                          string   `json:"mail,omitempty"`
	ProxyAddresses                []string `json:"proxyAddresses,omitempty"`
	// OnPremisesSyncEnabled true marks an AD-synced group (read-only in the
	// cloud until converted with onPremisesSyncBehavior).
	OnPremisesSyncEnabled *bool `json:"onPremisesSyncEnabled,omitempty"`
	// IsCloudManaged is onPremisesSyncBehavior.isCloudManaged.
	IsCloudManaged bool `json:"isCloudManaged,omitempty"`
	// SourceOnPremises records that the group originated in AD. It is implied
	// by onPremisesSyncEnabled=true and survives conversion (where
	// onPremisesSyncEnabled becomes null), so a rollback can be modelled.
	SourceOnPremises             bool       `json:"sourceOnPremises,omitempty"`
	OnPremisesSamAccountName     string     `json:"onPremisesSamAccountName,omitempty"`
	OnPremisesDomainName         string     `json:"onPremisesDomainName,omitempty"`
	OnPremisesNetBiosName        string     `json:"onPremisesNetBiosName,omitempty"`
	OnPremisesSecurityIdentifier string     `json:"onPremisesSecurityIdentifier,omitempty"`
	OnPremisesLastSyncDateTime   *time.Time `json:"onPremisesLastSyncDateTime,omitempty"`
	CreatedDateTime              *time.Time `json:"createdDateTime,omitempty"`
	// Members and Owners: object ids, or userPrincipalNames of fixture users.
	Members []string `json:"members,omitempty"`
	Owners  []string `json:"owners,omitempty"`
}

// ServicePrincipal is a minimal fixture service principal (group members and
// owners can be service principals, e.g. agent identities).
type ServicePrincipal struct {
	ID                   string `json:"id,omitempty"`
	AppID                string `json:"appId,omitempty"`
	DisplayName          string `json:"displayName,omitempty"`
	ServicePrincipalType string `json:"servicePrincipalType,omitempty"` // default Application
	AccountEnabled       *bool  `json:"accountEnabled,omitempty"`
	// ODataType overrides "#microsoft.graph.servicePrincipal", e.g.
	// "#microsoft.graph.agentIdentity".
	ODataType       string     `json:"@odata.type,omitempty"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
	// AppRoles are exposed as resource roles when the service principal
	// is a catalog resource (em_fixture.go).
	AppRoles []AppRole `json:"appRoles,omitempty"`
	// Agent ID and resource properties (agent_fixture.go). A service
	// principal with appId 00000003-0000-0000-c000-000000000000 and no
	// appRoles gets Microsoft Graph's roles and scopes (grants_graphsp.go).
	OAuth2PermissionScopes   []PermissionScope `json:"oauth2PermissionScopes,omitempty"`
	AgentIdentityBlueprintID string            `json:"agentIdentityBlueprintId,omitempty"`
	CreatedByAppID           string            `json:"createdByAppId,omitempty"`
	Tags                     []string          `json:"tags,omitempty"`
	Sponsors                 []string          `json:"sponsors,omitempty"`
	DeletedDateTime          *time.Time        `json:"deletedDateTime,omitempty"`
}

// SimState carries the simulator's generator state across Save/Restore so
// that a restored simulator keeps producing the same ids it would have.
type SimState struct {
	IDState    uint64 `json:"idState"`
	ReqState   uint64 `json:"reqState"`
	FaultState uint64 `json:"faultState"`
	Seq        int64  `json:"seq"`
	// Delta is the delta tokens' snapshots (delta.go).
	Delta *DeltaSnapshots `json:"delta,omitempty"`
}

// LoadFixture decodes and validates a fixture (or a saved simulator state).
// Unknown JSON fields are rejected so that typos in seeds are caught.
func LoadFixture(r io.Reader) (*Fixture, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("graphsim: decoding fixture: %w", err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate checks that ids are unique and that every member/owner reference
// resolves to a fixture object.
func (f *Fixture) Validate() error {
	ids := map[string]string{}
	upns := map[string]bool{}
	add := func(kind, id string) error {
		if id == "" {
			return nil
		}
		if !isGUID(id) {
			return fmt.Errorf("graphsim: fixture %s id %q is not a GUID", kind, id)
		}
		k := strings.ToLower(id)
		if prev, ok := ids[k]; ok {
			return fmt.Errorf("graphsim: fixture id %s used by both a %s and a %s", id, prev, kind)
		}
		ids[k] = kind
		return nil
	}
	for d, id := range f.Tenant.OtherTenants {
		if !isGUID(id) || strings.EqualFold(id, f.Tenant.ID) || strings.EqualFold(d, f.Tenant.Domain) || slices.ContainsFunc(f.Tenant.VerifiedDomains, func(v string) bool { return strings.EqualFold(v, d) }) {
			return fmt.Errorf("graphsim: other tenant %s (%s) must have a GUID of its own and a domain that is not this tenant's", d, id)
		}
	}
	for _, u := range f.Users {
		if u.UserPrincipalName == "" {
			return fmt.Errorf("graphsim: fixture user %q has no userPrincipalName", u.DisplayName)
		}
		if upns[strings.ToLower(u.UserPrincipalName)] {
			return fmt.Errorf("graphsim: duplicate userPrincipalName %q", u.UserPrincipalName)
		}
		upns[strings.ToLower(u.UserPrincipalName)] = true
		if err := add("user", u.ID); err != nil {
			return err
		}
	}
	uniq := map[string]bool{}
	for _, g := range f.Groups {
		if g.DisplayName == "" {
			return fmt.Errorf("graphsim: fixture group %s has no displayName", g.ID)
		}
		if g.UniqueName != "" {
			if uniq[strings.ToLower(g.UniqueName)] {
				return fmt.Errorf("graphsim: duplicate group uniqueName %q", g.UniqueName)
			}
			uniq[strings.ToLower(g.UniqueName)] = true
		}
		if err := add("group", g.ID); err != nil {
			return err
		}
	}
	for _, sp := range f.ServicePrincipals {
		if err := add("servicePrincipal", sp.ID); err != nil {
			return err
		}
	}
	if err := f.validateAgents(ids, upns); err != nil {
		return err
	}
	if err := f.Identity.validate(); err != nil {
		return err
	}
	if err := f.validateEM(); err != nil {
		return err
	}
	for _, g := range f.Groups {
		for _, ref := range append(append([]string{}, g.Members...), g.Owners...) {
			if ids[strings.ToLower(ref)] == "" && !upns[strings.ToLower(ref)] {
				return fmt.Errorf("graphsim: group %q references unknown object %q (give an id or a userPrincipalName)", g.DisplayName, ref)
			}
		}
	}
	return nil
}

//go:embed testdata/demo.json
var demoJSON []byte

// DemoFixture returns the built-in demo tenant (contoso.onmicrosoft.com),
// embedded from testdata/demo.json. Each call returns a fresh copy.
func DemoFixture() *Fixture {
	f, err := LoadFixture(strings.NewReader(string(demoJSON)))
	if err != nil {
		panic("graphsim: embedded demo fixture is invalid: " + err.Error())
	}
	return f
}
