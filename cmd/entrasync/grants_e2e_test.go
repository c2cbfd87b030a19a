package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

func writeSpec(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte("tenant: contoso.onmicrosoft.com\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Application permissions by name: granted to an agent identity, converged,
// a misspelt name suggested, a permission blocked for agents refused.
func TestGrantsByName(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    application: [User.Read.Al, GroupMember.Read.All]
`)
	r := entrasync(t, url, "plan", "-f", dir)
	if r.code != exitError || !strings.Contains(r.stderr, `application "Microsoft Graph" has no app role "User.Read.Al"; did you mean "User.Read.All"?`) {
		t.Fatalf("misspelt permission: exit %d\n%s", r.code, r.stdout)
	}
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    application: [User.Read.All, GroupMember.Read.All, Application.ReadWrite.All]
`)
	r = entrasync(t, url, "plan", "-f", dir)
	if r.code != exitError || !strings.Contains(r.stderr, `[ES202] Application.ReadWrite.All cannot be granted to agent identity "Demo Helpdesk Agent 1": Entra blocks it for agents`) {
		t.Fatalf("blocked permission: exit %d\n%s", r.code, r.stdout)
	}
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    mode: authoritative
    application: [User.Read.All, GroupMember.Read.All]
`)
	r = entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `will change: 2 to grant, 0 to revoke`) {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 || writes(sim.Log()) != 0 {
		t.Fatalf("second apply: exit %d, %d writes", r.code, writes(sim.Log()))
	}
	// Authoritative: a permission dropped from the list is revoked.
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    mode: authoritative
    application: [User.Read.All]
`)
	if r := entrasync(t, url, "plan", "-f", dir); !strings.Contains(r.stdout, "- GroupMember.Read.All") {
		t.Fatalf("revoke:\n%s", r.stdout)
	}
}

// Issue 5's gate scenario: apply --auto-approve on a plan with a deletion
// and a privileged grant applies everything else, skips and lists those
// two, exits 3; approving both codes applies all of it.
func TestGatesStopDeletionAndPrivilegedGrant(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	writeSpec(t, dir, `groups:
  - displayName: Old project
    absent: true
  - displayName: Finance
    description: Finance team
permissions:
  - principal: Demo Helpdesk Agent
    application: [Directory.ReadWrite.All]
`)
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, "[ES201 needs approval]") || !strings.Contains(r.stdout, "+ Directory.ReadWrite.All  (privileged)") {
		t.Fatalf("plan:\n%s", r.stdout)
	}
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, "Apply complete: 1 applied, 0 failed, 2 skipped.") ||
		!strings.Contains(r.stdout, `Skipped: group["Old project"] (needs approval: ES101`) ||
		!strings.Contains(r.stdout, `Skipped: grant["Demo Helpdesk Agent"/"Microsoft Graph"] (needs approval: ES201`) {
		t.Fatalf("apply --auto-approve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101,ES201"); r.code != 0 {
		t.Fatalf("apply with approvals: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stdout)
	}
}

// Delegated permissions: one grant per client and resource; additive sets
// merge scopes into it (a PATCH, never a second POST).
func TestDelegatedGrants(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    delegated: [User.Read.Al]
`)
	if r := entrasync(t, url, "plan", "-f", dir); r.code != exitError || !strings.Contains(r.stderr, `did you mean "User.Read.All"?`) {
		t.Fatalf("misspelt scope: exit %d\n%s", r.code, r.stdout)
	}
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    delegated: [User.Read.All]
`)
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    delegated: [GroupMember.Read.All]
`)
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `~ scope = "User.Read.All" -> "GroupMember.Read.All User.Read.All"`) {
		t.Fatalf("merge:\n%s%s", r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	for _, e := range sim.Log() {
		if e.Method == "POST" && strings.HasSuffix(e.Path, "/oauth2PermissionGrants") {
			t.Errorf("a second grant was POSTed: %s", e.Body)
		}
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stdout)
	}

	// Removing the last scope deletes the grant (one DELETE, gated as a
	// delete) instead of leaving an empty grant behind.
	writeSpec(t, dir, `permissions:
  - principal: Demo Helpdesk Agent 1
    mode: authoritative
    delegated: []
`)
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `# delegated_grant["Demo Helpdesk Agent 1"/"Microsoft Graph"] will be deleted`) ||
		!strings.Contains(r.stdout, `- scope = "GroupMember.Read.All User.Read.All"`) {
		t.Fatalf("last scope removed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var deletes int
	for _, e := range withoutLease(sim.Log()) {
		if e.Write && e.Method == "DELETE" && strings.Contains(e.Path, "/oauth2PermissionGrants/") {
			deletes++
		} else if e.Write && !strings.HasSuffix(e.Path, "/$batch") {
			t.Errorf("unexpected write %s %s", e.Method, e.Path)
		}
	}
	if deletes != 1 {
		t.Fatalf("%d DELETEs of the grant, want 1", deletes)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after delete: exit %d\n%s", r.code, r.stdout)
	}
}
