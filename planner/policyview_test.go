package planner

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/entrasync/entrasync/model"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/render")

const reqID = "00000000-0000-0000-0000-00000000b002"

// jsonBody decodes a body written as JSON, ids spelled as $alice, $bob,
// $fin and $req.
func jsonBody(t *testing.T, s string) map[string]any {
	t.Helper()
	s = strings.NewReplacer("$alice", alice, "$bob", bob, "$fin", gFin, "$req", reqID).Replace(s)
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v in\n%s", err, s)
	}
	return m
}

// requestsSpec is policy "Requests" as the spec loader writes it from
//
//	displayName: Requests
//	description: Campaign requests
//	who: allMemberUsers
//	expiration: 30d
//	selfService: {add: true, remove: true}
//	approval:
//	  justification: true
//	  stages:
//	    - {approvers: [{user: alice@contoso.com}, manager], timeout: 14d, justification: true}
//	review:
//	  every: 3 months
//	  starting: "2026-12-01"
//	  reviewers: [{group: Finance}]
//	  onNoResponse: removeAccess
//	questions:
//	  - {text: Why do you need access?, required: true, multiline: true}
//	  - {text: Which region?, choices: [EMEA, Americas]}
const requestsSpec = `{
  "displayName": "Requests",
  "description": "Campaign requests",
  "allowedTargetScope": "allMemberUsers",
  "expiration": {"type": "afterDuration", "duration": "P30D"},
  "requestorSettings": {"enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": false, "enableTargetsToSelfRemoveAccess": true},
  "requestApprovalSettings": {"isApprovalRequiredForAdd": true, "isRequestorJustificationRequired": true, "stages": [
    {"isApproverJustificationRequired": true, "durationBeforeAutomaticDenial": "P14D",
     "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": "alice@contoso.com"},
                          {"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}],
     "fallbackPrimaryApprovers": []}]},
  "reviewSettings": {"isEnabled": true, "isSelfReview": false, "isReviewerJustificationRequired": false,
    "primaryReviewers": [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": "Finance"}],
    "expirationBehavior": "removeAccess",
    "schedule": {"recurrence": {"pattern": {"interval": 3, "type": "absoluteMonthly"}, "range": {"type": "noEnd"}},
      "startDateTime": "2026-12-01T00:00:00Z", "expiration": {"type": "afterDuration", "duration": "P14D"}}},
  "questions": [
    {"text": "Why do you need access?", "isRequired": true, "sequence": 1,
     "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "isSingleLineQuestion": false},
    {"text": "Which region?", "isRequired": false, "sequence": 2,
     "@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "isMultipleSelectionAllowed": false,
     "choices": [{"actualValue": "EMEA", "text": "EMEA"}, {"actualValue": "Americas", "text": "Americas"}]}]
}`

// requestsLive is the same policy as Graph returns it: ids, defaults,
// nulls, empty lists and server-set properties.
const requestsLive = `{
  "@odata.etag": "W/\"JzEtUG9saWN5IDEwMDAwMDAwMDAwMCc=\"",
  "id": "$req",
  "displayName": "Requests",
  "description": "Campaign requests",
  "allowedTargetScope": "allMemberUsers",
  "specificAllowedTargets": [],
  "automaticRequestSettings": null,
  "createdDateTime": "2026-11-01T09:30:12.437Z",
  "modifiedDateTime": "2026-11-20T16:02:48.101Z",
  "expiration": {"endDateTime": null, "duration": "P30D", "type": "afterDuration"},
  "requestorSettings": {"enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": false,
    "enableTargetsToSelfRemoveAccess": true, "allowCustomAssignmentSchedule": false,
    "enableOnBehalfRequestorsToAddAccess": false, "enableOnBehalfRequestorsToUpdateAccess": false,
    "enableOnBehalfRequestorsToRemoveAccess": false, "onBehalfRequestors": []},
  "requestApprovalSettings": {"isApprovalRequiredForAdd": true, "isApprovalRequiredForUpdate": false,
    "isRequestorJustificationRequired": true, "stages": [
    {"durationBeforeAutomaticDenial": "P14D", "isApproverJustificationRequired": true,
     "isEscalationEnabled": false, "durationBeforeEscalation": "PT0S",
     "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": "$alice", "description": null},
                          {"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}],
     "fallbackPrimaryApprovers": [], "escalationApprovers": [], "fallbackEscalationApprovers": [],
     "approverInformationVisibility": "default"}]},
  "reviewSettings": {"isEnabled": true, "expirationBehavior": "removeAccess", "isRecommendationEnabled": false,
    "isReviewerJustificationRequired": false, "isSelfReview": false,
    "schedule": {"startDateTime": "2026-12-01T00:00:00Z",
      "expiration": {"endDateTime": null, "duration": "P14D", "type": "afterDuration"},
      "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3, "month": 0, "dayOfMonth": 0, "daysOfWeek": [],
        "firstDayOfWeek": "sunday", "index": "first"},
        "range": {"type": "noEnd", "numberOfOccurrences": 0, "recurrenceTimeZone": null, "startDate": null, "endDate": null}}},
    "primaryReviewers": [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": "$fin", "description": null}],
    "fallbackReviewers": []},
  "notificationSettings": {"isAssignmentNotificationDisabled": false},
  "customExtensionStageSettings": [],
  "questions": [
    {"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "5c2b9a47-52d3-4e0e-9c11-58a0f0e1a0f1",
     "sequence": 1, "isRequired": true, "isAnswerEditable": false, "text": "Why do you need access?", "localizations": [],
     "isSingleLineQuestion": false, "regexPattern": null},
    {"@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "id": "5c2b9a47-52d3-4e0e-9c11-58a0f0e1a0f2",
     "sequence": 2, "isRequired": false, "isAnswerEditable": false, "text": "Which region?", "localizations": [],
     "choices": [{"actualValue": "EMEA", "text": "EMEA", "localizations": []},
                 {"actualValue": "Americas", "text": "Americas", "localizations": []}],
     "isMultipleSelectionAllowed": false}]
}`

