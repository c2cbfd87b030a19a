package planner

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/entrasync/entrasync/model"
)

// FormatVersion is the version of the plan document. It changes whenever a
// saved plan written by an older entrasync could be misread by a newer one.
const FormatVersion = "1"

// Plan is the result of planning: data only, so that it round-trips through
// JSON and every view (text, Markdown, JSON) renders the same content.
type Plan struct {
	FormatVersion string `json:"formatVersion"`
	ToolVersion   string `json:"toolVersion"`
	// Tenant is the domain the plan was computed for.
	Tenant string `json:"tenant"`
	// SpecDigest identifies the spec files the plan was computed from.
	SpecDigest string `json:"specDigest,omitempty"`
	// CreatedAt comes from the clock in Options, never from time.Now.
	CreatedAt time.Time `json:"createdAt"`
	// Changes are in execution order: every change comes after the changes it
	// depends on; independent changes are ordered by phase, then address.
	Changes []Change `json:"changes"`
	// Diagnostics are notes, warnings and errors found while planning. They
	// are not changes and are not counted as such.
	Diagnostics model.Diagnostics `json:"diagnostics,omitempty"`
	// Errored is true when planning found errors; such a plan is never
	// applied.
	Errored bool `json:"errored"`
	// RequireApproval are the risk codes whose changes wait for an explicit
	// approval, from the spec's settings or the defaults.
	RequireApproval []RiskCode `json:"requireApproval"`
	// Blocks are the safety limits the plan exceeds; apply refuses a plan
	// with blocks before its first write.
	Blocks []Block `json:"blocks,omitempty"`
	// Safeguards are the ways the spec's settings are weaker than the
	// policy or the defaults (ES401): apply refuses the plan before its
	// first write unless ES401 is approved.
	Safeguards []Safeguard `json:"safeguards,omitempty"`
	// PolicyFile is the policy the plan was computed under, if any.
	PolicyFile string `json:"policyFile,omitempty"`
	// Targets are the --target patterns the plan was narrowed to.
	Targets []string `json:"targets,omitempty"`
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != NoOp {
			return true
		}
	}
	return false
}

// Applyable reports whether the plan can be applied: it has changes and no
// errors.
func (p *Plan) Applyable() bool { return !p.Errored && p.HasChanges() }

// Kind is the kind of object a change is about. It also fixes how the change
// is carried out.
type Kind string

const (
	// KindGroup is a group's own properties: created, patched field by field,
	// or deleted.
	KindGroup Kind = "group"
	// KindGroupMembers is a group's member set: members added and removed by
	// reference.
	KindGroupMembers Kind = "group_members"
	// KindGroupOwners is a group's owner set: users and service principals
	// added and removed by reference.
	KindGroupOwners Kind = "group_owners"
	// KindGroupSourceOfAuthority is the switch of an AD-synced group to
	// cloud management (onPremisesSyncBehavior.isCloudManaged).
	KindGroupSourceOfAuthority Kind = "group_source_of_authority"
	// KindCatalog is an entitlement-management catalog's own properties.
	KindCatalog Kind = "catalog"
	// KindCatalogResources is the set of groups a catalog holds.
	KindCatalogResources Kind = "catalog_resources"
	// KindPackage is an access package's own properties.
	KindPackage Kind = "access_package"
	// KindPackageRoles is the set of resource roles a package grants.
	KindPackageRoles Kind = "access_package_roles"
	// KindPolicy is an assignment policy, written whole (PUT).
	KindPolicy Kind = "assignment_policy"
	// KindAssignments is a package's set of admin-made assignments.
	KindAssignments Kind = "access_package_assignments"
	// KindIncompatible is the set of packages and groups a package excludes.
	KindIncompatible Kind = "access_package_incompatible"
)

