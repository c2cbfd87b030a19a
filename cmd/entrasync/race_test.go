//go:build race

package main

// The race detector slows every run several times over; the short chaos
// run takes one seed per mix under it (the run without -race, which CI also
// makes, takes two).
func init() { raceDetector = true }
