package appliers

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

var update = flag.Bool("update", false, "rewrite golden files")

func samplePlan() *planner.Plan {
	var add []planner.Member
	for i := range 23 {
		add = append(add, planner.Member{Kind: model.User, ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Label: fmt.Sprintf("u%d", i)})
	}
	add = append(add, planner.Member{Kind: model.GroupKind, Address: `group["New"]`, Label: "New"})
	return &planner.Plan{Changes: []planner.Change{
		{Address: `group["New"]`, Kind: planner.KindGroup, Action: planner.Create, Fields: []planner.FieldDiff{
			{Field: "displayName", After: "New"}, {Field: "mailNickname", After: "new"}, {Field: "uniqueName", After: "entrasync-abc"},
		}},
		{Address: `group["Dyn"]`, Kind: planner.KindGroup, Action: planner.Update, ObjectID: "g-dyn", Fields: []planner.FieldDiff{
			{Field: "description", Before: "x", After: ""},
			{Field: "groupTypes", Before: []any{"Unified"}, After: []any{"Unified", "DynamicMembership"}},
			{Field: "membershipRule", Before: "", After: `(user.department -eq "Sales")`},
		}},
		{Address: `group["Sync"].cloudManaged`, Kind: planner.KindGroupSourceOfAuthority, Action: planner.Update, ObjectID: "g-sync"},
		{Address: `group["Big"].members`, Kind: planner.KindGroupMembers, Action: planner.Update, ObjectID: "g-big", Members: &planner.MemberDiff{
			Mode: model.Authoritative, Add: add, Remove: []planner.Member{{Kind: model.User, ID: "gone-1", Label: "gone"}},
		}},
		{Address: `group["New"].owners`, Kind: planner.KindGroupOwners, Action: planner.Update, DependsOn: []string{`group["New"]`}, Members: &planner.MemberDiff{
			Mode: model.Additive, Add: []planner.Member{{Kind: model.User, ID: "owner-alice", Label: "alice@contoso.com"}, {Kind: model.ServicePrincipal, ID: "sp-payroll", Label: "Payroll sync"}},
		}},
		{Address: `group["Big"].owners`, Kind: planner.KindGroupOwners, Action: planner.Update, ObjectID: "g-big", Members: &planner.MemberDiff{
			Mode: model.Authoritative, Live: 2, Add: []planner.Member{{Kind: model.User, ID: "owner-carol", Label: "carol@contoso.com"}},
			Remove: []planner.Member{{Kind: model.User, ID: "owner-bob", Label: "bob@contoso.com"}},
		}},
		{Address: `group["Old"]`, Kind: planner.KindGroup, Action: planner.Delete, ObjectID: "g-old"},
		// Package roles: a group's Member role, an app role, a SharePoint
		// site's role by its originId, a site role the apply resolves by
		// name (the site is added to the catalog in the same apply), and a
		// removal.
		{Address: `access_package["Marketing"/"Campaign"].roles`, Kind: planner.KindPackageRoles, Action: planner.Update, ObjectID: "pkg-1",
			Parents: map[string]planner.Parent{"catalog": {Address: `catalog["Marketing"]`, ID: "cat-1"}, "package": {Address: `access_package["Marketing"/"Campaign"]`, ID: "pkg-1"}},
			Roles: &planner.RoleDiff{
				Add: []planner.RoleRef{
					{Group: planner.Member{Kind: model.GroupKind, ID: "g-res", Label: "Res"}, Role: "Member"},
					{Group: planner.Member{Kind: model.ServicePrincipal, ID: "sp-payroll", Label: "Payroll"}, Role: "Approver", RoleID: "approver-role-id", AppID: "app-payroll"},
					{Group: planner.Member{Kind: model.SiteKind, ID: "https://contoso.sharepoint.com/sites/Contoso", Label: "https://contoso.sharepoint.com/sites/Contoso"}, Role: "Contoso Members", RoleID: "4"},
					{Group: planner.Member{Kind: model.SiteKind, ID: "https://contoso.sharepoint.com/sites/HR", Label: "https://contoso.sharepoint.com/sites/HR"}, Role: "HR Members"},
				},
				Remove: []planner.RoleRef{{Group: planner.Member{Kind: model.SiteKind, ID: "https://contoso.sharepoint.com/sites/Contoso", Label: "https://contoso.sharepoint.com/sites/Contoso"}, Role: "Contoso Visitors", RoleID: "5", ID: "rrs-site"}},
			}},
		// A custom extension created in the apply, and a policy that runs
		// it and a live one: the created one's id replaces its placeholder.
		{Address: `catalog["Marketing"].customExtension["Ticket"]`, Kind: planner.KindCustomExtension, Action: planner.Create,
			Parents: map[string]planner.Parent{"catalog": {Address: `catalog["Marketing"]`, ID: "cat-1"}},
			Body:    map[string]any{"@odata.type": model.RequestExtensionType, "displayName": "Ticket"}},
		{Address: `assignment_policy["Marketing"/"Campaign"/"Hooked"]`, Kind: planner.KindPolicy, Action: planner.Create,
			Parents: map[string]planner.Parent{"package": {Address: `access_package["Marketing"/"Campaign"]`, ID: "pkg-1"}},
			Body: map[string]any{"displayName": "Hooked", "customExtensionStageSettings": []any{
				map[string]any{"stage": "assignmentRequestCreated", "customExtension": map[string]any{"id": `{catalog["Marketing"].customExtension["Ticket"].id}`}},
				map[string]any{"stage": "assignmentRequestGranted", "customExtension": map[string]any{"id": "ext-live"}},
			}}},
		{Address: `catalog["Marketing"].customExtension["Old"]`, Kind: planner.KindCustomExtension, Action: planner.Delete, ObjectID: "ext-old",
			Parents: map[string]planner.Parent{"catalog": {Address: `catalog["Marketing"]`, ID: "cat-1"}}},
	}}
}

