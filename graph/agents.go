package graph

// Entra Agent ID: blueprints, their principals, agent identities and their
// sponsors. msgraph-sdk-go has no models for these types, so requests are
// raw, through the same adapter, in the shapes of Microsoft's examples.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

const (
	blueprintCast     = "microsoft.graph.agentIdentityBlueprint"
	blueprintPrinCast = "microsoft.graph.agentIdentityBlueprintPrincipal"
	agentIdentityCast = "microsoft.graph.agentIdentity"
)

type blueprintJSON struct {
	ID          string   `json:"id"`
	AppID       string   `json:"appId"`
	DisplayName string   `json:"displayName"`
	Description *string  `json:"description"`
	UniqueName  string   `json:"uniqueName"`
	Tags        []string `json:"tags"`
	// IdentifierURIs and API are read for blueprints that expose scopes.
	IdentifierURIs []string `json:"identifierUris"`
	API            *struct {
		Scopes []struct {
			ID                      string `json:"id"`
			Value                   string `json:"value"`
			Type                    string `json:"type"`
			AdminConsentDisplayName string `json:"adminConsentDisplayName"`
			AdminConsentDescription string `json:"adminConsentDescription"`
			IsEnabled               *bool  `json:"isEnabled"`
		} `json:"oauth2PermissionScopes"`
	} `json:"api"`
}

type agentIdentityJSON struct {
	ID                       string     `json:"id"`
	DisplayName              string     `json:"displayName"`
	AgentIdentityBlueprintID string     `json:"agentIdentityBlueprintId"`
	Tags                     []string   `json:"tags"`
	AccountEnabled           *bool      `json:"accountEnabled"`
	CreatedDateTime          *time.Time `json:"createdDateTime"`
}

