package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
)

// A spec naming more users than look-ups of 15 cheaply find has them
// listed, in partitions by the leading characters of userPrincipalName
// that list no more of the tenant than the names need: here u0… and u1…,
// not the 1,000 users of u2… nor the x… ones. A name that is a mail whose
// user's userPrincipalName starts otherwise (a guest) is looked up after.
func TestReadListsNamedUsersInPartitions(t *testing.T) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	for i := range 3000 {
		upn := fmt.Sprintf("u%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("User %04d", i), Mail: upn})
	}
	for i := range 500 {
		upn := fmt.Sprintf("x%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
	}
	fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail: "ann@fabrikam.com", UserType: "Guest"})
	var names []string
	for i := range 1500 {
		names = append(names, fmt.Sprintf("U%04d@contoso.com", i))
	}
	sim, obs := readGroupOf(t, fx, append(names, "ann@fabrikam.com", "nobody@contoso.com"))
	found := map[string]bool{}
	for _, p := range obs.Principals {
		found[strings.ToLower(p.UserPrincipalName)] = true
	}
	for i := range 1500 {
		if upn := fmt.Sprintf("u%04d@contoso.com", i); !found[upn] {
			t.Fatalf("%s not observed", upn)
		}
	}
	if !found["ann_fabrikam.com#ext#@contoso.onmicrosoft.com"] {
		t.Fatal("the guest named by mail was not observed")
	}
	var partitions, listed, lookUps []string
	for _, e := range sim.Log() {
		if e.Method != "GET" || !strings.HasSuffix(e.Path, "/users") {
			continue
		}
		switch {
		case strings.Contains(e.Query, "skiptoken"):
			listed = append(listed, e.Query)
		case strings.Contains(e.Query, "startswith"):
			partitions = append(partitions, e.Query)
		case strings.Contains(e.Query, "%20in%20"):
			lookUps = append(lookUps, e.Query)
		}
	}
	if len(partitions) != 2 || !strings.Contains(partitions[0], "%27u0%27") || !strings.Contains(partitions[1], "%27u1%27") {
		t.Fatalf("partitions %q, want u0 and u1", partitions)
	}
	// u0… and u1… are 2,000 users: a page of 999 and one more each.
	if len(listed) != 2 {
		t.Fatalf("later pages %d, want 2", len(listed))
	}
	// (by userPrincipalName, then by mail)
	if len(lookUps) != 2 {
		t.Fatalf("look-ups %q, want two, of the names the partitions did not find", lookUps)
	}
	for _, q := range lookUps {
		if strings.Count(q, "%27") != 4 || !strings.Contains(q, "ann%40fabrikam.com") || !strings.Contains(q, "nobody%40contoso.com") {
			t.Fatalf("look-up %q, want one of the names the partitions did not find", q)
		}
	}
}

// Where listing and look-ups need as many requests, the resource units
// decide: 500 names in a tenant of 1,000 users are a chain of 2 pages
// (2 RU), not 34 look-ups (34 RU) in 2 calls.
func TestReadListsUsersWhenRequestsTie(t *testing.T) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	for i := range 1000 {
		upn := fmt.Sprintf("u%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
	}
	var names []string
	for i := range 500 {
		names = append(names, fmt.Sprintf("u%04d@contoso.com", 2*i))
	}
	sim, obs := readGroupOf(t, fx, names)
	users := 0
	for _, p := range obs.Principals {
		if p.Kind == model.User {
			users++
		}
	}
	listed, lookUps := 0, 0
	for _, e := range sim.Log() {
		switch {
		case e.Method != "GET" || !strings.HasSuffix(e.Path, "/users"):
		case strings.Contains(e.Query, "%20in%20"):
			lookUps++
		case strings.Contains(e.Query, "startswith") || strings.Contains(e.Query, "skiptoken"):
			listed++
		}
	}
	if users != 500 || listed != 2 || lookUps != 0 {
		t.Errorf("observed %d users from %d listed pages and %d look-ups, want 500 from 2 pages and none", users, listed, lookUps)
	}
}

// readGroupOf reads, from a simulator serving fx, a spec of one group
// whose authoritative member set names users.
func readGroupOf(t *testing.T, fx *graphsim.Fixture, users []string) (*graphsim.Sim, *model.Tenant) {
	t.Helper()
	set := &model.MemberSet{Mode: model.Authoritative}
	for _, u := range users {
		set.Members = append(set.Members, model.Ref{Kind: model.User, Value: u})
	}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{{DisplayName: "New", Members: set}}}
	model.Normalize(desired)
	sim, c := simClientOn(t, fx, graph.Options{})
	obs, err := c.Read(context.Background(), desired)
	if err != nil {
		t.Fatal(err)
	}
	return sim, obs
}
