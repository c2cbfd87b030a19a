package graph

import (
	"reflect"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// What a forked reader observed reaches the run's observed tenant, field by
// field: a field added to model.Tenant and not to merge fails here. Settings
// are the spec's alone and are never read.
func TestMergeKeepsEveryField(t *testing.T) {
	src := &model.Tenant{}
	v := reflect.ValueOf(src).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case name == "Settings":
		case name == "Principals":
			src.Principals = []model.Principal{{ID: "p1", Kind: model.User}}
		case f.Kind() == reflect.String:
			f.SetString("x")
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case f.Kind() == reflect.Map:
			m := reflect.MakeMap(f.Type())
			m.SetMapIndex(reflect.ValueOf("k"), reflect.Zero(f.Type().Elem()))
			f.Set(m)
		default:
			t.Fatalf("model.Tenant.%s is a %s: teach merge and this test about it", name, f.Kind())
		}
	}
	for _, start := range []*model.Tenant{{}, {Principals: []model.Principal{{ID: "p0"}}, GroupMembers: map[string][]string{"j": nil}}} {
		r := newReader(nil, start, nil)
		for i := range start.Principals {
			r.ids.Add(uint32(i))
		}
		r.merge(src)
		got := reflect.ValueOf(r.obs).Elem()
		for i := range got.NumField() {
			name := got.Type().Field(i).Name
			if name == "Settings" {
				continue
			}
			if f := got.Field(i); f.IsZero() || (f.Kind() != reflect.String && f.Len() == 0) {
				t.Errorf("merge dropped model.Tenant.%s", name)
			}
		}
		if !r.knows("p1") {
			t.Error("merge did not record the fork's principals as known")
		}
	}
	// An empty list read stays read: nil and empty are not the same answer.
	r := newReader(nil, &model.Tenant{}, nil)
	r.merge(&model.Tenant{AllAgentIdentities: []*model.AgentIdentity{}})
	if r.obs.AllAgentIdentities == nil {
		t.Error("merge turned an empty list read into one never read")
	}
}
