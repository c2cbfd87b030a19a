package planner

// Targeting: --target narrows a plan to some addresses and what they
// depend on, as Terraform's -target does, for the exceptional run (repair
// one object now, leave the rest for the reviewed plan). Every setting,
// gate and limit stays in force on what remains: narrowing happens after
// the diff and before the safety checks.

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// targetRE is the shape of a target: kind["name"] or kind["a"/"b"…],
// optionally followed by .field parts.
var targetRE = regexp.MustCompile(`^([a-zA-Z_]+)\[(.+)\]((?:\.[A-Za-z_\[\]"*?/ -]+)*)$`)

// target is one --target pattern, normalised: the kind in address form,
// a package's catalog filled in with *.
type target struct {
	raw     string
	pattern string
}

// match reports whether the target covers address a (model.GlobMatch: *
// any run of characters, ? one, case ignored; the rule ignore patterns
// follow too).
func (t target) match(a string) bool { return model.GlobMatch(t.pattern, a) }

// compileTargets checks --target patterns and normalises them. A kind may
// be written as in addresses (access_package) or camel-cased
// (accessPackage); a package named without its catalog
// (accessPackage["Sales"]) matches it in any catalog.
func compileTargets(pats []string) ([]target, error) {
	var out []target
	for _, p := range pats {
		m := targetRE.FindStringSubmatch(strings.TrimSpace(p))
		if m == nil {
			return nil, fmt.Errorf(`--target %q is not an address: write kind["name"], e.g. group["Team *"] or accessPackage["Sales"]`, p)
		}
		kind := snake(m[1])
		keys := m[2]
		if (kind == "access_package" || kind == "agent_identity") && !strings.Contains(keys, `"/"`) {
			keys = `"*"/` + keys
		}
		out = append(out, target{raw: p, pattern: kind + "[" + keys + "]" + m[3]})
	}
	return out, nil
}

// snake turns accessPackage into access_package.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// owners are the addresses a change belongs to: itself, each prefix that
// ends an object address (group["X"] of group["X"].members), and for an
// assignment policy its package.
func owners(addr string) []string {
	out := []string{addr}
	inQuote := false
	for i, r := range addr {
		switch {
		case r == '"' && (i == 0 || addr[i-1] != '\\'):
			inQuote = !inQuote
		case r == '.' && !inQuote:
			out = append(out, addr[:i])
		}
	}
	if rest, ok := strings.CutPrefix(addr, "assignment_policy["); ok {
		if i := strings.LastIndex(rest, `/"`); i > 0 {
			out = append(out, "access_package["+rest[:i]+"]")
		}
	}
	return out
}

// narrow keeps the changes a target matches and, transitively, the changes
// they depend on. It warns as Terraform does, and names a target that
// matches nothing.
func (d *differ) narrow(ts []target) {
	if len(ts) == 0 {
		return
	}
	byAddr := map[string]*Change{}
	for i := range d.changes {
		byAddr[d.changes[i].Address] = &d.changes[i]
	}
	keep := map[string]bool{}
	var visit func(a string)
	visit = func(a string) {
		c, ok := byAddr[a]
		if !ok || keep[a] {
			return
		}
		keep[a] = true
		for _, dep := range c.DependsOn {
			visit(dep)
		}
	}
	for _, t := range ts {
		hit := false
		for _, c := range d.changes {
			for _, o := range owners(c.Address) {
				if t.match(o) {
					hit = true
					visit(c.Address)
					break
				}
			}
		}
		if !hit {
			d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Summary: fmt.Sprintf("--target %s matches no change", t.raw)})
		}
	}
	kept := d.changes[:0]
	for _, c := range d.changes {
		if keep[c.Address] {
			kept = append(kept, c)
		}
	}
	left := len(d.changes) - len(kept)
	d.changes = kept
	d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning,
		Summary: fmt.Sprintf("--target is in effect: this plan holds only the targeted changes and what they depend on (%d other %s left out)", left, plural(left, "change", "changes")),
		Detail:  "The tenant may still differ from the spec elsewhere. Use --target for exceptional runs, and plan without it to see and review everything."})
}
