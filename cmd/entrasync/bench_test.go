package main

import (
	"fmt"
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
	fx := &graphsim.Fixture{Tenant: graphsim.Tenant{Domain: "contoso.onmicrosoft.com"}}
	var live []string
	var csv strings.Builder
	csv.WriteString("Email\n")
	for i := range 5300 {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		fx.Users = append(fx.Users, graphsim.User{UserPrincipalName: upn, Mail: upn})
		if i < 5000 {
			live = append(live, upn)
		}
		if i >= 300 {
			fmt.Fprintf(&csv, "%s\n", upn)
		}
	}
	fx.Groups = []graphsim.Group{{DisplayName: "Everyone", MailNickname: "everyone", Members: live}}
	sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
	url, stop, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "everyone.csv"), []byte(csv.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte("tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Everyone\n    members:\n      mode: authoritative\n      csv: {path: everyone.csv, column: Email}\n"), 0o644)

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
