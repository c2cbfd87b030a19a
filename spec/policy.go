package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/entrasync/entrasync/model"
)

// LoadPolicy reads a policy file: a YAML file outside the spec, kept by
// whoever owns the pipeline (--policy FILE or ENTRASYNC_POLICY), whose
// settings: are a floor the spec cannot lower. It has the form of a spec
// file with settings: alone (tenant: may be written; nothing else). The
// planner merges it with the spec's settings, taking the stricter of each.
func LoadPolicy(path string) (*model.Settings, model.Diagnostics) {
	l := &loader{read: map[string][]byte{}, csvs: map[csvKey]bool{}, tenant: &model.Tenant{}}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.diags.Errorf(model.Pos{File: path}, "policy file %s does not exist", path)
	case err != nil:
		l.diags.Errorf(model.Pos{File: path}, "cannot read policy file: %v", err)
	case info.IsDir():
		l.diags.Errorf(model.Pos{File: path}, "policy %s is a directory; name one YAML file", path)
	}
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	l.root = filepath.Dir(path)
	l.parseFile(filepath.Base(path))
	for _, d := range l.docs {
		for key, pos := range d.doc.keys {
			if key != "settings" && key != "tenant" {
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
					Summary: fmt.Sprintf("a policy file holds settings: only, not %s:", key),
					Detail:  "Objects belong in the spec; the policy sets the floor of its safeguards."})
			}
		}
	}
	if !slices.ContainsFunc(l.docs, func(d *yamlDoc) bool { return d.doc.Settings != nil }) && !l.diags.HasErrors() {
		l.diags.Errorf(model.Pos{File: path}, "policy file %s has no settings:", path)
	}
	l.buildSettings()
	l.addSchemaFindings()
	model.Sort(l.diags)
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	s := l.tenant.Settings
	return &s, l.diags
}
