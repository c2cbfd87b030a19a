package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/entrasync/entrasync/appliers"
	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// Progress of apply on stderr. Every change says when it starts and how it
// ended, one line each. In between, a long change would be silent (a
// 2,000-member add is 100 round trips), so:
//
//   - on a terminal one status line per running change is redrawn in place
//     ("group["X"].members: 840/2000 members, 6s"), below the permanent
//     lines, and says when Graph's throttling holds it back;
//   - elsewhere (CI logs, pipes, tests) every running change prints a plain
//     line at least every progressEvery, and one as soon as Graph makes it
//     wait a second or more.

// progressEvery is how often, without a terminal, a running change says
// how far it got. A variable so tests can shorten it.
var progressEvery = 10 * time.Second

// redrawEvery is how often the status lines are redrawn on a terminal, and
// statusAfter how long a change runs before it gets one: quick changes
// only print their start and done lines.
var (
	redrawEvery = 200 * time.Millisecond
	statusAfter = time.Second
)

// maxStatusLines bounds the status block, so that it never scrolls the
// terminal (redrawing moves the cursor up over it).
const maxStatusLines = 8

// addProgressFlags adds --parallelism.
func (a *app) addProgressFlags(pf *pflag.FlagSet) {
	a.g.parallelism = graph.DefaultParallelism
	if n, err := strconv.Atoi(os.Getenv("ENTRASYNC_PARALLELISM")); err == nil && checkParallelism(n) == nil {
		a.g.parallelism = n
	}
	pf.Var((*parallelismValue)(&a.g.parallelism), "parallelism",
		fmt.Sprintf("$batch calls (of up to 20 requests each) in flight at once across the run, 1 to %d (env ENTRASYNC_PARALLELISM)", graph.MaxParallelism))
}

// parallelismValue is --parallelism, refused outside 1..MaxParallelism when
// the flag is parsed.
type parallelismValue int

func (v *parallelismValue) String() string { return strconv.Itoa(int(*v)) }
func (v *parallelismValue) Type() string   { return "int" }

func (v *parallelismValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not a number")
	}
	if err := checkParallelism(n); err != nil {
		return err
	}
	*v = parallelismValue(n)
	return nil
}

func checkParallelism(n int) error {
	if n < 1 || n > graph.MaxParallelism {
		return fmt.Errorf("want 1 to %d: more writes in flight only meet Graph's throttling (graph.MaxParallelism)", graph.MaxParallelism)
	}
	return nil
}

// progressHooks returns the hooks of one Apply, drawing on a.stderr.
func (a *app) progressHooks() appliers.Hooks {
	v := newProgressView(a.stderr, isTerminal(a.stderr) && !a.g.debug && os.Getenv("TERM") != "dumb")
	return v.hooks()
}

// progressView draws the progress of one Apply. Its hooks come from
// several goroutines; its ticker from one more; mu orders them all.
type progressView struct {
	w     io.Writer
	tty   bool // redraw status lines in place (\r, ANSI erase)
	width int  // terminal columns; 0 when unknown
	now   func() time.Time
	// every, redraw and after are progressEvery, redrawEvery and
	// statusAfter when the view was made (the ticker never reads the
	// variables a test may change).
	every, redraw, after time.Duration

	mu      sync.Mutex
	running []*runningChange // in start order
	drawn   int              // status lines on the screen now
	shown   string           // their text, so an unchanged block is not redrawn
	stop    chan struct{}    // ends the ticker; nil while none runs
	told    map[string]time.Time
}

// runningChange is what the view knows about one running change.
type runningChange struct {
	c           *planner.Change
	start       time.Time
	done, total int
	// last is when the change last printed a plain line.
	last time.Time
	// wait is the latest retry wait of one of its requests, until
	// waitUntil; throttled counts the throttled waits since the last
	// plain line.
	wait      graph.Wait
	waitUntil time.Time
	throttled int
}

func newProgressView(w io.Writer, tty bool) *progressView {
	v := &progressView{w: w, tty: tty, now: time.Now, told: map[string]time.Time{},
		every: progressEvery, redraw: redrawEvery, after: statusAfter}
	if f, ok := w.(*os.File); ok && tty {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			v.width = cols
		}
	}
	return v
}

