package spec

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/schema"
)

// Spec is a loaded spec: the desired state and the files it came from.
type Spec struct {
	// Tenant is the desired state, passed through model.Normalize.
	Tenant *model.Tenant
	// Root is the spec's directory as the caller named it: the directory
	// itself, or the directory of the single file.
	Root string
	// Files lists every file read (YAML and CSV), relative to Root, with
	// forward slashes, sorted.
	Files []string
	// SettingsRoot is the directory whose spec files' settings: apply: Root
	// for a directory, and for a single file the directory of the whole
	// spec it belongs to.
	SettingsRoot string
	// Digest identifies the spec's content for saved plans: "sha256:<hex>"
	// over each file of Files in order, hashed as
	// "<len(name)>:<name>\n<len(data)>:<data>\n".
	Digest string
}

// fileDoc is one YAML document of a spec file. Each top-level key is a
// section; a new section is one field here, its document types and checks in
// a file of its own, and a builder in builders.
type fileDoc struct {
	mapping
	Tenant   str          `yaml:"tenant"`
	Settings *settingsDoc `yaml:"settings"`
	Groups   []groupDoc   `yaml:"groups"`
	// Catalogs and AccessPackages are entitlement management (em.go).
	Catalogs       []catalogDoc `yaml:"catalogs"`
	AccessPackages []packageDoc `yaml:"accessPackages"`
	// Permissions are application permissions granted by name (grants.go).
	Permissions []grantDoc `yaml:"permissions"`
	// Blueprints and AgentIdentities are Entra Agent ID (agents.go).
	Blueprints      []blueprintDoc     `yaml:"blueprints"`
	AgentIdentities []agentIdentityDoc `yaml:"agentIdentities"`
	AgentUsers      []agentUserDoc     `yaml:"agentUsers"`
	Lifecycle       []lifecycleDoc     `yaml:"lifecycle"`
}

func (*fileDoc) noun() string { return "spec file" }

// builders run in order once every file is decoded. Each checks one section
// across all files (reporting every problem) and adds it to l.tenant.
var builders = []func(*loader){
	(*loader).buildTenant,
	(*loader).buildSettings,
	(*loader).buildGroups,
	(*loader).buildCatalogs,
	(*loader).buildPackages,
	(*loader).checkDeliveries,
	(*loader).buildGrants,
	(*loader).buildAgents,
	(*loader).buildAgentUsers,
	(*loader).buildLifecycle,
}

// yamlDoc is one decoded YAML document and where it came from.
type yamlDoc struct {
	file string // path for positions: Root joined with the relative path
	dir  string // the file's directory relative to Root, slash-separated
	doc  *fileDoc
}

// loader holds the state of one Load.
type loader struct {
	root        string
	docs        []*yamlDoc
	read        map[string][]byte // Root-relative slash path -> content
	diags       model.Diagnostics
	schema      []schema.Finding
	parseFailed bool
	// schemaOnly counts schema findings the loader did not report itself
	// (see addSchemaFindings); tests require it to be zero.
	schemaOnly int
	// rowLimit holds the diagnostics of CSV rows until every file is
	// checked (rowDiag); load adds them to diags, limited.
	rowLimit model.Limiter
	tenant   *model.Tenant
	csvs     map[csvKey]bool // the CSV sources read, by file and column
	// secrets are the secret-looking values found (secrets.go).
	secrets []string
	// siblings are the other spec files of the spec a single file belongs
	// to (under settingsRoot), relative to root: they contribute their
	// settings: (and tenant:) and nothing else, so narrowing a run to one
	// file never drops a safeguard.
	siblings     []string
	settingsRoot string
}

// Load reads the spec at path, a YAML file or a directory of them, with the
// CSV files they name, and returns the desired state. It reports every
// problem it finds, in all files, sorted; warnings may accompany a Spec.
// When there is an error the Spec is nil.
//
// In a directory, every *.yaml and *.yml file is read, recursively; files and
// directories whose name starts with a dot (.git, .entrasync, .gitlab-ci.yml)
// are skipped. Positions name files as path joined with their relative name,
// so they can be clicked from where the command ran.
func Load(path string) (*Spec, model.Diagnostics) {
	s, ds, _ := load(path)
	return s, ds
}

