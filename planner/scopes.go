package planner

// Exposed scopes: the delegated permissions a blueprint offers
// (api.oauth2PermissionScopes). Graph replaces the whole list on PATCH and
// refuses to drop an enabled scope, so a removal is two writes: disable,
// then drop. New scopes get ids derived from the blueprint's uniqueName and
// the scope's value, so a repeated or retried apply never mints a second id.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/entrasync/entrasync/model"
)

// KindExposedScopes is a blueprint's exposed scopes (and, with the first,
// its identifier URI).
const KindExposedScopes Kind = "exposed_scopes"

// scopeIDSpace is the namespace of derived scope ids.
var scopeIDSpace = uuid.MustParse("0b6c3e0e-6a55-4f39-9a43-5b0f5c1d2e7a")

// ScopeID is the id entrasync gives a new scope of a blueprint.
func ScopeID(uniqueName, value string) string {
	return uuid.NewSHA1(scopeIDSpace, []byte(strings.ToLower(uniqueName)+"\x00"+value)).String()
}

// AppIDPlaceholder stands for a blueprint's appId in an identifier URI until
// the apply knows it.
const AppIDPlaceholder = "{appId}"

func scopeJSON(s model.ExposedScope, enabled bool) map[string]any {
	return map[string]any{"id": s.ID, "value": s.Value, "type": s.Type, "adminConsentDisplayName": s.DisplayName,
		"adminConsentDescription": s.Description, "isEnabled": enabled}
}

func scopeSummary(s model.ExposedScope) string {
	return fmt.Sprintf("%s (%s): %s", s.DisplayName, s.Type, s.Description)
}

// exposedScopes plans b's exposed scopes; obs is nil when the plan creates
// the blueprint.
func (d *differ) exposedScopes(b, obs *model.Blueprint) {
	if b.Scopes == nil || b.Absent {
		return
	}
	bpAddr := model.BlueprintAddress(b.DisplayName)
	var have []model.ExposedScope
	unique := BlueprintUniqueName(b)
	parents := map[string]Parent{"blueprint": {Address: bpAddr}, "blueprintApp": {Address: bpAddr + ".appId"}}
	var deps []string
	if obs != nil {
		if obs.Scopes != nil {
			have = *obs.Scopes
		}
		if obs.UniqueName != "" {
			unique = obs.UniqueName
		}
		parents = map[string]Parent{"blueprint": {Address: bpAddr, ID: obs.ID}, "blueprintApp": {Address: bpAddr + ".appId", ID: obs.AppID}}
	} else {
		deps = []string{bpAddr}
	}
	var fs []FieldDiff
	final := []any{}
	kept := map[string]bool{}
	for _, want := range *b.Scopes {
		i := slices.IndexFunc(have, func(h model.ExposedScope) bool { return strings.EqualFold(h.Value, want.Value) })
		if i < 0 {
			want.ID = ScopeID(unique, want.Value)
			fs = append(fs, FieldDiff{Field: "scope " + want.Value, After: scopeSummary(want)})
		} else {
			h := have[i]
			kept[h.ID] = true
			want.ID, want.Value = h.ID, h.Value
			if scopeSummary(h) != scopeSummary(want) || !h.Enabled {
				before := scopeSummary(h)
				if !h.Enabled {
					before += " [disabled]"
				}
				fs = append(fs, FieldDiff{Field: "scope " + want.Value, Before: before, After: scopeSummary(want)})
			}
		}
		final = append(final, scopeJSON(want, true))
	}
	disable := []any{}
	mustDisable := false
	for _, h := range have {
		if kept[h.ID] {
			disable = append(disable, scopeJSON(h, h.Enabled))
			continue
		}
		fs = append(fs, FieldDiff{Field: "scope " + h.Value, Before: scopeSummary(h)})
		disable = append(disable, scopeJSON(h, false))
		mustDisable = mustDisable || h.Enabled
	}
	body := map[string]any{"final": map[string]any{"api": map[string]any{"oauth2PermissionScopes": final}}}
	if len(final) > 0 && (obs == nil || len(obs.IdentifierURIs) == 0) {
		uri := "api://" + AppIDPlaceholder
		if obs != nil {
			uri = "api://" + obs.AppID
		}
		fs = append(fs, FieldDiff{Field: "identifierUris", Before: []string{}, After: []string{uri}})
		body["final"].(map[string]any)["identifierUris"] = []any{uri}
	}
	if len(fs) == 0 {
		return
	}
	if mustDisable {
		body["disable"] = map[string]any{"api": map[string]any{"oauth2PermissionScopes": disable}}
	}
	sortFields(fs)
	ch := Change{Address: bpAddr + ".exposedScopes", Kind: KindExposedScopes, Action: Update, Object: b.DisplayName, Fields: fs, Body: body,
		Parents: parents, DependsOn: deps, Pos: b.Pos}
	if obs != nil {
		ch.ObjectID, ch.ObservedFingerprint = obs.ID, fingerprint(have)
	}
	d.changes = append(d.changes, ch)
}
