package cli

import (
	"context"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli"
	"github.com/claudebench/cb/internal/streams"
	"github.com/spf13/cobra"
)

// completeTypes completes event types that have a stream, for the first
// nArgs positional arguments (-1: all of them).
func (a *app) completeTypes(nArgs int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if nArgs >= 0 && len(args) >= nArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if a.settings == nil {
			s, err := hookcli.LoadSettings(parseYAML)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			a.settings = s
		}
		c, err := a.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		types, err := streams.ScanTypes(ctx, c.Redis(), "*")
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, t := range types {
			if strings.HasPrefix(t, toComplete) {
				out = append(out, t)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
