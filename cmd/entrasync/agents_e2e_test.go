package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

// The agents example: blueprint → principal → identities → grants; plan
// again is clean; a second apply sends no writes; deleting runs in reverse.
func TestAgentsExample(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "agents")
	r := entrasync(t, url, "plan", "-f", spec)
	for _, want := range []string{`# blueprint["Ticket triage agent"] will be created`, `# agent_identity["Ticket triage agent"/"Ticket triage EMEA"] will be created`,
		`+ bob@contoso.com`} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("plan lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The create order: blueprint → principal → identities → agent users →
	// grants. Independent creates run concurrently, so the test checks each
	// constraint rather than one interleaving.
	at := map[string]int{}
	n := 0
	for _, e := range sim.Log() {
		if !e.Write || e.Status >= 300 {
			continue
		}
		n++
		switch {
		case strings.Contains(e.Path, "applications(uniqueName="):
			at["blueprint"] = n
		case strings.HasSuffix(e.Path, "agentIdentityBlueprintPrincipal"):
			at["principal"] = n
		case strings.HasSuffix(e.Path, "servicePrincipals/microsoft.graph.agentIdentity") && strings.Contains(string(e.Body), "Ticket triage EMEA"):
			at["identity EMEA"] = n
		case strings.HasSuffix(e.Path, "servicePrincipals/microsoft.graph.agentIdentity"):
			at["identity test"] = n
		case strings.HasSuffix(e.Path, "/users/microsoft.graph.agentUser"):
			at["agent user"] = n
		case strings.HasSuffix(e.Path, "/appRoleAssignedTo"):
			if at["first grant"] == 0 {
				at["first grant"] = n
			}
		}
	}
	for _, c := range [][2]string{{"blueprint", "principal"}, {"principal", "identity EMEA"}, {"principal", "identity test"},
		{"identity EMEA", "agent user"}, {"agent user", "first grant"}} {
		if at[c[0]] == 0 || at[c[1]] == 0 || at[c[0]] > at[c[1]] {
			t.Errorf("%s (write %d) must come before %s (write %d)", c[0], at[c[0]], c[1], at[c[1]])
		}
	}
	if r := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 || writes(sim.Log()) != 0 {
		t.Fatalf("second apply: exit %d, %d writes", r.code, writes(sim.Log()))
	}
}

// Removing a sponsor is gated (ES103); deleting runs identities first, then
// the blueprint, whose plan explains the cascade.
func TestAgentsSponsorsAndDeletion(t *testing.T) {
	_, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	base := `blueprints:
  - displayName: Router
    sponsors: {users: [alice@contoso.com]}
agentIdentities:
  - displayName: Router one
    blueprint: Router
    sponsors: {users: [alice@contoso.com, bob@contoso.com]}
`
	writeSpec(t, dir, base)
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeSpec(t, dir, strings.Replace(base, "[alice@contoso.com, bob@contoso.com]", "[alice@contoso.com]", 1))
	r := entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, "[ES103 needs approval]") || !strings.Contains(r.stdout, "- bob@contoso.com") {
		t.Fatalf("sponsor removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES103"); r.code != 0 {
		t.Fatalf("approved: exit %d\n%s", r.code, r.stderr)
	}
	writeSpec(t, dir, `blueprints:
  - {displayName: Router, absent: true}
agentIdentities:
  - {displayName: Router one, blueprint: Router, absent: true}
`)
	r = entrasync(t, url, "plan", "-f", dir)
	i, b := strings.Index(r.stdout, `# agent_identity["Router"/"Router one"] will be deleted`), strings.Index(r.stdout, `# blueprint["Router"] will be deleted`)
	if i < 0 || b < 0 || i > b {
		t.Fatalf("deletion order:\n%s", r.stdout)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after delete: exit %d\n%s", r.code, r.stdout)
	}
}

