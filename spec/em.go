package spec

// The catalogs: and accessPackages: sections (entitlement management).
//
// Policies are written the way a person thinks of them and converted to
// Graph's v1.0 shape here: `expiration: 30d` becomes
// {"type":"afterDuration","duration":"P30D"}, `approvers: [manager]`
// becomes a requestorManager subject set. Only what the spec writes goes
// into the policy body; the planner compares those properties alone.

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

type catalogDoc struct {
	mapping
	DisplayName         str            `yaml:"displayName" required:"true"`
	Description         str            `yaml:"description"`
	IsExternallyVisible flag           `yaml:"isExternallyVisible"`
	State               str            `yaml:"state" enum:"published|unpublished"`
	Resources           *resourcesDoc  `yaml:"resources"`
	CustomExtensions    []extensionDoc `yaml:"customExtensions"`
	Absent              flag           `yaml:"absent"`
}

func (*catalogDoc) noun() string { return "catalog" }

// extensionDoc is a catalog's custom workflow extension: a Logic App that
// policies call at their stages.
type extensionDoc struct {
	mapping
	DisplayName str `yaml:"displayName" required:"true"`
	Description str `yaml:"description"`
	// Type is assignmentRequest (the default: runs at a request's stages)
	// or assignment (runs before an assignment expires).
	Type     str          `yaml:"type" enum:"assignmentRequest|assignment"`
	LogicApp *logicAppDoc `yaml:"logicApp"`
	// WaitForCallback makes a request wait this long for the Logic App's
	// answer (request extensions only).
	WaitForCallback str  `yaml:"waitForCallback"`
	Absent          flag `yaml:"absent"`
}

func (*extensionDoc) noun() string { return "custom extension" }

// logicAppDoc names the Azure Logic App workflow an extension triggers.
type logicAppDoc struct {
	mapping
	SubscriptionID str `yaml:"subscriptionId" required:"true"`
	ResourceGroup  str `yaml:"resourceGroup" required:"true"`
	Workflow       str `yaml:"workflow" required:"true"`
	// URL is the workflow's trigger URL, which Graph requires of an
	// application (no signed-in user) creating an extension.
	URL str `yaml:"url" required:"true"`
}

func (*logicAppDoc) noun() string { return "logicApp" }

// stageHookDoc runs a catalog's custom extension at one stage of a policy.
type stageHookDoc struct {
	mapping
	Stage     str `yaml:"stage" required:"true" enum:"assignmentRequestCreated|assignmentRequestApproved|assignmentRequestGranted|assignmentRequestRemoved|assignmentFourteenDaysBeforeExpiration|assignmentOneDayBeforeExpiration"`
	Extension str `yaml:"extension" required:"true"`
}

func (*stageHookDoc) noun() string { return "custom extension stage" }

type resourcesDoc struct {
	mapping
	Groups          []str `yaml:"groups"`
	Applications    []str `yaml:"applications"`
	SharePointSites []str `yaml:"sharePointSites"`
}

func (*resourcesDoc) noun() string { return "resources" }

type packageDoc struct {
	mapping
	DisplayName      str              `yaml:"displayName" required:"true"`
	Catalog          str              `yaml:"catalog" required:"true"`
	Description      str              `yaml:"description"`
	IsHidden         flag             `yaml:"isHidden"`
	Roles            []roleDoc        `yaml:"roles"`
	Policies         []policyDoc      `yaml:"policies"`
	Assignments      *assignmentsDoc  `yaml:"assignments"`
	IncompatibleWith *incompatibleDoc `yaml:"incompatibleWith"`
	RepairDelivery   flag             `yaml:"repairDelivery"`
	Absent           flag             `yaml:"absent"`
}

func (*packageDoc) noun() string { return "access package" }

// incompatibleDoc is incompatibleWith: what holders of the package may not
// also hold.
type incompatibleDoc struct {
	mapping
	AccessPackages []str `yaml:"accessPackages"`
	Groups         []str `yaml:"groups"`
}

func (*incompatibleDoc) noun() string { return "incompatibleWith" }

type roleDoc struct {
	mapping
	Group          str `yaml:"group"`
	Application    str `yaml:"application"`
	SharePointSite str `yaml:"sharePointSite"`
	Role           str `yaml:"role"`
}

func (*roleDoc) noun() string { return "role" }

