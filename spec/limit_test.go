package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

func writeSpec(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A CSV file whose 5,000 rows are no user references gives the first
// model.MaxPerKind of them with their rows and one summary counting the
// rest; the spec still fails.
func TestCSVRowProblemsAreLimited(t *testing.T) {
	const n = 5000
	var csv strings.Builder
	csv.WriteString("Email;Name\n")
	for i := range n {
		fmt.Fprintf(&csv, "user %d;Name %d\n", i, i)
	}
	dir := writeSpec(t, map[string]string{
		"spec.yaml":       "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members: {csv: {path: members/a.csv, column: Email}}\n",
		"members/a.csv":   csv.String(),
		"members/ok.yaml": "groups:\n  - displayName: B\n    members: {users: [bob@contoso.com]}\n",
	})
	s, ds := Load(dir)
	if s != nil {
		t.Fatal("a spec with errors loaded")
	}
	file := filepath.Join(dir, "members", "a.csv")
	var lines []int
	var summary *model.Diagnostic
	for i, d := range ds {
		switch {
		case d.Pos.File != file:
			t.Errorf("unexpected: %s", d)
		case d.Omitted > 0:
			summary = &ds[i]
		default:
			if !strings.Contains(d.Summary, "is not a user principal name") || d.Pos.Col != 1 {
				t.Errorf("unexpected: %s", d)
			}
			lines = append(lines, int(d.Pos.Line))
		}
	}
	if len(lines) != model.MaxPerKind || lines[0] != 2 || lines[len(lines)-1] != model.MaxPerKind+1 {
		t.Errorf("listed rows %v, want 2…%d", lines, model.MaxPerKind+1)
	}
	if summary == nil || summary.Omitted != n-model.MaxPerKind || summary.Severity != model.Error {
		t.Fatalf("summary %v", summary)
	}
	if want := fmt.Sprintf("%d more invalid user reference errors in this file not shown (%d in all", n-model.MaxPerKind, n); !strings.Contains(summary.Summary, want) {
		t.Errorf("summary says %q, want %q", summary.Summary, want)
	}
	if ds[len(ds)-1].Omitted == 0 {
		t.Errorf("the summary is not after the rows it counts:\n%s", ds.Error())
	}
	if got := ds.Count(model.Error); got != n {
		t.Errorf("Count(Error) = %d, want %d", got, n)
	}
}

// A CSV file named by two groups is read for each (the values are not
// kept between them) and its problems are reported once.
func TestCSVSharedBetweenGroups(t *testing.T) {
	dir := writeSpec(t, map[string]string{
		"spec.yaml": `tenant: contoso.onmicrosoft.com
groups:
  - displayName: A
    members: {users: [Carol@contoso.com], csv: {path: team.csv, column: Email}}
  - displayName: B
    members: {csv: [{path: team.csv, column: email}, {path: team.csv, column: EMAIL}]}
`,
		"team.csv": "Email,Name\nalice@contoso.com,Alice\nbob@contoso.com,Bob\nALICE@contoso.com,Alice again\ncarol@contoso.com,Carol\n",
	})
	s, ds := Load(dir)
	if s == nil {
		t.Fatalf("not loaded:\n%s", ds.Error())
	}
	var got []string
	for _, d := range ds {
		got = append(got, strings.TrimPrefix(d.String(), dir+string(filepath.Separator)))
	}
	want := []string{
		`spec.yaml:6:55: warning: csv file ` + filepath.Join(dir, "team.csv") + ` (column "EMAIL") is listed twice in the members of group "B"; the first is at ` + filepath.Join(dir, "spec.yaml") + `:6:22`,
		`team.csv:4:1: warning: duplicate value "ALICE@contoso.com" in csv column "Email" (first on line 2)`,
		`team.csv:5:1: warning: user "carol@contoso.com" is listed twice in the members of group "A"; the first is at ` + filepath.Join(dir, "spec.yaml") + `:4:23`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	members := func(g *model.Group) (vs []string) {
		for _, r := range g.Members.Members {
			vs = append(vs, r.Value)
		}
		return vs
	}
	if got := fmt.Sprint(members(s.Tenant.Groups[0]), members(s.Tenant.Groups[1])); got != "[alice@contoso.com bob@contoso.com Carol@contoso.com] [alice@contoso.com bob@contoso.com carol@contoso.com]" {
		t.Errorf("members %s", got)
	}
}

// foldSet finds a value again whatever its case, and the line it was first
// on; values that differ are apart.
func TestFoldSetFindsValuesAgain(t *testing.T) {
	s := newFoldSet(0)
	for _, tc := range []struct {
		v         string
		line      int
		wantFirst int
		wantDup   bool
	}{
		{"a@x", 1, 0, false},
		{"b@x", 2, 0, false},
		{"B@X", 3, 2, true},
		{"A@x", 4, 1, true},
		{"ä@x", 5, 0, false},
		{"Ä@X", 6, 5, true},
	} {
		if first, dup := s.add(tc.v, tc.line); first != tc.wantFirst || dup != tc.wantDup {
			t.Errorf("add(%q) = %d, %v; want %d, %v", tc.v, first, dup, tc.wantFirst, tc.wantDup)
		}
	}
}
