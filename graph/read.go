package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

// Field lists for $select: only what the planner compares or shows.
const (
	groupSelect     = "id,displayName,description,mailNickname,groupTypes,membershipRule,membershipRuleProcessingState,onPremisesSyncEnabled,uniqueName,securityEnabled,isAssignableToRole"
	memberSelect    = "id,displayName,userPrincipalName,mail"
	userSelect      = "id,displayName,userPrincipalName,mail"
	maxPage         = 999  // the largest $top Graph allows for directory lists
	maxInValues     = 15   // values per `in (…)` clause, Graph's limit for directory filters
	maxFilterLen    = 1800 // encoded $filter characters per request, well inside URL limits
	maxEqName       = 120  // longest displayName Graph matches with eq/in in a standard query
	membersEndpoint = "/groups/%s/members"
	ownersEndpoint  = "/groups/%s/owners"
	lookAhead       = 256 // names an index reads ahead of a loop that finds them (model.Index.Prefetch)
)

type groupJSON struct {
	ID                            string   `json:"id"`
	DisplayName                   string   `json:"displayName"`
	Description                   *string  `json:"description"`
	MailNickname                  *string  `json:"mailNickname"`
	GroupTypes                    []string `json:"groupTypes"`
	MembershipRule                *string  `json:"membershipRule"`
	MembershipRuleProcessingState *string  `json:"membershipRuleProcessingState"`
	OnPremisesSyncEnabled         *bool    `json:"onPremisesSyncEnabled"`
	UniqueName                    *string  `json:"uniqueName"`
	IsAssignableToRole            *bool    `json:"isAssignableToRole"`
}

type objectJSON struct {
	Type              string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	AppID             string `json:"appId"`
}

func (o objectJSON) principal(fallback model.PrincipalKind) model.Principal {
	kind := fallback
	if t := strings.TrimPrefix(o.Type, "#microsoft.graph."); t != "" && t != o.Type {
		kind = kindNamed(t)
	}
	return model.Principal{ID: strings.ToLower(o.ID), Kind: kind, DisplayName: o.DisplayName, UserPrincipalName: o.UserPrincipalName, Mail: o.Mail,
		AppID: strings.ToLower(o.AppID)}
}

// kindNamed is the kind an @odata.type names, as a string of its own: a
// million members' kinds are the few constants, and none keeps the page it
// was decoded from.
func kindNamed(t string) model.PrincipalKind {
	for _, k := range [...]model.PrincipalKind{model.User, model.GroupKind, model.ServicePrincipal, model.AgentIdentityKind} {
		if string(k) == t {
			return k
		}
	}
	return model.PrincipalKind(strings.Clone(t))
}

// Read returns the observed state of every object desired names: its groups
// (by pinned id or display name), their members where the spec manages them,
// their source of authority where the spec converts them, and the directory
// objects its member references name. Nothing else is read.
func (c *Client) Read(ctx context.Context, desired *model.Tenant) (*model.Tenant, error) {
	return c.read(ctx, desired, nil)
}

// read is Read, with managed member sets served from delta when it is not
// nil (ReadDelta).
func (c *Client) read(ctx context.Context, desired *model.Tenant, delta *DeltaState) (*model.Tenant, error) {
	obs := &model.Tenant{}
	r := newReader(c, obs, delta)

	// The chains of reads that do not need each other's answers run at
	// once (issue 13, "reads at the bound"): their requests meet in the
	// client's $batch calls, so a plan takes as many round trips as its
	// longest chain, not as the sum of them.
	err := r.concurrently(ctx,
		func(ctx context.Context, r *reader) error { return r.readGroups(ctx, desired) },
		func(ctx context.Context, r *reader) error {
			if err := r.readApps(ctx, desired); err != nil {
				return err
			}
			return r.readGrants(ctx, desired)
		},
		func(ctx context.Context, r *reader) error { return r.readEM(ctx, desired) },
		func(ctx context.Context, r *reader) error {
			if err := r.readAgents(ctx, desired); err != nil {
				return err
			}
			return r.readLifecycle(ctx, desired)
		},
	)
	if err != nil {
		return nil, err
	}
	// What needs them all: the members of groups that packages deliver to,
	// and the references nothing above showed.
	ids, beta := r.emMemberGroups(desired)
	if err := r.readGroupMembers(ctx, ids, beta); err != nil {
		return nil, err
	}
	if err := r.resolve(ctx, desired); err != nil {
		return nil, err
	}
	model.Normalize(obs)
	return obs, nil
}

// readGroups reads the groups the spec names and, of those it manages,
// what it manages: members, owners, transitive members when principals are
// protected, source of authority.
func (r *reader) readGroups(ctx context.Context, desired *model.Tenant) error {
	if r.delta != nil {
		r.rounds = r.startRounds(ctx)
	}
	groups, err := r.groups(ctx, desired)
	if err != nil {
		if r.rounds != nil {
			r.rounds() // (it ends with the read's context)
		}
		return err
	}
	managed := map[string]*model.Group{} // observed id → desired group
	for _, dg := range desired.Groups {
		for _, g := range groups {
			if (dg.ID != "" && g.ID == dg.ID) || (dg.ID == "" && model.NameKey(g.DisplayName) == dg.Key()) {
				r.obs.Groups = append(r.obs.Groups, g)
				managed[g.ID] = dg
			}
		}
	}
	members := r.members
	if r.delta != nil {
		members = func(ctx context.Context, managed map[string]*model.Group, _ map[string]bool) error {
			return r.deltaMembers(ctx, managed)
		}
	}
	if err := members(ctx, managed, nil); err != nil {
		return err
	}
	if err := r.groupOwners(ctx, managed); err != nil {
		return err
	}
	if len(desired.Settings.Protected) > 0 {
		if err := r.transitiveMembers(ctx, managed); err != nil {
			return err
		}
	}
	return r.sourceOfAuthority(ctx, managed)
}