type policyDoc struct {
	mapping
	DisplayName    str           `yaml:"displayName" required:"true"`
	Description    str           `yaml:"description"`
	Who            str           `yaml:"who" enum:"notSpecified|specificDirectoryUsers|specificConnectedOrganizationUsers|specificDirectoryServicePrincipals|allMemberUsers|allDirectoryUsers|allDirectoryServicePrincipals|allConfiguredConnectedOrganizationUsers|allExternalUsers|allDirectoryAgentIdentities"`
	AllowedTargets []subjectDoc  `yaml:"allowedTargets"`
	Expiration     str           `yaml:"expiration"`
	SelfService    *selfDoc      `yaml:"selfService"`
	OnBehalf       *onBehalfDoc  `yaml:"onBehalf"`
	Approval       *approvalDoc  `yaml:"approval"`
	Review         *reviewDoc    `yaml:"review"`
	Questions      []questionDoc `yaml:"questions"`
	AutoAssign     str           `yaml:"autoAssign"`
	// CustomExtensions run extensions of the package's catalog at the
	// policy's stages (Graph's customExtensionStageSettings).
	CustomExtensions []stageHookDoc `yaml:"customExtensions"`
}

// questionDoc is a question requestors answer: free text, or a choice.
type questionDoc struct {
	mapping
	Text      str   `yaml:"text" required:"true"`
	Required  flag  `yaml:"required"`
	Multiline flag  `yaml:"multiline"`
	Choices   []str `yaml:"choices"`
	Multiple  flag  `yaml:"multiple"`
}

func (*questionDoc) noun() string { return "question" }

// questions converts questions to Graph's accessPackageQuestion shapes, in
// order (sequence 1, 2, …).
func (l *loader) questions(qs []questionDoc) []any {
	out := []any{}
	for i, q := range qs {
		m := map[string]any{"text": q.Text.V, "isRequired": q.Required.V, "sequence": float64(i + 1)}
		if len(q.Choices) == 0 {
			if q.Multiple.Set {
				l.diags.Errorf(q.Multiple.Pos, "multiple: only applies to a question with choices")
			}
			m["@odata.type"] = "#microsoft.graph.accessPackageTextInputQuestion"
			m["isSingleLineQuestion"] = !q.Multiline.V
		} else {
			if q.Multiline.Set {
				l.diags.Errorf(q.Multiline.Pos, "multiline: only applies to a free-text question")
			}
			m["@odata.type"] = "#microsoft.graph.accessPackageMultipleChoiceQuestion"
			m["isMultipleSelectionAllowed"] = q.Multiple.V
			choices := []any{}
			for _, c := range q.Choices {
				choices = append(choices, map[string]any{"actualValue": c.V, "text": c.V})
			}
			m["choices"] = choices
		}
		out = append(out, m)
	}
	return out
}

// reviewDoc is a policy's recurring access review (Graph's reviewSettings).
type reviewDoc struct {
	mapping
	Every         str          `yaml:"every" required:"true"`
	Starting      str          `yaml:"starting" required:"true"`
	Duration      str          `yaml:"duration"`
	Reviewers     []subjectDoc `yaml:"reviewers"`
	SelfReview    flag         `yaml:"selfReview"`
	OnNoResponse  str          `yaml:"onNoResponse" enum:"keepAccess|removeAccess|acceptAccessRecommendation"`
	Justification flag         `yaml:"justification"`
}

func (*reviewDoc) noun() string { return "review" }

var everyRE = regexp.MustCompile(`^([1-9][0-9]*) (week|weeks|month|months|year|years)$`)
var dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// review converts a review to Graph's reviewSettings.
func (l *loader) review(r *reviewDoc) map[string]any {
	settings := map[string]any{"isEnabled": true, "isSelfReview": r.SelfReview.V, "isReviewerJustificationRequired": r.Justification.V,
		"primaryReviewers": l.subjects(r.Reviewers)}
	if r.OnNoResponse.Set {
		settings["expirationBehavior"] = r.OnNoResponse.V
	}
	schedule := map[string]any{}
	if m := everyRE.FindStringSubmatch(strings.TrimSpace(r.Every.V)); m != nil {
		n, _ := strconv.Atoi(m[1])
		pattern := map[string]any{"interval": float64(n)}
		switch strings.TrimSuffix(m[2], "s") {
		case "week":
			pattern["type"] = "weekly"
		case "month":
			pattern["type"] = "absoluteMonthly"
		case "year":
			pattern["type"] = "absoluteYearly"
		}
		schedule["recurrence"] = map[string]any{"pattern": pattern, "range": map[string]any{"type": "noEnd"}}
	} else if r.Every.Set {
		l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Every.Pos,
			Summary: fmt.Sprintf("every %q is not a recurrence", r.Every.V), Detail: "Write a number of weeks, months or years, like 3 months or 1 year."})
	}
	if dateRE.MatchString(r.Starting.V) {
		schedule["startDateTime"] = r.Starting.V + "T00:00:00Z"
	} else if r.Starting.Set {
		l.diags.Errorf(r.Starting.Pos, "starting %q is not a date like 2026-12-01", r.Starting.V)
	}
	duration := "P14D"
	if r.Duration.Set {
		iso, ok := isoDuration(r.Duration.V)
		if !ok {
			l.diags.Errorf(r.Duration.Pos, "duration %q is not a duration like 14d", r.Duration.V)
		}
		duration = iso
	}
	schedule["expiration"] = map[string]any{"type": "afterDuration", "duration": duration}
	settings["schedule"] = schedule
	return settings
}

