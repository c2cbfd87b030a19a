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
	// Groups writes groups.yaml; Catalogs writes catalogs.yaml (catalogs
	// and their access packages); Agents writes agents.yaml (blueprints,
	// agent identities, agent users).
	Groups, Catalogs, Agents bool
	// Permissions adds the application permissions of the agent
	// identities to agents.yaml.
	Permissions bool
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
// sets) and its catalogs and access packages as catalogs.yaml into dir,
// which must exist.
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
	if opts.Groups {
		if err := w.groups(); err != nil {
			return nil, err
		}
	}
	if opts.Catalogs {
		if err := w.catalogs(); err != nil {
			return nil, err
		}
	}
	if opts.Agents {
		if err := w.agents(); err != nil {
			return nil, err
		}
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

// catalogs writes the catalogs and their packages.
func (w *writer) catalogs() error {
	doc := mapNode()
	doc.HeadComment = w.header("The entitlement-management catalogs and access packages") +
		"\nA policy is written with what a spec can say of it; the rest (access reviews, questions)\nis left as it is. Assignments name the policy most of them were made under."
	addPair(doc, "tenant", scalar(w.t.Domain))
	shared := map[string]int{}
	for _, c := range w.t.Catalogs {
		shared[model.NameKey(c.DisplayName)]++
	}
	cats, pkgs := seqNode(), seqNode()
	skip := map[string]bool{}
	for _, c := range w.t.Catalogs {
		if shared[model.NameKey(c.DisplayName)] > 1 {
			if !skip[model.NameKey(c.DisplayName)] {
				w.note("%d catalogs are named %q: a spec keys catalogs by name, so none of them (nor their packages) is exported; rename all but one and export again", shared[model.NameKey(c.DisplayName)], c.DisplayName)
			}
			skip[model.NameKey(c.DisplayName)] = true
			continue
		}
		cats.Content = append(cats.Content, w.catalog(c))
	}
	pkgNames, noted := map[string]int{}, map[string]bool{}
	for _, p := range w.t.AccessPackages {
		pkgNames[p.Key()]++
	}
	for _, p := range w.t.AccessPackages {
		if skip[model.NameKey(p.Catalog)] {
			continue
		}
		if n := pkgNames[p.Key()]; n > 1 {
			if !noted[p.Key()] {
				w.note("%d access packages of catalog %q are named %q: a spec keys packages by name, so none of them is exported", n, p.Catalog, p.DisplayName)
				noted[p.Key()] = true
			}
			continue
		}
		pkgs.Content = append(pkgs.Content, w.accessPackage(p))
	}
	addPair(doc, "catalogs", cats)
	addPair(doc, "accessPackages", pkgs)
	return w.writeYAML("catalogs.yaml", doc)
}

func (w *writer) catalog(c *model.Catalog) *yaml.Node {
	m := mapNode()
	addPair(m, "displayName", scalar(c.DisplayName))
	if s := deref(c.Description); s != "" {
		addPair(m, "description", scalar(s))
	}
	if c.State != nil {
		addPair(m, "state", scalar(*c.State))
	}
	if c.IsExternallyVisible != nil {
		addPair(m, "isExternallyVisible", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(*c.IsExternallyVisible)})
	}
	res := mapNode()
	if c.Groups != nil && len(*c.Groups) > 0 {
		var names []string
		for _, r := range *c.Groups {
			names = append(names, w.groupName(r.Value))
		}
		slices.Sort(names)
		addPair(res, "groups", strSeq(names))
	}
	if c.Sites != nil && len(*c.Sites) > 0 {
		var urls []string
		for _, r := range *c.Sites {
			urls = append(urls, r.Value)
		}
		slices.Sort(urls)
		addPair(res, "sharePointSites", strSeq(urls))
	}
	if c.Applications != nil && len(*c.Applications) > 0 {
		w.note("catalog %q: its %d application resources are not exported yet; the spec leaves them as they are", c.DisplayName, len(*c.Applications))
	}
	if len(res.Content) > 0 {
		addPair(m, "resources", res)
	}
	if c.CustomExtensions != nil && len(*c.CustomExtensions) > 0 {
		xs := seqNode()
		for _, x := range *c.CustomExtensions {
			if n := w.extension(c, x); n != nil {
				xs.Content = append(xs.Content, n)
			}
		}
		if len(xs.Content) > 0 {
			addPair(m, "customExtensions", xs)
		}
	}
	return m
}

