package graphsim

// The identity provider's endpoints, served beside Graph on the same
// listener (the authority host is the simulator's base URL):
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID metadata (MSAL reads it first)
//	GET  /{tenant}/discovery/v2.0/keys                     JWKS with the signing key
//	GET  /common/discovery/instance                        instance discovery, for clients that do not disable it
//	POST /{tenant}/oauth2/v2.0/token                       client credentials grant
//
// The token endpoint implements the client credentials grant as Entra does
// for app-only tokens: a client secret, a client assertion signed by one of
// the app's certificates (RS256 or PS256, found by x5t#S256 or x5t), a
// federated token (issuer, subject and audience matching one of the app's
// federated identity credentials, signed by a key of a trusted issuer), and
// the agent identity flow: a blueprint asks for api://AzureADTokenExchange
// with fmi_path = the agent identity's appId and gets a token whose subject
// ends in that path; the agent identity presents it as its client assertion
// and gets a Graph token with its own roles (xms_par_app_azp = blueprint).
// Graph tokens are v1.0 tokens (iss https://sts.windows.net/{tid}/, aud
// https://graph.microsoft.com) carrying the app's granted permissions in
// "roles"; token-exchange tokens are v2.0 tokens issued by the authority.
//
// Errors follow Entra's token endpoint: {"error", "error_description"
// starting with an AADSTS code, "error_codes", "timestamp", "trace_id",
// "correlation_id"}. Identity requests are not written to the request log:
// their bodies carry secrets, and they are not Graph requests.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenLifetime is how long issued tokens are valid.
const tokenLifetime = time.Hour

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// isIdentityPath reports whether segs (the decoded path) address the
// identity provider rather than Graph.
func isIdentityPath(segs []string) bool {
	if len(segs) < 2 || segs[0] == "v1.0" || segs[0] == "beta" {
		return false
	}
	switch strings.ToLower(segs[1]) {
	case "oauth2", "v2.0", "discovery", ".well-known":
		return true
	}
	return false
}

// idResp is an identity-provider response.
type idResp struct {
	status int
	body   any
}

