package graph

import (
	"bytes"
	"strings"
)

// A member page is a thousand objects of the same few plain strings, and
// decoding them through encoding/json/v2's reflection, validating each
// value on the way and allocating a string for every field (an @odata.type
// and a mail equal to the UPN too), was most of reading a large group.
// plainPage reads a page of plain objects itself, in one pass, and makes
// one string of all an object keeps. Anything else a page may hold (an
// escape, a byte that is not printable ASCII, a value other than a string
// or null, a name said twice where that matters) it leaves to decodeJSON,
// which decodes every page as it always did; FuzzPlainPageDecodesAsBefore
// holds the two to the same answer.

// The fields of objectJSON, by JSON name.
const (
	fieldType = iota
	fieldID
	fieldDisplayName
	fieldUPN
	fieldMail
	fieldAppID
	objectFields
)

var objectFieldNames = [objectFields]string{"@odata.type", "id", "displayName", "userPrincipalName", "mail", "appId"}

// The @odata.types of a member list: kept as these strings, not copies.
var knownTypes = [...]string{"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.servicePrincipal", "#microsoft.graph.agentIdentity"}

// plainPage decodes body into p when body is a page (an object of plain
// strings and nulls, one "value" array of plain objects and nothing after
// it) and reports whether it was. p is left as it was when it was not.
func plainPage(body []byte, p *page[objectJSON]) bool {
	values := p.Value
	var next string
	seenValue := false
	i, ok := openObject(body, 0)
	for ok && i < len(body) && body[i] != '}' {
		var name []byte
		if name, i, ok = member(body, i); !ok {
			return false
		}
		switch {
		case fieldIs(name, "value"):
			if seenValue || i >= len(body) || body[i] != '[' {
				return false // (a second "value" replaces or merges: decodeJSON knows which)
			}
			seenValue = true
			i = skipSpace(body, i+1)
			for i < len(body) && body[i] != ']' {
				var o objectJSON
				if i, ok = o.plainAt(body, i); !ok {
					return false
				}
				values = append(values, o)
				if i, ok = after(body, i, ']'); !ok {
					return false
				}
			}
			i++ // (past "]", or past the end: after then fails)
		case fieldIs(name, "@odata.nextLink"):
			var s []byte
			if s, i, ok = plainValue(body, i); !ok {
				return false
			}
			if s != nil {
				next = string(s)
			}
		default:
			if _, i, ok = plainValue(body, i); !ok {
				return false
			}
		}
		i, ok = after(body, i, '}')
	}
	if !ok || i >= len(body) || skipSpace(body, i+1) != len(body) || !seenValue {
		// (A page without "value" is rare enough to leave to decodeJSON.)
		return false
	}
	p.Value, p.NextLink = values, next
	return true
}

// plainAt decodes the object at v[i] when it is plain, and returns the
// index past it.
func (o *objectJSON) plainAt(v []byte, i int) (int, bool) {
	var at [objectFields][]byte // each field's last string; nil when absent or null
	i, ok := openObject(v, i)
	for ok && i < len(v) && v[i] != '}' {
		var name, s []byte
		if name, i, ok = member(v, i); !ok {
			return 0, false
		}
		if s, i, ok = plainValue(v, i); !ok {
			return 0, false
		}
		if f := fieldNamed(name); f >= 0 && s != nil {
			// (null leaves a string as it was, as encoding/json does: an
			// earlier value of a repeated name stays.)
			at[f] = s
		}
		i, ok = after(v, i, '}')
	}
	if !ok || i >= len(v) {
		return 0, false
	}
	o.set(at)
	return i + 1, true
}

// set sets o's fields to the values at holds: the known @odata.types as
// they are, the rest slices of one string (a mail equal to the UPN is the
// UPN's bytes once). Fields at does not hold keep their values.
func (o *objectJSON) set(at [objectFields][]byte) {
	fields := [objectFields]*string{&o.Type, &o.ID, &o.DisplayName, &o.UserPrincipalName, &o.Mail, &o.AppID}
	if t := at[fieldType]; t != nil {
		at[fieldType] = nil
		o.Type = ""
		for _, k := range knownTypes {
			if string(t) == k {
				o.Type = k
				break
			}
		}
		if o.Type == "" && len(t) > 0 {
			o.Type = string(t)
		}
	}
	mailIsUPN := at[fieldMail] != nil && at[fieldUPN] != nil && bytes.Equal(at[fieldMail], at[fieldUPN])
	if mailIsUPN {
		at[fieldMail] = nil
	}
	n := 0
	for _, b := range at {
		n += len(b)
	}
	var buf strings.Builder
	buf.Grow(n)
	for _, b := range at {
		buf.Write(b)
	}
	all := buf.String()
	for f, b := range at {
		if b != nil {
			*fields[f], all = all[:len(b)], all[len(b):]
		}
	}
	if mailIsUPN {
		o.Mail = o.UserPrincipalName
	}
}

// fieldNamed is the objectJSON field a name decodes into, or -1 (no two
// of the fields' names are equal without regard to case).
func fieldNamed(name []byte) int {
	for f, n := range objectFieldNames {
		if fieldIs(name, n) {
			return f
		}
	}
	return -1
}

// fieldIs reports whether a name decodes into the field of JSON name
// field: it is that name, or equals it without regard to case
// (decodeJSON's leniency, encoding/json's rule; names here are ASCII).
func fieldIs(name []byte, field string) bool { return bytes.EqualFold(name, []byte(field)) }

// openObject is the index of the first member of the object at v[i] (or of
// its "}"), when v[i] is "{" after spaces.
func openObject(v []byte, i int) (int, bool) {
	i = skipSpace(v, i)
	if i >= len(v) || v[i] != '{' {
		return 0, false
	}
	return skipSpace(v, i+1), true
}

// member reads a plain name and its ":" at v[i], and returns the name and
// the index of its value.
func member(v []byte, i int) (name []byte, next int, ok bool) {
	if name, i, ok = plainString(v, i); !ok {
		return nil, 0, false
	}
	if i = skipSpace(v, i); i >= len(v) || v[i] != ':' {
		return nil, 0, false
	}
	return name, skipSpace(v, i+1), true
}

// after steps past the "," that follows a value (to the next member or
// element), or to the close that ends the object or array; it fails at
// anything else, and at a "," the close follows.
func after(v []byte, i int, close byte) (int, bool) {
	i = skipSpace(v, i)
	switch {
	case i < len(v) && v[i] == close:
		return i, true
	case i < len(v) && v[i] == ',':
		i = skipSpace(v, i+1)
		return i, i < len(v) && v[i] != close
	}
	return 0, false
}

// plainValue reads a plain string (its content, never nil) or null (nil)
// at v[i], and returns the index past it.
func plainValue(v []byte, i int) (s []byte, next int, ok bool) {
	if bytes.HasPrefix(v[i:], []byte("null")) {
		return nil, i + len("null"), true
	}
	return plainString(v, i)
}

// plainString is the content of the JSON string at v[i] and the index past
// it, when the string holds only printable ASCII without escapes (which
// decode to themselves).
func plainString(v []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(v) || v[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(v); j++ {
		switch c := v[j]; {
		case c == '"':
			return v[i+1 : j : j], j + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(v []byte, i int) int {
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	return i
}
