package appliers

// Entitlement management: compiling catalog, package, role, policy and
// assignment changes, and carrying them out.
//
// Graph has no upsert for these objects, so a create is "look up, then
// create": a create whose answer was lost is looked for until it shows, and
// sent again only when it has not shown within AmbiguousSettle, after which
// the namesake check keeps the oldest of any duplicates. Assignment requests
// are processed by Graph asynchronously; apply submits them, and the next
// plan shows what was delivered.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// The entitlement-management operations.
const (
	OpCreateCatalog      OpKind = "createCatalog"
	OpUpdateCatalog      OpKind = "updateCatalog"
	OpDeleteCatalog      OpKind = "deleteCatalog"
	OpAddCatalogGroup    OpKind = "addCatalogResource" // a group or an application
	OpRemoveCatalogGroup OpKind = "removeCatalogResource"
	OpCreatePackage      OpKind = "createAccessPackage"
	OpUpdatePackage      OpKind = "updateAccessPackage"
	OpDeletePackage      OpKind = "deleteAccessPackage"
	OpAddRole            OpKind = "addResourceRoleScope"
	OpRemoveRole         OpKind = "removeResourceRoleScope"
	OpCreatePolicy       OpKind = "createAssignmentPolicy"
	OpReplacePolicy      OpKind = "replaceAssignmentPolicy"
	OpDeletePolicy       OpKind = "deleteAssignmentPolicy"
	OpInvite             OpKind = "invite"
	OpAssign             OpKind = "requestAssignments"
	OpUnassign           OpKind = "removeAssignments"
	OpReprocess          OpKind = "reprocessAssignments"
	OpAddIncompatible    OpKind = "addIncompatible"
	OpRemoveIncompatible OpKind = "removeIncompatible"
	OpCreateExtension    OpKind = "createCustomExtension"
	OpUpdateExtension    OpKind = "updateCustomExtension"
	OpDeleteExtension    OpKind = "deleteCustomExtension"
)

// EMGraph is what entitlement-management appliers need from Graph.
type EMGraph interface {
	FindCatalog(ctx context.Context, name string) (string, error)
	CreateCatalog(ctx context.Context, body map[string]any) (string, error)
	UpdateCatalog(ctx context.Context, id string, body map[string]any) error
	DeleteCatalog(ctx context.Context, id string) error
	AddCatalogResource(ctx context.Context, catalogID, originSystem, originID string) error
	RemoveCatalogResource(ctx context.Context, catalogID, resourceID string) error
	CatalogRole(ctx context.Context, catalogID, originID, roleOriginID string) (graph.RoleScope, error)
	FindPackage(ctx context.Context, catalogID, name string) (string, error)
	CreatePackage(ctx context.Context, body map[string]any) (string, error)
	UpdatePackage(ctx context.Context, id string, body map[string]any) error
	DeletePackage(ctx context.Context, id string) error
	AddRoleScope(ctx context.Context, packageID, originSystem, originID, roleOriginID string, rs graph.RoleScope) error
	RemoveRoleScope(ctx context.Context, packageID, id string) error
	FindPolicy(ctx context.Context, packageID, name string) (string, error)
	CreatePolicy(ctx context.Context, body map[string]any) (string, error)
	ReplacePolicy(ctx context.Context, id string, body map[string]any) error
	DeletePolicy(ctx context.Context, id string) error
	FindUserByMail(ctx context.Context, mail string) (string, error)
	Invite(ctx context.Context, email, redirectURL string, sendMail bool) (string, error)
	RequestAssignments(ctx context.Context, packageID string, ops []graph.AssignmentOp) error
	RemoveAssignments(ctx context.Context, ops []graph.AssignmentOp) error
	ReprocessAssignments(ctx context.Context, ops []graph.AssignmentOp) error
	AddIncompatible(ctx context.Context, packageID, nav, targetID string) error
	RemoveIncompatible(ctx context.Context, packageID, nav, targetID string) error
	FindCustomExtension(ctx context.Context, catalogID, name string) (string, error)
	CreateCustomExtension(ctx context.Context, catalogID string, body map[string]any) (string, error)
	UpdateCustomExtension(ctx context.Context, catalogID, id string, body map[string]any) error
	DeleteCustomExtension(ctx context.Context, catalogID, id string) error
}