// Inheritable permissions are created with their blueprint in one apply,
// checked by scope name, changed in place (all scopes of Microsoft Graph is
// a privileged grant) and removed when the list drops them.
func TestInheritablePermissions(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	spec := func(inherit string) string {
		return "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com]}\n    inheritablePermissions: " + inherit + "\n"
	}
	writeSpec(t, dir, spec("[{scopes: [User.Read]}]"))
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	writeSpec(t, dir, spec("[{scopes: [User.Raed]}]"))
	r := entrasync(t, url, "plan", "-f", dir)
	if r.code != exitError || !strings.Contains(r.stderr, `has no delegated permission "User.Raed"; did you mean "User.Read"?`) {
		t.Fatalf("misspelt scope: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	writeSpec(t, dir, spec("[{allScopes: true}]"))
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, "[ES201 needs approval]") ||
		!strings.Contains(r.stdout, `~ inheritableScopes = "User.Read" -> "(all allowed scopes)"`) {
		t.Fatalf("all scopes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES201"); r.code != 0 {
		t.Fatalf("approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var patched bool
	for _, e := range sim.Log() {
		if e.Write {
			patched = patched || (e.Method == "PATCH" && strings.HasSuffix(e.Path, "/inheritablePermissions/00000003-0000-0000-c000-000000000000"))
		}
	}
	if !patched {
		t.Fatalf("the change was not a PATCH of the existing entry: %+v", sim.Log())
	}

	writeSpec(t, dir, spec("[]"))
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `# blueprint["Router"].inheritable["Microsoft Graph"] will be deleted`) ||
		!strings.Contains(r.stdout, `- inheritableScopes = "(all allowed scopes)"`) {
		t.Fatalf("removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("removal approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after removal: exit %d\n%s", r.code, r.stdout)
	}
}

// Federated credentials are upserted by name (one PATCH, create or update),
// never duplicated, and removed when the list drops them.
func TestBlueprintFederatedCredentials(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	spec := func(creds string) string {
		return "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com]}\n    federatedCredentials: " + creds + "\n"
	}
	prod := "{name: gh-prod, issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:contoso/router:environment:production'}"
	writeSpec(t, dir, spec("["+prod+"]"))
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `# blueprint["Router"].credential["gh-prod"] will be created  [ES203]`) ||
		!strings.Contains(r.stdout, `+ audience = "api://AzureADTokenExchange"`) {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 || writes(sim.Log()) != 0 {
		t.Fatalf("second apply: exit %d, %d writes\n%s", r.code, writes(sim.Log()), r.stdout)
	}

	// Re-pointing a credential is ES203; a team that gates it must approve.
	writeSpec(t, dir, "settings: {requireApproval: [ES101, ES103, ES201, ES203, ES301]}\n"+spec("["+strings.Replace(prod, "environment:production", "environment:prod", 1)+"]"))
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != exitGated || !strings.Contains(r.stdout, "[ES203 needs approval]") {
		t.Fatalf("gated re-point: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES203")
	if r.code != 0 || !strings.Contains(r.stdout, `~ subject = "repo:contoso/router:environment:production" -> "repo:contoso/router:environment:prod"`) {
		t.Fatalf("subject change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if writes(sim.Log()) != 1 {
		t.Errorf("%d writes, want the one upsert", writes(sim.Log()))
	}
	for _, e := range withoutLease(sim.Log()) {
		if e.Write && !strings.HasSuffix(e.Path, "/$batch") && !(e.Method == "PATCH" && strings.HasSuffix(e.Path, "/federatedIdentityCredentials(name='gh-prod')")) {
			t.Errorf("unexpected write %s %s", e.Method, e.Path)
		}
	}

	writeSpec(t, dir, spec("[]"))
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `# blueprint["Router"].credential["gh-prod"] will be deleted`) {
		t.Fatalf("removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("removal approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after removal: exit %d\n%s", r.code, r.stdout)
	}
}

// Sponsor groups are checked at plan time by the rule Graph enforces:
// dynamic or Microsoft 365, never role-assignable. A group that passes is
// accepted by the simulator, which enforces the rule on its own.
func TestSponsorGroupsPlanTimeRule(t *testing.T) {
	fx := graphsim.DemoFixture()
	yes := true
	fx.Groups = append(fx.Groups, graphsim.Group{DisplayName: "Tier 0 admins", MailNickname: "tier0", IsAssignableToRole: &yes,
		GroupTypes: []string{"DynamicMembership"}, MembershipRule: `(user.department -eq "IT")`, MembershipRuleProcessingState: "On"})
	_, url := startSim(t, fx)
	dir := t.TempDir()
	for group, want := range map[string]string{
		"Finance":       `group "Finance" cannot be a sponsor: Entra accepts only dynamic-membership and Microsoft 365 groups as sponsors`,
		"Tier 0 admins": `group "Tier 0 admins" cannot be a sponsor: Entra refuses role-assignable groups as sponsors`,
	} {
		writeSpec(t, dir, "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com], groups: ['"+group+"']}\n")
		if r := entrasync(t, url, "plan", "-f", dir); r.code != exitError || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "spec.yaml:4:53: error: blueprint[\"Router\"]: ") {
			t.Errorf("%s: exit %d\n%s%s", group, r.code, r.stdout, r.stderr)
		}
	}
	writeSpec(t, dir, "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com], groups: [Sales dynamic]}\n")
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("dynamic group sponsor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after apply: exit %d\n%s", r.code, r.stdout)
	}
}

// A lifecycle rule reports declared agent identities with its tags that are
// older than its age, and disables them (ES104) when its action says so.
func TestLifecycleRule(t *testing.T) {
	fx := graphsim.DemoFixture()
	old := time.Now().UTC().AddDate(0, 0, -120)
	for i := range fx.ServicePrincipals {
		if fx.ServicePrincipals[i].DisplayName == "Demo Helpdesk Agent 1" {
			fx.ServicePrincipals[i].CreatedDateTime = &old
		}
	}
	_, url := startSim(t, fx)
	dir := t.TempDir()
	spec := func(days, action string) string {
		return `agentIdentities:
  - displayName: Demo Helpdesk Agent 1
    blueprint: Demo Helpdesk Agent
    sponsors: {users: [alice@contoso.com]}
    tags: [environment:development]
lifecycle:
  - name: stale dev agents
    tags: [environment:development]
    olderThanDays: ` + days + `
    action: ` + action + "\n"
	}
	writeSpec(t, dir, spec("365", "disable"))
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 || strings.Contains(r.stdout+r.stderr, `lifecycle rule "`) {
		t.Fatalf("young enough: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeSpec(t, dir, spec("90", "report"))
	r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, `lifecycle rule "stale dev agents": agent identity "Demo Helpdesk Agent 1" is 120 days old (more than 90)`) {
		t.Fatalf("report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeSpec(t, dir, spec("90", "disable"))
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, "[ES104 needs approval]") {
		t.Fatalf("disable without approval: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES104")
	if r.code != 0 || !strings.Contains(r.stdout, "~ accountEnabled = true -> false") {
		t.Fatalf("disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Exposed scopes: created with stable ids and the api://{appId} identifier,
// changed in place, and removed in two writes (disable, then drop) because
// Graph refuses to drop an enabled scope.
func TestExposedScopes(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	scope := func(value, desc string) string {
		return "\n      - {value: " + value + ", displayName: " + value + ", description: '" + desc + "'}"
	}
	spec := func(scopes string) string {
		return "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com]}\n    exposedScopes:" + scopes + "\n"
	}
	writeSpec(t, dir, spec(scope("access_agent", "Access the agent")+scope("read_queue", "Read the queue")))
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var appURI string
	for _, e := range sim.Log() {
		if e.Method == "PATCH" && strings.Contains(string(e.Body), "identifierUris") {
			appURI = string(e.Body)
		}
	}
	if !strings.Contains(appURI, `"api://`) || strings.Contains(appURI, "{appId}") {
		t.Fatalf("identifierUris not filled with the new appId: %s", appURI)
	}

	writeSpec(t, dir, spec(scope("access_agent", "Access the agent for a user")))
	r := entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `- scope read_queue`) || !strings.Contains(r.stdout, "[ES101 needs approval]") {
		t.Fatalf("removal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES101"); r.code != 0 {
		t.Fatalf("approved: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var patches []string
	for _, e := range sim.Log() {
		if e.Write && e.Method == "PATCH" {
			patches = append(patches, string(e.Body))
		}
	}
	if len(patches) != 2 || !strings.Contains(patches[0], `"isEnabled":false`) || strings.Contains(patches[1], "read_queue") {
		t.Fatalf("want a disabling PATCH then the final one, got %q", patches)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("after removal: exit %d\n%s", r.code, r.stdout)
	}
}

// Owners are added when missing and never removed: Entra makes the creator
// (entrasync's own principal) an owner, which the spec does not list.
func TestBlueprintOwners(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	dir := t.TempDir()
	writeSpec(t, dir, "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com]}\n    owners: {users: [bob@contoso.com]}\n")
	r := entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, `# blueprint["Router"].owners will add 1 owner`) || !strings.Contains(r.stdout, "+ bob@contoso.com") {
		t.Fatalf("plan:\n%s%s", r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	if r := entrasync(t, url, "apply", "-f", dir, "--auto-approve"); r.code != 0 || writes(sim.Log()) != 0 {
		t.Fatalf("second apply: exit %d, %d writes\n%s", r.code, writes(sim.Log()), r.stdout)
	}
	writeSpec(t, dir, "blueprints:\n  - displayName: Router\n    sponsors: {users: [alice@contoso.com]}\n    owners: {users: [carol@contoso.com]}\n")
	r = entrasync(t, url, "plan", "-f", dir)
	if !strings.Contains(r.stdout, "+ carol@contoso.com") || strings.Contains(r.stdout, "- bob@contoso.com") {
		t.Fatalf("owners are additive:\n%s%s", r.stdout, r.stderr)
	}
}

// Under lost answers, throttling, server errors and replication lag, the
// agents example converges without a second blueprint, identity, agent user
// or credential: upserts are upserts, and creates Graph cannot upsert are
// looked up before they are sent again.
func TestAgentsConvergeUnderFaults(t *testing.T) {
	t.Parallel() // it mostly waits: its runs are processes (entrasyncApart)
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: seed})
			url, stop, err := sim.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			spec := filepath.Join("..", "..", "examples", "agents")
			sim.SetFaults(graphsim.Faults{StormRate: 0.1, StormRetryAfter: 20_000_000, ServerErrorRate: 0.05, ServerErrorRetryAfter: 10_000_000,
				DropResponseRate: 0.15, ReplicationLag: 200_000_000})
			converged := false
			for attempt := 1; attempt <= 4 && !converged; attempt++ {
				r := entrasyncApart(t, url, "apply", "-f", spec, "--auto-approve", "--consistency-timeout", "10s")
				t.Logf("apply %d: exit %d %s", attempt, r.code, lastLine(r.stderr))
				converged = entrasyncApart(t, url, "plan", "-f", spec, "--detailed-exitcode").code == 0
			}
			if !converged {
				t.Fatal("did not converge in 4 applies")
			}
			fx := snapshot(t, sim).fx
			names := map[string]int{}
			for _, b := range fx.Blueprints {
				names["blueprint "+b.DisplayName]++
				names["credentials"] += len(b.FederatedIdentityCredentials)
			}
			for _, sp := range fx.ServicePrincipals {
				names[sp.ODataType+" "+sp.DisplayName]++
			}
			for _, n := range []string{"blueprint Ticket triage agent", "credentials", "#microsoft.graph.agentIdentity Ticket triage EMEA",
				"#microsoft.graph.agentIdentity Ticket triage test"} {
				if names[n] != 1 {
					t.Errorf("%s: %d, want 1", n, names[n])
				}
			}
		})
	}
}

// A blueprint upsert whose answer is lost is resent by the transport, and
// Graph answers the resend 204 without a body (the blueprint exists now).
// Its id is then read back by uniqueName, which under replication lag does
// not find it at first: apply waits for it instead of failing the change.
func TestBlueprintUpsertReadBackWaitsForReplication(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "agents")
	unique := planner.BlueprintUniqueName(&model.Blueprint{DisplayName: "Ticket triage agent"})
	sim.SetFaults(graphsim.Faults{ReplicationLag: 1500 * time.Millisecond})
	sim.DropNext("PATCH", "/applications(uniqueName='"+unique+"')/microsoft.graph.agentIdentityBlueprint", 1)
	r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES201,ES203")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dropped := false
	for _, e := range sim.Log() {
		dropped = dropped || e.Dropped && strings.Contains(e.Path, unique)
	}
	if !dropped {
		t.Fatal("the upsert's answer was not dropped: the test proves nothing")
	}
	sim.SetFaults(graphsim.Faults{})
	if p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); p.code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", p.code, p.stdout)
	}
}

// An agent identity create answered 504 that Graph did not commit is sent
// again after the settle window, and the namesake check leaves one: the
// same apply converges.
func TestAgentIdentityAmbiguousCreateConverges(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "agents")
	sim.FailNext("POST", "/servicePrincipals/microsoft.graph.agentIdentity", 504, 1)
	r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES201,ES203", "--consistency-timeout", "4s")
	if r.code != 0 || !strings.Contains(r.stderr, "created again") {
		t.Fatalf("apply: exit %d, want 0 with the identity created again\n%s%s", r.code, r.stdout, r.stderr)
	}
	n := 0
	for _, sp := range snapshot(t, sim).fx.ServicePrincipals {
		if sp.DisplayName == "Ticket triage EMEA" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d agent identities named Ticket triage EMEA, want 1", n)
	}
	if p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); p.code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", p.code, p.stdout)
	}
}

// The blueprint principal is keyed by its appId, so a create answered 500
// without committing is looked for and posted again: the same apply
// converges, with one principal.
func TestBlueprintPrincipalCreateAnswered500Converges(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "agents")
	sim.FailNext("POST", "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", 500, 1)
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES201,ES203"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	posts := 0
	for _, e := range sim.Log() {
		if e.Method == "POST" && strings.HasSuffix(e.Path, "/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal") {
			posts++
		}
	}
	if posts != 2 {
		t.Errorf("%d principal creates, want 2 (the failed one and its resend)", posts)
	}
	if p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode"); p.code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", p.code, p.stdout)
	}
}

