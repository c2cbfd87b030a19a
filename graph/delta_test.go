package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
)

// deltaTenant is 800 users; 60 groups of 30 (two delta chains); a group of
// 700 (more than a delta page holds); a group with a group among its
// members (which delta cannot serve); and a group whose spec names a
// service principal (read from beta).
func deltaTenant(t *testing.T) (*graphsim.Sim, string, *model.Tenant) {
	t.Helper()
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	upn := func(i int) string { return fmt.Sprintf("u%03d@contoso.com", i%800) }
	for i := range 800 {
		fx.Users = append(fx.Users, graphsim.User{ID: userID(i), UserPrincipalName: upn(i), DisplayName: fmt.Sprintf("User %03d", i), Mail: upn(i)})
	}
	fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{ID: spPayroll, DisplayName: "Payroll sync"})
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	add := func(name string, members ...string) {
		fx.Groups = append(fx.Groups, graphsim.Group{DisplayName: name, MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", ""), Members: members})
		set := &model.MemberSet{Mode: model.Authoritative}
		for _, m := range members {
			set.Members = append(set.Members, model.Ref{Kind: model.User, Value: m})
		}
		desired.Groups = append(desired.Groups, &model.Group{DisplayName: name, Members: set})
	}
	for g := range 60 {
		var ms []string
		for k := range 30 {
			ms = append(ms, upn(g*13+k))
		}
		add(fmt.Sprintf("Team %02d", g), ms...)
	}
	var big []string
	for k := range 700 {
		big = append(big, upn(k))
	}
	add("Big", big...)
	add("Nested", upn(1))
	fx.Groups[0].ID = "00000000-0000-4000-8000-0000000000a0"
	fx.Groups[len(fx.Groups)-1].Members = append(fx.Groups[len(fx.Groups)-1].Members, fx.Groups[0].ID)
	add("Apps", upn(2))
	fx.Groups[len(fx.Groups)-1].Members = append(fx.Groups[len(fx.Groups)-1].Members, spPayroll)
	desired.Groups[len(desired.Groups)-1].Members.Members = append(desired.Groups[len(desired.Groups)-1].Members.Members, model.Ref{Kind: model.ServicePrincipal, Value: "Payroll sync"})
	model.Normalize(desired)

	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return sim, url, desired
}

func userID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// samePlanInput compares two reads as the planner sees them: principals
// are a set, in no particular order.
func samePlanInput(t *testing.T, what string, full, delta *model.Tenant) {
	t.Helper()
	if d := cmp.Diff(full, delta, cmpopts.SortSlices(func(a, b model.Principal) bool { return a.ID < b.ID }), cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("%s: the delta read differs from the full read (-full +delta):\n%s", what, d)
	}
}

// fullThenDelta reads the tenant in full, then through delta from st with
// the simulator's log emptied between, checks that the delta read is the
// full read, and returns it.
func fullThenDelta(t *testing.T, sim *graphsim.Sim, c *graph.Client, desired *model.Tenant, st *graph.DeltaState, what string) *model.Tenant {
	t.Helper()
	ctx := context.Background()
	full, err := c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	sim.ResetLog()
	delta, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, what, full, delta)
	return delta
}

// memberLists counts the member lists a read sent, and its resource units.
func memberLists(sim *graphsim.Sim) (lists, ru int) {
	for _, e := range sim.Log() {
		ru += e.RU
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/members") {
			lists++
		}
	}
	return lists, ru
}

