package graph

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The coalescer's calls of reads may go beyond its constant limit while
// Graph's budget allows (issue 13: "the in-flight limit follows Graph's
// budget, not a constant"). Identity throttling is a token bucket of
// resource units per app and tenant: 3,500, 5,000 or 8,000 every 10 s by
// the tenant's size (Microsoft's throttling guidance, identity and access
// service limits). The pacer keeps an estimate of that bucket at the
// smallest size, so its estimate is never more generous than the real one,
// and spends each call's estimated cost from it:
//
//   - calls within the constant limit (Concurrency) go as before and are
//     charged, so a heavy run drains the estimate;
//   - a call of reads only may go beyond it, up to readCalls in flight,
//     while the estimate holds its cost;
//   - a 429 empties the estimate for a whole window: Graph says the run is
//     over budget, so it goes back to the constant limit.
//
// Writes never go beyond the constant limit (they wait for write slots
// besides). So a small plan (a few hundred reads) reads in as few rounds as
// its dependencies allow, and a large one is paced as before.
const (
	ruBudget  = 3500
	ruWindow  = 10 * time.Second
	readCalls = 16 // at most: 320 reads in flight
)

// pacer is the estimate of the run's resource-unit bucket. It is used
// under the coalescer's lock.
type pacer struct {
	balance   float64 // units left; negative after a 429
	at        time.Time
	throttled int64 // the client's 429 count when last seen
	started   bool
}

// refill brings the estimate up to now; throttled is the client's count
// of 429 answers.
func (p *pacer) refill(now time.Time, throttled int64) {
	if !p.started {
		p.started, p.balance, p.at, p.throttled = true, ruBudget, now, throttled
		return
	}
	if throttled != p.throttled {
		p.throttled = throttled
		p.balance, p.at = -ruBudget, now
		return
	}
	p.balance = min(ruBudget, p.balance+now.Sub(p.at).Seconds()*ruBudget/ruWindow.Seconds())
	p.at = now
}

// spend charges a call that goes within the constant limit.
func (p *pacer) spend(cost float64) { p.balance -= cost }

// take charges a call that would go beyond it, if the estimate holds its
// cost, and reports whether it does.
func (p *pacer) take(cost float64) bool {
	if p.balance < cost {
		return false
	}
	p.balance -= cost
	return true
}

// callCost is the estimated cost of a call's items, and whether all of
// them are reads.
func callCost(call []*queued) (cost float64, reads bool) {
	reads = true
	for _, q := range call {
		cost += itemCost(q.item)
		if q.item.writes() {
			reads = false
		}
	}
	return cost, reads
}

// itemCost estimates a request's resource units as Microsoft's identity
// throttling guidance prices them: a base cost by what is read (group
// member lists 3, transitive members 5, user lists and app role
// assignments 2, other requests 1), $select −1, $expand +1, $top under 20
// −1, never below 1. graphsim prices requests by its own table (router.go);
// this is the client's estimate for pacing, not an account.
func itemCost(it batchItem) float64 {
	path, query, _ := strings.Cut(it.URL, "?")
	if strings.HasSuffix(path, "/getByIds") {
		if strings.Contains(query, "$select") {
			return 2
		}
		return 5
	}
	cost := 1
	if it.Method == "GET" {
		switch {
		case strings.Contains(path, "/transitiveMembers"):
			cost = 5
		case strings.Contains(path, "/members"), strings.Contains(path, "/owners"):
			cost = 3
		case strings.HasPrefix(path, "/users"), strings.HasSuffix(path, "/appRoleAssignments"), strings.HasSuffix(path, "/appRoleAssignedTo"),
			strings.HasPrefix(path, "/oauth2PermissionGrants"):
			cost = 2
		}
		q, _ := url.ParseQuery(query)
		if q.Has("$select") {
			cost--
		}
		if q.Has("$expand") {
			cost++
		}
		if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
			cost--
		}
	}
	return float64(max(cost, 1))
}
