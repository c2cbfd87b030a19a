package graphsim

// Identity: graphsim as the tenant's identity provider (token.go) and Graph
// as the enforcer of application permissions (auth_perms.go).
//
// The fixture's "identity" block lists the applications that may sign in,
// their credentials (client secrets, certificates, federated identity
// credentials), the Microsoft Graph application permissions granted to each
// (the access token's "roles"), agent identities and the blueprints that
// sign them in (the fmi_path flow), and the external issuers whose tokens a
// federated identity credential may accept, with the keys that sign them.
// Real Entra fetches an external issuer's keys from its OpenID metadata; the
// simulator takes them from the fixture so that tests need no network.
//
// Enforcement is off unless Options.EnforceAuth or the fixture's
// identity.enforce is set, so --sim and the existing tests keep working
// without credentials. When it is on, every Graph request needs a bearer
// token the simulator issued for its tenant and audience, and each route
// needs the permission routePermissions names (or one Microsoft lists as
// higher privileged for it): otherwise 401 InvalidAuthenticationToken or
// 403 Authorization_RequestDenied in Graph's shape.
//
// The identity configuration is not tenant state: Save does not write it,
// and a restored simulator has none.

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Identity is the fixture's identity-provider configuration.
type Identity struct {
	// Enforce turns on token and permission checks for Graph requests (as
	// Options.EnforceAuth does).
	Enforce bool `json:"enforce,omitempty"`
	// Applications are the clients that may request tokens.
	Applications []Application `json:"applications,omitempty"`
	// TrustedIssuers are external token issuers (GitHub Actions, Kubernetes,
	// another tenant) whose tokens federated identity credentials accept.
	TrustedIssuers []TrustedIssuer `json:"trustedIssuers,omitempty"`
}

// Application is an app registration with its service principal, or an
// agent identity.
type Application struct {
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName,omitempty"`
	// ClientSecrets are the accepted client_secret values.
	ClientSecrets []string `json:"clientSecrets,omitempty"`
	// Certificates are PEM-encoded X.509 certificates; a client assertion
	// signed by the key of one of them authenticates the app.
	Certificates []string `json:"certificates,omitempty"`
	// FederatedIdentityCredentials accept tokens from other issuers as
	// client assertions.
	FederatedIdentityCredentials []FederatedIdentityCredential `json:"federatedIdentityCredentials,omitempty"`
	// GrantedPermissions are the Microsoft Graph application permissions
	// (app role values, e.g. "Group.ReadWrite.All") granted to the app's
	// service principal: the token's "roles".
	GrantedPermissions []string `json:"grantedPermissions,omitempty"`
	// AgentIdentityBlueprintID makes this application an agent identity of
	// the blueprint with that appId. An agent identity has no credentials of
	// its own: it signs in with a token its blueprint obtained by asking for
	// fmi_path = the agent identity's appId.
	AgentIdentityBlueprintID string `json:"agentIdentityBlueprintId,omitempty"`
}

