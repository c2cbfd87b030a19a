package spec

// The strict decoder.
//
// Spec files are not decoded with yaml.v3's own Decode: it stops at the first
// type error, drops positions and cannot say "did you mean". Instead this file
// walks the yaml.Node tree against the yaml-tagged document types
// (fileDoc, groupDoc, ...) by reflection and records every problem with its
// file:line:col:
//
//   - an unknown key, with a suggestion from the type's keys, at the key;
//   - a key written twice in one mapping;
//   - a missing required key (`required:"true"`), at the mapping;
//   - a value of the wrong YAML type, at the value. Strings must be YAML
//     strings: `displayName: 2024` is refused with a hint to quote it, as the
//     JSON Schema (and so the editor) does;
//   - a value outside an enumeration (`enum:"a|b"`), with a suggestion;
//   - aliases (*name) and merge keys (<<), which are refused: a spec is read
//     by people reviewing a diff, and a member list reached through an alias
//     cannot be reviewed where it takes effect.
//
// The document types are also what the schema test reflects over, so the
// tags here and schema/tenant.schema.json describe one format.

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

// str is a YAML string and where it is written.
type str struct {
	V   string
	Pos model.Pos
	Set bool
}

// flag is a YAML boolean and where it is written.
type flag struct {
	V   bool
	Pos model.Pos
	Set bool
}

// mapping is embedded in every document type decoded from a YAML mapping.
type mapping struct {
	// Pos is the mapping's place (that of its first key).
	Pos  model.Pos
	keys map[string]model.Pos
}

func (m *mapping) setMapping(pos model.Pos, keys map[string]model.Pos) {
	m.Pos, m.keys = pos, keys
}

// decoded reports whether a mapping was decoded into m: false for a
// document value whose YAML node was not a mapping (reported already).
func (m *mapping) decoded() bool { return m.keys != nil }

// has reports whether the mapping wrote key.
func (m *mapping) has(key string) bool { _, ok := m.keys[key]; return ok }

// keyPos is the place of key, or of the mapping when the key is not written.
func (m *mapping) keyPos(key string) model.Pos {
	if p, ok := m.keys[key]; ok {
		return p
	}
	return m.Pos
}

// writtenKeys lists the keys present, in document order.
func (m *mapping) writtenKeys() []string {
	ks := make([]string, 0, len(m.keys))
	for k := range m.keys {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		pa, pb := m.keys[a], m.keys[b]
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	return ks
}

type mappingSetter interface {
	setMapping(pos model.Pos, keys map[string]model.Pos)
}

// nodeDecoder is implemented by document types with a shape the reflective
// decoder does not know (one value or a list of them).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, what string)
}

func isNodeDecoder(v reflect.Value) bool { _, ok := v.Addr().Interface().(nodeDecoder); return ok }

// noun is implemented by document types to name themselves in messages.
type nouner interface{ noun() string }

// num is a YAML integer and where it is written.
type num struct {
	V   int
	Pos model.Pos
	Set bool
}

var (
	strType  = reflect.TypeFor[str]()
	flagType = reflect.TypeFor[flag]()
	numType  = reflect.TypeFor[num]()
)

// decoder collects the problems of one YAML file.
type decoder struct {
	file  string
	diags model.Diagnostics
}

func (d *decoder) pos(n *yaml.Node) model.Pos {
	return model.Pos{File: d.file, Line: int32(n.Line), Col: int32(n.Column)}
}

func (d *decoder) errorf(n *yaml.Node, detail, format string, args ...any) {
	d.diags = append(d.diags, model.Diagnostic{
		Severity: model.Error,
		Pos:      d.pos(n),
		Summary:  fmt.Sprintf(format, args...),
		Detail:   detail,
	})
}

// fieldInfo describes one yaml-tagged field of a document type.
type fieldInfo struct {
	name     string
	index    int
	enum     []string
	required bool
}

// fieldsOf lists the yaml-tagged fields of a document struct type.
func fieldsOf(t reflect.Type) []fieldInfo {
	var fs []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fi := fieldInfo{name: name, index: i, required: f.Tag.Get("required") == "true"}
		if e := f.Tag.Get("enum"); e != "" {
			fi.enum = strings.Split(e, "|")
		}
		fs = append(fs, fi)
	}
	return fs
}

func nounOf(v reflect.Value) string {
	if n, ok := v.Addr().Interface().(nouner); ok {
		return n.noun()
	}
	return "mapping"
}

// describe names the YAML type of n for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing (null)"
	case "!!timestamp":
		return "a timestamp"
	case "!!binary":
		return "binary data"
	}
	return fmt.Sprintf("a value tagged %s", n.Tag)
}

