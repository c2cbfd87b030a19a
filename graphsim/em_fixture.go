package graphsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Fixture format of entitlement management (README §6). The same types are
// written by Save, so every piece of EM state round-trips. Ids left empty
// are generated from Options.Seed.

// AppRole is an app role of a fixture service principal. Catalog resources
// with originSystem AadApplication expose the enabled app roles of their
// service principal as resource roles; an app role whose allowedMemberTypes
// contains "Application" is an application permission (resource role type
// "application", e.g. the Microsoft Graph service principal's roles).
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value,omitempty"`
	DisplayName        string   `json:"displayName,omitempty"`
	Description        string   `json:"description,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
	IsEnabled          *bool    `json:"isEnabled,omitempty"` // default true
}

// Catalog is an accessPackageCatalog with its resources.
type Catalog struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	// CatalogType: userManaged (default) or serviceDefault (the built-in
	// "General" catalog).
	CatalogType string `json:"catalogType,omitempty"`
	// State: published (default) or unpublished.
	State               string            `json:"state,omitempty"`
	IsExternallyVisible *bool             `json:"isExternallyVisible,omitempty"` // default true
	CreatedDateTime     *time.Time        `json:"createdDateTime,omitempty"`
	ModifiedDateTime    *time.Time        `json:"modifiedDateTime,omitempty"`
	Resources           []CatalogResource `json:"resources,omitempty"`
	// CustomWorkflowExtensions are v1.0 custom extension bodies
	// (accessPackageAssignmentRequestWorkflowExtension or
	// accessPackageAssignmentWorkflowExtension, "@odata.type" required) in
	// Graph's JSON shape; validated like a POST, they may carry id,
	// createdDateTime and lastModifiedDateTime. Policies reference them by
	// id in customExtensionStageSettings.
	CustomWorkflowExtensions []json.RawMessage `json:"customWorkflowExtensions,omitempty"`
}

// CatalogResource is an accessPackageResource in a catalog. Roles and
// Scopes are derived from the origin object when omitted (group: Member and
// Owner; application: its app roles; SharePoint site: "<title> Owners",
// "<title> Members", "<title> Visitors"; one root scope).
type CatalogResource struct {
	ID              string          `json:"id,omitempty"`
	OriginID        string          `json:"originId"`
	OriginSystem    string          `json:"originSystem"` // AadGroup, AadApplication, SharePointOnline
	DisplayName     string          `json:"displayName,omitempty"`
	Description     string          `json:"description,omitempty"`
	CreatedDateTime *time.Time      `json:"createdDateTime,omitempty"`
	Roles           []ResourceRole  `json:"roles,omitempty"`
	Scopes          []ResourceScope `json:"scopes,omitempty"`
}

// ResourceRole is an accessPackageResourceRole.
type ResourceRole struct {
	ID          string `json:"id,omitempty"`
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is the v1.0 roleType: application/delegated for API
	// permissions, empty (null) otherwise.
	Type string `json:"type,omitempty"`
	// Value is the app role value (permission name) of application roles;
	// it is how a blocked-for-agents permission is recognised. Not a Graph
	// property of the resource role.
	Value string `json:"value,omitempty"`
}

// ResourceScope is an accessPackageResourceScope.
type ResourceScope struct {
	ID          string `json:"id,omitempty"`
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	IsRootScope bool   `json:"isRootScope,omitempty"`
}

// AccessPackage is an accessPackage with everything it contains.
type AccessPackage struct {
	ID               string     `json:"id,omitempty"`
	CatalogID        string     `json:"catalogId"`
	DisplayName      string     `json:"displayName"`
	Description      string     `json:"description,omitempty"`
	IsHidden         bool       `json:"isHidden,omitempty"`
	CreatedDateTime  *time.Time `json:"createdDateTime,omitempty"`
	ModifiedDateTime *time.Time `json:"modifiedDateTime,omitempty"`
	// ResourceRoleScopes name roles of resources in the package's catalog.
	ResourceRoleScopes []RoleScope `json:"resourceRoleScopes,omitempty"`
	// IncompatibleAccessPackages are access package ids; IncompatibleGroups
	// group ids.
	IncompatibleAccessPackages []string `json:"incompatibleAccessPackages,omitempty"`
	IncompatibleGroups         []string `json:"incompatibleGroups,omitempty"`
	// AssignmentPolicies are v1.0 accessPackageAssignmentPolicy bodies in
	// Graph's JSON shape (as POSTed, without accessPackage); they are
	// validated like a POST and may carry id/createdDateTime/
	// modifiedDateTime.
	AssignmentPolicies []json.RawMessage `json:"assignmentPolicies,omitempty"`
	// Assignments are existing assignments. Fixture assignments do not
	// create group memberships: the groups' members in the fixture are the
	// truth, so a delivered assignment whose membership is missing can be
	// seeded for delivery-repair tests.
	Assignments []Assignment `json:"assignments,omitempty"`
}

// RoleScope is an accessPackageResourceRoleScope: a role of a catalog
// resource, by the role's originId (e.g. "Member_<groupId>"), at a scope
// (by originId; default the resource's root scope).
type RoleScope struct {
	ID              string     `json:"id,omitempty"` // "<roleId>_<scopeId>", derived
	RoleOriginID    string     `json:"roleOriginId"`
	ScopeOriginID   string     `json:"scopeOriginId,omitempty"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
}

