// Package spec reads a tenant spec (YAML files and the CSV files they name)
// into the desired model.Tenant, reporting every problem at once with its
// file:line:col.
//
// # The format
//
// A spec is one YAML file or a directory of them (*.yaml, *.yml, recursively;
// names starting with a dot are skipped, so .git and .entrasync are never
// read). A file may hold several YAML documents separated by ---. Each
// document is a mapping of sections:
//
//	tenant: contoso.onmicrosoft.com     # at least one file sets it; all agree
//	groups:
//	  - displayName: Marketing resources   # required; the natural key
//	    id: 0b2f...                        # optional: pins the object (a GUID)
//	    description: Members get the campaign tools
//	    mailNickname: markres
//	    members:                           # omit to leave members unmanaged
//	      mode: authoritative              # or additive, the default: never removes
//	      users: [alice@contoso.com]       # UPN, mail or object id
//	      groups: [Marketing leads]        # displayName or object id
//	      servicePrincipals: []            # object id
//	      csv: {path: members/marketing.csv, column: Email}   # or a list of these
//	  - displayName: Sales dynamic
//	    membershipRule: (user.department -eq "Sales")
//	    membershipRuleProcessingState: On  # or Paused; only with membershipRule
//	  - displayName: Sec group 1
//	    cloudManaged: true                 # convert an AD-synced group; false is refused
//	  - displayName: Old project
//	    absent: true                       # delete it; only displayName and id may stay
//
// schema/tenant.schema.json describes the same format for editors.
//
// Choices the format makes:
//
//   - Strings must be YAML strings: `displayName: 2024` is an error asking for
//     quotes, as the schema says, instead of silently becoming "2024".
//   - A list key with no value (`users:` with every item commented out) is an
//     empty list. Any other key without a value is an error.
//   - Enumerations are case-sensitive (`mode: Additive` suggests "additive").
//   - YAML aliases and merge keys (<<) are refused: a reviewer should see a
//     group's members where they take effect.
//   - CSV paths are relative to the YAML file naming them and must stay inside
//     the spec's directory after cleaning and after following symlinks.
//   - A CSV file needs a header line; `column` is required; `delimiter` is
//     optional (detected from the header) and may be "," or ";".
//   - A reference listed twice in one group's members, in any of its sources
//     (users, csv files), is a warning; the second mention is dropped.
//
// # How problems are found
//
// Each file is parsed into yaml.Node trees and then:
//
//  1. checked against the JSON Schema (package schema), keeping the findings
//     aside;
//  2. decoded strictly into the document types of this package (decode.go):
//     unknown keys with a suggestion, wrong types, bad enumeration values,
//     missing required keys, at every level;
//  3. once every file is decoded, each section is checked across all files by
//     its builder (tenant agreement, duplicate names, references, CSV files)
//     and converted to the model.
//
// A mistake that can repeat on every row of a CSV file (a value that is no
// user reference, a member listed twice, a secret-looking cell) is listed
// for the first model.MaxPerKind rows of each file, by place, and the rest
// are counted in one summary diagnostic (its Omitted field): a file of a
// million bad rows gives twenty messages and a count, and the loader holds
// no more than that. The planner does the same for references that do not
// resolve (unknown users).
//
// The decoder and the builders report everything the schema can, with better
// messages, so a schema finding is shown only when no error was reported at
// or inside the node it concerns. One problem gives one message; a schema
// finding that gets through marks a rule the loader lacks, which the tests
// and the fuzz target treat as a bug. The schema still earns its place: it is
// what editors use, and it is the check that the two descriptions of the
// format agree.
//
// Positions name files the way the caller named the spec: Load("examples/q")
// reports examples/q/groups.yaml:4:5.
//
// # Adding a section
//
// A top-level section (catalogs:, accessPackages:, ...) is a field of fileDoc,
// a file with its yaml-tagged document types and a builder registered in
// builders, and its part of the schema; TestSchemaMatchesTypes fails until the
// schema and the types agree.
package spec