// onboardingSpec is a new policy, as the spec loader writes it from
//
//	displayName: Onboarding
//	who: specificDirectoryUsers
//	allowedTargets: [{group: Finance}]
//	expiration: never
//	onBehalf: {requestors: [manager], add: true}
//	approval:
//	  stages: [{approvers: [sponsors], fallbackApprovers: [{user: bob@contoso.com}], timeout: 12h}]
//	questions: [{text: First day?, required: true}]
const onboardingSpec = `{
  "displayName": "Onboarding",
  "allowedTargetScope": "specificDirectoryUsers",
  "specificAllowedTargets": [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": "Finance"}],
  "expiration": {"type": "noExpiration"},
  "requestorSettings": {"enableOnBehalfRequestorsToAddAccess": true, "enableOnBehalfRequestorsToUpdateAccess": false,
    "enableOnBehalfRequestorsToRemoveAccess": false,
    "onBehalfRequestors": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}]},
  "requestApprovalSettings": {"isApprovalRequiredForAdd": true, "isRequestorJustificationRequired": false, "stages": [
    {"isApproverJustificationRequired": false, "durationBeforeAutomaticDenial": "PT12H",
     "primaryApprovers": [{"@odata.type": "#microsoft.graph.internalSponsors"}],
     "fallbackPrimaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": "bob@contoso.com"}]}]},
  "questions": [{"text": "First day?", "isRequired": true, "sequence": 1,
    "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "isSingleLineQuestion": true}]
}`

// stage is the first approval stage of a body.
func stage(body map[string]any) map[string]any {
	return body["requestApprovalSettings"].(map[string]any)["stages"].([]any)[0].(map[string]any)
}

// policyCase plans package "Campaign" with policy "Requests" live and the
// spec's policies edited by edit.
type policyCase struct {
	name string
	edit func(t *testing.T, spec map[string]any) []*model.Policy
	// want are lines the text view must show.
	want []string
}

