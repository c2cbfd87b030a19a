package planner

import (
	"errors"
	"strings"
	"testing"
)

// A saved plan that lists a change twice is refused, not a panic.
func TestSavedPlanWithADuplicatedChangeIsRefused(t *testing.T) {
	a := Change{Address: `group["A"]`, Kind: KindGroup, Action: Update}
	b := Change{Address: `group["B"]`, Kind: KindGroup, Action: Update}
	fresh := &Plan{Changes: []Change{a, b}}
	saved := &Plan{Changes: []Change{a, b, b}}
	err := CheckStale(saved, fresh)
	var de *DiffersError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "changes has 3 entries in the saved plan, 2 in a fresh plan") {
		t.Fatalf("err = %v", err)
	}
}
