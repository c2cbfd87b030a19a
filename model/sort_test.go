package model

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The keyed sorts must give exactly what a stable sort by the full
// comparison gives, whatever the values: shared prefixes, case, short values, bytes
// past ASCII (which send references to the plain sort), several kinds.
func TestKeyedSortsOrderAsTheFullComparison(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	parts := []string{"u", "U", "00", "a", "Z", "@contoso.com", ".", "é", "K", "-", "1234567", ""}
	word := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	kinds := []PrincipalKind{User, GroupKind, ServicePrincipal, "id"}
	for round := range 200 {
		n := 64 + rng.IntN(400)
		ascii := round%2 == 0
		refs := make([]Ref, n)
		ps := make([]Principal, n)
		for i := range n {
			v := word()
			if ascii {
				v = strings.ReplaceAll(strings.ReplaceAll(v, "é", "e"), "K", "k")
			}
			refs[i] = Ref{Kind: kinds[rng.IntN(len(kinds))], Value: v, Pos: Pos{File: "m.csv", Line: rng.IntN(50)}}
			ps[i] = Principal{ID: v, DisplayName: v}
		}
		wantRefs := slices.Clone(refs)
		slices.SortStableFunc(wantRefs, func(a, b Ref) int { return compareRefsAt(&a, &b) })
		sortRefs(refs)
		if d := cmp.Diff(wantRefs, refs); d != "" {
			t.Fatalf("round %d: references (-plain +keyed):\n%s", round, d)
		}
		sortPrincipals(ps)
		if !slices.IsSortedFunc(ps, func(a, b Principal) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatalf("round %d: principals out of order", round)
		}
		for _, p := range ps {
			if p.ID != p.DisplayName {
				t.Fatalf("round %d: a principal's fields were separated: %+v", round, p)
			}
		}
	}
}
