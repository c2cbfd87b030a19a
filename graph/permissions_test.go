package graph

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

var rowRE = regexp.MustCompile(`operation index row (\d+)`)
var permRE = regexp.MustCompile(`[A-Z][A-Za-z]+(?:-[A-Za-z]+)?(?:\.[A-Za-z]+)+`)

// readmeRows reads the operation index kept in testdata/graph/operations.json
// (Microsoft's least-privileged permission for each call; SOURCE.md there
// says where it came from): row number → the least-privileged permission cell.
func readmeRows(t *testing.T) map[int]string {
	t.Helper()
	p := filepath.Join("..", "testdata", "graph", "operations.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("cannot read the Graph operation index: %v", err)
	}
	var ops []struct {
		Row   int    `json:"row"`
		Least string `json:"leastPrivilegedApplicationPermission"`
	}
	if err := json.Unmarshal(b, &ops); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	rows := map[int]string{}
	for _, o := range ops {
		rows[o.Row] = o.Least
	}
	if len(rows) < 90 {
		t.Fatalf("%s: only %d rows", p, len(rows))
	}
	return rows
}

// TestOperationsMatchReadme: every operation that cites an index row has
// that row's least-privileged permission, and every other one names its
// source.
func TestOperationsMatchReadme(t *testing.T) {
	rows := readmeRows(t)
	seen := map[string]bool{}
	for _, o := range Operations {
		if seen[o.ID] {
			t.Errorf("operation %s listed twice", o.ID)
		}
		seen[o.ID] = true
		if o.Source == "" || o.Why == "" {
			t.Errorf("%s: no source or no purpose", o.ID)
		}
		if slices.Contains(o.Also, o.Least) {
			t.Errorf("%s: %s is both least and higher", o.ID, o.Least)
		}
		m := rowRE.FindStringSubmatch(o.Source)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		// The row's first permission, or for a call that needs two (row
		// 70: a resource request for a group) one of those it names.
		got := permRE.FindAllString(rows[n], -1)
		if len(got) == 0 || (got[0] != o.Least && !(o.ID == OpResourceRequestGrp && slices.Contains(got, o.Least))) {
			t.Errorf("%s: least %s, README row %d says %q", o.ID, o.Least, n, rows[n])
		}
	}
}

func ptr[T any](v T) *T { return &v }

func quickstartLike() *model.Tenant {
	return &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
		{DisplayName: "Marketing resources", Members: &model.MemberSet{Mode: model.Authoritative, Members: []model.Ref{
			{Kind: model.User, Value: "alice@contoso.com"}, {Kind: model.GroupKind, Value: "Marketing leads"}}}},
		{DisplayName: "Sec group 1", CloudManaged: ptr(true), Members: &model.MemberSet{Mode: model.Additive, Members: []model.Ref{{Kind: model.User, Value: "erin@contoso.com"}}}},
		{DisplayName: "Old project", Absent: true},
	}}
}

// ownersSpec is a group with an owner set of one user and, with sp, a
// service principal named by display name.
func ownersSpec(mode model.Mode, sp bool) *model.Tenant {
	refs := []model.Ref{{Kind: model.User, Value: "alice@contoso.com"}}
	if sp {
		refs = append(refs, model.Ref{Kind: model.ServicePrincipal, Value: "Payroll sync"})
	}
	return &model.Tenant{Groups: []*model.Group{{DisplayName: "Finance", Owners: &model.MemberSet{Mode: mode, Members: refs}}}}
}

