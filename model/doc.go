// Package model holds the resource kinds entrasync manages, used for both
// sides of a plan.
//
// Vocabulary (used the same way in every package):
//
//   - desired:  the state the spec declares (built by package spec).
//   - observed: the state read from the live tenant (built by package graph).
//   - managed scope: the objects and fields the spec names. Anything outside
//     it is never changed or deleted.
//   - change:   one semantic difference between desired and observed state
//     for one address (see package planner).
//   - action:   what a change does to its object: create, update, delete.
//   - plan:     the ordered list of changes for one desired/observed pair.
//
// There is deliberately one model and two sources: spec converts YAML into a
// Tenant, graph converts Graph JSON into a Tenant, and the planner compares the
// two after both were passed through Normalize. The package imports only the
// standard library.
//
// Pointer fields follow one convention: nil means "not managed" in desired
// state (the spec does not say) and "not read" in observed state. A non-nil
// pointer to the zero value is a real value (for example an empty
// description).
package model
