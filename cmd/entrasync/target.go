package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
		n := len(errs)
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
}

// connect opens Graph: the embedded simulator with --sim, else the real
// endpoint (or --graph-url) with azidentity's DefaultAzureCredential.
func (a *app) connect(ctx context.Context, s *spec.Spec) (*session, error) {
	if a.g.sim {
		return a.connectSim(s)
	}
	opts := graph.Options{BaseURL: a.g.graphURL, Logger: a.log}
	if a.g.graphURL == "" || !isLoopbackURL(a.g.graphURL) {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("no Azure credential: %w\n  Set AZURE_TENANT_ID, AZURE_CLIENT_ID and a certificate or federated token, sign in with 'az login', or use --sim", err)
		}
		opts.Credential = cred
	}
	c, err := graph.New(opts)
	if err != nil {
		return nil, err
	}
	return &session{client: c, close: func() error { return nil }}, nil
}

func isLoopbackURL(u string) bool {
	return graph.CheckBaseURL(u) == nil && strings.HasPrefix(u, "http://")
}

// connectSim starts the embedded simulator from its state file (or the
// built-in demo tenant on first use) and saves the state back on close, so
// plan, apply and plan again work across separate commands.
func (a *app) connectSim(s *spec.Spec) (*session, error) {
	path := a.g.simState
	if path == "" {
		path = filepath.Join(s.Root, ".entrasync", "sim.json")
	}
	var sim *graphsim.Sim
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if sim, err = graphsim.Restore(bytes.NewReader(data), graphsim.Options{}); err != nil {
			return nil, fmt.Errorf("simulator state %s: %w (delete the file to start again from the demo tenant)", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		sim = graphsim.New(graphsim.Options{Fixture: graphsim.DemoFixture(), Seed: 1})
		fmt.Fprintf(a.stderr, "Simulator: new demo tenant, state kept in %s\n", path)
	default:
		return nil, err
	}
	faults, err := parseFaults(a.g.simFaults)
	if err != nil {
		return nil, err
	}
	sim.SetFaults(faults)
	base, stop, err := sim.Start()
	if err != nil {
		return nil, err
	}
	opts := graph.Options{BaseURL: base, Logger: a.log}
	if a.g.simFaults != "" {
		opts.MinWait, opts.MaxWait = 50*time.Millisecond, 2*time.Second
	}
	c, err := graph.New(opts)
	if err != nil {
		stop()
		return nil, err
	}
	return &session{client: c, close: func() error {
		stop()
		var buf bytes.Buffer
		if err := sim.Save(&buf); err != nil {
			return fmt.Errorf("save simulator state: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, buf.Bytes(), 0o644)
	}}, nil
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
