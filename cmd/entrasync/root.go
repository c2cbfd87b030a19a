package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// Exit codes, stable and documented in the README and in --help.
const (
	exitOK      = 0 // success; with --detailed-exitcode: no changes
	exitError   = 1 // any error
	exitChanges = 2 // plan --detailed-exitcode: the plan has changes
	exitGated   = 3 // apply stopped at an approval gate or safety threshold
)

const exitCodesHelp = `Exit codes:
  0  success (with --detailed-exitcode: no changes)
  1  error: bad spec, Graph failure, a change that failed to apply
  2  with --detailed-exitcode: the plan has changes
  3  apply stopped at an approval gate or safety threshold`

// exitError carries an exit code through cobra.
type exitCodeError struct {
	code int
	err  error
	// heading replaces "Error:" when the outcome is no error, such as
	// changes that wait for an approval (exit 3).
	heading string
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// app holds the streams and global flags of one run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	g              globalFlags
	log            *slog.Logger
	// writing is set by commands that may write (apply, drift --correct)
	// before they connect, so the pre-flight permission check asks for the
	// write permissions too.
	writing bool
	// auth holds the authentication flags (auth.go).
	auth authFlags
	// tenantVerified is set when the token's tenant was matched with the
	// spec's through the authority's OpenID metadata (checkTenant);
	// tenantUnresolved says why that could not be done.
	tenantVerified   bool
	tenantUnresolved string
	// replan reads the tenant again and plans the same spec with the same
	// options (set by makePlan; apply's verification uses it).
	replan func(context.Context) (*planner.Plan, error)
	// cancel ends the --timeout context, runCtx.
	cancel context.CancelFunc
	runCtx context.Context
	// refresh is plan's and drift's --refresh and --delta-cache (delta.go).
	refresh refreshFlags
	// simFresh is set when --sim started a new simulator state.
	simFresh bool
}

type globalFlags struct {
	spec      string
	sim       bool
	simState  string
	simFaults string
	graphURL  string
	policy    string
	targets   []string
	// requestTimeout bounds one attempt of a Graph request.
	requestTimeout time.Duration
	// retryBudget bounds how long one request is retried (throttling,
	// transient errors), Retry-After included.
	retryBudget time.Duration
	stats       bool
	noColor     bool
	debug       bool
	// maxList bounds the entries listed per member or assignment list in
	// the text view (0: all).
	maxList int
	// consistency bounds each wait for eventual consistency in apply.
	consistency time.Duration
	// verify makes apply read the tenant again until it shows the plan's
	// result (converge.go).
	verify bool
	// timeout bounds the whole run (0: none).
	timeout time.Duration
	// lock makes runs that write take the tenant's run lease first
	// (lease.go); lockName names it, lockTimeout bounds the wait.
	lock        bool
	lockName    string
	lockTimeout time.Duration
	// parallelism bounds the writes in flight (progress.go).
	parallelism int
}

