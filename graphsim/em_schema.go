package graphsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// A small model of the v1.0 complex types used by assignment policies
// (openapi-subset/v1.0.json, microsoft.graph.accessPackage*), used to
// validate request bodies strictly (unknown property, wrong JSON type or
// enum value → 400) and to render them back with server defaults filled
// in, in a fixed property order. Omitted properties come back as Graph
// returns unset ones: false for booleans, [] for collections, null for
// strings, durations and optional complex values, and documented defaults
// for a few enums (see the field tables). A client comparing naively with
// what it sent therefore sees differences and has to normalise.

type fkind int

const (
	fString fkind = iota
	fBool
	fInt
	fDuration
	fDateTime
	fDate
	fEnum
	fObject
	fObjects
	fEnums
)

type fdef struct {
	name string
	kind fkind
	enum []string
	typ  *ctype
	// dflt is the value rendered when the property is omitted; nil means
	// JSON null (and, for fObject with defObj, the normalised empty object).
	dflt   any
	defObj bool
}

type ctype struct {
	name     string // without the microsoft.graph. prefix
	abstract bool
	typed    bool // @odata.type is emitted
	fields   []fdef
	derived  []*ctype
}

// emErr is a body error: 400 BadRequest for payload shape (OData
// deserialisation), Request_BadRequest for semantic validation.
type emErr struct {
	status    int
	code, msg string
}

func (c *reqCtx) emErrResp(e *emErr) *response { return c.errResp(e.status, e.code, e.msg) }

func shapeErr(format string, a ...any) *emErr {
	return &emErr{400, "BadRequest", fmt.Sprintf(format, a...)}
}

func semErr(format string, a ...any) *emErr {
	return &emErr{400, "Request_BadRequest", fmt.Sprintf(format, a...)}
}