// Compiling is pure: the same change always gives the same requests.
func TestCompileGolden(t *testing.T) {
	ids := &idRegistry{m: map[string]string{`group["New"]`: "g-new", `catalog["Marketing"].customExtension["Ticket"]`: "ext-new"}}
	var out []Op
	p := samplePlan()
	for i := range p.Changes {
		ops, err := Compile(&p.Changes[i], ids)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ops...)
	}
	got, _ := json.MarshalIndent(out, "", "  ")
	golden := filepath.Join("testdata", "compile.golden.json")
	if *update {
		os.WriteFile(golden, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./appliers -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("compiled requests differ from %s (-want +got):\n%s", golden, diff)
	}
}

// fakeGraph records calls and fails the ones it is told to.
type fakeGraph struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]error
}

func (f *fakeGraph) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakeGraph) CreateGroup(_ context.Context, u string, _ graph.GroupFields) (string, error) {
	return "id-" + u, f.call("create " + u)
}
func (f *fakeGraph) GroupByUniqueName(_ context.Context, u string) (string, string, error) {
	f.call("lookup " + u)
	return "", "", &graph.Error{Status: 404, Code: "Request_ResourceNotFound"}
}
func (f *fakeGraph) GroupExists(_ context.Context, id string) (bool, error) { return true, nil }
func (f *fakeGraph) UpdateGroup(_ context.Context, id string, _ graph.GroupFields) error {
	return f.call("update " + id)
}
func (f *fakeGraph) DeleteGroup(_ context.Context, id string) error { return f.call("delete " + id) }
func (f *fakeGraph) SetCloudManaged(_ context.Context, id string) error {
	return f.call("cloudManaged " + id)
}
func (f *fakeGraph) AddMembers(_ context.Context, g string, ids []string) error {
	return f.call(fmt.Sprintf("add %s %v", g, ids))
}
func (f *fakeGraph) RemoveMembers(_ context.Context, g string, ids []string) error {
	return f.call(fmt.Sprintf("remove %s %v", g, ids))
}
func (f *fakeGraph) AddGroupOwner(_ context.Context, g, id string) error {
	return f.call(fmt.Sprintf("add owner %s %s", g, id))
}
func (f *fakeGraph) RemoveGroupOwner(_ context.Context, g, id string) error {
	return f.call(fmt.Sprintf("remove owner %s %s", g, id))
}

