package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/graphsim"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/planner"
	"github.com/entrasync/entrasync/spec"
)

// Identities of the auth tests' fixture.
const (
	tSecretApp    = "a1111111-1111-4111-8111-111111111111"
	tCertApp      = "a2222222-2222-4222-8222-222222222222"
	tFedApp       = "a3333333-3333-4333-8333-333333333333"
	tBlueprint    = "a4444444-4444-4444-8444-444444444444"
	tAgent        = "a5555555-5555-4555-8555-555555555555"
	tSecret       = "tEsT~client~secret~value~0123456789"
	tBlueprintSec = "tEsT~blueprint~secret~value~987654"
	tGitHubIssuer = "https://token.actions.githubusercontent.com"
	tGitHubSub    = "repo:contoso/tenant:ref:refs/heads/main"
	tK8sIssuer    = "https://oidc.aks.example.test/ops"
	tK8sSub       = "system:serviceaccount:ops:entrasync"
)

var (
	tKeysOnce sync.Once
	tKey      *rsa.PrivateKey // the certificate's key and the external issuers' key
	tCertPEM  []byte
	tKeyPEM   []byte
)

func testKeys(t *testing.T) {
	t.Helper()
	tKeysOnce.Do(func() {
		tKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "entrasync"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &tKey.PublicKey, tKey)
		tCertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		kder, _ := x509.MarshalPKCS8PrivateKey(tKey)
		tKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	})
}

// externalToken is a token of an external issuer (GitHub Actions, a
// Kubernetes cluster) signed with the key the fixture trusts.
func externalToken(t *testing.T, iss, sub string) string {
	t.Helper()
	testKeys(t)
	now := time.Now().Unix()
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	c, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "aud": graph.DefaultFederatedAudience, "iat": now, "nbf": now, "exp": now + 3600})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, tKey, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// authFixture is the demo tenant with one application per credential
// kind, each granted roles.
func authFixture(t *testing.T, roles []string) *graphsim.Fixture {
	t.Helper()
	testKeys(t)
	pub, _ := x509.MarshalPKIXPublicKey(&tKey.PublicKey)
	fics := []graphsim.FederatedIdentityCredential{
		{Name: "github-main", Issuer: tGitHubIssuer, Subject: tGitHubSub, Audiences: []string{graph.DefaultFederatedAudience}},
		{Name: "aks", Issuer: tK8sIssuer, Subject: tK8sSub, Audiences: []string{graph.DefaultFederatedAudience}},
	}
	fx := graphsim.DemoFixture()
	fx.Identity = &graphsim.Identity{
		Applications: []graphsim.Application{
			{AppID: tSecretApp, DisplayName: "entrasync (secret)", ClientSecrets: []string{tSecret}, GrantedPermissions: roles},
			{AppID: tCertApp, DisplayName: "entrasync (certificate)", Certificates: []string{string(tCertPEM)}, GrantedPermissions: roles},
			{AppID: tFedApp, DisplayName: "entrasync (federated)", FederatedIdentityCredentials: fics, GrantedPermissions: roles},
			{AppID: tBlueprint, DisplayName: "entrasync blueprint", ClientSecrets: []string{tBlueprintSec}},
			{AppID: tAgent, DisplayName: "entrasync agent", AgentIdentityBlueprintID: tBlueprint, GrantedPermissions: roles},
		},
		TrustedIssuers: []graphsim.TrustedIssuer{
			{Issuer: tGitHubIssuer, Keys: []graphsim.TrustedKey{{KeyID: "k1", PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}}},
			{Issuer: tK8sIssuer, Keys: []graphsim.TrustedKey{{PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}}},
		},
	}
	return fx
}

// azureEnv lists every variable the credentials read; tests blank them
// all first so the machine's own never leak in.
var azureEnv = []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "ACTIONS_ID_TOKEN_REQUEST_URL",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ENTRASYNC_AGENT_IDENTITY_ID", "ENTRASYNC_AUTH", "ENTRASYNC_CA_FILE", "ENTRASYNC_GRAPH_URL",
	"AZURE_TOKEN_CREDENTIALS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"}

func setEnv(t *testing.T, kv map[string]string) {
	t.Helper()
	for _, k := range azureEnv {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)  // azidentity tells empty from unset
	}
	for k, v := range kv {
		t.Setenv(k, v)
	}
}

// cli runs entrasync in-process.
func cli(args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

var quickstart = filepath.Join("..", "..", "examples", "quickstart")

// serveSimForTest runs the code of `sim serve --tls --enforce-auth` on a
// free port and returns its base URL and the CA file it wrote.
func serveSimForTest(t *testing.T, fx *graphsim.Fixture) (*graphsim.Sim, string, string) {
	t.Helper()
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	ca := filepath.Join(t.TempDir(), "graphsim-ca.pem")
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	a := &app{stdout: &bytes.Buffer{}, stderr: &stderr}
	done := make(chan error, 1)
	go func() {
		done <- a.serveSim(ctx, sim, "127.0.0.1:0", &simServeOptions{tls: true, caOut: ca, enforce: true, ready: func(b string) { ready <- b }})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("sim serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim serve: %v", err)
		}
	})
	if !strings.Contains(stderr.String(), "AZURE_AUTHORITY_HOST="+base) {
		t.Errorf("sim serve does not say how to sign in:\n%s", stderr.String())
	}
	return sim, base, ca
}

