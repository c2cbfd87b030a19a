package appliers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// OpKind is the kind of a Graph operation.
type OpKind string

// The operations appliers send.
const (
	OpCreateGroup   OpKind = "createGroup"
	OpUpdateGroup   OpKind = "updateGroup"
	OpDeleteGroup   OpKind = "deleteGroup"
	OpCloudManaged  OpKind = "setCloudManaged"
	OpAddMembers    OpKind = "addMembers"
	OpRemoveMembers OpKind = "removeMembers"
	// Owners go one $ref at a time: a group has few, and the adds come
	// first so that a removal never meets a group without an owner.
	OpAddGroupOwner    OpKind = "addGroupOwner"
	OpRemoveGroupOwner OpKind = "removeGroupOwner"
)

// Op is one Graph operation compiled from a change. Method, Path and Body
// describe the request for people (plan --show-requests); Kind and the typed
// fields are what the executor acts on.
type Op struct {
	Change string `json:"change"`
	Kind   OpKind `json:"kind"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`

	GroupID    string            `json:"-"`
	UniqueName string            `json:"-"`
	Fields     graph.GroupFields `json:"-"`
	MemberIDs  []string          `json:"-"`
}

// IDs maps the addresses of objects created during an apply to their ids.
type IDs interface {
	Lookup(address string) (string, bool)
}

// Compile turns a change into the operations that carry it out. It is pure.
// Ids of objects created earlier in the same apply come from ids; when one
// is not known yet (plan --show-requests), the path shows a placeholder.
func Compile(c *planner.Change, ids IDs) ([]Op, error) {
	id := func(addr string) string {
		if v, ok := ids.Lookup(addr); ok {
			return v
		}
		return "{" + addr + ".id}"
	}
	groupID := c.ObjectID
	if groupID == "" {
		groupID = id(groupAddress(c.Address))
	}
	switch c.Kind {
	case planner.KindGroup:
		return compileGroup(c, groupID)
	case planner.KindGroupSourceOfAuthority:
		return []Op{{Change: c.Address, Kind: OpCloudManaged, Method: "PATCH", Path: "/groups/" + groupID + "/onPremisesSyncBehavior",
			Body: map[string]any{"isCloudManaged": true}, GroupID: groupID}}, nil
	case planner.KindGroupMembers:
		var ops []Op
		add := make([]string, 0, len(c.Members.Add))
		for _, m := range c.Members.Add {
			if m.ID != "" {
				add = append(add, m.ID)
			} else {
				add = append(add, id(m.Address))
			}
		}
		for chunk := range slices.Chunk(add, 20) {
			refs := make([]string, len(chunk))
			for i, m := range chunk {
				refs[i] = "https://graph.microsoft.com/v1.0/directoryObjects/" + m
			}
			ops = append(ops, Op{Change: c.Address, Kind: OpAddMembers, Method: "PATCH", Path: "/groups/" + groupID,
				Body: map[string]any{"members@odata.bind": refs}, GroupID: groupID, MemberIDs: chunk})
		}
		remove := make([]string, len(c.Members.Remove))
		for i, m := range c.Members.Remove {
			remove[i] = m.ID
		}
		for chunk := range slices.Chunk(remove, 20) {
			reqs := make([]string, len(chunk))
			for i, m := range chunk {
				reqs[i] = "DELETE /groups/" + groupID + "/members/" + m + "/$ref"
			}
			ops = append(ops, Op{Change: c.Address, Kind: OpRemoveMembers, Method: "POST", Path: "/$batch",
				Body: map[string]any{"requests": reqs}, GroupID: groupID, MemberIDs: chunk})
		}
		return ops, nil
	case planner.KindGroupOwners:
		var ops []Op
		for _, m := range c.Members.Add {
			ops = append(ops, Op{Change: c.Address, Kind: OpAddGroupOwner, Method: "POST", Path: "/groups/" + groupID + "/owners/$ref",
				Body: map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m.ID}, GroupID: groupID, MemberIDs: []string{m.ID}})
		}
		for _, m := range c.Members.Remove {
			ops = append(ops, Op{Change: c.Address, Kind: OpRemoveGroupOwner, Method: "DELETE", Path: "/groups/" + groupID + "/owners/" + m.ID + "/$ref",
				GroupID: groupID, MemberIDs: []string{m.ID}})
		}
		return ops, nil
	}
	return compileEM(c, ids)
}

func compileGroup(c *planner.Change, groupID string) ([]Op, error) {
	switch c.Action {
	case planner.Delete:
		return []Op{{Change: c.Address, Kind: OpDeleteGroup, Method: "DELETE", Path: "/groups/" + groupID, GroupID: groupID}}, nil
	case planner.Create, planner.Update:
		var f graph.GroupFields
		body := map[string]any{}
		unique := ""
		for _, fd := range c.Fields {
			v, _ := fd.After.(string)
			switch fd.Field {
			case "displayName":
				f.DisplayName = &v
			case "description":
				f.Description = &v
			case "mailNickname":
				f.MailNickname = &v
			case "membershipRule":
				f.MembershipRule = &v
				if c.Action == planner.Create && v != "" {
					f.GroupTypes = []string{"DynamicMembership"}
				}
			case "groupTypes":
				f.GroupTypes = stringList(fd.After)
				body["groupTypes"] = f.GroupTypes
				continue
			case "membershipRuleProcessingState":
				f.MembershipRuleProcessingState = &v
			case "uniqueName":
				unique = v
				continue
			default:
				return nil, fmt.Errorf("appliers: %s: field %q cannot be written", c.Address, fd.Field)
			}
			if v == "" {
				body[fd.Field] = nil
			} else {
				body[fd.Field] = v
			}
		}
		if f.GroupTypes != nil {
			body["groupTypes"] = f.GroupTypes
		}
		if c.Action == planner.Update {
			return []Op{{Change: c.Address, Kind: OpUpdateGroup, Method: "PATCH", Path: "/groups/" + groupID, Body: body, GroupID: groupID, Fields: f}}, nil
		}
		if unique == "" {
			return nil, fmt.Errorf("appliers: %s: create without uniqueName", c.Address)
		}
		body["mailEnabled"] = false
		body["securityEnabled"] = true
		if f.GroupTypes == nil {
			body["groupTypes"] = []string{}
		}
		body["uniqueName"] = unique
		return []Op{{Change: c.Address, Kind: OpCreateGroup, Method: "POST", Path: "/groups",
			Body: body, UniqueName: unique, Fields: f}}, nil
	}
	return nil, fmt.Errorf("appliers: %s: unexpected action %s", c.Address, c.Action)
}

// stringList reads a JSON list of strings, as decoded from a saved plan
// ([]any) or built by the planner ([]string).
func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return []string{}
}

// groupAddress strips a sub-address (".members", ".owners", ".cloudManaged") from a
// change address, giving the group's own address.
func groupAddress(addr string) string {
	if i := strings.LastIndex(addr, "]"); i >= 0 {
		return addr[:i+1]
	}
	return addr
}