var _ EMGraph = (*graph.Client)(nil)

// parent returns a change's parent id: known at plan time, or created
// earlier in this apply.
func parent(c *planner.Change, name string, ids IDs) string {
	p, ok := c.Parents[name]
	if !ok {
		return ""
	}
	if p.ID != "" {
		return p.ID
	}
	if v, ok := ids.Lookup(p.Address); ok {
		return v
	}
	return "{" + p.Address + ".id}"
}

func fieldBody(fs []planner.FieldDiff) map[string]any {
	body := map[string]any{}
	for _, f := range fs {
		body[f.Field] = f.After
	}
	return body
}

// compileEM turns an entitlement-management change into operations.
func compileEM(c *planner.Change, ids IDs) ([]Op, error) {
	id := func(m planner.Member) string {
		if m.ID != "" {
			return m.ID
		}
		if v, ok := ids.Lookup(m.Address); ok {
			return v
		}
		return "{" + m.Address + ".id}"
	}
	base := "/identityGovernance/entitlementManagement"
	op := func(kind OpKind, method, path string, body any) Op {
		return Op{Change: c.Address, Kind: kind, Method: method, Path: path, Body: body, GroupID: c.ObjectID}
	}
	switch c.Kind {
	case planner.KindCatalog:
		switch c.Action {
		case planner.Create:
			return []Op{op(OpCreateCatalog, "POST", base+"/catalogs", fieldBody(c.Fields))}, nil
		case planner.Update:
			return []Op{op(OpUpdateCatalog, "PATCH", base+"/catalogs/"+c.ObjectID, fieldBody(c.Fields))}, nil
		case planner.Delete:
			return []Op{op(OpDeleteCatalog, "DELETE", base+"/catalogs/"+c.ObjectID, nil)}, nil
		}
	case planner.KindCatalogResources:
		cat := parent(c, "catalog", ids)
		var ops []Op
		for _, m := range c.Members.Add {
			sys := originSystem(m)
			o := op(OpAddCatalogGroup, "POST", base+"/resourceRequests", map[string]any{"requestType": "adminAdd",
				"resource": map[string]any{"originId": id(m), "originSystem": sys}, "catalog": map[string]any{"id": cat}})
			o.GroupID, o.MemberIDs = cat, []string{id(m), sys}
			ops = append(ops, o)
		}
		for _, m := range c.Members.Remove {
			o := op(OpRemoveCatalogGroup, "POST", base+"/resourceRequests", map[string]any{"requestType": "adminRemove",
				"resource": map[string]any{"id": m.Assignment}, "catalog": map[string]any{"id": cat}})
			o.GroupID, o.MemberIDs = cat, []string{m.Assignment}
			ops = append(ops, o)
		}
		return ops, nil
	case planner.KindPackage:
		switch c.Action {
		case planner.Create:
			body := fieldBody(c.Fields)
			body["catalog"] = map[string]any{"id": parent(c, "catalog", ids)}
			o := op(OpCreatePackage, "POST", base+"/accessPackages", body)
			o.UniqueName = parent(c, "catalog", ids)
			return []Op{o}, nil
		case planner.Update:
			return []Op{op(OpUpdatePackage, "PATCH", base+"/accessPackages/"+c.ObjectID, fieldBody(c.Fields))}, nil
		case planner.Delete:
			return []Op{op(OpDeletePackage, "DELETE", base+"/accessPackages/"+c.ObjectID, nil)}, nil
		}
	case planner.KindPackageRoles:
		pkg, cat := parent(c, "package", ids), parent(c, "catalog", ids)
		var ops []Op
		for _, r := range c.Roles.Add {
			sys, roleOrigin := originSystem(r.Group), r.Role+"_"+id(r.Group)
			switch {
			case sys == "AadApplication":
				roleOrigin = r.RoleID
			case sys == "SharePointOnline" && r.RoleID != "":
				roleOrigin = r.RoleID // the site group's number
			case sys == "SharePointOnline":
				// A site this apply adds to the catalog: the role is found
				// by display name once the site is there.
				roleOrigin = r.Role
			}
			shown := roleOrigin
			if sys == "SharePointOnline" && r.RoleID == "" {
				shown = fmt.Sprintf("{role %q.originId}", r.Role)
			}
			o := op(OpAddRole, "POST", base+"/accessPackages/"+pkg+"/resourceRoleScopes", map[string]any{
				"role":  map[string]any{"originId": shown, "originSystem": sys},
				"scope": map[string]any{"originId": id(r.Group), "originSystem": sys}})
			o.GroupID, o.UniqueName, o.MemberIDs = pkg, cat, []string{id(r.Group), roleOrigin, sys}
			ops = append(ops, o)
		}
		for _, r := range c.Roles.Remove {
			o := op(OpRemoveRole, "DELETE", base+"/accessPackages/"+pkg+"/resourceRoleScopes/"+r.ID, nil)
			o.GroupID, o.MemberIDs = pkg, []string{r.ID}
			ops = append(ops, o)
		}
		return ops, nil
	case planner.KindCustomExtension:
		cat := parent(c, "catalog", ids)
		path := base + "/catalogs/" + cat + "/customWorkflowExtensions"
		var o Op
		switch c.Action {
		case planner.Create:
			o = op(OpCreateExtension, "POST", path, clone(c.Body))
		case planner.Update:
			o = op(OpUpdateExtension, "PUT", path+"/"+c.ObjectID, clone(c.Body))
		case planner.Delete:
			o = op(OpDeleteExtension, "DELETE", path+"/"+c.ObjectID, nil)
		}
		o.UniqueName = cat
		return []Op{o}, nil
	case planner.KindPolicy:
		switch c.Action {
		case planner.Create:
			body := hookIDs(c.Body, ids)
			body["accessPackage"] = map[string]any{"id": parent(c, "package", ids)}
			o := op(OpCreatePolicy, "POST", base+"/assignmentPolicies", body)
			o.UniqueName = parent(c, "package", ids)
			return []Op{o}, nil
		case planner.Update:
			body := hookIDs(c.Body, ids)
			body["id"] = c.ObjectID
			return []Op{op(OpReplacePolicy, "PUT", base+"/assignmentPolicies/"+c.ObjectID, body)}, nil
		case planner.Delete:
			return []Op{op(OpDeletePolicy, "DELETE", base+"/assignmentPolicies/"+c.ObjectID, nil)}, nil
		}
	case planner.KindIncompatible:
		pkg := parent(c, "package", ids)
		var ops []Op
		nav := func(m planner.Member) string {
			if m.Kind == "accessPackage" {
				return "incompatibleAccessPackages"
			}
			return "incompatibleGroups"
		}
		for _, m := range c.Members.Add {
			o := op(OpAddIncompatible, "POST", base+"/accessPackages/"+pkg+"/"+nav(m)+"/$ref", map[string]any{"@odata.id": id(m)})
			o.GroupID, o.UniqueName, o.MemberIDs = pkg, nav(m), []string{id(m)}
			ops = append(ops, o)
		}
		for _, m := range c.Members.Remove {
			o := op(OpRemoveIncompatible, "DELETE", base+"/accessPackages/"+pkg+"/"+nav(m)+"/"+m.ID+"/$ref", nil)
			o.GroupID, o.UniqueName, o.MemberIDs = pkg, nav(m), []string{m.ID}
			ops = append(ops, o)
		}
		return ops, nil
	case planner.KindGrant:
		return compileGrant(c, ids), nil
	case planner.KindDelegatedGrant:
		return compileDelegated(c, ids), nil
	case planner.KindBlueprint, planner.KindBlueprintPrincipal, planner.KindAgentIdentity, planner.KindSponsors, planner.KindAgentUser, planner.KindInheritable, planner.KindCredential, planner.KindExposedScopes, planner.KindOwners:
		ops, _ := compileAgent(c, ids)
		return ops, nil
	case planner.KindAssignments:
		pkg, pol := parent(c, "package", ids), parent(c, "policy", ids)
		var ops []Op
		var add []string
		for _, m := range c.Members.Add {
			if m.Invite {
				o := op(OpInvite, "POST", "/invitations", map[string]any{"invitedUserEmailAddress": m.Label,
					"inviteRedirectUrl": c.Members.Invite.RedirectURL, "sendInvitationMessage": c.Members.Invite.SendMail})
				o.MemberIDs = []string{m.Label}
				ops = append(ops, o)
				add = append(add, "invite:"+m.Label)
				continue
			}
			add = append(add, id(m))
		}
		for chunk := range slices.Chunk(add, 20) {
			o := op(OpAssign, "POST", "/$batch", map[string]any{"requests": fmt.Sprintf("%d × POST %s/assignmentRequests adminAdd (policy %s)", len(chunk), base, pol)})
			o.GroupID, o.UniqueName, o.MemberIDs = pkg, pol, chunk
			ops = append(ops, o)
		}
		for _, list := range []struct {
			kind    OpKind
			members []planner.Member
			what    string
		}{{OpUnassign, c.Members.Remove, "adminRemove"}, {OpReprocess, c.Members.Repair, "reprocess"}} {
			var asg []string
			for _, m := range list.members {
				asg = append(asg, m.Assignment)
			}
			for chunk := range slices.Chunk(asg, 20) {
				o := op(list.kind, "POST", "/$batch", map[string]any{"requests": fmt.Sprintf("%d × %s", len(chunk), list.what)})
				o.GroupID, o.MemberIDs = pkg, chunk
				ops = append(ops, o)
			}
		}
		return ops, nil
	}
	return nil, fmt.Errorf("appliers: %s: no applier for %s %s", c.Address, c.Action, c.Kind)
}

