package planner

// The whole teardown of each example: the tenant as it is after applying
// examples/quickstart, access-package-tutorial, csv-per-team, agents and
// custom-extensions,
// against a spec that marks every object of the example absent. The order
// is the one of Microsoft's entitlement-management tutorial (seeds/004,
// step 5): assignments → policies → package → (catalog resources) →
// catalog → the groups that served it; for Agent ID, agent users →
// agent identities → blueprint, and grants before the principals that
// hold them.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// Ids of the observed tenants below.
const (
	tdAlice   = "00000000-0000-0000-0000-0000000d0a01"
	tdBob     = "00000000-0000-0000-0000-0000000d0a02"
	tdCarol   = "00000000-0000-0000-0000-0000000d0a03"
	tdDave    = "00000000-0000-0000-0000-0000000d0a04"
	tdErin    = "00000000-0000-0000-0000-0000000d0a05"
	tdFrank   = "00000000-0000-0000-0000-0000000d0a06"
	tdGrace   = "00000000-0000-0000-0000-0000000d0a07"
	tdIvan    = "00000000-0000-0000-0000-0000000d0a08"
	tdJudy    = "00000000-0000-0000-0000-0000000d0a09"
	tdMallory = "00000000-0000-0000-0000-0000000d0a0a" // guest
	tdPartner = "00000000-0000-0000-0000-0000000d0a0b" // invited guest
	tdVendor  = "00000000-0000-0000-0000-0000000d0a0c" // invited guest
	tdLeads   = "00000000-0000-0000-0000-0000000d0b01" // Marketing leads (never deleted)

	tdMarketing = "00000000-0000-0000-0000-0000000d0c01"
	tdSec1      = "00000000-0000-0000-0000-0000000d0c02"
	tdFinance   = "00000000-0000-0000-0000-0000000d0c03"
	tdTeamARes  = "00000000-0000-0000-0000-0000000d0c04"
	tdTeamBRes  = "00000000-0000-0000-0000-0000000d0c05"

	tdCatCampaigns = "00000000-0000-0000-0000-0000000d0d01"
	tdCatTeams     = "00000000-0000-0000-0000-0000000d0d02"
	tdPkgCampaign  = "00000000-0000-0000-0000-0000000d0e01"
	tdPkgTeamA     = "00000000-0000-0000-0000-0000000d0e02"
	tdPkgTeamB     = "00000000-0000-0000-0000-0000000d0e03"
	tdPolSpecific  = "00000000-0000-0000-0000-0000000d0f01"
	tdPolDirect    = "00000000-0000-0000-0000-0000000d0f02"
	tdPolTeamA     = "00000000-0000-0000-0000-0000000d0f03"
	tdPolTeamB     = "00000000-0000-0000-0000-0000000d0f04"

	tdBlueprintObj   = "00000000-0000-0000-0000-0000000d1001"
	tdBlueprintApp   = "00000000-0000-0000-0000-0000000d1002"
	tdBlueprintSP    = "00000000-0000-0000-0000-0000000d1003"
	tdIdentityEMEA   = "00000000-0000-0000-0000-0000000d1101"
	tdIdentityTest   = "00000000-0000-0000-0000-0000000d1102"
	tdAgentUser      = "00000000-0000-0000-0000-0000000d1201"
	tdGraphSP        = "00000000-0000-0000-0000-0000000d1301"
	tdPayrollReaders = "00000000-0000-0000-0000-0000000d1501"
	tdCatFinance     = "00000000-0000-0000-0000-0000000d1502"
	tdPkgPayroll     = "00000000-0000-0000-0000-0000000d1503"
	tdPolFinance     = "00000000-0000-0000-0000-0000000d1504"
	tdQueueReaders   = "00000000-0000-0000-0000-0000000d1401"
	tdCatAgents      = "00000000-0000-0000-0000-0000000d1402"
	tdPkgQueue       = "00000000-0000-0000-0000-0000000d1403"
	tdPolAgents      = "00000000-0000-0000-0000-0000000d1404"
	tdUserReadAll    = "df021288-bdef-4463-88db-98f22de89214" // Microsoft Graph's app role ids
	tdGroupMemRead   = "98830695-27a2-44f7-8c18-0c3ebc9698f6"
)

// orderRule says that every change whose address matches earlier comes
// before every change whose address matches later, in the plan's order and
// through DependsOn (directly or transitively), so that the applier, which
// runs changes concurrently and deletions only after DependsOn, cannot
// reorder them. Patterns are --target globs (model.GlobMatch: * is any run
// of characters, everything else itself).
type orderRule struct {
	earlier, later string
	// ifPlanned allows the earlier side to match no change: a step the
	// planner may leave out (a catalog's resources go with the catalog).
	ifPlanned bool
	// known, when set, says why the DependsOn edge is missing today: the
	// plan order is still checked, and the test asserts the edge is absent,
	// so that whoever adds it is told to make the rule a plain one.
	known string
}

