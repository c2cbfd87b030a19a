package graphsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Query machinery for entitlement-management collections. EM is served by
// its own Graph backend, not the directory: lists accept $filter on
// navigation paths (accessPackage/id, catalog/id, target/objectId), $count
// without ConsistencyLevel, $expand on every list, and no $search/$orderby.
// Paging: default page 100, $top up to 999 (not published for EM; the
// directory's numbers), opaque $skiptoken in an absolute @odata.nextLink
// carrying every original option.

const emPrefix = "/identityGovernance/entitlementManagement"

// emItem is one entity of an EM collection.
type emItem struct {
	seq        int64
	full       object // default rendering (every property the type returns)
	filter     object // properties and navigation paths usable in $filter
	expansions []field
	// odataType is kept under $select: entities of a polymorphic
	// collection (custom extensions) always say which type they are.
	odataType string
}

// emType describes an EM entity type for $select, $filter and $expand.
type emType struct {
	name   string   // accessPackage
	props  []string // selectable structural properties
	navs   []string // expandable navigation properties
	filter map[string]filterProp
	tp     *typeProps
}

func newEMType(name string, props, navs []string, filter map[string]filterProp) *emType {
	t := &emType{name: name, props: props, navs: navs, filter: filter}
	schema := map[string]string{}
	for _, p := range props {
		schema[strings.ToLower(p)] = p
	}
	for _, n := range navs {
		schema[strings.ToLower(n)] = n
	}
	lf := map[string]filterProp{}
	for k, v := range filter {
		// Navigation paths are parsed as dotted identifiers (see
		// rewriteNavPaths) and keep their slash spelling as canonical name.
		schema[strings.ToLower(strings.ReplaceAll(k, "/", "."))] = k
		lf[strings.ToLower(strings.ReplaceAll(k, "/", "."))] = v
	}
	t.tp = &typeProps{name: name, resource: name, schema: schema, filterable: lf}
	return t
}

// rewriteNavPaths turns "a/b" outside string literals into "a.b" so the
// shared $filter parser reads a navigation path as one property; lambda
// operators (a/any(...)) are left alone.
func rewriteNavPaths(s string) string {
	var b strings.Builder
	inStr := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\'' {
			inStr = !inStr
		}
		if ch == '/' && !inStr && i > 0 && isIdentByte(s[i-1]) {
			rest := s[i+1:]
			j := 0
			for j < len(rest) && isIdentByte(rest[j]) {
				j++
			}
			word := strings.ToLower(rest[:j])
			if j > 0 && word != "any" && word != "all" {
				b.WriteByte('.')
				continue
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// emSelect validates $select against the type's properties.
func (c *reqCtx) emSelect(t *emType) ([]string, *response) {
	v, ok := c.opt("$select")
	if !ok {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		canon := ""
		for _, q := range append(append([]string{}, t.props...), "id") {
			if strings.EqualFold(q, p) {
				canon = q
			}
		}
		if canon == "" {
			return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, t.name))
		}
		out = append(out, canon)
	}
	if len(out) == 0 {
		return nil, c.errResp(400, "BadRequest", "Invalid $select value.")
	}
	return out, nil
}

// emExpand is a parsed $expand: navigation name → nested $expand names.
type emExpand map[string][]string

func (e emExpand) has(n string) bool { _, ok := e[n]; return ok }

// parseEMExpand parses $expand=a,b(​$expand=c,d) for type t. Nested
// $expand names are checked by the caller through nestedOK.
func (c *reqCtx) parseEMExpand(t *emType, nestedOK map[string][]string) (emExpand, *response) {
	v, ok := c.opt("$expand")
	if !ok {
		return emExpand{}, nil
	}
	out := emExpand{}
	for _, part := range splitTopLevel(v) {
		part = strings.TrimSpace(part)
		if part == "*" {
			for _, n := range t.navs {
				out[n] = nil
			}
			continue
		}
		name, nested, hasNested := strings.Cut(part, "(")
		name = strings.TrimSpace(name)
		canon := ""
		for _, n := range t.navs {
			if strings.EqualFold(n, name) {
				canon = n
			}
		}
		if canon == "" {
			return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, t.name))
		}
		var inner []string
		if hasNested {
			nested = strings.TrimSuffix(strings.TrimSpace(nested), ")")
			for _, o := range strings.Split(nested, ";") {
				k, val, _ := strings.Cut(o, "=")
				if !strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(k), "$"), "expand") {
					return nil, c.errResp(400, "Request_UnsupportedQuery", fmt.Sprintf("Nested query option '%s' is not supported in $expand.", strings.TrimSpace(k)))
				}
				for _, n := range strings.Split(val, ",") {
					n = strings.TrimSpace(n)
					found := ""
					for _, allowed := range nestedOK[canon] {
						if strings.EqualFold(allowed, n) {
							found = allowed
						}
					}
					if found == "" {
						return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' in the expansion of '%s'.", n, canon))
					}
					inner = append(inner, found)
				}
			}
		}
		out[canon] = inner
	}
	return out, nil
}