// readAgents reads the blueprints and agent identities the spec names, the
// blueprints' principals, and the sponsors of both.
func (r *reader) readAgents(ctx context.Context, desired *model.Tenant) error {
	if len(desired.Blueprints) == 0 && len(desired.AgentIdentities) == 0 && len(desired.AgentUsers) == 0 {
		return nil
	}
	if err := r.readAgentUsers(ctx, desired); err != nil {
		return err
	}
	var names []string
	for _, b := range desired.Blueprints {
		names = append(names, b.DisplayName)
	}
	for _, a := range desired.AgentIdentities {
		names = append(names, a.Blueprint)
	}
	for _, u := range desired.AgentUsers {
		names = append(names, u.Blueprint)
	}
	var items []batchItem
	for _, q := range filterQueries("displayName", uniqueFold(names), "id,appId,displayName,description,uniqueName,tags,identifierUris,api") {
		items = append(items, batchItem{Method: "GET", URL: "/applications/" + blueprintCast + "?" + strings.Replace(q, "$top=999", "$top=100", 1)})
	}
	if err := r.list(ctx, items, func(body []byte) error {
		all, err := listAll[blueprintJSON](ctx, r.c, body, nil)
		for _, b := range all {
			tags := b.Tags
			if tags == nil {
				tags = []string{}
			}
			scopes := []model.ExposedScope{}
			if b.API != nil {
				for _, sc := range b.API.Scopes {
					scopes = append(scopes, model.ExposedScope{ID: strings.ToLower(sc.ID), Value: sc.Value, Type: sc.Type,
						DisplayName: sc.AdminConsentDisplayName, Description: sc.AdminConsentDescription, Enabled: sc.IsEnabled == nil || *sc.IsEnabled})
				}
			}
			r.obs.Blueprints = append(r.obs.Blueprints, &model.Blueprint{ID: strings.ToLower(b.ID), AppID: strings.ToLower(b.AppID),
				DisplayName: b.DisplayName, UniqueName: b.UniqueName, Description: orEmpty(b.Description), Tags: &tags,
				Scopes: &scopes, IdentifierURIs: b.IdentifierURIs})
		}
		return err
	}); err != nil {
		return err
	}
	// Principals, by appId.
	items = nil
	var appIDs []string
	byApp := map[string]*model.Blueprint{}
	for _, b := range r.obs.Blueprints {
		appIDs = append(appIDs, b.AppID)
		byApp[b.AppID] = b
	}
	for _, q := range filterQueries("appId", appIDs, "id,appId") {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals/" + blueprintPrinCast + "?" + strings.Replace(q, "$top=999", "$top=100", 1)})
	}
	if err := r.list(ctx, items, func(body []byte) error {
		all, err := listAll[struct {
			ID    string `json:"id"`
			AppID string `json:"appId"`
		}](ctx, r.c, body, nil)
		for _, p := range all {
			if b := byApp[strings.ToLower(p.AppID)]; b != nil {
				b.PrincipalID = strings.ToLower(p.ID)
			}
		}
		return err
	}); err != nil {
		return err
	}
	// Agent identities, by display name.
	names = nil
	for _, a := range desired.AgentIdentities {
		names = append(names, a.DisplayName)
	}
	for _, u := range desired.AgentUsers {
		names = append(names, u.Identity)
	}
	items = nil
	for _, q := range filterQueries("displayName", uniqueFold(names), "id,displayName,agentIdentityBlueprintId,tags,accountEnabled,createdDateTime") {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals/" + agentIdentityCast + "?" + strings.Replace(q, "$top=999", "$top=100", 1)})
	}
	if err := r.list(ctx, items, func(body []byte) error {
		all, err := listAll[agentIdentityJSON](ctx, r.c, body, nil)
		for _, a := range all {
			tags := a.Tags
			if tags == nil {
				tags = []string{}
			}
			enabled := a.AccountEnabled == nil || *a.AccountEnabled
			r.obs.AgentIdentities = append(r.obs.AgentIdentities, &model.AgentIdentity{ID: strings.ToLower(a.ID), DisplayName: a.DisplayName,
				Blueprint: strings.ToLower(a.AgentIdentityBlueprintID), Tags: &tags, Enabled: &enabled, Created: a.CreatedDateTime})
			r.addPrincipal(model.Principal{ID: strings.ToLower(a.ID), Kind: "agentIdentity", DisplayName: a.DisplayName})
		}
		return err
	}); err != nil {
		return err
	}
	// Inheritable permissions, federated credentials and owners of the
	// blueprints whose sets the spec manages, in one batch.
	declared := map[string]*model.Blueprint{}
	for _, b := range desired.Blueprints {
		declared[b.Key()] = b
	}
	items = nil
	var decode []func([]byte) error
	for _, b := range r.obs.Blueprints {
		d := declared[b.Key()]
		if d == nil {
			continue
		}
		base := "/applications/" + url.PathEscape(b.ID)
		if d.Inheritable != nil {
			items = append(items, batchItem{Method: "GET", URL: base + "/" + blueprintCast + "/inheritablePermissions"})
			decode = append(decode, func(body []byte) error { return r.inheritable(ctx, b, body) })
		}
		if d.Credentials != nil {
			items = append(items, batchItem{Method: "GET", URL: base + "/federatedIdentityCredentials"})
			decode = append(decode, func(body []byte) error { return r.credentials(ctx, b, body) })
		}
		if d.Owners != nil {
			items = append(items, batchItem{Method: "GET", URL: base + "/" + blueprintCast + "/owners?$select=" + memberSelect})
			decode = append(decode, func(body []byte) error { return r.owners(ctx, b, body) })
		}
	}
	k := 0
	if err := r.list(ctx, items, func(body []byte) error {
		k++
		return decode[k-1](body)
	}); err != nil {
		return err
	}
	// Sponsors of both.
	items = nil
	var owners []*[]model.Ref
	for _, b := range r.obs.Blueprints {
		s := []model.Ref{}
		b.Sponsors = &s
		items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/applications/%s/%s/sponsors?$select=%s", url.PathEscape(b.ID), blueprintCast, memberSelect)})
		owners = append(owners, b.Sponsors)
	}
	for _, a := range r.obs.AgentIdentities {
		s := []model.Ref{}
		a.Sponsors = &s
		items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/servicePrincipals/%s/%s/sponsors?$select=%s", url.PathEscape(a.ID), agentIdentityCast, memberSelect)})
		owners = append(owners, a.Sponsors)
	}
	i := 0
	return r.list(ctx, items, func(body []byte) error {
		dst := owners[i]
		i++
		all, err := listAll[objectJSON](ctx, r.c, body, nil)
		for _, o := range all {
			p := o.principal(model.User)
			*dst = append(*dst, model.Ref{Kind: p.Kind, Value: p.ID})
			r.addPrincipal(p)
		}
		return err
	})
}

