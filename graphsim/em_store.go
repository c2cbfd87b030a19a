package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Entitlement-management storage. Records are keyed by lower-case id and
// carry a creation sequence number (from the store's shared counter) for
// list order and paging. Catalog resources, their roles and scopes live
// inside their catalog; role scopes inside their package.

type catalogRec struct {
	id, displayName, description, catalogType, state string
	externallyVisible                                bool
	seq                                              int64
	created, modified                                time.Time
	resources                                        []*resourceRec
	// extensions are the catalog's customWorkflowExtensions (custom
	// extensions) in creation order.
	extensions []*extensionRec
}

// extensionRec is a custom extension of a catalog: an
// accessPackageAssignmentRequestWorkflowExtension or
// accessPackageAssignmentWorkflowExtension (typ, without the
// microsoft.graph. prefix). body holds the normalised structural
// properties (displayName … callbackConfiguration, see extensionFields).
type extensionRec struct {
	id, typ           string
	catalog           *catalogRec
	seq               int64
	created, modified time.Time
	body              object
}

// stageSettingRec is a customExtensionStageSetting of a policy: the stage
// at which the extension (by lower-case id, in the package's catalog) runs.
type stageSettingRec struct {
	id, stage, extensionID string
}

type resourceRec struct {
	id, originID, originSystem, displayName, description string
	catalog                                              *catalogRec
	seq                                                  int64
	created                                              time.Time
	roles                                                []*roleRec
	scopes                                               []*scopeRec
}

type roleRec struct {
	id, originID, displayName, description, typ, value string
	resource                                           *resourceRec
}

type scopeRec struct {
	id, originID, displayName, description string
	root                                   bool
	resource                               *resourceRec
}

type packageRec struct {
	id, catalogID, displayName, description string
	hidden                                  bool
	seq                                     int64
	created, modified                       time.Time
	roleScopes                              []*roleScopeRec
	incompatPkgs, incompatGroups            []string // lower-case ids
}

type roleScopeRec struct {
	role    *roleRec
	scope   *scopeRec
	seq     int64
	created time.Time
}

func (r *roleScopeRec) id() string { return r.role.id + "_" + r.scope.id }

type policyRec struct {
	id, packageID     string
	seq               int64
	created, modified time.Time
	body              object   // normalised v1.0 properties, displayName … notificationSettings
	questions         []object // normalised accessPackageQuestions
	stageSettings     []stageSettingRec
}

type assignmentRec struct {
	id, packageID, policyID, targetID string
	targetEmail                       string // external user not yet created
	state, status                     string
	seq                               int64
	created, start, expired           time.Time
}

type assignReqRec struct {
	id, requestType, state, status  string
	packageID, policyID, assignment string
	targetID, justification         string
	seq                             int64
	created, completed              time.Time
}

type resReqRec struct {
	id, requestType, state string
	catalogID, resourceID  string
	originID, originSystem string
	seq                    int64
	created                time.Time
}

type emStore struct {
	catalogs    map[string]*catalogRec
	packages    map[string]*packageRec
	policies    map[string]*policyRec
	assignments map[string]*assignmentRec
	requests    map[string]*assignReqRec
	resReqs     map[string]*resReqRec
	// pending are the requests in state submitted or delivering, in
	// creation order (emTick looks at nothing else).
	pending []*assignReqRec
}

func newEMStore() *emStore {
	return &emStore{
		catalogs:    map[string]*catalogRec{},
		packages:    map[string]*packageRec{},
		policies:    map[string]*policyRec{},
		assignments: map[string]*assignmentRec{},
		requests:    map[string]*assignReqRec{},
		resReqs:     map[string]*resReqRec{},
	}
}

func sortedBySeq[T any](m map[string]T, seq func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return seq(out[i]) < seq(out[j]) })
	return out
}

func (em *emStore) sortedCatalogs() []*catalogRec {
	return sortedBySeq(em.catalogs, func(c *catalogRec) int64 { return c.seq })
}
func (em *emStore) sortedPackages() []*packageRec {
	return sortedBySeq(em.packages, func(c *packageRec) int64 { return c.seq })
}
func (em *emStore) sortedPolicies() []*policyRec {
	return sortedBySeq(em.policies, func(c *policyRec) int64 { return c.seq })
}
func (em *emStore) sortedAssignments() []*assignmentRec {
	return sortedBySeq(em.assignments, func(c *assignmentRec) int64 { return c.seq })
}
func (em *emStore) sortedRequests() []*assignReqRec {
	return sortedBySeq(em.requests, func(c *assignReqRec) int64 { return c.seq })
}
func (em *emStore) sortedResReqs() []*resReqRec {
	return sortedBySeq(em.resReqs, func(c *resReqRec) int64 { return c.seq })
}

