package spec

// The blueprints: and agentIdentities: sections (Entra Agent ID).

import (
	"fmt"
	"strings"

	"github.com/entrasync/entrasync/model"
)

type sponsorsDoc struct {
	mapping
	Users  []str `yaml:"users"`
	Groups []str `yaml:"groups"`
}

func (*sponsorsDoc) noun() string { return "sponsors" }

type blueprintDoc struct {
	mapping
	DisplayName str          `yaml:"displayName" required:"true"`
	UniqueName  str          `yaml:"uniqueName"`
	Description str          `yaml:"description"`
	Sponsors    *sponsorsDoc `yaml:"sponsors"`
	Tags        []str        `yaml:"tags"`
	Inheritable []inheritDoc `yaml:"inheritablePermissions"`
	Credentials []ficDoc     `yaml:"federatedCredentials"`
	Scopes      []scopeDoc   `yaml:"exposedScopes"`
	Owners      *ownersDoc   `yaml:"owners"`
	Absent      flag         `yaml:"absent"`
}

func (*blueprintDoc) noun() string { return "blueprint" }

// inheritDoc is one resource of a blueprint's inheritable permissions.
type inheritDoc struct {
	mapping
	Resource  str   `yaml:"resource"`
	Scopes    []str `yaml:"scopes"`
	AllScopes flag  `yaml:"allScopes"`
}

func (*inheritDoc) noun() string { return "inheritable permission" }

// ficDoc is one federated identity credential of a blueprint.
type ficDoc struct {
	mapping
	Name     str `yaml:"name" required:"true"`
	Issuer   str `yaml:"issuer" required:"true"`
	Subject  str `yaml:"subject" required:"true"`
	Audience str `yaml:"audience"`
}

func (*ficDoc) noun() string { return "federated credential" }

// ownersDoc lists a blueprint's owners.
type ownersDoc struct {
	mapping
	Users []str `yaml:"users"`
}

func (*ownersDoc) noun() string { return "owners" }

// scopeDoc is one delegated permission a blueprint exposes.
type scopeDoc struct {
	mapping
	Value       str `yaml:"value" required:"true"`
	DisplayName str `yaml:"displayName" required:"true"`
	Description str `yaml:"description" required:"true"`
	Type        str `yaml:"type" enum:"User|Admin"`
}

func (*scopeDoc) noun() string { return "exposed scope" }

type agentIdentityDoc struct {
	mapping
	DisplayName str          `yaml:"displayName" required:"true"`
	Blueprint   str          `yaml:"blueprint" required:"true"`
	Sponsors    *sponsorsDoc `yaml:"sponsors"`
	Tags        []str        `yaml:"tags"`
	Enabled     flag         `yaml:"enabled"`
	Absent      flag         `yaml:"absent"`
}

func (*agentIdentityDoc) noun() string { return "agent identity" }

type agentUserDoc struct {
	mapping
	UserPrincipalName str  `yaml:"userPrincipalName" required:"true"`
	DisplayName       str  `yaml:"displayName" required:"true"`
	MailNickname      str  `yaml:"mailNickname"`
	Identity          str  `yaml:"identity" required:"true"`
	Blueprint         str  `yaml:"blueprint" required:"true"`
	Absent            flag `yaml:"absent"`
}

func (*agentUserDoc) noun() string { return "agent user" }

// Graph's sponsor rules (learn.microsoft.com/graph/api/agentidentityblueprint-post-sponsors): at least one sponsor, at
// most 100, at most 5 of them groups.
const (
	maxSponsors      = 100
	maxSponsorGroups = 5
)

// sponsors checks and converts sponsors; required says whether the object
// must have one (Graph refuses to create it without).
func (l *loader) sponsors(d *sponsorsDoc, owner string, pos model.Pos, required bool) *[]model.Ref {
	if d == nil {
		if required {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
				Summary: fmt.Sprintf("%s has no sponsors", owner),
				Detail:  "Entra requires at least one sponsor, a person accountable for the agent: sponsors: {users: [alice@contoso.com]}."})
		}
		return nil
	}
	refs := []model.Ref{}
	refs = l.addUsers(nil, d.Users, nil, "the sponsors of "+owner, refs)
	groups := 0
	for _, g := range d.Groups {
		if g.Set && strings.TrimSpace(g.V) != "" {
			refs = append(refs, model.Ref{Kind: model.GroupKind, Value: g.V, Pos: g.Pos})
			groups++
		}
	}
	switch {
	case len(refs) == 0:
		l.diags.Errorf(d.Pos, "%s needs at least one sponsor", owner)
	case len(refs) > maxSponsors:
		l.diags.Errorf(d.Pos, "%s has %d sponsors; Entra allows at most %d", owner, len(refs), maxSponsors)
	case groups > maxSponsorGroups:
		l.diags.Errorf(d.Pos, "%s has %d sponsor groups; Entra allows at most %d", owner, groups, maxSponsorGroups)
	}
	return &refs
}

