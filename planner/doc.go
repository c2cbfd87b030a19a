// Package planner computes a plan: the ordered list of changes that turn the
// observed state of a tenant into the desired state.
//
// The planner is pure. Plan takes a desired and an observed model.Tenant
// (both normalised), resolves the spec's references against the principals
// observed state carries, and emits semantic changes; it does no I/O and reads
// no clock except the one passed in Options. Appliers compile each change into
// Graph operations; they never diff again.
//
// Ownership comes before the diff: only objects the spec names are compared.
// An observed group the spec does not list produces no change at all, and a
// group is deleted only when the spec marks it absent. Members are removed
// only from sets the spec declares authoritative.
//
// Granularity follows the way Graph changes each kind (see Kind): group
// properties are one field-level PATCH, membership is a set of adds and
// removes, and the source-of-authority switch is a change of its own because
// it is irreversible from entrasync and is gated on its own risk code.
package planner
