package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/entrasync/entrasync/appliers"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
	"github.com/entrasync/entrasync/schema"
	"github.com/entrasync/entrasync/spec"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the entrasync version, commit, build date, Go version and platform",
		Example: "  entrasync version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "%s  plan format: %s\n", readBuildInfo(), planner.FormatVersion)
			return nil
		},
	}
}

func (a *app) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the tenant spec",
		Long: `Print the JSON Schema of the tenant spec, for editors and CI. With the YAML language
server, point a spec at it with a first line such as:

  # yaml-language-server: $schema=./tenant.schema.json`,
		Example: "  entrasync schema > tenant.schema.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := a.stdout.Write(schema.JSON)
			return err
		},
	}
}

type planFlags struct {
	detailedExitCode bool
	format           string
	showRequests     bool
	out              string
}

// checkFormat validates a --format flag.
func checkFormat(format string) error {
	switch format {
	case "text", "markdown", "json":
		return nil
	}
	return fmt.Errorf("--format must be text, markdown or json, not %q", format)
}

// makePlan loads the spec, reads the tenant and computes the plan.
func (a *app) makePlan(ctx context.Context) (*planner.Plan, *session, error) {
	s, err := a.loadSpec()
	if err != nil {
		return nil, nil, err
	}
	policy, err := a.loadPolicy(s)
	if err != nil {
		return nil, nil, err
	}
	// What graph reads depends on the protected principals (nested members
	// of groups a plan could take away): the policy's count too.
	toRead := s.Tenant
	if policy != nil && len(policy.Protected) > 0 {
		t := *s.Tenant
		t.Settings.Protected = append(slices.Clone(t.Settings.Protected), policy.Protected...)
		toRead = &t
	}
	sess, err := a.connect(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	if err := a.takeLease(ctx, sess, s.Tenant.Domain); err != nil {
		sess.close()
		return nil, nil, err
	}
	start := sess.client.Stats().Snapshot()
	fmt.Fprintf(a.stderr, "Reading the tenant for %s...\n", describeSpec(s.Tenant))
	var observed *model.Tenant
	if a.refresh.mode == "delta" {
		observed, err = a.readDelta(ctx, sess, s, toRead, false)
	} else {
		observed, err = sess.client.Read(ctx, toRead)
	}
	if err != nil {
		sess.close()
		return nil, nil, fmt.Errorf("reading the tenant: %w", err)
	}
	if observed.Domain == "" && !a.tenantVerified {
		// Neither check could be made: the spec may describe another tenant.
		sess.close()
		why := "the credential's token names no tenant"
		if a.tenantUnresolved != "" {
			why = a.tenantUnresolved
		}
		return nil, nil, &exitCodeError{code: exitError, err: fmt.Errorf("cannot confirm that Graph answers for tenant %s: GET /organization was refused (it needs Directory.Read.All) and %s; nothing was changed", s.Tenant.Domain, why)}
	}
	if a.g.stats {
		fmt.Fprintf(a.stderr, "Graph (plan): %s\n", sess.client.Stats().Snapshot().Sub(start))
	}
	opts := planner.Options{Now: time.Now, ToolVersion: version(), SpecDigest: s.Digest, Targets: a.g.targets, Policy: policy}
	if policy != nil {
		opts.PolicyFile = a.g.policy
	}
	p := planner.Compute(s.Tenant, observed, opts)
	// Apply verifies its work by planning again from a fresh read of the
	// same scope, with the same options. With --refresh=delta that read
	// continues the delta links this one left, so it reads what changed
	// since, the apply's own writes first; a full read would spend again
	// what the delta read saved (issue 13: the nightly drift job's
	// correction is then 2 delta reads and its writes).
	a.replan = func(ctx context.Context) (*planner.Plan, error) {
		var observed *model.Tenant
		var err error
		if a.refresh.mode == "delta" {
			observed, err = a.readDelta(ctx, sess, s, toRead, true)
		} else {
			observed, err = sess.client.Read(ctx, toRead)
		}
		if err != nil {
			return nil, err
		}
		return planner.Compute(s.Tenant, observed, opts), nil
	}
	return p, sess, nil
}

// loadPolicy reads --policy (ENTRASYNC_POLICY), nil without one. A policy
// inside the spec is refused: the pull request that edits the spec could
// lower its own floor, and the file would be read as spec settings too.
func (a *app) loadPolicy(s *spec.Spec) (*model.Settings, error) {
	if a.g.policy == "" {
		return nil, nil
	}
	if inside(a.g.policy, s.SettingsRoot) {
		return nil, fmt.Errorf("the policy file %s is inside the spec %s: a change to the spec could change its floor too; keep the policy outside the spec directory (for example with the CI configuration, owned by the pipeline's owners)", a.g.policy, s.SettingsRoot)
	}
	pol, diags := spec.LoadPolicy(a.g.policy)
	for _, d := range diags {
		if d.Severity == model.Warning {
			fmt.Fprintln(a.stderr, d.String())
		}
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("the policy file has errors:\n%s", diags.Error())
	}
	return pol, nil
}

// inside reports whether path is dir or below it, symlinks resolved.
func inside(path, dir string) bool {
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		a, _ := filepath.Abs(p)
		return a
	}
	p, d := resolve(path), resolve(dir)
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// planView is how a command wants its plan shown: the approvals of this
// run, drift's wording, and the Markdown extras of a saved plan.
type planView struct {
	approved []planner.RiskCode
	heading  string
	md       planner.MarkdownOptions
}

// renderPlan writes the plan to stdout and its diagnostics to stderr, so
// that stdout carries only the plan (a Markdown comment or JSON document
// redirected to a file never holds an error message). An errored plan is
// not rendered as text or Markdown at all: the errors on stderr and the
// exit code say it all. JSON always carries the plan, diagnostics included,
// for tools.
func (a *app) renderPlan(p *planner.Plan, format string, v planView) error {
	if err := planner.RenderDiagnostics(a.stderr, p, a.colorOn(a.stderr)); err != nil {
		return err
	}
	if p.Errored && format != "json" {
		n := 0
		for _, d := range p.Diagnostics {
			if d.Severity == model.Error {
				n++
			}
		}
		fmt.Fprintf(a.stderr, "\nPlanning failed with %s: fix %s and plan again. Nothing was changed.\n", plural(n, "1 error", fmt.Sprintf("%d errors", n)), plural(n, "it", "them"))
		return nil
	}
	switch format {
	case "json":
		b, err := planner.Encode(p)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(b)
		return err
	case "markdown":
		md := v.md
		md.Approved = v.approved
		return planner.RenderMarkdown(a.stdout, p, md)
	}
	return planner.RenderText(a.stdout, p, planner.TextOptions{Color: a.color(), OmitDiagnostics: true, Approved: v.approved, Heading: v.heading, MaxMembers: a.maxList()})
}

// maxList is --max-list as TextOptions.MaxMembers has it (0 lists all).
func (a *app) maxList() int {
	if a.g.maxList <= 0 {
		return -1
	}
	return a.g.maxList
}

func (a *app) color() bool { return a.colorOn(a.stdout) }

// colorOn reports whether output to w may be coloured.
func (a *app) colorOn(w io.Writer) bool {
	if a.g.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether v is an interactive terminal (not a pipe, a
// file, or /dev/null, which is a character device but no terminal).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) planCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in the tenant",
		Long: `Read the live tenant through Microsoft Graph, compare it with the spec and print the
changes apply would make. Nothing is written.

` + exitCodesHelp,
		Example: `  entrasync plan --sim -f examples/quickstart
  entrasync plan -f ./tenant --detailed-exitcode        # exit 2 when there are changes
  entrasync plan -f ./tenant -out plan.json             # save it for review, then: entrasync apply plan.json
  entrasync plan -f ./tenant --format markdown > pr.md  # a pull-request comment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(f.format); err != nil {
				return err
			}
			if err := checkRefresh(a.refresh.mode); err != nil {
				return err
			}
			p, sess, err := a.makePlan(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeSession(sess)
			var v planView
			if f.out != "" && !p.Errored {
				sha, err := a.savePlan(p, f.out)
				if err != nil {
					return err
				}
				v.md.PlanFile, v.md.PlanSHA256, v.md.ApplyCommand = f.out, sha, a.applyCommand(f.out, sha)
			}
			if err := a.renderPlan(p, f.format, v); err != nil {
				return err
			}
			if f.showRequests {
				a.showRequests(p)
			}
			switch {
			case p.Errored:
				return &exitCodeError{code: exitError}
			case f.detailedExitCode && p.HasChanges():
				return &exitCodeError{code: exitChanges}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.detailedExitCode, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on error")
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text, markdown or json")
	cmd.Flags().BoolVar(&f.showRequests, "show-requests", false, "also print the Graph requests apply would send")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "save the plan to this file, for entrasync apply FILE and entrasync show FILE")
	a.addRefreshFlags(cmd)
	return cmd
}

func (a *app) closeSession(s *session) {
	if s == nil {
		return
	}
	if err := s.close(); err != nil {
		fmt.Fprintf(a.stderr, "Warning: %v\n", err)
	}
	if a.g.stats {
		fmt.Fprintf(a.stderr, "Graph (total): %s\n", s.client.Stats().Snapshot())
	}
}

func (a *app) showRequests(p *planner.Plan) {
	fmt.Fprintln(a.stdout, "\nRequests apply would send:")
	for i := range p.Changes {
		ops, err := appliers.Compile(&p.Changes[i], appliers.NoIDs)
		if err != nil {
			fmt.Fprintf(a.stdout, "  %s: %v\n", p.Changes[i].Address, err)
			continue
		}
		for _, op := range ops {
			body := ""
			if op.Body != nil {
				b, _ := json.Marshal(op.Body)
				body = " " + string(b)
			}
			fmt.Fprintf(a.stdout, "  %s %s%s\n", op.Method, op.Path, body)
		}
	}
}

func (a *app) simCmd() *cobra.Command {
	sim := &cobra.Command{
		Use:   "sim",
		Short: "Run the Graph simulator (graphsim)",
		Long: `graphsim is an in-memory Microsoft Graph tenant: the peer of entrasync's tests and the
tenant behind --sim. 'sim serve' serves it over HTTP.`,
		Example: "  entrasync sim serve --addr 127.0.0.1:8080 --faults throttle=0.1,lag=1s",
	}
	var addr, fixture, faults string
	var so *simServeOptions // set once the command exists (its flags)
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the in-memory Graph simulator over HTTP",
		Long: `Serve graphsim, the in-memory Microsoft Graph tenant that entrasync's tests run against,
for other tools or for a real client. Point entrasync at it with --graph-url.`,
		Example: `  entrasync sim serve --addr 127.0.0.1:8080 &
  entrasync plan -f examples/quickstart --graph-url http://127.0.0.1:8080

  # with sign-in and per-route permissions, as a real tenant enforces them:
  entrasync sim serve --enforce-auth --ca-out ca.pem &`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fx := graphsim.DemoFixture()
			if fixture != "" {
				r, err := os.Open(fixture)
				if err != nil {
					return err
				}
				defer r.Close()
				if fx, err = graphsim.LoadFixture(r); err != nil {
					return fmt.Errorf("fixture %s: %w", fixture, err)
				}
			}
			s := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1, LightLog: true})
			fs, err := parseFaults(faults)
			if err != nil {
				return err
			}
			s.SetFaults(fs)
			return a.serveSim(cmd.Context(), s, addr, so)
		},
	}
	so = a.simServeFlags(serve)
	serve.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	serve.Flags().StringVar(&fixture, "fixture", "", "JSON fixture to seed the tenant (default: the built-in demo tenant)")
	serve.Flags().StringVar(&faults, "faults", "", "faults, as --sim-faults")
	sim.AddCommand(serve)
	return sim
}

var _ = spec.Load

// describeSpec counts what a spec manages: "4 groups, 1 catalog". Only
// the kinds it declares are named.
func describeSpec(t *model.Tenant) string {
	var parts []string
	count := func(n int, one, many string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, one, many)))
		}
	}
	count(len(t.Groups), "group", "groups")
	count(len(t.Catalogs), "catalog", "catalogs")
	count(len(t.AccessPackages), "access package", "access packages")
	count(len(t.Blueprints), "blueprint", "blueprints")
	count(len(t.AgentIdentities), "agent identity", "agent identities")
	count(len(t.AgentUsers), "agent user", "agent users")
	count(len(t.Grants), "permission grant", "permission grants")
	count(len(t.Lifecycle), "lifecycle rule", "lifecycle rules")
	if len(parts) == 0 {
		return "an empty spec"
	}
	return strings.Join(parts, ", ")
}