func (*policyDoc) noun() string { return "policy" }

type selfDoc struct {
	mapping
	Add    flag `yaml:"add"`
	Update flag `yaml:"update"`
	Remove flag `yaml:"remove"`
}

// onBehalfDoc is who may request for others, and what.
type onBehalfDoc struct {
	mapping
	Requestors []subjectDoc `yaml:"requestors"`
	Add        flag         `yaml:"add"`
	Update     flag         `yaml:"update"`
	Remove     flag         `yaml:"remove"`
}

func (*onBehalfDoc) noun() string { return "onBehalf" }

func (*selfDoc) noun() string { return "selfService" }

type approvalDoc struct {
	mapping
	Required      flag       `yaml:"required"`
	Justification flag       `yaml:"justification"`
	Stages        []stageDoc `yaml:"stages"`
}

func (*approvalDoc) noun() string { return "approval" }

type stageDoc struct {
	mapping
	Approvers         []subjectDoc `yaml:"approvers"`
	FallbackApprovers []subjectDoc `yaml:"fallbackApprovers"`
	Timeout           str          `yaml:"timeout"`
	Justification     flag         `yaml:"justification"`
}

func (*stageDoc) noun() string { return "approval stage" }

// subjectDoc names who may request or approve: a keyword (manager,
// sponsors, externalSponsors, targetSponsors, agentSponsorsOrOwners) or
// {user: …} / {group: …}.
type subjectDoc struct {
	mapping
	Keyword          str
	User             str `yaml:"user"`
	Group            str `yaml:"group"`
	ServicePrincipal str `yaml:"servicePrincipal"`
}

func (*subjectDoc) noun() string { return "subject" }

type assignmentsDoc struct {
	mapping
	Policy       str        `yaml:"policy" required:"true"`
	Mode         str        `yaml:"mode" enum:"additive|authoritative"`
	Users        []str      `yaml:"users"`
	CSV          csvSources `yaml:"csv"`
	GroupMembers []str      `yaml:"groupMembers"`
	// ServicePrincipals and AgentIdentities are non-user targets, by display
	// name, appId or object id (agent identities also by the name the spec
	// declares them with).
	ServicePrincipals []str      `yaml:"servicePrincipals"`
	AgentIdentities   []str      `yaml:"agentIdentities"`
	Invite            *inviteDoc `yaml:"invite"`
	Limits            *limitDoc  `yaml:"limits"`
}

func (*assignmentsDoc) noun() string { return "assignments" }

type inviteDoc struct {
	mapping
	RedirectURL str  `yaml:"redirectUrl" required:"true"`
	SendMail    flag `yaml:"sendMail"`
}

func (*inviteDoc) noun() string { return "invite" }

var subjectKeywords = map[string]map[string]any{
	"manager":               {"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": float64(1)},
	"sponsors":              {"@odata.type": "#microsoft.graph.internalSponsors"},
	"externalSponsors":      {"@odata.type": "#microsoft.graph.externalSponsors"},
	"targetSponsors":        {"@odata.type": "#microsoft.graph.targetUserSponsors"},
	"agentSponsorsOrOwners": {"@odata.type": "#microsoft.graph.targetAgentIdentitySponsorsOrOwners"},
}

var durationRE = regexp.MustCompile(`^([0-9]+)([dh])$`)

// isoDuration turns "30d" or "12h" into ISO 8601 ("P30D", "PT12H").
// hoursOf is the length of a spec duration (14d, 12h) in hours; 0 when it
// is not one.
func hoursOf(s string) int {
	m := durationRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "d" {
		return n * 24
	}
	return n
}

func isoDuration(s string) (string, bool) {
	m := durationRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", false
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 {
		return "", false
	}
	if m[2] == "d" {
		return fmt.Sprintf("P%dD", n), true
	}
	return fmt.Sprintf("PT%dH", n), true
}

