package planner

// Assignment policies in the spec's own terms.
//
// A policy is compared and written as Graph's body (Change.Body), but its
// reviewer wrote YAML: approval.stages[0].timeout: 7d, not
// requestApprovalSettings.stages[0].durationBeforeAutomaticDenial: P7D
// inside a kilobyte of JSON. The view here walks a Graph policy body along
// the shape the spec loader writes (spec/em.go, policy) and names every
// leaf by its spec path, its value as the spec writes it: durations as 14d,
// subjects as user "alice@contoso.com", a review's recurrence as 3 months.
// A property the spec has no term for keeps its Graph path, so nothing a
// body sets is left out of the view.
//
// policyFields compares leaf by leaf with subset, the comparison
// bodyFields makes property by property, so it finds a difference exactly
// when bodyFields does (TestPolicyFieldsAgreeWithBodyFields).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// pterm is a Graph property of a policy body and its spec term.
type pterm struct {
	key string
	// name is the spec path, relative to the list element the property is
	// in; "" where the spec has no term (the Graph path is used).
	name string
	// show reads a leaf's value, compared whole; nil shows it as it is.
	show func(v *policyViewer, x any) any
	// fields are the properties of an object whose leaves are compared one
	// by one; elems those of the elements of a list compared by index.
	fields, elems []pterm
	// implied leaves follow from the others (a question's sequence is its
	// place, its type whether it has choices): compared, but listed only
	// when they differ.
	implied bool
}

// policyTerms is the spec's policy in Graph's shape, in the order of the
// spec's keys.
var policyTerms = []pterm{
	{key: "displayName", name: "displayName"},
	{key: "description", name: "description"},
	{key: "allowedTargetScope", name: "who"},
	{key: "specificAllowedTargets", name: "allowedTargets", show: (*policyViewer).subjects},
	{key: "automaticRequestSettings", fields: []pterm{
		{key: "requestAccessForAllowedTargets", name: "autoAssign"},
	}},
	{key: "expiration", name: "expiration", show: (*policyViewer).expiration},
	{key: "requestorSettings", fields: []pterm{
		{key: "enableTargetsToSelfAddAccess", name: "selfService.add"},
		{key: "enableTargetsToSelfUpdateAccess", name: "selfService.update"},
		{key: "enableTargetsToSelfRemoveAccess", name: "selfService.remove"},
		{key: "onBehalfRequestors", name: "onBehalf.requestors", show: (*policyViewer).subjects},
		{key: "enableOnBehalfRequestorsToAddAccess", name: "onBehalf.add"},
		{key: "enableOnBehalfRequestorsToUpdateAccess", name: "onBehalf.update"},
		{key: "enableOnBehalfRequestorsToRemoveAccess", name: "onBehalf.remove"},
	}},
	{key: "requestApprovalSettings", name: "approval", fields: []pterm{
		{key: "isApprovalRequiredForAdd", name: "approval.required"},
		{key: "isRequestorJustificationRequired", name: "approval.justification"},
		{key: "stages", name: "approval.stages", elems: []pterm{
			{key: "primaryApprovers", name: "approvers", show: (*policyViewer).subjects},
			{key: "fallbackPrimaryApprovers", name: "fallbackApprovers", show: (*policyViewer).subjects},
			{key: "durationBeforeAutomaticDenial", name: "timeout", show: (*policyViewer).duration},
			{key: "isApproverJustificationRequired", name: "justification"},
		}},
	}},
	{key: "reviewSettings", name: "review", fields: []pterm{
		{key: "schedule", fields: []pterm{
			{key: "recurrence", name: "review.every", show: (*policyViewer).recurrence},
			{key: "startDateTime", name: "review.starting", show: (*policyViewer).date},
			{key: "expiration", name: "review.duration", show: (*policyViewer).expiration},
		}},
		{key: "primaryReviewers", name: "review.reviewers", show: (*policyViewer).subjects},
		{key: "isSelfReview", name: "review.selfReview"},
		{key: "expirationBehavior", name: "review.onNoResponse"},
		{key: "isReviewerJustificationRequired", name: "review.justification"},
		{key: "isEnabled", implied: true},
	}},
	{key: "questions", name: "questions", elems: []pterm{
		{key: "text", name: "text"},
		{key: "isRequired", name: "required"},
		{key: "isSingleLineQuestion", name: "multiline", show: (*policyViewer).negated},
		{key: "isMultipleSelectionAllowed", name: "multiple"},
		{key: "choices", name: "choices", show: (*policyViewer).choices},
		{key: "sequence", implied: true},
		{key: "@odata.type", implied: true},
	}},
	{key: "customExtensionStageSettings", name: "customExtensions", elems: []pterm{
		{key: "stage", name: "stage"},
		{key: "customExtension", name: "extension", show: (*policyViewer).extension},
	}},
}

