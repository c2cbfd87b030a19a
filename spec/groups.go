package spec

// The groups: section.

import (
	"fmt"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

// groupDoc is one entry of groups:.
type groupDoc struct {
	mapping
	DisplayName                   str             `yaml:"displayName" required:"true"`
	ID                            str             `yaml:"id"`
	Description                   str             `yaml:"description"`
	MailNickname                  str             `yaml:"mailNickname"`
	MembershipRule                str             `yaml:"membershipRule"`
	MembershipRuleProcessingState str             `yaml:"membershipRuleProcessingState" enum:"On|Paused"`
	CloudManaged                  flag            `yaml:"cloudManaged"`
	Absent                        flag            `yaml:"absent"`
	Members                       *membersDoc     `yaml:"members"`
	Owners                        *groupOwnersDoc `yaml:"owners"`
}

func (*groupDoc) noun() string { return "group" }

// membersDoc is a group's members:.
type membersDoc struct {
	mapping
	Mode              str        `yaml:"mode" enum:"additive|authoritative"`
	Users             []str      `yaml:"users"`
	Groups            []str      `yaml:"groups"`
	ServicePrincipals []str      `yaml:"servicePrincipals"`
	CSV               csvSources `yaml:"csv"`
	Limits            *limitDoc  `yaml:"limits"`
}

func (*membersDoc) noun() string { return "members" }

// groupOwnersDoc is a group's owners:, written like members: (Graph allows
// users and service principals as owners, not groups).
type groupOwnersDoc struct {
	mapping
	Mode              str   `yaml:"mode" enum:"additive|authoritative"`
	Users             []str `yaml:"users"`
	ServicePrincipals []str `yaml:"servicePrincipals"`
}

func (*groupOwnersDoc) noun() string { return "owners" }

// csvDoc names a column of a CSV file.
type csvDoc struct {
	mapping
	Path      str `yaml:"path" required:"true"`
	Column    str `yaml:"column" required:"true"`
	Delimiter str `yaml:"delimiter" enum:",|;"`
}

func (*csvDoc) noun() string { return "csv source" }

// csvSources is csv: one csvDoc, or a list of them.
type csvSources struct {
	List []csvDoc
}

func (c *csvSources) decodeNode(d *decoder, n *yaml.Node, what string) {
	switch n.Kind {
	case yaml.MappingNode:
		c.List = make([]csvDoc, 1)
		if !d.decodeStruct(n, reflect.ValueOf(&c.List[0]).Elem(), what) {
			c.List = nil
		}
	case yaml.SequenceNode:
		d.decode(n, reflect.ValueOf(&c.List).Elem(), what, nil)
	default:
		d.errorf(n, "Write csv: {path: members/team.csv, column: Email}, or a list of those.",
			"%s: expected a mapping or a list of mappings, got %s", what, describe(n))
	}
}

// groupDecl is a group and the document that declares it.
type groupDecl struct {
	doc *yamlDoc
	g   *groupDoc
}

// groupIndex finds declared groups by natural key and by id.
type groupIndex struct {
	byKey, byID         map[string]groupDecl
	absentKey, absentID map[string]groupDecl
}

// buildGroups checks every group of every file and adds it to the tenant.
func (l *loader) buildGroups() {
	var all []groupDecl
	for _, d := range l.docs {
		for i := range d.doc.Groups {
			all = append(all, groupDecl{d, &d.doc.Groups[i]})
		}
	}
	idx := groupIndex{map[string]groupDecl{}, map[string]groupDecl{}, map[string]groupDecl{}, map[string]groupDecl{}}
	for _, gd := range all {
		g := gd.g
		if key := model.NameKey(g.DisplayName.V); g.DisplayName.Set && key != "" {
			if first, dup := idx.byKey[key]; dup {
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: g.DisplayName.Pos,
					Summary: fmt.Sprintf("group %q is declared twice; the other declaration is at %s", g.DisplayName.V, first.g.DisplayName.Pos),
					Detail:  "Display names are the groups' keys and are compared case-insensitively. Merge the two entries, or rename one."})
			} else {
				idx.byKey[key] = gd
			}
			if g.Absent.V {
				idx.absentKey[key] = gd
			}
		}
		if id := strings.ToLower(g.ID.V); g.ID.Set && isGUID(id) {
			if first, dup := idx.byID[id]; dup {
				l.diags.Errorf(g.ID.Pos, "group id %s is pinned twice; the other group is %q at %s", g.ID.V, first.g.DisplayName.V, first.g.ID.Pos)
			} else {
				idx.byID[id] = gd
			}
			if g.Absent.V {
				idx.absentID[id] = gd
			}
		}
	}
	for _, gd := range all {
		if mg := l.group(gd, &idx); mg != nil {
			l.tenant.Groups = append(l.tenant.Groups, mg)
		}
	}
}

