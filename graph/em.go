package graph

// Entitlement management: reading catalogs, access packages, policies and
// assignments, and the writes appliers make. Requests are raw JSON through
// the same adapter: policies are written with PUT of a whole merged body,
// which is exact only in Graph's own JSON.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/entrasync/entrasync/model"
)

const em = "/identityGovernance/entitlementManagement"

type catalogJSON struct {
	ID                  string  `json:"id"`
	DisplayName         string  `json:"displayName"`
	Description         *string `json:"description"`
	IsExternallyVisible *bool   `json:"isExternallyVisible"`
	State               *string `json:"state"`
}

type resourceJSON struct {
	ID           string `json:"id"`
	OriginID     string `json:"originId"`
	OriginSystem string `json:"originSystem"`
	// Roles are read for SharePoint sites, whose roles specs name by
	// display name.
	Roles []struct {
		OriginID    string `json:"originId"`
		DisplayName string `json:"displayName"`
	} `json:"roles"`
}

type packageJSON struct {
	ID                 string  `json:"id"`
	DisplayName        string  `json:"displayName"`
	Description        *string `json:"description"`
	IsHidden           *bool   `json:"isHidden"`
	ResourceRoleScopes []struct {
		ID   string `json:"id"`
		Role struct {
			OriginID     string `json:"originId"`
			OriginSystem string `json:"originSystem"`
		} `json:"role"`
		Scope struct {
			OriginID string `json:"originId"`
		} `json:"scope"`
	} `json:"resourceRoleScopes"`
	// Catalog is expanded only in the tenant-wide list.
	Catalog struct {
		ID string `json:"id"`
	} `json:"catalog"`
}

type assignmentJSON struct {
	ID               string `json:"id"`
	State            string `json:"state"`
	AssignmentPolicy struct {
		ID string `json:"id"`
	} `json:"assignmentPolicy"`
	// AccessPackage is expanded only in the tenant-wide list.
	AccessPackage struct {
		ID string `json:"id"`
	} `json:"accessPackage"`
	// Schedule.StartDateTime is when the assignment took effect (was
	// delivered); null while it is being delivered.
	Schedule struct {
		StartDateTime *time.Time `json:"startDateTime"`
	} `json:"schedule"`
	Target struct {
		ObjectID      string `json:"objectId"`
		PrincipalName string `json:"principalName"`
		Email         string `json:"email"`
		DisplayName   string `json:"displayName"`
		SubjectType   string `json:"subjectType"`
	} `json:"target"`
}

// readEM reads the catalogs and access packages desired names, and what
// their managed parts need: catalog resources, role scopes, policies,
// assignments, and the members of groups that deliver access (for delivery
// repair) or that source assignments.
func (r *reader) readEM(ctx context.Context, desired *model.Tenant) error {
	names := map[string]bool{}
	for _, c := range desired.Catalogs {
		names[c.DisplayName] = true
	}
	for _, p := range desired.AccessPackages {
		names[p.Catalog] = true
	}
	if len(names) == 0 {
		return nil
	}
	// The tenant-wide pages need no catalog's id: they go out beside the
	// catalogs' look-up.
	probes := r.startProbes(ctx, desired, len(names))
	defer probes() // a read that failed still waits for its probes
	listed, err := r.listCatalogs(ctx, names)
	if err != nil {
		return err
	}
	if !listed {
		var items []batchItem
		for n := range names {
			items = append(items, batchItem{Method: "GET", URL: em + "/catalogs?$filter=" + escape("displayName eq "+quote(n)) + "&$select=" + catalogSelect})
		}
		err := r.list(ctx, items, func(body []byte) error {
			all, err := listAll[catalogJSON](ctx, r.c, body, nil)
			r.addCatalogs(all, nil)
			return err
		})
		if err != nil {
			return err
		}
	}
	// Resources of every catalog found (needed for roles as well), the
	// custom extensions of the catalogs whose extensions the spec declares
	// or whose policies run some, and the packages of those catalogs with
	// their role scopes: all in the same $batch calls.
	var q reads
	extensions := extensionCatalogs(desired)
	for _, c := range r.obs.Catalogs {
		q.add(fmt.Sprintf("%s/catalogs/%s/resources?$select=id,originId,originSystem&$expand=roles", em, url.PathEscape(c.ID)), func(body []byte) error {
			return r.catalogResources(ctx, c, body)
		})
		if extensions[c.Key()] {
			q.add(fmt.Sprintf("%s/catalogs/%s/customWorkflowExtensions", em, url.PathEscape(c.ID)), func(body []byte) error {
				all, err := listAll[map[string]any](ctx, r.c, body, nil)
				xs := []*model.CustomExtension{}
				for _, b := range all {
					id, _ := b["id"].(string)
					name, _ := b["displayName"].(string)
					xs = append(xs, &model.CustomExtension{ID: strings.ToLower(id), DisplayName: name, Body: b})
				}
				c.CustomExtensions = &xs
				return err
			})
		}
	}
	// They need only the catalogs' ids, so they go out now, while the
	// tenant-wide pages are still being decoded: they meet the groups'
	// members in the round after the look-ups, not a round of their own.
	// (The two write different fields of each catalog.)
	resources := make(chan error, 1)
	go func() { resources <- r.run(ctx, &q) }()
	// The packages: from the tenant-wide page, or one list per catalog.
	pr, err := probes()
	if err == nil && pr.packages == nil {
		var pq reads
		r.readPackages(ctx, &pq, r.obs.Catalogs)
		err = r.run(ctx, &pq)
	}
	if rerr := <-resources; err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	if pr.packages != nil {
		for _, c := range r.obs.Catalogs {
			r.addPackages(c, pr.packages[c.ID])
		}
	}
	return r.readPackageParts(ctx, desired, pr)
}

// What a package read selects and expands.
const (
	packageSelect = "id,displayName,description,isHidden"
	packageExpand = "resourceRoleScopes($expand=role,scope)"
)

// readPackages adds to q one package list per catalog.
func (r *reader) readPackages(ctx context.Context, q *reads, catalogs []*model.Catalog) {
	for _, c := range catalogs {
		q.add(em+"/accessPackages?$filter="+escape("catalog/id eq "+quote(c.ID))+"&$select="+packageSelect+"&$expand="+escape(packageExpand), func(body []byte) error {
			all, err := listAll[packageJSON](ctx, r.c, body, nil)
			r.addPackages(c, all)
			return err
		})
	}
}

const catalogSelect = "id,displayName,description,isExternallyVisible,state"

// catalogListMin is how many catalogs a spec names before they are looked
// for on the first page of the tenant's catalog list rather than one
// displayName filter each (see listCatalogs).
const catalogListMin = 3

