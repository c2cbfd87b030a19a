package graphsim

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// deltaFixture is a tenant of 600 users, a group of all of them (larger
// than a delta page holds) and a small one.
func deltaFixture() *Fixture {
	f := &Fixture{Tenant: Tenant{Domain: "contoso.onmicrosoft.com"}}
	var all []string
	for i := range 600 {
		upn := fmt.Sprintf("u%03d@contoso.com", i)
		f.Users = append(f.Users, User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("U %03d", i)})
		all = append(all, upn)
	}
	f.Groups = []Group{
		{DisplayName: "Big", MailNickname: "big", Members: all},
		{DisplayName: "Small", MailNickname: "small", Members: all[:2]},
	}
	return f
}

// deltaRound follows a round from url to its deltaLink and returns its
// objects in order, its page count and the deltaLink.
func (h *harness) deltaRound(url string) (objs []map[string]any, pages int, next string) {
	h.t.Helper()
	for url != "" {
		r := h.do("GET", url, nil).mustStatus(h.t, 200)
		pages++
		objs = append(objs, r.values()...)
		nl, _ := r.obj["@odata.nextLink"].(string)
		dl, _ := r.obj["@odata.deltaLink"].(string)
		if (nl == "") == (dl == "") {
			h.t.Fatalf("page %d: nextLink %q, deltaLink %q: exactly one is wanted", pages, nl, dl)
		}
		url, next = nl, dl
	}
	return objs, pages, next
}

// memberChanges merges a round's members@delta per group: id → "+" or "-".
func memberChanges(objs []map[string]any) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, o := range objs {
		id := o["id"].(string)
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		ms, _ := o["members@delta"].([]any)
		for _, m := range ms {
			m := m.(map[string]any)
			sign := "+"
			if _, removed := m["@removed"]; removed {
				sign = "-"
			}
			out[id][m["id"].(string)] = sign
		}
	}
	return out
}

func TestGroupsDeltaRounds(t *testing.T) {
	h := newHarness(t, deltaFixture())
	groups := h.do("GET", "/v1.0/groups?$select=id,displayName", nil).mustStatus(t, 200).values()
	ids := map[string]string{}
	for _, g := range groups {
		ids[g["displayName"].(string)] = g["id"].(string)
	}
	users := h.do("GET", "/v1.0/users?$select=id&$top=999", nil).mustStatus(t, 200).ids()

	// The first round: every group with all its members; the 600-member
	// group is split across pages, repeated, as Microsoft documents.
	objs, pages, link := h.deltaRound("/v1.0/groups/delta?$select=displayName,description,members")
	if pages < 2 {
		t.Fatalf("first round in %d page(s): the 600-member group should not fit one", pages)
	}
	first := memberChanges(objs)
	if n := len(first[ids["Big"]]); n != 600 {
		t.Fatalf("Big: %d members in the first round, want 600", n)
	}
	if n := slices.IndexFunc(objs, func(o map[string]any) bool { return o["id"] == ids["Big"] }); n < 0 || objs[n]["displayName"] != "Big" {
		t.Fatalf("Big not reported with its properties: %v", objs)
	}
	if repeats := len(slices.DeleteFunc(slices.Clone(objs), func(o map[string]any) bool { return o["id"] != ids["Big"] })); repeats < 2 {
		t.Fatalf("Big reported %d time(s), want it split across pages", repeats)
	}
	// An example's member entry has exactly @odata.type and id.
	want := exampleObject(t, "groups-delta.response.json")["value"].([]any)[0].(map[string]any)["members@delta"].([]any)[0].(map[string]any)
	got := objs[0]["members@delta"].([]any)[0].(map[string]any)
	sameKeys(t, "members@delta entry", want, got)

	// Nothing changed: no objects, a new deltaLink (the nochanges example).
	r := h.do("GET", link, nil).mustStatus(t, 200)
	sameKeys(t, "empty round", exampleObject(t, "groups-delta-deltaLink-nochanges.response.json"), r.obj)
	if len(r.values()) != 0 {
		t.Fatalf("empty round = %s", r.raw)
	}
	link = r.obj["@odata.deltaLink"].(string)

	// One member added to Small and one removed, a description changed.
	h.do("POST", "/v1.0/groups/"+ids["Small"]+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + users[10]}).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+ids["Small"]+"/members/"+users[0]+"/$ref", nil).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+ids["Big"]+"/members/"+users[5]+"/$ref", nil).mustStatus(t, 204)
	objs, _, link = h.deltaRound(link)
	changes := memberChanges(objs)
	if got := fmt.Sprint(changes[ids["Small"]]); got != fmt.Sprint(map[string]string{users[10]: "+", users[0]: "-"}) {
		t.Fatalf("Small's changes = %s", got)
	}
	if got := fmt.Sprint(changes[ids["Big"]]); got != fmt.Sprint(map[string]string{users[5]: "-"}) {
		t.Fatalf("Big's changes = %s (only the removal, not all 600)", got)
	}
	removed := objs[slices.IndexFunc(objs, func(o map[string]any) bool { return o["id"] == ids["Big"] })]["members@delta"].([]any)[0].(map[string]any)
	wantRemoved := exampleObject(t, "groups-delta-deltaLink-changes.response.json")["value"].([]any)[0].(map[string]any)["members@delta"].([]any)[0].(map[string]any)
	sameKeys(t, "removed member entry", wantRemoved, removed)

	// A deleted group is an @removed entry.
	h.do("DELETE", "/v1.0/groups/"+ids["Small"], nil).mustStatus(t, 204)
	objs, _, link = h.deltaRound(link)
	if len(objs) != 1 || objs[0]["id"] != ids["Small"] || objs[0]["@removed"] == nil {
		t.Fatalf("after the delete = %v", objs)
	}

	// A token older than seven days is refused; the client starts again.
	h.clock.Advance(7*24*time.Hour + time.Minute)
	r = h.do("GET", link, nil).mustStatus(t, 400)
	if r.errorCode() != "syncStateNotFound" {
		t.Fatalf("expired token: %s", r.raw)
	}
}

