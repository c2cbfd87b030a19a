package graphsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	appSecret    = "11111111-1111-4111-8111-111111111111"
	appCert      = "22222222-2222-4222-8222-222222222222"
	appFed       = "33333333-3333-4333-8333-333333333333"
	appBlueprint = "44444444-4444-4444-8444-444444444444"
	appAgent     = "55555555-5555-4555-8555-555555555555"
	appAgent2    = "66666666-6666-4666-8666-666666666666"
	testSecret   = "sim-test-secret-value"
	testIssuer   = "https://issuer.example.test"
	testSubject  = "repo:contoso/tenant:ref:refs/heads/main"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	otherKey    *rsa.PrivateKey
	testCertPEM string
	testCertDER []byte
)

// keys returns an RSA key with a self-signed certificate, and another key.
func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	testKeyOnce.Do(func() {
		testKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		otherKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "entrasync test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		testCertDER, _ = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testKey.PublicKey, testKey)
		testCertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCertDER}))
	})
	return testKey, otherKey
}

func pubPEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// signTest signs a JWT with RS256 or PS256.
func signTest(t *testing.T, key *rsa.PrivateKey, alg string, header, claims map[string]any) string {
	t.Helper()
	header["alg"], header["typ"] = alg, "JWT"
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	h := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type idHarness struct {
	t      *testing.T
	sim    *Sim
	base   string
	tid    string
	client *http.Client
}

func identityFixture(t *testing.T) *Fixture {
	key, _ := keys(t)
	fx := DemoFixture()
	fx.Identity = &Identity{
		Applications: []Application{
			{AppID: appSecret, DisplayName: "secret app", ClientSecrets: []string{testSecret}, GrantedPermissions: []string{"GroupMember.Read.All"}},
			{AppID: appCert, DisplayName: "cert app", Certificates: []string{testCertPEM}, GrantedPermissions: []string{"Group.ReadWrite.All"}},
			{AppID: appFed, DisplayName: "federated app", GrantedPermissions: []string{"User.ReadBasic.All"},
				FederatedIdentityCredentials: []FederatedIdentityCredential{{Name: "main", Issuer: testIssuer, Subject: testSubject, Audiences: []string{DefaultFederatedAudience}}}},
			{AppID: appBlueprint, DisplayName: "blueprint", ClientSecrets: []string{testSecret}},
			{AppID: appAgent, DisplayName: "agent 1", AgentIdentityBlueprintID: appBlueprint, GrantedPermissions: []string{"GroupMember.ReadWrite.All"}},
			{AppID: appAgent2, DisplayName: "agent 2", AgentIdentityBlueprintID: appBlueprint},
		},
		TrustedIssuers: []TrustedIssuer{{Issuer: testIssuer, Keys: []TrustedKey{{KeyID: "k1", PEM: pubPEM(key)}}}},
	}
	return fx
}

func newIDHarness(t *testing.T, enforce bool) *idHarness {
	t.Helper()
	s := New(Options{Fixture: identityFixture(t), Seed: 3, EnforceAuth: enforce})
	base, caPEM, stop, err := s.StartTLS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &idHarness{t: t, sim: s, base: base, tid: s.TenantID(), client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

func (h *idHarness) do(method, path, ctype, body string, header map[string]string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			h.t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	return resp.StatusCode, m
}

func (h *idHarness) token(form url.Values) (int, map[string]any) {
	h.t.Helper()
	return h.do("POST", "/"+h.tid+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", form.Encode(), nil)
}

func (h *idHarness) endpoint() string { return h.base + "/" + h.tid + "/oauth2/v2.0/token" }

func secretForm(client, secret, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}, "scope": {scope}}
}

func assertionForm(client, assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_assertion_type": {jwtBearer},
		"client_assertion": {assertion}, "scope": {"https://graph.microsoft.com/.default openid profile offline_access"}}
}

// wantToken requires a 200 with an access token and returns its claims.
func (h *idHarness) wantToken(status int, body map[string]any) (string, map[string]any) {
	h.t.Helper()
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		h.t.Fatalf("token request: %d %v", status, body)
	}
	return tok, claimsOf(h.t, tok)
}

