// Package task is `cb task`: create, list, claim and finish tasks in the
// shared queue. Each subcommand is an options struct, a NewCmd function and
// a run function.
package task

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// textWidth caps task text in tables when the terminal width is unknown.
const textWidth = 60

// assignedWidth caps the ASSIGNED column, leaving room for the text.
const assignedWidth = 16

// NewCmdTask is `cb task` and its subcommands.
func NewCmdTask(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Create, list, claim and finish tasks in the shared queue",
		Long: `Create, list, claim and finish tasks in the shared queue.

Worker ids (--worker) default to $USER@$HOSTNAME, here "` + cmdutil.DefaultWorkerID() + `".
With --json every command prints the method's result as cbd sent it
(indented on a terminal, one line otherwise); --jq filters it.`,
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdGet(f, nil), NewCmdClaim(f, nil),
		NewCmdComplete(f, nil), NewCmdFail(f, nil), NewCmdUpdate(f, nil), NewCmdAssign(f, nil),
		NewCmdUnassign(f, nil), NewCmdDelete(f, nil), NewCmdRenew(f, nil), NewCmdAttach(f, nil), NewCmdAttachments(f, nil),
		NewCmdWork(f, nil), NewCmdExport(f, nil))
	return cmd
}

// Options are what every task command shares.
type Options struct {
	cmdutil.CallOptions
	Now func() time.Time
}

func newOptions(f *cmdutil.Factory) Options {
	return Options{CallOptions: cmdutil.NewCallOptions(f), Now: time.Now}
}

// taskCall calls a task.* method whose answer is one task and prints it:
// the JSON as received, or the line line(task) returns.
func (o *Options) taskCall(ctx context.Context, method string, params any, line func(t api.Task, cs iostreams.ColorScheme) string) error {
	return cmdutil.CallPrint(ctx, &o.CallOptions, method, params, func(w io.Writer, cs iostreams.ColorScheme, t api.Task) error {
		_, err := fmt.Fprintln(w, line(t, cs))
		return err
	})
}

// CreateOptions are cb task create's inputs.
type CreateOptions struct {
	Options
	Text     string
	Priority *int
	Metadata string // a JSON object; "" for none
	Quiet    bool
}

// NewCmdCreate is `cb task create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Options: newOptions(f)}
	var priority int
	cmd := cmdutil.WithRun(f, &cobra.Command{
		Use:   "create TEXT...",
		Short: "Create a pending task (the words are joined into its text)",
		Example: `  cb task create "Write the release notes" --priority 80
  ID=$(cb task create -q "Review the PR")`,
		Args: cobra.MinimumNArgs(1),
	}, opts, func(cmd *cobra.Command, args []string) error {
		opts.Text = strings.Join(args, " ")
		if cmd.Flags().Changed("priority") {
			opts.Priority = &priority
		}
		return nil
	}, runF, createRun)
	cmd.Flags().IntVar(&priority, "priority", 50, "priority, 0-100 (higher is claimed first)")
	cmd.Flags().StringVar(&opts.Metadata, "metadata", "", `metadata, a JSON object like {"repo":"cb"}`)
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print only the new task's id")
	return cmd
}

func createRun(ctx context.Context, opts *CreateOptions) error {
	params := api.TaskCreateParams{Text: opts.Text, Priority: opts.Priority}
	if opts.Metadata != "" {
		raw, err := cmdutil.ObjectFlag("metadata", opts.Metadata)
		if err != nil {
			return err
		}
		params.Metadata = raw
	}
	if opts.Quiet {
		opts.Print = nil
	}
	return opts.taskCall(ctx, "task.create", params, func(t api.Task, _ iostreams.ColorScheme) string {
		if opts.Quiet {
			return t.ID
		}
		return fmt.Sprintf("created %s (priority %d)", t.ID, t.Priority)
	})
}

// ListOptions are cb task list's inputs: the filters set on the command
// line, by task.list param name (a map, not api.TaskListParams, so that a
// filter given as zero is sent as given).
type ListOptions struct {
	Options
	Params map[string]any
	Quiet  bool
	// Again is the command line that lists the same tasks again, without
	// --after and --offset: the start of the hint for the next page.
	Again []string
}

