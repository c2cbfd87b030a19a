package spec

// CSV member lists.
//
// People keep member lists as spreadsheets exported per team: `;`-separated
// when Excel runs with a European locale, `,` otherwise, often with a UTF-8
// byte order mark and trailing blank or `;;;` lines, with an `Email` column
// among others. ReadCSV accepts those files as they are and is strict about
// everything that would silently change who gets access: an unknown column,
// a delimiter that does not match the header, a row with a different number
// of fields, an empty cell, text that is not UTF-8.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/entrasync/entrasync/model"
)

// CSVOptions says which values ReadCSV takes from a file.
type CSVOptions struct {
	// Column is the header of the column to read, matched case-insensitively
	// after trimming spaces. Required.
	Column string
	// Delimiter is ',' or ';'. Zero detects it from the header line: the one
	// of the two that occurs more often outside quotes (',' on a tie).
	Delimiter rune
}

// CSVValue is one non-empty, trimmed cell of the chosen column.
type CSVValue struct {
	Value string
	// Pos is the cell's file:line:col (col counts bytes, from 1).
	Pos model.Pos
}

// maxCSVProblems bounds the diagnostics of one file: a file with a
// systematic mistake should not bury every other problem.
const maxCSVProblems = 50

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadCSV reads the values of opt.Column from a delimited file. file names the
// file in positions. It returns the values in file order, each once: a value
// repeated (compared case-insensitively) is a warning naming both lines and is
// kept only at its first line. Every problem is reported. When the header
// is usable, the values of the good rows are returned even if other rows
// have errors, so that a caller can check them too; a caller must not use
// them when there is an error.
func ReadCSV(r io.Reader, file string, opt CSVOptions) ([]CSVValue, model.Diagnostics) {
	data, err := io.ReadAll(r)
	if err != nil {
		var ds model.Diagnostics
		ds.Errorf(model.Pos{File: file}, "cannot read csv file: %v", err)
		return nil, ds
	}
	var vs []CSVValue
	ds := readCSV(data, file, opt, func(v CSVValue) { vs = append(vs, v) })
	return vs, ds
}

// readCSV is ReadCSV on the file's content, which the loader holds already
// (for the spec digest), handing each value to emit as it is read: the
// loader turns a file of a million rows into member references without a
// list of values between the two.
func readCSV(data []byte, file string, opt CSVOptions, emit func(CSVValue)) model.Diagnostics {
	return readCSVAhead(data, file, opt, emit, csvLookAhead)
}

// csvLookAhead is how many values readCSV reads before it checks them for
// duplicates, all together: the check's index reads ahead where they would
// be (model.Index.Prefetch), where one value after another a million rows
// waited on memory a million times.
const csvLookAhead = 256

