package graphsim

import (
	"fmt"
	"strings"
	"time"
)

// Assignment requests and assignments (README §6).
//
// Processing is lazy and driven by the simulator clock: every routed
// request first runs emTick, which advances each pending assignment request
// by its age: submitted for the first half of Faults.DeliveryDelay,
// delivering for the second half, then processed (delivered or
// deliveryFailed) with completion time created+DeliveryDelay. No
// goroutine is involved, so a fake clock (Options.Now) fully controls
// delivery and the real clock works the same way (delivery happens on the
// first request after the delay). Delivered assignments whose policy
// expiration has passed expire the same way.

func registerEMAssignmentRoutes(r *router) {
	r.add("GET", emPrefix+"/assignmentRequests", listAssignmentRequests)
	r.add("POST", emPrefix+"/assignmentRequests", createAssignmentRequest)
	r.add("GET", emPrefix+"/assignmentRequests/{id}", getAssignmentRequest)
	r.add("GET", emPrefix+"/assignments", listAssignments)
	r.add("GET", emPrefix+"/assignments/{id}", getAssignment)
	r.add("POST", emPrefix+"/assignments/{id}/reprocess", reprocessAssignment)
}

// emTicking wraps every route handler (router.go) so EM processing catches
// up with the clock before any read or write.
func emTicking(h handlerFunc) handlerFunc {
	return func(c *reqCtx) *response {
		c.s.emTick(c.now)
		return h(c)
	}
}

var assignmentRequestType = newEMType("accessPackageAssignmentRequest",
	[]string{"id", "requestType", "state", "status", "justification", "createdDateTime", "completedDateTime", "schedule", "answers"},
	[]string{"accessPackage", "assignment", "requestor"},
	map[string]filterProp{"id": {}, "requestType": {}, "state": {}, "status": {}, "accessPackage/id": {}, "assignment/id": {}, "requestor/objectId": {}})

var assignmentType = newEMType("accessPackageAssignment",
	[]string{"id", "state", "status", "expiredDateTime", "schedule"},
	[]string{"target", "accessPackage", "assignmentPolicy"},
	map[string]filterProp{"id": {}, "state": {}, "status": {}, "accessPackage/id": {}, "assignmentPolicy/id": {},
		"target/objectId": {}, "target/email": {}, "target/principalName": {}, "target/displayName": {}, "target/subjectType": {}})

// --- processing ----------------------------------------------------------

// emTick processes due assignment requests and expirations. Caller holds
// s.mu.
func (s *Sim) emTick(now time.Time) {
	em := s.st.em
	delay := s.faults.DeliveryDelay
	var still []*assignReqRec
	for _, r := range em.pending {
		if r.state != "submitted" && r.state != "delivering" {
			continue
		}
		due := r.created.Add(delay)
		if now.Before(due) {
			if r.state == "submitted" && !now.Before(r.created.Add(delay/2)) {
				r.state, r.status = "delivering", "Delivering"
			}
			still = append(still, r)
			continue
		}
		s.processRequest(r, due)
	}
	em.pending = still
	for _, a := range em.assignments {
		if a.state != "delivered" {
			continue
		}
		if end := s.assignmentEnd(a); !end.IsZero() && !now.Before(end) {
			a.state, a.status, a.expired = "expired", "Expired", end
			s.revokeAll(a)
		}
	}
}