// Change is one semantic change to one address.
//
// Invariants: Before fields are nil when Action is Create; After fields are
// nil when Action is Delete; Members is set only for the kinds of sets;
// ObjectID is empty only when the object is created by this plan.
type Change struct {
	// Address is stable across runs, e.g. group["Finance"].members.
	Address string `json:"address"`
	Kind    Kind   `json:"kind"`
	Action  Action `json:"action"`
	// Object is the display name of the object the change is about.
	Object string `json:"object"`
	// ObjectID is the id of the observed object; empty for creates.
	ObjectID string `json:"objectId,omitempty"`
	// Reason says why, for display only.
	Reason string `json:"reason,omitempty"`
	// Fields are the field-level differences, sorted by field name; an
	// assignment policy's are spec-term paths (approval.stages[0].timeout) in
	// the spec's order, while Body keeps the exact Graph body.
	Fields []FieldDiff `json:"fields,omitempty"`
	// Members are the adds and removes of a set: group members, catalog
	// resources, package assignments.
	Members *MemberDiff `json:"members,omitempty"`
	// Roles are the resource roles a KindPackageRoles change adds and
	// removes.
	Roles *RoleDiff `json:"roles,omitempty"`
	// Body is the whole object a KindPolicy create or update writes: for an
	// update, the observed policy with the spec's properties merged in.
	Body map[string]any `json:"body,omitempty"`
	// Parents are the objects the change's object lives in or refers to
	// ("catalog", "package", "policy"), by address and, when they exist
	// already, by id.
	Parents map[string]Parent `json:"parents,omitempty"`
	// Risks are the stable codes of the risk analyzers that flagged this
	// change (see risk.go).
	Risks []RiskCode `json:"risks,omitempty"`
	// DependsOn lists the addresses that must be applied first.
	DependsOn []string `json:"dependsOn,omitempty"`
	// ObservedFingerprint is a hash of the observed object's normalised
	// fields the change was computed from; empty for creates.
	ObservedFingerprint string `json:"observedFingerprint,omitempty"`
	// Pos is where the spec declares the object.
	Pos model.Pos `json:"pos,omitzero"`
}

// FieldDiff is one field's change. Values are JSON values (string, bool,
// number or null).
type FieldDiff struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Parent is an object a change refers to: its address, and its id when it
// exists before the apply (else the applier takes the id its create got).
type Parent struct {
	Address string `json:"address"`
	ID      string `json:"id,omitempty"`
}

// RoleDiff lists the resource roles a package gains and loses.
type RoleDiff struct {
	Add    []RoleRef `json:"add,omitempty"`
	Remove []RoleRef `json:"remove,omitempty"`
}

// RoleRef is a role granted by a package: a group's Member or Owner role,
// or (Group.Kind servicePrincipal) an application's app role.
type RoleRef struct {
	Group Member `json:"group"`
	// Role is Member or Owner, or the app role's value.
	Role string `json:"role"`
	// RoleID is the app role's id (application roles only).
	RoleID string `json:"roleId,omitempty"`
	// AppID is the application's appId (application roles only), which
	// the risk analysis needs: a privileged Microsoft Graph app role
	// granted through a package is ES201 like a direct grant.
	AppID string `json:"appId,omitempty"`
	// ID is the resource role scope's id (removals).
	ID string `json:"id,omitempty"`
}

// MemberDiff lists the members a change adds and removes.
type MemberDiff struct {
	Mode model.Mode `json:"mode"`
	// Live is the number of members the set has now.
	Live   int      `json:"live"`
	Add    []Member `json:"add,omitempty"`
	Remove []Member `json:"remove,omitempty"`
	// Repair lists delivered assignments whose group membership is missing;
	// apply asks Graph to process them again.
	Repair []Member `json:"repair,omitempty"`
	// Invite says how to invite the Add entries that are not in the
	// directory yet (Member.Invite).
	Invite *model.Invite `json:"invite,omitempty"`
}

