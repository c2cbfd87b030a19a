package spec

// The settings: section, and the limits: of a member set.

import (
	"path"
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

// ignoreDoc is one entry of settings.ignore:.
type ignoreDoc struct {
	mapping
	Group  str   `yaml:"group" required:"true"`
	Fields []str `yaml:"fields" required:"true" enum:"description|mailNickname|membershipRule|membershipRuleProcessingState|members"`
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
	for _, ig := range s.Ignore {
		if _, err := path.Match(strings.ToLower(ig.Group.V), ""); err != nil {
			l.diags.Errorf(ig.Group.Pos, "ignore group pattern %q is malformed: %v", ig.Group.V, err)
			continue
		}
		rule := model.IgnoreRule{Group: ig.Group.V, Pos: ig.Pos}
		for _, f := range ig.Fields {
			if f.Set {
				rule.Fields = append(rule.Fields, f.V)
			}
		}
		out.Ignore = append(out.Ignore, rule)
	}
	l.tenant.Settings = out
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
