package graphsim

import (
	"regexp"
	"strings"
)

// Routing. Each resource family registers its routes in its own file
// (users.go, groups.go, members.go, directoryobjects.go); a new family adds a
// register function to families. $batch is handled before routing (batch.go).

var families = []func(*router){
	// Agent ID first: its casts (/users/microsoft.graph.agentUser) must
	// win over {id} segments of the older families.
	// Delta functions before any {id} segment could take "delta".
	registerDeltaRoutes,
	registerBlueprintRoutes,
	registerAgentSPRoutes,
	registerGrantRoutes,
	registerUserRoutes,
	registerGroupRoutes,
	registerMemberRoutes,
	registerDirectoryObjectRoutes,
	registerOrganizationRoutes,
	registerServicePrincipalRoutes,
	registerEMCatalogRoutes,
	registerEMPackageRoutes,
	registerEMPolicyRoutes,
	registerEMExtensionRoutes,
	registerEMAssignmentRoutes,
	registerInvitationRoutes,
}

type handlerFunc func(c *reqCtx) *response

type route struct {
	method  string
	pattern string
	segs    []patSeg
	h       handlerFunc
	// write: counts against the write quota, can be dropped after commit.
	write bool
	// baseRU is the documented resource-unit cost before modifiers
	// (README §9); costFn overrides the whole computation.
	baseRU int
	costFn func(c *reqCtx) int
}

type patSeg struct {
	lit   string         // literal (matched case-insensitively)
	param string         // whole-segment parameter
	re    *regexp.Regexp // mixed segment such as groups(uniqueName='{key}')
	names []string
}

type router struct{ routes []*route }

func newRouter() *router {
	r := &router{}
	for _, f := range families {
		f(r)
	}
	// Entitlement-management processing catches up with the clock before
	// every request (em_assignments.go).
	for _, rt := range r.routes {
		rt.h = agentTicking(emTicking(rt.h))
	}
	return r
}

var paramRe = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// add registers a route. Pattern segments are literals, {param} (one whole
// segment) or literals with embedded {param}s such as
// groups(uniqueName='{uniqueName}'). Routes are tried in registration order,
// so register literal segments ($count, casts) before {id}.
func (r *router) add(method, pattern string, h handlerFunc, opts ...func(*route)) {
	rt := &route{method: method, pattern: pattern, h: h, write: method != "GET", baseRU: 1}
	for _, seg := range strings.Split(strings.Trim(pattern, "/"), "/") {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && strings.Count(seg, "{") == 1:
			rt.segs = append(rt.segs, patSeg{param: seg[1 : len(seg)-1]})
		case strings.Contains(seg, "{"):
			var names []string
			expr := ""
			last := 0
			for _, m := range paramRe.FindAllStringSubmatchIndex(seg, -1) {
				expr += regexp.QuoteMeta(seg[last:m[0]]) + "(.*)"
				names = append(names, seg[m[2]:m[3]])
				last = m[1]
			}
			expr += regexp.QuoteMeta(seg[last:])
			rt.segs = append(rt.segs, patSeg{re: regexp.MustCompile("(?i)^" + expr + "$"), names: names})
		default:
			rt.segs = append(rt.segs, patSeg{lit: seg})
		}
	}
	for _, o := range opts {
		o(rt)
	}
	r.routes = append(r.routes, rt)
}

func withRU(n int) func(*route) { return func(r *route) { r.baseRU = n } }

func readOnlyAction() func(*route) { return func(r *route) { r.write = false } }

func withCost(f func(c *reqCtx) int) func(*route) { return func(r *route) { r.costFn = f } }

// match finds the route for method+segments. methodMismatch reports that
// the path exists for another method (405).
func (r *router) match(method string, segs []string) (*route, map[string]string, bool) {
	mismatch := false
	for _, rt := range r.routes {
		params, ok := rt.matchPath(segs)
		if !ok {
			continue
		}
		if rt.method != method {
			mismatch = true
			continue
		}
		return rt, params, false
	}
	return nil, nil, mismatch
}

func (rt *route) matchPath(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range rt.segs {
		s := segs[i]
		switch {
		case p.param != "":
			if strings.HasPrefix(s, "$") || strings.Contains(s, "(") {
				return nil, false
			}
			params[p.param] = s
		case p.re != nil:
			m := p.re.FindStringSubmatch(s)
			if m == nil {
				return nil, false
			}
			for j, n := range p.names {
				params[n] = unquoteKey(m[j+1])
			}
		default:
			if !strings.EqualFold(p.lit, s) {
				return nil, false
			}
		}
	}
	return params, true
}

// unquoteKey undoes OData string-literal escaping in key segments (” → ').
func unquoteKey(s string) string { return strings.ReplaceAll(s, "''", "'") }

// cost computes the resource-unit cost (README §9): the route's base cost,
// then $select −1, $expand +1, $top<20 −1, never below 1.
func (rt *route) cost(c *reqCtx) int {
	if rt.costFn != nil {
		return rt.costFn(c)
	}
	n := rt.baseRU
	if rt.method == "GET" {
		if _, ok := c.opt("$select"); ok {
			n--
		}
		if _, ok := c.opt("$expand"); ok {
			n++
		}
		if v, ok := c.opt("$top"); ok {
			if t, err := atoiStrict(v); err == nil && t < 20 {
				n--
			}
		}
	}
	if n < 1 {
		n = 1
	}
	return n
}
