package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// The index finds a principal by searching the sorted list, going on from
// the last one found; it must find what a map of every id finds, in any
// order of asking, sorted or not, with groups that only observed.Groups
// lists.
func TestIndexFindsWhatAMapFinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for round := range 50 {
		n := rng.IntN(300)
		obs := &model.Tenant{}
		for range n {
			obs.Principals = append(obs.Principals, model.Principal{ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", rng.Uint32()), Kind: model.User})
		}
		sorted := round%2 == 0
		if sorted {
			model.Normalize(obs)
		}
		for i := range 3 {
			obs.Groups = append(obs.Groups, &model.Group{ID: fmt.Sprintf("ffff%04x-0000-4000-8000-00000000000%d", rng.IntN(9999), i), DisplayName: fmt.Sprint("g", i)})
		}
		ix := newIndex(&model.Tenant{}, obs)
		inOrder := slices.IsSortedFunc(obs.Principals, func(a, b model.Principal) int { return cmp.Compare(a.ID, b.ID) })
		if ix.sorted != inOrder || (sorted && !inOrder) {
			t.Fatalf("round %d: sorted = %v, the list is in order: %v", round, ix.sorted, inOrder)
		}
		want := map[string]bool{}
		var ids []string
		for _, p := range obs.Principals {
			want[p.ID] = true
			ids = append(ids, p.ID)
		}
		for _, g := range obs.Groups {
			want[g.ID] = true
			ids = append(ids, g.ID)
		}
		for range 100 {
			ids = append(ids, fmt.Sprintf("%08x-0000-4000-8000-000000000000", rng.Uint32())) // mostly unknown
		}
		// In order (as memberDiff asks), then shuffled.
		slices.Sort(ids)
		for pass := range 2 {
			last := int32(-1)
			for _, id := range ids {
				at, ok := ix.seek(id, last)
				if ok != want[id] {
					t.Fatalf("round %d pass %d: seek(%s, %d) found %v, want %v", round, pass, id, last, ok, want[id])
				}
				if ok {
					if got := ix.at(at).ID; got != id {
						t.Fatalf("round %d: seek(%s) is at %d, which holds %s", round, id, at, got)
					}
					if int(at) < len(ix.principals) {
						last = at
					}
				}
				if p, ok := ix.principal(id); ok != want[id] || (ok && p.ID != id) {
					t.Fatalf("round %d: principal(%s) = %v, %v", round, id, p.ID, ok)
				}
			}
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		}
	}
}

// fingerprint hashes a list of strings as it is made, and must give the
// hash of json.Marshal's bytes, whatever the strings hold.
func TestFingerprintOfStringsIsTheJSONHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	parts := []string{"a", "0f8fad5b-d9cb-469f-a165-70867728950e", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x7f", "é", "\xff", "\u2028", " ", "~"}
	viaJSON := func(v any) string {
		b, _ := json.Marshal(v)
		sum := sha256.Sum256(b)
		return "sha256:" + hex.EncodeToString(sum[:12])
	}
	for range 500 {
		ss := make([]string, rng.IntN(5))
		for i := range ss {
			for range rng.IntN(4) {
				ss[i] += parts[rng.IntN(len(parts))]
			}
		}
		if got, want := fingerprint(ss), viaJSON(ss); got != want {
			t.Fatalf("fingerprint(%q) = %s, json.Marshal's hash is %s", ss, got, want)
		}
	}
	if got, want := fingerprint([]string(nil)), viaJSON([]string(nil)); got != want {
		t.Fatalf("fingerprint(nil) = %s, want %s", got, want)
	}
}

// A member set's fingerprint is the hash of its sorted ids, whether the set
// is in id order (hashed as it is) or not (sorted first), of any kinds.
func TestMemberFingerprintIsTheSortedIDsHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	kinds := []model.PrincipalKind{model.User, model.GroupKind, model.ServicePrincipal}
	for range 300 {
		refs := make([]model.Ref, rng.IntN(6))
		ids := make([]string, len(refs))
		for i := range refs {
			ids[i] = fmt.Sprintf("%08x-0000", rng.IntN(50))
			refs[i] = model.Ref{Kind: kinds[rng.IntN(len(kinds))], Value: ids[i]}
		}
		if rng.IntN(2) == 0 {
			slices.SortFunc(refs, func(a, b model.Ref) int { return strings.Compare(a.Value, b.Value) })
		}
		slices.Sort(ids)
		g := &model.Group{Members: &model.MemberSet{Members: refs}}
		if got, want := fingerprint(memberIDs(g)), fingerprint(ids); got != want {
			t.Fatalf("fingerprint of members %v = %s, of their sorted ids %s", refs, got, want)
		}
	}
}
