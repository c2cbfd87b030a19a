package model

import (
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a diagnostic stops the run.
type Severity int

const (
	// Error diagnostics stop validate, plan and apply.
	Error Severity = iota
	// Warning diagnostics are shown but do not stop anything.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a spec or while planning. Summary is one
// line; Detail explains the fix. Pos is set when the problem has a place in
// a spec file; Address when it concerns one object.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Pos      Pos      `json:"pos,omitempty"`
	Address  string   `json:"address,omitempty"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
}

// String renders "file:line:col: error: summary (detail)".
func (d Diagnostic) String() string {
	var b strings.Builder
	if !d.Pos.IsZero() {
		b.WriteString(Visible(d.Pos.String()))
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	if d.Address != "" {
		b.WriteString(Visible(d.Address))
		b.WriteString(": ")
	}
	// Names in a message may come from a file name or the tenant: shown
	// as text, never as control sequences.
	b.WriteString(Visible(d.Summary))
	if d.Detail != "" {
		b.WriteString("\n    ")
		lines := strings.Split(d.Detail, "\n")
		for i, l := range lines {
			lines[i] = Visible(l)
		}
		b.WriteString(strings.Join(lines, "\n    "))
	}
	return b.String()
}

// Diagnostics is a list of problems, collected so that all of them are
// reported at once. It is an error when it holds at least one Error.
type Diagnostics []Diagnostic

// Errorf appends an error diagnostic at pos.
func (ds *Diagnostics) Errorf(pos Pos, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Pos: pos, Summary: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning diagnostic at pos.
func (ds *Diagnostics) Warnf(pos Pos, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Pos: pos, Summary: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == Error })
}

// Err returns ds as an error when it holds an error, and nil otherwise.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

// Error renders every diagnostic, one per line, errors first, each group
// sorted by place.
func (ds Diagnostics) Error() string {
	sorted := slices.Clone(ds)
	Sort(sorted)
	lines := make([]string, len(sorted))
	for i, d := range sorted {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders diagnostics by severity, file, line and column.
func Sort(ds Diagnostics) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		if a.Severity != b.Severity {
			return int(a.Severity) - int(b.Severity)
		}
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
}
