package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/model"
	"github.com/entrasync/entrasync/spec"
)

// exportKinds are the kinds export writes today; exportLater those a spec
// declares but export does not write yet.
var (
	exportKinds = []string{"groups", "catalogs", "accessPackages", "blueprints", "agentIdentities", "agentUsers", "permissions"}
	exportLater = []string{}
)

type exportFlags struct {
	out           string
	force         bool
	kinds         []string
	names         []string
	authoritative bool
	csvThreshold  int
	catalogs      []string
	groups        []string
}

func (a *app) exportCmd() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the live tenant as a spec that plans to no changes",
		Long: `Read the live tenant through Microsoft Graph and write what it holds as a spec: the way
into entrasync for a tenant that already exists. Objects are named as a spec names them
(users by UPN, groups by display name; an id where a name is shared), large member sets
go to CSV files beside the YAML, and member and owner sets are additive unless
--authoritative is given, so that applying the export never removes anything.

Planning the written spec against the same tenant shows no changes. What a spec cannot
express is listed on stderr and in EXPORT-NOTES.md, never dropped silently. Nothing is
written to the tenant; the output directory is written whole or not at all.

Export writes security groups (with their members and owners), catalogs (resources,
custom extensions), access packages (roles, policies, assignments), blueprints, agent
identities, agent users and the identities' application permissions; what a spec
cannot say yet (access reviews, questions, application roles of packages) is left as it
is, and noted.`,
		Example: `  entrasync export --sim -o ./tenant                  # the simulated demo tenant
  entrasync export -o ./tenant --name 'Team *'        # only what is named Team …
  entrasync export -o ./finance --catalog Finance     # one catalog and its access packages
  entrasync plan -f ./tenant --detailed-exitcode      # exit 0: the export matches the tenant`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.export(cmd, f) },
	}
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "directory to write the spec to (refused when it is not empty, unless --force)")
	cmd.Flags().BoolVar(&f.force, "force", false, "replace the contents of a non-empty --out directory")
	cmd.Flags().StringSliceVar(&f.kinds, "kinds", nil, "kinds to export, comma-separated (default: every kind export writes: "+strings.Join(exportKinds, ", ")+")")
	cmd.Flags().StringArrayVar(&f.names, "name", nil, "export only objects whose display name matches this glob, e.g. 'Team *' (repeatable)")
	cmd.Flags().StringArrayVar(&f.catalogs, "catalog", nil, "export only this catalog and its access packages (by display name; repeatable)")
	cmd.Flags().StringArrayVar(&f.groups, "group", nil, "export only this group (by display name; repeatable)")
	cmd.Flags().BoolVar(&f.authoritative, "authoritative", false, "write member and owner sets mode: authoritative (apply then removes what they do not list)")
	cmd.Flags().IntVar(&f.csvThreshold, "csv-threshold", 50, "write a set's users to a CSV file when it has more than this many")
	return cmd
}

