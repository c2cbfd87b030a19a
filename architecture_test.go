package entrasync_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md. Bans on entrasync packages hold
// transitively; bans on standard-library packages (os, net/http) hold for
// direct imports, since fmt itself imports os.
var forbidden = map[string][]string{
	"model":    {"spec", "schema", "graph", "graphsim", "planner", "appliers", "cmd/entrasync"},
	"spec":     {"graph", "graphsim", "planner", "appliers", "net/http"},
	"schema":   {"graph", "graphsim", "planner", "appliers"},
	"graph":    {"planner", "appliers", "graphsim", "spec"},
	"graphsim": {"model", "spec", "schema", "graph", "planner", "appliers"},
	"planner":  {"graph", "graphsim", "appliers", "spec", "schema", "os", "net/http"},
	"appliers": {"spec", "schema", "graphsim"},
}

const module = "github.com/entrasync/entrasync/"

func goList(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	set := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		set[d] = true
	}
	return set
}

func TestImportRules(t *testing.T) {
	for pkg, banned := range forbidden {
		deps := goList(t, "-deps", "./"+pkg)
		direct := goList(t, "-f", `{{join .Imports " "}}`, "./"+pkg)
		for _, b := range banned {
			if b == "os" || b == "net/http" {
				if direct[b] {
					t.Errorf("package %s imports %s, which docs/architecture.md forbids", pkg, b)
				}
				continue
			}
			if deps[module+b] {
				t.Errorf("package %s depends on %s, which docs/architecture.md forbids", pkg, b)
			}
		}
	}
}

// Appliers never sleep and the planner never retries: eventual consistency
// is waited out with timers in appliers, retries live in graph's transport.
func TestNoSleepOutsideTheTransport(t *testing.T) {
	out, _ := exec.Command("grep", "-rn", "--include=*.go", "time.Sleep", "appliers", "planner", "model", "spec").Output()
	if len(out) > 0 {
		t.Errorf("time.Sleep found where docs/architecture.md rule 6 forbids it:\n%s", out)
	}
}
