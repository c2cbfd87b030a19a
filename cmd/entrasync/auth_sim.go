package main

// `sim serve` as an identity provider: --tls serves https with a fresh
// self-signed certificate (MSAL accepts only https authorities) and writes
// it where clients can trust it; --enforce-auth makes Graph require the
// simulator's tokens and the permissions granted in the fixture. simCmd
// registers the flags with simServeFlags and serves with serveSim.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
)

// simServeOptions are the sign-in flags of `sim serve`.
type simServeOptions struct {
	tls     bool
	caOut   string
	enforce bool
	grant   string
	// ready, when set, is called with the base URL once the server listens
	// (tests).
	ready func(baseURL string)
}

// simDemoAppID is the application `sim serve --enforce-auth` registers when
// the fixture has none.
const simDemoAppID = "3f5c0f8e-6a41-4f2b-9d1e-2c7b8a9e0d14"

// simServeFlags registers the sign-in flags on the serve command.
func (a *app) simServeFlags(cmd *cobra.Command) *simServeOptions {
	o := &simServeOptions{}
	f := cmd.Flags()
	f.BoolVar(&o.tls, "tls", false, "serve https with a new self-signed certificate, written to --ca-out (needed for sign-in: MSAL accepts only https authorities)")
	f.StringVar(&o.caOut, "ca-out", "graphsim-ca.pem", "with --tls: where to write the certificate clients must trust (entrasync: --ca-file or ENTRASYNC_CA_FILE)")
	f.BoolVar(&o.enforce, "enforce-auth", false, "require a token from the simulator's identity provider on every Graph request, and the route's permission in its roles (implies --tls)")
	f.StringVar(&o.grant, "grant", "", "with --enforce-auth and a fixture without identity applications: the permissions of the demo app (default: all entrasync can use)")
	return o
}

// serveSim serves s on addr until ctx ends.
func (a *app) serveSim(ctx context.Context, s *graphsim.Sim, addr string, o *simServeOptions) error {
	if o == nil {
		o = &simServeOptions{}
	}
	if o.enforce {
		o.tls = true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	var caPath string
	if o.tls {
		host, _, _ := net.SplitHostPort(addr)
		cfg, caPEM, err := graphsim.SelfSignedTLS(host)
		if err != nil {
			ln.Close()
			return err
		}
		if caPath, err = filepath.Abs(o.caOut); err == nil {
			err = os.WriteFile(caPath, caPEM, 0o644)
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("--ca-out: %w", err)
		}
		srv.TLSConfig = cfg
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(a.stderr, "graphsim listening on %s (Graph base URL; /v1.0 and /beta)\n", base)
	if o.tls {
		if err := a.simSignInHelp(s, base, caPath, o); err != nil {
			ln.Close()
			return err
		}
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if o.ready != nil {
		o.ready(base)
	}
	if o.tls {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// simSignInHelp turns enforcement on when asked, registers the demo app
// when the fixture has no applications, and prints how to sign in.
func (a *app) simSignInHelp(s *graphsim.Sim, base, caPath string, o *simServeOptions) error {
	w := a.stderr
	if o.enforce {
		s.SetEnforceAuth(true)
		if len(s.Applications()) == 0 {
			grant := splitList(o.grant)
			if len(grant) == 0 {
				grant = graph.PermissionNames(graph.Requirements(graph.Operations))
			}
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			secret := base64.RawURLEncoding.EncodeToString(b)
			if err := s.SetApplication(graphsim.Application{AppID: simDemoAppID, DisplayName: "entrasync demo (simulator)", ClientSecrets: []string{secret}, GrantedPermissions: grant}); err != nil {
				return err
			}
			// A throwaway secret of a simulated app, printed so that the
			// user can sign in with it.
			fmt.Fprintf(w, "Demo app %s, granted %s; its simulator-only secret:\n  export AZURE_CLIENT_ID=%s AZURE_CLIENT_SECRET=%s\n",
				simDemoAppID, strings.Join(grant, ", "), simDemoAppID, secret)
		}
		fmt.Fprintln(w, "Graph requests need a token from this simulator (401/403 otherwise).")
	}
	fmt.Fprintf(w, "Identity provider: %s/%s/oauth2/v2.0/token\n", base, s.TenantID())
	fmt.Fprintf(w, "Sign in with:\n  export AZURE_AUTHORITY_HOST=%s AZURE_TENANT_ID=%s ENTRASYNC_CA_FILE=%s\n", base, s.TenantID(), caPath)
	for _, app := range s.Applications() {
		var kinds []string
		if len(app.ClientSecrets) > 0 {
			kinds = append(kinds, "secret")
		}
		if len(app.Certificates) > 0 {
			kinds = append(kinds, "certificate")
		}
		if len(app.FederatedIdentityCredentials) > 0 {
			kinds = append(kinds, "workload-identity", "github-oidc")
		}
		if app.AgentIdentityBlueprintID != "" {
			kinds = append(kinds, "agent-identity (blueprint "+app.AgentIdentityBlueprintID+")")
		}
		fmt.Fprintf(w, "  app %s %q: --auth %s; granted: %s\n", app.AppID, app.DisplayName, orNone(strings.Join(kinds, ", ")), orNone(strings.Join(app.GrantedPermissions, ", ")))
	}
	fmt.Fprintf(w, "  entrasync plan -f DIR --graph-url %s --auth secret\n", base)
	return nil
}