func TestReadDeltaMatchesReadAndReadsOnlyChanges(t *testing.T) {
	sim, url, desired := deltaTenant(t)
	c, err := graph.New(graph.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	write := func(method, path string, body any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, url+"/v1.0"+path, rd)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("%s %s: %v %v", method, path, resp.Status, err)
		}
		resp.Body.Close()
	}
	full, err := c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	id := func(name string) string {
		for _, g := range full.Groups {
			if g.DisplayName == name {
				return g.ID
			}
		}
		t.Fatalf("no group %s", name)
		return ""
	}
	// roundTrip saves and loads the state, as the CLI does between runs.
	roundTrip := func(st *graph.DeltaState) *graph.DeltaState {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var out graph.DeltaState
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return &out
	}

	// The first delta read fills the state: the same observed tenant.
	st := &graph.DeltaState{}
	first, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, "first delta read", full, first)
	if st.Report.FromDelta != 0 || st.Report.InFull != 63 {
		t.Fatalf("first read: %+v, want every set (63) listed in full, the links started from now", st.Report)
	}
	for _, e := range sim.Log() {
		if strings.HasSuffix(e.Path, "/delta") && !strings.Contains(e.Query, "deltatoken%3Dlatest") && !strings.Contains(e.Query, "deltatoken=latest") {
			t.Fatalf("the first delta read sent a delta round that lists objects: %s?%s", e.Path, e.Query)
		}
	}

	// Drift: members swapped in five groups, the big one included.
	for g, gone := range map[string]int{"Team 03": 39, "Team 17": 221, "Team 42": 546, "Team 59": 767, "Big": 1} {
		write("DELETE", "/groups/"+id(g)+"/members/"+userID(gone)+"/$ref", nil)
		write("POST", "/groups/"+id(g)+"/members/$ref", map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + userID(799)})
	}
	write("DELETE", "/groups/"+id("Team 03")+"/members/"+userID(40)+"/$ref", nil)
	st = roundTrip(st)
	sim.ResetLog()
	full, err = c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	fullLists, fullRU := memberLists(sim)
	sim.ResetLog()
	second, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, "delta read after the drift", full, second)
	deltaLists, deltaRU := memberLists(sim)
	if deltaLists != 2 || fullLists != 63 {
		t.Fatalf("member lists: %d in the delta read, %d in the full read; want 2 (Nested, Apps) and 63", deltaLists, fullLists)
	}
	if deltaRU >= fullRU {
		t.Fatalf("the delta read cost %d RU, the full read %d", deltaRU, fullRU)
	}
	t.Logf("resource units: full read %d, delta read %d", fullRU, deltaRU)

	// A round Graph sends twice (documented replays) changes nothing.
	sim.SetFaults(graphsim.Faults{DeltaReplay: true})
	write("POST", "/groups/"+id("Team 05")+"/members/$ref", map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + userID(798)})
	st = roundTrip(st)
	third, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	full, err = c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, "delta read of a replayed round", full, third)

	// Links Graph no longer honours: the state starts again, the result
	// is still the full read's.
	sim.SetFaults(graphsim.Faults{DeltaGone: true})
	st = roundTrip(st)
	fourth, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, "delta read after expired links", full, fourth)
	if len(st.Report.Restarted) != 4 {
		t.Fatalf("restarted = %q, want the groups' directory's link, the users' and both chains'", st.Report.Restarted)
	}
}

// A user the spec names whom no member list shows any more (the drift
// took them out of their only set) is answered from the state, which
// knows them from an earlier run: the delta read observes what the full
// read's look-up finds, and looks up only the name nobody has.
func TestReadDeltaAnswersUserLookUpsFromTheState(t *testing.T) {
	sim, url, desired := deltaTenant(t)
	c, err := graph.New(graph.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := &graph.DeltaState{}
	first, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	// u796 is in Team 59 only (Team 58 ends at u783, Big at u699).
	var team59 string
	for _, g := range first.Groups {
		if g.DisplayName == "Team 59" {
			team59 = g.ID
		}
	}
	req, _ := http.NewRequest("DELETE", url+"/v1.0/groups/"+team59+"/members/"+userID(796)+"/$ref", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("remove u796: %v %v", resp, err)
	}
	resp.Body.Close()
	set := desired.Groups[0].Members
	set.Members = append(set.Members, model.Ref{Kind: model.User, Value: "nobody@contoso.com"})
	model.Normalize(desired)
	delta := fullThenDelta(t, sim, c, desired, st, "delta read naming a user outside the sets")
	var lookUps []string
	for _, e := range sim.Log() {
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/users") {
			lookUps = append(lookUps, e.Query)
		}
	}
	for _, q := range lookUps {
		if strings.Contains(strings.ToLower(q), "u796") {
			t.Errorf("the delta read looked up u796, whom the state knows: %s", q)
		}
	}
	if len(lookUps) == 0 {
		t.Error("the delta read did not look up nobody@contoso.com, whom the state does not know")
	}
	found := false
	for _, p := range delta.Principals {
		found = found || p.UserPrincipalName == "u796@contoso.com"
	}
	if !found {
		t.Fatal("the delta read did not observe u796@contoso.com")
	}
}

