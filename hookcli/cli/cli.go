// Package cli is cb-cli: every cb command but the lean `cb hook` path (the
// shell commands, cb mcp, install, service, doctor), built on cobra and the
// go-redis client of protocol/client. cb hands over to it with exec, so it
// names itself cb in usage and messages; its hook command runs
// bridge.RunHook over go-redis for Redis URLs cb's own client does not
// serve (TLS, Sentinel).
//
// Each command group lives in a package of its own (task, status, ...),
// built from a cmdutil.Factory; this package holds Main and the root
// command.
package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/audit"
	"github.com/claudebench/cb/hookcli/cli/call"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/dashboard"
	"github.com/claudebench/cb/hookcli/cli/emit"
	"github.com/claudebench/cb/hookcli/cli/events"
	"github.com/claudebench/cb/hookcli/cli/help"
	"github.com/claudebench/cb/hookcli/cli/hooks"
	"github.com/claudebench/cb/hookcli/cli/initcmd"
	"github.com/claudebench/cb/hookcli/cli/install"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/hookcli/cli/mcp"
	"github.com/claudebench/cb/hookcli/cli/service"
	"github.com/claudebench/cb/hookcli/cli/status"
	"github.com/claudebench/cb/hookcli/cli/task"
	"github.com/claudebench/cb/hookcli/cli/version"
	"github.com/claudebench/cb/hookcli/cli/work"
	"github.com/claudebench/cb/hookcli/cli/worktree"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// Main runs cb-cli with args (without the program name) and returns its exit
// status. cb hands every command but `cb hook` over to it, so it calls
// itself cb in usage and messages.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "cb: internal error: %v\n", r)
			code = 1
		}
	}()
	ios := iostreams.System(stdin, stdout, stderr)
	f, closeClient := cmdutil.New(ios)
	defer closeClient()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return cmdutil.Execute(ctx, NewCmdRoot(f), args, ios)
}

// NewCmdRoot is the cb command with every command group under it.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "cb",
		Short:         "ClaudeBench: Claude Code hooks, a shared task queue and a live record of your agents",
		Version:       protocol.Version, // cb --version, like cbd --version
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, err := f.Settings()
			return err
		},
	}
	cmdutil.AddGlobalFlags(root, f.Flags)
	root.AddCommand(newCmdHook(f))
	root.AddCommand(version.NewCmdVersion(f, nil), call.NewCmdCall(f, nil))
	root.AddCommand(task.NewCmdTask(f), status.NewCmdStatus(f, nil), hooks.NewCmdHooks(f), audit.NewCmdAudit(f, nil),
		work.NewCmdWork(f, nil), dashboard.NewCmdDashboard(f, nil),
		service.NewCmdService(f), mcp.NewCmdMCP(f, nil),
		events.NewCmdEvents(f), events.NewCmdSessions(f), emit.NewCmdEmit(f))
	root.AddCommand(help.NewCmds(f)...)
	root.AddCommand(install.NewCmdInstall(f), install.NewCmdUninstall(f), install.NewCmdDoctor(f), initcmd.NewCmdInit(f, nil))
	return root
}

// newCmdHook is `cb hook`. cb runs it itself; it hands over to this
// command only for Redis URLs its lean client does not serve (TLS,
// Sentinel).
func newCmdHook(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "hook <type>",
		Short: "Claude Code hook bridge (reads hook JSON on stdin)",
		Long:  bridge.HookUsage,
		Args:  cobra.ExactArgs(1),
		// Claude Code reads exit status 2 as "block".
		Annotations: map[string]string{cmdutil.UsageExitAnnotation: "1"},
		// The hook reads the settings itself and applies its fail mode to
		// their errors too.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			ios := f.IOStreams
			if he, ok := protocol.LookupHookEvent(args[0]); ok && bridge.WorktreeStep(he) {
				return runWorktreeHook(cmd.Context(), he, ios)
			}
			if code := bridge.RunHook(args[0], ios.In, ios.Out, ios.ErrOut, hookTransport{}); code != 0 {
				return cmdutil.Exit(code, errors.New("hook failed"))
			}
			return nil
		},
	}
}

// runWorktreeHook serves WorktreeCreate and WorktreeRemove, whose hook
// replaces Claude Code's own step: it records the event like any hook (its
// answer is not printed: only the worktree path may be), then creates or
// removes the git worktree. A failure exits 1, which fails the creation.
func runWorktreeHook(ctx context.Context, he protocol.HookEvent, ios *iostreams.IOStreams) error {
	data, err := io.ReadAll(io.LimitReader(ios.In, 1<<20))
	if err != nil {
		return cmdutil.Exit(1, fmt.Errorf("read hook input: %w", err))
	}
	bridge.RunHook(he.Type, bytes.NewReader(data), io.Discard, ios.ErrOut, hookTransport{})
	in, err := worktree.Parse(data)
	if err != nil {
		return cmdutil.Exit(1, err)
	}
	if he.ClaudeEvent == "WorktreeRemove" {
		if err := worktree.Remove(ctx, in); err != nil {
			return cmdutil.Exit(1, err)
		}
		return nil
	}
	path, err := worktree.Create(ctx, in)
	if err != nil {
		return cmdutil.Exit(1, err)
	}
	fmt.Fprintln(ios.Out, path)
	return nil
}
