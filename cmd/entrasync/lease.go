package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/entrasync/entrasync/graph"
)

// takeLease takes the tenant's run lease before a run that writes reads
// the tenant (graph/lease.go), so that its plan is not made while another
// run is writing. The session releases it when it closes.
func (a *app) takeLease(ctx context.Context, sess *session, tenant string) error {
	if !a.writing || !a.g.lock {
		return nil
	}
	unique := graph.LeaseUniqueName(tenant, a.g.lockName)
	lease, err := sess.client.AcquireLease(ctx, unique, graph.LeaseOptions{
		Name: a.g.lockName, Holder: leaseHolder(), TTL: 10 * time.Minute, Wait: a.g.lockTimeout,
		Waiting: func(h graph.LeaseHolder, waited time.Duration) {
			fmt.Fprintf(a.stderr, "Waiting for the tenant's run lease, held by %s (%s so far; --lock-timeout %s)...\n", h, waited.Round(time.Second), a.g.lockTimeout)
		},
	})
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("%w; nothing was changed", err)}
	}
	close := sess.close
	sess.close = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		lerr := lease.Release(ctx)
		if lerr != nil {
			lerr = fmt.Errorf("the run lease (group %s): %w", lease.ID, lerr)
		}
		if err := close(); err != nil {
			return err
		}
		return lerr
	}
	return nil
}

// leaseHolder names this run for others who wait for its lease: the CI job
// when there is one, else user@host.
func leaseHolder() string {
	if v := os.Getenv("ENTRASYNC_LEASE_HOLDER"); v != "" {
		return v
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		return fmt.Sprintf("GitHub Actions %s run %s (%s)", os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"), os.Getenv("GITHUB_WORKFLOW"))
	}
	if v := os.Getenv("BUILD_BUILDID"); v != "" {
		return fmt.Sprintf("Azure Pipelines %s build %s", os.Getenv("BUILD_DEFINITIONNAME"), v)
	}
	user := os.Getenv("USER")
	if user == "" {
		user = os.Getenv("USERNAME")
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s pid %d", user, host, os.Getpid())
}