// The members of a group an access package delivers into (read for
// delivery repair, not managed by the spec) come through delta too: after
// the first run, a change to them is read as a delta round, no member list,
// and the read equals a full read's.
func TestReadDeltaServesDeliveryGroups(t *testing.T) {
	const (
		cat  = "c1000000-0000-4000-8000-000000000001"
		role = "9a000000-0000-4000-8000-000000000001"
	)
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	for i := range 5 {
		fx.Users = append(fx.Users, graphsim.User{ID: userID(i), UserPrincipalName: fmt.Sprintf("u%d@contoso.com", i)})
	}
	fx.Groups = []graphsim.Group{{ID: role, DisplayName: "Role", MailNickname: "role", Members: []string{"u0@contoso.com", "u1@contoso.com"}},
		{DisplayName: "Team", MailNickname: "team", Members: []string{"u3@contoso.com"}}}
	fx.Catalogs = []graphsim.Catalog{{ID: cat, DisplayName: "C", Resources: []graphsim.CatalogResource{{OriginID: role, OriginSystem: "AadGroup"}}}}
	fx.AccessPackages = []graphsim.AccessPackage{{CatalogID: cat, DisplayName: "P", ResourceRoleScopes: []graphsim.RoleScope{{RoleOriginID: "Member_" + role}}}}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Groups: []*model.Group{{DisplayName: "Team", Members: &model.MemberSet{Mode: model.Authoritative,
			Members: []model.Ref{{Kind: model.User, Value: "u3@contoso.com"}}}}},
		Catalogs:       []*model.Catalog{{DisplayName: "C"}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "P", Catalog: "C", RepairDelivery: true}}}
	model.Normalize(desired)
	sim, c := simClientOn(t, fx, graph.Options{})
	ctx := context.Background()
	st := &graph.DeltaState{}
	if _, err := c.ReadDelta(ctx, desired, st); err != nil {
		t.Fatal(err)
	}
	// u2 joins the group, u0 leaves it.
	if err := c.AddMembers(ctx, role, []string{userID(2)}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveMembers(ctx, role, []string{userID(0)}); err != nil {
		t.Fatal(err)
	}
	sim.ResetLog()
	delta, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	if lists, _ := memberLists(sim); lists != 0 {
		t.Errorf("the delta read listed %d member sets, want none", lists)
	}
	// The managed group's set and the delivery group's share the run's
	// one round of the users' delta.
	rounds := 0
	for _, e := range sim.Log() {
		if strings.HasSuffix(e.Path, "/users/delta") {
			rounds++
		}
	}
	if rounds != 1 {
		t.Errorf("the delta read ran %d rounds of the users' delta, want 1", rounds)
	}
	// And each chain of groups has one round: the delivery group's chain
	// ran beside the look-ups and serves it after the managed groups'
	// sets are done, not from a second round (plus the groups'
	// directory's round).
	groupRounds := 0
	for _, e := range sim.Log() {
		if strings.HasSuffix(e.Path, "/groups/delta") {
			groupRounds++
		}
	}
	if want := len(st.Groups) + 1; groupRounds != want || len(st.Groups) != 2 {
		t.Errorf("the delta read ran %d rounds of the groups' delta for %d chains and the directory, want one each (two chains)", groupRounds, len(st.Groups))
	}
	full, err := c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if got := full.GroupMembers[role]; len(got) != 2 {
		t.Fatalf("the full read shows the delivery group's members as %v", got)
	}
	samePlanInput(t, "after a change to the delivery group", full, delta)
}