// policyViewer reads policy bodies; label names a user, group or service
// principal by id (its UPN or display name), or returns the id.
type policyViewer struct {
	label func(id string) string
}

// pleaf is one step of a walk over a body: a leaf, or the end of a list of
// objects (elems set), where the elements only the other body has are
// found.
type pleaf struct {
	path string
	// at is the leaf's place in the body: property names and list indices.
	at   []any
	raw  any
	show func(v *policyViewer, x any) any
	// graph is set when path is a Graph path, the spec having no term.
	graph, implied bool
	// elems and n are set on the end of a list: its element terms and how
	// many elements the walked body has.
	elems []pterm
	n     int
}

// value shows x, a value at the leaf's place in either body, as the leaf
// reads.
func (l pleaf) value(v *policyViewer, x any) any {
	if l.show == nil {
		return plainValue(x)
	}
	return l.show(v, x)
}

// walk lists the leaves of a body, in the order of the spec's keys, then
// the properties the spec has no term for by name.
func (v *policyViewer) walk(body map[string]any) []pleaf {
	var out []pleaf
	v.object(&out, policyTerms, body, "", "", nil)
	return out
}

// object walks the properties of m. specAt prefixes spec paths (the list
// element m is in), graphAt the Graph paths of properties without a term.
func (v *policyViewer) object(out *[]pleaf, terms []pterm, m map[string]any, specAt, graphAt string, at []any) {
	seen := map[string]bool{}
	for _, t := range terms {
		x, ok := m[t.key]
		if !ok {
			continue
		}
		seen[t.key] = true
		v.property(out, t, x, specAt, graphAt, at)
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		v.property(out, pterm{key: k}, m[k], specAt, graphAt, at)
	}
}

// property walks one property: an object or a list of objects into its
// leaves, anything else as one leaf. An empty object is a leaf, so that
// every object the body sets is compared.
func (v *policyViewer) property(out *[]pleaf, t pterm, x any, specAt, graphAt string, at []any) {
	name := specAt + t.name
	if t.name == "" {
		name = graphAt + t.key
	}
	at = appendAt(at, t.key)
	leaf := pleaf{path: name, at: at, raw: x, show: t.show, graph: t.name == "", implied: t.implied}
	switch {
	case t.elems != nil:
		list, ok := x.([]any)
		if !ok {
			break
		}
		for i, e := range list {
			el := fmt.Sprintf("%s[%d]", name, i)
			if em, ok := e.(map[string]any); ok && len(em) > 0 {
				v.object(out, t.elems, em, el+".", el+".", appendAt(at, i))
			} else {
				*out = append(*out, pleaf{path: el, at: appendAt(at, i), raw: e})
			}
		}
		leaf.elems, leaf.n = t.elems, len(list)
	case t.show == nil:
		// An object: of known properties, or one the spec has no term for.
		if m, ok := x.(map[string]any); ok && len(m) > 0 {
			v.object(out, t.fields, m, specAt, graphAt+t.key+".", at)
			return
		}
	}
	*out = append(*out, leaf)
}

func appendAt(at []any, step any) []any {
	return append(slices.Clip(at), step)
}

// lookup finds the value at a place in a body; ok is false when the body
// has no object or no element on the way there.
func lookup(body map[string]any, at []any) (x any, ok bool) {
	if body == nil {
		return nil, false
	}
	x = body
	for _, step := range at {
		switch s := step.(type) {
		case string:
			m, isMap := x.(map[string]any)
			if !isMap {
				return nil, false
			}
			x = m[s]
		case int:
			l, isList := x.([]any)
			if !isList || s >= len(l) {
				return nil, false
			}
			x = l[s]
		}
	}
	return x, true
}

// policyView lists the leaves of a policy a plan creates, each as added.
// An empty list of objects (questions: []) is listed as such.
func policyView(body map[string]any, label func(string) string) []FieldDiff {
	v := newPolicyViewer(label)
	var fs []FieldDiff
	for _, l := range v.walk(body) {
		switch {
		case l.implied:
		case l.elems != nil:
			if l.n == 0 {
				fs = append(fs, FieldDiff{Field: l.path, After: []any{}})
			}
		default:
			fs = append(fs, FieldDiff{Field: l.path, After: l.value(v, l.raw)})
		}
	}
	return fs
}