// allAgentIdentitiesSelect is what lifecycle rules need of every agent
// identity of the tenant.
const allAgentIdentitiesSelect = "id,displayName,createdDateTime,tags,agentIdentityBlueprintId,accountEnabled"

// readLifecycle reads what the spec's lifecycle rules select from: every
// agent identity of the tenant in one paged, $select-ed list
// (agentidentity-list) into observed.AllAgentIdentities, then, in one
// $batch, the display name and appId of the blueprints the rules name and
// of the identities' blueprints that the spec does not name (so that plans
// address them by name). Nothing read here is a managed object: no
// sponsors, no principals.
func (r *reader) readLifecycle(ctx context.Context, desired *model.Tenant) error {
	if len(desired.Lifecycle) == 0 {
		return nil
	}
	resp, err := r.c.send(ctx, abs.GET, "/servicePrincipals/"+agentIdentityCast+"?$select="+allAgentIdentitiesSelect+"&$top=100", nil, nil)
	if err != nil {
		return err
	}
	all, err := listAll[agentIdentityJSON](ctx, r.c, resp.Body, nil)
	if err != nil {
		return err
	}
	r.obs.AllAgentIdentities = []*model.AgentIdentity{}
	for _, a := range all {
		tags := a.Tags
		if tags == nil {
			tags = []string{}
		}
		enabled := a.AccountEnabled == nil || *a.AccountEnabled
		r.obs.AllAgentIdentities = append(r.obs.AllAgentIdentities, &model.AgentIdentity{ID: strings.ToLower(a.ID), DisplayName: a.DisplayName,
			Blueprint: strings.ToLower(a.AgentIdentityBlueprintID), Tags: &tags, Enabled: &enabled, Created: a.CreatedDateTime})
	}
	haveName, haveApp := map[string]bool{}, map[string]bool{}
	for _, b := range r.obs.Blueprints {
		haveName[b.Key()], haveApp[b.AppID] = true, true
	}
	var names, apps []string
	for _, rule := range desired.Lifecycle {
		if rule.Blueprint != "" && !haveName[model.NameKey(rule.Blueprint)] {
			names = append(names, rule.Blueprint)
		}
	}
	for _, a := range r.obs.AllAgentIdentities {
		if a.Blueprint != "" && !haveApp[a.Blueprint] {
			haveApp[a.Blueprint] = true
			apps = append(apps, a.Blueprint)
		}
	}
	var items []batchItem
	for _, q := range filterQueries("displayName", uniqueFold(names), "id,appId,displayName") {
		items = append(items, batchItem{Method: "GET", URL: "/applications/" + blueprintCast + "?" + strings.Replace(q, "$top=999", "$top=100", 1)})
	}
	for _, q := range filterQueries("appId", apps, "id,appId,displayName") {
		items = append(items, batchItem{Method: "GET", URL: "/applications/" + blueprintCast + "?" + strings.Replace(q, "$top=999", "$top=100", 1)})
	}
	seen := map[string]bool{}
	for _, b := range r.obs.Blueprints {
		seen[b.ID] = true
	}
	return r.list(ctx, items, func(body []byte) error {
		all, err := listAll[blueprintJSON](ctx, r.c, body, nil)
		for _, b := range all {
			if id := strings.ToLower(b.ID); !seen[id] {
				seen[id] = true
				r.obs.Blueprints = append(r.obs.Blueprints, &model.Blueprint{ID: id, AppID: strings.ToLower(b.AppID), DisplayName: b.DisplayName})
			}
		}
		return err
	})
}

