package planner

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

func ptr[T any](v T) *T { return &v }

const (
	alice = "00000000-0000-0000-0000-00000000000a"
	bob   = "00000000-0000-0000-0000-00000000000b"
	carol = "00000000-0000-0000-0000-00000000000c"
	gFin  = "00000000-0000-0000-0000-0000000000f1"
	gSync = "00000000-0000-0000-0000-0000000000f2"
	gOld  = "00000000-0000-0000-0000-0000000000f3"
	gDup1 = "00000000-0000-0000-0000-0000000000d1"
	gDup2 = "00000000-0000-0000-0000-0000000000d2"
)

func users(refs ...string) []model.Ref {
	out := make([]model.Ref, len(refs))
	for i, r := range refs {
		out[i] = model.Ref{Kind: model.User, Value: r, Pos: model.Pos{File: "spec.yaml", Line: int32(10 + i), Col: 9}}
	}
	return out
}

func ids(refs ...string) []model.Ref {
	out := make([]model.Ref, len(refs))
	for i, r := range refs {
		out[i] = model.Ref{Kind: model.User, Value: r}
	}
	return out
}

// observedTenant is a small live tenant: three users, a cloud group, a
// synced group, an unmanaged group and two groups sharing a name.
func observedTenant() *model.Tenant {
	t := &model.Tenant{
		Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{
			{ID: alice, Kind: model.User, UserPrincipalName: "alice@contoso.com", Mail: "alice@contoso.com"},
			{ID: bob, Kind: model.User, UserPrincipalName: "bob@contoso.com"},
			{ID: carol, Kind: model.User, UserPrincipalName: "carol@contoso.com", Mail: "carol.c@contoso.com"},
		},
		Groups: []*model.Group{
			{ID: gFin, DisplayName: "Finance", Description: ptr("Money"), MailNickname: ptr("finance"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr(""),
				Members: &model.MemberSet{Members: ids(alice, bob)}},
			{ID: gSync, DisplayName: "Sec group 1", Description: ptr(""), MailNickname: ptr("sec1"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr(""), Synced: true, CloudManaged: ptr(false),
				Members: &model.MemberSet{Members: ids(carol)}},
			{ID: gOld, DisplayName: "Old project", Description: ptr(""), MailNickname: ptr("old"), MembershipRule: ptr(""), GroupTypes: []string{"Unified"}},
			{ID: gDup1, DisplayName: "Twins"},
			{ID: gDup2, DisplayName: "twins"},
		},
	}
	model.Normalize(t)
	return t
}

func plan(t *testing.T, desired *model.Tenant) *Plan {
	t.Helper()
	desired.Domain = "contoso.onmicrosoft.com"
	model.Normalize(desired)
	return Compute(desired, observedTenant(), Options{})
}

func summary(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		s := c.Action.String() + " " + c.Address
		if c.Members != nil {
			for _, m := range c.Members.Add {
				s += " +" + m.Label
			}
			for _, m := range c.Members.Remove {
				s += " -" + m.Label
			}
		}
		for _, f := range c.Fields {
			s += " " + f.Field
		}
		out = append(out, s)
	}
	return out
}

func errorsOf(p *Plan) []string {
	var out []string
	for _, d := range p.Diagnostics {
		if d.Severity == model.Error {
			out = append(out, d.Summary)
		}
	}
	return out
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name    string
		desired []*model.Group
		want    []string
		errs    []string // substrings, in order
	}{
		{
			name:    "unmanaged observed groups are never touched",
			desired: nil,
			want:    nil,
		},
		{
			name:    "matching group is a no-op",
			desired: []*model.Group{{DisplayName: "finance", Description: ptr("Money"), Members: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com", "bob@contoso.com")}}},
			want:    []string{`update group["finance"] displayName`},
		},
		{
			name:    "unmanaged fields are left alone",
			desired: []*model.Group{{DisplayName: "Finance"}},
			want:    nil,
		},
		{
			name:    "field update",
			desired: []*model.Group{{DisplayName: "Finance", Description: ptr("Budgets")}},
			want:    []string{`update group["Finance"] description`},
		},
		{
			name:    "additive never removes",
			desired: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Additive, Members: users("carol.c@contoso.com")}}},
			want:    []string{`update group["Finance"].members +carol@contoso.com`},
		},
		{
			name:    "authoritative removes what is not listed",
			desired: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: users("ALICE@contoso.com", alice)}}},
			want:    []string{`update group["Finance"].members -bob@contoso.com`},
		},
		{
			name: "create with members and a nested new group, in dependency order",
			desired: []*model.Group{
				{DisplayName: "Zeta", Members: &model.MemberSet{Mode: model.Additive, Members: []model.Ref{{Kind: model.GroupKind, Value: "Alpha"}}}},
				{DisplayName: "Alpha", Members: &model.MemberSet{Mode: model.Additive, Members: users("bob@contoso.com")}},
			},
			want: []string{
				`create group["Alpha"] displayName mailNickname uniqueName`,
				`create group["Zeta"] displayName mailNickname uniqueName`,
				`update group["Alpha"].members +bob@contoso.com`,
				`update group["Zeta"].members +Alpha`,
			},
		},
		{
			name:    "absent deletes, absent and missing is nothing",
			desired: []*model.Group{{DisplayName: "Old project", Absent: true}, {DisplayName: "Never was", Absent: true}},
			want:    []string{`delete group["Old project"]`},
		},
		{
			name:    "synced group refuses cloud writes until converted",
			desired: []*model.Group{{DisplayName: "Sec group 1", Description: ptr("x"), Members: &model.MemberSet{Members: users("bob@contoso.com")}}},
			errs:    []string{"synced from on-premises AD", "synced from on-premises AD"},
		},
		{
			name:    "conversion comes first, then the writes it allows",
			desired: []*model.Group{{DisplayName: "Sec group 1", CloudManaged: ptr(true), Members: &model.MemberSet{Members: users("bob@contoso.com")}}},
			want:    []string{`update group["Sec group 1"].cloudManaged cloudManaged`, `update group["Sec group 1"].members +bob@contoso.com`},
		},
		{
			name:    "two live groups with one name is an error naming both",
			desired: []*model.Group{{DisplayName: "Twins"}},
			errs:    []string{"2 live groups are named \"Twins\" (ids " + gDup1 + ", " + gDup2 + ")"},
		},
		{
			name:    "a pinned id disambiguates and renames",
			desired: []*model.Group{{DisplayName: "Twins", ID: gDup2}},
			want:    []string{`update group["Twins"] displayName`},
		},
		{
			name:    "unknown member is an error with its place",
			desired: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Members: users("mallory@contoso.com")}}},
			errs:    []string{`unknown user "mallory@contoso.com"`},
		},
		{
			name:    "becoming dynamic adds DynamicMembership and keeps other group types",
			desired: []*model.Group{{DisplayName: "Old project", MembershipRule: ptr(`(user.department -eq "Sales")`)}},
			want:    []string{`update group["Old project"] groupTypes membershipRule`},
		},
		{
			name:    "a group cannot contain itself",
			desired: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Members: []model.Ref{{Kind: model.GroupKind, Value: "finance"}}}}},
			errs:    []string{"cannot be a member of itself"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, &model.Tenant{Groups: tt.desired})
			if diff := cmp.Diff(tt.want, summary(p)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			got := errorsOf(p)
			if len(got) != len(tt.errs) {
				t.Fatalf("errors = %q, want %d matching %q", got, len(tt.errs), tt.errs)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.errs[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], tt.errs[i])
				}
			}
			if p.Errored != (len(tt.errs) > 0) {
				t.Errorf("Errored = %v", p.Errored)
			}
		})
	}
}

