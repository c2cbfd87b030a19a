package appliers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
)

// Graph is what appliers need from Microsoft Graph; *graph.Client has it.
type Graph interface {
	CreateGroup(ctx context.Context, uniqueName string, f graph.GroupFields) (id string, err error)
	GroupByUniqueName(ctx context.Context, uniqueName string) (id, displayName string, err error)
	GroupExists(ctx context.Context, id string) (bool, error)
	UpdateGroup(ctx context.Context, id string, f graph.GroupFields) error
	DeleteGroup(ctx context.Context, id string) error
	SetCloudManaged(ctx context.Context, id string) error
	AddMembers(ctx context.Context, groupID string, ids []string) error
	RemoveMembers(ctx context.Context, groupID string, ids []string) error
	AddGroupOwner(ctx context.Context, groupID, ownerID string) error
	RemoveGroupOwner(ctx context.Context, groupID, ownerID string) error
}

var _ Graph = (*graph.Client)(nil)

// Status is the outcome of one change.
type Status string

// The outcomes.
const (
	Applied Status = "applied"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

// Result is the outcome of one change.
type Result struct {
	Address  string        `json:"address"`
	Status   Status        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
	// ObjectID is the id of the object after the change (created objects
	// included).
	ObjectID string `json:"objectId,omitempty"`
	// Kept lists planned removals apply did not make because this run
	// created or adopted the object moments before: the plan's read
	// predates it (replication lag), so removing it would undo the run's
	// own work.
	Kept []string `json:"kept,omitempty"`
	// Notes say what else apply found while making the change (a
	// duplicate another run made at the same time, resolved).
	Notes []string `json:"notes,omitempty"`
	// Ambiguous is set on a failure after which the object may exist all
	// the same (a create whose answer was lost and which has not shown
	// yet): it is looked for, never created again.
	Ambiguous bool `json:"ambiguous,omitempty"`
	// Permanent is set on a failure that trying again cannot mend: Graph
	// refused the request itself (400, 401, 403, 409 and the like).
	Permanent bool `json:"permanent,omitempty"`
}

// Hooks let a view report progress without the executor knowing which view
// is active. Either may be nil. They are called from several goroutines, one
// call at a time.
type Hooks struct {
	PreApply  func(c *planner.Change)
	PostApply func(c *planner.Change, r Result)
	// Waiting is called when apply starts waiting for Graph's eventual
	// consistency, and then every 10 seconds while it waits.
	Waiting func(what string, waited time.Duration)
	// Progress is called as a running change's items (members added or
	// removed, assignments requested) are written: done of total, for the
	// change as a whole.
	Progress func(c *planner.Change, done, total int)
	// Retrying is called when a request of a running change waits before
	// it is sent again: Graph throttled it (w.Throttled, often with its
	// Retry-After) or it met a transient failure.
	Retrying func(c *planner.Change, w graph.Wait)
}

// Options tunes Apply.
type Options struct {
	// Concurrency is the run's --parallelism; 0 means
	// graph.DefaultParallelism. It bounds the $batch calls in flight, which
	// the Graph client (graph.Options.Parallelism) packs with the requests
	// of every running change: so Concurrency × graph.MaxBatch changes run
	// at once, and as many member chunks of one change, enough to fill
	// every call.
	Concurrency int
	// ConsistencyTimeout bounds each wait for a new object to become visible;
	// 0 means 2 minutes.
	ConsistencyTimeout time.Duration
	// Skip names changes not to run (waiting for approval); their
	// dependants are skipped too.
	Skip map[string]string
	// Known are the ids of objects created by earlier rounds of the same
	// run, by change address; a removal of one of them is not made (see
	// withoutOwnRemovals).
	Known map[string]string
	Hooks Hooks
}

// Apply executes the plan's changes in dependency order and returns one
// result per change, in plan order. It does not stop at the first failure:
// independent changes still run, dependants of a failed change are skipped.
func Apply(ctx context.Context, p *planner.Plan, g Graph, opts Options) []Result {
	if opts.Concurrency <= 0 {
		opts.Concurrency = graph.DefaultParallelism
	}
	if opts.ConsistencyTimeout <= 0 {
		opts.ConsistencyTimeout = 2 * time.Minute
	}
	e := &executor{g: g, opts: opts, ids: &idRegistry{m: maps.Clone(opts.Known)}}
	if e.ids.m == nil {
		e.ids.m = map[string]string{}
	}
	n := len(p.Changes)
	results := make([]Result, n)
	done := make(map[string]chan struct{}, n)
	for _, c := range p.Changes {
		done[c.Address] = make(chan struct{})
	}
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, opts.Concurrency*graph.MaxBatch)
	)
	for i := range p.Changes {
		c := &p.Changes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[c.Address])
			for _, dep := range c.DependsOn {
				if ch, ok := done[dep]; ok {
					<-ch
				}
			}
			if c.Action == planner.Delete {
				// Deletions run last, after everything planned before them,
				// so nothing still refers to what they remove.
				for _, prev := range p.Changes[:i] {
					if prev.Action != planner.Delete {
						<-done[prev.Address]
					}
				}
			}
			r := Result{Address: c.Address}
			if reason, skip := opts.Skip[c.Address]; skip {
				r.Status, r.Error = Skipped, reason
			} else if dep := e.failedDep(c); dep != "" {
				r.Status, r.Error = Skipped, fmt.Sprintf("%s did not apply", dep)
				if _, gated := opts.Skip[dep]; gated {
					// Not a failure: it waits with the change it builds on.
					r.Error = fmt.Sprintf("waits for %s, which needs approval", dep)
				}
			} else if c.Action != planner.NoOp {
				sem <- struct{}{}
				if opts.Hooks.PreApply != nil {
					e.hookMu.Lock()
					opts.Hooks.PreApply(c)
					e.hookMu.Unlock()
				}
				start := time.Now()
				run, kept := e.withoutOwnRemovals(c)
				r.Kept = kept
				id, err := e.change(ctx, run)
				<-sem
				r.Duration = time.Since(start)
				r.ObjectID = id
				if err != nil {
					r.Status, r.Error = Failed, err.Error()
					r.Ambiguous = errors.Is(err, graph.ErrMaybeCreated)
					r.Permanent = Permanent(err)
				} else {
					r.Status = Applied
				}
			} else {
				r.Status = Applied
			}
			r.Notes = e.notesOf(c.Address)
			e.record(c.Address, r.Status)
			results[i] = r
			if opts.Hooks.PostApply != nil {
				e.hookMu.Lock()
				opts.Hooks.PostApply(c, r)
				e.hookMu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

type executor struct {
	g      Graph
	opts   Options
	ids    *idRegistry
	hookMu sync.Mutex

	mu     sync.Mutex
	failed map[string]bool
	notes  map[string][]string
}

// note records something a change's result should say.
func (e *executor) note(addr, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.notes == nil {
		e.notes = map[string][]string{}
	}
	e.notes[addr] = append(e.notes[addr], msg)
}

func (e *executor) notesOf(addr string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.notes[addr]
}

func (e *executor) record(addr string, s Status) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed == nil {
		e.failed = map[string]bool{}
	}
	e.failed[addr] = s != Applied
}

