package cli

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/claudebench/cb/hookcli"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// app is what the command groups not yet in packages of their own share:
// a view of the Factory.
type app struct {
	f              *cmdutil.Factory
	stdin          io.Reader
	stdout, stderr io.Writer
	settings       *hookcli.Settings
	client         *client.Client
	jsonOut        bool
	timeout        time.Duration
}

func newApp(f *cmdutil.Factory) *app {
	return &app{f: f, stdin: f.IOStreams.In, stdout: f.IOStreams.Out, stderr: f.IOStreams.ErrOut}
}

// syncFlags makes cmd and its subcommands read the global flags and the
// settings into a before they run.
func (a *app) syncFlags(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			a.jsonOut, a.timeout = a.f.Flags.JSONOut(), a.f.Flags.Timeout
			if a.settings == nil {
				a.settings, _ = a.f.Settings()
			}
			return run(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		a.syncFlags(c)
	}
}

// exitError carries an exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the exit status.
func (e *exitError) ExitCode() int { return e.code }

// connect opens the connection to Redis on first use.
func (a *app) connect() (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	c, err := a.f.Client()
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// call sends one request to cbd and waits for the answer.
func (a *app) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	return a.f.Call(ctx, method, params)
}

// writeJSON prints v as JSON: indented on a terminal, one line otherwise.
func writeJSON(w io.Writer, v any) error {
	ios := iostreams.System(nil, w, nil)
	return cmdutil.PrintJSON(ios, "", v)
}

// usageError is an invalid command line.
func usageError(format string, args ...any) error {
	return cmdutil.FlagErrorf(format, args...)
}

// parseYAML reads the config file as cbd does.
func parseYAML(data []byte) (map[string]any, error) { return cmdutil.ParseYAML(data) }

// retryRateLimited is cmdutil.RetryRateLimited.
var retryRateLimited = cmdutil.RetryRateLimited