func (l *loader) buildCatalogs() {
	seen := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.Catalogs {
			c := &d.doc.Catalogs[i]
			key := model.NameKey(c.DisplayName.V)
			if !c.DisplayName.Set || key == "" {
				if c.Absent.V {
					l.onlyKeys(&c.mapping, "an absent catalog", "displayName", "absent")
				}
				continue
			}
			if first, dup := seen[key]; dup {
				l.diags.Errorf(c.DisplayName.Pos, "catalog %q is declared twice; the other declaration is at %s", c.DisplayName.V, first)
				continue
			}
			seen[key] = c.DisplayName.Pos
			mc := &model.Catalog{DisplayName: c.DisplayName.V, Description: optional(c.Description), State: optional(c.State), Absent: c.Absent.V, Pos: c.Pos}
			if c.IsExternallyVisible.Set {
				v := c.IsExternallyVisible.V
				mc.IsExternallyVisible = &v
			}
			if c.Absent.V {
				l.onlyKeys(&c.mapping, "an absent catalog", "displayName", "absent")
			}
			if c.Resources != nil {
				groups := []model.Ref{}
				for _, g := range c.Resources.Groups {
					if g.Set && strings.TrimSpace(g.V) != "" {
						groups = append(groups, model.Ref{Kind: model.GroupKind, Value: g.V, Pos: g.Pos})
					}
				}
				mc.Groups = &groups
				apps := []model.Ref{}
				for _, a := range c.Resources.Applications {
					if a.Set && strings.TrimSpace(a.V) != "" {
						apps = append(apps, model.Ref{Kind: model.ServicePrincipal, Value: a.V, Pos: a.Pos})
					}
				}
				mc.Applications = &apps
				sites := []model.Ref{}
				for _, u := range c.Resources.SharePointSites {
					if !u.Set {
						continue
					}
					if !strings.HasPrefix(u.V, "https://") {
						l.diags.Errorf(u.Pos, "sharePointSites: %q is not a site URL (https://contoso.sharepoint.com/sites/…)", u.V)
						continue
					}
					sites = append(sites, model.Ref{Kind: model.SiteKind, Value: strings.TrimRight(u.V, "/"), Pos: u.Pos})
				}
				mc.Sites = &sites
			}
			if c.has("customExtensions") {
				mc.CustomExtensions = l.customExtensions(c)
			}
			l.tenant.Catalogs = append(l.tenant.Catalogs, mc)
		}
	}
}

// customExtensions converts a catalog's custom extensions to Graph's v1.0
// shape, with only what is written (authentication is Graph's one kind,
// the proof-of-possession token, and is always sent).
func (l *loader) customExtensions(c *catalogDoc) *[]*model.CustomExtension {
	out := []*model.CustomExtension{}
	seen := map[string]model.Pos{}
	for i := range c.CustomExtensions {
		x := &c.CustomExtensions[i]
		if !x.DisplayName.Set || strings.TrimSpace(x.DisplayName.V) == "" {
			continue
		}
		key := model.NameKey(x.DisplayName.V)
		if first, dup := seen[key]; dup {
			l.diags.Errorf(x.DisplayName.Pos, "custom extension %q is declared twice in catalog %q; the other declaration is at %s", x.DisplayName.V, c.DisplayName.V, first)
			continue
		}
		seen[key] = x.DisplayName.Pos
		ext := &model.CustomExtension{DisplayName: x.DisplayName.V, Absent: x.Absent.V, Pos: x.Pos}
		if x.Absent.V {
			l.onlyKeys(&x.mapping, "an absent custom extension", "displayName", "absent")
			out = append(out, ext)
			continue
		}
		typ := model.RequestExtensionType
		if x.Type.V == "assignment" {
			typ = model.AssignmentExtensionType
		}
		body := map[string]any{"@odata.type": typ, "displayName": x.DisplayName.V,
			"authenticationConfiguration": map[string]any{"@odata.type": "#microsoft.graph.azureAdPopTokenAuthentication"}}
		if x.Description.Set {
			body["description"] = x.Description.V
		}
		if la := x.LogicApp; la != nil {
			body["endpointConfiguration"] = map[string]any{"@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
				"subscriptionId": la.SubscriptionID.V, "resourceGroupName": la.ResourceGroup.V, "logicAppWorkflowName": la.Workflow.V, "url": la.URL.V}
			if la.SubscriptionID.Set && !isGUID(la.SubscriptionID.V) {
				l.diags.Errorf(la.SubscriptionID.Pos, "subscriptionId %q is not an Azure subscription id (a GUID)", la.SubscriptionID.V)
			}
			switch u := strings.ToLower(la.URL.V); {
			case !la.URL.Set:
			case !strings.HasPrefix(u, "https://"):
				l.diags.Errorf(la.URL.Pos, "url %q is not the workflow's https trigger URL", la.URL.V)
			case strings.Contains(u, "sig="):
				// A shared-access signature lets anyone trigger the
				// workflow: a secret, which no spec holds.
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: la.URL.Pos,
					Summary: "url carries a shared-access signature (sig=): a secret, which a spec must not hold",
					Detail:  "Entitlement management signs its calls with a proof-of-possession token (azureAdPopTokenAuthentication); give the trigger URL without its sp, sv and sig parameters and authorise the calls in the Logic App."})
			}
		} else {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: x.Pos,
				Summary: fmt.Sprintf("custom extension %q names no logicApp", x.DisplayName.V),
				Detail:  "Write logicApp: {subscriptionId: <GUID>, resourceGroup: <name>, workflow: <Logic App name>}."})
		}
		if x.WaitForCallback.Set {
			iso, ok := isoDuration(x.WaitForCallback.V)
			switch {
			case typ != model.RequestExtensionType:
				l.diags.Errorf(x.WaitForCallback.Pos, "waitForCallback is for type: assignmentRequest extensions; assignment extensions do not wait")
			case !ok:
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: x.WaitForCallback.Pos,
					Summary: fmt.Sprintf("waitForCallback %q is not a duration", x.WaitForCallback.V), Detail: "Write a number of days or hours, like 1h or 2d."})
			case hoursOf(x.WaitForCallback.V) > 14*24:
				l.diags.Errorf(x.WaitForCallback.Pos, "waitForCallback %q is longer than entitlement management allows (14d)", x.WaitForCallback.V)
			default:
				body["callbackConfiguration"] = map[string]any{"@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration", "timeoutDuration": iso}
			}
		}
		ext.Body = body
		out = append(out, ext)
	}
	return &out
}

