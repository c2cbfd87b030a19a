package main

// Authentication flags, the permission pre-flight, and `entrasync
// permissions`. connect (target.go) calls signIn and preflight.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/spec"
)

// authFlags are the global flags of authentication.
type authFlags struct {
	kind      string
	caFile    string
	skipCheck bool
	// simRoles, when set, turns authentication on in the embedded
	// simulator: it enforces tokens and these granted permissions, and
	// entrasync signs in to it as its built-in app.
	simRoles string
	// flags is where the flags live, to tell whether --auth was given (it
	// then also applies to a plain-http loopback --graph-url).
	flags *pflag.FlagSet
}

// explicit reports whether --auth (or ENTRASYNC_AUTH) was given.
func (f *authFlags) explicit() bool {
	if os.Getenv("ENTRASYNC_AUTH") != "" {
		return true
	}
	fl := f.flags.Lookup("auth")
	return fl != nil && fl.Changed
}

// addAuthFlags registers the authentication flags on the root command.
func (a *app) addAuthFlags(pf *pflag.FlagSet) {
	a.auth.flags = pf
	pf.StringVar(&a.auth.kind, "auth", envOr("ENTRASYNC_AUTH", string(graph.AuthEnv)),
		"how to sign in to Microsoft Graph: "+authKindList()+" (env ENTRASYNC_AUTH; see the README for each kind's environment variables)")
	pf.StringVar(&a.auth.caFile, "ca-file", envOr("ENTRASYNC_CA_FILE", ""),
		"PEM file of extra certificate authorities to trust for Graph and the sign-in endpoint, e.g. graphsim's (env ENTRASYNC_CA_FILE)")
	pf.BoolVar(&a.auth.skipCheck, "skip-permission-check", false,
		"do not compare the token's permissions with what the spec needs before reading or writing")
	pf.StringVar(&a.auth.simRoles, "sim-roles", "",
		"with --sim: make the simulator enforce sign-in and grant its app only these Graph permissions (comma-separated), to try the permission check")
}

// rootCAs returns the system pool plus --ca-file, or nil without it.
func (a *app) rootCAs() (*x509.CertPool, error) {
	if a.auth.caFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(a.auth.caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", a.auth.caFile)
	}
	return pool, nil
}

// tokenHTTPClient is the HTTP client for token requests: nil (azcore's
// default) unless extra CAs are trusted.
func tokenHTTPClient(roots *x509.CertPool) *http.Client {
	if roots == nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// credential builds the --auth credential.
func (a *app) credential(roots *x509.CertPool) (azcore.TokenCredential, error) {
	kind, err := graph.ParseAuthKind(a.auth.kind)
	if err != nil {
		return nil, err
	}
	cred, err := graph.NewCredential(graph.CredentialOptions{Kind: kind, HTTPClient: tokenHTTPClient(roots)})
	if err != nil {
		return nil, fmt.Errorf("no Azure credential: %w\n  See 'Against a real tenant' in the README for the variables each --auth kind reads, or use --sim", err)
	}
	return cred, nil
}

// signInError reports a failed token request. When no credential could
// even try (nothing configured for the default chain, no Azure CLI, no
// managed identity endpoint), it ends with a hint of what to do instead.
func signInError(err error) error {
	if !credentialUnavailable(err) {
		return fmt.Errorf("sign-in failed: %w", err)
	}
	return fmt.Errorf("sign-in failed: %w\nHint: choose a credential with --auth (%s), or try entrasync on the built-in simulator with --sim.", err, authKindList())
}

// credentialUnavailable reports whether err is azidentity's "credential
// unavailable": what a credential returns when it lacks its configuration,
// and what the chained and default credentials return when every source
// did. Its type is unexported; of azidentity's errors it is the one that is
// non-retriable without being an AuthenticationFailedError, which is what
// a credential that tried and was refused (a wrong secret) returns.
func credentialUnavailable(err error) bool {
	var nonRetriable interface{ NonRetriable() }
	var failed *azidentity.AuthenticationFailedError
	return errors.As(err, &nonRetriable) && !errors.As(err, &failed)
}

// authKindList is the --auth kinds, comma-separated.
func authKindList() string {
	kinds := make([]string, len(graph.AuthKinds))
	for i, k := range graph.AuthKinds {
		kinds[i] = string(k)
	}
	return strings.Join(kinds, ", ")
}

// preflight compares the token's application permissions with what the
// command needs for the spec, before the first Graph request: a missing
// permission is reported before anything is read or written.
//
// It also checks the tenant: the token's tid must be the tenant id the
// spec's domain resolves to through the authority's public OpenID
// metadata, which needs no permission (GET /organization, the second check,
// needs Directory.Read.All, which the least-privileged set lacks). A
// mismatch is refused here; when the domain cannot be resolved, makePlan
// refuses unless /organization could be read instead. --skip-permission-
// check skips the permission check, never the tenant check.
func (a *app) preflight(ctx context.Context, cred azcore.TokenCredential, s *spec.Spec, sess *session) error {
	info, err := graph.ReadToken(ctx, cred)
	if err != nil {
		return signInError(err)
	}
	if err := a.checkTenant(ctx, info, s, sess); err != nil {
		return err
	}
	sess.client.SetWholeTenantEM(seesWholeEM(info))
	sess.client.SetReadsDirectory(readsDirectory(info))
	if a.auth.skipCheck {
		return nil
	}
	verb := "plan"
	if a.writing {
		verb = "apply"
	}
	if info.Delegated {
		a.log.Warn("the token is a user's (delegated): its application permissions cannot be checked before the run", "app", info.AppID)
		return nil
	}
	a.log.Debug("permission check", "app", info.AppID, "tenant", info.TenantID, "roles", strings.Join(info.Roles, ","))
	missing, _ := graph.Check(graph.Requirements(a.needs(s.Tenant, a.writing)), info.Roles)
	if len(missing) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the app %s lacks Microsoft Graph application %s that %s needs for this spec (nothing was read or changed):\n",
		info.AppID, plural(len(missing), "permission", "permissions"), verb)
	for _, m := range missing {
		fmt.Fprintf(&b, "  %s  for %s\n", m.Permission, strings.Join(m.OperationNames(), ", "))
	}
	b.WriteString("  Grant them to the app as application permissions with admin consent ('entrasync permissions -f " + a.g.spec + "' lists all it needs),\n  or pass --skip-permission-check.")
	return &exitCodeError{code: exitError, err: fmt.Errorf("%s", b.String())}
}

