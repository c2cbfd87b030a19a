package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

// SharePoint sites are package roles, named by the site's URL and the
// role's display name: the demo catalog Marketing holds the site Contoso
// with its groups as roles; a second site is added to the catalog and its
// role granted in the same apply. A misspelt role is a plan error at the
// role's position, and nothing is written.
func TestEMSharePointSiteRoles(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	spec := func(role string) {
		os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
catalogs:
  - displayName: Marketing
    resources:
      groups: [Marketing leads]
      sharePointSites: ["https://contoso.sharepoint.com/sites/Contoso", "https://contoso.sharepoint.com/sites/Payroll"]
accessPackages:
  - displayName: Intranet
    catalog: Marketing
    roles:
      - {group: Marketing leads}
      - {sharePointSite: "https://contoso.sharepoint.com/sites/Contoso", role: `+role+`}
      - {sharePointSite: "https://contoso.sharepoint.com/sites/Payroll/", role: Payroll Visitors}
`), 0o644)
	}

	spec("Contoso Membres")
	sim.ResetLog()
	r := entrasync(t, url, "plan", "-f", dir)
	// The position is the role's value: line 12, column 80.
	want := `spec.yaml:12:80: error: access_package["Marketing"/"Intranet"]: SharePoint site https://contoso.sharepoint.com/sites/Contoso has no role "Contoso Membres"; did you mean "Contoso Members"?`
	if r.code != exitError || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "Contoso Owners, Contoso Members, Contoso Visitors") {
		t.Fatalf("misspelt role: exit %d, want %q\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitError || !strings.Contains(r.stderr, want) || writes(sim.Log()) != 0 {
		t.Fatalf("apply with a misspelt role: exit %d, %d writes\n%s", r.code, writes(sim.Log()), r.stderr)
	}

	spec("Contoso Members")
	r = entrasync(t, url, "plan", "-f", dir)
	for _, line := range []string{
		"+ SharePoint site https://contoso.sharepoint.com/sites/Payroll",
		"+ Contoso Members of SharePoint site https://contoso.sharepoint.com/sites/Contoso",
		"+ Payroll Visitors of SharePoint site https://contoso.sharepoint.com/sites/Payroll (the site is added to the catalog first; the role is found by name then)",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, line) {
			t.Fatalf("plan: exit %d, want %q\n%s%s", r.code, line, r.stdout, r.stderr)
		}
	}
	t.Logf("plan:\n%s", r.stdout)
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The role scopes as Graph shows them: SharePointOnline roles by the
	// site group's number, scoped to the site URL.
	var posts []string
	for _, e := range sim.Log() {
		if e.Method == "POST" && strings.HasSuffix(e.Path, "/resourceRoleScopes") && e.Status == 201 {
			posts = append(posts, e.Path)
		}
	}
	if len(posts) != 3 {
		t.Errorf("%d role scopes created, want 3 (group, two sites)", len(posts))
	}
	r = entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Another role of the site: one granted, the old one revoked.
	spec("Contoso Visitors")
	r = entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, "+ Contoso Visitors of SharePoint site https://contoso.sharepoint.com/sites/Contoso") ||
		!strings.Contains(r.stdout, "- Contoso Members of SharePoint site https://contoso.sharepoint.com/sites/Contoso") {
		t.Fatalf("role swap: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply swap: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after swap: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
