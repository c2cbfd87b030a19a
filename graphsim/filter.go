package graphsim

import (
	"fmt"
	"strings"
	"unicode"
)

// $filter subset (README §9): eq, ne*, not*, and, or, in (...),
// startswith(p,'x'), endswith(p,'x')* (mail/otherMails/userPrincipalName/
// proxyAddresses), lambda any() on string collections, eq null.
// (* advanced queries only.) String comparisons are case-insensitive as for
// directory string properties.

type filterError struct{ code, msg string }

func (e *filterError) Error() string { return e.msg }

func unsupportedProp(t *typeProps, p string) error {
	return &filterError{"Request_UnsupportedQuery", fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", p, t.resource)}
}

func needsAdvanced(op string) error {
	return &filterError{"Request_UnsupportedQuery", fmt.Sprintf("Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information", op)}
}

func syntaxErr(pos int, src string) error {
	return &filterError{"BadRequest", fmt.Sprintf("Invalid filter clause: Syntax error at position %d in '%s'.", pos, src)}
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tLParen
	tRParen
	tComma
	tColon
	tSlash
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lexFilter(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case ch == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case ch == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case ch == ':':
			out = append(out, token{tColon, ":", i})
			i++
		case ch == '/':
			out = append(out, token{tSlash, "/", i})
			i++
		case ch == '\'':
			start := i
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, syntaxErr(start, s)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, token{tString, b.String(), start})
		case ch == '-' || (ch >= '0' && ch <= '9'):
			start := i
			i++
			for i < len(s) && (s[i] == '-' || s[i] == '.' || unicode.IsLetter(rune(s[i])) || unicode.IsDigit(rune(s[i]))) {
				i++
			}
			out = append(out, token{tNumber, s[start:i], start})
		case ch == '_' || ch == '@' || ch == '$' || unicode.IsLetter(rune(ch)):
			start := i
			for i < len(s) && (s[i] == '_' || s[i] == '.' || s[i] == '@' || s[i] == '$' || unicode.IsLetter(rune(s[i])) || unicode.IsDigit(rune(s[i]))) {
				i++
			}
			out = append(out, token{tIdent, s[start:i], start})
		default:
			return nil, syntaxErr(i, s)
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

// fnode is a boolean filter expression.
type fnode interface {
	eval(o object, vars map[string]any) bool
}

type andNode struct{ l, r fnode }
type orNode struct{ l, r fnode }
type notNode struct{ x fnode }

func (n andNode) eval(o object, v map[string]any) bool { return n.l.eval(o, v) && n.r.eval(o, v) }
func (n orNode) eval(o object, v map[string]any) bool  { return n.l.eval(o, v) || n.r.eval(o, v) }
func (n notNode) eval(o object, v map[string]any) bool { return !n.x.eval(o, v) }

// operand is a property of the object or a lambda variable.
type operand struct {
	prop string // canonical property name, or "" when variable
	vr   string // lambda variable
}

func (p operand) value(o object, vars map[string]any) any {
	if p.vr != "" {
		return vars[p.vr]
	}
	v, _ := o.get(p.prop)
	return v
}

type literal struct {
	isNull bool
	s      string
	b      *bool
}

func litEqual(v any, l literal) bool {
	if l.isNull {
		return v == nil
	}
	switch x := v.(type) {
	case string:
		return l.b == nil && strings.EqualFold(x, l.s)
	case bool:
		return l.b != nil && x == *l.b
	}
	return false
}

type cmpNode struct {
	op  string // eq, ne
	lhs operand
	lit literal
}

func (n cmpNode) eval(o object, v map[string]any) bool {
	eq := litEqual(n.lhs.value(o, v), n.lit)
	if n.op == "ne" {
		return !eq
	}
	return eq
}

type inNode struct {
	lhs  operand
	lits []literal
}

func (n inNode) eval(o object, v map[string]any) bool {
	val := n.lhs.value(o, v)
	for _, l := range n.lits {
		if litEqual(val, l) {
			return true
		}
	}
	return false
}

type fnNode struct {
	fn  string // startswith, endswith
	lhs operand
	arg string
}

func (n fnNode) eval(o object, v map[string]any) bool {
	s, ok := n.lhs.value(o, v).(string)
	if !ok {
		return false
	}
	s, a := strings.ToLower(s), strings.ToLower(n.arg)
	if n.fn == "startswith" {
		return strings.HasPrefix(s, a)
	}
	return strings.HasSuffix(s, a)
}

type lambdaNode struct {
	coll string // canonical property
	all  bool
	vr   string
	body fnode
}

func (n lambdaNode) eval(o object, vars map[string]any) bool {
	raw, _ := o.get(n.coll)
	var elems []any
	switch x := raw.(type) {
	case []string:
		for _, s := range x {
			elems = append(elems, s)
		}
	case []any:
		elems = x
	}
	inner := map[string]any{}
	for k, v := range vars {
		inner[k] = v
	}
	for _, e := range elems {
		inner[n.vr] = e
		r := n.body.eval(o, inner)
		if n.all && !r {
			return false
		}
		if !n.all && r {
			return true
		}
	}
	return n.all && len(elems) > 0
}

type filterParser struct {
	src      string
	toks     []token
	i        int
	t        *typeProps
	advanced bool
	vars     map[string]string // lambda variable → collection property
}

func parseFilter(src string, t *typeProps, advanced bool) (fnode, error) {
	toks, err := lexFilter(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{src: src, toks: toks, t: t, advanced: advanced, vars: map[string]string{}}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, syntaxErr(p.peek().pos, src)
	}
	return n, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *filterParser) isKeyword(k string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, k)
}

func (p *filterParser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, syntaxErr(t.pos, p.src)
	}
	return t, nil
}

