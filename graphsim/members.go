package graphsim

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Group membership and ownership (README §4).

func registerMemberRoutes(r *router) {
	for _, nav := range []string{"members", "owners", "transitiveMembers"} {
		ru := 1
		switch nav {
		case "members":
			ru = 3
		case "transitiveMembers":
			ru = 5
		}
		r.add("GET", "/groups/{id}/"+nav+"/$count", listLinks(nav, "", true))
		for _, cast := range []string{"user", "group", "servicePrincipal"} {
			r.add("GET", "/groups/{id}/"+nav+"/microsoft.graph."+cast+"/$count", listLinks(nav, cast, true))
			r.add("GET", "/groups/{id}/"+nav+"/microsoft.graph."+cast, listLinks(nav, cast, false), withRU(ru))
		}
		r.add("GET", "/groups/{id}/"+nav, listLinks(nav, "", false), withRU(ru))
	}
	for _, nav := range []string{"members", "owners"} {
		r.add("POST", "/groups/{id}/"+nav+"/$ref", addRef(nav))
		r.add("DELETE", "/groups/{id}/"+nav+"/{memberId}/$ref", removeRef(nav))
	}
}

// linkItems renders the visible targets of links; omitSPs drops service
// principals (v1.0 member lists, documented known issue, README §4/§11).
func (s *Sim) linkItems(c *reqCtx, links []*link, omitSPs bool) []*item {
	var out []*item
	for _, l := range links {
		if !s.visible(c, l.added) {
			continue
		}
		if it := s.objectItem(c, l.id, l.seq); it != nil {
			if omitSPs && it.baseType == kindSP.odataType() {
				continue
			}
			out = append(out, it)
		}
	}
	return out
}

// pageWindow cuts the page a plain list request asks for (plainPage)
// from links, which are in seq order, the order lists return: the items
// after the skiptoken, up to one more than the page holds so that c.list
// knows whether a nextLink follows. Only those are rendered; rendering
// every member for each page made a group of a million members a million
// renders a page. c.list then pages the window exactly as it would the
// whole list. ok is false when the request needs the whole list.
func (s *Sim) pageWindow(c *reqCtx, links []*link, omitSPs bool) (window []*item, ok bool) {
	top, after, ok := c.plainPage()
	if !ok {
		return nil, false
	}
	return pageOf(links, func(l *link) int64 { return l.seq }, after, top, func(ls []*link) []*item { return s.linkItems(c, ls, omitSPs) }), true
}

// pageOf cuts a window from xs, which are in seq order: the items render
// makes of those after seq after, up to top+1 of them (pageWindow).
func pageOf[T any](xs []T, seq func(T) int64, after int64, top int, render func([]T) []*item) []*item {
	var window []*item
	for i := sort.Search(len(xs), func(i int) bool { return seq(xs[i]) > after }); i < len(xs) && len(window) <= top; i++ {
		window = append(window, render(xs[i:i+1])...)
	}
	return window
}

// plainPage reports, for a list request without $filter, $search or
// $orderby, its page size and the seq its skiptoken continues after (0 on
// the first page); ok is false for any other request, or one whose $top or
// $skiptoken c.list must refuse. $count is allowed on a later page only:
// the first page of a counted list carries @odata.count, the size of the
// whole list.
func (c *reqCtx) plainPage() (top int, after int64, ok bool) {
	for _, o := range []string{"$filter", "$search", "$orderby"} {
		if _, has := c.opt(o); has {
			return 0, 0, false
		}
	}
	_, later := c.opt("$skiptoken")
	if _, counted := c.opt("$count"); (counted || c.advanced()) && !later {
		return 0, 0, false
	}
	top = 100
	if tv, has := c.opt("$top"); has {
		n, err := atoiStrict(tv)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		top = n
	}
	if tv, has := c.opt("$skiptoken"); has {
		tok, err := decodeSkipToken(tv)
		if err != nil || tok.K != "" {
			return 0, 0, false
		}
		after = tok.S
	}
	return top, after, true
}

// objectItem renders any directory object for a directoryObject collection
// (nil when missing or not yet replicated).
func (s *Sim) objectItem(c *reqCtx, id string, seq int64) *item {
	id = strings.ToLower(id)
	if u, ok := s.st.users[id]; ok && s.visible(c, u.created) {
		return &item{seq: seq, full: u.render(), def: userDefaultProps, odataType: kindUser.odataType(), baseType: kindUser.odataType(), schema: userSchemaProps}
	}
	if g, ok := s.st.groups[id]; ok && s.visible(c, g.created) {
		return &item{seq: seq, full: g.render(), def: g.defaultProps(), odataType: kindGroup.odataType(), baseType: kindGroup.odataType(), schema: groupSchemaProps}
	}
	if sp, ok := s.st.sps[id]; ok && s.visible(c, sp.created) {
		return &item{seq: seq, full: sp.render(), def: spDefaultProps, odataType: sp.odataType(), baseType: kindSP.odataType(), schema: spSchemaProps}
	}
	return nil
}

