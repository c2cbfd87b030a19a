package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/groupswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// GroupFields are the group properties entrasync writes. A nil field is left
// alone; a pointer to "" clears the property.
type GroupFields struct {
	DisplayName                   *string
	Description                   *string
	MailNickname                  *string
	MembershipRule                *string
	MembershipRuleProcessingState *string
	// GroupTypes is set when the group becomes dynamic or assigned.
	GroupTypes []string
}

func (f GroupFields) model() *models.Group {
	g := models.NewGroup()
	extra := map[string]any{}
	set := func(v *string, name string, setter func(*string)) {
		switch {
		case v == nil:
		case *v == "":
			extra[name] = nil // Graph clears a property set to null
		default:
			setter(v)
		}
	}
	set(f.DisplayName, "displayName", g.SetDisplayName)
	set(f.Description, "description", g.SetDescription)
	set(f.MailNickname, "mailNickname", g.SetMailNickname)
	set(f.MembershipRule, "membershipRule", g.SetMembershipRule)
	set(f.MembershipRuleProcessingState, "membershipRuleProcessingState", g.SetMembershipRuleProcessingState)
	if f.GroupTypes != nil {
		g.SetGroupTypes(f.GroupTypes)
	}
	if len(extra) > 0 {
		g.SetAdditionalData(extra)
	}
	return g
}

// one sends a single sub-request through the coalescer, so it shares a
// $batch call with whatever else the client sends at the time (see send),
// and returns its answer, or the error Graph answered it with.
func (c *Client) one(ctx context.Context, it batchItem) (*response, error) {
	return c.send(ctx, methods[it.Method], it.URL, it.Body, it.Headers)
}

// typed is a request built by msgraph-sdk-go's typed request builders (its
// models serialize the body, its URI templates the path and query) as a
// $batch item, so that it shares a call with the client's other requests.
func (c *Client) typed(ri *abs.RequestInformation, err error) (batchItem, error) {
	if err != nil {
		return batchItem{}, fmt.Errorf("graph: build request: %w", err)
	}
	u, err := ri.GetUri()
	if err != nil {
		return batchItem{}, fmt.Errorf("graph: build request: %w", err)
	}
	it := batchItem{Method: ri.Method.String(), URL: strings.TrimPrefix(u.String(), c.base)}
	for _, k := range ri.Headers.ListKeys() {
		if strings.EqualFold(k, "Accept") || strings.EqualFold(k, "Content-Type") {
			continue // the $batch call's own; batchAt sets the item's Content-Type
		}
		if it.Headers == nil {
			it.Headers = map[string]string{}
		}
		it.Headers[k] = strings.Join(ri.Headers.Get(k), ", ")
	}
	if len(ri.Content) > 0 {
		it.Body = json.RawMessage(ri.Content)
	}
	return it, nil
}

// oneTyped sends a typed request as one $batch item (see one).
func (c *Client) oneTyped(ctx context.Context, ri *abs.RequestInformation, err error) (*response, error) {
	it, err := c.typed(ri, err)
	if err != nil {
		return nil, err
	}
	return c.one(ctx, it)
}

var methods = map[string]abs.HttpMethod{"GET": abs.GET, "POST": abs.POST, "PATCH": abs.PATCH, "PUT": abs.PUT, "DELETE": abs.DELETE}

// CreateGroup creates the security group with the given uniqueName (POST
// /groups) and returns its id. Graph keeps uniqueName unique: a second
// create of the same name is refused (400
// Request_MultipleObjectsWithSameKeyValue, IsKeyTaken) without touching the
// group that holds it, so repeating the call never makes a second group and
// never changes someone else's. The caller then looks the holder up with
// GroupByUniqueName and decides whether it may adopt it. Like every group
// write, it goes as a $batch item, with the creates of other groups.
func (c *Client) CreateGroup(ctx context.Context, uniqueName string, f GroupFields) (id string, err error) {
	body := f.model()
	no, yes := false, true
	body.SetMailEnabled(&no)
	body.SetSecurityEnabled(&yes)
	body.SetUniqueName(&uniqueName)
	if f.GroupTypes == nil {
		body.SetGroupTypes([]string{})
	}
	ri, err := c.sdk.Groups().ToPostRequestInformation(ctx, body, nil)
	res, err := c.oneTyped(ctx, ri, err)
	if err != nil {
		return "", err
	}
	var got struct{ ID string }
	if err := json.Unmarshal(res.Body, &got); err != nil || got.ID == "" {
		return "", fmt.Errorf("graph: POST /groups (uniqueName %s): the answer names no group id", uniqueName)
	}
	return got.ID, nil
}