// checkTeardownOrder checks p against rules and returns the rules'
// failures, one line each.
func checkTeardownOrder(p *Plan, rules []orderRule) []string {
	at := map[string]int{}
	deps := map[string][]string{}
	for i, c := range p.Changes {
		at[c.Address] = i
		deps[c.Address] = c.DependsOn
	}
	matching := func(pattern string) []string {
		var out []string
		for _, c := range p.Changes {
			if model.GlobMatch(pattern, c.Address) {
				out = append(out, c.Address)
			}
		}
		return out
	}
	// dependsOn reports whether from depends on to through DependsOn.
	dependsOn := func(from, to string) bool {
		seen := map[string]bool{}
		stack := []string{from}
		for len(stack) > 0 {
			a := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range deps[a] {
				if d == to {
					return true
				}
				if !seen[d] {
					seen[d] = true
					stack = append(stack, d)
				}
			}
		}
		return false
	}
	var problems []string
	for _, r := range rules {
		earlier, later := matching(r.earlier), matching(r.later)
		if len(later) == 0 || (len(earlier) == 0 && !r.ifPlanned) {
			problems = append(problems, fmt.Sprintf("rule %s before %s names no change (%d earlier, %d later)", r.earlier, r.later, len(earlier), len(later)))
			continue
		}
		for _, e := range earlier {
			for _, l := range later {
				if at[e] > at[l] {
					problems = append(problems, fmt.Sprintf("plan order: %s (#%d) must come before %s (#%d)", e, at[e]+1, l, at[l]+1))
				}
				switch edge := dependsOn(l, e); {
				case r.known == "" && !edge:
					problems = append(problems, fmt.Sprintf("DependsOn: %s does not depend on %s, directly or transitively (its dependsOn: %q)", l, e, deps[l]))
				case r.known != "" && edge:
					problems = append(problems, fmt.Sprintf("DependsOn: %s now depends on %s; the KNOWN gap (%s) is closed: drop known from the rule", l, e, r.known))
				}
			}
		}
	}
	return problems
}

// checkWholeTeardown checks that p deletes every object of observed, ends
// every live assignment and revokes every app role assignment, and does
// nothing else: no create, no field update, no add, no repair.
func checkWholeTeardown(t *testing.T, observed *model.Tenant, p *Plan) {
	t.Helper()
	want := map[string]Kind{} // object id → the kind of its delete
	for _, g := range observed.Groups {
		want[g.ID] = KindGroup
	}
	for _, c := range observed.Catalogs {
		want[c.ID] = KindCatalog
	}
	removals := map[string]bool{} // assignment and app role assignment ids
	for _, pkg := range observed.AccessPackages {
		want[pkg.ID] = KindPackage
		if pkg.Policies != nil {
			for _, pol := range *pkg.Policies {
				want[pol.ID] = KindPolicy
			}
		}
		if pkg.Assignments != nil {
			for _, a := range pkg.Assignments.Live {
				if a.Active() {
					removals[a.ID] = true
				}
			}
		}
	}
	for _, b := range observed.Blueprints {
		want[b.ID] = KindBlueprint
	}
	for _, a := range observed.AgentIdentities {
		want[a.ID] = KindAgentIdentity
	}
	for _, u := range observed.AgentUsers {
		want[u.ID] = KindAgentUser
	}
	for _, g := range observed.Grants {
		for _, r := range g.AppRoles {
			removals[r.ID] = true
		}
	}
	deleted := map[string]bool{}
	removed := map[string]bool{}
	for _, c := range p.Changes {
		switch {
		case c.Action == Delete:
			if k, ok := want[c.ObjectID]; !ok || k != c.Kind {
				t.Errorf("%s deletes %s %s, which is not an object of the example", c.Address, c.Kind, c.ObjectID)
			}
			if deleted[c.ObjectID] {
				t.Errorf("%s deletes %s a second time", c.Address, c.ObjectID)
			}
			deleted[c.ObjectID] = true
		case c.Action == Update && c.Kind == KindAssignments && c.Members != nil:
			if len(c.Members.Add)+len(c.Members.Repair) > 0 || len(c.Fields) > 0 {
				t.Errorf("%s adds or repairs in a teardown: %+v", c.Address, c.Members)
			}
			for _, m := range c.Members.Remove {
				removed[m.Assignment] = true
			}
		case c.Action == Update && c.Kind == KindGrant && c.Roles != nil:
			if len(c.Roles.Add) > 0 || len(c.Fields) > 0 {
				t.Errorf("%s grants in a teardown: %+v", c.Address, c.Roles)
			}
			for _, r := range c.Roles.Remove {
				removed[r.ID] = true
			}
		default:
			t.Errorf("%s %s: a teardown only deletes, ends assignments and revokes grants", c.Action, c.Address)
		}
	}
	for id, k := range want {
		if !deleted[id] {
			t.Errorf("%s %s is left out of the teardown", k, id)
		}
	}
	for id := range removals {
		if !removed[id] {
			t.Errorf("assignment %s is left out of the teardown", id)
		}
	}
	for id := range removed {
		if !removals[id] {
			t.Errorf("the teardown removes %s, which is no live assignment of the example", id)
		}
	}
}