// Lifecycle rules select from every agent identity of the tenant, read in
// one paged, $select-ed list: an undeclared stale development agent is
// reported (a warning on stderr, no change: drift exits 0), disabled behind
// ES104 (never deleted), and refused when protected; the young ones and
// the production one are left alone.
func TestLifecycleRuleOverTheTenant(t *testing.T) {
	fx := graphsim.DemoFixture()
	young := time.Now().UTC().AddDate(0, 0, -5)
	old := time.Now().UTC().AddDate(0, 0, -200)
	for i := range 120 {
		fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{ID: fmt.Sprintf("7a000000-0000-4000-8000-%012d", i),
			AppID: fmt.Sprintf("7a000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Pilot agent %03d", i), ODataType: "#microsoft.graph.agentIdentity",
			AgentIdentityBlueprintID: "9d3b6a2e-1f4c-4b8a-a7e5-3c2d1e0f9a8b", Tags: []string{"environment:development"}, CreatedDateTime: &young,
			Sponsors: []string{"f6fadfa7-e5c1-4b62-9362-da5cc13da58a"}})
	}
	fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{ID: "7b000000-0000-4000-8000-000000000001", AppID: "7b000000-0000-4000-8000-000000000001",
		DisplayName: "Production agent", ODataType: "#microsoft.graph.agentIdentity", AgentIdentityBlueprintID: "9d3b6a2e-1f4c-4b8a-a7e5-3c2d1e0f9a8b",
		Tags: []string{"environment:production"}, CreatedDateTime: &old, Sponsors: []string{"f6fadfa7-e5c1-4b62-9362-da5cc13da58a"}})
	sim, url := startSim(t, fx)
	dir := t.TempDir()
	rule := func(action, extra string) string {
		return "lifecycle:\n  - name: stale dev agents\n    blueprint: Demo Helpdesk Agent\n    tags: [environment:development]\n    olderThanDays: 90\n    action: " + action + "\n" + extra
	}
	const warning = `warning: agent_identity["Demo Helpdesk Agent"/"Demo Helpdesk Agent 1"]: lifecycle rule "stale dev agents": agent identity "Demo Helpdesk Agent 1" (id e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1) is `

	writeSpec(t, dir, rule("report", ""))
	sim.ResetLog()
	r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stderr, warning) || strings.Contains(r.stdout, "lifecycle rule") || strings.Contains(r.stderr+r.stdout, "Pilot agent") {
		t.Fatalf("report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lists := 0
	for _, e := range sim.Log() {
		if strings.HasSuffix(e.Path, "/servicePrincipals/microsoft.graph.agentIdentity") && e.Method == "GET" {
			lists++
			if !strings.Contains(e.Query, "select") && !strings.Contains(e.Query, "skiptoken") {
				t.Errorf("agent identity list: %s %s?%s (batched %v)", e.Method, e.Path, e.Query, e.InBatch)
			}
		}
		if strings.Contains(e.Path, "/sponsors") || strings.Contains(e.Path, "microsoft.graph.agentIdentity/") || strings.HasPrefix(e.Path, "/v1.0/servicePrincipals/7a") {
			t.Errorf("per-identity request %s %s", e.Method, e.Path)
		}
	}
	if lists != 2 { // 122 identities: two pages of at most 100
		t.Errorf("%d agent identity list requests, want 2 pages", lists)
	}
	if r := entrasync(t, url, "drift", "-f", dir); r.code != 0 || !strings.Contains(r.stderr, warning) {
		t.Fatalf("drift: report-only findings are not drift: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--format", "markdown"); r.code != 0 || !strings.Contains(r.stdout, "Demo Helpdesk Agent 1") {
		t.Fatalf("markdown shows the finding: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Protected: refused, not disabled.
	writeSpec(t, dir, rule("disable", "settings:\n  protected: [e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1]\n"))
	if r := entrasync(t, url, "plan", "-f", dir); r.code != exitError || !strings.Contains(r.stderr, `the plan would disable protected agent identity "Demo Helpdesk Agent 1"`) {
		t.Fatalf("protected: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Disable: gated by ES104, then applied; nothing is deleted.
	writeSpec(t, dir, rule("disable", ""))
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve")
	if r.code != exitGated || !strings.Contains(r.stdout, `# agent_identity["Demo Helpdesk Agent"/"Demo Helpdesk Agent 1"] will be updated in-place  [ES104 needs approval]`) {
		t.Fatalf("gated disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.ResetLog()
	r = entrasync(t, url, "apply", "-f", dir, "--auto-approve", "--approve", "ES104")
	if r.code != 0 || !strings.Contains(r.stdout, "~ accountEnabled = true -> false") || strings.Contains(r.stdout, "Pilot agent") || strings.Contains(r.stdout, "Production agent") {
		t.Fatalf("disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, e := range withoutLease(sim.Log()) {
		if e.Write && e.Path != "/v1.0/$batch" && (e.Method != "PATCH" || e.Path != "/v1.0/servicePrincipals/e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1/microsoft.graph.agentIdentity") {
			t.Errorf("unexpected write %s %s", e.Method, e.Path)
		}
	}
	if r := entrasync(t, url, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 || strings.Contains(r.stdout+r.stderr, "Demo Helpdesk Agent 1") {
		t.Fatalf("after disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// An agent identity create whose answer is lost while replication hides
// it is sent again after the settle window. The namesake check must not
// judge before it can see its own object: by then the first one shows
// too, and one of the two is deleted.
func TestAgentIdentityLostCreateUnderLagKeepsOne(t *testing.T) {
	sim, url := startSim(t, graphsim.DemoFixture())
	spec := filepath.Join("..", "..", "examples", "agents")
	sim.SetFaults(graphsim.Faults{ReplicationLag: 2 * time.Second})
	sim.DropNext("POST", "/servicePrincipals/microsoft.graph.agentIdentity", 1)
	// settle = 1.5 s, under the lag: the first identity is not seen
	// before the second create.
	r := entrasync(t, url, "apply", "-f", spec, "--auto-approve", "--approve", "ES201,ES203", "--consistency-timeout", "3s")
	if !strings.Contains(r.stderr, "created again") {
		t.Fatalf("apply: exit %d, want the identity created again\n%s%s", r.code, r.stdout, r.stderr)
	}
	sim.SetFaults(graphsim.Faults{})
	n := 0
	for _, sp := range snapshot(t, sim).fx.ServicePrincipals {
		if sp.DisplayName == "Ticket triage EMEA" && sp.DeletedDateTime == nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d agent identities named Ticket triage EMEA, want 1\n%s", n, r.stderr)
	}
}