var policyCases = []policyCase{
	{name: "policy-timeout", edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		stage(spec)["durationBeforeAutomaticDenial"] = "P7D"
		return []*model.Policy{{DisplayName: "Requests", Body: spec}}
	}, want: []string{`~ approval.stages[0].timeout = "14d" -> "7d"`}},
	{name: "policy-approver-swap", edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		stage(spec)["primaryApprovers"].([]any)[0].(map[string]any)["userId"] = "bob@contoso.com"
		return []*model.Policy{{DisplayName: "Requests", Body: spec}}
	}, want: []string{`~ approval.stages[0].approvers = [user "alice@contoso.com", manager] -> [user "bob@contoso.com", manager]`}},
	{name: "policy-reviewer-swap", edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		review := spec["reviewSettings"].(map[string]any)
		review["primaryReviewers"] = []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": "alice@contoso.com"}}
		return []*model.Policy{{DisplayName: "Requests", Body: spec}}
	}, want: []string{`~ review.reviewers = [group "Finance"] -> [user "alice@contoso.com"]`}},
	{name: "policy-question-added", edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		spec["questions"] = append(spec["questions"].([]any), map[string]any{"text": "Who is your sponsor?", "isRequired": false,
			"sequence": float64(3), "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "isSingleLineQuestion": true})
		return []*model.Policy{{DisplayName: "Requests", Body: spec}}
	}, want: []string{`+ questions[2].text      = "Who is your sponsor?"`, `+ questions[2].required  = false`, `+ questions[2].multiline = false`}},
	{name: "policy-create", edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		return []*model.Policy{{DisplayName: "Requests", Body: spec}, {DisplayName: "Onboarding", Body: jsonBody(t, onboardingSpec)}}
	}, want: []string{`+ approval.stages[0].timeout`, `= "12h"`, `+ allowedTargets`, `= [group "Finance"]`,
		`+ approval.stages[0].fallbackApprovers = [user "bob@contoso.com"]`, `+ expiration`, `= "never"`}},
}

// policyPlan plans the case against a tenant whose package "Campaign"
// has policy "Requests" as Graph returns it.
func policyPlan(t *testing.T, c policyCase) (*Plan, map[string]any) {
	t.Helper()
	obs := emObserved()
	live := jsonBody(t, requestsLive)
	obs.AccessPackages[0].Policies = &[]*model.Policy{{ID: reqID, DisplayName: "Requests", Body: live}}
	pols := c.edit(t, jsonBody(t, requestsSpec))
	desired := &model.Tenant{Domain: obs.Domain, AccessPackages: []*model.AccessPackage{{DisplayName: "Campaign", Catalog: "Marketing", Policies: &pols}}}
	model.Normalize(desired)
	p := Compute(desired, obs, Options{})
	if p.Errored {
		t.Fatalf("plan failed: %v", p.Diagnostics)
	}
	return p, live
}

// The spec as Graph returns it is no change: the view's comparison is
// bodyFields', Graph's defaults included.
func TestPolicyAsGraphReturnsItIsNoChange(t *testing.T) {
	p, _ := policyPlan(t, policyCase{edit: func(t *testing.T, spec map[string]any) []*model.Policy {
		return []*model.Policy{{DisplayName: "Requests", Body: spec}}
	}})
	if p.HasChanges() {
		var b strings.Builder
		RenderText(&b, p, TextOptions{})
		t.Fatalf("false drift:\n%s", b.String())
	}
}

var guidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// A policy change reads in the spec's terms, leaf by leaf, in the text and
// the Markdown view; the JSON plan keeps Graph's body for the applier.
func TestRenderPolicyGolden(t *testing.T) {
	for _, c := range policyCases {
		t.Run(c.name, func(t *testing.T) {
			p, live := policyPlan(t, c)
			if len(p.Changes) != 1 || p.Changes[0].Kind != KindPolicy {
				t.Fatalf("changes = %v", summary(p))
			}
			ch := p.Changes[0]
			var text, md bytes.Buffer
			if err := RenderText(&text, p, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := RenderMarkdown(&md, p, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".txt", text.Bytes())
			golden(t, c.name+".md", md.Bytes())

			out := text.String()
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("the text view lacks %q:\n%s", w, out)
				}
			}
			// Subjects by name: the only id shown is the policy's own.
			for _, line := range strings.Split(out, "\n") {
				if !strings.Contains(line, " id = ") && guidRE.MatchString(line) {
					t.Errorf("an id in %q", line)
				}
			}
			// Nothing only Graph sets: its defaults, nulls and empty lists,
			// server-set properties, Graph's names.
			for _, s := range []string{"null", "@odata", "createdDateTime", "etag", `"default"`, "keepAccess", "P14D", "requestApprovalSettings", "isEscalationEnabled", "localizations"} {
				if strings.Contains(out, s) {
					t.Errorf("the text view shows %s:\n%s", s, out)
				}
			}
			if ch.Action == Update && strings.Contains(out, "[]") {
				t.Errorf("an update shows an empty list:\n%s", out)
			}

			// The JSON plan carries the exact Graph body, and its fields
			// render the same once decoded.
			b, err := Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ch.Body, back.Changes[0].Body); diff != "" {
				t.Errorf("the JSON plan's body differs (-plan +decoded):\n%s", diff)
			}
			var again bytes.Buffer
			RenderText(&again, back, TextOptions{})
			if again.String() != out {
				t.Errorf("the decoded plan renders otherwise:\n%s\nwant\n%s", again.String(), out)
			}
			body := back.Changes[0].Body
			if ch.Action == Update {
				if diff := cmp.Diff(mergeBody(live, resolvedSpec(t, c)), body); diff != "" {
					t.Errorf("the body is not the live policy with the spec merged in (-want +got):\n%s", diff)
				}
				if body["createdDateTime"] != nil || body["notificationSettings"] == nil || body["id"] != reqID {
					t.Errorf("body = %v", body)
				}
			}
			// Graph's terms and ids, not the spec's.
			approvers, user := "primaryApprovers", alice
			switch {
			case ch.Action == Create:
				approvers, user = "fallbackPrimaryApprovers", bob
			case c.name == "policy-approver-swap":
				user = bob
			}
			if got := stage(body)[approvers].([]any)[0].(map[string]any)["userId"]; got != user {
				t.Errorf("the body's approver is %v, want id %s", got, user)
			}
			if c.name == "policy-timeout" && stage(body)["durationBeforeAutomaticDenial"] != "P7D" {
				t.Errorf("the body's timeout is %v, want P7D", stage(body)["durationBeforeAutomaticDenial"])
			}
		})
	}
}

