package graph

// The run lease: two applies at once against one tenant race each other's
// look-ups (each finds no catalog "Teams", each creates one). A run that
// writes first takes a lease held in the tenant itself, so every runner —
// a laptop, a merge pipeline, the nightly drift job — sees the same one.
//
// The lease is a security group created with POST /groups and a uniqueName
// derived from the lease's name. Graph refuses a second object with the
// same uniqueName (400 Request_MultipleObjectsWithSameKeyValue) without
// changing the first, so the create is an atomic test-and-set; an upsert
// would not do (its PATCH overwrites the holder's record). The group's
// description records the holder as JSON: a run id, who, since when, and
// until when. The holder renews the expiry while it runs and deletes the
// group when it ends; a lease past its expiry (a run that was killed) is
// taken over by deleting that group, by id, and creating a new one. A create
// whose answer was lost is sent again by the transport and then meets its
// own lease: the run id in the description says it is ours.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// LeaseHolder is what the lease group's description records.
type LeaseHolder struct {
	// Run identifies one run (random).
	Run string `json:"run"`
	// Holder says who runs it: user@host, or the CI job.
	Holder  string    `json:"holder"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
}

func (h LeaseHolder) String() string {
	return fmt.Sprintf("%s (since %s, expires %s)", h.Holder, h.Started.UTC().Format(time.RFC3339), h.Expires.UTC().Format(time.RFC3339))
}

// LeaseHeldError says another run holds the lease.
type LeaseHeldError struct {
	GroupID string
	Holder  LeaseHolder
	Waited  time.Duration
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("another entrasync run holds the tenant's lease: %s; waited %s. If no run is active, delete group %s (the lease) or wait until it expires; --lock=false runs without the lease",
		e.Holder, e.Waited.Round(time.Second), e.GroupID)
}

// LeaseUniqueName is the uniqueName of the lease group for a tenant and a
// lease name (runs that share a name exclude each other).
func LeaseUniqueName(tenant, name string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(tenant) + "\x00" + strings.ToLower(name)))
	return "entrasync-lease-" + hex.EncodeToString(sum[:8])
}

// Lease is a held lease; Release ends it.
type Lease struct {
	c          *Client
	ID         string
	UniqueName string
	Holder     LeaseHolder
	ttl        time.Duration

	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost error
}

// LeaseOptions tunes AcquireLease.
type LeaseOptions struct {
	// Name is shown in the lease group's display name.
	Name string
	// Holder describes this run (user@host, CI job).
	Holder string
	// TTL is how long the lease lasts without renewal; renewed every TTL/3.
	TTL time.Duration
	// Wait bounds how long to wait for another run's lease.
	Wait time.Duration
	// Waiting is called while waiting, at most every 10 seconds.
	Waiting func(h LeaseHolder, waited time.Duration)
}

// AcquireLease takes the lease named uniqueName, waiting up to opts.Wait
// for another holder to release it. It fails with *LeaseHeldError when the
// wait runs out.
func (c *Client) AcquireLease(ctx context.Context, uniqueName string, opts LeaseOptions) (*Lease, error) {
	ctx = unpaced(ctx)
	run := make([]byte, 8)
	_, _ = rand.Read(run)
	start := time.Now()
	me := LeaseHolder{Run: hex.EncodeToString(run), Holder: opts.Holder, Started: start.UTC().Truncate(time.Second)}
	pause, told := time.Second, time.Duration(-1)
	for {
		me.Expires = time.Now().Add(opts.TTL).UTC().Truncate(time.Second)
		id, err := c.createLease(ctx, uniqueName, opts.Name, me)
		if err == nil {
			return c.held(id, uniqueName, me, opts.TTL), nil
		}
		if !IsKeyTaken(err) {
			return nil, fmt.Errorf("taking the run lease: %w", err)
		}
		gid, h, err := c.readLease(ctx, uniqueName)
		switch {
		case IsNotFound(err):
			// Released meanwhile, or not readable yet: try again.
		case err != nil:
			return nil, fmt.Errorf("reading the run lease: %w", err)
		case h.Run == me.Run:
			// Our own create, whose answer was lost and resent.
			return c.held(gid, uniqueName, me, opts.TTL), nil
		case !h.Expires.IsZero() && time.Now().After(h.Expires):
			// The holder stopped renewing (a killed run): take over. A
			// second taker deletes the same id and gets 404.
			if err := c.DeleteGroup(ctx, gid); err != nil && !IsNotFound(err) {
				return nil, fmt.Errorf("taking over the expired run lease of %s: %w", h, err)
			}
			continue
		default:
			waited := time.Since(start)
			if waited >= opts.Wait {
				return nil, &LeaseHeldError{GroupID: gid, Holder: h, Waited: waited}
			}
			pause = min(pause, opts.Wait-waited)
			if opts.Waiting != nil && (told < 0 || waited-told >= 10*time.Second) {
				opts.Waiting(h, waited)
				told = waited
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(max(pause, time.Second)*2, 5*time.Second)
	}
}

func (c *Client) createLease(ctx context.Context, uniqueName, name string, h LeaseHolder) (string, error) {
	desc, _ := json.Marshal(h)
	resp, err := c.do(ctx, abs.POST, "/groups", map[string]any{
		"displayName":     "entrasync run lease (" + name + ")",
		"description":     string(desc),
		"mailEnabled":     false,
		"mailNickname":    uniqueName,
		"securityEnabled": true,
		"uniqueName":      uniqueName,
	}, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("POST /groups: the answer names no group id")
	}
	return out.ID, nil
}

// readLease reads the lease group and its holder. A description that is
// not a holder record (someone edited it) reads as an expired lease.
func (c *Client) readLease(ctx context.Context, uniqueName string) (string, LeaseHolder, error) {
	resp, err := c.do(ctx, abs.GET, "/groups(uniqueName='"+uniqueName+"')?$select=id,description", nil, nil)
	if err != nil {
		return "", LeaseHolder{}, err
	}
	var g struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(resp.Body, &g); err != nil {
		return "", LeaseHolder{}, err
	}
	var h LeaseHolder
	if json.Unmarshal([]byte(g.Description), &h) != nil || h.Run == "" {
		h = LeaseHolder{Holder: "unknown (the lease group's description is not a holder record)", Expires: time.Unix(1, 0)}
	}
	return g.ID, h, nil
}

// held starts renewing a lease just taken.
func (c *Client) held(id, uniqueName string, h LeaseHolder, ttl time.Duration) *Lease {
	l := &Lease{c: c, ID: id, UniqueName: uniqueName, Holder: h, ttl: ttl, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l
}

// renew moves the expiry forward every TTL/3 until Release.
func (l *Lease) renew() {
	defer close(l.done)
	t := time.NewTicker(max(l.ttl/3, time.Second))
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		h := l.Holder
		h.Expires = time.Now().Add(l.ttl).UTC().Truncate(time.Second)
		desc, _ := json.Marshal(h)
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		_, err := l.c.do(unpaced(ctx), abs.PATCH, "/groups/"+l.ID, map[string]any{"description": string(desc)}, nil)
		cancel()
		if err != nil {
			l.mu.Lock()
			l.lost = fmt.Errorf("renewing the run lease (group %s): %w", l.ID, err)
			l.mu.Unlock()
		}
	}
}

// Release stops renewing and deletes the lease group. It reports a renewal
// that failed: another run may then have taken the lease meanwhile.
func (l *Lease) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	err := l.c.DeleteGroup(unpaced(ctx), l.ID)
	if IsNotFound(err) {
		err = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.lost, err)
}