// onlyKeys reports every key of m besides allowed, for objects marked
// absent.
func (l *loader) onlyKeys(m *mapping, what string, allowed ...string) {
	for _, k := range m.writtenKeys() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: m.keyPos(k),
				Summary: fmt.Sprintf("%s is not allowed on %s", k, what),
				Detail:  "An absent object is deleted; its name only says which one. Remove the other keys, or remove absent: true."})
		}
	}
}

func (l *loader) buildPackages() {
	catalogs := map[string]*model.Catalog{}
	for _, c := range l.tenant.Catalogs {
		catalogs[c.Key()] = c
	}
	seen := map[string]model.Pos{}
	for _, d := range l.docs {
		for i := range d.doc.AccessPackages {
			p := &d.doc.AccessPackages[i]
			// A package without its keys (reported by the decoder) is still
			// checked, so that every problem shows at once.
			named := p.DisplayName.Set && p.Catalog.Set
			mp := &model.AccessPackage{DisplayName: p.DisplayName.V, Catalog: p.Catalog.V, Description: optional(p.Description),
				Absent: p.Absent.V, RepairDelivery: !p.RepairDelivery.Set || p.RepairDelivery.V, Pos: p.Pos}
			if first, dup := seen[mp.Key()]; named && dup {
				l.diags.Errorf(p.DisplayName.Pos, "access package %q is declared twice in catalog %q; the other declaration is at %s", p.DisplayName.V, p.Catalog.V, first)
				continue
			}
			if named {
				seen[mp.Key()] = p.DisplayName.Pos
			}
			if c := catalogs[model.NameKey(p.Catalog.V)]; c != nil && c.Absent && !p.Absent.V {
				l.diags.Errorf(p.Catalog.Pos, "catalog %q is marked absent: true at %s, but access package %q stays in it", p.Catalog.V, c.Pos, p.DisplayName.V)
			}
			if p.IsHidden.Set {
				v := p.IsHidden.V
				mp.IsHidden = &v
			}
			if p.Absent.V {
				l.onlyKeys(&p.mapping, "an absent access package", "displayName", "catalog", "absent")
			}
			if p.has("roles") {
				roles := []model.RoleScope{}
				for _, r := range p.Roles {
					named := 0
					for _, f := range []str{r.Group, r.Application, r.SharePointSite} {
						if f.Set {
							named++
						}
					}
					switch {
					case named != 1:
						l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos,
							Summary: "a role names exactly one of group:, application: or sharePointSite:",
							Detail:  "Write {group: Marketing resources} (role Member or Owner), {application: Payroll, role: Approver} or {sharePointSite: https://contoso.sharepoint.com/sites/Marketing, role: Marketing Members}."})
					case r.SharePointSite.Set:
						u := strings.TrimRight(strings.TrimSpace(r.SharePointSite.V), "/")
						switch {
						case !strings.HasPrefix(u, "https://"):
							l.diags.Errorf(r.SharePointSite.Pos, "sharePointSite: %q is not a site URL (https://contoso.sharepoint.com/sites/…)", r.SharePointSite.V)
						case !r.Role.Set || strings.TrimSpace(r.Role.V) == "":
							l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos,
								Summary: fmt.Sprintf("the role of SharePoint site %q needs role: (the site role's display name)", u),
								Detail:  "A site's roles are its SharePoint groups, like \"Marketing Members\" or \"Marketing Visitors\"."})
						default:
							roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.SiteKind, Value: u, Pos: r.SharePointSite.Pos}, Role: strings.TrimSpace(r.Role.V), RolePos: r.Role.Pos})
						}
					case r.Group.Set:
						role := "Member"
						if r.Role.Set {
							role = r.Role.V
						}
						if role != "Member" && role != "Owner" {
							sum := fmt.Sprintf("role: %q is not a group role", role)
							if dym := didYouMean(role, []string{"Member", "Owner"}); dym != "" {
								sum += "; " + dym
							}
							l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Role.Pos, Summary: sum, Detail: `A group's roles are "Member" or "Owner".`})
							continue
						}
						roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.GroupKind, Value: r.Group.V, Pos: r.Group.Pos}, Role: role})
					case !r.Role.Set:
						l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: r.Pos,
							Summary: fmt.Sprintf("the role of application %q needs role: (the app role's value)", r.Application.V)})
					default:
						roles = append(roles, model.RoleScope{Group: model.Ref{Kind: model.ServicePrincipal, Value: r.Application.V, Pos: r.Application.Pos}, Role: r.Role.V, RolePos: r.Role.Pos})
					}
				}
				mp.Roles = &roles
			}
			if p.has("policies") {
				pols := []*model.Policy{}
				names := map[string]model.Pos{}
				for j := range p.Policies {
					pd := &p.Policies[j]
					if first, dup := names[model.NameKey(pd.DisplayName.V)]; dup {
						l.diags.Errorf(pd.DisplayName.Pos, "policy %q is declared twice in access package %q; the other is at %s", pd.DisplayName.V, p.DisplayName.V, first)
						continue
					}
					names[model.NameKey(pd.DisplayName.V)] = pd.DisplayName.Pos
					pols = append(pols, l.policy(pd))
				}
				mp.Policies = &pols
			}
			if a := p.Assignments; a != nil {
				mp.Assignments = l.assignments(d, p, a)
			}
			if iw := p.IncompatibleWith; iw != nil {
				inc := &model.Incompatible{Packages: []model.Ref{}, Groups: []model.Ref{}}
				for _, r := range iw.AccessPackages {
					if r.Set && strings.TrimSpace(r.V) != "" {
						if model.NameKey(r.V) == model.NameKey(p.DisplayName.V) {
							l.diags.Errorf(r.Pos, "access package %q cannot be incompatible with itself", p.DisplayName.V)
							continue
						}
						inc.Packages = append(inc.Packages, model.Ref{Kind: model.PackageKind, Value: r.V, Pos: r.Pos})
					}
				}
				for _, r := range iw.Groups {
					if r.Set && strings.TrimSpace(r.V) != "" {
						inc.Groups = append(inc.Groups, model.Ref{Kind: model.GroupKind, Value: r.V, Pos: r.Pos})
					}
				}
				mp.Incompatible = inc
			}
			if named {
				l.tenant.AccessPackages = append(l.tenant.AccessPackages, mp)
			}
		}
	}
}

