package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// captured records the one request a test handler got.
type captured struct {
	method, path string
	header       http.Header
	body         map[string]any
}

func capture(t *testing.T, status int) (*Client, *captured) {
	t.Helper()
	got := &captured{}
	c := newTestClient(t, unbatch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.header = r.Method, r.URL.Path, r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&got.body)
		w.WriteHeader(status)
	})))
	return c, got
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Issue 9, hole 8: the federated-credential upsert sends Prefer:
// create-if-missing, which federatedidentitycredential-upsert says makes the
// PATCH an upsert (without it a new credential is never created).
func TestUpsertFederatedCredentialPrefersCreate(t *testing.T) {
	c, got := capture(t, http.StatusNoContent)
	err := c.UpsertFederatedCredential(context.Background(), "11111111-1111-4111-8111-111111111111", "github-production",
		map[string]any{"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:environment:prod", "audiences": []string{"api://AzureADTokenExchange"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "PATCH" || got.header.Get("Prefer") != "create-if-missing" {
		t.Errorf("%s %s with Prefer %q, want PATCH with Prefer: create-if-missing", got.method, got.path, got.header.Get("Prefer"))
	}
}

// The role-scope body has the properties of Microsoft's example, role
// displayName and scope isRootScope included.
func TestAddRoleScopeBodyHasTheDocumentedShape(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "graph", "examples", "entitlement-accessPackage-resourceRoleScope-create-group.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	c, got := capture(t, http.StatusCreated)
	err = c.AddRoleScope(context.Background(), "pkg", "AadGroup", "0282e19d-bf41-435d-92a4-99bab93af305", "Member_0282e19d-bf41-435d-92a4-99bab93af305",
		RoleScope{ResourceID: "b16e0e71-17b4-4ebd-a3cd-8a468542e418", RoleID: "748f8431-c7c6-404d-8564-df67aa8cfc5e", RoleDisplayName: "Member", ScopeID: "83b3e3e9-c8b3-481b-ad80-53e29d1eda9c"})
	if err != nil {
		t.Fatal(err)
	}
	role, _ := got.body["role"].(map[string]any)
	scope, _ := got.body["scope"].(map[string]any)
	// The example's role and root scope carry display text the catalog
	// gives; entrasync sends every property that identifies them.
	for _, k := range []string{"id", "displayName", "originSystem", "originId", "resource"} {
		if _, ok := want["role"][k]; !ok {
			t.Fatalf("the example's role has no %q: fix the test", k)
		}
		if _, ok := role[k]; !ok {
			t.Errorf("role lacks %q: sent %v", k, keysOf(role))
		}
	}
	for _, k := range []string{"id", "originId", "originSystem", "isRootScope"} {
		if _, ok := want["scope"][k]; !ok {
			t.Fatalf("the example's scope has no %q: fix the test", k)
		}
		if _, ok := scope[k]; !ok {
			t.Errorf("scope lacks %q: sent %v", k, keysOf(scope))
		}
	}
	if role["displayName"] != want["role"]["displayName"] || scope["isRootScope"] != true {
		t.Errorf("role %v, scope %v", role, scope)
	}
}

// A blueprint's uniqueName goes into the URL as one escaped OData key: it
// cannot add a path segment or a query.
func TestUpsertBlueprintEscapesTheUniqueName(t *testing.T) {
	var paths, queries []string
	c := newTestClient(t, unbatch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths, queries = append(paths, r.URL.EscapedPath()), append(queries, r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	})))
	_, _, _ = c.UpsertBlueprint(context.Background(), "o'brien/../x?$filter=1#y", map[string]any{"displayName": "X"})
	if len(paths) == 0 {
		t.Fatal("no request")
	}
	decoded, err := url.PathUnescape(paths[0])
	want := "/v1.0/applications(uniqueName='o''brien/../x?$filter=1#y')/microsoft.graph.agentIdentityBlueprint"
	if err != nil || decoded != want || queries[0] != "" || !strings.Contains(paths[0], "%2F..%2Fx%3F") || !strings.Contains(paths[0], "%23y") {
		t.Errorf("path %s (decoded %s), query %q; want %s as one escaped segment, no query", paths[0], decoded, queries[0], want)
	}
}

// A group is created with POST /groups and the properties Microsoft's
// security-group example sends (group-create-security), plus the
// uniqueName that makes a second create of it fail instead of duplicating.
func TestCreateGroupBodyHasTheDocumentedShape(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "graph", "examples", "group-create-security.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	c, got := capture(t, http.StatusCreated)
	name, nick := "Operations group", "operations2019"
	_, err = c.CreateGroup(context.Background(), "entrasync-0123456789abcdef0123", GroupFields{DisplayName: &name, MailNickname: &nick})
	if err == nil {
		t.Fatal("an answer without a group id was taken for a create")
	}
	if got.method != "POST" || got.path != "/v1.0/groups" {
		t.Errorf("sent %s %s, want POST /v1.0/groups", got.method, got.path)
	}
	for _, k := range []string{"displayName", "groupTypes", "mailEnabled", "mailNickname", "securityEnabled"} {
		if _, ok := want[k]; !ok {
			t.Fatalf("the example has no %q: fix the test", k)
		}
		if _, ok := got.body[k]; !ok {
			t.Errorf("body has no %q; it has %v", k, keysOf(got.body))
		}
	}
	if got.body["mailEnabled"] != false || got.body["securityEnabled"] != true || got.body["uniqueName"] != "entrasync-0123456789abcdef0123" {
		t.Errorf("body %v: want a security group (mailEnabled false, securityEnabled true) with its uniqueName", got.body)
	}
}