// listCatalogs reads the catalogs names names from the first page of the
// tenant's catalog list, when the spec names enough of them for that to
// be cheaper: a tenant's catalogs are usually few, and one page that holds
// them all answers every name at once (with namesakes, and the absence of
// the rest). It reports false, having recorded nothing, when the spec
// names few catalogs or the tenant has more than one page of them: the
// names are then looked up one filter each, one request and one round
// more than otherwise, never a chain of pages.
func (r *reader) listCatalogs(ctx context.Context, names map[string]bool) (bool, error) {
	if len(names) < catalogListMin {
		return false, nil
	}
	var first page[catalogJSON]
	var q reads
	q.addFirst(em+"/catalogs?$select="+catalogSelect, func(body []byte) error {
		var err error
		first, err = decodePage[catalogJSON](body)
		return err
	})
	err := r.run(ctx, &q)
	if err != nil || first.NextLink != "" {
		return false, err
	}
	keys := map[string]bool{}
	for n := range names {
		keys[model.NameKey(n)] = true
	}
	r.addCatalogs(first.Value, keys)
	return true, nil
}

// addCatalogs records observed catalogs, those whose name key is in keys
// when keys is not nil.
func (r *reader) addCatalogs(all []catalogJSON, keys map[string]bool) {
	for _, cj := range all {
		c := &model.Catalog{ID: strings.ToLower(cj.ID), DisplayName: cj.DisplayName, Description: orEmpty(cj.Description),
			IsExternallyVisible: cj.IsExternallyVisible, State: cj.State}
		if keys == nil || keys[c.Key()] {
			r.obs.Catalogs = append(r.obs.Catalogs, c)
		}
	}
}

// catalogResources records a catalog's resources from the first page of
// their list.
func (r *reader) catalogResources(ctx context.Context, c *model.Catalog, body []byte) error {
	all, err := listAll[resourceJSON](ctx, r.c, body, nil)
	groups, apps, sites := []model.Ref{}, []model.Ref{}, []model.Ref{}
	c.ResourceIDs = map[string]string{}
	c.SiteRoles = map[string][]model.SiteRole{}
	for _, res := range all {
		oid := strings.ToLower(res.OriginID)
		switch res.OriginSystem {
		case "AadGroup":
			groups = append(groups, model.Ref{Kind: model.GroupKind, Value: oid})
		case "AadApplication":
			apps = append(apps, model.Ref{Kind: model.ServicePrincipal, Value: oid})
		case "SharePointOnline":
			oid = strings.TrimRight(res.OriginID, "/") // a URL: keep its case
			sites = append(sites, model.Ref{Kind: model.SiteKind, Value: oid})
			roles := []model.SiteRole{}
			for _, ro := range res.Roles {
				roles = append(roles, model.SiteRole{OriginID: ro.OriginID, DisplayName: ro.DisplayName})
			}
			c.SiteRoles[oid] = roles
		default:
			continue
		}
		c.ResourceIDs[oid] = res.ID
	}
	c.Groups, c.Applications, c.Sites = &groups, &apps, &sites
	return err
}

// addPackages records a catalog's packages, with their role scopes.
func (r *reader) addPackages(c *model.Catalog, all []packageJSON) {
	for _, pj := range all {
		p := &model.AccessPackage{ID: strings.ToLower(pj.ID), DisplayName: pj.DisplayName, Catalog: c.DisplayName, CatalogID: c.ID,
			Description: orEmpty(pj.Description), IsHidden: pj.IsHidden}
		roles := []model.RoleScope{}
		for _, rrs := range pj.ResourceRoleScopes {
			switch rrs.Role.OriginSystem {
			case "AadGroup":
				role, gid, _ := strings.Cut(rrs.Role.OriginID, "_")
				roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.GroupKind, Value: strings.ToLower(gid)}, Role: role, ID: rrs.ID})
			case "AadApplication":
				// An app role: the role's originId is the app role's id,
				// the scope's the service principal's.
				roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.ServicePrincipal, Value: strings.ToLower(rrs.Scope.OriginID)},
					Role: strings.ToLower(rrs.Role.OriginID), ID: rrs.ID})
			case "SharePointOnline":
				// A site role: the role's originId is the site group's
				// number, the scope's the site URL.
				roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.SiteKind, Value: strings.TrimRight(rrs.Scope.OriginID, "/")},
					Role: rrs.Role.OriginID, ID: rrs.ID})
			}
		}
		p.Roles = &roles
		r.obs.AccessPackages = append(r.obs.AccessPackages, p)
	}
}

// extensionCatalogs are the catalogs (by name key) whose custom extensions
// a plan needs: the spec declares some, or a policy of one of its packages
// runs some.
func extensionCatalogs(desired *model.Tenant) map[string]bool {
	out := map[string]bool{}
	for _, c := range desired.Catalogs {
		if c.CustomExtensions != nil {
			out[c.Key()] = true
		}
	}
	for _, p := range desired.AccessPackages {
		if p.Policies == nil {
			continue
		}
		for _, pol := range *p.Policies {
			if _, ok := pol.Body["customExtensionStageSettings"]; ok {
				out[model.NameKey(p.Catalog)] = true
			}
		}
	}
	return out
}

// readPackageParts reads policies and assignments of the observed packages
// whose parts the spec manages, and the group members delivery repair and
// group-sourced assignments need: from the tenant-wide pages pr holds, or
// one list per package.
func (r *reader) readPackageParts(ctx context.Context, desired *model.Tenant, pr emProbes) error {
	want := map[string]*model.AccessPackage{}
	for _, p := range desired.AccessPackages {
		want[p.Key()] = p
	}
	// Policies, incompatibilities and assignments need only the packages'
	// ids: they share $batch calls.
	var q reads
	for _, p := range r.obs.AccessPackages {
		dp := want[p.Key()]
		if dp == nil {
			continue
		}
		if needsPolicies(dp) {
			if pr.policies != nil {
				p.Policies = policyList(pr.policies[p.ID])
			} else {
				r.readPolicies(ctx, &q, p)
			}
		}
		if needsAssignments(dp, desired) {
			if pr.assignments != nil {
				r.recordAssignments(p, pr.assignments[p.ID])
			} else {
				r.readAssignments(ctx, &q, p)
			}
		}
	}
	r.readIncompatible(ctx, want, &q)
	return r.run(ctx, &q)
}

// needsPolicies reports whether a plan needs the live policies of package
// p. Managed roles need them too: a blocked permission under a policy that
// lets agents in is refused (ES202).
func needsPolicies(p *model.AccessPackage) bool {
	return p.Policies != nil || p.Assignments != nil || p.Absent || p.Roles != nil
}

// needsAssignments reports whether a plan needs the live assignments of
// package p. With protected principals, a package whose roles the spec
// manages is read for its assignees: removing a role takes their access.
func needsAssignments(p *model.AccessPackage, desired *model.Tenant) bool {
	return p.Assignments != nil || p.Absent || p.RepairDelivery || (p.Roles != nil && len(desired.Settings.Protected) > 0)
}

// emProbes are the first pages of the tenant-wide lists of packages (by
// catalog id), policies and assignments (by package id). A nil map is a
// list not read, or one with more than one page: its parts are then read
// one list per catalog or package, in the round they would have been
// anyway.
type emProbes struct {
	packages    map[string][]packageJSON
	policies    map[string][]map[string]any
	assignments map[string][]assignmentJSON
}

