package spec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// Issue 9, hole 10: control and invisible characters in names are errors
// at their place; a description may span lines; a display name mixing
// look-alike scripts is a warning.
func TestNamesRefuseHiddenCharacters(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"escape in a name", "groups:\n  - displayName: \"Fin\\e[2Jance\"\n", `displayName: contains the control or invisible character U+001B`},
		{"newline in a name", "groups:\n  - displayName: \"Finance\\n## Approved\"\n", `displayName: contains the control or invisible character U+000A`},
		{"bidi override", "groups:\n  - displayName: \"Fin\u202eecnan\"\n", `displayName: contains the control or invisible character U+202E`},
		{"zero-width in a member", "groups:\n  - displayName: Finance\n    members: {users: [\"al\u200bice@contoso.com\"]}\n", `users[0]: contains the control or invisible character U+200B`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "spec.yaml", "tenant: contoso.onmicrosoft.com\n"+tc.yaml)
			s, ds := Load(filepath.Join(dir, "spec.yaml"))
			if s != nil || !strings.Contains(ds.Error(), tc.want) || !strings.Contains(ds.Error(), "spec.yaml:") {
				t.Errorf("want an error %q at its place, got:\n%s", tc.want, ds.Error())
			}
		})
	}
	dir := t.TempDir()
	write(t, dir, "spec.yaml", "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: \"Fin\u0430nce\"\n    description: |\n      Two lines\n      of description\n")
	s, ds := Load(filepath.Join(dir, "spec.yaml"))
	if s == nil {
		t.Fatalf("a multi-line description or a mixed-script name is an error:\n%s", ds.Error())
	}
	if len(ds) != 1 || ds[0].Severity != model.Warning || !strings.Contains(ds[0].Summary, "mixes Latin and Cyrillic letters") {
		t.Errorf("want one mixed-script warning, got:\n%s", ds.Error())
	}
}