// TestCredentialKindsAgainstSimServe: every credential kind gets a token
// from `sim serve --tls --enforce-auth` and runs a plan with it.
func TestCredentialKindsAgainstSimServe(t *testing.T) {
	s, diags := spec.Load(quickstart)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	planRoles := graph.PermissionNames(graph.Requirements(graph.Needs(s.Tenant, false)))
	sim, base, ca := serveSimForTest(t, authFixture(t, planRoles))
	tid := sim.TenantID()
	dir := t.TempDir()

	certFile := filepath.Join(dir, "entrasync.pem")
	testKeys(t)
	os.WriteFile(certFile, append(append([]byte{}, tCertPEM...), tKeyPEM...), 0o600)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(externalToken(t, tK8sIssuer, tK8sSub)), 0o600)

	// GitHub Actions' OIDC endpoint, over TLS: its certificate joins the
	// simulator's in the CA file.
	gh := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer gh-request-token" || r.URL.Query().Get("audience") != graph.DefaultFederatedAudience {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": externalToken(t, tGitHubIssuer, tGitHubSub)})
	}))
	defer gh.Close()
	bothCA := filepath.Join(dir, "ca.pem")
	simCA, _ := os.ReadFile(ca)
	os.WriteFile(bothCA, append(simCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: gh.Certificate().Raw})...), 0o644)

	common := map[string]string{"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": tid, "ENTRASYNC_CA_FILE": bothCA}
	for _, tc := range []struct {
		kind string
		env  map[string]string
	}{
		{"secret", map[string]string{"AZURE_CLIENT_ID": tSecretApp, "AZURE_CLIENT_SECRET": tSecret}},
		{"certificate", map[string]string{"AZURE_CLIENT_ID": tCertApp, "AZURE_CLIENT_CERTIFICATE_PATH": certFile}},
		{"workload-identity", map[string]string{"AZURE_CLIENT_ID": tFedApp, "AZURE_FEDERATED_TOKEN_FILE": tokenFile}},
		{"github-oidc", map[string]string{"AZURE_CLIENT_ID": tFedApp, "ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-request-token"}},
		{"agent-identity", map[string]string{"AZURE_CLIENT_ID": tBlueprint, "AZURE_CLIENT_SECRET": tBlueprintSec, "ENTRASYNC_AGENT_IDENTITY_ID": tAgent}},
		// The default chain finds the same variables azidentity documents.
		{"env", map[string]string{"AZURE_CLIENT_ID": tSecretApp, "AZURE_CLIENT_SECRET": tSecret}},
		{"env", map[string]string{"AZURE_CLIENT_ID": tFedApp, "AZURE_FEDERATED_TOKEN_FILE": tokenFile}},
		// In a GitHub Actions job with id-token: write and nothing else, the
		// default chain exchanges the job's OIDC token (issue 9, hole 6).
		{"env", map[string]string{"AZURE_CLIENT_ID": tFedApp, "ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-request-token"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range common {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			setEnv(t, env)
			sim.ResetLog()
			r := cli("plan", "-f", quickstart, "--graph-url", base, "--auth", tc.kind, "--detailed-exitcode")
			if r.code != exitChanges {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitChanges, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "Plan:") || len(sim.Log()) == 0 {
				t.Errorf("no plan, or no Graph request:\n%s", r.stdout)
			}
			for _, e := range sim.Log() {
				if e.Status == 401 || e.Status == 403 {
					t.Errorf("%s %s: %d", e.Method, e.Path, e.Status)
				}
			}
		})
	}
	// Managed identity and the Azure CLI get their tokens from the platform;
	// fakes of the platform (App Service's identity endpoint, an `az` on
	// PATH) hand out a token the simulator issued to the secret app.
	simToken := func() string {
		pem, _ := os.ReadFile(ca)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cred, err := graph.NewCredential(graph.CredentialOptions{Kind: graph.AuthSecret, HTTPClient: tokenHTTPClient(pool), Getenv: func(k string) string {
			return map[string]string{"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": tSecretApp, "AZURE_CLIENT_SECRET": tSecret}[k]
		}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graph.GraphScope}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}()
	exp := time.Now().Add(time.Hour)
	msi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "platform-header" || r.URL.Query().Get("resource") != "https://graph.microsoft.com" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"access_token": simToken, "expires_on": strconv.FormatInt(exp.Unix(), 10),
			"resource": "https://graph.microsoft.com", "token_type": "Bearer", "client_id": tSecretApp})
	}))
	defer msi.Close()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	azOut, _ := json.Marshal(map[string]any{"accessToken": simToken, "expires_on": exp.Unix(), "expiresOn": exp.Format("2006-01-02 15:04:05.000000"), "tokenType": "Bearer", "tenant": tid})
	os.WriteFile(filepath.Join(dir, "az.json"), azOut, 0o600)
	os.WriteFile(filepath.Join(bin, "az"), []byte("#!/bin/sh\ncat '"+filepath.Join(dir, "az.json")+"'\n"), 0o755)
	for _, tc := range []struct {
		kind string
		env  map[string]string
	}{
		{"managed-identity", map[string]string{"IDENTITY_ENDPOINT": msi.URL + "/msi/token", "IDENTITY_HEADER": "platform-header"}},
		{"azure-cli", map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH")}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			env := map[string]string{"ENTRASYNC_CA_FILE": ca}
			for k, v := range tc.env {
				env[k] = v
			}
			setEnv(t, env)
			if r := cli("plan", "-f", quickstart, "--graph-url", base, "--auth", tc.kind, "--detailed-exitcode"); r.code != exitChanges {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
		})
	}

	// A wrong secret: sign-in fails before any Graph request, and the
	// error names the problem, not the secret.
	setEnv(t, map[string]string{"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": tid, "ENTRASYNC_CA_FILE": ca, "AZURE_CLIENT_ID": tSecretApp, "AZURE_CLIENT_SECRET": "wrong~" + tSecret})
	sim.ResetLog()
	r := cli("plan", "-f", quickstart, "--graph-url", base, "--auth", "secret")
	if r.code != exitError || !strings.Contains(r.stderr, "AADSTS7000215") || strings.Contains(r.stdout+r.stderr, tSecret) || len(sim.Log()) != 0 {
		t.Errorf("wrong secret: exit %d, %d Graph requests\n%s", r.code, len(sim.Log()), r.stderr)
	}
}