// The groups the spec names are answered from the state's directory of
// groups, which a tenant-wide groups delta keeps current: after the first
// run a delta read looks up only names it has not seen, and still sees
// what a look-up would: a second group taking a managed name, a managed
// group renamed away or deleted, a group created under a name that had
// none.
func TestReadDeltaAnswersGroupLookUpsFromTheDirectory(t *testing.T) {
	sim, url, desired := deltaTenant(t)
	c, err := graph.New(graph.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send := func(method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, url+"/v1.0"+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %v %v", method, path, resp.Status, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	newGroup := func(name string) string {
		g := send("POST", "/groups", map[string]any{"displayName": name, "mailNickname": strings.ReplaceAll(strings.ToLower(name), " ", "-"), "securityEnabled": true, "mailEnabled": false})
		return g["id"].(string)
	}
	// lookUps are the group look-ups a read sent, by name or id.
	lookUps := func() (out []string) {
		for _, e := range sim.Log() {
			if e.Method == "GET" && strings.HasSuffix(e.Path, "/groups") {
				out = append(out, e.Query)
			}
		}
		return out
	}
	st := &graph.DeltaState{}
	first, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	id := func(name string) string {
		for _, g := range first.Groups {
			if g.DisplayName == name {
				return g.ID
			}
		}
		t.Fatalf("no group %s", name)
		return ""
	}
	newGroup("Team 05") // a namesake
	send("PATCH", "/groups/"+id("Team 07"), map[string]any{"displayName": "Team 07 (old)"})
	send("DELETE", "/groups/"+id("Team 09"), nil)
	newGroup("Team 60") // a name the spec names, which had no group
	desired.Groups = append(desired.Groups, &model.Group{DisplayName: "Team 60"}, &model.Group{DisplayName: "Later"})
	model.Normalize(desired)

	delta := fullThenDelta(t, sim, c, desired, st, "delta read after groups changed")
	if got := lookUps(); len(got) != 1 || !strings.Contains(got[0], "Later") || !strings.Contains(got[0], "Team%2060") || strings.Count(got[0], "%27") != 4 {
		t.Fatalf("group look-ups %q, want one, of Later and Team 60 (the names new to the spec) only", got)
	}
	n := 0
	for _, g := range delta.Groups {
		if g.DisplayName == "Team 05" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("the delta read shows %d groups named Team 05, want 2", n)
	}

	// Later is created: the directory, which knows Later had no group,
	// sees it through its round, with no look-up.
	newGroup("Later")
	delta = fullThenDelta(t, sim, c, desired, st, "delta read after a group was created")
	if got := lookUps(); len(got) != 0 {
		t.Fatalf("group look-ups %q, want none", got)
	}
}

// Graph refusing the directory's delta query (a property its delta does
// not track) costs the run its look-ups, not the run.
func TestReadDeltaLooksGroupsUpWhenGraphRefusesTheDirectory(t *testing.T) {
	sim, url, desired := deltaTenant(t)
	c, err := graph.New(graph.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sim.SetFaults(graphsim.Faults{DeltaUnselectable: []string{"uniqueName"}})
	st := &graph.DeltaState{}
	delta, err := c.ReadDelta(ctx, desired, st)
	if err != nil {
		t.Fatal(err)
	}
	full, err := c.Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	samePlanInput(t, "delta read without the directory", full, delta)
	if st.Directory != nil {
		t.Fatalf("the state keeps a directory Graph refused: %+v", st.Directory)
	}
}

// Members who joined a set since the last run and are in no other are
// named by id: through directoryObjects/getByIds, one call for them all,
// when the caller may read any directory object, else through filters of
// the users' list. Either way the read is the full read's.
func TestReadDeltaNamesNewMembersByID(t *testing.T) {
	for _, readsDirectory := range []bool{true, false} {
		t.Run(fmt.Sprintf("readsDirectory=%v", readsDirectory), func(t *testing.T) {
			sim, url, desired := deltaTenant(t)
			c, err := graph.New(graph.Options{BaseURL: url})
			if err != nil {
				t.Fatal(err)
			}
			c.SetReadsDirectory(readsDirectory)
			ctx := context.Background()
			st := &graph.DeltaState{}
			first, err := c.ReadDelta(ctx, desired, st)
			if err != nil {
				t.Fatal(err)
			}
			var team10 string
			for _, g := range first.Groups {
				if g.DisplayName == "Team 10" {
					team10 = g.ID
				}
			}
			// u797–u799 are in no set.
			if err := c.AddMembers(ctx, team10, []string{userID(797), userID(798), userID(799)}); err != nil {
				t.Fatal(err)
			}
			fullThenDelta(t, sim, c, desired, st, "delta read with new members")
			getByIDs, filters := 0, 0
			for _, e := range sim.Log() {
				switch {
				case strings.HasSuffix(e.Path, "/directoryObjects/getByIds"):
					getByIDs++
				case strings.HasSuffix(e.Path, "/users") && strings.Contains(e.Query, "id%20in"):
					filters++
				}
			}
			want := [2]int{1, 0}
			if !readsDirectory {
				want = [2]int{0, 1}
			}
			if got := [2]int{getByIDs, filters}; got != want {
				t.Fatalf("getByIds calls and id filters of /users: %v, want %v", got, want)
			}
		})
	}
}

// A spec that names no group keeps no groups' directory: its round would
// be a request every run for nothing (an agents-only spec's delta drift
// read once cost a page more than its full read).
func TestReadDeltaOfNoGroupsKeepsNoDirectory(t *testing.T) {
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Catalogs: []*model.Catalog{{DisplayName: "Sales"}}}
	model.Normalize(desired)
	fx := graphsim.DemoFixture()
	fx.Catalogs = append(fx.Catalogs, graphsim.Catalog{DisplayName: "Sales"})
	sim, c := simClientOn(t, fx, graph.Options{})
	st := &graph.DeltaState{}
	for run := range 2 {
		if _, err := c.ReadDelta(context.Background(), desired, st); err != nil {
			t.Fatal(err)
		}
		for _, e := range sim.Log() {
			if strings.HasSuffix(e.Path, "/groups/delta") {
				t.Errorf("run %d: %s %s?%s, want no groups' delta", run+1, e.Method, e.Path, e.Query)
			}
		}
		if st.Directory != nil {
			t.Errorf("run %d: the state keeps a groups' directory", run+1)
		}
		sim.ResetLog()
	}
}
