package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/spec"
)

// loadSpec loads and validates the spec, printing warnings; errors end the
// run with every problem listed.
func (a *app) loadSpec() (*spec.Spec, error) {
	s, diags := spec.Load(a.g.spec)
	for _, d := range diags {
		if d.Severity == model.Warning {
			fmt.Fprintln(a.stderr, d.String())
		}
	}
	if diags.HasErrors() {
		var errs model.Diagnostics
		for _, d := range diags {
			if d.Severity == model.Error {
				errs = append(errs, d)
			}
		}
		n := errs.Count(model.Error) // a capped list's summaries count what they stand for
		return nil, fmt.Errorf("the spec has %d %s:\n%s", n, plural(n, "error", "errors"), errs.Error())
	}
	return s, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// session is a connection to Graph (real or simulated) for one command.
type session struct {
	client *graph.Client
	close  func() error
	// authority and idClient reach the sign-in authority (for the tenant
	// check); set when the session signs in.
	authority string
	idClient  *http.Client
}

// connect opens Graph and, when it signs in, checks before the first Graph
// request that the token carries the application permissions the command
// needs for the spec (app.writing adds apply's): a missing permission is
// reported before anything is read or written.
func (a *app) connect(ctx context.Context, s *spec.Spec) (*session, error) {
	sess, cred, err := a.signIn(ctx, s)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := a.preflight(ctx, cred, s, sess); err != nil {
			_ = sess.close()
			return nil, err
		}
	}
	return sess, nil
}

// signIn opens Graph: the embedded simulator with --sim (signed in only
// with --sim-roles), else the real endpoint or --graph-url with the --auth
// credential. A plain-http loopback --graph-url (graphsim in tests or
// 'sim serve') is used without a token unless --auth is given. cred is
// nil when no token is sent.
func (a *app) signIn(ctx context.Context, s *spec.Spec) (*session, azcore.TokenCredential, error) {
	if a.g.sim {
		return a.connectSim(s)
	}
	if a.auth.simRoles != "" {
		return nil, nil, fmt.Errorf("--sim-roles needs --sim")
	}
	if a.g.graphURL != "" {
		if err := graph.CheckBaseURL(a.g.graphURL); err != nil {
			return nil, nil, err
		}
	}
	roots, err := a.rootCAs()
	if err != nil {
		return nil, nil, err
	}
	opts := graph.Options{BaseURL: a.g.graphURL, Logger: a.log, RootCAs: roots, RequestTimeout: a.g.requestTimeout, RetryBudget: a.g.retryBudget, Parallelism: a.g.parallelism}
	var cred azcore.TokenCredential
	if a.auth.explicit() || a.g.graphURL == "" || !isLoopbackURL(a.g.graphURL) {
		if cred, err = a.credential(roots); err != nil {
			return nil, nil, err
		}
		opts.Credential = cred
	}
	c, err := graph.New(opts)
	if err != nil {
		return nil, nil, err
	}
	return &session{client: c, close: func() error { return nil }, authority: graph.AuthorityHost(), idClient: tokenHTTPClient(roots)}, cred, nil
}

func isLoopbackURL(u string) bool {
	return graph.CheckBaseURL(u) == nil && strings.HasPrefix(u, "http://")
}

// simAppID is the application the embedded simulator signs entrasync in
// as with --sim-roles.
const simAppID = "7e9a1f3c-2b4d-4c6e-8f01-5a3b2c1d0e9f"

