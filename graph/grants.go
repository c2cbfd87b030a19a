package graph

// Application permissions by name: the principals and resources grants
// name, the resources' app roles, and the app role assignments principals
// hold.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

type assignmentRoleJSON struct {
	ID          string `json:"id"`
	AppRoleID   string `json:"appRoleId"`
	ResourceID  string `json:"resourceId"`
	PrincipalID string `json:"principalId"`
}

// readGrants reads what the spec's permissions: entries need: their
// principals (with their type: agent identities are told apart), their
// resources with app roles, and the app role assignments the principals
// hold on those resources.
func (r *reader) readGrants(ctx context.Context, desired *model.Tenant) error {
	if len(desired.Grants) == 0 {
		return nil
	}
	var ids, names []string
	for _, g := range desired.Grants {
		if g.Principal.IsID() {
			ids = append(ids, strings.ToLower(g.Principal.Value))
		} else {
			names = append(names, g.Principal.Value)
		}
	}
	const sel = "id,appId,displayName"
	var items []batchItem
	for _, prop := range []string{"id", "appId"} {
		for _, q := range filterQueries(prop, uniqueFold(ids), sel) {
			items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals?" + q})
		}
	}
	for _, q := range filterQueries("displayName", uniqueFold(names), sel) {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals?" + q})
	}
	var principals []string
	if err := r.list(ctx, items, func(body []byte) error {
		all, err := listAll[struct {
			objectJSON
			AppID string `json:"appId"`
		}](ctx, r.c, body, nil)
		for _, o := range all {
			p := o.principal(model.ServicePrincipal)
			p.AppID = strings.ToLower(o.AppID)
			principals = append(principals, p.ID)
			r.addPrincipal(p)
		}
		return err
	}); err != nil {
		return err
	}
	// The resources, with their app roles (Microsoft Graph by default).
	var refs []model.Ref
	for _, g := range desired.Grants {
		refs = append(refs, g.Resource)
	}
	if err := r.readAppRefs(ctx, refs); err != nil {
		return err
	}
	resources := map[string]bool{}
	for _, sp := range r.obs.ServicePrincipals {
		resources[sp.ID] = true
	}
	items = nil
	for _, id := range uniqueFold(principals) {
		items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/servicePrincipals/%s/appRoleAssignments?$select=id,appRoleId,resourceId,principalId", url.PathEscape(id))})
	}
	byKey := map[string]*model.Grant{}
	grantOf := func(pid, rid string) *model.Grant {
		g := byKey[pid+"|"+rid]
		if g == nil {
			g = &model.Grant{Principal: model.Ref{Kind: model.ServicePrincipal, Value: pid}, Resource: model.Ref{Kind: model.ServicePrincipal, Value: rid},
				Mode: model.Authoritative, AppRoles: []model.GrantedRole{}}
			byKey[pid+"|"+rid] = g
			r.obs.Grants = append(r.obs.Grants, g)
		}
		return g
	}
	// Delegated grants for all users, one per client and resource.
	// Read only when the spec manages delegated permissions: listing grants
	// needs Directory.Read.All.
	managesScopes := false
	for _, g := range desired.Grants {
		managesScopes = managesScopes || g.Scopes != nil
	}
	var scopeItems []batchItem
	for _, id := range uniqueFold(principals) {
		if !managesScopes {
			break
		}
		scopeItems = append(scopeItems, batchItem{Method: "GET", URL: "/oauth2PermissionGrants?$filter=" + escape("clientId eq "+quote(id)+" and consentType eq 'AllPrincipals'")})
	}
	if err := r.list(ctx, scopeItems, func(body []byte) error {
		all, err := listAll[struct {
			ID         string `json:"id"`
			ClientID   string `json:"clientId"`
			ResourceID string `json:"resourceId"`
			Scope      string `json:"scope"`
		}](ctx, r.c, body, nil)
		for _, og := range all {
			g := grantOf(strings.ToLower(og.ClientID), strings.ToLower(og.ResourceID))
			scopes := strings.Fields(og.Scope)
			g.Scopes, g.ScopeGrantID = &scopes, og.ID
		}
		return err
	}); err != nil {
		return err
	}
	return r.list(ctx, items, func(body []byte) error {
		all, err := listAll[assignmentRoleJSON](ctx, r.c, body, nil)
		for _, a := range all {
			pid, rid := strings.ToLower(a.PrincipalID), strings.ToLower(a.ResourceID)
			if !resources[rid] {
				continue
			}
			g := grantOf(pid, rid)
			g.AppRoles = append(g.AppRoles, model.GrantedRole{RoleID: strings.ToLower(a.AppRoleID), ID: a.ID})
		}
		return err
	})
}

