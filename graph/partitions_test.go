package graph

import (
	"fmt"
	"strings"
	"testing"
)

func TestUserPartitions(t *testing.T) {
	names := func(format string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf(format, i))
		}
		return out
	}
	for _, c := range []struct {
		what  string
		names []string
		n     int
		want  string
	}{
		{"one a first character, even past n", append(names("A%02d@x", 0, 20), names("b%02d@x", 0, 20)...), 1, "a b"},
		{"a split of the largest group", append(names("a%03d@x", 0, 400), names("b%02d@x", 0, 20)...), 5, "a0 a1 a2 a3 b"},
		{"no split past n, a smaller one may", append(append(append(names("a%03d@x", 0, 400), names("bx%02d@x", 0, 20)...), names("by%02d@x", 0, 20)...), names("bz%02d@x", 0, 20)...), 4, "a bx by bz"},
		{"narrowed to what its names share", names("u%04d@x", 0, 30), 1, "u00"},
		{"no split past n", names("u%04d@x", 0, 300), 2, "u0"},
		{"split to n", names("u%04d@x", 0, 300), 3, "u00 u01 u02"},
		{"small groups left to look-ups", append(names("u%04d@x", 0, 20), "ann@x", "bob@x"), 5, "u00"},
		{"case and space folded", append(names("U%02d@x", 0, 15), names(" u%02d@x", 0, 15)...), 1, "u"},
		{"runes, not bytes", names("ü%03d", 0, 40), 4, "ü0"},
	} {
		if got := strings.Join(userPartitions(c.names, c.n), " "); got != c.want {
			t.Errorf("%s: userPartitions(%d names, %d) = %q, want %q", c.what, len(c.names), c.n, got, c.want)
		}
	}
}
