package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graphsim"
)

// The benchmark suite of issue 13: each scenario is a spec of G groups of M
// members drawn from a pool of users, optionally with catalog/package/policy
// sets and direct assignments, run through the real CLI against graphsim
// over HTTP. For each phase (create from scratch, converged plan, plan of a
// 5 % drift, that plan read through delta, the apply that corrects it, and
// the correction drift --correct --refresh=delta makes) it reports what the run cost and
// the ratio to Graph's own lower bound, which the benchmark computes from
// the documented costs (boundOf).
//
//	go test ./cmd/entrasync -run '^$' -bench Bound -benchtime=1x
//	ENTRASYNC_BENCH_LATENCY=100ms go test ./cmd/entrasync -run '^$' -bench 'Bound/tf-peer' -benchtime=1x
//
// Rounds (sequential round trips) are measured, not guessed: a run at
// latency L takes about rounds × L longer than at 0, so the suite runs each
// phase at 0 and at ENTRASYNC_BENCH_LATENCY (default 100 ms) and reports
// (wall(L) − wall(0)) / L. CPU and peak RSS are the process's, so they
// include the in-process simulator: an upper bound on entrasync's own
// (graph's BenchmarkReadMembers measures the client alone).

type scenario struct {
	name         string
	groups, size int // groups of size members
	users        int // the tenant's users, members are drawn from
	sets         int // catalog + package + policy sets, each granting one group
	assignments  int // direct assignments, spread over the sets' packages
	csv          bool
	// agents are agent identities of one blueprint, each with a sponsor
	// and an application permission on Microsoft Graph; the drift gives
	// 5 % of them another permission.
	agents int
}

var scenarios = []scenario{
	{name: "tf-peer", groups: 200, size: 50, users: 2000, sets: 20},
	{name: "10x1000", groups: 10, size: 1000, users: 10000, csv: true},
	{name: "100x1000", groups: 100, size: 1000, users: 20000, csv: true},
	{name: "1000x100", groups: 1000, size: 100, users: 20000},
	{name: "2000x50", groups: 2000, size: 50, users: 20000},
	{name: "1x50000", groups: 1, size: 50000, users: 100000, csv: true}, // drifted members come from the other half
	{name: "assign500", groups: 10, size: 20, users: 1000, sets: 10, assignments: 500},
	{name: "assign5000", groups: 10, size: 20, users: 10000, sets: 10, assignments: 5000},
	{name: "agents50", users: 100, agents: 50},
	{name: "agents500", users: 1000, agents: 500},
}

func (s scenario) upn(i int) string { return fmt.Sprintf("u%06d@contoso.com", i%s.users) }

// member k of group g: consecutive blocks, shifted per group, so groups
// overlap and every user is someone's member when the pool allows it.
func (s scenario) member(g, k int) string { return s.upn(g*s.size/2 + k) }

// roleGroups is how many groups of their own the sets grant: with
// assignments, a set's package delivers its assignees into its group, so
// that group cannot also be one whose members the spec lists
// authoritatively (they would fight). Without assignments the sets grant
// the first teams.
func (s scenario) roleGroups() int {
	if s.assignments > 0 {
		return s.sets
	}
	return 0
}

func (s scenario) roleGroup(c int) string {
	if s.assignments > 0 {
		return fmt.Sprintf("Role %03d", c)
	}
	return fmt.Sprintf("Team %05d", c)
}

// drifted is how many members of each group the drift swaps.
func (s scenario) drifted() int { return max(1, s.size/20) }

func (s scenario) fixture() *graphsim.Fixture {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	for i := range s.users {
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: s.upn(i), Mail: s.upn(i)})
	}
	if s.agents > 0 {
		// The permissions' resource: graphsim gives it Graph's app roles.
		fx.ServicePrincipals = append(fx.ServicePrincipals, graphsim.ServicePrincipal{AppID: "00000003-0000-0000-c000-000000000000", DisplayName: "Microsoft Graph"})
	}
	return fx
}

// driftedAgents is how many agents the drift gives another permission.
func (s scenario) driftedAgents() int { return max(1, s.agents/20) }

