package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
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
	// MaxRetries bounds the retries of one request; 0 means 8.
	MaxRetries int
	// MinWait and MaxWait bound one backoff wait; 0 means 500ms and 60s.
	MinWait, MaxWait time.Duration
	// Concurrency bounds parallel requests of one operation; 0 means 4.
	Concurrency int
	// RequestTimeout bounds one attempt of one HTTP request, from sending
	// it to reading the whole answer; 0 means DefaultRequestTimeout. A
	// server that accepts the connection and never answers ends the
	// attempt, which is then retried like a lost connection (a create that
	// is not safe to repeat is not).
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
}

// Stats counts what a Client did. All fields are safe for concurrent use.
type Stats struct {
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Reads     atomic.Int64 // requests that only read
	Writes    atomic.Int64 // requests that carried at least one write (a $batch of writes counts once)
	Retries   atomic.Int64 // requests (or batch items) sent again after a failure
	Throttled atomic.Int64 // 429 answers, batch items included
	WaitNanos atomic.Int64 // time spent waiting before retries
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
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 8
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
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, stats: &Stats{}, log: log}
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

// timeoutsKey holds a request's count of timed-out attempts (c.do sets
// it), so that checkRetry can stop retrying a server that never answers.
type timeoutsKey struct{}

const maxTimeoutRetries = 2

// DefaultRequestTimeout bounds one attempt of a request. Graph answers
// within seconds; its own gateway gives up long before this.
const DefaultRequestTimeout = 60 * time.Second

// httpClient builds the one HTTP client: counting transport inside the
// retrying one, so every attempt is counted. Each attempt has the request
// timeout (the retrying client sends every attempt through base).
func (c *Client) httpClient() *http.Client {
	base := cleanhttp.DefaultPooledClient()
	base.Timeout = c.opts.RequestTimeout
	if c.opts.RootCAs != nil {
		if t, ok := base.Transport.(*http.Transport); ok {
			t.TLSClientConfig = &tls.Config{RootCAs: c.opts.RootCAs, MinVersion: tls.VersionTLS12}
		}
	}
	base.Transport = &countingTransport{next: base.Transport, stats: c.stats}
	rc := &retryablehttp.Client{
		HTTPClient:   base,
		RetryWaitMin: c.opts.MinWait,
		RetryWaitMax: c.opts.MaxWait,
		RetryMax:     c.opts.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			if attempt > 0 {
				c.stats.Retries.Add(1)
				c.log.Debug("graph: retrying", "method", r.Method, "path", r.URL.Path, "attempt", attempt)
			}
		},
	}
	return rc.StandardClient()
}

// checkRetry retries throttling, transient server errors and lost
// connections, and nothing else.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if isCreateOnce(ctx) && !retryCreate(resp, err) {
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			c.stats.Throttled.Add(1)
		}
		return false, nil
	}
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)) {
		// An attempt that got no answer within the request timeout: a
		// server that accepts connections and never answers would
		// otherwise cost every retry at full length. Two more tries.
		if n, ok := ctx.Value(timeoutsKey{}).(*atomic.Int32); ok && n.Add(1) > maxTimeoutRetries {
			return false, nil
		}
	}
	if err != nil {
		// Connection-level failures (including a response lost after the
		// server committed a write) are retried: see the package comment for
		// why every write is safe to repeat. DefaultRetryPolicy refuses the
		// hopeless ones (bad scheme, TLS certificate errors).
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.stats.Throttled.Add(1)
	}
	return retryableStatus(resp.StatusCode), nil
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff honours Retry-After (seconds, possibly fractional, or an HTTP date)
// and otherwise waits a jittered exponential time, always within
// [0, MaxWait]. It also accounts the wait in Stats.
func (c *Client) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	var h http.Header
	if resp != nil {
		h = resp.Header
	}
	d := c.wait(h.Get("Retry-After"), attempt)
	c.stats.WaitNanos.Add(int64(d))
	return d
}

// wait computes one backoff from a Retry-After value ("" when absent) and
// the attempt number (0 for the first retry).
func (c *Client) wait(retryAfter string, attempt int) time.Duration {
	if d, ok := ParseRetryAfter(retryAfter, time.Now()); ok {
		return min(d, c.opts.MaxWait)
	}
	ceiling := c.opts.MinWait << min(attempt, 16)
	ceiling = min(ceiling, c.opts.MaxWait)
	// "Full jitter": a uniform wait in [ceiling/2, ceiling).
	half := ceiling / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
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

type writeMarkKey struct{}

// markWrite tells the counting transport that a POST (a $batch) carries
// writes, or only reads.
func markWrite(ctx context.Context, write bool) context.Context {
	return context.WithValue(ctx, writeMarkKey{}, write)
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.Requests.Add(1)
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if v, ok := r.Context().Value(writeMarkKey{}).(bool); ok {
		write = v
	}
	if write {
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