// GrantAppRole assigns an app role of a resource to a principal. An
// assignment that already exists is a success.
func (c *Client) GrantAppRole(ctx context.Context, resourceID, principalID, appRoleID string) error {
	_, err := c.send(ctx, abs.POST, "/servicePrincipals/"+url.PathEscape(resourceID)+"/appRoleAssignedTo",
		map[string]string{"principalId": principalID, "resourceId": resourceID, "appRoleId": appRoleID}, nil)
	if isAlready(err) {
		return nil
	}
	return err
}

// RevokeAppRole deletes an app role assignment; one already gone is a
// success.
func (c *Client) RevokeAppRole(ctx context.Context, resourceID, assignmentID string) error {
	return gone(c.send(ctx, abs.DELETE, "/servicePrincipals/"+url.PathEscape(resourceID)+"/appRoleAssignedTo/"+url.PathEscape(assignmentID), nil, nil))
}

// SetDelegatedGrant makes the AllPrincipals grant of client on resource
// hold exactly scopes: it PATCHes the grant when one exists (id, or found)
// and creates it otherwise. Graph allows one grant per client, resource and
// consent type, so scopes are merged into it, never POSTed twice.
func (c *Client) SetDelegatedGrant(ctx context.Context, id, clientID, resourceID string, scopes []string) error {
	scope := strings.Join(scopes, " ")
	if id == "" {
		var err error
		if id, err = c.findDelegatedGrant(ctx, clientID, resourceID); err != nil {
			return err
		}
	}
	if id != "" {
		_, err := c.send(ctx, abs.PATCH, "/oauth2PermissionGrants/"+url.PathEscape(id), map[string]string{"scope": scope}, nil)
		return err
	}
	_, err := c.send(createOnce(ctx), abs.POST, "/oauth2PermissionGrants", map[string]any{
		"clientId": clientID, "consentType": "AllPrincipals", "resourceId": resourceID, "scope": scope}, nil)
	var ge *Error
	if errors.As(err, &ge) && ge.Code != "Request_MultipleObjectsWithSameKeyValue" && ge.Status < 500 {
		return err
	}
	if err == nil {
		return nil
	}
	// Created by an answer that was lost, or by someone else meanwhile:
	// find it and set its scopes.
	if id, ferr := c.findDelegatedGrant(ctx, clientID, resourceID); ferr == nil && id != "" {
		_, err = c.send(ctx, abs.PATCH, "/oauth2PermissionGrants/"+url.PathEscape(id), map[string]string{"scope": scope}, nil)
	}
	return err
}

func (c *Client) findDelegatedGrant(ctx context.Context, clientID, resourceID string) (string, error) {
	resp, err := c.send(ctx, abs.GET, "/oauth2PermissionGrants?$filter="+escape("clientId eq "+quote(clientID)+" and consentType eq 'AllPrincipals' and resourceId eq "+quote(resourceID)), nil, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if json.Unmarshal(resp.Body, &out) != nil || len(out.Value) == 0 {
		return "", nil
	}
	return out.Value[0].ID, nil
}

// DeleteDelegatedGrant removes an oauth2PermissionGrant; already gone is a
// success.
func (c *Client) DeleteDelegatedGrant(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, "/oauth2PermissionGrants/"+url.PathEscape(id), nil, nil))
}
