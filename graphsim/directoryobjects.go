package graphsim

import (
	"fmt"
	"strings"
)

// directoryObjects (README §9 cost table: getByIds 5 RU, 2 with $select).

func registerDirectoryObjectRoutes(r *router) {
	r.add("POST", "/directoryObjects/getByIds", getByIDs, readOnlyAction(), withCost(func(c *reqCtx) int {
		if _, ok := c.opt("$select"); ok {
			return 2
		}
		return 5
	}))
	r.add("GET", "/directoryObjects/{id}", getDirectoryObject)
}

func getDirectoryObject(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	id := c.params["id"]
	it := s.objectItem(c, id, 0)
	if it == nil {
		return c.notFound(id)
	}
	sel, r := c.parseSelect(dirObjType)
	if r != nil {
		return r
	}
	ctx := "directoryObjects/$entity"
	if sel != nil {
		ctx = "directoryObjects(" + strings.Join(sel, ",") + ")/$entity"
	}
	return c.jsonResp(200, append(object{{"@odata.context", c.context(ctx)}}, it.project(sel, true)...))
}

var getByIDsTypes = map[string]string{
	"user": "#microsoft.graph.user", "group": "#microsoft.graph.group", "serviceprincipal": "#microsoft.graph.servicePrincipal",
	"device": "", "application": "", "orgcontact": "", "directoryrole": "", "directoryroletemplate": "", "administrativeunit": "",
}

func getByIDs(c *reqCtx) *response {
	s := c.s
	if r := c.checkOptions("select"); r != nil {
		return r
	}
	m, r := c.readJSONObject()
	if r != nil {
		return r
	}
	var ids []string
	types := map[string]bool{}
	for k, v := range m {
		switch k {
		case "ids":
			arr, ok := v.([]any)
			if !ok {
				return c.badRequest("Invalid value for 'ids': a collection of strings is expected.")
			}
			for _, e := range arr {
				str, ok := e.(string)
				if !ok {
					return c.badRequest("Invalid value for 'ids': a collection of strings is expected.")
				}
				ids = append(ids, str)
			}
		case "types":
			if v == nil {
				continue
			}
			arr, ok := v.([]any)
			if !ok {
				return c.badRequest("Invalid value for 'types': a collection of strings is expected.")
			}
			for _, e := range arr {
				str, _ := e.(string)
				t, known := getByIDsTypes[strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(str, "#"), "microsoft.graph."))]
				if !known {
					return c.badRequest(fmt.Sprintf("Invalid type '%v' specified in 'types'.", e))
				}
				types[t] = true
			}
		default:
			return c.badRequest(fmt.Sprintf("Invalid property '%s'.", k))
		}
	}
	if len(ids) == 0 {
		return c.badRequest("A value is required for property 'ids'.")
	}
	if len(ids) > 1000 {
		return c.badRequest("The number of ids exceeds the maximum of 1000.")
	}
	sel, r := c.parseSelect(dirObjType)
	if r != nil {
		return r
	}
	vals := []object{}
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.ToLower(id)
		if seen[id] {
			continue
		}
		seen[id] = true
		it := s.objectItem(c, id, 0)
		if it == nil || (len(types) > 0 && !types[it.baseType]) {
			continue
		}
		vals = append(vals, it.project(sel, true))
	}
	return c.jsonResp(200, object{{"@odata.context", c.context("directoryObjects")}, {"value", vals}})
}