var (
	enumAllowedTargetScope = []string{"notSpecified", "specificDirectoryUsers", "specificConnectedOrganizationUsers", "specificDirectoryServicePrincipals", "allMemberUsers", "allDirectoryUsers", "allDirectoryServicePrincipals", "allConfiguredConnectedOrganizationUsers", "allExternalUsers", "allDirectoryAgentIdentities", "unknownFutureValue"}
	enumExpirationType     = []string{"notSpecified", "noExpiration", "afterDateTime", "afterDuration"}
	enumReviewExpiration   = []string{"keepAccess", "removeAccess", "acceptAccessRecommendation", "unknownFutureValue"}
	enumApproverVisibility = []string{"default", "notVisible", "visible", "unknownFutureValue"}
	enumRecurrencePattern  = []string{"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
	enumRecurrenceRange    = []string{"endDate", "noEnd", "numbered"}
	enumDayOfWeek          = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	enumWeekIndex          = []string{"first", "second", "third", "fourth", "last"}
)

var (
	tExpirationPattern = &ctype{name: "expirationPattern", fields: []fdef{
		{name: "endDateTime", kind: fDateTime},
		{name: "duration", kind: fDuration},
		{name: "type", kind: fEnum, enum: enumExpirationType, dflt: "notSpecified"},
	}}

	tSubjectSet = &ctype{name: "subjectSet", abstract: true, derived: []*ctype{
		{name: "singleUser", typed: true, fields: []fdef{{name: "userId", kind: fString}, {name: "description", kind: fString}}},
		{name: "groupMembers", typed: true, fields: []fdef{{name: "groupId", kind: fString}, {name: "description", kind: fString}}},
		{name: "singleServicePrincipal", typed: true, fields: []fdef{{name: "servicePrincipalId", kind: fString}, {name: "description", kind: fString}}},
		{name: "attributeRuleMembers", typed: true, fields: []fdef{{name: "description", kind: fString}, {name: "membershipRule", kind: fString}}},
		{name: "connectedOrganizationMembers", typed: true, fields: []fdef{{name: "connectedOrganizationId", kind: fString}, {name: "description", kind: fString}}},
		{name: "requestorManager", typed: true, fields: []fdef{{name: "managerLevel", kind: fInt, dflt: 1}}},
		{name: "targetManager", typed: true, fields: []fdef{{name: "managerLevel", kind: fInt, dflt: 1}}},
		{name: "internalSponsors", typed: true},
		{name: "externalSponsors", typed: true},
		{name: "targetUserSponsors", typed: true},
		{name: "targetApplicationOwners", typed: true},
		{name: "targetAgentIdentitySponsorsOrOwners", typed: true},
	}}

	tRequestorSettings = &ctype{name: "accessPackageAssignmentRequestorSettings", fields: []fdef{
		{name: "enableTargetsToSelfAddAccess", kind: fBool, dflt: false},
		{name: "enableTargetsToSelfUpdateAccess", kind: fBool, dflt: false},
		{name: "enableTargetsToSelfRemoveAccess", kind: fBool, dflt: false},
		{name: "allowCustomAssignmentSchedule", kind: fBool, dflt: false},
		{name: "enableOnBehalfRequestorsToAddAccess", kind: fBool, dflt: false},
		{name: "enableOnBehalfRequestorsToUpdateAccess", kind: fBool, dflt: false},
		{name: "enableOnBehalfRequestorsToRemoveAccess", kind: fBool, dflt: false},
		{name: "onBehalfRequestors", kind: fObjects, typ: tSubjectSet},
	}}

	tApprovalStage = &ctype{name: "accessPackageApprovalStage", fields: []fdef{
		{name: "durationBeforeAutomaticDenial", kind: fDuration},
		{name: "isApproverJustificationRequired", kind: fBool, dflt: false},
		{name: "isEscalationEnabled", kind: fBool, dflt: false},
		{name: "durationBeforeEscalation", kind: fDuration},
		{name: "primaryApprovers", kind: fObjects, typ: tSubjectSet},
		{name: "fallbackPrimaryApprovers", kind: fObjects, typ: tSubjectSet},
		{name: "escalationApprovers", kind: fObjects, typ: tSubjectSet},
		{name: "fallbackEscalationApprovers", kind: fObjects, typ: tSubjectSet},
		{name: "approverInformationVisibility", kind: fEnum, enum: enumApproverVisibility, dflt: "default"},
	}}

	tApprovalSettings = &ctype{name: "accessPackageAssignmentApprovalSettings", fields: []fdef{
		{name: "isApprovalRequiredForAdd", kind: fBool, dflt: false},
		{name: "isApprovalRequiredForUpdate", kind: fBool, dflt: false},
		{name: "isRequestorJustificationRequired", kind: fBool, dflt: false},
		{name: "stages", kind: fObjects, typ: tApprovalStage},
	}}

	tRecurrencePattern = &ctype{name: "recurrencePattern", fields: []fdef{
		{name: "type", kind: fEnum, enum: enumRecurrencePattern},
		{name: "interval", kind: fInt, dflt: 0},
		{name: "month", kind: fInt, dflt: 0},
		{name: "dayOfMonth", kind: fInt, dflt: 0},
		{name: "daysOfWeek", kind: fEnums, enum: enumDayOfWeek},
		{name: "firstDayOfWeek", kind: fEnum, enum: enumDayOfWeek, dflt: "sunday"},
		{name: "index", kind: fEnum, enum: enumWeekIndex, dflt: "first"},
	}}

	tRecurrenceRange = &ctype{name: "recurrenceRange", fields: []fdef{
		{name: "type", kind: fEnum, enum: enumRecurrenceRange},
		{name: "numberOfOccurrences", kind: fInt, dflt: 0},
		{name: "startDate", kind: fDate},
		{name: "endDate", kind: fDate},
		{name: "recurrenceTimeZone", kind: fString},
	}}

	tPatternedRecurrence = &ctype{name: "patternedRecurrence", fields: []fdef{
		{name: "pattern", kind: fObject, typ: tRecurrencePattern},
		{name: "range", kind: fObject, typ: tRecurrenceRange},
	}}

	tSchedule = &ctype{name: "entitlementManagementSchedule", fields: []fdef{
		{name: "startDateTime", kind: fDateTime},
		{name: "expiration", kind: fObject, typ: tExpirationPattern},
		{name: "recurrence", kind: fObject, typ: tPatternedRecurrence},
	}}

	tReviewSettings = &ctype{name: "accessPackageAssignmentReviewSettings", fields: []fdef{
		{name: "isEnabled", kind: fBool, dflt: false},
		{name: "expirationBehavior", kind: fEnum, enum: enumReviewExpiration, dflt: "keepAccess"},
		{name: "isRecommendationEnabled", kind: fBool, dflt: false},
		{name: "isReviewerJustificationRequired", kind: fBool, dflt: false},
		{name: "isSelfReview", kind: fBool, dflt: false},
		{name: "schedule", kind: fObject, typ: tSchedule},
		{name: "primaryReviewers", kind: fObjects, typ: tSubjectSet},
		{name: "fallbackReviewers", kind: fObjects, typ: tSubjectSet},
	}}

	tAutomaticRequestSettings = &ctype{name: "accessPackageAutomaticRequestSettings", fields: []fdef{
		{name: "requestAccessForAllowedTargets", kind: fBool, dflt: false},
		{name: "removeAccessWhenTargetLeavesAllowedTargets", kind: fBool, dflt: false},
		{name: "gracePeriodBeforeAccessRemoval", kind: fDuration},
	}}

	tNotificationSettings = &ctype{name: "accessPackageNotificationSettings", fields: []fdef{
		{name: "isAssignmentNotificationDisabled", kind: fBool, dflt: false},
	}}

	tLocalizedText = &ctype{name: "accessPackageLocalizedText", fields: []fdef{
		{name: "languageCode", kind: fString},
		{name: "text", kind: fString},
	}}

	tAnswerChoice = &ctype{name: "accessPackageAnswerChoice", fields: []fdef{
		{name: "actualValue", kind: fString},
		{name: "text", kind: fString},
		{name: "localizations", kind: fObjects, typ: tLocalizedText},
	}}

	questionBase = []fdef{
		{name: "id", kind: fString},
		{name: "sequence", kind: fInt, dflt: 0},
		{name: "isRequired", kind: fBool, dflt: false},
		{name: "isAnswerEditable", kind: fBool, dflt: false},
		{name: "text", kind: fString},
		{name: "localizations", kind: fObjects, typ: tLocalizedText},
	}

	tQuestion = &ctype{name: "accessPackageQuestion", abstract: true, derived: []*ctype{
		{name: "accessPackageMultipleChoiceQuestion", typed: true, fields: append(append([]fdef{}, questionBase...),
			fdef{name: "choices", kind: fObjects, typ: tAnswerChoice},
			fdef{name: "isMultipleSelectionAllowed", kind: fBool, dflt: false})},
		{name: "accessPackageTextInputQuestion", typed: true, fields: append(append([]fdef{}, questionBase...),
			fdef{name: "isSingleLineQuestion", kind: fBool, dflt: false},
			fdef{name: "regexPattern", kind: fString})},
	}}

	// policyFields are the structural properties of
	// accessPackageAssignmentPolicy in rendering order (id first,
	// createdDateTime/modifiedDateTime last are added by the renderer).
	policyFields = []fdef{
		{name: "displayName", kind: fString},
		{name: "description", kind: fString},
		{name: "allowedTargetScope", kind: fEnum, enum: enumAllowedTargetScope, dflt: "notSpecified"},
		{name: "specificAllowedTargets", kind: fObjects, typ: tSubjectSet},
		{name: "expiration", kind: fObject, typ: tExpirationPattern, defObj: true},
		{name: "requestorSettings", kind: fObject, typ: tRequestorSettings, defObj: true},
		{name: "requestApprovalSettings", kind: fObject, typ: tApprovalSettings, defObj: true},
		{name: "reviewSettings", kind: fObject, typ: tReviewSettings},
		{name: "automaticRequestSettings", kind: fObject, typ: tAutomaticRequestSettings},
		{name: "notificationSettings", kind: fObject, typ: tNotificationSettings, defObj: true},
	}
)

var durationRe = regexp.MustCompile(`^-?P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+([.][0-9]+)?S)?)?$`)

func unknownProp(name, typ string) *emErr {
	return shapeErr("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, typ)
}

// normalize validates v against t and renders it with defaults.
func normalize(t *ctype, v any, path string) (object, *emErr) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, shapeErr("Cannot convert the value of '%s' to the expected type 'microsoft.graph.%s'.", path, t.name)
	}
	typ := t
	if ot, present := m["@odata.type"]; present {
		s, _ := ot.(string)
		s = strings.TrimPrefix(strings.TrimPrefix(s, "#"), "microsoft.graph.")
		switch {
		case strings.EqualFold(s, t.name) && !t.abstract:
		default:
			typ = nil
			for _, d := range t.derived {
				if strings.EqualFold(d.name, s) {
					typ = d
				}
			}
			if typ == nil {
				return nil, shapeErr("The type 'microsoft.graph.%s' is not a valid type for '%s' (expected microsoft.graph.%s or a derived type).", s, path, t.name)
			}
		}
	} else if t.abstract {
		return nil, shapeErr("An @odata.type annotation is required for '%s': microsoft.graph.%s is abstract.", path, t.name)
	}
	known := map[string]bool{}
	for _, f := range typ.fields {
		known[f.name] = true
	}
	for k := range m {
		if k != "@odata.type" && !known[k] {
			return nil, unknownProp(k, typ.name)
		}
	}
	var out object
	if typ.typed {
		out = append(out, field{"@odata.type", "#microsoft.graph." + typ.name})
	}
	for _, f := range typ.fields {
		raw, present := m[f.name]
		val, err := normalizeField(f, raw, present, path+"."+f.name)
		if err != nil {
			return nil, err
		}
		out = append(out, field{f.name, val})
	}
	return out, nil
}