// extension writes a custom extension in the spec's terms; one the spec
// cannot express (not a Logic App, a callback wait that is not whole days
// or hours) is left out with a note.
func (w *writer) extension(c *model.Catalog, x *model.CustomExtension) *yaml.Node {
	m := mapNode()
	addPair(m, "displayName", scalar(x.DisplayName))
	if s, _ := x.Body["description"].(string); s != "" {
		addPair(m, "description", scalar(s))
	}
	if t, _ := x.Body["@odata.type"].(string); strings.EqualFold(t, model.AssignmentExtensionType) {
		addPair(m, "type", scalar("assignment"))
	}
	ep, _ := x.Body["endpointConfiguration"].(map[string]any)
	if t, _ := ep["@odata.type"].(string); !strings.EqualFold(t, "#microsoft.graph.logicAppTriggerEndpointConfiguration") {
		w.note("catalog %q: custom extension %q calls a %s endpoint, which a spec cannot write; left out", c.DisplayName, x.DisplayName, t)
		return nil
	}
	if u, _ := ep["url"].(string); strings.Contains(strings.ToLower(u), "sig=") {
		w.note("catalog %q: custom extension %q has a trigger URL with a signature (sig=), a secret no spec holds; left out", c.DisplayName, x.DisplayName)
		return nil
	}
	la := mapNode()
	for _, k := range [][2]string{{"subscriptionId", "subscriptionId"}, {"resourceGroup", "resourceGroupName"}, {"workflow", "logicAppWorkflowName"}, {"url", "url"}} {
		v, _ := ep[k[1]].(string)
		addPair(la, k[0], scalar(v))
	}
	addPair(m, "logicApp", la)
	if cb, ok := x.Body["callbackConfiguration"].(map[string]any); ok {
		if iso, _ := cb["timeoutDuration"].(string); iso != "" {
			d, ok := specDurationOf(iso)
			if !ok {
				w.note("catalog %q: custom extension %q waits %s for its callback, which a spec writes only in whole days or hours; left out", c.DisplayName, x.DisplayName, iso)
				return nil
			}
			addPair(m, "waitForCallback", scalar(d))
		}
	}
	return m
}

// specDurationOf writes P2D as 2d and PT12H as 12h, as a spec does.
func specDurationOf(iso string) (string, bool) {
	var n int
	switch {
	case strings.HasPrefix(iso, "PT") && strings.HasSuffix(iso, "H"):
		if _, err := fmt.Sscanf(iso, "PT%dH", &n); err == nil && n > 0 {
			return fmt.Sprintf("%dh", n), true
		}
	case strings.HasPrefix(iso, "P") && strings.HasSuffix(iso, "D") && !strings.Contains(iso, "T"):
		if _, err := fmt.Sscanf(iso, "P%dD", &n); err == nil && n > 0 {
			return fmt.Sprintf("%dd", n), true
		}
	}
	return "", false
}

