package graph

import (
	"context"
	"fmt"
	"net/url"
	"slices"
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

// UpsertGroup creates the security group with the given uniqueName, or
// updates it when it already exists (Graph's upsert: PATCH
// /groups(uniqueName='…') with Prefer: create-if-missing). It returns the
// new group's id when this call created it, and "" when the group already
// existed (Graph answers 204 without a body): the caller then looks it up
// with GroupByUniqueName and decides whether it may adopt it. Repeating the
// call never makes a second group.
func (c *Client) UpsertGroup(ctx context.Context, uniqueName string, f GroupFields) (id string, created bool, err error) {
	body := f.model()
	no, yes := false, true
	body.SetMailEnabled(&no)
	body.SetSecurityEnabled(&yes)
	if f.GroupTypes == nil {
		body.SetGroupTypes([]string{})
	}
	h := abs.NewRequestHeaders()
	h.Add("Prefer", "create-if-missing")
	path := fmt.Sprintf("/groups(uniqueName='%s')", uniqueName)
	got, err := c.sdk.GroupsWithUniqueName(&uniqueName).Patch(ctx, body,
		&groupswithuniquename.GroupsWithUniqueNameRequestBuilderPatchRequestConfiguration{Headers: h})
	if err != nil {
		return "", false, fromSDK("PATCH", path, err)
	}
	if got != nil && got.GetId() != nil {
		return *got.GetId(), true, nil
	}
	return "", false, nil
}

// GroupByUniqueName returns the id and display name of the group with that
// uniqueName.
func (c *Client) GroupByUniqueName(ctx context.Context, uniqueName string) (id, displayName string, err error) {
	got, err := c.sdk.GroupsWithUniqueName(&uniqueName).Get(ctx, &groupswithuniquename.GroupsWithUniqueNameRequestBuilderGetRequestConfiguration{
		QueryParameters: &groupswithuniquename.GroupsWithUniqueNameRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	if err != nil {
		return "", "", fromSDK("GET", fmt.Sprintf("/groups(uniqueName='%s')", uniqueName), err)
	}
	return deref(got.GetId()), deref(got.GetDisplayName()), nil
}

// GroupExists reports whether GET /groups/{id} finds the group: the check
// that a just-created group is visible to reads.
func (c *Client) GroupExists(ctx context.Context, id string) (bool, error) {
	_, err := c.sdk.Groups().ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	err = fromSDK("GET", "/groups/"+id, err)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// UpdateGroup PATCHes the given fields of a group.
func (c *Client) UpdateGroup(ctx context.Context, id string, f GroupFields) error {
	_, err := c.sdk.Groups().ByGroupId(id).Patch(ctx, f.model(), nil)
	return fromSDK("PATCH", "/groups/"+id, err)
}

// DeleteGroup deletes a group. A group that is already gone is a success.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	err := fromSDK("DELETE", "/groups/"+id, c.sdk.Groups().ByGroupId(id).Delete(ctx, nil))
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
// (Graph's limit), several PATCHes at a time. A PATCH is all-or-nothing and
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
		_, err := c.sdk.Groups().ByGroupId(groupID).Patch(ctx, body, nil)
		err = fromSDK("PATCH", "/groups/"+groupID, err)
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
	_, err := c.do(ctx, abs.POST, fmt.Sprintf(ownersEndpoint+"/$ref", url.PathEscape(groupID)),
		map[string]string{"@odata.id": c.base + "/directoryObjects/" + ownerID}, nil)
	if isAlreadyExists(err) {
		return nil
	}
	return err
}

// RemoveGroupOwner removes an owner from a group by $ref. An owner already
// gone counts as removed. Graph refuses to remove a group's last owner
// (400); the planner never asks it to.
func (c *Client) RemoveGroupOwner(ctx context.Context, groupID, ownerID string) error {
	_, err := c.do(ctx, abs.DELETE, fmt.Sprintf(ownersEndpoint+"/%s/$ref", url.PathEscape(groupID), url.PathEscape(ownerID)), nil, nil)
	if isRefGone(err) {
		return nil
	}
	return err
}
