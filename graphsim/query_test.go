package graphsim

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestFilterParsing(t *testing.T) {
	cases := []struct {
		filter   string
		advanced bool
		code     string // "" = parses
	}{
		{"mail eq 'a@b.com'", false, ""},
		{"userPrincipalName eq 'o''brien@contoso.com'", false, ""},
		{"displayName eq 'A' and (givenName eq 'B' or surname eq 'C')", false, ""},
		{"displayName in ('a', 'b','c')", false, ""},
		{"startswith(displayName,'Al')", false, ""},
		{"startsWith(displayName, 'Al')", false, ""},
		{"otherMails/any(x:x eq 'a@b.com')", false, ""},
		{"otherMails/any(x:startswith(x,'a'))", false, ""},
		{"accountEnabled eq true", false, ""},
		{"onPremisesSyncEnabled eq null", false, ""},
		{"id eq 6c42590f-fcf0-4922-bac6-205f7c6aa89c", false, ""},
		{"id in ('6c42590f-fcf0-4922-bac6-205f7c6aa89c')", false, ""},
		{"mail ne 'x'", false, "Request_UnsupportedQuery"},
		{"mail ne 'x'", true, ""},
		{"not(mail eq 'x')", false, "Request_UnsupportedQuery"},
		{"not(mail eq 'x')", true, ""},
		{"endswith(mail,'@contoso.com')", false, "Request_UnsupportedQuery"},
		{"endswith(mail,'@contoso.com')", true, ""},
		{"endswith(displayName,'x')", true, "Request_UnsupportedQuery"},
		{"createdDateTime eq '2020-01-01'", false, "Request_UnsupportedQuery"},
		{"aboutMe eq 'x'", false, "Request_UnsupportedQuery"},
		{"colour eq 'red'", false, "BadRequest"},
		{"contains(displayName,'x')", false, "Request_UnsupportedQuery"},
		{"otherMails eq 'x'", false, "Request_UnsupportedQuery"},
		{"mail/any(x:x eq 'a')", false, "Request_UnsupportedQuery"},
		{"mail eq 'unterminated", false, "BadRequest"},
		{"mail eq", false, "BadRequest"},
		{"mail eq 'a' extra", false, "BadRequest"},
		{"accountEnabled eq 'true'", false, "BadRequest"},
		{"displayName gt 'a'", false, "Request_UnsupportedQuery"},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := parseFilter(tc.filter, userType, tc.advanced)
			code := ""
			if err != nil {
				code = err.(*filterError).code
			}
			if code != tc.code {
				t.Fatalf("parseFilter(%q) code = %q (%v), want %q", tc.filter, code, err, tc.code)
			}
		})
	}
	if _, err := parseFilter("groupTypes/any(c:c eq 'DynamicMembership')", groupType, false); err != nil {
		t.Fatal(err)
	}
}

