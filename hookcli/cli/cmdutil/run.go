package cmdutil

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// Run is what the commands of one group (cb events, cb emit, cb install,
// ...) share while one of them runs: the streams, the settings and the
// global flags, read from the Factory when the command starts (see
// Prepare), and the Redis connection, opened on first use.
type Run struct {
	Factory  *Factory
	IO       *iostreams.IOStreams
	Settings *bridge.Settings
	JSON     bool          // --json or --jq
	Timeout  time.Duration // --timeout
	Client   *client.Client
}

// NewRun is the Run of f's commands.
func NewRun(f *Factory) *Run { return &Run{Factory: f, IO: f.IOStreams} }

// Prepare makes cmd and its subcommands fill r when they run.
func (r *Run) Prepare(cmd *cobra.Command) *cobra.Command {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			r.JSON, r.Timeout = r.Factory.Flags.JSONOut(), r.Factory.Flags.Timeout
			if r.Settings == nil {
				r.Settings, _ = r.Factory.Settings()
			}
			return run(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		r.Prepare(c)
	}
	return cmd
}

// Connect opens the connection to Redis on first use.
func (r *Run) Connect() (*client.Client, error) {
	if r.Client != nil {
		return r.Client, nil
	}
	c, err := r.Factory.Client()
	if err != nil {
		return nil, err
	}
	r.Client = c
	return c, nil
}

// Call sends one request to cbd through the Factory's Caller.
func (r *Run) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	return r.Factory.Call(ctx, method, params)
}

// PrintJSON prints v as the Factory does (indented on a terminal, compact
// otherwise, filtered by --jq).
func (r *Run) PrintJSON(v any) error { return r.Factory.PrintJSON(v) }

// CompleteEventTypes completes event types that have a stream, for the
// first nArgs positional arguments (-1: all of them).
func CompleteEventTypes(f *Factory, nArgs int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if nArgs >= 0 && len(args) >= nArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		types, err := streams.Types(ctx, c.Redis(), "*")
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
