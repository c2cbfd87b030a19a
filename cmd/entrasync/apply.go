package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/appliers"
	"github.com/entrasync/entrasync/planner"
)

// savePlan writes p to path and says how to apply exactly this file.
// It returns the file's sha256, which the Markdown view records.
func (a *app) savePlan(p *planner.Plan, path string) (string, error) {
	b, err := planner.Encode(p)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("save plan: %w", err)
	}
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	fmt.Fprintf(a.stderr, "Saved the plan to %s (sha256 %s).\nApply exactly this plan with: %s\n", path, sha, a.applyCommand(path, sha))
	return sha, nil
}

// applyCommand is the command that applies exactly the saved plan at path,
// ready to paste: it names the same spec, the same Graph (simulator, URL)
// and the same policy file as the plan it was made with. Values that come
// from the environment are left to it.
func (a *app) applyCommand(path, sha string) string {
	args := []string{"entrasync", "apply", shellQuote(path), "-f", shellQuote(a.g.spec)}
	if a.g.sim {
		args = append(args, "--sim")
	}
	if a.g.simState != "" {
		args = append(args, "--sim-state", shellQuote(a.g.simState))
	}
	if a.g.graphURL != "" && a.g.graphURL != os.Getenv("ENTRASYNC_GRAPH_URL") {
		args = append(args, "--graph-url", shellQuote(a.g.graphURL))
	}
	if a.g.policy != "" && a.g.policy != os.Getenv("ENTRASYNC_POLICY") {
		args = append(args, "--policy", shellQuote(a.g.policy))
	}
	return strings.Join(append(args, "--plan-sha256", sha), " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readPlan reads a saved plan, refusing a file whose digest is not the
// reviewed one.
func readPlan(path, wantSHA string) (*planner.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if wantSHA != "" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, strings.TrimPrefix(wantSHA, "sha256:")) {
			return nil, fmt.Errorf("plan file %s has sha256 %s, not the reviewed %s: refusing to apply a plan that is not the one reviewed", path, got, wantSHA)
		}
	}
	p, err := planner.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// parseApprovals reads --approve: risk codes, comma-separated or repeated.
func parseApprovals(vals []string) ([]planner.RiskCode, error) {
	var out []planner.RiskCode
	for _, v := range vals {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToUpper(strings.TrimSpace(c))
			if c == "" {
				continue
			}
			if !slices.ContainsFunc(planner.Risks, func(r planner.RiskInfo) bool { return string(r.Code) == c }) {
				return nil, fmt.Errorf("--approve: unknown risk code %q (known: %s)", c, riskCodes())
			}
			out = append(out, planner.RiskCode(c))
		}
	}
	return out, nil
}

func riskCodes() string {
	var cs []string
	for _, r := range planner.Risks {
		cs = append(cs, string(r.Code))
	}
	return strings.Join(cs, ", ")
}

// applyReport is the JSON result of apply and drift --correct.
type applyReport struct {
	Plan    *planner.Plan     `json:"plan"`
	Results []appliers.Result `json:"results"`
	// Waiting are the changes skipped for want of an approval, with why.
	Waiting map[string]string `json:"waiting,omitempty"`
	// Verification is what a fresh read after the apply showed.
	Verification *verification `json:"verification,omitempty"`
}

