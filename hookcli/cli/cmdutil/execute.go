package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// UsageExitAnnotation on a command sets the exit status of its usage
// errors (default UsageExit): cb hook must never exit 2, which Claude Code
// reads as "block".
const UsageExitAnnotation = "cb.usageExit"

// AddGlobalFlags adds the flags every command takes to root.
func AddGlobalFlags(root *cobra.Command, g *GlobalFlags) {
	pf := root.PersistentFlags()
	pf.BoolVar(&g.JSON, "json", false, "print machine-readable JSON (indented on a terminal, one line otherwise)")
	pf.StringVar(&g.JQ, "jq", "", "filter the JSON output with a jq expression (implies --json)")
	pf.DurationVar(&g.Timeout, "timeout", 10*time.Second, "how long to wait for cbd")
}

// Execute runs root with args and returns the exit status: 0, the status
// of an ExitError or of a protocol error's code, UsageExit for usage
// errors (printed with the command's usage), else 1. Errors are printed to
// stderr as "cb: <error>".
func Execute(ctx context.Context, root *cobra.Command, args []string, ios *iostreams.IOStreams) int {
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	wrapArgs(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(ios.ErrOut, "cb: %v\n", err)
	if isUsageError(err) {
		if cmd != nil {
			fmt.Fprintf(ios.ErrOut, "\n%s", cmd.UsageString())
		}
		code := UsageExit
		if cmd != nil && cmd.Annotations[UsageExitAnnotation] == "1" {
			code = 1
		}
		return code
	}
	return ExitCode(err)
}

// ExitCode is the exit status of a command's error: an ExitError's code,
// the status of a protocol error's code, UsageExit for a FlagError, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	var fe *FlagError
	if errors.As(err, &fe) {
		return UsageExit
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code.Info().Exit
	}
	return 1
}

// isUsageError reports whether err is a wrong command line: ours, or
// cobra's (unknown command, missing required flag).
func isUsageError(err error) bool {
	var fe *FlagError
	if errors.As(err, &fe) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command ") || strings.HasPrefix(msg, "required flag(s) ") ||
		strings.HasPrefix(msg, "if any flags in the group")
}

// wrapArgs makes every argument-count error of cmd and its subcommands a
// FlagError.
func wrapArgs(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		if _, done := cmd.Annotations["cb.argsWrapped"]; !done {
			cmd.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return &FlagError{Err: err}
				}
				return nil
			}
			if cmd.Annotations == nil {
				cmd.Annotations = map[string]string{}
			}
			cmd.Annotations["cb.argsWrapped"] = ""
		}
	}
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
}