func (e *executor) failedDep(c *planner.Change) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, dep := range c.DependsOn {
		if e.failed[dep] {
			return dep
		}
	}
	return ""
}

// change compiles and runs one change, returning the object's id. Its
// operations run in order, except that a run of member chunks (the adds,
// then the removes) is written many chunks at a time: they are
// independent, and one at a time a 2,000-member add is 100 round trips
// end to end.
func (e *executor) change(ctx context.Context, c *planner.Change) (string, error) {
	ops, err := Compile(c, e.ids)
	if err != nil {
		return "", err
	}
	prog := e.progress(c, ops)
	ctx = graph.WithProgress(ctx, graph.Progress{Waiting: prog.waiting})
	id := c.ObjectID
	invited := map[string]string{}
	for i := 0; i < len(ops); {
		j := i + 1
		if fanOut(ops[i].Kind) {
			for j < len(ops) && ops[j].Kind == ops[i].Kind {
				j++
			}
		}
		got, err := e.ops(ctx, c, ops[i:j], i, invited, prog)
		if err != nil {
			return id, err
		}
		if got != "" {
			id = got
		}
		i = j
	}
	return id, nil
}

// fanOut says whether consecutive operations of a kind may run at once:
// member chunks of one group, each safe to repeat and independent of the
// others.
func fanOut(k OpKind) bool { return k == OpAddMembers || k == OpRemoveMembers }

// ops runs ops (ops[0] being operation first of the change), one alone or a
// run of member chunks at most Concurrency at a time. After a failure no
// further chunk is started, and the error of the earliest failed chunk is
// returned, as if they had run in order.
func (e *executor) ops(ctx context.Context, c *planner.Change, ops []Op, first int, invited map[string]string, prog *changeProgress) (string, error) {
	run := func(i int) (string, error) {
		op := ops[i]
		octx := ctx
		if prog.counts(op.Kind) {
			octx = graph.WithProgress(ctx, graph.Progress{Waiting: prog.waiting, Done: func(done, _ int) { prog.set(first+i, done) }})
		}
		got, err := e.op(octx, c, op, invited)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", op.Method, op.Path, err)
		}
		if prog.counts(op.Kind) {
			prog.set(first+i, len(op.MemberIDs))
		}
		return got, nil
	}
	if len(ops) == 1 {
		return run(0)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs = make([]error, len(ops))
		bad  bool
		id   string
		sem  = make(chan struct{}, e.opts.Concurrency*graph.MaxBatch)
	)
	for i := range ops {
		sem <- struct{}{}
		mu.Lock()
		stop := bad
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := run(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i], bad = err, true
			} else if got != "" {
				id = got
			}
		}()
	}
	wg.Wait()
	return id, firstNonNil(errs)
}

