package appliers

import (
	"context"
	"fmt"
	"strings"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// The grant operations.
const (
	OpGrantAppRole    OpKind = "grantAppRole"
	OpRevokeAppRole   OpKind = "revokeAppRole"
	OpSetDelegated    OpKind = "setDelegatedGrant"
	OpDeleteDelegated OpKind = "deleteDelegatedGrant"
)

// GrantGraph is what grant appliers need from Graph.
type GrantGraph interface {
	GrantAppRole(ctx context.Context, resourceID, principalID, appRoleID string) error
	RevokeAppRole(ctx context.Context, resourceID, assignmentID string) error
	SetDelegatedGrant(ctx context.Context, id, clientID, resourceID string, scopes []string) error
	DeleteDelegatedGrant(ctx context.Context, id string) error
}

var _ GrantGraph = (*graph.Client)(nil)

// compileGrant turns a grant change into app role assignments and their
// removals.
func compileGrant(c *planner.Change, ids IDs) []Op {
	res, principal := c.Parents["resource"].ID, c.ObjectID
	if principal == "" {
		// The principal is an agent identity created earlier in this apply.
		principal = parent(c, "principal", ids)
	}
	var ops []Op
	for _, r := range c.Roles.Add {
		ops = append(ops, Op{Change: c.Address, Kind: OpGrantAppRole, Method: "POST", Path: "/servicePrincipals/" + res + "/appRoleAssignedTo",
			Body: map[string]any{"principalId": principal, "resourceId": res, "appRoleId": r.RoleID}, GroupID: res, MemberIDs: []string{principal, r.RoleID}})
	}
	for _, r := range c.Roles.Remove {
		ops = append(ops, Op{Change: c.Address, Kind: OpRevokeAppRole, Method: "DELETE", Path: "/servicePrincipals/" + res + "/appRoleAssignedTo/" + r.ID,
			GroupID: res, MemberIDs: []string{r.ID}})
	}
	return ops
}

// compileDelegated turns a delegated-grant change into one PATCH of the
// existing grant, or one POST when there is none.
func compileDelegated(c *planner.Change, ids IDs) []Op {
	res, principal := c.Parents["resource"].ID, c.ObjectID
	client := c.Parents["principal"].ID
	if client == "" {
		client = parent(c, "principal", ids)
	}
	if c.Action == planner.Delete {
		return []Op{{Change: c.Address, Kind: OpDeleteDelegated, Method: "DELETE", Path: "/oauth2PermissionGrants/" + principal,
			GroupID: res, UniqueName: principal}}
	}
	scope, _ := c.Fields[0].After.(string)
	if principal != "" {
		return []Op{{Change: c.Address, Kind: OpSetDelegated, Method: "PATCH", Path: "/oauth2PermissionGrants/" + principal,
			Body: map[string]any{"scope": scope}, GroupID: res, UniqueName: principal, MemberIDs: []string{client, scope}}}
	}
	return []Op{{Change: c.Address, Kind: OpSetDelegated, Method: "POST", Path: "/oauth2PermissionGrants",
		Body:    map[string]any{"clientId": client, "consentType": "AllPrincipals", "resourceId": res, "scope": scope},
		GroupID: res, MemberIDs: []string{client, scope}}}
}

func (e *executor) grantOp(ctx context.Context, op Op) error {
	g, ok := e.g.(GrantGraph)
	if !ok {
		return fmt.Errorf("this Graph client cannot grant permissions")
	}
	switch op.Kind {
	case OpGrantAppRole:
		return g.GrantAppRole(ctx, op.GroupID, op.MemberIDs[0], op.MemberIDs[1])
	case OpSetDelegated:
		return g.SetDelegatedGrant(ctx, op.UniqueName, op.MemberIDs[0], op.GroupID, strings.Fields(op.MemberIDs[1]))
	case OpDeleteDelegated:
		return g.DeleteDelegatedGrant(ctx, op.UniqueName)
	}
	return g.RevokeAppRole(ctx, op.GroupID, op.MemberIDs[0])
}
