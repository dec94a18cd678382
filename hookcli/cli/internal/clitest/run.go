package clitest

import (
	"context"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/spf13/cobra"
)

// RunReal runs the command newCmd builds, under a bare root with the global
// flags, with cb-cli's own Factory (settings from the environment, go-redis)
// on buffers, stdin given: for the commands tested against real Redis or
// real files. It returns stdout, stderr and the exit status.
func RunReal(stdin string, newCmd func(*cmdutil.Factory) *cobra.Command, args ...string) (stdout, stderr string, code int) {
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f, closeClient := cmdutil.New(ios)
	defer closeClient()
	root := &cobra.Command{Use: "cb", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddGlobalFlags(root, f.Flags)
	root.AddCommand(newCmd(f))
	code = cmdutil.Execute(context.Background(), root, args, ios)
	return out.String(), errOut.String(), code
}
