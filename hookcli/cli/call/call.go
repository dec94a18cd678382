// Package call is `cb call`: any method, its result printed as JSON.
package call

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// Options are cb call's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Caller func() (cmdutil.Caller, error)
	Print  func(v any) error

	Method string
	Params string // JSON, "-" for stdin, "" for {}
}

// NewCmdCall is `cb call METHOD [PARAMS_JSON|-]`; runF replaces callRun in
// tests.
func NewCmdCall(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Caller: f.Caller, Print: f.PrintJSON}
	return &cobra.Command{
		Use:   "call METHOD [PARAMS_JSON|-]",
		Short: "Call any method and print its result",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Method = args[0]
			if len(args) == 2 {
				opts.Params = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return callRun(cmd.Context(), opts)
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
	c, err := opts.Caller()
	if err != nil {
		return err
	}
	res, err := c.Call(ctx, opts.Method, params)
	if err != nil {
		return err
	}
	return opts.Print(res)
}
