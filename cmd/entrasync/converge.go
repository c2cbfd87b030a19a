package main

// Verifying an apply. Graph answers a write before every reader can see it,
// answers are lost, and throttling outlasts a request's retries; a run that
// stopped at "applied" would leave the next plan to find out. So apply plans
// again from a fresh read of the same scope, and repeats within the
// consistency timeout until nothing the plan asked for is left:
//
//   - a change whose write Graph accepted but does not show yet is waited
//     for, never written again (a create sent twice is a duplicate);
//   - a change that failed, or was skipped because what it needed failed,
//     is applied again from the fresh plan, if that plan removes nothing the
//     reviewed one did not (planner.Covers) and needs no new approval;
//   - anything else — a change the reviewed plan did not contain — is never
//     applied: if it does not go away (it may be a read that lags behind),
//     it is reported.
//
// A run that exits 0 has seen its result in a read.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrasync/entrasync/appliers"
	"github.com/entrasync/entrasync/planner"
)

// maxRetryRounds bounds how often verification applies failed changes
// again; waiting for replication is bounded by the consistency timeout.
const maxRetryRounds = 3

// verification is what apply's check of its own result found.
type verification struct {
	// Verified is true when a fresh read showed every change the run made.
	Verified bool `json:"verified"`
	// Reads is how many times the tenant was read again.
	Reads int `json:"reads"`
	// Retried counts changes applied again after a failure.
	Retried int `json:"retried,omitempty"`
	// Pending are the changes still left at the end, with why.
	Pending []pendingChange `json:"pending,omitempty"`
}

type pendingChange struct {
	Address string `json:"address"`
	Why     string `json:"why"`
}

// Why a change is still pending.
const (
	whyReplicating = "Graph accepted the write but does not show it yet"
	whyFailed      = "failed"
	whyLeft        = "a fresh read shows more to do than the change wrote"
	whyUnplanned   = "a fresh read plans a change the reviewed plan did not contain"
	whyAmbiguous   = "its create got no answer and the object has not shown yet; it is looked for, not created again"
	whyApproval    = "the fresh plan needs an approval this run does not have"
	whyBlocked     = "the fresh plan exceeds a safety limit"
)

// verify checks and completes an apply of p whose results are given, in
// place: results of changes that a fresh read shows as done become
// Applied, those applied again carry their new outcome.
func (a *app) verify(ctx context.Context, p *planner.Plan, results []appliers.Result, sess *session, gated map[string]string, approved []planner.RiskCode) verification {
	var v verification
	if a.replan == nil {
		return v
	}
	index := make(map[string]int, len(p.Changes))
	for i, c := range p.Changes {
		index[c.Address] = i
	}
	waitingApproval := dependants(p, gated)
	known := map[string]string{}
	remember := func(rs []appliers.Result) {
		for _, r := range rs {
			if r.Status == appliers.Applied && r.ObjectID != "" {
				known[r.Address] = r.ObjectID
			}
		}
	}
	remember(results)

	deadline := time.Now().Add(a.g.consistency)
	pause, told, start := 250*time.Millisecond, time.Duration(-1), time.Now()
	retryRounds := 0
	for {
		fresh, err := a.replan(ctx)
		v.Reads++
		var pending []pendingChange
		var retry []planner.Change
		switch {
		case err != nil && appliers.Permanent(err):
			pending = []pendingChange{{Address: "(read)", Why: whyFailed + ": reading the tenant again: " + err.Error()}}
		case err != nil:
			// A read that fails after its retries may be a throttling
			// storm passing: it is tried again while time is left.
			pending = []pendingChange{{Address: "(read)", Why: "reading the tenant again failed: " + err.Error()}}
		case fresh.Errored:
			// What a fresh plan finds wrong (two live catalogs of one
			// name, say) is not mended by waiting.
			pending = []pendingChange{{Address: "(plan)", Why: whyFailed + ": a fresh plan has errors:\n" + fresh.Diagnostics.Error()}}
		default:
			pending, retry = a.classify(p, fresh, results, index, waitingApproval, approved, retryRounds)
		}
		if len(pending) == 0 {
			v.Verified = true
			settle(p, results, fresh, waitingApproval)
			return v
		}
		if len(retry) > 0 && retryRounds < maxRetryRounds {
			retryRounds++
			v.Retried += len(retry)
			fmt.Fprintf(a.stderr, "Applying %s again (%s)...\n", plural(len(retry), "1 change", fmt.Sprintf("%d changes", len(retry))), "a fresh read shows what is left")
			sub := *fresh
			sub.Changes = retry
			rs := appliers.Apply(ctx, &sub, sess.client, appliers.Options{Hooks: a.progressHooks(), ConsistencyTimeout: a.g.consistency, Known: known})
			remember(rs)
			for _, r := range rs {
				results[index[r.Address]] = r
			}
			continue
		}
		// Only what time can mend is waited for: replication, a create
		// still to show, a change the plan did not expect (a lagging read),
		// a dependency of a change to apply again.
		waitable := slices.ContainsFunc(pending, func(pc pendingChange) bool { return !strings.HasPrefix(pc.Why, whyFailed) })
		if !waitable || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			v.Pending = pending
			if fresh != nil {
				settle(p, results, fresh, waitingApproval)
			}
			return v
		}
		if waited := time.Since(start); told < 0 || waited-told >= 10*time.Second {
			fmt.Fprintf(a.stderr, "Verifying: %s left (%s); reading again (%s so far)...\n",
				plural(len(pending), "1 change", fmt.Sprintf("%d changes", len(pending))), pending[0].Why, waited.Round(time.Second))
			told = waited
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, 5*time.Second)
	}
}