// concurrently runs reads at once, each with a reader of its own, and
// merges what they observed into r in the order given, so the result does
// not depend on which answered first. A read that fails stops the others
// (their context ends); once all have ended, the first error in the order
// given is returned, leaving out the stopped reads' own.
func (r *reader) concurrently(parent context.Context, reads ...func(context.Context, *reader) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	forks := make([]*reader, len(reads))
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		forks[i] = newReader(r.c, &model.Tenant{}, r.delta)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = read(ctx, forks[i]); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The error reported is the first, in the order given, that is not
	// only the others' stop: the same whichever failed first.
	for _, err := range errs {
		if err != nil && (parent.Err() != nil || !errors.Is(err, context.Canceled)) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, f := range forks {
		if len(r.obs.Principals) == 0 {
			// The first to have read principals hands them over as
			// they are: a million members' are not copied.
			r.obs.Principals, r.ids = f.obs.Principals, f.ids
			r.ids.Rebind(r.idOf)
			f.obs.Principals = nil
		}
		r.merge(f.obs)
	}
	return nil
}

// merge adds what a forked reader observed to r's observed tenant.
// TestMergeKeepsEveryField fails when a field of model.Tenant is left out.
func (r *reader) merge(o *model.Tenant) {
	t := r.obs
	if t.Domain == "" {
		t.Domain = o.Domain
	}
	t.Groups = appendKeep(t.Groups, o.Groups)
	t.Catalogs = appendKeep(t.Catalogs, o.Catalogs)
	t.AccessPackages = appendKeep(t.AccessPackages, o.AccessPackages)
	t.Blueprints = appendKeep(t.Blueprints, o.Blueprints)
	t.AgentIdentities = appendKeep(t.AgentIdentities, o.AgentIdentities)
	t.AgentUsers = appendKeep(t.AgentUsers, o.AgentUsers)
	t.Lifecycle = appendKeep(t.Lifecycle, o.Lifecycle)
	t.AllAgentIdentities = appendKeep(t.AllAgentIdentities, o.AllAgentIdentities)
	t.Grants = appendKeep(t.Grants, o.Grants)
	t.ServicePrincipals = appendKeep(t.ServicePrincipals, o.ServicePrincipals)
	t.GroupMembers = copyKeep(t.GroupMembers, o.GroupMembers)
	t.TransitiveMembers = copyKeep(t.TransitiveMembers, o.TransitiveMembers)
	// Settings are the spec's: a read never sets them.
	r.reserve(len(o.Principals))
	for _, p := range o.Principals {
		r.addPrincipal(p)
	}
}

// appendKeep appends b to a, keeping b's non-nil emptiness when a is nil:
// an empty list read is not the same as one never read.
func appendKeep[S ~[]E, E any](a, b S) S {
	if a == nil {
		return b
	}
	return append(a, b...)
}

// copyKeep is appendKeep for maps.
func copyKeep[M ~map[K]V, K comparable, V any](a, b M) M {
	if a == nil {
		return b
	}
	maps.Copy(a, b)
	return a
}

type reader struct {
	c   *Client
	obs *model.Tenant
	// ids finds each principal read so far by its id: its handles are
	// positions in obs.Principals, whose ids it reads rather than keeps
	// (a million-member group's principals are a million).
	ids *model.Index
	// names, while resolve runs, finds the principals read so far by
	// userPrincipalName and by mail: handles are position<<1, and
	// position<<1|1 for a mail that is not the UPN.
	names *model.Index
	// delta, when set, serves member sets from delta rounds (delta.go).
	delta *DeltaState
	// rounds, when set, waits for the delta rounds started beside the
	// groups' look-ups (startRounds).
	rounds func() (*deltaRounds, error)
}

func newReader(c *Client, obs *model.Tenant, delta *DeltaState) *reader {
	r := &reader{c: c, obs: obs, delta: delta}
	r.ids = model.NewIndex(0, r.idOf)
	return r
}

// idOf is the id of the principal at position h.
func (r *reader) idOf(h uint32) string { return r.obs.Principals[h].ID }

// nameOf is the userPrincipalName (h even) or mail (h odd) of the
// principal at position h>>1.
func (r *reader) nameOf(h uint32) string {
	if p := &r.obs.Principals[h>>1]; h&1 == 0 {
		return p.UserPrincipalName
	} else {
		return p.Mail
	}
}

// indexNames adds the names of the principal at position i to r.names.
func (r *reader) indexNames(i int) {
	var handles [2]uint32
	for _, h := range r.nameHandles(handles[:0], i) {
		r.names.Add(h)
	}
}

// nameHandles appends the r.names handles of the principal at position i.
func (r *reader) nameHandles(handles []uint32, i int) []uint32 {
	p := &r.obs.Principals[i]
	if p.UserPrincipalName != "" {
		handles = append(handles, uint32(i)<<1)
	}
	if p.Mail != "" && p.Mail != p.UserPrincipalName {
		handles = append(handles, uint32(i)<<1|1)
	}
	return handles
}

// knows reports whether principal id has been read.
func (r *reader) knows(id string) bool { return r.ids.Has(id) }

// named reports whether a principal read so far has the name as its
// userPrincipalName or mail (while resolve runs).
func (r *reader) named(name string) bool { return r.names.Has(name) }

// addPrincipal records p, and returns the principal as recorded: the
// first read of its id, whose strings every later mention can share (a
// member of a million-member group is also one of the users its spec
// names, and one copy of its id is enough).
func (r *reader) addPrincipal(p model.Principal) model.Principal {
	if p.ID == "" {
		return p
	}
	if p.Mail == p.UserPrincipalName {
		p.Mail = p.UserPrincipalName // one string, not two equal ones
	}
	// Recorded first and found or indexed in one probe; a principal read
	// before is taken back out.
	r.obs.Principals = append(r.obs.Principals, p)
	at := len(r.obs.Principals) - 1
	if i, ok := r.ids.Insert(uint32(at)); ok {
		r.obs.Principals[at] = model.Principal{}
		r.obs.Principals = r.obs.Principals[:at]
		q := &r.obs.Principals[i]
		if p.Kind.IsServicePrincipal() {
			// An assignment's target says only "servicePrincipal"; a later
			// read of the object itself tells an agent identity apart and
			// adds its appId.
			if q.Kind == model.ServicePrincipal {
				q.Kind = p.Kind
			}
			if q.AppID == "" {
				q.AppID = p.AppID
			}
		}
		return *q
	}
	if r.names != nil {
		r.indexNames(at)
	}
	return p
}

// groups looks up every group the spec names: its own groups by pinned id
// or display name, and the groups its member lists name.
func (r *reader) groups(ctx context.Context, desired *model.Tenant) ([]*model.Group, error) {
	var names, ids []string
	for _, g := range desired.Groups {
		if g.ID != "" {
			ids = append(ids, g.ID)
		} else {
			names = append(names, g.DisplayName)
		}
		if g.Members != nil {
			for _, ref := range g.Members.Members {
				switch {
				case ref.Kind != model.GroupKind:
				case ref.IsID():
					ids = append(ids, strings.ToLower(ref.Value))
				default:
					names = append(names, ref.Value)
				}
			}
		}
	}
	for _, ref := range append(emGroupRefs(desired), agentRefs(desired)...) {
		if ref.Kind != model.GroupKind {
			continue
		}
		if ref.IsID() {
			ids = append(ids, strings.ToLower(ref.Value))
		} else {
			names = append(names, ref.Value)
		}
	}
	// In a delta read the groups' directory answers for the names and ids
	// it knows (delta_groups.go); its round rides in the batch. A spec
	// that names no group leaves it as it is: its round would be a
	// request and a page every run for nothing.
	var dir *dirRound
	if len(names)+len(ids) > 0 {
		var err error
		if dir, err = r.openDirectory(ctx); err != nil {
			return nil, err
		}
	}
	// The tenant's domains ride along in the first batch: the planner refuses
	// a spec written for another tenant.
	items := []batchItem{{Method: "GET", URL: "/organization?$select=id,verifiedDomains"}}
	lookUps := 1 // where the look-ups start
	if dir != nil && !dir.fresh {
		items = append(items, batchItem{Method: "GET", URL: dir.link})
		lookUps++
	}
	var short, shortAsked, idsAsked []string
	for _, n := range uniqueFold(names) {
		if len([]rune(n)) <= maxEqName {
			short = append(short, n)
			if !dir.answersName(n) {
				shortAsked = append(shortAsked, n)
			}
			continue
		}
		// Graph matches at most 120 characters with eq; longer names are
		// found by prefix and told apart by the planner's exact key match.
		prefix := string([]rune(n)[:maxEqName])
		items = append(items, batchItem{Method: "GET", URL: "/groups?$filter=" + escape("startswith(displayName,"+quote(prefix)+")") + "&$select=" + groupSelect + fmt.Sprintf("&$top=%d", maxPage)})
	}
	found := len(items) // the look-ups whose groups the directory keeps (not by prefix)
	ids = uniqueFold(ids)
	for _, id := range ids {
		if !dir.answersID(id) {
			idsAsked = append(idsAsked, id)
		}
	}
	for _, q := range filterQueries("displayName", shortAsked, groupSelect) {
		items = append(items, batchItem{Method: "GET", URL: "/groups?" + q})
	}
	for _, q := range filterQueries("id", idsAsked, groupSelect) {
		items = append(items, batchItem{Method: "GET", URL: "/groups?" + q})
	}
	var out []*model.Group
	seen := map[string]bool{}
	add := func(gj groupJSON) {
		g := groupFromJSON(gj)
		if !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g)
			r.addPrincipal(model.Principal{ID: g.ID, Kind: model.GroupKind, DisplayName: g.DisplayName,
				Group: &model.GroupFacts{GroupTypes: g.GroupTypes, RoleAssignable: gj.IsAssignableToRole != nil && *gj.IsAssignableToRole}})
		}
	}
	results, err := r.c.batch(ctx, items)
	if err != nil {
		return nil, err
	}
	// App-only GET /organization needs Directory.Read.All (Microsoft's
	// permission table), which a least-privileged identity may not have:
	// then the tenant check is skipped, and said so.
	if org := results[0]; org.Status == http.StatusForbidden {
		r.c.log.Warn("cannot read /organization to check that the spec's tenant is the one Graph answers for (app-only tokens need Directory.Read.All); the check is skipped")
	} else if err := org.err(&items[0]); err != nil {
		return nil, err
	} else {
		r.obs.Domain = tenantDomain(org.Body, desired.Domain)
	}
	for i := lookUps; i < len(results); i++ {
		if err := results[i].err(&items[i]); err != nil {
			return nil, err
		}
		all, err := listAll[groupJSON](ctx, r.c, results[i].Body, nil)
		if err != nil {
			return nil, err
		}
		for _, gj := range all {
			add(gj)
			if dir != nil && i >= found {
				dir.found(gj)
			}
		}
	}
	if dir == nil {
		return out, nil
	}
	// The directory's round, applied once the look-ups are in: a group
	// they found that the round shows again is kept as the round shows it.
	dir.lookingUp(shortAsked, idsAsked)
	next := dir.link
	if !dir.fresh {
		res := &results[1]
		err := res.err(&items[1])
		if deltaExpired(err) {
			r.delta.Directory = nil
			r.delta.Report.Restarted = append(r.delta.Report.Restarted, "the groups' delta link expired")
			return r.groups(ctx, desired)
		}
		if err != nil {
			return nil, err
		}
		if next, err = deltaRound(ctx, r.c, dir.link, res.Body, dir.apply); err != nil {
			return nil, err
		}
	}
	for _, gj := range dir.matching(short, ids) {
		add(gj)
	}
	dir.save(r.delta, next)
	return out, nil
}

