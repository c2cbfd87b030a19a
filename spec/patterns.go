package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/entrasync/entrasync/model"
)

// Value patterns. The same strings appear in schema/tenant.schema.json; a
// test keeps them equal, so the loader and an editor accept the same values.
const (
	guidPattern         = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	domainPattern       = `^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`
	mailNicknamePattern = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$"
	userRefPattern      = `^([^@\s]+@[^@\s]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`

	maxDomainLen         = 253
	maxDisplayNameLen    = 256
	maxMailNicknameLen   = 64
	maxMembershipRuleLen = 3072
)

var (
	domainRE       = regexp.MustCompile(domainPattern)
	mailNicknameRE = regexp.MustCompile(mailNicknamePattern)
)

// isGUID is stricter than model.IsGUID: no surrounding spaces.
func isGUID(s string) bool { return len(s) == 36 && model.IsGUID(s) }

// riskCodeRE is the shape of a risk code; the planner knows which exist.
var riskCodeRE = regexp.MustCompile(`^ES[0-9]{3}$`)

// isUserRef reports whether s names a user: a UPN or mail address (exactly
// one @, something on both sides, no spaces) or an object id. It is
// userRefPattern's match, checked byte by byte: every row of a CSV file is
// asked, and the regexp was a third of loading a million of them
// (FuzzUserRefIsThePattern holds the two together).
func isUserRef(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return isGUID(s)
	}
	// @ and the spaces \s means are ASCII, so no byte of a longer
	// character is mistaken for them.
	return at > 0 && at < len(s)-1 && strings.IndexByte(s[at+1:], '@') < 0 && !strings.ContainsAny(s, "\t\n\f\r ")
}

// mailNicknameProblem explains what is wrong with a mail nickname, or "".
func mailNicknameProblem(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "is empty"
	case n > maxMailNicknameLen:
		return "is longer than 64 characters"
	case mailNicknameRE.MatchString(s):
		return ""
	}
	var bad []string
	for _, r := range s {
		if !mailNicknameRE.MatchString(string(r)) {
			q := "'" + string(r) + "'"
			switch {
			case r == ' ':
				q = "space"
			case r > 127:
				q = "non-ASCII " + q
			case r < 32 || r == 127:
				q = fmt.Sprintf("control character %U", r)
			}
			if !slices.Contains(bad, q) {
				bad = append(bad, q)
			}
		}
	}
	return "contains " + strings.Join(bad, ", ")
}
