package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/spec"
)

func (a *app) validateCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a spec offline and list every problem",
		Long: `Check a spec without contacting Graph: YAML syntax, unknown or misspelt keys, the JSON
Schema, CSV files (header, delimiter, duplicates) and the rules entrasync enforces.
Every problem is listed with its file:line:col.

With --format json the result is one JSON document on stdout, for editors and CI:
{"valid", "tenant", "files", "diagnostics": [{"file", "line", "col", "severity",
"code", "summary", "detail"}]}. The exit code is 1 when the spec has errors.`,
		Example: `  entrasync validate -f examples/quickstart
  entrasync validate -f ./tenant --format json | jq '.diagnostics[]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "json":
				return a.validateJSON()
			case "text":
			default:
				return fmt.Errorf("--format must be text or json, not %q", format)
			}
			s, err := a.loadSpec()
			if err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			fmt.Fprintf(a.stdout, "The spec is valid: %s, %d %s.\n", describeSpec(s.Tenant), len(s.Files), plural(len(s.Files), "file", "files"))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// validateReport is the JSON form of `entrasync validate`. Tenant and Files
// are left out when the spec has errors: it is then not loaded, so neither
// is known.
type validateReport struct {
	Valid       bool                 `json:"valid"`
	Tenant      string               `json:"tenant,omitempty"`
	Files       int                  `json:"files,omitempty"`
	Diagnostics []validateDiagnostic `json:"diagnostics"`
}

// validateDiagnostic is one model.Diagnostic with its place spelt out. The
// string fields are always present (empty when unset) so that consumers see
// one shape.
type validateDiagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	// Address names the object the problem concerns, when it has one (the
	// text form puts it before the summary).
	Address string `json:"address,omitempty"`
	// Omitted is set on the summary standing for repeats of one mistake
	// that are counted, not listed: how many it stands for.
	Omitted int `json:"omitted,omitempty"`
}

// validateJSON loads the spec and writes the report on stdout. Warnings are
// in the report, not on stderr, so that the document is the whole answer.
func (a *app) validateJSON() error {
	s, diags := spec.Load(a.g.spec)
	rep := validateReport{Valid: !diags.HasErrors(), Diagnostics: make([]validateDiagnostic, 0, len(diags))}
	if s != nil {
		rep.Tenant, rep.Files = s.Tenant.Domain, len(s.Files)
	}
	for _, d := range diags { // spec.Load sorts them: errors first, by place
		rep.Diagnostics = append(rep.Diagnostics, validateDiagnostic{
			File: d.Pos.File, Line: int(d.Pos.Line), Col: int(d.Pos.Col),
			Severity: d.Severity.String(), Code: diagnosticCode(d),
			Summary: d.Summary, Detail: d.Detail, Address: d.Address, Omitted: d.Omitted,
		})
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(a.stdout, "%s\n", b); err != nil {
		return err
	}
	if !rep.Valid {
		return &exitCodeError{code: exitError} // the report says why
	}
	return nil
}

// diagnosticCode is a diagnostic's Kind as a slug ("invalid user
// reference" → "invalid-user-reference"), "" for the many problems that
// have none. Diagnostics carry no code of their own, and one made from the
// summary would change whenever its wording or the names in it do: the
// Kind is the only name of a problem that stays the same from run to run.
func diagnosticCode(d model.Diagnostic) string {
	return strings.Join(strings.Fields(strings.ToLower(d.Kind)), "-")
}
