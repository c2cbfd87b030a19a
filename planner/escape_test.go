package planner

import (
	"bytes"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// Issue 9, hole 10: names reach the PR comment and the terminal as text,
// never as markup or control sequences. The names here come from a live
// tenant (a removal's label), where entrasync's spec checks do not reach.
func TestNamesCannotInjectMarkupOrControls(t *testing.T) {
	evil := "Ops`) [approved](https://evil.example) <img src=x> @contoso/admins #12 **LGTM**\n> [!NOTE]\n> Approved by security\x1b[2J"
	p := &Plan{FormatVersion: FormatVersion, Tenant: "contoso.onmicrosoft.com", Changes: []Change{{
		Address: `group["` + evil + `"]`, Kind: KindGroup, Action: Delete, Object: evil, ObjectID: "00000000-0000-0000-0000-000000000001",
		Risks: []RiskCode{RiskDelete},
	}, {
		Address: `group["Finance"].members`, Kind: KindGroupMembers, Action: Update, Object: "Finance", ObjectID: "00000000-0000-0000-0000-000000000002",
		Members: &MemberDiff{Live: 2, Remove: []Member{{ID: "00000000-0000-0000-0000-000000000003", Label: evil}}},
	}}, RequireApproval: DefaultRequireApproval,
		Diagnostics: model.Diagnostics{{Severity: model.Warning, Summary: "group " + evil + " has no owner"}}}

	var md bytes.Buffer
	if err := RenderMarkdown(&md, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	// Above the folded details, which are a fenced code block (never read
	// as Markdown, and the fence cannot be closed from inside).
	out, details, _ := strings.Cut(md.String(), "<details>")
	if strings.Count(details, "```") != 2 {
		t.Errorf("the details fence can be closed from inside:\n%s", details)
	}
	prose := stripCodeSpans(out) // code spans are never read as markup
	for _, bad := range []string{"[approved](", "<img", "@contoso", "\n> [!NOTE]\n> Approved", "**LGTM**", "\x1b", "https://evil"} {
		if strings.Contains(prose, bad) || strings.Contains(out, "\x1b") {
			t.Errorf("the Markdown carries %q as markup:\n%s", bad, out)
		}
	}
	// Every table row is still one row: the name's pipes and newline did
	// not split it.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 4 {
			t.Errorf("table row broken: %q", line)
		}
	}
	if !strings.Contains(out, `\[approved\]`) || !strings.Contains(out, `\u{000A}`) {
		t.Errorf("the name is not shown as text:\n%s", out)
	}

	var text bytes.Buffer
	if err := RenderText(&text, p, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "\x1b[2J") || strings.Contains(text.String(), "\n> [!NOTE]") {
		t.Errorf("the text view passes a control sequence or a forged line through:\n%q", text.String())
	}
	if !strings.Contains(text.String(), `\u{001B}[2J`) {
		t.Errorf("the escape is not shown visibly:\n%s", text.String())
	}
}

// stripCodeSpans removes CommonMark inline code spans: a run of n
// backticks up to the next run of exactly n.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			b.WriteString(s[i : i+2]) // an escaped character opens nothing
			i += 2
			continue
		}
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence, end := s[i:i+n], -1
		for j := i + n; j < len(s); {
			k := strings.Index(s[j:], fence)
			if k < 0 {
				break
			}
			k += j
			if (k+n >= len(s) || s[k+n] != '`') && (k == 0 || s[k-1] != '`') {
				end = k + n
				break
			}
			j = k + 1
		}
		if end < 0 {
			b.WriteString(fence)
			i += n
			continue
		}
		b.WriteString("CODE")
		i = end
	}
	return b.String()
}

// A code span holds any name: its fence is longer than the name's longest
// run of backticks.
func TestMdCodeCannotBeClosedByTheName(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "`plain`",
		"a`b":       "``a`b``",
		"``x":       "``` ``x ```",
		"pipe|here": "`pipe|here`",
	} {
		if got := mdCode(in, false); got != want {
			t.Errorf("mdCode(%q) = %s, want %s", in, got, want)
		}
	}
	if got := mdCode("a|b", true); got != "`a\\|b`" {
		t.Errorf("in a table: %s", got)
	}
}
