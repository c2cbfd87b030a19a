package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// complete runs cobra's hidden __complete command, as the shell scripts of
// `entrasync completion` do, and returns the candidates (without their
// descriptions) and the directive.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := cli(append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		out = append(out, v)
	}
	return out, lines[len(lines)-1] // ":<directive>"
}

func TestCompletions(t *testing.T) {
	setEnv(t, nil)
	var codes []string
	for _, r := range planner.Risks {
		codes = append(codes, string(r.Code))
	}
	var kinds []string
	for _, k := range graph.AuthKinds {
		kinds = append(kinds, string(k))
	}
	noFiles := ":4" // cobra.ShellCompDirectiveNoFileComp
	fileExt := ":8" // cobra.ShellCompDirectiveFilterFileExt
	for _, tc := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{"apply", "--approve", ""}, codes, noFiles},
		{[]string{"drift", "--approve", "ES"}, codes, noFiles},
		// A list: the next code after the ones typed, without them.
		{[]string{"apply", "--approve", "ES101,ES2"}, prefixed("ES101,", without(codes, "ES101")), noFiles},
		{[]string{"plan", "--format", ""}, []string{"text", "markdown", "json"}, noFiles},
		{[]string{"apply", "--format", ""}, []string{"text", "markdown", "json"}, noFiles},
		{[]string{"show", "--format", ""}, []string{"text", "markdown", "json"}, noFiles},
		{[]string{"drift", "--format", ""}, []string{"text", "markdown", "json"}, noFiles},
		// Only what each command accepts.
		{[]string{"validate", "--format", ""}, []string{"text", "json"}, noFiles},
		{[]string{"permissions", "--format", ""}, []string{"text", "json"}, noFiles},
		{[]string{"plan", "--auth", ""}, kinds, noFiles},
		{[]string{"--auth", ""}, kinds, noFiles},
		{[]string{"permissions", "--check", "--auth", "s"}, kinds, noFiles},
		// A spec: directories and YAML files.
		{[]string{"plan", "-f", ""}, []string{"yaml", "yml"}, fileExt},
		{[]string{"validate", "--file", "exa"}, []string{"yaml", "yml"}, fileExt},
		{[]string{"sim", "serve", "-f", ""}, []string{"yaml", "yml"}, fileExt},
	} {
		got, directive := complete(t, tc.args...)
		if !slices.Equal(got, tc.want) || directive != tc.directive {
			t.Errorf("__complete %q: %v %s, want %v %s", tc.args, got, directive, tc.want, tc.directive)
		}
	}
	// Risk codes come with their titles for the shells that show them.
	r := cli("__complete", "apply", "--approve", "")
	if !strings.Contains(r.stdout, "ES101\tdelete\n") {
		t.Errorf("no description:\n%s", r.stdout)
	}
}

// Every --format flag's help names the formats its command accepts, since
// completion offers those; and every flag the completion knows has one.
func TestCompletionsCoverEveryFlag(t *testing.T) {
	a := &app{}
	root := a.rootCmd()
	seen := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			switch f.Name {
			case "format", "approve", "auth", "file":
				seen[f.Name] = true
				if _, ok := cmd.GetFlagCompletionFunc(f.Name); !ok {
					t.Errorf("%s --%s: no completion", cmd.CommandPath(), f.Name)
				}
			}
			if f.Name != "format" {
				return
			}
			for _, v := range formatChoices(f) {
				if !strings.Contains(f.Usage, v) {
					t.Errorf("%s --format: completes %q, which its help %q does not name", cmd.CommandPath(), v, f.Usage)
				}
			}
		})
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
	if len(seen) != 4 {
		t.Errorf("flags found: %v", seen)
	}
	// A second tree (each run builds one) registers its own flags afresh.
	if _, ok := (&app{}).rootCmd().GetFlagCompletionFunc("auth"); !ok {
		t.Error("second root: no --auth completion")
	}
}

func prefixed(p string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = p + v
	}
	return out
}

func without(vs []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(vs), func(v string) bool { return v == drop })
}
