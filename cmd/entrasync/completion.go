package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/entrasync/entrasync/graph"
	"github.com/entrasync/entrasync/planner"
)

// formats are the values a --format flag may take, in the order help gives
// them.
var formats = []string{"text", "markdown", "json"}

// registerCompletions gives the flags whose values are a fixed set, or a
// spec path, completions for cobra's `completion` scripts: --format,
// --approve, --auth and -f. It walks the whole tree, so a command added
// later gets them for its flags of those names too.
func (a *app) registerCompletions(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		// LocalFlags are the command's own, persistent ones included and
		// inherited ones not: a root persistent flag is registered once, on
		// the root, which is where cobra looks it up from every subcommand.
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn := flagCompletion(f); fn != nil {
				// Fails only for a flag registered twice, which a walk
				// over each command's own flags cannot do.
				_ = cmd.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
}

// flagCompletion returns the completion of a flag's value, nil for flags
// left to the shell's default.
func flagCompletion(f *pflag.Flag) cobra.CompletionFunc {
	switch f.Name {
	case "format":
		return cobra.FixedCompletions(formatChoices(f), cobra.ShellCompDirectiveNoFileComp)
	case "approve":
		return completeRiskCodes
	case "auth":
		kinds := make([]cobra.Completion, len(graph.AuthKinds))
		for i, k := range graph.AuthKinds {
			kinds[i] = string(k)
		}
		return cobra.FixedCompletions(kinds, cobra.ShellCompDirectiveNoFileComp)
	case "file":
		// A spec is a YAML file or a directory: the shell lists
		// directories as well as the files with these extensions.
		return cobra.FixedCompletions([]cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt)
	}
	return nil
}

// formatChoices are the formats a --format flag's help names: not every
// command has all three (validate and permissions have no Markdown), and
// the help is what each command keeps up to date with what it accepts.
func formatChoices(f *pflag.Flag) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range formats {
		if slices.Contains(strings.FieldsFunc(f.Usage, notWordRune), v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return formats
	}
	return out
}

func notWordRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

// completeRiskCodes completes --approve, a comma-separated list: each code
// with its title, after the codes already typed, and without those.
func completeRiskCodes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	prefix := ""
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix = toComplete[:i+1]
	}
	typed := strings.Split(strings.ToUpper(prefix), ",")
	var out []cobra.Completion
	for _, r := range planner.Risks {
		if slices.Contains(typed, string(r.Code)) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(prefix+string(r.Code), r.Title))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
