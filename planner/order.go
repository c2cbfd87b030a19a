package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// order sorts changes so that each comes after everything it depends on.
// Among changes that are ready at the same time the order is phase, then
// address, so the same inputs always give the same plan. A dependency cycle
// is an error that names the changes on it; they are appended unordered so
// that the plan still shows them.
func order(changes []Change) ([]Change, error) {
	byAddr := make(map[string]int, len(changes))
	for i, c := range changes {
		byAddr[c.Address] = i
	}
	indeg := make([]int, len(changes))
	dependents := make([][]int, len(changes))
	for i := range changes {
		c := &changes[i]
		// A dependency that needs no change is already in place: drop it,
		// so the plan lists only edges between its own changes.
		c.DependsOn = slices.DeleteFunc(slices.Clone(c.DependsOn), func(dep string) bool { _, ok := byAddr[dep]; return !ok })
		if len(c.DependsOn) == 0 {
			c.DependsOn = nil
		}
		for _, dep := range c.DependsOn {
			indeg[i]++
			dependents[byAddr[dep]] = append(dependents[byAddr[dep]], i)
		}
	}
	less := func(a, b int) int {
		ca, cb := &changes[a], &changes[b]
		return cmp.Or(cmp.Compare(phaseOf(ca), phaseOf(cb)), strings.Compare(ca.Address, cb.Address))
	}
	var ready []int
	for i := range changes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	out := make([]Change, 0, len(changes))
	done := make([]bool, len(changes))
	for len(ready) > 0 {
		slices.SortFunc(ready, less)
		i := ready[0]
		ready = ready[1:]
		out = append(out, changes[i])
		done[i] = true
		for _, j := range dependents[i] {
			indeg[j]--
			if indeg[j] == 0 {
				ready = append(ready, j)
			}
		}
	}
	if len(out) == len(changes) {
		return out, nil
	}
	var cycle []string
	for i := range changes {
		if !done[i] {
			cycle = append(cycle, changes[i].Address)
			out = append(out, changes[i])
		}
	}
	return out, fmt.Errorf("dependency cycle between %s", strings.Join(cycle, ", "))
}

// UniqueNameFor returns the uniqueName entrasync gives a group it creates.
// Graph upserts groups by uniqueName, so a create that is retried after a
// lost response finds the group instead of making a second one. The name is
// derived from the natural key, so every run computes the same one.
func UniqueNameFor(g *model.Group) string {
	if g.UniqueName != "" {
		return g.UniqueName
	}
	sum := sha256.Sum256([]byte(g.Key()))
	return "entrasync-" + hex.EncodeToString(sum[:10])
}

// DefaultMailNickname derives a mailNickname that Graph accepts from a display
// name: lower-case letters, digits, '-' and '_', at most 64 characters.
func DefaultMailNickname(displayName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(displayName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ' && b.Len() > 0:
			b.WriteRune('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		sum := sha256.Sum256([]byte(displayName))
		s = "group-" + hex.EncodeToString(sum[:4])
	}
	return s
}
