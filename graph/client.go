package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/hashicorp/go-cleanhttp"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
)

// DefaultBaseURL is Microsoft Graph's global endpoint, without version.
const DefaultBaseURL = "https://graph.microsoft.com"

// Options configures a Client.
type Options struct {
	// BaseURL is the Graph endpoint without version; DefaultBaseURL when
	// empty. A non-HTTPS URL is accepted only for loopback hosts.
	BaseURL string
	// Credential obtains tokens; nil sends no Authorization header, which
	// only graphsim accepts.
	Credential azcore.TokenCredential
	// RetryBudget bounds how long one request is retried, measured from
	// its first attempt; 0 means DefaultRetryBudget (where the choice of
	// five minutes is explained). Throttling (429, 503) and transient
	// errors (500, 502, 503, 504, lost connections) are retried, after
	// Retry-After or a backoff, while the next wait ends within the budget;
	// a wait that would pass it (a Retry-After longer than what is left
	// included) ends the request at once with a *RetryError naming the
	// attempts, the time waited and the last answer. Each item of a $batch
	// has the same budget, from its first round.
	RetryBudget time.Duration
	// MaxRetries caps the retries of one request, and the stalled rounds of
	// a $batch; 0 means DefaultMaxRetries (100). It is a backstop against a
	// server that answers "Retry-After: 0" forever: the budget is what
	// normally ends retrying.
	MaxRetries int
	// MinWait and MaxWait bound the exponential backoff used when Graph
	// sends no Retry-After; 0 means 500ms and 60s. A Retry-After is
	// honoured as given, within RetryBudget.
	MinWait, MaxWait time.Duration
	// Concurrency bounds the parallel $batch calls of one operation (the
	// reads of Read, mostly: appliers writes 20 items at a time); 0 means
	// 4. Writes are bounded by Parallelism besides.
	Concurrency int
	// Parallelism bounds the write requests in flight across the client,
	// every operation and goroutine together (--parallelism), and is the
	// fan-out of one operation's writes; 0 means DefaultParallelism. A
	// write takes its slot before its first attempt and keeps it through
	// its retries, so a throttled run slows down as a whole instead of
	// sending other writes into the same throttle.
	Parallelism int
	// RequestTimeout bounds one attempt of one HTTP request, from sending
	// it to reading the whole answer; 0 means DefaultRequestTimeout. A
	// server that accepts the connection and never answers ends the
	// attempt, which is then retried like a lost connection (a create that
	// is not safe to repeat is not), at most three attempts in all.
	RequestTimeout time.Duration
	// Logger receives debug lines about requests and retries (never tokens
	// or bodies); nil discards them.
	Logger *slog.Logger
	// RootCAs, when set, are the certificate authorities trusted for TLS
	// instead of the system's (--ca-file: graphsim's self-signed
	// certificate added to the system pool).
	RootCAs *x509.CertPool
}

// Client talks to one Graph endpoint.
type Client struct {
	adapter *msgraphsdk.GraphRequestAdapter
	sdk     *msgraphsdk.GraphServiceClient
	base    string // e.g. https://graph.microsoft.com/v1.0
	root    string // e.g. https://graph.microsoft.com
	opts    Options
	stats   *Stats
	log     *slog.Logger
	writes  writeSlots
	co      coalescer
	pages   prefetcher
	names   namePool
	// wholeEM is whether the caller sees all of the tenant's entitlement
	// management (SetWholeTenantEM).
	wholeEM atomic.Bool
	// readsDirectory is whether the caller may read any directory object
	// (SetReadsDirectory).
	readsDirectory atomic.Bool
}