// Assignment is an accessPackageAssignment.
type Assignment struct {
	ID       string `json:"id,omitempty"`
	TargetID string `json:"targetId,omitempty"`
	// TargetEmail: an external user who is created (as a guest) when
	// the assignment is delivered; TargetID stays empty until then.
	TargetEmail        string `json:"targetEmail,omitempty"`
	AssignmentPolicyID string `json:"assignmentPolicyId"`
	// State: delivering, delivered (default), expired, deliveryFailed.
	State           string     `json:"state,omitempty"`
	Status          string     `json:"status,omitempty"`
	StartDateTime   *time.Time `json:"startDateTime,omitempty"`
	ExpiredDateTime *time.Time `json:"expiredDateTime,omitempty"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
}

// AssignmentRequest is an accessPackageAssignmentRequest (written by Save;
// fixtures rarely need them). A request in state submitted or delivering
// is processed DeliveryDelay after its creation.
type AssignmentRequest struct {
	ID                 string     `json:"id,omitempty"`
	RequestType        string     `json:"requestType"`
	State              string     `json:"state"`
	Status             string     `json:"status,omitempty"`
	AccessPackageID    string     `json:"accessPackageId,omitempty"`
	AssignmentPolicyID string     `json:"assignmentPolicyId,omitempty"`
	AssignmentID       string     `json:"assignmentId,omitempty"`
	TargetID           string     `json:"targetId,omitempty"`
	Justification      string     `json:"justification,omitempty"`
	CreatedDateTime    *time.Time `json:"createdDateTime,omitempty"`
	CompletedDateTime  *time.Time `json:"completedDateTime,omitempty"`
}

// ResourceRequest is an accessPackageResourceRequest (written by Save).
type ResourceRequest struct {
	ID              string     `json:"id,omitempty"`
	RequestType     string     `json:"requestType"`
	State           string     `json:"state"`
	CatalogID       string     `json:"catalogId,omitempty"`
	ResourceID      string     `json:"resourceId,omitempty"`
	OriginID        string     `json:"originId,omitempty"`
	OriginSystem    string     `json:"originSystem,omitempty"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
}

