package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
)

func ptr[T any](v T) *T { return &v }

func simClient(t *testing.T, opts graph.Options) (*graphsim.Sim, *graph.Client) {
	t.Helper()
	return simClientOn(t, graphsim.DemoFixture(), opts)
}

// simClientOn is simClient on a tenant of the test's own.
func simClientOn(t *testing.T, fx *graphsim.Fixture, opts graph.Options) (*graphsim.Sim, *graph.Client) {
	t.Helper()
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	opts.BaseURL = url
	c, err := graph.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func desiredDemo() *model.Tenant {
	t := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
		{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{
			{Kind: model.User, Value: "frank@contoso.com"}, {Kind: model.User, Value: "ivan@contoso.com"},
			{Kind: model.User, Value: "6c42590f-fcf0-4922-bac6-205f7c6aa89c"}, {Kind: model.GroupKind, Value: "Marketing leads"},
		}}},
		{DisplayName: "Sec group 1", CloudManaged: ptr(true)},
		{DisplayName: "Not there yet"},
	}}
	model.Normalize(t)
	return t
}

// Read maps Graph's answers into the model: groups the spec names, members
// of managed sets, the source of authority of groups to convert, and the
// principals behind every reference.
func TestReadMapsTheDemoTenant(t *testing.T) {
	sim, c := simClient(t, graph.Options{})
	obs, err := c.Read(context.Background(), desiredDemo())
	if err != nil {
		t.Fatal(err)
	}
	if obs.Domain != "contoso.onmicrosoft.com" {
		t.Errorf("domain = %q", obs.Domain)
	}
	byName := map[string]*model.Group{}
	for _, g := range obs.Groups {
		byName[g.DisplayName] = g
	}
	if len(obs.Groups) != 2 || byName["Finance"] == nil || byName["Sec group 1"] == nil {
		t.Fatalf("groups = %v", obs.Groups)
	}
	fin := byName["Finance"]
	if fin.Members == nil || len(fin.Members.Members) != 3 || deref(fin.Description) != "Finance department" {
		t.Errorf("Finance = %+v members %+v", fin, fin.Members)
	}
	sec := byName["Sec group 1"]
	if !sec.Synced || sec.CloudManaged == nil || *sec.CloudManaged || sec.Members != nil {
		t.Errorf("Sec group 1 = %+v (want synced, not cloud-managed, members unread)", sec)
	}
	labels := map[string]bool{}
	for _, p := range obs.Principals {
		labels[p.Label()] = true
	}
	for _, want := range []string{"ivan@contoso.com", "niaj@contoso.com", "Marketing leads", "heidi@contoso.com"} {
		if !labels[want] {
			t.Errorf("principal %s not read; have %v", want, labels)
		}
	}
	for _, e := range sim.Log() {
		if strings.Contains(e.Path, "getByIds") {
			t.Errorf("Read used getByIds, which needs Directory.Read.All: %s", e.Path)
		}
		if strings.Contains(e.Path, "onPremisesSyncBehavior") && !strings.HasPrefix(e.Path, "/beta/") {
			t.Errorf("onPremisesSyncBehavior read outside beta: %s", e.Path)
		}
	}
}

// Without Directory.Read.All, /organization answers 403: the tenant check
// is skipped with a warning instead of failing the plan.
func TestReadWithoutOrganizationAccess(t *testing.T) {
	var logs bytes.Buffer
	sim, c := simClient(t, graph.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	sim.FailNext("GET", "/organization", 403, 1)
	obs, err := c.Read(context.Background(), desiredDemo())
	if err != nil {
		t.Fatal(err)
	}
	if obs.Domain != "" || len(obs.Groups) != 2 {
		t.Errorf("domain %q, %d groups", obs.Domain, len(obs.Groups))
	}
	if !strings.Contains(logs.String(), "Directory.Read.All") {
		t.Errorf("no warning naming the permission: %s", logs.String())
	}
}

// A Graph error during the read names the request, the code and request-id.
func TestReadErrorNamesTheRequest(t *testing.T) {
	sim, c := simClient(t, graph.Options{})
	sim.FailNext("GET", "/groups/*/members", 403, 1)
	_, err := c.Read(context.Background(), desiredDemo())
	var ge *graph.Error
	if err == nil || !asError(err, &ge) || ge.Status != 403 || ge.RequestID == "" || !strings.Contains(err.Error(), "/members") {
		t.Fatalf("err = %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// A spec that names several catalogs finds them on the first page of the
// tenant's catalog list: one request answers every name, namesakes and
// absences included. A tenant with more than a page of catalogs is asked
// one filter per name instead, and the two reads observe the same.
func TestCatalogsAreReadFromOnePageOrByName(t *testing.T) {
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	for _, n := range []string{"Sales", "Engineering", "Not there", "Twice"} {
		desired.Catalogs = append(desired.Catalogs, &model.Catalog{DisplayName: n})
	}
	model.Normalize(desired)
	read := func(extra int) (names []string, lists, filters int) {
		fx := graphsim.DemoFixture()
		for _, n := range []string{"sales", "Engineering", "Twice", "Twice", "Unrelated"} {
			fx.Catalogs = append(fx.Catalogs, graphsim.Catalog{DisplayName: n})
		}
		for i := range extra {
			fx.Catalogs = append(fx.Catalogs, graphsim.Catalog{DisplayName: fmt.Sprintf("Filler %03d", i)})
		}
		sim, c := simClientOn(t, fx, graph.Options{})
		obs, err := c.Read(context.Background(), desired)
		if err != nil {
			t.Fatal(err)
		}
		for _, cat := range obs.Catalogs {
			names = append(names, cat.DisplayName)
		}
		slices.Sort(names)
		for _, e := range sim.Log() {
			if e.Method == "GET" && strings.HasSuffix(e.Path, "/entitlementManagement/catalogs") {
				if strings.Contains(e.Query, "filter") {
					filters++
				} else {
					lists++
				}
			}
		}
		return names, lists, filters
	}
	want := []string{"Engineering", "Twice", "Twice", "sales"}
	names, lists, filters := read(0)
	if !slices.Equal(names, want) || lists != 1 || filters != 0 {
		t.Errorf("few catalogs: observed %q with %d list and %d filtered requests, want %q from 1 list", names, lists, filters, want)
	}
	names, lists, filters = read(150)
	if !slices.Equal(names, want) || lists != 1 || filters != len(desired.Catalogs) {
		t.Errorf("many catalogs: observed %q with %d list and %d filtered requests, want %q from 1 list and %d filters", names, lists, filters, want, len(desired.Catalogs))
	}
}