// resolvedSpec is the case's spec body for "Requests" with names resolved
// to ids, as the planner resolves them.
func resolvedSpec(t *testing.T, c policyCase) map[string]any {
	spec := c.edit(t, jsonBody(t, requestsSpec))[0].Body
	b, _ := json.Marshal(spec)
	s := strings.NewReplacer(`"alice@contoso.com"`, `"`+alice+`"`, `"bob@contoso.com"`, `"`+bob+`"`, `"Finance"`, `"`+gFin+`"`).Replace(string(b))
	var m map[string]any
	json.Unmarshal([]byte(s), &m)
	return m
}

// golden compares got with testdata/render/name, or rewrites it under
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "render", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./planner -run Golden -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-golden +got; -update rewrites it):\n%s", path, diff)
	}
}

// labels names the test tenant's users and group as the plan's index does.
func labels(id string) string {
	if l, ok := map[string]string{alice: "alice@contoso.com", bob: "bob@contoso.com", gFin: "Finance"}[id]; ok {
		return l
	}
	return id
}

func leafLines(fs []FieldDiff) []string {
	var out []string
	for _, f := range fs {
		switch {
		case f.Before == nil:
			out = append(out, "+ "+f.Field+" = "+policyValue(f.After))
		case f.After == nil:
			out = append(out, "- "+f.Field+" = "+policyValue(f.Before))
		default:
			out = append(out, "~ "+f.Field+" = "+policyValue(f.Before)+" -> "+policyValue(f.After))
		}
	}
	return out
}

