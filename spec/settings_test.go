package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/entrasync/entrasync/model"
)

func TestSettingsLoad(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
settings:
  requireApproval: [ES101, ES102]
  limits:
    removalsPerSet: {maxPercent: 20, minSetSize: 5}
    changesPerRun: {maxCount: 3}
  protected: [breakglass1@contoso.onmicrosoft.com]
  ignore:
    - {group: "HR *", fields: [description]}
groups:
  - displayName: Finance
    members:
      mode: authoritative
      limits: {maxPercent: 50}
      users: [frank@contoso.com]
`), 0o644)
	s, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	i := func(v int) *int { return &v }
	want := model.Settings{
		RequireApproval: []string{"ES101", "ES102"},
		RemovalsPerSet:  model.Limit{MaxPercent: i(20), MinSetSize: i(5), Setting: "settings.limits.removalsPerSet"},
		ChangesPerRun:   model.Limit{MaxCount: i(3), Setting: "settings.limits.changesPerRun"},
		Protected:       []model.Ref{{Kind: model.User, Value: "breakglass1@contoso.onmicrosoft.com"}},
		Ignore:          []model.IgnoreRule{{Group: "HR *", Fields: []string{"description"}}},
	}
	ignorePos := cmpopts.IgnoreFields(model.Ref{}, "Pos")
	if diff := cmp.Diff(want, s.Tenant.Settings, ignorePos, cmpopts.IgnoreFields(model.Settings{}, "Pos"),
		cmpopts.IgnoreFields(model.Limit{}, "Pos"), cmpopts.IgnoreFields(model.IgnoreRule{}, "Pos")); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	lim := s.Tenant.Groups[0].Members.Limit
	if lim == nil || *lim.MaxPercent != 50 || lim.Setting != `limits: of the members of group "Finance"` {
		t.Errorf("set limit = %+v", lim)
	}
	// Written empty, requireApproval gates nothing (nil would mean defaults).
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte("tenant: contoso.onmicrosoft.com\nsettings:\n  requireApproval: []\n"), 0o644)
	if s, _ := Load(dir); s.Tenant.Settings.RequireApproval == nil {
		t.Error("requireApproval: [] loaded as nil")
	}
}

// Issue 9, hole 4: an ignore rule names one kind of object, any the spec
// manages, with fields valid for that kind.
func TestIgnoreRulesOfEveryKindLoad(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
settings:
  ignore:
    - {group: "HR *", fields: [description, members]}
    - {catalog: "HR*", fields: [description, isExternallyVisible, state, resources]}
    - {accessPackage: Payroll, fields: [description, isHidden, roles, incompatibleWith, assignments]}
    - {blueprint: "Agents ?", fields: [description, tags]}
    - {agentIdentity: "*", fields: [tags, enabled]}
`), 0o644)
	s, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := []model.IgnoreRule{
		{Group: "HR *", Fields: []string{"description", "members"}},
		{Catalog: "HR*", Fields: []string{"description", "isExternallyVisible", "state", "resources"}},
		{AccessPackage: "Payroll", Fields: []string{"description", "isHidden", "roles", "incompatibleWith", "assignments"}},
		{Blueprint: "Agents ?", Fields: []string{"description", "tags"}},
		{AgentIdentity: "*", Fields: []string{"tags", "enabled"}},
	}
	if diff := cmp.Diff(want, s.Tenant.Settings.Ignore, cmpopts.IgnoreFields(model.IgnoreRule{}, "Pos")); diff != "" {
		t.Errorf("ignore rules (-want +got):\n%s", diff)
	}
	for i, r := range s.Tenant.Settings.Ignore {
		if r.Kind() != model.IgnoreKinds[i] || int(r.Pos.Line) != 4+i {
			t.Errorf("rule %d: kind %s at line %d, want %s at line %d", i, r.Kind(), r.Pos.Line, model.IgnoreKinds[i], 4+i)
		}
	}
}