// group checks one group and converts it; nil when it has no name.
func (l *loader) group(gd groupDecl, idx *groupIndex) *model.Group {
	g := gd.g
	errAt := func(pos model.Pos, detail, format string, args ...any) {
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
			Summary: fmt.Sprintf(format, args...), Detail: detail})
	}
	name := g.DisplayName.V
	switch n := utf8.RuneCountInString(name); {
	case !g.DisplayName.Set:
		// Reported by the decoder as missing or mistyped; the other keys
		// are still checked.
	case strings.TrimSpace(name) == "":
		errAt(g.DisplayName.Pos, "", "displayName is empty")
	case n > maxDisplayNameLen:
		errAt(g.DisplayName.Pos, "", "displayName is %d characters long; Entra allows at most %d", n, maxDisplayNameLen)
	}
	if g.ID.Set && !isGUID(g.ID.V) {
		errAt(g.ID.Pos, "An object id looks like 6c42590f-fcf0-4922-bac6-205f7c6aa89c. Without id: the group is found by displayName.",
			"id %q is not an object id (a GUID)", g.ID.V)
	}
	if g.MailNickname.Set {
		if p := mailNicknameProblem(g.MailNickname.V); p != "" {
			errAt(g.MailNickname.Pos, `A mail nickname is 1 to 64 ASCII characters without @ ( ) \ [ ] " ; : . < > , or space.`,
				"mailNickname %q %s", g.MailNickname.V, p)
		}
	}
	if g.MembershipRule.Set {
		switch n := utf8.RuneCountInString(g.MembershipRule.V); {
		case strings.TrimSpace(g.MembershipRule.V) == "":
			errAt(g.MembershipRule.Pos, "Remove membershipRule: for a group whose members are assigned.", "membershipRule is empty")
		case n > maxMembershipRuleLen:
			errAt(g.MembershipRule.Pos, "", "membershipRule is %d characters long; Entra allows at most %d", n, maxMembershipRuleLen)
		}
	}
	if g.has("membershipRule") && g.has("members") {
		errAt(g.keyPos("members"), "Entra computes a dynamic group's members from its rule. Remove members:, or remove membershipRule: to manage the members yourself.",
			"a dynamic group (membershipRule) cannot also list members")
	}
	if g.has("membershipRuleProcessingState") && !g.has("membershipRule") {
		errAt(g.keyPos("membershipRuleProcessingState"), "Only a dynamic group has a rule to pause or resume. Add membershipRule:, or remove this key.",
			"membershipRuleProcessingState needs membershipRule")
	}
	if g.CloudManaged.Set && !g.CloudManaged.V {
		errAt(g.CloudManaged.Pos,
			"entrasync converts AD-synced groups to cloud-managed, never back. Rolling the source of authority back to on-premises AD\n"+
				"completes only after the next sync cycle and needs cloud-only members and access-package references removed first\n"+
				"(Graph onPremisesSyncBehavior), so do it deliberately in the Entra portal, then remove cloudManaged: from the spec.",
			"cloudManaged: false is not supported: entrasync does not roll back a group's source of authority")
	}
	if g.Absent.V {
		for _, k := range g.writtenKeys() {
			if k != "displayName" && k != "id" && k != "absent" {
				errAt(g.keyPos(k), "An absent group is deleted; displayName and id only say which one. Remove the other keys, or remove absent: true.",
					"%s is not allowed on a group marked absent: true", k)
			}
		}
	}
	mg := &model.Group{
		DisplayName:                   name,
		ID:                            g.ID.V,
		Description:                   optional(g.Description),
		MailNickname:                  optional(g.MailNickname),
		MembershipRule:                optional(g.MembershipRule),
		MembershipRuleProcessingState: optional(g.MembershipRuleProcessingState),
		Absent:                        g.Absent.V,
		Pos:                           g.Pos,
	}
	if g.CloudManaged.Set {
		v := g.CloudManaged.V
		mg.CloudManaged = &v
	}
	if g.Members != nil {
		// Checked also on an absent group (which is an error above), so
		// that every problem is reported at once.
		mg.Members = l.members(gd, idx)
	}
	if g.Owners != nil {
		mg.Owners = l.groupOwners(g)
	}
	if !g.DisplayName.Set {
		return nil
	}
	return mg
}

