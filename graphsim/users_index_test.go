package graphsim

import (
	"fmt"
	"slices"
	"testing"
)

// The index may only narrow what the filter sees: for every filter, the
// users it answers are those a walk over every user answers, in the same
// order.
func TestUserIndexAnswersAsTheWalk(t *testing.T) {
	fx := &Fixture{Tenant: Tenant{Domain: "contoso.onmicrosoft.com"}}
	for i := range 60 {
		u := User{UserPrincipalName: fmt.Sprintf("User%02d@Contoso.com", i), Mail: fmt.Sprintf("user%02d@contoso.com", i%40), DisplayName: fmt.Sprintf("User %d", i%7)}
		if i%9 == 0 {
			u.Mail = ""
		}
		fx.Users = append(fx.Users, u)
	}
	s := New(Options{Fixture: fx, Seed: 3})
	st := s.st
	id := st.sortedUsers()[5].ID
	filters := []struct {
		f       string
		indexed bool
	}{
		{"userPrincipalName eq 'user07@contoso.com'", true},
		{"userPrincipalName in ('USER07@contoso.com', 'user08@CONTOSO.com', 'nobody@contoso.com')", true},
		{"mail eq 'user01@contoso.com'", true}, // users 1 and 41 share it
		{"mail in ('user01@contoso.com', 'user39@contoso.com')", true},
		{"id eq '" + id + "'", true},
		{"id in ('" + id + "', '00000000-0000-0000-0000-000000000000')", true},
		{"userPrincipalName eq 'user07@contoso.com' or mail eq 'user08@contoso.com'", true},
		{"mail eq 'user05@contoso.com' and displayName eq 'User 5'", true},
		{"mail eq 'user06@contoso.com' and displayName eq 'User 3'", true}, // none
		{"displayName eq 'User 3' and userPrincipalName in ('user10@contoso.com', 'user17@contoso.com')", true},
		{"displayName eq 'User 3' or mail eq 'user05@contoso.com'", false},
		{"displayName eq 'User 3'", false},
		{"mail eq null", false},
		{"startswith(userPrincipalName, 'user1')", true},
		{"startswith(userPrincipalName, 'USER0')", true},
		{"startswith(userPrincipalName, 'nobody')", true}, // none
		{"startswith(userPrincipalName, 'user1') and displayName eq 'User 3'", true},
		{"startswith(mail, 'user1')", false},
		{"not (mail eq 'user05@contoso.com')", false},
	}
	all := s.itemsOfUsers(&reqCtx{s: s}, st.sortedUsers())
	for _, tc := range filters {
		n, err := parseFilter(tc.f, userType, true)
		if err != nil {
			t.Fatalf("%s: %v", tc.f, err)
		}
		pick := func(items []*item) []string {
			var ids []string
			for _, it := range items {
				if n.eval(it.full, nil) {
					v, _ := it.full.get("id")
					ids = append(ids, v.(string))
				}
			}
			return ids
		}
		walk := pick(all)
		users, ok := st.usersMatching(n)
		if ok != tc.indexed {
			t.Errorf("%s: answered from the index %v, want %v", tc.f, ok, tc.indexed)
		}
		if !ok {
			continue
		}
		if got := pick(s.itemsOfUsers(&reqCtx{s: s}, users)); !slices.Equal(got, walk) {
			t.Errorf("%s: the index answers %v, the walk %v", tc.f, got, walk)
		}
	}
	// An agent user or a guest added later is found: the index follows.
	before := len(st.sortedUsers())
	s.st.users["aaaaaaaa-0000-0000-0000-000000000001"] = &userRec{User: User{ID: "aaaaaaaa-0000-0000-0000-000000000001", UserPrincipalName: "late@contoso.com"}, seq: st.nextSeq()}
	st.usersChanged()
	if u := st.userByUPN("LATE@contoso.com"); u == nil || len(st.sortedUsers()) != before+1 {
		t.Error("a user added after the index was built is not found")
	}
}
