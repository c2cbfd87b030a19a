package appliers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// The Agent ID operations.
const (
	OpUpsertBlueprint   OpKind = "upsertBlueprint"
	OpUpdateBlueprint   OpKind = "updateBlueprint"
	OpDeleteBlueprint   OpKind = "deleteBlueprint"
	OpEnsurePrincipal   OpKind = "createBlueprintPrincipal"
	OpCreateIdentity    OpKind = "createAgentIdentity"
	OpUpdateIdentity    OpKind = "updateAgentIdentity"
	OpDeleteIdentity    OpKind = "deleteAgentIdentity"
	OpAddSponsor        OpKind = "addSponsor"
	OpRemoveSponsor     OpKind = "removeSponsor"
	OpCreateAgentUser   OpKind = "createAgentUser"
	OpDeleteAgentUser   OpKind = "deleteAgentUser"
	OpSetInheritable    OpKind = "setInheritablePermissions"
	OpDeleteInheritable OpKind = "deleteInheritablePermissions"
	OpUpsertCredential  OpKind = "upsertFederatedCredential"
	OpDeleteCredential  OpKind = "deleteFederatedCredential"
	OpSetExposedScopes  OpKind = "setExposedScopes"
	OpAddOwner          OpKind = "addBlueprintOwner"
	blueprintAppIDSufix        = ".appId"
)

// IdentityNamesakes lists a blueprint's agent identities that share a name,
// oldest first; the Graph client has it. With it, an agent identity create
// is checked for namesakes like the entitlement objects.
type IdentityNamesakes interface {
	AgentIdentitiesNamed(ctx context.Context, blueprintAppID, name string) ([]graph.Namesake, error)
}

var _ IdentityNamesakes = (*graph.Client)(nil)

// AgentGraph is what Agent ID appliers need from Graph.
type AgentGraph interface {
	UpsertBlueprint(ctx context.Context, uniqueName string, body map[string]any) (id, appID string, err error)
	UpdateBlueprint(ctx context.Context, id string, body map[string]any) error
	DeleteBlueprint(ctx context.Context, id string) error
	EnsureBlueprintPrincipal(ctx context.Context, appID string) (string, error)
	FindAgentIdentity(ctx context.Context, blueprintAppID, name string) (string, error)
	CreateAgentIdentity(ctx context.Context, body map[string]any) (string, error)
	UpdateAgentIdentity(ctx context.Context, id string, body map[string]any) error
	DeleteAgentIdentity(ctx context.Context, id string) error
	AddSponsor(ctx context.Context, kind, id, sponsorID string) error
	RemoveSponsor(ctx context.Context, kind, id, sponsorID string) error
	FindAgentUser(ctx context.Context, upn string) (string, error)
	CreateAgentUser(ctx context.Context, body map[string]any) (string, error)
	DeleteAgentUser(ctx context.Context, id string) error
	SetInheritable(ctx context.Context, blueprintID, resourceAppID string, all bool, scopes []string, create bool) error
	DeleteInheritable(ctx context.Context, blueprintID, resourceAppID string) error
	UpsertFederatedCredential(ctx context.Context, appID, name string, body map[string]any) error
	DeleteFederatedCredential(ctx context.Context, appID, id string) error
	AddBlueprintOwner(ctx context.Context, id, ownerID string) error
}

var _ AgentGraph = (*graph.Client)(nil)