// execute applies p (already shown and confirmed) and reports. Safety
// limits stop it before any write; gated changes are skipped and listed.
// The returned error carries the exit code.
func (a *app) execute(cmd *cobra.Command, p *planner.Plan, sess *session, approved []planner.RiskCode, format string) error {
	if len(p.Blocks) > 0 {
		var lines []string
		for _, b := range p.Blocks {
			lines = append(lines, fmt.Sprintf("  - %s\n    To allow it, raise %s in the spec.", b.Summary, b.Setting))
		}
		return &exitCodeError{code: exitGated, err: fmt.Errorf("stopped by safety limits before any write:\n%s", strings.Join(lines, "\n"))}
	}
	if len(p.Safeguards) > 0 && !slices.Contains(approved, planner.RiskSafeguard) {
		var lines []string
		for _, s := range p.Safeguards {
			lines = append(lines, fmt.Sprintf("  - %s: %s", s.Setting, s.Summary))
		}
		return &exitCodeError{code: exitGated, err: fmt.Errorf("the spec weakens safeguards (ES401); nothing was applied:\n%s\n  Review them and rerun with --approve ES401, or make them the rule in the policy file (docs/risks/ES401.md)", strings.Join(lines, "\n"))}
	}
	gated := planner.Gated(p, approved)
	start := sess.client.Stats().Snapshot()
	results := appliers.Apply(cmd.Context(), p, sess.client, appliers.Options{Hooks: a.progressHooks(), Skip: gated, ConsistencyTimeout: a.g.consistency, Concurrency: a.g.parallelism})
	applied := sess.client.Stats().Snapshot()
	if a.g.stats {
		fmt.Fprintf(a.stderr, "Graph (apply): %s\n", applied.Sub(start))
	}
	var check verification
	if a.g.verify {
		check = a.verify(cmd.Context(), p, results, sess, gated, approved)
		if a.g.stats {
			fmt.Fprintf(a.stderr, "Graph (verify, %s): %s\n", plural(check.Reads, "1 read", fmt.Sprintf("%d reads", check.Reads)), sess.client.Stats().Snapshot().Sub(applied))
		}
	}
	failed, waiting := 0, 0
	for _, r := range results {
		switch r.Status {
		case appliers.Failed:
			failed++
		case appliers.Skipped:
			waiting++
		}
	}
	if format == "json" {
		if err := a.writeJSON(applyReport{Plan: p, Results: results, Waiting: gated, Verification: &check}); err != nil {
			return err
		}
	} else {
		a.printResults(results)
	}
	switch {
	case failed > 0:
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d of %d changes did not apply; run apply again once the cause is fixed (applied changes are not repeated)%s", failed, len(results), describePending(check.Pending))}
	case a.g.verify && !check.Verified:
		return &exitCodeError{code: exitError, err: fmt.Errorf("apply did not converge within --consistency-timeout %s: a fresh read still differs from the plan:%s\nRun plan to see what is left; run apply again to complete it", a.g.consistency, describePending(check.Pending))}
	case waiting > 0:
		return &exitCodeError{code: exitGated, heading: "Waiting for approval:", err: errors.New(waitingBlock(p, results, gated))}
	}
	return nil
}

// waitingBlock lists what an apply left for an approval: each gated change
// with its codes, the changes that wait behind them, and the rerun that
// lets them through. Everything else was applied.
func waitingBlock(p *planner.Plan, results []appliers.Result, gated map[string]string) string {
	var b strings.Builder
	behind := 0
	for _, r := range results {
		if r.Status != appliers.Skipped {
			continue
		}
		if reason, ok := gated[r.Address]; ok {
			fmt.Fprintf(&b, "  - %s: %s\n", r.Address, reason)
		} else {
			behind++
			fmt.Fprintf(&b, "  - %s: waits for a change above it depends on\n", r.Address)
		}
	}
	sum := plural(len(gated), "1 change needs approval", fmt.Sprintf("%d changes need approval", len(gated)))
	if behind > 0 {
		sum += plural(behind, " and 1 more depends on ", fmt.Sprintf(" and %d more depend on ", behind)) + plural(len(gated), "it", "them")
	}
	return fmt.Sprintf("%s; everything else was applied.\n%sTo apply %s too, %s.", sum, b.String(), plural(len(gated)+behind, "it", "them"), approvalHint(p, gated))
}

// approvalHint says which --approve would let the waiting changes through.
func approvalHint(p *planner.Plan, gated map[string]string) string {
	return "rerun with --approve " + strings.Join(planner.GatedCodes(p, gated), ",")
}

type applyFlags struct {
	autoApprove bool
	approve     []string
	planSHA     string
	format      string
}

