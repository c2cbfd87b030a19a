package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every risk code has its documentation page, and the index lists it.
func TestEveryRiskCodeIsDocumented(t *testing.T) {
	index, err := os.ReadFile(filepath.Join("..", "docs", "risks", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Risks {
		page := filepath.Join("..", "docs", "risks", string(r.Code)+".md")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s has no page: %v", r.Code, err)
			continue
		}
		if !strings.HasPrefix(string(b), "# "+string(r.Code)+" ") {
			t.Errorf("%s does not start with its code", page)
		}
		if !strings.Contains(string(index), "["+string(r.Code)+"]") {
			t.Errorf("docs/risks/README.md does not list %s", r.Code)
		}
	}
}
