package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadLargeCSV loads a spec whose group takes its members from a
// CSV file of 200,000 rows.
//
//	go test ./spec -run '^$' -bench LoadLargeCSV -benchmem
//
// The figures for a whole plan of a million unknown users (peak RSS,
// output, wall time) come from the CLI, with the simulator served in a
// process of its own so that its request log is not counted:
//
//	go build -o /tmp/es ./cmd/entrasync
//	mkdir -p /tmp/big/members && cp examples/quickstart/groups.yaml /tmp/big/
//	sed -i 's#members/marketing.csv#members/big.csv#' /tmp/big/groups.yaml
//	awk 'BEGIN{print "Email;Name"; for(i=0;i<1000000;i++) printf "nouser%07d@contoso.com;User %d\n", i, i}' > /tmp/big/members/big.csv
//	/tmp/es sim serve --addr 127.0.0.1:18080 & sleep 1
//	/usr/bin/time -v /tmp/es plan -f /tmp/big --graph-url http://127.0.0.1:18080 > /tmp/plan.txt
//	wc -c /tmp/plan.txt; kill %1
func BenchmarkLoadLargeCSV(b *testing.B) {
	const rows = 200_000
	var csv strings.Builder
	csv.WriteString("Email;Name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "user%07d@contoso.com;User %d\n", i, i)
	}
	dir := b.TempDir()
	for name, data := range map[string]string{
		"spec.yaml":      "tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: A\n    members: {csv: {path: members/a.csv, column: Email}}\n",
		"members/a.csv":  csv.String(),
		"members/b.yaml": "groups:\n  - displayName: B\n    members: {users: [bob@contoso.com]}\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s, ds := Load(dir)
		if s == nil {
			b.Fatal(ds.Error())
		}
		if n := len(s.Tenant.Groups[0].Members.Members); n != rows {
			b.Fatalf("%d members", n)
		}
	}
}