func listLinks(nav, cast string, countOnly bool) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		if r := c.checkOptions("select", "filter", "top", "skiptoken", "count", "search", "orderby"); r != nil {
			return r
		}
		g, key := s.groupByKey(c, true)
		if g == nil {
			return c.notFound(key)
		}
		var links []*link
		switch nav {
		case "members":
			links = g.members.all()
		case "owners":
			links = g.owners.all()
		case "transitiveMembers":
			links = s.transitive(c, g)
		}
		// v1.0 leaves service principals out of member and owner lists
		// (known issue; the group-list-owners page: "service principals
		// are not listed as group owners" on v1.0); transitive lists too.
		omitSPs := c.version == "v1.0"
		var items []*item
		ok := false
		if cast == "" && nav != "transitiveMembers" && !countOnly {
			items, ok = s.pageWindow(c, links, omitSPs)
		}
		if !ok {
			items = s.linkItems(c, links, omitSPs)
		}
		spec := listSpec{contextSet: "directoryObjects", t: dirObjType, typed: true, maxTop: 999, refFilter: true, countOnly: countOnly}
		if cast != "" {
			want := "#microsoft.graph." + cast
			var kept []*item
			for _, it := range items {
				if it.baseType == want {
					it.schema = nil
					kept = append(kept, it)
				}
			}
			items = kept
			spec.typed = false
			spec.contextSet = cast + "s"
			spec.t = map[string]*typeProps{"user": userType, "group": groupType, "servicePrincipal": spType}[cast]
		}
		if cast == "servicePrincipal" && omitSPs {
			items = nil
		}
		spec.items = items
		return c.list(spec)
	}
}

// transitive flattens nested membership (each object once, breadth-first).
func (s *Sim) transitive(c *reqCtx, g *groupRec) []*link {
	seen := map[string]bool{g.ID: true}
	var out []*link
	queue := []*groupRec{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, l := range cur.members.all() {
			if seen[l.id] || !s.visible(c, l.added) {
				continue
			}
			seen[l.id] = true
			out = append(out, l)
			if sub, ok := s.st.groups[l.id]; ok {
				queue = append(queue, sub)
			}
		}
	}
	return out
}

// parseRefURL extracts the object id from an @odata.id / @odata.bind URL.
// Any scheme and host are accepted, as are relative forms; the path may
// carry a version segment and must name directoryObjects, users, groups or
// servicePrincipals followed by the id.
func parseRefURL(raw string) (id, collection string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", false
	}
	segs, err := splitPath(u.EscapedPath())
	if err != nil {
		return "", "", false
	}
	if len(segs) > 0 && (segs[0] == "v1.0" || segs[0] == "beta") {
		segs = segs[1:]
	}
	if len(segs) != 2 {
		return "", "", false
	}
	switch strings.ToLower(segs[0]) {
	case "directoryobjects", "users", "groups", "serviceprincipals":
		return segs[1], strings.ToLower(segs[0]), segs[1] != ""
	}
	return "", "", false
}

func duplicateRef(c *reqCtx, nav string) *response {
	return c.badRequest(fmt.Sprintf("One or more added object references already exist for the following modified properties: '%s'.", nav))
}

// resolveRef validates one reference target for nav on g. Writes are
// authoritative: objects still inside the replication lag resolve.
func (s *Sim) resolveRef(c *reqCtx, g *groupRec, nav, raw string) (string, *response) {
	id, coll, ok := parseRefURL(raw)
	if !ok {
		return "", c.badRequest(fmt.Sprintf("Invalid object identifier '%s'.", raw))
	}
	if !isGUID(id) {
		if coll == "users" {
			if u := s.st.userByUPN(id); u != nil {
				id = u.ID
			}
		}
		if !isGUID(id) {
			return "", c.badRequest(fmt.Sprintf("Invalid object identifier '%s'.", id))
		}
	}
	id = strings.ToLower(id)
	k, found := s.st.kindOf(id)
	if !found || (coll == "users" && k != kindUser) || (coll == "groups" && k != kindGroup) || (coll == "serviceprincipals" && k != kindSP) {
		return "", c.notFound(id)
	}
	if nav == "owners" && k == kindGroup {
		return "", c.badRequest("Only users and service principals can be owners of a group.")
	}
	if nav == "members" {
		if id == g.ID {
			return "", c.badRequest("A group cannot be a member of itself.")
		}
		if k == kindGroup && g.IsAssignableToRole != nil && *g.IsAssignableToRole {
			return "", c.badRequest("Nesting groups in a role-assignable group is not supported.")
		}
	}
	return id, nil
}

