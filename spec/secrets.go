package spec

// Secrets never belong in a spec: a spec lives in git, is printed in plans
// and reviewed in pull requests. Every string value of a spec file and every
// CSV cell entrasync reads is checked against the shapes of credentials
// that end up pasted by mistake, and one that matches is an error at its
// position. The check is deliberately narrow, so that it never fires on a
// display name, a description or a membership rule:
//
//   - a JSON Web Token (access, ID or federated token): three base64url
//     segments whose first two decode to JSON objects;
//   - a Microsoft Entra client secret: 40 characters of [A-Za-z0-9_.~-]
//     with a digit, 'Q' and '~' at positions 4 to 6 (the format Entra has
//     issued since 2021);
//   - a PEM private key block;
//   - a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_ followed by 36 characters,
//     or github_pat_).
//
// The diagnostic never repeats the value, and other diagnostics about the
// same value have it replaced by "[redacted]".

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

var (
	jwtRE          = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)
	entraSecretRE  = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.~-])([A-Za-z0-9_.~-]{3}[0-9]Q~[A-Za-z0-9_.~-]{34})(?:$|[^A-Za-z0-9_.~-])`)
	privateKeyRE   = regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)
	githubTokenRE  = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})(?:$|[^A-Za-z0-9_])`)
	secretDetail   = "Remove it from the file (and from the repository's history), and revoke or rotate it if it was real. entrasync signs in from the environment (see --auth); a spec only names objects."
	jwtNoun        = "a JSON Web Token (an access, ID or federated token)"
	entraNoun      = "a Microsoft Entra client secret"
	privateKeyNoun = "a private key"
	githubNoun     = "a GitHub token"
)

// secretKind returns what s looks like, or "" when it looks like no
// credential.
func secretKind(s string) string {
	for _, m := range jwtRE.FindAllString(s, -1) {
		if parts := strings.Split(m, "."); isJSONObject(parts[0]) && isJSONObject(parts[1]) {
			return jwtNoun
		}
	}
	switch {
	case entraSecretRE.MatchString(s):
		return entraNoun
	case privateKeyRE.MatchString(s):
		return privateKeyNoun
	case githubTokenRE.MatchString(s):
		return githubNoun
	}
	return ""
}

func isJSONObject(seg string) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	var m map[string]any
	return json.Unmarshal(b, &m) == nil
}

// checkSecrets reports every scalar of a YAML document that looks like a
// credential.
func (l *loader) checkSecrets(file string, n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		if kind := secretKind(n.Value); kind != "" {
			l.secretError(model.Pos{File: file, Line: int32(n.Line), Col: int32(n.Column)}, kind, n.Value)
		}
		return
	}
	for _, c := range n.Content {
		l.checkSecrets(file, c)
	}
}

// checkCSVSecret reports a CSV cell that looks like a credential.
func (l *loader) checkCSVSecret(v CSVValue) {
	if kind := secretKind(v.Value); kind != "" {
		l.secrets = append(l.secrets, v.Value)
		l.rowDiag(model.Diagnostic{Severity: model.Error, Pos: v.Pos, Kind: "secret-looking value",
			Summary: "this value looks like " + kind + ": a secret never belongs in a spec", Detail: secretDetail})
	}
}

func (l *loader) secretError(pos model.Pos, kind string, value string) {
	l.secrets = append(l.secrets, value)
	l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pos,
		Summary: "this value looks like " + kind + ": a secret never belongs in a spec", Detail: secretDetail})
}

// redactSecrets replaces the secret-looking values in every other
// diagnostic (a mail nickname with a bad character, a CSV cell that is
// no user name), so that no message repeats them.
func (l *loader) redactSecrets() {
	if len(l.secrets) == 0 {
		return
	}
	for i := range l.diags {
		d := &l.diags[i]
		for _, v := range l.secrets {
			d.Summary = strings.ReplaceAll(d.Summary, v, "[redacted]")
			d.Detail = strings.ReplaceAll(d.Detail, v, "[redacted]")
		}
	}
}
