package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

func TestSharePointSiteRoles(t *testing.T) {
	load := func(roles string) (*Spec, model.Diagnostics) {
		dir := t.TempDir()
		p := filepath.Join(dir, "spec.yaml")
		os.WriteFile(p, []byte("tenant: contoso.onmicrosoft.com\naccessPackages:\n  - displayName: Intranet\n    catalog: Marketing\n    roles:\n"+roles), 0o644)
		return Load(p)
	}
	s, diags := load("      - {sharePointSite: \"https://contoso.sharepoint.com/sites/Contoso/\", role: Contoso Members}\n")
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	r := (*s.Tenant.AccessPackages[0].Roles)[0]
	if r.Group.Kind != model.SiteKind || r.Group.Value != "https://contoso.sharepoint.com/sites/Contoso" || r.Role != "Contoso Members" || r.RolePos.Line != 6 || r.RolePos.Col != 81 {
		t.Fatalf("role = %+v", r)
	}
	for roles, want := range map[string]string{
		"      - {sharePointSite: \"contoso.sharepoint.com/sites/Contoso\", role: Contoso Members}\n":                     "is not a site URL",
		"      - {sharePointSite: \"https://contoso.sharepoint.com/sites/Contoso\"}\n":                                    "needs role: (the site role's display name)",
		"      - {sharePointSite: \"https://contoso.sharepoint.com/sites/Contoso\", group: Res, role: Contoso Members}\n": "exactly one of group:, application: or sharePointSite:",
		"      - {sharepointSite: \"https://contoso.sharepoint.com/sites/Contoso\", role: Contoso Members}\n":             `did you mean "sharePointSite"`,
	} {
		_, diags := load(roles)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: diagnostics %v, want %q", roles, diags, want)
		}
	}
}