// approveAll approves every risk code, so that apply runs through.
func approveAll() string {
	var cs []string
	for _, r := range planner.Risks {
		cs = append(cs, string(r.Code))
	}
	return strings.Join(cs, ",")
}

// authSim starts an enforcing simulator over TLS whose secret app has
// exactly roles, and points the environment at it.
func authSim(t *testing.T, roles []string) (*graphsim.Sim, string) {
	t.Helper()
	return serveAuthSim(t, graphsim.New(graphsim.Options{Fixture: authFixture(t, roles), Seed: 1, EnforceAuth: true}))
}

// authSimAt is authSim on a tenant saved with (*graphsim.Sim).Save.
func authSimAt(t *testing.T, state []byte, roles []string) (*graphsim.Sim, string) {
	t.Helper()
	f, err := graphsim.LoadFixture(bytes.NewReader(state))
	if err != nil {
		t.Fatal(err)
	}
	f.Identity = authFixture(t, roles).Identity
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := graphsim.Restore(bytes.NewReader(b), graphsim.Options{EnforceAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	return serveAuthSim(t, sim)
}

func serveAuthSim(t *testing.T, sim *graphsim.Sim) (*graphsim.Sim, string) {
	t.Helper()
	base, caPEM, stop, err := sim.StartTLS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, caPEM, 0o644)
	setEnv(t, map[string]string{"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": sim.TenantID(), "AZURE_CLIENT_ID": tSecretApp,
		"AZURE_CLIENT_SECRET": tSecret, "ENTRASYNC_CA_FILE": ca, "ENTRASYNC_AUTH": "secret"})
	return sim, base
}

// exampleDirs lists the example specs (directories with YAML files).
func exampleDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		d := filepath.Join("..", "..", "examples", e.Name())
		if yamls, _ := filepath.Glob(filepath.Join(d, "*.yaml")); e.IsDir() && len(yamls) > 0 {
			if s, diags := spec.Load(d); !diags.HasErrors() && managesSomething(s.Tenant) {
				out = append(out, d)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no example specs")
	}
	return out
}

type permsJSON struct {
	Plan, Apply, Optional []struct {
		Permission string   `json:"permission"`
		Operations []string `json:"operations"`
	}
}

func permNames(reqs []struct {
	Permission string   `json:"permission"`
	Operations []string `json:"operations"`
}) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Permission)
	}
	return out
}

// TestPermissionsOfExamplesAreExact: for every example, `entrasync
// permissions` prints lists with which plan and apply succeed against a
// simulator that enforces exactly them, on a new tenant and on the tenant
// they applied once it has drifted; without any one entry the pre-flight
// check fails, naming it, before any Graph request; and with the check
// skipped, the run without that entry fails because the simulator
// refuses a request with 403 (issue 9, hole 11): every entry is needed,
// none is there only because the check asks for it. An entry counts as
// needed when one of the two tenants refuses the run without it: some
// calls happen only once the objects exist (reading a blueprint's
// principal, its sponsors) or differ from the spec (enabling an agent
// identity, adding its sponsors back).
func TestPermissionsOfExamplesAreExact(t *testing.T) {
	dirs := exampleDirs(t)
	for _, want := range []string{"access-package-tutorial", "agents", "csv-per-team", "quickstart"} {
		if !slices.ContainsFunc(dirs, func(d string) bool { return filepath.Base(d) == want }) {
			t.Errorf("exampleDirs leaves out examples/%s", want)
		}
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkPermissionsExact(t, dir) })
	}
}

