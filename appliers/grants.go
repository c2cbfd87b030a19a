package appliers

import (
	"context"
	"fmt"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// The grant operations.
const (
	OpGrantAppRole  OpKind = "grantAppRole"
	OpRevokeAppRole OpKind = "revokeAppRole"
)

// GrantGraph is what grant appliers need from Graph.
type GrantGraph interface {
	GrantAppRole(ctx context.Context, resourceID, principalID, appRoleID string) error
	RevokeAppRole(ctx context.Context, resourceID, assignmentID string) error
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

func (e *executor) grantOp(ctx context.Context, op Op) error {
	g, ok := e.g.(GrantGraph)
	if !ok {
		return fmt.Errorf("this Graph client cannot grant permissions")
	}
	if op.Kind == OpGrantAppRole {
		return g.GrantAppRole(ctx, op.GroupID, op.MemberIDs[0], op.MemberIDs[1])
	}
	return g.RevokeAppRole(ctx, op.GroupID, op.MemberIDs[0])
}