func tdUser(id, upn string) model.Principal {
	return model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn, Mail: upn}
}

func tdGuest(id, mail string) model.Principal {
	return model.Principal{ID: id, Kind: model.User, UserPrincipalName: strings.Replace(mail, "@", "_", 1) + "#EXT#@contoso.onmicrosoft.com", Mail: mail}
}

func tdGroupRef(id string) model.Ref { return model.Ref{Kind: model.GroupKind, Value: id} }

func tdPolicy(id, name, scope string, approval bool) *model.Policy {
	return &model.Policy{ID: id, DisplayName: name, Body: map[string]any{
		"id": id, "displayName": name, "description": "", "allowedTargetScope": scope,
		"createdDateTime":         "2026-11-01T00:00:00Z",
		"expiration":              map[string]any{"type": "afterDuration", "duration": "P30D", "endDateTime": nil},
		"requestApprovalSettings": map[string]any{"isApprovalRequiredForAdd": approval, "isApprovalRequiredForUpdate": false, "stages": []any{}},
	}}
}

func tdDelivered(id, target, policy string) model.Assignment {
	return model.Assignment{ID: id, TargetID: target, PolicyID: policy, State: "delivered"}
}

// tdQuickstart is the tenant after applying examples/quickstart: Marketing
// resources created and filled, Sec group 1 converted to cloud management,
// Finance brought in line, Old project deleted.
func tdQuickstart() (observed, desired *model.Tenant) {
	observed = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{tdUser(tdAlice, "alice@contoso.com"), tdUser(tdBob, "bob@contoso.com"), tdUser(tdErin, "erin@contoso.com"),
			tdUser(tdFrank, "frank@contoso.com"), tdUser(tdGrace, "grace@contoso.com"), tdUser(tdIvan, "ivan@contoso.com"),
			tdUser(tdJudy, "judy@contoso.com"), tdGuest(tdMallory, "mallory@fabrikam.com"),
			{ID: tdLeads, Kind: model.GroupKind, DisplayName: "Marketing leads"},
			{ID: tdMarketing, Kind: model.GroupKind, DisplayName: "Marketing resources"},
			{ID: tdSec1, Kind: model.GroupKind, DisplayName: "Sec group 1"},
			{ID: tdFinance, Kind: model.GroupKind, DisplayName: "Finance"}},
		Groups: []*model.Group{
			{ID: tdMarketing, DisplayName: "Marketing resources", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Marketing resources"}),
				Description: ptr("Members get the campaign tools"), MailNickname: ptr("markres"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr(""),
				Members: &model.MemberSet{Members: []model.Ref{{Kind: model.User, Value: tdAlice}, {Kind: model.User, Value: tdBob},
					{Kind: model.User, Value: tdJudy}, {Kind: model.User, Value: tdMallory}, tdGroupRef(tdLeads)}}},
			// Converted: Graph reports isCloudManaged and no longer syncs it.
			{ID: tdSec1, DisplayName: "Sec group 1", Description: ptr("Synced from on-premises AD"), MailNickname: ptr("secgroup1"),
				MembershipRule: ptr(""), MembershipRuleProcessingState: ptr(""), CloudManaged: ptr(true),
				Members: &model.MemberSet{Members: []model.Ref{{Kind: model.User, Value: tdErin}}}},
			{ID: tdFinance, DisplayName: "Finance", Description: ptr("Finance team"), MailNickname: ptr("finance"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr(""),
				Members: &model.MemberSet{Members: []model.Ref{{Kind: model.User, Value: tdFrank}, {Kind: model.User, Value: tdGrace}, {Kind: model.User, Value: tdIvan}}}},
		},
	}
	desired = &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
		{DisplayName: "Marketing resources", Absent: true},
		{DisplayName: "Sec group 1", Absent: true},
		{DisplayName: "Finance", Absent: true},
		{DisplayName: "Old project", Absent: true}, // deleted by the example itself: nothing to do
	}}
	return observed, desired
}