func (a *app) export(cmd *cobra.Command, f exportFlags) error {
	if f.out == "" {
		return errors.New("export needs -o DIR, the directory to write the spec to")
	}
	kinds, err := exportKindList(f.kinds)
	if err != nil {
		return err
	}
	if len(f.kinds) == 0 && (len(f.catalogs) > 0 || len(f.groups) > 0) {
		// --catalog and --group say what to export: only those kinds.
		kinds = nil
		if len(f.groups) > 0 {
			kinds = append(kinds, "groups")
		}
		if len(f.catalogs) > 0 {
			kinds = append(kinds, "catalogs", "accessPackages")
		}
	}
	if err := checkOutDir(f.out, f.force); err != nil {
		return err
	}
	// The probe names what the permission check asks for: reading groups,
	// their members and owners, catalogs, packages and assignments.
	probe := &model.Tenant{Groups: []*model.Group{{DisplayName: "export",
		Members: &model.MemberSet{Mode: model.Authoritative}, Owners: &model.MemberSet{Mode: model.Authoritative}}}}
	if slices.ContainsFunc(kinds, func(k string) bool { return k == "blueprints" || k == "agentIdentities" || k == "agentUsers" }) {
		probe.Blueprints = []*model.Blueprint{{DisplayName: "export", Sponsors: &[]model.Ref{}, Owners: &[]model.Ref{}, Tags: &[]string{},
			Scopes: &[]model.ExposedScope{}, Inheritable: &[]model.InheritablePermission{}, Credentials: &[]model.FederatedCredential{}}}
		probe.AgentIdentities = []*model.AgentIdentity{{DisplayName: "export", Blueprint: "export", Sponsors: &[]model.Ref{}}}
		probe.AgentUsers = []*model.AgentUser{{UserPrincipalName: "export@export", Identity: "export", Blueprint: "export"}}
	}
	if slices.Contains(kinds, "permissions") {
		probe.Grants = []*model.Grant{{Principal: model.Ref{Kind: model.ServicePrincipal, Value: "export"}, Resource: model.Ref{Kind: model.ServicePrincipal, Value: "export"}}}
	}
	if slices.Contains(kinds, "catalogs") || slices.Contains(kinds, "accessPackages") {
		probe.Catalogs = []*model.Catalog{{DisplayName: "export", Groups: &[]model.Ref{}, CustomExtensions: &[]*model.CustomExtension{}}}
		probe.AccessPackages = []*model.AccessPackage{{DisplayName: "export", Catalog: "export", Assignments: &model.AssignmentSet{}}}
	}
	sess, err := a.connect(cmd.Context(), &spec.Spec{Tenant: probe, Root: a.g.spec})
	if err != nil {
		return err
	}
	defer a.closeSession(sess)
	scope := &model.Tenant{}
	if slices.Contains(kinds, "groups") {
		fmt.Fprintln(a.stderr, "Listing security groups...")
		groups, err := sess.client.GroupScope(cmd.Context(), graph.ScopeOptions{Names: f.names, Exact: f.groups})
		if err != nil {
			return fmt.Errorf("listing groups: %w", err)
		}
		scope.Groups = groups
	}
	em := slices.Contains(kinds, "catalogs") || slices.Contains(kinds, "accessPackages")
	if em {
		fmt.Fprintln(a.stderr, "Listing catalogs and access packages...")
		cats, pkgs, err := sess.client.CatalogScope(cmd.Context(), graph.ScopeOptions{Names: f.names, Exact: f.catalogs})
		if err != nil {
			return fmt.Errorf("listing catalogs: %w", err)
		}
		scope.Catalogs, scope.AccessPackages = cats, pkgs
	}
	agents := slices.Contains(kinds, "blueprints") || slices.Contains(kinds, "agentIdentities") || slices.Contains(kinds, "agentUsers")
	if agents {
		fmt.Fprintln(a.stderr, "Listing blueprints, agent identities and agent users...")
		bps, ais, aus, err := sess.client.AgentScope(cmd.Context(), graph.ScopeOptions{Names: f.names})
		if err != nil {
			return fmt.Errorf("listing blueprints: %w", err)
		}
		scope.Blueprints, scope.AgentIdentities, scope.AgentUsers = bps, ais, aus
	}
	if slices.Contains(kinds, "permissions") {
		if !agents {
			return errors.New("--kinds permissions exports the application permissions of agent identities: add blueprints (or agentIdentities) to --kinds")
		}
		var ids []string
		for _, a := range scope.AgentIdentities {
			ids = append(ids, a.ID)
		}
		fmt.Fprintln(a.stderr, "Listing the agent identities' application permissions...")
		grants, err := sess.client.GrantScope(cmd.Context(), ids)
		if err != nil {
			return fmt.Errorf("listing permissions: %w", err)
		}
		scope.Grants = grants
	}
	if len(scope.Groups)+len(scope.Catalogs)+len(scope.Blueprints) == 0 {
		fmt.Fprintf(a.stderr, "Warning: nothing matches %s; the spec written is empty.\n", describeNames(f.names))
	}
	fmt.Fprintf(a.stderr, "Reading %s...\n", describeSpec(scope))
	observed, err := sess.client.Read(cmd.Context(), scope)
	if err != nil {
		return fmt.Errorf("reading the tenant: %w; nothing was written to %s", err, f.out)
	}
	model.Normalize(observed)
	parent := filepath.Dir(filepath.Clean(f.out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".entrasync-export-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	written, err := spec.Write(tmp, observed, spec.WriteOptions{Authoritative: f.authoritative, CSVThreshold: f.csvThreshold,
		Groups: slices.Contains(kinds, "groups"), Catalogs: em, Agents: agents, Permissions: slices.Contains(kinds, "permissions")})
	if err != nil {
		return fmt.Errorf("writing the spec: %w; nothing was written to %s", err, f.out)
	}
	if len(written.Notes) > 0 {
		var b strings.Builder
		b.WriteString("# What entrasync export left out\n\nThe spec in this directory does not say these; the tenant still has them.\n\n")
		for _, n := range written.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
			fmt.Fprintf(a.stderr, "Note: %s\n", n)
		}
		if err := os.WriteFile(filepath.Join(tmp, "EXPORT-NOTES.md"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		written.Files = append(written.Files, "EXPORT-NOTES.md")
	}
	if err := replaceDir(tmp, f.out); err != nil {
		return err
	}
	members, owners := 0, 0
	for _, g := range observed.Groups {
		if g.Members != nil {
			members += len(g.Members.Members)
		}
		if g.Owners != nil {
			owners += len(g.Owners.Members)
		}
	}
	assignments := 0
	for _, p := range observed.AccessPackages {
		if p.Assignments != nil {
			assignments += len(p.Assignments.Live)
		}
	}
	fmt.Fprintf(a.stderr, "Exported %d %s (%d memberships, %d owners), %d %s and %d access %s (%d assignments) of %s to %s: %s.\n",
		len(observed.Groups), plural(len(observed.Groups), "group", "groups"), members, owners,
		len(observed.Catalogs), plural(len(observed.Catalogs), "catalog", "catalogs"), len(observed.AccessPackages), plural(len(observed.AccessPackages), "package", "packages"),
		assignments, observed.Domain, f.out, strings.Join(written.Files, ", "))
	fmt.Fprintf(a.stderr, "Next: entrasync plan -f %s --detailed-exitcode   # exit 0: no changes\n", shellQuote(f.out))
	return nil
}

// exportKindList checks --kinds.
func exportKindList(kinds []string) ([]string, error) {
	if len(kinds) == 0 {
		return exportKinds, nil
	}
	var out []string
	for _, k := range kinds {
		k = strings.TrimSpace(k)
		switch {
		case slices.Contains(exportKinds, k):
			out = append(out, k)
		case slices.Contains(exportLater, k):
			return nil, fmt.Errorf("--kinds %s: export does not write %s yet; it writes %s", k, k, strings.Join(exportKinds, ", "))
		default:
			return nil, fmt.Errorf("--kinds: unknown kind %q; export writes %s", k, strings.Join(exportKinds, ", "))
		}
	}
	return out, nil
}

// checkOutDir refuses a non-empty output directory unless force.
func checkOutDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0 && !force:
		return fmt.Errorf("%s is not empty (%d entries): export writes a whole spec; choose an empty or new directory, or add --force to replace its contents", dir, len(entries))
	}
	return nil
}

// replaceDir moves the finished export from tmp to dir, replacing what dir
// held (checkOutDir allowed it).
func replaceDir(tmp, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replacing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("moving the export into %s: %w", dir, err)
	}
	return nil
}

func describeNames(names []string) string {
	if len(names) == 0 {
		return "the export"
	}
	return "--name " + strings.Join(names, ", --name ")
}