// Every spec term of a policy, and the Graph path of a property without
// one.
func TestPolicyView(t *testing.T) {
	body := jsonBody(t, `{
  "displayName": "All of it", "description": "d", "allowedTargetScope": "specificDirectoryUsers",
  "specificAllowedTargets": [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": "$fin"},
    {"@odata.type": "#microsoft.graph.singleServicePrincipal", "servicePrincipalId": "6c42590f-fcf0-4922-bac6-205f7c6aa89c"},
    {"@odata.type": "#microsoft.graph.attributeRuleMembers", "membershipRule": "(user.department -eq \"Sales\")"}],
  "automaticRequestSettings": {"requestAccessForAllowedTargets": true},
  "expiration": {"type": "afterDuration", "duration": "PT12H"},
  "requestorSettings": {"enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": false, "enableTargetsToSelfRemoveAccess": false,
    "enableOnBehalfRequestorsToAddAccess": true, "enableOnBehalfRequestorsToUpdateAccess": false, "enableOnBehalfRequestorsToRemoveAccess": true,
    "onBehalfRequestors": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 2}], "someNewFlag": true},
  "requestApprovalSettings": {"isApprovalRequiredForAdd": false, "isRequestorJustificationRequired": false, "stages": [
    {"isApproverJustificationRequired": false, "durationBeforeAutomaticDenial": "P1DT12H",
     "primaryApprovers": [{"@odata.type": "#microsoft.graph.externalSponsors"}, {"@odata.type": "#microsoft.graph.targetUserSponsors"},
       {"@odata.type": "#microsoft.graph.targetAgentIdentitySponsorsOrOwners"}, {"@odata.type": "#microsoft.graph.connectedOrganizationMembers", "connectedOrganizationId": "c1"}],
     "fallbackPrimaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": "$ALICE"}]}]},
  "reviewSettings": {"isEnabled": true, "isSelfReview": true, "isReviewerJustificationRequired": true, "primaryReviewers": [],
    "expirationBehavior": "acceptAccessRecommendation",
    "schedule": {"recurrence": {"pattern": {"interval": 1, "type": "absoluteYearly"}, "range": {"type": "noEnd"}},
      "startDateTime": "2027-01-04T00:00:00Z", "expiration": {"type": "afterDuration", "duration": "P7D"}}},
  "questions": [{"text": "Which?", "isRequired": false, "sequence": 1, "@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion",
    "isMultipleSelectionAllowed": true, "choices": [{"actualValue": "a", "text": "A"}, {"actualValue": "B", "text": "B"}]}]
}`)
	stage(body)["fallbackPrimaryApprovers"].([]any)[0].(map[string]any)["userId"] = strings.ToUpper(alice)
	got := leafLines(policyView(body, labels))
	want := []string{
		`+ displayName = "All of it"`,
		`+ description = "d"`,
		`+ who = "specificDirectoryUsers"`,
		`+ allowedTargets = [group "Finance", servicePrincipal "6c42590f-fcf0-4922-bac6-205f7c6aa89c", autoAssign rule "(user.department -eq \"Sales\")"]`,
		`+ autoAssign = true`,
		`+ expiration = "12h"`,
		`+ selfService.add = true`,
		`+ selfService.update = false`,
		`+ selfService.remove = false`,
		`+ onBehalf.requestors = [manager (level 2)]`,
		`+ onBehalf.add = true`,
		`+ onBehalf.update = false`,
		`+ onBehalf.remove = true`,
		`+ requestorSettings.someNewFlag = true`,
		`+ approval.required = false`,
		`+ approval.justification = false`,
		`+ approval.stages[0].approvers = [externalSponsors, targetSponsors, agentSponsorsOrOwners, connectedOrganizationMembers {"connectedOrganizationId":"c1"}]`,
		`+ approval.stages[0].fallbackApprovers = [user "alice@contoso.com"]`,
		`+ approval.stages[0].timeout = "P1DT12H"`,
		`+ approval.stages[0].justification = false`,
		`+ review.every = "1 year"`,
		`+ review.starting = "2027-01-04"`,
		`+ review.duration = "7d"`,
		`+ review.reviewers = []`,
		`+ review.selfReview = true`,
		`+ review.onNoResponse = "acceptAccessRecommendation"`,
		`+ review.justification = true`,
		`+ questions[0].text = "Which?"`,
		`+ questions[0].required = false`,
		`+ questions[0].multiple = true`,
		`+ questions[0].choices = ["A" (value "a"), "B"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
}

// Lists of objects compare by index: a removed question is its leaves
// removed; a changed one only the leaves that changed; an implied leaf
// shows when it differs.
func TestPolicyFieldsByIndex(t *testing.T) {
	live := jsonBody(t, requestsLive)
	spec := resolvedSpec(t, policyCases[0])
	stage(spec)["durationBeforeAutomaticDenial"] = "P14D"
	spec["questions"] = spec["questions"].([]any)[1:]
	q := spec["questions"].([]any)[0].(map[string]any)
	q["sequence"] = float64(1)
	q["choices"] = []any{map[string]any{"actualValue": "EMEA", "text": "EMEA"}}
	spec["description"] = "CAMPAIGN REQUESTS" // compared as subset compares: regardless of case
	got := leafLines(policyFields(spec, live, labels))
	want := []string{
		`~ questions[0].text = "Why do you need access?" -> "Which region?"`,
		`~ questions[0].required = true -> false`,
		`+ questions[0].multiple = false`,
		`+ questions[0].choices = ["EMEA"]`,
		`~ questions[0].@odata.type = "#microsoft.graph.accessPackageTextInputQuestion" -> "#microsoft.graph.accessPackageMultipleChoiceQuestion"`,
		`- questions[1].text = "Which region?"`,
		`- questions[1].required = false`,
		`- questions[1].multiple = false`,
		`- questions[1].choices = ["EMEA", "Americas"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// policyPairs are the (spec, live) bodies of the policy tests: the cases
// above, em_test.go's, and Microsoft's example bodies against themselves.
func policyPairs(t *testing.T) map[string][2]map[string]any {
	pairs := map[string][2]map[string]any{}
	live := jsonBody(t, requestsLive)
	for _, c := range policyCases {
		pairs[c.name] = [2]map[string]any{resolvedSpec(t, c), live}
	}
	pairs["direct"] = [2]map[string]any{direct().Body, (*emObserved().AccessPackages[0].Policies)[0].Body}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "graph", "examples", "entitlement-assignmentPolicy-*.request.json"))
	if len(files) == 0 {
		t.Fatal("no example policies under testdata/graph/examples")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		pairs[filepath.Base(f)] = [2]map[string]any{m, cloneMap(m)}
	}
	return pairs
}

// nodes lists the place of every value in x, below x.
func nodes(x any, at []any, out *[][]any) {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			here := appendAt(at, k)
			*out = append(*out, here)
			nodes(v, here, out)
		}
	case []any:
		for i, v := range x {
			here := appendAt(at, i)
			*out = append(*out, here)
			nodes(v, here, out)
		}
	}
}

