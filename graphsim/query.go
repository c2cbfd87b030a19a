package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

type queryOpt struct {
	key   string // as sent, decoded
	value string // decoded
}

// parseQueryString splits on '&' only (OData nested options use ';', which
// net/url rejects) and decodes keys and values.
func parseQueryString(raw string) ([]queryOpt, error) {
	var out []queryOpt
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("Invalid query string: %v", err)
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("Invalid query string: %v", err)
		}
		out = append(out, queryOpt{dk, dv})
	}
	return out, nil
}

// opt returns a system query option; the '$' is optional on v1.0 and names
// are case-insensitive.
func (c *reqCtx) opt(name string) (string, bool) {
	bare := strings.TrimPrefix(name, "$")
	for _, o := range c.opts {
		k := strings.TrimPrefix(o.key, "$")
		if strings.EqualFold(k, bare) {
			return o.value, true
		}
	}
	return "", false
}

func atoiStrict(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return n, nil
}

// eventual reports the ConsistencyLevel: eventual header.
func (c *reqCtx) eventual() bool {
	return strings.EqualFold(strings.TrimSpace(c.header.Get("ConsistencyLevel")), "eventual")
}

// advanced reports an advanced query: ConsistencyLevel: eventual plus
// $count=true (README §9).
func (c *reqCtx) advanced() bool {
	v, ok := c.opt("$count")
	return c.eventual() && ok && strings.EqualFold(v, "true")
}

var knownOptions = map[string]bool{"select": true, "filter": true, "top": true, "skiptoken": true, "count": true, "expand": true, "orderby": true, "search": true, "skip": true, "format": true, "deltatoken": true}

// checkOptions rejects unknown system query options and those the endpoint
// does not support. Options without '$' that are not OData names are
// ignored, as Graph ignores unknown custom parameters.
func (c *reqCtx) checkOptions(allowed ...string) *response {
	allow := map[string]bool{}
	for _, a := range allowed {
		allow[a] = true
	}
	for _, o := range c.opts {
		k := strings.ToLower(strings.TrimPrefix(o.key, "$"))
		if !strings.HasPrefix(o.key, "$") && !knownOptions[k] {
			continue
		}
		if !knownOptions[k] {
			return c.errResp(400, "BadRequest", fmt.Sprintf("Query option '%s' is not supported.", o.key))
		}
		if !allow[k] {
			if k == "skip" {
				return c.badRequest("'$skip' is not supported by the service.")
			}
			return c.errResp(400, "BadRequest", fmt.Sprintf("Query option '$%s' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.", k))
		}
	}
	return nil
}

// typeProps describes one entity type for $select/$filter validation.
type typeProps struct {
	name       string            // "user", "group"
	resource   string            // "User", "Group" (error messages)
	schema     map[string]string // lower → canonical
	filterable map[string]filterProp
}

type propKind int

const (
	pString propKind = iota
	pBool
	pStringColl
	pGUID
)

type filterProp struct {
	kind propKind
	// endsWith allowed (advanced queries only)
	endsWith bool
}

var userType = &typeProps{name: "user", resource: "User", schema: userSchemaProps, filterable: map[string]filterProp{
	"id": {kind: pGUID}, "userprincipalname": {endsWith: true}, "mail": {endsWith: true}, "displayname": {},
	"givenname": {}, "surname": {}, "mailnickname": {}, "jobtitle": {}, "department": {}, "companyname": {},
	"city": {}, "country": {}, "employeeid": {}, "usertype": {}, "creationtype": {}, "externaluserstate": {},
	"usagelocation": {}, "officelocation": {}, "onpremisesimmutableid": {},
	"accountenabled": {kind: pBool}, "onpremisessyncenabled": {kind: pBool},
	"othermails": {kind: pStringColl, endsWith: true}, "proxyaddresses": {kind: pStringColl, endsWith: true},
	"businessphones": {kind: pStringColl},
}}

