package graph

// Credentials. entrasync signs in the way platform teams already run
// automation: from the environment, without secrets where the platform
// allows it. NewCredential builds one azidentity credential per --auth
// kind from well-known environment variables (the ones azidentity, AKS
// workload identity and GitHub Actions use), and names a missing variable
// without ever echoing a value.
//
// A non-Microsoft authority host (AZURE_AUTHORITY_HOST, e.g. graphsim
// serving https on loopback) turns instance discovery off, so MSAL asks
// that host for its OpenID metadata instead of asking login.microsoftonline.com
// whether it is a known authority.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AuthKind selects how entrasync obtains its Microsoft Graph token.
type AuthKind string

// The credential kinds of --auth.
const (
	AuthEnv              AuthKind = "env"
	AuthSecret           AuthKind = "secret"
	AuthCertificate      AuthKind = "certificate"
	AuthWorkloadIdentity AuthKind = "workload-identity"
	AuthGitHubOIDC       AuthKind = "github-oidc"
	AuthManagedIdentity  AuthKind = "managed-identity"
	AuthAzureCLI         AuthKind = "azure-cli"
	AuthAgentIdentity    AuthKind = "agent-identity"
)

// AuthKinds lists every kind, in the order the documentation gives them.
var AuthKinds = []AuthKind{AuthEnv, AuthSecret, AuthCertificate, AuthWorkloadIdentity, AuthGitHubOIDC, AuthManagedIdentity, AuthAzureCLI, AuthAgentIdentity}

// Environment variables read by NewCredential.
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvSendCertChain       = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
	EnvGitHubRequestURL    = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubRequestToken  = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	EnvOIDCAudience        = "ENTRASYNC_OIDC_AUDIENCE"
	EnvAgentIdentityID     = "ENTRASYNC_AGENT_IDENTITY_ID"
)

// GraphScope is the scope of every token entrasync asks for.
const GraphScope = "https://graph.microsoft.com/.default"

// TokenExchangeScope is the scope of federated and blueprint tokens.
const TokenExchangeScope = "api://AzureADTokenExchange/.default"

// DefaultFederatedAudience is the audience Entra expects in federated
// tokens (GitHub OIDC tokens are requested for it).
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// CredentialOptions configure NewCredential.
type CredentialOptions struct {
	// Kind is the --auth kind; "" means AuthEnv.
	Kind AuthKind
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// HTTPClient sends token requests (and GitHub OIDC requests); it
	// carries the extra CA of --ca-file. nil means azcore's default.
	HTTPClient *http.Client
}

// ParseAuthKind checks an --auth value.
func ParseAuthKind(s string) (AuthKind, error) {
	for _, k := range AuthKinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(AuthKinds))
	for i, k := range AuthKinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("--auth %q: want one of %s", s, strings.Join(names, ", "))
}

// knownAuthorities are the Microsoft authority hosts; instance discovery
// stays on only for them.
var knownAuthorities = []string{
	cloud.AzurePublic.ActiveDirectoryAuthorityHost,
	cloud.AzureChina.ActiveDirectoryAuthorityHost,
	cloud.AzureGovernment.ActiveDirectoryAuthorityHost,
}

// authSettings are the settings every credential shares.
type authSettings struct {
	env       func(string) string
	client    azcore.ClientOptions
	noInstDsc bool
	http      *http.Client
}

func newAuthSettings(o CredentialOptions) (*authSettings, error) {
	s := &authSettings{env: o.Getenv, http: o.HTTPClient}
	if s.env == nil {
		s.env = os.Getenv
	}
	host := strings.TrimSpace(s.env(EnvAuthorityHost))
	if host == "" {
		host = cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("graph: %s %q must be an https URL", EnvAuthorityHost, host)
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	s.noInstDsc = true
	for _, k := range knownAuthorities {
		if strings.EqualFold(k, host) {
			s.noInstDsc = false
		}
	}
	s.client.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host}
	if o.HTTPClient != nil {
		s.client.Transport = o.HTTPClient
	}
	return s, nil
}