func tags(list []str) *[]string {
	out := []string{}
	for _, t := range list {
		if t.Set {
			out = append(out, t.V)
		}
	}
	return &out
}

func (l *loader) buildAgents() {
	declared := map[string]bool{}
	seen := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.Blueprints {
			b := &d.doc.Blueprints[i]
			if !b.DisplayName.Set {
				l.sponsors(b.Sponsors, "a blueprint without displayName", b.Pos, false) // still report bad sponsors
				continue
			}
			if first, dup := seen[model.NameKey(b.DisplayName.V)]; dup {
				l.diags.Errorf(b.DisplayName.Pos, "blueprint %q is declared twice; the other declaration is at %s", b.DisplayName.V, first)
				l.sponsors(b.Sponsors, fmt.Sprintf("blueprint %q", b.DisplayName.V), b.Pos, false)
				continue
			}
			seen[model.NameKey(b.DisplayName.V)] = b.DisplayName.Pos
			declared[model.NameKey(b.DisplayName.V)] = !b.Absent.V
			mb := &model.Blueprint{DisplayName: b.DisplayName.V, UniqueName: b.UniqueName.V, Description: optional(b.Description), Absent: b.Absent.V, Pos: b.Pos}
			if b.Absent.V {
				l.onlyKeys(&b.mapping, "an absent blueprint", "displayName", "uniqueName", "absent")
			} else {
				mb.Sponsors = l.sponsors(b.Sponsors, fmt.Sprintf("blueprint %q", b.DisplayName.V), b.Pos, true)
			}
			if b.has("tags") {
				mb.Tags = tags(b.Tags)
			}
			if b.has("inheritablePermissions") {
				list := []model.InheritablePermission{}
				resources := map[string]model.Pos{}
				for _, ih := range b.Inheritable {
					res, pos := microsoftGraph, ih.Pos
					if ih.Resource.Set {
						res, pos = ih.Resource.V, ih.Resource.Pos
					}
					if first, dup := resources[model.NameKey(res)]; dup {
						l.diags.Errorf(pos, "inheritable permissions of %q are declared twice; the other is at %s", res, first)
						continue
					}
					resources[model.NameKey(res)] = pos
					if ih.AllScopes.V == (len(ih.Scopes) > 0) {
						l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: ih.Pos,
							Summary: "an inheritable permission lists scopes: or sets allScopes: true, not both and not neither",
							Detail:  "Write {scopes: [User.Read, Mail.Read]} or {allScopes: true}."})
						continue
					}
					ip := model.InheritablePermission{Resource: model.Ref{Kind: model.ServicePrincipal, Value: res, Pos: pos}, All: ih.AllScopes.V, Pos: ih.Pos}
					for _, sc := range ih.Scopes {
						if sc.Set && strings.TrimSpace(sc.V) != "" {
							ip.Scopes = append(ip.Scopes, strings.TrimSpace(sc.V))
						}
					}
					list = append(list, ip)
				}
				mb.Inheritable = &list
			}
			if b.has("federatedCredentials") {
				list := []model.FederatedCredential{}
				names := map[string]model.Pos{}
				for _, f := range b.Credentials {
					if first, dup := names[strings.ToLower(f.Name.V)]; dup {
						l.diags.Errorf(f.Name.Pos, "federated credential %q is declared twice; the other is at %s", f.Name.V, first)
						continue
					}
					names[strings.ToLower(f.Name.V)] = f.Name.Pos
					mf := model.FederatedCredential{Name: f.Name.V, Issuer: f.Issuer.V, Subject: f.Subject.V, Audience: model.TokenExchangeAudience, Pos: f.Pos}
					if f.Audience.Set {
						mf.Audience = f.Audience.V
					}
					list = append(list, mf)
				}
				mb.Credentials = &list
			}
			if b.Owners != nil {
				refs := []model.Ref{}
				refs = l.addUsers(nil, b.Owners.Users, nil, fmt.Sprintf("the owners of blueprint %q", b.DisplayName.V), refs)
				mb.Owners = &refs
			}
			if b.has("exposedScopes") {
				list := []model.ExposedScope{}
				values := map[string]model.Pos{}
				for _, sc := range b.Scopes {
					if first, dup := values[strings.ToLower(sc.Value.V)]; dup {
						l.diags.Errorf(sc.Value.Pos, "exposed scope %q is declared twice; the other is at %s", sc.Value.V, first)
						continue
					}
					values[strings.ToLower(sc.Value.V)] = sc.Value.Pos
					ms := model.ExposedScope{Value: sc.Value.V, DisplayName: sc.DisplayName.V, Description: sc.Description.V, Type: "User", Pos: sc.Pos}
					if sc.Type.Set {
						ms.Type = sc.Type.V
					}
					list = append(list, ms)
				}
				mb.Scopes = &list
			}
			l.tenant.Blueprints = append(l.tenant.Blueprints, mb)
		}
	}
	seen = map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.AgentIdentities {
			a := &d.doc.AgentIdentities[i]
			if !a.DisplayName.Set || !a.Blueprint.Set {
				l.sponsors(a.Sponsors, "an agent identity without displayName or blueprint", a.Pos, false) // still report bad sponsors
				continue
			}
			key := model.NameKey(a.Blueprint.V) + "/" + model.NameKey(a.DisplayName.V)
			if first, dup := seen[key]; dup {
				l.diags.Errorf(a.DisplayName.Pos, "agent identity %q of blueprint %q is declared twice; the other declaration is at %s", a.DisplayName.V, a.Blueprint.V, first)
				l.sponsors(a.Sponsors, fmt.Sprintf("agent identity %q", a.DisplayName.V), a.Pos, false)
				continue
			}
			seen[key] = a.DisplayName.Pos
			if live, ok := declared[model.NameKey(a.Blueprint.V)]; ok && !live && !a.Absent.V {
				l.diags.Errorf(a.Blueprint.Pos, "blueprint %q is marked absent, but agent identity %q stays", a.Blueprint.V, a.DisplayName.V)
			}
			ma := &model.AgentIdentity{DisplayName: a.DisplayName.V, Blueprint: a.Blueprint.V, Absent: a.Absent.V, Pos: a.Pos}
			if a.Absent.V {
				l.onlyKeys(&a.mapping, "an absent agent identity", "displayName", "blueprint", "absent")
			} else {
				ma.Sponsors = l.sponsors(a.Sponsors, fmt.Sprintf("agent identity %q", a.DisplayName.V), a.Pos, true)
			}
			if a.has("tags") {
				ma.Tags = tags(a.Tags)
			}
			if a.Enabled.Set {
				v := a.Enabled.V
				ma.Enabled = &v
			}
			l.tenant.AgentIdentities = append(l.tenant.AgentIdentities, ma)
		}
	}
}

