package model

import (
	"fmt"
	"strings"
	"unicode"
)

// HiddenRune reports whether r is a control character or one that
// reorders or hides text: bidirectional controls and zero-width
// characters. Such characters in a name could forge or hide text where the
// name is shown (a terminal, a pull-request comment).
func HiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r == 0x200B, r == 0x200C, r == 0x200D, r == 0x2060, r == 0xFEFF:
		return true
	}
	return false
}

// Visible returns s with every hidden rune written as \u{XXXX}, so that
// text read from the tenant or a spec shows as what it is.
func Visible(s string) string {
	if strings.IndexFunc(s, HiddenRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if HiddenRune(r) {
			fmt.Fprintf(&b, `\u{%04X}`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// GlobMatch reports whether s matches pattern, ignoring case: * matches
// any run of characters ("/" included, since display names may hold it),
// ? any one character, everything else itself. Ignore rules and --target
// share these rules.
func GlobMatch(pattern, s string) bool {
	p, t := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	// Iterative matcher with one backtrack point for the last *.
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi, ti = pi+1, ti+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
