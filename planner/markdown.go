package planner

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// MarkdownOptions tunes the Markdown view.
type MarkdownOptions struct {
	// MaxBytes bounds the output; 0 means 60,000, under GitHub's 65,536
	// characters per comment with room for a header the CI adds.
	MaxBytes int
	// Title heads the comment; "" means "entrasync plan".
	Title string
	// PlanFile and PlanSHA256 name the saved plan file the comment
	// describes (plan -out), and ApplyCommand applies exactly it: the
	// reviewer sees which file merging will apply.
	PlanFile, PlanSHA256, ApplyCommand string
	// Approved are the risk codes approved for this run, as in TextOptions.
	Approved []RiskCode
}

// RenderMarkdown writes the plan as a pull-request comment: the summary
// first, then what needs a person (errors, safety limits, approvals), a
// table of changes, and the full text view folded in a <details> block.
// Member and assignment lists are shown complete while the comment fits in
// MaxBytes; only then are long lists cut, the longest first, with a note
// of how many entries are not shown and where the whole plan is. Like the
// text view it is rendered from the plan data alone.
func RenderMarkdown(w io.Writer, p *Plan, opts MarkdownOptions) error {
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 60000
	}
	if opts.Title == "" {
		opts.Title = "entrasync plan"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "### %s for %s\n\n", mdEscape(opts.Title), mdCode(p.Tenant, false))
	switch {
	case p.Errored:
		b.WriteString("**Planning failed.** Fix the errors below and plan again.\n\n")
	case !p.HasChanges():
		b.WriteString("**No changes.** The tenant matches the spec.\n\n")
	default:
		fmt.Fprintf(&b, "**%s**\n\n", SummaryLine(p))
	}
	var errs, warns []string
	for _, d := range p.Diagnostics {
		line := "- " + mdEscape(d.Summary)
		if !d.Pos.IsZero() {
			line = fmt.Sprintf("- %s: %s", mdCode(d.Pos.String(), false), mdEscape(d.Summary))
		}
		if d.Detail != "" {
			line += "<br>" + mdEscape(strings.ReplaceAll(d.Detail, "\n", " "))
		}
		if d.Severity == 0 {
			errs = append(errs, line)
		} else {
			warns = append(warns, line)
		}
	}
	callout := func(kind, title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "> [!%s]\n> **%s**\n", kind, title)
		for _, l := range lines {
			fmt.Fprintf(&b, "> %s\n", l)
		}
		b.WriteString("\n")
	}
	callout("CAUTION", "Errors", errs)
	var blocks []string
	for _, bl := range p.Blocks {
		blocks = append(blocks, fmt.Sprintf("- %s<br>To allow it, raise %s in the spec.", mdEscape(bl.Summary), mdCode(bl.Setting, false)))
	}
	callout("CAUTION", "Safety limits exceeded: apply will stop before its first write", blocks)
	var weak []string
	for _, s := range p.Safeguards {
		weak = append(weak, fmt.Sprintf("- %s: %s%s", mdCode(s.Setting, false), mdEscape(s.Summary), mdEscape(atPos(s.Pos))))
	}
	callout("WARNING", "Safeguards weakened [ES401]: this spec's settings are weaker than the "+safeguardBase(p)+"; apply refuses the plan unless ES401 is approved", weak)
	gated := Gated(p, opts.Approved)
	var approvals []string
	for _, c := range p.Changes {
		if reason, ok := gated[c.Address]; ok {
			approvals = append(approvals, fmt.Sprintf("- %s %s", mdCode(c.Address, false), mdEscape(reason)))
		}
	}
	if len(approvals) > 0 {
		for _, a := range Dependants(p, gated) {
			approvals = append(approvals, fmt.Sprintf("- %s waits too: it depends on a change above", mdCode(a, false)))
		}
	}
	callout("WARNING", fmt.Sprintf("%d %s approval", len(gated), plural(len(gated), "change needs", "changes need")), approvals)
	callout("NOTE", "Warnings", warns)

	if p.HasChanges() {
		b.WriteString("| | change | risk |\n|---|---|---|\n")
		for i := range p.Changes {
			c := &p.Changes[i]
			risks := make([]string, len(c.Risks))
			for j, r := range c.Risks {
				risks[j] = string(r)
				switch {
				case !slices.Contains(p.RequireApproval, r):
				case slices.Contains(opts.Approved, r):
					risks[j] = string(r) + " (approved)"
				default:
					risks[j] = "**" + string(r) + "** (needs approval)"
				}
			}
			fmt.Fprintf(&b, "| %s | %s %s | %s |\n", mdSymbol(c.Action), mdCode(c.Address, true), mdEscape(headline(c)), strings.Join(risks, ", "))
		}
		b.WriteString("\n")
		footer := fmt.Sprintf("\n<sub>entrasync %s · plan format %s · spec %s · %s</sub>\n", mdEscape(p.ToolVersion), mdEscape(p.FormatVersion), mdEscape(p.SpecDigest), p.CreatedAt.Format("2006-01-02 15:04:05 MST"))
		room := max(opts.MaxBytes-b.Len()-len(footer)-400, 0)
		text, cut, err := fittingDetails(p, opts, room)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "<details><summary>Details</summary>\n\n```diff\n%s```\n%s</details>\n", strings.ReplaceAll(text, "```", "'''"), cut)
		if opts.PlanSHA256 != "" {
			fmt.Fprintf(&b, "\nPlan file %s sha256: %s. Applying exactly it: %s\n", mdCode(opts.PlanFile, false), mdCode(opts.PlanSHA256, false), mdCode(opts.ApplyCommand, false))
		}
		b.WriteString(footer)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// listCuts are the per-list limits tried, in order, when the complete
