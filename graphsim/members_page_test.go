package graphsim

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"
)

// A plain member list is paged from a window of the links (pageWindow);
// a filter that keeps every member sends the same request down the path
// that renders the whole list. Both must page alike: the same members in the same order, on
// the same pages, with removed members gone, members still replicating
// hidden and service principals left out on v1.0.
func TestMemberPagesFromAWindowEqualTheFullList(t *testing.T) {
	fx := DemoFixture()
	var members []string
	for i := range 250 {
		upn := fmt.Sprintf("pager%03d@contoso.com", i)
		fx.Users = append(fx.Users, User{UserPrincipalName: upn})
		members = append(members, upn)
	}
	fx.Groups = append(fx.Groups, Group{DisplayName: "Pager", MailNickname: "pager", Members: members})
	h := newHarness(t, fx)
	var gid string
	for _, g := range h.sim.st.sortedGroups() {
		if g.DisplayName == "Pager" {
			gid = g.ID
		}
	}
	users := h.sim.st.sortedUsers()
	sp := h.sim.st.sortedSPs()[0].ID
	for _, i := range []int{0, 3, 99, 100, 249} { // removed
		u := h.sim.st.userByUPN(members[i])
		h.do("DELETE", "/v1.0/groups/"+gid+"/members/"+u.ID+"/$ref", nil).mustStatus(t, 204)
	}
	h.do("POST", "/v1.0/groups/"+gid+"/members/$ref", map[string]string{"@odata.id": h.base + "/v1.0/directoryObjects/" + sp}).mustStatus(t, 204)
	h.do("POST", "/v1.0/groups/"+gid+"/members/$ref", map[string]string{"@odata.id": h.base + "/v1.0/directoryObjects/" + users[0].ID}).mustStatus(t, 204)
	h.sim.SetFaults(Faults{ReplicationLag: time.Minute}) // the last two adds are hidden
	h.clock.Advance(30 * time.Second)

	walk := func(first string, hdr ...string) (ids []string, pages int) {
		next := first
		for next != "" {
			r := h.do("GET", next, nil, hdr...).mustStatus(t, 200)
			pages++
			for _, v := range r.obj["value"].([]any) {
				ids = append(ids, v.(map[string]any)["id"].(string))
			}
			next, _ = r.obj["@odata.nextLink"].(string)
		}
		return ids, pages
	}
	for _, version := range []string{"v1.0", "beta"} {
		for _, top := range []string{"", "&$top=1", "&$top=7", "&$top=100", "&$top=244", "&$top=999"} {
			path := "/" + version + "/groups/" + gid + "/members?$select=id" + top
			got, gotPages := walk(path)
			// A filter that keeps everyone (an advanced query, so counted)
			// sends every page down the path that renders the whole list.
			want, wantPages := walk(path+"&$count=true&$filter="+url.QueryEscape("id ne '00000000-0000-0000-0000-000000000000'"), "ConsistencyLevel: eventual")
			if !slices.Equal(got, want) || gotPages != wantPages {
				t.Errorf("%s: %d ids on %d pages, the full list %d on %d", path, len(got), gotPages, len(want), wantPages)
			}
			if len(got) != 245 {
				t.Errorf("%s: %d members, want the 245 left and replicated", path, len(got))
			}
		}
	}
	// A $count segment counts the whole list, not a page of it.
	for _, path := range []string{"/v1.0/groups/" + gid + "/members/$count", "/v1.0/users/$count"} {
		r := h.do("GET", path, nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
		want := "245"
		if path == "/v1.0/users/$count" {
			want = fmt.Sprint(len(h.sim.st.sortedUsers()))
		}
		if string(r.raw) != want {
			t.Errorf("%s = %s, want %s", path, r.raw, want)
		}
	}
	// Every user, page by page, as a walk over all of them gives.
	got, _ := walk("/v1.0/users?$select=id&$top=37")
	want, _ := walk("/v1.0/users?$select=id&$top=37&$filter=" + url.QueryEscape("userType eq 'Member' or userType eq 'Guest' or userType eq null"))
	if len(got) != len(h.sim.st.sortedUsers()) || !slices.Equal(got, want) {
		t.Errorf("users paged from a window: %d, the full list %d, of %d", len(got), len(want), len(h.sim.st.sortedUsers()))
	}
	h.clock.Advance(time.Minute)
	ids, _ := walk("/beta/groups/" + gid + "/members?$select=id&$top=50")
	if len(ids) != 247 || !slices.Contains(ids, sp) {
		t.Errorf("after replication: %d members (service principal listed: %v), want 247 with it", len(ids), slices.Contains(ids, sp))
	}
}
