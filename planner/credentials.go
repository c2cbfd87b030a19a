package planner

// Federated identity credentials of blueprints, keyed by name. Once a
// blueprint's spec writes federatedCredentials the list is authoritative: a
// credential the list lacks is removed (gated as ES101).

import (
	"fmt"
	"sort"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// KindCredential is one federated identity credential of a blueprint.
const KindCredential Kind = "federated_credential"

func credentialAddress(blueprint, name string) string {
	return fmt.Sprintf("%s.credential[%q]", model.BlueprintAddress(blueprint), name)
}

func credentialFields(f model.FederatedCredential) map[string]string {
	return map[string]string{"issuer": f.Issuer, "subject": f.Subject, "audience": f.Audience}
}

// credentials plans b's federated credentials; obs is nil when the plan
// creates the blueprint.
func (d *differ) credentials(b, obs *model.Blueprint) {
	if b.Credentials == nil || b.Absent {
		return
	}
	bpAddr := model.BlueprintAddress(b.DisplayName)
	parent := Parent{Address: bpAddr}
	var deps []string
	have := map[string]model.FederatedCredential{}
	if obs != nil {
		parent.ID = obs.ID
		if obs.Credentials != nil {
			for _, f := range *obs.Credentials {
				have[strings.ToLower(f.Name)] = f
			}
		}
	} else {
		deps = []string{bpAddr}
	}
	listed := map[string]bool{}
	for _, f := range *b.Credentials {
		key := strings.ToLower(f.Name)
		listed[key] = true
		addr := credentialAddress(b.DisplayName, f.Name)
		want := credentialFields(f)
		o, exists := have[key]
		if !exists {
			var fs []FieldDiff
			for _, k := range []string{"audience", "issuer", "subject"} {
				fs = append(fs, FieldDiff{Field: k, After: want[k]})
			}
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCredential, Action: Create, Object: f.Name, Fields: fs,
				Reason:  "tokens from this issuer and subject will sign in as blueprint " + fmt.Sprintf("%q", b.DisplayName),
				Parents: map[string]Parent{"blueprint": parent}, DependsOn: deps, Pos: f.Pos})
			continue
		}
		got := credentialFields(o)
		var fs []FieldDiff
		for _, k := range []string{"audience", "issuer", "subject"} {
			if got[k] != want[k] {
				fs = append(fs, FieldDiff{Field: k, Before: got[k], After: want[k]})
			}
		}
		if len(fs) > 0 {
			d.changes = append(d.changes, Change{Address: addr, Kind: KindCredential, Action: Update, Object: o.Name, ObjectID: o.ID, Fields: fs,
				ObservedFingerprint: fingerprint(got), Parents: map[string]Parent{"blueprint": parent}, Pos: f.Pos})
		}
	}
	var gone []string
	for k := range have {
		if !listed[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		o := have[k]
		d.changes = append(d.changes, Change{Address: credentialAddress(b.DisplayName, o.Name), Kind: KindCredential, Action: Delete, Object: o.Name, ObjectID: o.ID,
			Fields: []FieldDiff{{Field: "issuer", Before: o.Issuer}, {Field: "subject", Before: o.Subject}},
			Reason: "not listed under the blueprint's federatedCredentials", ObservedFingerprint: fingerprint(credentialFields(o)),
			Parents: map[string]Parent{"blueprint": parent}, Pos: b.Pos})
	}
}