// validateEM checks the entitlement-management part of a fixture: ids are
// GUIDs and unique per kind, references between EM objects resolve, and
// group/service-principal origins exist in the fixture. Policy bodies are
// checked when the store is built (they need the directory).
func (f *Fixture) validateEM() error {
	dir := map[string]bool{}
	for _, u := range f.Users {
		dir[strings.ToLower(u.ID)] = true
	}
	for _, g := range f.Groups {
		dir[strings.ToLower(g.ID)] = true
	}
	for _, s := range f.ServicePrincipals {
		dir[strings.ToLower(s.ID)] = true
	}
	seen := map[string]bool{}
	id := func(kind, v string, required bool) error {
		if v == "" {
			if required {
				return fmt.Errorf("graphsim: fixture %s without id", kind)
			}
			return nil
		}
		if !isGUID(v) {
			return fmt.Errorf("graphsim: fixture %s id %q is not a GUID", kind, v)
		}
		k := kind + "/" + strings.ToLower(v)
		if seen[k] {
			return fmt.Errorf("graphsim: duplicate fixture %s id %s", kind, v)
		}
		seen[k] = true
		return nil
	}
	catalogs := map[string]*Catalog{}
	for i := range f.Catalogs {
		c := &f.Catalogs[i]
		if c.DisplayName == "" {
			return fmt.Errorf("graphsim: fixture catalog %s has no displayName", c.ID)
		}
		if err := id("catalog", c.ID, false); err != nil {
			return err
		}
		if c.ID != "" {
			catalogs[strings.ToLower(c.ID)] = c
		}
		if c.CatalogType != "" && !oneOf(c.CatalogType, "userManaged", "serviceDefault", "serviceManaged") {
			return fmt.Errorf("graphsim: catalog %q: catalogType %q", c.DisplayName, c.CatalogType)
		}
		if c.State != "" && !oneOf(c.State, "published", "unpublished") {
			return fmt.Errorf("graphsim: catalog %q: state %q", c.DisplayName, c.State)
		}
		for _, r := range c.Resources {
			if err := id("resource", r.ID, false); err != nil {
				return err
			}
			switch r.OriginSystem {
			case "AadGroup", "AadApplication":
				// Saved state keeps the roles of resources whose object
				// was deleted since; only derived roles need the object.
				if len(r.Roles) == 0 && !dir[strings.ToLower(r.OriginID)] {
					return fmt.Errorf("graphsim: catalog %q resource %s %s: no such object in the fixture", c.DisplayName, r.OriginSystem, r.OriginID)
				}
			case "SharePointOnline":
				if !strings.HasPrefix(strings.ToLower(r.OriginID), "https://") {
					return fmt.Errorf("graphsim: catalog %q SharePoint resource %q is not a site URL", c.DisplayName, r.OriginID)
				}
			default:
				return fmt.Errorf("graphsim: catalog %q resource %s: originSystem %q", c.DisplayName, r.OriginID, r.OriginSystem)
			}
			for _, ro := range r.Roles {
				if err := id("resourceRole", ro.ID, false); err != nil {
					return err
				}
			}
			for _, sc := range r.Scopes {
				if err := id("resourceScope", sc.ID, false); err != nil {
					return err
				}
			}
		}
	}
	pkgs := map[string]bool{}
	policies := map[string]bool{}
	assignments := map[string]bool{}
	for _, p := range f.AccessPackages {
		if p.DisplayName == "" {
			return fmt.Errorf("graphsim: fixture access package %s has no displayName", p.ID)
		}
		if err := id("accessPackage", p.ID, false); err != nil {
			return err
		}
		pkgs[strings.ToLower(p.ID)] = true
		if p.CatalogID == "" || catalogs[strings.ToLower(p.CatalogID)] == nil {
			return fmt.Errorf("graphsim: access package %q: catalogId %q is not a fixture catalog with an id", p.DisplayName, p.CatalogID)
		}
		for _, raw := range p.AssignmentPolicies {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("graphsim: access package %q: policy: %v", p.DisplayName, err)
			}
			if err := id("assignmentPolicy", m.ID, false); err != nil {
				return err
			}
			policies[strings.ToLower(m.ID)] = true
		}
		for _, a := range p.Assignments {
			if err := id("assignment", a.ID, false); err != nil {
				return err
			}
			assignments[strings.ToLower(a.ID)] = true
			if !dir[strings.ToLower(a.TargetID)] && (a.TargetID != "" || a.TargetEmail == "") {
				return fmt.Errorf("graphsim: access package %q: assignment target %q is not a fixture object id", p.DisplayName, a.TargetID)
			}
			if a.AssignmentPolicyID == "" || !policies[strings.ToLower(a.AssignmentPolicyID)] {
				return fmt.Errorf("graphsim: access package %q: assignment policy %q is not one of its policies (give policies ids)", p.DisplayName, a.AssignmentPolicyID)
			}
			if a.State != "" && !oneOf(a.State, "delivering", "delivered", "expired", "deliveryFailed", "partiallyDelivered") {
				return fmt.Errorf("graphsim: access package %q: assignment state %q", p.DisplayName, a.State)
			}
		}
	}
	for _, p := range f.AccessPackages {
		for _, ref := range p.IncompatibleAccessPackages {
			if !pkgs[strings.ToLower(ref)] {
				return fmt.Errorf("graphsim: access package %q: incompatible access package %q is not a fixture package", p.DisplayName, ref)
			}
		}
		for _, ref := range p.IncompatibleGroups {
			if !dir[strings.ToLower(ref)] {
				return fmt.Errorf("graphsim: access package %q: incompatible group %q is not a fixture group", p.DisplayName, ref)
			}
		}
	}
	for _, r := range f.AssignmentRequests {
		if err := id("assignmentRequest", r.ID, false); err != nil {
			return err
		}
	}
	for _, r := range f.ResourceRequests {
		if err := id("resourceRequest", r.ID, false); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
