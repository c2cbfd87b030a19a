package model

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// A sort of a million principals or references spent most of its time
// comparing strings through their headers and moving 64- to 104-byte
// values. keyedSort sorts small (key, position) pairs instead, whose key
// orders two elements exactly as the full comparison does whenever the
// keys differ, and moves each element once at the end. The result is the
// one the full comparison's sort gives: the full comparison breaks every
// tie of keys, and the orders used here are total.

// sortKey is an element's key and its position in the slice being sorted.
type sortKey struct {
	prefix uint64 // the first 8 bytes, big-endian, zero-padded
	rank   uint32 // orders before prefix (a reference's kind)
	at     int32
}

// keyedSort sorts xs by full, stably, given keys that agree with it: for
// any a and b whose keys differ, full(a, b) has the sign of the keys' order.
func keyedSort[T any](xs []T, keys []sortKey, full func(a, b *T) int) {
	tie := func(a, b sortKey) int {
		if c := full(&xs[a.at], &xs[b.at]); c != 0 {
			return c
		}
		return cmp.Compare(a.at, b.at) // equals keep their order: the first is the one compacting keeps
	}
	if len(keys) < radixFrom || !radixSort(keys) {
		slices.SortFunc(keys, func(a, b sortKey) int {
			if a.rank != b.rank {
				return cmp.Compare(a.rank, b.rank)
			}
			if a.prefix != b.prefix {
				return cmp.Compare(a.prefix, b.prefix)
			}
			return tie(a, b)
		})
	} else {
		// The keys are in (rank, prefix) order; each run of equal ones
		// is ordered by the full comparison.
		for i := 0; i < len(keys); {
			j := i + 1
			for j < len(keys) && keys[j].rank == keys[i].rank && keys[j].prefix == keys[i].prefix {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(keys[i:j], tie)
			}
			i = j
		}
	}
	permute(xs, keys)
}

// radixFrom is how many keys keyedSort sorts by radix rather than by
// comparing them: at a million, pdqsort's 20 million comparisons of keys
// were a quarter of a second, eight passes over them a tenth of that.
const radixFrom = 2048

// radixSort sorts keys by rank and then prefix, stably, a byte at a time
// from the least significant (skipping a byte that every key shares); it
// reports false, and leaves keys as they were, when a rank is past a byte.
func radixSort(keys []sortKey) bool {
	const digits = 9 // the prefix's 8 bytes, then the rank's
	digit := func(k sortKey, d int) byte {
		if d < 8 {
			return byte(k.prefix >> (8 * d))
		}
		return byte(k.rank)
	}
	var counts [digits][256]int
	for _, k := range keys {
		if k.rank > 255 {
			return false
		}
		for d := range digits {
			counts[d][digit(k, d)]++
		}
	}
	buf := make([]sortKey, len(keys))
	src, dst := keys, buf
	for d := range digits {
		c := &counts[d]
		if c[digit(src[0], d)] == len(src) {
			continue
		}
		at := 0
		for b := range c {
			c[b], at = at, at+c[b]
		}
		for _, k := range src {
			b := digit(k, d)
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
	}
	copy(keys, src) // (a no-op when src is keys)
	return true
}

// permute puts xs[keys[j].at] at j for every j, in place, following each
// cycle of the permutation once; it spends the keys (at is set to -1).
func permute[T any](xs []T, keys []sortKey) {
	for start := range keys {
		if keys[start].at < 0 {
			continue
		}
		held := xs[start]
		j := start
		for {
			from := int(keys[j].at)
			keys[j].at = -1
			if from == start {
				xs[j] = held
				break
			}
			xs[j] = xs[from]
			j = from
		}
	}
}

// prefix8 is the first 8 bytes of s, big-endian and zero-padded, so that
// prefix8(a) < prefix8(b) implies strings.Compare(a, b) < 0 (a byte-wise
// order; a shorter string pads with the smallest byte).
func prefix8(s string) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}

