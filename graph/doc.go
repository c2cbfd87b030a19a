// Package graph is everything that speaks to Microsoft Graph.
//
// One *http.Client carries every request. Its transport is go-retryablehttp:
// the only retry layer in entrasync (docs/architecture.md, rule 6). It retries 429 and
// transient 5xx answers and lost connections, honours Retry-After (also the
// fractional seconds Graph sends), falls back to jittered exponential backoff,
// and is bounded in time: a request is retried while the next wait ends within
// its retry budget (Options.RetryBudget, from its first attempt), then fails
// with a *RetryError naming the attempts, the time waited and the last answer.
// An attempt cap (a server answering "Retry-After: 0" forever) and three
// timed-out attempts (a server that never answers) are the backstops. Other
// 4xx answers are never retried; they become *Error values with Graph's code
// and request-id. Sub-requests of a $batch are retried here too, by the same
// policy and budget, because Graph meters and throttles them one by one inside
// a 200 batch response.
//
// Retrying a write after a lost response is safe because every write
// entrasync sends is idempotent by construction: groups are created by upsert
// on uniqueName, member adds treat "already exist" as success, removes and
// deletes treat "does not exist" as success, and PATCHes set absolute values.
//
// Typed calls go through msgraph-sdk-go; requests the SDK cannot express
// (JSON $batch with per-item statuses, raw list pages read inside a batch)
// are sent as raw requests through the same kiota adapter, so they share
// authentication, transport and counting.
//
// Read returns an observed model.Tenant for exactly the objects a desired
// tenant names, selecting only the fields the planner compares.
package graph
