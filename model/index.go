package model

import (
	"iter"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// An Index finds handles (numbers the caller gives, such as positions in a
// list of principals) by a name compared as NameKey compares it: spaces
// trimmed, case folded. It holds no strings of its own: the caller's name
// function gives each handle's name, so an index of a million users' UPNs
// is a table of 8-byte slots (16 MB), not a map of a million string
// keys (50 MB, every one of them a pointer the collector follows).
//
// The table is open-addressed with linear probing, kept at most three
// quarters full.
// A slot holds a 32-bit hash of its name and the handle plus one (zero is
// empty); the hash's top bits are the slot's place, so the table grows
// without reading a name, and a probe reads a name only where the hashes
// agree. Names may repeat: every handle added under a name is found by it.
type Index struct {
	slots []uint64
	shift uint // 32 − log2(len(slots)): a hash's place is hash >> shift
	n     int
	seed  uint64
	name  func(handle uint32) string
	hash  func(name string, seed uint64) uint32 // foldHash (a test's, to make names collide)
	sink  uint64                                // what touch read
}

// NewIndex returns an empty index with room for about hint names, whose
// handles name gives the names of.
func NewIndex(hint int, name func(handle uint32) string) *Index {
	x := &Index{name: name, seed: rand.Uint64(), hash: foldHash}
	x.alloc(hint)
	return x
}

// alloc makes an empty table with room for n handles: the smallest power
// of two of slots (at least 8) that n fills to three quarters at most.
func (x *Index) alloc(n int) {
	k := bits.Len(uint(max(n+n/3, 7)))
	x.slots = make([]uint64, 1<<k)
	x.shift = uint(32 - k)
}

// full reports whether n handles fill more than three quarters of the table.
func (x *Index) full(n int) bool { return 4*n > 3*len(x.slots) }

// Reserve makes room for n more handles, so that adding them does not
// grow the table step by step.
func (x *Index) Reserve(n int) {
	if x.full(x.n + n) {
		x.rehash(max(x.n+n, 2*x.n)) // (reserving step by step still doubles)
	}
}

// Rebind gives the index the function that names its handles now, when
// what they number has moved (the same names, in another list).
func (x *Index) Rebind(name func(handle uint32) string) { x.name = name }

// Len is how many handles the index holds.
func (x *Index) Len() int { return x.n }

// Add adds handle under its name; a handle whose name is empty after
// trimming is not added. Handles must be below 1<<32-1.
func (x *Index) Add(handle uint32) {
	name := strings.TrimSpace(x.name(handle))
	if name == "" {
		return
	}
	if x.full(x.n + 1) {
		x.rehash(2 * x.n)
	}
	x.put(uint64(x.hash(name, x.seed))<<32 | uint64(handle) + 1)
	x.n++
}

// Insert adds handle under its name unless a handle is there under that
// name already: then it adds nothing and returns that handle and true. It
// is First and Add in one probe of the table. A handle whose name is
// empty after trimming is neither found nor added.
func (x *Index) Insert(handle uint32) (uint32, bool) {
	name := strings.TrimSpace(x.name(handle))
	if name == "" {
		return handle, false
	}
	if x.full(x.n + 1) {
		x.rehash(2 * x.n)
	}
	h := uint64(x.hash(name, x.seed))
	mask := len(x.slots) - 1
	i := int(h >> x.shift)
	for ; x.slots[i] != 0; i = (i + 1) & mask {
		if s := x.slots[i]; s>>32 == h {
			if other := uint32(s) - 1; CompareFold(strings.TrimSpace(x.name(other)), name) == 0 {
				return other, true
			}
		}
	}
	x.slots[i] = h<<32 | uint64(handle) + 1
	x.n++
	return handle, false
}

// A table of a million slots is larger than the processor's caches, and a
// probe waits for its slot to come from memory (200 ns and more on the
// machines here). One name after another, a million adds were a million
// waits in a row; AddAll and Prefetch read the places of readAhead names
// at once, so that their waits overlap.
const readAhead = 32

// AddAll is Add of each handle in turn, reading ahead.
func (x *Index) AddAll(handles []uint32) {
	x.Reserve(len(handles))
	var slots [readAhead]uint64
	for len(handles) > 0 {
		n := 0
		k := min(len(handles), readAhead)
		for _, handle := range handles[:k] {
			if name := strings.TrimSpace(x.name(handle)); name != "" {
				slots[n] = uint64(x.hash(name, x.seed))<<32 | uint64(handle) + 1
				n++
			}
		}
		x.touch(n, func(j int) uint32 { return uint32(slots[j] >> 32) })
		for _, slot := range slots[:n] {
			x.put(slot)
		}
		x.n += n
		handles = handles[k:]
	}
}

// Prefetch reads the table where each of the n names name gives would be
// found or added, so that finding or adding them soon after finds their
// places in the cache. It changes nothing.
func (x *Index) Prefetch(n int, name func(i int) string) {
	var hashes [readAhead]uint32
	for from := 0; from < n; from += readAhead {
		k := min(n-from, readAhead)
		for j := range k {
			hashes[j] = x.hash(strings.TrimSpace(name(from+j)), x.seed)
		}
		x.touch(k, func(j int) uint32 { return hashes[j] })
	}
}

// touch reads the places of n hashes, each read independent of the others.
func (x *Index) touch(n int, hash func(j int) uint32) {
	var sum uint64
	for j := range n {
		sum += x.slots[int(uint64(hash(j))>>x.shift)]
	}
	x.sink = sum // (so the reads are not left out)
}

// put stores a slot (hash<<32 | handle+1) at its place or after it.
func (x *Index) put(slot uint64) {
	mask := len(x.slots) - 1
	for i := int(slot >> 32 >> x.shift); ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = slot
			return
		}
	}
}

// rehash moves the handles to a table with room for n. They are taken in
// probe order, starting after an empty slot so that no run of slots is
// split at the table's end: handles with equal names keep the order they
// were added in.
func (x *Index) rehash(n int) {
	old := x.slots
	x.alloc(n)
	start := slices.Index(old, 0) // (at most three quarters full: there is one)
	for k := range old {
		if s := old[(start+k)&(len(old)-1)]; s != 0 {
			x.put(s)
		}
	}
}

// All yields, in the order they were added, the handles whose name is
// name as NameKey compares names.
func (x *Index) All(name string) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		name := strings.TrimSpace(name)
		if name == "" || x.n == 0 {
			return
		}
		h := uint64(x.hash(name, x.seed))
		mask := len(x.slots) - 1
		for i := int(h >> x.shift); x.slots[i] != 0; i = (i + 1) & mask {
			s := x.slots[i]
			if s>>32 != h {
				continue
			}
			handle := uint32(s) - 1
			if CompareFold(strings.TrimSpace(x.name(handle)), name) == 0 && !yield(handle) {
				return
			}
		}
	}
}

// First returns the first handle added under name.
func (x *Index) First(name string) (handle uint32, ok bool) {
	for h := range x.All(name) {
		return h, true
	}
	return 0, false
}

// Has reports whether any handle has the name.
func (x *Index) Has(name string) bool {
	_, ok := x.First(name)
	return ok
}

// foldHash hashes s's runes as strings.ToLower maps them, so that names
// CompareFold holds equal hash equally: FNV-1a over the folded code
// points, its bits mixed at the end (the top ones pick a slot).
func foldHash(s string, seed uint64) uint32 {
	const prime = 0x100000001b3
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(s); {
		c := rune(s[i])
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			i++
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			c = unicode.ToLower(r)
			i += n
		}
		h = (h ^ uint64(c)) * prime
	}
	// (murmur3's finalizer)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h >> 32)
}