// tdTutorial is the tenant after applying examples/access-package-tutorial.
func tdTutorial() (observed, desired *model.Tenant) {
	observed = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{tdUser(tdAlice, "alice@contoso.com"), tdUser(tdBob, "bob@contoso.com"), tdUser(tdCarol, "carol@contoso.com"),
			{ID: tdLeads, Kind: model.GroupKind, DisplayName: "Marketing leads"},
			{ID: tdMarketing, Kind: model.GroupKind, DisplayName: "Marketing resources"}},
		Groups: []*model.Group{{ID: tdMarketing, DisplayName: "Marketing resources", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Marketing resources"}),
			Description: ptr("Marketing resources"), MailNickname: ptr("markres"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr("")}},
		Catalogs: []*model.Catalog{{ID: tdCatCampaigns, DisplayName: "Campaigns", Description: ptr("Marketing campaign resources"),
			IsExternallyVisible: ptr(true), State: ptr("published"),
			Groups: &[]model.Ref{tdGroupRef(tdMarketing)}, Applications: &[]model.Ref{}, Sites: &[]model.Ref{},
			ResourceIDs: map[string]string{tdMarketing: "res-marketing"}}},
		AccessPackages: []*model.AccessPackage{{ID: tdPkgCampaign, DisplayName: "Marketing Campaign", Catalog: "Campaigns", CatalogID: tdCatCampaigns,
			Description: ptr("Access to resources for the campaign"), IsHidden: ptr(false),
			Roles:    &[]model.RoleScope{{Group: tdGroupRef(tdMarketing), Role: "Member", ID: "rrs-marketing"}},
			Policies: &[]*model.Policy{tdPolicy(tdPolDirect, "Direct assignments", "notSpecified", false), tdPolicy(tdPolSpecific, "Specific users", "specificDirectoryUsers", true)},
			Assignments: &model.AssignmentSet{Live: []model.Assignment{
				tdDelivered("as-bob", tdBob, tdPolDirect), tdDelivered("as-carol", tdCarol, tdPolDirect)}}}},
		GroupMembers: map[string][]string{tdMarketing: {tdBob, tdCarol}},
	}
	desired = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Groups:         []*model.Group{{DisplayName: "Marketing resources", Absent: true}},
		Catalogs:       []*model.Catalog{{DisplayName: "Campaigns", Absent: true}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Marketing Campaign", Catalog: "Campaigns", Absent: true}},
	}
	return observed, desired
}

// tdCSVPerTeam is the tenant after applying examples/csv-per-team, the
// invited guests delivered.
func tdCSVPerTeam() (observed, desired *model.Tenant) {
	observed = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{tdUser(tdDave, "dave@contoso.com"), tdUser(tdErin, "erin@contoso.com"), tdGuest(tdPartner, "new.partner@fabrikam.com"),
			tdUser(tdFrank, "frank@contoso.com"), tdUser(tdGrace, "grace@contoso.com"), tdGuest(tdMallory, "mallory@fabrikam.com"), tdGuest(tdVendor, "vendor@northwind.example"),
			{ID: tdTeamARes, Kind: model.GroupKind, DisplayName: "Team A resources"},
			{ID: tdTeamBRes, Kind: model.GroupKind, DisplayName: "Team B resources"}},
		Groups: []*model.Group{
			{ID: tdTeamARes, DisplayName: "Team A resources", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Team A resources"}),
				Description: ptr(""), MailNickname: ptr("team-a"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr("")},
			{ID: tdTeamBRes, DisplayName: "Team B resources", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Team B resources"}),
				Description: ptr(""), MailNickname: ptr("team-b"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr("")},
		},
		Catalogs: []*model.Catalog{{ID: tdCatTeams, DisplayName: "Teams", Description: ptr("One access package per team"),
			IsExternallyVisible: ptr(true), State: ptr("published"),
			Groups: &[]model.Ref{tdGroupRef(tdTeamARes), tdGroupRef(tdTeamBRes)}, Applications: &[]model.Ref{}, Sites: &[]model.Ref{},
			ResourceIDs: map[string]string{tdTeamARes: "res-team-a", tdTeamBRes: "res-team-b"}}},
		AccessPackages: []*model.AccessPackage{
			{ID: tdPkgTeamA, DisplayName: "Team A", Catalog: "Teams", CatalogID: tdCatTeams, Description: ptr(""), IsHidden: ptr(false),
				Roles:    &[]model.RoleScope{{Group: tdGroupRef(tdTeamARes), Role: "Member", ID: "rrs-team-a"}},
				Policies: &[]*model.Policy{tdPolicy(tdPolTeamA, "Admin assignment", "notSpecified", false)},
				Assignments: &model.AssignmentSet{Live: []model.Assignment{tdDelivered("as-dave", tdDave, tdPolTeamA), tdDelivered("as-erin", tdErin, tdPolTeamA),
					tdDelivered("as-partner", tdPartner, tdPolTeamA)}}},
			{ID: tdPkgTeamB, DisplayName: "Team B", Catalog: "Teams", CatalogID: tdCatTeams, Description: ptr(""), IsHidden: ptr(false),
				Roles:    &[]model.RoleScope{{Group: tdGroupRef(tdTeamBRes), Role: "Member", ID: "rrs-team-b"}},
				Policies: &[]*model.Policy{tdPolicy(tdPolTeamB, "Admin assignment", "notSpecified", false)},
				Assignments: &model.AssignmentSet{Live: []model.Assignment{tdDelivered("as-frank", tdFrank, tdPolTeamB), tdDelivered("as-grace", tdGrace, tdPolTeamB),
					tdDelivered("as-mallory", tdMallory, tdPolTeamB), tdDelivered("as-vendor", tdVendor, tdPolTeamB)}}},
		},
		GroupMembers: map[string][]string{tdTeamARes: {tdDave, tdErin, tdPartner}, tdTeamBRes: {tdFrank, tdGrace, tdMallory, tdVendor}},
	}
	desired = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Groups:   []*model.Group{{DisplayName: "Team A resources", Absent: true}, {DisplayName: "Team B resources", Absent: true}},
		Catalogs: []*model.Catalog{{DisplayName: "Teams", Absent: true}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Team A", Catalog: "Teams", Absent: true},
			{DisplayName: "Team B", Catalog: "Teams", Absent: true}},
	}
	return observed, desired
}