// firstPageBy groups the values of a tenant-wide list's first page by the
// id key gives each (values it gives "" are left out), lower-cased; nil
// when the list has more pages.
func firstPageBy[T any](body []byte, key func(T) string) (map[string][]T, error) {
	first, err := decodePage[T](body)
	if err != nil || first.NextLink != "" {
		return nil, err
	}
	out := map[string][]T{}
	for _, v := range first.Value {
		if id := strings.ToLower(key(v)); id != "" {
			out[id] = append(out[id], v)
		}
	}
	return out, nil
}

// policyPackage is the id of a policy's expanded package, which it takes
// out of the body: the body is then what a package's own list gives.
func policyPackage(b map[string]any) string {
	pkg, _ := b["accessPackage"].(map[string]any)
	id, _ := pkg["id"].(string)
	for k := range b {
		if k == "accessPackage" || strings.HasPrefix(k, "accessPackage@") {
			delete(b, k)
		}
	}
	return id
}

// startProbes sends, beside the catalogs' look-up, the tenant-wide list of
// each kind of which the spec needs two or more (probeEM): one request in
// place of one per catalog or package, and a round trip less, when the
// tenant's list fits a page. A longer list costs that one request more
// than the lists per catalog or package; its later pages are not fetched.
// catalogs is how many catalogs the spec names. The function returned
// waits for the pages; it may be called more than once.
func (r *reader) startProbes(ctx context.Context, desired *model.Tenant, catalogs int) func() (emProbes, error) {
	var pr emProbes
	var q reads
	policies, assignments := 0, 0
	for _, p := range desired.AccessPackages {
		if needsPolicies(p) {
			policies++
		}
		if needsAssignments(p, desired) {
			assignments++
		}
	}
	if r.probeEM(catalogs) {
		q.addFirst(em+"/accessPackages?$select="+packageSelect+"&$expand="+escape(packageExpand+",catalog"), func(body []byte) error {
			var err error
			pr.packages, err = firstPageBy(body, func(p packageJSON) string { return p.Catalog.ID })
			return err
		})
	}
	if r.probeEM(policies) {
		q.addFirst(em+"/assignmentPolicies?$expand="+escape("accessPackage,"+policyExpand), func(body []byte) error {
			var err error
			pr.policies, err = firstPageBy(body, policyPackage)
			return err
		})
	}
	if r.probeEM(assignments) {
		q.addFirst(em+"/assignments?$select="+assignmentSelect+"&$expand=target,assignmentPolicy,accessPackage"+fmt.Sprintf("&$top=%d", maxPage), func(body []byte) error {
			var err error
			pr.assignments, err = firstPageBy(body, func(a assignmentJSON) string { return a.AccessPackage.ID })
			return err
		})
	}
	if len(q.items) == 0 {
		return func() (emProbes, error) { return pr, nil }
	}
	// The pages are decoded into pr alone; nothing else of the reader is
	// touched until they are in.
	done := make(chan error, 1)
	go func() { done <- r.run(ctx, &q) }()
	return sync.OnceValues(func() (emProbes, error) {
		err := <-done
		return pr, err
	})
}

// policyExpand is what a policy read expands: questions is a contained
// navigation property, which only $expand shows; so are the stages'
// custom extensions, which a PUT must carry back.
const policyExpand = "questions,customExtensionStageSettings($expand=customExtension)"

// assignmentSelect is what an assignment read selects besides what it
// expands.
const assignmentSelect = "id,state,schedule"

// probeEM reports whether the parts n catalogs or packages need are read
// from the first page of a tenant-wide list rather than one list each: n
// is 2 or more, and the client may list the tenant's entitlement
// management (a catalog-scoped caller sees only part of it, and would take
// the rest for absent).
func (r *reader) probeEM(n int) bool {
	return n >= 2 && r.c.wholeEM.Load()
}

// readPolicies adds to q the read of a package's policies.
func (r *reader) readPolicies(ctx context.Context, q *reads, p *model.AccessPackage) {
	q.add(em+"/assignmentPolicies?$filter="+escape("accessPackage/id eq "+quote(p.ID))+"&$expand="+escape(policyExpand), func(body []byte) error {
		all, err := listAll[map[string]any](ctx, r.c, body, nil)
		p.Policies = policyList(all)
		return err
	})
}

// policyList is the model of policies read.
func policyList(all []map[string]any) *[]*model.Policy {
	pols := []*model.Policy{}
	for _, b := range all {
		id, _ := b["id"].(string)
		name, _ := b["displayName"].(string)
		pols = append(pols, &model.Policy{ID: strings.ToLower(id), DisplayName: name, Body: b})
	}
	return &pols
}

// readAssignments adds to q the read of a package's assignments. They may
// be thousands: they are asked for in pages as large as directory lists
// allow (the EM page size is not published; a service that caps it lower
// pages on).
func (r *reader) readAssignments(ctx context.Context, q *reads, p *model.AccessPackage) {
	q.add(em+"/assignments?$filter="+escape("accessPackage/id eq "+quote(p.ID))+"&$select="+assignmentSelect+"&$expand=target,assignmentPolicy"+fmt.Sprintf("&$top=%d", maxPage), func(body []byte) error {
		all, err := listAll[assignmentJSON](ctx, r.c, body, nil)
		r.recordAssignments(p, all)
		return err
	})
}

// recordAssignments records a package's assignments, and their targets as
// principals.
func (r *reader) recordAssignments(p *model.AccessPackage, all []assignmentJSON) {
	set := &model.AssignmentSet{Mode: model.Authoritative, Targets: []model.Ref{}}
	for _, a := range all {
		tid := strings.ToLower(a.Target.ObjectID)
		live := model.Assignment{ID: a.ID, TargetID: tid, PolicyID: strings.ToLower(a.AssignmentPolicy.ID), State: strings.ToLower(a.State)}
		if a.Schedule.StartDateTime != nil {
			live.Since = a.Schedule.StartDateTime.UTC()
		}
		set.Live = append(set.Live, live)
		if tid != "" {
			p := model.Principal{ID: tid, Kind: model.User, DisplayName: a.Target.DisplayName, UserPrincipalName: a.Target.PrincipalName, Mail: a.Target.Email}
			if strings.EqualFold(a.Target.SubjectType, "servicePrincipal") {
				// A service principal's principalName is no UPN
				// (graphsim gives its appId, which for an agent
				// identity is its object id): name it by display name.
				p.Kind, p.UserPrincipalName = model.ServicePrincipal, ""
			}
			r.addPrincipal(p)
		}
	}
	p.Assignments = set
}