// wantError requires an Entra error with that status and AADSTS code.
func (h *idHarness) wantError(status int, body map[string]any, wantStatus int, wantErr string, code int) {
	h.t.Helper()
	desc, _ := body["error_description"].(string)
	if status != wantStatus || body["error"] != wantErr || (code != 0 && !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d:", code))) {
		h.t.Fatalf("got %d %v, want %d %s AADSTS%d", status, body, wantStatus, wantErr, code)
	}
	for _, k := range []string{"error_codes", "timestamp", "trace_id", "correlation_id"} {
		if _, ok := body[k]; !ok {
			h.t.Errorf("error body lacks %q: %v", k, body)
		}
	}
}

func TestIdentityDiscovery(t *testing.T) {
	h := newIDHarness(t, false)
	st, meta := h.do("GET", "/"+h.tid+"/v2.0/.well-known/openid-configuration", "", "", nil)
	if st != 200 || meta["token_endpoint"] != h.endpoint() || meta["issuer"] != h.base+"/"+h.tid+"/v2.0" {
		t.Fatalf("openid-configuration: %d %v", st, meta)
	}
	for _, k := range []string{"authorization_endpoint", "jwks_uri"} {
		if meta[k] == nil {
			t.Errorf("metadata lacks %s", k)
		}
	}
	// The domain names the tenant too.
	if st, _ := h.do("GET", "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", "", "", nil); st != 200 {
		t.Errorf("metadata by domain: %d", st)
	}
	// Another tenant the authority knows: its metadata names its own tenant
	// id, and it can sign nobody in here.
	if st, meta := h.do("GET", "/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration", "", "", nil); st != 200 ||
		meta["issuer"] != h.base+"/5b7c1d2e-8f3a-4e6b-9c0d-1a2b3c4d5e6f/v2.0" {
		t.Errorf("other tenant's metadata: %d %v", st, meta)
	}
	st, body := h.do("POST", "/fabrikam.onmicrosoft.com/oauth2/v2.0/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", nil)
	h.wantError(st, body, 400, "invalid_tenant", 90002)
	st, jwks := h.do("GET", "/"+h.tid+"/discovery/v2.0/keys", "", "", nil)
	ks, _ := jwks["keys"].([]any)
	if st != 200 || len(ks) != 1 || ks[0].(map[string]any)["kty"] != "RSA" {
		t.Fatalf("jwks: %d %v", st, jwks)
	}
	st, body = h.do("GET", "/11111111-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration", "", "", nil)
	h.wantError(st, body, 400, "invalid_tenant", 90002)
	if st, body := h.do("GET", "/common/discovery/instance?authorization_endpoint=x", "", "", nil); st != 200 || body["tenant_discovery_endpoint"] == nil {
		t.Errorf("instance discovery: %d %v", st, body)
	}
}