func load(path string) (*Spec, model.Diagnostics, *loader) {
	l := &loader{read: map[string][]byte{}, csvs: map[csvKey]bool{}, tenant: &model.Tenant{}}
	files := l.discover(path)
	for _, rel := range files {
		l.parseFile(rel)
	}
	for _, rel := range l.siblings {
		l.parseSettingsOf(rel, files[0])
	}
	if len(files) > 0 {
		for _, build := range builders {
			build(l)
		}
	}
	l.addSchemaFindings()
	// One mistake repeated on many rows or list items is listed a few
	// times per file and counted: the CSV rows' diagnostics were limited
	// as they were found, the YAML files' are now.
	for _, d := range l.diags {
		l.rowLimit.Add(d)
	}
	l.diags = l.rowLimit.Diagnostics()
	l.redactSecrets()
	model.Sort(l.diags)
	if l.diags.HasErrors() || len(files) == 0 {
		return nil, l.diags, l
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range l.read {
			if !yield(n) {
				return
			}
		}
	})
	sum := digest(names, l.read)
	l.read = nil // the files' content, no longer needed while normalising
	model.Normalize(l.tenant)
	return &Spec{Tenant: l.tenant, Root: l.root, SettingsRoot: l.settingsRoot, Files: names, Digest: sum}, l.diags, l
}

func digest(names []string, read map[string][]byte) string {
	h := sha256.New()
	for _, n := range names {
		data := read[n]
		fmt.Fprintf(h, "%d:%s\n%d:", len(n), n, len(data))
		h.Write(data)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// display turns a Root-relative slash path into the path used in positions.
func (l *loader) display(rel string) string {
	return filepath.Join(l.root, filepath.FromSlash(rel))
}

// discover sets l.root and returns the YAML files to read, relative to it.
func (l *loader) discover(p string) []string {
	p = filepath.Clean(p)
	info, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.diags.Errorf(model.Pos{File: p}, "spec %s does not exist", p)
		} else {
			l.diags.Errorf(model.Pos{File: p}, "cannot read spec: %v", err)
		}
		return nil
	}
	if !info.IsDir() {
		l.root = filepath.Dir(p)
		base := filepath.Base(p)
		l.settingsRoot = specRootOf(l.root)
		self, _ := filepath.Abs(p)
		for _, f := range l.walk(l.settingsRoot) {
			full := filepath.Join(l.settingsRoot, filepath.FromSlash(f))
			if abs, _ := filepath.Abs(full); abs == self {
				continue
			}
			if rel, err := filepath.Rel(l.root, full); err == nil {
				l.siblings = append(l.siblings, filepath.ToSlash(rel))
			}
		}
		return []string{base}
	}
	l.settingsRoot = p
	l.root = p
	files := l.walk(p)
	if len(files) == 0 && !l.diags.HasErrors() {
		l.diags.Errorf(model.Pos{File: p}, "no spec files (*.yaml, *.yml) in %s", p)
	}
	return files
}

// specRootOf finds the directory of the whole spec a file's directory dir
// belongs to: dir, or the highest ancestor reached by climbing while the
// parent directory itself holds spec files (YAML with a top-level
// tenant:, which spec files declare and a settings-only policy file need
// not), stopping at a repository root (a directory with .git).
// -f tenant/teams/finance.yaml thus keeps the settings of
// tenant/settings.yaml.
func specRootOf(dir string) string {
	cur, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	top := cur
	for {
		if _, err := os.Stat(filepath.Join(cur, ".git")); err == nil {
			break
		}
		parent := filepath.Dir(cur)
		if parent == cur || !holdsSpecFiles(parent) {
			break
		}
		cur, top = parent, parent
	}
	if top == filepath.Clean(mustAbs(dir)) {
		return dir
	}
	if rel, err := filepath.Rel(mustAbs(dir), top); err == nil {
		return filepath.Join(dir, rel)
	}
	return top
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// holdsSpecFiles reports whether dir itself (not its subdirectories) holds
// a YAML file whose top level has tenant:.
func holdsSpecFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || len(data) > 1<<20 {
			continue
		}
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(n.Content[0].Content); i += 2 {
			if n.Content[0].Content[i].Value == "tenant" {
				return true
			}
		}
	}
	return false
}

