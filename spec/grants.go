package spec

// The permissions: section: application permissions granted by name.

import (
	"strings"

	"github.com/entrasync/entrasync/model"
)

// grantDoc is one entry of permissions:.
type grantDoc struct {
	mapping
	Principal   str   `yaml:"principal" required:"true"`
	Resource    str   `yaml:"resource"`
	Application []str `yaml:"application"`
	Delegated   []str `yaml:"delegated"`
	Mode        str   `yaml:"mode" enum:"additive|authoritative"`
}

func (*grantDoc) noun() string { return "permissions entry" }

// microsoftGraph is the resource a grant names when it names none.
const microsoftGraph = "00000003-0000-0000-c000-000000000000"

func (l *loader) buildGrants() {
	seen := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.Permissions {
			g := &d.doc.Permissions[i]
			if !g.Principal.Set {
				continue
			}
			res := microsoftGraph
			resPos := g.Pos
			if g.Resource.Set {
				res, resPos = g.Resource.V, g.Resource.Pos
			}
			key := model.NameKey(g.Principal.V) + "|" + model.NameKey(res)
			if first, dup := seen[key]; dup {
				l.diags.Errorf(g.Principal.Pos, "permissions of %q on %q are declared twice; the other entry is at %s", g.Principal.V, res, first)
				continue
			}
			seen[key] = g.Principal.Pos
			mg := &model.Grant{
				Principal: model.Ref{Kind: model.ServicePrincipal, Value: g.Principal.V, Pos: g.Principal.Pos},
				Resource:  model.Ref{Kind: model.ServicePrincipal, Value: res, Pos: resPos},
				Mode:      model.Additive, AppRoles: []model.GrantedRole{}, Pos: g.Pos,
			}
			if g.Mode.Set {
				mg.Mode = model.Mode(g.Mode.V)
			}
			names := map[string]model.Pos{}
			for _, a := range g.Application {
				if !a.Set || strings.TrimSpace(a.V) == "" {
					continue
				}
				if first, dup := names[strings.ToLower(a.V)]; dup {
					l.diags.Warnf(a.Pos, "permission %s is listed twice; the first is at %s", a.V, first)
					continue
				}
				names[strings.ToLower(a.V)] = a.Pos
				mg.AppRoles = append(mg.AppRoles, model.GrantedRole{Value: strings.TrimSpace(a.V), Pos: a.Pos})
			}
			if g.has("delegated") {
				scopes := []string{}
				seenScope := map[string]bool{}
				for _, sc := range g.Delegated {
					if v := strings.TrimSpace(sc.V); sc.Set && v != "" && !seenScope[strings.ToLower(v)] {
						seenScope[strings.ToLower(v)] = true
						scopes = append(scopes, v)
					}
				}
				mg.Scopes = &scopes
			}
			l.tenant.Grants = append(l.tenant.Grants, mg)
		}
	}
}