// need returns the values of required variables, or an error naming the
// missing ones (never the values of the others).
func (s *authSettings) need(kind AuthKind, names ...string) ([]string, error) {
	vals := make([]string, len(names))
	var missing []string
	for i, n := range names {
		vals[i] = strings.TrimSpace(s.env(n))
		if vals[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("graph: --auth %s needs %s in the environment", kind, strings.Join(missing, " and "))
	}
	return vals, nil
}

// githubActionsOnly reports whether the environment is a GitHub Actions job
// with an OIDC token to exchange and no other credential for
// DefaultAzureCredential: tenant and client set, no secret, certificate or
// token file.
func (s *authSettings) githubActionsOnly() bool {
	for _, n := range []string{EnvTenantID, EnvClientID, EnvGitHubRequestURL, EnvGitHubRequestToken} {
		if strings.TrimSpace(s.env(n)) == "" {
			return false
		}
	}
	for _, n := range []string{EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile} {
		if strings.TrimSpace(s.env(n)) != "" {
			return false
		}
	}
	return true
}

// NewCredential builds the credential of one --auth kind from the
// environment. The variables of each kind are in the README ("Against a
// real tenant").
func NewCredential(o CredentialOptions) (azcore.TokenCredential, error) {
	s, err := newAuthSettings(o)
	if err != nil {
		return nil, err
	}
	kind := o.Kind
	if kind == "" {
		kind = AuthEnv
	}
	wrap := func(c azcore.TokenCredential, err error) (azcore.TokenCredential, error) {
		if err != nil {
			return nil, fmt.Errorf("graph: --auth %s: %w", kind, err)
		}
		return c, nil
	}
	if kind == AuthEnv && s.githubActionsOnly() {
		// DefaultAzureCredential never asks GitHub Actions for its OIDC
		// token; a job that sets only the tenant, the client and
		// id-token: write means GitHub OIDC.
		kind = AuthGitHubOIDC
	}
	switch kind {
	case AuthEnv:
		return wrap(azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc, TenantID: s.env(EnvTenantID),
		}))
	case AuthSecret:
		v, err := s.need(kind, EnvTenantID, EnvClientID, EnvClientSecret)
		if err != nil {
			return nil, err
		}
		return wrap(azidentity.NewClientSecretCredential(v[0], v[1], v[2], &azidentity.ClientSecretCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc,
		}))
	case AuthCertificate:
		v, err := s.need(kind, EnvTenantID, EnvClientID, EnvCertificatePath)
		if err != nil {
			return nil, err
		}
		certs, key, err := s.loadCertificate(v[2])
		if err != nil {
			return nil, err
		}
		return wrap(azidentity.NewClientCertificateCredential(v[0], v[1], certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc,
			SendCertificateChain: isTrue(s.env(EnvSendCertChain)),
		}))
	case AuthWorkloadIdentity:
		v, err := s.need(kind, EnvTenantID, EnvClientID, EnvFederatedTokenFile)
		if err != nil {
			return nil, err
		}
		return wrap(azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc,
			TenantID: v[0], ClientID: v[1], TokenFilePath: v[2],
		}))
	case AuthGitHubOIDC:
		v, err := s.need(kind, EnvTenantID, EnvClientID, EnvGitHubRequestURL, EnvGitHubRequestToken)
		if err != nil {
			return nil, err
		}
		aud := s.env(EnvOIDCAudience)
		if aud == "" {
			aud = DefaultFederatedAudience
		}
		get := GitHubOIDCAssertion(s.http, v[2], v[3], aud)
		return wrap(azidentity.NewClientAssertionCredential(v[0], v[1], get, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc,
		}))
	case AuthManagedIdentity:
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: s.client}
		if id := s.env(EnvClientID); id != "" {
			opts.ID = azidentity.ClientID(id)
		}
		return wrap(azidentity.NewManagedIdentityCredential(opts))
	case AuthAzureCLI:
		return wrap(azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: s.env(EnvTenantID)}))
	case AuthAgentIdentity:
		v, err := s.need(kind, EnvTenantID, EnvClientID, EnvAgentIdentityID)
		if err != nil {
			return nil, err
		}
		bp, err := s.blueprintCredential()
		if err != nil {
			return nil, err
		}
		return wrap(NewAgentIdentityCredential(v[0], v[1], v[2], bp, &AgentIdentityCredentialOptions{
			ClientOptions: s.client, DisableInstanceDiscovery: s.noInstDsc,
		}))
	}
	_, err = ParseAuthKind(string(kind))
	return nil, err
}

