package graphsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	v1          = "/v1.0"
	demoGraphSP = "5a1e0b7c-3d4f-4e6a-9b8c-7d6e5f4a3b21"
)

func agentHarness(t *testing.T) *harness {
	return newHarness(t, DemoFixture())
}

// setupAgent creates blueprint → principal → identity and returns their ids.
func setupAgent(t *testing.T, h *harness) (bpID, appID, principalID, identityID string) {
	t.Helper()
	body := map[string]any{"displayName": "Agent BP", "sponsors@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + demoAlice}}
	r := h.do("POST", v1+"/applications/microsoft.graph.agentIdentityBlueprint", body).mustStatus(t, 201)
	bpID, appID = r.obj["id"].(string), r.obj["appId"].(string)
	r = h.do("POST", v1+"/servicePrincipals/Microsoft.Graph.AgentIdentityBlueprintPrincipal", map[string]any{"appId": appID}).mustStatus(t, 201)
	principalID = r.obj["id"].(string)
	r = h.do("POST", v1+"/servicePrincipals/microsoft.graph.agentIdentity", map[string]any{"displayName": "Agent 1", "agentIdentityBlueprintId": appID,
		"sponsors@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + demoBob}}).mustStatus(t, 201)
	identityID = r.obj["id"].(string)
	return
}

func TestAgentBlueprintShapes(t *testing.T) {
	h := agentHarness(t)
	req := exampleObject(t, "agentIdentityBlueprint-create.request.json")
	req["sponsors@odata.bind"] = []any{"https://graph.microsoft.com/v1.0/users/" + demoAlice}
	r := h.do("POST", v1+"/applications/microsoft.graph.agentIdentityBlueprint", req).mustStatus(t, 201)
	validate(t, "microsoft.graph.agentIdentityBlueprint", r.raw)
	sameKeys(t, "create", exampleObject(t, "agentIdentityBlueprint-create.response.json"), r.obj)
	id := r.obj["id"].(string)
	// Missing sponsors at POST.
	h.do("POST", v1+"/applications/microsoft.graph.agentIdentityBlueprint", map[string]any{"displayName": "x"}).mustStatus(t, 400)
	// List shape.
	r = h.do("GET", v1+"/applications/microsoft.graph.agentIdentityBlueprint", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.agentIdentityBlueprintCollectionResponse", r.raw)
	list := exampleObject(t, "agentIdentityBlueprint-list.response.json")["value"].([]any)[0].(map[string]any)
	sameKeys(t, "list", list, r.values()[0])
	// Update example, expose API (seed), tags.
	h.do("PATCH", v1+"/applications/"+id+"/microsoft.graph.agentIdentityBlueprint", exampleObject(t, "agentIdentityBlueprint-update.request.json")).mustStatus(t, 204)
	h.do("PATCH", v1+"/applications/"+id, `{"identifierUris":["api://x"],"tags":["environment:dev"],"api":{"oauth2PermissionScopes":[{"adminConsentDescription":"d","adminConsentDisplayName":"Access agent","id":"c4fa0790-b77f-4b67-ae81-6acd14d47a61","isEnabled":true,"type":"User","value":"access_agent"}]}}`).mustStatus(t, 204)
	r = h.do("GET", v1+"/applications/"+id+"/microsoft.graph.agentidentityblueprint", nil).mustStatus(t, 200)
	if r.obj["displayName"] != "My New Name" || r.obj["tags"].([]any)[0] != "environment:dev" {
		t.Fatalf("update not applied: %s", r.raw)
	}
	if v := r.obj["api"].(map[string]any)["oauth2PermissionScopes"].([]any); len(v) != 1 {
		t.Fatalf("scopes: %s", r.raw)
	}
	// An enabled scope cannot be removed; disabled first, it can.
	if c := h.do("PATCH", v1+"/applications/"+id, `{"api":{"oauth2PermissionScopes":[]}}`).mustStatus(t, 400).errorCode(); c != "CannotDeleteOrUpdateEnabledEntitlement" {
		t.Fatalf("removing an enabled scope: %s", c)
	}
	h.do("PATCH", v1+"/applications/"+id, `{"api":{"oauth2PermissionScopes":[{"adminConsentDescription":"d","adminConsentDisplayName":"Access agent","id":"c4fa0790-b77f-4b67-ae81-6acd14d47a61","isEnabled":false,"type":"User","value":"access_agent"}]}}`).mustStatus(t, 204)
	h.do("PATCH", v1+"/applications/"+id, `{"api":{"oauth2PermissionScopes":[]}}`).mustStatus(t, 204)
	h.do("PATCH", v1+"/applications/"+id, `{"passwordCredentials":[]}`).mustStatus(t, 400)
	if c := h.do("PATCH", v1+"/applications/"+id, `{"web":{}}`).mustStatus(t, 400).errorCode(); c != "AgentBlueprint_IncompatibleProperty" {
		t.Fatal(c)
	}
}

func TestAgentBlueprintUpsert(t *testing.T) {
	h := agentHarness(t)
	p := v1 + "/applications(uniqueName='app-65278')/microsoft.graph.agentIdentityBlueprint"
	body := exampleObject(t, "agentIdentityBlueprint-upsert.request.json")
	h.do("PATCH", p, body).mustStatus(t, 404)
	r := h.do("PATCH", p, body, "Prefer: create-if-missing").mustStatus(t, 201)
	validate(t, "microsoft.graph.agentIdentityBlueprint", r.raw)
	sameKeys(t, "upsert", exampleObject(t, "agentIdentityBlueprint-upsert.response.json"), r.obj)
	if r.obj["uniqueName"] != "app-65278" {
		t.Fatal(r.obj["uniqueName"])
	}
	h.do("PATCH", p, map[string]any{"description": "d"}, "Prefer: create-if-missing").mustStatus(t, 204)
	r = h.do("GET", p, nil).mustStatus(t, 200)
	if r.obj["description"] != "d" {
		t.Fatal(string(r.raw))
	}
}

func TestAgentSponsorsOwners(t *testing.T) {
	h := agentHarness(t)
	bp, _, _, ai := setupAgent(t, h)
	base := v1 + "/applications/" + bp + "/microsoft.graph.agentIdentityBlueprint"
	h.do("POST", base+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoBob}).mustStatus(t, 204)
	if h.do("POST", base+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoBob}).mustStatus(t, 400).errorCode() != "Request_BadRequest" {
		t.Fatal("duplicate sponsor")
	}
	h.do("POST", base+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + ai}).mustStatus(t, 400)            // SP
	h.do("POST", base+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoSecGroup1}).mustStatus(t, 400) // static security group
	h.do("POST", base+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoSalesDyn}).mustStatus(t, 204)
	if ids := h.do("GET", base+"/sponsors", nil).mustStatus(t, 200).ids(); len(ids) != 3 {
		t.Fatal(ids)
	}
	h.do("DELETE", base+"/sponsors/"+demoBob+"/$ref", nil).mustStatus(t, 204)
	h.do("DELETE", base+"/sponsors/"+demoBob+"/$ref", nil).mustStatus(t, 404)
	h.do("POST", base+"/owners/$ref", exampleObject(t, "agentIdentityBlueprint-owners-add.request.json")).mustStatus(t, 404)
	h.do("POST", base+"/owners/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoCarol}).mustStatus(t, 204)
	if ids := h.do("GET", base+"/owners", nil).mustStatus(t, 200).ids(); len(ids) != 1 {
		t.Fatal(ids)
	}
	aip := v1 + "/servicePrincipals/" + ai + "/microsoft.graph.agentIdentity"
	h.do("POST", aip+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoCarol}).mustStatus(t, 204)
	if ids := h.do("GET", aip+"/sponsors", nil).mustStatus(t, 200).ids(); len(ids) != 2 {
		t.Fatal(ids)
	}
}

