package spec

import (
	"strings"

	"github.com/entrasync/entrasync/model"
)

// lifecycleDoc is a rule over every agent identity of the tenant, declared
// or not: those of the blueprint (when named), carrying every tag and older
// than the age are reported, or disabled.
type lifecycleDoc struct {
	mapping
	Name          str   `yaml:"name" required:"true"`
	Blueprint     str   `yaml:"blueprint"`
	Tags          []str `yaml:"tags"`
	OlderThanDays num   `yaml:"olderThanDays" required:"true"`
	Action        str   `yaml:"action" enum:"report|disable"`
}

func (*lifecycleDoc) noun() string { return "lifecycle rule" }

func (l *loader) buildLifecycle() {
	seen := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.Lifecycle {
			r := &d.doc.Lifecycle[i]
			if !r.Name.Set {
				continue
			}
			if first, dup := seen[strings.ToLower(r.Name.V)]; dup {
				l.diags.Errorf(r.Name.Pos, "lifecycle rule %q is declared twice; the other is at %s", r.Name.V, first)
				continue
			}
			seen[strings.ToLower(r.Name.V)] = r.Name.Pos
			if r.OlderThanDays.V < 1 {
				l.diags.Errorf(r.OlderThanDays.Pos, "lifecycle rule %q: olderThanDays must be at least 1", r.Name.V)
				continue
			}
			mr := &model.LifecycleRule{Name: r.Name.V, OlderThanDays: r.OlderThanDays.V, Pos: r.Pos}
			if r.Blueprint.Set {
				if mr.Blueprint = strings.TrimSpace(r.Blueprint.V); mr.Blueprint == "" {
					l.diags.Errorf(r.Blueprint.Pos, "lifecycle rule %q: blueprint is empty; name a blueprint by display name, or leave it out to select every blueprint", r.Name.V)
					continue
				}
			}
			switch r.Action.V {
			case "", "report":
			case "disable":
				mr.Disable = true
			default:
				l.diags.Errorf(r.Action.Pos, "lifecycle rule %q: action is report or disable, not %q", r.Name.V, r.Action.V)
				continue
			}
			for _, t := range r.Tags {
				if t.Set && strings.TrimSpace(t.V) != "" {
					mr.Tags = append(mr.Tags, strings.TrimSpace(t.V))
				}
			}
			l.tenant.Lifecycle = append(l.tenant.Lifecycle, mr)
		}
	}
}
