package schema

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestSchemaCompiles(t *testing.T) {
	if _, err := Compiled(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$id"] != ID {
		t.Errorf("$id = %v, want %s", doc["$id"], ID)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
	}
}

// TestSchemaDescribesEverything requires a description on every property
// and list item (editors show them as help) and additionalProperties: false
// on every object.
func TestSchemaDescribesEverything(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, s map[string]any, needDesc bool)
	walk = func(path string, s map[string]any, needDesc bool) {
		if _, ok := s["description"].(string); needDesc && !ok {
			if _, isRef := s["$ref"]; !isRef || path == "" {
				t.Errorf("%s: no description", path)
			}
		}
		if s["type"] == "object" && s["additionalProperties"] != false {
			t.Errorf("%s: object without additionalProperties: false", path)
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				if _, ok := ps["description"].(string); !ok {
					t.Errorf("%s.%s: no description", path, name)
				}
				walk(path+"."+name, ps, false)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(path+"[]", items, false)
		}
		for _, key := range []string{"oneOf", "anyOf"} {
			alts, _ := s[key].([]any)
			for i, a := range alts {
				walk(fmt.Sprintf("%s.%s[%d]", path, key, i), a.(map[string]any), false)
			}
		}
	}
	walk("", doc, true)
	defs, _ := doc["$defs"].(map[string]any)
	for name, d := range defs {
		walk("$defs."+name, d.(map[string]any), true)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{
			name: "valid",
			doc: `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Marketing resources
    id: 6c42590f-fcf0-4922-bac6-205f7c6aa89c
    mailNickname: markres
    members:
      mode: authoritative
      users: [alice@contoso.com, 6c42590f-fcf0-4922-bac6-205f7c6aa89c]
      groups: [Marketing leads]
      servicePrincipals:
      csv: [{path: a.csv, column: Email, delimiter: ";"}]
  - displayName: Sales
    membershipRule: (user.department -eq "Sales")
    membershipRuleProcessingState: "On"
  - displayName: Old
    absent: true
  - displayName: Synced
    cloudManaged: true
`,
		},
		{name: "empty document", doc: "# nothing\n"},
		{
			name: "keys and types",
			doc: `tenant: contoso.onmicrosoft.com
groups:
  - displayName: 2024
    descripton: x
    members:
      mode: authorative
      users: alice@contoso.com
  - description: no name
`,
			want: []string{
				"f.yaml:3:18: error: expected string, got number",
				`f.yaml:4:5: error: unknown key "descripton"`,
				`f.yaml:6:13: error: value must be one of 'additive', 'authoritative'`,
				"f.yaml:7:14: error: expected null or array, got string",
				`f.yaml:8:5: error: missing required key "displayName"`,
			},
		},
		{
			name: "csv alternatives: the object's own problems",
			doc: `groups:
  - displayName: A
    members:
      csv: {path: a.csv, colum: Email}
  - displayName: B
    members:
      csv: [{path: b.csv}]
  - displayName: C
    members:
      csv: c.csv
`,
			want: []string{
				`f.yaml:4:12: error: missing required key "column"`,
				`f.yaml:4:26: error: unknown key "colum"`,
				`f.yaml:7:13: error: missing required key "column"`,
				`f.yaml:10:12: error: expected object or array, got string`,
			},
		},
		{
			name: "rules between keys point at the key",
			doc: `groups:
  - displayName: Dynamic
    membershipRule: x
    members: {}
  - displayName: Paused
    membershipRuleProcessingState: Paused
  - displayName: Old
    absent: true
    description: x
  - displayName: Back
    cloudManaged: false
`,
			want: []string{
				`f.yaml:4:5: error: key "members" is not allowed here`,
				`f.yaml:6:5: error: key "membershipRuleProcessingState" requires "membershipRule"`,
				`f.yaml:9:5: error: key "description" is not allowed here`,
				`f.yaml:11:19: error: value must be true`,
			},
		},
		{
			name: "patterns and lengths",
			doc: `tenant: not a domain
groups:
  - displayName: ""
    id: 0b2f
    mailNickname: "a b"
    members:
      users: [alice]
      servicePrincipals: [app]
`,
			want: []string{
				"f.yaml:1:9: error: \"not a domain\" is not valid here\n    The tenant's primary or initial domain, for example contoso.onmicrosoft.com. Every file that sets it must agree, and at least one file must set it; entrasync refuses to plan against a different tenant.",
				"f.yaml:3:18: error: value must not be empty",
				"f.yaml:4:9: error: \"0b2f\" is not valid here\n    A directory object id.",
				"f.yaml:5:19: error: \"a b\" is not valid here\n    The mail alias Graph requires for every group: at most 64 ASCII characters, none of @ ( ) \\ [ ] \" ; : . < > , or space. Left unmanaged when omitted.",
				"f.yaml:7:15: error: \"alice\" is not valid here\n    A user principal name or mail address (one @), or an object id.",
				"f.yaml:8:27: error: \"app\" is not valid here\n    A directory object id.",
			},
		},
		{
			name: "not a mapping",
			doc:  "- a\n- b\n",
			want: []string{"f.yaml:1:1: error: expected object, got array"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.doc), &n); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range Validate(&n, "f.yaml") {
				got = append(got, d.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateEmpty(t *testing.T) {
	if ds := Validate(&yaml.Node{}, "f.yaml"); len(ds) != 0 {
		t.Errorf("empty node: %v", ds)
	}
	if ds := Validate(nil, "f.yaml"); len(ds) != 0 {
		t.Errorf("nil node: %v", ds)
	}
}