func TestAgentInheritableAndFIC(t *testing.T) {
	h := agentHarness(t)
	bp, _, _, _ := setupAgent(t, h)
	base := v1 + "/applications/" + bp + "/microsoft.graph.agentIdentityBlueprint/inheritablePermissions"
	for _, ex := range []string{"agentIdentityBlueprint-inheritablePermission-create-allAllowed", "agentIdentityBlueprint-inheritablePermission-create"} {
		r := h.do("POST", base, exampleObject(t, ex+".request.json"))
		if ex == "agentIdentityBlueprint-inheritablePermission-create" {
			r.mustStatus(t, 400) // same resourceAppId
			h.do("DELETE", base+"/00000003-0000-0000-c000-000000000000", nil).mustStatus(t, 204)
			r = h.do("POST", base, exampleObject(t, ex+".request.json"))
		}
		r.mustStatus(t, 201)
		validate(t, "microsoft.graph.inheritablePermission", r.raw)
		want := exampleObject(t, ex+".response.json")
		sameKeys(t, ex, want, r.obj)
		got, _ := json.Marshal(r.obj["inheritableScopes"])
		exp, _ := json.Marshal(want["inheritableScopes"])
		if !bytes.Equal(got, exp) {
			t.Fatalf("%s: %s want %s", ex, got, exp)
		}
	}
	h.do("PATCH", base+"/00000003-0000-0000-c000-000000000000", `{"inheritableScopes":{"@odata.type":"microsoft.graph.enumeratedScopes","scopes":["User.Read"]}}`).mustStatus(t, 204)
	r := h.do("GET", base, nil).mustStatus(t, 200)
	if v := r.values(); len(v) != 1 || len(v[0]["inheritableScopes"].(map[string]any)["scopes"].([]any)) != 1 {
		t.Fatal(string(r.raw))
	}
	// FICs.
	fp := v1 + "/applications/" + bp + "/federatedIdentityCredentials"
	r = h.do("POST", fp, exampleObject(t, "federatedIdentityCredential-create.request.json")).mustStatus(t, 201)
	validate(t, "microsoft.graph.federatedIdentityCredential", r.raw)
	sameKeys(t, "fic", exampleObject(t, "federatedIdentityCredential-create.response.json"), r.obj)
	ficID := r.obj["id"].(string)
	h.do("POST", fp, exampleObject(t, "federatedIdentityCredential-create.request.json")).mustStatus(t, 400)
	up := fp + "(name='gh')"
	body := map[string]any{"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main", "audiences": []string{"api://AzureADTokenExchange"}}
	// Without Prefer: create-if-missing the PATCH is an update: a missing
	// credential is 404 (federatedidentitycredential-upsert), as for the
	// group and blueprint upserts.
	h.do("PATCH", up, body).mustStatus(t, 404)
	h.do("PATCH", up, body, "Prefer: create-if-missing").mustStatus(t, 201)
	body["subject"] = "repo:o/r:environment:prod"
	h.do("PATCH", up, body).mustStatus(t, 204)
	h.do("PATCH", up, body, "Prefer: create-if-missing").mustStatus(t, 204)
	r = h.do("GET", fp, nil).mustStatus(t, 200)
	if v := r.values(); len(v) != 2 || v[1]["subject"] != "repo:o/r:environment:prod" {
		t.Fatal(string(r.raw))
	}
	h.do("DELETE", fp+"/"+ficID, nil).mustStatus(t, 204)
	h.do("DELETE", fp+"/"+ficID, nil).mustStatus(t, 404)
}

