package spec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

func TestReadCSV(t *testing.T) {
	type value struct {
		V         string
		Line, Col int
	}
	for _, tc := range []struct {
		name  string
		data  string
		opt   CSVOptions
		want  []value
		diags []string // rendered, in order
	}{
		{
			name: "seed file: semicolons, BOM, CRLF, blank and delimiter-only lines",
			data: "\uFEFFEmail;AccessPackage\r\nalice@contoso.com;Marketing\r\n\r\n;;\r\n   \r\n  bob@contoso.com  ;Marketing\r\n",
			opt:  CSVOptions{Column: "Email"},
			want: []value{{"alice@contoso.com", 2, 1}, {"bob@contoso.com", 6, 1}},
		},
		{
			name: "declared delimiter that matches",
			data: "Email;AccessPackage\nalice@contoso.com;AP\n",
			opt:  CSVOptions{Column: "email", Delimiter: ';'},
			want: []value{{"alice@contoso.com", 2, 1}},
		},
		{
			name: "commas, quoted fields, column matched case-insensitively and trimmed",
			data: "Name, EMAIL \n\"Doe, Jane\",jane@contoso.com\n\"Smith, \"\"Bo\"\"\",\"bo@contoso.com\"\n",
			opt:  CSVOptions{Column: " email"},
			want: []value{{"jane@contoso.com", 2, 13}, {"bo@contoso.com", 3, 17}},
		},
		{
			name: "single column, no trailing newline",
			data: "Email\nalice@contoso.com",
			opt:  CSVOptions{Column: "Email"},
			want: []value{{"alice@contoso.com", 2, 1}},
		},
		{
			name: "header line after blank lines",
			data: "\n\n;\nEmail;X\na@contoso.com;1\n",
			opt:  CSVOptions{Column: "Email"},
			want: []value{{"a@contoso.com", 5, 1}},
		},
		{
			name:  "declared comma, file uses semicolons",
			data:  "Email;AccessPackage\nalice@contoso.com;AP\n",
			opt:   CSVOptions{Column: "Email", Delimiter: ','},
			diags: []string{"f.csv:1:1: error: csv delimiter \",\" does not match the header: the file seems to use \";\"\n    Header: Email;AccessPackage\n    Set delimiter: \";\", or leave delimiter out to detect it."},
		},
		{
			name:  "declared semicolon, file uses commas",
			data:  "Email,Name\nalice@contoso.com,Alice\n",
			opt:   CSVOptions{Column: "Email", Delimiter: ';'},
			diags: []string{"f.csv:1:1: error: csv delimiter \";\" does not match the header: the file seems to use \",\"\n    Header: Email,Name\n    Set delimiter: \",\", or leave delimiter out to detect it."},
		},
		{
			name:  "missing column",
			data:  "E-mail;AccessPackage\nalice@contoso.com;AP\n",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:1:1: error: csv file has no column \"Email\"; did you mean \"E-mail\"?\n    Columns found: \"E-mail\", \"AccessPackage\"."},
		},
		{
			name:  "column named twice",
			data:  "Email;email\na;b\n",
			opt:   CSVOptions{Column: "EMAIL"},
			diags: []string{"f.csv:1:7: error: csv header names column \"EMAIL\" twice (fields 1 and 2)"},
		},
		{
			name: "row problems are all reported",
			data: "Email,Name\na@contoso.com,A,extra\n , Nobody\nb@contoso.com\nB@contoso.com,again\nb@contoso.com,B\n",
			opt:  CSVOptions{Column: "Email"},
			want: []value{{"B@contoso.com", 5, 1}}, // good rows are still returned
			diags: []string{
				"f.csv:2: error: csv line has 3 fields, the header has 2\n    Quote values that contain \",\".",
				"f.csv:3:1: error: empty value in csv column \"Email\"",
				"f.csv:4: error: csv line has 1 field, the header has 2\n    Quote values that contain \",\".",
				"f.csv:6:1: warning: duplicate value \"b@contoso.com\" in csv column \"Email\" (first on line 5)",
			},
		},
		{
			name:  "wrong field count hints at the other delimiter",
			data:  "Email;Name\na@contoso.com;A\nc@contoso.com,C\n",
			opt:   CSVOptions{Column: "Email"},
			want:  []value{{"a@contoso.com", 2, 1}},
			diags: []string{"f.csv:3: error: csv line has 1 field, the header has 2\n    The line contains \",\"; the file's delimiter is \";\". Quote values that contain the delimiter."},
		},
		{
			name:  "bare quote stops reading",
			data:  "Email\nO\"Brien@contoso.com\n",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:2:2: error: csv syntax error: bare \" in non-quoted-field"},
		},
		{
			name:  "empty file",
			data:  "\uFEFF\r\n;;\r\n",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:1:1: error: csv file is empty\n    It needs a header line naming the column \"Email\", then one value per line."},
		},
		{
			name:  "header only",
			data:  "Email\n",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:1: warning: csv file has no values in column \"Email\""},
		},
		{
			name:  "not UTF-8",
			data:  "Email\nj\xf6rg@contoso.com\n",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:2: error: csv file is not valid UTF-8 text\n    It was probably saved in a legacy code page; in Excel, save it as \"CSV UTF-8 (Comma delimited)\"."},
		},
		{
			name:  "UTF-16",
			data:  "\xff\xfeE\x00",
			opt:   CSVOptions{Column: "Email"},
			diags: []string{"f.csv:1:1: error: csv file is UTF-16 encoded; entrasync reads UTF-8\n    In Excel, save it as \"CSV UTF-8 (Comma delimited)\"."},
		},
		{
			name:  "unsupported delimiter",
			data:  "Email\n",
			opt:   CSVOptions{Column: "Email", Delimiter: '\t'},
			diags: []string{"f.csv:1:1: error: csv delimiter \"\\t\" is not supported; use \",\" or \";\""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs, ds := ReadCSV(strings.NewReader(tc.data), "f.csv", tc.opt)
			var got []value
			for _, v := range vs {
				if v.Pos.File != "f.csv" {
					t.Errorf("value %q has file %q", v.Value, v.Pos.File)
				}
				got = append(got, value{v.Value, int(v.Pos.Line), int(v.Pos.Col)})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			var gotDiags []string
			for _, d := range ds {
				gotDiags = append(gotDiags, d.String())
			}
			if diff := cmp.Diff(tc.diags, gotDiags); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadCSVBoundsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("Email,Name\n")
	for range 200 {
		b.WriteString(",x\n")
	}
	_, ds := ReadCSV(strings.NewReader(b.String()), "f.csv", CSVOptions{Column: "Email"})
	if len(ds) != maxCSVProblems+1 {
		t.Errorf("got %d diagnostics, want %d", len(ds), maxCSVProblems+1)
	}
}

// TestReadCSVChecksAheadAsRowByRow holds readCSV's look-ahead to checking
// each value as it is read: for files of duplicates, empty values, lines
// of the wrong width, blank lines and a quoting error, around the bound on
// problems, every look-ahead gives the diagnostics and values one does.
func TestReadCSVChecksAheadAsRowByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for round := range 302 {
		var b strings.Builder
		b.WriteString("Email,Name\n")
		if round >= 300 {
			// The bound reached on the last line, or on the one before.
			for range maxCSVProblems + 302 - round {
				b.WriteString("a@x,n\n")
			}
		}
		rows := rng.IntN(400)
		if round >= 300 {
			rows = 0
		}
		problemRate := []int{2, 10, 50}[round%3]
		for i := range rows {
			switch rng.IntN(problemRate) {
			case 0:
				b.WriteString(",x\n") // empty value
			case 1:
				b.WriteString("a@x,b,c\n") // a field too many
			case 2:
				b.WriteString("\n")
			default:
				fmt.Fprintf(&b, "U%d@Contoso.com,n\n", rng.IntN(rows+1)) // duplicates, in another case too
				if rng.IntN(2) == 0 {
					fmt.Fprintf(&b, "u%d@contoso.com,n\n", rng.IntN(rows+1))
				}
			}
			if round%10 == 9 && i == rows/2 {
				b.WriteString("\"unclosed,x\n")
			}
		}
		read := func(ahead int) ([]CSVValue, model.Diagnostics) {
			var vs []CSVValue
			ds := readCSVAhead([]byte(b.String()), "f.csv", CSVOptions{Column: "Email"}, func(v CSVValue) { vs = append(vs, v) }, ahead)
			return vs, ds
		}
		wantVs, wantDs := read(1)
		for _, ahead := range []int{2, 7, csvLookAhead} {
			vs, ds := read(ahead)
			if d := cmp.Diff(wantDs, ds); d != "" {
				t.Fatalf("round %d, ahead %d: diagnostics (-row by row +ahead):\n%s", round, ahead, d)
			}
			if d := cmp.Diff(wantVs, vs); d != "" {
				t.Fatalf("round %d, ahead %d: values (-row by row +ahead):\n%s", round, ahead, d)
			}
		}
	}
}
