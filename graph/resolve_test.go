package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

func TestQuotedEscapedLen(t *testing.T) {
	values := []string{"", "alice@contoso.com", "O'Brien@contoso.com", "''", "a b+c&d=e/f?g#h%i", "jörg@contoso.com", "日本", "\xff\x00\t~-_."}
	for c := range 256 {
		values = append(values, string([]byte{byte(c)}))
	}
	for _, v := range values {
		if got, want := quotedEscapedLen(v), len(escape(quote(v))); got != want {
			t.Errorf("quotedEscapedLen(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestUniqueFold(t *testing.T) {
	got := uniqueFold([]string{"Bob@contoso.com", " alice@contoso.com", "bob@contoso.com", "", "ALICE@contoso.com ", "Ärger@x", "ärger@x", "zed@x"})
	want := []string{"alice@contoso.com", "Bob@contoso.com", "zed@x", "Ärger@x"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uniqueFold = %q, want %q", got, want)
	}
	for _, p := range [][2]string{{"a", "B"}, {"Ä", "ä"}, {"é", "F"}, {"ab", "a"}, {"\xff", "\uFFFD"}, {"K", "k"}, {"İ", "i"}} {
		want := strings.Compare(strings.ToLower(p[0]), strings.ToLower(p[1]))
		if got := model.CompareFold(p[0], p[1]); got != want {
			t.Errorf("model.CompareFold(%q, %q) = %d, want %d", p[0], p[1], got, want)
		}
	}
}

// TestFilterQueriesSplit checks the incremental measure against the
// definition: a value joins the current query unless the query has 15
// values or the encoded filter with it would exceed maxFilterLen.
func TestFilterQueriesSplit(t *testing.T) {
	reference := func(prop string, values []string, sel string) []string {
		build := func(vals []string) string {
			quoted := make([]string, len(vals))
			for i, v := range vals {
				quoted[i] = quote(v)
			}
			filter := fmt.Sprintf("%s in (%s)", prop, strings.Join(quoted, ","))
			if len(vals) == 1 {
				filter = fmt.Sprintf("%s eq %s", prop, quoted[0])
			}
			return escape(filter)
		}
		var out, cur []string
		flush := func() {
			if len(cur) > 0 {
				out = append(out, "$filter="+build(cur)+"&$select="+sel+fmt.Sprintf("&$top=%d", maxPage))
				cur = nil
			}
		}
		for _, v := range values {
			if len(cur) == maxInValues || (len(cur) > 0 && len(build(append(cur, v))) > maxFilterLen) {
				flush()
			}
			cur = append(cur, v)
		}
		flush()
		return out
	}
	var values []string
	for i := range 500 {
		v := fmt.Sprintf("u%d@contoso.com", i)
		switch i % 7 {
		case 1:
			v = strings.Repeat("é", i%130) + v
		case 2:
			v = strings.Repeat("O'", i%60) + v
		case 3:
			v = strings.Repeat("a b+", i%90) + v
		case 4:
			v = strings.Repeat("x", 400+i)
		}
		values = append(values, v)
	}
	for _, prop := range []string{"mail", "userPrincipalName"} {
		if got, want := filterQueries(prop, values, userSelect), reference(prop, values, userSelect); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %d queries, want %d (the same)", prop, len(got), len(want))
		}
	}
}
