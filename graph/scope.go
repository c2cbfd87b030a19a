package graph

// Export's scope: which objects of a tenant an export covers. The scope is
// a desired tenant that names each object by id with every part entrasync
// manages set, so that Read reads them exactly as plan reads a spec that
// manages all of it — one read path for both (docs/architecture.md, "one
// model, two sources").

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

// ScopeOptions narrows an export.
type ScopeOptions struct {
	// Names are display-name globs (model.GlobMatch); none means all.
	Names []string
	// Exact are display names (compared case-insensitively) the object
	// must have besides; none means any.
	Exact []string
}

// matches reports whether name is in the scope.
func (o ScopeOptions) matches(name string) bool {
	if len(o.Exact) > 0 && !slices.ContainsFunc(o.Exact, func(n string) bool { return model.NameKey(n) == model.NameKey(name) }) {
		return false
	}
	if len(o.Names) == 0 {
		return true
	}
	return slices.ContainsFunc(o.Names, func(g string) bool { return model.GlobMatch(g, name) })
}

// GroupScope lists the tenant's security groups (Microsoft 365 groups are
// not entrasync's) whose names the options match, in one paged, $select-ed
// list, and returns them as desired groups pinned by id, their members (but
// for dynamic groups, whose rule decides them) and owners managed.
func (c *Client) GroupScope(ctx context.Context, o ScopeOptions) ([]*model.Group, error) {
	resp, err := c.send(ctx, abs.GET, fmt.Sprintf("/groups?$filter=%s&$select=id,displayName,groupTypes&$top=%d", escape("securityEnabled eq true"), maxPage), nil, nil)
	if err != nil {
		return nil, err
	}
	type listed struct {
		ID          string   `json:"id"`
		DisplayName string   `json:"displayName"`
		GroupTypes  []string `json:"groupTypes"`
	}
	all, err := listAll[listed](ctx, c, resp.Body, nil)
	if err != nil {
		return nil, err
	}
	var out []*model.Group
	for _, g := range all {
		if slices.ContainsFunc(g.GroupTypes, func(t string) bool { return strings.EqualFold(t, "Unified") }) || !o.matches(g.DisplayName) {
			continue
		}
		dg := &model.Group{ID: strings.ToLower(g.ID), DisplayName: g.DisplayName,
			Owners: &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{}}}
		if !slices.ContainsFunc(g.GroupTypes, func(t string) bool { return strings.EqualFold(t, "DynamicMembership") }) {
			dg.Members = &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{}}
		}
		out = append(out, dg)
	}
	slices.SortFunc(out, func(a, b *model.Group) int {
		if c := strings.Compare(model.NameKey(a.DisplayName), model.NameKey(b.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// CatalogScope lists the tenant's catalogs whose names the options match
// and their access packages, in two paged lists, and returns them as
// desired objects with every part export writes managed: a catalog's
// resources and custom extensions, a package's roles and assignments.
// Policies are left unmanaged (export does not write them yet).
func (c *Client) CatalogScope(ctx context.Context, o ScopeOptions) ([]*model.Catalog, []*model.AccessPackage, error) {
	resp, err := c.send(ctx, abs.GET, em+"/catalogs?$select=id,displayName", nil, nil)
	if err != nil {
		return nil, nil, err
	}
	type named struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	cats, err := listAll[named](ctx, c, resp.Body, nil)
	if err != nil {
		return nil, nil, err
	}
	var catalogs []*model.Catalog
	inScope := map[string]string{} // catalog id → name
	for _, cj := range cats {
		if !o.matches(cj.DisplayName) {
			continue
		}
		inScope[strings.ToLower(cj.ID)] = cj.DisplayName
		catalogs = append(catalogs, &model.Catalog{ID: strings.ToLower(cj.ID), DisplayName: cj.DisplayName,
			Groups: &[]model.Ref{}, Sites: &[]model.Ref{}, CustomExtensions: &[]*model.CustomExtension{}})
	}
	slices.SortFunc(catalogs, func(a, b *model.Catalog) int {
		return strings.Compare(model.NameKey(a.DisplayName), model.NameKey(b.DisplayName))
	})
	if len(catalogs) == 0 {
		return nil, nil, nil
	}
	resp, err = c.send(ctx, abs.GET, em+"/accessPackages?$select=id,displayName&$expand=catalog", nil, nil)
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := listAll[struct {
		named
		Catalog named `json:"catalog"`
	}](ctx, c, resp.Body, nil)
	if err != nil {
		return nil, nil, err
	}
	var packages []*model.AccessPackage
	for _, pj := range pkgs {
		cat, ok := inScope[strings.ToLower(pj.Catalog.ID)]
		if !ok {
			continue
		}
		packages = append(packages, &model.AccessPackage{DisplayName: pj.DisplayName, Catalog: cat, Roles: &[]model.RoleScope{},
			Assignments: &model.AssignmentSet{Mode: model.Authoritative, Targets: []model.Ref{}}})
	}
	slices.SortFunc(packages, func(a, b *model.AccessPackage) int { return strings.Compare(a.Key(), b.Key()) })
	return catalogs, packages, nil
}

// AgentScope lists the tenant's blueprints whose names the options match,
// with their agent identities and agent users, in three paged lists, and
// returns them as desired objects with every part export writes managed.
// Permission grants are not in it (export does not write them yet).
func (c *Client) AgentScope(ctx context.Context, o ScopeOptions) ([]*model.Blueprint, []*model.AgentIdentity, []*model.AgentUser, error) {
	bps, err := listPath[struct {
		AppID       string `json:"appId"`
		DisplayName string `json:"displayName"`
	}](ctx, c, "/applications/"+blueprintCast+"?$select=id,appId,displayName&$top=100")
	if err != nil {
		return nil, nil, nil, err
	}
	var blueprints []*model.Blueprint
	byApp := map[string]string{} // blueprint appId → name, in scope
	for _, b := range bps {
		if !o.matches(b.DisplayName) {
			continue
		}
		byApp[strings.ToLower(b.AppID)] = b.DisplayName
		blueprints = append(blueprints, &model.Blueprint{DisplayName: b.DisplayName, Sponsors: &[]model.Ref{}, Owners: &[]model.Ref{}, Tags: &[]string{},
			Scopes: &[]model.ExposedScope{}, Inheritable: &[]model.InheritablePermission{}, Credentials: &[]model.FederatedCredential{}})
	}
	if len(blueprints) == 0 {
		return nil, nil, nil, nil
	}
	ais, err := listPath[struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Blueprint   string `json:"agentIdentityBlueprintId"`
	}](ctx, c, "/servicePrincipals/"+agentIdentityCast+"?$select=id,displayName,agentIdentityBlueprintId&$top=100")
	if err != nil {
		return nil, nil, nil, err
	}
	var identities []*model.AgentIdentity
	idName := map[string][2]string{} // identity id → blueprint, name
	for _, a := range ais {
		bp, ok := byApp[strings.ToLower(a.Blueprint)]
		if !ok {
			continue
		}
		idName[strings.ToLower(a.ID)] = [2]string{bp, a.DisplayName}
		enabled := true
		identities = append(identities, &model.AgentIdentity{ID: strings.ToLower(a.ID), DisplayName: a.DisplayName, Blueprint: bp, Sponsors: &[]model.Ref{}, Tags: &[]string{}, Enabled: &enabled})
	}
	aus, err := listPath[struct {
		UserPrincipalName string `json:"userPrincipalName"`
		DisplayName       string `json:"displayName"`
		Parent            string `json:"identityParentId"`
	}](ctx, c, "/users/microsoft.graph.agentUser?$select=userPrincipalName,displayName,identityParentId&$top=999")
	if err != nil {
		return nil, nil, nil, err
	}
	var users []*model.AgentUser
	for _, u := range aus {
		if p, ok := idName[strings.ToLower(u.Parent)]; ok {
			users = append(users, &model.AgentUser{UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Identity: p[1], Blueprint: p[0]})
		}
	}
	slices.SortFunc(blueprints, func(a, b *model.Blueprint) int { return strings.Compare(a.Key(), b.Key()) })
	slices.SortFunc(identities, func(a, b *model.AgentIdentity) int {
		return strings.Compare(model.NameKey(a.Blueprint)+"/"+model.NameKey(a.DisplayName), model.NameKey(b.Blueprint)+"/"+model.NameKey(b.DisplayName))
	})
	slices.SortFunc(users, func(a, b *model.AgentUser) int {
		return strings.Compare(strings.ToLower(a.UserPrincipalName), strings.ToLower(b.UserPrincipalName))
	})
	return blueprints, identities, users, nil
}

// listPath reads every page of the list at path.
func listPath[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	resp, err := c.send(ctx, abs.GET, path, nil, nil)
	if err != nil {
		return nil, err
	}
	return listAll[T](ctx, c, resp.Body, nil)
}

// GrantScope finds the resources each of the principals (service principal
// ids) holds application permissions on, and returns one desired grant
// per principal and resource, the resource named by appId as a spec names
// it, so that Read reads those grants as plan would.
func (c *Client) GrantScope(ctx context.Context, principals []string) ([]*model.Grant, error) {
	var items []batchItem
	for _, id := range principals {
		items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/servicePrincipals/%s/appRoleAssignments?$select=resourceId", url.PathEscape(id))})
	}
	results, err := c.batch(ctx, items)
	if err != nil {
		return nil, err
	}
	type pair struct{ principal, resource string }
	var pairs []pair
	var resources []string
	for i := range results {
		if err := results[i].err(&items[i]); err != nil {
			return nil, err
		}
		all, err := listAll[struct {
			ResourceID string `json:"resourceId"`
		}](ctx, c, results[i].Body, nil)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, a := range all {
			rid := strings.ToLower(a.ResourceID)
			if !seen[rid] {
				seen[rid] = true
				pairs = append(pairs, pair{principals[i], rid})
				resources = append(resources, rid)
			}
		}
	}
	appIDs := map[string]string{}
	items = nil
	for _, q := range filterQueries("id", uniqueFold(resources), "id,appId") {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals?" + q})
	}
	if len(items) > 0 {
		results, err := c.batch(ctx, items)
		if err != nil {
			return nil, err
		}
		for i := range results {
			if err := results[i].err(&items[i]); err != nil {
				return nil, err
			}
			all, err := listAll[struct {
				ID    string `json:"id"`
				AppID string `json:"appId"`
			}](ctx, c, results[i].Body, nil)
			if err != nil {
				return nil, err
			}
			for _, sp := range all {
				appIDs[strings.ToLower(sp.ID)] = strings.ToLower(sp.AppID)
			}
		}
	}
	var out []*model.Grant
	for _, p := range pairs {
		if app := appIDs[p.resource]; app != "" {
			out = append(out, &model.Grant{Principal: model.Ref{Kind: model.ServicePrincipal, Value: p.principal},
				Resource: model.Ref{Kind: model.ServicePrincipal, Value: app}, AppRoles: []model.GrantedRole{}, Mode: model.Authoritative})
		}
	}
	return out, nil
}