// classify sorts what a fresh plan still contains: pending changes, and
// among them the ones to apply again now.
func (a *app) classify(p, fresh *planner.Plan, results []appliers.Result, index map[string]int, waitingApproval map[string]bool, approved []planner.RiskCode, retryRounds int) ([]pendingChange, []planner.Change) {
	var pending []pendingChange
	var retry []planner.Change
	left := map[string]bool{}
	for _, c := range fresh.Changes {
		if c.Action == planner.NoOp || waitingApproval[c.Address] {
			continue
		}
		left[c.Address] = true
		i, ok := index[c.Address]
		switch {
		case !ok || !planner.Covers(&p.Changes[i], &c):
			pending = append(pending, pendingChange{c.Address, whyUnplanned})
		case results[i].Status == appliers.Applied && planner.Within(&p.Changes[i], &c):
			pending = append(pending, pendingChange{c.Address, whyReplicating})
		case results[i].Status == appliers.Applied && retryRounds < maxRetryRounds:
			// Applied, and yet more is left than the change wrote: a
			// delivery Graph reports failed, or drift back toward the
			// spec meanwhile. Covers has checked it removes nothing new.
			pending = append(pending, pendingChange{c.Address, whyLeft})
			retry = append(retry, c)
		case results[i].Ambiguous && p.Changes[i].Action == planner.Create:
			pending = append(pending, pendingChange{c.Address, whyAmbiguous})
		case len(fresh.Blocks) > 0:
			pending = append(pending, pendingChange{c.Address, whyBlocked})
		case results[i].Permanent || retryRounds >= maxRetryRounds:
			pending = append(pending, pendingChange{c.Address, whyFailed + ": " + results[i].Error})
		default:
			pending = append(pending, pendingChange{c.Address, whyFailed + ": " + results[i].Error})
			retry = append(retry, c)
		}
	}
	// A change is applied again only with what it depends on: a dependency
	// that is still replicating or waiting is not in this round's plan, and
	// the change would name an object that does not exist yet.
	for {
		in := map[string]bool{}
		for _, c := range retry {
			in[c.Address] = true
		}
		n := len(retry)
		retry = slices.DeleteFunc(retry, func(c planner.Change) bool {
			return slices.ContainsFunc(c.DependsOn, func(d string) bool { return left[d] && !in[d] })
		})
		if len(retry) == n {
			break
		}
	}
	sub := &planner.Plan{Changes: retry, RequireApproval: fresh.RequireApproval}
	newlyGated := planner.Gated(sub, approved)
	retry = slices.DeleteFunc(retry, func(c planner.Change) bool { return newlyGated[c.Address] != "" })
	for j := range pending {
		if newlyGated[pending[j].Address] != "" {
			pending[j].Why = whyApproval
		}
	}
	return pending, retry
}

// settle records what the last fresh plan shows: a change that failed or
// was skipped but has nothing left to do did apply (its answer was lost, or
// a later round made it).
func settle(p *planner.Plan, results []appliers.Result, fresh *planner.Plan, waitingApproval map[string]bool) {
	left := map[string]bool{}
	for _, c := range fresh.Changes {
		if c.Action != planner.NoOp {
			left[c.Address] = true
		}
	}
	for i, c := range p.Changes {
		r := &results[i]
		if r.Status == appliers.Applied || waitingApproval[c.Address] || left[c.Address] {
			continue
		}
		r.Status, r.Error, r.Ambiguous = appliers.Applied, "", false
	}
}

// dependants are the gated changes and every change that waits for one.
func dependants(p *planner.Plan, gated map[string]string) map[string]bool {
	out := map[string]bool{}
	for addr := range gated {
		out[addr] = true
	}
	for changed := true; changed; {
		changed = false
		for _, c := range p.Changes {
			if out[c.Address] {
				continue
			}
			if slices.ContainsFunc(c.DependsOn, func(d string) bool { return out[d] }) {
				out[c.Address] = true
				changed = true
			}
		}
	}
	return out
}

// describePending lists what verification left, one line each.
func describePending(ps []pendingChange) string {
	var b strings.Builder
	for _, pc := range ps {
		fmt.Fprintf(&b, "\n  - %s: %s", pc.Address, pc.Why)
	}
	return b.String()
}