func optional(s str) *string {
	if !s.Set {
		return nil
	}
	v := s.V
	return &v
}

// members checks and converts a group's members: inline references and CSV
// files. A reference listed twice (in any of the group's sources) is a
// warning naming both places.
func (l *loader) members(gd groupDecl, idx *groupIndex) *model.MemberSet {
	g, m := gd.g, gd.g.Members
	ms := &model.MemberSet{Mode: model.Additive, Members: []model.Ref{}}
	if m.Mode.Set {
		ms.Mode = model.Mode(m.Mode.V)
	}
	if m.Limits != nil {
		lim := l.limit(m.Limits, fmt.Sprintf("limits: of the members of group %q", g.DisplayName.V))
		ms.Limit = &lim
	}
	ms.Members = l.addUsers(gd.doc, m.Users, nil, fmt.Sprintf("the members of group %q", g.DisplayName.V), ms.Members)
	for i, r := range m.Groups {
		if !r.Set {
			continue
		}
		key, id := model.NameKey(r.V), strings.ToLower(strings.TrimSpace(r.V))
		switch {
		case key == "":
			l.diags.Errorf(r.Pos, "groups[%d]: empty group name", i)
			continue
		case key == model.NameKey(g.DisplayName.V) || (g.ID.Set && isGUID(r.V) && id == strings.ToLower(g.ID.V)):
			l.diags.Errorf(r.Pos, "group %q lists itself as a member", g.DisplayName.V)
			continue
		}
		absent, ok := idx.absentKey[key]
		if !ok && isGUID(r.V) {
			absent, ok = idx.absentID[id]
		}
		if ok {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos,
				Summary: fmt.Sprintf("member group %q is marked absent: true at %s", r.V, absent.g.Absent.Pos),
				Detail:  "A group the spec deletes cannot be a member. Remove it from this list, or keep the group."})
			continue
		}
		ms.Members = append(ms.Members, model.Ref{Kind: model.GroupKind, Value: r.V, Pos: r.Pos})
	}
	for i, r := range m.ServicePrincipals {
		if !r.Set {
			continue
		}
		if !isGUID(r.V) {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos,
				Summary: fmt.Sprintf("servicePrincipals[%d]: %q is not an object id (a GUID)", i, r.V),
				Detail:  "Service principals are named by object id, the id of the enterprise application (not its appId)."})
			continue
		}
		ms.Members = append(ms.Members, model.Ref{Kind: model.ServicePrincipal, Value: r.V, Pos: r.Pos})
	}
	ms.Members = l.addUsers(gd.doc, nil, m.CSV.List, fmt.Sprintf("the members of group %q", g.DisplayName.V), ms.Members)
	ms.Members = l.dropRepeated(ms.Members, func(r, first model.Ref) model.Diagnostic {
		return model.Diagnostic{Severity: model.Warning, Pos: r.Pos, Kind: "repeated member",
			Summary: fmt.Sprintf("%s %q is listed twice in the members of group %q; the first is at %s", r.Kind, r.Value, g.DisplayName.V, first.Pos)}
	})
	return ms
}

