package graphsim

// Just enough JSON Web Token for the identity provider: compact
// serialization, RS256 signing with the simulator's key, and RS256/PS256
// verification (MSAL signs certificate assertions with PS256 and names the
// certificate by x5t#S256; older clients and ADFS use RS256 and x5t).

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

type jwtToken struct {
	header map[string]any
	claims map[string]any
	signed string // header.payload
	sig    []byte
}

var errNotJWT = errors.New("not a JSON Web Token")

func b64urlDecode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func parseJWT(tok string) (*jwtToken, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	t := &jwtToken{signed: parts[0] + "." + parts[1]}
	for i, dst := range []*map[string]any{&t.header, &t.claims} {
		raw, err := b64urlDecode(parts[i])
		if err != nil {
			return nil, errNotJWT
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil || *dst == nil {
			return nil, errNotJWT
		}
	}
	sig, err := b64urlDecode(parts[2])
	if err != nil {
		return nil, errNotJWT
	}
	t.sig = sig
	return t, nil
}

func (t *jwtToken) str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func (t *jwtToken) claim(k string) string { return t.str(t.claims, k) }

func (t *jwtToken) head(k string) string { return t.str(t.header, k) }

// audiences returns "aud" as a list (a string or an array of strings).
func (t *jwtToken) audiences() []string {
	switch v := t.claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (t *jwtToken) time(k string) (time.Time, bool) {
	n, ok := t.claims[k].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// clockSkew is the leeway for exp and nbf, as Entra allows.
const clockSkew = 5 * time.Minute

// checkTimes requires exp in the future and nbf (when present) in the past.
func (t *jwtToken) checkTimes(now time.Time) error {
	exp, ok := t.time("exp")
	if !ok {
		return errors.New("the token has no exp claim")
	}
	if now.After(exp.Add(clockSkew)) {
		return errors.New("the token has expired")
	}
	if nbf, ok := t.time("nbf"); ok && now.Add(clockSkew).Before(nbf) {
		return errors.New("the token is not valid yet")
	}
	return nil
}

// verify checks the signature with pub. Only RS256 and PS256 are accepted.
func (t *jwtToken) verify(pub *rsa.PublicKey) error {
	h := sha256.Sum256([]byte(t.signed))
	switch t.head("alg") {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], t.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, h[:], t.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return fmt.Errorf("unsupported signing algorithm %q", t.head("alg"))
}

// signJWT serializes header and claims and signs them with RS256.
func signJWT(key *rsa.PrivateKey, header, claims object) (string, error) {
	hb, err := marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	h := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