func (w *writer) accessPackage(p *model.AccessPackage) *yaml.Node {
	m := mapNode()
	addPair(m, "displayName", scalar(p.DisplayName))
	addPair(m, "catalog", scalar(p.Catalog))
	if s := deref(p.Description); s != "" {
		addPair(m, "description", scalar(s))
	}
	if p.IsHidden != nil && *p.IsHidden {
		addPair(m, "isHidden", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if p.Roles != nil {
		if roles, ok := w.roles(p); ok && len(roles.Content) > 0 {
			addPair(m, "roles", roles)
		}
	}
	if p.Policies != nil && len(*p.Policies) > 0 {
		pols := seqNode()
		for _, pol := range *p.Policies {
			pols.Content = append(pols.Content, w.policy(p, pol))
		}
		addPair(m, "policies", pols)
	}
	if n := w.assignments(p); n != nil {
		addPair(m, "assignments", n)
	}
	return m
}

// policy writes an assignment policy in the spec's terms, property by
// property: what the spec cannot say (an access review, questions, a
// subject it has no word for) is left out, and so kept as it is — a policy
// is compared as a subset and updated by merging the spec's properties
// into the live body.
func (w *writer) policy(p *model.AccessPackage, pol *model.Policy) *yaml.Node {
	b := pol.Body
	m := mapNode()
	addPair(m, "displayName", scalar(pol.DisplayName))
	left := func(what string) {
		w.note("access package %q, policy %q: %s not written; the spec leaves it as it is", p.DisplayName, pol.DisplayName, what)
	}
	if s, _ := b["description"].(string); s != "" {
		addPair(m, "description", scalar(s))
	}
	if s, _ := b["allowedTargetScope"].(string); s != "" {
		addPair(m, "who", scalar(s))
	}
	targets, _ := b["specificAllowedTargets"].([]any)
	auto, _ := b["automaticRequestSettings"].(map[string]any)
	if auto != nil && auto["requestAccessForAllowedTargets"] == true {
		var rule string
		var rest []any
		for _, t := range targets {
			tm, _ := t.(map[string]any)
			if tm["@odata.type"] == "#microsoft.graph.attributeRuleMembers" && rule == "" {
				rule, _ = tm["membershipRule"].(string)
				continue
			}
			rest = append(rest, t)
		}
		if rule != "" {
			addPair(m, "autoAssign", scalar(rule))
			targets = rest
		}
	}
	if len(targets) > 0 {
		if n, ok := w.subjects(targets); ok {
			addPair(m, "allowedTargets", n)
		} else {
			left("its allowedTargets (a subject a spec has no word for)")
		}
	}
	if exp, ok := b["expiration"].(map[string]any); ok {
		switch exp["type"] {
		case "noExpiration":
			addPair(m, "expiration", scalar("never"))
		case "afterDuration":
			if d, ok := specDurationOf(fmt.Sprint(exp["duration"])); ok {
				addPair(m, "expiration", scalar(d))
			} else {
				left(fmt.Sprintf("its expiration after %v", exp["duration"]))
			}
		case "afterDateTime":
			left("its expiration on a date")
		}
	}
	if rs, ok := b["requestorSettings"].(map[string]any); ok {
		flags := func(keys ...string) (*yaml.Node, bool) {
			n, any := mapNode(), false
			n.Style = yaml.FlowStyle
			for i, name := range []string{"add", "update", "remove"} {
				v := rs[keys[i]] == true
				any = any || v
				addPair(n, name, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)})
			}
			return n, any
		}
		if n, any := flags("enableTargetsToSelfAddAccess", "enableTargetsToSelfUpdateAccess", "enableTargetsToSelfRemoveAccess"); any {
			addPair(m, "selfService", n)
		}
		reqs, _ := rs["onBehalfRequestors"].([]any)
		if n, any := flags("enableOnBehalfRequestorsToAddAccess", "enableOnBehalfRequestorsToUpdateAccess", "enableOnBehalfRequestorsToRemoveAccess"); any || len(reqs) > 0 {
			if subj, ok := w.subjects(reqs); ok {
				n.Style = 0
				addPair(n, "requestors", subj)
				addPair(m, "onBehalf", n)
			} else {
				left("its onBehalf requestors (a subject a spec has no word for)")
			}
		}
	}
	if ra, ok := b["requestApprovalSettings"].(map[string]any); ok {
		if n, ok := w.approval(ra); ok && n != nil {
			addPair(m, "approval", n)
		} else if !ok {
			left("its approval (a stage a spec cannot write)")
		}
	}
	if rv, ok := b["reviewSettings"].(map[string]any); ok && rv["isEnabled"] == true {
		left("its access review")
	}
	if qs, ok := b["questions"].([]any); ok && len(qs) > 0 {
		left("its questions")
	}
	if hooks, ok := b["customExtensionStageSettings"].([]any); ok && len(hooks) > 0 {
		seq := seqNode()
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			ce, _ := hm["customExtension"].(map[string]any)
			name, _ := ce["displayName"].(string)
			stage, _ := hm["stage"].(string)
			if name == "" || stage == "" {
				left("its custom extension stages (an extension without a name)")
				seq = nil
				break
			}
			n := mapNode()
			n.Style = yaml.FlowStyle
			addPair(n, "stage", scalar(stage))
			addPair(n, "extension", scalar(name))
			seq.Content = append(seq.Content, n)
		}
		if seq != nil {
			addPair(m, "customExtensions", seq)
		}
	}
	return m
}