// tdAgents is the tenant after applying examples/agents: the blueprint with
// its principal, two agent identities, the EMEA identity's agent user and
// its two Microsoft Graph application permissions, and the package for
// agents assigned to the EMEA identity.
func tdAgents() (observed, desired *model.Tenant) {
	observed = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{tdUser(tdAlice, "alice@contoso.com"), tdUser(tdBob, "bob@contoso.com"), tdUser(tdCarol, "carol@contoso.com"),
			{ID: tdGraphSP, Kind: model.ServicePrincipal, DisplayName: "Microsoft Graph", AppID: msGraphAppID},
			{ID: tdIdentityEMEA, Kind: "agentIdentity", DisplayName: "Ticket triage EMEA", AppID: tdIdentityEMEA},
			{ID: tdIdentityTest, Kind: "agentIdentity", DisplayName: "Ticket triage test", AppID: tdIdentityTest}},
		Blueprints: []*model.Blueprint{{ID: tdBlueprintObj, AppID: tdBlueprintApp, PrincipalID: tdBlueprintSP, DisplayName: "Ticket triage agent",
			UniqueName:  BlueprintUniqueName(&model.Blueprint{DisplayName: "Ticket triage agent"}),
			Description: ptr("Reads tickets and routes them to the right team"),
			Sponsors:    &[]model.Ref{{Kind: model.User, Value: tdAlice}}, Owners: &[]model.Ref{{Kind: model.User, Value: tdBob}},
			Tags:        &[]string{"environment:production", "team:helpdesk"},
			Inheritable: &[]model.InheritablePermission{{Resource: model.Ref{Kind: model.ServicePrincipal, Value: msGraphAppID}, ResourceAppID: msGraphAppID, Scopes: []string{"Group.Read.All", "User.Read"}}},
			Credentials: &[]model.FederatedCredential{{Name: "github-production", Issuer: "https://token.actions.githubusercontent.com",
				Subject: "repo:contoso/ticket-triage:environment:production", Audience: model.TokenExchangeAudience, ID: "fic-1"}},
			Scopes:         &[]model.ExposedScope{{Value: "access_agent", DisplayName: "Access agent", Description: "Allow the application to access the agent on behalf of the signed-in user.", Type: "User", ID: "scope-1", Enabled: true}},
			IdentifierURIs: []string{"api://" + tdBlueprintApp}}},
		AgentIdentities: []*model.AgentIdentity{
			{ID: tdIdentityEMEA, DisplayName: "Ticket triage EMEA", Blueprint: tdBlueprintApp, Enabled: ptr(true),
				Sponsors: &[]model.Ref{{Kind: model.User, Value: tdAlice}, {Kind: model.User, Value: tdBob}}, Tags: &[]string{"environment:production"}},
			{ID: tdIdentityTest, DisplayName: "Ticket triage test", Blueprint: tdBlueprintApp, Enabled: ptr(false),
				Sponsors: &[]model.Ref{{Kind: model.User, Value: tdCarol}}, Tags: &[]string{"environment:development"}},
		},
		AgentUsers: []*model.AgentUser{{ID: tdAgentUser, UserPrincipalName: "triage-emea@contoso.com", DisplayName: "Ticket triage EMEA (user)",
			MailNickname: "triage-emea", Identity: tdIdentityEMEA}},
		Grants: []*model.Grant{{Principal: model.Ref{Kind: model.ServicePrincipal, Value: tdIdentityEMEA}, Resource: model.Ref{Kind: model.ServicePrincipal, Value: tdGraphSP},
			AppRoles: []model.GrantedRole{{RoleID: tdGroupMemRead, ID: "ara-groupmember"}, {RoleID: tdUserReadAll, ID: "ara-user"}}, Mode: model.Authoritative}},
		ServicePrincipals: []*model.AppPrincipal{{ID: tdGraphSP, AppID: msGraphAppID, DisplayName: "Microsoft Graph",
			AppRoles: []model.AppRole{{ID: tdUserReadAll, Value: "User.Read.All"}, {ID: tdGroupMemRead, Value: "GroupMember.Read.All"}},
			Scopes:   []model.AppRole{{ID: "s-user-read", Value: "User.Read"}, {ID: "s-group-read", Value: "Group.Read.All"}}}},
		Groups: []*model.Group{{ID: tdQueueReaders, DisplayName: "Helpdesk queue readers", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Helpdesk queue readers"}),
			Description: ptr("Members may read the helpdesk queue"), MailNickname: ptr("helpdesk-queue-readers"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr("")}},
		Catalogs: []*model.Catalog{{ID: tdCatAgents, DisplayName: "Agent access", Description: ptr("Resources agents receive through access packages"),
			IsExternallyVisible: ptr(true), State: ptr("published"),
			Groups: &[]model.Ref{tdGroupRef(tdQueueReaders)}, Applications: &[]model.Ref{}, Sites: &[]model.Ref{},
			ResourceIDs: map[string]string{tdQueueReaders: "res-queue"}}},
		AccessPackages: []*model.AccessPackage{{ID: tdPkgQueue, DisplayName: "Helpdesk queue for agents", Catalog: "Agent access", CatalogID: tdCatAgents,
			Description: ptr("Read access to the helpdesk queue, for agent identities"), IsHidden: ptr(false),
			Roles:       &[]model.RoleScope{{Group: tdGroupRef(tdQueueReaders), Role: "Member", ID: "rrs-queue"}},
			Policies:    &[]*model.Policy{tdPolicy(tdPolAgents, "Agents", "allDirectoryAgentIdentities", false)},
			Assignments: &model.AssignmentSet{Live: []model.Assignment{tdDelivered("as-emea", tdIdentityEMEA, tdPolAgents)}}}},
		GroupMembers: map[string][]string{tdQueueReaders: {tdIdentityEMEA}},
	}
	desired = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Groups:         []*model.Group{{DisplayName: "Helpdesk queue readers", Absent: true}},
		Catalogs:       []*model.Catalog{{DisplayName: "Agent access", Absent: true}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Helpdesk queue for agents", Catalog: "Agent access", Absent: true}},
		Blueprints:     []*model.Blueprint{{DisplayName: "Ticket triage agent", Absent: true}},
		AgentIdentities: []*model.AgentIdentity{{DisplayName: "Ticket triage EMEA", Blueprint: "Ticket triage agent", Absent: true},
			{DisplayName: "Ticket triage test", Blueprint: "Ticket triage agent", Absent: true}},
		AgentUsers: []*model.AgentUser{{UserPrincipalName: "triage-emea@contoso.com", DisplayName: "Ticket triage EMEA (user)",
			Identity: "Ticket triage EMEA", Blueprint: "Ticket triage agent", Absent: true}},
		// A permissions entry has no absent: its grants are revoked by an
		// authoritative entry that lists none.
		Grants: []*model.Grant{{Principal: model.Ref{Kind: model.ServicePrincipal, Value: "Ticket triage EMEA"},
			Resource: model.Ref{Kind: model.ServicePrincipal, Value: msGraphAppID}, AppRoles: []model.GrantedRole{}, Mode: model.Authoritative}},
	}
	return observed, desired
}

