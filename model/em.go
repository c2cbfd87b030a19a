package model

import (
	"fmt"
	"strings"
	"time"
)

// Entitlement management: catalogs, access packages, their resource roles,
// assignment policies and assignment sets.

// Catalog is an entitlement-management catalog, keyed by display name.
type Catalog struct {
	DisplayName         string  `json:"displayName"`
	ID                  string  `json:"id,omitempty"`
	Description         *string `json:"description,omitempty"`
	IsExternallyVisible *bool   `json:"isExternallyVisible,omitempty"`
	// State is "published" or "unpublished".
	State *string `json:"state,omitempty"`
	// Groups are the groups the catalog holds as resources; nil means the
	// catalog's resources are unmanaged. Desired: refs by name or id;
	// observed: Value is the group id (the resource's originId).
	Groups *[]Ref `json:"groups,omitempty"`
	// Applications are the applications the catalog holds as resources, by
	// service principal; nil means unmanaged. Desired: display name or appId;
	// observed: Value is the service principal id.
	Applications *[]Ref `json:"applications,omitempty"`
	// Sites are the SharePoint sites the catalog holds, by URL; nil means
	// unmanaged.
	Sites *[]Ref `json:"sites,omitempty"`
	// ResourceIDs maps a resource's originId (group id, service principal
	// id) to the catalog resource's id (observed).
	ResourceIDs map[string]string `json:"resourceIds,omitempty"`
	// SiteRoles are the roles of the catalog's SharePoint site resources,
	// by site URL as in Sites (observed): the site's groups, named by
	// display name in specs.
	SiteRoles map[string][]SiteRole `json:"siteRoles,omitempty"`
	// CustomExtensions are the catalog's custom workflow extensions (Logic
	// App callouts policies run at their stages). Desired: the ones the
	// spec declares (others are left alone); observed: all of them, read
	// when the spec declares or uses some. Nil: not managed.
	CustomExtensions *[]*CustomExtension `json:"customExtensions,omitempty"`
	Absent           bool                `json:"absent,omitempty"`
	Pos              Pos                 `json:"-"`
}

// CustomExtension is a custom workflow extension of a catalog, keyed by
// display name within it: a Logic App that entitlement management calls
// when a request or assignment reaches a policy's stage.
type CustomExtension struct {
	DisplayName string `json:"displayName"`
	ID          string `json:"id,omitempty"`
	// Body is the extension in Graph's v1.0 shape: as the spec writes it
	// (desired, compared as a subset) or as read (observed).
	Body   map[string]any `json:"body"`
	Absent bool           `json:"absent,omitempty"`
	Pos    Pos            `json:"-"`
}

// Request and assignment extensions are Graph's two kinds of custom
// workflow extension: the first runs at a request's stages (and may make it
// wait for its callback), the second before an assignment expires.
const (
	RequestExtensionType    = "#microsoft.graph.accessPackageAssignmentRequestWorkflowExtension"
	AssignmentExtensionType = "#microsoft.graph.accessPackageAssignmentWorkflowExtension"
)

// CustomExtensionAddress is the address of a catalog's custom extension.
func CustomExtensionAddress(catalog, name string) string {
	return fmt.Sprintf("catalog[%q].customExtension[%q]", catalog, name)
}

// Key is the catalog's natural key.
func (c *Catalog) Key() string { return NameKey(c.DisplayName) }

// CatalogAddress is the address of a catalog in plans.
func CatalogAddress(name string) string { return fmt.Sprintf("catalog[%q]", name) }

// AccessPackage is an access package, keyed by display name within its
// catalog.
type AccessPackage struct {
	DisplayName string `json:"displayName"`
	ID          string `json:"id,omitempty"`
	// Catalog is the display name of its catalog (desired), or as observed.
	Catalog     string  `json:"catalog"`
	CatalogID   string  `json:"catalogId,omitempty"`
	Description *string `json:"description,omitempty"`
	IsHidden    *bool   `json:"isHidden,omitempty"`
	// Roles are the resource roles the package grants; nil means unmanaged.
	Roles *[]RoleScope `json:"roles,omitempty"`
	// Policies are the package's assignment policies, by display name; nil
	// means unmanaged. A managed list is authoritative: policies not listed
	// are deleted (with their assignments' consent, see the planner).
	Policies *[]*Policy `json:"policies,omitempty"`
	// Assignments is the managed set of admin-made assignments.
	Assignments *AssignmentSet `json:"assignments,omitempty"`
	// Incompatible are the packages and groups whose holders may not get
	// this package; nil means unmanaged. Desired: packages by name (same
	// catalog) or id, groups by name or id; observed: ids.
	Incompatible *Incompatible `json:"incompatible,omitempty"`
	// RepairDelivery re-processes delivered assignments whose group
	// membership is missing.
	RepairDelivery bool `json:"repairDelivery,omitempty"`
	Absent         bool `json:"absent,omitempty"`
	Pos            Pos  `json:"-"`
}

