package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Policies are converted to Graph's v1.0 shapes with only what is written.
func TestPolicyConversion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(`tenant: contoso.onmicrosoft.com
accessPackages:
  - displayName: Agents
    catalog: Agents
    policies:
      - displayName: Agents request
        who: specificDirectoryServicePrincipals
        allowedTargets: [{servicePrincipal: 6C42590F-FCF0-4922-BAC6-205F7C6AA89C}]
        expiration: 12h
        approval: {stages: [{approvers: [agentSponsorsOrOwners]}]}
`), 0o644)
	s, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := (*s.Tenant.AccessPackages[0].Policies)[0].Body
	want := map[string]any{
		"displayName":        "Agents request",
		"allowedTargetScope": "specificDirectoryServicePrincipals",
		"specificAllowedTargets": []any{map[string]any{"@odata.type": "#microsoft.graph.singleServicePrincipal",
			"servicePrincipalId": "6c42590f-fcf0-4922-bac6-205f7c6aa89c"}},
		"expiration": map[string]any{"type": "afterDuration", "duration": "PT12H"},
		"requestApprovalSettings": map[string]any{"isApprovalRequiredForAdd": true, "isRequestorJustificationRequired": false,
			"stages": []any{map[string]any{"durationBeforeAutomaticDenial": "P14D", "isApproverJustificationRequired": false,
				"primaryApprovers":         []any{map[string]any{"@odata.type": "#microsoft.graph.targetAgentIdentitySponsorsOrOwners"}},
				"fallbackPrimaryApprovers": []any{}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policy body (-want +got):\n%s", diff)
	}
}