func firstNonNil(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// changeProgress adds up a running change's items, operation by operation,
// for Hooks.Progress, and passes its requests' retry waits to
// Hooks.Retrying.
type changeProgress struct {
	e     *executor
	c     *planner.Change
	total int

	mu   sync.Mutex
	done []int // items done, by operation
	sum  int
}

// itemOps are the operations that write a change's items, 20 at most each.
var itemOps = map[OpKind]bool{OpAddMembers: true, OpRemoveMembers: true, OpAssign: true, OpUnassign: true, OpReprocess: true}

func (e *executor) progress(c *planner.Change, ops []Op) *changeProgress {
	p := &changeProgress{e: e, c: c, done: make([]int, len(ops))}
	for _, op := range ops {
		if itemOps[op.Kind] {
			p.total += len(op.MemberIDs)
		}
	}
	if p.total > 0 && e.opts.Hooks.Progress != nil {
		// The view knows the total before the first chunk lands.
		e.hookMu.Lock()
		defer e.hookMu.Unlock()
		e.opts.Hooks.Progress(c, 0, p.total)
	}
	return p
}

func (p *changeProgress) counts(k OpKind) bool { return itemOps[k] && p.e.opts.Hooks.Progress != nil }

// set records that operation i has done n items. Counts only grow: an
// operation tried again after a 404 reports its items from 0 again.
// The hook runs under p.mu, so the view sees done only grow.
func (p *changeProgress) set(i, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n <= p.done[i] {
		return
	}
	p.sum += n - p.done[i]
	p.done[i] = n
	p.e.hookMu.Lock()
	defer p.e.hookMu.Unlock()
	p.e.opts.Hooks.Progress(p.c, p.sum, p.total)
}

func (p *changeProgress) waiting(w graph.Wait) {
	if p.e.opts.Hooks.Retrying == nil {
		return
	}
	p.e.hookMu.Lock()
	defer p.e.hookMu.Unlock()
	p.e.opts.Hooks.Retrying(p.c, w)
}

func (e *executor) op(ctx context.Context, c *planner.Change, op Op, invited map[string]string) (string, error) {
	switch op.Kind {
	case OpCreateGroup:
		id, err := e.createGroup(ctx, op)
		if err != nil {
			return "", err
		}
		e.ids.set(groupAddress(c.Address), id)
		return id, nil
	case OpUpdateGroup:
		return op.GroupID, e.retryNotFound(ctx, op.GroupID, func() error { return e.g.UpdateGroup(ctx, op.GroupID, op.Fields) })
	case OpDeleteGroup:
		return op.GroupID, e.g.DeleteGroup(ctx, op.GroupID)
	case OpCloudManaged:
		return op.GroupID, e.g.SetCloudManaged(ctx, op.GroupID)
	case OpAddMembers:
		return op.GroupID, e.retryNotFound(ctx, op.GroupID, func() error { return e.g.AddMembers(ctx, op.GroupID, op.MemberIDs) })
	case OpRemoveMembers:
		return op.GroupID, e.g.RemoveMembers(ctx, op.GroupID, op.MemberIDs)
	case OpAddGroupOwner:
		return op.GroupID, e.retryNotFound(ctx, op.GroupID, func() error { return e.g.AddGroupOwner(ctx, op.GroupID, op.MemberIDs[0]) })
	case OpRemoveGroupOwner:
		return op.GroupID, e.g.RemoveGroupOwner(ctx, op.GroupID, op.MemberIDs[0])
	}
	return e.emOp(ctx, c, op, invited)
}

// createGroup creates a group under its uniqueName. Graph refuses a second
// group with the same uniqueName and leaves the first alone, so the create
// is sent as it is: in the common case it is the only request the group
// costs. When the name is taken, its holder is looked up: a group that
// holds it under another display name is someone else's and is never
// touched; one that holds it under the planned name is ours, from an
// earlier apply whose answer was lost (or from this one, when the
// transport sent the create again), and only gets the planned fields
// again. A group created moments ago may not be readable yet: the look-up
// waits for it within the consistency timeout.
func (e *executor) createGroup(ctx context.Context, op Op) (string, error) {
	id, err := e.g.CreateGroup(ctx, op.UniqueName, op.Fields)
	if err == nil || !graph.IsKeyTaken(err) {
		return id, err
	}
	var name string
	err = e.wait(ctx, "the group holding uniqueName "+op.UniqueName+" to become readable", func() (bool, error) {
		var err error
		id, name, err = e.g.GroupByUniqueName(ctx, op.UniqueName)
		if graph.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return "", err
	}
	if want := deref(op.Fields.DisplayName); model.NameKey(name) != model.NameKey(want) {
		return "", fmt.Errorf("uniqueName %q already belongs to group %q (id %s); refusing to adopt it as %q: rename one of them, or pin the group to manage with id:", op.UniqueName, name, id, want)
	}
	return id, e.g.UpdateGroup(ctx, id, op.Fields)
}

// retryNotFound runs fn; when Graph answers 404 because a group (or a
// member) created moments ago is not visible yet, it waits until the group
// reads back and tries again, within the consistency timeout.
func (e *executor) retryNotFound(ctx context.Context, groupID string, fn func() error) error {
	err := fn()
	if !graph.IsNotFound(err) {
		return err
	}
	last := err
	waitErr := e.wait(ctx, "group "+groupID+" and its new members to become visible", func() (bool, error) {
		last = fn()
		if graph.IsNotFound(last) {
			return false, nil
		}
		return true, last
	})
	if waitErr != nil {
		return fmt.Errorf("%w (last answer: %v)", waitErr, last)
	}
	return nil
}

// Permanent reports whether Graph refused a request for what it is: a 4xx
// other than 404 (an object not visible yet), 408 and 429.
func Permanent(err error) bool {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Status {
	case 404, 408, 429:
		return false
	}
	return ge.Status >= 400 && ge.Status < 500
}

// errTimeout is returned when eventual consistency outlasts the timeout.
var errTimeout = errors.New("timed out waiting")

// wait polls cond with growing pauses (0.25s doubling to 5s) until it
// reports true, fails, or the consistency timeout passes.
func (e *executor) wait(ctx context.Context, what string, cond func() (bool, error)) error {
	return e.waitFor(ctx, e.opts.ConsistencyTimeout, what, cond)
}

// waitFor is wait with its own bound. The last look is taken at the
// bound, not one growing pause before it.
func (e *executor) waitFor(ctx context.Context, limit time.Duration, what string, cond func() (bool, error)) error {
	pause := 250 * time.Millisecond
	start, told := time.Now(), time.Duration(-1)
	deadline := start.Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w %s for %s", errTimeout, limit, what)
		}
		if waited := time.Since(start); e.opts.Hooks.Waiting != nil && (told < 0 || waited-told >= 10*time.Second) {
			e.hookMu.Lock()
			e.opts.Hooks.Waiting(what, waited)
			e.hookMu.Unlock()
			told = waited
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w %s for %s", errTimeout, limit, what)
		case <-t.C:
		}
		pause = min(pause*2, 5*time.Second)
	}
}