func TestApplySkipsDependantsOfFailures(t *testing.T) {
	p := &planner.Plan{Changes: []planner.Change{
		{Address: `group["A"]`, Kind: planner.KindGroup, Action: planner.Create, Fields: []planner.FieldDiff{{Field: "displayName", After: "A"}, {Field: "uniqueName", After: "ua"}}},
		{Address: `group["S"].cloudManaged`, Kind: planner.KindGroupSourceOfAuthority, Action: planner.Update, ObjectID: "s"},
		{Address: `group["A"].members`, Kind: planner.KindGroupMembers, Action: planner.Update, DependsOn: []string{`group["A"]`},
			Members: &planner.MemberDiff{Add: []planner.Member{{ID: "u1"}}}},
		{Address: `group["S"].members`, Kind: planner.KindGroupMembers, Action: planner.Update, ObjectID: "s", DependsOn: []string{`group["S"].cloudManaged`},
			Members: &planner.MemberDiff{Add: []planner.Member{{ID: "u2"}}}},
		{Address: `group["Old"]`, Kind: planner.KindGroup, Action: planner.Delete, ObjectID: "old"},
	}}
	g := &fakeGraph{fail: map[string]error{"cloudManaged s": errors.New("boom")}}
	results := Apply(context.Background(), p, g, Options{})
	got := map[string]Status{}
	for _, r := range results {
		got[r.Address] = r.Status
	}
	want := map[string]Status{
		`group["A"]`: Applied, `group["A"].members`: Applied,
		`group["S"].cloudManaged`: Failed, `group["S"].members`: Skipped,
		`group["Old"]`: Applied,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !slices.Contains(g.calls, "add id-ua [u1]") {
		t.Errorf("members of the created group were not added with its new id: %v", g.calls)
	}
	if g.calls[len(g.calls)-1] != "delete old" {
		t.Errorf("the deletion did not run last: %v", g.calls)
	}
	if r := results[3]; r.Error != `group["S"].cloudManaged did not apply` {
		t.Errorf("skip reason = %q", r.Error)
	}
}

// An owner change writes its adds before its removals, one $ref each, so
// that replacing a group's only owner never asks Graph to remove the last
// one; the owners of a group created in the same apply get its new id.
func TestApplyOwnersAddsBeforeRemovals(t *testing.T) {
	p := &planner.Plan{Changes: []planner.Change{
		{Address: `group["A"]`, Kind: planner.KindGroup, Action: planner.Create, Fields: []planner.FieldDiff{{Field: "displayName", After: "A"}, {Field: "uniqueName", After: "ua"}}},
		{Address: `group["A"].owners`, Kind: planner.KindGroupOwners, Action: planner.Update, DependsOn: []string{`group["A"]`},
			Members: &planner.MemberDiff{Add: []planner.Member{{Kind: model.User, ID: "u1"}}}},
		{Address: `group["B"].owners`, Kind: planner.KindGroupOwners, Action: planner.Update, ObjectID: "b",
			Members: &planner.MemberDiff{Mode: model.Authoritative, Add: []planner.Member{{Kind: model.User, ID: "new"}}, Remove: []planner.Member{{Kind: model.User, ID: "old"}}}},
	}}
	g := &fakeGraph{}
	for _, r := range Apply(context.Background(), p, g, Options{}) {
		if r.Status != Applied {
			t.Fatalf("%s: %s %s", r.Address, r.Status, r.Error)
		}
	}
	if !slices.Contains(g.calls, "add owner id-ua u1") {
		t.Errorf("the new group's owner was not added with its id: %v", g.calls)
	}
	add, remove := slices.Index(g.calls, "add owner b new"), slices.Index(g.calls, "remove owner b old")
	if add < 0 || remove < 0 || add > remove {
		t.Errorf("calls = %v: the add must come before the removal", g.calls)
	}
}