// groupOwners checks and converts a group's owners: users by UPN, mail or
// id, service principals by display name or id. An owner listed twice is a
// warning naming both places.
func (l *loader) groupOwners(g *groupDoc) *model.MemberSet {
	o := g.Owners
	set := &model.MemberSet{Mode: model.Additive, Members: []model.Ref{}, Pos: g.keyPos("owners")}
	if o.Mode.Set {
		set.Mode = model.Mode(o.Mode.V)
	}
	what := fmt.Sprintf("the owners of group %q", g.DisplayName.V)
	set.Members = l.addUsers(nil, o.Users, nil, what, set.Members)
	for i, r := range o.ServicePrincipals {
		if !r.Set {
			continue
		}
		if strings.TrimSpace(r.V) == "" {
			l.diags.Errorf(r.Pos, "servicePrincipals[%d]: empty service principal name", i)
			continue
		}
		set.Members = append(set.Members, model.Ref{Kind: model.ServicePrincipal, Value: r.V, Pos: r.Pos})
	}
	set.Members = l.dropRepeated(set.Members, func(r, first model.Ref) model.Diagnostic {
		return model.Diagnostic{Severity: model.Warning, Pos: r.Pos, Kind: "repeated owner",
			Summary: fmt.Sprintf("%s %q is listed twice in %s; the first is at %s", r.Kind, r.Value, what, first.Pos)}
	})
	return set
}

// dropRepeated returns refs without the references listed before (by
// Key), each reported with warn(ref, first). The references come back in
// Normalize's order, found by sorting rather than by a set of keys: a
// member list of a million CSV rows needs no second copy of its values.
func (l *loader) dropRepeated(refs []model.Ref, warn func(r, first model.Ref) model.Diagnostic) []model.Ref {
	slices.SortStableFunc(refs, model.CompareRefs) // the first listed stays first
	out := refs[:0]
	for i, r := range refs {
		if len(out) > 0 && model.CompareRefs(out[len(out)-1], r) == 0 {
			l.rowDiag(warn(r, out[len(out)-1]))
			continue
		}
		out = append(out, refs[i])
	}
	clear(refs[len(out):]) // no stale copies behind the end
	return out
}

// rowDiag records a diagnostic that can repeat on every row of a CSV file
// (d.Kind says which mistake): listed up to model.MaxPerKind per file and
// kind, then counted.
func (l *loader) rowDiag(d model.Diagnostic) { l.rowLimit.Add(d) }

// kindBadUser is the Kind of "not a user reference" diagnostics.
const kindBadUser = "invalid user reference"

const userHelp = "A user is named by user principal name or mail address (one @, e.g. alice@contoso.com) or by object id (a GUID)."

// addUsers checks inline user references and the users of CSV sources
// named in doc, and appends each good one to refs. owner names the set in
// messages ("the members of group \"X\"").
func (l *loader) addUsers(doc *yamlDoc, users []str, sources []csvDoc, owner string, refs []model.Ref) []model.Ref {
	for i, u := range users {
		if !u.Set {
			continue
		}
		if !isUserRef(u.V) {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: u.Pos, Detail: userHelp, Kind: kindBadUser,
				Summary: fmt.Sprintf("users[%d]: %q is not a user principal name, mail address or object id", i, u.V)})
			continue
		}
		refs = append(refs, model.Ref{Kind: model.User, Value: u.V, Pos: u.Pos})
	}
	seenCSV := map[csvKey]model.Pos{}
	for _, c := range sources {
		key := l.csvSource(doc, c)
		// A file's problems are reported the first time a set names it
		// (by column); it is read again for each further set.
		firstRead := key.rel != "" && !l.csvs[key]
		if firstRead {
			l.csvs[key] = true
		}
		if first, dup := seenCSV[key]; dup && key.rel != "" {
			l.diags.Warnf(c.keyPos("path"), "csv file %s (column %q) is listed twice in %s; the first is at %s",
				l.display(key.rel), c.Column.V, owner, first)
			continue
		}
		seenCSV[key] = c.keyPos("path")
		if key.rel == "" {
			continue
		}
		refs = slices.Grow(refs, csvRows(l.read[key.rel])) // once, not doubling through a million rows
		ds := l.readCSV(key, c, func(v CSVValue) {
			if firstRead {
				l.checkCSVSecret(v)
			}
			if !isUserRef(v.Value) {
				l.rowDiag(model.Diagnostic{Severity: model.Error, Pos: v.Pos, Detail: userHelp, Kind: kindBadUser,
					Summary: fmt.Sprintf("%q is not a user principal name, mail address or object id", v.Value)})
				return
			}
			refs = append(refs, model.Ref{Kind: model.User, Value: v.Value, Pos: v.Pos})
		})
		if firstRead {
			l.diags = append(l.diags, ds...)
		}
	}
	return refs
}