type idRegistry struct {
	mu sync.Mutex
	m  map[string]string
}

func (r *idRegistry) Lookup(addr string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[addr]
	return v, ok
}

func (r *idRegistry) set(addr, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[addr] = id
}

// owner returns the address of the change that created or adopted the
// object id in this run ("" when none did).
func (r *idRegistry) owner(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, v := range r.m {
		if v == id {
			return addr
		}
	}
	return ""
}

// withoutOwnRemovals re-checks a change's removals right before they are
// written: a member, resource or role whose object this run created or
// adopted (an upsert that found the group a lost answer had made) is not
// removed. The plan saw the set before that object was readable, so it did
// not recognise it as the one the spec declares. It returns the change to
// run (c itself when nothing is kept) and the labels of what was kept.
func (e *executor) withoutOwnRemovals(c *planner.Change) (*planner.Change, []string) {
	var kept []string
	ours := func(id, label string) bool {
		if id == "" {
			return false
		}
		if addr := e.ids.owner(id); addr != "" {
			kept = append(kept, fmt.Sprintf("%s (%s, id %s)", label, addr, id))
			return true
		}
		return false
	}
	out := *c
	if c.Members != nil && len(c.Members.Remove) > 0 {
		md := *c.Members
		md.Remove = slices.DeleteFunc(slices.Clone(c.Members.Remove), func(m planner.Member) bool { return ours(m.ID, m.Label) })
		out.Members = &md
	}
	if c.Roles != nil && len(c.Roles.Remove) > 0 {
		rd := *c.Roles
		rd.Remove = slices.DeleteFunc(slices.Clone(c.Roles.Remove), func(r planner.RoleRef) bool { return ours(r.Group.ID, r.Role+" of "+r.Group.Label) })
		out.Roles = &rd
	}
	if kept == nil {
		return c, nil
	}
	return &out, kept
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// NoIDs is an empty registry, for compiling a plan before any apply.
var NoIDs IDs = &idRegistry{m: map[string]string{}}