// tdCustomExtensions is the tenant after applying examples/custom-extensions:
// the Finance catalog with its group, its SharePoint site and two custom
// extensions, and the package whose policy runs them.
func tdCustomExtensions() (observed, desired *model.Tenant) {
	const site = "https://contoso.sharepoint.com/sites/Payroll"
	ext := func(id, name, typ string) *model.CustomExtension {
		return &model.CustomExtension{ID: id, DisplayName: name, Body: map[string]any{"@odata.type": typ, "id": id, "displayName": name}}
	}
	ticket, warn := ext("ext-ticket", "Open a ticket", model.RequestExtensionType), ext("ext-warn", "Warn before expiry", model.AssignmentExtensionType)
	pol := tdPolicy(tdPolFinance, "Finance staff", "notSpecified", false)
	pol.Body["customExtensionStageSettings"] = []any{
		map[string]any{"stage": "assignmentRequestCreated", "customExtension": ticket.Body},
		map[string]any{"stage": "assignmentFourteenDaysBeforeExpiration", "customExtension": warn.Body},
	}
	observed = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Principals: []model.Principal{tdUser(tdAlice, "alice@contoso.com"), tdUser(tdBob, "bob@contoso.com"),
			{ID: tdPayrollReaders, Kind: model.GroupKind, DisplayName: "Payroll data readers"}},
		Groups: []*model.Group{{ID: tdPayrollReaders, DisplayName: "Payroll data readers", UniqueName: UniqueNameFor(&model.Group{DisplayName: "Payroll data readers"}),
			Description: ptr("Read access to the payroll exports"), MailNickname: ptr("payroll-data-readers"), MembershipRule: ptr(""), MembershipRuleProcessingState: ptr("")}},
		Catalogs: []*model.Catalog{{ID: tdCatFinance, DisplayName: "Finance", Description: ptr("Finance resources"), IsExternallyVisible: ptr(true), State: ptr("published"),
			Groups: &[]model.Ref{tdGroupRef(tdPayrollReaders)}, Applications: &[]model.Ref{}, Sites: &[]model.Ref{{Kind: model.SiteKind, Value: site}},
			ResourceIDs: map[string]string{tdPayrollReaders: "res-payroll", site: "res-site"}, CustomExtensions: &[]*model.CustomExtension{ticket, warn}}},
		AccessPackages: []*model.AccessPackage{{ID: tdPkgPayroll, DisplayName: "Payroll data", Catalog: "Finance", CatalogID: tdCatFinance,
			Description: ptr("Read the payroll exports"), IsHidden: ptr(false),
			Roles: &[]model.RoleScope{{Group: tdGroupRef(tdPayrollReaders), Role: "Member", ID: "rrs-payroll"},
				{Group: model.Ref{Kind: model.SiteKind, Value: site}, Role: "6", ID: "rrs-site"}},
			Policies:    &[]*model.Policy{pol},
			Assignments: &model.AssignmentSet{Live: []model.Assignment{tdDelivered("as-alice", tdAlice, tdPolFinance), tdDelivered("as-bob", tdBob, tdPolFinance)}}}},
		GroupMembers: map[string][]string{tdPayrollReaders: {tdAlice, tdBob}},
	}
	desired = &model.Tenant{Domain: "contoso.onmicrosoft.com",
		Groups:         []*model.Group{{DisplayName: "Payroll data readers", Absent: true}},
		Catalogs:       []*model.Catalog{{DisplayName: "Finance", Absent: true}},
		AccessPackages: []*model.AccessPackage{{DisplayName: "Payroll data", Catalog: "Finance", Absent: true}},
	}
	return observed, desired
}