// FederatedIdentityCredential is Graph's federatedIdentityCredential: a
// token from Issuer about Subject, for one of Audiences, authenticates the
// application.
type FederatedIdentityCredential struct {
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

// TrustedIssuer is an external issuer and the public keys that sign its
// tokens.
type TrustedIssuer struct {
	Issuer string `json:"issuer"`
	// Keys are PEM-encoded RSA public keys ("PUBLIC KEY" or "CERTIFICATE").
	Keys []TrustedKey `json:"keys"`
}

// TrustedKey is one signing key of a trusted issuer. A token whose header
// names a kid is checked against the key with that KeyID; without a kid
// every key is tried.
type TrustedKey struct {
	KeyID string `json:"kid,omitempty"`
	PEM   string `json:"pem"`
}

// DefaultFederatedAudience is the audience Entra expects in federated
// tokens.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// tokenExchangeAppID is the audience (the token exchange app's id) of a
// blueprint token requested for api://AzureADTokenExchange.
const tokenExchangeAppID = "fb60f99c-7a34-4190-8149-302f77469936"

// graphAppID is Microsoft Graph's application id, also accepted as a token
// audience.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// validateIdentity checks the identity block.
func (id *Identity) validate() error {
	if id == nil {
		return nil
	}
	apps := map[string]*Application{}
	for i := range id.Applications {
		a := &id.Applications[i]
		if !isGUID(a.AppID) {
			return fmt.Errorf("graphsim: identity application %q: appId %q is not a GUID", a.DisplayName, a.AppID)
		}
		k := strings.ToLower(a.AppID)
		if apps[k] != nil {
			return fmt.Errorf("graphsim: identity application %s is listed twice", a.AppID)
		}
		apps[k] = a
		for _, c := range a.Certificates {
			if _, err := parseCertPEM(c); err != nil {
				return fmt.Errorf("graphsim: identity application %s: %w", a.AppID, err)
			}
		}
		for _, f := range a.FederatedIdentityCredentials {
			if f.Issuer == "" || f.Subject == "" || len(f.Audiences) != 1 {
				return fmt.Errorf("graphsim: identity application %s: federated credential %q needs an issuer, a subject and exactly one audience", a.AppID, f.Name)
			}
		}
		if a.AgentIdentityBlueprintID != "" && (len(a.ClientSecrets) > 0 || len(a.Certificates) > 0 || len(a.FederatedIdentityCredentials) > 0) {
			// Entra: AgentIdentity_CredentialsNotSupported.
			return fmt.Errorf("graphsim: identity application %s is an agent identity and cannot have credentials of its own", a.AppID)
		}
	}
	for _, a := range id.Applications {
		if b := a.AgentIdentityBlueprintID; b != "" && apps[strings.ToLower(b)] == nil {
			return fmt.Errorf("graphsim: agent identity %s names blueprint %s, which is not an identity application", a.AppID, b)
		}
	}
	for _, ti := range id.TrustedIssuers {
		if _, err := url.Parse(ti.Issuer); err != nil || ti.Issuer == "" {
			return fmt.Errorf("graphsim: trusted issuer %q is not a URL", ti.Issuer)
		}
		for _, k := range ti.Keys {
			if _, err := parsePublicKeyPEM(k.PEM); err != nil {
				return fmt.Errorf("graphsim: trusted issuer %s: %w", ti.Issuer, err)
			}
		}
	}
	return nil
}

func parseCertPEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certificate is not a PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, fmt.Errorf("key is not PEM")
	}
	var pub any
	switch b.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = c.PublicKey
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = k
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		pub = k
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", b.Type)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("only RSA keys are supported")
	}
	return k, nil
}

// idp is the simulator's identity state: its configuration, the signing key
// (generated on first use) and whether Graph enforces tokens.
type idp struct {
	mu      sync.Mutex
	enforce bool
	apps    map[string]*Application // lower-case appId
	issuers []TrustedIssuer
	key     *rsa.PrivateKey
	kid     string
}

func newIDP(id *Identity, enforce bool) *idp {
	p := &idp{apps: map[string]*Application{}, enforce: enforce}
	if id != nil {
		p.enforce = p.enforce || id.Enforce
		for _, a := range id.Applications {
			a := a
			p.apps[strings.ToLower(a.AppID)] = &a
		}
		p.issuers = append(p.issuers, id.TrustedIssuers...)
	}
	return p
}

// SetEnforceAuth switches token and permission checks on or off.
func (s *Sim) SetEnforceAuth(on bool) {
	s.idp.mu.Lock()
	s.idp.enforce = on
	s.idp.mu.Unlock()
}

// EnforcesAuth reports whether Graph requests need a token.
func (s *Sim) EnforcesAuth() bool {
	s.idp.mu.Lock()
	defer s.idp.mu.Unlock()
	return s.idp.enforce
}

// SetApplication adds an identity application or replaces the one with
// the same appId (to grant or revoke permissions between runs, say).
// Tokens already issued keep the roles they were issued with, as in Entra.
func (s *Sim) SetApplication(a Application) error {
	id := &Identity{Applications: []Application{a}}
	s.idp.mu.Lock()
	defer s.idp.mu.Unlock()
	for k, other := range s.idp.apps {
		if k != strings.ToLower(a.AppID) {
			id.Applications = append(id.Applications, *other)
		}
	}
	if err := id.validate(); err != nil {
		return err
	}
	s.idp.apps[strings.ToLower(a.AppID)] = &a
	return nil
}

// AddTrustedIssuer trusts another external issuer.
func (s *Sim) AddTrustedIssuer(ti TrustedIssuer) error {
	if err := (&Identity{TrustedIssuers: []TrustedIssuer{ti}}).validate(); err != nil {
		return err
	}
	s.idp.mu.Lock()
	s.idp.issuers = append(s.idp.issuers, ti)
	s.idp.mu.Unlock()
	return nil
}

// Applications returns the identity applications, sorted by appId.
func (s *Sim) Applications() []Application {
	s.idp.mu.Lock()
	defer s.idp.mu.Unlock()
	out := make([]Application, 0, len(s.idp.apps))
	for _, a := range s.idp.apps {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Application) int { return strings.Compare(strings.ToLower(a.AppID), strings.ToLower(b.AppID)) })
	return out
}
