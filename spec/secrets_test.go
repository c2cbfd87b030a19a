package spec

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var (
	sampleJWT    = b64(`{"alg":"RS256","typ":"JWT"}`) + "." + b64(`{"aud":"https://graph.microsoft.com","roles":["Group.ReadWrite.All"]}`) + ".c2lnbmF0dXJl"
	sampleSecret = "Abc8Q~" + strings.Repeat("xY7_", 8) + "k." // 40 characters
)

func TestSecretKind(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{sampleJWT, jwtNoun},
		{"Bearer " + sampleJWT, jwtNoun},
		{sampleJWT[:strings.LastIndex(sampleJWT, ".")+1], jwtNoun}, // unsigned
		{sampleSecret, entraNoun},
		{"secret: " + sampleSecret, entraNoun},
		{"-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----", privateKeyNoun},
		{"-----BEGIN RSA PRIVATE KEY-----", privateKeyNoun},
		{"ghp_" + strings.Repeat("a1B2", 9), githubNoun},
		{"github_pat_11ABCDEFG0abcdefghijklmn_opqrstuvwxyz0123456789", githubNoun},

		// Look-alikes that are not credentials.
		{"", ""},
		{"Marketing resources", ""},
		{"Members get the campaign tools (see https://contoso.sharepoint.com/sites/x?id=eyJhbGciOi)", ""},
		{`(user.department -eq "Sales") and (user.extensionAttribute1 -eq "Q~1")`, ""},
		{"alice@contoso.com", ""},
		{"6c42590f-fcf0-4922-bac6-205f7c6aa89c", ""},
		{"eyJub3QiOiJhIGp3dCJ9", ""},                      // one JSON segment
		{"eyJhYmMi.eyJhYmMi.sig", ""},                     // segments that are not JSON objects
		{"Abc8Q~short", ""},                               // too short for a client secret
		{"Abc8Q~" + strings.Repeat("x", 34) + "more", ""}, // too long
		{"-----BEGIN CERTIFICATE-----", ""},               // a certificate is public
		{"ghp_short", ""},
		{"Version 1.2.3 of the v2.0.1 tool: a.b.c", ""},
	} {
		if got := secretKind(tc.value); got != tc.want {
			t.Errorf("secretKind(%q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}

func TestLoadRefusesSecrets(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "groups.yaml", `tenant: contoso.onmicrosoft.com
groups:
  - displayName: Finance
    description: "`+sampleJWT+`"
    members:
      csv: {path: members.csv, column: Email}
  - displayName: Ops
    mailNickname: `+sampleSecret+`
`)
	write(t, dir, "members.csv", "Email\nalice@contoso.com\n"+sampleSecret+"\n")
	s, ds := Load(dir)
	if s != nil {
		t.Fatal("a spec with secrets loads")
	}
	out := ds.Error()
	for _, want := range []string{
		filepath.Join(dir, "groups.yaml") + ":4:18: error: this value looks like a JSON Web Token",
		filepath.Join(dir, "groups.yaml") + ":8:19: error: this value looks like a Microsoft Entra client secret",
		filepath.Join(dir, "groups.yaml") + ":8:19: error: mailNickname \"[redacted]\" contains '.'",
		filepath.Join(dir, "members.csv") + ":3:1: error: this value looks like a Microsoft Entra client secret",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, sampleJWT) || strings.Contains(out, sampleSecret) {
		t.Errorf("the diagnostics repeat the secret:\n%s", out)
	}
}