// walk lists the spec files under directory p, relative to it, sorted.
func (l *loader) walk(p string) []string {
	var files []string
	err := filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			l.diags.Errorf(model.Pos{File: fp}, "cannot read: %v", err)
			return nil
		}
		if fp != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(d.Name()))
		if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		rel, err := filepath.Rel(p, fp)
		if err != nil {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, ok := l.inside(fp, model.Pos{File: fp}, "spec file"); !ok {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		l.diags.Errorf(model.Pos{File: p}, "cannot read spec directory: %v", err)
	}
	slices.Sort(files)
	return files
}

// parseSettingsOf reads a spec file beside the one Load was given, for its
// settings: alone. A file without settings: is not read further (and not
// part of the digest); one with settings: is decoded as strictly as any spec
// file, but only its settings: and tenant: keys, so its objects neither
// join the run nor stop it.
func (l *loader) parseSettingsOf(rel, named string) {
	file := l.display(rel)
	data, err := os.ReadFile(file)
	if err != nil {
		l.diags.Errorf(model.Pos{File: file}, "cannot read spec file (read for its settings): %v", err)
		l.parseFailed = true
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var keep []*yaml.Node
	for {
		var n yaml.Node
		err := decodeYAML(dec, &n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			pos, msg := yamlErrorAt(file, err)
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos, Summary: "invalid YAML: " + msg,
				Detail: fmt.Sprintf("-f %s plans that file under the settings: of every spec file beside it, so this file must parse.", l.display(named))})
			l.parseFailed = true
			return
		}
		root := &n
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			root = n.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			continue
		}
		var settings *yaml.Node
		only := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch root.Content[i].Value {
			case "settings":
				settings = root.Content[i]
				only.Content = append(only.Content, root.Content[i], root.Content[i+1])
			case "tenant":
				only.Content = append(only.Content, root.Content[i], root.Content[i+1])
			}
		}
		if settings != nil {
			keep = append(keep, only)
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Warning, Pos: model.Pos{File: file, Line: int32(settings.Line), Col: int32(settings.Column)},
				Summary: fmt.Sprintf("settings: here apply to -f %s too", l.display(named)),
				Detail:  "Narrowing a run to one file keeps every safeguard of the spec around it; to plan only some objects of the whole spec, use --target."})
		}
	}
	if len(keep) == 0 {
		return
	}
	l.read[rel] = data
	for _, n := range keep {
		l.decodeDoc(file, path.Dir(rel), n)
	}
}

// inside resolves symlinks in fp and checks that the result stays inside the
// spec root. It reports a problem at pos when it does not.
func (l *loader) inside(fp string, pos model.Pos, what string) (string, bool) {
	real, err := filepath.EvalSymlinks(fp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.diags.Errorf(pos, "%s %s not found", what, fp)
		} else {
			l.diags.Errorf(pos, "cannot read %s: %v", what, err)
		}
		return "", false
	}
	realRoot, err := filepath.EvalSymlinks(l.root)
	if err != nil {
		l.diags.Errorf(pos, "cannot read spec directory: %v", err)
		return "", false
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
			Summary: fmt.Sprintf("%s %s resolves to %s, outside the spec directory", what, fp, real),
			Detail:  "A spec may only read files inside its own directory, so that reviewing the repository reviews everything it applies."})
		return "", false
	}
	return real, true
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseFile reads one YAML file and decodes each of its documents.
func (l *loader) parseFile(rel string) {
	file := l.display(rel)
	data, err := os.ReadFile(file)
	if err != nil {
		l.diags.Errorf(model.Pos{File: file}, "cannot read spec file: %v", err)
		l.parseFailed = true
		return
	}
	l.read[rel] = data
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := decodeYAML(dec, &n)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			pos, msg := yamlErrorAt(file, err)
			l.diags.Errorf(pos, "invalid YAML: %s", msg)
			l.parseFailed = true
			return
		}
		l.decodeDoc(file, path.Dir(rel), &n)
	}
}

// yamlErrorAt turns a YAML parser error into its place and message.
func yamlErrorAt(file string, err error) (model.Pos, string) {
	pos, msg := model.Pos{File: file}, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		pos.Line = int32(line)
		msg = m[2]
	}
	return pos, msg
}

// decodeYAML is dec.Decode, turning a parser panic into an error.
func decodeYAML(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed (%v)", r)
		}
	}()
	return dec.Decode(n)
}

