package spec

// Checks on the text of every string value: a name reaches Graph URLs, the
// terminal and the Markdown of a pull-request comment, so characters that
// can hide or forge text there are refused where they are written.

import (
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

// multiline reports whether the value of key may span lines: descriptions,
// membership rules and question texts may; names may not.
func multiline(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "description") || strings.Contains(k, "rule") || strings.Contains(k, "text") || strings.Contains(k, "justification")
}

// checkText reports control and hidden characters in a string value, and
// warns about a display name that mixes scripts whose letters look alike.
func (d *decoder) checkText(n *yaml.Node, what string) {
	key := what
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	for i, r := range n.Value {
		if (r == '\n' || r == '\t' || r == '\r') && multiline(key) {
			continue
		}
		if model.HiddenRune(r) {
			d.errorf(n, "Names are shown in plans, terminals and pull-request comments; control and invisible characters could hide or forge text there. Remove it.",
				"%s: contains the control or invisible character %U at byte %d", what, r, i)
			return
		}
	}
	if key == "displayName" {
		if scripts := confusableScripts(n.Value); len(scripts) > 1 {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: d.pos(n),
				Summary: fmt.Sprintf("%s %q mixes %s letters", what, n.Value, strings.Join(scripts, " and ")),
				Detail:  "Letters of these scripts look alike (Latin a and Cyrillic а); a name that mixes them may impersonate another. Check that it is the name you mean."})
		}
	}
}

// confusableScripts lists the scripts with look-alike letters that s uses.
func confusableScripts(s string) []string {
	var out []string
	for _, sc := range []struct {
		name  string
		table *unicode.RangeTable
	}{{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek}, {"Armenian", unicode.Armenian}} {
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) && unicode.Is(sc.table, r) }) >= 0 {
			out = append(out, sc.name)
		}
	}
	return out
}
