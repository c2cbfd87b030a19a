package planner

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// TextOptions tunes the human view of a plan.
type TextOptions struct {
	// Color adds ANSI colours; the CLI sets it only on a terminal without
	// NO_COLOR.
	Color bool
	// MaxMembers is how many member adds or removes are listed per change
	// before the rest is summarised; 0 means 25, a negative number no limit.
	MaxMembers int
	// OmitDiagnostics leaves the plan's warnings and errors out: the CLI
	// writes them to stderr (RenderDiagnostics), so that stdout carries only
	// the plan.
	OmitDiagnostics bool
	// Approved are the risk codes approved for this run (apply --approve):
	// their changes are shown as approved, not as waiting.
	Approved []RiskCode
	// Heading introduces the changes; "" means "entrasync will perform the
	// following actions:". drift says what the tenant drifted by.
	Heading string
}

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiBold   = "\x1b[1m"
)

// RenderText writes the Terraform-like human view of p. It is rendered from
// the plan data alone, the same data the JSON view encodes.
func RenderText(w io.Writer, p *Plan, opts TextOptions) error {
	r := &textRenderer{w: w, opts: opts, plan: p}
	if opts.MaxMembers == 0 {
		r.opts.MaxMembers = 25
	}
	if !opts.OmitDiagnostics {
		r.diagnostics(p)
	}
	if !p.HasChanges() {
		if p.Errored {
			r.printf("\nPlanning failed: fix the errors and plan again.\n")
			return r.err
		}
		r.printf("No changes. The tenant matches the spec.\n")
		return r.err
	}
	heading := opts.Heading
	if heading == "" {
		heading = "entrasync will perform the following actions:"
	}
	r.printf("%s\n", heading)
	for i := range p.Changes {
		r.change(&p.Changes[i])
	}
	r.printf("\n%s\n", SummaryLine(p))
	r.approvals(p)
	if len(p.Safeguards) > 0 {
		verdict := "apply refuses the plan unless ES401 is approved (--approve ES401)"
		if slices.Contains(opts.Approved, RiskSafeguard) {
			verdict = "approved for this run (--approve ES401)"
		}
		r.printf("\n%s this spec's settings are weaker than the %s; %s:\n",
			r.paint(ansiYellow+ansiBold, "Safeguards weakened [ES401]:"), safeguardBase(p), verdict)
		for _, s := range p.Safeguards {
			r.printf("  - %s: %s%s\n", s.Setting, s.Summary, atPos(s.Pos))
		}
	}
	if len(p.Blocks) > 0 {
		r.printf("\n%s apply will stop before its first write:\n", r.paint(ansiRed+ansiBold, "Safety limits exceeded:"))
		for _, b := range p.Blocks {
			r.printf("  - %s\n    To allow it, raise %s in the spec.\n", b.Summary, b.Setting)
		}
	}
	if p.Errored {
		r.printf("\nPlanning found errors: this plan cannot be applied.\n")
	}
	return r.err
}

// RenderDiagnostics writes the plan's warnings and errors, one per line
// with its place, as the CLI prints them on stderr.
func RenderDiagnostics(w io.Writer, p *Plan, color bool) error {
	r := &textRenderer{w: w, opts: TextOptions{Color: color}, plan: p}
	r.diagnostics(p)
	return r.err
}