// originSystem is Graph's name for where a catalog resource comes from.
func originSystem(m planner.Member) string {
	switch m.Kind {
	case "servicePrincipal":
		return "AadApplication"
	case "sharePointSite":
		return "SharePointOnline"
	}
	return "AadGroup"
}

// hookIDs is a copy of a policy body with the ids of the custom extensions
// created earlier in this apply in place of the planner's placeholders
// ("{catalog[…].customExtension[…].id}").
func hookIDs(body map[string]any, ids IDs) map[string]any {
	out := clone(body)
	hooks, ok := body["customExtensionStageSettings"].([]any)
	if !ok {
		return out
	}
	list := make([]any, len(hooks))
	for i, h := range hooks {
		hook, _ := h.(map[string]any)
		ce, _ := hook["customExtension"].(map[string]any)
		id, _ := ce["id"].(string)
		if addr, ok := strings.CutPrefix(id, "{"); ok && strings.HasSuffix(addr, ".id}") {
			if v, ok := ids.Lookup(strings.TrimSuffix(addr, ".id}")); ok {
				ce = clone(ce)
				ce["id"] = v
				hook = clone(hook)
				hook["customExtension"] = ce
			}
		}
		list[i] = hook
	}
	out["customExtensionStageSettings"] = list
	return out
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// emOp carries out one entitlement-management operation.
func (e *executor) emOp(ctx context.Context, c *planner.Change, op Op, invited map[string]string) (string, error) {
	if op.Kind == OpGrantAppRole || op.Kind == OpRevokeAppRole || op.Kind == OpSetDelegated || op.Kind == OpDeleteDelegated {
		return "", e.grantOp(ctx, op)
	}
	switch op.Kind {
	case OpUpsertBlueprint, OpUpdateBlueprint, OpDeleteBlueprint, OpEnsurePrincipal, OpCreateIdentity, OpUpdateIdentity,
		OpDeleteIdentity, OpAddSponsor, OpRemoveSponsor, OpCreateAgentUser, OpDeleteAgentUser, OpSetInheritable, OpDeleteInheritable,
		OpUpsertCredential, OpDeleteCredential, OpSetExposedScopes, OpAddOwner:
		return e.agentOp(ctx, c, op)
	}
	g, ok := e.g.(EMGraph)
	if !ok {
		return "", fmt.Errorf("this Graph client cannot manage entitlement management")
	}
	body, _ := op.Body.(map[string]any)
	name, _ := body["displayName"].(string)
	switch op.Kind {
	case OpCreateCatalog:
		id, err := e.createOnce(ctx, c, func() (string, error) { return g.FindCatalog(ctx, name) }, func() (string, error) { return g.CreateCatalog(ctx, body) }, true)
		if ns, ok := e.g.(Namesakes); ok && err == nil {
			return e.settleNamesakes(ctx, c, id, func() ([]graph.Namesake, error) { return ns.CatalogsNamed(ctx, name) }, func(id string) error { return g.DeleteCatalog(ctx, id) })
		}
		return id, err
	case OpUpdateCatalog:
		return op.GroupID, g.UpdateCatalog(ctx, op.GroupID, body)
	case OpDeleteCatalog:
		return op.GroupID, e.untilAccepted(ctx, "catalog to be empty", func() error { return g.DeleteCatalog(ctx, op.GroupID) })
	case OpAddCatalogGroup:
		return "", e.retryNotFound(ctx, op.MemberIDs[0], func() error { return g.AddCatalogResource(ctx, op.GroupID, op.MemberIDs[1], op.MemberIDs[0]) })
	case OpRemoveCatalogGroup:
		return "", g.RemoveCatalogResource(ctx, op.GroupID, op.MemberIDs[0])
	case OpCreatePackage:
		id, err := e.createOnce(ctx, c, func() (string, error) { return g.FindPackage(ctx, op.UniqueName, name) }, func() (string, error) { return g.CreatePackage(ctx, body) }, true)
		if ns, ok := e.g.(Namesakes); ok && err == nil {
			return e.settleNamesakes(ctx, c, id, func() ([]graph.Namesake, error) { return ns.PackagesNamed(ctx, op.UniqueName, name) }, func(id string) error { return g.DeletePackage(ctx, id) })
		}
		return id, err
	case OpUpdatePackage:
		return op.GroupID, g.UpdatePackage(ctx, op.GroupID, body)
	case OpDeletePackage:
		// Graph refuses while assignments remain; their removal requests are
		// processed asynchronously.
		return op.GroupID, e.untilAccepted(ctx, "its assignments to be removed", func() error { return g.DeletePackage(ctx, op.GroupID) })
	case OpAddRole:
		origin, roleOrigin, sys := op.MemberIDs[0], op.MemberIDs[1], op.MemberIDs[2]
		var rs graph.RoleScope
		err := e.wait(ctx, origin+" to show as a catalog resource", func() (bool, error) {
			var err error
			rs, err = g.CatalogRole(ctx, op.UniqueName, origin, roleOrigin)
			if graph.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			return "", err
		}
		if sys == "SharePointOnline" {
			if rs.RoleOriginID == "" {
				return "", fmt.Errorf("SharePoint site %s has no role %q in the catalog; its roles: %s", origin, roleOrigin, strings.Join(rs.RoleNames, ", "))
			}
			roleOrigin = rs.RoleOriginID
		}
		return "", g.AddRoleScope(ctx, op.GroupID, sys, origin, roleOrigin, rs)
	case OpRemoveRole:
		return "", g.RemoveRoleScope(ctx, op.GroupID, op.MemberIDs[0])
	case OpCreatePolicy:
		id, err := e.createOnce(ctx, c, func() (string, error) { return g.FindPolicy(ctx, op.UniqueName, name) }, func() (string, error) { return g.CreatePolicy(ctx, body) }, true)
		if ns, ok := e.g.(Namesakes); ok && err == nil {
			return e.settleNamesakes(ctx, c, id, func() ([]graph.Namesake, error) { return ns.PoliciesNamed(ctx, op.UniqueName, name) }, func(id string) error { return g.DeletePolicy(ctx, id) })
		}
		return id, err
	case OpReplacePolicy:
		return op.GroupID, g.ReplacePolicy(ctx, op.GroupID, body)
	case OpCreateExtension:
		id, err := e.createOnce(ctx, c, func() (string, error) { return g.FindCustomExtension(ctx, op.UniqueName, name) },
			func() (string, error) { return g.CreateCustomExtension(ctx, op.UniqueName, body) }, true)
		if ns, ok := e.g.(Namesakes); ok && err == nil {
			return e.settleNamesakes(ctx, c, id, func() ([]graph.Namesake, error) { return ns.CustomExtensionsNamed(ctx, op.UniqueName, name) },
				func(id string) error { return g.DeleteCustomExtension(ctx, op.UniqueName, id) })
		}
		return id, err
	case OpUpdateExtension:
		return op.GroupID, g.UpdateCustomExtension(ctx, op.UniqueName, op.GroupID, body)
	case OpDeleteExtension:
		// A policy that ran it changes first; Graph may still be
		// processing that.
		return op.GroupID, e.untilAccepted(ctx, "the policies that ran it to change", func() error { return g.DeleteCustomExtension(ctx, op.UniqueName, op.GroupID) })
	case OpDeletePolicy:
		return op.GroupID, e.untilAccepted(ctx, "its assignments to be removed", func() error { return g.DeletePolicy(ctx, op.GroupID) })
	case OpInvite:
		mail := op.MemberIDs[0]
		id, err := g.FindUserByMail(ctx, mail)
		if err == nil && id == "" {
			id, err = g.Invite(ctx, mail, fmt.Sprint(body["inviteRedirectUrl"]), body["sendInvitationMessage"] == true)
			if errors.Is(err, graph.ErrMaybeCreated) {
				err = nil // the guest is looked for below, not invited twice
			}
		}
		if err != nil {
			return "", err
		}
		// The guest must be visible before an assignment can target it.
		if err := e.wait(ctx, "guest "+mail+" to become visible", func() (bool, error) {
			got, err := g.FindUserByMail(ctx, mail)
			if got != "" {
				id = got
			}
			return got != "", err
		}); err != nil {
			return "", err
		}
		invited["invite:"+mail] = id
		return "", nil
	case OpAssign:
		var ops []graph.AssignmentOp
		for _, t := range op.MemberIDs {
			if v, ok := invited[t]; ok {
				t = v
			}
			ops = append(ops, graph.AssignmentOp{TargetID: t, PolicyID: op.UniqueName})
		}
		return "", g.RequestAssignments(ctx, op.GroupID, ops)
	case OpAddIncompatible:
		return "", g.AddIncompatible(ctx, op.GroupID, op.UniqueName, op.MemberIDs[0])
	case OpRemoveIncompatible:
		return "", g.RemoveIncompatible(ctx, op.GroupID, op.UniqueName, op.MemberIDs[0])
	case OpUnassign, OpReprocess:
		var ops []graph.AssignmentOp
		for _, a := range op.MemberIDs {
			ops = append(ops, graph.AssignmentOp{AssignmentID: a})
		}
		if op.Kind == OpUnassign {
			return "", g.RemoveAssignments(ctx, ops)
		}
		return "", g.ReprocessAssignments(ctx, ops)
	}
	return "", fmt.Errorf("unknown operation %q", op.Kind)
}

// AmbiguousSettle is how long a create whose answer was lost (or a 500 or
// 504 that may have committed) is looked for before a resendable create is
// sent again. A rerun of apply would look it up and create it at that
// point too; waiting here at least as long as Graph's usual replication
// lag makes the in-run resend no less safe, and the post-create namesake
// check (settleNamesakes) removes the duplicate a longer lag could leave.
const AmbiguousSettle = 30 * time.Second

// createOnce creates an object that Graph cannot upsert. After an answer
// that leaves the create in doubt, it is looked for until it shows. A
// resendable create (one whose kind has a namesake check after it) that
// has not shown within AmbiguousSettle is created once more; any other
// is never sent twice: the run reports it, and the next apply looks it up.
//
// The plan this run made moments ago looked the object up: that it plans
// a create means the read did not show it. A resendable create is sent on
// that read, without a second look-up (issue 13: apply does not repeat
// the plan's look-ups); what could have made it since (a person in the
// portal, a run under another lease name) is caught by the namesake check.
// Any other create is looked up once more before it is sent.
func (e *executor) createOnce(ctx context.Context, c *planner.Change, find, create func() (string, error), resendable bool) (string, error) {
	var id string
	var err error
	if !resendable {
		if id, err = find(); err != nil {
			return "", err
		}
	}
	if id == "" {
		id, err = create()
		if errors.Is(err, graph.ErrMaybeCreated) {
			lookFor := func() (bool, error) {
				var ferr error
				id, ferr = find()
				return id != "", ferr
			}
			what := c.Address + " (created, answer lost) to become visible"
			var werr error
			if settle := min(AmbiguousSettle, e.opts.ConsistencyTimeout/2); resendable && settle > 0 {
				if werr = e.waitFor(ctx, settle, what, lookFor); werr != nil && errors.Is(werr, errTimeout) && ctx.Err() == nil {
					e.note(c.Address, fmt.Sprintf("its create got no answer and it has not shown after %s: created again (the namesake check keeps one)", settle))
					id, err = create()
					if errors.Is(err, graph.ErrMaybeCreated) {
						werr = e.wait(ctx, what, lookFor)
					} else {
						werr = nil
					}
				}
			} else {
				werr = e.wait(ctx, what, lookFor)
			}
			if werr != nil {
				return "", fmt.Errorf("%w; run apply again: it looks the object up before creating it", err)
			}
			if errors.Is(err, graph.ErrMaybeCreated) {
				err = nil
			}
		}
		if err != nil {
			return "", err
		}
	}
	e.ids.set(c.Address, id)
	return id, nil
}

// Namesakes lists the live objects that share a name, oldest first; the
// Graph client has it.
type Namesakes interface {
	CatalogsNamed(ctx context.Context, name string) ([]graph.Namesake, error)
	PackagesNamed(ctx context.Context, catalogID, name string) ([]graph.Namesake, error)
	PoliciesNamed(ctx context.Context, packageID, name string) ([]graph.Namesake, error)
	CustomExtensionsNamed(ctx context.Context, catalogID, name string) ([]graph.Namesake, error)
}

var _ Namesakes = (*graph.Client)(nil)

// settleNamesakes re-checks a create that Graph cannot key: two runs that
// looked the name up at the same moment (without the run lease, or across
// lease names) may both have created it. Every run keeps the oldest of the
// namesakes; a run whose own object is newer deletes it — it was created
// moments ago and is still empty — and carries on with the oldest. A
// failed re-check does not fail the create: the next plan reports any
// duplicate by name.
//
// The list means something only once it shows the object just created:
// until then replication may hide it, and an older namesake the run
// before this one created (its answer lost, moments before it stopped)
// may be hidden too. So the re-check waits, within the consistency
// timeout, for its own object to show; with no lag that is the first
// answer.
func (e *executor) settleNamesakes(ctx context.Context, c *planner.Change, id string, namesakes func() ([]graph.Namesake, error), remove func(id string) error) (string, error) {
	var all []graph.Namesake
	shown := func() (bool, error) {
		var err error
		all, err = namesakes()
		return slices.ContainsFunc(all, func(n graph.Namesake) bool { return n.ID == id }), err
	}
	if err := e.wait(ctx, c.Address+" (created) to show among its namesakes", shown); err != nil {
		// (Not silently: a look-up that keeps failing is worth knowing.)
		e.note(c.Address, fmt.Sprintf("created; its check for a namesake another run may have created failed (%v): the next plan shows any duplicate", err))
		return id, nil
	}
	if len(all) < 2 || all[0].ID == id {
		return id, nil
	}
	keep := all[0].ID
	if err := remove(id); err != nil && !graph.IsNotFound(err) {
		return id, fmt.Errorf("another run created %s at the same time (id %s); deleting this run's duplicate %s failed: %w", c.Object, keep, id, err)
	}
	e.note(c.Address, fmt.Sprintf("another run created it at the same time (id %s): this run's duplicate %s was deleted and the older one kept", keep, id))
	e.ids.set(c.Address, keep)
	return keep, nil
}

// untilAccepted repeats a call Graph refuses (400) while asynchronous work
// it depends on completes, within the consistency timeout.
func (e *executor) untilAccepted(ctx context.Context, what string, fn func() error) error {
	var last error
	err := e.wait(ctx, what, func() (bool, error) {
		last = fn()
		var ge *graph.Error
		if errors.As(last, &ge) && ge.Status == 400 {
			return false, nil
		}
		return true, last
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last answer: %v)", err, last)
	}
	return err
}
