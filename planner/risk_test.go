package planner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every risk code has its documentation page, and the index lists it.
func TestEveryRiskCodeIsDocumented(t *testing.T) {
	index, err := os.ReadFile(filepath.Join("..", "docs", "risks", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Risks {
		page := filepath.Join("..", "docs", "risks", string(r.Code)+".md")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s has no page: %v", r.Code, err)
			continue
		}
		if !strings.HasPrefix(string(b), "# "+string(r.Code)+" ") {
			t.Errorf("%s does not start with its code", page)
		}
		if !strings.Contains(string(index), "["+string(r.Code)+"]") {
			t.Errorf("docs/risks/README.md does not list %s", r.Code)
		}
	}
}

// Issue 9, hole 3: a Microsoft Graph app role added as a package role is a
// privileged grant (ES201); another application's role of the same name is
// not.
func TestPackageRoleOfPrivilegedGraphPermissionIsES201(t *testing.T) {
	for _, tc := range []struct {
		appID, role string
		want        bool
	}{
		{msGraphAppID, "Directory.ReadWrite.All", true},
		{msGraphAppID, "User.Read.All", false},
		{"9a9a9a9a-1111-4222-8333-944444444444", "Directory.ReadWrite.All", false},
	} {
		c := &Change{Kind: KindPackageRoles, Action: Update, Roles: &RoleDiff{Add: []RoleRef{{Role: tc.role, AppID: tc.appID}}}}
		analyze(c)
		if got := slices.Contains(c.Risks, RiskPrivilegedGrant); got != tc.want {
			t.Errorf("%s of %s: ES201 %v, want %v", tc.role, tc.appID, got, tc.want)
		}
	}
}
