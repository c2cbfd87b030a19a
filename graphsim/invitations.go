package graphsim

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Invitations (README §3): POST /invitations → 201 and a guest user that
// is subject to replication lag like any new object.
//
// Decisions where the reference is silent:
//   - An address that already belongs to a user (mail, otherMails or
//     userPrincipalName) is not invited again: the 201 names the existing
//     user in invitedUser.id (Graph re-sends the invitation to the same
//     guest); status is PendingAcceptance for guests that have not
//     redeemed, Completed otherwise.
//   - Addresses in one of the tenant's own domains are refused (400): they
//     are members, not guests.
//   - displayName defaults to the part of the address before '@'.

func registerInvitationRoutes(r *router) {
	r.add("POST", "/invitations", createInvitation)
}

// createGuest adds a guest user for an external address (created at at:
// replication lag applies from then).
func (s *Sim) createGuest(email, displayName, userType string, at time.Time) *userRec {
	local, domain, _ := strings.Cut(email, "@")
	nick := local + "_" + domain + "#EXT#"
	if displayName == "" {
		displayName = local
	}
	if userType == "" {
		userType = "Guest"
	}
	u := &userRec{User: User{
		ID:                s.ids.uuid(),
		UserPrincipalName: nick + "@" + s.st.tenant.Domain,
		DisplayName:       displayName,
		Mail:              email,
		MailNickname:      nick,
		OtherMails:        []string{email},
		UserType:          userType,
		CreationType:      "Invitation",
		ExternalUserState: "PendingAcceptance",
		AccountEnabled:    boolPtr(true),
	}, seq: s.st.nextSeq(), created: at}
	s.st.users[u.ID] = u
	s.st.usersChanged()
	return u
}

func (st *store) ownDomain(domain string) bool {
	if strings.EqualFold(domain, st.tenant.Domain) {
		return true
	}
	for _, d := range st.tenant.VerifiedDomains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

func createInvitation(c *reqCtx) *response {
	s := c.s
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	if err := checkKeys(m, "invitation", "invitedUserEmailAddress", "inviteRedirectUrl", "sendInvitationMessage", "invitedUserDisplayName",
		"invitedUserType", "invitedUserMessageInfo", "resetRedemption", "id", "status", "inviteRedeemUrl", "invitedUser", "invitedUserSponsors"); err != nil {
		return c.emErrResp(err)
	}
	str := func(k string) (string, *response) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", nil
		}
		sv, ok := v.(string)
		if !ok {
			return "", c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", v))
		}
		return sv, nil
	}
	boolean := func(k string) (bool, *response) {
		v, ok := m[k]
		if !ok || v == nil {
			return false, nil
		}
		b, ok := v.(bool)
		if !ok {
			return false, c.errResp(400, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v))
		}
		return b, nil
	}
	email, r := str("invitedUserEmailAddress")
	if r != nil {
		return r
	}
	redirect, r := str("inviteRedirectUrl")
	if r != nil {
		return r
	}
	display, r := str("invitedUserDisplayName")
	if r != nil {
		return r
	}
	userType, r := str("invitedUserType")
	if r != nil {
		return r
	}
	send, r := boolean("sendInvitationMessage")
	if r != nil {
		return r
	}
	reset, r := boolean("resetRedemption")
	if r != nil {
		return r
	}
	email = strings.TrimSpace(email)
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(email, " ,;<>") {
		return c.badRequest("The invited user email address is invalid.")
	}
	if redirect == "" {
		return c.badRequest("A value is required for property 'inviteRedirectUrl' of resource 'invitation'.")
	}
	if u, err := url.Parse(redirect); err != nil || u.Scheme == "" || u.Host == "" {
		return c.badRequest("inviteRedirectUrl must be an absolute URL.")
	}
	switch {
	case userType == "":
		userType = "Guest"
	case strings.EqualFold(userType, "Guest"):
		userType = "Guest"
	case strings.EqualFold(userType, "Member"):
		userType = "Member"
	default:
		return c.badRequest("invitedUserType must be Guest or Member.")
	}
	if s.st.ownDomain(domain) {
		return c.badRequest(fmt.Sprintf("The invited user's domain '%s' is a verified domain of this tenant; invite external addresses only.", domain))
	}
	msgInfo := object{{"messageLanguage", nil}, {"customizedMessageBody", nil}, {"ccRecipients", []any{}}}
	if v, ok := m["invitedUserMessageInfo"]; ok && v != nil {
		mi, ok := v.(map[string]any)
		if !ok {
			return c.errResp(400, "BadRequest", "Cannot convert the value of 'invitedUserMessageInfo' to the expected type 'microsoft.graph.invitedUserMessageInfo'.")
		}
		if err := checkKeys(mi, "invitedUserMessageInfo", "messageLanguage", "customizedMessageBody", "ccRecipients"); err != nil {
			return c.emErrResp(err)
		}
		for i, f := range msgInfo {
			if v, ok := mi[f.K]; ok && v != nil {
				msgInfo[i].V = v
			}
		}
	}
	status := "PendingAcceptance"
	u := s.st.userByMail(email)
	if u == nil {
		u = s.createGuest(email, display, userType, c.now)
	} else if u.ExternalUserState != "PendingAcceptance" {
		status = "Completed"
	}
	id := s.ids.uuid()
	ticket := strings.ReplaceAll(s.ids.uuid(), "-", "")
	redeem := "https://login.microsoftonline.com/redeem?rd=" + url.QueryEscape("https://invitations.microsoft.com/redeem/?tenant="+s.st.tenant.ID+"&user="+id+"&ticket="+ticket+"&ver=2.0")
	body := object{
		{"@odata.context", c.context("invitations/$entity")},
		{"id", id},
		{"inviteRedeemUrl", redeem},
		{"invitedUserDisplayName", nullable(display)},
		{"invitedUserType", userType},
		{"invitedUserEmailAddress", email},
		{"sendInvitationMessage", send},
		{"resetRedemption", reset},
		{"inviteRedirectUrl", redirect},
		{"status", status},
		{"invitedUserMessageInfo", msgInfo},
		{"invitedUser", object{{"id", u.ID}}},
	}
	return c.jsonResp(201, body)
}
