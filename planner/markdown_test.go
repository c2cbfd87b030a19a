package planner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/model"
)

// memberAddPlan plans adding n users to one group.
func memberAddPlan(n int) *Plan {
	obs := observedTenant()
	var refs []model.Ref
	for i := range n {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		obs.Principals = append(obs.Principals, model.Principal{ID: fmt.Sprintf("00000000-0000-0000-0001-%012d", i), Kind: model.User, UserPrincipalName: upn})
		refs = append(refs, model.Ref{Kind: model.User, Value: upn})
	}
	model.Normalize(obs)
	desired := &model.Tenant{Domain: obs.Domain, Groups: []*model.Group{{DisplayName: "Finance", Members: &model.MemberSet{Members: refs}}}}
	model.Normalize(desired)
	return Compute(desired, obs, Options{Now: func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }, ToolVersion: "test"})
}

// A 2,000-member add fits one GitHub comment: the Markdown view lists every
// member, where the text view summarises after 25.
func TestMarkdownListsEveryMemberThatFits(t *testing.T) {
	p := memberAddPlan(2000)
	var md bytes.Buffer
	if err := RenderMarkdown(&md, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for i := range 2000 {
		if want := fmt.Sprintf("      + user%04d@contoso.com\n", i); !strings.Contains(out, want) {
			t.Fatalf("the comment lacks %q", want)
		}
	}
	if strings.Contains(out, "more\n") || strings.Contains(out, "cut") {
		t.Error("a list that fits was cut")
	}
	if len(out) > 65536 {
		t.Errorf("the comment is %d bytes, over GitHub's 65,536", len(out))
	}
	golden(t, "members-2000.md", md.Bytes())
}

// When the complete lists do not fit, the longest are cut to the largest
// limit that fits, and the comment says how many entries it hides and
// where the whole plan is.
func TestMarkdownCutsListsThatDoNotFit(t *testing.T) {
	p := memberAddPlan(5000)
	var md bytes.Buffer
	if err := RenderMarkdown(&md, p, MarkdownOptions{PlanFile: "plan.json"}); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	if len(out) > 60000 {
		t.Errorf("the comment is %d bytes, over MaxBytes", len(out))
	}
	for _, want := range []string{
		"      + user0000@contoso.com\n",
		"      + ... and 4000 more\n",
		"*Lists longer than 1000 entries are cut to fit one comment (4000 entries not shown); the whole plan is in `plan.json` (the plan artifact; entrasync show plan.json).*",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
}
