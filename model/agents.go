package model

// Agent ID: blueprints (with their principal) and agent identities.

import (
	"fmt"
	"time"
)

// Blueprint is an agent identity blueprint, keyed by display name. Graph
// upserts blueprints by uniqueName, which entrasync derives when the spec
// gives none.
type Blueprint struct {
	DisplayName string  `json:"displayName"`
	UniqueName  string  `json:"uniqueName,omitempty"`
	Description *string `json:"description,omitempty"`
	// Sponsors are users and groups (desired: names; observed: ids); nil
	// means unmanaged.
	Sponsors *[]Ref    `json:"sponsors,omitempty"`
	Tags     *[]string `json:"tags,omitempty"`
	// Owners are users (desired: UPNs; observed: ids); nil means
	// unmanaged. The list is additive: owners not listed stay, since Entra
	// makes the creator an owner.
	Owners *[]Ref `json:"owners,omitempty"`
	// Inheritable are the delegated permissions the blueprint's agent
	// identities inherit, per resource; nil means unmanaged.
	Inheritable *[]InheritablePermission `json:"inheritable,omitempty"`
	// Credentials are the blueprint's federated identity credentials, by
	// name; nil means unmanaged. Secrets and certificates are never in a spec.
	Credentials *[]FederatedCredential `json:"federatedCredentials,omitempty"`
	// Scopes are the delegated permissions the blueprint exposes
	// (api.oauth2PermissionScopes); nil means unmanaged. IdentifierURIs are
	// observed only: entrasync sets api://{appId} when exposing the first.
	Scopes         *[]ExposedScope `json:"exposedScopes,omitempty"`
	IdentifierURIs []string        `json:"identifierUris,omitempty"`
	Absent         bool            `json:"absent,omitempty"`
	// Observed: the application object id, its appId and the blueprint
	// principal's id ("" when the principal does not exist).
	ID          string `json:"id,omitempty"`
	AppID       string `json:"appId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	Pos         Pos    `json:"-"`
}

// Key is the blueprint's natural key.
func (b *Blueprint) Key() string { return NameKey(b.DisplayName) }

// BlueprintAddress is the address of a blueprint in plans.
func BlueprintAddress(name string) string { return fmt.Sprintf("blueprint[%q]", name) }

// AgentIdentity is an agent identity, keyed by display name within its
// blueprint.
type AgentIdentity struct {
	DisplayName string `json:"displayName"`
	// Blueprint is its blueprint's display name (desired), or the
	// blueprint's appId (observed: agentIdentityBlueprintId).
	Blueprint string    `json:"blueprint"`
	Sponsors  *[]Ref    `json:"sponsors,omitempty"`
	Tags      *[]string `json:"tags,omitempty"`
	Enabled   *bool     `json:"enabled,omitempty"`
	// Created is when Entra created it (observed).
	Created *time.Time `json:"createdDateTime,omitempty"`
	Absent  bool       `json:"absent,omitempty"`
	ID      string     `json:"id,omitempty"`
	Pos     Pos        `json:"-"`
}

// AgentIdentityAddress is the address of an agent identity in plans.
func AgentIdentityAddress(blueprint, name string) string {
	return fmt.Sprintf("agent_identity[%q/%q]", blueprint, name)
}

// AgentUser is an agent's user account, keyed by userPrincipalName; one per
// agent identity, its parent.
type AgentUser struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	MailNickname      string `json:"mailNickname,omitempty"`
	// Identity and Blueprint name the parent agent identity (desired);
	// observed, Identity is the parent's id (identityParentId).
	Identity  string `json:"identity"`
	Blueprint string `json:"blueprint,omitempty"`
	Absent    bool   `json:"absent,omitempty"`
	ID        string `json:"id,omitempty"`
	Pos       Pos    `json:"-"`
}

// AgentUserAddress is the address of an agent user in plans.
func AgentUserAddress(upn string) string { return fmt.Sprintf("agent_user[%q]", upn) }

// InheritablePermission is a resource whose delegated permissions a
// blueprint's agent identities inherit: all of them, or the listed scopes.
type InheritablePermission struct {
	// Resource names the resource application (desired: display name or
	// appId); ResourceAppID is its appId (observed, or resolved).
	Resource      Ref      `json:"resource"`
	ResourceAppID string   `json:"resourceAppId,omitempty"`
	All           bool     `json:"all,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
	Pos           Pos      `json:"-"`
}

// FederatedCredential is a federated identity credential: tokens from
// Issuer for Subject, with Audience, let the application sign in without a
// secret. Name is its natural key (immutable in Graph).
type FederatedCredential struct {
	Name     string `json:"name"`
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Audience string `json:"audience"`
	ID       string `json:"id,omitempty"` // observed
	Pos      Pos    `json:"-"`
}

// TokenExchangeAudience is the audience Entra expects of federated credentials.
const TokenExchangeAudience = "api://AzureADTokenExchange"

// LifecycleRule selects agent identities of the tenant, declared in the spec
// or not, by blueprint, tags and age; the plan reports them, and disables
// them when Disable is set. It never deletes one.
type LifecycleRule struct {
	Name string `json:"name"`
	// Blueprint narrows the rule to one blueprint's identities (display
	// name); empty selects every blueprint.
	Blueprint string `json:"blueprint,omitempty"`
	// Tags must all be on the identity (as the spec declares them for a
	// declared identity, as Graph has them for any other); none selects
	// every identity.
	Tags          []string `json:"tags,omitempty"`
	OlderThanDays int      `json:"olderThanDays"`
	Disable       bool     `json:"disable,omitempty"`
	Pos           Pos      `json:"-"`
}

// LifecycleRuleAddress is the address of a lifecycle rule in diagnostics.
func LifecycleRuleAddress(name string) string { return fmt.Sprintf("lifecycle[%q]", name) }

// AgeDays is how many whole days old something created at created is at now.
func AgeDays(created, now time.Time) int { return int(now.Sub(created).Hours() / 24) }

// ExposedScope is a delegated permission an application exposes, keyed by
// Value.
type ExposedScope struct {
	Value       string `json:"value"`
	DisplayName string `json:"displayName"` // adminConsentDisplayName
	Description string `json:"description"` // adminConsentDescription
	Type        string `json:"type"`        // User or Admin
	// Observed: the scope's id and whether it is enabled.
	ID      string `json:"id,omitempty"`
	Enabled bool   `json:"enabled,omitempty"`
	Pos     Pos    `json:"-"`
}