// inheritable decodes a blueprint's inheritable permissions.
func (r *reader) inheritable(ctx context.Context, b *model.Blueprint, body []byte) error {
	all, err := listAll[struct {
		ResourceAppID     string `json:"resourceAppId"`
		InheritableScopes struct {
			Type   string   `json:"@odata.type"`
			Scopes []string `json:"scopes"`
		} `json:"inheritableScopes"`
	}](ctx, r.c, body, nil)
	list := []model.InheritablePermission{}
	for _, ip := range all {
		list = append(list, model.InheritablePermission{ResourceAppID: strings.ToLower(ip.ResourceAppID),
			All: strings.HasSuffix(ip.InheritableScopes.Type, "allAllowedScopes"), Scopes: ip.InheritableScopes.Scopes})
	}
	b.Inheritable = &list
	return err
}

// credentials decodes a blueprint's federated identity credentials.
func (r *reader) credentials(ctx context.Context, b *model.Blueprint, body []byte) error {
	all, err := listAll[struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	}](ctx, r.c, body, nil)
	list := []model.FederatedCredential{}
	for _, f := range all {
		mf := model.FederatedCredential{ID: strings.ToLower(f.ID), Name: f.Name, Issuer: f.Issuer, Subject: f.Subject}
		if len(f.Audiences) > 0 {
			mf.Audience = f.Audiences[0]
		}
		list = append(list, mf)
	}
	b.Credentials = &list
	return err
}

// owners decodes a blueprint's owners.
func (r *reader) owners(ctx context.Context, b *model.Blueprint, body []byte) error {
	all, err := listAll[objectJSON](ctx, r.c, body, nil)
	list := []model.Ref{}
	for _, o := range all {
		p := o.principal(model.User)
		list = append(list, model.Ref{Kind: p.Kind, Value: p.ID})
		r.addPrincipal(p)
	}
	b.Owners = &list
	return err
}

// inheritableResources are the resource applications blueprints' inheritable
// permissions name (read with their scopes, to check names).
func inheritableResources(desired *model.Tenant) []model.Ref {
	var out []model.Ref
	for _, b := range desired.Blueprints {
		if b.Inheritable != nil {
			for _, ip := range *b.Inheritable {
				out = append(out, ip.Resource)
			}
		}
	}
	return out
}

// agentRefs are the users and groups that sponsor the spec's agents.
func agentRefs(desired *model.Tenant) []model.Ref {
	var out []model.Ref
	for _, b := range desired.Blueprints {
		if b.Sponsors != nil {
			out = append(out, *b.Sponsors...)
		}
		if b.Owners != nil {
			out = append(out, *b.Owners...)
		}
	}
	for _, a := range desired.AgentIdentities {
		if a.Sponsors != nil {
			out = append(out, *a.Sponsors...)
		}
	}
	return out
}

// UpsertBlueprint creates the blueprint with that uniqueName, or updates
// the one that has it (Graph's upsert), and returns its object id and
// appId.
func (c *Client) UpsertBlueprint(ctx context.Context, uniqueName string, body map[string]any) (id, appID string, err error) {
	path := fmt.Sprintf("/applications(uniqueName=%s)/%s", odataKey(uniqueName), blueprintCast)
	resp, err := c.send(ctx, abs.PATCH, path, body, map[string]string{"Prefer": "create-if-missing", "OData-Version": "4.0"})
	if err != nil {
		return "", "", err
	}
	if len(resp.Body) == 0 {
		if resp, err = c.send(ctx, abs.GET, path+"?$select=id,appId", nil, nil); err != nil {
			return "", "", err
		}
	}
	var out blueprintJSON
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", "", fmt.Errorf("graph: decode blueprint: %w", err)
	}
	return strings.ToLower(out.ID), strings.ToLower(out.AppID), nil
}

// UpdateBlueprint PATCHes a blueprint.
func (c *Client) UpdateBlueprint(ctx context.Context, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PATCH, fmt.Sprintf("/applications/%s/%s", url.PathEscape(id), blueprintCast), body, nil)
	return err
}

// DeleteBlueprint deletes a blueprint; one already gone is a success.
func (c *Client) DeleteBlueprint(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, fmt.Sprintf("/applications/%s/%s", url.PathEscape(id), blueprintCast), nil, nil))
}

