package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// bigAdd is a tenant of 2,000 users and an empty group the spec fills with
// all of them: one change of 2,000 member adds.
func bigAdd() (*graphsim.Fixture, map[string][]byte) {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var csv strings.Builder
	csv.WriteString("Email\n")
	for i := range 2000 {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
		fmt.Fprintf(&csv, "%s\n", upn)
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Everyone", MailNickname: "everyone"}}
	return fx, map[string][]byte{
		"everyone.csv": []byte(csv.String()),
		"spec.yaml":    []byte("tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Everyone\n    members:\n      csv: {path: everyone.csv, column: Email}\n"),
	}
}

// BenchmarkApply2000Members applies a 2,000-member add through the real CLI
// against graphsim answering every request after 200 ms, once with
// --parallelism 1 and once with the default, and reports the wall time of
// the apply command and the Graph requests it sent (the plan's reads, the
// run lease and the verification included). Each iteration starts from a
// fresh simulator, outside the timer.
//
//	go test ./cmd/entrasync -run '^$' -bench Apply2000Members -benchtime=1x
func BenchmarkApply2000Members(b *testing.B) {
	fx, spec := bigAdd()
	dir := b.TempDir()
	for name, data := range spec {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"parallelism=1", []string{"--parallelism", "1"}},
		{"default", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var reqs, writesN int
			var wall time.Duration
			for b.Loop() {
				b.StopTimer()
				sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
				sim.SetFaults(graphsim.Faults{Latency: 200 * time.Millisecond})
				url, stop, err := sim.Start()
				if err != nil {
					b.Fatal(err)
				}
				var out, errb strings.Builder
				args := append([]string{"apply", "-f", dir, "--graph-url", url, "--auto-approve"}, bc.args...)
				b.StartTimer()
				start := time.Now()
				code := run(args, strings.NewReader(""), &out, &errb)
				wall += time.Since(start)
				b.StopTimer()
				stop()
				if code != 0 || !strings.Contains(out.String(), "Apply complete: 1 applied") {
					b.Fatalf("apply exit %d:\n%s%s", code, out.String(), errb.String())
				}
				reqs += requests(sim.Log())
				writesN += writes(sim.Log())
				b.StartTimer()
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/op")
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			b.ReportMetric(float64(writesN)/float64(b.N), "writes/op")
		})
	}
}

// exportTenant is a tenant of 500 security groups of 40 members each
// (20,000 memberships) drawn from 2,000 users, each group with an owner.
func exportTenant() *graphsim.Fixture {
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	upn := func(i int) string { return fmt.Sprintf("user%04d@contoso.com", i%2000) }
	for i := range 2000 {
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn(i), Mail: upn(i)})
	}
	for g := range 500 {
		var members []string
		for k := range 40 {
			members = append(members, upn(g*7+k))
		}
		fx.Groups = append(fx.Groups, graphsim.Group{DisplayName: fmt.Sprintf("Team %03d", g), MailNickname: fmt.Sprintf("team-%03d", g),
			Members: members, Owners: []string{upn(g)}})
	}
	return fx
}

// BenchmarkExport exports a 500-group tenant (20,000 memberships) through
// the real CLI against graphsim over HTTP, at 0 and 100 ms per request,
// and reports the requests of the export and of a plan of the exported
// spec, their ratio, and the wall time of each. The export's lower bound
// is the plan's reads plus its listing of the groups (one paged request
// at 999 a page).
//
//	go test ./cmd/entrasync -run '^$' -bench Export -benchtime=1x
func BenchmarkExport(b *testing.B) {
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			sim := graphsim.New(graphsim.Options{Fixture: exportTenant(), Seed: 1})
			url, stop, err := sim.Start()
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			sim.SetFaults(graphsim.Faults{Latency: latency})
			var exportReqs, planReqs int
			var exportWall, planWall time.Duration
			for b.Loop() {
				out := filepath.Join(b.TempDir(), "tenant")
				var stdout, stderr strings.Builder
				sim.ResetLog()
				start := time.Now()
				if code := run([]string{"export", "-o", out, "--kinds", "groups", "--graph-url", url}, strings.NewReader(""), &stdout, &stderr); code != 0 {
					b.Fatalf("export exit %d: %s", code, stderr.String())
				}
				exportWall += time.Since(start)
				exportReqs += requests(sim.Log())
				sim.ResetLog()
				start = time.Now()
				if code := run([]string{"plan", "-f", out, "--graph-url", url, "--detailed-exitcode"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
					b.Fatalf("plan of the export: exit %d: %s%s", code, stdout.String(), stderr.String())
				}
				planWall += time.Since(start)
				planReqs += requests(sim.Log())
			}
			n := float64(b.N)
			b.ReportMetric(float64(exportReqs)/n, "export-requests/op")
			b.ReportMetric(float64(planReqs)/n, "plan-requests/op")
			b.ReportMetric(float64(exportReqs)/float64(planReqs), "export/plan")
			b.ReportMetric(exportWall.Seconds()/n, "export-s/op")
			b.ReportMetric(planWall.Seconds()/n, "plan-s/op")
		})
	}
}
