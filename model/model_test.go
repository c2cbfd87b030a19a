package model

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// guidRE is the regexp IsGUID used to be; IsGUID must accept exactly what
// it accepts after strings.TrimSpace.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUIDRegexp(s string) bool { return guidRE.MatchString(strings.TrimSpace(s)) }

// guidInputs are the strings the IsGUID tests compare on: a table of edge
// cases and random strings near the shape of a GUID.
func guidInputs(rng *rand.Rand, n int) []string {
	in := []string{
		"", " ", "-", "0", "00000000-0000-0000-0000-000000000000",
		"0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
		"  0f8fad5b-d9cb-469f-a165-70867728950e\t\n", "\u00a00f8fad5b-d9cb-469f-a165-70867728950e\u2003",
		"\u00850f8fad5b-d9cb-469f-a165-70867728950e", "\u200b0f8fad5b-d9cb-469f-a165-70867728950e",
		"0f8fad5b-d9cb-469f-a165-70867728950e\n", "0f8fad5b-d9cb-469f-a165-70867728950e\x00",
		"0f8fad5bd9cb469fa16570867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950e}",
		"0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e0",
		"0f8fad5b-d9cb-469f-a165_70867728950e", "0f8fad5g-d9cb-469f-a165-70867728950e",
		"0f8fad5b--d9cb-469f-a165-7086772895e", "0f8fad5b-d9cb-469f-a165-70867728950\u00e9",
		"0f8fad5b-d9cb-469f-a165-7086772895\uff10e", "0f8fad5b-d9cb-469f-a165-70867728950e 0",
		"0f8fad5b d9cb 469f a165 70867728950e", "user@contoso.com", "Finance",
		"0f8fad5b-d9cb-469f-a165-70867728950e\xff", "\xff0f8fad5b-d9cb-469f-a165-70867728950",
	}
	alphabet := []string{"0", "9", "a", "f", "A", "F", "g", "G", "-", " ", "\t", "\n", "\u00a0", "\u3000", "é", "\xff", ":", "/", "@", "x"}
	const valid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	for range n {
		switch rng.IntN(3) {
		case 0: // random strings of GUID-ish bytes, around 36 long
			var b strings.Builder
			for range 30 + rng.IntN(12) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			in = append(in, b.String())
		case 1: // a GUID with one byte changed, inserted or deleted
			s := []byte(valid)
			i := rng.IntN(len(s))
			c := alphabet[rng.IntN(len(alphabet))]
			switch rng.IntN(3) {
			case 0:
				in = append(in, string(s[:i])+c+string(s[i+1:]))
			case 1:
				in = append(in, string(s[:i])+c+string(s[i:]))
			default:
				in = append(in, string(s[:i])+string(s[i+1:]))
			}
		default: // a random GUID of random case with random surrounding space
			hex := "0123456789abcdefABCDEF"
			var b strings.Builder
			pad := []string{"", " ", "\t", "\r\n", "\u00a0", "\u2028", "\v\f"}
			b.WriteString(pad[rng.IntN(len(pad))])
			for i := range 36 {
				if i == 8 || i == 13 || i == 18 || i == 23 {
					b.WriteByte('-')
				} else {
					b.WriteByte(hex[rng.IntN(len(hex))])
				}
			}
			b.WriteString(pad[rng.IntN(len(pad))])
			in = append(in, b.String())
		}
	}
	return in
}

func TestIsGUIDMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for _, s := range guidInputs(rng, 200_000) {
		got, want := IsGUID(s), isGUIDRegexp(s)
		if got != want {
			t.Fatalf("IsGUID(%q) = %v, the regexp says %v", s, got, want)
		}
		if got {
			accepted++
		}
		if r := (Ref{Value: s}); r.IsID() != want {
			t.Fatalf("Ref{Value: %q}.IsID() = %v, want %v", s, r.IsID(), want)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d inputs were GUIDs: the test does not exercise acceptance", accepted)
	}
}