// connectSim starts the embedded simulator from its state file (or the
// built-in demo tenant on first use) and saves the state back on close, so
// plan, apply and plan again work across separate commands. With
// --sim-roles it serves https, enforces tokens and grants its built-in app
// only those permissions; entrasync signs in to it with a client secret
// that lives only in this process.
func (a *app) connectSim(s *spec.Spec) (*session, azcore.TokenCredential, error) {
	path := a.g.simState
	if path == "" {
		path = filepath.Join(s.Root, ".entrasync", "sim.json")
	}
	var sim *graphsim.Sim
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if sim, err = graphsim.Restore(bytes.NewReader(data), graphsim.Options{LightLog: true}); err != nil {
			return nil, nil, fmt.Errorf("simulator state %s: %w (delete the file to start again from the demo tenant)", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		sim = graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: 1, LightLog: true})
		fmt.Fprintf(a.stderr, "Simulator: new demo tenant, state kept in %s\n", path)
		a.simFresh = true // its delta links are not those of any cache
	default:
		return nil, nil, err
	}
	faults, err := parseFaults(a.g.simFaults)
	if err != nil {
		return nil, nil, err
	}
	sim.SetFaults(faults)
	opts := graph.Options{Logger: a.log, RequestTimeout: a.g.requestTimeout, RetryBudget: a.g.retryBudget, Parallelism: a.g.parallelism}
	var cred azcore.TokenCredential
	var stop func()
	if a.auth.simRoles != "" {
		var caPEM []byte
		opts.BaseURL, caPEM, stop, err = sim.StartTLS()
		if err != nil {
			return nil, nil, err
		}
		if cred, opts.RootCAs, err = simSignIn(sim, opts.BaseURL, caPEM, splitList(a.auth.simRoles)); err != nil {
			stop()
			return nil, nil, err
		}
		opts.Credential = cred
	} else if opts.BaseURL, stop, err = sim.Start(); err != nil {
		return nil, nil, err
	}
	if a.g.simFaults != "" {
		opts.MinWait, opts.MaxWait = 50*time.Millisecond, 2*time.Second
	}
	c, err := graph.New(opts)
	if err != nil {
		stop()
		return nil, nil, err
	}
	sess := &session{client: c, close: func() error {
		stop()
		var buf bytes.Buffer
		if err := sim.Save(&buf); err != nil {
			return fmt.Errorf("save simulator state: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, buf.Bytes(), 0o644)
	}}
	if cred != nil {
		sess.authority, sess.idClient = opts.BaseURL+"/", tokenHTTPClient(opts.RootCAs)
	}
	return sess, cred, nil
}

// simSignIn turns on enforcement in sim, registers its built-in app with
// roles and a fresh secret, and returns a client-secret credential for it
// that trusts the simulator's certificate.
func simSignIn(sim *graphsim.Sim, base string, caPEM []byte, roles []string) (azcore.TokenCredential, *x509.CertPool, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, err
	}
	sec := base64.RawURLEncoding.EncodeToString(secret)
	if err := sim.SetApplication(graphsim.Application{AppID: simAppID, DisplayName: "entrasync (simulator)", ClientSecrets: []string{sec}, GrantedPermissions: roles}); err != nil {
		return nil, nil, err
	}
	sim.SetEnforceAuth(true)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cred, err := azidentity.NewClientSecretCredential(sim.TenantID(), simAppID, sec, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/"}, Transport: tokenHTTPClient(pool)},
		DisableInstanceDiscovery: true,
	})
	return cred, pool, err
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseFaults reads --sim-faults: comma-separated key=value pairs.
func parseFaults(s string) (graphsim.Faults, error) {
	var f graphsim.Faults
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return f, fmt.Errorf("--sim-faults: %q is not key=value", kv)
		}
		var err error
		rate := func(dst *float64) {
			*dst, err = strconv.ParseFloat(v, 64)
			if err == nil && (*dst < 0 || *dst > 1) {
				err = fmt.Errorf("a rate between 0 and 1")
			}
		}
		dur := func(dst *time.Duration) { *dst, err = time.ParseDuration(v) }
		switch k {
		case "throttle":
			rate(&f.StormRate)
			f.StormRetryAfter = 200 * time.Millisecond
		case "5xx":
			rate(&f.ServerErrorRate)
		case "drop":
			rate(&f.DropResponseRate)
		case "lag":
			dur(&f.ReplicationLag)
		case "latency":
			dur(&f.Latency)
		default:
			return f, fmt.Errorf("--sim-faults: unknown fault %q (known: throttle, 5xx, drop, lag, latency)", k)
		}
		if err != nil {
			return f, fmt.Errorf("--sim-faults: %s=%s: want %v", k, v, err)
		}
	}
	return f, nil
}