// listFlags maps cb task list's flags to task.list's params, in the order
// the next-page hint repeats them.
var listFlags = [][2]string{
	{"status", "status"}, {"assigned-to", "assignedTo"}, {"session", "session"},
	{"updated-before", "updatedBefore"}, {"order-by", "orderBy"}, {"order", "order"},
	{"limit", "limit"}, {"offset", "offset"}, {"after", "after"},
}

// NewCmdList is `cb task list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Options: newOptions(f)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks (newest first)",
		Long: `List tasks, newest first: on a terminal a table fitted to its width and a
count; otherwise tab-separated rows without a header (id, status, priority,
assigned to, created at, text).

One page at a time: when there are more, the command for the next page
(the same filters with --after CURSOR) is printed on stderr; with --json the
cursor is the answer's nextCursor. A cursor costs the same at any depth,
where --offset reads and skips the rows before the page.

--order-by queue lists pending tasks in the order cb task claim takes them
(highest priority first, oldest first within a priority). Counts by
assignee, session or --updated-before stop at 1000 and print as "1000+".`,
		Example: `  cb task list --status pending --order-by queue --limit 10
  cb task list --session "$SESSION_ID"
  cb task list --status completed --updated-before 30d --order-by updatedAt`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, _ []string) error {
		fields := map[string]string{}
		for _, fl := range listFlags {
			fields[fl[0]] = fl[1]
		}
		opts.Params = changedFlags(cmd, fields)
		if s, ok := opts.Params["updatedBefore"].(string); ok {
			t, err := cmdutil.ParseWhen(s, opts.Now())
			if err != nil {
				return cmdutil.FlagErrorf("--updated-before: %v", err)
			}
			// Sent, and repeated in the hint, as a time: the next page
			// must use the same cutoff, not one moved on with the clock.
			opts.Params["updatedBefore"] = t.Format(time.RFC3339Nano)
		}
		if _, ok := opts.Params["after"]; ok {
			if _, off := opts.Params["offset"]; off {
				return cmdutil.FlagErrorf("--after and --offset cannot be combined")
			}
		}
		opts.Again = []string{"cb", "task", "list"}
		for _, fl := range listFlags {
			if v, ok := opts.Params[fl[1]]; ok && fl[0] != "after" && fl[0] != "offset" {
				opts.Again = append(opts.Again, "--"+fl[0], cmdutil.ShellQuote(fmt.Sprint(v)))
			}
		}
		return nil
	}, runF, listRun)
	fl := cmd.Flags()
	fl.String("status", "", "only tasks in this status: pending, in_progress, completed, failed")
	fl.String("assigned-to", "", "only tasks assigned to this worker or instance")
	fl.String("session", "", "only the tasks of this Claude Code session (metadata.sessionId)")
	fl.String("updated-before", "", "only tasks last changed before this: an age (7d, 12h) or an RFC 3339 time")
	fl.Int("limit", 50, "at most this many tasks (1-1000)")
	fl.String("after", "", "the page after this cursor (printed with the page before; --json: nextCursor)")
	fl.Int("offset", 0, "skip this many tasks (reads and skips them; prefer --after)")
	fl.String("order-by", "createdAt", "sort by createdAt, updatedAt, priority, id or queue (claim order)")
	fl.String("order", "", "asc or desc (default desc; asc for --order-by queue)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only the tasks' ids, one per line")
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	raw, err := opts.Call(ctx, "task.list", opts.Params)
	if err != nil {
		return err
	}
	if opts.Print != nil && !opts.Quiet {
		return opts.Print(raw)
	}
	var res api.TaskListResult
	if err := cmdutil.DecodeResult("task.list", raw, &res); err != nil {
		return err
	}
	w := opts.IO.Out
	switch {
	case opts.Quiet:
		for _, t := range res.Tasks {
			if _, err := fmt.Fprintln(w, t.ID); err != nil {
				return err
			}
		}
	case !opts.IO.IsStdoutTTY():
		err = writeTaskRows(w, res.Tasks)
	default:
		err = renderTaskList(w, res, opts.Now(), opts.IO.TerminalWidth(), opts.IO.ColorScheme())
	}
	if err != nil {
		return err
	}
	return writeMoreHint(opts.IO.ErrOut, opts.Again, opts.Params, res)
}