func (v *progressView) hooks() appliers.Hooks {
	return appliers.Hooks{
		PreApply: func(c *planner.Change) {
			v.mu.Lock()
			defer v.mu.Unlock()
			now := v.now()
			v.running = append(v.running, &runningChange{c: c, start: now, last: now})
			if v.stop == nil {
				v.stop = make(chan struct{})
				go v.tick(v.stop)
			}
			v.printf("%s: %s...\n", c.Address, verb(c))
		},
		Waiting: func(what string, waited time.Duration) {
			v.mu.Lock()
			defer v.mu.Unlock()
			// Member chunks written at once often wait for the same
			// thing: one line says it.
			now := v.now()
			if t, ok := v.told[what]; ok && now.Sub(t) < v.every {
				return
			}
			v.told[what] = now
			if waited == 0 || waited < time.Second {
				v.printf("  waiting for %s...\n", what)
				return
			}
			v.printf("  still waiting for %s (%s so far)...\n", what, waited.Round(time.Second))
		},
		Progress: func(c *planner.Change, done, total int) {
			v.mu.Lock()
			defer v.mu.Unlock()
			if r := v.find(c); r != nil {
				r.done, r.total = done, total
			}
		},
		Retrying: func(c *planner.Change, w graph.Wait) {
			v.mu.Lock()
			defer v.mu.Unlock()
			r := v.find(c)
			if r == nil {
				return
			}
			now := v.now()
			fresh := !now.Before(r.waitUntil)
			if until := now.Add(w.For); fresh || until.After(r.waitUntil) {
				r.wait, r.waitUntil = w, until
			}
			if w.Throttled {
				r.throttled++
			}
			// Without a terminal a wait of a second or more is said at
			// once, once for the chunks that meet it together.
			if !v.tty && fresh && w.For >= time.Second {
				v.printf("%s\n", v.status(r, now))
				r.last, r.throttled = now, 0
			}
		},
		PostApply: func(c *planner.Change, r appliers.Result) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.remove(c)
			for _, n := range r.Notes {
				v.printf("%s: %s\n", c.Address, n)
			}
			for _, k := range r.Kept {
				v.printf("%s: kept %s: this run created it moments ago, after the plan read the tenant\n", c.Address, k)
			}
			switch r.Status {
			case appliers.Applied:
				if c.Action != planner.NoOp {
					v.printf("%s: done after %s\n", c.Address, r.Duration.Round(time.Millisecond))
				}
			default:
				v.printf("%s: %s: %s\n", c.Address, r.Status, r.Error)
			}
			if len(v.running) == 0 && v.stop != nil {
				close(v.stop)
				v.stop = nil
			}
		},
	}
}

func (v *progressView) find(c *planner.Change) *runningChange {
	for _, r := range v.running {
		if r.c.Address == c.Address {
			return r
		}
	}
	return nil
}

func (v *progressView) remove(c *planner.Change) {
	for i, r := range v.running {
		if r.c.Address == c.Address {
			v.running = append(v.running[:i], v.running[i+1:]...)
			return
		}
	}
}

// tick redraws the status lines (terminal) or prints the plain lines that
// are due, until stop is closed.
func (v *progressView) tick(stop chan struct{}) {
	every := v.redraw
	if !v.tty {
		// Often enough that a line is never much later than due.
		every = min(max(v.every/10, time.Millisecond), time.Second)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		v.mu.Lock()
		select {
		case <-stop: // the last change ended while this tick waited
		default:
			v.update()
		}
		v.mu.Unlock()
	}
}

// update is one tick's work. Caller holds mu.
func (v *progressView) update() {
	now := v.now()
	if v.tty {
		v.draw(now)
		return
	}
	for _, r := range v.running {
		if now.Sub(r.last) >= v.every {
			fmt.Fprintf(v.w, "%s\n", v.status(r, now))
			r.last, r.throttled = now, 0
		}
	}
}

