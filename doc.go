// Package entrasync holds repository-wide tests (the architecture rules).
// The program is in cmd/entrasync; docs/architecture.md maps the packages.
package entrasync
