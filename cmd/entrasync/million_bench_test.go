package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPlanMillionMembers is issue 13's 1 × 1,000,000 scenario with the
// client measured alone: one authoritative group whose CSV names a million
// users, against a tenant where 5 % of them were swapped for others (50,000
// to add, 50,000 to remove). The simulator runs in a process of its own
// (entrasync sim serve) and so does the plan, whose CPU time and peak
// resident set come from its own rusage: they are entrasync's, with
// nothing of the simulator's or the benchmark's.
//
//	go test ./cmd/entrasync -run '^$' -bench PlanMillionMembers -benchtime=1x -timeout 30m
//
// ENTRASYNC_BENCH_MEMBERS sets the group's size (default 1,000,000);
// ENTRASYNC_BENCH_CPUPROFILE and ENTRASYNC_BENCH_MEMPROFILE name files for
// the plan's CPU and allocation profiles (go tool pprof);
// ENTRASYNC_BENCH_GOMEMLIMIT is the plan's GOMEMLIMIT (Go's soft memory
// limit, which a CI job can set for entrasync), and the plan's only: the
// simulator holds the whole tenant and runs without one.
func BenchmarkPlanMillionMembers(b *testing.B) {
	size := envInt("ENTRASYNC_BENCH_MEMBERS", 1_000_000)
	drift := size / 20
	bin, spec, url := millionTenant(b, size)
	dir := b.TempDir()

	var cpu time.Duration
	var rss float64
	var wall time.Duration
	for b.Loop() {
		plan := exec.Command(bin, "plan", "-f", spec, "--graph-url", url, "--detailed-exitcode")
		plan.Env = append(os.Environ(), "GODEBUG="+os.Getenv("ENTRASYNC_BENCH_GODEBUG"), "ENTRASYNC_CPUPROFILE="+os.Getenv("ENTRASYNC_BENCH_CPUPROFILE"), "ENTRASYNC_MEMPROFILE="+os.Getenv("ENTRASYNC_BENCH_MEMPROFILE"))
		if limit := os.Getenv("ENTRASYNC_BENCH_GOMEMLIMIT"); limit != "" {
			plan.Env = append(plan.Env, "GOMEMLIMIT="+limit)
		}
		out, _ := os.Create(filepath.Join(dir, "plan.txt"))
		plan.Stdout, plan.Stderr = out, out
		start := time.Now()
		err := plan.Run()
		wall = time.Since(start)
		out.Close()
		text, _ := os.ReadFile(filepath.Join(dir, "plan.txt"))
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitChanges {
			b.Fatalf("plan: %v, want exit %d\n%s", err, exitChanges, tail(string(text)))
		}
		if want := fmt.Sprintf("members: %d to add, %d to remove.", drift, drift); !strings.Contains(string(text), want) {
			b.Fatalf("the plan does not say %q:\n%s", want, tail(string(text)))
		}
		ru := plan.ProcessState.SysUsage().(*syscall.Rusage)
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		rss = float64(ru.Maxrss) / 1024
	}
	b.ReportMetric(cpu.Seconds(), "plan-cpu-s")
	b.ReportMetric(rss, "plan-peak-RSS-MiB")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(size)/1000, "cpu-µs/membership")
	b.ReportMetric(wall.Seconds(), "plan-wall-s")
	b.Logf("%d members, %d to add and %d to remove: plan %.2f s CPU, %.0f MiB peak RSS, %.2f s wall (the simulator apart)",
		size, drift, drift, cpu.Seconds(), rss, wall.Seconds())
}

func writeFile(b testing.TB, path string, fill func(*bufio.Writer)) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// freeAddr is a loopback address no one listens on.
func freeAddr(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// waitServing waits until the simulator answers.
func waitServing(b testing.TB, url string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/v1.0/organization"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("the simulator at %s did not answer within %s", url, limit)
}

// millionTenant serves, in a simulator process of its own, a tenant of
// size+size/20 users and one group "Everyone" of size members, 5 % of them
// swapped, and writes the spec that names the first size users; it
// returns the entrasync binary, the spec directory and the Graph URL.
func millionTenant(b testing.TB, size int) (bin, spec, url string) {
	b.Helper()
	drift := size / 20
	dir := b.TempDir()
	upn := func(i int) string { return fmt.Sprintf("u%07d@contoso.com", i) }

	// The tenant: size+drift users; the group holds the first size−drift
	// and the drift users past size.
	fixture := filepath.Join(dir, "fixture.json")
	writeFile(b, fixture, func(w *bufio.Writer) {
		w.WriteString(`{"tenant":{"domain":"contoso.onmicrosoft.com"},"users":[`)
		for i := range size + drift {
			if i > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, `{"userPrincipalName":%q,"mail":%q}`, upn(i), upn(i))
		}
		w.WriteString(`],"groups":[{"displayName":"Everyone","mailNickname":"everyone","members":[`)
		for i := range size {
			if i > 0 {
				w.WriteByte(',')
			}
			k := i
			if i >= size-drift {
				k = i + drift
			}
			fmt.Fprintf(w, "%q", upn(k))
		}
		w.WriteString(`]}]}`)
	})
	spec = filepath.Join(dir, "spec")
	if err := os.Mkdir(spec, 0o755); err != nil {
		b.Fatal(err)
	}
	writeFile(b, filepath.Join(spec, "everyone.csv"), func(w *bufio.Writer) {
		w.WriteString("Email\n")
		for i := range size {
			w.WriteString(upn(i) + "\n")
		}
	})
	if err := os.WriteFile(filepath.Join(spec, "tenant.yaml"), []byte("tenant: contoso.onmicrosoft.com\ngroups:\n  - displayName: Everyone\n    members:\n      mode: authoritative\n      csv: {path: everyone.csv, column: Email}\n"), 0o644); err != nil {
		b.Fatal(err)
	}

	bin, err := exec.LookPath("entrasync")
	if err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	sim := exec.Command(bin, "sim", "serve", "--addr", addr, "--fixture", fixture)
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	url = "http://" + addr
	waitServing(b, url, 5*time.Minute)
	return bin, spec, url
}