func (p *filterParser) parseOr() (fnode, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) parseAnd() (fnode, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) parseUnary() (fnode, error) {
	if p.isKeyword("not") {
		p.next()
		if !p.advanced {
			return nil, needsAdvanced("not")
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.parsePrimary()
}

func (p *filterParser) parsePrimary() (fnode, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return n, nil
	}
	if t.kind != tIdent {
		return nil, syntaxErr(t.pos, p.src)
	}
	// function call
	if p.toks[p.i+1].kind == tLParen {
		fn := strings.ToLower(t.text)
		p.next()
		p.next()
		switch fn {
		case "startswith", "endswith":
		default:
			return nil, &filterError{"Request_UnsupportedQuery", fmt.Sprintf("Unsupported Query. Function '%s' is not supported.", t.text)}
		}
		lhs, fp, err := p.parseOperand(true)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tComma); err != nil {
			return nil, err
		}
		arg, err := p.expect(tString)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		if fp.kind != pString {
			return nil, unsupportedProp(p.t, lhs.name())
		}
		if fn == "endswith" {
			if !p.advanced {
				return nil, needsAdvanced("endsWith")
			}
			if !fp.endsWith {
				return nil, unsupportedProp(p.t, lhs.name())
			}
		}
		return fnNode{fn, lhs, arg.text}, nil
	}
	// property or lambda
	name := t.text
	if _, ok := p.vars[name]; ok {
		p.next()
		return p.parseComparison(operand{vr: name}, filterProp{kind: pString})
	}
	canon, ok := p.t.schema[strings.ToLower(name)]
	if !ok {
		return nil, &filterError{"BadRequest", fmt.Sprintf("Invalid filter clause: Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, p.t.name)}
	}
	fp, ok := p.t.filterable[strings.ToLower(name)]
	if !ok {
		return nil, unsupportedProp(p.t, canon)
	}
	p.next()
	if p.peek().kind == tSlash {
		p.next()
		lt := p.next()
		if lt.kind != tIdent || (!strings.EqualFold(lt.text, "any") && !strings.EqualFold(lt.text, "all")) {
			return nil, syntaxErr(lt.pos, p.src)
		}
		if fp.kind != pStringColl {
			return nil, unsupportedProp(p.t, canon)
		}
		all := strings.EqualFold(lt.text, "all")
		if all {
			return nil, &filterError{"Request_UnsupportedQuery", "Unsupported Query. Lambda operator 'all' is not supported."}
		}
		if _, err := p.expect(tLParen); err != nil {
			return nil, err
		}
		vr, err := p.expect(tIdent)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tColon); err != nil {
			return nil, err
		}
		p.vars[vr.text] = canon
		body, err := p.parseLambdaBody()
		delete(p.vars, vr.text)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return lambdaNode{coll: canon, vr: vr.text, body: body}, nil
	}
	if fp.kind == pStringColl {
		return nil, unsupportedProp(p.t, canon)
	}
	return p.parseComparison(operand{prop: canon}, fp)
}

// parseLambdaBody parses the body of any(): comparisons/startswith on the
// range variable joined by or/and.
func (p *filterParser) parseLambdaBody() (fnode, error) { return p.parseOr() }

func (o operand) name() string {
	if o.vr != "" {
		return o.vr
	}
	return o.prop
}

// parseOperand parses a property or lambda variable inside a function call.
func (p *filterParser) parseOperand(allowVar bool) (operand, filterProp, error) {
	t, err := p.expect(tIdent)
	if err != nil {
		return operand{}, filterProp{}, err
	}
	if coll, ok := p.vars[t.text]; ok && allowVar {
		fp := p.t.filterable[strings.ToLower(coll)]
		return operand{vr: t.text}, filterProp{kind: pString, endsWith: fp.endsWith}, nil
	}
	canon, ok := p.t.schema[strings.ToLower(t.text)]
	if !ok {
		return operand{}, filterProp{}, &filterError{"BadRequest", fmt.Sprintf("Invalid filter clause: Could not find a property named '%s' on type 'microsoft.graph.%s'.", t.text, p.t.name)}
	}
	fp, ok := p.t.filterable[strings.ToLower(t.text)]
	if !ok {
		return operand{}, filterProp{}, unsupportedProp(p.t, canon)
	}
	return operand{prop: canon}, fp, nil
}

func (p *filterParser) parseLiteral(fp filterProp) (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		if fp.kind == pBool {
			return literal{}, &filterError{"BadRequest", fmt.Sprintf("Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'.")}
		}
		return literal{s: t.text}, nil
	case tNumber:
		if fp.kind == pGUID && isGUID(t.text) {
			return literal{s: t.text}, nil
		}
		return literal{}, &filterError{"BadRequest", fmt.Sprintf("Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'.")}
	case tIdent:
		switch strings.ToLower(t.text) {
		case "null":
			return literal{isNull: true}, nil
		case "true", "false":
			if fp.kind != pBool {
				return literal{}, &filterError{"BadRequest", "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'Equal'."}
			}
			b := strings.EqualFold(t.text, "true")
			return literal{b: &b}, nil
		}
		if fp.kind == pGUID && isGUID(t.text) {
			return literal{s: t.text}, nil
		}
	}
	return literal{}, syntaxErr(t.pos, p.src)
}

