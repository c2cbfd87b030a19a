package planner

// Safeguards: the spec's settings cannot quietly switch its own gates off.
//
// The settings live in the spec under review, so a pull request could drop
// a code from requireApproval, raise a limit or hand fields to another
// system in the same change that then needs the weaker rule. Two things
// stop that:
//
//   - A policy (Options.Policy, from a file outside the spec that the
//     pipeline's owner keeps: --policy or ENTRASYNC_POLICY) is a floor:
//     the effective settings take the stricter of the policy and the spec
//     for every rule, and a spec rule below the floor is a warning naming
//     both places.
//   - What remains weaker than the baseline (the policy when there is one,
//     else the defaults) is listed in Plan.Safeguards with risk code
//     ES401, which needs an approval before apply writes anything.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// RiskSafeguard marks a plan whose spec weakens a safeguard.
const RiskSafeguard RiskCode = "ES401"

// Safeguard is one way the spec's settings are weaker than the baseline.
type Safeguard struct {
	// Setting names the rule, e.g. settings.requireApproval.
	Setting string    `json:"setting"`
	Summary string    `json:"summary"`
	Pos     model.Pos `json:"pos,omitzero"`
}

// applyPolicy returns the effective settings: spec merged with the policy
// floor, the stricter of each rule. Warnings name the rules the floor
// overrode.
func (d *differ) applyPolicy(spec model.Settings, floor *model.Settings, file string) model.Settings {
	if floor == nil {
		return spec
	}
	eff := spec
	warn := func(pos model.Pos, format string, args ...any) {
		d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: pos, Summary: fmt.Sprintf(format, args...),
			Detail: fmt.Sprintf("The policy %s is a floor the spec cannot lower; the stricter rule applies.", file)})
	}
	specCodes := spec.RequireApproval
	if specCodes == nil {
		specCodes = codeStrings(DefaultRequireApproval)
	}
	floorCodes := floor.RequireApproval
	if floorCodes == nil {
		floorCodes = codeStrings(DefaultRequireApproval)
	}
	eff.RequireApproval = slices.Clone(specCodes)
	for _, c := range floorCodes {
		if !slices.Contains(eff.RequireApproval, c) && d.gateMatters(c) {
			warn(spec.Pos, "settings.requireApproval leaves out %s, which the policy requires (%s): %s changes still need approval", c, floor.Pos, c)
			eff.RequireApproval = append(eff.RequireApproval, c)
		}
	}
	eff.RemovalsPerSet = stricter(spec.RemovalsPerSet, floor.RemovalsPerSet, "settings.limits.removalsPerSet", warn)
	eff.ChangesPerRun = stricter(spec.ChangesPerRun, floor.ChangesPerRun, "settings.limits.changesPerRun", warn)
	eff.Protected = slices.Clone(spec.Protected)
	for _, p := range floor.Protected {
		if !slices.ContainsFunc(eff.Protected, func(r model.Ref) bool { return strings.EqualFold(r.Value, p.Value) }) {
			eff.Protected = append(eff.Protected, p)
		}
	}
	return eff
}

func codeStrings(cs []RiskCode) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// limitValues are a limit with the defaults filled in; maxCount -1 is "no
// count limit".
func limitValues(l model.Limit) (pct, count, minSize int) {
	pct, count, minSize = defaultMaxPercent, -1, defaultMinSetSize
	if l.MaxPercent != nil {
		pct = *l.MaxPercent
	}
	if l.MaxCount != nil {
		count = *l.MaxCount
	}
	if l.MinSetSize != nil {
		minSize = *l.MinSetSize
	}
	return
}

// stricter merges a spec limit with the floor's: the lower share and count,
// the smaller minimum set size (a limit that covers smaller sets is
// stricter).
func stricter(spec, floor model.Limit, name string, warn func(model.Pos, string, ...any)) model.Limit {
	sp, sc, sm := limitValues(spec)
	fp, fc, fm := limitValues(floor)
	out := spec
	if fp < sp {
		if spec.MaxPercent != nil {
			warn(spec.Pos, "%s maxPercent %d is above the policy's %d (%s)", name, sp, fp, floor.Pos)
		}
		out.MaxPercent = &fp
	}
	if fc >= 0 && (sc < 0 || fc < sc) {
		if spec.MaxCount != nil {
			warn(spec.Pos, "%s maxCount %d is above the policy's %d (%s)", name, sc, fc, floor.Pos)
		}
		out.MaxCount = &fc
	}
	if fm < sm {
		if spec.MinSetSize != nil {
			warn(spec.Pos, "%s minSetSize %d is above the policy's %d (%s)", name, sm, fm, floor.Pos)
		}
		out.MinSetSize = &fm
	}
	return out
}