// DefaultParallelism is how many $batch calls a client keeps in flight
// (the coalescer's limit, and the write slots of calls that write).
//
// Each call carries up to 20 requests, and Graph counts each against its
// limits: directory writes are 3,000 per 2 min 30 s per application and
// tenant (identity and access service limits; graphsim models it as
// Faults.WriteQuota), a burst allowance with 20 a second sustained. Four
// calls of 20 are 80 writes in flight, so a run within the allowance (the
// Terraform-peer scope's 1,100 writes, say) is not slowed by its own
// writes, and a larger one is paced by Graph's Retry-After on the items it
// refuses, which the batch rounds honour (raw.go). Before requests were
// packed into calls, 4 single writes in flight were measured to stay within
// the sustained rate (BenchmarkApply2000Members: a 2,000-member add at
// 200 ms took 7.5-9.0 s with 4 in flight, 22.6-23.3 s with 1).
const DefaultParallelism = 4

// MaxParallelism is the most --parallelism accepts: 16 writes of 200 ms in
// flight are 80 a second, four times the sustained rate, which spend
// Graph's whole 3,000-write allowance in under a minute; beyond that only
// throttling grows.
const MaxParallelism = 16

// Stats counts what a Client did. All fields are safe for concurrent use.
type Stats struct {
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Reads     atomic.Int64 // requests that only read
	Writes    atomic.Int64 // requests that carried at least one write (a $batch of writes counts once)
	Retries   atomic.Int64 // requests (or batch items) sent again after a failure
	Throttled atomic.Int64 // 429 answers, batch items included
	WaitNanos atomic.Int64 // time spent waiting before retries, $batch items' included
}

// Snapshot is a copy of Stats at one moment.
type Snapshot struct {
	Requests, Reads, Writes, Retries, Throttled int64
	Waiting                                     time.Duration
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Requests: s.Requests.Load(), Reads: s.Reads.Load(), Writes: s.Writes.Load(),
		Retries: s.Retries.Load(), Throttled: s.Throttled.Load(), Waiting: time.Duration(s.WaitNanos.Load()),
	}
}

// Sub returns the counts between an earlier snapshot o and s.
func (s Snapshot) Sub(o Snapshot) Snapshot {
	return Snapshot{s.Requests - o.Requests, s.Reads - o.Reads, s.Writes - o.Writes, s.Retries - o.Retries, s.Throttled - o.Throttled, s.Waiting - o.Waiting}
}