// GroupByUniqueName returns the id and display name of the group with that
// uniqueName.
func (c *Client) GroupByUniqueName(ctx context.Context, uniqueName string) (id, displayName string, err error) {
	ri, err := c.sdk.GroupsWithUniqueName(&uniqueName).ToGetRequestInformation(ctx, &groupswithuniquename.GroupsWithUniqueNameRequestBuilderGetRequestConfiguration{
		QueryParameters: &groupswithuniquename.GroupsWithUniqueNameRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	res, err := c.oneTyped(ctx, ri, err)
	if err != nil {
		return "", "", err
	}
	var got struct{ ID, DisplayName string }
	if err := json.Unmarshal(res.Body, &got); err != nil {
		return "", "", fmt.Errorf("graph: decode GET /groups(uniqueName='%s'): %w", uniqueName, err)
	}
	return got.ID, got.DisplayName, nil
}

// GroupExists reports whether GET /groups/{id} finds the group: the check
// that a just-created group is visible to reads.
func (c *Client) GroupExists(ctx context.Context, id string) (bool, error) {
	ri, err := c.sdk.Groups().ByGroupId(id).ToGetRequestInformation(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	_, err = c.oneTyped(ctx, ri, err)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// UpdateGroup PATCHes the given fields of a group.
func (c *Client) UpdateGroup(ctx context.Context, id string, f GroupFields) error {
	ri, err := c.sdk.Groups().ByGroupId(id).ToPatchRequestInformation(ctx, f.model(), nil)
	_, err = c.oneTyped(ctx, ri, err)
	return err
}

// DeleteGroup deletes a group. A group that is already gone is a success.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	ri, err := c.sdk.Groups().ByGroupId(id).ToDeleteRequestInformation(ctx, nil)
	_, err = c.oneTyped(ctx, ri, err)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// SetCloudManaged switches a group's source of authority to the cloud
// (onPremisesSyncBehavior.isCloudManaged = true). Repeating it is harmless.
// The call goes to beta, where Microsoft documents it (README §5), as a raw
// request through the same adapter.
func (c *Client) SetCloudManaged(ctx context.Context, id string) error {
	_, err := c.do(ctx, abs.PATCH, c.root+"/beta/groups/"+url.PathEscape(id)+"/onPremisesSyncBehavior", map[string]bool{"isCloudManaged": true}, nil)
	return err
}

// AddMembers adds members to a group, 20 per PATCH with members@odata.bind
// (Graph's limit), several PATCHes at a time, each a $batch item that
// shares its call with other groups' chunks. A PATCH is all-or-nothing and
// fails when any of its members is already there; such a chunk is retried
// member by member through $ref in one $batch, where "already exists" counts
// as success. So AddMembers can be repeated safely. Each chunk that lands is
// reported to the context's Progress.
func (c *Client) AddMembers(ctx context.Context, groupID string, ids []string) error {
	chunks := slices.Collect(slices.Chunk(ids, maxBatch))
	count := countItems(ctx, len(ids))
	return c.parallel(len(chunks), func(i int) error {
		chunk := chunks[i]
		refs := make([]string, len(chunk))
		for i, id := range chunk {
			refs[i] = c.base + "/directoryObjects/" + id
		}
		body := models.NewGroup()
		body.SetAdditionalData(map[string]any{"members@odata.bind": refs})
		ri, err := c.sdk.Groups().ByGroupId(groupID).ToPatchRequestInformation(ctx, body, nil)
		_, err = c.oneTyped(ctx, ri, err)
		if err != nil && isAlreadyExists(err) {
			items := make([]batchItem, len(chunk))
			for i, id := range chunk {
				items[i] = batchItem{Method: "POST", URL: fmt.Sprintf("/groups/%s/members/$ref", url.PathEscape(groupID)),
					Body: map[string]string{"@odata.id": c.base + "/directoryObjects/" + id}}
			}
			err = c.batchWrites(withoutProgress(ctx), items, isAlreadyExists)
		}
		if err == nil {
			count.add(len(chunk))
		}
		return err
	})
}

// RemoveMembers removes members from a group by $ref DELETEs sent in $batch
// calls of 20. A member that is already gone counts as removed.
func (c *Client) RemoveMembers(ctx context.Context, groupID string, ids []string) error {
	items := make([]batchItem, len(ids))
	for i, id := range ids {
		items[i] = batchItem{Method: "DELETE", URL: fmt.Sprintf("/groups/%s/members/%s/$ref", url.PathEscape(groupID), url.PathEscape(id))}
	}
	return c.batchWrites(ctx, items, isRefGone)
}

// batchWrites sends write items in $batch calls and returns the first
// failure that ok does not excuse.
func (c *Client) batchWrites(ctx context.Context, items []batchItem, ok func(error) bool) error {
	results, err := c.batchCounted(ctx, items)
	if err != nil {
		return err
	}
	for i := range results {
		if err := results[i].err(&items[i]); err != nil && !ok(err) {
			return err
		}
	}
	return nil
}

// batchCounted is batch, reporting items to the context's Progress as
// their $batch calls come back. Without a Progress, or for one call's worth
// of items (appliers sends 20 at a time), it is batch itself. Otherwise the
// calls of 20 go out Parallelism at a time, each numbering its items from 0
// (Graph wants ids unique within one $batch only). Results and error are
// batch's.
func (c *Client) batchCounted(ctx context.Context, items []batchItem) ([]batchResult, error) {
	count := countItems(ctx, len(items))
	if count.fn == nil || len(items) <= maxBatch {
		results, err := c.batch(ctx, items)
		if err == nil {
			count.add(len(items))
		}
		return results, err
	}
	results := make([]batchResult, len(items))
	parts := (len(items) + maxBatch - 1) / maxBatch
	err := c.parallel(parts, func(i int) error {
		lo, hi := i*maxBatch, min((i+1)*maxBatch, len(items))
		got, err := c.batch(ctx, items[lo:hi])
		copy(results[lo:hi], got)
		if err == nil {
			count.add(hi - lo)
		}
		return err
	})
	return results, err
}

// parallel runs fn for parts 0..n-1, at most Parallelism at a time, and
// returns the first error. Only writes go through it: Parallelism is their
// fan-out (the client's write slots bound them across operations anyway).
func (c *Client) parallel(n int, fn func(int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, c.opts.Parallelism)
	)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// AddGroupOwner adds an owner (a user or service principal) to a group by
// $ref. An owner already there counts as added ("One or more added object
// references already exist"), so the call can be repeated safely.
func (c *Client) AddGroupOwner(ctx context.Context, groupID, ownerID string) error {
	_, err := c.one(ctx, batchItem{Method: "POST", URL: fmt.Sprintf(ownersEndpoint+"/$ref", url.PathEscape(groupID)),
		Body: map[string]string{"@odata.id": c.base + "/directoryObjects/" + ownerID}})
	if isAlreadyExists(err) {
		return nil
	}
	return err
}

// RemoveGroupOwner removes an owner from a group by $ref. An owner already
// gone counts as removed. Graph refuses to remove a group's last owner
// (400); the planner never asks it to.
func (c *Client) RemoveGroupOwner(ctx context.Context, groupID, ownerID string) error {
	_, err := c.one(ctx, batchItem{Method: "DELETE", URL: fmt.Sprintf(ownersEndpoint+"/%s/$ref", url.PathEscape(groupID), url.PathEscape(ownerID))})
	if isRefGone(err) {
		return nil
	}
	return err
}
