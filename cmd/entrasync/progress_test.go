package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasync/entrasync/appliers"
	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/planner"
)

// syncBuffer is a bytes.Buffer the view's ticker and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is the view's clock, moved by the test under the view's lock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// testView is a view on a fake clock; the test drives its ticks itself
// (tick), the real ticker's ticks see a clock that has not moved.
func testView(t *testing.T, tty bool) (*progressView, *fakeClock, *syncBuffer, appliers.Hooks) {
	t.Helper()
	var out syncBuffer
	v := newProgressView(&out, tty)
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	v.now = clk.now
	return v, clk, &out, v.hooks()
}

// advance moves the clock and runs one tick.
func advance(v *progressView, clk *fakeClock, d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	clk.t = clk.t.Add(d)
	v.update()
}

func membersChange(n int) *planner.Change {
	c := &planner.Change{Address: `group["X"].members`, Kind: planner.KindGroupMembers, Action: planner.Update, Members: &planner.MemberDiff{}}
	c.Members.Add = make([]planner.Member, n)
	return c
}

func TestProgressPlainLines(t *testing.T) {
	v, clk, out, h := testView(t, false)
	c := membersChange(2000)
	h.PreApply(c)
	h.Progress(c, 840, 2000)
	advance(v, clk, v.every/2)
	if strings.Contains(out.String(), "840/2000") {
		t.Fatalf("a progress line before the interval passed:\n%s", out)
	}
	advance(v, clk, v.every/2)
	if want := `group["X"].members: 840/2000 members, 10s` + "\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("no progress line once the interval passed; want %q in:\n%s", want, out)
	}

	// A throttling wait of a second or more is said at once, once for the
	// chunks that meet it together; the next line counts them.
	h.Retrying(c, graph.Wait{For: 5 * time.Second, Throttled: true, RetryAfter: true, Status: 429})
	h.Retrying(c, graph.Wait{For: 5 * time.Second, Throttled: true, RetryAfter: true, Status: 429})
	if got := strings.Count(out.String(), "waiting for throttling (Retry-After 5s)"); got != 1 {
		t.Fatalf("throttling said %d times, want once:\n%s", got, out)
	}
	h.Progress(c, 1000, 2000)
	advance(v, clk, v.every)
	if want := "1000/2000 members, 20s, 1 request throttled since the last line\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("want %q in:\n%s", want, out)
	}

	h.PostApply(c, appliers.Result{Address: c.Address, Status: appliers.Applied, Duration: 21 * time.Second})
	advance(v, clk, v.every)
	got := out.String()
	if !strings.HasSuffix(got, `group["X"].members: done after 21s`+"\n") {
		t.Errorf("the done line must end the output (no line after the change ended):\n%s", got)
	}
	if !strings.HasPrefix(got, `group["X"].members: changing members (+2000 -0)...`+"\n") {
		t.Errorf("no start line:\n%s", got)
	}
	if strings.ContainsAny(got, "\r\x1b") {
		t.Errorf("carriage return or escape without a terminal: %q", got)
	}
}

func TestProgressTerminalRedraws(t *testing.T) {
	v, clk, out, h := testView(t, true)
	c := membersChange(2000)
	h.PreApply(c)
	h.Progress(c, 840, 2000)
	advance(v, clk, 6*time.Second)
	if want := "\r\x1b[K" + `group["X"].members: 840/2000 members, 6s`; !strings.Contains(out.String(), want) {
		t.Fatalf("no status line redrawn in place; want %q in %q", want, out)
	}
	h.Retrying(c, graph.Wait{For: 5 * time.Second, Throttled: true, RetryAfter: true, Status: 429})
	advance(v, clk, time.Second)
	if want := "840/2000 members, 7s, waiting for throttling (Retry-After 5s)"; !strings.Contains(out.String(), want) {
		t.Fatalf("want %q in %q", want, out)
	}
	// A permanent line goes above the status line, which is drawn again.
	h.Waiting("group X to become readable", 0)
	if want := "\r\x1b[K  waiting for group X to become readable...\n\r\x1b[K" + `group["X"].members: 840/2000`; !strings.Contains(out.String(), want) {
		t.Fatalf("want %q in %q", want, out)
	}
	h.PostApply(c, appliers.Result{Address: c.Address, Status: appliers.Applied, Duration: 8 * time.Second})
	if got := out.String(); !strings.HasSuffix(got, "\r\x1b[K"+`group["X"].members: done after 8s`+"\n") {
		t.Errorf("the status line must be erased for the done line, and not drawn again: %q", got)
	}
}

func TestProgressTruncatesToTheTerminal(t *testing.T) {
	if got := truncate("group[\"Überlange Gruppe\"]", 10); got != "group[\"Üb…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 0); got != "short" {
		t.Errorf("no width must not truncate: %q", got)
	}
}

func TestProgressParallelismFlag(t *testing.T) {
	for _, bad := range []string{"0", "17", "four"} {
		r := entrasync(t, "http://127.0.0.1:1", "plan", "-f", ".", "--parallelism", bad)
		if r.code != exitError || !strings.Contains(r.stderr, `invalid argument "`+bad+`" for "--parallelism" flag`) {
			t.Errorf("--parallelism %s: exit %d\n%s", bad, r.code, r.stderr)
		}
	}
}

// A 2,000-member add against graphsim with latency reports how far it got
// while it runs, and never has more writes in flight than --parallelism.
func TestProgressE2ELargeAdd(t *testing.T) {
	old := progressEvery
	progressEvery = 20 * time.Millisecond
	t.Cleanup(func() { progressEvery = old })

	fx, spec := bigAdd()
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 7})
	sim.SetFaults(graphsim.Faults{Latency: 10 * time.Millisecond})
	var inFlight, most atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/groups/") {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for name, data := range spec {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r := entrasync(t, srv.URL, "apply", "-f", dir, "--auto-approve", "--parallelism", "3")
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete: 1 applied") {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	line := regexp.MustCompile(`(?m)^group\["Everyone"\]\.members: (\d+)/2000 members, \S+$`)
	if !line.MatchString(r.stderr) {
		t.Errorf("no progress line with done/total:\n%s", r.stderr)
	}
	for _, want := range []string{`group["Everyone"].members: changing members (+2000 -0)...`, `group["Everyone"].members: done after `} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if m := most.Load(); m > 3 {
		t.Errorf("%d member PATCHes in flight at once, --parallelism 3", m)
	} else {
		t.Logf("at most %d member PATCHes in flight; %d progress lines", m, len(line.FindAllString(r.stderr, -1)))
	}
	if r := entrasync(t, srv.URL, "plan", "-f", dir, "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after apply: exit %d\n%s", r.code, r.stdout)
	}
}
