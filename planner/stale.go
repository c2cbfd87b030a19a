package planner

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// StaleError says why a saved plan no longer describes the tenant.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "saved plan is stale: " + strings.Join(e.Reasons, "; ") + "; run plan again"
}

// DiffersError says that a saved plan is not the plan entrasync computes
// now from the same spec and the same observed objects: the file was edited,
// or written by other code. Applying it would run something nobody
// reviewed as entrasync's output.
type DiffersError struct {
	// Differences are "address: path: saved … , fresh …" lines, the first
	// one first.
	Differences []string
}

func (e *DiffersError) Error() string {
	msg := "saved plan differs from a fresh plan: " + e.Differences[0]
	if n := len(e.Differences) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more %s)", n, plural(n, "difference", "differences"))
	}
	return msg + "; the plan file was edited or not written by this entrasync: run plan again and review it"
}

// CheckStale compares a saved plan with a plan computed now from the same
// spec. The saved plan may be applied only if, address by address, the same
// changes are needed and each was computed from an observed object with the
// same fingerprint (else a StaleError names every object that moved, and
// how), and if every change is, field by field, the one computed now, and
// so are the plan's approval gates, blocks and tenant (else a DiffersError
// names the first difference): what runs is exactly what was reviewed.
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
	if len(reasons) > 0 {
		return &StaleError{Reasons: reasons}
	}
	return contentDiff(saved, fresh)
}

// contentDiff compares what a saved plan would do with what a fresh plan
// does, as JSON values, so that a decoded plan and a computed one compare
// alike. Presentation (creation time, tool version, diagnostics) is not
// compared.
func contentDiff(saved, fresh *Plan) error {
	var out []string
	top := func(name string, s, f any) {
		if d := firstDiff(name, jsonValue(s), jsonValue(f)); d != "" {
			out = append(out, "plan: "+d)
		}
	}
	top("tenant", saved.Tenant, fresh.Tenant)
	top("errored", saved.Errored, fresh.Errored)
	top("requireApproval", saved.RequireApproval, fresh.RequireApproval)
	top("blocks", saved.Blocks, fresh.Blocks)
	top("safeguards", saved.Safeguards, fresh.Safeguards)
	top("policyFile", saved.PolicyFile, fresh.PolicyFile)
	top("targets", saved.Targets, fresh.Targets)
	now := map[string]*Change{}
	for i := range fresh.Changes {
		now[fresh.Changes[i].Address] = &fresh.Changes[i]
	}
	for i := range saved.Changes {
		s := &saved.Changes[i]
		if d := firstDiff("", jsonValue(s), jsonValue(now[s.Address])); d != "" {
			out = append(out, s.Address+": "+d)
		}
	}
	if len(out) == 0 && len(saved.Changes) != len(fresh.Changes) {
		// Every saved address matched one fresh change: the saved plan
		// lists one more than once.
		out = append(out, fmt.Sprintf("plan: changes has %d entries in the saved plan, %d in a fresh plan", len(saved.Changes), len(fresh.Changes)))
	}
	if len(out) == 0 {
		for i := range saved.Changes {
			if saved.Changes[i].Address != fresh.Changes[i].Address {
				out = append(out, fmt.Sprintf("plan: change %d is %s in the saved plan, %s in a fresh plan (the order differs)", i+1, saved.Changes[i].Address, fresh.Changes[i].Address))
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &DiffersError{Differences: out}
}

func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable %T", v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("undecodable %T", v)
	}
	return out
}

// firstDiff names the first place where two JSON values differ, as a path
// (fields[1].after) and both values, or "" when they are equal. Object keys
// are visited in sorted order so the answer is stable.
func firstDiff(path string, s, f any) string {
	at := func() string {
		if path == "" {
			return ""
		}
		return path + " "
	}
	switch sv := s.(type) {
	case map[string]any:
		fv, ok := f.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(sv)+len(fv))
		for k := range sv {
			keys = append(keys, k)
		}
		for k := range fv {
			if _, ok := sv[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			sk, sok := sv[k]
			fk, fok := fv[k]
			switch {
			case !sok:
				return fmt.Sprintf("%s is missing from the saved plan, %s in a fresh plan", p, short(fk))
			case !fok:
				return fmt.Sprintf("%s is %s in the saved plan, absent from a fresh plan", p, short(sk))
			}
			if d := firstDiff(p, sk, fk); d != "" {
				return d
			}
		}
		return ""
	case []any:
		fv, ok := f.([]any)
		if !ok {
			break
		}
		if len(sv) != len(fv) {
			return fmt.Sprintf("%shas %d %s in the saved plan, %d in a fresh plan", at(), len(sv), plural(len(sv), "entry", "entries"), len(fv))
		}
		for i := range sv {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), sv[i], fv[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprintf("%T", s) == fmt.Sprintf("%T", f) && fmt.Sprint(s) == fmt.Sprint(f) {
		return ""
	}
	return fmt.Sprintf("%sis %s in the saved plan, %s in a fresh plan", at(), short(s), short(f))
}

// short renders a JSON value for a one-line message.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// howChanged describes the difference between the observed objects two
// versions of one change were computed from.
func howChanged(saved, fresh *Change) string {
	var parts []string
	if saved.Members != nil && fresh.Members != nil {
		if saved.Members.Live != fresh.Members.Live {
			parts = append(parts, fmt.Sprintf("it had %d %s, it has %d now", saved.Members.Live, setNoun(saved.Kind), fresh.Members.Live))
		} else {
			parts = append(parts, "its "+setNoun(saved.Kind)+" changed")
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