func normalizeField(f fdef, raw any, present bool, path string) (any, *emErr) {
	if !present {
		switch {
		case f.kind == fObjects || f.kind == fEnums:
			return []any{}, nil
		case f.kind == fObject && f.defObj:
			return normalize(f.typ, map[string]any{}, path)
		}
		return f.dflt, nil
	}
	if raw == nil {
		switch f.kind {
		case fObjects, fEnums:
			return []any{}, nil
		case fObject:
			if f.defObj {
				return normalize(f.typ, map[string]any{}, path)
			}
		}
		return nil, nil
	}
	switch f.kind {
	case fString:
		s, ok := raw.(string)
		if !ok {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.String' (%s).", raw, path)
		}
		return s, nil
	case fBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Boolean' (%s).", raw, path)
		}
		return b, nil
	case fInt:
		n, ok := raw.(json.Number)
		if !ok {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Int32' (%s).", raw, path)
		}
		i, err := n.Int64()
		if err != nil || i < -1<<31 || i >= 1<<31 {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Int32' (%s).", raw, path)
		}
		return int(i), nil
	case fDuration:
		s, ok := raw.(string)
		if !ok || !durationRe.MatchString(s) {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Duration' (%s).", raw, path)
		}
		d, ok := parseISODuration(s)
		if !ok {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Duration' (%s).", raw, path)
		}
		return formatISODuration(d), nil
	case fDateTime:
		s, _ := raw.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.DateTimeOffset' (%s).", raw, path)
		}
		return emTime(t), nil
	case fDate:
		s, _ := raw.(string)
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, shapeErr("Cannot convert the literal '%v' to the expected type 'Edm.Date' (%s).", raw, path)
		}
		return s, nil
	case fEnum:
		return enumValue(f, raw, path)
	case fEnums:
		arr, ok := raw.([]any)
		if !ok {
			return nil, shapeErr("A collection is expected for '%s'.", path)
		}
		out := []any{}
		for _, e := range arr {
			v, err := enumValue(f, e, path)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case fObject:
		return normalize(f.typ, raw, path)
	case fObjects:
		arr, ok := raw.([]any)
		if !ok {
			return nil, shapeErr("A collection is expected for '%s'.", path)
		}
		out := []any{}
		for i, e := range arr {
			o, err := normalize(f.typ, e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	}
	return nil, shapeErr("unsupported property %s", path)
}

// enumValue accepts enum members case-insensitively and returns Graph's
// spelling.
func enumValue(f fdef, raw any, path string) (any, *emErr) {
	s, ok := raw.(string)
	if ok {
		for _, e := range f.enum {
			if strings.EqualFold(e, s) {
				return e, nil
			}
		}
	}
	return nil, shapeErr("The value '%v' is not valid for '%s' (expected one of %s).", raw, path, strings.Join(f.enum, ", "))
}

// objGet returns a property of a normalised object.
func objGet(o any, path ...string) any {
	cur := o
	for _, p := range path {
		ob, ok := cur.(object)
		if !ok {
			return nil
		}
		cur, _ = ob.get(p)
	}
	return cur
}

func objList(o any, path ...string) []any {
	v, _ := objGet(o, path...).([]any)
	return v
}
