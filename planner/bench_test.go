package planner

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// BenchmarkComputeLargeGroup measures the pure diff of a 5,000-member
// authoritative group against a live set that differs by 300 each way.
func BenchmarkComputeLargeGroup(b *testing.B) {
	obs := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	desired := &model.Tenant{Domain: "contoso.onmicrosoft.com"}
	live := &model.MemberSet{}
	want := &model.MemberSet{Mode: model.Authoritative}
	for i := range 5300 {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		obs.Principals = append(obs.Principals, model.Principal{ID: id, Kind: model.User, UserPrincipalName: upn})
		if i < 5000 {
			live.Members = append(live.Members, model.Ref{Kind: model.User, Value: id})
		}
		if i >= 300 {
			want.Members = append(want.Members, model.Ref{Kind: model.User, Value: upn})
		}
	}
	obs.Groups = []*model.Group{{ID: "00000000-0000-0000-0000-00000000ffff", DisplayName: "Everyone", Members: live}}
	desired.Groups = []*model.Group{{DisplayName: "Everyone", Members: want}}
	model.Normalize(obs)
	model.Normalize(desired)
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		p := Compute(desired, obs, Options{})
		if s := p.Summarize(); s.MembersAdd != 300 || s.MembersRemove != 300 {
			b.Fatalf("summary %+v", s)
		}
	}
	// Per membership: per principal the plan involves (5,300: 5,000 live,
	// 5,000 desired, 4,700 of them both).
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	per := float64(b.N) * float64(len(obs.Principals))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/membership")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/membership")
}

// BenchmarkSortMembers sorts the members of a plan by label, the labels of
// mixed case (display names, guests' addresses).
func BenchmarkSortMembers(b *testing.B) {
	ms := make([]Member, 5000)
	for i := range ms {
		ms[i] = Member{Kind: model.User, ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Label: fmt.Sprintf("User%04d@Contoso.com", (i*7919)%5000)}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := slices.Clone(ms)
		b.StartTimer()
		sortMembers(s)
	}
}

// TestSortMembersKeepsItsOrder holds sortMembers to the order it had when
// it lower-cased both labels per comparison.
func TestSortMembersKeepsItsOrder(t *testing.T) {
	parts := []string{"a", "A", "z", "Z", "0", "@", ".", "é", "É", "ß", "İ", "K", "\u212a", "\xff", "ǅ", " "}
	for round := range 200 {
		ms := make([]Member, 100)
		for i := range ms {
			label := ""
			for j := range (i*31 + round) % 5 {
				label += parts[(i*7+j*13+round)%len(parts)]
			}
			ms[i] = Member{ID: fmt.Sprintf("id-%03d", (i*37+round)%100), Label: label}
		}
		old := slices.Clone(ms)
		slices.SortFunc(old, func(a, b Member) int {
			if c := strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		sortMembers(ms)
		if !slices.Equal(old, ms) {
			t.Fatalf("round %d: sortMembers' order changed:\n%v\n%v", round, old, ms)
		}
	}
}
