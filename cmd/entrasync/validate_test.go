package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/spec"
)

// brokenSpec has four errors in two files (validate_reports_every_problem.txtar's).
const brokenSpec = `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Team A
    descripton: typo here
    members:
      mode: authorative
      users: [alice@contoso.com]
      csv: {path: team.csv, column: Email, delimiter: ","}
  - displayName: Team B
    members:
      csv: {path: ../outside.csv, column: Email}
`

// warnedSpec is valid with two warnings: a repeated member (a diagnostic
// with a Kind) and an empty CSV column (a place without a column).
const warnedSpec = `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Team A
    members:
      users: [alice@contoso.com, alice@contoso.com]
      csv: {path: empty.csv, column: Email}
`

// writeSpecFiles writes files into a new directory and returns the path of the
// first, spec.yaml.
func writeSpecFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "spec.yaml")
}

func broken(t *testing.T) string {
	return writeSpecFiles(t, map[string]string{"spec.yaml": brokenSpec, "team.csv": "Email;Name\na@contoso.com;A\n"})
}

func warned(t *testing.T) string {
	return writeSpecFiles(t, map[string]string{"spec.yaml": warnedSpec, "empty.csv": "Email\n"})
}

// TestValidateTextUnchanged: the default output is the one validate always
// had: errors in the error message, warnings on stderr, a summary line.
func TestValidateTextUnchanged(t *testing.T) {
	setEnv(t, nil)
	path := broken(t)
	_, diags := spec.Load(path)
	r := cli("validate", "-f", path)
	if want := "Error: the spec has 4 errors:\n" + diags.Error() + "\n"; r.code != exitError || r.stdout != "" || r.stderr != want {
		t.Errorf("broken: exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", r.code, r.stdout, r.stderr, want)
	}
	path = warned(t)
	_, diags = spec.Load(path)
	r = cli("validate", "-f", path)
	if want := diags[0].String() + "\n" + diags[1].String() + "\n"; r.code != 0 || r.stdout != "The spec is valid: 1 group, 2 files.\n" || r.stderr != want {
		t.Errorf("warned: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := cli("validate", "-f", path, "--format", "markdown"); r.code != exitError || !strings.Contains(r.stderr, `--format must be text or json, not "markdown"`) {
		t.Errorf("--format markdown: exit %d\n%s", r.code, r.stderr)
	}
}

type validateJSONReport struct {
	Valid       bool
	Tenant      string
	Files       int
	Diagnostics []validateDiagnostic
}

func validateJSONOf(t *testing.T, path string) (validateJSONReport, map[string]any, result) {
	t.Helper()
	r := cli("validate", "-f", path, "--format", "json")
	var rep validateJSONReport
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	json.Unmarshal([]byte(r.stdout), &raw)
	return rep, raw, r
}

// TestValidateJSON: --format json reports every diagnostic with its place,
// on stdout alone, and exits 1 on errors.
func TestValidateJSON(t *testing.T) {
	setEnv(t, nil)
	path := broken(t)
	rep, raw, r := validateJSONOf(t, path)
	if r.code != exitError || r.stderr != "" || rep.Valid || len(rep.Diagnostics) != 4 {
		t.Fatalf("broken: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	// An invalid spec is not loaded: its tenant and files are unknown, and
	// left out rather than shown as "" and 0.
	if _, ok := raw["tenant"]; ok {
		t.Errorf("tenant of an invalid spec: %v", raw["tenant"])
	}
	if _, ok := raw["files"]; ok {
		t.Errorf("files of an invalid spec: %v", raw["files"])
	}
	want := validateDiagnostic{File: path, Line: 4, Col: 5, Severity: "error",
		Summary: `unknown key "descripton" in group; did you mean "description"?`,
		Detail:  "Valid keys: absent, cloudManaged, description, displayName, id, mailNickname, members, membershipRule, membershipRuleProcessingState, owners."}
	if rep.Diagnostics[0] != want {
		t.Errorf("first diagnostic:\n%+v\nwant\n%+v", rep.Diagnostics[0], want)
	}
	if d := rep.Diagnostics[3]; d.File != filepath.Join(filepath.Dir(path), "team.csv") || d.Line != 1 || d.Col != 1 || !strings.Contains(d.Detail, "\n") {
		t.Errorf("the CSV file's diagnostic: %+v", d)
	}
	// Every key of a diagnostic is there, empty or not: one shape.
	for _, k := range []string{"file", "line", "col", "severity", "code", "summary", "detail"} {
		if _, ok := raw["diagnostics"].([]any)[0].(map[string]any)[k]; !ok {
			t.Errorf("diagnostic without %q: %s", k, r.stdout)
		}
	}

	path = warned(t)
	rep, _, r = validateJSONOf(t, path)
	if r.code != 0 || r.stderr != "" || !rep.Valid || rep.Tenant != "contoso.onmicrosoft.com" || rep.Files != 2 || len(rep.Diagnostics) != 2 {
		t.Fatalf("warned: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	// The code is the diagnostic's Kind, where it has one.
	codes := map[string]string{}
	for _, d := range rep.Diagnostics {
		if d.Severity != "warning" {
			t.Errorf("severity %q: %+v", d.Severity, d)
		}
		codes[filepath.Base(d.File)] = d.Code
	}
	if codes["spec.yaml"] != "repeated-member" || codes["empty.csv"] != "" {
		t.Errorf("codes: %v", codes)
	}

	rep, raw, r = validateJSONOf(t, quickstart)
	if r.code != 0 || !rep.Valid || rep.Files == 0 || raw["diagnostics"] == nil {
		t.Errorf("quickstart: exit %d: diagnostics must be [], not null\n%s", r.code, r.stdout)
	}
	if rep, _, r := validateJSONOf(t, filepath.Join(t.TempDir(), "missing")); r.code != exitError || rep.Valid || len(rep.Diagnostics) == 0 {
		t.Errorf("missing spec: exit %d\n%s", r.code, r.stdout)
	}
}

// problemMatcher is the shape of a GitHub Actions problem matcher file.
type problemMatcher struct {
	ProblemMatcher []struct {
		Owner   string
		Pattern []struct {
			Regexp                                string
			File, Line, Column, Severity, Message int
		}
	}
}

// problem is what a matcher takes from one line.
type problem struct {
	owner, file, severity, message string
	line, col                      int
}

// jsRegexp compiles a matcher's JavaScript regular expression with Go's
// regexp. The matcher keeps to the part of the syntax the two share
// (groups, classes, \d and \s, lazy repeats, anchors); anything beyond it
// (lookaround, back-references, named groups) fails here, not on GitHub.
func jsRegexp(t *testing.T, js string) *regexp.Regexp {
	t.Helper()
	if regexp.MustCompile(`\(\?[=!<]|\\[1-9]|\\k<`).MatchString(js) {
		t.Fatalf("%s: outside the syntax JavaScript and Go share", js)
	}
	return regexp.MustCompile(js)
}

// loadMatchers reads examples/ci/entrasync-problem-matcher.json and returns
// a function that applies it to output, line by line, as the runner does.
func loadMatchers(t *testing.T) func(output string) []problem {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "entrasync-problem-matcher.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pm problemMatcher
	if err := json.Unmarshal(b, &pm); err != nil {
		t.Fatal(err)
	}
	if len(pm.ProblemMatcher) == 0 {
		t.Fatal("no matcher")
	}
	type matcher struct {
		owner                              string
		re                                 *regexp.Regexp
		file, line, col, severity, message int
	}
	var ms []matcher
	for _, m := range pm.ProblemMatcher {
		if m.Owner == "" || len(m.Pattern) != 1 {
			t.Fatalf("matcher %q: an owner and one single-line pattern", m.Owner)
		}
		p := m.Pattern[0]
		if p.File == 0 || p.Line == 0 || p.Message == 0 || p.Severity == 0 {
			t.Fatalf("matcher %q takes no file, line, severity or message", m.Owner)
		}
		ms = append(ms, matcher{m.Owner, jsRegexp(t, p.Regexp), p.File, p.Line, p.Column, p.Severity, p.Message})
	}
	return func(output string) []problem {
		var out []problem
		for _, line := range strings.Split(output, "\n") {
			for _, m := range ms {
				g := m.re.FindStringSubmatch(line)
				if g == nil {
					continue
				}
				num := func(i int) int {
					n, _ := strconv.Atoi(g[i]) // an optional group left out is 0
					return n
				}
				p := problem{owner: m.owner, file: g[m.file], severity: strings.ToLower(g[m.severity]), message: g[m.message], line: num(m.line)}
				if m.col > 0 {
					p.col = num(m.col)
				}
				out = append(out, p)
			}
		}
		return out
	}
}

// TestValidateOutputMatchesProblemMatcher: the problem matcher of
// examples/ci takes from validate's text output exactly what --format json
// reports (file, line, column, severity, summary), once per diagnostic,
// and from plan's the places of unknown references.
func TestValidateOutputMatchesProblemMatcher(t *testing.T) {
	setEnv(t, nil)
	match := loadMatchers(t)
	for _, path := range []string{broken(t), warned(t)} {
		rep, _, _ := validateJSONOf(t, path)
		r := cli("validate", "-f", path)
		got := match(r.stdout + r.stderr)
		var want []problem
		for _, d := range rep.Diagnostics {
			want = append(want, problem{owner: "entrasync", file: d.File, severity: d.Severity, message: d.Summary, line: d.Line, col: d.Col})
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the matcher found\n%v\nwant\n%v\nin\n%s", path, got, want, r.stderr)
		}
	}

	// plan's diagnostics have the same form, with the address of the
	// object before the summary.
	_, url := startSim(t, graphsim.DemoFixture())
	path := writeSpecFiles(t, map[string]string{"spec.yaml": `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Team A
    members:
      users: [nobody@contoso.com]
      groups: [Marketing leeds]
      csv: {path: team.csv, column: Email}
`, "team.csv": "Email\nalice@contoso.com\nghost@contoso.com\n"})
	r := entrasync(t, url, "plan", "-f", path)
	csv := filepath.Join(filepath.Dir(path), "team.csv")
	want := []problem{
		{"entrasync", path, "error", `group["Team A"]: unknown user "nobody@contoso.com": no user in the tenant has this userPrincipalName or mail`, 5, 15},
		{"entrasync", path, "error", `group["Team A"]: unknown group "Marketing leeds": no group in the tenant has this display name`, 6, 16},
		{"entrasync", csv, "error", `group["Team A"]: unknown user "ghost@contoso.com": no user in the tenant has this userPrincipalName or mail`, 3, 1},
	}
	got := match(r.stdout + r.stderr)
	if r.code != exitError || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plan: exit %d, the matchers found\n%v\nwant\n%v\nin\n%s%s", r.code, got, want, r.stdout, r.stderr)
	}
	// Lines that are not diagnostics stay unmatched.
	for _, line := range []string{
		"Error: the spec has 4 errors:",
		"    Valid values: \"additive\" or \"authoritative\".",
		`Error: reading the tenant: Get "http://127.0.0.1:8080/v1.0/groups": dial tcp 127.0.0.1:8080: connect: connection refused`,
		"Error: plan.json: not an entrasync plan file (line 1, column 2: invalid character 'o' in literal null (expecting 'u'))",
		"Warning: releasing the run lease: 503",
		"Planning failed with 3 errors: fix them and plan again. Nothing was changed.",
	} {
		if got := match(line); len(got) > 0 {
			t.Errorf("%q matched: %v", line, got)
		}
	}
}
