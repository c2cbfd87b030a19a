// Package schema owns the JSON Schema of entrasync's spec files and checks
// parsed YAML against it.
//
// The schema (tenant.schema.json, draft 2020-12) is embedded as JSON and is
// published for editors: a spec file that starts with
//
//	# yaml-language-server: $schema=../../schema/tenant.schema.json
//
// gets completion, hover help from the descriptions and red squiggles for
// unknown keys and bad values. Validate runs the same schema in entrasync
// (with github.com/santhosh-tekuri/jsonschema/v6) and maps each error's
// instance location back to the YAML node, so errors carry file:line:col.
//
// The schema describes the shape of one file: keys, types, enumerations and
// per-value patterns, plus the few rules between keys of one object that an
// editor can show (an absent group carries only displayName and id; a dynamic
// group has no members). Rules that need more than one object or file (a
// tenant every file agrees on, duplicate names, references to absent groups,
// CSV contents) are package spec's. Package spec also decodes every key
// itself, with better messages; see its documentation for how the two avoid
// reporting one problem twice. A test in package spec keeps the schema and
// spec's document types in step.
//
// Conversion notes: YAML aliases are not expanded (an alias validates as
// null, and package spec refuses aliases anyway); YAML timestamps and other
// non-JSON scalars validate as strings.
package schema