func (s *Sim) processRequest(r *assignReqRec, at time.Time) {
	em := s.st.em
	a := em.assignments[r.assignment]
	done := func(state, status string) {
		r.state, r.status, r.completed = state, status, at
	}
	switch r.requestType {
	case "adminAdd":
		pkg, pol := em.packages[r.packageID], em.policies[r.policyID]
		fail := func(status string) {
			done("deliveryFailed", status)
			if a != nil {
				a.state, a.status = "deliveryFailed", "DeliveryFailed"
			}
		}
		if a == nil || pkg == nil || pol == nil {
			fail("DeliveryFailed")
			return
		}
		if a.targetID == "" && a.targetEmail != "" {
			u := s.st.userByMail(a.targetEmail)
			if u == nil {
				u = s.createGuest(a.targetEmail, "", "Guest", at)
			}
			a.targetID, r.targetID = u.ID, u.ID
		}
		if _, ok := s.st.kindOf(a.targetID); !ok {
			fail("DeliveryFailed")
			return
		}
		if perm := s.blockedForAgent(pkg, a.targetID); perm != "" {
			fail("Request_BadRequest")
			return
		}
		if !s.skipMembership(pkg) {
			for _, rs := range pkg.roleScopes {
				s.grantRoleAt(rs, a.targetID, at)
			}
		}
		a.state, a.status, a.start = "delivered", "Delivered", at
		done("delivered", "Delivered")
	case "adminRemove":
		if a != nil && liveAssignment(a) {
			a.state, a.status, a.expired = "expired", "Expired", at
			s.revokeAll(a)
		}
		done("delivered", "Delivered")
	default:
		done("deliveryFailed", "DeliveryFailed")
	}
}

// skipMembership decides the MissingMembership faults for one delivery
// of a package that grants group roles.
func (s *Sim) skipMembership(pkg *packageRec) bool {
	groupRole := false
	for _, rs := range pkg.roleScopes {
		if rs.role.resource.originSystem == "AadGroup" {
			groupRole = true
		}
	}
	if !groupRole {
		return false
	}
	if s.faults.MissingMembershipCount > 0 {
		s.faults.MissingMembershipCount--
		return true
	}
	return s.faults.MissingMembershipRate > 0 && s.faultR.float() < s.faults.MissingMembershipRate
}

// groupRole maps a group resource role to its group and link list.
func (s *Sim) groupRole(rs *roleScopeRec) (*groupRec, *linkList) {
	res := rs.role.resource
	if res.originSystem != "AadGroup" {
		return nil, nil // app roles and SharePoint roles: not modelled
	}
	g := s.st.groups[strings.ToLower(res.originID)]
	if g == nil {
		return nil, nil
	}
	switch {
	case strings.HasPrefix(rs.role.originID, "Member_"):
		return g, &g.members
	case strings.HasPrefix(rs.role.originID, "Owner_"):
		return g, &g.owners
	}
	return nil, nil
}

func (s *Sim) grantRoleAt(rs *roleScopeRec, target string, at time.Time) {
	if _, links := s.groupRole(rs); links != nil && !links.has(target) {
		links.add(&link{id: target, seq: s.st.nextSeq(), added: at})
	}
}

func (s *Sim) grantRole(c *reqCtx, rs *roleScopeRec, target string) { s.grantRoleAt(rs, target, c.now) }

// roleKey identifies what a role grants independently of the catalog.
func roleKey(rs *roleScopeRec) string {
	return rs.role.resource.originSystem + "/" + strings.ToLower(rs.role.originID)
}

// revokeRole removes the membership a role granted to target unless
// another delivered assignment of target still grants the same role.
// Memberships the target had before the assignment are removed too (EM
// manages the membership; see the package doc).
func (s *Sim) revokeRole(rs *roleScopeRec, target string) {
	_, links := s.groupRole(rs)
	if links == nil {
		return
	}
	key := roleKey(rs)
	for _, a := range s.st.em.assignments {
		if a.targetID != target || a.state != "delivered" {
			continue
		}
		if p := s.st.em.packages[a.packageID]; p != nil {
			for _, other := range p.roleScopes {
				if roleKey(other) == key {
					return
				}
			}
		}
	}
	links.drop(target)
}

func (s *Sim) revokeAll(a *assignmentRec) {
	if p := s.st.em.packages[a.packageID]; p != nil {
		for _, rs := range p.roleScopes {
			s.revokeRole(rs, a.targetID)
		}
	}
}