func hasName(list []string, n string) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// emList serves an EM collection: $filter → $count → $skiptoken → $top →
// $select. Items arrive in creation order.
func (c *reqCtx) emList(contextSet string, t *emType, items []*emItem) *response {
	if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "expand"); r != nil {
		return r
	}
	if v, ok := c.opt("$count"); ok && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return c.errResp(400, "BadRequest", fmt.Sprintf("Invalid value '%s' for $count query option found. The $count query option requires a Boolean value.", v))
	}
	sel, r := c.emSelect(t)
	if r != nil {
		return r
	}
	if fv, ok := c.opt("$filter"); ok {
		n, err := parseFilter(rewriteNavPaths(fv), t.tp, false)
		if err != nil {
			return c.filterErr(err)
		}
		var kept []*emItem
		for _, it := range items {
			if n.eval(it.filter, nil) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].seq < items[j].seq })
	top := 100
	if tv, ok := c.opt("$top"); ok {
		n, err := atoiStrict(tv)
		if err != nil || n < 1 || n > 999 {
			return c.badRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", tv))
		}
		top = n
	}
	start := 0
	if tv, ok := c.opt("$skiptoken"); ok {
		tok, err := decodeSkipToken(tv)
		if err != nil {
			return c.errResp(400, "Request_BadRequest", "Invalid skip token.")
		}
		start = sort.Search(len(items), func(i int) bool { return items[i].seq > tok.S })
	}
	end := min(start+top, len(items))
	ctx := contextSet
	if sel != nil {
		ctx += "(" + strings.Join(sel, ",") + ")"
	}
	out := object{{"@odata.context", c.context(ctx)}}
	if v, ok := c.opt("$count"); ok && strings.EqualFold(v, "true") {
		if _, later := c.opt("$skiptoken"); !later {
			out = append(out, field{"@odata.count", len(items)})
		}
	}
	if end < len(items) {
		out = append(out, field{"@odata.nextLink", c.nextLink(encodeSkipToken(skipToken{S: items[end-1].seq}))})
	}
	vals := make([]object, 0, end-start)
	for _, it := range items[start:end] {
		vals = append(vals, it.project(sel))
	}
	out = append(out, field{"value", vals})
	return c.jsonResp(200, out)
}

// emEntity serves one EM entity with $select/$expand.
func (c *reqCtx) emEntity(status int, contextSet string, t *emType, it *emItem) *response {
	if r := c.checkOptions("select", "expand"); r != nil {
		return r
	}
	sel, r := c.emSelect(t)
	if r != nil {
		return r
	}
	ctx := contextSet + "/$entity"
	if sel != nil {
		ctx = contextSet + "(" + strings.Join(sel, ",") + ")/$entity"
	}
	return c.jsonResp(status, append(object{{"@odata.context", c.context(ctx)}}, it.project(sel)...))
}

func (it *emItem) project(sel []string) object {
	if sel == nil {
		return append(append(object{}, it.full...), it.expansions...)
	}
	var o object
	if it.odataType != "" {
		o = append(o, field{"@odata.type", it.odataType})
	}
	for _, n := range sel {
		v, _ := it.full.get(n)
		o = append(o, field{n, v})
	}
	return append(o, it.expansions...)
}

// emTime renders an EM timestamp (UTC, fractional seconds only when set).
func emTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

func emTimeOr(t time.Time) any {
	if t.IsZero() {
		t = defaultCreated
	}
	return emTime(t)
}

func tsPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func fromPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// parseISODuration parses the Edm.Duration subset Graph accepts
// (-?PnDTnHnMn.nS; no years or months).
func parseISODuration(s string) (time.Duration, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, false
	}
	s = s[1:]
	var total time.Duration
	inTime := false
	num := ""
	seen := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == 'T':
			if inTime || num != "" {
				return 0, false
			}
			inTime = true
		case ch >= '0' && ch <= '9' || ch == '.':
			num += string(ch)
		default:
			if num == "" {
				return 0, false
			}
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, false
			}
			var unit time.Duration
			switch {
			case ch == 'D' && !inTime:
				unit = 24 * time.Hour
			case ch == 'H' && inTime:
				unit = time.Hour
			case ch == 'M' && inTime:
				unit = time.Minute
			case ch == 'S' && inTime:
				unit = time.Second
			default:
				return 0, false
			}
			if strings.Contains(num, ".") && ch != 'S' {
				return 0, false
			}
			total += time.Duration(f * float64(unit))
			num = ""
			seen = true
		}
	}
	if num != "" || !seen {
		return 0, false
	}
	if neg {
		total = -total
	}
	return total, true
}

// formatISODuration renders a duration the way Graph's serializer does
// (TimeSpan → xsd:duration): days, hours, minutes, seconds, zero parts
// omitted, "PT0S" for zero. "PT48H" comes back as "P2D".
func formatISODuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteByte('P')
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if d > 0 {
		b.WriteByte('T')
		h := d / time.Hour
		d -= h * time.Hour
		m := d / time.Minute
		d -= m * time.Minute
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if d > 0 {
			s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
			fmt.Fprintf(&b, "%sS", s)
		}
	}
	return b.String()
}