// approval writes requestApprovalSettings; nil when there is no approval
// to write, false when a stage cannot be written.
func (w *writer) approval(ra map[string]any) (*yaml.Node, bool) {
	stages, _ := ra["stages"].([]any)
	required := ra["isApprovalRequiredForAdd"] == true
	justification := ra["isRequestorJustificationRequired"] == true
	if !required && len(stages) == 0 && !justification {
		return nil, true
	}
	m := mapNode()
	if required != (len(stages) > 0) {
		addPair(m, "required", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(required)})
	}
	if justification {
		addPair(m, "justification", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if len(stages) > 0 {
		seq := seqNode()
		for _, st := range stages {
			sm, _ := st.(map[string]any)
			n := mapNode()
			primary, _ := sm["primaryApprovers"].([]any)
			fallback, _ := sm["fallbackPrimaryApprovers"].([]any)
			ap, ok1 := w.subjects(primary)
			fb, ok2 := w.subjects(fallback)
			timeout, ok3 := specDurationOf(fmt.Sprint(sm["durationBeforeAutomaticDenial"]))
			if !ok1 || !ok2 || !ok3 {
				return nil, false
			}
			addPair(n, "approvers", ap)
			if len(fallback) > 0 {
				addPair(n, "fallbackApprovers", fb)
			}
			addPair(n, "timeout", scalar(timeout))
			if sm["isApproverJustificationRequired"] == true {
				addPair(n, "justification", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
			}
			seq.Content = append(seq.Content, n)
		}
		addPair(m, "stages", seq)
	}
	return m, true
}

// subjectWords are the subject sets a spec writes as a word.
var subjectWords = map[string]string{
	"#microsoft.graph.internalSponsors":                    "sponsors",
	"#microsoft.graph.externalSponsors":                    "externalSponsors",
	"#microsoft.graph.targetUserSponsors":                  "targetSponsors",
	"#microsoft.graph.targetAgentIdentitySponsorsOrOwners": "agentSponsorsOrOwners",
}

// subjects writes subject sets as a spec does; false when one has no
// spec form.
func (w *writer) subjects(list []any) (*yaml.Node, bool) {
	seq := seqNode()
	seq.Style = yaml.FlowStyle
	for _, x := range list {
		sm, _ := x.(map[string]any)
		t, _ := sm["@odata.type"].(string)
		var n *yaml.Node
		switch {
		case subjectWords[t] != "":
			n = scalar(subjectWords[t])
		case t == "#microsoft.graph.requestorManager" && fmt.Sprint(sm["managerLevel"]) == "1":
			n = scalar("manager")
		case t == "#microsoft.graph.singleUser":
			id, _ := sm["userId"].(string)
			pr, ok := w.byID[strings.ToLower(id)]
			if !ok {
				return nil, false
			}
			n = mapNode()
			n.Style = yaml.FlowStyle
			addPair(n, "user", scalar(strings.ToLower(pr.Label())))
		case t == "#microsoft.graph.groupMembers":
			id, _ := sm["groupId"].(string)
			n = mapNode()
			n.Style = yaml.FlowStyle
			addPair(n, "group", scalar(w.groupName(id)))
		case t == "#microsoft.graph.singleServicePrincipal":
			id, _ := sm["servicePrincipalId"].(string)
			n = mapNode()
			n.Style = yaml.FlowStyle
			addPair(n, "servicePrincipal", scalar(strings.ToLower(id)))
		default:
			return nil, false
		}
		seq.Content = append(seq.Content, n)
	}
	return seq, true
}

// roles writes a package's group and SharePoint site roles; with a role
// the spec cannot name (an application's, not exported yet), the package's
// roles are left unmanaged: a partial list would remove the others.
func (w *writer) roles(p *model.AccessPackage) (*yaml.Node, bool) {
	seq := seqNode()
	var cat *model.Catalog
	for _, c := range w.t.Catalogs {
		if c.ID == p.CatalogID {
			cat = c
		}
	}
	for _, r := range *p.Roles {
		m := mapNode()
		m.Style = yaml.FlowStyle
		switch r.Group.Kind {
		case model.GroupKind:
			addPair(m, "group", scalar(w.groupName(r.Group.Value)))
			if r.Role != "Member" {
				addPair(m, "role", scalar(r.Role))
			}
		case model.SiteKind:
			name := ""
			if cat != nil {
				for _, sr := range cat.SiteRoles[r.Group.Value] {
					if sr.OriginID == r.Role {
						name = sr.DisplayName
					}
				}
			}
			if name == "" {
				w.note("access package %q: SharePoint site %s role %s is not a role of its catalog's site; the package's roles are not exported", p.DisplayName, r.Group.Value, r.Role)
				return nil, false
			}
			addPair(m, "sharePointSite", scalar(r.Group.Value))
			addPair(m, "role", scalar(name))
		default:
			w.note("access package %q: its application roles are not exported yet; its roles are left as they are", p.DisplayName)
			return nil, false
		}
		seq.Content = append(seq.Content, m)
	}
	return seq, true
}

// assignments writes a package's active assignments under the policy most
// of them were made under (an additive set adds a target only when it has
// no assignment under any policy).
func (w *writer) assignments(p *model.AccessPackage) *yaml.Node {
	if p.Assignments == nil || p.Policies == nil {
		return nil
	}
	count := map[string]int{}
	var users, sps, agents []string
	for _, a := range p.Assignments.Live {
		if !a.Active() {
			continue
		}
		count[a.PolicyID]++
		pr, ok := w.byID[a.TargetID]
		switch {
		case !ok:
			w.note("access package %q: assignment %s's target %s is not in the directory as read; left out", p.DisplayName, a.ID, a.TargetID)
		case pr.Kind == model.User:
			users = append(users, strings.ToLower(pr.Label()))
		case pr.Kind == model.AgentIdentityKind:
			agents = append(agents, pr.ID)
		case pr.Kind.IsServicePrincipal():
			sps = append(sps, pr.ID)
		}
	}
	if len(users)+len(sps)+len(agents) == 0 {
		return nil
	}
	best, policy := -1, ""
	for _, pol := range *p.Policies {
		if n := count[pol.ID]; n > best || (n == best && pol.DisplayName < policy) {
			best, policy = n, pol.DisplayName
		}
	}
	if policy == "" {
		w.note("access package %q has assignments but no policy was read; its assignments are not exported", p.DisplayName)
		return nil
	}
	slices.Sort(users)
	slices.Sort(sps)
	slices.Sort(agents)
	m := mapNode()
	addPair(m, "policy", scalar(policy))
	if w.opts.Authoritative {
		addPair(m, "mode", scalar("authoritative"))
	}
	if len(users) > w.opts.CSVThreshold {
		file := w.csvFile(p.Catalog + " " + p.DisplayName)
		if err := w.writeCSV(file, users); err != nil {
			w.note("access package %q: writing %s: %v", p.DisplayName, file, err)
			return nil
		}
		src := mapNode()
		addPair(src, "path", scalar(file))
		addPair(src, "column", scalar("Email"))
		addPair(m, "csv", src)
	} else if len(users) > 0 {
		addPair(m, "users", strSeq(users))
	}
	if len(sps) > 0 {
		addPair(m, "servicePrincipals", strSeq(sps))
	}
	if len(agents) > 0 {
		addPair(m, "agentIdentities", strSeq(agents))
	}
	return m
}

// groupName names a group by display name, or by id when the name is
// shared (or unknown).
func (w *writer) groupName(id string) string {
	p, ok := w.byID[strings.ToLower(id)]
	if !ok || p.DisplayName == "" || w.groupNames[model.NameKey(p.DisplayName)] > 1 {
		return id
	}
	return p.DisplayName
}

// agents writes the blueprints, their agent identities and agent users.
func (w *writer) agents() error {
	doc := mapNode()
	doc.HeadComment = fmt.Sprintf("yaml-language-server: $schema=tenant.schema.json\n\nThe Agent ID blueprints, agent identities and agent users of %s, written by entrasync export.\n"+
		"Sponsors are written in full (a spec's sponsor lists are authoritative); blueprint owners are\nadded when missing and never removed; permissions are additive unless written mode: authoritative.", w.t.Domain)
	addPair(doc, "tenant", scalar(w.t.Domain))
	byApp := map[string]string{}
	shared := map[string]int{}
	for _, b := range w.t.Blueprints {
		byApp[b.AppID] = b.DisplayName
		shared[b.Key()]++
	}
	bps := seqNode()
	for _, b := range w.t.Blueprints {
		if shared[b.Key()] > 1 {
			w.note("%d blueprints are named %q: a spec keys blueprints by name, so none of them is exported", shared[b.Key()], b.DisplayName)
			shared[b.Key()] = -1000
			continue
		}
		if shared[b.Key()] < 0 {
			continue
		}
		bps.Content = append(bps.Content, w.blueprint(b))
	}
	ids := seqNode()
	idNames := map[string][2]string{}
	idShared := map[string]int{}
	for _, a := range w.t.AgentIdentities {
		idShared[model.NameKey(byApp[a.Blueprint])+"/"+model.NameKey(a.DisplayName)]++
	}
	for _, a := range w.t.AgentIdentities {
		bp, ok := byApp[a.Blueprint]
		key := model.NameKey(bp) + "/" + model.NameKey(a.DisplayName)
		if !ok || shared[model.NameKey(bp)] < 0 {
			continue
		}
		if idShared[key] > 1 {
			w.note("%d agent identities of blueprint %q are named %q: none of them is exported", idShared[key], bp, a.DisplayName)
			idShared[key] = -1000
			continue
		}
		if idShared[key] < 0 {
			continue
		}
		idNames[a.ID] = [2]string{bp, a.DisplayName}
		m := mapNode()
		addPair(m, "displayName", scalar(a.DisplayName))
		addPair(m, "blueprint", scalar(bp))
		if n := w.sponsors(a.Sponsors); n != nil {
			addPair(m, "sponsors", n)
		}
		if a.Tags != nil && len(*a.Tags) > 0 {
			addPair(m, "tags", strSeq(*a.Tags))
		}
		if a.Enabled != nil && !*a.Enabled {
			addPair(m, "enabled", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
		}
		ids.Content = append(ids.Content, m)
	}
	users := seqNode()
	for _, u := range w.t.AgentUsers {
		p, ok := idNames[u.Identity]
		if !ok {
			continue
		}
		m := mapNode()
		addPair(m, "userPrincipalName", scalar(u.UserPrincipalName))
		addPair(m, "displayName", scalar(u.DisplayName))
		addPair(m, "identity", scalar(p[1]))
		addPair(m, "blueprint", scalar(p[0]))
		users.Content = append(users.Content, m)
	}
	addPair(doc, "blueprints", bps)
	addPair(doc, "agentIdentities", ids)
	addPair(doc, "agentUsers", users)
	if w.opts.Permissions {
		addPair(doc, "permissions", w.permissions(idNames))
	}
	return w.writeYAML("agents.yaml", doc)
}

// permissions writes the application permissions of the exported agent
// identities: one entry per identity and resource, by display name (an id
// where another service principal shares it), the resource by appId
// (left out for Microsoft Graph, the default).
func (w *writer) permissions(identities map[string][2]string) *yaml.Node {
	spNames := map[string]int{}
	for _, p := range w.t.Principals {
		if p.Kind.IsServicePrincipal() {
			spNames[model.NameKey(p.DisplayName)]++
		}
	}
	resources := map[string]*model.AppPrincipal{}
	for _, sp := range w.t.ServicePrincipals {
		resources[sp.ID] = sp
	}
	seq := seqNode()
	for _, g := range w.t.Grants {
		id, ok := identities[g.Principal.Value]
		if !ok || len(g.AppRoles) == 0 {
			continue
		}
		res := resources[g.Resource.Value]
		if res == nil {
			w.note("agent identity %q: its permissions on resource %s are not written (the resource was not read)", id[1], g.Resource.Value)
			continue
		}
		var values []string
		for _, r := range g.AppRoles {
			v := ""
			for _, ar := range res.AppRoles {
				if ar.ID == r.RoleID {
					v = ar.Value
				}
			}
			if v == "" {
				w.note("agent identity %q: app role %s of %q has no value a spec can name; left out", id[1], r.RoleID, res.DisplayName)
				continue
			}
			values = append(values, v)
		}
		if len(values) == 0 {
			continue
		}
		slices.Sort(values)
		m := mapNode()
		principal := id[1]
		if spNames[model.NameKey(principal)] > 1 {
			principal = g.Principal.Value
		}
		addPair(m, "principal", scalar(principal))
		if res.AppID != "00000003-0000-0000-c000-000000000000" {
			addPair(m, "resource", scalar(res.AppID))
		}
		if w.opts.Authoritative {
			addPair(m, "mode", scalar("authoritative"))
		}
		addPair(m, "application", strSeq(values))
		seq.Content = append(seq.Content, m)
	}
	return seq
}

func (w *writer) blueprint(b *model.Blueprint) *yaml.Node {
	m := mapNode()
	addPair(m, "displayName", scalar(b.DisplayName))
	if s := deref(b.Description); s != "" {
		addPair(m, "description", scalar(s))
	}
	if n := w.sponsors(b.Sponsors); n != nil {
		addPair(m, "sponsors", n)
	}
	if b.Owners != nil {
		var users []string
		for _, r := range *b.Owners {
			if p, ok := w.byID[strings.ToLower(r.Value)]; ok && p.Kind == model.User {
				users = append(users, strings.ToLower(p.Label()))
			} else {
				w.note("blueprint %q: owner %s is not a user; left out", b.DisplayName, r.Value)
			}
		}
		if len(users) > 0 {
			slices.Sort(users)
			o := mapNode()
			addPair(o, "users", strSeq(users))
			addPair(m, "owners", o)
		}
	}
	if b.Tags != nil && len(*b.Tags) > 0 {
		addPair(m, "tags", strSeq(*b.Tags))
	}
	if b.Scopes != nil && len(*b.Scopes) > 0 {
		seq := seqNode()
		for _, sc := range *b.Scopes {
			n := mapNode()
			addPair(n, "value", scalar(sc.Value))
			addPair(n, "displayName", scalar(sc.DisplayName))
			addPair(n, "description", scalar(sc.Description))
			if sc.Type != "" && sc.Type != "User" {
				addPair(n, "type", scalar(sc.Type))
			}
			seq.Content = append(seq.Content, n)
		}
		addPair(m, "exposedScopes", seq)
	}
	if b.Inheritable != nil && len(*b.Inheritable) > 0 {
		seq := seqNode()
		for _, ip := range *b.Inheritable {
			n := mapNode()
			if app := strings.ToLower(ip.ResourceAppID); app != "" && app != "00000003-0000-0000-c000-000000000000" {
				addPair(n, "resource", scalar(app))
			}
			if ip.All {
				addPair(n, "allScopes", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
			} else {
				sc := slices.Clone(ip.Scopes)
				slices.Sort(sc)
				addPair(n, "scopes", strSeq(sc))
			}
			seq.Content = append(seq.Content, n)
		}
		addPair(m, "inheritablePermissions", seq)
	}
	if b.Credentials != nil && len(*b.Credentials) > 0 {
		seq := seqNode()
		for _, f := range *b.Credentials {
			n := mapNode()
			addPair(n, "name", scalar(f.Name))
			addPair(n, "issuer", scalar(f.Issuer))
			addPair(n, "subject", scalar(f.Subject))
			if f.Audience != "" && f.Audience != model.TokenExchangeAudience {
				addPair(n, "audience", scalar(f.Audience))
			}
			seq.Content = append(seq.Content, n)
		}
		addPair(m, "federatedCredentials", seq)
	}
	return m
}

// sponsors writes users by UPN and groups by name; nil when there are none.
func (w *writer) sponsors(refs *[]model.Ref) *yaml.Node {
	if refs == nil {
		return nil
	}
	var users, groups []string
	for _, r := range *refs {
		p, ok := w.byID[strings.ToLower(r.Value)]
		switch {
		case ok && p.Kind == model.User:
			users = append(users, strings.ToLower(p.Label()))
		case r.Kind == model.GroupKind || (ok && p.Kind == model.GroupKind):
			groups = append(groups, w.groupName(r.Value))
		default:
			w.note("sponsor %s is not a user or group the read named; left out", r.Value)
		}
	}
	if len(users)+len(groups) == 0 {
		return nil
	}
	slices.Sort(users)
	slices.Sort(groups)
	m := mapNode()
	m.Style = yaml.FlowStyle
	if len(users) > 0 {
		addPair(m, "users", strSeq(users))
	}
	if len(groups) > 0 {
		addPair(m, "groups", strSeq(groups))
	}
	return m
}
