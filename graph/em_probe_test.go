package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
)

// Packages, policies and assignments of several packages are read from the
// first page of the tenant-wide lists when the caller sees the whole
// tenant, one list per catalog or package otherwise, or when a tenant-wide
// list has more than one page. Every way observes the same.
func TestPackagePartsComeFromTenantWidePages(t *testing.T) {
	const (
		alice = "0b6e7d3a-5f1c-4f0e-9c41-1a2b3c4d5e01"
		bob   = "0b6e7d3a-5f1c-4f0e-9c41-1a2b3c4d5e02"
	)
	fixture := func(filler int) *graphsim.Fixture {
		fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
		fx.Users = []graphsim.User{{ID: alice, UserPrincipalName: "alice@contoso.com"}, {ID: bob, UserPrincipalName: "bob@contoso.com"}}
		for c, name := range []string{"Sales", "Engineering", "Filler"} {
			fx.Catalogs = append(fx.Catalogs, graphsim.Catalog{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", c), DisplayName: name})
		}
		for k, target := range []string{alice, bob} {
			pol := fmt.Sprintf("a0000000-0000-4000-8000-%012d", k)
			fx.AccessPackages = append(fx.AccessPackages, graphsim.AccessPackage{
				ID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", k), CatalogID: fx.Catalogs[k].ID, DisplayName: "Access",
				AssignmentPolicies: []json.RawMessage{
					json.RawMessage(`{"id":"` + pol + `","displayName":"Direct","expiration":{"type":"noExpiration"},` +
						`"questions":[{"@odata.type":"#microsoft.graph.accessPackageTextInputQuestion","text":"Why?","isRequired":true,"sequence":1}]}`),
					json.RawMessage(`{"displayName":"Second","expiration":{"type":"afterDuration","duration":"P30D"}}`),
				},
				Assignments: []graphsim.Assignment{{TargetID: target, AssignmentPolicyID: pol}},
			})
		}
		// Packages and policies the spec does not name, in a catalog it
		// does not name: enough of them for the tenant-wide lists to
		// have a second page.
		for i := range filler {
			fx.AccessPackages = append(fx.AccessPackages, graphsim.AccessPackage{CatalogID: fx.Catalogs[2].ID, DisplayName: fmt.Sprintf("Filler %03d", i),
				AssignmentPolicies: []json.RawMessage{json.RawMessage(`{"displayName":"Direct","expiration":{"type":"noExpiration"}}`)}})
		}
		return fx
	}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	for _, cat := range []string{"Sales", "Engineering"} {
		desired.Catalogs = append(desired.Catalogs, &model.Catalog{DisplayName: cat})
		desired.AccessPackages = append(desired.AccessPackages, &model.AccessPackage{DisplayName: "Access", Catalog: cat,
			Policies: &[]*model.Policy{}, Assignments: &model.AssignmentSet{Mode: model.Authoritative, Targets: []model.Ref{}}})
	}
	model.Normalize(desired)

	// read returns what was observed of the packages, and how many
	// requests of each shape read them: tenant-wide or one per catalog or
	// package.
	read := func(filler int, whole bool) ([]*model.AccessPackage, map[string]int) {
		sim, c := simClientOn(t, fixture(filler), graph.Options{})
		c.SetWholeTenantEM(whole)
		obs, err := c.Read(context.Background(), desired)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range sim.Log() {
			i := strings.Index(e.Path, "/entitlementManagement/")
			if e.Method != "GET" || i < 0 || strings.HasSuffix(e.Path, "/resources") {
				continue // (each catalog's resources are read on their own)
			}
			q, _ := url.QueryUnescape(e.Query)
			what := e.Path[i+len("/entitlementManagement/"):]
			if strings.Contains(q, "accessPackage/id eq") || strings.Contains(q, "catalog/id eq") {
				what += " by id"
			}
			counts[what]++
		}
		return obs.AccessPackages, counts
	}

	want, perPackage := read(0, false)
	if len(want) != 2 || want[0].Policies == nil || len(*want[0].Policies) != 2 || want[0].Assignments == nil || len(want[0].Assignments.Live) != 1 {
		t.Fatalf("read one list per package: %s", dump(want))
	}
	if q := (*want[0].Policies)[0].Body["questions"]; q == nil {
		t.Errorf("the policy's questions were not read: %s", dump(want))
	}
	wantCounts := map[string]int{"catalogs": 2, "accessPackages by id": 2, "assignmentPolicies by id": 2, "assignments by id": 2}
	if diff := cmp.Diff(wantCounts, perPackage); diff != "" {
		t.Errorf("a caller that may not see the whole tenant: requests (-want +got):\n%s", diff)
	}

	got, tenantWide := read(0, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read from the tenant-wide pages (-per package +tenant-wide):\n%s", diff)
	}
	wantCounts = map[string]int{"catalogs": 2, "accessPackages": 1, "assignmentPolicies": 1, "assignments": 1}
	if diff := cmp.Diff(wantCounts, tenantWide); diff != "" {
		t.Errorf("tenant-wide: requests (-want +got):\n%s", diff)
	}

	// 150 other packages and policies: their lists have a second page,
	// which is not followed; the assignments still fit one.
	got, fallback := read(150, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read with a tenant of more than a page (-per package +fallen back):\n%s", diff)
	}
	wantCounts = map[string]int{"catalogs": 2, "accessPackages": 1, "accessPackages by id": 2, "assignmentPolicies": 1, "assignmentPolicies by id": 2, "assignments": 1}
	if diff := cmp.Diff(wantCounts, fallback); diff != "" {
		t.Errorf("a tenant of more than a page: requests (-want +got):\n%s", diff)
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
