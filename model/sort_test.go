package model

import (
	"fmt"
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
	few := []PrincipalKind{User, GroupKind, ServicePrincipal, "id"}
	var many []PrincipalKind // more than the keys rank
	for k := range 20 {
		many = append(many, PrincipalKind(fmt.Sprintf("kind%02d", k)))
	}
	for round := range 200 {
		kinds := few
		if round%5 == 4 {
			kinds = many
		}
		n := 64 + rng.IntN(400)
		if round%8 == 7 {
			n = radixFrom + rng.IntN(3000) // (sorted by radix)
		}
		ascii := round%2 == 0
		refs := make([]Ref, n)
		ps := make([]Principal, n)
		for i := range n {
			v := word()
			switch rng.IntN(8) {
			case 0:
				v = " " + v + " "
			case 1:
				v = "0F8FAD5B-D9CB-469F-A165-70867728950" + string(rune('A'+rng.IntN(3)))
			}
			if ascii {
				v = strings.ReplaceAll(strings.ReplaceAll(v, "é", "e"), "K", "k")
			}
			refs[i] = Ref{Kind: kinds[rng.IntN(len(kinds))], Value: v, Pos: Pos{File: "m.csv", Line: int32(rng.IntN(50))}}
			ps[i] = Principal{ID: v, DisplayName: v}
		}
		wantRefs := slices.Clone(refs)
		for i := range wantRefs {
			wantRefs[i].Value = strings.TrimSpace(wantRefs[i].Value)
			if wantRefs[i].IsID() {
				wantRefs[i].Value = strings.ToLower(wantRefs[i].Value)
			}
		}
		slices.SortStableFunc(wantRefs, func(a, b Ref) int { return compareRefsAt(&a, &b) })
		wantRefs = slices.CompactFunc(wantRefs, func(a, b Ref) bool { return a.Kind == b.Kind && CompareFold(a.Value, b.Value) == 0 })
		normalizeRefs(&refs)
		if d := cmp.Diff(wantRefs, refs); d != "" {
			t.Fatalf("round %d: references (-plain +keyed):\n%s", round, d)
		}
		wantPs := slices.Clone(ps)
		for i := range wantPs {
			wantPs[i].ID = strings.ToLower(wantPs[i].ID)
		}
		slices.SortStableFunc(wantPs, func(a, b Principal) int { return strings.Compare(a.ID, b.ID) })
		wantPs = slices.CompactFunc(wantPs, func(a, b Principal) bool { return a.ID == b.ID })
		ps = normalizePrincipals(ps)
		if d := cmp.Diff(wantPs, ps); d != "" {
			t.Fatalf("round %d: principals (-plain +keyed):\n%s", round, d)
		}
		for _, p := range ps {
			if p.ID != strings.ToLower(p.DisplayName) {
				t.Fatalf("round %d: a principal's fields were separated: %+v", round, p)
			}
		}
	}
}
