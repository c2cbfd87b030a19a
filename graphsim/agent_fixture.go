package graphsim

import (
	"fmt"
	"strings"
	"time"
)

// Fixture format of Agent ID and permission objects (README §1, §2).
// Agent identities and blueprint principals are fixture service principals
// with "@odata.type" set; agent users are fixture users with
// identityParentId. Blueprints, app role assignments and delegated grants
// have their own arrays.

// Blueprint is an agentIdentityBlueprint (an application).
type Blueprint struct {
	ID                     string            `json:"id,omitempty"`
	AppID                  string            `json:"appId,omitempty"`
	DisplayName            string            `json:"displayName"`
	Description            string            `json:"description,omitempty"`
	UniqueName             string            `json:"uniqueName,omitempty"`
	IdentifierURIs         []string          `json:"identifierUris,omitempty"`
	OAuth2PermissionScopes []PermissionScope `json:"oauth2PermissionScopes,omitempty"`
	Tags                   []string          `json:"tags,omitempty"`
	// Sponsors and Owners: object ids, or userPrincipalNames of fixture users.
	Sponsors                     []string                 `json:"sponsors,omitempty"`
	Owners                       []string                 `json:"owners,omitempty"`
	InheritablePermissions       []InheritablePermission  `json:"inheritablePermissions,omitempty"`
	FederatedIdentityCredentials []AppFederatedCredential `json:"federatedIdentityCredentials,omitempty"`
	CreatedDateTime              *time.Time               `json:"createdDateTime,omitempty"`
	// DeletedDateTime marks a soft-deleted blueprint (written by Save).
	DeletedDateTime *time.Time `json:"deletedDateTime,omitempty"`
}

// PermissionScope is Graph's permissionScope (a delegated permission).
type PermissionScope struct {
	ID                      string `json:"id"`
	Value                   string `json:"value,omitempty"`
	Type                    string `json:"type,omitempty"` // User (default) or Admin
	AdminConsentDisplayName string `json:"adminConsentDisplayName,omitempty"`
	AdminConsentDescription string `json:"adminConsentDescription,omitempty"`
	UserConsentDisplayName  string `json:"userConsentDisplayName,omitempty"`
	UserConsentDescription  string `json:"userConsentDescription,omitempty"`
	IsEnabled               *bool  `json:"isEnabled,omitempty"` // default true
}

// InheritablePermission is one inheritablePermission of a blueprint.
type InheritablePermission struct {
	ResourceAppID string `json:"resourceAppId"`
	// Kind is allAllowed, enumerated or none.
	Kind   string   `json:"kind"`
	Scopes []string `json:"scopes,omitempty"`
}

// AppFederatedCredential is a federatedIdentityCredential stored on an
// application (blueprint).
type AppFederatedCredential struct {
	ID          string   `json:"id,omitempty"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Description string   `json:"description,omitempty"`
	Audiences   []string `json:"audiences"`
}

// AppRoleAssignment grants an app role of Resource (service principal id)
// to Principal (service principal, user or group id).
type AppRoleAssignment struct {
	ID              string     `json:"id,omitempty"`
	PrincipalID     string     `json:"principalId"`
	ResourceID      string     `json:"resourceId"`
	AppRoleID       string     `json:"appRoleId"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
}

// OAuth2PermissionGrant is a delegated permission grant.
type OAuth2PermissionGrant struct {
	ID          string `json:"id,omitempty"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"` // AllPrincipals or Principal
	PrincipalID string `json:"principalId,omitempty"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

const (
	odataAgentIdentity    = "#microsoft.graph.agentIdentity"
	odataBlueprintPrinc   = "#microsoft.graph.agentIdentityBlueprintPrincipal"
	odataBlueprint        = "#microsoft.graph.agentIdentityBlueprint"
	odataAgentUser        = "#microsoft.graph.agentUser"
	graphResourceAppID    = graphAppID
	defaultTokenAudience  = DefaultFederatedAudience
	maxFICsPerApplication = 20
)

// validateAgents checks the Agent ID part of a fixture; ids holds the
// directory object ids seen so far (lower-case → kind).
func (f *Fixture) validateAgents(ids map[string]string, upns map[string]bool) error {
	uniq := map[string]bool{}
	for _, b := range f.Blueprints {
		if b.DisplayName == "" {
			return fmt.Errorf("graphsim: fixture blueprint %s has no displayName", b.ID)
		}
		if b.ID != "" {
			if !isGUID(b.ID) {
				return fmt.Errorf("graphsim: fixture blueprint id %q is not a GUID", b.ID)
			}
			if prev, ok := ids[strings.ToLower(b.ID)]; ok {
				return fmt.Errorf("graphsim: fixture id %s used by both a %s and a blueprint", b.ID, prev)
			}
			ids[strings.ToLower(b.ID)] = "blueprint"
		}
		if b.UniqueName != "" {
			if uniq[strings.ToLower(b.UniqueName)] {
				return fmt.Errorf("graphsim: duplicate blueprint uniqueName %q", b.UniqueName)
			}
			uniq[strings.ToLower(b.UniqueName)] = true
		}
		for _, p := range b.InheritablePermissions {
			if !oneOf(p.Kind, "allAllowed", "enumerated", "none") {
				return fmt.Errorf("graphsim: blueprint %q: inheritable permission kind %q (allAllowed, enumerated or none)", b.DisplayName, p.Kind)
			}
		}
	}
	resolves := func(ref string) bool {
		return ids[strings.ToLower(ref)] != "" || upns[strings.ToLower(ref)]
	}
	for _, b := range f.Blueprints {
		for _, ref := range append(append([]string{}, b.Sponsors...), b.Owners...) {
			if !resolves(ref) {
				return fmt.Errorf("graphsim: blueprint %q references unknown object %q", b.DisplayName, ref)
			}
		}
	}
	for _, sp := range f.ServicePrincipals {
		for _, ref := range sp.Sponsors {
			if !resolves(ref) {
				return fmt.Errorf("graphsim: service principal %q references unknown sponsor %q", sp.DisplayName, ref)
			}
		}
	}
	parents := map[string]bool{}
	for _, u := range f.Users {
		if u.IdentityParentID == "" {
			continue
		}
		k := strings.ToLower(u.IdentityParentID)
		if parents[k] {
			return fmt.Errorf("graphsim: two agent users have identityParentId %s", u.IdentityParentID)
		}
		parents[k] = true
	}
	for _, a := range f.AppRoleAssignments {
		if !resolves(a.PrincipalID) || !resolves(a.ResourceID) {
			return fmt.Errorf("graphsim: app role assignment %s references unknown objects", a.ID)
		}
	}
	for _, g := range f.OAuth2PermissionGrants {
		if !resolves(g.ClientID) || !resolves(g.ResourceID) {
			return fmt.Errorf("graphsim: oauth2PermissionGrant %s references unknown objects", g.ID)
		}
		if !oneOf(g.ConsentType, "AllPrincipals", "Principal") {
			return fmt.Errorf("graphsim: oauth2PermissionGrant %s: consentType %q", g.ID, g.ConsentType)
		}
	}
	return nil
}