// tenantDomain picks the domain observed state reports: the spec's own when
// the tenant has verified it, else the tenant's initial domain.
func tenantDomain(body []byte, want string) string {
	var org struct {
		Value []struct {
			VerifiedDomains []struct {
				Name      string `json:"name"`
				IsInitial bool   `json:"isInitial"`
			} `json:"verifiedDomains"`
		} `json:"value"`
	}
	if json.Unmarshal(body, &org) != nil || len(org.Value) == 0 {
		return ""
	}
	initial := ""
	for _, d := range org.Value[0].VerifiedDomains {
		if strings.EqualFold(d.Name, want) {
			return strings.ToLower(want)
		}
		if d.IsInitial {
			initial = strings.ToLower(d.Name)
		}
	}
	return initial
}

func groupFromJSON(gj groupJSON) *model.Group {
	str := func(p *string) *string {
		s := ""
		if p != nil {
			s = *p
		}
		return &s
	}
	g := &model.Group{
		ID: strings.ToLower(gj.ID), DisplayName: gj.DisplayName,
		Description: str(gj.Description), MailNickname: str(gj.MailNickname),
		MembershipRule: str(gj.MembershipRule), MembershipRuleProcessingState: str(gj.MembershipRuleProcessingState),
		Synced:     gj.OnPremisesSyncEnabled != nil && *gj.OnPremisesSyncEnabled,
		GroupTypes: slices.Clone(gj.GroupTypes),
	}
	if !slices.ContainsFunc(gj.GroupTypes, func(t string) bool { return strings.EqualFold(t, "DynamicMembership") }) {
		empty := ""
		g.MembershipRule, g.MembershipRuleProcessingState = &empty, &empty
	}
	if gj.UniqueName != nil {
		g.UniqueName = *gj.UniqueName
	}
	return g
}