func (s Snapshot) String() string {
	return fmt.Sprintf("requests: %d (%d reads, %d writes), retries: %d, throttled: %d, waiting: %s",
		s.Requests, s.Reads, s.Writes, s.Retries, s.Throttled, s.Waiting.Round(time.Millisecond))
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if err := CheckBaseURL(opts.BaseURL); err != nil {
		return nil, err
	}
	if opts.RetryBudget == 0 {
		opts.RetryBudget = DefaultRetryBudget
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.MinWait == 0 {
		opts.MinWait = 500 * time.Millisecond
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 60 * time.Second
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, stats: &Stats{}, log: log, writes: make(writeSlots, opts.Parallelism)}
	c.co.c = c
	c.wholeEM.Store(opts.Credential == nil)
	c.readsDirectory.Store(opts.Credential == nil)
	c.root = strings.TrimRight(opts.BaseURL, "/")
	c.base = c.root + "/v1.0"

	var auth authentication.AuthenticationProvider = &authentication.AnonymousAuthenticationProvider{}
	if opts.Credential != nil {
		u, _ := url.Parse(c.root)
		p, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(opts.Credential,
			[]string{"https://graph.microsoft.com/.default"}, []string{u.Hostname()})
		if err != nil {
			return nil, fmt.Errorf("graph: authentication: %w", err)
		}
		auth = p
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, c.httpClient())
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	adapter.SetBaseUrl(c.base)
	c.adapter = adapter
	c.sdk = msgraphsdk.NewGraphServiceClient(adapter)
	return c, nil
}

// Stats returns the client's live counters.
func (c *Client) Stats() *Stats { return c.stats }

// SetWholeTenantEM says whether the caller sees all of the tenant's
// entitlement management: an application holding EntitlementManagement.
// Read.All or ReadWrite.All does; a signed-in user may be a catalog owner,
// to whom a tenant-wide list shows only their catalogs' part (and the
// rest would look absent). A client without a credential (graphsim)
// starts with true, one with a credential with false. When true, a read
// may answer several packages' policies or assignments from one page of
// the tenant-wide list.
func (c *Client) SetWholeTenantEM(ok bool) { c.wholeEM.Store(ok) }

// SetReadsDirectory says whether the caller may read any directory object:
// an application holding Directory.Read.All or Directory.ReadWrite.All
// may. Then users known only by id are named through
// directoryObjects/getByIds, 1,000 a call, rather than 15 to a filter of
// the users' list; least-privileged callers keep the filters. A client
// without a credential (graphsim) starts with true, one with a credential
// with false.
func (c *Client) SetReadsDirectory(ok bool) { c.readsDirectory.Store(ok) }

// CheckBaseURL refuses a Graph URL that would send tokens in clear text:
// anything but https, except on loopback (graphsim).
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("graph: --graph-url %q is not an absolute URL", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("graph: --graph-url %q must use https (plain http is accepted only for loopback addresses)", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpClient builds the one HTTP client: the retrying transport
// (retryTransport, go-retryablehttp per request) around a counting one, so
// every attempt is counted. Each attempt has the request timeout (the
// retrying client sends every attempt through base).
func (c *Client) httpClient() *http.Client {
	base := cleanhttp.DefaultPooledClient()
	base.Timeout = c.opts.RequestTimeout
	if c.opts.RootCAs != nil {
		if t, ok := base.Transport.(*http.Transport); ok {
			t.TLSClientConfig = &tls.Config{RootCAs: c.opts.RootCAs, MinVersion: tls.VersionTLS12}
		}
	}
	base.Transport = &countingTransport{next: base.Transport, stats: c.stats}
	return &http.Client{Transport: &retryTransport{c: c, base: base}}
}

// ParseRetryAfter parses a Retry-After value: delay seconds (Graph sends
// fractional ones such as "2.128") or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 24*3600 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// countingTransport counts every attempt that reaches the network.
type countingTransport struct {
	next  http.RoundTripper
	stats *Stats
}

// unpacedKey marks the requests that keep the run itself going (the run
// lease): they never wait behind the tenant writes for a slot, so a
// throttling storm cannot let the lease expire under a run that holds it.
type unpacedKey struct{}

func unpaced(ctx context.Context) context.Context { return context.WithValue(ctx, unpacedKey{}, true) }

type writeMarkKey struct{}

// markWrite tells the counting transport that a POST (a $batch) carries
// writes, or only reads.
func markWrite(ctx context.Context, write bool) context.Context {
	return context.WithValue(ctx, writeMarkKey{}, write)
}

// isWrite says whether a request writes: any method but GET and HEAD,
// unless markWrite said otherwise (a $batch of reads).
func isWrite(r *http.Request) bool {
	if v, ok := r.Context().Value(writeMarkKey{}).(bool); ok {
		return v
	}
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.Requests.Add(1)
	if isWrite(r) {
		t.stats.Writes.Add(1)
	} else {
		t.stats.Reads.Add(1)
	}
	return t.next.RoundTrip(r)
}

// rawRequest builds a kiota request for an absolute URL, so raw calls share
// the adapter's authentication and transport.
func (c *Client) rawRequest(method abs.HttpMethod, rawURL string, body []byte, headers map[string]string) (*abs.RequestInformation, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("graph: bad url %q: %w", rawURL, err)
	}
	ri := abs.NewRequestInformation()
	ri.Method = method
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	for k, v := range headers {
		ri.Headers.TryAdd(k, v)
	}
	if body != nil {
		ri.SetStreamContentAndContentType(body, "application/json")
	}
	return ri, nil
}
