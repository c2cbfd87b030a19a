package planner

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

// bigTenant has a group "All" of n members user000..user(n-1).
func bigTenant(n int) (*model.Tenant, []model.Ref) {
	obs := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	set := &model.MemberSet{}
	var refs []model.Ref
	for i := range n {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		upn := fmt.Sprintf("user%03d@contoso.com", i)
		obs.Principals = append(obs.Principals, model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn})
		set.Members = append(set.Members, model.Ref{Kind: model.User, Value: id})
		refs = append(refs, model.Ref{Kind: model.User, Value: upn})
	}
	obs.Groups = []*model.Group{{ID: "00000000-0000-0000-0000-0000000000aa", DisplayName: "All", Members: set}}
	model.Normalize(obs)
	return obs, refs
}

func intp(v int) *int { return &v }

func TestRemovalLimitPerSet(t *testing.T) {
	obs, refs := bigTenant(50)
	desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "All",
		Members: &model.MemberSet{Mode: model.Authoritative, Members: refs[:30]}}}} // removes 20 of 50: 40%
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if len(p.Blocks) != 1 {
		t.Fatalf("blocks = %+v", p.Blocks)
	}
	b := p.Blocks[0]
	want := `group["All"].members: 20 removals (40%) exceed the limit of 30% (maxPercent of settings.limits.removalsPerSet, for sets of at least 10) from a set of 50`
	if b.Summary != want || b.Setting != "settings.limits.removalsPerSet" || b.Subject != `group["All"].members` {
		t.Errorf("block = %+v\nwant summary %s", b, want)
	}

	// The set's own limit overrides the setting and is named in the message.
	desired.Groups[0].Members.Limit = &model.Limit{MaxPercent: intp(50), Setting: `limits: of the members of group "All"`}
	if p := Compute(desired, obs, Options{}); len(p.Blocks) != 0 {
		t.Errorf("a 50%% set limit still blocks: %+v", p.Blocks)
	}
	desired.Groups[0].Members.Limit = &model.Limit{MaxCount: intp(10), Setting: `limits: of the members of group "All"`}
	if p := Compute(desired, obs, Options{}); len(p.Blocks) != 1 || !strings.Contains(p.Blocks[0].Summary, `20 removals exceed the limit of 10 (maxCount of limits: of the members of group "All")`) {
		t.Errorf("count limit: %+v", p.Blocks)
	}
	// Small sets are not limited by share.
	small, srefs := bigTenant(5)
	d2 := &model.Tenant{Domain: small.Domain, Groups: []*model.Group{{DisplayName: "All", Members: &model.MemberSet{Mode: model.Authoritative, Members: srefs[:1]}}}}
	model.Normalize(d2)
	if p := Compute(d2, small, Options{}); len(p.Blocks) != 0 {
		t.Errorf("4 of 5 removed is blocked, but the set is under minSetSize: %+v", p.Blocks)
	}
}