// resourceByID finds a catalog resource in any catalog.
func (em *emStore) resourceByID(id string) *resourceRec {
	for _, c := range em.catalogs {
		for _, r := range c.resources {
			if strings.EqualFold(r.id, id) {
				return r
			}
		}
	}
	return nil
}

func (c *catalogRec) resourceByOrigin(system, origin string) *resourceRec {
	for _, r := range c.resources {
		if strings.EqualFold(r.originSystem, system) && strings.EqualFold(r.originID, origin) {
			return r
		}
	}
	return nil
}

func (r *resourceRec) rootScope() *scopeRec {
	for _, s := range r.scopes {
		if s.root {
			return s
		}
	}
	if len(r.scopes) > 0 {
		return r.scopes[0]
	}
	return nil
}

// liveAssignment reports an assignment that still grants access or is on
// its way to (it blocks package/policy deletion and duplicate adds).
func liveAssignment(a *assignmentRec) bool {
	return a.state == "delivering" || a.state == "delivered" || a.state == "partiallyDelivered"
}

// buildResource creates a catalog resource with roles and scopes derived
// from its origin object (group: Member/Owner; application: app roles;
// SharePoint site: its three default groups) unless given.
func (st *store) buildResource(cat *catalogRec, fr CatalogResource, ids *splitmix) (*resourceRec, error) {
	r := &resourceRec{id: strings.ToLower(fr.ID), originID: fr.OriginID, originSystem: fr.OriginSystem,
		displayName: fr.DisplayName, description: fr.Description, catalog: cat, seq: st.nextSeq(), created: fromPtr(fr.CreatedDateTime)}
	if r.id == "" {
		r.id = ids.uuid()
	}
	var roles []ResourceRole
	switch fr.OriginSystem {
	case "AadGroup":
		g := st.groups[strings.ToLower(fr.OriginID)]
		if g == nil {
			if len(fr.Roles) > 0 {
				break // saved state of a deleted group
			}
			return nil, fmt.Errorf("graphsim: group %s does not exist", fr.OriginID)
		}
		r.originID = g.ID
		if r.displayName == "" {
			r.displayName = g.DisplayName
		}
		if r.description == "" {
			r.description = g.Description
		}
		roles = []ResourceRole{
			{OriginID: "Member_" + g.ID, DisplayName: "Member"},
			{OriginID: "Owner_" + g.ID, DisplayName: "Owner"},
		}
	case "AadApplication":
		sp := st.sps[strings.ToLower(fr.OriginID)]
		if sp == nil {
			if len(fr.Roles) > 0 {
				break
			}
			return nil, fmt.Errorf("graphsim: service principal %s does not exist", fr.OriginID)
		}
		r.originID = sp.ID
		if r.displayName == "" {
			r.displayName = sp.DisplayName
		}
		for _, ar := range sp.AppRoles {
			if ar.IsEnabled != nil && !*ar.IsEnabled {
				continue
			}
			rr := ResourceRole{OriginID: strings.ToLower(ar.ID), DisplayName: ar.DisplayName, Description: ar.Description, Value: ar.Value}
			if rr.DisplayName == "" {
				rr.DisplayName = ar.Value
			}
			for _, t := range ar.AllowedMemberTypes {
				if strings.EqualFold(t, "Application") {
					rr.Type = "application"
				}
			}
			roles = append(roles, rr)
		}
	case "SharePointOnline":
		if r.displayName == "" {
			r.displayName = fr.OriginID
		}
		// A site's roles are its SharePoint groups, named after the site
		// as SharePoint names them ("Contoso Members"); originId is the
		// group's number in the site (Microsoft's examples: "4", "5").
		title := siteTitle(fr.OriginID)
		roles = []ResourceRole{
			{OriginID: "3", DisplayName: title + " Owners"},
			{OriginID: "4", DisplayName: title + " Members"},
			{OriginID: "5", DisplayName: title + " Visitors"},
		}
	default:
		return nil, fmt.Errorf("graphsim: originSystem %q is not supported", fr.OriginSystem)
	}
	if len(fr.Roles) > 0 {
		roles = fr.Roles
	}
	for _, ro := range roles {
		rr := &roleRec{id: strings.ToLower(ro.ID), originID: ro.OriginID, displayName: ro.DisplayName, description: ro.Description, typ: ro.Type, value: ro.Value, resource: r}
		if rr.id == "" {
			rr.id = ids.uuid()
		}
		r.roles = append(r.roles, rr)
	}
	scopes := fr.Scopes
	if len(scopes) == 0 {
		scopes = []ResourceScope{{OriginID: r.originID, DisplayName: "Root", Description: "Root Scope", IsRootScope: true}}
	}
	for _, sc := range scopes {
		s := &scopeRec{id: strings.ToLower(sc.ID), originID: sc.OriginID, displayName: sc.DisplayName, description: sc.Description, root: sc.IsRootScope, resource: r}
		if s.id == "" {
			s.id = ids.uuid()
		}
		r.scopes = append(r.scopes, s)
	}
	return r, nil
}