var groupType = &typeProps{name: "group", resource: "Group", schema: groupSchemaProps, filterable: map[string]filterProp{
	"id": {kind: pGUID}, "displayname": {}, "description": {}, "mail": {endsWith: true}, "mailnickname": {},
	"uniquename": {}, "membershiprule": {}, "membershiprulesprocessingstate": {}, "membershipruleprocessingstate": {},
	"classification": {}, "visibility": {}, "onpremisessamaccountname": {}, "onpremisessecurityidentifier": {},
	"securityidentifier": {},
	"mailenabled":        {kind: pBool}, "securityenabled": {kind: pBool}, "isassignabletorole": {kind: pBool},
	"onpremisessyncenabled": {kind: pBool},
	"grouptypes":            {kind: pStringColl}, "proxyaddresses": {kind: pStringColl, endsWith: true},
}}

// dirObjType is the union used for directoryObject collections (members).
var dirObjType = func() *typeProps {
	t := &typeProps{name: "directoryObject", resource: "DirectoryObject", schema: map[string]string{}, filterable: map[string]filterProp{}}
	for _, src := range []map[string]string{userSchemaProps, groupSchemaProps, spSchemaProps} {
		for k, v := range src {
			t.schema[k] = v
		}
	}
	for _, src := range []*typeProps{userType, groupType} {
		for k, v := range src.filterable {
			t.filterable[k] = v
		}
	}
	t.filterable["appid"] = filterProp{}
	t.filterable["serviceprincipaltype"] = filterProp{}
	return t
}()

var spType = &typeProps{name: "servicePrincipal", resource: "ServicePrincipal", schema: spSchemaProps, filterable: map[string]filterProp{
	"id": {kind: pGUID}, "appid": {}, "displayname": {}, "serviceprincipaltype": {}, "accountenabled": {kind: pBool},
}}

// parseSelect validates $select. It returns nil when absent.
func (c *reqCtx) parseSelect(t *typeProps) ([]string, *response) {
	v, ok := c.opt("$select")
	if !ok {
		return nil, nil
	}
	return parseSelectList(c, v, t)
}

func parseSelectList(c *reqCtx, v string, t *typeProps) ([]string, *response) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		canon, ok := t.schema[strings.ToLower(p)]
		if !ok {
			return nil, c.errResp(400, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, t.name))
		}
		out = append(out, canon)
	}
	if len(out) == 0 {
		return nil, c.errResp(400, "BadRequest", "Invalid $select value.")
	}
	return out, nil
}

// item is one entity in a collection being listed.
type item struct {
	seq        int64
	full       object   // every modelled property
	def        []string // default property set
	odataType  string   // emitted when typed is set on the list
	baseType   string   // user/group/servicePrincipal type (casts, getByIds types)
	schema     map[string]string
	expansions []field // $expand results appended after projection
}

// project returns the selected (or default) properties of an item. In line
// with Graph, "id" is not added implicitly when $select omits it (see
// users-list-filter-advanced.response.json); "@odata.type" is always emitted
// on directoryObject collections.
func (it *item) project(sel []string, typed bool) object {
	var o object
	if typed {
		o = append(o, field{"@odata.type", it.odataType})
	}
	names := it.def
	if sel != nil {
		names = sel
	}
	for _, n := range names {
		if it.schema != nil {
			if _, ok := it.schema[strings.ToLower(n)]; !ok {
				continue // property of another derived type
			}
		}
		v, _ := it.full.get(n)
		o = append(o, field{n, v})
	}
	return append(o, it.expansions...)
}

// listSpec drives the shared collection pipeline:
// $filter → $search → $count → $orderby → $skiptoken → $top → $select.
type listSpec struct {
	contextSet string // "users", "groups", "directoryObjects"
	t          *typeProps
	items      []*item
	typed      bool // emit @odata.type per item
	maxTop     int
	// refFilter: $filter on a reference-property collection (members) needs
	// advanced query parameters.
	refFilter bool
	countOnly bool // /$count segment
	// source, when set, gives the items instead of items: those the
	// filter (nil without $filter) can match, or more. The filter still
	// runs on each.
	source func(filter fnode) []*item
}

type skipToken struct {
	K string `json:"k,omitempty"` // order key of the last item
	S int64  `json:"s"`           // seq of the last item
}