// The owner operations a spec needs follow the reader and the appliers:
// v1.0 or beta for the list, and the removal only for authoritative sets.
func TestOwnerOperations(t *testing.T) {
	opIDs := func(desired *model.Tenant, writing bool) []string {
		var out []string
		for _, o := range Needs(desired, writing) {
			if strings.Contains(o.Path, "/owners") {
				out = append(out, o.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		desired *model.Tenant
		writing bool
		want    []string
	}{
		{ownersSpec(model.Additive, false), false, []string{OpListGroupOwners}},
		{ownersSpec(model.Additive, false), true, []string{OpListGroupOwners, OpAddGroupOwner}},
		{ownersSpec(model.Authoritative, false), true, []string{OpListGroupOwners, OpAddGroupOwner, OpRemoveGroupOwner}},
		{ownersSpec(model.Authoritative, true), true, []string{OpListGroupOwnersBeta, OpAddGroupOwner, OpRemoveGroupOwner}},
		{&model.Tenant{Groups: []*model.Group{{DisplayName: "Finance"}}}, true, nil},
	} {
		if got := opIDs(tc.desired, tc.writing); !slices.Equal(got, tc.want) {
			t.Errorf("%+v writing=%v: %v, want %v", tc.desired.Groups[0].Owners, tc.writing, got, tc.want)
		}
	}
}

func names(reqs []Requirement) []string {
	var out []string
	for _, r := range reqs {
		if !r.Optional {
			out = append(out, r.Permission)
		}
	}
	return out
}

func TestRequirements(t *testing.T) {
	spWithID := &model.Tenant{Groups: []*model.Group{{DisplayName: "Agents", Members: &model.MemberSet{Mode: model.Additive,
		Members: []model.Ref{{Kind: model.ServicePrincipal, Value: "cd77c677-16ea-4f9d-b5b1-0aab1841694c"}}}}}}
	for _, tc := range []struct {
		name    string
		desired *model.Tenant
		writing bool
		want    []string
	}{
		{"quickstart plan", quickstartLike(), false, []string{PermGroupSyncBehavior, PermGroupMemberRead, PermUserReadBasic}},
		{"quickstart apply", quickstartLike(), true, []string{PermGroupSyncBehavior, PermGroupReadWrite, PermUserReadBasic}},
		{"groups only, plan", &model.Tenant{Groups: []*model.Group{{DisplayName: "A"}}}, false, []string{PermGroupMemberRead}},
		{"groups only, apply", &model.Tenant{Groups: []*model.Group{{DisplayName: "A"}}}, true, []string{PermGroupReadWrite}},
		{"service principal members", spWithID, false, []string{PermApplicationRead, PermGroupMemberRead, PermUserReadBasic}},
		// Owners (issue 15): listing them needs GroupMember.Read.All (group-list-owners),
		// the users they show User.ReadBasic.All, service principals named by
		// name Application.Read.All; adding and removing needs
		// Group.ReadWrite.All (group-post-owners, group-delete-owners), which
		// also covers the reads of groups.
		{"user owners, plan", ownersSpec(model.Additive, false), false, []string{PermGroupMemberRead, PermUserReadBasic}},
		{"user owners, apply", ownersSpec(model.Authoritative, false), true, []string{PermGroupReadWrite, PermUserReadBasic}},
		{"service principal owners, plan", ownersSpec(model.Additive, true), false, []string{PermApplicationRead, PermGroupMemberRead, PermUserReadBasic}},
		{"service principal owners, apply", ownersSpec(model.Authoritative, true), true, []string{PermApplicationRead, PermGroupReadWrite, PermUserReadBasic}},
		{"empty spec", &model.Tenant{}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqs := Requirements(Needs(tc.desired, tc.writing))
			if got := names(reqs); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			// The tenant check is optional and listed apart.
			if !slices.ContainsFunc(reqs, func(r Requirement) bool { return r.Optional && r.Permission == PermDirectoryRead }) {
				t.Errorf("Directory.Read.All is not listed as optional: %v", reqs)
			}
			// Everything granted: nothing missing.
			if m, mo := Check(reqs, PermissionNames(reqs)); len(m)+len(mo) != 0 {
				t.Errorf("all granted, still missing %v %v", m, mo)
			}
			// Irreducible: without any one entry, Check names exactly it.
			req := tc.want
			for i, p := range req {
				rest := slices.Delete(slices.Clone(req), i, i+1)
				m, _ := Check(reqs, rest)
				if got := PermissionNames(m); !slices.Equal(got, []string{p}) {
					t.Errorf("without %s: missing %v", p, got)
				}
			}
		})
	}
}

func TestCheckAcceptsHigherPrivileges(t *testing.T) {
	reqs := Requirements(Needs(quickstartLike(), false))
	// Directory.Read.All covers every read except the sync behaviour.
	m, mo := Check(reqs, []string{PermDirectoryRead})
	if got := PermissionNames(m); !slices.Equal(got, []string{PermGroupSyncBehavior}) || len(mo) != 0 {
		t.Errorf("with Directory.Read.All: missing %v, optional %v", got, PermissionNames(mo))
	}
	// Role names compare case-insensitively, as Entra's do.
	if m, _ := Check(reqs, []string{"groupmember.read.all", "user.readbasic.all", "group-onpremisessyncbehavior.readwrite.all"}); len(m) != 0 {
		t.Errorf("lower-case roles: missing %v", PermissionNames(m))
	}
	// Deleting a group needs Group.ReadWrite.All itself:
	// Directory.ReadWrite.All does not delete groups.
	apply := Requirements(Needs(quickstartLike(), true))
	m, _ = Check(apply, []string{PermDirectoryReadWrite, PermGroupSyncBehavior})
	if len(m) != 1 || m[0].Permission != PermGroupReadWrite || len(m[0].Operations) != 1 || m[0].Operations[0].ID != OpDeleteGroup {
		t.Errorf("with Directory.ReadWrite.All: missing %+v", m)
	}
}

func TestRequirementJSON(t *testing.T) {
	b, err := json.Marshal(Requirements(Needs(&model.Tenant{Groups: []*model.Group{{DisplayName: "A"}}}, false)))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"permission":"GroupMember.Read.All","operations":["GET /groups"]},{"permission":"Directory.Read.All","optional":true,"operations":["GET /organization"]}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func fakeJWT(claims string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(`{"alg":"RS256"}`)) + "." + e([]byte(claims)) + ".c2ln"
}

func TestDecodeTokenClaims(t *testing.T) {
	info, err := decodeTokenClaims(fakeJWT(`{"appid":"a","tid":"t","roles":["User.ReadBasic.All","Group.ReadWrite.All"],"idtyp":"app"}`))
	if err != nil || info.AppID != "a" || info.TenantID != "t" || info.Delegated || !slices.Equal(info.Roles, []string{"Group.ReadWrite.All", "User.ReadBasic.All"}) {
		t.Errorf("app token: %+v %v", info, err)
	}
	info, err = decodeTokenClaims(fakeJWT(`{"appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","scp":"Group.ReadWrite.All User.Read","idtyp":"user"}`))
	if err != nil || !info.Delegated || len(info.Scopes) != 2 || info.Roles == nil {
		t.Errorf("user token: %+v %v", info, err)
	}
	if _, err := decodeTokenClaims("opaque"); err == nil {
		t.Error("an opaque token decodes")
	}
}

// TestAgentRequirements: an Agent ID spec needs the group and user reads
// only for the sponsors and owners it names, and its apply needs
// AgentIdentityBlueprint.ReadWrite.All (adding owners) without the
// narrower blueprint permissions whose calls that one allows (Create,
// Read.All, UpdateBranding.All, UpdateAuthProperties.All,
// AddRemoveCreds.All; issue 9, hole 11).
func TestAgentRequirements(t *testing.T) {
	users := &[]model.Ref{{Kind: model.User, Value: "alice@contoso.com"}}
	agents := func(sponsors *[]model.Ref) *model.Tenant {
		return &model.Tenant{
			Blueprints: []*model.Blueprint{{DisplayName: "B", Sponsors: sponsors, Owners: users, Tags: &[]string{"t"},
				Scopes:      &[]model.ExposedScope{{Value: "access_agent"}},
				Inheritable: &[]model.InheritablePermission{{Resource: model.Ref{Kind: model.ServicePrincipal, Value: "Microsoft Graph"}, Scopes: []string{"User.Read"}}},
				Credentials: &[]model.FederatedCredential{{Name: "gh", Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:o/r:ref:refs/heads/main"}}}},
			AgentIdentities: []*model.AgentIdentity{{DisplayName: "A", Blueprint: "B", Sponsors: sponsors, Tags: &[]string{"t"}}},
		}
	}
	for _, tc := range []struct {
		name    string
		desired *model.Tenant
		writing bool
		want    []string
	}{
		{"users as sponsors, plan", agents(users), false, []string{"AgentIdentity.Read.All", "AgentIdentityBlueprint.Read.All",
			"AgentIdentityBlueprintPrincipal.Read.All", PermApplicationRead, PermUserReadBasic}},
		{"users as sponsors, apply", agents(users), true, []string{"AgentIdentity.Create.All", "AgentIdentity.EnableDisable.All",
			"AgentIdentity.Read.All", "AgentIdentity.UpdateSponsors.All", PermBlueprintReadWrite, "AgentIdentityBlueprint.UpdateSponsors.All",
			"AgentIdentityBlueprintPrincipal.Create", "AgentIdentityBlueprintPrincipal.Read.All", PermApplicationRead, PermUserReadBasic}},
		{"a group as sponsor, plan", agents(&[]model.Ref{{Kind: model.GroupKind, Value: "Agent owners"}}), false, []string{"AgentIdentity.Read.All",
			"AgentIdentityBlueprint.Read.All", "AgentIdentityBlueprintPrincipal.Read.All", PermApplicationRead, PermGroupMemberRead, PermUserReadBasic}},
		// Lifecycle rules alone: the list of every agent identity and the
		// blueprints' names; a disabling rule's apply enables and disables.
		{"lifecycle rule, plan", &model.Tenant{Lifecycle: []*model.LifecycleRule{{Name: "r", OlderThanDays: 90, Disable: true}}}, false,
			[]string{"AgentIdentity.Read.All", "AgentIdentityBlueprint.Read.All"}},
		{"lifecycle rule, apply", &model.Tenant{Lifecycle: []*model.LifecycleRule{{Name: "r", OlderThanDays: 90, Disable: true}}}, true,
			[]string{"AgentIdentity.EnableDisable.All", "AgentIdentity.Read.All", "AgentIdentityBlueprint.Read.All"}},
		{"reporting rule, apply", &model.Tenant{Lifecycle: []*model.LifecycleRule{{Name: "r", OlderThanDays: 90}}}, true,
			[]string{"AgentIdentity.Read.All", "AgentIdentityBlueprint.Read.All"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqs := Requirements(Needs(tc.desired, tc.writing))
			got := names(reqs)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i, p := range got {
				rest := slices.Delete(slices.Clone(got), i, i+1)
				if m, _ := Check(reqs, rest); !slices.Equal(PermissionNames(m), []string{p}) {
					t.Errorf("without %s: missing %v", p, PermissionNames(m))
				}
			}
			if m, _ := Check(reqs, got); len(m) != 0 {
				t.Errorf("all granted, still missing %v", PermissionNames(m))
			}
		})
	}
}
