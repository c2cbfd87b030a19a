package spec

// The settings: section, and the limits: of a member set.

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// settingsDoc is settings:, the rules for planning and applying.
type settingsDoc struct {
	mapping
	RequireApproval []str       `yaml:"requireApproval"`
	Limits          *limitsDoc  `yaml:"limits"`
	Protected       []str       `yaml:"protected"`
	Ignore          []ignoreDoc `yaml:"ignore"`
}

func (*settingsDoc) noun() string { return "settings" }

// limitsDoc is settings.limits:.
type limitsDoc struct {
	mapping
	RemovalsPerSet *limitDoc `yaml:"removalsPerSet"`
	ChangesPerRun  *limitDoc `yaml:"changesPerRun"`
}

func (*limitsDoc) noun() string { return "limits" }

// limitDoc is one safety threshold.
type limitDoc struct {
	mapping
	MaxPercent num `yaml:"maxPercent"`
	MaxCount   num `yaml:"maxCount"`
	MinSetSize num `yaml:"minSetSize"`
}

func (*limitDoc) noun() string { return "limit" }

// ignoreDoc is one entry of settings.ignore:. It names exactly one kind of
// object by a display-name pattern; the valid fields depend on the kind
// (model.IgnorableFields), so they are checked in ignoreRule, not by an enum.
type ignoreDoc struct {
	mapping
	Group         str   `yaml:"group"`
	Catalog       str   `yaml:"catalog"`
	AccessPackage str   `yaml:"accessPackage"`
	Blueprint     str   `yaml:"blueprint"`
	AgentIdentity str   `yaml:"agentIdentity"`
	Fields        []str `yaml:"fields" required:"true"`
}

// pattern is the pattern written under kind (a key of model.IgnoreKinds).
func (ig *ignoreDoc) pattern(kind string) str {
	switch kind {
	case model.IgnoreCatalog:
		return ig.Catalog
	case model.IgnoreAccessPackage:
		return ig.AccessPackage
	case model.IgnoreBlueprint:
		return ig.Blueprint
	case model.IgnoreAgentIdentity:
		return ig.AgentIdentity
	}
	return ig.Group
}

func (*ignoreDoc) noun() string { return "ignore rule" }

// buildSettings checks settings: (at most one file may hold it) and adds it
// to the tenant.
func (l *loader) buildSettings() {
	var found *yamlDoc
	for _, d := range l.docs {
		s := d.doc.Settings
		if s == nil {
			continue
		}
		if found != nil {
			l.diags.Errorf(s.Pos, "settings: is written twice; the other is at %s", found.doc.Settings.Pos)
			continue
		}
		found = d
	}
	if found == nil {
		return
	}
	s := found.doc.Settings
	out := model.Settings{Pos: s.Pos}
	for i, c := range s.RequireApproval {
		if !c.Set {
			continue
		}
		if !riskCodeRE.MatchString(c.V) {
			l.diags.Errorf(c.Pos, "requireApproval[%d]: %q is not a risk code (ES followed by three digits, e.g. ES101)", i, c.V)
			continue
		}
		out.RequireApproval = append(out.RequireApproval, c.V)
	}
	if s.has("requireApproval") && out.RequireApproval == nil {
		out.RequireApproval = []string{} // written empty: nothing needs approval
	}
	if s.Limits != nil {
		out.RemovalsPerSet = l.limit(s.Limits.RemovalsPerSet, "settings.limits.removalsPerSet")
		out.ChangesPerRun = l.limit(s.Limits.ChangesPerRun, "settings.limits.changesPerRun")
	}
	for i, p := range s.Protected {
		if !p.Set {
			continue
		}
		if !isUserRef(p.V) {
			l.diags.Errorf(p.Pos, "protected[%d]: %q is not a user principal name, mail address or object id", i, p.V)
			continue
		}
		out.Protected = append(out.Protected, model.Ref{Kind: model.User, Value: p.V, Pos: p.Pos})
	}
	for i := range s.Ignore {
		if rule, ok := l.ignoreRule(&s.Ignore[i]); ok {
			out.Ignore = append(out.Ignore, rule)
		}
	}
	l.tenant.Settings = out
}

// ignoreRule checks and converts one ignore rule: exactly one kind, a
// well-formed pattern, fields valid for the kind.
func (l *loader) ignoreRule(ig *ignoreDoc) (model.IgnoreRule, bool) {
	if ig.Pos.IsZero() {
		return model.IgnoreRule{}, false // not a mapping: the decoder said so
	}
	var kinds []string
	for _, k := range ig.writtenKeys() {
		if slices.Contains(model.IgnoreKinds, k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: ig.Pos,
			Summary: "ignore rule names no kind of object: it needs one of " + quoteList(model.IgnoreKinds),
			Detail:  `For example {group: "HR *", fields: [description]}.`})
		return model.IgnoreRule{}, false
	case 1:
	default:
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: ig.keyPos(kinds[1]),
			Summary: fmt.Sprintf("ignore rule names %s: a rule is about one kind of object", andList(kinds)),
			Detail:  "Write one rule for each kind."})
		return model.IgnoreRule{}, false
	}
	kind := kinds[0]
	valid := model.IgnorableFields[kind]
	ok := true
	rule := model.IgnoreRule{Pos: ig.Pos}
	for i, f := range ig.Fields {
		if !f.Set {
			continue
		}
		if !slices.Contains(valid, f.V) {
			sum := fmt.Sprintf("fields[%d]: %q is not a valid %s field", i, f.V, kind)
			if dym := didYouMean(f.V, valid); dym != "" {
				sum += "; " + dym
			}
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: f.Pos, Summary: sum,
				Detail: fmt.Sprintf("Valid %s fields: %s.", kind, quoteList(valid))})
			ok = false
			continue
		}
		rule.Fields = append(rule.Fields, f.V)
	}
	p := ig.pattern(kind)
	if !p.Set {
		return model.IgnoreRule{}, false // not a string: the decoder said so
	}
	if _, err := path.Match(strings.ToLower(p.V), ""); err != nil {
		l.diags.Errorf(p.Pos, "ignore %s pattern %q is malformed: %v", kind, p.V, err)
		return model.IgnoreRule{}, false
	}
	switch kind {
	case model.IgnoreCatalog:
		rule.Catalog = p.V
	case model.IgnoreAccessPackage:
		rule.AccessPackage = p.V
	case model.IgnoreBlueprint:
		rule.Blueprint = p.V
	case model.IgnoreAgentIdentity:
		rule.AgentIdentity = p.V
	default:
		rule.Group = p.V
	}
	return rule, ok
}

// andList joins names as "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// limit converts a limit; setting names it for messages.
func (l *loader) limit(d *limitDoc, setting string) model.Limit {
	lim := model.Limit{Setting: setting}
	if d == nil {
		return lim
	}
	lim.Pos = d.Pos
	if d.MaxPercent.Set {
		if d.MaxPercent.V > 100 {
			l.diags.Errorf(d.MaxPercent.Pos, "maxPercent is %d; a share is at most 100", d.MaxPercent.V)
		}
		lim.MaxPercent = &d.MaxPercent.V
	}
	if d.MaxCount.Set {
		lim.MaxCount = &d.MaxCount.V
	}
	if d.MinSetSize.Set {
		lim.MinSetSize = &d.MinSetSize.V
	}
	return lim
}