// Member is a directory object added to or removed from a set.
type Member struct {
	Kind model.PrincipalKind `json:"kind"`
	// ID is the object id. It is empty only for a group that this plan
	// creates; Address then names that group's create change.
	ID      string `json:"id,omitempty"`
	Address string `json:"address,omitempty"`
	// Label is the UPN or display name, for display.
	Label string    `json:"label"`
	Pos   model.Pos `json:"pos,omitzero"`
	// Assignment is the access-package assignment a removal or repair acts on.
	Assignment string `json:"assignment,omitempty"`
	// Invite marks a target to invite as a guest first (Label is the mail).
	Invite bool `json:"invite,omitempty"`
}

// Action is what a change does. The zero value is NoOp.
type Action int

// The actions. Their symbols (+, ~, -) appear only in renderers.
const (
	NoOp Action = iota
	Create
	Update
	Delete
)

var actionNames = [...]string{"no-op", "create", "update", "delete"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// MarshalText encodes the action by name, so plan files stay readable.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an action name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("planner: unknown action %q", b)
}

// Summary counts the changes of a plan by action, and member moves.
type Summary struct {
	Create, Update, Delete                     int
	MembersAdd, MembersRemove                  int
	AssignmentsAdd, AssignmentsRemove, Repairs int
}

// Summarize counts p's changes.
func (p *Plan) Summarize() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Delete:
			s.Delete++
		}
		switch {
		case c.Members == nil:
		case c.Kind == KindAssignments:
			s.AssignmentsAdd += len(c.Members.Add)
			s.AssignmentsRemove += len(c.Members.Remove)
			s.Repairs += len(c.Members.Repair)
		case c.Kind == KindGroupMembers:
			s.MembersAdd += len(c.Members.Add)
			s.MembersRemove += len(c.Members.Remove)
		}
	}
	return s
}

// Encode writes p as indented JSON. Decoding and encoding again gives the
// same bytes.
func Encode(p *Plan) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("planner: encode plan: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode reads a plan written by Encode and refuses other format versions.
// Its errors read after the name of the file, as the CLI shows them
// ("plan.json: not an entrasync plan file (...)"): the file may be any file
// given by mistake, so they say what it is before where its JSON broke.
func Decode(b []byte) (*Plan, error) {
	const notPlan = "not an entrasync plan file"
	// The version first, alone: a plan of another version may not decode
	// as this one, and a file of another kind is no broken plan.
	var head struct {
		FormatVersion json.RawMessage `json:"formatVersion"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		switch e := err.(type) {
		case *json.SyntaxError:
			// The decoder counts bytes; a line and column find the
			// place in an editor. Offset counts the offending byte.
			line, col, blank := 1, 0, true
			for _, c := range b[:min(int(e.Offset), len(b))] {
				if c == '\n' {
					line, col = line+1, 0
				} else {
					col++
				}
				blank = blank && (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			}
			if blank {
				return nil, fmt.Errorf("%s (the file is empty)", notPlan)
			}
			return nil, fmt.Errorf("%s (line %d, column %d: %v)", notPlan, line, max(col, 1), err)
		case *json.UnmarshalTypeError:
			return nil, fmt.Errorf("%s (it holds a JSON %s, and a plan is an object)", notPlan, e.Value)
		}
		return nil, fmt.Errorf("%s (%w)", notPlan, err)
	}
	var version string
	switch raw := string(head.FormatVersion); {
	case raw == "" || raw == "null":
		return nil, fmt.Errorf("%s (a JSON object without a formatVersion; entrasync plan -out FILE writes plan files)", notPlan)
	case json.Unmarshal(head.FormatVersion, &version) != nil || version != FormatVersion:
		// As written (quoted or not), so that 2 and "2" are told apart.
		return nil, fmt.Errorf("an entrasync plan of format version %s, but this entrasync reads version %q: run plan again with this version of entrasync", raw, FormatVersion)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a valid entrasync plan file (%w)", err)
	}
	return &p, nil
}
