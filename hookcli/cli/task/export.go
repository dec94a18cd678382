package task

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// exportPage is how many tasks cb task export asks for at a time: the most
// task.list gives.
const exportPage = 1000

// ExportOptions are cb task export's inputs.
type ExportOptions struct {
	Options
	Before   time.Time // tasks last updated before this
	Statuses []string  // finished statuses to export
	Session  string
}

// NewCmdExport is `cb task export`.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{Options: newOptions(f)}
	var before, status string
	cmd := &cobra.Command{
		Use:   "export --before WHEN [--status completed|failed] [--session ID]",
		Short: "Write finished tasks as JSON Lines, before history retention deletes them",
		Long: `Write the finished tasks (completed and failed; --status for one of them)
last updated before WHEN to stdout as JSON Lines, one task per line, the
oldest first. WHEN is an age (90d, 12h) or an RFC 3339 time.

cbd deletes finished tasks older than tasks.history_retention (default 90
days) from its store; run this first to keep them, for example from cron:

  cb task export --before 80d >> tasks-archive.jsonl

It reads the store a page (1000 tasks) at a time by cursor and never
deletes anything. Pending and in-progress tasks are never exported. A count
goes to stderr. With --jq each task is filtered.`,
		Example: `  cb task export --before 30d > old-tasks.jsonl
  cb task export --before 2026-01-01T00:00:00Z --status failed --session "$SESSION_ID"`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, _ []string) error {
		t, err := cmdutil.ParseWhen(before, opts.Now())
		if err != nil {
			return cmdutil.FlagErrorf("--before: %v", err)
		}
		opts.Before = t
		switch status {
		case "":
			opts.Statuses = []string{api.StatusCompleted, api.StatusFailed}
		case api.StatusCompleted, api.StatusFailed:
			opts.Statuses = []string{status}
		default:
			return cmdutil.FlagErrorf("--status %q: only finished tasks are exported (completed or failed)", status)
		}
		return nil
	}, runF, exportRun)
	fl := cmd.Flags()
	fl.StringVar(&before, "before", "", "export tasks last updated before this: an age (90d) or an RFC 3339 time (required)")
	fl.StringVar(&status, "status", "", "only completed or only failed tasks (default both)")
	fl.StringVar(&opts.Session, "session", "", "only the tasks of this Claude Code session (metadata.sessionId)")
	_ = cmd.MarkFlagRequired("before")
	return cmd
}

// taskPager walks one task.list by cursor, a task at a time.
type taskPager struct {
	opts   *ExportOptions
	params api.TaskListParams
	page   []api.Task
	done   bool // no page after the one in page
	last   *api.Task
}

// peek returns the pager's next task without taking it, or nil at the end.
func (p *taskPager) peek(ctx context.Context) (*api.Task, error) {
	for len(p.page) == 0 {
		if p.done {
			return nil, nil
		}
		raw, err := p.opts.Call(ctx, "task.list", p.params)
		if err != nil {
			return nil, err
		}
		var res api.TaskListResult
		if err := cmdutil.DecodeResult("task.list", raw, &res); err != nil {
			return nil, err
		}
		// A page that does not start after the last task is a cbd that
		// does not page by cursor: stop rather than loop or repeat.
		if p.last != nil && len(res.Tasks) > 0 && !exportBefore(*p.last, res.Tasks[0]) {
			return nil, fmt.Errorf("task.list %s: the page after cursor %q does not start after task %s (cbd without cursor paging?)",
				p.params.Status, p.params.After, p.last.ID)
		}
		if res.HasMore && res.NextCursor == "" {
			return nil, fmt.Errorf("task.list %s: more tasks but no nextCursor (cbd without cursor paging?)", p.params.Status)
		}
		p.page, p.done, p.params.After = res.Tasks, !res.HasMore, res.NextCursor
		if len(p.page) > 0 {
			p.last = &p.page[len(p.page)-1]
		}
	}
	return &p.page[0], nil
}

// exportBefore reports whether a comes before b in the export's order, the
// store's for orderBy updatedAt asc: updated time, then id (shorter first,
// so that t-<digits> ids sort by number).
func exportBefore(a, b api.Task) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt.Time) {
		return a.UpdatedAt.Before(b.UpdatedAt.Time)
	}
	if len(a.ID) != len(b.ID) {
		return len(a.ID) < len(b.ID)
	}
	return a.ID < b.ID
}

func exportRun(ctx context.Context, opts *ExportOptions) error {
	// One list per status, merged: task.list filters by one status, and
	// the file is to be oldest first across both.
	pagers := make([]*taskPager, len(opts.Statuses))
	for i, st := range opts.Statuses {
		pagers[i] = &taskPager{opts: opts, params: api.TaskListParams{
			Status: st, Session: opts.Session, UpdatedBefore: opts.Before.Format(time.RFC3339Nano),
			OrderBy: "updatedAt", Order: "asc", Limit: exportPage,
		}}
	}
	w := bufio.NewWriter(opts.IO.Out)
	n, err := exportMerged(ctx, w, opts.Print, pagers)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("export after %d tasks: %w", n, err)
	}
	noun := "tasks"
	if n == 1 {
		noun = "task"
	}
	_, err = fmt.Fprintf(opts.IO.ErrOut, "exported %d %s last updated before %s\n", n, noun, opts.Before.Format(time.RFC3339))
	return err
}

// exportMerged writes the tasks of pagers, merged oldest first, one JSON
// line each (through print, when --json or --jq set it), and returns how
// many it wrote.
func exportMerged(ctx context.Context, w io.Writer, print func(any) error, pagers []*taskPager) (int, error) {
	n := 0
	for {
		var next *taskPager
		var head *api.Task
		for _, p := range pagers {
			t, err := p.peek(ctx)
			if err != nil {
				return n, err
			}
			if t != nil && (head == nil || exportBefore(*t, *head)) {
				next, head = p, t
			}
		}
		if next == nil {
			return n, nil
		}
		line, err := json.Marshal(head)
		if err != nil {
			return n, fmt.Errorf("encode task %s: %w", head.ID, err)
		}
		if print != nil {
			err = print(json.RawMessage(line))
		} else {
			_, err = w.Write(append(line, '\n'))
		}
		if err != nil {
			return n, err
		}
		next.page = next.page[1:]
		n++
	}
}