// approvals says which changes wait for an approval and which were
// approved for this run, and how many more wait behind the gated ones.
func (r *textRenderer) approvals(p *Plan) {
	gated := Gated(p, r.opts.Approved)
	if len(r.opts.Approved) > 0 {
		n := 0
		for _, c := range p.Changes {
			if _, waits := gated[c.Address]; !waits && slices.ContainsFunc(c.Risks, func(code RiskCode) bool {
				return slices.Contains(p.RequireApproval, code) && slices.Contains(r.opts.Approved, code)
			}) {
				n++
			}
		}
		if n > 0 {
			codes := make([]string, len(r.opts.Approved))
			for i, c := range r.opts.Approved {
				codes[i] = string(c)
			}
			r.printf("\n%s %s for this run (--approve %s).\n", r.paint(ansiGreen+ansiBold, "Approved:"),
				plural(n, "1 gated change is approved", fmt.Sprintf("%d gated changes are approved", n)), strings.Join(codes, ","))
		}
	}
	if len(gated) == 0 {
		return
	}
	codes := GatedCodes(p, gated)
	msg := plural(len(gated), "1 change needs approval", fmt.Sprintf("%d changes need approval", len(gated))) + " (" + strings.Join(codes, ", ") + ")"
	skipped := plural(len(gated), "it", "them")
	if dep := len(Dependants(p, gated)); dep > 0 {
		msg += plural(dep, " and 1 more depends on ", fmt.Sprintf(" and %d more depend on ", dep)) + plural(len(gated), "it", "them")
		skipped = fmt.Sprintf("all %d", len(gated)+dep)
		if len(gated)+dep == 2 {
			skipped = "both"
		}
	}
	r.printf("\n%s %s; apply skips %s until approved with --approve %s.\n", r.paint(ansiYellow+ansiBold, "Approval:"), msg, skipped, strings.Join(codes, ","))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SummaryLine is the closing line of a plan, e.g.
// "Plan: 1 to create, 2 to update, 0 to delete; members: 3 to add, 1 to remove."
func SummaryLine(p *Plan) string {
	s := p.Summarize()
	line := fmt.Sprintf("Plan: %d to create, %d to update, %d to delete", s.Create, s.Update, s.Delete)
	if s.MembersAdd+s.MembersRemove > 0 {
		line += fmt.Sprintf("; members: %d to add, %d to remove", s.MembersAdd, s.MembersRemove)
	}
	if s.AssignmentsAdd+s.AssignmentsRemove+s.Repairs > 0 {
		line += fmt.Sprintf("; assignments: %d to add, %d to remove", s.AssignmentsAdd, s.AssignmentsRemove)
		if s.Repairs > 0 {
			line += fmt.Sprintf(", %d to repair", s.Repairs)
		}
	}
	return line + "."
}

type textRenderer struct {
	w    io.Writer
	opts TextOptions
	err  error
	plan *Plan
	// resources is set while a catalog's resources are rendered, where a
	// service principal stands for its application.
	resources bool
}

// riskLabel is a risk code as the change's headline shows it: whether a
// gate holds it back, or this run approved it.
func (r *textRenderer) riskLabel(code RiskCode) string {
	switch {
	case r.plan == nil || !slices.Contains(r.plan.RequireApproval, code):
		return string(code)
	case slices.Contains(r.opts.Approved, code):
		return string(code) + " approved"
	}
	return string(code) + " needs approval"
}

// printf writes a line of the view. Every string argument is made
// visible first (model.Visible): names come from the spec and the tenant,
// and a control character in one must not move the cursor, clear the
// screen or start a forged line. Colour comes only from paint.
func (r *textRenderer) printf(format string, args ...any) {
	if r.err != nil {
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = model.Visible(s)
		}
	}
	_, r.err = fmt.Fprintf(r.w, format, args...)
}

// painted is text with colour codes, written as it is.
type painted string

func (r *textRenderer) paint(color, s string) painted {
	if !r.opts.Color {
		return painted(model.Visible(s))
	}
	return painted(color + model.Visible(s) + ansiReset)
}

// diagnostics writes each diagnostic as the spec loader does (and as
// compilers do, so that editors and CI problem matchers read both alike):
// "file:line:col: error: address: summary", the detail indented below.
func (r *textRenderer) diagnostics(p *Plan) {
	for _, d := range p.Diagnostics {
		label := r.paint(ansiYellow+ansiBold, "warning:")
		if d.Severity == model.Error {
			label = r.paint(ansiRed+ansiBold, "error:")
		}
		where, addr := "", ""
		if !d.Pos.IsZero() {
			where = d.Pos.String() + ": "
		}
		if d.Address != "" {
			addr = d.Address + ": "
		}
		r.printf("%s%s %s%s\n", where, label, addr, d.Summary)
		if d.Detail != "" {
			r.printf("    %s\n", strings.ReplaceAll(d.Detail, "\n", "\n    "))
		}
	}
	if len(p.Diagnostics) > 0 {
		r.printf("\n")
	}
}

func (r *textRenderer) symbol(a Action) painted {
	switch a {
	case Create:
		return r.paint(ansiGreen, "+")
	case Delete:
		return r.paint(ansiRed, "-")
	case Update:
		return r.paint(ansiYellow, "~")
	}
	return " "
}

