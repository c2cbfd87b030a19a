package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

// exportRoundTrip exports the tenant at url into a new directory and
// checks that the result validates and plans to no changes against the
// same tenant; it returns the directory.
func exportRoundTrip(t *testing.T, url string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "exported")
	r := entrasync(t, url, append([]string{"export", "-o", out}, args...)...)
	if r.code != 0 {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "validate", "-f", out); r.code != 0 {
		t.Fatalf("validate the export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", out, "--detailed-exitcode"); r.code != 0 {
		b, _ := os.ReadFile(filepath.Join(out, "groups.yaml"))
		t.Fatalf("plan the export: exit %d, want 0 (no changes)\n%s%s\ngroups.yaml:\n%s", r.code, r.stdout, r.stderr, b)
	}
	return out
}

// Issue 11, round trip: every example applied to the demo tenant, exported,
// plans to no changes — with additive sets, and with authoritative ones
// and every set in a CSV file, which must then hold exactly the members.
func TestExportOfEachExamplePlansNoChanges(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, url := startSim(t, graphsim.DemoFixture())
			if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", approveAll()); r.code != 0 {
				t.Fatalf("apply the example: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			exportRoundTrip(t, url)
			out := exportRoundTrip(t, url, "--authoritative", "--csv-threshold", "1")
			if csvs, _ := filepath.Glob(filepath.Join(out, "members", "*.csv")); len(csvs) == 0 {
				t.Errorf("--csv-threshold 1 wrote no CSV file")
			}
		})
	}
}

// Issue 11, reverse round trip: a tenant entrasync never wrote, as the
// portal leaves it — a synced group, a dynamic one, guests as members, a
// nested group, owners, and two groups sharing a name — exports to a spec
// that plans to no changes. The two namesakes are not guessed between:
// left out, and named in EXPORT-NOTES.md and on stderr.
func TestExportOfAPortalTenant(t *testing.T) {
	fx := graphsim.DemoFixture()
	leads := ""
	for _, g := range fx.Groups {
		if g.DisplayName == "Marketing leads" {
			leads = g.ID
		}
	}
	fx.Groups = append(fx.Groups,
		graphsim.Group{DisplayName: "Twins", MailNickname: "twins1", Members: []string{"alice@contoso.com"}},
		graphsim.Group{DisplayName: "Twins", MailNickname: "twins2", Members: []string{"bob@contoso.com"}},
		graphsim.Group{DisplayName: "Parents", MailNickname: "parents", Description: "Holds a group", Members: []string{"carol@contoso.com", leads},
			Owners: []string{"alice@contoso.com"}})
	_, url := startSim(t, fx)
	out := exportRoundTrip(t, url)
	b, err := os.ReadFile(filepath.Join(out, "groups.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, want := range []string{
		"displayName: Sec group 1 # synced from on-premises AD",
		"membershipRule: (user.department -eq \"Sales\")",
		"groups: [Marketing leads]",
		"owners:\n      users: [alice@contoso.com]",
		"Member and owner sets are additive",
		"yaml-language-server: $schema=tenant.schema.json",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("groups.yaml lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "Twins") {
		t.Errorf("a group of a shared name is exported:\n%s", y)
	}
	notes, err := os.ReadFile(filepath.Join(out, "EXPORT-NOTES.md"))
	if err != nil || !strings.Contains(string(notes), `2 groups are named "Twins"`) {
		t.Errorf("EXPORT-NOTES.md does not name the twins (%v):\n%s", err, notes)
	}
	if strings.Contains(y, "  mode: authoritative") {
		t.Errorf("sets are authoritative without --authoritative:\n%s", y)
	}
	if _, err := os.Stat(filepath.Join(out, "tenant.schema.json")); err != nil {
		t.Errorf("no schema beside the spec: %v", err)
	}
}

// Issue 11, the script's edit: export, change one field, and the plan
// shows that one change.
func TestExportThenOneEditIsOneChange(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	out := exportRoundTrip(t, url)
	path := filepath.Join(out, "groups.yaml")
	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), "description: Finance department", "description: Finance and controlling", 1)
	if edited == string(b) {
		t.Fatalf("the export has no Finance description:\n%s", b)
	}
	os.WriteFile(path, []byte(edited), 0o644)
	r := entrasync(t, url, "plan", "-f", out, "--detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, `~ description = "Finance department" -> "Finance and controlling"`) ||
		!strings.Contains(r.stdout, "Plan: 0 to create, 1 to update, 0 to delete.") {
		t.Fatalf("plan after one edit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Issue 11, bad input: an unknown kind, a kind not exported yet, a
// non-empty output directory (refused, nothing written), a filter that
// matches nothing (a warning, an empty spec, exit 0), and a Graph failure
// midway (nothing left in the output directory).
func TestExportRefusesBadInputAndLeavesNothingPartial(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kinds", "grups"}, `--kinds: unknown kind "grups"; export writes groups`},
		{[]string{"--kinds", "permissions"}, "export does not write permissions yet"},
		{nil, "export needs -o DIR"},
	} {
		args := append([]string{"export"}, tc.args...)
		if tc.args != nil {
			args = append(args, "-o", out)
		}
		if r := entrasync(t, url, args...); r.code != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("export %v: exit %d, want 1 and %q\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "mine.yaml"), []byte("keep me"), 0o644)
	if r := entrasync(t, url, "export", "-o", out); r.code != exitError || !strings.Contains(r.stderr, "is not empty") {
		t.Errorf("export into a non-empty directory: exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "mine.yaml")); string(b) != "keep me" {
		t.Errorf("the refused export touched the directory: %q", b)
	}

	empty := filepath.Join(dir, "empty")
	r := entrasync(t, url, "export", "-o", empty, "--name", "No such group *")
	if r.code != 0 || !strings.Contains(r.stderr, "Warning: nothing matches --name No such group *") {
		t.Errorf("a filter matching nothing: exit %d\n%s", r.code, r.stderr)
	}
	if r := entrasync(t, url, "validate", "-f", empty); r.code != 0 {
		t.Errorf("the empty export does not validate: exit %d\n%s", r.code, r.stderr)
	}

	failed := filepath.Join(dir, "failed")
	sim.FailNext("GET", "/groups/*/members", 403, 1000)
	if r := entrasync(t, url, "export", "-o", failed); r.code != exitError || !strings.Contains(r.stderr, "nothing was written to "+failed) {
		t.Errorf("export with Graph failing: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s behind (%v)", failed, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".entrasync-export-*")); len(leftovers) > 0 {
		t.Errorf("a failed export left its temporary directory: %v", leftovers)
	}
}