func TestProtectedPrincipalIsNeverRemoved(t *testing.T) {
	obs, refs := bigTenant(3)
	desired := &model.Tenant{Domain: obs.Domain,
		Settings: model.Settings{Protected: []model.Ref{{Kind: model.User, Value: "USER002@contoso.com", Pos: model.Pos{File: "s.yaml", Line: 4, Col: 14}}}},
		Groups:   []*model.Group{{DisplayName: "All", Pos: model.Pos{File: "s.yaml", Line: 7, Col: 5}, Members: &model.MemberSet{Mode: model.Authoritative, Members: refs[:1]}}}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if !p.Errored || len(errorsOf(p)) != 1 {
		t.Fatalf("diagnostics = %v", p.Diagnostics)
	}
	d := p.Diagnostics[0]
	if d.Summary != `the plan would remove protected principal user002@contoso.com from group "All"` || !strings.Contains(d.Detail, "s.yaml:4:14") || d.Pos.Line != 7 {
		t.Errorf("diagnostic = %s", d)
	}
}

func TestIgnoredFieldsAreNeitherComparedNorWritten(t *testing.T) {
	desired := &model.Tenant{Settings: model.Settings{Ignore: []model.IgnoreRule{{Group: "fin*", Fields: []string{"description", "members"}}}},
		Groups: []*model.Group{{DisplayName: "Finance", Description: ptr("Owned by HR system"), Members: &model.MemberSet{Mode: model.Authoritative, Members: users("carol@contoso.com")}}}}
	p := plan(t, desired)
	if p.HasChanges() {
		t.Errorf("ignored fields planned: %v", summary(p))
	}
	if desired.Groups[0].Description == nil {
		t.Error("Compute changed its input")
	}
}

func TestGatedChanges(t *testing.T) {
	p := plan(t, &model.Tenant{Groups: []*model.Group{
		{DisplayName: "Old project", Absent: true},
		{DisplayName: "Sec group 1", CloudManaged: ptr(true)},
		{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}},
	}})
	if diff := cmp.Diff(DefaultRequireApproval, p.RequireApproval); diff != "" {
		t.Errorf("default requireApproval (-want +got):\n%s", diff)
	}
	want := map[string]string{
		`group["Old project"]`:              "needs approval: ES101 (rerun with --approve ES101)",
		`group["Sec group 1"].cloudManaged`: "needs approval: ES301 (rerun with --approve ES301)",
	}
	if diff := cmp.Diff(want, Gated(p, nil)); diff != "" {
		t.Errorf("gated (-want +got):\n%s", diff)
	}
	if g := Gated(p, []RiskCode{RiskDelete, RiskSourceOfAuthority}); len(g) != 0 {
		t.Errorf("approved codes still gated: %v", g)
	}
	// The spec decides: member removals gated, deletions not.
	p = plan(t, &model.Tenant{Settings: model.Settings{RequireApproval: []string{"ES102"}}, Groups: []*model.Group{
		{DisplayName: "Old project", Absent: true},
		{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}},
	}})
	if g := Gated(p, nil); len(g) != 1 || g[`group["Finance"].members`] == "" {
		t.Errorf("gated = %v", g)
	}
	p = plan(t, &model.Tenant{Settings: model.Settings{RequireApproval: []string{"ES999"}}})
	if !p.Errored || !strings.Contains(p.Diagnostics[0].Summary, "unknown risk code ES999") {
		t.Errorf("diagnostics = %v", p.Diagnostics)
	}
}

// The Markdown view fits a GitHub comment however large the plan.
func TestMarkdownRespectsCommentSize(t *testing.T) {
	obs, _ := bigTenant(0)
	var refs []model.Ref
	for i := range 3000 {
		id := fmt.Sprintf("00000000-0000-0000-0001-%012d", i)
		upn := fmt.Sprintf("someone.with.a.long.name%04d@contoso.com", i)
		obs.Principals = append(obs.Principals, model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn})
		refs = append(refs, model.Ref{Kind: model.User, Value: upn})
	}
	desired := &model.Tenant{Domain: obs.Domain}
	for g := range 120 {
		desired.Groups = append(desired.Groups, &model.Group{DisplayName: fmt.Sprintf("Group %03d", g), Members: &model.MemberSet{Members: refs[g*25 : g*25+25]}})
	}
	model.Normalize(obs)
	model.Normalize(desired)
	var b strings.Builder
	if err := RenderMarkdown(&b, Compute(desired, obs, Options{}), MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > 60000 || !strings.Contains(out, "The details were cut to fit one comment") || !strings.HasSuffix(strings.TrimSpace(out), "</sub>") {
		t.Errorf("markdown of %d bytes; cut note present: %v", len(out), strings.Contains(out, "cut to fit"))
	}
}