// agentWrites is what correcting the agents' drift writes: a permission
// revoked and one granted per drifted agent.
func (s scenario) agentWrites() int {
	if s.agents == 0 {
		return 0
	}
	return 2 * s.driftedAgents()
}

// agentFiles is the agents part of the spec.
func (s scenario) agentFiles(y *strings.Builder, drift bool) {
	fmt.Fprintf(y, "blueprints:\n  - displayName: Bench agents\n    sponsors: {users: [%s]}\n", s.upn(0))
	y.WriteString("agentIdentities:\n")
	for a := range s.agents {
		fmt.Fprintf(y, "  - displayName: Agent %05d\n    blueprint: Bench agents\n    sponsors: {users: [%s]}\n", a, s.upn(a))
	}
	y.WriteString("permissions:\n")
	for a := range s.agents {
		perm := "User.Read.All"
		if drift && a >= s.agents-s.driftedAgents() {
			perm = "User.ReadBasic.All"
		}
		fmt.Fprintf(y, "  - principal: Agent %05d\n    mode: authoritative\n    application: [%s]\n", a, perm)
	}
}

// files is the scenario's spec; drift swaps the last size/20 members (at
// least one) of every group for others (5 % of the memberships) when true.
func (s scenario) files(drift bool) map[string][]byte {
	files := map[string][]byte{}
	var y strings.Builder
	y.WriteString("tenant: contoso.onmicrosoft.com\n")
	if s.agents > 0 {
		s.agentFiles(&y, drift)
	}
	if s.groups+s.roleGroups() > 0 {
		y.WriteString("groups:\n")
	}
	for g := range s.groups {
		fmt.Fprintf(&y, "  - displayName: Team %05d\n    members:\n", g)
		y.WriteString("      mode: authoritative\n")
		members := make([]string, s.size)
		for k := range s.size {
			members[k] = s.member(g, k)
		}
		if drift {
			for k := s.size - s.drifted(); k < s.size; k++ {
				members[k] = s.upn(g*s.size/2 + k + s.users/2)
			}
		}
		if s.csv {
			name := fmt.Sprintf("team-%05d.csv", g)
			files[name] = []byte("Email\n" + strings.Join(members, "\n") + "\n")
			fmt.Fprintf(&y, "      csv: {path: %s, column: Email}\n", name)
			continue
		}
		fmt.Fprintf(&y, "      users: [%s]\n", strings.Join(members, ", "))
	}
	for c := range s.roleGroups() {
		fmt.Fprintf(&y, "  - displayName: %s\n", s.roleGroup(c))
	}
	if s.sets > 0 {
		y.WriteString("catalogs:\n")
		for c := range s.sets {
			fmt.Fprintf(&y, "  - displayName: Catalog %03d\n    state: published\n    resources:\n      groups: [%s]\n", c, s.roleGroup(c))
		}
		y.WriteString("accessPackages:\n")
		for c := range s.sets {
			fmt.Fprintf(&y, "  - displayName: Package %03d\n    catalog: Catalog %03d\n    roles:\n      - group: %s\n", c, c, s.roleGroup(c))
			fmt.Fprintf(&y, "    policies:\n      - displayName: Direct\n        who: notSpecified\n        expiration: 30d\n")
			if n := s.assignments / s.sets; n > 0 {
				var users []string
				for k := range n {
					users = append(users, s.upn(c*n+k))
				}
				fmt.Fprintf(&y, "    assignments:\n      policy: Direct\n      users: [%s]\n", strings.Join(users, ", "))
			}
		}
	}
	files["tenant.yaml"] = []byte(y.String())
	return files
}

// bound is Graph's lower bound for one phase: the sub-requests it cannot
// avoid (items), the $batch calls they need at 20 a call, and their
// resource units (README §9: GET groups 1, GET users 2, GET members 3, each
// −1 for $select, never below 1; a write 1).
//
// A read's sub-requests are counted by level: one of level k needs what
// one of level k−1 answered, so the two cannot share a call. A group's
// members need its id, which only its look-up by display name gives; a
// catalog's resources need the catalog's id; a list's next page needs the
// nextLink of the page before. Whatever a client does, at least k calls
// come before the first that carries a level-k item, and the items of
// level k and later need ceil(n/20) calls from there: the bound is the
// most of k + ceil(n≥k/20) over the levels.
type bound struct {
	items, requests, ru int
	levels              []int // items by level
}