func FuzzIsGUID(f *testing.F) {
	for _, s := range guidInputs(rand.New(rand.NewPCG(3, 4)), 50) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsGUID(s), isGUIDRegexp(s); got != want {
			t.Fatalf("IsGUID(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}

// compareRefsByKey is the order CompareRefs documents: the keys' order.
func compareRefsByKey(a, b Ref) int { return strings.Compare(a.Key(), b.Key()) }

// compareRefsConcat is CompareRefs as it was, concatenating the kinds.
func compareRefsConcat(a, b Ref) int {
	if a.Kind != b.Kind {
		return strings.Compare(string(a.Kind)+":", string(b.Kind)+":")
	}
	return CompareFold(strings.TrimSpace(a.Value), strings.TrimSpace(b.Value))
}

func randomRefs(rng *rand.Rand, n int, kinds []PrincipalKind) []Ref {
	parts := []string{"a", "B", "z", "Z", "0", "-", "@", ".", " ", "é", "É", "ß", "İ", "K", "\u212a", "\xff", "_", "~", "ǅ"}
	refs := make([]Ref, n)
	for i := range refs {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		refs[i] = Ref{Kind: kinds[rng.IntN(len(kinds))], Value: b.String(), Pos: Pos{Line: int32(i + 1)}}
	}
	return refs
}

func TestCompareRefsKeepsTheKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	kinds := []PrincipalKind{User, GroupKind, ServicePrincipal, AgentIdentityKind, "agentIdentityBlueprintPrincipal", "", "u", "user2", "userX", "usera", "user.", "group;"}
	for round := range 200 {
		refs := randomRefs(rng, 200, kinds)
		byKey := slices.Clone(refs)
		slices.SortStableFunc(byKey, compareRefsByKey)
		byCompare := slices.Clone(refs)
		slices.SortStableFunc(byCompare, CompareRefs)
		if !slices.Equal(byKey, byCompare) {
			t.Fatalf("round %d: CompareRefs sorts differently from the keys:\n%v\n%v", round, byKey, byCompare)
		}
		for i := 1; i < len(refs); i++ {
			a, b := refs[i-1], refs[i]
			if got, want := CompareRefs(a, b), compareRefsByKey(a, b); got != want {
				t.Fatalf("CompareRefs(%q, %q) = %d, keys say %d", a.Key(), b.Key(), got, want)
			}
		}
	}
}

func TestCompareRefsKeepsItsOwnOrderForAnyKind(t *testing.T) {
	// Kinds containing ":" (none exist) are where the key order and
	// CompareRefs part; the rewrite keeps CompareRefs' own.
	rng := rand.New(rand.NewPCG(7, 8))
	kinds := []PrincipalKind{"", "u", "u:", "u:v", "u;", "u9", ":", "::", "user", "user:", "user:x", "users", "useR", "user\x00", "user\xff", "group", "g:roup"}
	for _, a := range kinds {
		for _, b := range kinds {
			for _, va := range []string{"", "a", "B"} {
				ra, rb := Ref{Kind: a, Value: va}, Ref{Kind: b, Value: "a"}
				if got, want := CompareRefs(ra, rb), compareRefsConcat(ra, rb); got != want {
					t.Fatalf("CompareRefs(%+v, %+v) = %d, was %d", ra, rb, got, want)
				}
			}
		}
	}
	for range 100 {
		refs := randomRefs(rng, 300, kinds)
		old := slices.Clone(refs)
		slices.SortStableFunc(old, compareRefsConcat)
		slices.SortStableFunc(refs, CompareRefs)
		if !slices.Equal(old, refs) {
			t.Fatalf("CompareRefs sorts differently from before:\n%v\n%v", old, refs)
		}
	}
}

func TestCompareRefsDoesNotAllocate(t *testing.T) {
	a := Ref{Kind: "agentIdentityBlueprintPrincipalWithALongerName", Value: " Someone@Contoso.com "}
	b := Ref{Kind: "agentIdentityBlueprintPrincipalWithALongerNameToo", Value: "someone@contoso.com"}
	c := Ref{Kind: User, Value: "Someone@Contoso.com"}
	d := Ref{Kind: User, Value: "SOMEONE@contoso.com "}
	if n := testing.AllocsPerRun(100, func() {
		CompareRefs(a, b)
		CompareRefs(c, d)
		IsGUID(" 0f8fad5b-d9cb-469f-a165-70867728950e ")
	}); n != 0 {
		t.Errorf("CompareRefs and IsGUID allocate %v times", n)
	}
}

func BenchmarkIsGUID(b *testing.B) {
	in := []string{"0f8fad5b-d9cb-469f-a165-70867728950e", "user0001@contoso.com", " 0F8FAD5B-D9CB-469F-A165-70867728950E "}
	for _, s := range in {
		b.Run(fmt.Sprintf("%.8s", strings.TrimSpace(s)), func(b *testing.B) {
			for b.Loop() {
				IsGUID(s)
			}
		})
	}
}

// BenchmarkNormalizeLargeGroup normalises a desired group of 100,000 member
// references (UPNs and ids, in random order) and reports the cost per
// membership.
func BenchmarkNormalizeLargeGroup(b *testing.B) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(9, 10))
	refs := make([]Ref, n)
	for i := range refs {
		if i%4 == 0 {
			refs[i] = Ref{Kind: User, Value: fmt.Sprintf("%08X-0000-4000-8000-%012d", rng.Uint32(), i)}
		} else {
			refs[i] = Ref{Kind: User, Value: fmt.Sprintf(" User%06d@Contoso.com", rng.IntN(n))}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		t := &Tenant{Groups: []*Group{{DisplayName: "Everyone", Members: &MemberSet{Members: slices.Clone(refs)}}}}
		b.StartTimer()
		Normalize(t)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/membership")
}

// Normalize sorts member references unstably, ordering equal ones by where
// they are written: for references in the order they are written that is
// the stable sort's result, the first spelling of a name kept.
func TestNormalizeRefsKeepsTheFirstWrittenSpelling(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kinds := []PrincipalKind{User, GroupKind, ServicePrincipal}
	for round := range 200 {
		refs := randomRefs(rng, 300, kinds) // Pos lines follow the order
		want := slices.Clone(refs)
		for i := range want {
			want[i].Value = strings.TrimSpace(want[i].Value)
		}
		slices.SortStableFunc(want, CompareRefs)
		want = slices.CompactFunc(want, func(a, b Ref) bool { return CompareRefs(a, b) == 0 })
		got := slices.Clone(refs)
		normalizeRefs(&got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: normalizeRefs keeps\n%v\nthe stable sort\n%v", round, got, want)
		}
	}
	// Shuffled, the kept spelling is still the first written.
	refs := []Ref{
		{Kind: User, Value: "ALICE@contoso.com", Pos: Pos{File: "a.csv", Line: 9}},
		{Kind: User, Value: "alice@contoso.com", Pos: Pos{File: "a.csv", Line: 2}},
		{Kind: User, Value: "Alice@Contoso.com", Pos: Pos{File: "a.csv", Line: 5}},
	}
	normalizeRefs(&refs)
	if len(refs) != 1 || refs[0].Pos.Line != 2 {
		t.Fatalf("normalizeRefs kept %v, want the spelling at line 2", refs)
	}
}

// CompareFold is the order of the lower-cased strings, whatever they hold.
func FuzzCompareFold(f *testing.F) {
	for _, s := range [][2]string{{"user01@Contoso.com", "USER01@contoso.com"}, {"abc", "abd"}, {"é", "É"}, {"\xff", "\xfe"}, {"K", "\u212a"}, {"ab", "abc"}, {"İx", "i̇x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := CompareFold(a, b), strings.Compare(strings.ToLower(a), strings.ToLower(b)); got != want {
			t.Fatalf("CompareFold(%q, %q) = %d, the lower-cased strings compare %d", a, b, got, want)
		}
	})
}
