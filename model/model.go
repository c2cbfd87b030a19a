package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a place in a spec file. The zero Pos means "not from a file"
// (observed objects, defaults).
type Pos struct {
	File string `json:"file,omitempty"`
	// Line and Col are int32: a reference carries its place, and a
	// million CSV rows are a million places (24 bytes each, not 32).
	Line int32 `json:"line,omitempty"`
	Col  int32 `json:"col,omitempty"`
}

// IsZero reports whether p names no place.
func (p Pos) IsZero() bool { return p.File == "" && p.Line == 0 }

// String renders p as file:line:col, the form editors and CI annotations
// understand.
func (p Pos) String() string {
	switch {
	case p.IsZero():
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Tenant is one side of a plan: the managed part of an Entra ID tenant.
type Tenant struct {
	// Domain is the tenant's primary or initial domain, for example
	// contoso.onmicrosoft.com. Desired state requires it; the planner refuses
	// to compare a spec against a different tenant.
	Domain string `json:"domain"`
	// Groups are security groups, sorted by Key after Normalize.
	Groups []*Group `json:"groups,omitempty"`
	// Catalogs and AccessPackages are entitlement management, sorted by key.
	Catalogs       []*Catalog       `json:"catalogs,omitempty"`
	AccessPackages []*AccessPackage `json:"accessPackages,omitempty"`
	// Blueprints and AgentIdentities are Agent ID objects.
	Blueprints      []*Blueprint     `json:"blueprints,omitempty"`
	AgentIdentities []*AgentIdentity `json:"agentIdentities,omitempty"`
	AgentUsers      []*AgentUser     `json:"agentUsers,omitempty"`
	Lifecycle       []*LifecycleRule `json:"lifecycle,omitempty"`
	// AllAgentIdentities are every agent identity of the tenant (observed,
	// read only when the spec has lifecycle rules, with no sponsors). They
	// are not managed objects: only a lifecycle rule's matches are
	// changed, and only to disable them.
	AllAgentIdentities []*AgentIdentity `json:"allAgentIdentities,omitempty"`
	// Grants are application permissions held by service principals and
	// agent identities.
	Grants []*Grant `json:"grants,omitempty"`
	// ServicePrincipals are the applications' service principals the spec
	// names, with their app roles (observed).
	ServicePrincipals []*AppPrincipal `json:"servicePrincipals,omitempty"`
	// GroupMembers are the member ids of groups the plan needs to know
	// without managing them: groups that deliver access packages' access
	// (delivery repair) and groups whose members are assigned (observed).
	GroupMembers map[string][]string `json:"groupMembers,omitempty"`
	// TransitiveMembers are the ids of every direct and nested member of
	// groups whose removal or deletion could take a protected principal's
	// membership away (observed; read only when settings.protected is set).
	TransitiveMembers map[string][]string `json:"transitiveMembers,omitempty"`
	// Settings are the spec's planning rules (desired state only).
	Settings Settings `json:"settings,omitzero"`
	// Principals are the directory objects that observed state knows about:
	// every object a spec reference resolved to and every member of a read
	// group. Desired state leaves it empty. Sorted by ID after Normalize.
	Principals []Principal `json:"principals,omitempty"`
}

// Group is a security group. Its natural key is DisplayName, compared
// case-insensitively; ID pins it when set in desired state.
type Group struct {
	// DisplayName is the natural key.
	DisplayName string `json:"displayName"`
	// ID is the object id: observed always has it; desired has it only when
	// the spec pins the object with id:.
	ID string `json:"id,omitempty"`
	// UniqueName is Graph's immutable alternate key. entrasync sets it when it
	// creates a group so that a retried create cannot make a duplicate.
	UniqueName string `json:"uniqueName,omitempty"`
	// Description of the group; nil means unmanaged (desired) or unread.
	Description *string `json:"description,omitempty"`
	// MailNickname is required by Graph at creation; nil means unmanaged.
	MailNickname *string `json:"mailNickname,omitempty"`
	// MembershipRule makes the group dynamic when non-empty.
	MembershipRule *string `json:"membershipRule,omitempty"`
	// MembershipRuleProcessingState is "On" or "Paused" for dynamic groups.
	MembershipRuleProcessingState *string `json:"membershipRuleProcessingState,omitempty"`
	// GroupTypes are Graph's groupTypes as observed (e.g. "Unified",
	// "DynamicMembership"); desired state leaves it nil. The planner changes
	// only DynamicMembership and keeps the rest.
	GroupTypes []string `json:"groupTypes,omitempty"`
	// CloudManaged is Graph's onPremisesSyncBehavior.isCloudManaged. In
	// desired state only true is meaningful: convert an AD-synced group so the
	// cloud becomes its source of authority.
	CloudManaged *bool `json:"cloudManaged,omitempty"`
	// Synced is true when the group is synchronised from on-premises AD and
	// therefore read-only in the cloud (observed only).
	Synced bool `json:"synced,omitempty"`
	// Absent marks a desired group for deletion.
	Absent bool `json:"absent,omitempty"`
	// Members is the managed member set; nil means members are unmanaged.
	Members *MemberSet `json:"members,omitempty"`
	// Owners is the managed owner set (users and service principals); nil
	// means owners are unmanaged (desired) or were not read (observed).
	Owners *MemberSet `json:"owners,omitempty"`
	// Pos is where the spec declares the group (desired only).
	Pos Pos `json:"-"`
}

// Key is the group's natural key.
func (g *Group) Key() string { return NameKey(g.DisplayName) }

// Address is the group's stable address in plans, e.g. group["Finance"].
func (g *Group) Address() string { return GroupAddress(g.DisplayName) }

// Dynamic reports whether Graph computes the group's members from a rule.
func (g *Group) Dynamic() bool { return g.MembershipRule != nil && *g.MembershipRule != "" }

// GroupAddress is the address of the group with the given display name.
func GroupAddress(displayName string) string { return fmt.Sprintf("group[%q]", displayName) }

// NameKey normalises a display name into a natural key.
func NameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Mode says how a managed set is reconciled.
type Mode string

const (
	// Additive sets only gain entries: entrasync adds what is missing and
	// never removes. It is the default, because it cannot lose access.
	Additive Mode = "additive"
	// Authoritative sets are made equal to the spec: entries not listed are
	// removed (bounded by the safety thresholds).
	Authoritative Mode = "authoritative"
)

// MemberSet is a managed set of group members, or of group owners.
type MemberSet struct {
	Mode Mode `json:"mode"`
	// Members are references. In desired state they are what the spec wrote
	// (UPN, mail, object id or group display name); in observed state each is
	// a Ref whose Value is the member's object id. Sorted and without
	// duplicates after Normalize.
	Members []Ref `json:"members"`
	// Limit overrides Settings.RemovalsPerSet for this set (desired only).
	Limit *Limit `json:"limit,omitempty"`
	// Pos is where the spec writes an owner set (desired only): the refusal
	// to remove a group's last owner points at it.
	Pos Pos `json:"-"`
}

// PrincipalKind is the type of a directory object that can be a member.
type PrincipalKind string

// The principal kinds a member reference can name.
const (
	User             PrincipalKind = "user"
	GroupKind        PrincipalKind = "group"
	ServicePrincipal PrincipalKind = "servicePrincipal"
	// AgentIdentity is a service principal of type agentIdentity, as Graph
	// lists it; a spec names one under agentIdentities:.
	AgentIdentityKind PrincipalKind = "agentIdentity"
)

// Noun is the kind as messages write it.
func (k PrincipalKind) Noun() string {
	switch k {
	case ServicePrincipal:
		return "service principal"
	case AgentIdentityKind:
		return "agent identity"
	case "agentIdentityBlueprintPrincipal":
		return "blueprint principal"
	}
	return string(k)
}

// IsServicePrincipal reports whether k is a service principal, also of a
// derived type: Graph lists agent identities and blueprint principals with
// their own @odata.type, and a spec names them as service principals.
func (k PrincipalKind) IsServicePrincipal() bool {
	switch k {
	case ServicePrincipal, AgentIdentityKind, "agentIdentityBlueprintPrincipal":
		return true
	}
	return false
}

// Ref names a directory object the way a spec does.
type Ref struct {
	Kind PrincipalKind `json:"kind"`
	// Value is a user's UPN or mail, a group's display name, or an object id.
	Value string `json:"value"`
	// Pos is where the reference is written (desired only); for CSV rows it is
	// the row's file:line:col.
	Pos Pos `json:"-"`
}

// Key is the reference's identity for sorting and de-duplication:
// the kind and the lower-cased value.
func (r Ref) Key() string { return string(r.Kind) + ":" + strings.ToLower(strings.TrimSpace(r.Value)) }

// IsID reports whether the reference is an object id rather than a name.
func (r Ref) IsID() bool { return IsGUID(r.Value) }

// String renders the reference for messages.
func (r Ref) String() string { return string(r.Kind) + " " + r.Value }

// IsGUID reports whether s has the shape of a directory object id: after
// strings.TrimSpace, 8-4-4-4-12 hex digits of either case, which is what
// the regexp
//
//	^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
//
// accepts (a test holds the two together). It is checked byte by byte, not
// with that regexp: every reference of a member list is asked, and the
// regexp was most of a large group's planning time.
func IsGUID(s string) bool {
	if len(s) != 36 || !isHex[s[0]] || !isHex[s[35]] {
		s = strings.TrimSpace(s) // (only then can it have spaces to trim)
		if len(s) != 36 {
			return false
		}
	}
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for _, part := range [...]string{s[:8], s[9:13], s[14:18], s[19:23], s[24:]} {
		for i := 0; i < len(part); i++ {
			if !isHex[part[i]] {
				return false
			}
		}
	}
	return true
}

// isHex is whether a byte is a hex digit, of either case.
var isHex = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true,
}

// Principal is a directory object as observed: the facts needed to resolve
// a spec reference to an id and to show a member in a plan.
type Principal struct {
	ID                string        `json:"id"`
	Kind              PrincipalKind `json:"kind"`
	DisplayName       string        `json:"displayName,omitempty"`
	UserPrincipalName string        `json:"userPrincipalName,omitempty"`
	Mail              string        `json:"mail,omitempty"`
	// AppID is a service principal's application id.
	AppID string `json:"appId,omitempty"`
	// Group describes a group, where it was read with these facts (agent
	// sponsors must be dynamic or Microsoft 365 groups and not
	// role-assignable). It is a pointer so that the million users of a
	// large plan do not each carry room for it.
	Group *GroupFacts `json:"group,omitempty"`
}

// GroupFacts are the facts about a group principal that sponsor checks need.
type GroupFacts struct {
	GroupTypes     []string `json:"groupTypes,omitempty"`
	RoleAssignable bool     `json:"roleAssignable,omitempty"`
}

// Label is the most readable name of the principal: UPN for users (the
// invitation address for guests), display name otherwise, id as a last
// resort.
func (p Principal) Label() string {
	switch {
	case p.Mail != "" && strings.Contains(strings.ToUpper(p.UserPrincipalName), "#EXT#"):
		// A guest's UPN is made up by the invitation
		// (mallory_fabrikam.com#EXT#@contoso.onmicrosoft.com); specs and
		// people name the guest by the address they were invited at.
		return p.Mail
	case p.UserPrincipalName != "":
		return p.UserPrincipalName
	case p.DisplayName != "":
		return p.DisplayName
	}
	return p.ID
}

// Normalize puts t into canonical form in place: sorted groups and
// principals, lower-cased ids, trimmed names, sorted member sets without
// duplicates. It is idempotent.
func Normalize(t *Tenant) {
	t.Domain = strings.ToLower(strings.TrimSpace(t.Domain))
	for _, g := range t.Groups {
		g.DisplayName = strings.TrimSpace(g.DisplayName)
		g.ID = strings.ToLower(strings.TrimSpace(g.ID))
		if g.MailNickname != nil {
			v := strings.TrimSpace(*g.MailNickname)
			g.MailNickname = &v
		}
		for _, set := range []*MemberSet{g.Members, g.Owners} {
			if set == nil {
				continue
			}
			normalizeRefs(&set.Members)
			if set.Mode == "" {
				set.Mode = Additive
			}
		}
	}
	slices.SortStableFunc(t.Groups, func(a, b *Group) int { return cmp.Or(strings.Compare(a.Key(), b.Key()), strings.Compare(a.ID, b.ID)) }) // namesakes by id, whatever order Graph listed them in
	slices.SortStableFunc(t.Catalogs, func(a, b *Catalog) int { return strings.Compare(a.Key(), b.Key()) })
	slices.SortStableFunc(t.AccessPackages, func(a, b *AccessPackage) int { return strings.Compare(a.Key(), b.Key()) })
	for _, c := range t.Catalogs {
		c.ID = strings.ToLower(c.ID)
		if c.Groups != nil {
			normalizeRefs(c.Groups)
		}
	}
	for _, p := range t.AccessPackages {
		p.ID = strings.ToLower(p.ID)
		if p.Assignments != nil {
			normalizeRefs(&p.Assignments.Targets)
			normalizeRefs(&p.Assignments.GroupMembers)
			if p.Assignments.Mode == "" {
				p.Assignments.Mode = Additive
			}
		}
		if p.Roles != nil {
			slices.SortFunc(*p.Roles, func(a, b RoleScope) int {
				return strings.Compare(a.Group.Key()+"/"+a.Role, b.Group.Key()+"/"+b.Role)
			})
		}
		if p.Policies != nil {
			slices.SortFunc(*p.Policies, func(a, b *Policy) int { return strings.Compare(NameKey(a.DisplayName), NameKey(b.DisplayName)) })
		}
	}
	t.Principals = normalizePrincipals(t.Principals)
}

// normalizeRef trims a reference's value and lower-cases it when it is an
// object id.
func normalizeRef(r *Ref) {
	r.Value = strings.TrimSpace(r.Value)
	if r.IsID() {
		r.Value = strings.ToLower(r.Value)
	}
}

// sameRef is whether two normalized references name one principal.
func sameRef(a, b *Ref) bool { return a.Kind == b.Kind && CompareFold(a.Value, b.Value) == 0 }

// normalizeRefs normalizes each reference, sorts them and drops the later
// of equal ones. Values are trimmed first, so they are compared as they
// are; equal references (two spellings of one name) are ordered by where
// they are written, and the first written is the one kept. The sort is
// stable, so references written at one place (a value repeated on a CSV
// row) keep their order too; it sorts keys, not the references, and the
// keys tell most neighbours apart without reading their values (sort.go):
// sorting a million CSV rows was most of loading them.
func normalizeRefs(refs *[]Ref) {
	rs := *refs
	if len(rs) < 64 {
		for i := range rs {
			normalizeRef(&rs[i])
		}
		slices.SortStableFunc(rs, func(a, b Ref) int { return compareRefsAt(&a, &b) })
		*refs = slices.CompactFunc(rs, func(a, b Ref) bool { return sameRef(&a, &b) })
		return
	}
	keys := refKeys(rs, normalizeRef)
	keyedSort(rs, keys, compareRefsAt)
	*refs = compactKeyed(rs, keys, sameRef)
}

// CompareRefs is strings.Compare(a.Key(), b.Key()), Normalize's order,
// without building the keys: a member list of a million CSV rows is sorted,
// and a key per comparison was most of the loader's garbage.
func CompareRefs(a, b Ref) int {
	if a.Kind != b.Kind {
		return compareKinds(string(a.Kind), string(b.Kind))
	}
	return CompareFold(strings.TrimSpace(a.Value), strings.TrimSpace(b.Value))
}

// compareKinds is strings.Compare(a+":", b+":") for a != b, without the
// concatenations.
func compareKinds(a, b string) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	// One is a prefix of the other: its ":" meets the other's next byte,
	// and when that is a ":" too, the shorter string ends first.
	if len(a) < len(b) {
		if ':' <= b[n] {
			return -1
		}
		return 1
	}
	if ':' <= a[n] {
		return 1
	}
	return -1
}

// CompareFold is strings.Compare(strings.ToLower(a), strings.ToLower(b))
// without the copies. strings.ToLower maps rune by rune (invalid UTF-8 to
// U+FFFD, which DecodeRuneInString yields too), and UTF-8 orders as code
// points do.
func CompareFold(a, b string) int {
	for a != "" && b != "" {
		ca, cb := a[0], b[0]
		if ca == cb && ca < utf8.RuneSelf {
			// (Equal bytes fold equally: most of a comparison of two
			// ids or addresses is their common start.)
			a, b = a[1:], b[1:]
			continue
		}
		if ca < utf8.RuneSelf && cb < utf8.RuneSelf {
			if 'A' <= ca && ca <= 'Z' {
				ca += 'a' - 'A'
			}
			if 'A' <= cb && cb <= 'Z' {
				cb += 'a' - 'A'
			}
			if ca != cb {
				return cmp.Compare(ca, cb)
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra, rb = unicode.ToLower(ra), unicode.ToLower(rb); ra != rb {
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}