// readCSVAhead is readCSV checking ahead values at a time; its diagnostics
// and values are the same for any ahead, one included (each value checked
// as it is read).
func readCSVAhead(data []byte, file string, opt CSVOptions, emit func(CSVValue), ahead int) model.Diagnostics {
	var ds model.Diagnostics
	at := func(line, col int) model.Pos { return model.Pos{File: file, Line: int32(line), Col: int32(col)} }
	if opt.Delimiter != 0 && opt.Delimiter != ',' && opt.Delimiter != ';' {
		ds.Errorf(at(1, 1), "csv delimiter %q is not supported; use \",\" or \";\"", string(opt.Delimiter))
		return ds
	}
	if strings.TrimSpace(opt.Column) == "" {
		ds.Errorf(at(1, 1), "no csv column given")
		return ds
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		ds = append(ds, model.Diagnostic{Severity: model.Error, Pos: at(1, 1),
			Summary: "csv file is UTF-16 encoded; entrasync reads UTF-8",
			Detail:  `In Excel, save it as "CSV UTF-8 (Comma delimited)".`})
		return ds
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		ds = append(ds, model.Diagnostic{Severity: model.Error, Pos: at(line, 0),
			Summary: "csv file is not valid UTF-8 text",
			Detail:  `It was probably saved in a legacy code page; in Excel, save it as "CSV UTF-8 (Comma delimited)".`})
		return ds
	}
	if bytes.IndexByte(data, 0) >= 0 {
		ds.Errorf(at(1, 1), "csv file contains NUL bytes; is it a text file?")
		return ds
	}

	headerText, headerLine := firstContentLine(data)
	if headerLine == 0 {
		ds = append(ds, model.Diagnostic{Severity: model.Error, Pos: at(1, 1),
			Summary: "csv file is empty",
			Detail:  fmt.Sprintf("It needs a header line naming the column %q, then one value per line.", opt.Column)})
		return ds
	}
	commas, semis := countOutsideQuotes(headerText, ','), countOutsideQuotes(headerText, ';')
	delim := opt.Delimiter
	switch {
	case delim == 0 && semis > commas:
		delim = ';'
	case delim == 0:
		delim = ','
	case delim == ',' && semis > commas, delim == ';' && commas > semis:
		seems := ";"
		if delim == ';' {
			seems = ","
		}
		ds = append(ds, model.Diagnostic{Severity: model.Error, Pos: at(headerLine, 1),
			Summary: fmt.Sprintf("csv delimiter %q does not match the header: the file seems to use %q", string(delim), seems),
			Detail:  fmt.Sprintf("Header: %s\nSet delimiter: %q, or leave delimiter out to detect it.", clip(headerText, 120), seems)})
		return ds
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true // the fields are strings of their own; only the slice is reused
	var (
		header   []string
		colIdx   = -1
		values   = 0
		seen     = newFoldSet(csvRows(data))
		problems = 0
		pending  []csvRow // values read and not yet checked
		stopped  bool
	)
	// stop is the check, before each row, that the file's problems are not
	// yet too many.
	stop := func() bool {
		if !stopped && problems >= maxCSVProblems {
			ds.Errorf(at(0, 0), "csv file has more problems; stopped after %d", maxCSVProblems)
			stopped = true
		}
		return stopped
	}
	// check checks and emits the pending values in order, as each would
	// have been when it was read: a duplicate is a problem, and the check
	// before each stops there once they are too many. It reports false
	// when it stopped.
	check := func() bool {
		seen.prefetch(pending)
		for _, r := range pending {
			if stop() {
				break
			}
			if first, dup := seen.add(r.value, r.line); dup {
				problems++
				ds.Warnf(at(r.line, r.col), "duplicate value %q in csv column %q (first on line %d)", r.value, header[colIdx], first)
				continue
			}
			values++
			emit(CSVValue{Value: r.value, Pos: at(r.line, r.col)})
		}
		pending = pending[:0]
		return !stopped
	}
	for {
		if len(pending) >= ahead && !check() || stop() {
			break
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if check() {
				stop() // (the check before the row that is not there)
			}
			break
		}
		// Before a problem of a row's own is reported, the values before
		// it are checked, and then the check before the row is made again.
		if err != nil {
			if !check() || stop() {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				ds.Errorf(at(pe.Line, pe.Column), "csv syntax error: %v", pe.Err)
			} else {
				ds.Errorf(at(0, 0), "csv syntax error: %v", err)
			}
			// The reader cannot resynchronise reliably after a quoting
			// error, so this is the last problem reported for the file.
			break
		}
		if blankRecord(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if header == nil {
			header = make([]string, len(rec))
			for i, h := range rec {
				header[i] = strings.TrimSpace(h)
			}
			colIdx = findColumn(&ds, header, opt.Column, func(i int) model.Pos { l, c := cr.FieldPos(i); return at(l, c) })
			if colIdx < 0 {
				return ds
			}
			continue
		}
		if len(rec) != len(header) {
			if !check() || stop() {
				break
			}
			problems++
			d := model.Diagnostic{Severity: model.Error, Pos: at(line, 0),
				Summary: fmt.Sprintf("csv line has %s, the header has %d", plural(len(rec), "field"), len(header))}
			other := ','
			if delim == ',' {
				other = ';'
			}
			if strings.ContainsRune(strings.Join(rec, ""), other) {
				d.Detail = fmt.Sprintf("The line contains %q; the file's delimiter is %q. Quote values that contain the delimiter.", string(other), string(delim))
			} else {
				d.Detail = fmt.Sprintf("Quote values that contain %q.", string(delim))
			}
			ds = append(ds, d)
			continue
		}
		l, c := cr.FieldPos(colIdx)
		v := strings.TrimSpace(rec[colIdx])
		if v == "" {
			if !check() || stop() {
				break
			}
			problems++
			ds.Errorf(at(l, c), "empty value in csv column %q", header[colIdx])
			continue
		}
		if 2*len(v) < recordLen(rec) {
			// The fields of a record share one string: a value cut
			// from a wide line would keep every other column alive
			// for as long as the spec is.
			v = strings.Clone(v)
		}
		pending = append(pending, csvRow{v, l, c})
	}
	if header == nil {
		if !ds.HasErrors() {
			ds.Errorf(at(1, 1), "csv file has no header line")
		}
		return ds
	}
	if values == 0 && !ds.HasErrors() {
		ds.Warnf(at(headerLine, 0), "csv file has no values in column %q", header[colIdx])
	}
	return ds
}

// findColumn returns the index of the header field matching want, or -1
// after reporting why there is none.
func findColumn(ds *model.Diagnostics, header []string, want string, pos func(int) model.Pos) int {
	want = strings.TrimSpace(want)
	idx := -1
	for i, h := range header {
		if !strings.EqualFold(h, want) {
			continue
		}
		if idx >= 0 {
			ds.Errorf(pos(i), "csv header names column %q twice (fields %d and %d)", want, idx+1, i+1)
			return -1
		}
		idx = i
	}
	if idx >= 0 {
		return idx
	}
	sum := fmt.Sprintf("csv file has no column %q", want)
	if dym := didYouMean(want, header); dym != "" {
		sum += "; " + dym
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = fmt.Sprintf("%q", h)
	}
	p := pos(0)
	p.Col = 1
	*ds = append(*ds, model.Diagnostic{Severity: model.Error, Pos: p, Summary: sum,
		Detail: "Columns found: " + strings.Join(cols, ", ") + "."})
	return -1
}

// firstContentLine returns the first line with more than spaces and
// delimiters, and its 1-based number; 0 when there is none.
func firstContentLine(data []byte) (string, int) {
	for n := 1; len(data) > 0; n++ {
		l, rest, _ := bytes.Cut(data, []byte{'\n'})
		if len(bytes.Trim(l, " \t\r,;")) > 0 {
			return string(bytes.TrimRight(l, "\r")), n
		}
		data = rest
	}
	return "", 0
}

// recordLen is the length of a record's fields together.
func recordLen(rec []string) int {
	n := 0
	for _, f := range rec {
		n += len(f)
	}
	return n
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// countOutsideQuotes counts r in line outside double-quoted runs.
func countOutsideQuotes(line string, r rune) int {
	n, quoted := 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == r && !quoted:
			n++
		}
	}
	return n
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// csvRows bounds the number of values in a CSV file: one per line, but no
// more than a value per four bytes, so that a file of empty lines does not
// reserve room for a value per byte.
func csvRows(data []byte) int {
	return min(bytes.Count(data, []byte{'\n'})+1, len(data)/4+1)
}

// csvRow is a value read from a CSV file and where it was.
type csvRow struct {
	value     string
	line, col int
}

// foldSet finds values seen before, compared lower-cased, and the line
// they were first on. Its index reads the values it holds rather than
// keeping lower-cased copies: a CSV file of a million rows keeps its
// values once.
type foldSet struct {
	x     *model.Index // positions in vals
	vals  []string
	lines []int
}

func newFoldSet(size int) *foldSet {
	s := &foldSet{vals: make([]string, 0, size), lines: make([]int, 0, size)}
	s.x = model.NewIndex(size, func(h uint32) string { return s.vals[h] })
	return s
}

// prefetch reads ahead where the rows' values would be found (model.Index.Prefetch).
func (s *foldSet) prefetch(rows []csvRow) {
	s.x.Prefetch(len(rows), func(i int) string { return rows[i].value })
}

// add records v, read on line, unless an equal value was recorded; then it
// returns that value's line and true.
func (s *foldSet) add(v string, line int) (int, bool) {
	s.vals = append(s.vals, v)
	s.lines = append(s.lines, line)
	if j, ok := s.x.Insert(uint32(len(s.vals) - 1)); ok {
		s.vals, s.lines = s.vals[:len(s.vals)-1], s.lines[:len(s.lines)-1]
		return s.lines[j], true
	}
	return 0, false
}
