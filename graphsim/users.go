package graphsim

import "strings"

// Users (README §3): read-only in this round.

func registerUserRoutes(r *router) {
	r.add("GET", "/users/$count", func(c *reqCtx) *response { return c.s.listUsers(c, true) })
	r.add("GET", "/users", func(c *reqCtx) *response { return c.s.listUsers(c, false) }, withRU(2))
	r.add("GET", "/users('{id}')", getUser)
	r.add("GET", "/users/{id}", getUser)
}

func (s *Sim) userItems(c *reqCtx) []*item { return s.itemsOfUsers(c, s.st.sortedUsers()) }

func (s *Sim) itemsOfUsers(c *reqCtx, users []*userRec) []*item {
	var out []*item
	for _, u := range users {
		if s.visible(c, u.created) {
			out = append(out, &item{seq: u.seq, full: u.render(), def: userDefaultProps, odataType: kindUser.odataType()})
		}
	}
	return out
}

func (s *Sim) listUsers(c *reqCtx, countOnly bool) *response {
	if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "orderby", "search"); r != nil {
		return r
	}
	// Only the users the filter can match are rendered (users_index.go).
	source := func(n fnode) []*item {
		if users, ok := s.st.usersMatching(n); ok {
			return s.itemsOfUsers(c, users)
		}
		if top, after, ok := c.plainPage(); ok && !countOnly {
			// A page of all users: only it is rendered (as pageWindow).
			return pageOf(s.st.sortedUsers(), func(u *userRec) int64 { return u.seq }, after, top, func(us []*userRec) []*item { return s.itemsOfUsers(c, us) })
		}
		return s.userItems(c)
	}
	return c.list(listSpec{contextSet: "users", t: userType, source: source, maxTop: 999, countOnly: countOnly})
}

// lookupUser resolves an id or userPrincipalName.
func (s *Sim) lookupUser(key string) *userRec {
	if u, ok := s.st.users[strings.ToLower(key)]; ok {
		return u
	}
	return s.st.userByUPN(key)
}

func getUser(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	key := c.params["id"]
	u := s.lookupUser(key)
	if u == nil || !s.visible(c, u.created) {
		return c.notFound(key)
	}
	sel, errR := c.parseSelect(userType)
	if errR != nil {
		return errR
	}
	it := &item{full: u.render(), def: userDefaultProps}
	ctx := "users/$entity"
	if sel != nil {
		ctx = "users(" + strings.Join(sel, ",") + ")/$entity"
	}
	return c.jsonResp(200, append(object{{"@odata.context", c.context(ctx)}}, it.project(sel, false)...))
}