// assignmentEnd is when a delivered assignment expires under its policy
// (zero when it does not).
func (s *Sim) assignmentEnd(a *assignmentRec) time.Time {
	pol := s.st.em.policies[a.policyID]
	if pol == nil || a.start.IsZero() {
		return time.Time{}
	}
	exp := objGet(pol.body, "expiration")
	switch objGet(exp, "type") {
	case "afterDuration":
		if d, ok := parseISODuration(fmt.Sprint(objGet(exp, "duration"))); ok && d > 0 {
			return a.start.Add(d)
		}
	case "afterDateTime":
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(objGet(exp, "endDateTime"))); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// isAgentIdentity reports an agent identity service principal.
func (s *Sim) isAgentIdentity(id string) bool {
	sp := s.st.sps[strings.ToLower(id)]
	return sp != nil && (strings.EqualFold(sp.ODataType, "#microsoft.graph.agentIdentity") || strings.EqualFold(sp.ServicePrincipalType, "ServiceIdentity"))
}

// blockedForAgent returns the first Microsoft Graph permission of the
// package that Entra blocks for agents when target is an agent identity.
func (s *Sim) blockedForAgent(pkg *packageRec, target string) string {
	if !s.isAgentIdentity(target) {
		return ""
	}
	for _, rs := range pkg.roleScopes {
		ro := rs.role
		if ro.typ != "application" && ro.typ != "delegated" {
			continue
		}
		sp := s.st.sps[strings.ToLower(ro.resource.originID)]
		if sp == nil || !strings.EqualFold(sp.AppID, msGraphAppID) {
			continue
		}
		for _, b := range permissionsBlockedForAgents {
			if strings.EqualFold(b, ro.value) {
				return b
			}
		}
	}
	return ""
}

// --- rendering -----------------------------------------------------------

// subjectObject renders the accessPackageSubject of a target. The subject
// id is the target's object id (Graph uses a separate subject id).
func (s *Sim) subjectObject(a *assignmentRec) object {
	id := strings.ToLower(a.targetID)
	if u := s.st.users[id]; u != nil {
		return object{{"id", u.ID}, {"displayName", nullable(u.DisplayName)}, {"email", nullable(u.Mail)}, {"objectId", u.ID},
			{"onPremisesSecurityIdentifier", nil}, {"principalName", u.UserPrincipalName}, {"subjectType", "user"}}
	}
	if sp := s.st.sps[id]; sp != nil {
		return object{{"id", sp.ID}, {"displayName", nullable(sp.DisplayName)}, {"email", nil}, {"objectId", sp.ID},
			{"onPremisesSecurityIdentifier", nil}, {"principalName", sp.AppID}, {"subjectType", "servicePrincipal"}}
	}
	// Not (yet) resolved: only the email is known (an external user who
	// will be created on delivery).
	return object{{"id", a.id}, {"displayName", nil}, {"email", nullable(a.targetEmail)}, {"objectId", nullable(id)},
		{"onPremisesSecurityIdentifier", nil}, {"principalName", nil}, {"subjectType", "user"}}
}

func (s *Sim) assignmentObject(a *assignmentRec) object {
	exp := object{{"endDateTime", nil}, {"duration", nil}, {"type", "notSpecified"}}
	if pol := s.st.em.policies[a.policyID]; pol != nil {
		if pe, ok := objGet(pol.body, "expiration").(object); ok {
			exp = append(object{}, pe...)
			if end := s.assignmentEnd(a); !end.IsZero() {
				for i := range exp {
					if exp[i].K == "endDateTime" {
						exp[i].V = emTime(end)
					}
				}
			}
		}
	}
	return object{
		{"id", a.id},
		{"state", a.state},
		{"status", nullable(a.status)},
		{"expiredDateTime", emTime(a.expired)},
		{"schedule", object{{"startDateTime", emTime(a.start)}, {"recurrence", nil}, {"expiration", exp}}},
	}
}

func (s *Sim) assignmentItem(c *reqCtx, a *assignmentRec, exp emExpand) *emItem {
	full := s.assignmentObject(a)
	subj := s.subjectObject(a)
	flt := append(object{}, full...)
	flt = append(flt, field{"accessPackage/id", a.packageID}, field{"assignmentPolicy/id", a.policyID})
	for _, f := range subj {
		flt = append(flt, field{"target/" + f.K, f.V})
	}
	it := &emItem{seq: a.seq, full: full, filter: flt}
	for _, nav := range assignmentType.navs {
		if !exp.has(nav) {
			continue
		}
		var v any
		switch nav {
		case "target":
			v = subj
		case "accessPackage":
			if p := s.st.em.packages[a.packageID]; p != nil {
				v = packageObject(p)
			}
		case "assignmentPolicy":
			if p := s.st.em.policies[a.policyID]; p != nil {
				v = s.policyItem(c, p, emExpand{}).full
			}
		}
		it.expansions = append(it.expansions, field{nav, v})
	}
	return it
}

func (s *Sim) requestItem(c *reqCtx, r *assignReqRec, exp emExpand) *emItem {
	full := object{
		{"id", r.id},
		{"requestType", r.requestType},
		{"state", r.state},
		{"status", nullable(r.status)},
		{"justification", nullable(r.justification)},
		{"createdDateTime", emTime(r.created)},
		{"completedDateTime", emTime(r.completed)},
		{"schedule", object{{"startDateTime", nil}, {"recurrence", nil}, {"expiration", object{{"endDateTime", nil}, {"duration", nil}, {"type", "notSpecified"}}}}},
		{"answers", []any{}},
	}
	flt := append(append(object{}, full...), field{"accessPackage/id", r.packageID}, field{"assignment/id", r.assignment}, field{"requestor/objectId", nil})
	it := &emItem{seq: r.seq, full: full, filter: flt}
	for _, nav := range assignmentRequestType.navs {
		if !exp.has(nav) {
			continue
		}
		var v any
		switch nav {
		case "accessPackage":
			if p := s.st.em.packages[r.packageID]; p != nil {
				v = packageObject(p)
			}
		case "assignment":
			if a := s.st.em.assignments[r.assignment]; a != nil {
				v = s.assignmentObject(a)
			}
		case "requestor":
			// App-only callers have no subject in the simulator.
		}
		it.expansions = append(it.expansions, field{nav, v})
	}
	return it
}

// --- handlers ------------------------------------------------------------

func listAssignmentRequests(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(assignmentRequestType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, rq := range s.st.em.sortedRequests() {
		items = append(items, s.requestItem(c, rq, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/assignmentRequests", assignmentRequestType, items)
}

func getAssignmentRequest(c *reqCtx) *response {
	s := c.s
	rq := s.st.em.requests[strings.ToLower(c.params["id"])]
	if rq == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(assignmentRequestType, nil)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/assignmentRequests", assignmentRequestType, s.requestItem(c, rq, exp))
}

func listAssignments(c *reqCtx) *response {
	s := c.s
	exp, r := c.parseEMExpand(assignmentType, nil)
	if r != nil {
		return r
	}
	var items []*emItem
	for _, a := range s.st.em.sortedAssignments() {
		items = append(items, s.assignmentItem(c, a, exp))
	}
	return c.emList("identityGovernance/entitlementManagement/assignments", assignmentType, items)
}

func getAssignment(c *reqCtx) *response {
	s := c.s
	a := s.st.em.assignments[strings.ToLower(c.params["id"])]
	if a == nil {
		return c.notFound(c.params["id"])
	}
	exp, r := c.parseEMExpand(assignmentType, nil)
	if r != nil {
		return r
	}
	return c.emEntity(200, "identityGovernance/entitlementManagement/assignments", assignmentType, s.assignmentItem(c, a, exp))
}

// reprocessAssignment re-delivers the resource roles of a delivered
// assignment (missing group memberships are created again) → 202.
func reprocessAssignment(c *reqCtx) *response {
	s := c.s
	id := c.params["id"]
	if !isGUID(id) {
		return c.badRequest(fmt.Sprintf("Invalid assignment id '%s'.", id))
	}
	a := s.st.em.assignments[strings.ToLower(id)]
	if a == nil {
		return c.notFound(id)
	}
	if a.state != "delivered" {
		return c.badRequest(fmt.Sprintf("Only delivered assignments can be reprocessed; assignment '%s' is %s.", a.id, a.state))
	}
	if p := s.st.em.packages[a.packageID]; p != nil {
		for _, rs := range p.roleScopes {
			s.grantRole(c, rs, a.targetID)
		}
	}
	return &response{status: 202, header: map[string][]string{}}
}

// createAssignmentRequest accepts adminAdd and adminRemove (README §6).
func createAssignmentRequest(c *reqCtx) *response {
	s := c.s
	em := s.st.em
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if err := checkKeys(m, "accessPackageAssignmentRequest", "requestType", "assignment", "justification", "schedule", "answers", "id", "state", "status", "createdDateTime", "completedDateTime"); err != nil {
		return c.emErrResp(err)
	}
	if v, ok := m["schedule"]; ok && v != nil {
		if _, err := normalize(tSchedule, v, "schedule"); err != nil {
			return c.emErrResp(err)
		}
	}
	if v, ok := m["answers"]; ok && v != nil {
		if arr, ok := v.([]any); !ok || len(arr) > 0 {
			return c.badRequest("Answers are only accepted on requests for policies with questions from the requestor (userAdd).")
		}
	}
	reqType, _ := m["requestType"].(string)
	justification, _ := m["justification"].(string)
	asg, _ := m["assignment"].(map[string]any)
	if asg == nil {
		if _, ok := m["accessPackageAssignment"]; ok {
			return c.emErrResp(unknownProp("accessPackageAssignment", "accessPackageAssignmentRequest"))
		}
		return c.badRequest("A value is required for property 'assignment' of resource 'accessPackageAssignmentRequest'.")
	}
	if err := checkKeys(asg, "accessPackageAssignment", "id", "targetId", "assignmentPolicyId", "accessPackageId", "target", "schedule", "state", "status", "expiredDateTime"); err != nil {
		return c.emErrResp(err)
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	rq := &assignReqRec{id: s.ids.uuid(), state: "submitted", status: "Accepted", justification: justification, created: c.now}
	switch strings.ToLower(reqType) {
	case "adminadd":
		rq.requestType = "adminAdd"
		pkg := em.packages[strings.ToLower(str(asg, "accessPackageId"))]
		if str(asg, "accessPackageId") == "" || str(asg, "assignmentPolicyId") == "" {
			return c.badRequest("adminAdd requires assignment.accessPackageId and assignment.assignmentPolicyId.")
		}
		if pkg == nil {
			return c.notFound(str(asg, "accessPackageId"))
		}
		pol := em.policies[strings.ToLower(str(asg, "assignmentPolicyId"))]
		if pol == nil {
			return c.notFound(str(asg, "assignmentPolicyId"))
		}
		if pol.packageID != pkg.id {
			return c.badRequest("The assignment policy does not belong to the access package.")
		}
		targetID, email := strings.ToLower(str(asg, "targetId")), ""
		if t, ok := asg["target"].(map[string]any); ok {
			if err := checkKeys(t, "accessPackageSubject", "id", "objectId", "email", "displayName", "principalName", "subjectType", "onPremisesSecurityIdentifier"); err != nil {
				return c.emErrResp(err)
			}
			if targetID == "" {
				targetID = strings.ToLower(str(t, "objectId"))
			}
			email = str(t, "email")
		}
		if targetID == "" && email != "" {
			if u := s.st.userByMail(email); u != nil {
				targetID = u.ID
			} else if !allowsExternal(pol) {
				return c.badRequest(fmt.Sprintf("'%s' is not a user of this directory and the policy does not allow external users.", email))
			}
		}
		if targetID == "" && email == "" {
			return c.badRequest("adminAdd requires assignment.targetId (or assignment.target.email).")
		}
		if targetID != "" {
			k, ok := s.st.kindOf(targetID)
			if !ok {
				return c.notFound(targetID)
			}
			if k == kindGroup {
				return c.badRequest("A group cannot be the target of an access package assignment; assign its members.")
			}
			if msg := s.targetFits(pol, targetID, k); msg != "" {
				return c.badRequest(msg)
			}
			for _, a := range em.assignments {
				if a.packageID == pkg.id && a.policyID == pol.id && a.targetID == targetID && liveAssignment(a) {
					return c.badRequest(fmt.Sprintf("The target already has an active assignment '%s' for this access package under this policy.", a.id))
				}
			}
		}
		a := &assignmentRec{id: s.ids.uuid(), packageID: pkg.id, policyID: pol.id, targetID: targetID, targetEmail: email,
			state: "delivering", status: "Delivering", seq: s.st.nextSeq(), created: c.now}
		em.assignments[a.id] = a
		rq.packageID, rq.policyID, rq.assignment, rq.targetID = pkg.id, pol.id, a.id, targetID
	case "adminremove":
		rq.requestType = "adminRemove"
		id := str(asg, "id")
		if id == "" {
			return c.badRequest("adminRemove requires assignment.id.")
		}
		a := em.assignments[strings.ToLower(id)]
		if a == nil {
			return c.notFound(id)
		}
		if !liveAssignment(a) {
			return c.badRequest(fmt.Sprintf("The assignment '%s' is %s and cannot be removed.", a.id, a.state))
		}
		for _, o := range em.requests {
			if o.requestType == "adminRemove" && o.assignment == a.id && (o.state == "submitted" || o.state == "delivering") {
				return c.badRequest(fmt.Sprintf("A removal request '%s' for this assignment is already being processed.", o.id))
			}
		}
		rq.packageID, rq.policyID, rq.assignment, rq.targetID = a.packageID, a.policyID, a.id, a.targetID
	case "":
		return c.badRequest("A value is required for property 'requestType' of resource 'accessPackageAssignmentRequest'.")
	default:
		return c.badRequest(fmt.Sprintf("requestType '%s' is not supported by this tenant for application callers; use adminAdd or adminRemove.", reqType))
	}
	rq.seq = s.st.nextSeq()
	em.requests[rq.id] = rq
	em.pending = append(em.pending, rq)
	return c.jsonResp(201, append(object{{"@odata.context", c.context("identityGovernance/entitlementManagement/assignmentRequests/$entity")}}, s.requestItem(c, rq, emExpand{}).full...))
}

func allowsExternal(pol *policyRec) bool {
	switch objGet(pol.body, "allowedTargetScope") {
	case "allExternalUsers", "allConfiguredConnectedOrganizationUsers", "specificConnectedOrganizationUsers":
		return true
	}
	return false
}

// targetFits checks the kind of target against the policy's
// allowedTargetScope (admin direct assignments bypass requestor rules and
// approval, but users cannot receive a service-principal policy and vice
// versa). notSpecified (the direct-assignment policy) accepts any target.
func (s *Sim) targetFits(pol *policyRec, target string, k kind) string {
	scope, _ := objGet(pol.body, "allowedTargetScope").(string)
	switch scope {
	case "specificDirectoryServicePrincipals", "allDirectoryServicePrincipals":
		if k != kindSP {
			return "The policy only allows service principals as targets."
		}
	case "allDirectoryAgentIdentities":
		if !s.isAgentIdentity(target) {
			return "The policy only allows agent identities as targets."
		}
	case "notSpecified", "":
	default:
		if k != kindUser {
			return "The policy only allows users as targets."
		}
	}
	return ""
}

// userByMail finds a user by mail, otherMails or userPrincipalName.
func (st *store) userByMail(email string) *userRec {
	for _, u := range st.sortedUsers() {
		if strings.EqualFold(u.Mail, email) || strings.EqualFold(u.UserPrincipalName, email) {
			return u
		}
		for _, o := range u.OtherMails {
			if strings.EqualFold(o, email) {
				return u
			}
		}
	}
	return nil
}
