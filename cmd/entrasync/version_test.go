package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/planner"
)

// A release build stamps version, commit and date with -ldflags -X; the
// version command prints them with Go and the platform, and a saved plan
// records the same version.
func TestVersionStampsReachThePlan(t *testing.T) {
	defer func(v, c, d string) { buildVersion, buildCommit, buildDate = v, c, d }(buildVersion, buildCommit, buildDate)
	buildVersion, buildCommit, buildDate = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z"

	_, url := startSim(t, graphsim.DemoFixture())
	r := entrasync(t, url, "version")
	for _, want := range []string{"entrasync v1.2.3\n", "commit:   0123456789abcdef0123456789abcdef01234567", "built:    2026-12-01T10:00:00Z",
		"go:       " + runtime.Version(), "platform: " + runtime.GOOS + "/" + runtime.GOARCH, "plan format: " + planner.FormatVersion} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = entrasync(t, url, "plan", "-f", filepath.Join("..", "..", "examples", "quickstart"), "--format", "json")
	p, err := planner.Decode([]byte(r.stdout))
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", r.code, err, r.stderr)
	}
	if p.ToolVersion != "v1.2.3" {
		t.Errorf("plan toolVersion %q, want v1.2.3", p.ToolVersion)
	}
}

// Without stamps, a build from a checkout names its commit rather than a
// bare "dev", so a saved plan says which code made it.
func TestUnstampedVersionNamesTheCommit(t *testing.T) {
	defer func(v, c string) { buildVersion, buildCommit = v, c }(buildVersion, buildCommit)
	buildVersion, buildCommit = "", "fedcba9876543210fedcba9876543210fedcba98+dirty"
	if got := version(); got != "dev-fedcba987654+dirty" {
		t.Errorf("version() = %q", got)
	}
	buildCommit = ""
	if got := version(); !strings.HasPrefix(got, "dev") && !strings.HasPrefix(got, "v") {
		t.Errorf("version() = %q", got)
	}
}
