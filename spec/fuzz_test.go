package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

// FuzzLoadYAML feeds one spec file through Load. Beside never panicking, it
// checks the loader's promises: every diagnostic has a place, a Spec comes
// only without errors and is normalised, and the loader itself reports
// everything the JSON Schema finds (no schema-only findings).
func FuzzLoadYAML(f *testing.F) {
	cases, _ := filepath.Glob("testdata/errors/*")
	for _, dir := range append(cases, "testdata/valid/groups", "testdata/valid", "testdata/errors/across_files/teams") {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml") {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"",
		"tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members: {csv: {path: team.csv, column: Email}}\n",
		"tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members: {csv: [{path: team.csv, column: email, delimiter: \";\"}, {path: ../x.csv, column: Email}]}\n",
		"groups: &a [*a]\n",
		"a: &a [*a, *a, *a]\nb: &b [*a, *a]\n",
		"{tenant: x, groups: [{displayName: A, absent: true, members: {}}]}\n",
		"tenant: contoso.onmicrosoft.com\n---\n- x\n---\n~\n",
	} {
		f.Add([]byte(s))
	}
	// One directory per fuzzing process, rewritten for each input: a fresh
	// directory per input costs more than the load.
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "team.csv"), []byte("\uFEFFEmail;Team\r\nalice@contoso.com;A\r\n;;\r\nbob@contoso.com;B\r\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, ds, l := load(dir)
		for _, d := range ds {
			if d.Pos.File == "" {
				t.Errorf("diagnostic without a file: %s", d)
			}
		}
		if l.schemaOnly != 0 {
			t.Errorf("the schema found problems the loader did not:\n%s", ds.Error())
		}
		if s == nil {
			if !ds.HasErrors() && len(data) > 0 {
				t.Errorf("no Spec and no error")
			}
			return
		}
		if ds.HasErrors() {
			t.Errorf("a Spec with errors:\n%s", ds.Error())
		}
		again := cloneTenant(s.Tenant)
		model.Normalize(again)
		if diff := cmp.Diff(s.Tenant, again); diff != "" {
			t.Errorf("tenant not normalised:\n%s", diff)
		}
	})
}

func cloneTenant(t *model.Tenant) *model.Tenant {
	c := *t
	c.Groups = nil
	for _, g := range t.Groups {
		g2 := *g
		if g.Members != nil {
			m := *g.Members
			m.Members = slices.Clone(g.Members.Members)
			g2.Members = &m
		}
		c.Groups = append(c.Groups, &g2)
	}
	return &c
}

// FuzzReadCSV checks ReadCSV's promises on any input: values are non-empty,
// trimmed, unique (case-insensitively) and placed.
func FuzzReadCSV(f *testing.F) {
	seeds := []string{
		"\uFEFFEmail;AccessPackage\r\nalice@contoso.com;Marketing\r\n\r\n;;\r\n  bob@contoso.com ;Marketing\r\n",
		"Email,Name\n\"Doe, Jane\",jane@contoso.com\n\"Smith, \"\"Bo\"\"\",bo@contoso.com\n",
		"Email\nalice@contoso.com",
		"Email;Name\na@contoso.com;A\nc@contoso.com,C\n",
		"Email\nO\"Brien@contoso.com\n",
		"Email\n\"unterminated\n",
		"\xff\xfeE\x00",
		"Email\nj\xf6rg@contoso.com\n",
		"\"Email\nMultiline\"\nx\n",
		"Email,Email\na,b\n",
		"\r\r\n\"\"\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), "Email", byte(i%3))
	}
	entries, _ := os.ReadDir("testdata/errors/csv_problems/members")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata/errors/csv_problems/members", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "Email", byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, column string, d byte) {
		delim := []rune{0, ',', ';'}[int(d)%3]
		vs, ds := ReadCSV(bytes.NewReader(data), "f.csv", CSVOptions{Column: column, Delimiter: delim})
		seen := map[string]bool{}
		for _, v := range vs {
			if v.Value == "" || v.Value != strings.TrimSpace(v.Value) {
				t.Errorf("value %q is empty or untrimmed", v.Value)
			}
			if k := strings.ToLower(v.Value); seen[k] {
				t.Errorf("value %q returned twice", v.Value)
			} else {
				seen[k] = true
			}
			if v.Pos.File != "f.csv" || v.Pos.Line < 1 || v.Pos.Col < 1 {
				t.Errorf("value %q has position %v", v.Value, v.Pos)
			}
		}
		for _, d := range ds {
			if d.Pos.File != "f.csv" {
				t.Errorf("diagnostic without the file: %s", d)
			}
		}
	})
}

// isUserRef and isGUID are the matches of userRefPattern and guidPattern,
// checked byte by byte.
func FuzzUserRefIsThePattern(f *testing.F) {
	userRef, guid := regexp.MustCompile(userRefPattern), regexp.MustCompile(guidPattern)
	for _, s := range []string{"alice@contoso.com", "@x", "x@", "a@b@c", "a b@c", "a\tb@c", "a\vb@c", "é@ü", "\xff@\xfe", "0f8fad5b-d9cb-469f-a165-70867728950e",
		" 0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950g", "", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isUserRef(s), userRef.MatchString(s); got != want {
			t.Fatalf("isUserRef(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := isGUID(s), guid.MatchString(s); got != want {
			t.Fatalf("isGUID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