// checkPermissionsExact makes TestPermissionsOfExamplesAreExact's checks
// for the spec in dir, run on a copy of it.
func checkPermissionsExact(t *testing.T, dir string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "spec")
	copyDir(t, dir, work)
	r := cli("permissions", "-f", work, "--format", "json")
	if r.code != 0 {
		t.Fatalf("permissions: exit %d\n%s", r.code, r.stderr)
	}
	var p permsJSON
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("permissions --format json: %v\n%s", err, r.stdout)
	}
	planList, applyList := permNames(p.Plan), permNames(p.Apply)
	if len(planList) == 0 || len(applyList) == 0 {
		t.Fatalf("empty lists: %s", r.stdout)
	}

	// Exactly the plan list: plan succeeds.
	sim, base := authSim(t, planList)
	if r := cli("plan", "-f", work, "--graph-url", base); r.code != 0 {
		t.Fatalf("plan with %v: exit %d\n%s", planList, r.code, r.stderr)
	}
	// Exactly the apply list: apply succeeds, and plans clean after.
	sim, base = authSim(t, applyList)
	if r := cli("apply", "-f", work, "--graph-url", base, "--auto-approve", "--approve", approveAll()); r.code != 0 {
		t.Fatalf("apply with %v: exit %d\n%s\n%s", applyList, r.code, r.stdout, r.stderr)
	}
	checkOperationsCovered(t, work, sim.Log())
	if r := cli("plan", "-f", work, "--graph-url", base, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range sim.Log() {
		if s.Status == 403 && !strings.HasSuffix(s.Path, "/organization") {
			t.Errorf("%s %s answered 403", s.Method, s.Path)
		}
	}
	// The applied tenant, drifted: plan and apply still need no more.
	drifted := driftedState(t, sim)
	sim, base = authSimAt(t, drifted, planList)
	if r := cli("plan", "-f", work, "--graph-url", base); r.code != 0 {
		t.Fatalf("plan of the drifted tenant with %v: exit %d\n%s", planList, r.code, r.stderr)
	}
	no403(t, "plan of the drifted tenant", sim.Log())
	sim, base = authSimAt(t, drifted, applyList)
	sim.ResetLog()
	if r := cli("apply", "-f", work, "--graph-url", base, "--auto-approve", "--approve", approveAll()); r.code != 0 {
		t.Fatalf("apply to the drifted tenant with %v: exit %d\n%s\n%s", applyList, r.code, r.stdout, r.stderr)
	}
	if writes := countWrites(sim.Log()); writes == 0 {
		t.Errorf("the drifted tenant needed no write: driftedState drifts nothing %s manages", filepath.Base(dir))
	}
	checkOperationsCovered(t, work, sim.Log())
	no403(t, "apply to the drifted tenant", sim.Log())
	if r := cli("plan", "-f", work, "--graph-url", base, "--detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the apply to the drifted tenant: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Without any one entry, the pre-flight names it.
	for _, tc := range []struct {
		cmd  []string
		list []string
	}{
		{[]string{"plan"}, planList},
		{[]string{"apply", "--auto-approve", "--approve", approveAll()}, applyList},
	} {
		for i, missing := range tc.list {
			rest := slices.Delete(slices.Clone(tc.list), i, i+1)
			sim, base := authSim(t, rest)
			r := cli(append(tc.cmd, "-f", work, "--graph-url", base)...)
			if r.code != exitError || !regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(missing)+`\s+for `).MatchString(r.stderr) {
				t.Errorf("%s without %s: exit %d\n%s", tc.cmd[0], missing, r.code, r.stderr)
			}
			if n := len(sim.Log()); n != 0 {
				t.Errorf("%s without %s: %d Graph requests before the check failed", tc.cmd[0], missing, n)
			}
			// Without the check, Graph refuses a request the run
			// needs, on the new tenant or on the drifted one: the
			// entry is not superfluous.
			// The pre-flight run sent nothing: its simulator is still
			// a new tenant.
			var outcomes []string
			for _, at := range []struct {
				name  string
				state []byte
			}{{"the new tenant", nil}, {"the drifted tenant", drifted}} {
				if at.state != nil {
					sim, base = authSimAt(t, at.state, rest)
				}
				// A write Graph accepts but a missing read
				// permission hides is waited for by apply's
				// verification: keep that wait short here.
				r := cli(append(tc.cmd, "-f", work, "--graph-url", base, "--skip-permission-check", "--consistency-timeout", "3s")...)
				if r.code != 0 && deniedRun(r, sim.Log()) {
					outcomes = nil
					break
				}
				outcome := "succeeds"
				if r.code != 0 {
					outcome = fmt.Sprintf("exits %d with no request refused with 403: %s", r.code, lastLine(r.stderr))
				}
				outcomes = append(outcomes, outcome+" on "+at.name)
			}
			if outcomes != nil {
				t.Errorf("%s without %s (--skip-permission-check) %s: the entry is superfluous", tc.cmd[0], missing, strings.Join(outcomes, " and "))
			}
		}
	}
}

