package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

// A spec that names most of the tenant's users (a first apply, say) reads
// them by listing, 999 a page, not by look-ups of 15: a one-user page to
// count the tenant, and the partition of the names (user0…, 1,000 users:
// two pages) instead of 47 look-ups in 3 $batch calls. The seven names
// that are mails are too few for a partition of their own, and their users
// are in user0…: no look-up is left. Names match by
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
	var counts, pages, lookUps int
	for _, e := range sim.Log() {
		if e.Method != "GET" || e.Path != "/v1.0/users" {
			continue
		}
		switch q := e.Query; {
		case strings.Contains(q, "count=true"):
			counts++
		case strings.Contains(q, "startswith") && strings.Contains(q, "user0"):
			pages++
		case strings.Contains(q, "%20in%20"):
			lookUps++
		default:
			t.Errorf("the apply read users with %s", q)
		}
	}
	if counts != 1 || pages != 2 || lookUps != 0 {
		t.Errorf("the apply read users with %d counting pages, %d pages of the partition and %d look-ups, want 1, 2 and none", counts, pages, lookUps)
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