// policyFields lists the leaves of want that have differs on, in the
// spec's order: a leaf have lacks as added (Before nil), an element of a
// list only have has as removed (After nil). What only have sets (Graph's
// defaults and server-set properties) is not compared. Like bodyFields,
// an update does not compare displayName, the policy's key.
func policyFields(want, have map[string]any, label func(string) string) []FieldDiff {
	v := newPolicyViewer(label)
	// An element have lacks is listed as a create lists it: its implied
	// leaves only when nothing else of it is.
	type entry struct {
		f       FieldDiff
		element string
		held    bool
	}
	var entries []entry
	shown := map[string]bool{}
	for _, l := range v.walk(want) {
		if have != nil && len(l.at) == 1 && l.at[0] == "displayName" {
			continue
		}
		h, ok := lookup(have, l.at)
		if l.elems != nil {
			for _, f := range v.listEnd(l, h, ok) {
				entries = append(entries, entry{f: f})
			}
			continue
		}
		if ok && subset(l.raw, h) {
			continue
		}
		e := entry{f: FieldDiff{Field: l.path, After: l.value(v, l.raw)}, element: fmt.Sprint(l.at[:len(l.at)-1]), held: l.implied && !ok}
		if ok && h != nil {
			e.f.Before = l.value(v, h)
		}
		shown[e.element] = shown[e.element] || !e.held
		entries = append(entries, e)
	}
	var fs []FieldDiff
	for _, e := range entries {
		if !e.held || !shown[e.element] {
			fs = append(fs, e.f)
		}
	}
	return fs
}

// listEnd compares the end of a list of objects: the elements only have
// has are removed, each with the leaves the spec writes; an empty list is
// compared as subset does, with have's value.
func (v *policyViewer) listEnd(l pleaf, h any, ok bool) []FieldDiff {
	list, isList := h.([]any)
	if !ok || (h != nil && !isList) {
		if l.n > 0 {
			return nil // its elements' leaves are all reported
		}
		f := FieldDiff{Field: l.path, After: []any{}}
		if h != nil {
			f.Before = plainValue(h)
		}
		return []FieldDiff{f}
	}
	var fs []FieldDiff
	for i := l.n; i < len(list); i++ {
		el := fmt.Sprintf("%s[%d]", l.path, i)
		before := len(fs)
		if em, isMap := list[i].(map[string]any); isMap {
			var leaves []pleaf
			v.object(&leaves, l.elems, em, el+".", el+".", nil)
			for _, e := range leaves {
				if e.graph || e.implied || e.elems != nil || isEmpty(e.raw) {
					continue
				}
				fs = append(fs, FieldDiff{Field: e.path, Before: e.value(v, e.raw)})
			}
		}
		if len(fs) == before {
			fs = append(fs, FieldDiff{Field: el, Before: plainValue(list[i])})
		}
	}
	return fs
}

// isEmpty reports a Graph default a removed element need not show: null or
// an empty list.
func isEmpty(x any) bool {
	l, isList := x.([]any)
	return x == nil || (isList && len(l) == 0)
}

// plainValue shows a value as it is: a list as its elements' JSON, an
// object without its nulls and empty lists (Graph's defaults).
func plainValue(x any) any {
	switch x := x.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = value(plainValue(e))
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !isEmpty(e) {
				out[k] = plainValue(e)
			}
		}
		return out
	}
	return x
}

// subjects shows a subject list as the spec writes it:
// [user "alice@contoso.com", manager].
func (v *policyViewer) subjects(x any) any {
	list, ok := x.([]any)
	if !ok {
		return plainValue(x)
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = v.subject(s)
	}
	return out
}

// subjectKeywords are the spec's keywords for Graph's subject types that
// name nobody in particular.
var subjectKeywords = map[string]string{
	"internalsponsors":                    "sponsors",
	"externalsponsors":                    "externalSponsors",
	"targetusersponsors":                  "targetSponsors",
	"targetagentidentitysponsorsorowners": "agentSponsorsOrOwners",
}

func (v *policyViewer) subject(s any) string {
	m, ok := s.(map[string]any)
	if !ok {
		return value(plainValue(s))
	}
	typ, _ := m["@odata.type"].(string)
	typ = strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "microsoft.graph.")
	id := func(key string) string {
		s, _ := m[key].(string)
		return v.name(s)
	}
	switch strings.ToLower(typ) {
	case "singleuser":
		return fmt.Sprintf("user %q", id("userId"))
	case "groupmembers":
		return fmt.Sprintf("group %q", id("groupId"))
	case "singleserviceprincipal":
		return fmt.Sprintf("servicePrincipal %q", id("servicePrincipalId"))
	case "attributerulemembers":
		rule, _ := m["membershipRule"].(string)
		return fmt.Sprintf("autoAssign rule %q", rule)
	case "requestormanager":
		if level, set := m["managerLevel"]; set && level != nil && fmt.Sprint(level) != "1" {
			return fmt.Sprintf("manager (level %v)", level)
		}
		return "manager"
	}
	if kw, ok := subjectKeywords[strings.ToLower(typ)]; ok {
		return kw
	}
	// A subject type the spec cannot write: its type and what it names.
	rest := plainValue(m).(map[string]any)
	delete(rest, "@odata.type")
	if len(rest) == 0 {
		return typ
	}
	return typ + " " + value(rest)
}