// EnsureBlueprintPrincipal creates the blueprint's principal, or finds the
// one that exists (Graph refuses a second one for an appId).
func (c *Client) EnsureBlueprintPrincipal(ctx context.Context, appID string) (string, error) {
	resp, err := c.send(createOnce(ctx), abs.POST, "/servicePrincipals/"+blueprintPrinCast, map[string]string{"appId": appID}, map[string]string{"OData-Version": "4.0"})
	var ge *Error
	if err == nil {
		return idOfBody(resp.Body), nil
	}
	// An answer that leaves the create in doubt (lost, or a 500/502/504
	// that may have committed) is settled by looking: the principal is
	// keyed by appId, so when it is not there the caller may post again.
	doubtful := errors.As(err, &ge) && (ge.Status == 500 || ge.Status == 502 || ge.Status == 504)
	if !(errors.As(err, &ge) && ge.Code == "Request_MultipleObjectsWithSameKeyValue") && !doubtful && !errors.Is(err, ErrMaybeCreated) && !strings.Contains(err.Error(), "EOF") {
		return "", err
	}
	resp, err = c.send(ctx, abs.GET, "/servicePrincipals/"+blueprintPrinCast+"?$filter="+escape("appId eq "+quote(appID))+"&$select=id", nil, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if json.Unmarshal(resp.Body, &out) != nil || len(out.Value) == 0 {
		return "", &Error{Method: "GET", Path: "/servicePrincipals/" + blueprintPrinCast, Status: 404, Code: "Request_ResourceNotFound", Message: "the blueprint principal is not visible yet"}
	}
	return strings.ToLower(out.Value[0].ID), nil
}

// FindAgentIdentity returns the id of the blueprint's agent identity with
// that name, "" if none is visible.
func (c *Client) FindAgentIdentity(ctx context.Context, blueprintAppID, name string) (string, error) {
	resp, err := c.send(ctx, abs.GET, "/servicePrincipals/"+agentIdentityCast+"?$filter="+escape("displayName eq "+quote(name))+"&$select=id,displayName,agentIdentityBlueprintId", nil, nil)
	if err != nil {
		return "", err
	}
	all, err := listAll[agentIdentityJSON](ctx, c, resp.Body, nil)
	for _, a := range all {
		if strings.EqualFold(a.AgentIdentityBlueprintID, blueprintAppID) {
			return strings.ToLower(a.ID), err
		}
	}
	return "", err
}

// AgentIdentitiesNamed lists the agent identities of a blueprint with that
// display name, oldest first (the post-create namesake check).
func (c *Client) AgentIdentitiesNamed(ctx context.Context, blueprintAppID, name string) ([]Namesake, error) {
	// The look-up is pooled with the other identities' (namepool.go):
	// displayName takes `in` on service principals, as the reader's
	// look-ups of identities use it.
	objs, err := c.named(ctx, "/servicePrincipals/"+agentIdentityCast, "id,displayName,agentIdentityBlueprintId,createdDateTime", 100, name)
	if err != nil {
		return nil, err
	}
	var out []Namesake
	for _, raw := range objs {
		var a agentIdentityJSON
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("graph: decode agent identity: %w", err)
		}
		if !strings.EqualFold(a.AgentIdentityBlueprintID, blueprintAppID) {
			continue
		}
		n := Namesake{ID: strings.ToLower(a.ID)}
		if a.CreatedDateTime != nil {
			n.Created = *a.CreatedDateTime
		}
		out = append(out, n)
	}
	sortNamesakes(out)
	return out, nil
}

// CreateAgentIdentity creates an agent identity; ErrMaybeCreated when the
// answer was lost.
func (c *Client) CreateAgentIdentity(ctx context.Context, body map[string]any) (string, error) {
	resp, err := c.send(createOnce(ctx), abs.POST, "/servicePrincipals/"+agentIdentityCast, body, map[string]string{"OData-Version": "4.0"})
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Status != 500 && ge.Status != 502 && ge.Status != 504 {
			return "", err
		}
		return "", fmt.Errorf("%w: %v", ErrMaybeCreated, err)
	}
	return idOfBody(resp.Body), nil
}

