package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/planner"
)

var update = flag.Bool("update", false, "rewrite golden files")

// A spec that removes 40% of a 50-member authoritative group is stopped
// before any write, and the message names the set, the share and the
// setting to change.
func TestRemovalLimitStopsBeforeAnyWrite(t *testing.T) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var members, keep []string
	for i := range 50 {
		upn := fmt.Sprintf("user%02d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
		members = append(members, upn)
		if i < 30 {
			keep = append(keep, upn)
		}
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Team", MailNickname: "team", Members: members}}
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(fmt.Sprintf(
		"tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Team\n    description: changed too\n    members:\n      mode: authoritative\n      users: [%s]\n",
		strings.Join(keep, ", "))), 0o644)

	sim.ResetLog()
	r := entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := `group["Team"].members: 20 removals (40%) exceed the limit of 30% (maxPercent of settings.limits.removalsPerSet, for sets of at least 10) from a set of 50`
	if !strings.Contains(r.stderr, "stopped by safety limits before any write") || !strings.Contains(r.stderr, want) ||
		!strings.Contains(r.stderr, "To allow it, raise settings.limits.removalsPerSet in the spec.") {
		t.Errorf("message:\n%s", r.stderr)
	}
	if n := writes(sim.Log()); n != 0 {
		t.Errorf("%d writes before the limit stopped the run", n)
	}
	// Raising the limit for this set lets it through.
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(fmt.Sprintf(
		"tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Team\n    members:\n      mode: authoritative\n      limits: {maxPercent: 50}\n      users: [%s]\n",
		strings.Join(keep, ", "))), 0o644)
	// A raised limit is a weakened safeguard (ES401): the run is refused
	// until it is approved, and the message says which rule and why.
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stderr, `group["Team"].members limits: raises maxPercent from 30 to 50`) || writes(sim.Log()) != 0 {
		t.Fatalf("with limits: {maxPercent: 50}, unapproved: exit %d, %d writes\n%s%s", r.code, writes(sim.Log()), r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES401"); r.code != 0 {
		t.Fatalf("with limits: {maxPercent: 50}: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The JSON and Markdown renderings of the example plan are golden: the CLI
// plans the quickstart against the demo tenant; the clock and version are
// fixed before comparing.
func TestExamplePlanRenderings(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	r := entrasync(t, url, "plan", "-f", filepath.Join("..", "..", "examples", "quickstart"), "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	p, err := planner.Decode([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	p.CreatedAt = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	p.ToolVersion = "test"
	js, err := planner.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	var md, text, approvedMD, approvedText bytes.Buffer
	if err := planner.RenderMarkdown(&md, p, planner.MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := planner.RenderText(&text, p, planner.TextOptions{OmitDiagnostics: true}); err != nil {
		t.Fatal(err)
	}
	// apply --approve ES101: the deletion shows as approved, the conversion
	// still waits, and so does the change that depends on it.
	approved := []planner.RiskCode{planner.RiskDelete}
	if err := planner.RenderMarkdown(&approvedMD, p, planner.MarkdownOptions{Approved: approved}); err != nil {
		t.Fatal(err)
	}
	if err := planner.RenderText(&approvedText, p, planner.TextOptions{OmitDiagnostics: true, Approved: approved}); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"quickstart.plan.json": js, "quickstart.plan.md": md.Bytes(), "quickstart.plan.txt": text.Bytes(),
		"quickstart.approved-es101.md": approvedMD.Bytes(), "quickstart.approved-es101.txt": approvedText.Bytes()} {
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test ./cmd/entrasync -run TestExamplePlanRenderings -update)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s differs (-want +got):\n%s", golden, diff)
		}
	}
}
