// Package appliers executes a plan against Microsoft Graph.
//
// Each change is first compiled into Graph operations (Compile: pure, and
// shown by plan --show-requests), then executed. The executor runs changes
// concurrently as soon as the changes they depend on succeeded, and skips a
// change whose dependency failed. Results are reported per change: applied,
// failed (with Graph's code and request-id) or skipped, so that a partial
// apply says exactly what is left; the next plan shows the rest, and the
// next apply completes it.
//
// Idempotency lives in the operations: groups are created by upsert on
// uniqueName, member adds and removes succeed when already done, deletes
// succeed when the object is gone. Eventual consistency (a group created a
// moment ago that reads do not see yet) is waited out here, bounded by
// Options.ConsistencyTimeout, with timers rather than sleeps. Throttling and
// transient failures are not retried here: that is the graph transport's
// job, and its alone.
package appliers
