package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

// A spec that names most of the tenant's users (a first apply, say) reads
// them by listing the tenant, 999 a page, not by look-ups of 15: 2
// requests instead of 47 look-ups in 3 $batch calls. Names match by
// userPrincipalName first and by mail otherwise, as the look-ups do, and
// only the users the spec names are recorded: the group gets exactly them.
func TestManyUserReferencesListTheTenant(t *testing.T) {
	fx := graphsim.DemoFixture()
	var names, want []string
	for i := range 1200 {
		u := graphsim.User{ID: fmt.Sprintf("5a000000-0000-4000-8000-%012d", i), UserPrincipalName: fmt.Sprintf("user%04d@contoso.com", i),
			Mail: fmt.Sprintf("user%04d@contoso.com", i)}
		if i%100 == 0 {
			u.Mail = fmt.Sprintf("first.last%04d@contoso.com", i) // named by mail below
		}
		fx.Users = append(fx.Users, u)
		if i < 700 {
			names, want = append(names, u.UserPrincipalName), append(want, u.ID)
			if i%100 == 0 {
				names[len(names)-1] = u.Mail
			}
		}
	}
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	writeSpec(t, dir, "groups:\n  - displayName: Everyone listed\n    members:\n      users: ["+strings.Join(names, ", ")+"]\n")
	r := entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var lists, lookUps int
	for _, e := range sim.Log() {
		if e.Method != "GET" || e.Path != "/v1.0/users" {
			continue
		}
		if strings.Contains(e.Query, "filter") {
			lookUps++
		} else {
			lists++
		}
	}
	if lists != 2 || lookUps != 0 {
		t.Errorf("the apply read users with %d list pages and %d look-ups, want 2 pages and none", lists, lookUps)
	}
	got := snapshot(t, sim).members("Everyone listed")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the group has %d members, want the %d named (%v…)", len(got), len(want), got[:min(3, len(got))])
	}
	if p := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); p.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", p.code, p.stdout, p.stderr)
	}
}