// serveIdentity answers an identity-provider request. It reports false
// when the path is not one (then Graph handles it).
func (s *Sim) serveIdentity(w http.ResponseWriter, r *http.Request) bool {
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil || !isIdentityPath(segs) {
		return false
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	base := baseOf(r)
	now := s.now().UTC()
	tenant := segs[0]
	rest := strings.ToLower(strings.Join(segs[1:], "/"))
	var resp idResp
	switch {
	case tenant == "common" && rest == "discovery/instance" && r.Method == http.MethodGet:
		resp = s.instanceDiscovery(base)
	case rest == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet && s.otherTenant(tenant) != "":
		resp = openIDConfiguration(base, s.otherTenant(tenant))
	case !s.knownTenant(tenant):
		resp = s.idError(now, 400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	case rest == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		resp = openIDConfiguration(base, s.TenantID())
	case rest == "discovery/v2.0/keys" && r.Method == http.MethodGet:
		resp = s.jwks()
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		resp = s.token(r, body, base, now)
	default:
		resp = s.idError(now, 404, "invalid_request", 0, fmt.Sprintf("The simulator's identity provider has no endpoint %s %s.", r.Method, r.URL.Path))
	}
	b, _ := marshal(resp.body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(resp.status)
	_, _ = w.Write(b)
	return true
}

// knownTenant accepts the tenant id and the tenant's domains.
func (s *Sim) knownTenant(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ten := s.st.tenant
	if strings.EqualFold(t, ten.ID) || strings.EqualFold(t, ten.Domain) {
		return true
	}
	for _, d := range ten.VerifiedDomains {
		if strings.EqualFold(t, d) {
			return true
		}
	}
	return false
}

func (s *Sim) authorityIssuer(base string) string { return base + "/" + s.TenantID() + "/v2.0" }

func graphIssuer(tid string) string { return "https://sts.windows.net/" + tid + "/" }

// otherTenant returns the tenant id of another tenant's domain (or id),
// "" when the authority does not know it.
func (s *Sim) otherTenant(t string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d, id := range s.st.tenant.OtherTenants {
		if strings.EqualFold(t, d) || strings.EqualFold(t, id) {
			return strings.ToLower(id)
		}
	}
	return ""
}

// openIDConfiguration is tenant tid's OpenID metadata, whichever of its
// names was asked for: the issuer names the tenant id.
func openIDConfiguration(base, tid string) idResp {
	a := base + "/" + tid
	return idResp{200, object{
		{"token_endpoint", a + "/oauth2/v2.0/token"},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}},
		{"jwks_uri", a + "/discovery/v2.0/keys"},
		{"response_modes_supported", []string{"query", "fragment", "form_post"}},
		{"subject_types_supported", []string{"pairwise"}},
		{"id_token_signing_alg_values_supported", []string{"RS256"}},
		{"response_types_supported", []string{"code", "id_token", "code id_token", "id_token token"}},
		{"scopes_supported", []string{"openid", "profile", "email", "offline_access"}},
		{"issuer", a + "/v2.0"},
		{"request_uri_parameter_supported", false},
		{"authorization_endpoint", a + "/oauth2/v2.0/authorize"},
		{"device_authorization_endpoint", a + "/oauth2/v2.0/devicecode"},
		{"end_session_endpoint", a + "/oauth2/v2.0/logout"},
		{"tenant_region_scope", "EU"},
		{"cloud_instance_name", "graphsim"},
		{"msgraph_host", "graph.microsoft.com"},
	}}
}

func (s *Sim) instanceDiscovery(base string) idResp {
	u, _ := url.Parse(base)
	host := u.Host
	return idResp{200, object{
		{"tenant_discovery_endpoint", base + "/" + s.TenantID() + "/v2.0/.well-known/openid-configuration"},
		{"api-version", "1.1"},
		{"metadata", []object{{{"preferred_network", host}, {"preferred_cache", host}, {"aliases", []string{host}}}}},
	}}
}

// signingKey returns the simulator's RSA key, generating it on first use.
func (s *Sim) signingKey() (*rsa.PrivateKey, string, error) {
	p := s.idp
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", err
		}
		sum := sha1.Sum(k.N.Bytes())
		p.key, p.kid = k, base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return p.key, p.kid, nil
}

func (s *Sim) jwks() idResp {
	k, kid, err := s.signingKey()
	if err != nil {
		return idResp{500, object{{"error", "server_error"}}}
	}
	e := big.NewInt(int64(k.E)).Bytes()
	return idResp{200, object{{"keys", []object{{
		{"kty", "RSA"}, {"use", "sig"}, {"kid", kid}, {"x5t", kid},
		{"n", base64.RawURLEncoding.EncodeToString(k.N.Bytes())},
		{"e", base64.RawURLEncoding.EncodeToString(e)},
	}}}}}
}

// idError builds Entra's token-endpoint error body. code 0 leaves the
// AADSTS prefix out.
func (s *Sim) idError(now time.Time, status int, errCode string, code int, msg string) idResp {
	s.mu.Lock()
	trace, corr := s.reqs.uuid(), s.reqs.uuid()
	s.mu.Unlock()
	desc := msg
	codes := []int{}
	if code != 0 {
		desc = fmt.Sprintf("AADSTS%d: %s", code, msg)
		codes = []int{code}
	}
	ts := now.Format("2006-01-02 15:04:05Z")
	desc += fmt.Sprintf(" Trace ID: %s Correlation ID: %s Timestamp: %s", trace, corr, ts)
	return idResp{status, object{
		{"error", errCode}, {"error_description", desc}, {"error_codes", codes},
		{"timestamp", ts}, {"trace_id", trace}, {"correlation_id", corr},
	}}
}

// tokenReq is one token request being served.
type tokenReq struct {
	s    *Sim
	now  time.Time
	base string
	tid  string
	form url.Values
	app  *Application
	// acr is how the client authenticated: "1" secret, "2" certificate or
	// assertion (Entra's appidacr).
	acr string
}

