package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIndexAgreesWithAMapOfNameKeys holds the index to what it replaces: a
// map from NameKey to the handles added under it, in the order they were
// added, through growth from the smallest table, with names that repeat,
// differ only in case or spaces, are empty, or are not ASCII.
func TestIndexAgreesWithAMapOfNameKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := []string{"Ünïcode Group", "ÜNÏCODE group", "  padded ", "", "   ", "Kelvin \u212a", "kelvin k", "\xff\xfe bad", "ǅungla", "ǆungla"}
	for i := range 3000 {
		pool = append(pool, fmt.Sprintf("User%d@Contoso.com", i))
	}
	var names []string
	x := NewIndex(0, func(h uint32) string { return names[h] })
	firsts := NewIndex(0, func(h uint32) string { return names[h] }) // by Insert
	want := map[string][]uint32{}
	for i := range 20000 {
		name := pool[rng.IntN(len(pool))]
		if rng.IntN(2) == 0 {
			name = flipCase(name, rng)
		}
		names = append(names, name)
		x.Add(uint32(i))
		k := NameKey(name)
		if k != "" {
			want[k] = append(want[k], uint32(i))
		}
		h, found := firsts.Insert(uint32(i))
		switch {
		case k == "" && (found || h != uint32(i)):
			t.Fatalf("Insert(%q) = %d, %v for an empty name", name, h, found)
		case k != "" && (h != want[k][0] || found != (len(want[k]) > 1)):
			t.Fatalf("Insert(%q) = %d, %v; want %d, %v", name, h, found, want[k][0], len(want[k]) > 1)
		}
	}
	// AddAll, in batches of any size after a Prefetch of them, is Add of
	// each in turn.
	batched := NewIndex(0, func(h uint32) string { return names[h] })
	for from := 0; from < len(names); {
		k := min(len(names)-from, 1+rng.IntN(100))
		handles := make([]uint32, k)
		for j := range handles {
			handles[j] = uint32(from + j)
		}
		batched.Prefetch(k, func(j int) string { return names[from+j] })
		batched.AddAll(handles)
		from += k
	}
	if firsts.Len() != len(want) {
		t.Errorf("Insert kept %d names, want %d", firsts.Len(), len(want))
	}
	total := 0
	for k, hs := range want {
		total += len(hs)
		for _, probe := range []string{k, " " + k + "\t", flipCase(k, rng)} {
			if got := slices.Collect(x.All(probe)); !slices.Equal(got, hs) {
				t.Fatalf("All(%q) = %v, want %v", probe, got, hs)
			}
			if got := slices.Collect(batched.All(probe)); !slices.Equal(got, hs) {
				t.Fatalf("after AddAll, All(%q) = %v, want %v", probe, got, hs)
			}
		}
		if h, ok := x.First(k); !ok || h != hs[0] {
			t.Fatalf("First(%q) = %d, %v; want %d", k, h, ok, hs[0])
		}
	}
	if x.Len() != total || batched.Len() != total {
		t.Errorf("Len = %d, after AddAll %d; want %d", x.Len(), batched.Len(), total)
	}
	for _, absent := range []string{"", " ", "user3000@contoso.com", "nobody"} {
		if x.Has(absent) {
			t.Errorf("Has(%q) = true for a name never added", absent)
		}
	}
}

// TestIndexTellsCollidingNamesApart gives every name one hash: the index
// must still find each by comparing the names themselves, across growth.
func TestIndexTellsCollidingNamesApart(t *testing.T) {
	names := []string{"a@x", "b@x", "A@X", "c@x", "B@x", "a@x "}
	x := NewIndex(0, func(h uint32) string { return names[h] })
	x.hash = func(string, uint64) uint32 { return 7 }
	for i := range names {
		x.Add(uint32(i))
	}
	for name, want := range map[string][]uint32{"a@x": {0, 2, 5}, "B@X": {1, 4}, "c@x": {3}, "d@x": nil} {
		if got := slices.Collect(x.All(name)); !slices.Equal(got, want) {
			t.Errorf("All(%q) = %v, want %v", name, got, want)
		}
	}
}

// flipCase upper-cases some of s's letters and lower-cases others.
func flipCase(s string, rng *rand.Rand) string {
	b := []rune(s)
	for i, r := range b {
		switch {
		case rng.IntN(2) == 0:
		case 'a' <= r && r <= 'z':
			b[i] = r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			b[i] = r - 'A' + 'a'
		}
	}
	return string(b)
}

// BenchmarkIndex measures adding and finding a million UPN-like names, to
// set beside a map[string]int32 of their folded keys doing the same.
func BenchmarkIndex(b *testing.B) {
	const n = 1_000_000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("u%07d@contoso.com", i)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			x := NewIndex(n, func(h uint32) string { return names[h] })
			for i := range names {
				x.Add(uint32(i))
			}
			for _, s := range names {
				if !x.Has(s) {
					b.Fatal(s)
				}
			}
		}
	})
	b.Run("index-read-ahead", func(b *testing.B) {
		handles := make([]uint32, n)
		for i := range handles {
			handles[i] = uint32(i)
		}
		for b.Loop() {
			x := NewIndex(n, func(h uint32) string { return names[h] })
			x.AddAll(handles)
			for from := 0; from < n; from += 256 {
				chunk := names[from:min(n, from+256)]
				x.Prefetch(len(chunk), func(j int) string { return chunk[j] })
				for _, s := range chunk {
					if !x.Has(s) {
						b.Fatal(s)
					}
				}
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			m := make(map[string]int32, n)
			for i, s := range names {
				m[NameKey(s)] = int32(i)
			}
			for _, s := range names {
				if _, ok := m[NameKey(s)]; !ok {
					b.Fatal(s)
				}
			}
		}
	})
}