// policy converts a policy to Graph's v1.0 shape, with only what is written.
func (l *loader) policy(pd *policyDoc) *model.Policy {
	body := map[string]any{"displayName": pd.DisplayName.V}
	if pd.Description.Set {
		body["description"] = pd.Description.V
	}
	if pd.Who.Set {
		body["allowedTargetScope"] = pd.Who.V
	}
	if pd.has("allowedTargets") {
		body["specificAllowedTargets"] = l.subjects(pd.AllowedTargets)
	}
	if pd.Expiration.Set {
		switch v := strings.TrimSpace(pd.Expiration.V); {
		case v == "never":
			body["expiration"] = map[string]any{"type": "noExpiration"}
		default:
			if iso, ok := isoDuration(v); ok {
				body["expiration"] = map[string]any{"type": "afterDuration", "duration": iso}
			} else {
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: pd.Expiration.Pos,
					Summary: fmt.Sprintf("expiration %q is not a duration", v), Detail: `Write a number of days or hours, like 30d or 12h, or never.`})
			}
		}
	}
	if pd.SelfService != nil || pd.OnBehalf != nil {
		rs := map[string]any{}
		if s := pd.SelfService; s != nil {
			rs["enableTargetsToSelfAddAccess"] = s.Add.V
			rs["enableTargetsToSelfUpdateAccess"] = s.Update.V
			rs["enableTargetsToSelfRemoveAccess"] = s.Remove.V
		}
		if o := pd.OnBehalf; o != nil {
			rs["enableOnBehalfRequestorsToAddAccess"] = o.Add.V
			rs["enableOnBehalfRequestorsToUpdateAccess"] = o.Update.V
			rs["enableOnBehalfRequestorsToRemoveAccess"] = o.Remove.V
			rs["onBehalfRequestors"] = l.subjects(o.Requestors)
		}
		body["requestorSettings"] = rs
	}
	if a := pd.Approval; a != nil {
		required := len(a.Stages) > 0
		if a.Required.Set {
			required = a.Required.V
		}
		stages := []any{}
		for _, st := range a.Stages {
			stage := map[string]any{
				"isApproverJustificationRequired": st.Justification.V,
				"primaryApprovers":                l.subjects(st.Approvers),
				"fallbackPrimaryApprovers":        l.subjects(st.FallbackApprovers),
			}
			timeout := "P14D"
			if st.Timeout.Set {
				iso, ok := isoDuration(st.Timeout.V)
				if !ok {
					l.diags.Errorf(st.Timeout.Pos, "timeout %q is not a duration like 14d or 12h", st.Timeout.V)
				}
				timeout = iso
			}
			stage["durationBeforeAutomaticDenial"] = timeout
			stages = append(stages, stage)
		}
		body["requestApprovalSettings"] = map[string]any{
			"isApprovalRequiredForAdd":         required,
			"isRequestorJustificationRequired": a.Justification.V,
			"stages":                           stages,
		}
	}
	if pd.Review != nil {
		body["reviewSettings"] = l.review(pd.Review)
	}
	if pd.has("customExtensions") {
		// The extension is named; the planner puts its id in (it may be
		// created by the same apply).
		hooks := []any{}
		for _, h := range pd.CustomExtensions {
			if h.Stage.Set && h.Extension.Set {
				hooks = append(hooks, map[string]any{"stage": h.Stage.V, "customExtension": map[string]any{"displayName": h.Extension.V}})
			}
		}
		body["customExtensionStageSettings"] = hooks
	}
	if pd.has("questions") {
		body["questions"] = l.questions(pd.Questions)
	}
	if pd.AutoAssign.Set {
		body["automaticRequestSettings"] = map[string]any{"requestAccessForAllowedTargets": true}
		targets, _ := body["specificAllowedTargets"].([]any)
		body["specificAllowedTargets"] = append(targets, map[string]any{"@odata.type": "#microsoft.graph.attributeRuleMembers", "membershipRule": pd.AutoAssign.V})
		if !pd.Who.Set {
			body["allowedTargetScope"] = "specificDirectoryUsers"
		}
	}
	return &model.Policy{DisplayName: pd.DisplayName.V, Body: body, Pos: pd.Pos}
}

