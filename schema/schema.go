package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/entrasync/entrasync/model"
)

// JSON is the schema document, tenant.schema.json.
//
//go:embed tenant.schema.json
var JSON []byte

// ID is the schema's $id.
const ID = "https://raw.githubusercontent.com/entrasync/entrasync/main/schema/tenant.schema.json"

var (
	compileOnce sync.Once
	compiled    *jsonschema.Schema
	compileErr  error
	printer     = message.NewPrinter(language.English)
)

// Compiled returns the compiled schema. It fails only if the embedded
// schema is broken, which the package tests rule out.
func Compiled() (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(JSON)))
		if err != nil {
			compileErr = fmt.Errorf("schema: parse tenant.schema.json: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(ID, doc); err != nil {
			compileErr = fmt.Errorf("schema: add tenant.schema.json: %w", err)
			return
		}
		compiled, compileErr = c.Compile(ID)
		if compileErr != nil {
			compileErr = fmt.Errorf("schema: compile tenant.schema.json: %w", compileErr)
		}
	})
	return compiled, compileErr
}

// Finding is one schema error with the YAML node it concerns: the value,
// or the key when the error is about a key (unknown, not allowed here).
type Finding struct {
	Node       *yaml.Node
	Diagnostic model.Diagnostic
}

// Validate checks one parsed YAML document (a DocumentNode, or its content)
// against the schema and returns an error diagnostic, positioned in file, for
// every problem. An empty document is valid.
func Validate(doc *yaml.Node, file string) model.Diagnostics {
	fs := Check(doc, file)
	ds := make(model.Diagnostics, len(fs))
	for i, f := range fs {
		ds[i] = f.Diagnostic
	}
	return ds
}

// Check is Validate keeping the node of each problem, so that a caller can
// tell whether it already reported something at or inside that node.
func Check(doc *yaml.Node, file string) []Finding {
	root := doc
	if root != nil && root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root == nil || root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return nil
	}
	sch, err := Compiled()
	if err != nil {
		return []Finding{{Node: root, Diagnostic: model.Diagnostic{Severity: model.Error, Summary: err.Error()}}}
	}
	verr := sch.Validate(toJSON(root))
	if verr == nil {
		return nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return []Finding{{Node: root, Diagnostic: diag(file, root, verr.Error())}}
	}
	var out []Finding
	seen := map[string]bool{}
	for _, lf := range leaves(ve, nil) {
		for _, f := range describe(lf.err, lf.loc, root, file) {
			k := f.Diagnostic.String()
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Node.Line != b.Node.Line {
			return a.Node.Line - b.Node.Line
		}
		return a.Node.Column - b.Node.Column
	})
	return out
}

func diag(file string, n *yaml.Node, summary string) model.Diagnostic {
	return model.Diagnostic{
		Severity: model.Error,
		Pos:      model.Pos{File: file, Line: int32(n.Line), Col: int32(n.Column)},
		Summary:  summary,
	}
}

// leaf is an error worth showing and the instance location it concerns.
type leaf struct {
	err *jsonschema.ValidationError
	loc []string
}

// leaves flattens an error tree into the errors worth showing. For oneOf and
// anyOf it keeps the one alternative whose shape (object or list) matched,
// so that `csv: {path: x}` reports the missing column rather than also
// "expected array".
//
// jsonschema v6.0.3 gives a propertyNames error an InstanceLocation that
// shares its backing array with the validator's cursor, so it may name a
// later object by the time we read it; such an error takes its location
// from its parent (the if/then that holds it), whose location is a copy.
func leaves(e *jsonschema.ValidationError, parentLoc []string) []leaf {
	switch e.ErrorKind.(type) {
	case *kind.PropertyNames:
		return []leaf{{e, parentLoc}} // its cause is about the name, not a value
	case *kind.OneOf, *kind.AnyOf:
		var keep []*jsonschema.ValidationError
		for _, c := range e.Causes {
			if !shapeMismatch(c, e.InstanceLocation) {
				keep = append(keep, c)
			}
		}
		if len(keep) == 1 {
			return leaves(keep[0], e.InstanceLocation)
		}
		return []leaf{{e, e.InstanceLocation}}
	}
	if len(e.Causes) == 0 {
		return []leaf{{e, e.InstanceLocation}}
	}
	var out []leaf
	for _, c := range e.Causes {
		out = append(out, leaves(c, e.InstanceLocation)...)
	}
	return out
}