func TestGroupsDeltaFilterLatestAndFaults(t *testing.T) {
	h := newHarness(t, deltaFixture())
	groups := h.do("GET", "/v1.0/groups?$select=id,displayName", nil).mustStatus(t, 200).values()
	small := groups[slices.IndexFunc(groups, func(g map[string]any) bool { return g["displayName"] == "Small" })]["id"].(string)
	big := groups[slices.IndexFunc(groups, func(g map[string]any) bool { return g["displayName"] == "Big" })]["id"].(string)
	users := h.do("GET", "/v1.0/users?$select=id&$top=999", nil).mustStatus(t, 200).ids()

	// Only ids may be filtered on, at most 50; $top is refused.
	h.do("GET", "/v1.0/groups/delta?$filter=displayName eq 'Small'", nil).mustStatus(t, 400)
	var many []string
	for range 51 {
		many = append(many, "id eq '"+small+"'")
	}
	many[50] = "id eq '" + big + "'"
	h.do("GET", "/v1.0/groups/delta?$filter="+strings.Join(many, " or "), nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/groups/delta?$top=5", nil).mustStatus(t, 400)

	// Sync from now: no objects, and the next round sees only what
	// changed, of the filtered group only.
	r := h.do("GET", "/v1.0/groups/delta?$select=members&$filter=id eq '"+small+"'&$deltatoken=latest", nil).mustStatus(t, 200)
	if len(r.values()) != 0 {
		t.Fatalf("latest = %s", r.raw)
	}
	link := r.obj["@odata.deltaLink"].(string)
	h.do("POST", "/v1.0/groups/"+small+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + users[20]}).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+big+"/members/"+users[5]+"/$ref", nil).mustStatus(t, 204)

	// Replication lag: a change younger than the lag shows in a later round.
	h.clock.Advance(2 * time.Minute)
	h.sim.SetFaults(Faults{ReplicationLag: time.Minute})
	h.do("POST", "/v1.0/groups/"+small+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + users[21]}).mustStatus(t, 204)
	objs, _, link := h.deltaRound(link)
	if got := fmt.Sprint(memberChanges(objs)); got != fmt.Sprint(map[string]map[string]string{small: {users[20]: "+"}}) {
		t.Fatalf("round = %s, want only Small's first, replicated add", got)
	}
	h.clock.Advance(time.Minute)
	h.sim.SetFaults(Faults{DeltaReplay: true})
	objs, _, link = h.deltaRound(link)
	if len(objs) != 2 || fmt.Sprint(memberChanges(objs)) != fmt.Sprint(map[string]map[string]string{small: {users[21]: "+"}}) {
		t.Fatalf("replayed round = %v, want the lagging add, twice", objs)
	}

	h.sim.SetFaults(Faults{DeltaGone: true})
	r = h.do("GET", link, nil).mustStatus(t, 410)
	if r.header.Get("Location") == "" {
		t.Fatalf("410 without Location: %v", r.header)
	}
	h.sim.SetFaults(Faults{})
	h.do("GET", "/v1.0/groups/delta?$deltatoken=no-such-token", nil).mustStatus(t, 400)
}

func TestUsersDelta(t *testing.T) {
	h := newHarness(t, deltaFixture())
	objs, _, link := h.deltaRound("/v1.0/users/delta?$select=id,userPrincipalName,mail,displayName")
	if len(objs) != 600 || objs[0]["userPrincipalName"] != "u000@contoso.com" || objs[0]["displayName"] != "U 000" {
		t.Fatalf("first round: %d users, first %v", len(objs), objs[0])
	}
	if _, ok := objs[0]["jobTitle"]; ok {
		t.Fatalf("unselected property sent: %v", objs[0])
	}
	objs, _, _ = h.deltaRound(link)
	if len(objs) != 0 {
		t.Fatalf("no change, yet %d users", len(objs))
	}
}

// A delta link stays good across Save and Restore, as the CLI's --sim
// state file keeps the simulator between runs.
func TestDeltaLinkSurvivesRestore(t *testing.T) {
	h := newHarness(t, deltaFixture())
	_, _, link := h.deltaRound("/v1.0/groups/delta?$select=members")
	var saved bytes.Buffer
	if err := h.sim.Save(&saved); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&saved, Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	base, stop, err := restored.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h.base = base
	small := h.do("GET", "/v1.0/groups?$filter=displayName eq 'Small'&$select=id", nil).mustStatus(t, 200).ids()[0]
	h.do("DELETE", "/v1.0/groups/"+small, nil).mustStatus(t, 204)
	objs, _, _ := h.deltaRound(strings.Replace(link, link[:strings.Index(link, "/v1.0")], base, 1))
	if len(objs) != 1 || objs[0]["id"] != small || objs[0]["@removed"] == nil {
		t.Fatalf("the restored simulator's round = %v, want Small's removal only", objs)
	}
}