// printf prints a permanent line: on a terminal above the status lines,
// which are drawn again below it. Caller holds mu.
func (v *progressView) printf(format string, args ...any) {
	if !v.tty {
		fmt.Fprintf(v.w, format, args...)
		return
	}
	v.clear()
	fmt.Fprintf(v.w, format, args...)
	v.draw(v.now())
}

// clear erases the status lines and leaves the cursor where the first one
// began. Caller holds mu.
func (v *progressView) clear() {
	io.WriteString(v.w, v.erase())
}

func (v *progressView) erase() string {
	if v.drawn == 0 {
		return ""
	}
	s := "\r\x1b[K" + strings.Repeat("\x1b[A\x1b[K", v.drawn-1)
	v.drawn = 0
	return s
}

// draw replaces the status lines with one per change that has run for
// statusAfter, in one write. The last line is left without a newline, so
// the cursor stays on it. Caller holds mu.
func (v *progressView) draw(now time.Time) {
	var lines []string
	for _, r := range v.running {
		if now.Sub(r.start) >= v.after {
			lines = append(lines, truncate(v.status(r, now), v.width-1))
		}
	}
	if len(lines) > maxStatusLines {
		more := len(lines) - (maxStatusLines - 1)
		lines = append(lines[:maxStatusLines-1], fmt.Sprintf("… and %d more changes running", more))
	}
	text := strings.Join(lines, "\n")
	if v.drawn > 0 && text == v.shown {
		return
	}
	v.shown = text
	out := v.erase()
	if len(lines) > 0 {
		if out == "" {
			out = "\r\x1b[K"
		}
		out += text
	}
	io.WriteString(v.w, out)
	v.drawn = len(lines)
}

// status is a running change's line, e.g.
//
//	group["X"].members: 840/2000 members, 6s, waiting for throttling (Retry-After 5s)
func (v *progressView) status(r *runningChange, now time.Time) string {
	var b strings.Builder
	b.WriteString(r.c.Address + ": ")
	if r.total > 0 {
		fmt.Fprintf(&b, "%d/%d %s, ", r.done, r.total, itemNoun(r.c))
	} else {
		b.WriteString(verb(r.c) + ", ")
	}
	b.WriteString(now.Sub(r.start).Round(time.Second).String())
	switch {
	case now.Before(r.waitUntil) && r.wait.Throttled:
		how := fmt.Sprintf("%s backoff", r.wait.For.Round(100*time.Millisecond))
		if r.wait.RetryAfter {
			how = fmt.Sprintf("Retry-After %s", r.wait.For.Round(100*time.Millisecond))
		}
		fmt.Fprintf(&b, ", waiting for throttling (%s)", how)
	case now.Before(r.waitUntil):
		why := "a lost connection"
		if r.wait.Status != 0 {
			why = fmt.Sprintf("HTTP %d", r.wait.Status)
		}
		fmt.Fprintf(&b, ", retrying after %s in %s", why, r.wait.For.Round(100*time.Millisecond))
	case !v.tty && r.throttled > 0:
		fmt.Fprintf(&b, ", %s since the last line", plural(r.throttled, "1 request throttled", fmt.Sprintf("%d requests throttled", r.throttled)))
	}
	return b.String()
}

// itemNoun names what a change's done/total counts.
func itemNoun(c *planner.Change) string {
	switch c.Kind {
	case planner.KindGroupMembers:
		return "members"
	case planner.KindAssignments:
		return "assignments"
	}
	return "items"
}

// truncate shortens s to n runes (n < 1: no limit), so that a status line
// never wraps and the redraw stays in place.
func truncate(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func verb(c *planner.Change) string {
	switch {
	case c.Kind == planner.KindGroupMembers:
		return fmt.Sprintf("changing members (+%d -%d)", len(c.Members.Add), len(c.Members.Remove))
	case c.Kind == planner.KindGroupOwners:
		return fmt.Sprintf("changing owners (+%d -%d)", len(c.Members.Add), len(c.Members.Remove))
	case c.Kind == planner.KindGroupSourceOfAuthority:
		return "converting to cloud-managed"
	case c.Action == planner.Create:
		return "creating"
	case c.Action == planner.Delete:
		return "deleting"
	}
	return "updating"
}