// subjects converts approvers or allowed targets to Graph subject sets.
// Users and groups are referenced by name here ("userId":"alice@…"); the
// planner resolves them to ids.
func (l *loader) subjects(list []subjectDoc) []any {
	out := []any{}
	for _, s := range list {
		switch {
		case s.Keyword.Set:
			v, ok := subjectKeywords[s.Keyword.V]
			if !ok {
				var keys []string
				for k := range subjectKeywords {
					keys = append(keys, k)
				}
				sum := fmt.Sprintf("%q is not a subject", s.Keyword.V)
				if dym := didYouMean(s.Keyword.V, keys); dym != "" {
					sum += "; " + dym
				}
				l.diags = append(l.diags, model.Diagnostic{Severity: model.Error, Pos: s.Keyword.Pos, Summary: sum,
					Detail: "Write manager, sponsors, externalSponsors, targetSponsors, agentSponsorsOrOwners, {user: UPN}, {group: name} or {servicePrincipal: id}."})
				continue
			}
			c := map[string]any{}
			for k, x := range v {
				c[k] = x
			}
			out = append(out, c)
		case s.User.Set:
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": s.User.V})
		case s.Group.Set:
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.groupMembers", "groupId": s.Group.V})
		case s.ServicePrincipal.Set:
			if !isGUID(s.ServicePrincipal.V) {
				l.diags.Errorf(s.ServicePrincipal.Pos, "servicePrincipal %q is not an object id (a GUID)", s.ServicePrincipal.V)
				continue
			}
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph.singleServicePrincipal", "servicePrincipalId": strings.ToLower(s.ServicePrincipal.V)})
		}
	}
	return out
}

