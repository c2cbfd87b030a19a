package spec

// The spec writer: an observed tenant (model.Tenant, as graph.Read returns
// it) written as the spec a careful person would write for it, so that
// planning that spec against the same tenant shows no changes. It is the
// other direction of Load, over the same model; export uses it.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/schema"
)

// WriteOptions says how Write writes a spec.
type WriteOptions struct {
	// Authoritative writes member and owner sets mode: authoritative
	// (entrasync then removes what they do not list); by default they are
	// additive.
	Authoritative bool
	// CSVThreshold is the size above which a set's users go to a CSV file
	// beside the YAML; 0 means 50.
	CSVThreshold int
}

// Written is what Write wrote, relative to its directory, and what it
// could not express.
type Written struct {
	Files []string
	// Notes name each object or member left out or written partly, and
	// why: never silently dropped.
	Notes []string
}

// Write writes t's groups as groups.yaml (with members/*.csv for large
// sets) into dir, which must exist.
func Write(dir string, t *model.Tenant, opts WriteOptions) (*Written, error) {
	if opts.CSVThreshold <= 0 {
		opts.CSVThreshold = 50
	}
	w := &writer{dir: dir, t: t, opts: opts, out: &Written{}, byID: map[string]model.Principal{}, groupNames: map[string]int{}}
	for _, p := range t.Principals {
		w.byID[p.ID] = p
	}
	for _, g := range t.Groups {
		w.groupNames[model.NameKey(g.DisplayName)]++
	}
	for _, p := range t.Principals {
		if p.Kind == model.GroupKind && !slices.ContainsFunc(t.Groups, func(g *model.Group) bool { return g.ID == p.ID }) {
			w.groupNames[model.NameKey(p.DisplayName)]++
		}
	}
	// The schema beside the files, for editors (the modeline names it).
	if err := w.writeFile("tenant.schema.json", schema.JSON); err != nil {
		return nil, err
	}
	if err := w.groups(); err != nil {
		return nil, err
	}
	return w.out, nil
}

type writer struct {
	dir  string
	t    *model.Tenant
	opts WriteOptions
	out  *Written
	byID map[string]model.Principal
	// groupNames counts the groups of each name the read saw: a name two
	// groups share is written as an id.
	groupNames map[string]int
	csvNames   map[string]bool
}

func (w *writer) note(format string, args ...any) {
	w.out.Notes = append(w.out.Notes, fmt.Sprintf(format, args...))
}

// header is the comment every written file starts with.
func (w *writer) header(what string) string {
	mode := "Member and owner sets are additive: apply adds what they list and removes nothing.\nWrite mode: authoritative on a set to make the tenant match it exactly."
	if w.opts.Authoritative {
		mode = "Member and owner sets are authoritative: apply removes what they do not list."
	}
	return fmt.Sprintf("yaml-language-server: $schema=tenant.schema.json\n\n%s of %s, written by entrasync export.\n%s", what, w.t.Domain, mode)
}

func (w *writer) groups() error {
	seq := seqNode()
	shared := map[string][]string{}
	for _, g := range w.t.Groups {
		shared[model.NameKey(g.DisplayName)] = append(shared[model.NameKey(g.DisplayName)], g.ID)
	}
	for _, g := range w.t.Groups {
		if ids := shared[model.NameKey(g.DisplayName)]; len(ids) > 1 {
			// A spec names a group by its display name; which of the two
			// it means would be a guess.
			if ids[0] == g.ID {
				w.note("%d groups are named %q (ids %s): a spec keys groups by name, so none of them is exported; rename all but one in the tenant and export again",
					len(ids), g.DisplayName, strings.Join(ids, ", "))
			}
			continue
		}
		seq.Content = append(seq.Content, w.group(g))
	}
	doc := mapNode()
	doc.HeadComment = w.header("The security groups")
	addPair(doc, "tenant", scalar(w.t.Domain))
	addPair(doc, "groups", seq)
	return w.writeYAML("groups.yaml", doc)
}

