package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrasync/entrasync/graphsim"
)

// BenchmarkPlanLargeGroup plans a 5,000-member authoritative group that
// differs by 300 adds and 300 removes, through the real CLI against graphsim
// over HTTP, and reports Graph requests per plan.
//
//	go test ./cmd/entrasync -run '^$' -bench PlanLargeGroup -benchmem
func BenchmarkPlanLargeGroup(b *testing.B) {
	fx, spec := largeGroup()
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dir := b.TempDir()
	for name, data := range spec {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}

	var out, errb strings.Builder
	sim.ResetLog()
	b.ResetTimer()
	for b.Loop() {
		out.Reset()
		if code := run([]string{"plan", "-f", dir, "--graph-url", url}, strings.NewReader(""), &out, &errb); code != 0 {
			b.Fatalf("plan exit %d: %s", code, errb.String())
		}
	}
	b.ReportMetric(float64(requests(sim.Log()))/float64(b.N), "requests/op")
}