// loadCertificate reads a PEM or PKCS#12 (PFX) file: the certificate and
// its private key, with the password from the environment if any.
func (s *authSettings) loadCertificate(path string) ([]*x509.Certificate, any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("graph: %s: %w", EnvCertificatePath, err)
	}
	var pw []byte
	if p := s.env(EnvCertificatePassword); p != "" {
		pw = []byte(p)
	}
	certs, key, err := azidentity.ParseCertificates(data, pw)
	if err != nil {
		// The parser's message names the problem, never the password.
		return nil, nil, fmt.Errorf("graph: %s %s: %w", EnvCertificatePath, path, err)
	}
	return certs, key, nil
}

// blueprintCredential picks the blueprint's own credential for the agent
// identity flow: a federated token file, a certificate, or a secret, in
// that order of preference.
func (s *authSettings) blueprintCredential() (BlueprintCredential, error) {
	switch {
	case s.env(EnvFederatedTokenFile) != "":
		path := s.env(EnvFederatedTokenFile)
		return BlueprintCredential{Assertion: func(context.Context) (string, error) { return readTokenFile(path) }}, nil
	case s.env(EnvCertificatePath) != "":
		certs, key, err := s.loadCertificate(s.env(EnvCertificatePath))
		if err != nil {
			return BlueprintCredential{}, err
		}
		return BlueprintCredential{Certificates: certs, Key: key}, nil
	case s.env(EnvClientSecret) != "":
		return BlueprintCredential{Secret: s.env(EnvClientSecret)}, nil
	}
	return BlueprintCredential{}, fmt.Errorf("graph: --auth %s needs the blueprint's credential: %s, %s or %s", AuthAgentIdentity, EnvFederatedTokenFile, EnvCertificatePath, EnvClientSecret)
}

func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("graph: federated token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("graph: federated token file %s is empty", path)
	}
	return tok, nil
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// GitHubOIDCAssertion returns a function that asks GitHub Actions for an
// OIDC token for audience, as a client assertion for Entra's federated
// credential. reqURL and reqToken are ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN (set in jobs with "permissions: id-token:
// write"). The request token is sent only as a bearer header, never
// logged or put into errors.
func GitHubOIDCAssertion(client *http.Client, reqURL, reqToken, audience string) func(context.Context) (string, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return func(ctx context.Context) (string, error) {
		u, err := url.Parse(reqURL)
		if err != nil {
			return "", fmt.Errorf("graph: %s is not a URL", EnvGitHubRequestURL)
		}
		q := u.Query()
		q.Set("audience", audience)
		u.RawQuery = q.Encode()
		if err := CheckBaseURL(u.Scheme + "://" + u.Host); err != nil {
			return "", fmt.Errorf("graph: %s must use https", EnvGitHubRequestURL)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "bearer "+reqToken)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is named below, without its query
			}
			return "", fmt.Errorf("graph: GitHub OIDC token request to %s: %w", u.Host, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("graph: GitHub OIDC token request to %s: HTTP %d", u.Host, resp.StatusCode)
		}
		var out struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
			return "", fmt.Errorf("graph: GitHub OIDC token response from %s has no token", u.Host)
		}
		return out.Value, nil
	}
}