func (w *writer) group(g *model.Group) *yaml.Node {
	m := mapNode()
	addPair(m, "displayName", scalar(g.DisplayName))
	if g.Synced {
		m.Content[1].LineComment = "synced from on-premises AD: read-only here, so only named; cloudManaged: true converts it"
		return m
	}
	if s := deref(g.Description); s != "" {
		addPair(m, "description", scalar(s))
	}
	if s := deref(g.MailNickname); s != "" {
		addPair(m, "mailNickname", scalar(s))
	}
	if s := deref(g.MembershipRule); s != "" {
		addPair(m, "membershipRule", scalar(s))
		if st := deref(g.MembershipRuleProcessingState); st == "Paused" {
			addPair(m, "membershipRuleProcessingState", scalar(st))
		}
	}
	if g.Members != nil {
		if n := w.memberSet(g, g.Members.Members, true); n != nil {
			addPair(m, "members", n)
		}
	}
	if g.Owners != nil {
		if n := w.memberSet(g, g.Owners.Members, false); n != nil {
			addPair(m, "owners", n)
		}
	}
	return m
}

// memberSet writes a group's members or owners: users by UPN (guests by
// the address they were invited at), groups by display name, service
// principals by id; nil when there is nothing to write.
func (w *writer) memberSet(g *model.Group, refs []model.Ref, members bool) *yaml.Node {
	what := map[bool]string{true: "members", false: "owners"}[members]
	var users, groups, sps []string
	for _, r := range refs {
		p, known := w.byID[strings.ToLower(r.Value)]
		switch {
		case !known:
			w.note("group %q: %s %s is not a user, group or service principal entrasync can name; left out", g.DisplayName, strings.TrimSuffix(what, "s"), r.Value)
		case p.Kind == model.User:
			users = append(users, strings.ToLower(p.Label()))
		case p.Kind == model.GroupKind:
			if w.groupNames[model.NameKey(p.DisplayName)] > 1 || p.DisplayName == "" {
				groups = append(groups, p.ID)
			} else {
				groups = append(groups, p.DisplayName)
			}
		case p.Kind.IsServicePrincipal():
			sps = append(sps, p.ID)
		default:
			w.note("group %q: %s %s is a %s, which a spec cannot name; left out", g.DisplayName, strings.TrimSuffix(what, "s"), r.Value, p.Kind)
		}
	}
	if len(users)+len(groups)+len(sps) == 0 {
		return nil
	}
	slices.Sort(users)
	slices.Sort(groups)
	slices.Sort(sps)
	m := mapNode()
	if w.opts.Authoritative {
		addPair(m, "mode", scalar("authoritative"))
	}
	switch {
	case members && len(users) > w.opts.CSVThreshold:
		file := w.csvFile(g.DisplayName)
		if err := w.writeCSV(file, users); err != nil {
			w.note("group %q: writing %s: %v", g.DisplayName, file, err)
			return nil
		}
		src := mapNode()
		addPair(src, "path", scalar(file))
		addPair(src, "column", scalar("Email"))
		addPair(m, "csv", src)
	case len(users) > 0:
		addPair(m, "users", strSeq(users))
	}
	if len(groups) > 0 {
		addPair(m, "groups", strSeq(groups))
	}
	if len(sps) > 0 {
		n := strSeq(sps)
		n.LineComment = "object ids"
		addPair(m, "servicePrincipals", n)
	}
	return m
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// csvFile is a file name for a group's members, unique within the export.
func (w *writer) csvFile(name string) string {
	if w.csvNames == nil {
		w.csvNames = map[string]bool{}
	}
	base := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if base == "" {
		base = "group"
	}
	file := "members/" + base + ".csv"
	for i := 2; w.csvNames[file]; i++ {
		file = fmt.Sprintf("members/%s-%d.csv", base, i)
	}
	w.csvNames[file] = true
	return file
}

func (w *writer) writeCSV(file string, users []string) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"Email"})
	for _, u := range users {
		cw.Write([]string{u})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return w.writeFile(file, buf.Bytes())
}

func (w *writer) writeYAML(file string, doc *yaml.Node) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return w.writeFile(file, buf.Bytes())
}

func (w *writer) writeFile(file string, data []byte) error {
	path := filepath.Join(w.dir, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	w.out.Files = append(w.out.Files, file)
	return nil
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }
func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode} }

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func strSeq(vals []string) *yaml.Node {
	n := seqNode()
	if len(vals) <= 4 {
		n.Style = yaml.FlowStyle
	}
	for _, v := range vals {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, scalar(key), v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