func TestAgentPrincipalIdentityUser(t *testing.T) {
	h := agentHarness(t)
	r := h.do("POST", v1+"/servicePrincipals/microsoft.graph.agentIdentity", exampleObject(t, "agentIdentity-create.request.json")).mustStatus(t, 400)
	_ = r
	bp, appID, principal, ai := setupAgent(t, h)
	_ = bp
	r = h.do("POST", v1+"/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", exampleObject(t, "agentIdentityBlueprintPrincipal-create.request.json"))
	r.mustStatus(t, 400)
	r = h.do("POST", v1+"/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal", map[string]any{"appId": appID}).mustStatus(t, 400)
	want := exampleObject(t, "error-Request_MultipleObjectsWithSameKeyValue.observed.response.json")
	if r.errorCode() != "Request_MultipleObjectsWithSameKeyValue" || !strings.Contains(r.errorMessage(), appID) {
		t.Fatal(string(r.raw))
	}
	sameKeys(t, "conflict detail", want["error"].(map[string]any)["details"].([]any)[0].(map[string]any), r.obj["error"].(map[string]any)["details"].([]any)[0].(map[string]any))
	r = h.do("GET", v1+"/servicePrincipals/"+principal, nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.agentIdentityBlueprintPrincipal", r.raw)
	r = h.do("GET", v1+"/servicePrincipals/microsoft.graph.agentIdentity", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.agentIdentityCollectionResponse", r.raw)
	sameKeys(t, "ai list", exampleObject(t, "agentIdentity-list.response.json")["value"].([]any)[0].(map[string]any), r.values()[0])
	r = h.do("GET", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", nil).mustStatus(t, 200)
	if r.obj["servicePrincipalType"] != "ServiceIdentity" || r.obj["agentIdentityBlueprintId"] != appID {
		t.Fatal(string(r.raw))
	}
	h.do("PATCH", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", exampleObject(t, "agentIdentity-update.request.json")).mustStatus(t, 204)
	h.do("PATCH", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", `{"accountEnabled":false,"tags":["environment:development"]}`).mustStatus(t, 204)
	if c := h.do("PATCH", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", `{"passwordCredentials":[]}`).mustStatus(t, 400).errorCode(); c != "AgentIdentity_CredentialsNotSupported" {
		t.Fatal(c)
	}
	if c := h.do("POST", v1+"/servicePrincipals/"+ai+"/addPassword", `{}`).mustStatus(t, 400).errorCode(); c != "AgentIdentity_CredentialsNotSupported" {
		t.Fatal(c)
	}
	// Agent user.
	req := exampleObject(t, "agentUser-create.request.json")
	req["identityParentId"] = ai
	r = h.do("POST", v1+"/users/microsoft.graph.agentUser", req).mustStatus(t, 201)
	validate(t, "microsoft.graph.agentUser", r.raw)
	sameKeys(t, "agent user", exampleObject(t, "agentUser-create.response.json"), r.obj)
	uid := r.obj["id"].(string)
	req["userPrincipalName"], req["mailNickname"] = "other@contoso.com", "other"
	h.do("POST", v1+"/users/microsoft.graph.agentUser", req).mustStatus(t, 400)
	if ids := h.do("GET", v1+"/users/microsoft.graph.agentUser", nil).mustStatus(t, 200).ids(); len(ids) != 1 || ids[0] != uid {
		t.Fatal(ids)
	}
	h.do("DELETE", v1+"/users/"+uid, nil).mustStatus(t, 204)
	h.do("DELETE", v1+"/users/"+demoAlice, nil).mustStatus(t, 400)
}

func TestAgentCascade(t *testing.T) {
	h := agentHarness(t)
	bp, _, principal, ai := setupAgent(t, h)
	h.do("DELETE", v1+"/applications/"+bp+"/microsoft.graph.agentIdentityBlueprint", nil).mustStatus(t, 204)
	h.do("GET", v1+"/applications/"+bp+"/microsoft.graph.agentIdentityBlueprint", nil).mustStatus(t, 404)
	h.do("GET", v1+"/servicePrincipals/"+principal, nil).mustStatus(t, 404)
	h.do("GET", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", nil).mustStatus(t, 200)
	h.clock.Advance(23 * time.Hour)
	h.do("GET", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", nil).mustStatus(t, 200)
	h.clock.Advance(2 * time.Hour)
	h.do("GET", v1+"/servicePrincipals/"+ai+"/microsoft.graph.agentIdentity", nil).mustStatus(t, 404)
}

func TestGrantsAndAssignments(t *testing.T) {
	h := agentHarness(t)
	_, _, principal, ai := setupAgent(t, h)
	graph := demoGraphSP
	r := h.do("GET", v1+"/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appId,appRoles,oauth2PermissionScopes", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.servicePrincipal", r.raw)
	if len(r.obj["appRoles"].([]any)) < 20 {
		t.Fatal("graph roles")
	}
	r = h.do("GET", v1+"/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'&$select=id,displayName,appId,appRoles", nil).mustStatus(t, 200)
	if ids := r.ids(); len(ids) != 1 || ids[0] != graph {
		t.Fatal(string(r.raw))
	}
	body := map[string]any{"principalId": ai, "resourceId": graph, "appRoleId": "df021288-bdef-4463-88db-98f22de89214"}
	r = h.do("POST", v1+"/servicePrincipals/"+graph+"/appRoleAssignedTo", body).mustStatus(t, 201)
	validate(t, "microsoft.graph.appRoleAssignment", r.raw)
	sameKeys(t, "ara", exampleObject(t, "servicePrincipal-appRoleAssignedTo-grantGraphRole.response.json"), r.obj)
	aid := r.obj["id"].(string)
	if r := h.do("POST", v1+"/servicePrincipals/"+ai+"/appRoleAssignments", body).mustStatus(t, 400); r.errorMessage() != "Permission being assigned already exists on the object." {
		t.Fatal(string(r.raw))
	}
	h.do("POST", v1+"/servicePrincipals/"+principal+"/appRoleAssignments", map[string]any{"principalId": principal, "resourceId": graph, "appRoleId": "98830695-27a2-44f7-8c18-0c3ebc9698f6"}).mustStatus(t, 201)
	if got := h.sim.EffectiveAppRoles(ai); strings.Join(got, ",") != "User.Read.All,GroupMember.Read.All" {
		t.Fatal(got)
	}
	if ids := h.do("GET", v1+"/servicePrincipals/"+ai+"/appRoleAssignments", nil).mustStatus(t, 200).ids(); len(ids) != 1 {
		t.Fatal(ids)
	}
	h.do("DELETE", v1+"/servicePrincipals/"+graph+"/appRoleAssignedTo/"+aid, nil).mustStatus(t, 204)
	h.do("DELETE", v1+"/servicePrincipals/"+graph+"/appRoleAssignedTo/"+aid, nil).mustStatus(t, 404)
	// Delegated grants.
	g := exampleObject(t, "oauth2PermissionGrant-create-allPrincipals.request.json")
	g["clientId"], g["resourceId"] = ai, graph
	r = h.do("POST", v1+"/oauth2PermissionGrants", g).mustStatus(t, 201)
	validate(t, "microsoft.graph.oAuth2PermissionGrant", r.raw)
	sameKeys(t, "grant", exampleObject(t, "oauth2PermissionGrant-create.response.json"), r.obj)
	gid := r.obj["id"].(string)
	if c := h.do("POST", v1+"/oauth2PermissionGrants", g).mustStatus(t, 409).errorCode(); c != "Request_MultipleObjectsWithSameKeyValue" {
		t.Fatal(c)
	}
	h.do("PATCH", v1+"/oauth2PermissionGrants/"+gid, exampleObject(t, "oauth2PermissionGrant-update.request.json")).mustStatus(t, 204)
	r = h.do("GET", v1+"/oauth2PermissionGrants?$filter=clientId eq '"+ai+"' and consentType eq 'AllPrincipals' and resourceId eq '"+graph+"'", nil).mustStatus(t, 200)
	validate(t, "microsoft.graph.oAuth2PermissionGrantCollectionResponse", r.raw)
	if v := r.values(); len(v) != 1 || v[0]["scope"] != "User.Read.All" {
		t.Fatal(string(r.raw))
	}
	h.do("PATCH", v1+"/oauth2PermissionGrants/"+gid, `{"scope":"No.Such.Scope"}`).mustStatus(t, 400)
	h.do("DELETE", v1+"/oauth2PermissionGrants/"+gid, nil).mustStatus(t, 204)
	h.do("GET", v1+"/oauth2PermissionGrants/"+gid, nil).mustStatus(t, 404)
}

func TestAgentSaveRestore(t *testing.T) {
	h := agentHarness(t)
	bp, _, _, ai := setupAgent(t, h)
	h.do("POST", v1+"/applications/"+bp+"/microsoft.graph.agentIdentityBlueprint/inheritablePermissions", exampleObject(t, "agentIdentityBlueprint-inheritablePermission-create.request.json")).mustStatus(t, 201)
	h.do("POST", v1+"/servicePrincipals/"+ai+"/appRoleAssignments", map[string]any{"principalId": ai, "resourceId": demoGraphSP, "appRoleId": "df021288-bdef-4463-88db-98f22de89214"}).mustStatus(t, 201)
	var buf bytes.Buffer
	if err := h.sim.Save(&buf); err != nil {
		t.Fatal(err)
	}
	s2, err := Restore(bytes.NewReader(buf.Bytes()), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := s2.Save(&buf2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatalf("save/restore/save differs:\n%s\n---\n%s", buf.String(), buf2.String())
	}
	if got := s2.EffectiveAppRoles(ai); len(got) != 1 {
		t.Fatal(got)
	}
}