func (a *app) applyCmd() *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply [PLAN]",
		Short: "Make the tenant match the spec",
		Long: `Plan, show the plan, ask for confirmation, and apply the changes in dependency order.
Every write is safe to repeat: if an apply is interrupted, run it again.

With a saved plan (entrasync plan -out plan.json), apply first plans again from the same
spec and refuses the saved plan if the spec or any object it was computed from changed;
--plan-sha256 also refuses a plan file that is not the one reviewed. A saved plan is
applied without a prompt: reviewing it was the approval.

Changes with a risk code the spec's settings.requireApproval lists (by default ES101
delete, ES103 owner removal, ES104 lifecycle disable, ES201 privileged grant, ES301
cloud-managed conversion) are skipped unless approved with --approve; everything else
is applied, and the exit code is 3. --auto-approve skips the prompt but never approves a gated code. A plan that
exceeds a safety limit (settings.limits) is not applied at all (exit 3).

Without a terminal, apply needs --auto-approve or a saved plan.

` + exitCodesHelp,
		Example: `  entrasync apply --sim -f examples/quickstart --auto-approve --approve ES101,ES301
  entrasync plan -f ./tenant -out plan.json && entrasync apply plan.json -f ./tenant --plan-sha256 <sha256>`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(f.format); err != nil {
				return err
			}
			approved, err := parseApprovals(f.approve)
			if err != nil {
				return err
			}
			if f.planSHA != "" && len(args) == 0 {
				return fmt.Errorf("--plan-sha256 needs a saved plan: entrasync apply PLAN --plan-sha256 %s", f.planSHA)
			}
			var saved *planner.Plan
			if len(args) == 1 {
				if saved, err = readPlan(args[0], f.planSHA); err != nil {
					return err
				}
				// A saved plan is planned again as it was made: narrowed to
				// its targets, unless --target says otherwise (then the
				// fresh plan differs and the saved one is refused).
				if len(a.g.targets) == 0 {
					a.g.targets = saved.Targets
				}
			}
			a.writing = true
			p, sess, err := a.makePlan(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeSession(sess)
			if saved != nil {
				if saved.SpecDigest != p.SpecDigest {
					return fmt.Errorf("the spec changed since the plan was created (plan: %s, spec now: %s); run plan again", saved.SpecDigest, p.SpecDigest)
				}
				if err := planner.CheckStale(saved, p); err != nil {
					return err
				}
				p = saved // apply what was reviewed
			}
			if f.format != "json" && (saved == nil || f.format == "markdown") {
				if err := a.renderPlan(p, f.format, planView{approved: approved}); err != nil {
					return err
				}
			}
			if p.Errored {
				return &exitCodeError{code: exitError, err: fmt.Errorf("the plan has errors; nothing was applied")}
			}
			if !p.HasChanges() {
				if f.format == "json" {
					return a.writeJSON(applyReport{Plan: p, Results: []appliers.Result{}})
				}
				if saved != nil {
					fmt.Fprintln(a.stdout, "No changes. The tenant matches the spec.")
				}
				return nil
			}
			if !f.autoApprove && saved == nil && len(p.Blocks) == 0 {
				ok, err := a.confirm(p, planner.Gated(p, approved))
				if err != nil {
					return err
				}
				if !ok {
					return &exitCodeError{code: exitError, err: fmt.Errorf("apply cancelled: nothing was changed")}
				}
			}
			return a.execute(cmd, p, sess, approved, f.format)
		},
	}
	cmd.Flags().BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking for confirmation (gated changes still need --approve)")
	cmd.Flags().StringSliceVar(&f.approve, "approve", nil, "approve the changes with these risk codes for this run, e.g. ES101,ES301")
	cmd.Flags().StringVar(&f.planSHA, "plan-sha256", "", "refuse the saved plan unless its file has this sha256 (the one reviewed)")
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text, markdown or json")
	return cmd
}

func (a *app) showCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show PLAN",
		Short: "Render a saved plan",
		Long:  "Render a plan saved with entrasync plan -out, as text, Markdown (for a pull request) or JSON. Nothing is read from Graph.",
		Example: `  entrasync show plan.json
  entrasync show plan.json --format markdown > comment.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			p, err := readPlan(args[0], "")
			if err != nil {
				return err
			}
			return a.renderPlan(p, format, planView{})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, markdown or json")
	return cmd
}

type driftFlags struct {
	correct        bool
	approve        []string
	jsonOut, mdOut string
	format         string
}

func (a *app) driftCmd() *cobra.Command {
	var f driftFlags
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Report how the tenant drifted from the spec, and optionally correct it",
		Long: `Plan against the live tenant and report the drift: the plan on stdout, and a JSON and a
Markdown report for the scheduled job to keep or post. Exit 2 when the tenant drifted, 0
when it matches. With --correct, apply the part of the correction that needs no approval
(gated changes wait for --approve, safety limits stop the run) and exit 0 when all of it
was corrected, 3 when some of it waits.