func (s *Sim) token(r *http.Request, body []byte, base string, now time.Time) idResp {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return s.idError(now, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return s.idError(now, 400, "invalid_request", 900144, "The request body is not form-encoded.")
	}
	t := &tokenReq{s: s, now: now, base: base, tid: s.TenantID(), form: form}
	// client_secret_basic: the client id and secret in an Authorization header.
	if u, p, ok := r.BasicAuth(); ok && form.Get("client_id") == "" {
		cid, _ := url.QueryUnescape(u)
		sec, _ := url.QueryUnescape(p)
		form.Set("client_id", cid)
		form.Set("client_secret", sec)
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			return s.idError(now, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		}
		return s.idError(now, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'. The simulator supports client_credentials only.", gt))
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return s.idError(now, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	s.idp.mu.Lock()
	if a := s.idp.apps[strings.ToLower(clientID)]; a != nil {
		cp := *a
		t.app = &cp
	}
	s.idp.mu.Unlock()
	if t.app == nil {
		return s.idError(now, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, t.tid))
	}
	// MSAL adds the OpenID scopes to every request; Entra ignores them in
	// the client credentials grant.
	var scopes []string
	for _, sc := range strings.Fields(form.Get("scope")) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
		default:
			scopes = append(scopes, sc)
		}
	}
	scope := strings.Join(scopes, " ")
	resource, ok := strings.CutSuffix(scope, "/.default")
	if !ok || len(scopes) != 1 {
		return s.idError(now, 400, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
	}
	exchange := false
	switch strings.TrimRight(resource, "/") {
	case "https://graph.microsoft.com", graphAppID:
	case DefaultFederatedAudience, tokenExchangeAppID:
		exchange = true
	default:
		return s.idError(now, 400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s.", resource, t.tid))
	}
	if r := t.authenticate(); r != nil {
		return *r
	}
	fmi := form.Get("fmi_path")
	if fmi != "" {
		if !exchange {
			return s.idError(now, 400, "invalid_request", 0, "fmi_path is only accepted in a request for api://AzureADTokenExchange/.default.")
		}
		s.idp.mu.Lock()
		agent := s.idp.apps[strings.ToLower(fmi)]
		s.idp.mu.Unlock()
		if agent == nil || !strings.EqualFold(agent.AgentIdentityBlueprintID, t.app.AppID) {
			return s.idError(now, 400, "invalid_request", 0, fmt.Sprintf("fmi_path '%s' is not an agent identity of application '%s'.", fmi, t.app.AppID))
		}
	}
	if exchange {
		return t.issueExchange(fmi)
	}
	return t.issueGraph()
}

// authenticate checks the client's credential.
func (t *tokenReq) authenticate() *idResp {
	s, now, a := t.s, t.now, t.app
	secret := t.form.Get("client_secret")
	assertion := t.form.Get("client_assertion")
	fail := func(code int, msg string) *idResp {
		r := s.idError(now, 401, "invalid_client", code, msg)
		return &r
	}
	switch {
	case secret != "" && assertion != "":
		r := s.idError(now, 400, "invalid_request", 0, "Both client_secret and client_assertion were sent; send one.")
		return &r
	case secret != "":
		if a.AgentIdentityBlueprintID != "" {
			return fail(7000112, "An agent identity cannot use client secrets; sign in through its blueprint (fmi_path).")
		}
		for _, want := range a.ClientSecrets {
			if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1 {
				t.acr = "1"
				return nil
			}
		}
		return fail(7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.AppID))
	case assertion != "":
		if t.form.Get("client_assertion_type") != jwtBearer {
			return fail(50027, "client_assertion_type must be "+jwtBearer+".")
		}
		tok, err := parseJWT(assertion)
		if err != nil {
			return fail(50027, "JWT token is invalid or malformed.")
		}
		if err := tok.checkTimes(now); err != nil {
			return fail(700024, "Client assertion is not within its valid time range: "+err.Error())
		}
		t.acr = "2"
		switch {
		case a.AgentIdentityBlueprintID != "":
			if msg := t.checkAgentAssertion(tok); msg != "" {
				return fail(700211, msg)
			}
		case tok.claim("iss") == a.AppID && tok.claim("sub") == a.AppID:
			if msg := t.checkCertificateAssertion(tok); msg != "" {
				return fail(700027, msg)
			}
		default:
			if code, msg := t.checkFederatedAssertion(tok); msg != "" {
				return fail(code, msg)
			}
		}
		return nil
	}
	return fail(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// checkCertificateAssertion verifies a client assertion signed with the
// key of one of the app's certificates.
func (t *tokenReq) checkCertificateAssertion(tok *jwtToken) string {
	endpoint := t.base + "/" + t.tid + "/oauth2/v2.0/token"
	if !slices.ContainsFunc(tok.audiences(), func(a string) bool { return sameTokenEndpoint(a, endpoint) }) {
		return fmt.Sprintf("Client assertion audience claim does not match the token endpoint %s.", endpoint)
	}
	s256, s1 := decodeThumbprint(tok.head("x5t#S256")), decodeThumbprint(tok.head("x5t"))
	var tried bool
	for _, p := range t.app.Certificates {
		cert, err := parseCertPEM(p)
		if err != nil {
			continue
		}
		h256, h1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
		if (s256 != nil && string(s256) != string(h256[:])) || (s256 == nil && s1 != nil && string(s1) != string(h1[:])) {
			continue
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		tried = true
		if tok.verify(pub) == nil {
			return ""
		}
	}
	if !tried {
		return fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", t.app.AppID)
	}
	return "Client assertion failed signature validation."
}

// sameTokenEndpoint compares token endpoint URLs, tolerating a trailing
// slash.
func sameTokenEndpoint(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// decodeThumbprint accepts the standard and URL base64 alphabets (MSAL uses
// the standard one).
func decodeThumbprint(s string) []byte {
	if s == "" {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return []byte{0}
}

// checkFederatedAssertion matches a token from another issuer against the
// app's federated identity credentials and verifies its signature.
func (t *tokenReq) checkFederatedAssertion(tok *jwtToken) (int, string) {
	iss, sub := tok.claim("iss"), tok.claim("sub")
	var fic *FederatedIdentityCredential
	for i, f := range t.app.FederatedIdentityCredentials {
		if f.Issuer == iss && f.Subject == sub {
			fic = &t.app.FederatedIdentityCredentials[i]
		}
	}
	if fic == nil {
		return 70021, fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'.", iss, sub)
	}
	if !slices.ContainsFunc(tok.audiences(), func(a string) bool { return slices.Contains(fic.Audiences, a) }) {
		return 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'.", strings.Join(tok.audiences(), ","))
	}
	t.s.idp.mu.Lock()
	issuers := slices.Clone(t.s.idp.issuers)
	t.s.idp.mu.Unlock()
	kid := tok.head("kid")
	for _, ti := range issuers {
		if ti.Issuer != iss {
			continue
		}
		for _, k := range ti.Keys {
			if kid != "" && k.KeyID != "" && k.KeyID != kid {
				continue
			}
			pub, err := parsePublicKeyPEM(k.PEM)
			if err == nil && tok.verify(pub) == nil {
				return 0, ""
			}
		}
		return 700213, fmt.Sprintf("The assertion's signature does not match a signing key of issuer '%s'.", iss)
	}
	return 700213, fmt.Sprintf("Unable to obtain signing keys for issuer '%s' (the simulator trusts only the fixture's identity.trustedIssuers).", iss)
}

// checkAgentAssertion verifies the blueprint token an agent identity
// presents: issued by this simulator for the token exchange, to the agent
// identity's blueprint, with the agent identity's appId as fmi_path.
func (t *tokenReq) checkAgentAssertion(tok *jwtToken) string {
	key, _, err := t.s.signingKey()
	if err != nil || tok.verify(&key.PublicKey) != nil {
		return "The agent identity's client assertion was not issued by this tenant."
	}
	switch {
	case !slices.Contains(tok.audiences(), tokenExchangeAppID):
		return "The agent identity's client assertion is not a token exchange token (aud " + tokenExchangeAppID + ")."
	case tok.claim("tid") != t.tid:
		return "The agent identity's client assertion was issued for another tenant."
	case !strings.EqualFold(tok.claim("azp"), t.app.AgentIdentityBlueprintID):
		return fmt.Sprintf("The client assertion was issued to '%s', not to the blueprint of agent identity '%s'.", tok.claim("azp"), t.app.AppID)
	case !strings.HasSuffix(strings.ToLower(tok.claim("sub")), "/"+strings.ToLower(t.app.AppID)):
		return fmt.Sprintf("The blueprint token was requested for another agent identity (fmi_path); agent identity '%s' needs a token with fmi_path '%s'.", t.app.AppID, t.app.AppID)
	}
	return ""
}

// objectID derives a stable service principal object id from an appId. An
// agent identity's object id is its appId (observed in Entra).
func (t *tokenReq) objectID(a *Application) string {
	if a.AgentIdentityBlueprintID != "" {
		return strings.ToLower(a.AppID)
	}
	h := sha256.Sum256([]byte("sp:" + strings.ToLower(a.AppID)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (t *tokenReq) uti() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *tokenReq) issue(claims object) idResp {
	key, kid, err := t.s.signingKey()
	if err != nil {
		return t.s.idError(t.now, 500, "server_error", 0, "cannot create a signing key")
	}
	tok, err := signJWT(key, object{{"typ", "JWT"}, {"alg", "RS256"}, {"x5t", kid}, {"kid", kid}}, claims)
	if err != nil {
		return t.s.idError(t.now, 500, "server_error", 0, "cannot sign the token")
	}
	secs := int(tokenLifetime / time.Second)
	return idResp{200, object{{"token_type", "Bearer"}, {"expires_in", secs}, {"ext_expires_in", secs}, {"access_token", tok}}}
}

// issueGraph issues an app-only Microsoft Graph token.
func (t *tokenReq) issueGraph() idResp {
	a := t.app
	roles := slices.Clone(a.GrantedPermissions)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	iat := t.now.Unix()
	claims := object{
		{"aud", "https://graph.microsoft.com"},
		{"iss", graphIssuer(t.tid)},
		{"iat", iat}, {"nbf", iat}, {"exp", t.now.Add(tokenLifetime).Unix()},
		{"app_displayname", a.DisplayName},
		{"appid", a.AppID},
		{"appidacr", t.acr},
		{"idp", graphIssuer(t.tid)},
		{"idtyp", "app"},
		{"oid", t.objectID(a)},
	}
	if len(roles) > 0 {
		claims = append(claims, field{"roles", roles})
	}
	claims = append(claims, field{"sub", t.objectID(a)}, field{"tid", t.tid}, field{"uti", t.uti()}, field{"ver", "1.0"})
	if a.AgentIdentityBlueprintID != "" {
		claims = append(claims, field{"xms_par_app_azp", a.AgentIdentityBlueprintID})
	}
	return t.issue(claims)
}

// issueExchange issues a token for api://AzureADTokenExchange: with
// fmi_path, the blueprint token of the agent identity flow.
func (t *tokenReq) issueExchange(fmi string) idResp {
	a := t.app
	iat := t.now.Unix()
	sub := t.objectID(a)
	if fmi != "" {
		enc := func(guid string) string {
			b := guidBytes(guid)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		sub = "/eid1/c/pub/t/" + enc(t.tid) + "/a/" + enc(a.AppID) + "/" + fmi
	}
	return t.issue(object{
		{"aud", tokenExchangeAppID},
		{"iss", t.s.authorityIssuer(t.base)},
		{"iat", iat}, {"nbf", iat}, {"exp", t.now.Add(tokenLifetime).Unix()},
		{"azp", a.AppID},
		{"azpacr", t.acr},
		{"idtyp", "app"},
		{"oid", t.objectID(a)},
		{"sub", sub},
		{"tid", t.tid},
		{"uti", t.uti()},
		{"ver", "2.0"},
	})
}

// guidBytes is a GUID's bytes in Microsoft's mixed-endian order.
func guidBytes(g string) []byte {
	h := strings.ReplaceAll(g, "-", "")
	var b [16]byte
	for i := 0; i < 16 && 2*i+1 < len(h); i++ {
		fmt.Sscanf(h[2*i:2*i+2], "%02x", &b[i])
	}
	slices.Reverse(b[0:4])
	slices.Reverse(b[4:6])
	slices.Reverse(b[6:8])
	return b[:]
}
