package graph_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNewCredentialNamesMissingVariables(t *testing.T) {
	const secret = "s3cr3t-never-printed"
	for kind, want := range map[graph.AuthKind]string{
		graph.AuthSecret:           "AZURE_TENANT_ID and AZURE_CLIENT_ID",
		graph.AuthCertificate:      "AZURE_TENANT_ID and AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH",
		graph.AuthWorkloadIdentity: "AZURE_TENANT_ID and AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
		graph.AuthGitHubOIDC:       "AZURE_TENANT_ID and AZURE_CLIENT_ID and ACTIONS_ID_TOKEN_REQUEST_URL",
		graph.AuthAgentIdentity:    "AZURE_TENANT_ID and AZURE_CLIENT_ID and ENTRASYNC_AGENT_IDENTITY_ID",
	} {
		env := map[string]string{"AZURE_CLIENT_SECRET": secret, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": secret}
		_, err := graph.NewCredential(graph.CredentialOptions{Kind: kind, Getenv: envOf(env)})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v, want it to name %s and no secret", kind, err, want)
		}
	}
	// The agent identity needs its blueprint's credential.
	_, err := graph.NewCredential(graph.CredentialOptions{Kind: graph.AuthAgentIdentity, Getenv: envOf(map[string]string{
		"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "ENTRASYNC_AGENT_IDENTITY_ID": "a"})})
	if err == nil || !strings.Contains(err.Error(), "blueprint") {
		t.Errorf("agent identity without blueprint credential: %v", err)
	}
	// The authority must be https.
	_, err = graph.NewCredential(graph.CredentialOptions{Kind: graph.AuthEnv, Getenv: envOf(map[string]string{"AZURE_AUTHORITY_HOST": "http://127.0.0.1:1"})})
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http authority: %v", err)
	}
	if _, err := graph.ParseAuthKind("password"); err == nil || !strings.Contains(err.Error(), "agent-identity") {
		t.Errorf("unknown kind: %v", err)
	}
	// Certificate files are read and parsed without echoing the password.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	_, err = graph.NewCredential(graph.CredentialOptions{Kind: graph.AuthCertificate, Getenv: envOf(map[string]string{
		"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": bad, "AZURE_CLIENT_CERTIFICATE_PASSWORD": secret})})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("bad certificate: %v", err)
	}
}

func TestGitHubOIDCAssertion(t *testing.T) {
	var gotAuth, gotAud string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		if r.URL.Query().Get("api-version") != "2.0" {
			w.WriteHeader(400)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": "header.payload.sig"})
	}))
	defer srv.Close()
	get := graph.GitHubOIDCAssertion(srv.Client(), srv.URL+"/token?api-version=2.0", "req-token", graph.DefaultFederatedAudience)
	tok, err := get(context.Background())
	if err != nil || tok != "header.payload.sig" || gotAuth != "bearer req-token" || gotAud != "api://AzureADTokenExchange" {
		t.Fatalf("token %q, err %v, auth %q, audience %q", tok, err, gotAuth, gotAud)
	}
	// Failures name the host, never the request token.
	get = graph.GitHubOIDCAssertion(srv.Client(), srv.URL+"/token", "req-token", graph.DefaultFederatedAudience)
	if _, err := get(context.Background()); err == nil || strings.Contains(err.Error(), "req-token") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("error: %v", err)
	}
}

const (
	blueprintID = "44444444-4444-4444-8444-444444444444"
	agentID     = "55555555-5555-4555-8555-555555555555"
	issuer      = "https://kubernetes.example.test"
)

// TestAgentIdentityCredential runs the two-step flow against graphsim with
// each kind of blueprint credential.
func TestAgentIdentityCredential(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "blueprint"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)

	fx := graphsim.DemoFixture()
	fx.Identity = &graphsim.Identity{
		Applications: []graphsim.Application{
			{AppID: blueprintID, ClientSecrets: []string{"bp-secret"}, Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))},
				FederatedIdentityCredentials: []graphsim.FederatedIdentityCredential{{Name: "k8s", Issuer: issuer, Subject: "system:serviceaccount:ops:entrasync", Audiences: []string{graph.DefaultFederatedAudience}}}},
			{AppID: agentID, DisplayName: "agent", AgentIdentityBlueprintID: blueprintID, GrantedPermissions: []string{"GroupMember.Read.All"}},
		},
		TrustedIssuers: []graphsim.TrustedIssuer{{Issuer: issuer, Keys: []graphsim.TrustedKey{{PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}}}},
	}
	sim := graphsim.New(graphsim.Options{Fixture: fx, EnforceAuth: true})
	base, caPEM, stop, err := sim.StartTLS()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	federated := func(context.Context) (string, error) {
		now := time.Now().Unix()
		h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT"})
		c, _ := json.Marshal(map[string]any{"iss": issuer, "sub": "system:serviceaccount:ops:entrasync", "aud": graph.DefaultFederatedAudience, "iat": now, "exp": now + 600})
		in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
		sum := sha256.Sum256([]byte(in))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		return in + "." + base64.RawURLEncoding.EncodeToString(sig), err
	}
	for name, bp := range map[string]graph.BlueprintCredential{
		"secret":      {Secret: "bp-secret"},
		"certificate": {Certificates: []*x509.Certificate{cert}, Key: key},
		"federated":   {Assertion: federated},
	} {
		t.Run(name, func(t *testing.T) {
			cred, err := graph.NewAgentIdentityCredential(sim.TenantID(), blueprintID, agentID, bp, &graph.AgentIdentityCredentialOptions{
				ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/"}, Transport: hc},
				DisableInstanceDiscovery: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graph.GraphScope}})
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.Token, ".")[1])
			json.Unmarshal(b, &claims)
			if claims["appid"] != agentID || claims["xms_par_app_azp"] != blueprintID {
				t.Errorf("claims: %v", claims)
			}
			// And Graph takes it.
			c, err := graph.New(graph.Options{BaseURL: base, Credential: cred, RootCAs: pool})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(context.Background(), desiredDemo()); err == nil || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
				// GroupMember.Read.All reads groups but not users: the
				// demo spec's user look-ups are refused.
				t.Errorf("read with GroupMember.Read.All only: %v", err)
			}
		})
	}
	// A wrong blueprint secret fails at step 1, and says so without the
	// secret.
	cred, _ := graph.NewAgentIdentityCredential(sim.TenantID(), blueprintID, agentID, graph.BlueprintCredential{Secret: "wrong-bp-secret"}, &graph.AgentIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/"}, Transport: hc}, DisableInstanceDiscovery: true})
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graph.GraphScope}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "wrong-bp-secret") {
		t.Errorf("wrong blueprint secret: %v", err)
	}
}