func (r *textRenderer) change(c *Change) {
	r.printf("\n  # %s %s", c.Address, headline(c))
	if len(c.Risks) > 0 {
		codes := make([]string, len(c.Risks))
		for i, code := range c.Risks {
			codes[i] = r.riskLabel(code)
		}
		r.printf("  [%s]", r.paint(ansiYellow, strings.Join(codes, ", ")))
	}
	r.printf("\n")
	sym := r.symbol(c.Action)
	switch c.Kind {
	case KindGroupMembers, KindGroupOwners, KindCatalogResources, KindAssignments, KindIncompatible, KindSponsors, KindOwners:
		what := map[Kind]string{KindGroupMembers: "members of group", KindGroupOwners: "owners of group", KindCatalogResources: "resources of catalog",
			KindAssignments: "assignments of access package", KindIncompatible: "incompatibilities of access package", KindSponsors: "sponsors of", KindOwners: "owners of blueprint"}[c.Kind]
		r.printf("  %s %s %q (%s) {\n", sym, what, c.Object, c.Members.Mode)
		r.resources = c.Kind == KindCatalogResources
		r.members(r.symbol(Create), c.Members.Add)
		r.members(r.symbol(Delete), c.Members.Remove)
		r.members(r.symbol(Update), c.Members.Repair)
		r.printf("    }\n")
		return
	case KindGrant:
		r.printf("  %s application permissions of %q on %q {\n", sym, c.Object, strings.TrimSuffix(strings.TrimPrefix(c.Parents["resource"].Address, "application["), "]"))
		for _, ro := range c.Roles.Add {
			mark := ""
			if _, ok := privilegedPermissions[ro.Role]; ok {
				mark = "  (privileged)"
			}
			r.printf("      %s %s%s\n", r.symbol(Create), ro.Role, mark)
		}
		for _, ro := range c.Roles.Remove {
			r.printf("      %s %s\n", r.symbol(Delete), ro.Role)
		}
		r.printf("    }\n")
		return
	case KindPackageRoles:
		r.printf("  %s roles of access package %q {\n", sym, c.Object)
		for _, ro := range c.Roles.Add {
			r.printf("      %s %s\n", r.symbol(Create), packageRoleLabel(ro))
		}
		for _, ro := range c.Roles.Remove {
			r.printf("      %s %s\n", r.symbol(Delete), packageRoleLabel(ro))
		}
		r.printf("    }\n")
		return
	default:
		r.printf("  %s %s %q {\n", sym, kindNoun(c.Kind), c.Object)
	}
	if c.ObjectID != "" {
		r.printf("        id = %q\n", c.ObjectID)
	}
	width := 0
	for _, f := range c.Fields {
		width = max(width, len(f.Field))
	}
	for _, f := range c.Fields {
		// A policy's fields are leaves in the spec's terms (policyview.go),
		// added and removed like an exposed scope.
		show, leaves := value, c.Kind == KindExposedScopes
		if c.Kind == KindPolicy {
			show, leaves = policyValue, true
		}
		switch c.Action {
		case Create:
			r.printf("      %s %-*s = %s\n", r.symbol(Create), width, f.Field, show(f.After))
		case Update:
			switch {
			case leaves && f.Before == nil:
				r.printf("      %s %-*s = %s\n", r.symbol(Create), width, f.Field, show(f.After))
			case leaves && f.After == nil:
				r.printf("      %s %-*s = %s\n", r.symbol(Delete), width, f.Field, show(f.Before))
			default:
				r.printf("      %s %-*s = %s -> %s\n", r.symbol(Update), width, f.Field, show(f.Before), show(f.After))
			}
		case Delete:
			r.printf("      %s %-*s = %s\n", r.symbol(Delete), width, f.Field, show(f.Before))
		}
	}
	if c.Kind == KindAgentIdentity && c.Members != nil && len(c.Members.Add) > 0 {
		r.printf("      %s sponsors:\n", r.symbol(Create))
		r.members("  "+r.symbol(Create), c.Members.Add)
	}
	r.printf("    }\n")
}

