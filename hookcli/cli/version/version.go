// Package version is `cb version`.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// Options are cb version's inputs.
type Options struct{ cmdutil.CallOptions }

// NewCmdVersion is `cb version`; runF replaces versionRun in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{cmdutil.NewCallOptions(f)}
	return cmdutil.WithRun(f, &cobra.Command{
		Use:   "version",
		Short: "Print cb's version and, when reachable, cbd's",
		Args:  cobra.NoArgs,
	}, opts, nil, runF, versionRun)
}

func versionRun(ctx context.Context, opts *Options) error {
	out := map[string]any{"cb": protocol.Version}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if res, err := opts.Call(ctx, "system.version", nil); err == nil {
		var v api.VersionResult
		if json.Unmarshal(res, &v) == nil {
			out["cbd"] = v.Version
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
