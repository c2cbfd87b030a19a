package model

import "testing"

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "HR/Payroll", true},
		{"hr *", "HR Payroll", true},
		{"HR*", "Finance", false},
		{"Team ?", "team a", true},
		{"Team ?", "team ab", false},
		{"*pay*", "HR/Payroll/2026", true},
		{"", "", true},
		{"", "x", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	} {
		if got := GlobMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestVisible(t *testing.T) {
	if got := Visible("a\x1b[2J\nb\u202e"); got != `a\u{001B}[2J\u{000A}b\u{202E}` {
		t.Errorf("Visible = %q", got)
	}
}