func (r *textRenderer) members(sym painted, ms []Member) {
	for i, m := range ms {
		if i == r.opts.MaxMembers {
			r.printf("      %s ... and %d more\n", sym, len(ms)-i)
			return
		}
		label := m.Label
		if m.Kind == "servicePrincipal" && r.resources {
			label = fmt.Sprintf("application %q", m.Label)
		} else if m.Kind == "sharePointSite" {
			label = "SharePoint site " + m.Label
		} else if m.Kind == "accessPackage" {
			label = fmt.Sprintf("access package %q", m.Label)
		} else if m.Kind != "user" {
			label = fmt.Sprintf("%s %q", m.Kind, m.Label)
		}
		switch {
		case m.Invite:
			label += " (invited as a guest first)"
		case m.ID == "" && m.Address != "":
			label += " (created by this plan)"
		case m.Assignment != "" && sym != "" && strings.Contains(string(sym), "~"):
			label += " (delivered without its group membership: reprocess)"
		}
		r.printf("      %s %s\n", sym, label)
	}
}

// packageRoleLabel says which role of which resource a package grants:
// Member of group "X", Approver of application "Y", Contoso Members of
// SharePoint site https://….
func packageRoleLabel(ro RoleRef) string {
	if ro.Group.Kind == "sharePointSite" {
		label := fmt.Sprintf("%s of SharePoint site %s", ro.Role, ro.Group.Label)
		if ro.RoleID == "" && ro.ID == "" {
			label += " (the site is added to the catalog first; the role is found by name then)"
		}
		return label
	}
	return fmt.Sprintf("%s of %s %q", ro.Role, resourceNoun(ro.Group), ro.Group.Label)
}

func resourceNoun(m Member) string {
	if m.Kind == "servicePrincipal" {
		return "application"
	}
	return "group"
}

func kindNoun(k Kind) string {
	switch k {
	case KindCatalog:
		return "catalog"
	case KindPackage:
		return "access package"
	case KindPolicy:
		return "assignment policy"
	case KindBlueprint:
		return "blueprint"
	case KindBlueprintPrincipal:
		return "blueprint principal of"
	case KindAgentIdentity:
		return "agent identity"
	case KindAgentUser:
		return "agent user"
	case KindDelegatedGrant:
		return "delegated permissions of"
	case KindInheritable:
		return "inheritable permissions of blueprint"
	case KindCredential:
		return "federated credential"
	case KindExposedScopes:
		return "exposed scopes of blueprint"
	case KindCustomExtension:
		return "custom extension"
	}
	return "group"
}

// headline says what a change does, after its address (which names the
// set: group["X"].members, access_package["Y"].roles).
func headline(c *Change) string {
	sets := func(add, remove int) string { return fmt.Sprintf("will change: %d to add, %d to remove", add, remove) }
	switch {
	case c.Kind == KindGroupMembers, c.Kind == KindGroupOwners, c.Kind == KindCatalogResources, c.Kind == KindSponsors, c.Kind == KindIncompatible:
		return sets(len(c.Members.Add), len(c.Members.Remove))
	case c.Kind == KindAssignments:
		h := sets(len(c.Members.Add), len(c.Members.Remove))
		invites := 0
		for _, m := range c.Members.Add {
			if m.Invite {
				invites++
			}
		}
		if invites > 0 {
			h += plural(invites, " (1 guest to invite)", fmt.Sprintf(" (%d guests to invite)", invites))
		}
		if n := len(c.Members.Repair); n > 0 {
			h += fmt.Sprintf(", %d to repair", n)
		}
		return h
	case c.Kind == KindPackageRoles:
		return sets(len(c.Roles.Add), len(c.Roles.Remove))
	case c.Kind == KindOwners:
		if n := len(c.Members.Add); n != 1 {
			return fmt.Sprintf("will add %d owners", n)
		}
		return "will add 1 owner"
	case c.Kind == KindGrant:
		return fmt.Sprintf("will change: %d to grant, %d to revoke", len(c.Roles.Add), len(c.Roles.Remove))
	case c.Kind == KindGroupSourceOfAuthority:
		return "will be converted from AD-synced to cloud-managed"
	case c.Action == Create:
		return "will be created"
	case c.Action == Delete:
		return "will be deleted"
	}
	return "will be updated in-place"
}

func value(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any, []any, []string:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}
