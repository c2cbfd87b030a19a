package graphsim

import (
	"encoding/base64"
	"sort"
	"strings"
	"time"
)

// Storage of Agent ID objects and permission grants. Blueprints are
// applications (appRec); blueprint principals and agent identities are
// spRecs in store.sps told apart by ODataType; agent users are userRecs with
// IdentityParentID. Soft-deleted applications and service principals move
// to deletedApps/deletedSPs, so every other code path sees only live
// objects.

type appRec struct {
	Blueprint // Sponsors/Owners hold lower-case object ids
	seq       int64
	created   time.Time
}

type araRec struct {
	AppRoleAssignment
	seq     int64
	created time.Time
}

type grantRec struct {
	OAuth2PermissionGrant
	seq int64
}

type agentStore struct {
	apps        map[string]*appRec // live blueprints, by lower-case object id
	deletedApps map[string]*appRec
	deletedSPs  map[string]*spRec
	assignments map[string]*araRec // by opaque id (case-sensitive)
	grants      map[string]*grantRec
	// cascadeDelay: identities of a deleted blueprint principal are
	// soft-deleted this long after it (README §1: about 24 h).
	cascadeDelay time.Duration
}

// DefaultAgentCascadeDelay is how long after a blueprint principal's
// deletion its agent identities are soft-deleted (README §1, "~24 h").
const DefaultAgentCascadeDelay = 24 * time.Hour

// SetAgentCascadeDelay changes the delay of the blueprint-principal delete
// cascade (0: at the next request). Not saved by Save.
func (s *Sim) SetAgentCascadeDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.agent.cascadeDelay = d
}

func (st *store) appByUniqueName(n string) *appRec {
	for _, a := range st.agent.apps {
		if a.UniqueName != "" && strings.EqualFold(a.UniqueName, n) {
			return a
		}
	}
	return nil
}

func (st *store) appByAppID(appID string) *appRec {
	for _, a := range st.agent.apps {
		if strings.EqualFold(a.AppID, appID) {
			return a
		}
	}
	return nil
}

// spByAppID finds the live service principal of an application.
func (st *store) spByAppID(appID string) *spRec {
	for _, s := range st.sortedSPs() {
		if strings.EqualFold(s.AppID, appID) {
			return s
		}
	}
	return nil
}

func (st *store) sortedApps() []*appRec {
	return sortedBySeq(st.agent.apps, func(a *appRec) int64 { return a.seq })
}

func (st *store) sortedAssignments() []*araRec {
	return sortedBySeq(st.agent.assignments, func(a *araRec) int64 { return a.seq })
}

func (st *store) sortedGrants() []*grantRec {
	return sortedBySeq(st.agent.grants, func(g *grantRec) int64 { return g.seq })
}

// assignmentID: base64url of the principal id followed by 16 random bytes
// (the shape of Graph's ids: the example id starts with its principal id).
func assignmentID(principalID string, ids *splitmix) string {
	b := guidBytes(principalID)
	r := guidBytes(ids.uuid())
	return base64.RawURLEncoding.EncodeToString(append(b, r...))
}

