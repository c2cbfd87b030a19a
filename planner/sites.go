package planner

// SharePoint sites as access-package roles: {sharePointSite: URL, role:
// NAME}. A site's roles are its SharePoint groups (Graph's
// accessPackageResourceRole with originSystem SharePointOnline, originId
// the group's number, displayName like "Contoso Members"); the spec names
// them by display name and the plan resolves that against the roles of
// the catalog's site resource.

import (
	"fmt"
	"strings"

	"github.com/entrasync/entrasync/model"
)

// roleKey is a role scope's key in the roles diff: resource and role
// (site URLs compare without case).
func roleKey(r model.RoleScope) string {
	if r.Group.Kind == model.SiteKind {
		return "site:" + strings.ToLower(strings.TrimRight(r.Group.Value, "/")) + "/" + r.Role
	}
	return r.Group.Value + "/" + r.Role
}

// liveSite finds a site among a catalog's site resources, by URL without
// case; it returns the URL as the catalog holds it.
func liveSite(c *model.Catalog, url string) (string, bool) {
	if c == nil || c.Sites == nil {
		return "", false
	}
	for _, s := range *c.Sites {
		if strings.EqualFold(strings.TrimRight(s.Value, "/"), url) {
			return s.Value, true
		}
	}
	return "", false
}

// siteRole resolves a package role on a SharePoint site. The site must be
// a resource of the package's catalog: declared under the catalog's
// sharePointSites (when the spec manages them), else live. The role is
// found by display name among the live site resource's roles; a site this
// plan adds to the catalog has no roles to read yet, so its role is
// resolved by name when the apply has added it (RoleID empty). The
// returned key is the role's key in the diff.
func (d *differ) siteRole(st *emState, p *model.AccessPackage, cat *model.Catalog, r model.RoleScope, addr string) (RoleRef, string, bool) {
	url := strings.TrimRight(r.Group.Value, "/")
	des := st.desCatalogs[model.NameKey(p.Catalog)]
	managed := des != nil && des.Sites != nil
	declared := managed && func() bool {
		for _, s := range *des.Sites {
			if strings.EqualFold(strings.TrimRight(s.Value, "/"), url) {
				return true
			}
		}
		return false
	}()
	live, inLive := liveSite(cat, url)
	if !declared && (managed || !inLive) {
		detail := fmt.Sprintf("Add it to the catalog's resources (catalogs: - displayName: %s, resources: {sharePointSites: [%s]}), or name a site the catalog holds.", p.Catalog, url)
		d.errorf(r.Group.Pos, addr, detail, "SharePoint site %s is not a resource of catalog %q", url, p.Catalog)
		return RoleRef{}, "", false
	}
	site := Member{Kind: model.SiteKind, ID: url, Label: url, Pos: r.Group.Pos}
	if !inLive {
		// Added to the catalog by this plan: its roles show once it is there.
		return RoleRef{Group: site, Role: r.Role}, "site:" + strings.ToLower(url) + "/name:" + strings.ToLower(r.Role), true
	}
	site.ID, site.Label = live, live
	roles := cat.SiteRoles[live]
	var names []string
	for _, ro := range roles {
		if strings.EqualFold(ro.DisplayName, r.Role) {
			return RoleRef{Group: site, Role: ro.DisplayName, RoleID: ro.OriginID}, roleKey(model.RoleScope{Group: model.Ref{Kind: model.SiteKind, Value: live}, Role: ro.OriginID}), true
		}
		names = append(names, ro.DisplayName)
	}
	pos := r.RolePos
	if pos.Line == 0 {
		pos = r.Group.Pos
	}
	sum := fmt.Sprintf("SharePoint site %s has no role %q", live, r.Role)
	if s := closest(r.Role, names); s != "" {
		sum += fmt.Sprintf("; did you mean %q?", s)
	}
	detail := "Its roles (in catalog " + fmt.Sprintf("%q", p.Catalog) + "): " + strings.Join(names, ", ") + "."
	if len(names) == 0 {
		detail = fmt.Sprintf("Graph lists no roles for it in catalog %q.", p.Catalog)
	}
	d.errorf(pos, addr, detail, "%s", sum)
	return RoleRef{}, "", false
}

// siteRoleName names a live site role by its display name, for display.
func siteRoleName(cat *model.Catalog, url, originID string) string {
	if cat != nil {
		for _, ro := range cat.SiteRoles[url] {
			if ro.OriginID == originID {
				return ro.DisplayName
			}
		}
	}
	return "role " + originID
}