// envDuration reads a duration from the environment, def when unset or
// malformed (the flag's own parsing reports a bad --request-timeout).
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(terraformFlags(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := root.ExecuteContext(ctx)
	// The deadline is read from the run's context, not only from the
	// error: a read stopped by its sibling's failure at the deadline may
	// report only that it was canceled.
	timedOut := a.runCtx != nil && errors.Is(a.runCtx.Err(), context.DeadlineExceeded)
	if a.cancel != nil {
		a.cancel()
	}
	if err != nil && a.g.timeout > 0 && (timedOut || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("%w (the run took longer than --timeout %s; nothing more was sent, and the next plan shows what was done)", err, a.g.timeout)
	}
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		switch {
		case ec.err == nil:
		case ec.heading != "":
			fmt.Fprintf(stderr, "\n%s %v\n", ec.heading, ec.err)
		default:
			fmt.Fprintf(stderr, "Error: %v\n", ec.err)
		}
		return ec.code
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return exitError
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "entrasync",
		Short: "Manage a Microsoft Entra ID tenant as code",
		Long: `entrasync reads a tenant spec (YAML files plus the CSV files they name), compares it
with the live tenant through Microsoft Graph, and shows or applies the difference.
It keeps no state file: the tenant is the state.

Try it on the embedded simulator, no tenant needed:

  entrasync plan --sim -f examples/quickstart
  entrasync apply --sim -f examples/quickstart --auto-approve

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			if a.g.debug {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			if a.g.timeout > 0 {
				// The run's deadline reaches every request, wait and
				// retry through the context; the cancel runs when the
				// process ends.
				ctx, cancel := context.WithTimeoutCause(cmd.Context(), a.g.timeout, fmt.Errorf("the run took longer than --timeout %s", a.g.timeout))
				a.cancel, a.runCtx = cancel, ctx
				cmd.SetContext(ctx)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.g.spec, "file", "f", ".", "spec: a YAML file or a directory of them")
	pf.BoolVar(&a.g.sim, "sim", false, "run against the embedded Graph simulator (state kept in <spec dir>/.entrasync/sim.json)")
	pf.StringVar(&a.g.simState, "sim-state", "", "simulator state file (default <spec dir>/.entrasync/sim.json)")
	pf.StringVar(&a.g.simFaults, "sim-faults", "", "simulator faults, e.g. \"throttle=0.2,5xx=0.05,drop=0.05,lag=2s,latency=20ms\"")
	pf.StringVar(&a.g.graphURL, "graph-url", envOr("ENTRASYNC_GRAPH_URL", ""), "Microsoft Graph base URL without version (default https://graph.microsoft.com; env ENTRASYNC_GRAPH_URL)")
	pf.DurationVar(&a.g.requestTimeout, "request-timeout", envDuration("ENTRASYNC_REQUEST_TIMEOUT", graph.DefaultRequestTimeout), "give up one attempt of a Graph request after this long without a full answer, then retry (env ENTRASYNC_REQUEST_TIMEOUT)")
	pf.DurationVar(&a.g.retryBudget, "retry-budget", envDuration("ENTRASYNC_RETRY_BUDGET", graph.DefaultRetryBudget), "how long one Graph request is retried through throttling and transient errors, honouring Retry-After, before the run reports it (env ENTRASYNC_RETRY_BUDGET)")
	pf.StringArrayVar(&a.g.targets, "target", nil, `narrow the run to these addresses and what they depend on, e.g. --target 'group["Team *"]' (repeatable; settings, gates and limits still apply)`)
	pf.StringVar(&a.g.policy, "policy", envOr("ENTRASYNC_POLICY", ""), "policy file outside the spec whose settings: are a floor the spec cannot lower (env ENTRASYNC_POLICY)")
	pf.BoolVar(&a.g.stats, "stats", false, "print Graph request counts (requests, retries, throttled, time waiting) to stderr")
	pf.BoolVar(&a.g.noColor, "no-color", false, "no colour in output (also when NO_COLOR is set or output is not a terminal)")
	pf.IntVar(&a.g.maxList, "max-list", 25, "list at most this many members or assignments per change in the text view (0: all; Markdown lists all that fit one comment)")
	pf.BoolVar(&a.g.debug, "debug", false, "debug logging to stderr (never logs tokens or secrets)")
	pf.DurationVar(&a.g.consistency, "consistency-timeout", 2*time.Minute, "how long apply waits for Graph's eventual consistency (a new object to show, an asynchronous removal to finish) before it gives up on a change")
	pf.BoolVar(&a.g.verify, "verify", true, "after apply, read the tenant again until it shows every change (within --consistency-timeout), apply again what failed, and exit 0 only then")
	pf.DurationVar(&a.g.timeout, "timeout", envDuration("ENTRASYNC_TIMEOUT", 0), "give up the whole run after this long, e.g. 30m (default none; env ENTRASYNC_TIMEOUT)")
	pf.BoolVar(&a.g.lock, "lock", true, "runs that write (apply, drift --correct) first take the tenant's run lease, so two runs never write at once (needs Group.ReadWrite.All)")
	pf.StringVar(&a.g.lockName, "lock-name", envOr("ENTRASYNC_LOCK_NAME", "default"), "the run lease's name: runs that share it exclude each other (env ENTRASYNC_LOCK_NAME)")
	pf.DurationVar(&a.g.lockTimeout, "lock-timeout", 10*time.Minute, "how long to wait for another run's lease before giving up")
	a.addAuthFlags(pf)
	a.addProgressFlags(pf)

	root.AddCommand(a.validateCmd(), a.planCmd(), a.applyCmd(), a.showCmd(), a.driftCmd(), a.schemaCmd(), a.simCmd(), a.versionCmd())
	root.AddCommand(a.permissionsCmd(), a.exportCmd())
	a.registerCompletions(root)
	return root
}

// terraformFlags accepts the single-dash spellings Terraform users type
// (-out plan.json, -auto-approve, -no-color, -target=…) for the flags
// entrasync shares with it; pflag would read -out as -o with the value
// "ut". Terraform's -json is our --format json. Arguments after "--" are
// left alone.
func terraformFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(arg, "=")
		switch name {
		case "-out", "-auto-approve", "-detailed-exitcode", "-no-color", "-target", "-lock", "-lock-timeout", "-parallelism":
			arg = "-" + arg
		case "-json":
			if name == arg {
				arg = "--format=json"
			}
		}
		out = append(out, arg)
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