func TestUnknownMemberErrorNamesThePlace(t *testing.T) {
	p := plan(t, &model.Tenant{Groups: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Members: users("nobody@contoso.com")}}}})
	if len(p.Diagnostics) != 1 {
		t.Fatalf("diagnostics = %v", p.Diagnostics)
	}
	if got, want := p.Diagnostics[0].String(), `spec.yaml:10:9: error: group["Finance"]: unknown user "nobody@contoso.com"`; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want prefix %q", got, want)
	}
}

func TestGroupTypesKeepUnified(t *testing.T) {
	p := plan(t, &model.Tenant{Groups: []*model.Group{{DisplayName: "Old project", MembershipRule: ptr("(user.city -eq \"Oslo\")")}}})
	for _, f := range p.Changes[0].Fields {
		if f.Field == "groupTypes" {
			if diff := cmp.Diff([]string{"Unified", "DynamicMembership"}, f.After); diff != "" {
				t.Errorf("groupTypes after (-want +got):\n%s", diff)
			}
			return
		}
	}
	t.Fatalf("no groupTypes change in %v", p.Changes[0].Fields)
}

func TestEmptyAuthoritativeSetWarns(t *testing.T) {
	p := plan(t, &model.Tenant{Groups: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{}}}}})
	if len(p.Diagnostics) != 1 || p.Diagnostics[0].Severity != model.Warning ||
		!strings.Contains(p.Diagnostics[0].Summary, "all 2 members will be removed") {
		t.Fatalf("diagnostics = %v", p.Diagnostics)
	}
	if p.Errored || p.Summarize().MembersRemove != 2 {
		t.Errorf("plan = %v", summary(p))
	}
}