// mutated is a copy of body with the value at a place replaced by f's
// result, or removed when f returns remove.
func mutated(body map[string]any, at []any, f func(any) any) map[string]any {
	out := cloneMap(body)
	var parent any = out
	for _, step := range at[:len(at)-1] {
		switch s := step.(type) {
		case string:
			parent = parent.(map[string]any)[s]
		case int:
			parent = parent.([]any)[s]
		}
	}
	switch last := at[len(at)-1].(type) {
	case string:
		m := parent.(map[string]any)
		if v := f(m[last]); v == remove {
			delete(m, last)
		} else {
			m[last] = v
		}
	case int:
		l := parent.([]any)
		if v := f(l[last]); v != remove {
			l[last] = v
		}
	}
	return out
}

type removeMark struct{}

var remove any = removeMark{}

var mutations = map[string]func(any) any{
	"remove": func(any) any { return remove },
	"null":   func(any) any { return nil },
	"string": func(any) any { return "x" },
	"number": func(any) any { return float64(7) },
	"list":   func(any) any { return []any{} },
	"object": func(any) any { return map[string]any{} },
	"flip": func(x any) any {
		if b, ok := x.(bool); ok {
			return !b
		}
		return x
	},
	"case": func(x any) any {
		if s, ok := x.(string); ok {
			return strings.ToUpper(s)
		}
		return x
	},
	"grow": func(x any) any {
		if l, ok := x.([]any); ok {
			return append(append([]any{}, l...), map[string]any{"text": "extra"})
		}
		return x
	},
	"shrink": func(x any) any {
		if l, ok := x.([]any); ok && len(l) > 0 {
			return l[:len(l)-1]
		}
		return x
	},
}

// The spec-term fields are empty exactly when bodyFields finds nothing,
// so "no fields, no update" plans what it planned: over the policy test
// cases and every mutation of either body at every place.
func TestPolicyFieldsAgreeWithBodyFields(t *testing.T) {
	check := func(name string, want, have map[string]any) {
		t.Helper()
		old, now := len(bodyFields(want, have)) == 0, len(policyFields(want, have, labels)) == 0
		if old != now {
			w, _ := json.Marshal(want)
			h, _ := json.Marshal(have)
			t.Errorf("%s: bodyFields finds nothing: %v, policyFields finds nothing: %v\nwant %s\nhave %s", name, old, now, w, h)
		}
	}
	n := 0
	for name, pair := range policyPairs(t) {
		want, have := pair[0], pair[1]
		check(name, want, have)
		check(name+" (create)", want, nil)
		for side, body := range []map[string]any{want, have} {
			var places [][]any
			nodes(body, nil, &places)
			for _, at := range places {
				for mname, f := range mutations {
					m := mutated(body, at, f)
					label := fmt.Sprintf("%s, %s %v %s", name, []string{"spec", "live"}[side], at, mname)
					if side == 0 {
						check(label, m, have)
					} else {
						check(label, want, m)
					}
					n++
				}
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d mutations checked", n)
	}
}

// The policy fields of a plan survive its JSON: Within, which compares
// them after a reload, sees the same values.
func TestPolicyFieldsRoundTrip(t *testing.T) {
	for _, c := range policyCases {
		p, _ := policyPlan(t, c)
		b, _ := Encode(p)
		back, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Changes[0].Fields, back.Changes[0].Fields) || !Within(&back.Changes[0], &p.Changes[0]) {
			t.Errorf("%s: fields %#v decode as %#v", c.name, p.Changes[0].Fields, back.Changes[0].Fields)
		}
	}
}
