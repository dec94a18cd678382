// Package version is `cb version`.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// Options are cb version's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Caller func() (cmdutil.Caller, error)
	Print  func(v any) error // JSON output, nil for text
}

// NewCmdVersion is `cb version`; runF replaces versionRun in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Caller: f.Caller}
	return &cobra.Command{
		Use:   "version",
		Short: "Print cb's version and, when reachable, cbd's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Flags.JSONOut() {
				opts.Print = f.PrintJSON
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return versionRun(cmd.Context(), opts)
		},
	}
}

func versionRun(ctx context.Context, opts *Options) error {
	out := map[string]any{"cb": protocol.Version}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c, err := opts.Caller(); err == nil {
		if res, err := c.Call(ctx, "system.version", nil); err == nil {
			var v struct {
				Version string `json:"version"`
			}
			if json.Unmarshal(res, &v) == nil {
				out["cbd"] = v.Version
			}
		}
	}
	if opts.Print != nil {
		return opts.Print(out)
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "cb %s\n", protocol.Version)
	if v, ok := out["cbd"]; ok {
		fmt.Fprintf(w, "cbd %s\n", v)
	} else {
		fmt.Fprintln(w, "cbd not reachable")
	}
	return nil
}