// Key is the package's natural key: catalog and display name.
func (p *AccessPackage) Key() string { return NameKey(p.Catalog) + "/" + NameKey(p.DisplayName) }

// PackageAddress is the address of an access package in plans.
func PackageAddress(catalog, name string) string {
	return fmt.Sprintf("access_package[%q/%q]", catalog, name)
}

// Address is the package's address.
func (p *AccessPackage) Address() string { return PackageAddress(p.Catalog, p.DisplayName) }

// RoleScope is one resource role of a package: a group's Member or Owner
// role, an application's app role, or a SharePoint site's role.
type RoleScope struct {
	// Group names the group (desired: name or id; observed: id), or, with
	// Kind ServicePrincipal, the application (desired: display name or
	// appId; observed: service principal id), or, with Kind SiteKind, the
	// SharePoint site (its URL, without a trailing slash).
	Group Ref `json:"group"`
	// Role is "Member" or "Owner" for a group; for an application the app
	// role's value (desired) or id (observed); for a site the role's
	// display name (desired) or originId (observed).
	Role string `json:"role"`
	// RolePos is where the spec writes role: (desired).
	RolePos Pos `json:"-"`
	// ID is the observed resourceRoleScope id.
	ID string `json:"id,omitempty"`
}

// SiteRole is a role of a SharePoint site resource in a catalog: Graph's
// accessPackageResourceRole with originSystem SharePointOnline, whose
// originId is the site group's number ("4") and whose displayName is the
// group's name ("Contoso Members").
type SiteRole struct {
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName"`
}

// Policy is an assignment policy, keyed by display name within its package.
// Body holds the policy in Graph's v1.0 JSON shape. In desired state it
// holds only the properties the spec sets; the planner compares those and
// nothing else, and the applier writes the observed body with them merged
// in, so Graph's defaults and server-set fields never read as drift.
type Policy struct {
	DisplayName string         `json:"displayName"`
	ID          string         `json:"id,omitempty"`
	Body        map[string]any `json:"body"`
	Pos         Pos            `json:"-"`
}

// AssignmentSet is the managed set of a package's assignments.
type AssignmentSet struct {
	Mode Mode `json:"mode"`
	// Policy is the display name of the policy admin-made assignments use.
	Policy string `json:"policy,omitempty"`
	// Targets are users (by UPN, mail or id), sorted and unique.
	Targets []Ref `json:"targets"`
	// GroupMembers are groups whose members are all assigned (desired).
	GroupMembers []Ref `json:"groupMembers,omitempty"`
	// Invite, when set, invites targets that are not in the directory as
	// guests.
	Invite *Invite `json:"invite,omitempty"`
	// Live are the observed assignments.
	Live []Assignment `json:"live,omitempty"`
	// Limit overrides Settings.RemovalsPerSet for this set.
	Limit *Limit `json:"limit,omitempty"`
	Pos   Pos    `json:"-"`
}

// Invite says how to invite missing targets.
type Invite struct {
	RedirectURL string `json:"redirectUrl"`
	SendMail    bool   `json:"sendMail"`
}

// Assignment is an observed access-package assignment.
type Assignment struct {
	ID       string `json:"id"`
	TargetID string `json:"targetId"`
	PolicyID string `json:"policyId"`
	// State is Graph's state, lower-cased: delivering, delivered, ...
	State string `json:"state"`
	// MissingMembership is set when the assignment is delivered but a group
	// the package grants does not list the target (delivery repair).
	MissingMembership bool `json:"missingMembership,omitempty"`
	// Since is when the assignment took effect (Graph's
	// schedule.startDateTime); zero when Graph gives none.
	Since time.Time `json:"since,omitzero"`
}

// Active reports whether the assignment holds or is getting access.
func (a Assignment) Active() bool {
	switch strings.ToLower(a.State) {
	case "delivered", "delivering", "partiallydelivered", "pendingapproval", "submitted", "scheduled":
		return true
	}
	return false
}

// Incompatible lists what an access package excludes.
type Incompatible struct {
	Packages []Ref `json:"packages"`
	Groups   []Ref `json:"groups"`
}

// PackageKind is the kind of a Ref to an access package.
const PackageKind PrincipalKind = "accessPackage"

// SiteKind is the kind of a Ref to a SharePoint site (Value is its URL).
const SiteKind PrincipalKind = "sharePointSite"

// AppPrincipal is an application's service principal as observed, with
// the app roles a plan can name.
type AppPrincipal struct {
	ID          string    `json:"id"`
	AppID       string    `json:"appId"`
	DisplayName string    `json:"displayName"`
	AppRoles    []AppRole `json:"appRoles,omitempty"`
	// Scopes are the delegated permissions it exposes
	// (oauth2PermissionScopes), by value.
	Scopes []AppRole `json:"scopes,omitempty"`
}

// AppRole is an application's role, named by value in specs.
type AppRole struct {
	ID          string `json:"id"`
	Value       string `json:"value"`
	DisplayName string `json:"displayName,omitempty"`
}
