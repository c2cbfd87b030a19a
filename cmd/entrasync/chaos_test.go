package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasync/entrasync/graphsim"
)

// Fault mixes, lightest first, in --sim-faults syntax (parseFaults: a
// throttled request is told Retry-After 200ms, short enough to keep the
// suite fast and long enough that a client which ignores it is throttled
// again).
const (
	mixLight  = "throttle=0.2,5xx=0.05,drop=0.05,lag=1s"
	mixMedium = "throttle=0.5,5xx=0.1,drop=0.1,lag=2s"
	mixHeavy  = "throttle=0.8,5xx=0.05,drop=0.3,lag=1s"
)

var chaosMixes = []string{mixLight, mixMedium, mixHeavy}

// chaosMaxApplies is how many applies a run may take before it counts as
// never converging.
const chaosMaxApplies = 4

// chaosTargets are the convergence targets the product is being fixed to
// meet; they are asserted only with ENTRASYNC_CHAOS_STRICT=1. within is the
// number of applies every run of the mix must converge in (0: no target);
// noFalseSuccess: every apply that exits 0 is followed by a clean plan.
var chaosTargets = []struct {
	mix            string
	within         int
	noFalseSuccess bool
}{
	{mixLight, 1, true},
	{mixMedium, 0, true},
	{mixHeavy, 2, true},
}

// chaosSpec is a spec directory and the tenant it is applied to.
type chaosSpec struct {
	name    string
	dir     string
	fixture func() *graphsim.Fixture
	// mixes and seeds of the short default run.
	shortMixes []string
	shortSeeds int
	// slow runs are started first.
	slow bool
}

// chaosRun is what one spec × mix × seed did.
type chaosRun struct {
	spec, mix string
	seed      int64
	// exits are the exit codes of the applies, in order.
	exits []int
	// converged is the apply after which the plan was first clean, 0 if
	// none was within chaosMaxApplies.
	converged int
	// falseSuccess counts applies that exited 0 but left changes to plan.
	falseSuccess int
	// Invariant violations against the fault-free reference.
	duplicates, removals, changes []string
	took                          time.Duration
}

// TestChaos applies every example (and a generated large spec) to a
// simulator that throttles, fails, loses answers and lags, and checks two
// things: how many applies it takes to converge, and that the tenant it
// converges to is the one a fault-free apply produces — no duplicates, no
// removals and no changes the spec did not ask for. Each run is one spec ×
// fault mix × seed, a subtest named spec/mix/seedN. At the end a table of
// figures per spec × mix is logged (go test -v).
//
// By default it asserts only the invariants: no duplicate, no unplanned
// removal, no unplanned change, and convergence within chaosMaxApplies
// applies. chaosTargets, the convergence the product is being fixed to
// reach, are asserted with ENTRASYNC_CHAOS_STRICT=1.
//
// Nightly:
//
//	ENTRASYNC_CHAOS_SEEDS=20 go test ./cmd/entrasync -run 'TestChaos$|TestConcurrentApplies' -count=1 -v -timeout 60m
//
// Environment:
//
//	ENTRASYNC_CHAOS_SEEDS=20   seeds per spec × mix (nightly); by default a
//	                           short run: 2 seeds per mix for the examples (1
//	                           under -race: race_test.go) and
//	                           1 seed of the lightest mix for the large spec.
//	                           Also the iterations of TestConcurrentApplies.
//	ENTRASYNC_CHAOS_STRICT=1   also assert chaosTargets (convergence within
//	                           1 or 2 applies, no false success).
//	ENTRASYNC_CHAOS_PARALLEL=32 runs at once (default 32; they mostly sleep).
//
// One run, e.g.:
//
//	go test ./cmd/entrasync -count=1 -v -run 'TestChaos/csv-per-team/throttle=0.5,5xx=0.1,drop=0.1,lag=2s/seed2'
//
// A seed fixes the simulator's ids and fault decisions for a given request
// order; apply sends requests concurrently, so a seed reproduces a run's
// faults closely but not always exactly.
func TestChaos(t *testing.T) {
	t.Parallel() // with TestConcurrentApplies: both mostly wait
	seeds := chaosSeeds()
	specs := chaosSpecs(t)
	refs := &referenceCache{m: map[string]*reference{}}

	type job struct {
		spec chaosSpec
		mix  string
		seed int64
	}
	var jobs []job
	for _, sc := range specs {
		mixes, n := sc.shortMixes, sc.shortSeeds
		if seeds > 0 {
			mixes, n = chaosMixes, seeds
		}
		for _, mix := range mixes {
			for seed := int64(1); seed <= int64(n); seed++ {
				jobs = append(jobs, job{sc, mix, seed})
			}
		}
	}

	// Longest first: the large spec, then the heaviest mixes.
	weight := func(j job) int {
		w := slices.Index(chaosMixes, j.mix)
		if j.spec.slow {
			w += len(chaosMixes)
		}
		return w
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return weight(b) - weight(a) })

	// t.Run may be called from several goroutines: a pool runs the
	// subtests, which mostly sleep (Retry-After, replication lag), more
	// at once than -parallel (GOMAXPROCS) would.
	var (
		mu   sync.Mutex
		runs []chaosRun
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, envInt("ENTRASYNC_CHAOS_PARALLEL", 32))
	start := time.Now()
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(j.spec.name+"/"+j.mix+"/seed"+strconv.FormatInt(j.seed, 10), func(t *testing.T) {
				ref := refs.get(t, j.spec, j.seed)
				r, st := chaosApply(t, j.spec, j.mix, j.seed)
				r.duplicates, r.removals, r.changes = compareStates(ref.state, st.snapshot(t), r.converged > 0)
				mu.Lock()
				runs = append(runs, r)
				mu.Unlock()
				checkChaosRun(t, r)
			})
		}()
	}
	wg.Wait()
	t.Logf("%d runs in %s", len(runs), time.Since(start).Round(time.Second))
	t.Log("\n" + chaosTable(runs))
}