// deniedRun reports whether a run failed because Graph refused one of its
// requests (the tenant check's GET /organization aside, which is optional).
func deniedRun(r result, log []graphsim.LogEntry) bool {
	if strings.Contains(r.stdout+r.stderr, "Authorization_RequestDenied") {
		return true
	}
	return slices.ContainsFunc(log, func(e graphsim.LogEntry) bool {
		return e.Status == 403 && !strings.HasSuffix(e.Path, "/organization")
	})
}

func no403(t *testing.T, what string, log []graphsim.LogEntry) {
	t.Helper()
	for _, e := range log {
		if e.Status == 403 && !strings.HasSuffix(e.Path, "/organization") {
			t.Errorf("%s: %s %s answered 403", what, e.Method, e.Path)
		}
	}
}

// countWrites counts the requests of a log that change the tenant.
func countWrites(log []graphsim.LogEntry) int {
	n := 0
	for _, e := range withoutLease(log) {
		if e.Method != "GET" && !strings.HasSuffix(e.Path, "/$batch") && !strings.HasSuffix(e.Path, "/getByIds") {
			n++
		}
	}
	return n
}

// driftedState saves sim's tenant (an example just applied) with what the
// example manages changed behind entrasync's back, as people and other
// tools do: agent identities switched on or off and stripped of their
// tags and sponsors; blueprints stripped of their description, tags,
// sponsors, exposed scopes, inheritable permissions and credentials;
// groups of their description, members and owners. Applying the example again
// then performs the update calls a new tenant never sees.
func driftedState(t *testing.T, sim *graphsim.Sim) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := sim.Save(&b); err != nil {
		t.Fatal(err)
	}
	f, err := graphsim.LoadFixture(&b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.ServicePrincipals {
		sp := &f.ServicePrincipals[i]
		if sp.ODataType != "#microsoft.graph.agentIdentity" {
			continue
		}
		enabled := sp.AccountEnabled != nil && !*sp.AccountEnabled
		sp.AccountEnabled, sp.Tags, sp.Sponsors = &enabled, nil, nil
	}
	for i := range f.Blueprints {
		bp := &f.Blueprints[i]
		bp.Description, bp.Tags, bp.Sponsors = "drifted", nil, nil
		bp.IdentifierURIs, bp.OAuth2PermissionScopes, bp.InheritablePermissions, bp.FederatedIdentityCredentials = nil, nil, nil, nil
	}
	for i := range f.Groups {
		g := &f.Groups[i]
		if g.MembershipRule == "" && g.OnPremisesSyncEnabled == nil {
			g.Description, g.Members, g.Owners = "drifted", nil, nil
		}
	}
	// The drift happened a while ago: deliveries are older than
	// planner.RepairGrace, so a missing membership is repaired.
	old := time.Now().Add(-2 * planner.RepairGrace)
	for i := range f.AccessPackages {
		for j := range f.AccessPackages[i].Assignments {
			if a := &f.AccessPackages[i].Assignments[j]; a.StartDateTime != nil {
				a.StartDateTime = &old
			}
		}
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOperationsCovered maps every Graph request of a run to an entry of
// graph.Operations that Needs predicted for the spec: the table covers
// what the client really sends.
func checkOperationsCovered(t *testing.T, specDir string, log []graphsim.LogEntry) {
	t.Helper()
	s, diags := spec.Load(specDir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	needed := map[string]bool{}
	for _, o := range append(graph.Needs(s.Tenant, true), graph.LeaseOperations()...) {
		needed[o.ID] = true
	}
	for _, e := range log {
		if strings.HasSuffix(e.Path, "/$batch") && !e.InBatch {
			continue
		}
		version, path, _ := strings.Cut(strings.TrimPrefix(e.Path, "/"), "/")
		var found *graph.Operation
		for _, o := range graph.Operations {
			if o.Method == e.Method && o.Version == version && opPattern(o.Path).MatchString("/"+path) {
				if o.ID == graph.OpUpdateGroup && strings.Contains(string(e.Body), "members@odata.bind") {
					continue
				}
				if o.ID == graph.OpUpdateBlueprint && strings.Contains(string(e.Body), "oauth2PermissionScopes") {
					continue
				}
				found = o
				break
			}
		}
		switch {
		case found == nil:
			t.Errorf("%s %s: no entry in graph.Operations", e.Method, e.Path)
		case !needed[found.ID]:
			t.Errorf("%s %s is %s, which graph.Needs did not predict", e.Method, e.Path, found.ID)
		}
	}
}

var paramRE = regexp.MustCompile(`\\\{[^}]*\}`)

// opPattern turns "/groups/{group-id}/members" into a regexp.
func opPattern(p string) *regexp.Regexp {
	p, _, _ = strings.Cut(p, " (")
	return regexp.MustCompile("(?i)^" + paramRE.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if strings.HasPrefix(d.Name(), ".") && rel != "." {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoSecretsInOutput: a run with debug logging, a saved plan and a
// failing write shows neither the client secret nor any token, in any
// output or file.
func TestNoSecretsInOutput(t *testing.T) {
	s, _ := spec.Load(quickstart)
	roles := append(graph.PermissionNames(graph.Requirements(graph.Needs(s.Tenant, true))), graph.PermDirectoryRead)
	sim, base := authSim(t, roles)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	var all strings.Builder
	add := func(r result) result {
		all.WriteString(r.stdout)
		all.WriteString(r.stderr)
		return r
	}
	add(cli("plan", "-f", quickstart, "--graph-url", base, "--debug", "--format", "json", "-o", planFile))
	sim.FailNext("PATCH", "/groups", 400, 100)
	r := add(cli("apply", "-f", quickstart, "--graph-url", base, "--debug", "--auto-approve", "--approve", approveAll()))
	if r.code != exitError || !strings.Contains(r.stdout+r.stderr, "400") {
		t.Errorf("apply with failing writes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	add(cli("apply", "-f", quickstart, "--graph-url", base, "--debug", "--auto-approve", "--approve", approveAll(), "--format", "json"))
	add(cli("permissions", "-f", quickstart, "--graph-url", base, "--debug", "--check", "--format", "json"))
	// Refused for a missing permission, and a failed sign-in.
	authSim(t, []string{graph.PermGroupMemberRead})
	add(cli("apply", "-f", quickstart, "--graph-url", base, "--debug", "--auto-approve"))
	t.Setenv("AZURE_CLIENT_SECRET", "wrong~"+tSecret)
	add(cli("plan", "-f", quickstart, "--graph-url", base, "--debug"))
	if b, err := os.ReadFile(planFile); err == nil {
		all.Write(b)
	} else {
		t.Errorf("no saved plan: %v", err)
	}
	out := all.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Errorf("no debug output:\n%s", out)
	}
	for _, bad := range []string{tSecret, "eyJ", "Bearer ", "bearer "} {
		if strings.Contains(out, bad) {
			i := strings.Index(out, bad)
			t.Errorf("output contains %q: ...%s...", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
}

// TestGraphURLMustBeHTTPS: --graph-url refuses plain http except on
// loopback.
func TestGraphURLMustBeHTTPS(t *testing.T) {
	setEnv(t, nil)
	for _, u := range []string{"http://graph.microsoft.com", "http://10.1.2.3:8080", "ftp://127.0.0.1"} {
		r := cli("plan", "-f", quickstart, "--graph-url", u)
		if r.code != exitError || !strings.Contains(r.stderr, "must use https") {
			t.Errorf("--graph-url %s: exit %d\n%s", u, r.code, r.stderr)
		}
	}
	_, url := startSim(t, graphsim.DemoFixture())
	if r := cli("plan", "-f", quickstart, "--graph-url", url); r.code != 0 {
		t.Errorf("loopback http: exit %d\n%s", r.code, r.stderr)
	}
}

// TestPermissionsCheck: --check names what the token lacks.
func TestPermissionsCheck(t *testing.T) {
	_, base := authSim(t, []string{graph.PermGroupMemberRead, graph.PermUserReadBasic})
	r := cli("permissions", "-f", quickstart, "--graph-url", base, "--check")
	has := func(re string) bool { return regexp.MustCompile(re).MatchString(r.stdout) }
	if r.code != exitError || !has(`missing for plan:\s+Group-OnPremisesSyncBehavior.ReadWrite.All`) || has(`missing for plan:\s+(GroupMember|User)`) ||
		!has(`missing for apply:\s+Group.ReadWrite.All`) || !has(`not granted \(optional\):\s+Directory.Read.All`) {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = cli("permissions", "-f", quickstart, "--graph-url", base, "--check", "--only", "plan", "--format", "json")
	var rep struct {
		Check struct {
			Token    graph.TokenInfo `json:"token"`
			Missing  map[string][]map[string]any
			Complete bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitError || rep.Check.Token.AppID != tSecretApp ||
		len(rep.Check.Missing["plan"]) != 1 || rep.Check.Missing["apply"] != nil {
		t.Errorf("json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	_, base = authSim(t, []string{graph.PermGroupReadWrite, graph.PermUserReadBasic, graph.PermGroupSyncBehavior})
	if r := cli("permissions", "-f", quickstart, "--graph-url", base, "--check"); r.code != 0 || !strings.Contains(r.stdout, "All required permissions are granted.") {
		t.Errorf("complete: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSimRoles: --sim-roles turns sign-in on in the embedded simulator.
func TestSimRoles(t *testing.T) {
	setEnv(t, nil)
	work := filepath.Join(t.TempDir(), "q")
	copyDir(t, quickstart, work)
	r := cli("plan", "--sim", "-f", work, "--sim-roles", "GroupMember.Read.All")
	if r.code != exitError || !strings.Contains(r.stderr, "User.ReadBasic.All") || !strings.Contains(r.stderr, "Group-OnPremisesSyncBehavior.ReadWrite.All") {
		t.Errorf("partial roles: exit %d\n%s", r.code, r.stderr)
	}
	r = cli("plan", "--sim", "-f", work, "--sim-roles", "GroupMember.Read.All,User.ReadBasic.All,Group-OnPremisesSyncBehavior.ReadWrite.All", "--detailed-exitcode")
	if r.code != exitChanges {
		t.Errorf("all plan roles: exit %d\n%s", r.code, r.stderr)
	}
	if r := cli("plan", "-f", work, "--sim-roles", "X"); r.code != exitError || !strings.Contains(r.stderr, "--sim-roles needs --sim") {
		t.Errorf("--sim-roles without --sim: exit %d\n%s", r.code, r.stderr)
	}
}

// managesSomething reports whether a spec manages any object.
func managesSomething(t *model.Tenant) bool {
	return len(t.Groups)+len(t.Catalogs)+len(t.AccessPackages)+len(t.Grants)+len(t.Blueprints)+len(t.AgentIdentities) > 0
}

// Issue 9, hole 7: with exactly the least-privileged permissions that
// `entrasync permissions` recommends (no Directory.Read.All, so GET
// /organization is refused), a spec for another tenant is still refused
// before any write: the token's tenant is compared with the tenant id the
// spec's domain resolves to through the authority's OpenID metadata.
func TestWrongTenantRefusedWithLeastPrivilege(t *testing.T) {
	setEnv(t, nil)
	work := filepath.Join(t.TempDir(), "q")
	copyDir(t, quickstart, work)
	r := cli("permissions", "-f", work, "--format", "json")
	var rep permissionsReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Apply) == 0 {
		t.Fatalf("permissions: exit %d %v\n%s", r.code, err, r.stdout)
	}
	var roles []string
	for _, q := range rep.Apply {
		if q.Permission == graph.PermDirectoryRead {
			t.Fatalf("the recommended set holds %s; the test needs it without", q.Permission)
		}
		roles = append(roles, q.Permission)
	}
	least := strings.Join(roles, ",")

	// The right tenant: planned and applied with only those permissions.
	r = cli("plan", "--sim", "-f", work, "--sim-roles", least, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("right tenant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	planBefore := r.stdout

	// Another tenant the authority knows (fabrikam): refused, naming both.
	groups := filepath.Join(work, "groups.yaml")
	b, _ := os.ReadFile(groups)
	os.WriteFile(groups, []byte(strings.Replace(string(b), "tenant: contoso.onmicrosoft.com", "tenant: fabrikam.onmicrosoft.com", 1)), 0o644)
	r = cli("apply", "--sim", "-f", work, "--sim-roles", least, "--auto-approve", "--approve", "ES101,ES301")
	if r.code != exitError || !strings.Contains(r.stderr, "the spec is for tenant fabrikam.onmicrosoft.com (tenant id 5b7c1d2e-8f3a-4e6b-9c0d-1a2b3c4d5e6f), but the credential signed in to tenant e179f773-a6e0-43c0-9514-b7dde2ad0478") {
		t.Fatalf("other tenant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A domain the authority cannot resolve, and no /organization: refused.
	os.WriteFile(groups, []byte(strings.Replace(string(b), "tenant: contoso.onmicrosoft.com", "tenant: nowhere.onmicrosoft.com", 1)), 0o644)
	r = cli("apply", "--sim", "-f", work, "--sim-roles", least, "--auto-approve", "--approve", "ES101,ES301")
	if r.code != exitError || !strings.Contains(r.stderr, "cannot confirm that Graph answers for tenant nowhere.onmicrosoft.com") || !strings.Contains(r.stderr, "invalid_tenant") {
		t.Fatalf("unresolvable tenant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Nothing was written: the right tenant's plan is what it was.
	os.WriteFile(groups, b, 0o644)
	if r := cli("plan", "--sim", "-f", work, "--sim-roles", least); r.stdout != planBefore {
		t.Errorf("the tenant changed although both applies were refused:\nbefore:\n%s\nafter:\n%s", planBefore, r.stdout)
	}
}

// Issue 9, hole 6: the GitHub Actions recipe signs in. Its workflow-level
// env (with the repository variables filled in) plus what GitHub sets in a
// job with id-token: write is all entrasync gets; with it, a plan against
// `sim serve --tls --enforce-auth` must obtain a token and run.
func TestCIRecipeSignsIn(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if wf.Permissions["id-token"] != "write" {
		t.Fatalf("the workflow does not grant id-token: write: %v", wf.Permissions)
	}
	s, diags := spec.Load(quickstart)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sim, base, ca := serveSimForTest(t, authFixture(t, graph.PermissionNames(graph.Requirements(graph.Needs(s.Tenant, false)))))
	gh := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer gh-request-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": externalToken(t, tGitHubIssuer, tGitHubSub)})
	}))
	defer gh.Close()
	bothCA := filepath.Join(t.TempDir(), "ca.pem")
	simCA, _ := os.ReadFile(ca)
	os.WriteFile(bothCA, append(simCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: gh.Certificate().Raw})...), 0o644)

	vars := map[string]string{"AZURE_TENANT_ID": sim.TenantID(), "AZURE_CLIENT_ID": tFedApp}
	env := map[string]string{
		// What GitHub sets in the job, and what points entrasync at the simulator.
		"ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-request-token",
		"AZURE_AUTHORITY_HOST": base, "ENTRASYNC_CA_FILE": bothCA,
	}
	varRE := regexp.MustCompile(`^\$\{\{ vars\.([A-Z_]+) \}\}$`)
	for k, v := range wf.Env {
		if m := varRE.FindStringSubmatch(v); m != nil {
			v = vars[m[1]]
		}
		env[k] = v
	}
	if env["AZURE_TENANT_ID"] == "" || env["AZURE_CLIENT_ID"] == "" {
		t.Fatalf("the workflow env lacks the tenant or client: %v", wf.Env)
	}
	setEnv(t, env)
	sim.ResetLog()
	r := cli("plan", "-f", quickstart, "--graph-url", base, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("plan with the recipe's environment: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, e := range sim.Log() {
		if e.Status == 401 || e.Status == 403 {
			t.Errorf("%s %s: %d", e.Method, e.Path, e.Status)
		}
	}
}

// TestAuthNoCredentialHint: when no credential can even try, the sign-in
// error ends with what to do instead; a credential that tried and was
// refused gets no hint, its error names the problem.
func TestAuthNoCredentialHint(t *testing.T) {
	hint := "Hint: choose a credential with --auth (" + authKindList() + "), or try entrasync on the built-in simulator with --sim."
	if !strings.Contains(hint, "github-oidc") {
		t.Fatalf("kinds: %s", hint)
	}
	empty := t.TempDir() // a PATH without az, azd or pwsh
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		// The default chain narrowed, with azidentity's own variable, to
		// sources that fail without the network: no managed identity
		// endpoint is probed.
		{"environment", map[string]string{"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}, []string{"plan", "-f", quickstart}},
		{"developer tools", map[string]string{"AZURE_TOKEN_CREDENTIALS": "dev", "PATH": empty}, []string{"apply", "-f", quickstart, "--auto-approve"}},
		{"azure-cli", map[string]string{"PATH": empty}, []string{"plan", "-f", quickstart, "--auth", "azure-cli"}},
		{"permissions --check", map[string]string{"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}, []string{"permissions", "-f", quickstart, "--check"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			r := cli(tc.args...)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.code != exitError || !strings.HasPrefix(r.stderr, "Error: sign-in failed: ") || lines[len(lines)-1] != hint {
				t.Errorf("exit %d\n%s", r.code, r.stderr)
			}
		})
	}

	// A wrong secret: the credential tried.
	_, base := authSim(t, []string{graph.PermGroupMemberRead})
	t.Setenv("AZURE_CLIENT_SECRET", "wrong~"+tSecret)
	if r := cli("plan", "-f", quickstart, "--graph-url", base); r.code != exitError || !strings.Contains(r.stderr, "sign-in failed") || strings.Contains(r.stderr, "Hint:") {
		t.Errorf("wrong secret: exit %d\n%s", r.code, r.stderr)
	}
}

// TestAuthCredentialUnavailable: what counts as "no credential could try".
func TestAuthCredentialUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{azidentity.NewCredentialUnavailableError("no az"), true},
		{fmt.Errorf("reading the token: %w", azidentity.NewCredentialUnavailableError("no az")), true},
		{&azidentity.AuthenticationFailedError{}, false},
		{errors.New("graph: the access token is not a JSON Web Token; its permissions cannot be read"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := credentialUnavailable(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Only an application holding an EntitlementManagement read permission is
// trusted to see the whole tenant's entitlement management in one list; a
// user (who may own one catalog) or an app without it is read package by
// package.
func TestSeesWholeEM(t *testing.T) {
	for _, c := range []struct {
		info graph.TokenInfo
		want bool
	}{
		{graph.TokenInfo{Roles: []string{"EntitlementManagement.Read.All"}}, true},
		{graph.TokenInfo{Roles: []string{"Group.Read.All", "entitlementmanagement.readwrite.all"}}, true},
		{graph.TokenInfo{Roles: []string{"Group.Read.All"}}, false},
		{graph.TokenInfo{Roles: []string{"EntitlementManagement.Read.All"}, Delegated: true}, false},
		{graph.TokenInfo{Delegated: true, Scopes: []string{"EntitlementManagement.Read.All"}}, false},
	} {
		if got := seesWholeEM(&c.info); got != c.want {
			t.Errorf("seesWholeEM(%+v) = %v, want %v", c.info, got, c.want)
		}
	}
	for _, c := range []struct {
		info graph.TokenInfo
		want bool
	}{
		{graph.TokenInfo{Roles: []string{"Group.Read.All", "directory.read.all"}}, true},
		{graph.TokenInfo{Roles: []string{"Directory.ReadWrite.All"}}, true},
		{graph.TokenInfo{Roles: []string{"User.Read.All", "GroupMember.Read.All"}}, false},
		{graph.TokenInfo{Roles: []string{"Directory.Read.All"}, Delegated: true}, false},
	} {
		if got := readsDirectory(&c.info); got != c.want {
			t.Errorf("readsDirectory(%+v) = %v, want %v", c.info, got, c.want)
		}
	}
}
