// Package call is `cb call`: any method, its result printed as JSON.
package call

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// Options are cb call's inputs.
type Options struct {
	cmdutil.CallOptions // Print is always set: the result is printed as JSON

	Method string
	Params string // JSON, "-" for stdin, "" for {}
}

// NewCmdCall is `cb call METHOD [PARAMS_JSON|-]`; runF replaces callRun in
// tests.
func NewCmdCall(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{CallOptions: cmdutil.CallOptions{IO: f.IOStreams, Caller: f.Caller, Print: f.PrintJSON}}
	return &cobra.Command{
		Use:   "call METHOD [PARAMS_JSON|-]",
		Short: "Call any method and print its result",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Method = args[0]
			if len(args) == 2 {
				opts.Params = args[1]
			}
			return cmdutil.RunWith(cmd.Context(), opts, runF, callRun)
		},
	}
}

func callRun(ctx context.Context, opts *Options) error {
	params := json.RawMessage("{}")
	if opts.Params != "" {
		raw := []byte(opts.Params)
		if opts.Params == "-" {
			var err error
			if raw, err = io.ReadAll(opts.IO.In); err != nil {
				return fmt.Errorf("read params: %w", err)
			}
		}
		if !json.Valid(raw) {
			return &protocol.Error{Code: protocol.CodeParseError, Message: "params are not valid JSON"}
		}
		params = raw
	}
	res, err := opts.Call(ctx, opts.Method, params)
	if err != nil {
		return err
	}
	return opts.Print(res)
}
