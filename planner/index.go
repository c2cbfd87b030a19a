package planner

import (
	"strings"

	"github.com/entrasync/entrasync/model"
)

// index answers the planner's look-ups in both states.
type index struct {
	byID          map[string]model.Principal
	usersByName   map[string][]string // lower-cased UPN or mail → ids
	groupsByName  map[string][]string // lower-cased display name → ids
	spsByName     map[string][]string
	groupByID     map[string]*model.Group
	groupsByKey   map[string][]*model.Group
	desiredGroups map[string]*model.Group
}

func newIndex(desired, observed *model.Tenant) *index {
	// Sized once by what was read (observed state is bounded by the
	// tenant, not by what a spec may list).
	ix := &index{
		byID:          make(map[string]model.Principal, len(observed.Principals)+len(observed.Groups)),
		usersByName:   make(map[string][]string, 2*len(observed.Principals)),
		groupsByName:  map[string][]string{},
		spsByName:     map[string][]string{},
		groupByID:     map[string]*model.Group{},
		groupsByKey:   map[string][]*model.Group{},
		desiredGroups: map[string]*model.Group{},
	}
	add := func(m map[string][]string, k, id string) {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return
		}
		for _, have := range m[k] {
			if have == id {
				return
			}
		}
		m[k] = append(m[k], id)
	}
	for _, p := range observed.Principals {
		ix.byID[p.ID] = p
		switch p.Kind {
		case model.User:
			add(ix.usersByName, p.UserPrincipalName, p.ID)
			add(ix.usersByName, p.Mail, p.ID)
		case model.GroupKind:
			add(ix.groupsByName, p.DisplayName, p.ID)
		default:
			if p.Kind.IsServicePrincipal() {
				add(ix.spsByName, p.DisplayName, p.ID)
			}
		}
	}
	for _, g := range observed.Groups {
		ix.groupByID[g.ID] = g
		ix.groupsByKey[g.Key()] = append(ix.groupsByKey[g.Key()], g)
		if _, ok := ix.byID[g.ID]; !ok {
			ix.byID[g.ID] = model.Principal{ID: g.ID, Kind: model.GroupKind, DisplayName: g.DisplayName}
			add(ix.groupsByName, g.DisplayName, g.ID)
		}
	}
	for _, g := range desired.Groups {
		ix.desiredGroups[g.Key()] = g
	}
	return ix
}