// memberWriteCheck applies the group-level rules for changing members.
// Owners of synced groups stay cloud-managed (graphsim choice).
func memberWriteCheck(c *reqCtx, g *groupRec, nav string) *response {
	if nav != "members" {
		return nil
	}
	if g.cloudReadOnly() {
		return c.badRequest(msgSynced)
	}
	if isDynamic(g.GroupTypes) {
		// Members of dynamic groups are computed from membershipRule
		// (wording unverified).
		return c.badRequest("Insufficient privileges to complete the operation: members of a group with dynamic membership cannot be changed manually.")
	}
	return nil
}

// checkBinds validates members@odata.bind/owners@odata.bind: at most 20
// references per request, all resolvable and new (all-or-nothing).
func (s *Sim) checkBinds(c *reqCtx, g *groupRec, binds map[string][]string, create bool) *response {
	total := len(binds["members"]) + len(binds["owners"])
	if total == 0 {
		return nil
	}
	if total > 20 {
		return c.badRequest("A maximum of 20 members and owners can be added in a single request.")
	}
	for _, nav := range []string{"owners", "members"} {
		if len(binds[nav]) == 0 {
			continue
		}
		if r := memberWriteCheck(c, g, nav); r != nil {
			return r
		}
		links := &g.members
		if nav == "owners" {
			links = &g.owners
		}
		seen := map[string]bool{}
		for _, raw := range binds[nav] {
			id, r := s.resolveRef(c, g, nav, raw)
			if r != nil {
				return r
			}
			if seen[id] || links.has(id) {
				return duplicateRef(c, nav)
			}
			seen[id] = true
		}
	}
	return nil
}

// commitBinds adds the (already validated) references.
func (s *Sim) commitBinds(c *reqCtx, g *groupRec, binds map[string][]string) {
	for _, nav := range []string{"members", "owners"} {
		for _, raw := range binds[nav] {
			id, _ := s.resolveRef(c, g, nav, raw)
			l := &link{id: id, seq: s.st.nextSeq(), added: c.now}
			if nav == "members" {
				g.members.add(l)
			} else {
				g.owners.add(l)
			}
		}
	}
}

func addRef(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		g, m, r := s.groupAndBody(c)
		if r != nil {
			return r
		}
		raw, ok := m["@odata.id"].(string)
		if !ok {
			return c.badRequest("The request body must contain an '@odata.id' reference.")
		}
		for k := range m {
			if k != "@odata.id" && k != "@odata.context" {
				return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
			}
		}
		if r := memberWriteCheck(c, g, nav); r != nil {
			return r
		}
		return s.applyBindsNow(c, g, nav, raw)
	}
}

func (s *Sim) applyBindsNow(c *reqCtx, g *groupRec, nav, raw string) *response {
	if r := s.checkBinds(c, g, map[string][]string{nav: {raw}}, false); r != nil {
		return r
	}
	s.commitBinds(c, g, map[string][]string{nav: {raw}})
	return c.noContent()
}

// removeRef: DELETE /groups/{id}/{nav}/{memberId}/$ref. Removing an object
// that is not linked answers 404 Request_ResourceNotFound with the
// "removed object references do not exist" message: README §4 quotes the
// observed message and the repeat-safety table gives 404/400; Graph's
// directory service reports it as 404, which is what we model.
func removeRef(nav string) handlerFunc {
	return func(c *reqCtx) *response {
		s := c.s
		g, key := s.groupByKey(c, false)
		if g == nil {
			return c.notFound(key)
		}
		if r := memberWriteCheck(c, g, nav); r != nil {
			return r
		}
		id := strings.ToLower(c.params["memberId"])
		links := &g.members
		if nav == "owners" {
			links = &g.owners
		}
		if !links.has(id) {
			return c.errResp(404, "Request_ResourceNotFound", fmt.Sprintf("One or more removed object references do not exist for the following modified properties: '%s'.", nav))
		}
		if nav == "owners" && s.lastUserOwner(g, id) {
			return c.badRequest(msgLastOwner)
		}
		links.drop(id)
		return c.noContent()
	}
}

// msgLastOwner is Graph's refusal to remove a group's last owner, as
// observed (testdata/graph/examples/error-Request_BadRequest-lastOwner.observed.response.json).
const msgLastOwner = "The group must have at least one owner, hence this owner cannot be removed."

// lastUserOwner reports whether removing owner id would leave g without a
// user owner. Microsoft's group-delete-owners page: "Once owners are
// assigned to a group, the last owner (a user object) of the group cannot
// be removed"; observed, Graph refuses it also while a service principal
// still owns the group. A service principal owner can always be removed.
func (s *Sim) lastUserOwner(g *groupRec, id string) bool {
	isUser := func(id string) bool { k, ok := s.st.kindOf(id); return ok && k == kindUser }
	if !isUser(id) {
		return false
	}
	for _, l := range g.owners.all() {
		if l.id != id && isUser(l.id) {
			return false
		}
	}
	return true
}