// UpdateAgentIdentity PATCHes an agent identity.
func (c *Client) UpdateAgentIdentity(ctx context.Context, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PATCH, fmt.Sprintf("/servicePrincipals/%s/%s", url.PathEscape(id), agentIdentityCast), body, nil)
	return err
}

// DeleteAgentIdentity deletes an agent identity; one already gone is a
// success.
func (c *Client) DeleteAgentIdentity(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, fmt.Sprintf("/servicePrincipals/%s/%s", url.PathEscape(id), agentIdentityCast), nil, nil))
}

// sponsorsPath is the sponsors collection of a blueprint ("blueprint") or
// an agent identity ("agentIdentity").
func sponsorsPath(kind, id string) string {
	if kind == "blueprint" {
		return fmt.Sprintf("/applications/%s/%s/sponsors", url.PathEscape(id), blueprintCast)
	}
	return fmt.Sprintf("/servicePrincipals/%s/%s/sponsors", url.PathEscape(id), agentIdentityCast)
}

// AddSponsor adds a sponsor; one already there is a success.
func (c *Client) AddSponsor(ctx context.Context, kind, id, sponsorID string) error {
	_, err := c.send(ctx, abs.POST, sponsorsPath(kind, id)+"/$ref", map[string]string{"@odata.id": c.base + "/directoryObjects/" + sponsorID}, nil)
	if isAlready(err) {
		return nil
	}
	return err
}

// AddBlueprintOwner adds an owner to a blueprint; one already there is a
// success.
func (c *Client) AddBlueprintOwner(ctx context.Context, id, ownerID string) error {
	_, err := c.send(ctx, abs.POST, fmt.Sprintf("/applications/%s/%s/owners/$ref", url.PathEscape(id), blueprintCast),
		map[string]string{"@odata.id": c.base + "/directoryObjects/" + ownerID}, nil)
	if isAlready(err) {
		return nil
	}
	return err
}

// RemoveSponsor removes a sponsor; one already gone is a success.
func (c *Client) RemoveSponsor(ctx context.Context, kind, id, sponsorID string) error {
	return gone(c.send(ctx, abs.DELETE, sponsorsPath(kind, id)+"/"+url.PathEscape(sponsorID)+"/$ref", nil, nil))
}

func idOfBody(b []byte) string {
	var out struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &out)
	return strings.ToLower(out.ID)
}

// readAgentUsers reads the agent users the spec names, by UPN.
func (r *reader) readAgentUsers(ctx context.Context, desired *model.Tenant) error {
	var upns []string
	for _, u := range desired.AgentUsers {
		upns = append(upns, u.UserPrincipalName)
	}
	var items []batchItem
	for _, q := range filterQueries("userPrincipalName", uniqueFold(upns), "id,userPrincipalName,displayName,identityParentId") {
		items = append(items, batchItem{Method: "GET", URL: "/users/microsoft.graph.agentUser?" + q})
	}
	return r.list(ctx, items, func(body []byte) error {
		all, err := listAll[struct {
			ID                string `json:"id"`
			UserPrincipalName string `json:"userPrincipalName"`
			DisplayName       string `json:"displayName"`
			IdentityParentID  string `json:"identityParentId"`
		}](ctx, r.c, body, nil)
		for _, u := range all {
			r.obs.AgentUsers = append(r.obs.AgentUsers, &model.AgentUser{ID: strings.ToLower(u.ID), UserPrincipalName: u.UserPrincipalName,
				DisplayName: u.DisplayName, Identity: strings.ToLower(u.IdentityParentID)})
		}
		return err
	})
}

// FindAgentUser returns the id of the agent user with that UPN, "" if none
// is visible.
func (c *Client) FindAgentUser(ctx context.Context, upn string) (string, error) {
	resp, err := c.send(ctx, abs.GET, "/users/microsoft.graph.agentUser?$filter="+escape("userPrincipalName eq "+quote(upn))+"&$select=id", nil, nil)
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
	return strings.ToLower(out.Value[0].ID), nil
}

