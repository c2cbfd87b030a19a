package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

func ptr[T any](v T) *T { return &v }

func TestLoadDirectory(t *testing.T) {
	s, ds := Load("testdata/valid")
	if s == nil {
		t.Fatalf("Load failed:\n%s", ds.Error())
	}
	gf := filepath.Join("testdata", "valid", "groups", "marketing.yaml")
	csvf := filepath.Join("testdata", "valid", "members", "marketing.csv")
	at := func(f string, line, col int) model.Pos { return model.Pos{File: f, Line: int32(line), Col: int32(col)} }
	wantDiags := model.Diagnostics{{Severity: model.Warning, Pos: at(csvf, 6, 1),
		Summary: `duplicate value "Bob@Contoso.com" in csv column "Email" (first on line 2)`}}
	if diff := cmp.Diff(wantDiags, ds); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	want := &model.Tenant{
		Domain: "contoso.onmicrosoft.com",
		Groups: []*model.Group{
			{DisplayName: "Marketing leads", Members: &model.MemberSet{Mode: model.Additive, Members: []model.Ref{}}, Pos: at(gf, 12, 5)},
			{
				DisplayName:  "Marketing resources",
				Description:  ptr("Members get the campaign tools"),
				MailNickname: ptr("markres"),
				Members: &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{
					{Kind: model.GroupKind, Value: "Marketing leads", Pos: at(gf, 9, 16)},
					{Kind: model.User, Value: "6c42590f-fcf0-4922-bac6-205f7c6aa89c", Pos: at(gf, 8, 34)},
					{Kind: model.User, Value: "alice@contoso.com", Pos: at(gf, 8, 15)},
					{Kind: model.User, Value: "bob@contoso.com", Pos: at(csvf, 2, 1)},
					{Kind: model.User, Value: "carol@contoso.com", Pos: at(csvf, 5, 1)},
				}},
				Pos: at(gf, 3, 5),
			},
			{DisplayName: "Old project", Absent: true, Pos: at(gf, 23, 5)},
			{DisplayName: "Pinned", ID: "0b2f3c4d-1111-2222-3333-444455556666", Pos: at(gf, 25, 5)},
			{DisplayName: "Sales dynamic", MembershipRule: ptr(`(user.department -eq "Sales")`), MembershipRuleProcessingState: ptr("Paused"), Pos: at(gf, 20, 5)},
			{DisplayName: "Sec group 1", CloudManaged: ptr(true), Pos: at(gf, 16, 5)},
		},
	}
	if diff := cmp.Diff(want, s.Tenant, cmp.Comparer(func(a, b model.Pos) bool { return a == b })); diff != "" {
		t.Errorf("tenant (-want +got):\n%s", diff)
	}
	if s.Root != "testdata/valid" {
		t.Errorf("Root = %q", s.Root)
	}
	wantFiles := []string{"groups/marketing.yaml", "members/marketing.csv", "tenant.yaml"}
	if diff := cmp.Diff(wantFiles, s.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(s.Digest, "sha256:") || len(s.Digest) != len("sha256:")+64 {
		t.Errorf("Digest = %q", s.Digest)
	}
	// Normalize is idempotent on what Load returns.
	again := *s.Tenant
	model.Normalize(&again)
	if diff := cmp.Diff(s.Tenant, &again); diff != "" {
		t.Errorf("Load's tenant is not normalised:\n%s", diff)
	}
}

func TestLoadSingleFileAndDigest(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "spec.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members: {csv: {path: a.csv, column: Email}}\n")
	write(t, dir, "a.csv", "Email\nalice@contoso.com\n")
	write(t, dir, "unrelated.yaml", "groups: [{displayName: B}]\n") // beside it, without settings: not read
	s, ds := Load(filepath.Join(dir, "spec.yaml"))
	if s == nil {
		t.Fatalf("Load failed:\n%s", ds.Error())
	}
	if s.Root != dir {
		t.Errorf("Root = %q, want %q", s.Root, dir)
	}
	if diff := cmp.Diff([]string{"a.csv", "spec.yaml"}, s.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if got := s.Tenant.Groups[0].Members.Members[0].Pos.File; got != filepath.Join(dir, "a.csv") {
		t.Errorf("csv position file = %q", got)
	}
	d1 := s.Digest
	s2, _ := Load(filepath.Join(dir, "spec.yaml"))
	if s2.Digest != d1 {
		t.Errorf("digest not stable: %s vs %s", d1, s2.Digest)
	}
	write(t, dir, "a.csv", "Email\nalice@contoso.com\nbob@contoso.com\n")
	s3, _ := Load(filepath.Join(dir, "spec.yaml"))
	if s3.Digest == d1 {
		t.Errorf("digest did not change when a CSV file changed")
	}
}