func (l *loader) buildAgentUsers() {
	seen := map[string]model.Pos{}
	parents := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.AgentUsers {
			u := &d.doc.AgentUsers[i]
			if !u.UserPrincipalName.Set || !u.Identity.Set {
				continue
			}
			if !isUserRef(u.UserPrincipalName.V) || isGUID(u.UserPrincipalName.V) {
				l.diags.Errorf(u.UserPrincipalName.Pos, "userPrincipalName %q is not a user principal name (name@domain)", u.UserPrincipalName.V)
				continue
			}
			key := strings.ToLower(u.UserPrincipalName.V)
			if first, dup := seen[key]; dup {
				l.diags.Errorf(u.UserPrincipalName.Pos, "agent user %q is declared twice; the other declaration is at %s", u.UserPrincipalName.V, first)
				continue
			}
			seen[key] = u.UserPrincipalName.Pos
			parent := model.NameKey(u.Blueprint.V) + "/" + model.NameKey(u.Identity.V)
			if first, dup := parents[parent]; dup && !u.Absent.V {
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: u.Identity.Pos,
					Summary: fmt.Sprintf("agent identity %q already has an agent user (at %s)", u.Identity.V, first),
					Detail:  "Entra allows one agent user per agent identity."})
				continue
			}
			if !u.Absent.V {
				parents[parent] = u.Identity.Pos
			}
			nick := u.MailNickname.V
			if !u.MailNickname.Set {
				nick, _, _ = strings.Cut(u.UserPrincipalName.V, "@")
			} else if p := mailNicknameProblem(nick); p != "" {
				l.diags.Errorf(u.MailNickname.Pos, "mailNickname %q %s", nick, p)
			}
			l.tenant.AgentUsers = append(l.tenant.AgentUsers, &model.AgentUser{UserPrincipalName: u.UserPrincipalName.V, DisplayName: u.DisplayName.V,
				MailNickname: nick, Identity: u.Identity.V, Blueprint: u.Blueprint.V, Absent: u.Absent.V, Pos: u.Pos})
		}
	}
}