// foldPrefix8 is prefix8 of s folded to lower case as CompareFold folds
// ASCII letters. It is false when a byte of s's first 8 is not ASCII: a
// rune's lower case may be an ASCII letter (the Kelvin sign folds to 'k'),
// so only an ASCII prefix orders as CompareFold does.
func foldPrefix8(s string) (uint64, bool) {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			c := s[i]
			if c >= utf8.RuneSelf {
				return 0, false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			k |= uint64(c)
		}
	}
	return k, true
}

// normalizePrincipals lower-cases the principals' ids, sorts them by id
// (strings.Compare), stably, and drops the later principals of an id.
func normalizePrincipals(ps []Principal) []Principal {
	same := func(a, b *Principal) bool { return a.ID == b.ID }
	if len(ps) < 64 {
		for i := range ps {
			ps[i].ID = strings.ToLower(ps[i].ID)
		}
		slices.SortStableFunc(ps, func(a, b Principal) int { return strings.Compare(a.ID, b.ID) })
		return slices.CompactFunc(ps, func(a, b Principal) bool { return same(&a, &b) })
	}
	keys := make([]sortKey, len(ps))
	for i := range ps {
		ps[i].ID = strings.ToLower(ps[i].ID) // (its bytes are read once, for this and the key)
		keys[i] = sortKey{prefix: prefix8(ps[i].ID), at: int32(i)}
	}
	keyedSort(ps, keys, func(a, b *Principal) int { return strings.Compare(a.ID, b.ID) })
	return compactKeyed(ps, keys, same)
}

// compactKeyed is slices.CompactFunc for xs as keyedSort left them, with
// keys in their order: neighbours whose keys differ are different (keys
// agree with the order, and equal elements sort together), so only
// neighbours whose keys tie are compared with same.
func compactKeyed[T any](xs []T, keys []sortKey, same func(a, b *T) bool) []T {
	out := min(len(xs), 1)
	for j := 1; j < len(xs); j++ {
		if keys[j].prefix == keys[j-1].prefix && keys[j].rank == keys[j-1].rank && same(&xs[j-1], &xs[j]) {
			continue
		}
		// (xs[j-1] is still itself: nothing is written past out, and out
		// is at most j.)
		xs[out] = xs[j]
		out++
	}
	clear(xs[out:])
	return xs[:out]
}

// compareRefsAt is normalizeRefs' order: kind, then value without regard
// to case, then where the reference is written.
func compareRefsAt(a, b *Ref) int {
	if a.Kind != b.Kind {
		return compareKinds(string(a.Kind), string(b.Kind))
	}
	if c := CompareFold(a.Value, b.Value); c != 0 {
		return c
	}
	return comparePos(a.Pos, b.Pos)
}

// refKeys ranks the kinds (a handful) and folds the values' first 8
// bytes, after each reference is prepared (normalizeRef: its value is read
// once, for both). A value that is not ASCII there leaves every prefix 0
// (the full comparison then orders within a kind), and more kinds than a
// few every rank 0: keys that say nothing still agree with the comparison.
func refKeys(rs []Ref, prepare func(*Ref)) []sortKey {
	keys := make([]sortKey, len(rs))
	var kinds []PrincipalKind
	ranked := true
	for i := range rs {
		if !slices.Contains(kinds, rs[i].Kind) {
			if len(kinds) == 16 {
				kinds, ranked = nil, false
				break
			}
			kinds = append(kinds, rs[i].Kind)
		}
	}
	slices.SortFunc(kinds, func(a, b PrincipalKind) int {
		if a == b {
			return 0
		}
		return compareKinds(string(a), string(b))
	})
	ascii := true
	for i := range rs {
		prepare(&rs[i])
		p, ok := foldPrefix8(rs[i].Value)
		ascii = ascii && ok
		keys[i] = sortKey{prefix: p, rank: uint32(max(0, slices.Index(kinds, rs[i].Kind))), at: int32(i)}
	}
	if !ascii || !ranked {
		// (Unranked, a prefix would order values before kinds.)
		for i := range keys {
			keys[i].prefix = 0
		}
	}
	return keys
}