func TestTeardownOfEachExample(t *testing.T) {
	const (
		tutorialPkg = `access_package["Campaigns"/"Marketing Campaign"]`
		teamA       = `access_package["Teams"/"Team A"]`
		teamB       = `access_package["Teams"/"Team B"]`
		emea        = `agent_identity["Ticket triage agent"/"Ticket triage EMEA"]`
		agentsPkg   = `access_package["Agent access"/"Helpdesk queue for agents"]`
		payrollPkg  = `access_package["Finance"/"Payroll data"]`
	)
	// emRules are the tutorial's order for one package of catalog cat,
	// whose role group is group.
	emRules := func(cat, pkg, group string) []orderRule {
		policies := strings.Replace(pkg, "access_package[", "assignment_policy[", 1)
		policies = strings.TrimSuffix(policies, "]") + `/*]`
		return []orderRule{
			{earlier: pkg + ".assignments", later: policies},
			{earlier: policies, later: pkg},
			{earlier: pkg, later: model.CatalogAddress(cat)},
			{earlier: model.CatalogAddress(cat) + ".resources", later: model.CatalogAddress(cat), ifPlanned: true},
			{earlier: model.CatalogAddress(cat), later: model.GroupAddress(group)},
		}
	}
	for _, tc := range []struct {
		name    string
		tenants func() (observed, desired *model.Tenant)
		// changes are the plan's changes, sorted (the order is the rules').
		changes []string
		rules   []orderRule
	}{
		{
			name: "quickstart", tenants: tdQuickstart,
			changes: []string{`delete group["Finance"]`, `delete group["Marketing resources"]`, `delete group["Sec group 1"]`},
			// Groups only: no order between them.
		},
		{
			name: "access-package-tutorial", tenants: tdTutorial,
			changes: []string{
				`delete access_package["Campaigns"/"Marketing Campaign"]`,
				`delete assignment_policy["Campaigns"/"Marketing Campaign"/"Direct assignments"]`,
				`delete assignment_policy["Campaigns"/"Marketing Campaign"/"Specific users"]`,
				`delete catalog["Campaigns"]`,
				`delete group["Marketing resources"]`,
				`update access_package["Campaigns"/"Marketing Campaign"].assignments -bob@contoso.com -carol@contoso.com`,
			},
			rules: emRules("Campaigns", tutorialPkg, "Marketing resources"),
		},
		{
			name: "csv-per-team", tenants: tdCSVPerTeam,
			changes: []string{
				`delete access_package["Teams"/"Team A"]`,
				`delete access_package["Teams"/"Team B"]`,
				`delete assignment_policy["Teams"/"Team A"/"Admin assignment"]`,
				`delete assignment_policy["Teams"/"Team B"/"Admin assignment"]`,
				`delete catalog["Teams"]`,
				`delete group["Team A resources"]`,
				`delete group["Team B resources"]`,
				`update access_package["Teams"/"Team A"].assignments -dave@contoso.com -erin@contoso.com -new.partner@fabrikam.com`,
				`update access_package["Teams"/"Team B"].assignments -frank@contoso.com -grace@contoso.com -mallory@fabrikam.com -vendor@northwind.example`,
			},
			rules: append(emRules("Teams", teamA, "Team A resources"), emRules("Teams", teamB, "Team B resources")...),
		},
		{
			name: "agents", tenants: tdAgents,
			changes: []string{
				`delete access_package["Agent access"/"Helpdesk queue for agents"]`,
				`delete agent_identity["Ticket triage agent"/"Ticket triage EMEA"]`,
				`delete agent_identity["Ticket triage agent"/"Ticket triage test"]`,
				`delete agent_user["triage-emea@contoso.com"]`,
				`delete assignment_policy["Agent access"/"Helpdesk queue for agents"/"Agents"]`,
				`delete blueprint["Ticket triage agent"]`,
				`delete catalog["Agent access"]`,
				`delete group["Helpdesk queue readers"]`,
				`update access_package["Agent access"/"Helpdesk queue for agents"].assignments -Ticket triage EMEA`,
				`update grant["Ticket triage EMEA"/"Microsoft Graph"] -GroupMember.Read.All -User.Read.All`,
			},
			rules: append(emRules("Agent access", agentsPkg, "Helpdesk queue readers"),
				// The agent's assignment ends before the agent goes.
				orderRule{earlier: agentsPkg + ".assignments", later: emea},
				orderRule{earlier: `agent_user["triage-emea@contoso.com"]`, later: emea},
				orderRule{earlier: `agent_identity["Ticket triage agent"/*]`, later: `blueprint["Ticket triage agent"]`},
				// A principal's grants are revoked before it is deleted
				// (planner/teardown.go deleteInUseLast).
				orderRule{earlier: `grant["Ticket triage EMEA"/*]`, later: emea},
			),
		},
		{
			// The catalog's custom extensions go with it (Graph deletes a
			// catalog's contents with it once its packages are gone).
			name: "custom-extensions", tenants: tdCustomExtensions,
			changes: []string{
				`delete access_package["Finance"/"Payroll data"]`,
				`delete assignment_policy["Finance"/"Payroll data"/"Finance staff"]`,
				`delete catalog["Finance"]`,
				`delete group["Payroll data readers"]`,
				`update access_package["Finance"/"Payroll data"].assignments -alice@contoso.com -bob@contoso.com`,
			},
			rules: emRules("Finance", payrollPkg, "Payroll data readers"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			observed, desired := tc.tenants()
			model.Normalize(observed)
			model.Normalize(desired)
			p := Compute(desired, observed, Options{})
			var order []string
			for i, c := range p.Changes {
				order = append(order, fmt.Sprintf("%d. %s %s  dependsOn %q", i+1, c.Action, c.Address, c.DependsOn))
			}
			t.Logf("teardown plan:\n%s", strings.Join(order, "\n"))
			if p.Errored || len(p.Blocks) > 0 {
				t.Fatalf("plan errored or blocked: %v %v", p.Diagnostics, p.Blocks)
			}
			got := teardownSummary(p)
			slices.Sort(got)
			if !slices.Equal(got, tc.changes) {
				t.Errorf("changes:\n  got  %q\n  want %q", got, tc.changes)
			}
			checkWholeTeardown(t, observed, p)
			for _, problem := range checkTeardownOrder(p, tc.rules) {
				t.Error(problem)
			}
		})
	}
}

