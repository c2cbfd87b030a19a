package model

// Grant is a set of application permissions (app roles of a resource
// application) held by one principal: a service principal, an agent
// identity or a blueprint principal. It is keyed by principal and resource.
type Grant struct {
	// Principal names who holds the permissions: desired by display name,
	// appId or object id; observed by object id.
	Principal Ref `json:"principal"`
	// Resource names the resource application: desired by display name or
	// appId; observed by its service principal id.
	Resource Ref `json:"resource"`
	// AppRoles are the application permissions by value (desired), or the
	// assignments as observed (ID set).
	AppRoles []GrantedRole `json:"appRoles"`
	// Scopes are delegated permissions (desired: names; observed: the
	// AllPrincipals grant's scopes), nil when unmanaged; ScopeGrantID is the
	// observed oauth2PermissionGrant's id.
	Scopes       *[]string `json:"scopes,omitempty"`
	ScopeGrantID string    `json:"scopeGrantId,omitempty"`
	// Mode: additive only grants; authoritative also revokes what is not
	// listed.
	Mode Mode `json:"mode"`
	Pos  Pos  `json:"-"`
}

// GrantedRole is one application permission of a grant.
type GrantedRole struct {
	// Value is the permission's name, e.g. User.Read.All (desired).
	Value string `json:"value,omitempty"`
	// RoleID is the app role's id; ID the app role assignment's (observed).
	RoleID string `json:"roleId,omitempty"`
	ID     string `json:"id,omitempty"`
	Pos    Pos    `json:"-"`
}
