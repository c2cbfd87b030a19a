package spec

import (
	"strings"

	"github.com/entrasync/entrasync/model"
)

// lifecycleDoc is a rule over the spec's agent identities: those carrying
// every tag and older than the age are reported, or disabled.
type lifecycleDoc struct {
	mapping
	Name          str   `yaml:"name" required:"true"`
	Tags          []str `yaml:"tags" required:"true"`
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
			if len(mr.Tags) == 0 {
				l.diags.Errorf(r.Pos, "lifecycle rule %q selects no tags; name at least one, e.g. environment:development", r.Name.V)
				continue
			}
			l.tenant.Lifecycle = append(l.tenant.Lifecycle, mr)
		}
	}
}