// shapeMismatch reports whether e fails only because the value at loc has
// the wrong type.
func shapeMismatch(e *jsonschema.ValidationError, loc []string) bool {
	ls := leaves(e, loc)
	for _, l := range ls {
		if _, ok := l.err.ErrorKind.(*kind.Type); !ok || !slices.Equal(l.loc, loc) {
			return false
		}
	}
	return len(ls) > 0
}

// describe turns one leaf error into findings at YAML nodes.
func describe(e *jsonschema.ValidationError, loc []string, root *yaml.Node, file string) []Finding {
	val, key := locate(root, loc)
	at := func(n *yaml.Node, format string, args ...any) Finding {
		return Finding{Node: n, Diagnostic: diag(file, n, fmt.Sprintf(format, args...))}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		var fs []Finding
		for _, p := range k.Properties {
			kn, _ := childKey(val, p)
			fs = append(fs, at(kn, "unknown key %q", p))
		}
		return fs
	case *kind.PropertyNames:
		kn, _ := childKey(val, k.Property)
		return []Finding{at(kn, "key %q is not allowed here", k.Property)}
	case *kind.DependentRequired:
		kn, _ := childKey(val, k.Prop)
		return []Finding{at(kn, "key %q requires %s", k.Prop, quoteAll(k.Missing))}
	case *kind.Required:
		return []Finding{at(val, "missing required key %s", quoteAll(k.Missing))}
	case *kind.FalseSchema:
		if key != nil {
			return []Finding{at(key, "key %q is not allowed here", key.Value)}
		}
		return []Finding{at(val, "value not allowed here")}
	case *kind.Type:
		return []Finding{at(val, "expected %s, got %s", strings.Join(k.Want, " or "), k.Got)}
	case *kind.OneOf, *kind.AnyOf:
		// Reached only when no alternative has the value's shape.
		var want []string
		got := ""
		for _, c := range e.Causes {
			for _, l := range leaves(c, loc) {
				if t, ok := l.err.ErrorKind.(*kind.Type); ok {
					want = append(want, t.Want...)
					got = t.Got
				}
			}
		}
		if len(want) > 0 {
			return []Finding{at(val, "expected %s, got %s", strings.Join(want, " or "), got)}
		}
	case *kind.Pattern:
		f := at(val, "%q is not valid here", k.Got)
		f.Diagnostic.Detail = descriptionAt(e.SchemaURL)
		return []Finding{f}
	case *kind.MinLength:
		if k.Want == 1 {
			return []Finding{at(val, "value must not be empty")}
		}
		return []Finding{at(val, "value is shorter than %d characters", k.Want)}
	case *kind.MaxLength:
		return []Finding{at(val, "value is %d characters long; at most %d are allowed", k.Got, k.Want)}
	}
	return []Finding{at(val, "%s", e.ErrorKind.LocalizedString(printer))}
}

var (
	parsedOnce sync.Once
	parsed     any
)

// descriptionAt returns the description of the schema at url (the schema's
// $id with a JSON pointer fragment), or "".
func descriptionAt(url string) string {
	parsedOnce.Do(func() { _ = json.Unmarshal(JSON, &parsed) })
	_, frag, _ := strings.Cut(url, "#")
	cur := parsed
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch v := cur.(type) {
		case map[string]any:
			cur = v[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			cur = v[i]
		default:
			return ""
		}
	}
	m, _ := cur.(map[string]any)
	d, _ := m["description"].(string)
	return d
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// locate finds the node at a JSON instance location, and the key node when
// the last step is a mapping key. It stops at the deepest node it can reach.
func locate(n *yaml.Node, path []string) (val, key *yaml.Node) {
	val = n
	for _, tok := range path {
		switch val.Kind {
		case yaml.MappingNode:
			k, v := childKey(val, tok)
			if v == nil {
				return val, nil
			}
			key, val = k, v
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(val.Content) {
				return val, nil
			}
			key, val = nil, val.Content[i]
		default:
			return val, nil
		}
	}
	return val, key
}

// childKey returns the key and value nodes of name in mapping m; the last
// one when the key is repeated, as the JSON conversion keeps the last. When
// there is no such key it returns m itself and nil.
func childKey(m *yaml.Node, name string) (key, val *yaml.Node) {
	if m.Kind == yaml.MappingNode {
		for i := len(m.Content) - 2; i >= 0; i -= 2 {
			if m.Content[i].Value == name {
				return m.Content[i], m.Content[i+1]
			}
		}
	}
	return m, nil
}

// toJSON converts a YAML node into the value jsonschema validates.
func toJSON(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return toJSON(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toJSON(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = toJSON(c)
		}
		return s
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil // aliases are not expanded
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		return json.Number("0")
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return json.Number("0")
		}
		return f
	}
	return n.Value
}