// members reads the members of every group whose member set the spec
// manages, or of those only names when it is not nil: first pages in
// $batch calls of 20, further pages by nextLink.
//
// Graph v1.0 leaves service principals out of member lists (a documented
// known issue), so a set that names service principals is read from beta,
// which lists them. For other sets this means an authoritative set never
// removes a service principal it cannot see: the safe direction.
func (r *reader) members(ctx context.Context, managed map[string]*model.Group, only map[string]bool) error {
	var items []batchItem
	var owners []*model.Group
	for _, g := range r.obs.Groups {
		dg := managed[g.ID]
		if dg.Members == nil || (only != nil && !only[g.ID]) {
			continue
		}
		q := fmt.Sprintf("$select=%s&$top=%d", memberSelect, maxPage)
		path := fmt.Sprintf(membersEndpoint, url.PathEscape(g.ID)) + "?" + q
		if slices.ContainsFunc(dg.Members.Members, func(ref model.Ref) bool { return ref.Kind == model.ServicePrincipal }) {
			resp, err := r.c.send(ctx, abs.GET, r.c.root+"/beta"+path, nil, nil)
			if err != nil {
				return err
			}
			if err := r.addMembers(ctx, g, len(dg.Members.Members), resp.Body); err != nil {
				return err
			}
			continue
		}
		items = append(items, batchItem{Method: "GET", URL: path})
		owners = append(owners, g)
	}
	// A managed set's members are mostly the members it has, and their
	// principals are mostly new: room for them is made once, not grown
	// (and copied) page by page. An eighth more is room for the members
	// the spec no longer lists and for the users it adds, which resolve
	// looks up next: a drifted million-member set would otherwise be
	// copied to a larger list at the end of the read, both held at once.
	hints := make([]int, len(owners))
	total := 0
	for i, g := range owners {
		hints[i] = len(managed[g.ID].Members.Members)
		total += hints[i]
	}
	r.reserve(total + total/8)
	i := 0
	return r.list(ctx, items, func(body []byte) error {
		g, hint := owners[i], hints[i]
		i++
		return r.addMembers(ctx, g, hint, body)
	})
}

// groupOwners reads the owners of the groups whose owners the spec manages,
// and of no other: first pages in $batch calls of 20, further pages by
// nextLink. Like member lists, v1.0 owner lists leave service principals
// out (Microsoft's group-list-owners page), so a set that names service
// principals is read from beta; an authoritative set of users only never
// sees, and so never removes, a service principal owner.
func (r *reader) groupOwners(ctx context.Context, managed map[string]*model.Group) error {
	var v1, beta []batchItem
	var v1Groups, betaGroups []*model.Group
	for _, g := range r.obs.Groups {
		dg := managed[g.ID]
		if dg.Owners == nil || dg.Absent {
			continue
		}
		item := batchItem{Method: "GET", URL: fmt.Sprintf(ownersEndpoint, url.PathEscape(g.ID)) + "?$select=" + memberSelect}
		if slices.ContainsFunc(dg.Owners.Members, func(ref model.Ref) bool { return ref.Kind == model.ServicePrincipal }) {
			beta, betaGroups = append(beta, item), append(betaGroups, g)
		} else {
			v1, v1Groups = append(v1, item), append(v1Groups, g)
		}
	}
	set := func(groups []*model.Group) func([]byte) error {
		i := 0
		return func(body []byte) error {
			g := groups[i]
			i++
			owners, err := r.objectSet(ctx, 0, body)
			if err == nil {
				g.Owners = owners
			}
			return err
		}
	}
	if err := r.list(ctx, v1, set(v1Groups)); err != nil {
		return err
	}
	if len(beta) == 0 {
		return nil
	}
	results, err := r.c.batchAt(ctx, "beta", beta)
	if err != nil {
		return err
	}
	decode := set(betaGroups)
	for i := range results {
		if err := results[i].err(&beta[i]); err != nil {
			return err
		}
		if err := decode(results[i].Body); err != nil {
			return err
		}
	}
	return nil
}

