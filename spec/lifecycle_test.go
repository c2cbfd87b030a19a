package spec

import (
	"strings"
	"testing"
)

// Lifecycle rules: the original shape (tags), a blueprint with no tags, and
// an empty blueprint refused at its position.
func TestLifecycleRules(t *testing.T) {
	dir := writeSpec(t, map[string]string{"spec.yaml": `tenant: contoso.onmicrosoft.com
lifecycle:
  - {name: stale development agents, tags: [environment:development], olderThanDays: 90}
  - name: old pilots
    blueprint: Pilot agents
    olderThanDays: 30
    action: disable
`})
	s, ds := Load(dir)
	if s == nil || len(ds) != 0 {
		t.Fatalf("Load: %v", ds)
	}
	rules := s.Tenant.Lifecycle
	if len(rules) != 2 || rules[0].Blueprint != "" || len(rules[0].Tags) != 1 || rules[0].Disable ||
		rules[1].Blueprint != "Pilot agents" || len(rules[1].Tags) != 0 || !rules[1].Disable || rules[1].OlderThanDays != 30 {
		t.Fatalf("rules = %+v %+v", *rules[0], *rules[1])
	}
	dir = writeSpec(t, map[string]string{"spec.yaml": "tenant: contoso.onmicrosoft.com\nlifecycle:\n  - {name: r, blueprint: ' ', olderThanDays: 30}\n"})
	if _, ds := Load(dir); len(ds) != 1 || !strings.Contains(ds[0].String(), `spec.yaml:3:26: error: lifecycle rule "r": blueprint is empty`) {
		t.Fatalf("empty blueprint: %v", ds)
	}
}