// chaosSeeds is ENTRASYNC_CHAOS_SEEDS, 0 for the short default run.
func chaosSeeds() int { return envInt("ENTRASYNC_CHAOS_SEEDS", 0) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// raceDetector is set by race_test.go when the tests are built with -race.
var raceDetector bool

// chaosSpecs are the examples that apply on the demo tenant and the large
// generated spec.
func chaosSpecs(t *testing.T) []chaosSpec {
	var specs []chaosSpec
	seeds := 2
	if raceDetector {
		seeds = 1 // race_test.go
	}
	for _, ex := range []string{"quickstart", "csv-per-team", "access-package-tutorial", "agents", "custom-extensions"} {
		specs = append(specs, chaosSpec{name: ex, dir: filepath.Join("..", "..", "examples", ex),
			fixture: graphsim.DemoFixture, shortMixes: chaosMixes, shortSeeds: seeds})
	}
	fx, dir := largeChaosSpec(t)
	specs = append(specs, chaosSpec{name: "large-50x200", dir: dir, fixture: fx,
		shortMixes: []string{mixLight}, shortSeeds: 1, slow: true})
	return specs
}

// largeChaosSpec writes a spec of 50 groups with 200 members each, their
// membership authoritative from one CSV per group, and returns the demo
// tenant with 1,000 more users. The even groups already exist with 20 of
// their 200 members wrong (20 to add, 20 to remove: under the 30 % removal
// limit); the odd ones are created. Users are shared between groups, as in
// real tenants.
func largeChaosSpec(t *testing.T) (func() *graphsim.Fixture, string) {
	const groups, members, users, stride, drift = 50, 200, 1000, 20, 20
	dir := t.TempDir()
	upn := func(i int) string { return fmt.Sprintf("chaos%04d@contoso.com", i%users) }
	var yaml strings.Builder
	yaml.WriteString("tenant: contoso.onmicrosoft.com\ngroups:\n")
	var existing []graphsim.Group
	for g := range groups {
		name := fmt.Sprintf("Chaos team %02d", g)
		file := fmt.Sprintf("team-%02d.csv", g)
		var csv strings.Builder
		csv.WriteString("Email\n")
		for k := range members {
			fmt.Fprintln(&csv, upn(g*stride+k))
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(csv.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&yaml, "  - displayName: %s\n    mailNickname: chaos-team-%02d\n    members:\n      mode: authoritative\n      csv: {path: %s, column: Email}\n", name, g, file)
		if g%2 == 0 {
			var live []string
			for k := drift; k < members+drift; k++ { // off by drift: drift to remove, drift to add
				live = append(live, upn(g*stride+k))
			}
			existing = append(existing, graphsim.Group{DisplayName: name, MailNickname: fmt.Sprintf("chaos-team-%02d", g), Members: live})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tenant.yaml"), []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() *graphsim.Fixture {
		fx := graphsim.DemoFixture()
		for i := range users {
			u := upn(i)
			fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: u, Mail: u, DisplayName: strings.TrimSuffix(u, "@contoso.com")})
		}
		fx.Groups = append(fx.Groups, existing...)
		return fx
	}, dir
}

// simTenant is a simulated tenant kept in a state file, which every
// command restores, serves and saves again (--sim --sim-state).
//
// The suite drives the CLI this way rather than with --graph-url for the
// client's backoff: with --sim-faults the CLI waits 50 ms to 2 s between
// attempts that Graph gave no Retry-After for (500, 504, a lost answer;
// target.go), where against Graph it waits 0.5 s doubling to 60 s. With
// those waits a run of the heavy mix takes around ten minutes instead of
// seconds. Faults are given to apply with --sim-faults (parseFaults: a
// throttled request is told Retry-After 200ms) and to nothing else, so the
// plans that judge an apply run on the same tenant without faults.
type simTenant struct{ state string }

// newSimTenant writes the initial state of fx with seed: the ids the
// simulator generates and its fault decisions follow from the seed.
func newSimTenant(t *testing.T, fx *graphsim.Fixture, seed int64) simTenant {
	t.Helper()
	var buf bytes.Buffer
	if err := graphsim.New(graphsim.Options{Fixture: fx, Seed: seed}).Save(&buf); err != nil {
		t.Fatal(err)
	}
	st := simTenant{filepath.Join(t.TempDir(), "sim.json")}
	if err := os.WriteFile(st.state, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return st
}

// cli runs entrasync on the tenant; faults "" means none.
func (st simTenant) cli(t *testing.T, faults string, args ...string) result {
	args = append(args, "--sim", "--sim-state", st.state)
	if faults != "" {
		args = append(args, "--sim-faults", faults)
	}
	return entrasyncProcess(t, args...)
}

func (st simTenant) apply(t *testing.T, dir, faults string) result {
	return st.cli(t, faults, "apply", "-f", dir, "--auto-approve", "--approve", approveAll(), "--consistency-timeout", "20s")
}

func (st simTenant) plan(t *testing.T, dir string) result {
	return st.cli(t, "", "plan", "-f", dir, "--detailed-exitcode")
}

// entrasyncProcess runs the CLI in a process of its own: the entrasync
// that TestMain (script_test.go) puts first on PATH, a copy of this test
// binary. Runs that overlap cannot share this process: every graph.New
// sets kiota's package-level store.BackingStoreFactoryInstance (msgraph-sdk
// calls EnableBackingStore), which another run's model constructors read
// at the same time — a data race that -race reports.
func entrasyncProcess(t *testing.T, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("entrasync")
	if err != nil || !strings.Contains(bin, "testscript-main") {
		t.Fatalf("entrasync on PATH is %q (%v), not the copy of the test binary that TestMain installs", bin, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(azureEnv, k) // no credential or Graph URL of the machine's
	}), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("entrasync %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

func (st simTenant) snapshot(t *testing.T) normState {
	t.Helper()
	b, err := os.ReadFile(st.state)
	if err != nil {
		t.Fatal(err)
	}
	n, err := normalise(b)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// chaosApply applies spec under mix until a fault-free plan is clean, at
// most chaosMaxApplies times. After each apply it waits out the
// replication lag, so that neither the plan nor the next apply (under lag
// again) is judged by what the lag still hides of the last one.
func chaosApply(t *testing.T, sc chaosSpec, mix string, seed int64) (chaosRun, simTenant) {
	t.Helper()
	faults, err := parseFaults(mix)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st := newSimTenant(t, sc.fixture(), seed)
	r := chaosRun{spec: sc.name, mix: mix, seed: seed}
	for attempt := 1; attempt <= chaosMaxApplies; attempt++ {
		a := st.apply(t, sc.dir, mix)
		r.exits = append(r.exits, a.code)
		time.Sleep(faults.ReplicationLag + 100*time.Millisecond)
		p := st.plan(t, sc.dir)
		if p.code == exitError { // e.g. a name that now matches two objects
			t.Logf("plan after apply %d: exit 1:\n  %s", attempt, failures(p))
		}
		clean := p.code == exitOK
		if a.code == exitOK && !clean {
			r.falseSuccess++
			t.Logf("apply %d exited 0, but the plan after it has changes:\n%s", attempt, planSummary(p.stdout))
		}
		if a.code != exitOK {
			t.Logf("apply %d: exit %d:\n  %s", attempt, a.code, failures(a))
		}
		if clean {
			r.converged = attempt
			break
		}
	}
	r.took = time.Since(start)
	return r, st
}

// failures are the lines of an apply's output that say what failed, at
// most 5.
func failures(r result) string {
	var out []string
	for _, l := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
		if strings.HasPrefix(l, "Failed:") || strings.HasPrefix(l, "Error:") || strings.Contains(l, "graph:") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	if len(out) > 5 {
		out = append(out[:5], "…")
	}
	return strings.Join(out, "\n  ")
}

// planSummary is the lines of a plan that name changes, at most 10.
func planSummary(stdout string) string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || strings.HasPrefix(l, "Plan:") {
			out = append(out, l)
		}
	}
	if len(out) > 10 {
		out = append(out[:10], "…")
	}
	return strings.Join(out, "\n")
}

func startSeededSim(t *testing.T, fx *graphsim.Fixture, seed int64) (*graphsim.Sim, string) {
	t.Helper()
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: seed})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return sim, url
}

// reference is the normalised state a fault-free apply converges to.
type reference struct {
	once  sync.Once
	state normState
}

// referenceCache computes each spec × seed reference once, for whichever
// run needs it first.
type referenceCache struct {
	mu sync.Mutex
	m  map[string]*reference
}

func (c *referenceCache) get(t *testing.T, sc chaosSpec, seed int64) *reference {
	t.Helper()
	c.mu.Lock()
	key := sc.name + "/" + strconv.FormatInt(seed, 10)
	ref := c.m[key]
	if ref == nil {
		ref = &reference{}
		c.m[key] = ref
	}
	c.mu.Unlock()
	ref.once.Do(func() {
		st := newSimTenant(t, sc.fixture(), seed)
		for attempt := 1; ; attempt++ {
			a := st.apply(t, sc.dir, "")
			if st.plan(t, sc.dir).code == exitOK {
				break
			}
			if attempt == chaosMaxApplies {
				t.Fatalf("%s does not converge without faults in %d applies (last exit %d):\n%s", sc.name, attempt, a.code, a.stderr)
			}
		}
		ref.state = st.snapshot(t)
	})
	if ref.state == nil {
		t.Fatal("the reference run failed (see the run that computed it)")
	}
	return ref
}

// checkChaosRun asserts the invariants of one run, and the targets in
// strict mode.
func checkChaosRun(t *testing.T, r chaosRun) {
	t.Helper()
	t.Logf("applies %v, converged after %s, %d false successes, %s", r.exits, convergedText(r.converged), r.falseSuccess, r.took.Round(100*time.Millisecond))
	report := func(what string, diffs []string) {
		if len(diffs) == 0 {
			return
		}
		shown := diffs
		if len(shown) > 8 {
			shown = append(slices.Clone(shown[:8]), fmt.Sprintf("… and %d more", len(diffs)-8))
		}
		t.Errorf("%d %s against the fault-free reference:\n  %s", len(diffs), what, strings.Join(shown, "\n  "))
	}
	report("duplicates", r.duplicates)
	report("unplanned removals", r.removals)
	report("unplanned changes", r.changes)
	if r.converged == 0 {
		t.Errorf("did not converge in %d applies (exits %v)", chaosMaxApplies, r.exits)
	}
	if os.Getenv("ENTRASYNC_CHAOS_STRICT") != "1" {
		return
	}
	for _, tg := range chaosTargets {
		if tg.mix != r.mix {
			continue
		}
		if tg.within > 0 && (r.converged == 0 || r.converged > tg.within) {
			t.Errorf("strict: converged after %s, target %d", convergedText(r.converged), tg.within)
		}
		if tg.noFalseSuccess && r.falseSuccess > 0 {
			t.Errorf("strict: %d applies exited 0 but the next plan had changes", r.falseSuccess)
		}
	}
}

func convergedText(n int) string {
	if n == 0 {
		return "never"
	}
	return fmt.Sprintf("%d %s", n, plural(n, "apply", "applies"))
}

// chaosTable tabulates the runs per spec × mix.
func chaosTable(runs []chaosRun) string {
	type row struct {
		runs, within1, within2, never, falseSucc, dups, removals, changes int
		// applies is summed over the runs that converged.
		applies int
	}
	rows := map[[2]string]*row{}
	var keys [][2]string
	for _, r := range runs {
		k := [2]string{r.spec, r.mix}
		if rows[k] == nil {
			rows[k] = &row{}
			keys = append(keys, k)
		}
		w := rows[k]
		w.runs++
		switch {
		case r.converged == 0:
			w.never++
		case r.converged == 1:
			w.within1++
			w.within2++
		case r.converged == 2:
			w.within2++
		}
		w.applies += r.converged
		w.falseSucc += r.falseSuccess
		w.dups += len(r.duplicates)
		w.removals += len(r.removals)
		w.changes += len(r.changes)
	}
	order := func(mix string) int { return slices.Index(chaosMixes, mix) }
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return order(keys[i][1]) < order(keys[j][1])
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %-40s %4s %5s %5s %5s %5s %8s %4s %8s %7s\n", "spec", "mix", "runs", "≤1", "≤2", "never", "mean", "false-ok", "dups", "removals", "changes")
	for _, k := range keys {
		w := rows[k]
		mean := "-"
		if n := w.runs - w.never; n > 0 {
			mean = fmt.Sprintf("%.1f", float64(w.applies)/float64(n))
		}
		fmt.Fprintf(&b, "%-24s %-40s %4d %5s %5s %5d %5s %8d %4d %8d %7d\n", k[0], k[1], w.runs,
			pct(w.within1, w.runs), pct(w.within2, w.runs), w.never, mean, w.falseSucc, w.dups, w.removals, w.changes)
	}
	b.WriteString("≤1, ≤2: runs converged within 1, 2 applies; mean: applies to converge, of those that did;\n" +
		"false-ok: applies that exited 0 with changes left; dups, removals, changes: objects against the reference\n")
	return b.String()
}

func pct(n, of int) string { return fmt.Sprintf("%d%%", n*100/max(of, 1)) }

// --- Normalised tenant state -------------------------------------------

// normState is a tenant's saved state keyed by stable labels: for every
// object (a JSON object with an "id"), its label and each copy's
// normalised content. Ids, which differ from run to run, are replaced by
// the labels of the objects they name.
type normState map[string][]string

// Top-level parts of the saved state left out of the comparison.
var chaosIgnoredParts = []string{
	// The simulator's generator state (id, request id and fault PRNGs).
	"simState",
	// accessPackageAssignmentRequests and accessPackageResourceRequests
	// are the log of what was asked: a retried or repeated request adds
	// entries. What they produced (assignments, catalog resources) is
	// compared.
	"assignmentRequests",
	"resourceRequests",
}

// nameKeys name an object, in order of preference.
var nameKeys = []string{"userPrincipalName", "displayName", "uniqueName", "name", "value"}

var guidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// entity is an object with an id found in the state.
type entity struct {
	path   string // JSON path without indices, e.g. catalogs/resources/roles
	parent *entity
	obj    map[string]any
	label  string
}

// normalise labels every object of a saved state and renders its content
// with ids replaced by labels, timestamps by whether they are set, and
// arrays sorted.
func normalise(saved []byte) (normState, error) {
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(saved))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	for _, k := range chaosIgnoredParts {
		delete(root, k)
	}
	var ents []*entity
	collectEntities(root, "", nil, &ents)

	// Label named objects first, then the unnamed ones (assignments, app
	// role assignments, role scopes) by the objects they reference; that
	// takes a few rounds when references chain, and a last round accepts
	// references that name nothing in the state.
	ids := map[string]string{}
	const rounds = 5
	for round := 1; round <= rounds; round++ {
		for _, e := range ents {
			if e.label != "" {
				continue
			}
			name := nameOf(e.obj)
			if name == "" {
				name = refName(e.obj, ids, round == rounds)
			}
			if name != "" {
				e.label = labelOf(e, name)
			}
		}
		registerIDs(ents, ids)
	}
	st := normState{}
	for _, e := range ents { // parents before children
		if e.label == "" {
			e.label = labelOf(e, "#"+render(e.obj, ids)) // named by its content
		}
		st[e.label] = append(st[e.label], render(e.obj, ids))
	}
	return st, nil
}