func encodeSkipToken(t skipToken) string {
	b, _ := json.Marshal(t)
	return "RFNwdAIAAQAAA" + base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(s string) (skipToken, error) {
	var t skipToken
	rest, ok := strings.CutPrefix(s, "RFNwdAIAAQAAA")
	if !ok {
		return t, errors.New("bad token")
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return t, err
	}
	err = json.Unmarshal(b, &t)
	return t, err
}

func (c *reqCtx) list(spec listSpec) *response {
	if _, ok := c.opt("$search"); ok && !c.eventual() {
		return c.errResp(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	}
	if spec.countOnly && !c.eventual() {
		return c.badRequest("$count is not currently supported.")
	}
	if v, ok := c.opt("$count"); ok && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return c.errResp(400, "BadRequest", fmt.Sprintf("Invalid value '%s' for $count query option found. The $count query option requires a Boolean value.", v))
	}
	sel, errR := c.parseSelect(spec.t)
	if errR != nil {
		return errR
	}
	items := spec.items
	var n fnode
	if fv, ok := c.opt("$filter"); ok {
		if spec.refFilter && !c.advanced() && !spec.countOnly {
			return c.errResp(400, "Request_UnsupportedQuery", "The specified filter to the reference property query is currently not supported.")
		}
		var err error
		if n, err = parseFilter(fv, spec.t, c.advanced() || (spec.countOnly && c.eventual())); err != nil {
			return c.filterErr(err)
		}
	}
	if spec.source != nil {
		items = spec.source(n)
	}
	if n != nil {
		var kept []*item
		for _, it := range items {
			if n.eval(it.full, nil) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if sv, ok := c.opt("$search"); ok {
		m, err := parseSearch(sv)
		if err != nil {
			return c.errResp(400, "Request_UnsupportedQuery", err.Error())
		}
		var kept []*item
		for _, it := range items {
			if m(it.full) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if spec.countOnly {
		return c.textResp(strconv.Itoa(len(items)))
	}
	// Order: by seq, or by $orderby key then seq.
	orderProp, desc := "", false
	if ov, ok := c.opt("$orderby"); ok {
		f := strings.Fields(ov)
		if len(f) == 0 || len(f) > 2 || strings.Contains(ov, ",") {
			return c.errResp(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
		}
		p := strings.ToLower(f[0])
		if p != "displayname" && !(spec.t == userType && p == "userprincipalname") {
			return c.errResp(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
		}
		if len(f) == 2 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				desc = true
			default:
				return c.errResp(400, "BadRequest", "Invalid $orderby direction.")
			}
		}
		if _, hasFilter := c.opt("$filter"); (hasFilter || desc) && !c.advanced() {
			return c.errResp(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
		}
		orderProp = p
	}
	key := func(it *item) string {
		if orderProp == "" {
			return ""
		}
		v, _ := it.full.get(orderProp)
		s, _ := v.(string)
		return strings.ToLower(s)
	}
	less := func(a, b *item) bool {
		ka, kb := key(a), key(b)
		if ka != kb {
			if desc {
				return ka > kb
			}
			return ka < kb
		}
		return a.seq < b.seq
	}
	sorted := append([]*item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
	total := len(sorted)

	top := 100
	if tv, ok := c.opt("$top"); ok {
		n, err := atoiStrict(tv)
		if err != nil || n < 1 || n > spec.maxTop {
			return c.badRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", tv, spec.maxTop))
		}
		top = n
	}
	start := 0
	if tv, ok := c.opt("$skiptoken"); ok {
		tok, err := decodeSkipToken(tv)
		if err != nil {
			return c.errResp(400, "Request_BadRequest", "Invalid skip token.")
		}
		pivot := &item{seq: tok.S}
		start = sort.Search(len(sorted), func(i int) bool {
			k := key(sorted[i])
			if k != tok.K {
				if desc {
					return k < tok.K
				}
				return k > tok.K
			}
			return sorted[i].seq > pivot.seq
		})
	}
	end := min(start+top, len(sorted))
	page := sorted[start:end]

	ctx := spec.contextSet
	if sel != nil {
		ctx += "(" + strings.Join(sel, ",") + ")"
	}
	out := object{{"@odata.context", c.context(ctx)}}
	if _, first := c.opt("$skiptoken"); !first && c.advanced() {
		out = append(out, field{"@odata.count", total})
	}
	if end < len(sorted) {
		last := sorted[end-1]
		out = append(out, field{"@odata.nextLink", c.nextLink(encodeSkipToken(skipToken{K: key(last), S: last.seq}))})
	}
	vals := make([]object, 0, len(page))
	for _, it := range page {
		vals = append(vals, it.project(sel, spec.typed))
	}
	out = append(out, field{"value", vals})
	return c.jsonResp(200, out)
}

// nextLink rebuilds the request URL with every original option and a new
// $skiptoken, absolute, using the request's scheme and host.
func (c *reqCtx) nextLink(token string) string {
	var parts []string
	for _, o := range c.opts {
		if strings.EqualFold(strings.TrimPrefix(o.key, "$"), "skiptoken") {
			continue
		}
		parts = append(parts, escapeQuery(o.key)+"="+escapeQuery(o.value))
	}
	parts = append(parts, "$skiptoken="+token)
	segs := make([]string, len(c.segs))
	for i, s := range c.segs {
		segs[i] = url.PathEscape(s)
	}
	return c.base + "/" + c.version + "/" + strings.Join(segs, "/") + "?" + strings.Join(parts, "&")
}

// escapeQuery percent-encodes a query component but keeps '$', ',', '(' ,
// ')', ':' and '\” readable, as Graph's own nextLinks do.
func escapeQuery(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	for _, r := range []string{"$", ",", "(", ")", ":", "'"} {
		e = strings.ReplaceAll(e, url.QueryEscape(r), r)
	}
	return e
}

func (c *reqCtx) filterErr(err error) *response {
	var fe *filterError
	if errors.As(err, &fe) {
		return c.errResp(400, fe.code, fe.msg)
	}
	return c.errResp(400, "BadRequest", "Invalid filter clause: "+err.Error())
}

// parseSearch supports $search="prop:words" clauses joined by AND/OR,
// matching word prefixes case-insensitively (tokenized search).
func parseSearch(v string) (func(object) bool, error) {
	v = strings.TrimSpace(v)
	type clause struct{ prop, term string }
	var clauses []clause
	var ops []string
	for v != "" {
		if !strings.HasPrefix(v, `"`) {
			return nil, errors.New("Syntax error: $search clauses must be quoted, e.g. \"displayName:foo\".")
		}
		end := strings.Index(v[1:], `"`)
		if end < 0 {
			return nil, errors.New("Syntax error: unterminated $search clause.")
		}
		body := v[1 : end+1]
		p, t, ok := strings.Cut(body, ":")
		if !ok {
			return nil, errors.New("Syntax error: $search clause requires a property name, e.g. \"displayName:foo\".")
		}
		clauses = append(clauses, clause{strings.TrimSpace(p), strings.ToLower(strings.TrimSpace(t))})
		v = strings.TrimSpace(v[end+2:])
		if v == "" {
			break
		}
		op, rest, _ := strings.Cut(v, " ")
		op = strings.ToUpper(op)
		if op != "AND" && op != "OR" {
			return nil, errors.New("Syntax error: expected AND or OR in $search.")
		}
		ops = append(ops, op)
		v = strings.TrimSpace(rest)
	}
	match := func(o object, cl clause) bool {
		val, _ := o.get(cl.prop)
		s, _ := val.(string)
		s = strings.ToLower(s)
		if strings.HasPrefix(s, cl.term) {
			return true
		}
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" ._-@", r) }) {
			if strings.HasPrefix(w, cl.term) {
				return true
			}
		}
		return false
	}
	return func(o object) bool {
		res := match(o, clauses[0])
		for i, op := range ops {
			m := match(o, clauses[i+1])
			if op == "AND" {
				res = res && m
			} else {
				res = res || m
			}
		}
		return res
	}, nil
}