// grantID: base64url of client id + resource id (+ principal id), as the
// documented grant id decodes to.
func grantID(clientID, resourceID, principalID string) string {
	b := append(guidBytes(clientID), guidBytes(resourceID)...)
	if principalID != "" {
		b = append(b, guidBytes(principalID)...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadAgents builds the Agent ID part of the store (after users, groups and
// service principals exist).
func (st *store) loadAgents(f *Fixture, ids *splitmix) error {
	a := &agentStore{apps: map[string]*appRec{}, deletedApps: map[string]*appRec{}, deletedSPs: map[string]*spRec{},
		assignments: map[string]*araRec{}, grants: map[string]*grantRec{}, cascadeDelay: DefaultAgentCascadeDelay}
	st.agent = a
	resolve := func(refs []string) []string {
		var out []string
		for _, r := range refs {
			id := strings.ToLower(r)
			if u := st.userByUPN(r); u != nil {
				id = u.ID
			}
			out = append(out, id)
		}
		return out
	}
	// Service principals: fixture order equals seq order here.
	for i, sp := range st.sortedSPs() {
		if i >= len(f.ServicePrincipals) {
			break
		}
		fs := f.ServicePrincipals[i]
		sp.Sponsors = resolve(fs.Sponsors)
		if sp.ODataType == odataAgentIdentity {
			sp.ServicePrincipalType = "ServiceIdentity"
			if fs.AppID == "" {
				sp.AppID = sp.ID // observed: appId == id
			}
		}
		if strings.EqualFold(sp.AppID, graphAppID) && len(sp.AppRoles) == 0 && len(sp.OAuth2PermissionScopes) == 0 {
			sp.AppRoles, sp.OAuth2PermissionScopes = microsoftGraphRoles(), microsoftGraphScopes()
			if sp.DisplayName == "" {
				sp.DisplayName = "Microsoft Graph"
			}
		}
		if sp.DeletedDateTime != nil {
			delete(st.sps, sp.ID)
			a.deletedSPs[sp.ID] = sp
		}
	}
	for _, fb := range f.Blueprints {
		r := &appRec{Blueprint: fb, seq: st.nextSeq(), created: fromPtr(fb.CreatedDateTime)}
		if r.ID == "" {
			r.ID = ids.uuid()
		}
		r.ID = strings.ToLower(r.ID)
		if r.AppID == "" {
			r.AppID = ids.uuid()
		}
		r.Sponsors, r.Owners = resolve(fb.Sponsors), resolve(fb.Owners)
		r.FederatedIdentityCredentials = append([]AppFederatedCredential(nil), fb.FederatedIdentityCredentials...)
		for i := range r.FederatedIdentityCredentials {
			if r.FederatedIdentityCredentials[i].ID == "" {
				r.FederatedIdentityCredentials[i].ID = ids.uuid()
			}
		}
		if r.DeletedDateTime != nil {
			a.deletedApps[r.ID] = r
		} else {
			a.apps[r.ID] = r
		}
	}
	for _, fa := range f.AppRoleAssignments {
		r := &araRec{AppRoleAssignment: fa, seq: st.nextSeq(), created: fromPtr(fa.CreatedDateTime)}
		r.PrincipalID, r.ResourceID, r.AppRoleID = strings.ToLower(r.PrincipalID), strings.ToLower(r.ResourceID), strings.ToLower(r.AppRoleID)
		if r.ID == "" {
			r.ID = assignmentID(r.PrincipalID, ids)
		}
		a.assignments[r.ID] = r
	}
	for _, fg := range f.OAuth2PermissionGrants {
		r := &grantRec{OAuth2PermissionGrant: fg, seq: st.nextSeq()}
		r.ClientID, r.ResourceID, r.PrincipalID = strings.ToLower(r.ClientID), strings.ToLower(r.ResourceID), strings.ToLower(r.PrincipalID)
		if r.ID == "" {
			r.ID = grantID(r.ClientID, r.ResourceID, r.PrincipalID)
		}
		a.grants[r.ID] = r
	}
	return nil
}

// saveAgents adds the Agent ID part to a Save snapshot.
func (st *store) saveAgents(f *Fixture) {
	a := st.agent
	ts := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	apps := append(st.sortedApps(), sortedBySeq(a.deletedApps, func(r *appRec) int64 { return r.seq })...)
	for _, r := range apps {
		x := r.Blueprint
		x.CreatedDateTime = ts(r.created)
		f.Blueprints = append(f.Blueprints, x)
	}
	for _, s := range sortedBySeq(a.deletedSPs, func(r *spRec) int64 { return r.seq }) {
		x := s.ServicePrincipal
		x.CreatedDateTime = ts(s.created)
		f.ServicePrincipals = append(f.ServicePrincipals, x)
	}
	for _, r := range st.sortedAssignments() {
		x := r.AppRoleAssignment
		x.CreatedDateTime = ts(r.created)
		f.AppRoleAssignments = append(f.AppRoleAssignments, x)
	}
	for _, r := range st.sortedGrants() {
		f.OAuth2PermissionGrants = append(f.OAuth2PermissionGrants, r.OAuth2PermissionGrant)
	}
}

// softDeleteSP moves a service principal to the deleted set and drops its
// memberships, app role assignments and grants (graphsim has no restore).
func (st *store) softDeleteSP(sp *spRec, at time.Time) {
	at = at.UTC()
	sp.DeletedDateTime = &at
	delete(st.sps, sp.ID)
	st.agent.deletedSPs[sp.ID] = sp
	st.removeLinksTo(sp.ID)
	st.dropGrantsOf(sp.ID)
}

// dropGrantsOf removes every app role assignment and delegated grant that
// names id as principal, resource or client.
func (st *store) dropGrantsOf(id string) {
	for k, r := range st.agent.assignments {
		if r.PrincipalID == id || r.ResourceID == id {
			delete(st.agent.assignments, k)
		}
	}
	for k, g := range st.agent.grants {
		if g.ClientID == id || g.ResourceID == id || g.PrincipalID == id {
			delete(st.agent.grants, k)
		}
	}
	for _, a := range st.agent.apps {
		a.Sponsors = dropID(a.Sponsors, id)
		a.Owners = dropID(a.Owners, id)
	}
	for _, s := range st.sps {
		s.Sponsors = dropID(s.Sponsors, id)
	}
}

func dropID(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// agentTick runs the blueprint-principal delete cascade: agent identities
// whose blueprint principal was deleted at least cascadeDelay ago (and not
// re-created) are soft-deleted, dated at the moment the job ran.
func (s *Sim) agentTick(now time.Time) {
	st := s.st
	a := st.agent
	if len(a.deletedSPs) == 0 {
		return
	}
	deletedAt := map[string]time.Time{}
	for _, sp := range a.deletedSPs {
		if sp.ODataType == odataBlueprintPrinc && sp.DeletedDateTime != nil {
			k := strings.ToLower(sp.AppID)
			if t, ok := deletedAt[k]; !ok || sp.DeletedDateTime.After(t) {
				deletedAt[k] = *sp.DeletedDateTime
			}
		}
	}
	if len(deletedAt) == 0 {
		return
	}
	var doomed []*spRec
	for _, sp := range st.sortedSPs() {
		if sp.ODataType != odataAgentIdentity {
			continue
		}
		k := strings.ToLower(sp.AgentIdentityBlueprintID)
		t, ok := deletedAt[k]
		if !ok || now.Before(t.Add(a.cascadeDelay)) {
			continue
		}
		if p := st.spByAppID(k); p != nil && p.ODataType == odataBlueprintPrinc {
			continue // re-created principal
		}
		doomed = append(doomed, sp)
	}
	sort.Slice(doomed, func(i, j int) bool { return doomed[i].seq < doomed[j].seq })
	for _, sp := range doomed {
		st.softDeleteSP(sp, now)
	}
}

func agentTicking(h handlerFunc) handlerFunc {
	return func(c *reqCtx) *response {
		c.s.agentTick(c.now)
		return h(c)
	}
}
