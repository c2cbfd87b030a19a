package graphsim

import (
	"net/url"
	"strings"
	"testing"
)

func TestOrganizationListsVerifiedDomains(t *testing.T) {
	h := newHarness(t, DemoFixture())
	r := h.do("GET", "/v1.0/organization?$select=id,verifiedDomains", nil).mustStatus(t, 200)
	orgs := r.obj["value"].([]any)
	domains := orgs[0].(map[string]any)["verifiedDomains"].([]any)
	var names []string
	for _, d := range domains {
		names = append(names, d.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "contoso.onmicrosoft.com,contoso.com" {
		t.Errorf("verified domains = %v", names)
	}
}

func TestServicePrincipalList(t *testing.T) {
	f := DemoFixture()
	f.ServicePrincipals = append(f.ServicePrincipals, ServicePrincipal{ID: "11111111-2222-3333-4444-555555555555", AppID: "00000003-0000-0000-c000-000000000000", DisplayName: "Microsoft Graph"})
	h := newHarness(t, f)
	q := url.QueryEscape("id in ('11111111-2222-3333-4444-555555555555')")
	r := h.do("GET", "/v1.0/servicePrincipals?$select=id,displayName&$filter="+q, nil).mustStatus(t, 200)
	if v := r.obj["value"].([]any); len(v) != 1 || v[0].(map[string]any)["displayName"] != "Microsoft Graph" {
		t.Errorf("value = %v", v)
	}
}

// Graph matches displayName in a standard filter only up to 120 characters.
func TestDisplayNameFilterLimit(t *testing.T) {
	h := newHarness(t, DemoFixture())
	long := strings.Repeat("x", 121)
	h.do("GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName eq '"+long+"'"), nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName in ('a','"+long+"')"), nil).mustStatus(t, 400)
	h.do("GET", "/v1.0/groups?$filter="+url.QueryEscape("displayName eq '"+long[:120]+"'"), nil).mustStatus(t, 200)
	h.do("GET", "/v1.0/groups?$count=true&$filter="+url.QueryEscape("displayName eq '"+long+"'"), nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
}