With --refresh=delta, the member sets the spec manages are read from Graph's delta links
kept in --delta-cache since the last such run: only what changed is read. The cache holds
only what Graph answered; without it, or when Graph no longer honours its links (after
seven days), the sets are listed again and the cache starts anew. With --correct, the check
of the writes reads on from the same links, so it reads what the correction changed.

` + exitCodesHelp,
		Example: `  entrasync drift -f ./tenant --json drift.json --markdown drift.md
  entrasync drift -f ./tenant --correct
  entrasync drift -f ./tenant --refresh=delta   # read only what changed since the last delta run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(f.format); err != nil {
				return err
			}
			approved, err := parseApprovals(f.approve)
			if err != nil {
				return err
			}
			if err := checkRefresh(a.refresh.mode); err != nil {
				return err
			}
			a.writing = f.correct
			p, sess, err := a.makePlan(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeSession(sess)
			if err := a.writeReports(p, f.jsonOut, f.mdOut); err != nil {
				return err
			}
			heading := "The tenant has drifted from the spec. Correcting it would make these changes (drift --correct):"
			if f.correct {
				heading = "The tenant has drifted from the spec. entrasync will correct it with these changes:"
			}
			if err := a.renderPlan(p, f.format, planView{approved: approved, heading: heading}); err != nil {
				return err
			}
			switch {
			case p.Errored:
				return &exitCodeError{code: exitError}
			case !p.HasChanges():
				return nil
			case !f.correct:
				return &exitCodeError{code: exitChanges}
			}
			return a.execute(cmd, p, sess, approved, f.format)
		},
	}
	cmd.Flags().BoolVar(&f.correct, "correct", false, "apply the correction that needs no approval")
	cmd.Flags().StringSliceVar(&f.approve, "approve", nil, "with --correct: approve these risk codes too")
	cmd.Flags().StringVar(&f.jsonOut, "json", "", "write the drift report (the plan as JSON) to this file")
	cmd.Flags().StringVar(&f.mdOut, "markdown", "", "write the drift report as Markdown to this file")
	cmd.Flags().StringVar(&f.format, "format", "text", "stdout format: text, markdown or json")
	a.addRefreshFlags(cmd)
	return cmd
}

func (a *app) writeReports(p *planner.Plan, jsonOut, mdOut string) error {
	if jsonOut != "" {
		b, err := planner.Encode(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if mdOut != "" {
		fh, err := os.Create(mdOut)
		if err != nil {
			return err
		}
		defer fh.Close()
		return planner.RenderMarkdown(fh, p, planner.MarkdownOptions{Title: "entrasync drift report"})
	}
	return nil
}

func (a *app) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// confirm asks for "yes" on a terminal. Without one it refuses, because a
// pipeline must say --auto-approve explicitly.
func (a *app) confirm(p *planner.Plan, gated map[string]string) (bool, error) {
	if !isTerminal(a.stdin) {
		return false, &exitCodeError{code: exitError, err: fmt.Errorf("no terminal to confirm on: pass --auto-approve to apply without confirmation")}
	}
	fmt.Fprintf(a.stdout, "\n%s\n", planner.SummaryLine(p))
	if len(gated) > 0 {
		fmt.Fprintf(a.stdout, "%d %s wait for approval and will be skipped (%s).\n", len(gated), plural(len(gated), "change", "changes"), approvalHint(p, gated))
	}
	fmt.Fprintf(a.stdout, "Do you want to apply these changes? Only 'yes' will be accepted.\n  Enter a value: ")
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes", nil
}

func (a *app) printResults(results []appliers.Result) {
	applied, failed, skipped := 0, 0, 0
	fmt.Fprintln(a.stdout)
	for _, r := range results {
		switch r.Status {
		case appliers.Applied:
			applied++
		case appliers.Failed:
			failed++
			fmt.Fprintf(a.stdout, "Failed:  %s\n  %s\n", r.Address, r.Error)
		case appliers.Skipped:
			skipped++
			fmt.Fprintf(a.stdout, "Skipped: %s (%s)\n", r.Address, r.Error)
		}
	}
	fmt.Fprintf(a.stdout, "Apply complete: %d applied, %d failed, %d skipped.\n", applied, failed, skipped)
}
