package task

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// WorkOptions are cb task work's inputs.
type WorkOptions struct {
	Options
	Session string
	Off     bool
	For     time.Duration // 0: cbd's default (24h)
}

// NewCmdWork is `cb task work`.
func NewCmdWork(f *cmdutil.Factory, runF func(context.Context, *WorkOptions) error) *cobra.Command {
	opts := &WorkOptions{Options: newOptions(f)}
	cmd := &cobra.Command{
		Use:   "work --session ID",
		Short: "Feed a Claude Code session queued tasks when it would stop",
		Long: `Opt a Claude Code session in to work feeding: whenever it would stop (Stop,
SubagentStop, TeammateIdle), cbd claims the next queued task for it (worker
session:<id>) and answers with the task as the reason to keep working. The
session completes it with the MCP tool task_complete or cb task complete ID
--worker session:<id>; when the queue is empty it stops.

--session defaults to $CLAUDE_CODE_SESSION_ID (set where Claude Code runs
its hooks). --off opts the session out (for tasks.feed_sessions all). The
choice lasts --for (default 24h).`,
		Example: `  cb task work --session 3f1c9a52-7c1e-4b7e-9a43-0c6f5d2e8b11
  cb task work --session "$CLAUDE_CODE_SESSION_ID" --for 2h
  cb task work --session 3f1c9a52-7c1e-4b7e-9a43-0c6f5d2e8b11 --off`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, _ []string) error {
		if opts.Session == "" {
			opts.Session = os.Getenv("CLAUDE_CODE_SESSION_ID")
		}
		if opts.Session == "" {
			return cmdutil.FlagErrorf("--session is required (no $CLAUDE_CODE_SESSION_ID)")
		}
		if cmd.Flags().Changed("for") && (opts.For < time.Second || opts.For > 30*24*time.Hour) {
			return cmdutil.FlagErrorf("--for %s: want 1s to 720h", opts.For)
		}
		return nil
	}, runF, workRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Session, "session", "", "the Claude Code session id (default $CLAUDE_CODE_SESSION_ID)")
	fl.BoolVar(&opts.Off, "off", false, "opt the session out instead")
	fl.DurationVar(&opts.For, "for", 0, "how long the choice lasts (default 24h)")
	return cmd
}

func workRun(ctx context.Context, opts *WorkOptions) error {
	params := api.TaskWorkParams{SessionID: opts.Session, Off: opts.Off, TTLMs: opts.For.Milliseconds()}
	return cmdutil.CallPrint(ctx, &opts.CallOptions, "task.work", params, func(w io.Writer, _ iostreams.ColorScheme, res api.TaskWorkResult) error {
		until := res.Until.Local().Format(time.RFC3339)
		if !res.Feed {
			_, err := fmt.Fprintf(w, "session %s is not fed work until %s\n", res.SessionID, until)
			return err
		}
		_, err := fmt.Fprintf(w, "session %s is fed queued tasks as %s until %s\n", res.SessionID, res.WorkerID, until)
		return err
	})
}
