package model

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

// IgnoreRule says that Fields of the groups whose display name matches Group
// (a path.Match pattern, compared case-insensitively) are owned elsewhere.
type IgnoreRule struct {
	Group  string   `json:"group"`
	Fields []string `json:"fields"`
	Pos    Pos      `json:"-"`
}
