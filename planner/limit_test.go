package planner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/model"
)

// unknownUsers is a desired group whose members are n users of a CSV file
// that the tenant does not have, one per row from line 2.
func unknownUsers(n int) *model.Tenant {
	set := &model.MemberSet{Mode: model.Additive}
	for i := range n {
		set.Members = append(set.Members, model.Ref{Kind: model.User, Value: fmt.Sprintf("nobody%05d@contoso.com", i),
			Pos: model.Pos{File: "members/big.csv", Line: int32(i + 2), Col: 1}})
	}
	t := &model.Tenant{Domain: "contoso.onmicrosoft.com", Groups: []*model.Group{
		{DisplayName: "Finance", Members: set, Pos: model.Pos{File: "spec.yaml", Line: 3, Col: 5}},
	}}
	model.Normalize(t)
	return t
}

// A CSV file of 5,000 unknown users gives the first model.MaxPerKind of
// them with their rows and one summary counting the rest; the plan still
// errors, and the plan document keeps the count.
func TestUnknownUsersAreLimited(t *testing.T) {
	const n = 5000
	p := Compute(unknownUsers(n), observedTenant(), Options{})
	if !p.Errored {
		t.Fatal("the plan does not error")
	}
	var listed []int
	var summaries []model.Diagnostic
	for _, d := range p.Diagnostics {
		switch {
		case d.Omitted > 0:
			summaries = append(summaries, d)
		case strings.HasPrefix(d.Summary, "unknown user "):
			if d.Pos.File != "members/big.csv" || d.Pos.Col != 1 {
				t.Errorf("unknown user without its row: %s", d)
			}
			listed = append(listed, int(d.Pos.Line))
		}
	}
	want := make([]int, model.MaxPerKind)
	for i := range want {
		want[i] = i + 2 // the first rows, in file order
	}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Errorf("listed rows %v, want %v", listed, want)
	}
	if len(summaries) != 1 {
		t.Fatalf("%d summaries, want 1: %v", len(summaries), summaries)
	}
	s := summaries[0]
	if s.Severity != model.Error || s.Pos != (model.Pos{File: "members/big.csv"}) || s.Omitted != n-model.MaxPerKind || s.Address != `group["Finance"]` {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(s.Summary, fmt.Sprintf("%d more unknown user errors", n-model.MaxPerKind)) || !strings.Contains(s.Summary, fmt.Sprintf("(%d in all", n)) {
		t.Errorf("summary says %q", s.Summary)
	}
	if got := p.Diagnostics.Count(model.Error); got != n {
		t.Errorf("Count(Error) = %d, want %d", got, n)
	}

	// The JSON plan keeps the count; the text view shows 20 rows and the
	// summary.
	b, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, fmt.Appendf(nil, `"omitted": %d`, n-model.MaxPerKind)) {
		t.Errorf("the JSON plan does not carry the count")
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Diagnostics.Count(model.Error); got != n || !back.Errored {
		t.Errorf("decoded plan counts %d errors (errored %v)", got, back.Errored)
	}
	var text bytes.Buffer
	if err := RenderText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := linesWithPrefix(text.String(), "members/big.csv:"); got != model.MaxPerKind+1 {
		t.Errorf("text view has %d lines for the file, want %d:\n%s", got, model.MaxPerKind+1, text.String())
	}
	if !strings.Contains(text.String(), fmt.Sprintf("members/big.csv: error: group[\"Finance\"]: %d more unknown user errors in this file not shown", n-model.MaxPerKind)) {
		t.Errorf("text view lacks the summary:\n%s", text.String())
	}
}

// BenchmarkComputeUnknownUsers plans a group of 100,000 unknown users
// (what a large CSV of people who left becomes): the diagnostics are
// bounded, so allocations are those of resolving the references.
//
//	go test ./planner -run '^$' -bench ComputeUnknownUsers -benchmem
func BenchmarkComputeUnknownUsers(b *testing.B) {
	desired, observed := unknownUsers(100_000), observedTenant()
	b.ReportAllocs()
	for b.Loop() {
		if p := Compute(desired, observed, Options{}); len(p.Diagnostics) > 2*model.MaxPerKind {
			b.Fatalf("%d diagnostics", len(p.Diagnostics))
		}
	}
}

func linesWithPrefix(s, prefix string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}