func (l *loader) assignments(d *yamlDoc, p *packageDoc, a *assignmentsDoc) *model.AssignmentSet {
	set := &model.AssignmentSet{Mode: model.Additive, Policy: a.Policy.V, Targets: []model.Ref{}, Pos: a.Pos}
	if a.Mode.Set {
		set.Mode = model.Mode(a.Mode.V)
	}
	owner := fmt.Sprintf("the assignments of access package %q", p.DisplayName.V)
	set.Targets = l.addUsers(d, a.Users, a.CSV.List, owner, set.Targets)
	for _, list := range []struct {
		key   string
		kind  model.PrincipalKind
		items []str
	}{{"servicePrincipals", model.ServicePrincipal, a.ServicePrincipals}, {"agentIdentities", model.AgentIdentityKind, a.AgentIdentities}} {
		for i, r := range list.items {
			if !r.Set {
				continue
			}
			if strings.TrimSpace(r.V) == "" {
				l.diags.Errorf(r.Pos, "%s[%d]: empty name", list.key, i)
				continue
			}
			set.Targets = append(set.Targets, model.Ref{Kind: list.kind, Value: strings.TrimSpace(r.V), Pos: r.Pos})
		}
	}
	set.Targets = l.dropRepeated(set.Targets, func(r, first model.Ref) model.Diagnostic {
		return model.Diagnostic{Severity: model.Warning, Pos: r.Pos, Kind: "repeated " + r.Kind.Noun(),
			Summary: fmt.Sprintf("%s %q is listed twice in %s; the first is at %s", r.Kind.Noun(), r.Value, owner, first.Pos)}
	})
	for _, g := range a.GroupMembers {
		if g.Set {
			set.GroupMembers = append(set.GroupMembers, model.Ref{Kind: model.GroupKind, Value: g.V, Pos: g.Pos})
		}
	}
	if a.Invite != nil {
		set.Invite = &model.Invite{RedirectURL: a.Invite.RedirectURL.V, SendMail: a.Invite.SendMail.V}
		if a.Invite.RedirectURL.Set && !strings.HasPrefix(a.Invite.RedirectURL.V, "https://") {
			l.diags.Errorf(a.Invite.RedirectURL.Pos, "invite redirectUrl %q must be an https URL (where guests land after redeeming, e.g. https://myapps.microsoft.com)", a.Invite.RedirectURL.V)
		}
	}
	if a.Limits != nil {
		lim := l.limit(a.Limits, fmt.Sprintf("limits: of the assignments of access package %q", p.DisplayName.V))
		set.Limit = &lim
	}
	if policies := p.Policies; p.has("policies") {
		found := false
		for _, pd := range policies {
			found = found || model.NameKey(pd.DisplayName.V) == model.NameKey(a.Policy.V)
		}
		if !found && a.Policy.Set {
			l.diags.Errorf(a.Policy.Pos, "assignments use policy %q, which access package %q does not declare", a.Policy.V, p.DisplayName.V)
		}
	}
	return set
}

// decodeNode reads a subject: a keyword, or {user: …} / {group: …}.
func (s *subjectDoc) decodeNode(d *decoder, n *yaml.Node, what string) {
	switch n.Kind {
	case yaml.ScalarNode:
		d.decodeStr(n, &s.Keyword, what, nil)
	case yaml.MappingNode:
		if d.decodeStruct(n, reflect.ValueOf(s).Elem(), what) {
			set := 0
			for _, f := range []str{s.User, s.Group, s.ServicePrincipal} {
				if f.Set {
					set++
				}
			}
			if set != 1 {
				d.errorf(n, "Write {user: alice@contoso.com}, {group: Approvers} or {servicePrincipal: <object id>}.", "%s: write exactly one of user:, group: or servicePrincipal:", what)
			}
		}
	default:
		d.errorf(n, "Write a keyword (manager, sponsors, …), {user: …} or {group: …}.", "%s: expected a keyword or a mapping, got %s", what, describe(n))
	}
}

// checkDeliveries warns of an access package that grants the Member role
// of a group whose members the spec lists authoritatively: whoever the
// package delivers into the group is not on the list, so every apply would
// remove them, and delivery repair would put them back.
func (l *loader) checkDeliveries() {
	authoritative := map[string]bool{}
	for _, g := range l.tenant.Groups {
		if g.Members != nil && g.Members.Mode == model.Authoritative && g.ID == "" {
			authoritative[g.Key()] = true
		}
	}
	for _, p := range l.tenant.AccessPackages {
		if p.Roles == nil {
			continue
		}
		for _, r := range *p.Roles {
			if r.Group.Kind != model.GroupKind || r.Role != "Member" || !authoritative[model.NameKey(r.Group.Value)] {
				continue
			}
			l.diags = append(l.diags, model.Diagnostic{Severity: model.Warning, Pos: r.Group.Pos,
				Summary: fmt.Sprintf("access package %q delivers members into group %q, whose members this spec lists authoritatively", p.DisplayName, r.Group.Value),
				Detail:  "Everyone the package delivers is missing from the list, so each apply would remove them and delivery repair would add them back. Make the group's members mode: additive, or give the package a group of its own."})
		}
	}
}