// csvKey identifies one reading of a CSV file, so that a file named by
// several groups reports its problems once.
type csvKey struct {
	rel, column string
	delim       rune
}

// readCSV reads the values of a csv source into emit and returns the
// file's problems. The values are not kept: a set reads them as it takes
// them, so that no list of a million values stands beside the references.
func (l *loader) readCSV(key csvKey, c csvDoc, emit func(CSVValue)) model.Diagnostics {
	return readCSV(l.read[key.rel], l.display(key.rel), CSVOptions{Column: c.Column.V, Delimiter: key.delim}, emit)
}

// csvSource resolves a csv source named in doc and reads its file. The key
// is zero when the source cannot be read.
func (l *loader) csvSource(doc *yamlDoc, c csvDoc) csvKey {
	usable := c.Path.Set && c.Column.Set // else reported by the decoder
	if c.Path.Set && strings.TrimSpace(c.Path.V) == "" {
		l.diags.Errorf(c.Path.Pos, "csv path is empty")
		usable = false
	}
	if c.Column.Set && strings.TrimSpace(c.Column.V) == "" {
		l.diags.Errorf(c.Column.Pos, "csv column is empty")
		usable = false
	}
	if !usable {
		return csvKey{}
	}
	rel, ok := l.resolve(doc, c.Path, c.keyPos("path"), "csv file")
	if !ok {
		return csvKey{}
	}
	var delim rune
	if c.Delimiter.Set && len(c.Delimiter.V) == 1 {
		delim = rune(c.Delimiter.V[0])
	}
	return csvKey{rel, strings.ToLower(strings.TrimSpace(c.Column.V)), delim}
}

// resolve turns a path written in doc into a Root-relative slash path and
// reads the file into l.read. The path is relative to doc's file and must
// stay inside the spec root, also after following symlinks; problems are
// reported at pos (the path: key).
func (l *loader) resolve(doc *yamlDoc, p str, pos model.Pos, what string) (string, bool) {
	const rootHelp = "Paths are relative to the YAML file that names them and must stay inside the spec directory, so that reviewing the repository reviews everything it applies."
	v := p.V
	if strings.TrimSpace(v) == "" {
		l.diags.Errorf(p.Pos, "%s path is empty", what)
		return "", false
	}
	if filepath.IsAbs(v) || strings.HasPrefix(v, "/") || strings.HasPrefix(v, `\`) || filepath.VolumeName(v) != "" {
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos, Detail: rootHelp,
			Summary: fmt.Sprintf("%s path %q is absolute", what, v)})
		return "", false
	}
	rel := path.Clean(path.Join(doc.dir, filepath.ToSlash(v)))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos, Detail: rootHelp,
			Summary: fmt.Sprintf("%s path %q leaves the spec directory %s", what, v, l.root)})
		return "", false
	}
	if _, ok := l.read[rel]; ok {
		return rel, true
	}
	real, ok := l.inside(l.display(rel), pos, what)
	if !ok {
		return "", false
	}
	data, err := readRegular(real)
	if err != nil {
		l.diags.Errorf(pos, "cannot read %s %s: %v", what, l.display(rel), err)
		return "", false
	}
	l.read[rel] = data
	return rel, true
}
