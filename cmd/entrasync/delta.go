package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/spec"
)

// --refresh=delta (plan, drift): the managed member sets are read from
// Graph's delta links, kept between runs in a local cache, instead of
// listed in full (graph.ReadDelta). The cache is not a state file: it
// holds only what Graph answered, and deleting it costs one full read.

// refreshFlags are plan's and drift's --refresh and --delta-cache.
type refreshFlags struct {
	mode  string
	cache string
}

func (a *app) addRefreshFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.refresh.mode, "refresh", envOr("ENTRASYNC_REFRESH", "full"), `how the managed member sets are read: "full" lists them; "delta" reads what changed since the last delta run, from Graph's delta links kept in --delta-cache (env ENTRASYNC_REFRESH)`)
	cmd.Flags().StringVar(&a.refresh.cache, "delta-cache", envOr("ENTRASYNC_DELTA_CACHE", ""), "with --refresh=delta: the cache of delta links (default <spec dir>/.entrasync/delta.json; env ENTRASYNC_DELTA_CACHE). It holds user names and ids, no secrets; deleting it costs one full read")
}

func checkRefresh(mode string) error {
	switch mode {
	case "full", "delta":
		return nil
	}
	return fmt.Errorf("--refresh must be full or delta, not %q", mode)
}

// deltaCacheFile is the cache on disk: the delta state with what it is
// the state of, so that a cache made against another Graph or tenant is
// not used.
type deltaCacheFile struct {
	Graph  string            `json:"graph"`
	Tenant string            `json:"tenant"`
	State  *graph.DeltaState `json:"state"`
}

func (a *app) deltaCachePath(s *spec.Spec) string {
	if a.refresh.cache != "" {
		return a.refresh.cache
	}
	return filepath.Join(s.Root, ".entrasync", "delta.json")
}

// graphIdentity names the Graph a run talks to, for the cache.
func (a *app) graphIdentity() string {
	switch {
	case a.g.sim:
		if a.g.simState != "" {
			return "sim:" + a.g.simState
		}
		return "sim"
	case a.g.graphURL != "":
		return strings.TrimRight(a.g.graphURL, "/")
	}
	return graph.DefaultBaseURL
}

// readDelta reads the tenant with the delta cache and saves the cache
// once the read succeeded. A cache that cannot be read, or that is of
// another Graph or tenant, is set aside with a note: the run lists the
// sets in full and starts a new one. An apply's verification reads again
// from the cache the plan's read saved (verifying: its summary line is
// not repeated).
func (a *app) readDelta(ctx context.Context, sess *session, s *spec.Spec, toRead *model.Tenant, verifying bool) (*model.Tenant, error) {
	path := a.deltaCachePath(s)
	file := deltaCacheFile{Graph: a.graphIdentity(), Tenant: strings.ToLower(s.Tenant.Domain)}
	st := &graph.DeltaState{}
	switch data, err := os.ReadFile(path); {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(a.stderr, "Delta: no cache at %s yet; this run lists the member sets in full and starts delta links from now.\n", path)
	case err != nil:
		return nil, fmt.Errorf("delta cache: %w", err)
	default:
		var old deltaCacheFile
		switch err := json.Unmarshal(data, &old); {
		case err != nil || old.State == nil:
			fmt.Fprintf(a.stderr, "Delta: the cache %s cannot be read (%v); starting a new one.\n", path, err)
		case a.simFresh:
			fmt.Fprintf(a.stderr, "Delta: the simulator's state is new, so the cache %s is not of it; starting a new one.\n", path)
		case old.Graph != file.Graph || old.Tenant != file.Tenant:
			fmt.Fprintf(a.stderr, "Delta: the cache %s is of %s at %s, not of %s at %s; starting a new one.\n", path, old.Tenant, old.Graph, file.Tenant, file.Graph)
		case old.State.Version != graph.DeltaStateVersion:
			fmt.Fprintf(a.stderr, "Delta: the cache %s is of format %d, not %d; starting a new one.\n", path, old.State.Version, graph.DeltaStateVersion)
		default:
			st = old.State
		}
	}
	observed, err := sess.client.ReadDelta(ctx, toRead, st)
	if err != nil {
		return nil, err
	}
	for _, why := range st.Report.Restarted {
		fmt.Fprintf(a.stderr, "Delta: %s; those sets were listed again in full.\n", why)
	}
	if !verifying {
		fmt.Fprintf(a.stderr, "Delta: %s from delta links, %d read in full.\n", plural(st.Report.FromDelta, "1 member set", fmt.Sprintf("%d member sets", st.Report.FromDelta)), st.Report.InFull)
	}
	st.Saved = time.Now().UTC()
	file.State = st
	if err := writeFileAtomic(path, file); err != nil {
		// The read stands; only the next run's savings are lost.
		fmt.Fprintf(a.stderr, "Warning: could not save the delta cache: %v\n", err)
	}
	// The cache is now of this simulator's state: a verification reads
	// on from it.
	a.simFresh = false
	return observed, nil
}

// writeFileAtomic writes v as JSON to path through a temporary file in the
// same directory, so a run stopped midway leaves the old cache or the new
// one, never half of one. The file is private to its owner: it names the
// tenant's users.
func writeFileAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".delta-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