// decode stores n into v, which must be settable. what names the value in
// messages (its key, or key[index] for list items); enum restricts strings.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, what string, enum []string) {
	if n.Kind == yaml.AliasNode {
		d.errorf(n, "A spec is read in review; write the value out where it is used.",
			"%s: YAML aliases (*%s) are not supported", what, n.Value)
		return
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, what)
		return
	}
	switch {
	case v.Type() == strType:
		d.decodeStr(n, v.Addr().Interface().(*str), what, enum)
	case v.Type() == flagType:
		f := v.Addr().Interface().(*flag)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(n, "", "%s: expected true or false, got %s", what, describe(n))
			return
		}
		*f = flag{V: strings.EqualFold(n.Value, "true"), Pos: d.pos(n), Set: true}
	case v.Type() == numType:
		i := v.Addr().Interface().(*num)
		var x int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
			d.errorf(n, "", "%s: expected a whole number of at least 0, got %s", what, describe(n))
			return
		}
		if x < 0 {
			d.errorf(n, "", "%s: must be at least 0, got %d", what, x)
			return
		}
		*i = num{V: x, Pos: d.pos(n), Set: true}
	case v.Kind() == reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return // an empty key under which every item is commented out
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "", "%s: expected a list, got %s", what, describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(item, e, fmt.Sprintf("%s[%d]", what, i), enum)
			if m, ok := e.Addr().Interface().(interface{ decoded() bool }); ok && !isNodeDecoder(e) && !m.decoded() {
				// Not a mapping: reported here, at the item. An item
				// left in the list would have no place for the
				// builders' messages (and nothing to check).
				continue
			}
			s = reflect.Append(s, e)
		}
		v.Set(s)
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct:
		p := reflect.New(v.Type().Elem())
		if d.decodeStruct(n, p.Elem(), what) {
			v.Set(p)
		}
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, what)
	default:
		panic(fmt.Sprintf("spec: no decoder for %s", v.Type()))
	}
}

func (d *decoder) decodeStr(n *yaml.Node, s *str, what string, enum []string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		detail := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			detail = fmt.Sprintf("Quote it to make it a string: %q.", n.Value)
		}
		d.errorf(n, detail, "%s: expected a string, got %s", what, describe(n))
		return
	}
	*s = str{V: n.Value, Pos: d.pos(n), Set: true}
	if len(enum) == 0 {
		d.checkText(n, what)
	}
	if len(enum) > 0 && !slices.Contains(enum, n.Value) {
		sum := fmt.Sprintf("%s: %q is not a valid value", what, n.Value)
		if dym := didYouMean(n.Value, enum); dym != "" {
			sum += "; " + dym
		}
		d.errorf(n, "Valid values: "+quoteList(enum)+".", "%s", sum)
	}
}

// decodeStruct decodes a mapping into a document struct; it reports whether
// n was a mapping at all.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, what string) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "%s: expected a mapping (%s), got %s", what, nounOf(v), describe(n))
		return false
	}
	fields := fieldsOf(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	keys := map[string]model.Pos{}
	keyNodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.errorf(k, "Write the keys out in each mapping.", "merge keys (<<) are not supported")
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "", "keys of a %s must be strings, got %s", nounOf(v), describe(k))
			continue
		}
		// A scalar key is taken by its text whatever its tag, as the
		// schema sees it: `1:` is an unknown key, `!x members:` is members
		// with a complaint about the tag.
		if k.ShortTag() != "!!str" && slices.Contains(names, k.Value) {
			d.errorf(k, "", "key %q must be a plain string, not %s", k.Value, describe(k))
		}
		if first, dup := keyNodes[k.Value]; dup {
			// Reported, and decoded all the same so that problems in
			// either value are found (the later value wins, as in the
			// schema's view of the document).
			d.errorf(k, "", "key %q appears twice in this %s (first at line %d)", k.Value, nounOf(v), first.Line)
		} else {
			keyNodes[k.Value] = k
		}
		j := slices.Index(names, k.Value)
		if j < 0 {
			sum := fmt.Sprintf("unknown key %q in %s", k.Value, nounOf(v))
			if dym := didYouMean(k.Value, names); dym != "" {
				sum += "; " + dym
			}
			sorted := slices.Sorted(slices.Values(names))
			d.errorf(k, fmt.Sprintf("Valid keys: %s.", strings.Join(sorted, ", ")), "%s", sum)
			continue
		}
		keys[k.Value] = d.pos(k)
		f := fields[j]
		d.decode(val, v.Field(f.index), f.name, f.enum)
	}
	for _, f := range fields {
		if _, ok := keys[f.name]; f.required && !ok {
			d.errorf(n, "", "%s is missing required key %q", nounOf(v), f.name)
		}
	}
	if ms, ok := v.Addr().Interface().(mappingSetter); ok {
		ms.setMapping(d.pos(n), keys)
	}
	return true
}