// loadEM builds EM state from a validated fixture (after the directory).
func (st *store) loadEM(f *Fixture, ids *splitmix) error {
	em := newEMStore()
	st.em = em
	for _, fc := range f.Catalogs {
		c := &catalogRec{id: strings.ToLower(fc.ID), displayName: fc.DisplayName, description: fc.Description,
			catalogType: fc.CatalogType, state: fc.State, externallyVisible: true, seq: st.nextSeq(),
			created: fromPtr(fc.CreatedDateTime), modified: fromPtr(fc.ModifiedDateTime)}
		if c.id == "" {
			c.id = ids.uuid()
		}
		if c.catalogType == "" {
			c.catalogType = "userManaged"
		}
		if c.state == "" {
			c.state = "published"
		}
		if fc.IsExternallyVisible != nil {
			c.externallyVisible = *fc.IsExternallyVisible
		}
		for _, fr := range fc.Resources {
			r, err := st.buildResource(c, fr, ids)
			if err != nil {
				return fmt.Errorf("%w (catalog %q)", err, fc.DisplayName)
			}
			c.resources = append(c.resources, r)
		}
		for _, raw := range fc.CustomWorkflowExtensions {
			m, err := decodeJSONObject(raw)
			if err != nil {
				return fmt.Errorf("graphsim: catalog %q: custom extension: %v", fc.DisplayName, err)
			}
			x, perr := extensionFromBody(m, nil, true)
			if perr != nil {
				return fmt.Errorf("graphsim: catalog %q: custom extension: %s", fc.DisplayName, perr.msg)
			}
			if x.id == "" {
				x.id = ids.uuid()
			}
			for _, other := range c.extensions {
				if other.id == x.id {
					return fmt.Errorf("graphsim: catalog %q: duplicate custom extension id %s", fc.DisplayName, x.id)
				}
			}
			x.catalog, x.seq = c, st.nextSeq()
			c.extensions = append(c.extensions, x)
		}
		em.catalogs[c.id] = c
	}
	for _, fp := range f.AccessPackages {
		p := &packageRec{id: strings.ToLower(fp.ID), catalogID: strings.ToLower(fp.CatalogID), displayName: fp.DisplayName,
			description: fp.Description, hidden: fp.IsHidden, seq: st.nextSeq(),
			created: fromPtr(fp.CreatedDateTime), modified: fromPtr(fp.ModifiedDateTime)}
		if p.id == "" {
			p.id = ids.uuid()
		}
		cat := em.catalogs[p.catalogID]
		for _, rs := range fp.ResourceRoleScopes {
			var role *roleRec
			for _, r := range cat.resources {
				for _, ro := range r.roles {
					if strings.EqualFold(ro.originID, rs.RoleOriginID) {
						role = ro
					}
				}
			}
			if role == nil {
				return fmt.Errorf("graphsim: access package %q: role %q is not a role of a resource in its catalog", fp.DisplayName, rs.RoleOriginID)
			}
			scope := role.resource.rootScope()
			if rs.ScopeOriginID != "" {
				scope = nil
				for _, sc := range role.resource.scopes {
					if strings.EqualFold(sc.originID, rs.ScopeOriginID) {
						scope = sc
					}
				}
				if scope == nil {
					return fmt.Errorf("graphsim: access package %q: scope %q not found", fp.DisplayName, rs.ScopeOriginID)
				}
			}
			p.roleScopes = append(p.roleScopes, &roleScopeRec{role: role, scope: scope, seq: st.nextSeq(), created: fromPtr(rs.CreatedDateTime)})
		}
		for _, x := range fp.IncompatibleAccessPackages {
			p.incompatPkgs = append(p.incompatPkgs, strings.ToLower(x))
		}
		for _, x := range fp.IncompatibleGroups {
			p.incompatGroups = append(p.incompatGroups, strings.ToLower(x))
		}
		em.packages[p.id] = p
		for _, raw := range fp.AssignmentPolicies {
			m, err := decodeJSONObject(raw)
			if err != nil {
				return fmt.Errorf("graphsim: access package %q: policy: %v", fp.DisplayName, err)
			}
			pol, perr := st.policyFromBody(m, p.id, nil, ids, true)
			if perr != nil {
				return fmt.Errorf("graphsim: access package %q: policy: %s", fp.DisplayName, perr.msg)
			}
			pol.seq = st.nextSeq()
			em.policies[pol.id] = pol
		}
		for _, fa := range fp.Assignments {
			a := &assignmentRec{id: strings.ToLower(fa.ID), packageID: p.id, policyID: strings.ToLower(fa.AssignmentPolicyID),
				targetID: strings.ToLower(fa.TargetID), targetEmail: fa.TargetEmail, state: fa.State, status: fa.Status, seq: st.nextSeq(),
				created: fromPtr(fa.CreatedDateTime), start: fromPtr(fa.StartDateTime), expired: fromPtr(fa.ExpiredDateTime)}
			if a.id == "" {
				a.id = ids.uuid()
			}
			if a.state == "" {
				a.state = "delivered"
			}
			if a.status == "" {
				a.status = defaultAssignmentStatus(a.state)
			}
			if pol := em.policies[a.policyID]; pol == nil || pol.packageID != p.id {
				return fmt.Errorf("graphsim: access package %q: assignment policy %s is not one of its policies", fp.DisplayName, fa.AssignmentPolicyID)
			}
			em.assignments[a.id] = a
		}
	}
	for _, fr := range f.AssignmentRequests {
		r := &assignReqRec{id: strings.ToLower(fr.ID), requestType: fr.RequestType, state: fr.State, status: fr.Status,
			packageID: strings.ToLower(fr.AccessPackageID), policyID: strings.ToLower(fr.AssignmentPolicyID),
			assignment: strings.ToLower(fr.AssignmentID), targetID: strings.ToLower(fr.TargetID), justification: fr.Justification,
			seq: st.nextSeq(), created: fromPtr(fr.CreatedDateTime), completed: fromPtr(fr.CompletedDateTime)}
		if r.id == "" {
			r.id = ids.uuid()
		}
		em.requests[r.id] = r
		if r.state == "submitted" || r.state == "delivering" {
			em.pending = append(em.pending, r)
		}
	}
	for _, fr := range f.ResourceRequests {
		r := &resReqRec{id: strings.ToLower(fr.ID), requestType: fr.RequestType, state: fr.State, catalogID: strings.ToLower(fr.CatalogID),
			resourceID: strings.ToLower(fr.ResourceID), originID: fr.OriginID, originSystem: fr.OriginSystem,
			seq: st.nextSeq(), created: fromPtr(fr.CreatedDateTime)}
		if r.id == "" {
			r.id = ids.uuid()
		}
		em.resReqs[r.id] = r
	}
	return nil
}

func decodeJSONObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

func defaultAssignmentStatus(state string) string {
	switch state {
	case "delivered":
		return "Delivered"
	case "delivering":
		return "Delivering"
	case "expired":
		return "Expired"
	case "deliveryFailed":
		return "DeliveryFailed"
	case "partiallyDelivered":
		return "PartiallyDelivered"
	}
	return ""
}

// saveEM writes EM state into f (Save).
func (st *store) saveEM(f *Fixture) {
	em := st.em
	for _, c := range em.sortedCatalogs() {
		fc := Catalog{ID: c.id, DisplayName: c.displayName, Description: c.description, CatalogType: c.catalogType,
			State: c.state, IsExternallyVisible: boolPtr(c.externallyVisible), CreatedDateTime: tsPtr(c.created), ModifiedDateTime: tsPtr(c.modified)}
		for _, r := range c.resources {
			fr := CatalogResource{ID: r.id, OriginID: r.originID, OriginSystem: r.originSystem, DisplayName: r.displayName,
				Description: r.description, CreatedDateTime: tsPtr(r.created)}
			for _, ro := range r.roles {
				fr.Roles = append(fr.Roles, ResourceRole{ID: ro.id, OriginID: ro.originID, DisplayName: ro.displayName, Description: ro.description, Type: ro.typ, Value: ro.value})
			}
			for _, sc := range r.scopes {
				fr.Scopes = append(fr.Scopes, ResourceScope{ID: sc.id, OriginID: sc.originID, DisplayName: sc.displayName, Description: sc.description, IsRootScope: sc.root})
			}
			fc.Resources = append(fc.Resources, fr)
		}
		for _, x := range c.extensions {
			b, _ := marshal(extensionObject(x))
			fc.CustomWorkflowExtensions = append(fc.CustomWorkflowExtensions, b)
		}
		f.Catalogs = append(f.Catalogs, fc)
	}
	policies := em.sortedPolicies()
	assignments := em.sortedAssignments()
	for _, p := range em.sortedPackages() {
		fp := AccessPackage{ID: p.id, CatalogID: p.catalogID, DisplayName: p.displayName, Description: p.description,
			IsHidden: p.hidden, CreatedDateTime: tsPtr(p.created), ModifiedDateTime: tsPtr(p.modified),
			IncompatibleAccessPackages: p.incompatPkgs}
		for _, g := range p.incompatGroups {
			if st.groups[g] != nil { // deleted groups drop out
				fp.IncompatibleGroups = append(fp.IncompatibleGroups, g)
			}
		}
		for _, rs := range p.roleScopes {
			fp.ResourceRoleScopes = append(fp.ResourceRoleScopes, RoleScope{ID: rs.id(), RoleOriginID: rs.role.originID, ScopeOriginID: rs.scope.originID, CreatedDateTime: tsPtr(rs.created)})
		}
		for _, pol := range policies {
			if pol.packageID == p.id {
				o := append(object{{"id", pol.id}}, pol.body...)
				o = append(o, field{"createdDateTime", emTime(pol.created)}, field{"modifiedDateTime", emTime(pol.modified)})
				if len(pol.questions) > 0 {
					o = append(o, field{"questions", pol.questions})
				}
				if len(pol.stageSettings) > 0 {
					o = append(o, field{"customExtensionStageSettings", stageSettingRefs(pol.stageSettings)})
				}
				b, _ := marshal(o)
				fp.AssignmentPolicies = append(fp.AssignmentPolicies, b)
			}
		}
		for _, a := range assignments {
			if a.packageID == p.id {
				fp.Assignments = append(fp.Assignments, Assignment{ID: a.id, TargetID: a.targetID, TargetEmail: a.targetEmail, AssignmentPolicyID: a.policyID,
					State: a.state, Status: a.status, StartDateTime: tsPtr(a.start), ExpiredDateTime: tsPtr(a.expired), CreatedDateTime: tsPtr(a.created)})
			}
		}
		f.AccessPackages = append(f.AccessPackages, fp)
	}
	for _, r := range em.sortedRequests() {
		f.AssignmentRequests = append(f.AssignmentRequests, AssignmentRequest{ID: r.id, RequestType: r.requestType, State: r.state,
			Status: r.status, AccessPackageID: r.packageID, AssignmentPolicyID: r.policyID, AssignmentID: r.assignment,
			TargetID: r.targetID, Justification: r.justification, CreatedDateTime: tsPtr(r.created), CompletedDateTime: tsPtr(r.completed)})
	}
	for _, r := range em.sortedResReqs() {
		f.ResourceRequests = append(f.ResourceRequests, ResourceRequest{ID: r.id, RequestType: r.requestType, State: r.state,
			CatalogID: r.catalogID, ResourceID: r.resourceID, OriginID: r.originID, OriginSystem: r.originSystem, CreatedDateTime: tsPtr(r.created)})
	}
}

// siteTitle is the title graphsim gives a SharePoint site: the last
// segment of its URL (https://contoso.sharepoint.com/sites/Marketing →
// Marketing), the host's first label for a root site.
func siteTitle(url string) string {
	u := strings.TrimRight(url, "/")
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		return rest[i+1:]
	}
	host, _, _ := strings.Cut(rest, ".")
	return host
}