func TestFilterOverHTTP(t *testing.T) {
	h := newHarness(t, nil)
	ids := func(path string, hdr ...string) []string {
		t.Helper()
		r := h.do("GET", path, nil, hdr...).mustStatus(t, 200)
		return r.ids()
	}
	names := func(path string, hdr ...string) string {
		t.Helper()
		r := h.do("GET", path, nil, hdr...).mustStatus(t, 200)
		var out []string
		for _, v := range r.values() {
			out = append(out, fmt.Sprint(v["displayName"]))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := ids("/v1.0/users?$filter=mail eq 'ALICE@contoso.com'"); fmt.Sprint(got) != fmt.Sprint([]string{demoAlice}) {
		t.Fatalf("case-insensitive eq: %v", got)
	}
	if got := names("/v1.0/users?$filter=startswith(displayName,'a') or userPrincipalName in ('bob@contoso.com','carol@contoso.com')"); got != "Alice Adams,Bob Brown,Carol Clark" {
		t.Fatalf("or/in/startswith: %s", got)
	}
	if got := names("/v1.0/users?$filter=otherMails/any(x:x eq 'mallory@fabrikam.com')"); got != "Mallory (Fabrikam)" {
		t.Fatalf("lambda: %s", got)
	}
	if got := names("/v1.0/groups?$filter=groupTypes/any(c:c eq 'DynamicMembership')"); got != "Sales dynamic" {
		t.Fatalf("groupTypes lambda: %s", got)
	}
	if got := names("/v1.0/groups?$filter=displayName eq 'Finance' and securityEnabled eq true"); got != "Finance" {
		t.Fatalf("and: %s", got)
	}
	if got := names("/v1.0/groups?$filter=onPremisesSyncEnabled eq true"); got != "Sec group 1" {
		t.Fatalf("bool: %s", got)
	}
	// ne needs advanced query parameters.
	r := h.do("GET", "/v1.0/users?$filter=userType ne 'Guest'", nil).mustStatus(t, 400)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
	if r.errorCode() != "Request_UnsupportedQuery" {
		t.Fatalf("ne without advanced: %s", r.raw)
	}
	adv := h.do("GET", "/v1.0/users?$filter=userType ne 'Guest'&$count=true", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if adv.obj["@odata.count"] != float64(11) || len(adv.values()) != 11 {
		t.Fatalf("advanced ne: count=%v n=%d", adv.obj["@odata.count"], len(adv.values()))
	}
	validate(t, "microsoft.graph.userCollectionResponse", adv.raw)
	e := h.do("GET", "/v1.0/users?$filter=endswith(mail,'@fabrikam.com')", nil).mustStatus(t, 400)
	if e.errorMessage() != exampleObject(t, "error-Request_UnsupportedQuery-endsWith.response.json")["error"].(map[string]any)["message"] {
		t.Fatalf("endsWith message: %s", e.errorMessage())
	}
	u := h.do("GET", "/v1.0/groups?$filter=createdDateTime eq '2020-01-01'", nil).mustStatus(t, 400)
	if u.errorMessage() != exampleObject(t, "error-Request_UnsupportedQuery-unindexed.response.json")["error"].(map[string]any)["message"] {
		t.Fatalf("unindexed message: %s", u.errorMessage())
	}
	s := h.do("GET", `/v1.0/users?$search="displayName:ali"`, nil).mustStatus(t, 400)
	if s.errorMessage() != exampleObject(t, "error-Request_UnsupportedQuery-search.response.json")["error"].(map[string]any)["message"] {
		t.Fatalf("search message: %s", s.errorMessage())
	}
	if got := names(`/v1.0/users?$search="displayName:ali"`, "ConsistencyLevel: eventual"); got != "Alice Adams" {
		t.Fatalf("search: %s", got)
	}
	// Member $filter needs advanced queries.
	h.do("GET", "/v1.0/groups/"+demoFinance+"/members?$filter=startswith(displayName,'F')", nil).mustStatus(t, 400)
	if got := names("/v1.0/groups/"+demoFinance+"/members?$filter=startswith(displayName,'F')&$count=true", "ConsistencyLevel: eventual"); got != "Frank Foster" {
		t.Fatalf("member filter: %s", got)
	}
	// $orderby displayName works by default.
	ord := h.do("GET", "/v1.0/groups?$orderby=displayName&$select=displayName", nil).mustStatus(t, 200)
	var order []string
	for _, v := range ord.values() {
		order = append(order, v["displayName"].(string))
	}
	if strings.Join(order, "|") != "Finance|Marketing leads|Old project|Sales dynamic|Sec group 1" {
		t.Fatalf("orderby: %v", order)
	}
}

func TestCountAndTop(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do("GET", "/v1.0/groups/$count", nil).mustStatus(t, 400)
	want := exampleObject(t, "error-Request_BadRequest-count-without-consistencylevel.response.json")["error"].(map[string]any)
	if r.errorCode() != want["code"] || r.errorMessage() != want["message"] {
		t.Fatalf("$count without header: %s", r.raw)
	}
	c := h.do("GET", "/v1.0/groups/$count", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if string(c.raw) != "5" {
		t.Fatalf("$count = %q", c.raw)
	}
	c = h.do("GET", "/v1.0/users/$count?$filter=userType eq 'Guest'", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if string(c.raw) != "1" {
		t.Fatalf("filtered $count = %q", c.raw)
	}
	c = h.do("GET", "/v1.0/groups/"+demoFinance+"/members/$count", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if string(c.raw) != "3" {
		t.Fatalf("members $count = %q", c.raw)
	}
	// $count=true without the header is silently ignored.
	l := h.do("GET", "/v1.0/groups?$count=true", nil).mustStatus(t, 200)
	if _, ok := l.obj["@odata.count"]; ok {
		t.Fatalf("@odata.count without ConsistencyLevel: %s", l.raw)
	}
	validate(t, "microsoft.graph.groupCollectionResponse", l.raw)
	for _, top := range []string{"0", "1000", "abc", "-1"} {
		r := h.do("GET", "/v1.0/users?$top="+top, nil).mustStatus(t, 400)
		if r.errorCode() != "Request_BadRequest" || !strings.HasPrefix(r.errorMessage(), "Invalid page size specified") {
			t.Fatalf("$top=%s: %s", top, r.raw)
		}
	}
	h.do("GET", "/v1.0/users?$top=999", nil).mustStatus(t, 200)
	// RU modifiers: GET users 2, $select -1, $top<20 -1, never below 1.
	for q, want := range map[string]string{"": "2", "?$select=id": "1", "?$top=5": "1", "?$top=5&$select=id": "1", "?$top=50": "2"} {
		if got := h.do("GET", "/v1.0/users"+q, nil).header.Get("x-ms-resource-unit"); got != want {
			t.Errorf("RU for /users%s = %s, want %s", q, got, want)
		}
	}
	if got := h.do("GET", "/v1.0/groups/"+demoFinance+"/members", nil).header.Get("x-ms-resource-unit"); got != "3" {
		t.Errorf("RU members = %s", got)
	}
	if got := h.do("GET", "/v1.0/groups/"+demoFinance+"/transitiveMembers", nil).header.Get("x-ms-resource-unit"); got != "5" {
		t.Errorf("RU transitiveMembers = %s", got)
	}
	if got := h.do("PATCH", "/v1.0/groups/"+demoFinance, map[string]any{"description": "d"}).header.Get("x-ms-resource-unit"); got != "1" {
		t.Errorf("RU write = %s", got)
	}
}

// bigFixture: one group with n user members.
func bigFixture(n int) (*Fixture, string) {
	f := &Fixture{Tenant: Tenant{Domain: "big.onmicrosoft.com"}}
	g := Group{ID: "99999999-0000-4000-8000-000000000001", DisplayName: "Everyone", MailNickname: "everyone"}
	for i := range n {
		id := fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i)
		f.Users = append(f.Users, User{ID: id, UserPrincipalName: fmt.Sprintf("user%05d@big.com", i), DisplayName: fmt.Sprintf("User %05d", i)})
		g.Members = append(g.Members, id)
	}
	f.Groups = []Group{g}
	return f, g.ID
}

func TestPaging5000Members(t *testing.T) {
	f, gid := bigFixture(5000)
	h := newHarness(t, f)
	next := "/v1.0/groups/" + gid + "/members?$top=999&$select=id,displayName"
	pages, seen := 0, map[string]bool{}
	for next != "" {
		r := h.do("GET", next, nil).mustStatus(t, 200)
		pages++
		if pages == 1 {
			validate(t, "microsoft.graph.directoryObjectCollectionResponse", r.raw)
			if strings.Contains(string(r.raw), `\u0026`) {
				t.Fatalf("nextLink has HTML-escaped '&': %s", r.obj["@odata.nextLink"])
			}
		}
		for _, id := range r.ids() {
			if seen[id] {
				t.Fatalf("duplicate %s on page %d", id, pages)
			}
			seen[id] = true
		}
		nl, _ := r.obj["@odata.nextLink"].(string)
		if nl != "" {
			u, err := url.Parse(nl)
			if err != nil || u.Scheme != "http" || !strings.HasPrefix(nl, h.base+"/v1.0/groups/"+gid+"/members?") {
				t.Fatalf("nextLink not absolute on the request host: %s", nl)
			}
			q := u.Query()
			if q.Get("$top") != "999" || q.Get("$select") != "id,displayName" || q.Get("$skiptoken") == "" {
				t.Fatalf("nextLink lost options: %s", nl)
			}
		}
		next = nl // followed verbatim
	}
	if pages != 6 || len(seen) != 5000 {
		t.Fatalf("pages = %d, objects = %d", pages, len(seen))
	}
	// Default page size 100.
	r := h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)
	if len(r.values()) != 100 || r.obj["@odata.nextLink"] == nil {
		t.Fatalf("default page: %d", len(r.values()))
	}
	// @odata.count only on the first page.
	first := h.do("GET", "/v1.0/users?$count=true&$top=10", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if first.obj["@odata.count"] != float64(5000) {
		t.Fatalf("count = %v", first.obj["@odata.count"])
	}
	second := h.do("GET", first.obj["@odata.nextLink"].(string), nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if _, ok := second.obj["@odata.count"]; ok {
		t.Fatalf("@odata.count on page 2")
	}
	h.do("GET", "/v1.0/users?$skiptoken=garbage", nil).mustStatus(t, 400)
	// Removing the last object of a page between requests does not make the
	// next page skip survivors (the skiptoken encodes a position, not an offset).
	p1 := h.do("GET", "/v1.0/groups/"+gid+"/members?$top=10&$select=id", nil).mustStatus(t, 200)
	h.do("DELETE", "/v1.0/groups/"+gid+"/members/"+p1.ids()[9]+"/$ref", nil).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+gid+"/members/"+p1.ids()[0]+"/$ref", nil).mustStatus(t, 204)
	p2 := h.do("GET", p1.obj["@odata.nextLink"].(string), nil).mustStatus(t, 200)
	if p2.ids()[0] != fmt.Sprintf("%08x-1111-4000-8000-%012x", 10, 10) {
		t.Fatalf("page 2 starts at %s", p2.ids()[0])
	}
}
