package planner

import (
	"bytes"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

const siteURL = "https://contoso.sharepoint.com/sites/Contoso"

// siteObserved is emObserved with the SharePoint site Contoso in catalog
// Marketing, its three groups as roles, and, when granted, the package
// granting "Contoso Visitors" (originId 5).
func siteObserved(granted bool) *model.Tenant {
	t := emObserved()
	c := t.Catalogs[0]
	c.Sites = &[]model.Ref{{Kind: model.SiteKind, Value: siteURL}}
	c.ResourceIDs[siteURL] = "res-site"
	c.SiteRoles = map[string][]model.SiteRole{siteURL: {
		{OriginID: "3", DisplayName: "Contoso Owners"}, {OriginID: "4", DisplayName: "Contoso Members"}, {OriginID: "5", DisplayName: "Contoso Visitors"}}}
	if granted {
		roles := append(*t.AccessPackages[0].Roles, model.RoleScope{Group: model.Ref{Kind: model.SiteKind, Value: siteURL}, Role: "5", ID: "rrs-site"})
		t.AccessPackages[0].Roles = &roles
	}
	return t
}

func TestPackageSiteRoles(t *testing.T) {
	pos := model.Pos{File: "spec.yaml", Line: 12, Col: 34}
	site := func(url, role string) model.RoleScope {
		return model.RoleScope{Group: model.Ref{Kind: model.SiteKind, Value: url, Pos: model.Pos{File: "spec.yaml", Line: 12, Col: 10}}, Role: role, RolePos: pos}
	}
	member := model.RoleScope{Group: model.Ref{Kind: model.GroupKind, Value: "Res"}, Role: "Member"}
	for _, tc := range []struct {
		name     string
		granted  bool
		catalog  *model.Catalog // desired catalog, if declared
		roles    []model.RoleScope
		want     []string // rendered lines of the roles change, in order
		wantErr  string
		errorPos model.Pos
	}{
		{name: "grant by display name", roles: []model.RoleScope{member, site(siteURL, "contoso members")},
			want: []string{"+ Contoso Members of SharePoint site " + siteURL}},
		{name: "URL case and trailing slash", granted: true, roles: []model.RoleScope{member, site("https://CONTOSO.sharepoint.com/sites/contoso", "Contoso Visitors")}},
		{name: "swap", granted: true, roles: []model.RoleScope{member, site(siteURL, "Contoso Owners")},
			want: []string{"+ Contoso Owners of SharePoint site " + siteURL, "- Contoso Visitors of SharePoint site " + siteURL}},
		{name: "removed when not listed", granted: true, roles: []model.RoleScope{member},
			want: []string{"- Contoso Visitors of SharePoint site " + siteURL}},
		{name: "unknown role", roles: []model.RoleScope{member, site(siteURL, "Contoso Member")},
			wantErr: `SharePoint site ` + siteURL + ` has no role "Contoso Member"; did you mean "Contoso Members"?`, errorPos: pos},
		{name: "site not in the catalog", roles: []model.RoleScope{site("https://contoso.sharepoint.com/sites/HR", "HR Members")},
			wantErr: `SharePoint site https://contoso.sharepoint.com/sites/HR is not a resource of catalog "Marketing"`, errorPos: model.Pos{File: "spec.yaml", Line: 12, Col: 10}},
		{name: "live site the spec drops from the catalog", roles: []model.RoleScope{member, site(siteURL, "Contoso Members")},
			catalog: &model.Catalog{DisplayName: "Marketing", Sites: &[]model.Ref{}},
			wantErr: `SharePoint site ` + siteURL + ` is not a resource of catalog "Marketing"`},
		{name: "site the plan adds to the catalog", roles: []model.RoleScope{member, site("https://contoso.sharepoint.com/sites/HR", "HR Members")},
			catalog: &model.Catalog{DisplayName: "Marketing", Sites: &[]model.Ref{{Kind: model.SiteKind, Value: siteURL}, {Kind: model.SiteKind, Value: "https://contoso.sharepoint.com/sites/HR"}}},
			want:    []string{"+ HR Members of SharePoint site https://contoso.sharepoint.com/sites/HR (the site is added to the catalog first; the role is found by name then)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roles := tc.roles
			desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Roles: &roles}}}
			if tc.catalog != nil {
				desired.Catalogs = []*model.Catalog{tc.catalog}
			}
			model.Normalize(desired)
			p := Compute(desired, siteObserved(tc.granted), Options{})
			if tc.wantErr != "" {
				if !p.Errored {
					t.Fatalf("no error; changes %v", summary(p))
				}
				var found bool
				for _, d := range p.Diagnostics {
					if d.Severity == model.Error && d.Summary == tc.wantErr {
						found = true
						if !tc.errorPos.IsZero() && d.Pos != tc.errorPos {
							t.Errorf("error at %v, want %v", d.Pos, tc.errorPos)
						}
					}
				}
				if !found {
					t.Fatalf("diagnostics %v, want %q", p.Diagnostics, tc.wantErr)
				}
				return
			}
			if p.Errored {
				t.Fatalf("errored: %v", p.Diagnostics)
			}
			var ch *Change
			for i := range p.Changes {
				if p.Changes[i].Kind == KindPackageRoles {
					ch = &p.Changes[i]
				}
			}
			if len(tc.want) == 0 {
				if ch != nil {
					t.Fatalf("unexpected roles change %+v", ch.Roles)
				}
				return
			}
			if ch == nil {
				t.Fatalf("no roles change; changes %v", summary(p))
			}
			var text bytes.Buffer
			if err := RenderText(&text, p, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(text.String(), "\n") {
				if l = strings.TrimSpace(l); strings.Contains(l, " of SharePoint site") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("rendered\n%s\nwant\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), text.String())
			}
		})
	}
}

// A site role added: the change carries the role's originId for the
// applier and depends on the catalog's resources.
func TestPackageSiteRoleChange(t *testing.T) {
	roles := []model.RoleScope{{Group: model.Ref{Kind: model.GroupKind, Value: "Res"}, Role: "Member"},
		{Group: model.Ref{Kind: model.SiteKind, Value: siteURL}, Role: "Contoso Members"}}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Roles: &roles}}}
	model.Normalize(desired)
	p := Compute(desired, siteObserved(true), Options{})
	var ch *Change
	for i := range p.Changes {
		if p.Changes[i].Kind == KindPackageRoles {
			ch = &p.Changes[i]
		}
	}
	if ch == nil || len(ch.Roles.Add) != 1 || len(ch.Roles.Remove) != 1 {
		t.Fatalf("changes %v %v", summary(p), p.Diagnostics)
	}
	add, rm := ch.Roles.Add[0], ch.Roles.Remove[0]
	if add.Group.Kind != model.SiteKind || add.Group.ID != siteURL || add.RoleID != "4" || add.Role != "Contoso Members" {
		t.Errorf("add = %+v", add)
	}
	if rm.ID != "rrs-site" || rm.RoleID != "5" || rm.Role != "Contoso Visitors" {
		t.Errorf("remove = %+v", rm)
	}
	// Round trip through the plan document.
	b, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range back.Changes {
		if c.Kind == KindPackageRoles && c.Roles.Add[0].RoleID != "4" {
			t.Errorf("decoded add = %+v", c.Roles.Add[0])
		}
	}
}