// seesWholeEM reports whether a token's holder sees all of the tenant's
// entitlement management, so that a tenant-wide list of it is complete: an
// application with EntitlementManagement.Read.All or ReadWrite.All. A
// signed-in user may be only a catalog owner (graph.Client.SetWholeTenantEM).
func seesWholeEM(info *graph.TokenInfo) bool {
	return holdsAppRole(info, "EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All")
}

// readsDirectory reports whether a token's holder may read any directory
// object: an application with Directory.Read.All or ReadWrite.All
// (graph.Client.SetReadsDirectory). Delegated scopes are not trusted for
// it: the signed-in user's own role bounds what they show.
func readsDirectory(info *graph.TokenInfo) bool {
	return holdsAppRole(info, "Directory.Read.All", "Directory.ReadWrite.All")
}

// holdsAppRole reports whether an application token holds one of roles.
func holdsAppRole(info *graph.TokenInfo, roles ...string) bool {
	return !info.Delegated && slices.ContainsFunc(info.Roles, func(r string) bool {
		return slices.ContainsFunc(roles, func(want string) bool { return strings.EqualFold(r, want) })
	})
}

// checkTenant compares the token's tenant with the spec's (see preflight).
func (a *app) checkTenant(ctx context.Context, info *graph.TokenInfo, s *spec.Spec, sess *session) error {
	a.tenantVerified = false
	if info.TenantID == "" || s.Tenant.Domain == "" || sess == nil || sess.authority == "" {
		return nil
	}
	tid, err := graph.TenantIDOf(ctx, sess.idClient, sess.authority, s.Tenant.Domain)
	if err != nil {
		a.tenantUnresolved = err.Error()
		a.log.Warn("cannot resolve the spec's tenant through the sign-in authority; GET /organization must confirm it", "error", err)
		return nil
	}
	if !strings.EqualFold(tid, info.TenantID) {
		return &exitCodeError{code: exitError, err: fmt.Errorf("the spec is for tenant %s (tenant id %s), but the credential signed in to tenant %s: nothing was read or changed; check AZURE_TENANT_ID and the spec's tenant:", s.Tenant.Domain, tid, info.TenantID)}
	}
	a.tenantVerified = true
	return nil
}

// permissionsReport is the JSON form of `entrasync permissions`.
type permissionsReport struct {
	Spec     string              `json:"spec"`
	Plan     []graph.Requirement `json:"plan,omitempty"`
	Apply    []graph.Requirement `json:"apply,omitempty"`
	Optional []graph.Requirement `json:"optional,omitempty"`
	Check    *permissionsCheck   `json:"check,omitempty"`
}

type permissionsCheck struct {
	Token           *graph.TokenInfo               `json:"token"`
	Missing         map[string][]graph.Requirement `json:"missing"`
	MissingOptional []graph.Requirement            `json:"missingOptional,omitempty"`
	Complete        bool                           `json:"complete"`
}

func splitOptional(reqs []graph.Requirement) (required, optional []graph.Requirement) {
	for _, r := range reqs {
		if r.Optional {
			optional = append(optional, r)
		} else {
			required = append(required, r)
		}
	}
	return required, optional
}

