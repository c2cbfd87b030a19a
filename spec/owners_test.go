package spec

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

// owners: on a group decodes like members: users by UPN, mail or id,
// service principals by display name or id, additive unless the spec says
// authoritative; the set remembers where owners: is written, for the
// last-owner refusal.
func TestGroupOwners(t *testing.T) {
	dir := writeSpec(t, map[string]string{"spec.yaml": `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Finance
    owners:
      users: [alice@contoso.com]
      servicePrincipals: [Payroll sync, 0a1b2c3d-0000-4000-8000-00000000B001]
  - displayName: Payroll
    owners: {mode: authoritative, users: [6c42590f-fcf0-4922-bac6-205f7c6aa89c]}
  - displayName: Sales
`})
	s, ds := Load(dir)
	if s == nil || len(ds) != 0 {
		t.Fatalf("Load: %v", ds)
	}
	f := filepath.Join(dir, "spec.yaml")
	at := func(line, col int) model.Pos { return model.Pos{File: f, Line: int32(line), Col: int32(col)} }
	want := map[string]*model.MemberSet{
		"Finance": {Mode: model.Additive, Pos: at(4, 5), Members: []model.Ref{
			{Kind: model.ServicePrincipal, Value: "0a1b2c3d-0000-4000-8000-00000000b001", Pos: at(6, 41)},
			{Kind: model.ServicePrincipal, Value: "Payroll sync", Pos: at(6, 27)},
			{Kind: model.User, Value: "alice@contoso.com", Pos: at(5, 15)},
		}},
		"Payroll": {Mode: model.Authoritative, Pos: at(8, 5), Members: []model.Ref{
			{Kind: model.User, Value: "6c42590f-fcf0-4922-bac6-205f7c6aa89c", Pos: at(8, 43)},
		}},
		"Sales": nil,
	}
	for _, g := range s.Tenant.Groups {
		if diff := cmp.Diff(want[g.DisplayName], g.Owners); diff != "" {
			t.Errorf("%s owners (-want +got):\n%s", g.DisplayName, diff)
		}
	}
}