// readGroupMembers reads the members of groups that are not managed but
// whose members the plan needs, into observed GroupMembers. The groups in
// beta are read from beta: v1.0 member lists leave service principals (and
// so agent identities) out, and a package assigned to them would otherwise
// look undelivered forever.
func (r *reader) readGroupMembers(ctx context.Context, ids []string, beta map[string]bool) error {
	if r.obs.GroupMembers == nil {
		r.obs.GroupMembers = map[string][]string{}
	}
	var items, betaItems []batchItem
	var owners, betaOwners []string
	read := map[string]*model.MemberSet{} // members read with the managed groups
	for _, g := range r.obs.Groups {
		if g.Members != nil {
			read[g.ID] = g.Members
		}
	}
	for _, id := range uniqueFold(ids) {
		if _, done := r.obs.GroupMembers[id]; done {
			continue
		}
		if set := read[id]; set != nil && !beta[id] {
			// A managed group's members were read with it (from v1.0, or
			// from beta, which lists more): they are not read twice.
			ids := make([]string, len(set.Members))
			for i, m := range set.Members {
				ids[i] = m.Value
			}
			r.obs.GroupMembers[id] = ids
			continue
		}
		item := batchItem{Method: "GET", URL: fmt.Sprintf(membersEndpoint+"?$select=%s&$top=%d", url.PathEscape(id), memberSelect, maxPage)}
		if beta[id] {
			betaItems, betaOwners = append(betaItems, item), append(betaOwners, id)
			continue
		}
		items, owners = append(items, item), append(owners, id)
	}
	record := func(owners []string) func(body []byte) error {
		i := 0
		return func(body []byte) error {
			gid := owners[i]
			i++
			all, err := listAll[objectJSON](ctx, r.c, body, nil)
			ids := []string{}
			for _, o := range all {
				p := o.principal(model.User)
				r.addPrincipal(p)
				ids = append(ids, p.ID)
			}
			r.obs.GroupMembers[gid] = ids
			return err
		}
	}
	if r.delta != nil && len(owners) > 0 {
		// Through delta, as the managed groups' sets are (the v1.0 ones:
		// delta lists no service principals).
		if err := r.deltaGroupMembers(ctx, owners); err != nil {
			return err
		}
		items, owners = nil, nil
	}
	if err := r.list(ctx, items, record(owners)); err != nil {
		return err
	}
	return r.listAt(ctx, "beta", betaItems, record(betaOwners))
}

// deltaGroupMembers records the members of groups the spec does not manage
// (ids) from the delta state and its rounds, as deltaMembers serves managed
// sets: a group the state cannot serve is listed in full, and seeds it.
func (r *reader) deltaGroupMembers(ctx context.Context, ids []string) error {
	f := newReader(r.c, &model.Tenant{}, r.delta)
	managed := make(map[string]*model.Group, len(ids))
	for _, id := range ids {
		f.obs.Groups = append(f.obs.Groups, &model.Group{ID: id})
		managed[id] = &model.Group{ID: id, Members: &model.MemberSet{Mode: model.Authoritative}}
	}
	if err := f.deltaMembers(ctx, managed); err != nil {
		return err
	}
	for _, g := range f.obs.Groups {
		list := []string{}
		if g.Members != nil {
			for _, m := range g.Members.Members {
				list = append(list, m.Value)
			}
		}
		r.obs.GroupMembers[g.ID] = list
	}
	f.obs.Groups = nil // not groups of the spec's
	r.merge(f.obs)
	return nil
}

func orEmpty(s *string) *string {
	v := ""
	if s != nil {
		v = *s
	}
	return &v
}

// ErrMaybeCreated says a create's answer was lost: the object may exist.
// The caller looks it up before creating again.
var ErrMaybeCreated = errors.New("the create request got no answer; the object may have been created")

// create POSTs a non-idempotent create and returns the created object's id.
func (c *Client) create(ctx context.Context, path string, body any) (map[string]any, error) {
	resp, err := c.send(createOnce(ctx), abs.POST, path, body, nil)
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Status != 500 && ge.Status != 502 && ge.Status != 504 {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrMaybeCreated, err)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("graph: decode %s answer: %w", path, err)
	}
	return out, nil
}

// FindCatalog returns the id of the catalog with that display name, "" if
// none is visible.
func (c *Client) FindCatalog(ctx context.Context, name string) (string, error) {
	return c.findOne(ctx, em+"/catalogs?$filter="+escape("displayName eq "+quote(name))+"&$select=id,displayName", name)
}

// FindPackage returns the id of the package with that name in a catalog.
func (c *Client) FindPackage(ctx context.Context, catalogID, name string) (string, error) {
	return c.findOne(ctx, em+"/accessPackages?$filter="+escape("catalog/id eq "+quote(catalogID))+"&$select=id,displayName", name)
}

// FindPolicy returns the id of the policy with that name on a package.
func (c *Client) FindPolicy(ctx context.Context, packageID, name string) (string, error) {
	return c.findOne(ctx, em+"/assignmentPolicies?$filter="+escape("accessPackage/id eq "+quote(packageID))+"&$select=id,displayName", name)
}

// Namesake is one of several live objects that share a display name.
type Namesake struct {
	ID      string
	Created time.Time
}

// CatalogsNamed lists the catalogs with that display name, oldest first.
func (c *Client) CatalogsNamed(ctx context.Context, name string) ([]Namesake, error) {
	return c.namesakes(ctx, em+"/catalogs?$filter="+escape("displayName eq "+quote(name))+"&$select=id,displayName,createdDateTime", name)
}

// PackagesNamed lists the packages of a catalog with that name, oldest first.
func (c *Client) PackagesNamed(ctx context.Context, catalogID, name string) ([]Namesake, error) {
	return c.namesakes(ctx, em+"/accessPackages?$filter="+escape("catalog/id eq "+quote(catalogID))+"&$select=id,displayName,createdDateTime", name)
}

// PoliciesNamed lists the policies of a package with that name, oldest first.
func (c *Client) PoliciesNamed(ctx context.Context, packageID, name string) ([]Namesake, error) {
	return c.namesakes(ctx, em+"/assignmentPolicies?$filter="+escape("accessPackage/id eq "+quote(packageID))+"&$select=id,displayName,createdDateTime", name)
}

// namesakes lists the objects at path named name, oldest first (ties by
// id, so that every run picks the same one).
func (c *Client) namesakes(ctx context.Context, path, name string) ([]Namesake, error) {
	resp, err := c.send(ctx, abs.GET, path, nil, nil)
	if err != nil {
		return nil, err
	}
	type named struct {
		ID          string     `json:"id"`
		DisplayName string     `json:"displayName"`
		Created     *time.Time `json:"createdDateTime"`
	}
	all, err := listAll[named](ctx, c, resp.Body, nil)
	if err != nil {
		return nil, err
	}
	var out []Namesake
	for _, o := range all {
		if model.NameKey(o.DisplayName) == model.NameKey(name) {
			n := Namesake{ID: strings.ToLower(o.ID)}
			if o.Created != nil {
				n.Created = *o.Created
			}
			out = append(out, n)
		}
	}
	sortNamesakes(out)
	return out, nil
}