func TestTokenClientSecret(t *testing.T) {
	h := newIDHarness(t, false)
	_, c := h.wantToken(h.token(secretForm(appSecret, testSecret, "https://graph.microsoft.com/.default")))
	if c["aud"] != "https://graph.microsoft.com" || c["iss"] != "https://sts.windows.net/"+h.tid+"/" || c["tid"] != h.tid ||
		c["appid"] != appSecret || c["appidacr"] != "1" || c["idtyp"] != "app" || fmt.Sprint(c["roles"]) != "[GroupMember.Read.All]" {
		t.Errorf("claims: %v", c)
	}
	st, body := h.token(secretForm(appSecret, "wrong", "https://graph.microsoft.com/.default"))
	h.wantError(st, body, 401, "invalid_client", 7000215)
	if strings.Contains(fmt.Sprint(body), "wrong") {
		t.Errorf("the error echoes the secret: %v", body)
	}
	st, body = h.token(secretForm("77777777-7777-4777-8777-777777777777", testSecret, "https://graph.microsoft.com/.default"))
	h.wantError(st, body, 400, "unauthorized_client", 700016)
	st, body = h.token(secretForm(appSecret, testSecret, "https://graph.microsoft.com/User.Read"))
	h.wantError(st, body, 400, "invalid_scope", 1002012)
	st, body = h.token(secretForm(appSecret, testSecret, "https://vault.azure.net/.default"))
	h.wantError(st, body, 400, "invalid_resource", 500011)
	st, body = h.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {appSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	h.wantError(st, body, 401, "invalid_client", 7000218)
	st, body = h.token(url.Values{"grant_type": {"password"}, "client_id": {appSecret}})
	h.wantError(st, body, 400, "unsupported_grant_type", 70003)
}

func TestTokenCertificate(t *testing.T) {
	h := newIDHarness(t, false)
	key, other := keys(t)
	s256 := sha256.Sum256(testCertDER)
	s1 := sha1.Sum(testCertDER)
	now := time.Now().Unix()
	claims := func(aud string) map[string]any {
		return map[string]any{"aud": aud, "iss": appCert, "sub": appCert, "jti": "1", "nbf": now, "exp": now + 600}
	}
	// MSAL's form: PS256 with x5t#S256 in standard base64.
	ps := signTest(t, key, "PS256", map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(h.endpoint()))
	_, c := h.wantToken(h.token(assertionForm(appCert, ps)))
	if c["appid"] != appCert || c["appidacr"] != "2" {
		t.Errorf("claims: %v", c)
	}
	// The older form: RS256 with x5t (SHA-1).
	rs := signTest(t, key, "RS256", map[string]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims(h.endpoint()))
	h.wantToken(h.token(assertionForm(appCert, rs)))

	bad := signTest(t, other, "PS256", map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(h.endpoint()))
	st, body := h.token(assertionForm(appCert, bad))
	h.wantError(st, body, 401, "invalid_client", 700027)
	wrongAud := signTest(t, key, "PS256", map[string]any{}, claims("https://login.microsoftonline.com/x/oauth2/v2.0/token"))
	st, body = h.token(assertionForm(appCert, wrongAud))
	h.wantError(st, body, 401, "invalid_client", 700027)
	expired := claims(h.endpoint())
	expired["exp"] = now - 3600
	st, body = h.token(assertionForm(appCert, signTest(t, key, "PS256", map[string]any{}, expired)))
	h.wantError(st, body, 401, "invalid_client", 700024)
}

func TestTokenFederated(t *testing.T) {
	h := newIDHarness(t, false)
	key, other := keys(t)
	now := time.Now().Unix()
	ext := func(k *rsa.PrivateKey, sub, aud string) string {
		return signTest(t, k, "RS256", map[string]any{"kid": "k1"}, map[string]any{"iss": testIssuer, "sub": sub, "aud": aud, "iat": now, "exp": now + 600})
	}
	_, c := h.wantToken(h.token(assertionForm(appFed, ext(key, testSubject, DefaultFederatedAudience))))
	if c["appid"] != appFed || fmt.Sprint(c["roles"]) != "[User.ReadBasic.All]" {
		t.Errorf("claims: %v", c)
	}
	st, body := h.token(assertionForm(appFed, ext(key, "repo:someone/else:ref:refs/heads/main", DefaultFederatedAudience)))
	h.wantError(st, body, 401, "invalid_client", 70021)
	st, body = h.token(assertionForm(appFed, ext(key, testSubject, "api://other")))
	h.wantError(st, body, 401, "invalid_client", 700212)
	st, body = h.token(assertionForm(appFed, ext(other, testSubject, DefaultFederatedAudience)))
	h.wantError(st, body, 401, "invalid_client", 700213)
}

func TestTokenAgentIdentity(t *testing.T) {
	h := newIDHarness(t, false)
	exch := secretForm(appBlueprint, testSecret, "api://AzureADTokenExchange/.default")
	exch.Set("fmi_path", appAgent)
	bpTok, bc := h.wantToken(h.token(exch))
	if bc["aud"] != tokenExchangeAppID || bc["azp"] != appBlueprint || !strings.HasSuffix(bc["sub"].(string), "/"+appAgent) || bc["iss"] != h.base+"/"+h.tid+"/v2.0" {
		t.Errorf("blueprint token claims: %v", bc)
	}
	_, c := h.wantToken(h.token(assertionForm(appAgent, bpTok)))
	if c["appid"] != appAgent || c["oid"] != appAgent || c["xms_par_app_azp"] != appBlueprint || fmt.Sprint(c["roles"]) != "[GroupMember.ReadWrite.All]" {
		t.Errorf("agent token claims: %v", c)
	}
	// One blueprint token serves one agent identity.
	st, body := h.token(assertionForm(appAgent2, bpTok))
	h.wantError(st, body, 401, "invalid_client", 700211)
	// fmi_path must name an agent identity of this blueprint.
	exch.Set("fmi_path", appSecret)
	st, body = h.token(exch)
	h.wantError(st, body, 400, "invalid_request", 0)
	// fmi_path is for the token exchange only.
	g := secretForm(appBlueprint, testSecret, "https://graph.microsoft.com/.default")
	g.Set("fmi_path", appAgent)
	st, body = h.token(g)
	h.wantError(st, body, 400, "invalid_request", 0)
	// An agent identity has no secret of its own.
	st, body = h.token(secretForm(appAgent, testSecret, "https://graph.microsoft.com/.default"))
	h.wantError(st, body, 401, "invalid_client", 7000112)
	// A Graph token is not a blueprint token.
	graphTok, _ := h.wantToken(h.token(secretForm(appBlueprint, testSecret, "https://graph.microsoft.com/.default")))
	st, body = h.token(assertionForm(appAgent, graphTok))
	h.wantError(st, body, 401, "invalid_client", 700211)
}

func TestEnforcement(t *testing.T) {
	h := newIDHarness(t, true)
	bearer := func(app string) map[string]string {
		var f url.Values
		if app == appCert {
			key, _ := keys(t)
			now := time.Now().Unix()
			f = assertionForm(appCert, signTest(t, key, "RS256", map[string]any{}, map[string]any{"aud": h.endpoint(), "iss": appCert, "sub": appCert, "nbf": now, "exp": now + 600}))
		} else {
			f = secretForm(app, testSecret, "https://graph.microsoft.com/.default")
		}
		tok, _ := h.wantToken(h.token(f))
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	reader, writer := bearer(appSecret), bearer(appCert) // GroupMember.Read.All; Group.ReadWrite.All

	st, body := h.do("GET", "/v1.0/groups", "", "", nil)
	if st != 401 || body["error"].(map[string]any)["code"] != "InvalidAuthenticationToken" {
		t.Fatalf("no token: %d %v", st, body)
	}
	if st, _ := h.do("GET", "/v1.0/groups", "", "", map[string]string{"Authorization": "Bearer not.a.jwt"}); st != 401 {
		t.Errorf("garbage token: %d", st)
	}
	if st, _ := h.do("GET", "/v1.0/groups?$select=id", "", "", reader); st != 200 {
		t.Errorf("GET /groups with GroupMember.Read.All: %d", st)
	}
	st, body = h.do("GET", "/v1.0/users", "", "", reader)
	if st != 403 {
		t.Fatalf("GET /users without a user permission: %d %v", st, body)
	}
	want := exampleObject(t, "error-Authorization_RequestDenied.response.json")
	sameKeys(t, "403 body", want, body)
	sameKeys(t, "403 error", want["error"].(map[string]any), body["error"].(map[string]any))
	sameKeys(t, "403 innerError", want["error"].(map[string]any)["innerError"].(map[string]any), body["error"].(map[string]any)["innerError"].(map[string]any))
	if e := body["error"].(map[string]any); e["code"] != "Authorization_RequestDenied" || e["message"] != want["error"].(map[string]any)["message"] {
		t.Errorf("403 error: %v", e)
	}
	// A higher-privileged permission also allows a read.
	if st, _ := h.do("GET", "/v1.0/groups/"+demoFinance+"/members", "", "", writer); st != 200 {
		t.Errorf("GET members with Group.ReadWrite.All: %d", st)
	}
	// Permissions apply to each $batch sub-request.
	batch := `{"requests":[{"id":"1","method":"GET","url":"/groups?$select=id"},{"id":"2","method":"GET","url":"/users"}]}`
	st, body = h.do("POST", "/v1.0/$batch", "application/json", batch, reader)
	rs, _ := body["responses"].([]any)
	if st != 200 || len(rs) != 2 {
		t.Fatalf("batch: %d %v", st, body)
	}
	for _, r := range rs {
		m := r.(map[string]any)
		if want := map[string]float64{"1": 200, "2": 403}[m["id"].(string)]; m["status"] != want {
			t.Errorf("batch item %v: status %v, want %v", m["id"], m["status"], want)
		}
	}
	// A bind-only PATCH needs GroupMember.ReadWrite.All (the agent has it),
	// any other PATCH Group.ReadWrite.All.
	exch := secretForm(appBlueprint, testSecret, "api://AzureADTokenExchange/.default")
	exch.Set("fmi_path", appAgent)
	bp, _ := h.wantToken(h.token(exch))
	agentTok, _ := h.wantToken(h.token(assertionForm(appAgent, bp)))
	agent := map[string]string{"Authorization": "Bearer " + agentTok}
	bind := fmt.Sprintf(`{"members@odata.bind":["%s/v1.0/directoryObjects/%s"]}`, h.base, demoBob)
	if st, body := h.do("PATCH", "/v1.0/groups/"+demoFinance, "application/json", bind, agent); st != 204 {
		t.Errorf("bind-only PATCH with GroupMember.ReadWrite.All: %d %v", st, body)
	}
	if st, _ := h.do("PATCH", "/v1.0/groups/"+demoFinance, "application/json", `{"description":"x"}`, agent); st != 403 {
		t.Errorf("property PATCH with GroupMember.ReadWrite.All: %d, want 403", st)
	}
	if st, _ := h.do("PATCH", "/v1.0/groups/"+demoFinance, "application/json", `{"description":"x"}`, writer); st != 204 {
		t.Errorf("property PATCH with Group.ReadWrite.All: %d", st)
	}
	// A token of another simulator (another key) is refused.
	other := New(Options{Fixture: identityFixture(t)})
	ob, oca, ostop, err := other.StartTLS()
	if err != nil {
		t.Fatal(err)
	}
	defer ostop()
	oh := &idHarness{t: t, sim: other, base: ob, tid: other.TenantID(), client: h.client}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(oca)
	oh.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	foreign, _ := oh.wantToken(oh.token(secretForm(appSecret, testSecret, "https://graph.microsoft.com/.default")))
	if st, _ := h.do("GET", "/v1.0/groups", "", "", map[string]string{"Authorization": "Bearer " + foreign}); st != 401 {
		t.Errorf("foreign token: %d, want 401", st)
	}
	// Identity requests stay out of the request log (their bodies carry
	// secrets).
	for _, e := range h.sim.Log() {
		if strings.Contains(e.Path, "oauth2") || strings.Contains(string(e.Body), testSecret) {
			t.Errorf("request log holds an identity request: %s %s", e.Method, e.Path)
		}
	}
	// Switched off, no token is needed.
	h.sim.SetEnforceAuth(false)
	if st, _ := h.do("GET", "/v1.0/users", "", "", nil); st != 200 {
		t.Errorf("enforcement off: %d", st)
	}
}

// TestRoutePermissions checks the permission table: every route has an
// entry, and each entry's least permission is the README's least-privileged
// application permission of its row.
func TestRoutePermissions(t *testing.T) {
	for _, rt := range newRouter().routes {
		if _, ok := lookupPermission(rt.method, rt.pattern); !ok {
			t.Errorf("route %s %s has no entry in routePermissions", rt.method, rt.pattern)
		}
	}
	rows := readmeLeast(t)
	check := func(key string, p permSet) {
		if p.row == 0 {
			if p.source == "" {
				t.Errorf("%s: neither a README row nor a source", key)
			}
			return
		}
		cell, ok := rows[p.row]
		if !ok {
			t.Errorf("%s: README has no row %d", key, p.row)
			return
		}
		if first := firstPermission(cell); first != p.least {
			t.Errorf("%s: least %s, README row %d says %q", key, p.least, p.row, cell)
		}
		if slices.Contains(p.also, p.least) {
			t.Errorf("%s: %s is both least and higher", key, p.least)
		}
	}
	for k, p := range routePermissions {
		check(k, p)
	}
	check("bind-only PATCH", bindOnlyPatch)
}

var permRE = regexp.MustCompile(`[A-Z][A-Za-z]+(?:-[A-Za-z]+)?(?:\.[A-Za-z]+)+`)

func firstPermission(cell string) string { return permRE.FindString(cell) }

// readmeLeast reads the operation index kept in testdata/graph/operations.json:
// row number → the least-privileged permission cell.
func readmeLeast(t *testing.T) map[int]string {
	t.Helper()
	b, err := os.ReadFile(graphRefPath("operations.json"))
	if err != nil {
		t.Fatalf("cannot read the Graph operation index: %v", err)
	}
	var ops []struct {
		Row   int    `json:"row"`
		Least string `json:"leastPrivilegedApplicationPermission"`
	}
	if err := json.Unmarshal(b, &ops); err != nil {
		t.Fatalf("operations.json: %v", err)
	}
	rows := map[int]string{}
	for _, o := range ops {
		rows[o.Row] = o.Least
	}
	if len(rows) < 90 {
		t.Fatalf("operations.json: %d rows", len(rows))
	}
	return rows
}

func TestSaveLeavesIdentityOut(t *testing.T) {
	s := New(Options{Fixture: identityFixture(t)})
	var b strings.Builder
	if err := s.Save(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), testSecret) || strings.Contains(b.String(), `"identity":`) {
		t.Errorf("saved state holds the identity configuration")
	}
}

func TestIdentityFixtureValidation(t *testing.T) {
	for name, id := range map[string]*Identity{
		"bad appId":          {Applications: []Application{{AppID: "x"}}},
		"duplicate":          {Applications: []Application{{AppID: appSecret}, {AppID: appSecret}}},
		"agent with secret":  {Applications: []Application{{AppID: appBlueprint}, {AppID: appAgent, AgentIdentityBlueprintID: appBlueprint, ClientSecrets: []string{"s"}}}},
		"unknown blueprint":  {Applications: []Application{{AppID: appAgent, AgentIdentityBlueprintID: appBlueprint}}},
		"bad certificate":    {Applications: []Application{{AppID: appCert, Certificates: []string{"nope"}}}},
		"fic two audiences":  {Applications: []Application{{AppID: appFed, FederatedIdentityCredentials: []FederatedIdentityCredential{{Issuer: "i", Subject: "s", Audiences: []string{"a", "b"}}}}}},
		"issuer key not PEM": {TrustedIssuers: []TrustedIssuer{{Issuer: testIssuer, Keys: []TrustedKey{{PEM: "x"}}}}},
	} {
		fx := DemoFixture()
		fx.Identity = id
		if err := fx.Validate(); err == nil {
			t.Errorf("%s: fixture validates", name)
		}
	}
}