func TestRiskCodes(t *testing.T) {
	p := plan(t, &model.Tenant{Groups: []*model.Group{
		{DisplayName: "Old project", Absent: true},
		{DisplayName: "Sec group 1", CloudManaged: ptr(true)},
		{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: users("alice@contoso.com")}},
	}})
	got := map[string][]RiskCode{}
	for _, c := range p.Changes {
		got[c.Address] = c.Risks
	}
	want := map[string][]RiskCode{
		`group["Old project"]`:              {RiskDelete},
		`group["Sec group 1"].cloudManaged`: {RiskSourceOfAuthority},
		`group["Finance"].members`:          {RiskMemberRemoval},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("risks (-want +got):\n%s", diff)
	}
}

// A desired tenant built from the observed one must plan no changes: the
// property Normalize and the diff must keep.
func TestObservedAgainstItselfHasNoChanges(t *testing.T) {
	obs := observedTenant()
	var desired model.Tenant
	desired.Domain = obs.Domain
	for _, g := range obs.Groups {
		if g.Key() == "twins" {
			continue
		}
		d := *g
		d.Synced = false
		d.CloudManaged = nil
		if g.Members != nil {
			d.Members = &model.MemberSet{Mode: model.Authoritative, Members: g.Members.Members}
		}
		desired.Groups = append(desired.Groups, &d)
	}
	model.Normalize(&desired)
	model.Normalize(&desired) // idempotent
	p := Compute(&desired, obs, Options{})
	if p.HasChanges() || p.Errored {
		t.Fatalf("plan has changes or errors:\n%v\n%v", summary(p), p.Diagnostics)
	}
}

func TestPlanIsDeterministicAndRoundTrips(t *testing.T) {
	mk := func() []byte {
		p := plan(t, &model.Tenant{Groups: []*model.Group{
			{DisplayName: "Zeta", Description: ptr("z"), Members: &model.MemberSet{Members: []model.Ref{{Kind: model.GroupKind, Value: "Finance"}}}},
			{DisplayName: "Old project", Absent: true},
			{DisplayName: "Finance", Members: &model.MemberSet{Mode: model.Authoritative, Members: users("carol@contoso.com")}},
		}})
		p.CreatedAt = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		b, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first, second := mk(), mk()
	if !bytes.Equal(first, second) {
		t.Fatalf("two plans of the same inputs differ:\n%s\n%s", first, second)
	}
	decoded, err := Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(again)); diff != "" {
		t.Errorf("encode(decode(plan)) differs (-first +again):\n%s", diff)
	}
}

func TestRenderTextSummarisesLongMemberLists(t *testing.T) {
	var refs []model.Ref
	obs := observedTenant()
	for i := range 40 {
		id := strings.Replace("00000000-0000-0000-0000-0000000100XX", "XX", string(rune('a'+i/26))+string(rune('a'+i%26)), 1)
		upn := "user" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@contoso.com"
		obs.Principals = append(obs.Principals, model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn})
		refs = append(refs, model.Ref{Kind: model.User, Value: upn})
	}
	model.Normalize(obs)
	desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Members: refs}}}}
	model.Normalize(desired)
	var buf bytes.Buffer
	if err := RenderText(&buf, Compute(desired, obs, Options{}), TextOptions{MaxMembers: 5}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"+ useraa@contoso.com", "+ ... and 35 more", "Plan: 0 to create, 1 to update, 0 to delete; members: 40 to add, 0 to remove."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