// add counts n sub-requests of level at ru resource units each.
func (b *bound) add(level, n, ru int) {
	for len(b.levels) <= level {
		b.levels = append(b.levels, 0)
	}
	b.levels[level] += n
	b.items += n
	b.ru += n * ru
}

// calls is the fewest $batch calls that carry the items, level by level.
func (b bound) calls() int {
	n, fewest := 0, 0
	for k := len(b.levels) - 1; k >= 0; k-- {
		if n += b.levels[k]; n > 0 {
			fewest = max(fewest, k+ceilDiv(n, 20))
		}
	}
	return fewest
}

// seal turns the items into requests.
func (b bound) seal() bound {
	b.requests = b.calls()
	return b
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// staged is the bound of a phase that reads, writes and reads again to
// verify: apply executes a plan, so its writes wait for the plan's read,
// and the verification reads what they wrote. Its requests are each
// stage's (read and verify sealed as reads, the writes 20 a call) one
// after another, and the lease's two (its create and its release); its
// items and resource units are the stages' sum.
func staged(read bound, writes int, verify bound) bound {
	read, verify = read.seal(), verify.seal()
	b := bound{items: read.items + writes + verify.items, ru: read.ru + writes + verify.ru + 2}
	b.requests = read.requests + ceilDiv(writes, 20) + verify.requests + 2
	return b
}

// graphsim's delta page sizes (graphsim/delta.go): Graph publishes none,
// so a delta round's pages are counted at the simulator's.
const (
	simDeltaPageObjects = 100
	simDeltaPageLinks   = 500
)

// deltaReadBound is a delta read of the scenario's scope after the drift
// (drift --refresh=delta): the tenant check; one round of a tenant-wide
// groups delta (the groups' properties: nothing changed, a page), one
// delta round of each chain of 50 groups and of the users (at least a
// page each); the names of the newcomers, members the state has never
// seen, through directoryObjects/getByIds (1,000 ids a call, 2 RU with
// $select) once a round has shown them; and agents and entitlement
// management read in full (they have no delta).
func (s scenario) deltaReadBound(newcomers int, w ways) bound {
	var b bound
	b.add(0, 1, 1) // the tenant check
	// the delta rounds: the groups', chains of 50 groups (the managed ones
	// and those assignments deliver into), and the users'
	delivered := 0
	if s.assignments > 0 {
		delivered = s.roleGroups()
	}
	// Each chain's round is as many pages as its changes need: a drifted
	// membership is two members@delta entries (the one who left, the one
	// who joined). A spec that names no group has no rounds.
	if s.groups+s.roleGroups() > 0 {
		b.add(0, 2, 1)
	}
	if chains := ceilDiv(s.groups+delivered, 50); chains > 0 {
		perChain := ceilDiv(s.groups, chains) // the managed groups' chains drift
		pages := max(1, ceilDiv(perChain*s.drifted()*2, simDeltaPageLinks), ceilDiv(perChain, simDeltaPageObjects))
		for p := range pages {
			b.add(p, chains, 1)
		}
	}
	b.add(1, ceilDiv(newcomers, 1000), 2)
	s.agentsRead(&b, true)
	s.emRead(&b, true, w)
	return b.seal()
}

// readBound is one full read of the scenario's scope: the tenant's domains
// (the check that the spec is this tenant's); the groups looked up 15
// names to a filter; the members of each, 999 to a page; the users the
// spec names but no member list shows, 15 to a filter, or every user at
// 999 a page (a chain) with listUsers; the agents; and entitlement
// management (emRead).
func (s scenario) readBound(exists bool, missingUsers int, w ways) bound {
	var b bound
	b.add(0, 1+ceilDiv(s.groups+s.roleGroups(), 15), 1)
	if exists {
		// Each group's members, page after page, once its look-up gave
		// its id; and the members of the groups assignments deliver
		// into, to see that they were delivered.
		for p := range ceilDiv(s.size, 999) {
			b.add(1+p, s.groups, 2)
		}
		for p := range ceilDiv(s.assignments/max(1, s.sets), 999) {
			b.add(1+p, s.roleGroups(), 2)
		}
	}
	// Listing every user is a chain of pages, each naming the next: it
	// runs beside the members' chains. Whether it beats the filters
	// depends on the measure (boundOf takes the better of the two).
	switch {
	case missingUsers == 0:
	case w.listUsers:
		for p := range ceilDiv(s.users, 999) {
			b.add(p, 1, 1)
		}
	default:
		b.add(0, ceilDiv(missingUsers, 15), 1)
	}
	s.agentsRead(&b, exists)
	s.emRead(&b, exists, w)
	return b
}

// agentsRead adds the agents' part of a read: the blueprint, its
// identities 15 names to a filter, and Microsoft Graph (the permissions'
// resource) by appId; when they exist, what their ids give: the
// blueprint's principal (by the blueprint's appId), the sponsors of the
// blueprint and of each identity, a list each, and each identity's app
// role assignments, a list each. (The resource's appRoleAssignedTo would
// list them all in pages of an unpublished size: not counted.)
func (s scenario) agentsRead(b *bound, exists bool) {
	if s.agents == 0 {
		return
	}
	b.add(0, 1+ceilDiv(s.agents, 15)+1, 1)
	if exists {
		b.add(1, 1+(1+s.agents)+s.agents, 1)
	}
}

// emRead adds entitlement management's part of a read: the catalogs (the
// first page of the tenant's list answers every name, or 15 names a
// filter when that is fewer); when they exist, each catalog's resources
// by its id (v1.0 lists them only per catalog); the tenant's packages,
// one page, with their role scopes $expand-ed ($select −1, $expand +1);
// the policies, one page with their questions and custom extension stages
// $expand-ed (contained navigations only a policy read's $expand shows; a
// package's $expand of its policies is documented one level deep): 2 RU;
// the assignments, 999 a page, at least one (delivery repair needs to see
// that there are none), or with w.perPackage each package's, once the
// packages' page gave their ids.
func (s scenario) emRead(b *bound, exists bool, w ways) {
	if s.sets == 0 {
		return
	}
	b.add(0, min(1, ceilDiv(s.sets, 15)), 1)
	if !exists {
		return
	}
	b.add(1, s.sets, 1)
	b.add(0, 1, 1)
	b.add(0, 1, 2)
	if w.perPackage {
		for p := range max(1, ceilDiv(s.assignments/s.sets, 999)) {
			b.add(1+p, s.sets, 1)
		}
		return
	}
	for p := range max(1, ceilDiv(s.assignments, 999)) {
		b.add(p, 1, 1)
	}
}

// newcomers is how many users the drift makes members who were in no
// group before it.
func (s scenario) newcomers() int {
	before := map[string]bool{}
	for g := range s.groups {
		for k := range s.size {
			before[s.member(g, k)] = true
		}
	}
	after := map[string]bool{}
	for g := range s.groups {
		for k := s.size - s.drifted(); k < s.size; k++ {
			if u := s.upn(g*s.size/2 + k + s.users/2); !before[u] {
				after[u] = true
			}
		}
	}
	return len(after)
}

// distinctMembers is how many users the spec names.
func (s scenario) distinctMembers() int {
	seen := map[string]bool{}
	for g := range s.groups {
		for k := range s.size {
			seen[s.member(g, k)] = true
		}
	}
	return len(seen)
}

// boundOf is the bound of a phase. create writes every group (a create)
// and its members at 20 binds a PATCH, and five objects per set (catalog,
// resource, package, role, policy) plus an assignment request each;
// correct writes the drifted members back: a remove and an add per drifted
// membership, removes one a request and adds 20 a PATCH per group.
func (s scenario) boundOf(phase string) bound {
	// The users the spec names are found by filters or by listing them
	// all: the bound is the better of the two in each measure.
	// So are the assignments: one tenant-wide list (a chain of pages) or
	// one list per package (beside each other, once the packages' page
	// gave their ids).
	var b bound
	for i, w := range []ways{{}, {listUsers: true}, {perPackage: true}, {listUsers: true, perPackage: true}} {
		c := s.boundWith(phase, w)
		if i == 0 || c.ru < b.ru {
			b.items, b.ru = c.items, c.ru
		}
		if i == 0 || c.requests < b.requests {
			b.requests = c.requests
		}
	}
	return b
}

// ways are the ways a read can take where Graph offers two.
type ways struct {
	listUsers  bool // list every user, rather than filters of 15 names
	perPackage bool // list each package's assignments, not the tenant's
}

// boundWith is the bound of a phase read one way (see readBound).
func (s scenario) boundWith(phase string, w ways) bound {
	drifted := s.groups * s.drifted()
	switch phase {
	case "create":
		// The agents' sponsors are users to find too (u0 sponsors the
		// blueprint and the first identity).
		writes := s.groups + s.roleGroups() + s.groups*ceilDiv(s.size, 20) + 5*s.sets + s.assignments
		if s.agents > 0 {
			// the blueprint, its principal, each identity (sponsors
			// bound in its create) and each one's permission
			writes += 2 + 2*s.agents
		}
		// apply's check of its result is the last stage
		return staged(s.readBound(false, s.distinctMembers()+s.agents, w), writes, s.readBound(true, 0, w))
	case "plan":
		return s.readBound(true, 0, w).seal()
	case "drift-plan":
		return s.readBound(true, drifted, w).seal()
	case "delta-drift":
		return s.deltaReadBound(s.newcomers(), w)
	case "delta-correct":
		// drift --correct --refresh=delta: a delta read, the writes of
		// correct, and a delta read to check them.
		// (The drift's newcomers were named by the delta-drift run.)
		return staged(s.deltaReadBound(0, w), drifted+s.groups*ceilDiv(s.drifted(), 20)+s.agentWrites(), s.deltaReadBound(0, w))
	case "correct":
		return staged(s.readBound(true, drifted, w), drifted+s.groups*ceilDiv(s.drifted(), 20)+s.agentWrites(), s.readBound(true, 0, w))
	}
	panic(phase)
}

// cost is what a phase cost, from the simulator's log.
type cost struct {
	requests, items, writes, ru int
	wall                        time.Duration
	// cpu is the process's user and system time over the phase: entrasync's
	// and the in-process simulator's together.
	cpu time.Duration
}

func costOf(log []graphsim.LogEntry, wall time.Duration) cost {
	c := cost{wall: wall}
	for _, e := range log {
		c.ru += e.RU
		if e.InBatch {
			c.items++
			if e.Write {
				c.writes++
			}
			continue
		}
		c.requests++
		if !strings.HasSuffix(e.Path, "/$batch") {
			c.items++
			if e.Write {
				c.writes++
			}
		}
	}
	return c
}

func benchLatency() time.Duration {
	if v := os.Getenv("ENTRASYNC_BENCH_LATENCY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 100 * time.Millisecond
}

// runPhases runs every phase of s against a fresh simulator at latency
// and returns each phase's cost.
func runPhases(b *testing.B, s scenario, latency time.Duration) map[string]cost {
	sim := graphsim.New(graphsim.Options{Fixture: s.fixture(), Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	want, drift := b.TempDir(), b.TempDir()
	for name, data := range s.files(false) {
		os.WriteFile(filepath.Join(want, name), data, 0o644)
	}
	for name, data := range s.files(true) {
		os.WriteFile(filepath.Join(drift, name), data, 0o644)
	}
	out := map[string]cost{}
	step := func(phase string, wantCode int, args ...string) {
		var stdout, stderr strings.Builder
		sim.SetFaults(graphsim.Faults{Latency: latency})
		sim.ResetLog()
		start, cpu0 := time.Now(), processCPU()
		code := run(append(args, "--graph-url", url), strings.NewReader(""), &stdout, &stderr)
		wall, cpu := time.Since(start), processCPU()-cpu0
		sim.SetFaults(graphsim.Faults{})
		if code != wantCode {
			b.Fatalf("%s %s: exit %d, want %d\n%s%s", s.name, phase, code, wantCode, tail(stdout.String()), tail(stderr.String()))
		}
		if phase != "" {
			c := costOf(sim.Log(), wall)
			c.cpu = cpu
			out[phase] = c
		}
	}
	cache := filepath.Join(b.TempDir(), "delta.json")
	step("create", 0, "apply", "-f", want, "--auto-approve")
	step("plan", 0, "plan", "-f", want, "--detailed-exitcode")
	step("delta-first", 0, "drift", "-f", want, "--refresh=delta", "--delta-cache", cache)
	// The drift is made by applying the drifted spec, outside the counts.
	step("", 0, "apply", "-f", drift, "--auto-approve", "--approve", "ES102")
	step("drift-plan", 2, "plan", "-f", want, "--detailed-exitcode")
	step("delta-drift", 2, "drift", "-f", want, "--refresh=delta", "--delta-cache", cache)
	step("correct", 0, "apply", "-f", want, "--auto-approve", "--approve", "ES102")
	// The scheduled job's correction: the same drift again, corrected by
	// drift --correct reading (and checking its writes) through delta.
	step("", 0, "apply", "-f", drift, "--auto-approve", "--approve", "ES102")
	step("delta-correct", 0, "drift", "-f", want, "--correct", "--approve", "ES102", "--refresh=delta", "--delta-cache", cache)
	return out
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's largest resident set so far, in MiB.
func peakRSS() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// BenchmarkBound runs the suite; see the top of this file.
func BenchmarkBound(b *testing.B) {
	latency := benchLatency()
	for _, s := range scenarios {
		b.Run(s.name, func(b *testing.B) {
			var at0, atL map[string]cost
			for b.Loop() {
				at0 = runPhases(b, s, 0)
				atL = runPhases(b, s, latency)
			}
			for _, phase := range []string{"create", "plan", "drift-plan", "delta-drift", "correct", "delta-correct"} {
				c0, cl, bd := at0[phase], atL[phase], s.boundOf(phase)
				rounds := (cl.wall - c0.wall).Seconds() / latency.Seconds()
				b.ReportMetric(float64(c0.requests), phase+"-requests")
				b.ReportMetric(float64(bd.requests), phase+"-bound-requests")
				b.ReportMetric(float64(c0.requests)/float64(bd.requests), phase+"-requests/bound")
				b.ReportMetric(float64(c0.ru), phase+"-RU")
				b.ReportMetric(float64(c0.ru)/float64(bd.ru), phase+"-RU/bound")
				b.ReportMetric(rounds, phase+"-rounds")
				b.ReportMetric(c0.wall.Seconds(), phase+"-s@0")
				b.ReportMetric(cl.wall.Seconds(), phase+"-s@L")
				b.ReportMetric(c0.cpu.Seconds(), phase+"-cpu-s")
				b.Logf("%-8s %-10s requests %5d (bound %4d, %.2fx)  items %6d  writes %6d  RU %6d (bound %6d, %.2fx)  rounds %5.1f  wall %6.2fs @0, %6.2fs @%s  cpu %5.2fs",
					s.name, phase, c0.requests, bd.requests, float64(c0.requests)/float64(bd.requests), c0.items, c0.writes,
					c0.ru, bd.ru, float64(c0.ru)/float64(bd.ru), rounds, c0.wall.Seconds(), cl.wall.Seconds(), latency, c0.cpu.Seconds())
			}
			// Delta drift against the full read of the same drift, and
			// the first delta run, which lists the sets in full and starts the links.
			full, delta := at0["drift-plan"], at0["delta-drift"]
			b.ReportMetric(float64(delta.ru)/float64(full.ru), "delta-RU/full-RU")
			b.Logf("%-8s delta-drift RU %d of the full read's %d (%.1f%%); first delta run %d requests, %d RU (the full plan: %d, %d)",
				s.name, delta.ru, full.ru, 100*float64(delta.ru)/float64(full.ru), at0["delta-first"].requests, at0["delta-first"].ru, at0["plan"].requests, at0["plan"].ru)
			// The process's peak so far: the largest scenario run yet,
			// simulator included.
			b.ReportMetric(peakRSS(), "peak-RSS-MiB")
			b.Logf("%-8s peak RSS so far %.0f MiB (entrasync and the simulator)", s.name, peakRSS())
		})
	}
}