// sortNamesakes puts the oldest first, ties by id, so that every run
// keeps the same one.
func sortNamesakes(ns []Namesake) {
	slices.SortFunc(ns, func(a, b Namesake) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func (c *Client) findOne(ctx context.Context, path, name string) (string, error) {
	resp, err := c.send(ctx, abs.GET, path, nil, nil)
	if err != nil {
		return "", err
	}
	all, err := listAll[catalogJSON](ctx, c, resp.Body, nil)
	if err != nil {
		return "", err
	}
	for _, o := range all {
		if model.NameKey(o.DisplayName) == model.NameKey(name) {
			return strings.ToLower(o.ID), nil
		}
	}
	return "", nil
}

// CreateCatalog creates a catalog; it returns ErrMaybeCreated when the
// answer was lost.
func (c *Client) CreateCatalog(ctx context.Context, body map[string]any) (string, error) {
	out, err := c.create(ctx, em+"/catalogs", body)
	return idOf(out), err
}

// UpdateCatalog PATCHes a catalog.
func (c *Client) UpdateCatalog(ctx context.Context, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PATCH, em+"/catalogs/"+url.PathEscape(id), body, nil)
	return err
}

// DeleteCatalog deletes a catalog; one already gone is a success.
func (c *Client) DeleteCatalog(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, em+"/catalogs/"+url.PathEscape(id), nil, nil))
}

// FindCustomExtension returns the id of the catalog's custom extension with
// that display name ("" when there is none). The collection is small (a
// catalog's callouts) and is listed whole.
func (c *Client) FindCustomExtension(ctx context.Context, catalogID, name string) (string, error) {
	return c.findOne(ctx, em+"/catalogs/"+url.PathEscape(catalogID)+"/customWorkflowExtensions", name)
}

// CustomExtensionsNamed lists the catalog's extensions with that name,
// oldest first.
func (c *Client) CustomExtensionsNamed(ctx context.Context, catalogID, name string) ([]Namesake, error) {
	return c.namesakes(ctx, em+"/catalogs/"+url.PathEscape(catalogID)+"/customWorkflowExtensions", name)
}

// CreateCustomExtension creates a custom workflow extension in a catalog;
// it returns ErrMaybeCreated when the answer was lost.
func (c *Client) CreateCustomExtension(ctx context.Context, catalogID string, body map[string]any) (string, error) {
	out, err := c.create(ctx, em+"/catalogs/"+url.PathEscape(catalogID)+"/customWorkflowExtensions", body)
	return idOf(out), err
}

// UpdateCustomExtension writes the properties of body to an extension
// (Graph's update is a PUT of the properties sent, @odata.type included).
func (c *Client) UpdateCustomExtension(ctx context.Context, catalogID, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PUT, em+"/catalogs/"+url.PathEscape(catalogID)+"/customWorkflowExtensions/"+url.PathEscape(id), body, nil)
	return err
}

// DeleteCustomExtension deletes an extension; one already gone is a
// success.
func (c *Client) DeleteCustomExtension(ctx context.Context, catalogID, id string) error {
	return gone(c.send(ctx, abs.DELETE, em+"/catalogs/"+url.PathEscape(catalogID)+"/customWorkflowExtensions/"+url.PathEscape(id), nil, nil))
}

