package planner

import (
	"strings"
	"testing"
	"time"
)

// A file that is not a plan is named as such, with where its JSON broke;
// a plan of another format version says which version it is.
func TestDecodeRefusesWhatIsNoPlan(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"text", "not a plan\n", `not an entrasync plan file (line 1, column 2: invalid character 'o' in literal null (expecting 'u'))`},
		{"yaml", "tenant: contoso.onmicrosoft.com\ngroups: []\n", `not an entrasync plan file (line 1, column 2: invalid character 'e' in literal true (expecting 'r'))`},
		{"broken on line 3", "{\n  \"formatVersion\": \"1\",\n  \"changes\": [,]\n}\n", `not an entrasync plan file (line 3, column 15: invalid character ',' looking for beginning of value)`},
		{"empty", "", "not an entrasync plan file (the file is empty)"},
		{"blank", " \n\t\n", "not an entrasync plan file (the file is empty)"},
		{"truncated", `{"formatVersion": "1", "changes": [`, "not an entrasync plan file (line 1, column 35: unexpected end of JSON input)"},
		{"array", `[{"formatVersion": "1"}]`, "not an entrasync plan file (it holds a JSON array, and a plan is an object)"},
		{"string", `"plan"`, "not an entrasync plan file (it holds a JSON string, and a plan is an object)"},
		{"other JSON", `{"name": "entrasync", "version": "1.0.0"}`, "not an entrasync plan file (a JSON object without a formatVersion; entrasync plan -out FILE writes plan files)"},
		{"null version", `{"formatVersion": null}`, "not an entrasync plan file (a JSON object without a formatVersion"},
		{"newer version", `{"formatVersion": "2", "changes": {"a": "new shape"}}`, `an entrasync plan of format version "2", but this entrasync reads version "1": run plan again with this version of entrasync`},
		{"number version", `{"formatVersion": 1}`, `an entrasync plan of format version 1, but this entrasync reads version "1"`},
		{"damaged", `{"formatVersion": "1", "changes": "none"}`, "not a valid entrasync plan file (json: cannot unmarshal string into Go struct field Plan.changes of type []planner.Change)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("decoded %+v", p)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n  %s\nwant it to start with\n  %s", err, tc.want)
			}
			// It follows the file's name ("plan.json: ..."): no package
			// prefix, no capital.
			if strings.HasPrefix(err.Error(), "planner:") {
				t.Errorf("package prefix: %s", err)
			}
		})
	}
}

// A plan Encode wrote still decodes, escaped version and all.
func TestDecodeReadsEncodedPlans(t *testing.T) {
	p := &Plan{FormatVersion: FormatVersion, Tenant: "contoso.onmicrosoft.com", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil || got.Tenant != p.Tenant {
		t.Fatalf("Decode: %v, %+v", err, got)
	}
	escaped := strings.Replace(string(b), `"formatVersion": "1"`, `"formatVersion": "\u0031"`, 1)
	if _, err := Decode([]byte(escaped)); err != nil {
		t.Errorf("escaped version: %v", err)
	}
}
