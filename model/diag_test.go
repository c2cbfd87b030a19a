package model

import (
	"fmt"
	"testing"
)

func TestLimiter(t *testing.T) {
	var l Limiter
	at := func(file string, line int) Pos { return Pos{File: file, Line: int32(line), Col: 1} }
	// Rows given out of order: the first MaxPerKind by place are listed.
	for _, line := range []int{50, 3, 40, 2, 1000, 7} {
		for i := range 10 {
			l.Add(Diagnostic{Severity: Error, Pos: at("a.csv", line+i), Address: `group["A"]`, Kind: "unknown user", Summary: fmt.Sprint(line + i)})
		}
	}
	l.Add(Diagnostic{Severity: Error, Pos: at("b.csv", 9), Kind: "unknown user", Summary: "b"})
	l.Add(Diagnostic{Severity: Warning, Pos: at("a.csv", 1), Kind: "unknown user", Summary: "a warning"})
	l.Add(Diagnostic{Severity: Error, Pos: at("a.csv", 5), Summary: "no kind"})
	ds := l.Diagnostics()
	Sort(ds)
	if got, want := len(ds), MaxPerKind+1+1+1+1; got != want {
		t.Fatalf("%d diagnostics, want %d:\n%s", got, want, ds.Error())
	}
	var lines []int
	var summary Diagnostic
	for _, d := range ds {
		switch {
		case d.Pos.File == "a.csv" && d.Severity == Error && d.Omitted > 0:
			summary = d
		case d.Pos.File == "a.csv" && d.Severity == Error && d.Kind != "":
			lines = append(lines, int(d.Pos.Line))
		}
	}
	// 2..11, 3..12 and 7..16 hold the smallest lines; repeats are listed
	// in the order they came.
	want := []int{2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("listed lines %v, want %v", lines, want)
	}
	if summary.Omitted != 60-MaxPerKind || summary.Address != `group["A"]` || summary.Pos.Line != 0 {
		t.Errorf("summary %+v", summary)
	}
	if got := summary.String(); got != `a.csv: error: group["A"]: 40 more unknown user errors in this file not shown (60 in all; the first 20 are listed)` {
		t.Errorf("summary renders as %q", got)
	}
	if last := ds[len(ds)-1]; last.Severity != Warning {
		t.Errorf("sorted last: %s", last)
	}
	for i, d := range ds {
		if d.Omitted > 0 && i+1 < len(ds) && ds[i+1].Pos.File == d.Pos.File && ds[i+1].Severity == d.Severity {
			t.Errorf("summary %q is not last of its file", d.Summary)
		}
	}
	if n := ds.Count(Error); n != 60+1+1 {
		t.Errorf("Count(Error) = %d, want 62", n)
	}
	// Limiting again changes nothing.
	again := ds.Limited()
	Sort(again)
	if ds.Error() != again.Error() || again.Count(Error) != 62 {
		t.Errorf("limited twice:\n%s", again.Error())
	}
}

func TestLimiterWants(t *testing.T) {
	l := Limiter{Max: 2}
	d := func(line int) Diagnostic {
		return Diagnostic{Severity: Error, Pos: Pos{File: "f", Line: int32(line)}, Kind: "k"}
	}
	for _, line := range []int{5, 6} {
		if !l.Wants(d(line)) {
			t.Errorf("line %d not wanted while the list has room", line)
		}
		l.Add(d(line))
	}
	if l.Wants(d(7)) || !l.Wants(d(4)) || !l.Wants(Diagnostic{Summary: "no kind"}) {
		t.Error("Wants does not follow the listed places")
	}
	l.Add(d(7)) // counted, not listed
	ds := l.Diagnostics()
	if len(ds) != 3 || ds[2].Omitted != 1 {
		t.Errorf("got %v", ds)
	}
}
