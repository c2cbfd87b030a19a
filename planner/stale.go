package planner

import (
	"fmt"
	"strings"
)

// StaleError says why a saved plan no longer describes the tenant.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "saved plan is stale: " + strings.Join(e.Reasons, "; ") + "; run plan again"
}

// CheckStale compares a saved plan with a plan computed now from the same
// spec. The saved plan may be applied only if, address by address, the same
// changes are needed and each was computed from an observed object with the
// same fingerprint. The error names every object that moved, and how.
func CheckStale(saved, fresh *Plan) error {
	var reasons []string
	if fresh.Errored {
		reasons = append(reasons, "planning again found errors")
	}
	now := map[string]*Change{}
	for i := range fresh.Changes {
		now[fresh.Changes[i].Address] = &fresh.Changes[i]
	}
	seen := map[string]bool{}
	for i := range saved.Changes {
		s := &saved.Changes[i]
		seen[s.Address] = true
		f, ok := now[s.Address]
		switch {
		case !ok:
			reasons = append(reasons, fmt.Sprintf("%s no longer needs the planned %s (someone changed it since)", s.Address, s.Action))
		case f.Action != s.Action:
			reasons = append(reasons, fmt.Sprintf("%s now needs a %s, the plan has a %s", s.Address, f.Action, s.Action))
		case f.ObservedFingerprint != s.ObservedFingerprint:
			reasons = append(reasons, s.Address+" changed since the plan was created: "+howChanged(s, f))
		}
	}
	for _, f := range fresh.Changes {
		if !seen[f.Address] {
			reasons = append(reasons, fmt.Sprintf("%s now needs a %s that the plan does not have", f.Address, f.Action))
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return &StaleError{Reasons: reasons}
}

// howChanged describes the difference between the observed objects two
// versions of one change were computed from.
func howChanged(saved, fresh *Change) string {
	var parts []string
	if saved.Members != nil && fresh.Members != nil {
		if saved.Members.Live != fresh.Members.Live {
			parts = append(parts, fmt.Sprintf("it had %d members, it has %d now", saved.Members.Live, fresh.Members.Live))
		} else {
			parts = append(parts, "its members changed")
		}
	}
	before := map[string]any{}
	for _, f := range saved.Fields {
		before[f.Field] = f.Before
	}
	for _, f := range fresh.Fields {
		if b, ok := before[f.Field]; ok && fmt.Sprint(b) != fmt.Sprint(f.Before) {
			parts = append(parts, fmt.Sprintf("%s was %s, is %s now", f.Field, value(b), value(f.Before)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "properties the plan depends on differ")
	}
	return strings.Join(parts, ", ")
}
