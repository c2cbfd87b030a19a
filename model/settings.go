package model

import (
	"fmt"
	"slices"
	"strings"
)

// Settings are the spec's rules for planning and applying, as opposed to
// tenant state: which risk codes need approval, how much a run may remove or
// change, which principals no plan may remove, and which fields another
// system owns. The zero value means "the defaults" throughout.
type Settings struct {
	// RequireApproval lists the risk codes whose changes wait for an
	// explicit approval (--approve CODE). Nil means the planner's default.
	RequireApproval []string `json:"requireApproval,omitempty"`
	// RemovalsPerSet bounds the removals from one managed set (members of a
	// group); a set may override it (MemberSet.Limit).
	RemovalsPerSet Limit `json:"removalsPerSet,omitzero"`
	// ChangesPerRun bounds the updates and deletions of managed objects in
	// one run, as a share of the managed objects that exist.
	ChangesPerRun Limit `json:"changesPerRun,omitzero"`
	// Protected are principals (break-glass accounts) that no plan may
	// remove from any group; a plan that would is an error.
	Protected []Ref `json:"protected,omitempty"`
	// Ignore names fields another system owns: entrasync neither compares
	// nor writes them.
	Ignore []IgnoreRule `json:"ignore,omitempty"`
	// Pos is where settings: is written.
	Pos Pos `json:"-"`
}

// Limit is a safety threshold. Nil fields take the planner's defaults; a
// limit applies only to sets (or runs) of at least MinSetSize entries.
type Limit struct {
	MaxPercent *int `json:"maxPercent,omitempty"`
	MaxCount   *int `json:"maxCount,omitempty"`
	MinSetSize *int `json:"minSetSize,omitempty"`
	// Pos is where the limit is written, for messages.
	Pos Pos `json:"-"`
	// Setting names the limit in the spec (settings.limits.removalsPerSet,
	// groups[…].members.limits) so a message can say what to change.
	Setting string `json:"-"`
}

// IgnoreRule says that Fields of the objects of one kind whose display name
// matches a pattern (a path.Match pattern, compared case-insensitively) are
// owned elsewhere. Exactly one of the pattern fields is set; it names the
// kind (IgnoreKinds), and Fields are among IgnorableFields of that kind.
type IgnoreRule struct {
	Group string `json:"group,omitempty"`
	// Catalog matches catalogs, AccessPackage access packages (by the
	// package's own display name, in any catalog), Blueprint blueprints and
	// AgentIdentity agent identities (by their display name, under any
	// blueprint).
	Catalog       string   `json:"catalog,omitempty"`
	AccessPackage string   `json:"accessPackage,omitempty"`
	Blueprint     string   `json:"blueprint,omitempty"`
	AgentIdentity string   `json:"agentIdentity,omitempty"`
	Fields        []string `json:"fields"`
	Pos           Pos      `json:"-"`
}

// The kinds of object an ignore rule can name, by their key in the spec.
const (
	IgnoreGroup         = "group"
	IgnoreCatalog       = "catalog"
	IgnoreAccessPackage = "accessPackage"
	IgnoreBlueprint     = "blueprint"
	IgnoreAgentIdentity = "agentIdentity"
)

// IgnoreKinds lists the kinds of object an ignore rule can name.
var IgnoreKinds = []string{IgnoreGroup, IgnoreCatalog, IgnoreAccessPackage, IgnoreBlueprint, IgnoreAgentIdentity}

// IgnorableFields are, per kind, the fields an ignore rule can hand to
// another system: those the planner compares and leaves alone when they are
// unset (unmanaged), by their key in the spec. Sets are listed only where
// leaving them unmanaged is safe: nothing is then added or removed.
var IgnorableFields = map[string][]string{
	IgnoreGroup:         {"description", "mailNickname", "membershipRule", "membershipRuleProcessingState", "members", "owners"},
	IgnoreCatalog:       {"description", "isExternallyVisible", "state", "resources"},
	IgnoreAccessPackage: {"description", "isHidden", "roles", "incompatibleWith", "assignments"},
	IgnoreBlueprint:     {"description", "tags"},
	IgnoreAgentIdentity: {"tags", "enabled"},
}

// Kind is the kind of object the rule names (IgnoreKinds): that of the
// first of its patterns that is set, and IgnoreGroup when none is (an empty
// pattern matches no object, whatever its kind).
func (r IgnoreRule) Kind() string {
	switch {
	case r.Group != "":
		return IgnoreGroup
	case r.Catalog != "":
		return IgnoreCatalog
	case r.AccessPackage != "":
		return IgnoreAccessPackage
	case r.Blueprint != "":
		return IgnoreBlueprint
	case r.AgentIdentity != "":
		return IgnoreAgentIdentity
	}
	return IgnoreGroup
}

// Pattern is the display-name pattern of the rule's kind.
func (r IgnoreRule) Pattern() string {
	switch r.Kind() {
	case IgnoreCatalog:
		return r.Catalog
	case IgnoreAccessPackage:
		return r.AccessPackage
	case IgnoreBlueprint:
		return r.Blueprint
	case IgnoreAgentIdentity:
		return r.AgentIdentity
	}
	return r.Group
}

// Objects names what the rule matches, for messages: `groups matching "HR *"`.
func (r IgnoreRule) Objects() string {
	noun := map[string]string{IgnoreGroup: "groups", IgnoreCatalog: "catalogs", IgnoreAccessPackage: "access packages",
		IgnoreBlueprint: "blueprints", IgnoreAgentIdentity: "agent identities"}[r.Kind()]
	return fmt.Sprintf("%s matching %q", noun, r.Pattern())
}

// Covers reports whether r allows o (a policy's rule allowing a spec's): the
// same kind and pattern (compared case-insensitively), and every field of o
// among r's.
func (r IgnoreRule) Covers(o IgnoreRule) bool {
	return r.Kind() == o.Kind() && strings.EqualFold(r.Pattern(), o.Pattern()) &&
		!slices.ContainsFunc(o.Fields, func(f string) bool { return !slices.Contains(r.Fields, f) })
}