// collectEntities walks v depth-first in key order, so that labels and
// the first owner of a shared appId are the same in every run.
func collectEntities(v any, path string, parent *entity, out *[]*entity) {
	switch v := v.(type) {
	case map[string]any:
		if d, deleted := v["deletedDateTime"]; deleted && d != nil {
			// Soft-deleted (a duplicate the namesake check removed, say):
			// not in the live tenant, so neither a duplicate nor an object.
			return
		}
		if _, ok := v["id"].(string); ok {
			e := &entity{path: path, parent: parent, obj: v}
			*out = append(*out, e)
			parent = e
			path = ""
		}
		for _, k := range sortedKeys(v) {
			collectEntities(v[k], joinPath(path, k), parent, out)
		}
	case []any:
		for _, x := range v {
			collectEntities(x, path, parent, out)
		}
	}
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func nameOf(obj map[string]any) string {
	for _, k := range nameKeys {
		if s, ok := obj[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// refName names an unnamed object by its fields that reference other
// objects. Until final it is "" while a reference is not labelled yet.
func refName(obj map[string]any, ids map[string]string, final bool) string {
	var parts []string
	for _, k := range sortedKeys(obj) {
		s, ok := obj[k].(string)
		if !ok || k == "id" || !guidRE.MatchString(s) {
			continue
		}
		if !final && slices.ContainsFunc(guidRE.FindAllString(s, -1), func(g string) bool { return ids[strings.ToLower(g)] == "" }) {
			return ""
		}
		parts = append(parts, k+"="+replaceIDs(s, ids))
	}
	return strings.Join(parts, ",")
}

// labelOf is e's label given its name: its parent's label, its path and
// its name; "" while the parent has none.
func labelOf(e *entity, name string) string {
	l := e.path + "[" + name + "]"
	if e.parent != nil {
		if e.parent.label == "" {
			return "" // labelled once its parent is
		}
		l = e.parent.label + " > " + l
	}
	return l
}

// registerIDs maps every labelled object's id, and then the appIds not
// already taken by an id (an agent identity's id is its appId), to its
// label.
func registerIDs(ents []*entity, ids map[string]string) {
	for _, key := range []string{"id", "appId"} {
		for _, e := range ents {
			s, _ := e.obj[key].(string)
			if e.label == "" || !guidRE.MatchString(s) || len(s) != 36 {
				continue
			}
			k := strings.ToLower(s)
			if _, taken := ids[k]; !taken {
				ids[k] = e.label
			}
		}
	}
}

// replaceIDs replaces every GUID in s by <label>, or by "?" when it names
// no object of the state.
func replaceIDs(s string, ids map[string]string) string {
	return guidRE.ReplaceAllStringFunc(s, func(g string) string {
		if l, ok := ids[strings.ToLower(g)]; ok {
			return "<" + l + ">"
		}
		return "?"
	})
}

// render is the canonical JSON of an object without its id and without
// the objects it contains (they are compared on their own).
func render(obj map[string]any, ids map[string]string) string {
	return canonicalJSON(normValue(obj, "", ids, true))
}

// canonicalJSON is v as JSON with sorted keys and labels left readable.
func canonicalJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// normValue normalises v, the value of key: ids become labels, *DateTime
// values "<time>", arrays are sorted, nulls dropped, and objects with an
// id below the top are left out (nil).
func normValue(v any, key string, ids map[string]string, top bool) any {
	switch v := v.(type) {
	case map[string]any:
		if _, isEntity := v["id"].(string); isEntity && !top {
			return nil // compared as its own entity
		}
		out := map[string]any{}
		for k, x := range v {
			if top && k == "id" {
				continue
			}
			if n := normValue(x, k, ids, false); n != nil {
				out[k] = n
			}
		}
		return out
	case []any:
		var items []string
		for _, x := range v {
			if n := normValue(x, key, ids, false); n != nil {
				items = append(items, canonicalJSON(n))
			}
		}
		if len(items) == 0 && len(v) > 0 {
			return nil // an array of entities
		}
		sort.Strings(items)
		out := make([]json.RawMessage, len(items))
		for i, s := range items {
			out[i] = json.RawMessage(s)
		}
		return out
	case string:
		if strings.HasSuffix(key, "DateTime") {
			return "<time>" // server clock; only whether it is set matters
		}
		return replaceIDs(v, ids)
	}
	return v
}

// compareStates lists the labels that chaos has more often than ref
// (duplicates, or objects the reference does not have), has fewer
// of (removals), or has with other content (changes). A run that did not
// converge is incomplete (an object the spec deletes may still be there,
// one it creates missing): only its duplicates of reference objects count.
func compareStates(ref, chaos normState, converged bool) (dups, removals, changes []string) {
	labels := map[string]bool{}
	for l := range ref {
		labels[l] = true
	}
	for l := range chaos {
		labels[l] = true
	}
	for _, l := range slices.Sorted(maps.Keys(labels)) {
		r, c := ref[l], chaos[l]
		switch {
		case len(c) > len(r) && len(r) > 0:
			dups = append(dups, fmt.Sprintf("%s ×%d (reference ×%d)", l, len(c), len(r)))
		case !converged:
		case len(c) > len(r):
			dups = append(dups, fmt.Sprintf("%s ×%d, an object the reference does not have", l, len(c)))
		case len(c) < len(r):
			removals = append(removals, fmt.Sprintf("%s ×%d (reference ×%d)", l, len(c), len(r)))
		default:
			r, c := slices.Sorted(slices.Values(r)), slices.Sorted(slices.Values(c))
			for i := range r {
				if r[i] != c[i] {
					changes = append(changes, l+": "+fieldDiff(r[i], c[i]))
				}
			}
		}
	}
	return dups, removals, changes
}

// fieldDiff names the top-level fields two renderings differ in.
func fieldDiff(ref, chaos string) string {
	var a, b map[string]json.RawMessage
	_ = json.Unmarshal([]byte(ref), &a)
	_ = json.Unmarshal([]byte(chaos), &b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if string(a[k]) != string(b[k]) {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, chaosOrAbsent(a[k]), chaosOrAbsent(b[k])))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func chaosOrAbsent(m json.RawMessage) string {
	if m == nil {
		return "(none)"
	}
	return string(m)
}

// --- Concurrent applies ---------------------------------------------------

// Two applies of the same spec at the same time, each request slowed down
// so that their reads and creates interleave, must still leave one catalog
// and one package per name: the second run must not create what the first
// is creating. Iterations: 3, or ENTRASYNC_CHAOS_SEEDS.
//
// The two runs are processes of their own, as two CI jobs would be:
// in-process run() calls share kiota's backing-store factory (see
// entrasyncProcess), though entrasync's own state is per run.
func TestConcurrentApplies(t *testing.T) {
	t.Parallel()
	spec := filepath.Join("..", "..", "examples", "csv-per-team")
	// With the run lease (the default) the second run waits and names the
	// holder; without it (--lock=false) both create, and the re-check of
	// namesakes (appliers.settleNamesakes) keeps the oldest.
	for _, mode := range []struct {
		name string
		args []string
	}{{"lease", nil}, {"no-lease", []string{"--lock=false"}}} {
		t.Run(mode.name, func(t *testing.T) { concurrentApplies(t, spec, mode.args) })
	}
}

func concurrentApplies(t *testing.T, spec string, extra []string) {
	for i := 1; i <= envInt("ENTRASYNC_CHAOS_SEEDS", 3); i++ {
		t.Run(fmt.Sprint("iter", i), func(t *testing.T) {
			sim, url := startSeededSim(t, graphsim.DemoFixture(), int64(i))
			sim.SetFaults(graphsim.Faults{Latency: 150 * time.Millisecond})
			var res [2]result
			var wg sync.WaitGroup
			for k := range res {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[k] = entrasyncProcess(t, append([]string{"apply", "-f", spec, "--graph-url", url, "--auto-approve", "--approve", approveAll(), "--consistency-timeout", "20s"}, extra...)...)
				}()
			}
			wg.Wait()
			sim.SetFaults(graphsim.Faults{})
			p := entrasync(t, url, "plan", "-f", spec, "--detailed-exitcode")
			for k, r := range res {
				t.Logf("apply %d: exit %d:\n  %s", k+1, r.code, failures(r))
				if lines := lockLines(r.stdout + "\n" + r.stderr); len(lines) > 0 {
					t.Logf("apply %d spoke of a lock/lease:\n  %s", k+1, strings.Join(lines, "\n  "))
				} else {
					t.Logf("apply %d said nothing about a lock or lease", k+1)
				}
			}
			t.Logf("plan afterwards: exit %d\n%s%s", p.code, planSummary(p.stdout), failures(p))
			created := 0
			for _, e := range sim.Log() {
				if e.Method == "POST" && strings.HasSuffix(e.Path, "/entitlementManagement/catalogs") && e.Status == 201 {
					created++
				}
			}
			settled := strings.Count(res[0].stderr+res[1].stderr, "another run created it at the same time")
			t.Logf("catalog creates: %d; duplicates settled: %d", created, settled)
			if created > 1 && settled == 0 {
				t.Error("two runs created the catalog and neither settled the duplicate")
			}
			if len(extra) == 0 && !strings.Contains(res[0].stderr+res[1].stderr, "Waiting for the tenant's run lease, held by ") {
				t.Error("neither run waited for the other's lease naming its holder")
			}
			names := map[string]int{}
			fx := snapshot(t, sim).fx
			for _, c := range fx.Catalogs {
				names["catalog "+c.DisplayName]++
			}
			for _, pk := range fx.AccessPackages {
				names["package "+pk.DisplayName]++
			}
			for _, n := range []string{"catalog Teams", "package Team A", "package Team B"} {
				if names[n] != 1 {
					t.Errorf("%d × %s, want exactly 1", names[n], n)
				}
			}
		})
	}
}

// lockLines are the lines of output that mention a lock or lease.
func lockLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if lockRE.MatchString(l) {
			ls = append(ls, strings.TrimSpace(l))
		}
	}
	return ls
}

var lockRE = regexp.MustCompile(`(?i)\b(lock|locks|locked|lease|leases|leased)\b`)

// The normalisation removes everything that differs between two fault-free
// runs (ids, timestamps, order): with different seeds, and so different
// ids, the examples converge to the same normalised state. Otherwise
// TestChaos would report noise. The large spec is checked in the long mode
// only (it takes half a minute under -race).
func TestChaosNormalisationIsStable(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for _, sc := range chaosSpecs(t) {
		if sc.slow && chaosSeeds() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(sc.name, func(t *testing.T) {
				refs := &referenceCache{m: map[string]*reference{}}
				a, b := refs.get(t, sc, 1).state, refs.get(t, sc, 2).state
				dups, removals, changes := compareStates(a, b, true)
				for _, d := range slices.Concat(dups, removals, changes) {
					t.Error(d)
				}
				if len(a) < 20 {
					t.Errorf("only %d labelled objects: the normalisation lost the state", len(a))
				}
			})
		}()
	}
	wg.Wait()
}

// The comparison finds what it is for: a second catalog of the same name,
// a group the spec does not name deleted, and a member removed from
// another.
func TestChaosComparisonFindsViolations(t *testing.T) {
	sim, url := startSeededSim(t, graphsim.DemoFixture(), 1)
	spec := filepath.Join("..", "..", "examples", "csv-per-team")
	if r := entrasync(t, url, "apply", "-f", spec, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	var buf bytes.Buffer
	if err := sim.Save(&buf); err != nil {
		t.Fatal(err)
	}
	ref, err := normalise(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	var groups []any
	for _, g := range st["groups"].([]any) {
		g := g.(map[string]any)
		switch g["displayName"] {
		case "Old project":
			continue
		case "Finance":
			g["members"] = g["members"].([]any)[1:]
		}
		groups = append(groups, g)
	}
	st["groups"] = groups
	cats := st["catalogs"].([]any)
	for _, c := range cats {
		if c := c.(map[string]any); c["displayName"] == "Teams" {
			dup := map[string]any{}
			for k, v := range c {
				dup[k] = v
			}
			dup["id"] = "00000000-0000-4000-8000-00000000c0de"
			delete(dup, "resources")
			// and one more, soft-deleted: it is not in the live tenant
			gone := maps.Clone(dup)
			gone["id"] = "00000000-0000-4000-8000-00000000dead"
			gone["deletedDateTime"] = "2026-01-01T00:00:00Z"
			st["catalogs"] = append(cats, dup, gone)
		}
	}
	b, _ := json.Marshal(st)
	chaos, err := normalise(b)
	if err != nil {
		t.Fatal(err)
	}
	dups, removals, changes := compareStates(ref, chaos, true)
	want := map[string][]string{
		"duplicates": {"catalogs[Teams] ×2 (reference ×1)"},
		"removals":   {"groups[Old project] ×0 (reference ×1)"},
		"changes":    {"groups[Finance]: members: "},
	}
	for what, got := range map[string][]string{"duplicates": dups, "removals": removals, "changes": changes} {
		if len(got) != len(want[what]) || len(got) > 0 && !strings.HasPrefix(got[0], want[what][0]) {
			t.Errorf("%s: %q, want %q…", what, got, want[what])
		}
	}
}