// writeMoreHint prints, when res has more, the command for the next page:
// again with --after the cursor, or, from a server that sent none, with
// the --offset past this page.
func writeMoreHint(w io.Writer, again []string, params map[string]any, res api.TaskListResult) error {
	if !res.HasMore || len(again) == 0 {
		return nil
	}
	next := append([]string{}, again...)
	if res.NextCursor != "" {
		next = append(next, "--after", cmdutil.ShellQuote(res.NextCursor))
	} else {
		off, _ := params["offset"].(int)
		next = append(next, "--offset", strconv.Itoa(off+len(res.Tasks)))
	}
	_, err := fmt.Fprintln(w, "more: "+strings.Join(next, " "))
	return err
}

// totalText is a list's total for people: "1000+" when it is a lower
// bound (the count stopped at a cap).
func totalText(total int, estimated bool) string {
	if estimated {
		return strconv.Itoa(total) + "+"
	}
	return strconv.Itoa(total)
}

// writeTaskRows prints tasks for a program: whole values, tab-separated.
func writeTaskRows(w io.Writer, tasks []api.Task) error {
	rows := make([][]string, len(tasks))
	for i, t := range tasks {
		rows[i] = []string{t.ID, t.Status, strconv.Itoa(t.Priority), t.AssignedTo, t.CreatedAt.UTC().Format(time.RFC3339Nano), t.Text}
	}
	return cmdutil.WriteTSV(w, rows)
}

