package cmdutil

import (
	"context"
	"encoding/json"
	"io"

	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/spf13/cobra"
)

// CallOptions are the inputs every command that asks cbd shares: embedded
// in a command's options struct, they are filled from the Factory when the
// command is built and, for the global flags, when it runs (ReadFlags).
type CallOptions struct {
	IO     *iostreams.IOStreams
	Caller func() (Caller, error)
	// Print prints JSON (--json, --jq); nil for human output.
	Print func(v any) error
}

// NewCallOptions are f's streams and Caller.
func NewCallOptions(f *Factory) CallOptions {
	return CallOptions{IO: f.IOStreams, Caller: f.Caller}
}

// ReadFlags reads the global flags at run time: Print is set when --json
// or --jq is given.
func (o *CallOptions) ReadFlags(f *Factory) {
	o.Print = nil
	if f.Flags.JSONOut() {
		o.Print = f.PrintJSON
	}
}

// Call sends one request to cbd through o's Caller.
func (o *CallOptions) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c, err := o.Caller()
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, method, params)
}

// PrintResult prints a method's result: as received with --json, else
// through human.
func (o *CallOptions) PrintResult(raw json.RawMessage, human func(w io.Writer, cs iostreams.ColorScheme) error) error {
	if o.Print != nil {
		return o.Print(raw)
	}
	return human(o.IO.Out, o.IO.ColorScheme())
}

// RunWith runs runF, the stand-in a test gave NewCmd, when there is one,
// else def, the command's own run function.
func RunWith[P any](ctx context.Context, opts P, runF, def func(context.Context, P) error) error {
	if runF != nil {
		return runF(ctx, opts)
	}
	return def(ctx, opts)
}

// FlagReader is a command's options that read the global flags when the
// command runs; every options struct embedding CallOptions is one.
type FlagReader interface{ ReadFlags(f *Factory) }

// WithRun makes cmd run as every command does: read the global flags into
// opts, let take (nil: nothing to take) take the arguments and flags into
// opts or refuse them, then run runF, the stand-in a test gave NewCmd, when
// there is one, else def, the command's own run function.
func WithRun[P FlagReader](f *Factory, cmd *cobra.Command, opts P, take func(cmd *cobra.Command, args []string) error, runF, def func(context.Context, P) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.ReadFlags(f)
		if take != nil {
			if err := take(cmd, args); err != nil {
				return err
			}
		}
		return RunWith(cmd.Context(), opts, runF, def)
	}
	return cmd
}

// CallPrint calls method and prints its result: as received with --json,
// else decoded into an R and printed by human.
func CallPrint[R any](ctx context.Context, o *CallOptions, method string, params any, human func(w io.Writer, cs iostreams.ColorScheme, res R) error) error {
	raw, err := o.Call(ctx, method, params)
	if err != nil {
		return err
	}
	return o.PrintResult(raw, func(w io.Writer, cs iostreams.ColorScheme) error {
		var res R
		if err := DecodeResult(method, raw, &res); err != nil {
			return err
		}
		return human(w, cs, res)
	})
}
