package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/schema"
)

// TestSchemaMatchesTypes keeps schema/tenant.schema.json and the yaml-tagged
// document types in step, in both directions: every key the decoder accepts
// is a schema property of the same type (with the same enumeration and
// required-ness), and every schema property is a key the decoder accepts.
// It also checks that the value patterns and limits are the ones the
// semantic checks use.
func TestSchemaMatchesTypes(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(schema.JSON, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		for {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			def, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			if !ok {
				t.Fatalf("unresolvable $ref %q", ref)
			}
			s = def
		}
	}
	var checkObject func(path string, typ reflect.Type, s map[string]any)
	var checkValue func(path string, typ reflect.Type, f *fieldInfo, s map[string]any)

	checkObject = func(path string, typ reflect.Type, s map[string]any) {
		s = resolve(s)
		if s["type"] != "object" || s["additionalProperties"] != false {
			t.Errorf("%s: schema must be an object with additionalProperties: false", path)
		}
		props, _ := s["properties"].(map[string]any)
		var required []string
		for _, r := range asSlice(s["required"]) {
			required = append(required, r.(string))
		}
		fields := fieldsOf(typ)
		for _, f := range fields {
			p, ok := props[f.name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: accepted by %s but not in the schema", path, f.name, typ.Name())
				continue
			}
			if f.required != slices.Contains(required, f.name) {
				t.Errorf("%s.%s: required is %v in Go, %v in the schema", path, f.name, f.required, !f.required)
			}
			checkValue(path+"."+f.name, typ.Field(f.index).Type, &f, p)
		}
		for name := range props {
			if !slices.ContainsFunc(fields, func(f fieldInfo) bool { return f.name == name }) {
				t.Errorf("%s.%s: in the schema but not accepted by %s", path, name, typ.Name())
			}
		}
	}
	checkValue = func(path string, typ reflect.Type, f *fieldInfo, s map[string]any) {
		r := resolve(s)
		switch {
		case typ == strType:
			if r["type"] != "string" {
				t.Errorf("%s: schema type %v, Go decodes a string", path, r["type"])
			}
			var enum []string
			for _, e := range asSlice(r["enum"]) {
				enum = append(enum, e.(string))
			}
			if f != nil && !slices.Equal(enum, f.enum) {
				t.Errorf("%s: schema enum %q, Go enum %q", path, enum, f.enum)
			}
		case typ == numType:
			if r["type"] != "integer" || r["minimum"] != float64(0) {
				t.Errorf("%s: schema type %v minimum %v, Go decodes an integer of at least 0", path, r["type"], r["minimum"])
			}
		case typ == flagType:
			if r["type"] != "boolean" {
				t.Errorf("%s: schema type %v, Go decodes a boolean", path, r["type"])
			}
		case typ == reflect.TypeFor[subjectDoc]():
			one, _ := r["oneOf"].([]any)
			if len(one) != 2 || resolve(one[0].(map[string]any))["type"] != "string" {
				t.Fatalf("%s: want oneOf [string keyword, object]", path)
			}
			checkObject(path, reflect.TypeFor[subjectDoc](), resolve(one[1].(map[string]any)))
		case typ == reflect.TypeFor[csvSources]():
			one, _ := r["oneOf"].([]any)
			if len(one) != 2 {
				t.Fatalf("%s: want oneOf [object, array of object]", path)
			}
			checkObject(path, reflect.TypeFor[csvDoc](), one[0].(map[string]any))
			list := one[1].(map[string]any)
			if list["type"] != "array" {
				t.Errorf("%s: second alternative must be an array", path)
			}
			checkObject(path+"[]", reflect.TypeFor[csvDoc](), list["items"].(map[string]any))
		case typ.Kind() == reflect.Slice:
			if fmt.Sprint(r["type"]) != "[array null]" {
				t.Errorf("%s: schema type %v, Go decodes a list (or null)", path, r["type"])
			}
			items, _ := r["items"].(map[string]any)
			checkValue(path+"[]", typ.Elem(), f, items)
		case typ.Kind() == reflect.Pointer:
			checkObject(path, typ.Elem(), s)
		case typ.Kind() == reflect.Struct:
			checkObject(path, typ, s)
		default:
			t.Errorf("%s: no rule for Go type %s", path, typ)
		}
	}
	checkObject("", reflect.TypeFor[fileDoc](), root)

	group := defs["group"].(map[string]any)["properties"].(map[string]any)
	members := defs["members"].(map[string]any)["properties"].(map[string]any)
	for _, c := range []struct {
		where string
		got   any
		want  any
	}{
		{"$defs.guid.pattern", defs["guid"].(map[string]any)["pattern"], guidPattern},
		{"tenant.pattern", root["properties"].(map[string]any)["tenant"].(map[string]any)["pattern"], domainPattern},
		{"tenant.maxLength", root["properties"].(map[string]any)["tenant"].(map[string]any)["maxLength"], float64(maxDomainLen)},
		{"group.mailNickname.pattern", group["mailNickname"].(map[string]any)["pattern"], mailNicknamePattern},
		{"group.mailNickname.maxLength", group["mailNickname"].(map[string]any)["maxLength"], float64(maxMailNicknameLen)},
		{"group.displayName.maxLength", group["displayName"].(map[string]any)["maxLength"], float64(maxDisplayNameLen)},
		{"group.membershipRule.maxLength", group["membershipRule"].(map[string]any)["maxLength"], float64(maxMembershipRuleLen)},
		{"members.users.items.pattern", members["users"].(map[string]any)["items"].(map[string]any)["pattern"], userRefPattern},
	} {
		if c.got != c.want {
			t.Errorf("schema %s = %v, spec uses %v", c.where, c.got, c.want)
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestIgnoreSchemaMatchesKinds keeps the per-kind parts of an ignore rule's
// schema in step with the model: its oneOf requires exactly the kinds of
// model.IgnoreKinds (the keys ignoreDoc accepts besides fields), and for
// each kind written alone an if/then restricts fields to that kind's
// model.IgnorableFields.
func TestIgnoreSchemaMatchesKinds(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(schema.JSON, &root); err != nil {
		t.Fatal(err)
	}
	get := func(m any, keys ...string) any {
		for _, k := range keys {
			mm, _ := m.(map[string]any)
			m = mm[k]
		}
		return m
	}
	items, _ := get(root, "properties", "settings", "properties", "ignore", "items").(map[string]any)
	if items == nil {
		t.Fatal("no settings.ignore.items in the schema")
	}
	var docKinds []string
	for _, f := range fieldsOf(reflect.TypeFor[ignoreDoc]()) {
		if f.name != "fields" {
			docKinds = append(docKinds, f.name)
		}
	}
	if !slices.Equal(docKinds, model.IgnoreKinds) {
		t.Errorf("ignoreDoc accepts kinds %q, model.IgnoreKinds is %q", docKinds, model.IgnoreKinds)
	}
	var oneOf []string
	for _, alt := range asSlice(items["oneOf"]) {
		req := asSlice(get(alt, "required"))
		if len(req) != 1 {
			t.Errorf("oneOf alternative %v: want one required kind", alt)
			continue
		}
		oneOf = append(oneOf, req[0].(string))
	}
	if !slices.Equal(oneOf, model.IgnoreKinds) {
		t.Errorf("schema oneOf requires %q, model.IgnoreKinds is %q", oneOf, model.IgnoreKinds)
	}
	seen := map[string]bool{}
	for _, c := range asSlice(items["allOf"]) {
		req := asSlice(get(c, "if", "required"))
		if len(req) != 1 {
			t.Errorf("allOf entry %v: want an if requiring one kind", c)
			continue
		}
		kind := req[0].(string)
		seen[kind] = true
		var absent []string
		for k, v := range get(c, "if", "properties").(map[string]any) {
			if v != false {
				t.Errorf("ignore rule for %s: if.properties.%s must be false (the other kinds absent)", kind, k)
			}
			absent = append(absent, k)
		}
		slices.Sort(absent)
		var others []string
		for _, k := range model.IgnoreKinds {
			if k != kind {
				others = append(others, k)
			}
		}
		slices.Sort(others)
		if !slices.Equal(absent, others) {
			t.Errorf("ignore rule for %s: if requires %q absent, want %q", kind, absent, others)
		}
		var enum []string
		for _, e := range asSlice(get(c, "then", "properties", "fields", "items", "enum")) {
			enum = append(enum, e.(string))
		}
		if want := model.IgnorableFields[kind]; !slices.Equal(enum, want) {
			t.Errorf("ignore rule for %s: schema fields %q, model.IgnorableFields %q", kind, enum, want)
		}
	}
	for _, k := range model.IgnoreKinds {
		if !seen[k] {
			t.Errorf("ignore rule for %s: no if/then restricting its fields", k)
		}
	}
	if len(model.IgnorableFields) != len(model.IgnoreKinds) {
		t.Errorf("model.IgnorableFields has %d kinds, model.IgnoreKinds %d", len(model.IgnorableFields), len(model.IgnoreKinds))
	}
}