// Issue 9, hole 2: -f FILE keeps the settings: of the spec files beside and
// below it (only those: their objects are not planned), they count in the
// digest, and one that does not parse stops the load.
func TestLoadSingleFileKeepsSiblingSettings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "groups.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n")
	write(t, dir, "policy/settings.yaml", "tenant: contoso.onmicrosoft.com\nsettings:\n  protected: [heidi@contoso.com]\n  requireApproval: [ES101, ES102]\ngroups:\n  - displayName: Not planned\n")
	s, ds := Load(filepath.Join(dir, "groups.yaml"))
	if s == nil {
		t.Fatalf("Load failed:\n%s", ds.Error())
	}
	if got := s.Tenant.Settings.Protected; len(got) != 1 || got[0].Value != "heidi@contoso.com" {
		t.Errorf("protected principals = %+v, want heidi from policy/settings.yaml", got)
	}
	if len(s.Tenant.Groups) != 1 || s.Tenant.Groups[0].DisplayName != "A" {
		t.Errorf("groups = %+v: only the named file's objects are planned", s.Tenant.Groups)
	}
	if diff := cmp.Diff([]string{"groups.yaml", "policy/settings.yaml"}, s.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(ds, func(d model.Diagnostic) bool {
		return d.Severity == model.Warning && strings.Contains(d.Summary, "settings: here apply to -f")
	}) {
		t.Errorf("no warning says whose settings apply:\n%s", ds.Error())
	}
	d1 := s.Digest
	write(t, dir, "policy/settings.yaml", "settings:\n  requireApproval: []\n")
	if s2, _ := Load(filepath.Join(dir, "groups.yaml")); s2 == nil || s2.Digest == d1 {
		t.Errorf("digest did not change when the settings beside the file changed")
	}
	write(t, dir, "broken.yaml", "settings: [\n")
	if s3, ds := Load(filepath.Join(dir, "groups.yaml")); s3 != nil || !strings.Contains(ds.Error(), "broken.yaml:") {
		t.Errorf("a broken file beside the named one did not stop the load:\n%s", ds.Error())
	}
}

func TestLoadRefusesSymlinkOutsideRoot(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "secret.csv", "Email\nmallory@contoso.com\n")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(dir, "team.csv")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	write(t, dir, "spec.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members:\n      csv:\n        path: team.csv\n        column: Email\n")
	s, ds := Load(dir)
	if s != nil || len(ds) != 1 {
		t.Fatalf("want one error, got:\n%s", ds.Error())
	}
	d := ds[0]
	if d.Pos.Line != 6 || d.Pos.Col != 9 || !strings.Contains(d.Summary, "outside the spec directory") {
		t.Errorf("got %s", d)
	}
	// A symlink that stays inside the root is fine.
	if err := os.Remove(filepath.Join(dir, "team.csv")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "real.csv", "Email\nalice@contoso.com\n")
	if err := os.Symlink("real.csv", filepath.Join(dir, "team.csv")); err != nil {
		t.Fatal(err)
	}
	if s, ds := Load(dir); s == nil {
		t.Errorf("symlink inside the root refused:\n%s", ds.Error())
	}
}

func TestLoadPathProblems(t *testing.T) {
	for _, tc := range []struct{ name, path, want string }{
		{"missing", "testdata/nope", "error: spec testdata/nope does not exist"},
		{"empty dir", t.TempDir(), "error: no spec files (*.yaml, *.yml) in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ds := Load(tc.path)
			if s != nil || !strings.Contains(ds.Error(), tc.want) {
				t.Errorf("Load(%s) = %v,\n%s\nwant %q", tc.path, s, ds.Error(), tc.want)
			}
		})
	}
}

func TestLoadEmptyFilesNeedTenant(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "# nothing yet\n")
	write(t, dir, "b.yaml", "")
	_, ds := Load(dir)
	if got := ds.Error(); !strings.Contains(got, "no file of the spec sets tenant:") {
		t.Errorf("got %s", got)
	}
	write(t, dir, "c.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n")
	if s, ds := Load(dir); s == nil || len(ds) != 0 || len(s.Tenant.Groups) != 0 {
		t.Errorf("got %v\n%s", s, ds.Error())
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// -f on a file in a subdirectory of the spec keeps the settings of the
// spec's own root (the parent holds spec files), up to a repository root.
func TestLoadSingleFileKeepsParentSettings(t *testing.T) {
	base := t.TempDir()
	write(t, base, "ci.yaml", "tenant: unrelated.onmicrosoft.com\nsettings: {requireApproval: []}\n") // above the repository: never read
	repo := filepath.Join(base, "repo")
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	write(t, repo, "root.yaml", "tenant: contoso.onmicrosoft.com\n")
	dir := filepath.Join(repo, "tenant")
	write(t, dir, "tenant.yaml", "tenant: contoso.onmicrosoft.com\n")
	write(t, dir, "settings.yaml", "settings:\n  protected: [heidi@contoso.com]\n")
	write(t, dir, "teams/finance.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Finance\n")
	s, ds := Load(filepath.Join(dir, "teams", "finance.yaml"))
	if s == nil {
		t.Fatalf("Load failed:\n%s", ds.Error())
	}
	if got := s.Tenant.Settings.Protected; len(got) != 1 || got[0].Value != "heidi@contoso.com" {
		t.Errorf("protected = %+v, want heidi from tenant/settings.yaml", got)
	}
	if !slices.Contains(s.Files, "../settings.yaml") || slices.Contains(s.Files, "../../../ci.yaml") {
		t.Errorf("Files = %v: want the spec root's settings, not the repository root's", s.Files)
	}
}

// A package that delivers into a group whose members the spec lists
// authoritatively is warned of at the role that names the group, once per
// such role; an additive group is not.
func TestDeliveryIntoAnAuthoritativeGroupIsWarned(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "spec.yaml", `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Listed
    members: {mode: authoritative, users: [alice@contoso.com]}
  - displayName: Open
    members: {mode: additive, users: [alice@contoso.com]}
catalogs:
  - displayName: C
    resources: {groups: [Listed, Open]}
accessPackages:
  - displayName: P
    catalog: C
    roles: [{group: Listed}, {group: Open}, {group: Listed, role: Owner}]
`)
	s, ds := Load(dir)
	if s == nil {
		t.Fatalf("Load failed:\n%s", ds.Error())
	}
	var got []string
	for _, d := range ds {
		if d.Severity == model.Warning && strings.Contains(d.Summary, "delivers members") {
			got = append(got, fmt.Sprintf("%d:%d %s", d.Pos.Line, d.Pos.Col, d.Summary))
		}
	}
	want := []string{`13:21 access package "P" delivers members into group "Listed", whose members this spec lists authoritatively`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
