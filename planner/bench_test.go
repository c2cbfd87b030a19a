package planner

import (
	"fmt"
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
	for b.Loop() {
		p := Compute(desired, obs, Options{})
		if s := p.Summarize(); s.MembersAdd != 300 || s.MembersRemove != 300 {
			b.Fatalf("summary %+v", s)
		}
	}
}
