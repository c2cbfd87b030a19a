package model

import (
	"cmp"
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
	// Omitted is set on the summary a Limiter writes for a file and kind
	// with more than its limit of diagnostics: how many more there are
	// than the list shows. Count adds them in.
	Omitted int `json:"omitted,omitempty"`
	// Kind names the problem for a Limiter when one mistake can repeat on
	// every row of a file ("unknown user"): diagnostics of one severity,
	// kind and file are then listed up to a limit and counted beyond it.
	// Empty for problems that occur once per object of a spec; not part of
	// the plan document.
	Kind string `json:"-"`
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

// Count is the number of diagnostics of severity sev, those a Limiter
// left out included (and its summaries not).
func (ds Diagnostics) Count(sev Severity) int {
	n := 0
	for _, d := range ds {
		switch {
		case d.Severity != sev:
		case d.Omitted > 0:
			n += d.Omitted // a summary stands for the ones it counts
		default:
			n++
		}
	}
	return n
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

// Sort orders diagnostics by severity, file, line and column; a Limiter's
// summaries come last among their file's.
func Sort(ds Diagnostics) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		if a.Severity != b.Severity {
			return int(a.Severity) - int(b.Severity)
		}
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		if as, bs := a.Omitted > 0, b.Omitted > 0; as != bs {
			if as {
				return 1
			}
			return -1
		}
		return comparePos(a.Pos, b.Pos)
	})
}

// comparePos orders places by file, line and column.
func comparePos(a, b Pos) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

// MaxPerKind is how many diagnostics of one severity and kind a Limiter
// lists per file.
const MaxPerKind = 20

// Limiter bounds the diagnostics of mistakes that repeat: a CSV file of a
// million unknown users gives the first MaxPerKind of them, by place, and
// one summary counting the rest, instead of a million messages. It keeps
// at most Max diagnostics per severity, file and kind, so its memory does
// not grow with the number it is given. Diagnostics without a Kind pass
// through unlimited. The zero Limiter is ready to use.
type Limiter struct {
	// Max is the number listed per severity, file and kind; 0 means
	// MaxPerKind.
	Max   int
	plain Diagnostics
	sets  map[limitKey]*limitSet
}

type limitKey struct {
	sev        Severity
	file, kind string
}

type limitSet struct {
	kept  Diagnostics // the first by place, sorted
	total int
	// address is the Address all of the set's diagnostics share, "" when
	// they differ.
	address string
}

// Add records d: listed when it is among the first Max of its severity,
// file and kind by place, else only counted.
func (l *Limiter) Add(d Diagnostic) {
	if d.Kind == "" {
		l.plain = append(l.plain, d)
		return
	}
	max := l.Max
	if max <= 0 {
		max = MaxPerKind
	}
	if l.sets == nil {
		l.sets = map[limitKey]*limitSet{}
	}
	k := limitKey{d.Severity, d.Pos.File, d.Kind}
	s := l.sets[k]
	if s == nil {
		s = &limitSet{address: d.Address}
		l.sets[k] = s
	}
	if s.address != d.Address {
		s.address = ""
	}
	if d.Omitted > 0 {
		s.total += d.Omitted // a summary from an earlier Limiter
		return
	}
	s.total++
	n := len(s.kept)
	if n == max && comparePos(d.Pos, s.kept[n-1].Pos) >= 0 {
		return // the common case once the list is full: rows come in order
	}
	i, _ := slices.BinarySearchFunc(s.kept, d.Pos, func(e Diagnostic, p Pos) int {
		if c := comparePos(e.Pos, p); c != 0 {
			return c
		}
		return -1 // after the ones at the same place: first come, first listed
	})
	if n == max {
		s.kept = slices.Delete(s.kept, n-1, n)
	}
	s.kept = slices.Insert(s.kept, i, d)
}

// Wants reports whether Add would list d now (rather than only count it),
// judging by its severity, place and kind alone: a caller with a million
// diagnostics to give can build the messages of the listed ones only.
func (l *Limiter) Wants(d Diagnostic) bool {
	if d.Kind == "" || d.Omitted > 0 {
		return d.Kind == ""
	}
	max := l.Max
	if max <= 0 {
		max = MaxPerKind
	}
	s := l.sets[limitKey{d.Severity, d.Pos.File, d.Kind}]
	return s == nil || len(s.kept) < max || comparePos(d.Pos, s.kept[len(s.kept)-1].Pos) < 0
}

// Diagnostics returns what was added, limited: every diagnostic without a
// kind, the listed ones, and for each severity, file and kind with more
// than Max one summary whose Omitted counts the rest. Unsorted.
func (l *Limiter) Diagnostics() Diagnostics {
	out := slices.Clone(l.plain)
	keys := make([]limitKey, 0, len(l.sets))
	for k := range l.sets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b limitKey) int {
		return cmp.Or(int(a.sev)-int(b.sev), strings.Compare(a.file, b.file), strings.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		s := l.sets[k]
		out = append(out, s.kept...)
		if more := s.total - len(s.kept); more > 0 {
			noun := "errors"
			if k.sev == Warning {
				noun = "warnings"
			}
			where := "in this file"
			if k.file == "" {
				where = "without a place"
			}
			out = append(out, Diagnostic{Severity: k.sev, Pos: Pos{File: k.file}, Address: s.address, Kind: k.kind, Omitted: more,
				Summary: fmt.Sprintf("%d more %s %s %s not shown (%d in all; the first %d are listed)", more, k.kind, noun, where, s.total, len(s.kept))})
		}
	}
	return out
}

// Limited returns ds with the diagnostics of each severity, file and kind
// limited as a Limiter does.
func (ds Diagnostics) Limited() Diagnostics {
	var l Limiter
	for _, d := range ds {
		l.Add(d)
	}
	return l.Diagnostics()
}