// maxEqValue is the longest displayName value a standard (not advanced)
// filter can match: Graph's known-issues page limits it to 120 characters
// although displayName holds 256. The error wording is ours.
const maxEqValue = 120

func (p *filterParser) checkLength(lhs operand, l literal) error {
	if p.advanced || lhs.name() != "displayName" || len([]rune(l.s)) <= maxEqValue {
		return nil
	}
	return &filterError{"Request_UnsupportedQuery", fmt.Sprintf("The value of displayName in a filter is limited to %d characters; use an advanced query (ConsistencyLevel: eventual and $count=true).", maxEqValue)}
}

func (p *filterParser) parseComparison(lhs operand, fp filterProp) (fnode, error) {
	opTok := p.next()
	if opTok.kind != tIdent {
		return nil, syntaxErr(opTok.pos, p.src)
	}
	op := strings.ToLower(opTok.text)
	switch op {
	case "eq", "ne":
		if op == "ne" && !p.advanced {
			return nil, needsAdvanced("ne")
		}
		l, err := p.parseLiteral(fp)
		if err != nil {
			return nil, err
		}
		if err := p.checkLength(lhs, l); err != nil {
			return nil, err
		}
		return cmpNode{op, lhs, l}, nil
	case "in":
		if _, err := p.expect(tLParen); err != nil {
			return nil, err
		}
		var lits []literal
		for {
			l, err := p.parseLiteral(fp)
			if err != nil {
				return nil, err
			}
			if err := p.checkLength(lhs, l); err != nil {
				return nil, err
			}
			lits = append(lits, l)
			t := p.next()
			if t.kind == tRParen {
				break
			}
			if t.kind != tComma {
				return nil, syntaxErr(t.pos, p.src)
			}
		}
		if len(lits) > 15 {
			return nil, &filterError{"Request_UnsupportedQuery", fmt.Sprintf("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: 15.", len(lits))}
		}
		return inNode{lhs, lits}, nil
	case "gt", "ge", "lt", "le":
		return nil, unsupportedProp(p.t, lhs.name())
	}
	return nil, syntaxErr(opTok.pos, p.src)
}