// renderTaskList prints tasks as a table: ID, STATUS, PRI, ASSIGNED, AGE
// (since creation, at now) and TEXT, fitted into width columns (0: text cut
// at 60 characters), then a count line.
func renderTaskList(w io.Writer, res api.TaskListResult, now time.Time, width int, p iostreams.ColorScheme) error {
	if len(res.Tasks) == 0 {
		if res.TotalCount > 0 {
			_, err := fmt.Fprintf(w, "no tasks on this page (%s in all; lower --offset)\n", totalText(res.TotalCount, res.TotalEstimated))
			return err
		}
		_, err := fmt.Fprintln(w, "no tasks")
		return err
	}
	head := []string{"ID", "STATUS", "PRI", "ASSIGNED", "AGE"}
	rows := make([][]string, len(res.Tasks))
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = len(h)
	}
	for i, t := range res.Tasks {
		rows[i] = []string{t.ID, t.Status, strconv.Itoa(t.Priority), cmdutil.Truncate(cmdutil.OrDash(cmdutil.OneLine(t.AssignedTo)), assignedWidth), cmdutil.HumanAge(now.Sub(t.CreatedAt.Time))}
		for j, c := range rows[i] {
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	const pad = 2
	budget := textWidth
	if width > 0 {
		used := 0
		for _, n := range widths {
			used += n + pad
		}
		budget = max(width-used, 10)
	}
	tw := tabwriter.NewWriter(w, 0, 0, pad, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tTEXT\n", head[0], p.Header(head[1]), head[2], head[3], head[4])
	for i, t := range res.Tasks {
		r := rows[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r[0], p.Status(r[1]), r[2], r[3], r[4], cmdutil.Truncate(cmdutil.OneLine(t.Text), budget))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "tasks"
	if res.TotalCount == 1 && !res.TotalEstimated {
		noun = "task"
	}
	_, err := fmt.Fprintf(w, "%d of %s %s\n", len(res.Tasks), totalText(res.TotalCount, res.TotalEstimated), noun)
	return err
}

// GetOptions are cb task get's inputs.
type GetOptions struct {
	Options
	ID string
}

// NewCmdGet is `cb task get`.
func NewCmdGet(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{Options: newOptions(f)}
	return argsCmd(f, "get ID", "Show one task, with its attachments", opts, opts.takeID, runF, getRun)
}

// argsCmd is a task command whose only inputs are its arguments, named in
// use after the command's name; take reads them into opts.
func argsCmd[P cmdutil.FlagReader](f *cmdutil.Factory, use, short string, opts P, take func(*cobra.Command, []string) error, runF, def func(context.Context, P) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(len(strings.Fields(use)) - 1)}
	return cmdutil.WithRun(f, cmd, opts, take, runF, def)
}

// takeID takes the task id, the command's one argument.
func (o *GetOptions) takeID(_ *cobra.Command, args []string) error {
	o.ID = args[0]
	return nil
}

func getRun(ctx context.Context, opts *GetOptions) error {
	return cmdutil.CallPrint(ctx, &opts.CallOptions, "task.get", api.TaskGetParams{ID: opts.ID}, func(w io.Writer, cs iostreams.ColorScheme, t api.Task) error {
		return renderTask(w, t, opts.Now(), cs)
	})
}

// renderTask prints one task as "field value" lines, then its attachments.
func renderTask(w io.Writer, t api.Task, now time.Time, p iostreams.ColorScheme) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("id", t.ID)
	line("status", p.Status(t.Status))
	line("priority", strconv.Itoa(t.Priority))
	line("assigned", cmdutil.OrDash(cmdutil.OneLine(t.AssignedTo)))
	line("attempts", strconv.Itoa(t.Attempts))
	if t.LeaseExpiresAt != nil {
		left := t.LeaseExpiresAt.Sub(now)
		when := "expires in " + cmdutil.HumanAge(left)
		if left <= 0 {
			when = "expired " + cmdutil.HumanAge(-left) + " ago; the task goes back to the queue"
		}
		line("lease", t.LeaseExpiresAt.UTC().Format(time.RFC3339)+" ("+when+")")
	}
	line("created", t.CreatedAt.UTC().Format(time.RFC3339)+" ("+cmdutil.HumanAge(now.Sub(t.CreatedAt.Time))+" ago)")
	line("updated", t.UpdatedAt.UTC().Format(time.RFC3339)+" ("+cmdutil.HumanAge(now.Sub(t.UpdatedAt.Time))+" ago)")
	line("text", cmdutil.OneLine(t.Text))
	if t.Error != "" {
		line("error", cmdutil.OneLine(t.Error))
	}
	if len(t.Result) > 0 {
		line("result", cmdutil.CompactJSON(t.Result))
	}
	if len(t.Metadata) > 0 {
		line("metadata", cmdutil.CompactJSON(t.Metadata))
	}
	if len(t.Attachments) > 0 {
		line("attachments", strconv.Itoa(len(t.Attachments)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return renderAttachments(w, t.Attachments, "  ", now)
}

// FinishOptions are the inputs of cb task complete and cb task fail.
type FinishOptions struct {
	Options
	ID, Worker string
	Result     *string // complete: a JSON value, or text sent as a JSON string
	Error      string  // fail: what went wrong
}

// NewCmdComplete is `cb task complete`.
func NewCmdComplete(f *cmdutil.Factory, runF func(context.Context, *FinishOptions) error) *cobra.Command {
	opts := &FinishOptions{Options: newOptions(f)}
	var result string
	cmd := cmdutil.WithRun(f, &cobra.Command{
		Use:   "complete ID",
		Short: "Complete a task you claimed",
		Args:  cobra.ExactArgs(1),
	}, opts, func(cmd *cobra.Command, args []string) error {
		opts.ID = args[0]
		if cmd.Flags().Changed("result") {
			opts.Result = &result
		}
		return nil
	}, runF, completeRun)
	cmd.Flags().StringVar(&result, "result", "", "the result, a JSON value (text that is not JSON is sent as a string)")
	workerFlag(cmd, &opts.Worker)
	return cmd
}

func completeRun(ctx context.Context, opts *FinishOptions) error {
	params := api.TaskCompleteParams{ID: opts.ID, WorkerID: workerOrDefault(opts.Worker)}
	if opts.Result != nil {
		if json.Valid([]byte(*opts.Result)) {
			params.Result = json.RawMessage(*opts.Result)
		} else {
			params.Result, _ = json.Marshal(*opts.Result) // plain text is sent as a JSON string
		}
	}
	return opts.taskCall(ctx, "task.complete", params, func(t api.Task, _ iostreams.ColorScheme) string {
		return "completed " + t.ID
	})
}

// workerFlag is the --worker flag of the commands on a claimed task.
func workerFlag(cmd *cobra.Command, worker *string) {
	cmd.Flags().StringVar(worker, "worker", "", "the worker that claimed the task (default $USER@$HOSTNAME)")
}

// workerOrDefault is worker, or $USER@$HOSTNAME when it is empty.
func workerOrDefault(worker string) string {
	if worker == "" {
		return cmdutil.DefaultWorkerID()
	}
	return worker
}

// NewCmdFail is `cb task fail`.
func NewCmdFail(f *cmdutil.Factory, runF func(context.Context, *FinishOptions) error) *cobra.Command {
	opts := &FinishOptions{Options: newOptions(f)}
	cmd := cmdutil.WithRun(f, &cobra.Command{
		Use:   "fail ID --error MSG",
		Short: "Fail a task you claimed",
		Args:  cobra.ExactArgs(1),
	}, opts, func(_ *cobra.Command, args []string) error {
		opts.ID = args[0]
		return nil
	}, runF, failRun)
	cmd.Flags().StringVar(&opts.Error, "error", "", "what went wrong (required)")
	workerFlag(cmd, &opts.Worker)
	_ = cmd.MarkFlagRequired("error")
	return cmd
}

func failRun(ctx context.Context, opts *FinishOptions) error {
	params := api.TaskFailParams{ID: opts.ID, WorkerID: workerOrDefault(opts.Worker), Error: opts.Error}
	return opts.taskCall(ctx, "task.fail", params, func(t api.Task, cs iostreams.ColorScheme) string {
		return fmt.Sprintf("%s %s: %s", cs.Status("failed"), t.ID, cmdutil.OneLine(t.Error))
	})
}

// UpdateOptions are cb task update's inputs: the fields to change, by
// task.update name (metadata still a JSON string to check). A map, not
// api.TaskUpdates, so that a field given empty is sent, and refused, rather
// than dropped.
type UpdateOptions struct {
	Options
	ID       string
	Updates  map[string]any
	Metadata *string
}

// NewCmdUpdate is `cb task update`.
func NewCmdUpdate(f *cmdutil.Factory, runF func(context.Context, *UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{Options: newOptions(f)}
	var metadata string
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a task's text, status, priority or metadata (merged)",
		Args:  cobra.ExactArgs(1),
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, args []string) error {
		opts.ID = args[0]
		opts.Updates = changedFlags(cmd, map[string]string{"text": "text", "status": "status", "priority": "priority"})
		opts.Metadata = nil
		if cmd.Flags().Changed("metadata") {
			opts.Metadata = &metadata
		}
		return nil
	}, runF, updateRun)
	fl := cmd.Flags()
	fl.String("text", "", "new text")
	fl.String("status", "", "new status: pending, in_progress, completed, failed")
	fl.Int("priority", 50, "new priority, 0-100")
	fl.StringVar(&metadata, "metadata", "", "metadata to merge, a JSON object")
	return cmd
}

func updateRun(ctx context.Context, opts *UpdateOptions) error {
	if opts.Metadata != nil {
		raw, err := cmdutil.ObjectFlag("metadata", *opts.Metadata)
		if err != nil {
			return err
		}
		opts.Updates["metadata"] = raw
	}
	if len(opts.Updates) == 0 {
		return cmdutil.FlagErrorf("nothing to update: give --text, --status, --priority or --metadata")
	}
	params := map[string]any{"id": opts.ID, "updates": opts.Updates}
	return opts.taskCall(ctx, "task.update", params, func(t api.Task, cs iostreams.ColorScheme) string {
		return fmt.Sprintf("updated %s (%s, priority %d)", t.ID, cs.Status(t.Status), t.Priority)
	})
}

// AssignOptions are the inputs of cb task assign and unassign.
type AssignOptions struct {
	Options
	TaskID, InstanceID string
}

// NewCmdAssign is `cb task assign`.
func NewCmdAssign(f *cmdutil.Factory, runF func(context.Context, *AssignOptions) error) *cobra.Command {
	opts := &AssignOptions{Options: newOptions(f)}
	return argsCmd(f, "assign ID INSTANCE", "Assign a pending task to a registered instance", opts, opts.takeArgs, runF, assignRun)
}

// takeArgs takes the task id and, for assign, the instance id.
func (o *AssignOptions) takeArgs(_ *cobra.Command, args []string) error {
	o.TaskID = args[0]
	if len(args) > 1 {
		o.InstanceID = args[1]
	}
	return nil
}

func assignRun(ctx context.Context, opts *AssignOptions) error {
	params := api.TaskAssignParams{TaskID: opts.TaskID, InstanceID: opts.InstanceID}
	return opts.taskCall(ctx, "task.assign", params, func(t api.Task, _ iostreams.ColorScheme) string {
		return fmt.Sprintf("assigned %s to %s", t.ID, cmdutil.OrDash(t.AssignedTo))
	})
}

// NewCmdUnassign is `cb task unassign`.
func NewCmdUnassign(f *cmdutil.Factory, runF func(context.Context, *AssignOptions) error) *cobra.Command {
	opts := &AssignOptions{Options: newOptions(f)}
	return argsCmd(f, "unassign ID", "Put an assigned task back in the queue", opts, opts.takeArgs, runF, unassignRun)
}

func unassignRun(ctx context.Context, opts *AssignOptions) error {
	return opts.taskCall(ctx, "task.unassign", api.TaskUnassignParams{TaskID: opts.TaskID}, func(t api.Task, cs iostreams.ColorScheme) string {
		return fmt.Sprintf("unassigned %s (%s)", t.ID, cs.Status(t.Status))
	})
}

// NewCmdDelete is `cb task delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{Options: newOptions(f)}
	return argsCmd(f, "delete ID", "Delete a task", opts, opts.takeID, runF, deleteRun)
}

func deleteRun(ctx context.Context, opts *GetOptions) error {
	return cmdutil.CallPrint(ctx, &opts.CallOptions, "task.delete", api.TaskDeleteParams{ID: opts.ID}, func(w io.Writer, _ iostreams.ColorScheme, res api.TaskDeleteResult) error {
		if !res.Deleted {
			_, err := fmt.Fprintf(w, "%s: nothing to delete\n", res.ID)
			return err
		}
		_, err := fmt.Fprintf(w, "deleted %s\n", res.ID)
		return err
	})
}

// LeaseMs checks a --lease flag and returns it in ms, as the methods take it.
func LeaseMs(d time.Duration) (int64, error) {
	if d < 100*time.Millisecond || d > 7*24*time.Hour {
		return 0, cmdutil.FlagErrorf("--lease %s: want 100ms to 168h", d)
	}
	return d.Milliseconds(), nil
}

// leaseFlag is --lease, checked, when it is given; else 0, for cbd's
// tasks.lease.
func leaseFlag(cmd *cobra.Command, lease time.Duration) (time.Duration, error) {
	if !cmd.Flags().Changed("lease") {
		return 0, nil
	}
	if _, err := LeaseMs(lease); err != nil {
		return 0, err
	}
	return lease, nil
}

// changedFlags are the flags given on cmd's command line, by the name a
// method's params call them (fields maps flag to param name), so that a
// value given as zero is sent as given.
func changedFlags(cmd *cobra.Command, fields map[string]string) map[string]any {
	params := map[string]any{}
	fl := cmd.Flags()
	for flag, field := range fields {
		switch {
		case !fl.Changed(flag):
		case fl.Lookup(flag).Value.Type() == "int":
			params[field], _ = fl.GetInt(flag)
		default:
			params[field], _ = fl.GetString(flag)
		}
	}
	return params
}

// RenewOptions are cb task renew's inputs.
type RenewOptions struct {
	Options
	ID, Worker string
	Lease      time.Duration // 0: cbd's tasks.lease
}

// NewCmdRenew is `cb task renew`.
func NewCmdRenew(f *cmdutil.Factory, runF func(context.Context, *RenewOptions) error) *cobra.Command {
	opts := &RenewOptions{Options: newOptions(f)}
	var lease time.Duration
	cmd := &cobra.Command{
		Use:   "renew ID",
		Short: "Extend the lease of a task you claimed",
		Long: `Extend the lease of a task you claimed to --lease (else cbd's tasks.lease)
from now. Fails with conflict (exit 8) when the task is no longer yours: its
lease ran out and it went back to the queue, or it was finished.`,
		Args: cobra.ExactArgs(1),
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, args []string) error {
		opts.ID = args[0]
		var err error
		opts.Lease, err = leaseFlag(cmd, lease)
		return err
	}, runF, renewRun)
	workerFlag(cmd, &opts.Worker)
	cmd.Flags().DurationVar(&lease, "lease", 0, "the new lease, from now (default: cbd's tasks.lease)")
	return cmd
}

func renewRun(ctx context.Context, opts *RenewOptions) error {
	params := api.TaskRenewParams{ID: opts.ID, WorkerID: workerOrDefault(opts.Worker), LeaseMs: opts.Lease.Milliseconds()}
	return opts.taskCall(ctx, "task.renew", params, func(t api.Task, _ iostreams.ColorScheme) string {
		if t.LeaseExpiresAt == nil {
			return "renewed " + t.ID
		}
		return fmt.Sprintf("renewed %s until %s", t.ID, t.LeaseExpiresAt.Local().Format(time.RFC3339))
	})
}