// compileAgent turns an Agent ID change into operations.
func compileAgent(c *planner.Change, ids IDs) ([]Op, bool) {
	op := func(kind OpKind, method, path string, body any) Op {
		return Op{Change: c.Address, Kind: kind, Method: method, Path: path, Body: body, GroupID: c.ObjectID}
	}
	const bpCast, aiCast = "/microsoft.graph.agentIdentityBlueprint", "/microsoft.graph.agentIdentity"
	switch c.Kind {
	case planner.KindBlueprint:
		switch c.Action {
		case planner.Create:
			body := fieldBody(c.Fields)
			unique, _ := body["uniqueName"].(string)
			delete(body, "uniqueName")
			o := op(OpUpsertBlueprint, "PATCH", "/applications(uniqueName='"+unique+"')"+bpCast, body)
			o.UniqueName = unique
			return []Op{o, op(OpEnsurePrincipal, "POST", "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", map[string]any{"appId": "{" + c.Address + blueprintAppIDSufix + "}"})}, true
		case planner.Update:
			return []Op{op(OpUpdateBlueprint, "PATCH", "/applications/"+c.ObjectID+bpCast, fieldBody(c.Fields))}, true
		case planner.Delete:
			return []Op{op(OpDeleteBlueprint, "DELETE", "/applications/"+c.ObjectID+bpCast, nil)}, true
		}
	case planner.KindBlueprintPrincipal:
		appID, _ := c.Fields[0].After.(string)
		o := op(OpEnsurePrincipal, "POST", "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", map[string]any{"appId": appID})
		o.UniqueName = appID
		return []Op{o}, true
	case planner.KindAgentIdentity:
		switch c.Action {
		case planner.Create:
			bp := parent(c, "blueprint", ids)
			if v, ok := ids.Lookup(c.Parents["blueprint"].Address + blueprintAppIDSufix); ok {
				bp = v
			}
			body := fieldBody(c.Fields)
			body["agentIdentityBlueprintId"] = bp
			var binds, sponsorIDs []string
			for _, m := range c.Members.Add {
				coll := "users"
				if m.Kind == "group" {
					coll = "groups"
				}
				binds = append(binds, "https://graph.microsoft.com/v1.0/"+coll+"/"+m.ID)
				sponsorIDs = append(sponsorIDs, coll+"/"+m.ID)
			}
			body["sponsors@odata.bind"] = binds
			o := op(OpCreateIdentity, "POST", "/servicePrincipals"+aiCast, body)
			o.UniqueName, o.MemberIDs = bp, sponsorIDs
			return []Op{o}, true
		case planner.Update:
			return []Op{op(OpUpdateIdentity, "PATCH", "/servicePrincipals/"+c.ObjectID+aiCast, fieldBody(c.Fields))}, true
		case planner.Delete:
			return []Op{op(OpDeleteIdentity, "DELETE", "/servicePrincipals/"+c.ObjectID+aiCast, nil)}, true
		}
	case planner.KindAgentUser:
		if c.Action == planner.Delete {
			return []Op{op(OpDeleteAgentUser, "DELETE", "/users/"+c.ObjectID, nil)}, true
		}
		body := fieldBody(c.Fields)
		body["identityParentId"] = parent(c, "agentIdentity", ids)
		return []Op{op(OpCreateAgentUser, "POST", "/users/microsoft.graph.agentUser", body)}, true
	case planner.KindInheritable:
		bp, res := parent(c, "blueprint", ids), c.Parents["resource"].ID
		base := "/applications/" + bp + bpCast + "/inheritablePermissions"
		if c.Action == planner.Delete {
			o := op(OpDeleteInheritable, "DELETE", base+"/"+res, nil)
			o.GroupID, o.UniqueName = bp, res
			return []Op{o}, true
		}
		after, _ := c.Fields[0].After.(string)
		scopes := map[string]any{"@odata.type": "microsoft.graph.allAllowedScopes"}
		if after != planner.AllScopes {
			scopes = map[string]any{"@odata.type": "microsoft.graph.enumeratedScopes", "scopes": strings.Fields(after)}
		}
		o := op(OpSetInheritable, "PATCH", base+"/"+res, map[string]any{"inheritableScopes": scopes})
		if c.Action == planner.Create {
			o = op(OpSetInheritable, "POST", base, map[string]any{"resourceAppId": res, "inheritableScopes": scopes})
		}
		o.GroupID, o.UniqueName, o.MemberIDs = bp, res, strings.Fields(after)
		if after == planner.AllScopes {
			o.MemberIDs = []string{planner.AllScopes}
		}
		return []Op{o}, true
	case planner.KindCredential:
		bp := parent(c, "blueprint", ids)
		if c.Action == planner.Delete {
			o := op(OpDeleteCredential, "DELETE", "/applications/"+bp+"/federatedIdentityCredentials/"+c.ObjectID, nil)
			o.GroupID, o.UniqueName = bp, c.ObjectID
			return []Op{o}, true
		}
		body := map[string]any{}
		for _, f := range c.Fields {
			if f.Field == "audience" {
				body["audiences"] = []any{f.After}
			} else {
				body[f.Field] = f.After
			}
		}
		o := op(OpUpsertCredential, "PATCH", "/applications/"+bp+"/federatedIdentityCredentials(name='"+c.Object+"')", body)
		o.GroupID, o.UniqueName = bp, c.Object
		return []Op{o}, true
	case planner.KindOwners:
		bp := parent(c, "blueprint", ids)
		var ops []Op
		for _, m := range c.Members.Add {
			o := op(OpAddOwner, "POST", "/applications/"+bp+bpCast+"/owners/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m.ID})
			o.GroupID, o.MemberIDs = bp, []string{m.ID}
			ops = append(ops, o)
		}
		return ops, true
	case planner.KindExposedScopes:
		bp := parent(c, "blueprint", ids)
		path := "/applications/" + bp + bpCast
		var ops []Op
		if dis, ok := c.Body["disable"]; ok {
			// Graph refuses to drop an enabled scope: disable it first.
			o := op(OpSetExposedScopes, "PATCH", path, dis)
			o.GroupID = bp
			ops = append(ops, o)
		}
		final := normalize(c.Body["final"])
		if uris, ok := final["identifierUris"].([]any); ok {
			app := c.Parents["blueprintApp"]
			appID := app.ID
			if appID == "" {
				appID = "{" + app.Address + "}"
				if v, ok := ids.Lookup(app.Address); ok {
					appID = v
				}
			}
			for i, u := range uris {
				uris[i] = strings.ReplaceAll(fmt.Sprint(u), planner.AppIDPlaceholder, appID)
			}
		}
		o := op(OpSetExposedScopes, "PATCH", path, final)
		o.GroupID = bp
		return append(ops, o), true
	case planner.KindSponsors:
		kind, p := "agentIdentity", c.Parents["agentIdentity"]
		if b, ok := c.Parents["blueprint"]; ok {
			kind, p = "blueprint", b
		}
		id := p.ID
		if id == "" {
			if v, ok := ids.Lookup(p.Address); ok {
				id = v
			} else {
				id = "{" + p.Address + ".id}"
			}
		}
		var ops []Op
		for _, m := range c.Members.Add {
			o := op(OpAddSponsor, "POST", "sponsors of "+p.Address+"/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m.ID})
			o.GroupID, o.UniqueName, o.MemberIDs = id, kind, []string{m.ID}
			ops = append(ops, o)
		}
		for _, m := range c.Members.Remove {
			o := op(OpRemoveSponsor, "DELETE", "sponsors of "+p.Address+"/"+m.ID+"/$ref", nil)
			o.GroupID, o.UniqueName, o.MemberIDs = id, kind, []string{m.ID}
			ops = append(ops, o)
		}
		return ops, true
	}
	return nil, false
}

func (e *executor) agentOp(ctx context.Context, c *planner.Change, op Op) (string, error) {
	g, ok := e.g.(AgentGraph)
	if !ok {
		return "", fmt.Errorf("this Graph client cannot manage Agent ID")
	}
	body, _ := op.Body.(map[string]any)
	switch op.Kind {
	case OpUpsertBlueprint:
		// The upsert answers 204 without a body when the blueprint exists
		// (a resend after a lost answer, or an update), and its id is read
		// back by uniqueName: right after the create, that read may not see
		// it yet. The upsert is safe to repeat, so it is, until the
		// read-back finds the blueprint.
		var id, appID string
		err := e.wait(ctx, "blueprint "+op.UniqueName+" to become readable", func() (bool, error) {
			var err error
			id, appID, err = g.UpsertBlueprint(ctx, op.UniqueName, body)
			if graph.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			return "", err
		}
		e.ids.set(c.Address, id)
		e.ids.set(c.Address+blueprintAppIDSufix, appID)
		return id, nil
	case OpEnsurePrincipal:
		appID := op.UniqueName
		if v, ok := e.ids.Lookup(c.Address + blueprintAppIDSufix); ok && appID == "" {
			appID = v
		}
		var pid string
		err := e.wait(ctx, "the blueprint's application to accept its principal", func() (bool, error) {
			var err error
			pid, err = g.EnsureBlueprintPrincipal(ctx, appID)
			if graph.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err == nil {
			e.ids.set(strings.TrimSuffix(c.Address, ".principal")+".principal", pid)
		}
		return "", err
	case OpUpdateBlueprint:
		return op.GroupID, g.UpdateBlueprint(ctx, op.GroupID, body)
	case OpDeleteBlueprint:
		return op.GroupID, g.DeleteBlueprint(ctx, op.GroupID)
	case OpCreateIdentity:
		name, _ := body["displayName"].(string)
		ns, checked := e.g.(IdentityNamesakes)
		id, err := e.createOnce(ctx, c, func() (string, error) { return g.FindAgentIdentity(ctx, op.UniqueName, name) },
			func() (string, error) { return g.CreateAgentIdentity(ctx, body) }, checked)
		if checked && err == nil {
			return e.settleNamesakes(ctx, c, id, func() ([]graph.Namesake, error) { return ns.AgentIdentitiesNamed(ctx, op.UniqueName, name) },
				func(id string) error { return g.DeleteAgentIdentity(ctx, id) })
		}
		return id, err
	case OpUpdateIdentity:
		return op.GroupID, g.UpdateAgentIdentity(ctx, op.GroupID, body)
	case OpDeleteIdentity:
		return op.GroupID, g.DeleteAgentIdentity(ctx, op.GroupID)
	case OpAddSponsor:
		return "", g.AddSponsor(ctx, op.UniqueName, op.GroupID, op.MemberIDs[0])
	case OpRemoveSponsor:
		return "", g.RemoveSponsor(ctx, op.UniqueName, op.GroupID, op.MemberIDs[0])
	case OpCreateAgentUser:
		upn, _ := body["userPrincipalName"].(string)
		return e.createOnce(ctx, c, func() (string, error) { return g.FindAgentUser(ctx, upn) },
			func() (string, error) { return g.CreateAgentUser(ctx, body) }, false)
	case OpDeleteAgentUser:
		return op.GroupID, g.DeleteAgentUser(ctx, op.GroupID)
	case OpSetInheritable:
		all := len(op.MemberIDs) == 1 && op.MemberIDs[0] == planner.AllScopes
		if all {
			op.MemberIDs = nil
		}
		return "", e.untilVisible(ctx, "blueprint "+op.GroupID+" to accept inheritable permissions", func() error {
			return g.SetInheritable(ctx, op.GroupID, op.UniqueName, all, op.MemberIDs, op.Method == "POST")
		})
	case OpDeleteInheritable:
		return "", g.DeleteInheritable(ctx, op.GroupID, op.UniqueName)
	case OpUpsertCredential:
		return "", e.untilVisible(ctx, "blueprint "+op.GroupID+" to accept federated credentials", func() error {
			return g.UpsertFederatedCredential(ctx, op.GroupID, op.UniqueName, body)
		})
	case OpDeleteCredential:
		return "", g.DeleteFederatedCredential(ctx, op.GroupID, op.UniqueName)
	case OpAddOwner:
		return "", g.AddBlueprintOwner(ctx, op.GroupID, op.MemberIDs[0])
	case OpSetExposedScopes:
		return op.GroupID, e.untilVisible(ctx, "blueprint "+op.GroupID+" to accept its exposed scopes", func() error {
			return g.UpdateBlueprint(ctx, op.GroupID, body)
		})
	}
	return "", errors.New("unknown operation " + string(op.Kind))
}

// normalize deep-copies a JSON body (as planned, or as decoded from a saved
// plan) into map[string]any and []any, so compile can fill placeholders
// without touching the plan.
func normalize(v any) map[string]any {
	raw, _ := json.Marshal(v)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return out
}

// untilVisible runs fn until Graph stops answering 404 for an object created
// moments ago (a blueprint's sub-resources right after its upsert), within
// the consistency timeout.
func (e *executor) untilVisible(ctx context.Context, what string, fn func() error) error {
	var last error
	err := e.wait(ctx, what, func() (bool, error) {
		last = fn()
		if graph.IsNotFound(last) {
			return false, nil
		}
		return true, last
	})
	if err != nil && graph.IsNotFound(last) {
		return fmt.Errorf("%w (last answer: %v)", err, last)
	}
	return err
}
