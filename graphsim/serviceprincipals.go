package graphsim

// Service principals (GET /servicePrincipals): read-only in this round, for
// look-ups by id, appId or displayName.

func registerServicePrincipalRoutes(r *router) {
	r.add("GET", "/servicePrincipals", listServicePrincipals)
}

func listServicePrincipals(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "orderby", "search"); r != nil {
		return r
	}
	var items []*item
	for _, sp := range s.st.sortedSPs() {
		if s.visible(c, sp.created) {
			items = append(items, &item{seq: sp.seq, full: sp.render(), def: spDefaultProps, odataType: sp.odataType(), baseType: kindSP.odataType(), schema: spSchemaProps})
		}
	}
	return c.list(listSpec{contextSet: "servicePrincipals", t: spType, items: items, maxTop: 999, typed: true})
}