func (a *app) permissionsCmd() *cobra.Command {
	var format, only string
	var check bool
	cmd := &cobra.Command{
		Use:   "permissions",
		Short: "List the Microsoft Graph permissions plan and apply need for the spec",
		Long: `Print the least-privileged Microsoft Graph application permissions entrasync needs to
plan, and to apply, the spec: the smallest set that allows every Graph call the spec leads
to. Each permission is shown with the calls it allows.

With --check, sign in (--auth) and compare the list with the roles in the token: every
missing permission is named, and the exit code is 1. plan and apply make the same check
before their first Graph request.`,
		Example: `  entrasync permissions -f examples/quickstart
  entrasync permissions -f ./tenant --format json
  entrasync permissions -f ./tenant --check --auth certificate
  entrasync permissions -f ./tenant --check --only plan   # a read-only identity for CI plans`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format must be text or json, not %q", format)
			}
			if only != "" && only != "plan" && only != "apply" {
				return fmt.Errorf("--only must be plan or apply, not %q", only)
			}
			s, err := a.loadSpec()
			if err != nil {
				return err
			}
			rep := a.permissions(s.Tenant, only)
			if check {
				sess, cred, err := a.signIn(cmd.Context(), s)
				if err != nil {
					return err
				}
				defer a.closeSession(sess)
				if cred == nil {
					return fmt.Errorf("--check needs a credential: the simulator without --sim-roles and a plain-http --graph-url without --auth sign in anonymously")
				}
				info, err := graph.ReadToken(cmd.Context(), cred)
				if err != nil {
					return signInError(err)
				}
				rep.Check = &permissionsCheck{Token: info, Missing: map[string][]graph.Requirement{}, Complete: true}
				for name, reqs := range map[string][]graph.Requirement{"plan": rep.Plan, "apply": rep.Apply} {
					if len(reqs) == 0 {
						continue
					}
					if m, _ := graph.Check(reqs, info.Roles); len(m) > 0 {
						rep.Check.Missing[name] = m
						rep.Check.Complete = false
					}
				}
				_, rep.Check.MissingOptional = graph.Check(rep.Optional, info.Roles)
				if info.Delegated {
					rep.Check.Complete = false
				}
			}
			if format == "json" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s\n", b)
			} else {
				a.printPermissions(rep)
			}
			if rep.Check != nil && !rep.Check.Complete {
				return &exitCodeError{code: exitError}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&check, "check", false, "sign in and name the permissions the token lacks (exit 1 if any)")
	cmd.Flags().StringVar(&only, "only", "", "only plan or only apply (default both)")
	return cmd
}

// needs are the operations a run sends: the spec's, and the run lease's
// when it writes.
func (a *app) needs(desired *model.Tenant, writing bool) []*graph.Operation {
	ops := graph.Needs(desired, writing)
	if a.refresh.mode == "delta" {
		ops = append(ops, graph.DeltaNeeds(desired)...)
	}
	if writing && a.g.lock {
		ops = append(ops, graph.LeaseOperations()...)
	}
	return ops
}

// permissions computes the report for desired; only is "", "plan" or
// "apply".
func (a *app) permissions(desired *model.Tenant, only string) *permissionsReport {
	rep := &permissionsReport{Spec: a.g.spec}
	var opt []graph.Requirement
	if only != "apply" {
		rep.Plan, opt = splitOptional(graph.Requirements(graph.Needs(desired, false)))
	}
	if only != "plan" {
		rep.Apply, opt = splitOptional(graph.Requirements(a.needs(desired, true)))
	}
	rep.Optional = opt
	return rep
}

func (a *app) printPermissions(rep *permissionsReport) {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintf(w, "Microsoft Graph application permissions for %s (least privileged; grant with admin consent)\n", rep.Spec)
	section := func(title string, reqs []graph.Requirement, why bool) {
		if len(reqs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, r := range reqs {
			ops := strings.Join(r.OperationNames(), ", ")
			if why && len(r.Operations) > 0 {
				ops += ": " + r.Operations[0].Why
			}
			fmt.Fprintf(w, "  %s\t%s\n", r.Permission, ops)
		}
	}
	section("plan needs", rep.Plan, false)
	section("apply needs", rep.Apply, false)
	section("optional", rep.Optional, true)
	if c := rep.Check; c != nil {
		fmt.Fprintf(w, "\nToken: app %s, tenant %s, roles: %s\n", c.Token.AppID, c.Token.TenantID, orNone(strings.Join(c.Token.Roles, ", ")))
		if c.Token.Delegated {
			fmt.Fprintf(w, "The token is a user's (delegated, scopes %s): application permissions cannot be checked.\n", orNone(strings.Join(c.Token.Scopes, " ")))
		}
		for _, name := range []string{"plan", "apply"} {
			for _, m := range c.Missing[name] {
				fmt.Fprintf(w, "  missing for %s:\t%s\tfor %s\n", name, m.Permission, strings.Join(m.OperationNames(), ", "))
			}
		}
		for _, m := range c.MissingOptional {
			fmt.Fprintf(w, "  not granted (optional):\t%s\t%s\n", m.Permission, m.Operations[0].Why)
		}
		if c.Complete {
			fmt.Fprintln(w, "All required permissions are granted.")
		}
	}
	w.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