// clampToFloor applies the run's floor to a set's own limit (a group's
// members.limits, an assignment set's limits): a set may be stricter than
// the policy, never looser.
func (d *differ) clampToFloor(l model.Limit) model.Limit {
	if d.floor == nil {
		return l
	}
	return stricter(l, d.floor.RemovalsPerSet, l.Setting, func(model.Pos, string, ...any) {})
}

// weakened lists how the effective settings fall below the baseline: the
// policy when there is one, else the defaults.
func (d *differ) weakened(eff model.Settings, setLimits map[string]model.Limit) []Safeguard {
	base := model.Settings{}
	if d.floor != nil {
		base = *d.floor
	}
	var out []Safeguard
	baseCodes := codeStrings(DefaultRequireApproval)
	if base.RequireApproval != nil {
		baseCodes = base.RequireApproval
	}
	if eff.RequireApproval != nil {
		for _, c := range baseCodes {
			if !slices.Contains(eff.RequireApproval, c) && d.gateMatters(c) {
				out = append(out, Safeguard{Setting: "settings.requireApproval", Pos: eff.Pos,
					Summary: fmt.Sprintf("drops %s: %s changes no longer wait for approval", c, riskTitle(RiskCode(c)))})
			}
		}
	}
	raised := func(name string, l, b model.Limit) {
		lp, lc, lm := limitValues(l)
		bp, bc, bm := limitValues(b)
		pos := l.Pos
		if lp > bp {
			out = append(out, Safeguard{Setting: name, Pos: pos, Summary: fmt.Sprintf("raises maxPercent from %d to %d", bp, lp)})
		}
		if bc >= 0 && (lc < 0 || lc > bc) {
			out = append(out, Safeguard{Setting: name, Pos: pos, Summary: fmt.Sprintf("raises maxCount from %d", bc)})
		}
		if lm > bm {
			out = append(out, Safeguard{Setting: name, Pos: pos, Summary: fmt.Sprintf("raises minSetSize from %d to %d: smaller sets are not limited", bm, lm)})
		}
	}
	raised("settings.limits.removalsPerSet", eff.RemovalsPerSet, base.RemovalsPerSet)
	raised("settings.limits.changesPerRun", eff.ChangesPerRun, base.ChangesPerRun)
	for _, addr := range sortedKeys(setLimits) {
		l := merge(setLimits[addr], eff.RemovalsPerSet)
		if d.floor != nil {
			// Clamped to the policy (checkLimits does the same): not a
			// weakening, but the spec should hear that its limit is moot.
			if c := d.clampToFloor(l); fmt.Sprint(limitValues(c)) != fmt.Sprint(limitValues(l)) {
				d.diags = append(d.diags, model.Diagnostic{Severity: model.Warning, Pos: setLimits[addr].Pos, Address: addr,
					Summary: fmt.Sprintf("%s: limits above the policy's settings.limits.removalsPerSet (%s) are lowered to it", addr, d.floor.RemovalsPerSet.Pos)})
			}
			continue
		}
		raised(addr+" limits", l, base.RemovalsPerSet)
	}
	for _, r := range eff.Ignore {
		if slices.ContainsFunc(base.Ignore, func(b model.IgnoreRule) bool { return b.Covers(r) }) {
			continue // the policy allows this rule
		}
		out = append(out, Safeguard{Setting: "settings.ignore", Pos: r.Pos,
			Summary: fmt.Sprintf("hands %s of %s to another system: entrasync neither compares nor corrects them", strings.Join(r.Fields, ", "), r.Objects())})
	}
	return out
}

func riskTitle(c RiskCode) string {
	for _, r := range Risks {
		if r.Code == c {
			return r.Title
		}
	}
	return string(c)
}

func sortedKeys(m map[string]model.Limit) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func safeguardBase(p *Plan) string {
	if p.PolicyFile != "" {
		return "policy " + p.PolicyFile
	}
	return "defaults"
}

// atPos renders " (file:line:col)" for a known place.
func atPos(p model.Pos) string {
	if p.IsZero() {
		return ""
	}
	return " (" + p.String() + ")"
}