// Issue 9, hole 4: changesPerRun counts every kind of managed object, not
// groups alone: deleting 4 of 10 access packages (and of 11 managed
// objects with their catalog) is stopped like deleting 4 of 10 groups.
func TestChangesPerRunCoversEveryKind(t *testing.T) {
	obs := emObserved()
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com", Catalogs: []*model.Catalog{{DisplayName: "Marketing"}}}
	obs.AccessPackages = nil
	for i := range 10 {
		name := fmt.Sprintf("Package %02d", i)
		obs.AccessPackages = append(obs.AccessPackages, &model.AccessPackage{ID: fmt.Sprintf("00000000-0000-0000-0000-0000000ac0%02d", i), DisplayName: name,
			Catalog: "Marketing", CatalogID: catID, Description: ptr("")})
		desired.AccessPackages = append(desired.AccessPackages, &model.AccessPackage{DisplayName: name, Catalog: "Marketing", Absent: i < 4})
	}
	model.Normalize(desired)
	model.Normalize(obs)
	p := Compute(desired, obs, Options{})
	if len(p.Blocks) != 1 || p.Blocks[0].Subject != "run" || !strings.Contains(p.Blocks[0].Summary, "4 updates and deletions (36%) exceed the limit of 30%") ||
		!strings.Contains(p.Blocks[0].Summary, "of 11 managed objects") {
		t.Fatalf("blocks = %+v\n%v", p.Blocks, summary(p))
	}
	desired.Settings.ChangesPerRun = model.Limit{MaxPercent: ptr(50)}
	if p := Compute(desired, obs, Options{}); len(p.Blocks) != 0 {
		t.Errorf("a 50%% run limit still blocks: %+v", p.Blocks)
	}
}

// Issue 9, hole 9: a set's own limit and the spec's settings are weaker
// than the defaults: listed as ES401 safeguards. Under a policy floor of
// 20% the same set limit of 50% is clamped to 20%, and what the policy
// allows is not a weakening.
func TestSafeguardsAndPolicyFloor(t *testing.T) {
	obs, refs := bigTenant(50)
	desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "All",
		Members: &model.MemberSet{Mode: model.Authoritative, Members: refs[:38], Limit: &model.Limit{MaxPercent: intp(50)}}}}} // removes 12 of 50: 24%
	desired.Settings.RequireApproval = []string{"ES101"}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	var got []string
	for _, s := range p.Safeguards {
		got = append(got, s.Setting+": "+s.Summary)
	}
	want := []string{
		"settings.requireApproval: drops ES103: sponsor or owner removal changes no longer wait for approval",
		"settings.requireApproval: drops ES201: privileged grant changes no longer wait for approval",
		"settings.requireApproval: drops ES301: cloud-managed conversion changes no longer wait for approval",
		`group["All"].members limits: raises maxPercent from 30 to 50`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("safeguards (-want +got):\n%s", diff)
	}
	if len(p.Blocks) != 0 {
		t.Errorf("24%% under a 50%% set limit blocks: %+v", p.Blocks)
	}

	floor := &model.Settings{RequireApproval: []string{"ES101"}, RemovalsPerSet: model.Limit{MaxPercent: intp(20)}}
	p = Compute(desired, obs, Options{Policy: floor, PolicyFile: "policy.yaml"})
	if len(p.Blocks) != 1 || !strings.Contains(p.Blocks[0].Summary, "exceed the limit of 20%") {
		t.Errorf("the policy's 20%% does not bound the set: %+v", p.Blocks)
	}
	got = nil
	for _, s := range p.Safeguards {
		got = append(got, s.Setting+": "+s.Summary)
	}
	if len(got) != 0 {
		t.Errorf("safeguards under a policy that allows the spec's settings: %v", got)
	}
	if !slices.ContainsFunc(p.Diagnostics, func(d model.Diagnostic) bool { return strings.Contains(d.Summary, "are lowered to it") }) {
		t.Errorf("no warning that the set's limit is lowered to the policy's: %v", p.Diagnostics)
	}
}
