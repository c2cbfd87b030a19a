package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
)

const (
	demoFinance = "68e58909-ccb2-4416-925a-56c9a30f4300"
	demoAlice   = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a"
	demoBob     = "2c63888f-28f0-4481-be6d-dce7a7ace732"
	spPayroll   = "0a1b2c3d-0000-4000-8000-00000000b001"
	spReports   = "0a1b2c3d-0000-4000-8000-00000000b002"
)

// ownersClient serves the demo tenant with Finance owned by alice and the
// service principal "Payroll sync", and a second service principal that
// owns nothing.
func ownersClient(t *testing.T) (*graphsim.Sim, *graph.Client) {
	t.Helper()
	fx := graphsim.DemoFixture()
	fx.ServicePrincipals = append(fx.ServicePrincipals,
		graphsim.ServicePrincipal{ID: spPayroll, DisplayName: "Payroll sync"}, graphsim.ServicePrincipal{ID: spReports, DisplayName: "Reports"})
	for i := range fx.Groups {
		if fx.Groups[i].ID == demoFinance {
			fx.Groups[i].Owners = []string{"alice@contoso.com", spPayroll}
		}
	}
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c, err := graph.New(graph.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func ownersOf(obs *model.Tenant, name string) []string {
	for _, g := range obs.Groups {
		if g.DisplayName == name && g.Owners != nil {
			var out []string
			for _, r := range g.Owners.Members {
				out = append(out, string(r.Kind)+":"+r.Value)
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

func ownerReads(sim *graphsim.Sim) []string {
	var out []string
	for _, e := range sim.Log() {
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/owners") {
			out = append(out, e.Path)
		}
	}
	return out
}

// Read reads owners only of the groups whose owners the spec manages: from
// v1.0 when the set names users only (which leaves service principals
// out), from beta when it names service principals, which it resolves by
// display name.
func TestReadGroupOwners(t *testing.T) {
	sim, c := ownersClient(t)
	desired := func(owners ...model.Ref) *model.Tenant {
		d := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
			{DisplayName: "Finance", Owners: &model.MemberSet{Mode: model.Authoritative, Members: owners}},
			{DisplayName: "Marketing leads"},
		}}
		model.Normalize(d)
		return d
	}
	obs, err := c.Read(context.Background(), desired(model.Ref{Kind: model.User, Value: "bob@contoso.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ownersOf(obs, "Finance"); !slices.Equal(got, []string{"user:" + demoAlice}) {
		t.Errorf("Finance owners from v1.0 = %v, want alice only", got)
	}
	if got := ownersOf(obs, "Marketing leads"); got != nil {
		t.Errorf("owners of a group whose owners are unmanaged were read: %v", got)
	}
	if got := ownerReads(sim); len(got) != 1 || got[0] != "/v1.0/groups/"+demoFinance+"/owners" {
		t.Errorf("owner reads = %v", got)
	}
	if !slices.ContainsFunc(obs.Principals, func(p model.Principal) bool { return p.ID == demoBob && p.UserPrincipalName == "bob@contoso.com" }) {
		t.Errorf("the owner named by UPN was not resolved: %v", obs.Principals)
	}

	sim.ResetLog()
	obs, err = c.Read(context.Background(), desired(model.Ref{Kind: model.ServicePrincipal, Value: "Payroll sync"}, model.Ref{Kind: model.ServicePrincipal, Value: "reports"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ownersOf(obs, "Finance"); !slices.Equal(got, []string{"servicePrincipal:" + spPayroll, "user:" + demoAlice}) {
		t.Errorf("Finance owners from beta = %v", got)
	}
	if got := ownerReads(sim); len(got) != 1 || got[0] != "/beta/groups/"+demoFinance+"/owners" {
		t.Errorf("owner reads = %v", got)
	}
	if !slices.ContainsFunc(obs.Principals, func(p model.Principal) bool {
		return p.ID == spReports && p.Kind == model.ServicePrincipal && p.DisplayName == "Reports"
	}) {
		t.Errorf("a service principal named by display name was not resolved: %v", obs.Principals)
	}

	sim.ResetLog()
	if _, err := c.Read(context.Background(), desiredDemo()); err != nil {
		t.Fatal(err)
	}
	if got := ownerReads(sim); len(got) != 0 {
		t.Errorf("owners read for a spec that declares none: %v", got)
	}
}

// Owner writes are repeat-safe: adding an owner already there and removing
// one already gone both succeed; Graph's refusal to remove the last owner
// comes back as an error naming the request.
func TestGroupOwnerWrites(t *testing.T) {
	_, c := ownersClient(t)
	ctx := context.Background()
	for range 2 {
		if err := c.AddGroupOwner(ctx, demoFinance, demoBob); err != nil {
			t.Fatalf("add: %v", err)
		}
		if err := c.RemoveGroupOwner(ctx, demoFinance, demoAlice); err != nil {
			t.Fatalf("remove: %v", err)
		}
	}
	err := c.RemoveGroupOwner(ctx, demoFinance, demoBob)
	var ge *graph.Error
	if !asError(err, &ge) || ge.Status != 400 || ge.Code != "Request_BadRequest" || !strings.Contains(ge.Message, "at least one owner") ||
		!strings.Contains(err.Error(), "DELETE /v1.0/groups/"+demoFinance+"/owners/"+demoBob+"/$ref") {
		t.Fatalf("removing the last owner: %v", err)
	}
}