// AddCatalogResource adds a group (originSystem AadGroup, originId the
// group's id) or an application (AadApplication, the service principal's
// id) to a catalog (adminAdd).
//
// Graph answers 201 also when it could not add the resource, with state
// deliveryFailed in the body (a group created moments ago may not be
// onboardable yet); that is reported as a 404 so that the applier waits and
// tries again. A resource already in the catalog (a retry after a lost
// answer) is a success.
func (c *Client) AddCatalogResource(ctx context.Context, catalogID, originSystem, originID string) error {
	resp, err := c.send(ctx, abs.POST, em+"/resourceRequests", map[string]any{
		"requestType": "adminAdd",
		"resource":    map[string]any{"originId": originID, "originSystem": originSystem},
		"catalog":     map[string]any{"id": catalogID},
	}, nil)
	if isAlready(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out struct {
		State string `json:"state"`
	}
	if json.Unmarshal(resp.Body, &out) == nil && strings.EqualFold(out.State, "deliveryFailed") {
		return &Error{Method: "POST", Path: em + "/resourceRequests", Status: 404, Code: "deliveryFailed",
			Message: fmt.Sprintf("%s %s could not be added to catalog %s (state deliveryFailed)", originSystem, originID, catalogID), RequestID: resp.Header.Get("request-id")}
	}
	return nil
}

// isAlready recognises a 400 that says the object or reference is already
// there. Graph has no code for it; message text is the last resort.
func isAlready(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 400 && strings.Contains(strings.ToLower(e.Message), "already")
}

// RemoveCatalogResource removes a resource from a catalog (adminRemove).
func (c *Client) RemoveCatalogResource(ctx context.Context, catalogID, resourceID string) error {
	return gone(c.send(ctx, abs.POST, em+"/resourceRequests", map[string]any{
		"requestType": "adminRemove",
		"resource":    map[string]any{"id": resourceID},
		"catalog":     map[string]any{"id": catalogID},
	}, nil))
}

// CatalogRole returns what a role scope needs to name a resource's role in
// a catalog: the resource's id, and the role's and the root scope's ids.
// originID is the group's or service principal's id; roleOriginID the
// role's originId (Member_<groupId>, or the app role's id).
func (c *Client) CatalogRole(ctx context.Context, catalogID, originID, roleOriginID string) (RoleScope, error) {
	resp, err := c.send(ctx, abs.GET, fmt.Sprintf("%s/catalogs/%s/resources?$filter=%s&$expand=roles,scopes", em, url.PathEscape(catalogID), escape("originId eq "+quote(originID))), nil, nil)
	if err != nil {
		return RoleScope{}, err
	}
	var out struct {
		Value []struct {
			ID    string `json:"id"`
			Roles []struct {
				ID          string `json:"id"`
				OriginID    string `json:"originId"`
				DisplayName string `json:"displayName"`
			} `json:"roles"`
			Scopes []struct {
				ID          string `json:"id"`
				IsRootScope bool   `json:"isRootScope"`
			} `json:"scopes"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return RoleScope{}, fmt.Errorf("graph: decode catalog resources: %w", err)
	}
	if len(out.Value) == 0 {
		return RoleScope{}, &Error{Method: "GET", Path: "catalog resources", Status: 404, Code: "Request_ResourceNotFound",
			Message: fmt.Sprintf("%s is not (yet) a resource of catalog %s", originID, catalogID)}
	}
	res := out.Value[0]
	rs := RoleScope{ResourceID: res.ID}
	for _, r := range res.Roles {
		if strings.EqualFold(r.OriginID, roleOriginID) {
			rs.RoleID, rs.RoleDisplayName, rs.RoleOriginID = r.ID, r.DisplayName, r.OriginID
		}
	}
	if rs.RoleOriginID == "" {
		// A SharePoint site added in the same apply: its role was planned
		// by display name, known only once the site is in the catalog.
		for _, r := range res.Roles {
			if strings.EqualFold(r.DisplayName, roleOriginID) {
				rs.RoleID, rs.RoleDisplayName, rs.RoleOriginID = r.ID, r.DisplayName, r.OriginID
			}
			rs.RoleNames = append(rs.RoleNames, r.DisplayName)
		}
	}
	for _, s := range res.Scopes {
		if s.IsRootScope {
			rs.ScopeID = s.ID
		}
	}
	return rs, nil
}

// RoleScope is what a package's resource role scope refers to in the
// catalog: the resource, its role and its root scope.
type RoleScope struct {
	ResourceID      string
	RoleID          string
	RoleDisplayName string
	// RoleOriginID is the matched role's originId ("" when no role of the
	// resource matched); RoleNames the resource's role display names then.
	RoleOriginID string
	RoleNames    []string
	ScopeID      string
}

// CreatePackage creates an access package in a catalog.
func (c *Client) CreatePackage(ctx context.Context, body map[string]any) (string, error) {
	out, err := c.create(ctx, em+"/accessPackages", body)
	return idOf(out), err
}

// UpdatePackage PATCHes an access package.
func (c *Client) UpdatePackage(ctx context.Context, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PATCH, em+"/accessPackages/"+url.PathEscape(id), body, nil)
	return err
}

// DeletePackage deletes an access package; one already gone is a success.
func (c *Client) DeletePackage(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, em+"/accessPackages/"+url.PathEscape(id), nil, nil))
}

// AddRoleScope grants a resource's role through a package: originSystem
// AadGroup, AadApplication or SharePointOnline, the resource's originId
// (group id, service principal id, site URL), the role's originId,
// and what CatalogRole found. The body has the shape of Microsoft's
// examples: the role with its id and displayName, the root scope with
// isRootScope.
func (c *Client) AddRoleScope(ctx context.Context, packageID, originSystem, originID, roleOriginID string, rs RoleScope) error {
	roleBody := map[string]any{"originId": roleOriginID, "originSystem": originSystem, "resource": map[string]any{"id": rs.ResourceID}}
	if rs.RoleID != "" {
		roleBody["id"] = rs.RoleID
	}
	if rs.RoleDisplayName != "" {
		roleBody["displayName"] = rs.RoleDisplayName
	}
	scope := map[string]any{"originId": originID, "originSystem": originSystem, "isRootScope": true}
	if rs.ScopeID != "" {
		scope["id"] = rs.ScopeID
	}
	_, err := c.send(ctx, abs.POST, em+"/accessPackages/"+url.PathEscape(packageID)+"/resourceRoleScopes", map[string]any{"role": roleBody, "scope": scope}, nil)
	if isAlready(err) {
		return nil
	}
	return err
}

// RemoveRoleScope removes a role scope; one already gone is a success.
func (c *Client) RemoveRoleScope(ctx context.Context, packageID, id string) error {
	return gone(c.send(ctx, abs.DELETE, em+"/accessPackages/"+url.PathEscape(packageID)+"/resourceRoleScopes/"+url.PathEscape(id), nil, nil))
}

// CreatePolicy creates an assignment policy.
func (c *Client) CreatePolicy(ctx context.Context, body map[string]any) (string, error) {
	out, err := c.create(ctx, em+"/assignmentPolicies", body)
	return idOf(out), err
}

// ReplacePolicy PUTs a whole policy (v1.0 has no PATCH for policies).
func (c *Client) ReplacePolicy(ctx context.Context, id string, body map[string]any) error {
	_, err := c.send(ctx, abs.PUT, em+"/assignmentPolicies/"+url.PathEscape(id), body, nil)
	return err
}

// DeletePolicy deletes a policy; one already gone is a success.
func (c *Client) DeletePolicy(ctx context.Context, id string) error {
	return gone(c.send(ctx, abs.DELETE, em+"/assignmentPolicies/"+url.PathEscape(id), nil, nil))
}

// RequestAssignment asks for an admin-made assignment (adminAdd).
func (c *Client) RequestAssignment(ctx context.Context, packageID, policyID, targetID string) error {
	_, err := c.create(ctx, em+"/assignmentRequests", map[string]any{
		"requestType": "adminAdd",
		"assignment":  map[string]any{"targetId": targetID, "assignmentPolicyId": policyID, "accessPackageId": packageID},
	})
	return err
}

// RemoveAssignment asks for an assignment's removal (adminRemove).
func (c *Client) RemoveAssignment(ctx context.Context, assignmentID string) error {
	_, err := c.create(ctx, em+"/assignmentRequests", map[string]any{
		"requestType": "adminRemove",
		"assignment":  map[string]any{"id": assignmentID},
	})
	return err
}

// Reprocess asks Graph to deliver a delivered assignment's access again.
func (c *Client) Reprocess(ctx context.Context, assignmentID string) error {
	_, err := c.send(ctx, abs.POST, em+"/assignments/"+url.PathEscape(assignmentID)+"/reprocess", nil, nil)
	return err
}

// Invite invites a guest and returns the new user's id.
func (c *Client) Invite(ctx context.Context, email, redirectURL string, sendMail bool) (string, error) {
	out, err := c.create(ctx, "/invitations", map[string]any{
		"invitedUserEmailAddress": email, "inviteRedirectUrl": redirectURL, "sendInvitationMessage": sendMail,
	})
	if err != nil {
		return "", err
	}
	user, _ := out["invitedUser"].(map[string]any)
	id, _ := user["id"].(string)
	return strings.ToLower(id), nil
}

// FindUserByMail returns the id of the user with that mail or UPN, "" if
// none is visible.
func (c *Client) FindUserByMail(ctx context.Context, mail string) (string, error) {
	resp, err := c.send(ctx, abs.GET, "/users?$filter="+escape("mail eq "+quote(mail)+" or userPrincipalName eq "+quote(mail))+"&$select=id", nil, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out.Value) == 0 {
		return "", err
	}
	return strings.ToLower(out.Value[0].ID), nil
}

func idOf(m map[string]any) string {
	id, _ := m["id"].(string)
	return strings.ToLower(id)
}

// gone treats a 404 as success, for deletes and removals.
func gone(_ *response, err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// emGroupRefs are the groups entitlement management names: catalog
// resources, package roles, group-sourced assignments, policy subjects.
func emGroupRefs(desired *model.Tenant) []model.Ref {
	var out []model.Ref
	for _, c := range desired.Catalogs {
		if c.Groups != nil {
			out = append(out, *c.Groups...)
		}
	}
	for _, p := range desired.AccessPackages {
		if p.Roles != nil {
			for _, r := range *p.Roles {
				if r.Group.Kind == model.GroupKind {
					out = append(out, r.Group)
				}
			}
		}
		if p.Assignments != nil {
			out = append(out, p.Assignments.GroupMembers...)
		}
		if p.Incompatible != nil {
			out = append(out, p.Incompatible.Groups...)
		}
		for _, v := range policySubjects(p, "groupId") {
			out = append(out, model.Ref{Kind: model.GroupKind, Value: v})
		}
	}
	return out
}

// emUserRefs are the users entitlement management names: assignment
// targets and policy subjects.
func emUserRefs(desired *model.Tenant) []model.Ref {
	var out []model.Ref
	for _, p := range desired.AccessPackages {
		if p.Assignments != nil {
			out = append(out, p.Assignments.Targets...)
		}
		for _, v := range policySubjects(p, "userId") {
			out = append(out, model.Ref{Kind: model.User, Value: v})
		}
	}
	return out
}

// policySubjects finds the values of key ("userId", "groupId") in the
// subject sets of a desired package's policies.
func policySubjects(p *model.AccessPackage, key string) []string {
	if p.Policies == nil {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v[key].(string); ok && s != "" {
				out = append(out, s)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, pol := range *p.Policies {
		walk(pol.Body)
	}
	return out
}

// emMemberGroups are the groups whose members the plan needs: the groups a
// package with delivery repair grants membership of, and the groups whose
// members are assigned. Group names resolve through the groups already read.
func (r *reader) emMemberGroups(desired *model.Tenant) ([]string, map[string]bool) {
	byName := map[string]string{}
	for _, p := range r.obs.Principals {
		if p.Kind == model.GroupKind {
			byName[model.NameKey(p.DisplayName)] = p.ID
		}
	}
	id := func(ref model.Ref) string {
		if ref.IsID() {
			return strings.ToLower(ref.Value)
		}
		return byName[model.NameKey(ref.Value)]
	}
	want := map[string]*model.AccessPackage{}
	for _, p := range desired.AccessPackages {
		want[p.Key()] = p
	}
	var out []string
	beta := map[string]bool{}
	for _, p := range r.obs.AccessPackages {
		if dp := want[p.Key()]; dp != nil && dp.RepairDelivery && p.Roles != nil {
			sps := servicePrincipalTargets(dp, p, r.obs)
			for _, role := range *p.Roles {
				if role.Group.Kind == model.GroupKind && role.Role == "Member" {
					out = append(out, role.Group.Value)
					beta[role.Group.Value] = beta[role.Group.Value] || sps
				}
			}
		}
	}
	for _, p := range desired.AccessPackages {
		if p.Assignments != nil {
			for _, g := range p.Assignments.GroupMembers {
				if v := id(g); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out, beta
}

// servicePrincipalTargets reports whether package p (observed, with its
// desired dp) is or will be assigned to a service principal.
func servicePrincipalTargets(dp, p *model.AccessPackage, obs *model.Tenant) bool {
	if dp.Assignments != nil && slices.ContainsFunc(dp.Assignments.Targets, func(r model.Ref) bool { return r.Kind.IsServicePrincipal() }) {
		return true
	}
	if p.Assignments == nil {
		return false
	}
	sp := map[string]bool{}
	for _, pr := range obs.Principals {
		if pr.Kind.IsServicePrincipal() {
			sp[pr.ID] = true
		}
	}
	return slices.ContainsFunc(p.Assignments.Live, func(a model.Assignment) bool { return sp[a.TargetID] })
}

// AssignmentOp is one assignment request of a batch.
type AssignmentOp struct {
	// Add: the target and policy; remove and reprocess: the assignment.
	TargetID, PolicyID, AssignmentID string
}

// RequestAssignments sends adminAdd requests in $batch calls of 20. When
// some fail, the error is a *BatchError whose Items index ops: an item
// whose answer was lost or ambiguous is ErrMaybeCreated (never sent twice;
// the next plan sees whether it was made), the items it does not list were
// made.
func (c *Client) RequestAssignments(ctx context.Context, packageID string, ops []AssignmentOp) error {
	items := make([]batchItem, len(ops))
	for i, o := range ops {
		items[i] = batchItem{Method: "POST", URL: em + "/assignmentRequests", Body: map[string]any{
			"requestType": "adminAdd",
			"assignment":  map[string]any{"targetId": o.TargetID, "assignmentPolicyId": o.PolicyID, "accessPackageId": packageID},
		}}
	}
	return c.createBatch(ctx, items)
}

// RemoveAssignments sends adminRemove requests in $batch calls of 20;
// failures are reported as by RequestAssignments.
func (c *Client) RemoveAssignments(ctx context.Context, ops []AssignmentOp) error {
	items := make([]batchItem, len(ops))
	for i, o := range ops {
		items[i] = batchItem{Method: "POST", URL: em + "/assignmentRequests", Body: map[string]any{
			"requestType": "adminRemove", "assignment": map[string]any{"id": o.AssignmentID},
		}}
	}
	return c.createBatch(ctx, items)
}

// ReprocessAssignments asks Graph to deliver assignments again, in $batch
// calls of 20; an assignment that is gone is skipped.
func (c *Client) ReprocessAssignments(ctx context.Context, ops []AssignmentOp) error {
	items := make([]batchItem, len(ops))
	for i, o := range ops {
		items[i] = batchItem{Method: "POST", URL: em + "/assignments/" + url.PathEscape(o.AssignmentID) + "/reprocess"}
	}
	return c.batchWrites(ctx, items, IsNotFound)
}

// createBatch sends non-idempotent creates in $batch calls and judges each
// item on its own: an item whose answer was lost (its $batch request got no
// answer, or an ambiguous 500/502/504 answer) or that got an ambiguous
// sub-response is not sent again and is ErrMaybeCreated; an item Graph
// refused is that refusal; the others were made. Any failed item makes the
// answer a *BatchError listing them, so one lost answer does not hide which
// items were made.
func (c *Client) createBatch(ctx context.Context, items []batchItem) error {
	results, err := c.batchCounted(createOnce(ctx), items)
	be := &BatchError{Total: len(items)}
	for i := range results {
		ierr := results[i].err(&items[i])
		if ierr == nil {
			continue
		}
		if maybeMade(&results[i], ierr) {
			ierr = &maybeCreated{cause: ierr}
		}
		be.Items = append(be.Items, ItemError{Index: i, Err: ierr})
	}
	if len(be.Items) == 0 {
		return err // nil: every item has its answer
	}
	return be
}

// maybeMade says whether a failed create item may have been made: its
// answer was lost, or it was an ambiguous 500/502/504. A 429 or 503 (not
// processed, given up on within the budget), a 4xx, or a $batch request
// that was never sent or that Graph refused as a whole, was not made.
func maybeMade(r *batchResult, err error) bool {
	if r.unsent {
		return false
	}
	var ge *Error
	if !errors.As(err, &ge) {
		return true // no answer at all
	}
	return ge.Status == 500 || ge.Status == 502 || ge.Status == 504
}

// maybeCreated is an item's ErrMaybeCreated with the answer that made it so.
type maybeCreated struct{ cause error }

func (e *maybeCreated) Error() string        { return ErrMaybeCreated.Error() + ": " + e.cause.Error() }
func (e *maybeCreated) Is(target error) bool { return target == ErrMaybeCreated }
func (e *maybeCreated) Unwrap() error        { return e.cause }

// BatchError reports the items of a batch of creates that did not surely
// succeed; items it does not list were made. errors.Is(err, ErrMaybeCreated)
// holds when at least one item may have been made; MaybeCreated names them,
// so the caller looks those up instead of failing or repeating the rest.
type BatchError struct {
	Total int
	Items []ItemError // in the items' order
}

// ItemError is one item's failure. Err wraps ErrMaybeCreated when the
// item's answer was lost or ambiguous; otherwise it is Graph's refusal (an
// *Error, inside a *RetryError when the item was retried and given up on).
type ItemError struct {
	Index int // the item's position in the call's list
	Err   error
}

// MaybeCreated returns the indexes of the items that may have been made.
func (e *BatchError) MaybeCreated() []int {
	var out []int
	for _, it := range e.Items {
		if errors.Is(it.Err, ErrMaybeCreated) {
			out = append(out, it.Index)
		}
	}
	return out
}

// Unwrap returns every item's error.
func (e *BatchError) Unwrap() []error {
	out := make([]error, len(e.Items))
	for i, it := range e.Items {
		out[i] = it.Err
	}
	return out
}

func (e *BatchError) Error() string {
	var maybe, failed []error
	for _, it := range e.Items {
		var m *maybeCreated
		if errors.As(it.Err, &m) {
			maybe = append(maybe, m.cause)
		} else {
			failed = append(failed, it.Err)
		}
	}
	var parts []string
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d requests failed: %v", len(failed), e.Total, failed[0]))
	}
	if len(maybe) > 0 {
		parts = append(parts, fmt.Sprintf("%v: %d of %d requests got an ambiguous answer and were not sent again, since each would be made twice; run apply again, the next plan sees which were made: %v",
			ErrMaybeCreated, len(maybe), e.Total, maybe[0]))
	}
	if made := e.Total - len(e.Items); made > 0 {
		parts = append(parts, fmt.Sprintf("the other %d were made", made))
	}
	return strings.Join(parts, "; ")
}

// readIncompatible adds to q the reads of the incompatible packages and
// groups of the packages whose incompatibility the spec manages.
func (r *reader) readIncompatible(ctx context.Context, want map[string]*model.AccessPackage, q *reads) {
	for _, p := range r.obs.AccessPackages {
		if dp := want[p.Key()]; dp != nil && dp.Incompatible != nil {
			p.Incompatible = &model.Incompatible{Packages: []model.Ref{}, Groups: []model.Ref{}}
			for _, nav := range []string{"incompatibleAccessPackages", "incompatibleGroups"} {
				groups := nav == "incompatibleGroups"
				q.add(fmt.Sprintf("%s/accessPackages/%s/%s?$select=id,displayName", em, url.PathEscape(p.ID), nav), func(body []byte) error {
					all, err := listAll[catalogJSON](ctx, r.c, body, nil)
					for _, o := range all {
						id := strings.ToLower(o.ID)
						if groups {
							p.Incompatible.Groups = append(p.Incompatible.Groups, model.Ref{Kind: model.GroupKind, Value: id})
							r.addPrincipal(model.Principal{ID: id, Kind: model.GroupKind, DisplayName: o.DisplayName})
						} else {
							p.Incompatible.Packages = append(p.Incompatible.Packages, model.Ref{Kind: model.PackageKind, Value: id})
						}
					}
					return err
				})
			}
		}
	}
}

// AddIncompatible makes a package incompatible with another package or a
// group (nav "incompatibleAccessPackages" or "incompatibleGroups"). One
// already there is a success.
func (c *Client) AddIncompatible(ctx context.Context, packageID, nav, targetID string) error {
	target := c.base + em + "/accessPackages/" + targetID
	if nav == "incompatibleGroups" {
		target = c.base + "/groups/" + targetID
	}
	_, err := c.send(ctx, abs.POST, fmt.Sprintf("%s/accessPackages/%s/%s/$ref", em, url.PathEscape(packageID), nav), map[string]string{"@odata.id": target}, nil)
	if isAlready(err) {
		return nil
	}
	return err
}

// RemoveIncompatible removes an incompatibility; one already gone is a
// success.
func (c *Client) RemoveIncompatible(ctx context.Context, packageID, nav, targetID string) error {
	return gone(c.send(ctx, abs.DELETE, fmt.Sprintf("%s/accessPackages/%s/%s/%s/$ref", em, url.PathEscape(packageID), nav, url.PathEscape(targetID)), nil, nil))
}

type appJSON struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	AppRoles    []struct {
		ID          string `json:"id"`
		Value       string `json:"value"`
		DisplayName string `json:"displayName"`
	} `json:"appRoles"`
	Scopes []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"oauth2PermissionScopes"`
}

// readApps looks up the service principals of the applications the spec
// names (catalog resources, package roles) by appId or display name, with
// their app roles.
func (r *reader) readApps(ctx context.Context, desired *model.Tenant) error {
	var refs []model.Ref
	add := func(ref model.Ref) { refs = append(refs, ref) }
	for _, c := range desired.Catalogs {
		if c.Applications != nil {
			for _, a := range *c.Applications {
				add(a)
			}
		}
	}
	for _, p := range desired.AccessPackages {
		if p.Roles != nil {
			for _, ro := range *p.Roles {
				if ro.Group.Kind == model.ServicePrincipal {
					add(ro.Group)
				}
			}
		}
	}
	for _, ref := range inheritableResources(desired) {
		add(ref)
	}
	return r.readAppRefs(ctx, refs)
}

// readAppRefs looks up applications' service principals by appId or display
// name, with their app roles, into observed ServicePrincipals.
func (r *reader) readAppRefs(ctx context.Context, refs []model.Ref) error {
	var appIDs, names []string
	for _, ref := range refs {
		if ref.IsID() {
			appIDs = append(appIDs, strings.ToLower(ref.Value))
		} else {
			names = append(names, ref.Value)
		}
	}
	const sel = "id,appId,displayName,appRoles,oauth2PermissionScopes"
	var items []batchItem
	for _, q := range filterQueries("appId", uniqueFold(appIDs), sel) {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals?" + q})
	}
	for _, q := range filterQueries("displayName", uniqueFold(names), sel) {
		items = append(items, batchItem{Method: "GET", URL: "/servicePrincipals?" + q})
	}
	seen := map[string]bool{}
	for _, sp := range r.obs.ServicePrincipals {
		seen[sp.ID] = true
	}
	return r.list(ctx, items, func(body []byte) error {
		all, err := listAll[appJSON](ctx, r.c, body, nil)
		for _, a := range all {
			id := strings.ToLower(a.ID)
			if seen[id] {
				continue
			}
			seen[id] = true
			sp := &model.AppPrincipal{ID: id, AppID: strings.ToLower(a.AppID), DisplayName: a.DisplayName}
			for _, ar := range a.AppRoles {
				sp.AppRoles = append(sp.AppRoles, model.AppRole{ID: strings.ToLower(ar.ID), Value: ar.Value, DisplayName: ar.DisplayName})
			}
			for _, sc := range a.Scopes {
				sp.Scopes = append(sp.Scopes, model.AppRole{ID: strings.ToLower(sc.ID), Value: sc.Value})
			}
			r.obs.ServicePrincipals = append(r.obs.ServicePrincipals, sp)
			r.addPrincipal(model.Principal{ID: id, Kind: model.ServicePrincipal, DisplayName: a.DisplayName})
		}
		return err
	})
}