// teardownSummary is summary with the roles a change removes.
func teardownSummary(p *Plan) []string {
	out := summary(p)
	for i, c := range p.Changes {
		if c.Roles != nil {
			for _, r := range c.Roles.Remove {
				out[i] += " -" + r.Role
			}
		}
	}
	return out
}

// The helper itself: it finds a change out of plan order, a missing edge,
// an edge through another change, and rules that name nothing.
func TestTeardownOrderRulesHelper(t *testing.T) {
	p := &Plan{Changes: []Change{
		{Address: "a1"},
		{Address: "a2", DependsOn: []string{"a1"}},
		{Address: "c", DependsOn: []string{"a2"}},
		{Address: "d"},
	}}
	for _, tc := range []struct {
		rule orderRule
		want string // "" when the rule holds
	}{
		{orderRule{earlier: "a1", later: "c"}, ""},             // transitively
		{orderRule{earlier: "a*", later: "c"}, ""},             // a glob: a1 and a2
		{orderRule{earlier: "a1", later: "d"}, "DependsOn: d"}, // order only
		{orderRule{earlier: "c", later: "a1"}, "plan order: c (#3) must come before a1 (#1)"},
		{orderRule{earlier: "x", later: "a1"}, "names no change"},
		{orderRule{earlier: "x", later: "a1", ifPlanned: true}, ""},
		{orderRule{earlier: "a1", later: "x", ifPlanned: true}, "names no change"},
		{orderRule{earlier: "a1", later: "d", known: "gap"}, ""},
		{orderRule{earlier: "a1", later: "a2", known: "gap"}, "KNOWN gap (gap) is closed"},
	} {
		got := strings.Join(checkTeardownOrder(p, []orderRule{tc.rule}), "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.rule, got, tc.want)
		}
	}
}