// details do not fit in one comment.
var listCuts = []int{1000, 500, 200, 100, 50, 25, 10, 5}

// fittingDetails renders the text view for the <details> block within room
// bytes: every list complete if that fits, else with the largest list limit
// that fits, else cut at a line. cut is the note to show under it, "" when
// nothing is left out.
func fittingDetails(p *Plan, opts MarkdownOptions, room int) (text, cut string, err error) {
	render := func(limit int) (string, error) {
		var buf bytes.Buffer
		err := RenderText(&buf, p, TextOptions{OmitDiagnostics: true, Approved: opts.Approved, MaxMembers: limit})
		return buf.String(), err
	}
	where := "the whole plan is in the JSON plan file"
	if opts.PlanFile != "" {
		where = fmt.Sprintf("the whole plan is in %s (the plan artifact; entrasync show %s)", mdCode(opts.PlanFile, false), opts.PlanFile)
	}
	text, err = render(-1)
	if err != nil || len(text) <= room {
		return text, "", err
	}
	for _, limit := range listCuts {
		if text, err = render(limit); err != nil {
			return "", "", err
		}
		if len(text) <= room {
			n := hiddenEntries(p, limit)
			return text, fmt.Sprintf("\n*Lists longer than %d entries are cut to fit one comment (%d %s not shown); %s.*\n", limit, n, plural(n, "entry", "entries"), where), nil
		}
	}
	text = text[:strings.LastIndex(text[:room], "\n")+1]
	return text, fmt.Sprintf("\n*The details were cut to fit one comment; %s.*\n", where), nil
}

// hiddenEntries counts the list entries a limit leaves out of the view.
func hiddenEntries(p *Plan, limit int) int {
	n := 0
	for _, c := range p.Changes {
		if c.Members == nil {
			continue
		}
		for _, l := range [][]Member{c.Members.Add, c.Members.Remove, c.Members.Repair} {
			n += max(len(l)-limit, 0)
		}
	}
	return n
}

func mdSymbol(a Action) string {
	switch a {
	case Create:
		return "➕"
	case Delete:
		return "➖"
	case Update:
		return "✏️"
	}
	return ""
}

// mdEscape makes text (a display name, a diagnostic that quotes one) show
// as itself in a GitHub comment: hidden characters made visible; the
// characters that start markup mid-line backslash-escaped (links, emphasis,
// code, strike-through, tables, references) and HTML written as entities
// (our lines never begin with quoted text, so line-start markup such as
// headings and lists cannot occur); and
// a zero-width space put into @mentions and bare URLs, which GitHub links
// even when escaped (# is backslash-escaped, which stops #references), so no name can ping a team or forge a
// link. Newlines cannot occur: Visible turns them into \u{000A}.
func mdEscape(s string) string {
	return mdNeutral.Replace(mdPunct.Replace(model.Visible(s)))
}

var mdPunct = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "#", `\#`, "|", `\|`, "~", `\~`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;")

// mdNeutral breaks the autolinks GitHub makes after Markdown's escapes are
// read.
var mdNeutral = strings.NewReplacer("@", "@&#8203;", "www.", "www&#8203;.", "://", ":&#8203;//")

// mdCode renders s as an inline code span that s cannot close: the fence
// is one backtick longer than the longest run of backticks in s. Inside a
// table, | is escaped as GitHub's tables require.
func mdCode(s string, inTable bool) string {
	s = model.Visible(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