// CreateAgentUser creates an agent user. Unlike other creates it may be
// sent again after a lost answer or a 5xx: Graph keeps userPrincipalName
// unique and allows one agent user per agent identity, so a resend that
// meets the first create is refused, never doubled; the user is then
// looked up by UPN (ErrMaybeCreated while it is not readable yet).
func (c *Client) CreateAgentUser(ctx context.Context, body map[string]any) (string, error) {
	resp, err := c.send(ctx, abs.POST, "/users/microsoft.graph.agentUser", body, map[string]string{"OData-Version": "4.0"})
	if err != nil {
		if !IsKeyTaken(err) && !isAlready(err) {
			return "", err
		}
		upn, _ := body["userPrincipalName"].(string)
		if id, ferr := c.FindAgentUser(ctx, upn); ferr == nil && id != "" {
			return id, nil
		}
		return "", fmt.Errorf("%w: %v", ErrMaybeCreated, err)
	}
	return idOfBody(resp.Body), nil
}

// DeleteAgentUser deletes an agent user; one already gone is a success.
func (c *Client) DeleteAgentUser(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, "/users/"+url.PathEscape(id), nil, nil))
}

// inheritableScopes is Graph's inheritableScopes object.
func inheritableScopes(all bool, scopes []string) map[string]any {
	if all {
		return map[string]any{"@odata.type": "microsoft.graph.allAllowedScopes"}
	}
	return map[string]any{"@odata.type": "microsoft.graph.enumeratedScopes", "scopes": scopes}
}

// SetInheritable creates or replaces a blueprint's inheritable permissions
// on one resource.
func (c *Client) SetInheritable(ctx context.Context, blueprintID, resourceAppID string, all bool, scopes []string, create bool) error {
	base := fmt.Sprintf("/applications/%s/%s/inheritablePermissions", url.PathEscape(blueprintID), blueprintCast)
	if create {
		_, err := c.send(ctx, abs.POST, base, map[string]any{"resourceAppId": resourceAppID, "inheritableScopes": inheritableScopes(all, scopes)}, nil)
		if err == nil || !isAlready(err) {
			return err
		}
	}
	_, err := c.send(ctx, abs.PATCH, base+"/"+url.PathEscape(resourceAppID), map[string]any{"inheritableScopes": inheritableScopes(all, scopes)}, nil)
	return err
}

// DeleteInheritable removes a blueprint's inheritable permissions on one
// resource; already gone is a success.
func (c *Client) DeleteInheritable(ctx context.Context, blueprintID, resourceAppID string) error {
	return gone(c.send(ctx, abs.DELETE, fmt.Sprintf("/applications/%s/%s/inheritablePermissions/%s", url.PathEscape(blueprintID), blueprintCast, url.PathEscape(resourceAppID)), nil, nil))
}

// UpsertFederatedCredential creates or updates an application's federated
// identity credential by name (one PATCH either way: 201, then 204).
// body holds issuer, subject and audiences, all on create, the changed ones
// on update. Prefer: create-if-missing is what makes the PATCH an upsert;
// without it Graph treats it as an update and a new credential is a 404
// (federatedidentitycredential-upsert).
func (c *Client) UpsertFederatedCredential(ctx context.Context, appID, name string, body map[string]any) error {
	_, err := c.send(ctx, abs.PATCH, fmt.Sprintf("/applications/%s/federatedIdentityCredentials(name='%s')", url.PathEscape(appID), url.PathEscape(name)), body, map[string]string{"Prefer": "create-if-missing"})
	return err
}

// DeleteFederatedCredential removes an application's federated identity
// credential; already gone is a success.
func (c *Client) DeleteFederatedCredential(ctx context.Context, appID, id string) error {
	return gone(c.send(ctx, abs.DELETE, fmt.Sprintf("/applications/%s/federatedIdentityCredentials/%s", url.PathEscape(appID), url.PathEscape(id)), nil, nil))
}

// odataKey writes s as an OData string literal for a key segment, quotes
// doubled, then escaped for the URL path: a name with /, ?, # or % in it
// stays one key and cannot change the request.
func odataKey(s string) string {
	return "'" + url.PathEscape(strings.ReplaceAll(s, "'", "''")) + "'"
}