func (l *loader) decodeDoc(file, dir string, n *yaml.Node) {
	root := n
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		root = n.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return // an empty document, or one of comments only
	}
	l.checkSecrets(file, root)
	l.schema = append(l.schema, schema.Check(n, file)...)
	d := &decoder{file: file}
	var fd fileDoc
	d.decode(root, reflect.ValueOf(&fd).Elem(), "document", nil)
	l.diags = append(l.diags, d.diags...)
	l.docs = append(l.docs, &yamlDoc{file: file, dir: dir, doc: &fd})
}

// addSchemaFindings adds the schema's findings that the loader has not
// already reported. The decoder and the semantic checks report everything
// the schema can (with better messages), so a finding is dropped when an
// error lies at or inside its node: one problem, one message. A finding that
// survives means the loader misses a rule the schema has; the tests and the
// fuzz target treat that as a bug.
func (l *loader) addSchemaFindings() {
	errs := map[string][]lineCol{} // file -> sorted places of errors
	for _, d := range l.diags {
		if d.Severity == model.Error {
			errs[d.Pos.File] = append(errs[d.Pos.File], lineCol{int(d.Pos.Line), int(d.Pos.Col)})
		}
	}
	for _, ps := range errs {
		slices.SortFunc(ps, func(a, b lineCol) int { return cmp.Or(a.Line-b.Line, a.Column-b.Column) })
	}
	for _, f := range l.schema {
		start, end := span(f.Node)
		ps := errs[f.Diagnostic.Pos.File]
		i, _ := slices.BinarySearchFunc(ps, start, func(a, b lineCol) int { return cmp.Or(a.Line-b.Line, a.Column-b.Column) })
		if i < len(ps) && !before(end.Line, end.Column, ps[i].Line, ps[i].Column) {
			continue // an error at or inside the finding's node
		}
		l.diags = append(l.diags, f.Diagnostic)
		l.schemaOnly++
	}
}

type lineCol struct{ Line, Column int }

// span returns the first and last position written inside n.
func span(n *yaml.Node) (start, end lineCol) {
	start = lineCol{n.Line, n.Column}
	end = start
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if before(end.Line, end.Column, n.Line, n.Column) {
			end = lineCol{n.Line, n.Column}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return start, end
}

func before(l1, c1, l2, c2 int) bool { return l1 < l2 || (l1 == l2 && c1 < c2) }

// buildTenant checks tenant: across files: set at least once, domain-shaped,
// the same everywhere.
func (l *loader) buildTenant() {
	var first *str
	for _, d := range l.docs {
		t := &d.doc.Tenant
		if !t.Set {
			continue
		}
		if !checkDomain(&l.diags, *t) {
			continue
		}
		if first == nil {
			first = t
			l.tenant.Domain = t.V
			continue
		}
		if !strings.EqualFold(t.V, first.V) {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: t.Pos,
				Summary: fmt.Sprintf("tenant %q differs from tenant %q at %s", t.V, first.V, first.Pos),
				Detail:  "Every file of a spec describes the same tenant."})
		}
	}
	if first != nil || l.parseFailed || slices.ContainsFunc(l.docs, func(d *yamlDoc) bool { return d.doc.has("tenant") }) {
		return // a tenant: with a bad value is reported already
	}
	pos := model.Pos{File: l.root}
	if len(l.docs) > 0 {
		pos = model.Pos{File: l.docs[0].file, Line: 1, Col: 1}
	}
	l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
		Summary: "no file of the spec sets tenant:",
		Detail:  "Add the tenant's domain to one file, e.g. tenant: contoso.onmicrosoft.com"})
}

func checkDomain(ds *model.Diagnostics, t str) bool {
	switch {
	case isGUID(t.V):
		*ds = append(*ds, model.Diagnostic{Severity: model.Error, Pos: t.Pos,
			Summary: fmt.Sprintf("tenant %q is a tenant id; entrasync wants the tenant's domain", t.V),
			Detail:  "Use the primary or initial domain, e.g. contoso.onmicrosoft.com."})
	case len(t.V) > maxDomainLen || !domainRE.MatchString(t.V):
		*ds = append(*ds, model.Diagnostic{Severity: model.Error, Pos: t.Pos,
			Summary: fmt.Sprintf("tenant %q is not a domain name", t.V),
			Detail:  "Use the primary or initial domain, e.g. contoso.onmicrosoft.com."})
	default:
		return true
	}
	return false
}

// readRegular reads a regular file; directories and devices are refused.
func readRegular(name string) ([]byte, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	return os.ReadFile(name)
}
