package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The CI recipes in examples/ci parse as YAML, and every entrasync command
// they run exists with the flags they pass.
func TestCIRecipes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "ci", "*.yml"))
	if len(files) < 2 {
		t.Fatalf("recipes: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// A pinned release, and the reviewed plan applied by its digest.
			if strings.Contains(string(b), "@latest") {
				t.Errorf("installs @latest: pin a version")
			}
			if !strings.Contains(string(b), "--plan-sha256") {
				t.Errorf("never applies a reviewed plan with --plan-sha256")
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			n := 0
			walkStrings(&doc, func(s string) {
				for _, line := range strings.Split(s, "\n") {
					args := commandArgs(line)
					if args == nil {
						continue
					}
					n++
					if err := checkCommand(args); err != nil {
						t.Error(err)
					}
				}
			})
			if n < 3 {
				t.Errorf("only %d entrasync commands found", n)
			}
		})
	}
}

func walkStrings(n *yaml.Node, fn func(string)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		fn(n.Value)
	}
	for _, c := range n.Content {
		walkStrings(c, fn)
	}
}

// commandArgs returns the arguments of an entrasync command on a shell line
// (up to a pipe, redirection or &&), or nil.
func commandArgs(line string) []string {
	fields := strings.Fields(line)
	for i, f := range fields {
		if f != "entrasync" {
			continue
		}
		var args []string
		for _, a := range fields[i+1:] {
			if a == "|" || a == ">" || a == "&&" || a == ";" || strings.HasPrefix(a, "2>") {
				break
			}
			args = append(args, strings.Trim(a, `"'`))
		}
		return args
	}
	return nil
}

func checkCommand(args []string) error {
	a := &app{}
	root := a.rootCmd()
	cmd, rest, err := root.Find(terraformFlags(args))
	if err != nil || cmd == root {
		return fmt.Errorf("entrasync %s: no such command (%v)", strings.Join(args, " "), err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("entrasync %s: %v", strings.Join(args, " "), err)
	}
	return nil
}

func TestCheckCommandCatchesMistakes(t *testing.T) {
	for _, bad := range [][]string{{"plan", "--detailed-exit-code"}, {"aply", "-f", "x"}, {"drift", "--corect"}} {
		if checkCommand(bad) == nil {
			t.Errorf("entrasync %v passed the check", bad)
		}
	}
	if err := checkCommand([]string{"apply", "plan.json", "--plan-sha256", "ab", "-f", "x"}); err != nil {
		t.Error(err)
	}
}