// transitiveMembers reads, for protected principals' sake, every nested
// member of the groups a plan could take away from them: the groups the
// spec deletes, and the groups that are members of an authoritative set
// (removing one un-nests everyone in it). One transitiveMembers list each,
// first pages in $batch calls of 20.
func (r *reader) transitiveMembers(ctx context.Context, managed map[string]*model.Group) error {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, g := range r.obs.Groups {
		dg := managed[g.ID]
		if dg.Absent {
			add(g.ID)
		}
		if dg.Members == nil || dg.Members.Mode != model.Authoritative || g.Members == nil {
			continue
		}
		for _, m := range g.Members.Members {
			if m.Kind == model.GroupKind {
				add(strings.ToLower(m.Value))
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	r.obs.TransitiveMembers = map[string][]string{}
	var items []batchItem
	for _, id := range ids {
		items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/groups/%s/transitiveMembers?$select=%s&$top=%d", url.PathEscape(id), memberSelect, maxPage)})
	}
	i := 0
	return r.list(ctx, items, func(body []byte) error {
		id := ids[i]
		i++
		all, err := listAll[objectJSON](ctx, r.c, body, nil)
		if err != nil {
			return err
		}
		for _, o := range all {
			p := o.principal(model.User)
			r.obs.TransitiveMembers[id] = append(r.obs.TransitiveMembers[id], p.ID)
			r.addPrincipal(p)
		}
		return nil
	})
}

func (r *reader) addMembers(ctx context.Context, g *model.Group, hint int, first []byte) error {
	set, err := r.objectSet(ctx, hint, first)
	if err == nil {
		g.Members = set
	}
	return err
}

// objectSet reads a paged list of directory objects (a group's members or
// owners) from its first page into a set, recording each as a principal.
//
// Each page is recorded as it arrives, so that only one page's decoded
// objects are held at a time: a million-member group's pages, all kept
// until the last came, were most of a plan's peak memory. A failed page
// fails the read, so a set is never used half read. hint is how many
// objects the set is likely to hold (the spec's count for it).
func (r *reader) objectSet(ctx context.Context, hint int, first []byte) (*model.MemberSet, error) {
	set := &model.MemberSet{Mode: model.Authoritative}
	err := eachPage(ctx, r.c, first, nil, decodeObjectPage, func(values []objectJSON) {
		if set.Members == nil {
			set.Members = make([]model.Ref, 0, max(hint, len(values)))
		}
		r.ids.Prefetch(len(values), func(i int) string { return values[i].ID })
		for _, o := range values {
			// The list's own kind, the recorded id string.
			p := o.principal(model.User)
			set.Members = append(set.Members, model.Ref{Kind: p.Kind, Value: r.addPrincipal(p).ID})
		}
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// decodeObjectPage is decodePage for a page of directory objects, its
// values' slice made once at the size of the page (at most one object per
// "{"), not grown as they are decoded. Only nil-ness could tell the two
// apart (a page without "value"), and objectSet only ranges over them.
// A page of plain objects, as member lists are, is read by plainPage.
func decodeObjectPage(body []byte) (page[objectJSON], error) {
	p := page[objectJSON]{Value: make([]objectJSON, 0, bytes.Count(body, []byte{'{'}))}
	if plainPage(body, &p) || decodeJSON(body, &p) == nil {
		return p, nil
	}
	return decodePage[objectJSON](body)
}

// reserve makes room for n more principals, so that recording a large
// group's members grows the principals and their index once, not step by
// step. It changes no content.
func (r *reader) reserve(n int) {
	r.obs.Principals = slices.Grow(r.obs.Principals, n)
	r.ids.Reserve(n)
}

// sourceOfAuthority reads onPremisesSyncBehavior for the groups the spec
// wants cloud-managed. It is read only then, because reading it needs
// Group-OnPremisesSyncBehavior.ReadWrite.All.
func (r *reader) sourceOfAuthority(ctx context.Context, managed map[string]*model.Group) error {
	var items []batchItem
	var owners []*model.Group
	for _, g := range r.obs.Groups {
		if dg := managed[g.ID]; dg.CloudManaged != nil && *dg.CloudManaged {
			items = append(items, batchItem{Method: "GET", URL: fmt.Sprintf("/groups/%s/onPremisesSyncBehavior?$select=isCloudManaged", url.PathEscape(g.ID))})
			owners = append(owners, g)
		}
	}
	if len(items) == 0 {
		return nil
	}
	// onPremisesSyncBehavior is documented on beta only (its schema is in the
	// v1.0 metadata, but no v1.0 page describes it), so it is read there.
	results, err := r.c.batchAt(ctx, "beta", items)
	if err != nil {
		return err
	}
	for i, res := range results {
		if err := res.err(&items[i]); err != nil {
			return err
		}
		var body struct {
			IsCloudManaged bool `json:"isCloudManaged"`
		}
		if err := json.Unmarshal(res.Body, &body); err != nil {
			return fmt.Errorf("graph: decode onPremisesSyncBehavior: %w", err)
		}
		v := body.IsCloudManaged
		owners[i].CloudManaged = &v
	}
	return nil
}

// resolve finds the directory objects behind the spec's member references
// that the member lists did not already show: users by UPN, then by mail, in
// `in (…)` filters batched 20 to a request; object ids through getByIds.
func (r *reader) resolve(ctx context.Context, desired *model.Tenant) error {
	// The names of the principals read so far, and of those found from
	// here on (addPrincipal adds them).
	r.names = model.NewIndex(len(r.obs.Principals)+len(r.obs.Principals)/8, r.nameOf)
	defer func() { r.names = nil }()
	handles := make([]uint32, 0, len(r.obs.Principals))
	for i := range r.obs.Principals {
		handles = r.nameHandles(handles, i)
	}
	r.names.AddAll(handles)
	spByName := map[string]bool{}
	agentByName := map[string]bool{} // known to be agent identities
	for _, p := range r.obs.Principals {
		if p.Kind.IsServicePrincipal() {
			spByName[strings.ToLower(p.DisplayName)] = true
		}
		if p.Kind == model.AgentIdentityKind {
			agentByName[strings.ToLower(p.DisplayName)] = true
		}
	}
	var users, sps []string
	ids := map[model.PrincipalKind][]string{}
	for _, g := range desired.Groups {
		for _, set := range []*model.MemberSet{g.Members, g.Owners} {
			if set == nil {
				continue
			}
			for i, ref := range set.Members {
				if i%lookAhead == 0 {
					refs := set.Members[i:min(len(set.Members), i+lookAhead)]
					r.names.Prefetch(len(refs), func(j int) string { return refs[j].Value })
				}
				switch {
				case ref.IsID():
					if !r.knows(strings.ToLower(ref.Value)) {
						ids[ref.Kind] = append(ids[ref.Kind], strings.ToLower(ref.Value))
					}
				case ref.Kind == model.User && !r.named(ref.Value):
					users = append(users, ref.Value)
				case ref.Kind == model.ServicePrincipal && !spByName[strings.ToLower(ref.Value)]:
					// Owners name service principals by display name too.
					sps = append(sps, ref.Value)
				}
			}
		}
	}
	var spIDs []string // assignment targets by object id or appId
	for _, ref := range emUserRefs(desired) {
		if !ref.Kind.IsServicePrincipal() {
			continue
		}
		switch {
		case ref.IsID():
			if !r.knows(strings.ToLower(ref.Value)) {
				spIDs = append(spIDs, strings.ToLower(ref.Value))
			}
		case !spByName[strings.ToLower(ref.Value)],
			// An assignment's target says only "servicePrincipal": the
			// object's own listing tells an agent identity apart.
			ref.Kind == model.AgentIdentityKind && !agentByName[strings.ToLower(ref.Value)]:
			sps = append(sps, ref.Value)
		}
	}
	for _, ref := range append(emUserRefs(desired), agentRefs(desired)...) {
		if ref.Kind != model.User {
			continue
		}
		switch {
		case ref.IsID():
			if !r.knows(strings.ToLower(ref.Value)) {
				ids[model.User] = append(ids[model.User], strings.ToLower(ref.Value))
			}
		case !r.named(ref.Value):
			users = append(users, ref.Value)
		}
	}
	users = uniqueFold(users)
	if u := r.currentUsers(); u != nil && len(users) > 0 {
		users = r.fromUserDelta(u, users)
	}
	if len(users) > maxInValues*maxBatch {
		listed, err := r.listUsers(ctx, users)
		if err != nil {
			return err
		}
		if listed {
			users = slices.DeleteFunc(users, r.named)
		}
	}
	for _, prop := range []string{"userPrincipalName", "mail"} {
		if len(users) == 0 {
			break
		}
		if err := r.lookUp(ctx, "/users?", filterQuerySeq(prop, users, userSelect), model.User, nil); err != nil {
			return err
		}
		users = slices.DeleteFunc(users, r.named)
	}
	// Object ids are looked up in the collection of the kind the spec names
	// (group ids were read with the groups). directoryObjects/getByIds would
	// need Directory.Read.All; these filters need only the read permissions
	// plan already has.
	if err := r.lookUp(ctx, "/users?", filterQuerySeq("id", uniqueFold(ids[model.User]), userSelect), model.User, nil); err != nil {
		return err
	}
	const spSelect = "id,appId,displayName"
	if err := r.lookUp(ctx, "/servicePrincipals?", filterQuerySeq("id", uniqueFold(append(ids[model.ServicePrincipal], spIDs...)), spSelect), model.ServicePrincipal, nil); err != nil {
		return err
	}
	// A GUID an assignment names may be an appId as well.
	spIDs = slices.DeleteFunc(uniqueFold(spIDs), func(id string) bool { return r.knows(id) })
	if err := r.lookUp(ctx, "/servicePrincipals?", filterQuerySeq("appId", spIDs, spSelect), model.ServicePrincipal, nil); err != nil {
		return err
	}
	return r.lookUp(ctx, "/servicePrincipals?", filterQuerySeq("displayName", uniqueFold(sps), spSelect), model.ServicePrincipal, nil)
}

// listUsers reads the tenant's users, 999 a page, instead of looking the
// spec's up 15 at a time in $batch calls of 20, when that costs fewer
// requests (and so fewer resource units and round trips): a spec that
// names most of the tenant, as a first apply does. The
// first page asks for @odata.count (an advanced query: ConsistencyLevel:
// eventual) and so says which costs less; when look-ups do, listed is
// false and that page is all it cost. Only the users the spec names, by
// userPrincipalName or mail, are recorded.
func (r *reader) listUsers(ctx context.Context, users []string) (listed bool, err error) {
	headers := map[string]string{"ConsistencyLevel": "eventual"}
	resp, err := r.c.send(ctx, abs.GET, "/users?$select=id&$top=1&$count=true", nil, headers)
	if err != nil {
		return false, err
	}
	var head struct {
		Count *int `json:"@odata.count"`
	}
	if json.Unmarshal(resp.Body, &head) != nil || head.Count == nil {
		return false, nil
	}
	// The users are listed in partitions by the leading characters of
	// userPrincipalName, as many as half the tenant's pages and at most a
	// $batch call's worth (userPartitions), each a chain of pages; the
	// chains share $batch calls. At worst (every user in one partition)
	// that lists the tenant, a page per resource unit: list only when that
	// costs fewer resource units than the look-ups, and the chains, split
	// evenly, no more requests than the look-ups' calls (at a tie the
	// resource units decide, as Graph's throttling counts them: 500 names
	// in a tenant of 1,000 are 2 pages, not 34 look-ups).
	pages, lookUps := (*head.Count+maxPage-1)/maxPage, (len(users)+maxInValues-1)/maxInValues
	parts := min(maxBatch, max(1, (pages+1)/2))
	if pages >= lookUps || (pages+parts-1)/parts > (lookUps+maxBatch-1)/maxBatch {
		return false, nil
	}
	want := make(map[string]bool, len(users))
	for _, u := range users {
		want[strings.ToLower(u)] = true
	}
	// As the look-ups do, a name matches by userPrincipalName first, and by
	// mail only when no user has it as userPrincipalName.
	var byMail []objectJSON
	record := func(values []objectJSON) {
		for _, o := range values {
			if want[strings.ToLower(o.UserPrincipalName)] {
				r.addPrincipal(o.principal(model.User))
			} else if want[strings.ToLower(o.Mail)] {
				byMail = append(byMail, o)
			}
		}
	}
	// A name the partitions miss (a mail whose user's userPrincipalName
	// starts otherwise) is looked up after, as the caller looks up every
	// name not found.
	var items []batchItem
	for _, prefix := range userPartitions(users, parts) {
		items = append(items, batchItem{Method: "GET", URL: "/users?$filter=" + escape("startswith(userPrincipalName,"+quote(prefix)+")") + "&$select=" + userSelect + fmt.Sprintf("&$top=%d", maxPage)})
	}
	err = r.list(ctx, items, func(body []byte) error {
		return eachPage(ctx, r.c, body, nil, decodeObjectPage, record)
	})
	for _, o := range byMail {
		if !r.named(o.Mail) {
			r.addPrincipal(o.principal(model.User))
		}
	}
	return err == nil, err
}

// lookUpWindow is how many look-up queries resolve sends before it reads
// their answers: 50 $batch calls, enough to keep Concurrency requests
// going, and a bound on the requests and answers held at once however many
// references a spec has (a million CSV rows are 66,667 queries per
// property).
const lookUpWindow = 50 * maxBatch

// lookUp runs the queries against collection (a path ending in "?") in
// $batch calls, lookUpWindow queries at a time, and records every object
// they return as principals does.
func (r *reader) lookUp(ctx context.Context, collection string, queries iter.Seq[string], kind model.PrincipalKind, seen func(model.Principal)) error {
	items := make([]batchItem, 0, lookUpWindow)
	for q := range queries {
		items = append(items, batchItem{Method: "GET", URL: collection + q})
		if len(items) == lookUpWindow {
			if err := r.principals(ctx, items, kind, seen); err != nil {
				return err
			}
			items = items[:0] // the answers are read: nothing refers to these items now
		}
	}
	return r.principals(ctx, items, kind, seen)
}

// principals runs look-up queries and records every object they return.
func (r *reader) principals(ctx context.Context, items []batchItem, kind model.PrincipalKind, seen func(model.Principal)) error {
	return r.list(ctx, items, func(body []byte) error {
		return eachPage(ctx, r.c, body, nil, decodeObjectPage, func(values []objectJSON) {
			for _, o := range values {
				p := o.principal(kind)
				r.addPrincipal(p)
				if seen != nil {
					seen(p)
				}
			}
		})
	})
}

// list runs GET items in $batch calls and hands each successful first page
// to fn, in item order.
func (r *reader) list(ctx context.Context, items []batchItem, fn func(body []byte) error) error {
	return r.listAt(ctx, "v1.0", items, fn)
}

// listAt is list against one API version.
func (r *reader) listAt(ctx context.Context, version string, items []batchItem, fn func(body []byte) error) error {
	q := reads{version: version}
	for _, it := range items {
		q.add(it.URL, fn)
	}
	return r.run(ctx, &q)
}

// reads are GETs of different kinds that need nothing from each other, each
// with what to do with its first page: run sends them in the same $batch
// calls, so they cost one round trip together, not one each.
type reads struct {
	version string // "" is v1.0
	items   []batchItem
	fns     []func(body []byte) error
	// firstOnly marks the reads whose later pages are not wanted (addFirst).
	firstOnly []bool
}

func (q *reads) add(url string, fn func(body []byte) error) {
	q.items = append(q.items, batchItem{Method: "GET", URL: url})
	q.fns = append(q.fns, fn)
	q.firstOnly = append(q.firstOnly, false)
}

// addFirst adds a read of which only the first page is wanted: its later
// pages are not fetched ahead.
func (q *reads) addFirst(url string, fn func(body []byte) error) {
	q.add(url, fn)
	q.firstOnly[len(q.firstOnly)-1] = true
}

// run sends q's reads and hands each successful first page to its fn, in
// the order they were added; the first failure ends it.
func (r *reader) run(ctx context.Context, q *reads) error {
	if len(q.items) == 0 {
		return nil
	}
	results, err := r.c.batchAt(ctx, cmp.Or(q.version, "v1.0"), q.items)
	if err != nil {
		return err
	}
	// The lists' later pages are fetched at once, while fns take them in
	// order (prefetch.go).
	firsts := make([][]byte, 0, len(results))
	for i := range results {
		if results[i].Status < 400 && !q.firstOnly[i] {
			firsts = append(firsts, results[i].Body)
		}
	}
	defer r.c.pages.follow(ctx, r.c, firsts, nil)()
	for i := range results {
		if err := results[i].err(&q.items[i]); err != nil {
			return err
		}
		if err := q.fns[i](results[i].Body); err != nil {
			return err
		}
	}
	return nil
}

// filterQueries builds the query strings that look values up by prop:
// "$filter=prop in ('a','b')&$select=…&$top=999", each with at most 15
// values (Graph's limit) and at most maxFilterLen encoded characters.
func filterQueries(prop string, values []string, sel string) []string {
	return slices.Collect(filterQuerySeq(prop, values, sel))
}

// filterQuerySeq yields filterQueries' queries one by one, so that looking
// up a million users never holds all their queries. Each value is encoded
// once to measure it: escaping works character by character, so a filter's
// encoded length is the sum of its parts'.
func filterQuerySeq(prop string, values []string, sel string) iter.Seq[string] {
	return func(yield func(string) bool) {
		build := func(vals []string) string {
			quoted := make([]string, len(vals))
			for i, v := range vals {
				quoted[i] = quote(v)
			}
			filter := fmt.Sprintf("%s in (%s)", prop, strings.Join(quoted, ","))
			if len(vals) == 1 {
				filter = fmt.Sprintf("%s eq %s", prop, quoted[0])
			}
			return "$filter=" + escape(filter) + "&$select=" + sel + fmt.Sprintf("&$top=%d", maxPage)
		}
		// The encoded length of "prop in (v1,…,vn)" is open + the values'
		// + (n-1) separators + close.
		open, sep, close := len(escape(prop+" in (")), len(escape(",")), len(escape(")"))
		var cur []string
		n := 0 // encoded length of cur's values and separators
		for _, v := range values {
			l := quotedEscapedLen(v)
			if len(cur) == maxInValues || (len(cur) > 0 && open+n+sep+l+close > maxFilterLen) {
				if !yield(build(cur)) {
					return
				}
				cur, n = cur[:0], 0
			}
			if len(cur) > 0 {
				n += sep
			}
			n += l
			cur = append(cur, v)
		}
		if len(cur) > 0 {
			yield(build(cur))
		}
	}
}

// quotedEscapedLen is len(escape(quote(v))) without building either:
// url.QueryEscape keeps ASCII letters, digits and -_.~ and writes every
// other byte as three (%XX, or + for a space, which escape makes %20);
// quote adds a quote on each side and doubles the quotes inside.
func quotedEscapedLen(v string) int {
	n := 6 + 3*strings.Count(v, "'")
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			n++
		default:
			n += 3
		}
	}
	return n
}

// quote makes an OData string literal.
func quote(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// escape percent-encodes a query value, spaces as %20.
func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// uniqueFold removes case-insensitive duplicates, keeping first spellings,
// and sorts the result so requests are deterministic. It sorts in place of
// a set of lower-cased keys: the user references of a million CSV rows are
// not copied again.
func uniqueFold(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, model.CompareFold) // the first spelling stays first
	return slices.CompactFunc(out, func(a, b string) bool { return model.CompareFold(a, b) == 0 })
}

// userPartitions groups names (users' userPrincipalNames or mails) by
// their leading characters into at most n groups (or one a first
// character, when those are more) and returns each group's prefix,
// lower-cased, which every name of its group starts with; groups of fewer
// than 15 names are left out, to be looked up. It starts from the first character and
// lengthens the prefix of the largest group while that splits it or narrows
// it (all of its names share a longer prefix), so the partitions list as
// few of the tenant's users beyond the names as the names allow.
func userPartitions(names []string, n int) []string {
	lower := make([]string, 0, len(names))
	for _, name := range names {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			lower = append(lower, name)
		}
	}
	slices.Sort(lower)
	lower = slices.Compact(lower)
	type group struct {
		prefix string
		names  []string // sorted: the groups of a split are runs
		final  bool     // a split would leave most of its names to look-ups
	}
	split := func(names []string, runes int) []group {
		var out []group
		for _, name := range names {
			p := name
			if i := runeOffset(name, runes); i >= 0 {
				p = name[:i]
			}
			if len(out) == 0 || out[len(out)-1].prefix != p {
				out = append(out, group{prefix: p})
			}
			out[len(out)-1].names = append(out[len(out)-1].names, name)
		}
		return out
	}
	// A group of fewer names than a look-up holds is left to the look-ups:
	// its partition would cost a page at least, for less.
	worth := func(gs []group) []group {
		return slices.DeleteFunc(gs, func(g group) bool { return len(g.names) < maxInValues })
	}
	groups := worth(split(lower, 1))
	for len(groups) < n {
		best := -1
		for i, g := range groups {
			longer := slices.ContainsFunc(g.names, func(name string) bool { return len(name) > len(g.prefix) })
			if !g.final && longer && (best < 0 || len(g.names) > len(groups[best].names)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		g := groups[best]
		parts := worth(split(g.names, utf8.RuneCountInString(g.prefix)+1))
		kept := 0
		for _, p := range parts {
			kept += len(p.names)
		}
		switch {
		case 2*kept < len(g.names):
			groups[best].final = true
		case len(groups)-1+len(parts) > n:
			groups[best].final = true // (a smaller group may still split)
		default:
			groups = slices.Replace(groups, best, best+1, parts...)
		}
	}
	// Each partition is narrowed to what all its names share.
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = commonPrefix(g.names[0], g.names[len(g.names)-1])
	}
	return out
}

// commonPrefix is the longest prefix, in whole runes, of a and b.
func commonPrefix(a, b string) string {
	i := 0
	for i < len(a) {
		_, n := utf8.DecodeRuneInString(a[i:])
		if i+n > len(b) || a[i:i+n] != b[i:i+n] {
			break
		}
		i += n
	}
	return a[:i]
}

// runeOffset is the byte offset of s's rune number i (from 0), or -1 when
// s has no more than i runes.
func runeOffset(s string, i int) int {
	for off := range s {
		if i == 0 {
			return off
		}
		i--
	}
	return -1
}
