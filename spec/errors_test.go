package spec

import (
	stdflag "flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = stdflag.Bool("update", false, "rewrite the .want files of testdata/errors")

// TestErrorOutput loads every bad spec under testdata/errors (a .yaml file or
// a directory) and compares the rendered diagnostics with NAME.want. Run
// with -update to rewrite the .want files, then review the diff.
func TestErrorOutput(t *testing.T) {
	entries, err := os.ReadDir("testdata/errors")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && !strings.HasSuffix(name, ".yaml") {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			path := filepath.Join("testdata", "errors", name)
			s, ds, l := load(path)
			if !ds.HasErrors() {
				t.Fatalf("Load(%s) reported no error", path)
			}
			if s != nil {
				t.Errorf("Load(%s) returned a Spec along with errors", path)
			}
			if l.schemaOnly != 0 {
				t.Errorf("%d schema finding(s) not reported by the loader itself:\n%s", l.schemaOnly, ds.Error())
			}
			got := ds.Error() + "\n"
			wantFile := strings.TrimSuffix(path, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -run TestErrorOutput -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("diagnostics differ from %s (-want +got):\n%s", wantFile, diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/errors")
	}
}