// name labels an id; Graph may spell it in capitals.
func (v *policyViewer) name(id string) string {
	if l := v.label(id); l != id {
		return l
	}
	return v.label(strings.ToLower(id))
}

// newPolicyViewer labels subjects with label, or by id when it is nil.
func newPolicyViewer(label func(string) string) *policyViewer {
	if label == nil {
		label = func(id string) string { return id }
	}
	return &policyViewer{label: label}
}

// isoShort is the inverse of the spec's durations: P14D is 14d, PT12H 12h.
// Other ISO 8601 durations are shown as they are.
func isoShort(s string) string {
	for _, f := range []struct{ prefix, suffix, unit string }{{"P", "D", "d"}, {"PT", "H", "h"}} {
		n, found := strings.CutPrefix(s, f.prefix)
		if n, found2 := strings.CutSuffix(n, f.suffix); found && found2 {
			if i, err := strconv.Atoi(n); err == nil && i > 0 && !strings.HasPrefix(n, "+") {
				return strconv.Itoa(i) + f.unit
			}
		}
	}
	return s
}

func (v *policyViewer) duration(x any) any {
	if s, ok := x.(string); ok {
		return isoShort(s)
	}
	return plainValue(x)
}

// expiration shows an expiration as the spec writes it: never, or 30d.
func (v *policyViewer) expiration(x any) any {
	m, ok := x.(map[string]any)
	if !ok {
		return plainValue(x)
	}
	typ, _ := m["type"].(string)
	switch d, isStr := m["duration"].(string); {
	case strings.EqualFold(typ, "noExpiration"):
		return "never"
	case strings.EqualFold(typ, "afterDuration") && isStr:
		return isoShort(d)
	}
	return plainValue(x)
}

// recurrenceUnits are the spec's units of review.every by Graph's pattern
// type.
var recurrenceUnits = map[string]string{"weekly": "week", "absolutemonthly": "month", "absoluteyearly": "year"}

// recurrence shows a review's recurrence as the spec writes it: 3 months.
func (v *policyViewer) recurrence(x any) any {
	m, _ := x.(map[string]any)
	pattern, _ := m["pattern"].(map[string]any)
	rng, _ := m["range"].(map[string]any)
	typ, _ := pattern["type"].(string)
	n, isNum := pattern["interval"].(float64)
	end, _ := rng["type"].(string)
	unit, known := recurrenceUnits[strings.ToLower(typ)]
	if !known || !isNum || n < 1 || n != float64(int(n)) || (rng != nil && !strings.EqualFold(end, "noEnd")) {
		return plainValue(x)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", int(n), unit)
}

// date shows a review's start as the spec writes it, a date, when it is
// midnight UTC as the spec writes it.
func (v *policyViewer) date(x any) any {
	if s, ok := x.(string); ok {
		if d, found := strings.CutSuffix(s, "T00:00:00Z"); found && len(d) == len("2006-01-02") {
			return d
		}
	}
	return plainValue(x)
}

// negated shows Graph's isSingleLineQuestion as the spec's multiline.
func (v *policyViewer) negated(x any) any {
	if b, ok := x.(bool); ok {
		return !b
	}
	return plainValue(x)
}

// choices shows a question's choices by their text, with the value Graph
// stores when it is another.
// extension names a stage's custom extension by its display name (Graph
// expands it on reads; the planner keeps the spec's name beside the id).
func (v *policyViewer) extension(x any) any {
	m, _ := x.(map[string]any)
	if name, ok := m["displayName"].(string); ok && name != "" {
		return name
	}
	if id, ok := m["id"].(string); ok {
		return id
	}
	return plainValue(x)
}

func (v *policyViewer) choices(x any) any {
	list, ok := x.([]any)
	if !ok {
		return plainValue(x)
	}
	out := make([]any, len(list))
	for i, c := range list {
		m, _ := c.(map[string]any)
		text, isStr := m["text"].(string)
		if !isStr {
			out[i] = value(plainValue(c))
			continue
		}
		out[i] = fmt.Sprintf("%q", text)
		if av, set := m["actualValue"]; set && av != text {
			out[i] = fmt.Sprintf("%q (value %s)", text, value(av))
		}
	}
	return out
}

// policyValue renders a policy leaf's value in the text view: a list as the
// spec reads it, [user "alice@contoso.com", manager], anything else as
// value does. A plan saved before policies had spec-term fields still
// renders, as JSON.
func policyValue(x any) string {
	list, ok := x.([]any)
	if !ok {
		return value(x)
	}
	parts := make([]string, len(list))
	for i, e := range list {
		s, isStr := e.(string)
		if !isStr {
			return value(x)
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
