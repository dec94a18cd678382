package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// apiTask is a task as the task.* methods answer it (the "task" definition
// of schemas/methods/common.json). cb keeps its own copy so that it links
// no daemon code.
type apiTask struct {
	ID         string          `json:"id"`
	Text       string          `json:"text"`
	Status     string          `json:"status"`
	Priority   int             `json:"priority"`
	AssignedTo string          `json:"assignedTo,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Attempts   int             `json:"attempts"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Version    int64           `json:"version,omitempty"`
	// LeaseExpiresAt is when an in-progress task's claim runs out.
	LeaseExpiresAt *time.Time `json:"leaseExpiresAt,omitempty"`
}

// taskListResult is task.list's answer.
type taskListResult struct {
	Tasks      []apiTask `json:"tasks"`
	TotalCount int       `json:"totalCount"`
	HasMore    bool      `json:"hasMore"`
}

// taskClaimResult is task.claim's answer.
type taskClaimResult struct {
	Tasks []apiTask `json:"tasks"`
}

// taskDeleteResult is task.delete's answer.
type taskDeleteResult struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// defaultWorkerID is $USER@host, the worker id of cb task claim, complete
// and fail without --worker. It must be a valid instance id (no spaces).
var defaultWorkerID = sync.OnceValue(func() string {
	user := os.Getenv("USER")
	if user == "" {
		user = os.Getenv("LOGNAME")
	}
	if user == "" {
		user = "cb"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = os.Getenv("HOSTNAME")
	}
	if host == "" {
		host = "localhost"
	}
	return strings.Join(strings.Fields(user+"@"+host), "-")
})

// textWidth caps task text in tables when the terminal width is unknown.
const textWidth = 60

// assignedWidth caps the ASSIGNED column, leaving room for the text.
const assignedWidth = 16

// jsonFlag parses a flag holding a JSON value.
func jsonFlag(name, value string) (json.RawMessage, error) {
	if !json.Valid([]byte(value)) {
		return nil, usageError("--%s: not valid JSON: %s", name, value)
	}
	return json.RawMessage(value), nil
}

// objectFlag parses a flag holding a JSON object.
func objectFlag(name, value string) (json.RawMessage, error) {
	raw, err := jsonFlag(name, value)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, usageError("--%s: want a JSON object like {\"key\":\"value\"}, got %s", name, value)
	}
	return raw, nil
}

func decodeResult(method string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: unexpected answer: %w", method, err)
	}
	return nil
}

// taskCall calls a task.* method whose answer is one task and prints it:
// the JSON as received, or the line line(task) returns.
func (a *app) taskCall(ctx context.Context, method string, params any, line func(t apiTask, p palette) string) error {
	raw, err := a.call(ctx, method, params)
	if err != nil {
		return err
	}
	return a.printResult(raw, func(w io.Writer, p palette) error {
		var t apiTask
		if err := decodeResult(method, raw, &t); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w, line(t, p))
		return err
	})
}

func (a *app) taskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Create, list, claim and finish tasks in the shared queue",
		Long: `Create, list, claim and finish tasks in the shared queue.

Worker ids (--worker) default to $USER@$HOSTNAME, here "` + defaultWorkerID() + `".
With --json every command prints the method's result as cbd sent it.`,
	}
	cmd.AddCommand(a.taskCreateCmd(), a.taskListCmd(), a.taskGetCmd(), a.taskClaimCmd(),
		a.taskCompleteCmd(), a.taskFailCmd(), a.taskUpdateCmd(), a.taskAssignCmd(),
		a.taskUnassignCmd(), a.taskDeleteCmd(), a.taskRenewCmd())
	return cmd
}

func (a *app) taskCreateCmd() *cobra.Command {
	var priority int
	var metadata string
	cmd := &cobra.Command{
		Use:   "create TEXT...",
		Short: "Create a pending task (the words are joined into its text)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]any{"text": strings.Join(args, " ")}
			if cmd.Flags().Changed("priority") {
				params["priority"] = priority
			}
			if cmd.Flags().Changed("metadata") {
				raw, err := objectFlag("metadata", metadata)
				if err != nil {
					return err
				}
				params["metadata"] = raw
			}
			return a.taskCall(cmd.Context(), "task.create", params, func(t apiTask, p palette) string {
				return fmt.Sprintf("created %s (priority %d)", t.ID, t.Priority)
			})
		},
	}
	cmd.Flags().IntVar(&priority, "priority", 50, "priority, 0-100 (higher is claimed first)")
	cmd.Flags().StringVar(&metadata, "metadata", "", `metadata, a JSON object like {"repo":"cb"}`)
	return cmd
}

func (a *app) taskListCmd() *cobra.Command {
	var status, assignedTo, orderBy, order string
	var limit, offset int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks (newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := map[string]any{}
			f := cmd.Flags()
			for flag, field := range map[string]string{"status": "status", "assigned-to": "assignedTo", "order-by": "orderBy", "order": "order"} {
				if f.Changed(flag) {
					v, _ := f.GetString(flag)
					params[field] = v
				}
			}
			if f.Changed("limit") {
				params["limit"] = limit
			}
			if f.Changed("offset") {
				params["offset"] = offset
			}
			raw, err := a.call(cmd.Context(), "task.list", params)
			if err != nil {
				return err
			}
			return a.printResult(raw, func(w io.Writer, p palette) error {
				var res taskListResult
				if err := decodeResult("task.list", raw, &res); err != nil {
					return err
				}
				return renderTaskList(w, res, time.Now(), outputWidth(w), p)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only tasks in this status: pending, in_progress, completed, failed")
	f.StringVar(&assignedTo, "assigned-to", "", "only tasks assigned to this worker or instance")
	f.IntVar(&limit, "limit", 50, "at most this many tasks (1-1000)")
	f.IntVar(&offset, "offset", 0, "skip this many tasks")
	f.StringVar(&orderBy, "order-by", "createdAt", "sort by createdAt, updatedAt, priority or id")
	f.StringVar(&order, "order", "desc", "asc or desc")
	return cmd
}

// renderTaskList prints tasks as a table: ID, STATUS, PRI, ASSIGNED, AGE
// (since creation, at now) and TEXT, fitted into width columns (0: text cut
// at 60 characters), then a count line.
func renderTaskList(w io.Writer, res taskListResult, now time.Time, width int, p palette) error {
	if len(res.Tasks) == 0 {
		if res.TotalCount > 0 {
			_, err := fmt.Fprintf(w, "no tasks on this page (%d in all; lower --offset)\n", res.TotalCount)
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
		rows[i] = []string{t.ID, t.Status, strconv.Itoa(t.Priority), truncate(orDash(oneLine(t.AssignedTo)), assignedWidth), humanAge(now.Sub(t.CreatedAt))}
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
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tTEXT\n", head[0], p.header(head[1]), head[2], head[3], head[4])
	for i, t := range res.Tasks {
		r := rows[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r[0], p.status(r[1]), r[2], r[3], r[4], truncate(oneLine(t.Text), budget))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	more := ""
	if res.HasMore {
		more = " (more with --offset)"
	}
	noun := "tasks"
	if res.TotalCount == 1 {
		noun = "task"
	}
	_, err := fmt.Fprintf(w, "%d of %d %s%s\n", len(res.Tasks), res.TotalCount, noun, more)
	return err
}

func (a *app) taskGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := a.call(cmd.Context(), "task.get", map[string]any{"id": args[0]})
			if err != nil {
				return err
			}
			return a.printResult(raw, func(w io.Writer, p palette) error {
				var t apiTask
				if err := decodeResult("task.get", raw, &t); err != nil {
					return err
				}
				return renderTask(w, t, time.Now(), p)
			})
		},
	}
}

// renderTask prints one task as "field value" lines.
func renderTask(w io.Writer, t apiTask, now time.Time, p palette) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("id", t.ID)
	line("status", p.status(t.Status))
	line("priority", strconv.Itoa(t.Priority))
	line("assigned", orDash(oneLine(t.AssignedTo)))
	line("attempts", strconv.Itoa(t.Attempts))
	if t.LeaseExpiresAt != nil {
		left := t.LeaseExpiresAt.Sub(now)
		when := "expires in " + humanAge(left)
		if left <= 0 {
			when = "expired " + humanAge(-left) + " ago; the task goes back to the queue"
		}
		line("lease", t.LeaseExpiresAt.UTC().Format(time.RFC3339)+" ("+when+")")
	}
	line("created", t.CreatedAt.UTC().Format(time.RFC3339)+" ("+humanAge(now.Sub(t.CreatedAt))+" ago)")
	line("updated", t.UpdatedAt.UTC().Format(time.RFC3339)+" ("+humanAge(now.Sub(t.UpdatedAt))+" ago)")
	line("text", oneLine(t.Text))
	if t.Error != "" {
		line("error", oneLine(t.Error))
	}
	if len(t.Result) > 0 {
		line("result", compactJSON(t.Result))
	}
	if len(t.Metadata) > 0 {
		line("metadata", compactJSON(t.Metadata))
	}
	return tw.Flush()
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return oneLine(string(raw))
	}
	return oneLine(b.String())
}

func (a *app) taskClaimCmd() *cobra.Command {
	var wait bool
	var worker string
	var maxTasks int
	var waitTimeout, lease time.Duration
	cmd := &cobra.Command{
		Use:   "claim",
		Short: "Claim the highest-priority pending task(s) for a worker",
		Long: `Claim the highest-priority pending task(s) for a worker.

Without --wait it returns at once ("no pending task" on stderr, exit 0, when
the queue is empty). With --wait it blocks until a task is queued (it is woken
by cbd, it does not poll), up to --wait-timeout; then it exits with status 6.

A claim holds its task for a lease (--lease, else cbd's tasks.lease, 30m by
default): complete or fail it before then, or extend it with cb task renew;
otherwise the task goes back to the queue (cb task get shows the lease).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if worker == "" {
				worker = defaultWorkerID()
			}
			params := map[string]any{"workerId": worker, "maxTasks": maxTasks}
			if cmd.Flags().Changed("lease") {
				ms, err := leaseMs(lease)
				if err != nil {
					return err
				}
				params["leaseMs"] = ms
			}
			if !wait {
				raw, res, err := a.claimOnce(cmd.Context(), params)
				if err != nil {
					return err
				}
				return a.printClaim(raw, res)
			}
			if waitTimeout <= 0 {
				return usageError("--wait-timeout must be positive")
			}
			raw, res, err := a.claimWait(cmd.Context(), params, waitTimeout)
			if err != nil {
				var te *claimTimeout
				if errors.As(err, &te) && a.jsonOut {
					_ = writeJSON(a.stdout, raw)
				}
				return err
			}
			return a.printClaim(raw, res)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&wait, "wait", false, "block until a task can be claimed (up to --wait-timeout)")
	f.StringVar(&worker, "worker", "", "worker id to claim for (default $USER@$HOSTNAME)")
	f.IntVar(&maxTasks, "max", 1, "claim up to this many tasks (1-10)")
	f.DurationVar(&waitTimeout, "wait-timeout", 30*time.Second, "how long --wait blocks")
	f.DurationVar(&lease, "lease", 0, "how long the claim holds the task unless renewed (default: cbd's tasks.lease)")
	return cmd
}

func (a *app) claimOnce(ctx context.Context, params any) (json.RawMessage, taskClaimResult, error) {
	var res taskClaimResult
	raw, err := a.call(ctx, "task.claim", params)
	if err != nil {
		return nil, res, err
	}
	return raw, res, decodeResult("task.claim", raw, &res)
}

func (a *app) printClaim(raw json.RawMessage, res taskClaimResult) error {
	if len(res.Tasks) == 0 {
		fmt.Fprintln(a.stderr, "no pending task")
		if a.jsonOut {
			return writeJSON(a.stdout, raw)
		}
		return nil
	}
	return a.printResult(raw, func(w io.Writer, p palette) error {
		for _, t := range res.Tasks {
			if _, err := fmt.Fprintf(w, "claimed %s (priority %d): %s\n", t.ID, t.Priority, oneLine(t.Text)); err != nil {
				return err
			}
		}
		return nil
	})
}

// claimTimeout is the end of a --wait without a task: exit status 6.
type claimTimeout struct{ wait time.Duration }

func (e *claimTimeout) Error() string { return fmt.Sprintf("no task within %s", e.wait) }

// claimWait claims, and while nothing is claimable blocks on the queue's
// notify list (one token per task made claimable) until a token arrives,
// then claims again. A token whose task someone else took (the queue is
// empty again) sends it back to waiting without asking cbd.
func (a *app) claimWait(ctx context.Context, params any, wait time.Duration) (json.RawMessage, taskClaimResult, error) {
	deadline := time.Now().Add(wait)
	for {
		raw, res, err := a.claimOnce(ctx, params)
		if err != nil || len(res.Tasks) > 0 {
			return raw, res, err
		}
		rdb := a.client.Redis() // set by claimOnce's call
		for {
			remaining := time.Until(deadline)
			if remaining <= 0 {
				return raw, res, &exitError{code: protocol.CodeTimeout.Info().Exit, err: &claimTimeout{wait}}
			}
			woken, err := blockPop(ctx, rdb, protocol.QueueNotifyKey, remaining)
			if err != nil {
				return raw, res, err
			}
			if !woken {
				continue // the loop above ends it at the deadline
			}
			qctx, cancel := context.WithTimeout(ctx, a.timeout)
			n, err := rdb.ZCard(qctx, protocol.QueueTasksKey).Result()
			cancel()
			if err != nil {
				return raw, res, &protocol.Error{Code: protocol.CodeUnavailable, Message: "queue depth: redis: " + err.Error()}
			}
			if n > 0 {
				break
			}
		}
	}
}

// blockPop waits up to wait for an element of list and reports whether one
// came. Whole seconds block through BLPOP with go-redis's read deadline
// extended for it; a remainder under a second blocks with a fractional
// BLPOP. An interrupt (ctx done) returns at once.
func blockPop(ctx context.Context, rdb redis.UniversalClient, list string, wait time.Duration) (bool, error) {
	type popped struct {
		ok  bool
		err error
	}
	done := make(chan popped, 1)
	go func() {
		var err error
		if secs := wait.Truncate(time.Second); secs > 0 {
			err = rdb.BLPop(ctx, secs, list).Err()
		} else {
			err = rdb.Do(ctx, "BLPOP", list, strconv.FormatFloat(max(wait.Seconds(), 0.001), 'f', 3, 64)).Err()
		}
		switch {
		case errors.Is(err, redis.Nil):
			done <- popped{}
		case err != nil:
			done <- popped{err: err}
		default:
			done <- popped{ok: true}
		}
	}()
	select {
	case <-ctx.Done():
		return false, &exitError{code: 130, err: errors.New("interrupted")}
	case r := <-done:
		if r.err != nil {
			return false, &protocol.Error{Code: protocol.CodeUnavailable, Message: "wait for a task: redis: " + r.err.Error()}
		}
		return r.ok, nil
	}
}

func (a *app) taskCompleteCmd() *cobra.Command {
	var result, worker string
	cmd := &cobra.Command{
		Use:   "complete ID",
		Short: "Complete a task you claimed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if worker == "" {
				worker = defaultWorkerID()
			}
			params := map[string]any{"id": args[0], "workerId": worker}
			if cmd.Flags().Changed("result") {
				if json.Valid([]byte(result)) {
					params["result"] = json.RawMessage(result)
				} else {
					params["result"] = result // plain text is sent as a JSON string
				}
			}
			return a.taskCall(cmd.Context(), "task.complete", params, func(t apiTask, p palette) string {
				return "completed " + t.ID
			})
		},
	}
	cmd.Flags().StringVar(&result, "result", "", "the result, a JSON value (text that is not JSON is sent as a string)")
	cmd.Flags().StringVar(&worker, "worker", "", "the worker that claimed the task (default $USER@$HOSTNAME)")
	return cmd
}

func (a *app) taskFailCmd() *cobra.Command {
	var msg, worker string
	cmd := &cobra.Command{
		Use:   "fail ID --error MSG",
		Short: "Fail a task you claimed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if worker == "" {
				worker = defaultWorkerID()
			}
			params := map[string]any{"id": args[0], "workerId": worker, "error": msg}
			return a.taskCall(cmd.Context(), "task.fail", params, func(t apiTask, p palette) string {
				return fmt.Sprintf("%s %s: %s", p.status("failed"), t.ID, oneLine(t.Error))
			})
		},
	}
	cmd.Flags().StringVar(&msg, "error", "", "what went wrong (required)")
	cmd.Flags().StringVar(&worker, "worker", "", "the worker that claimed the task (default $USER@$HOSTNAME)")
	_ = cmd.MarkFlagRequired("error")
	return cmd
}

func (a *app) taskUpdateCmd() *cobra.Command {
	var text, status, metadata string
	var priority int
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a task's text, status, priority or metadata (merged)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			updates := map[string]any{}
			if f.Changed("text") {
				updates["text"] = text
			}
			if f.Changed("status") {
				updates["status"] = status
			}
			if f.Changed("priority") {
				updates["priority"] = priority
			}
			if f.Changed("metadata") {
				raw, err := objectFlag("metadata", metadata)
				if err != nil {
					return err
				}
				updates["metadata"] = raw
			}
			if len(updates) == 0 {
				return usageError("nothing to update: give --text, --status, --priority or --metadata")
			}
			params := map[string]any{"id": args[0], "updates": updates}
			return a.taskCall(cmd.Context(), "task.update", params, func(t apiTask, p palette) string {
				return fmt.Sprintf("updated %s (%s, priority %d)", t.ID, p.status(t.Status), t.Priority)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&text, "text", "", "new text")
	f.StringVar(&status, "status", "", "new status: pending, in_progress, completed, failed")
	f.IntVar(&priority, "priority", 50, "new priority, 0-100")
	f.StringVar(&metadata, "metadata", "", "metadata to merge, a JSON object")
	return cmd
}

func (a *app) taskAssignCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "assign ID INSTANCE",
		Short: "Assign a pending task to a registered instance",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]any{"taskId": args[0], "instanceId": args[1]}
			return a.taskCall(cmd.Context(), "task.assign", params, func(t apiTask, p palette) string {
				return fmt.Sprintf("assigned %s to %s", t.ID, orDash(t.AssignedTo))
			})
		},
	}
}

func (a *app) taskUnassignCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unassign ID",
		Short: "Put an assigned task back in the queue",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.taskCall(cmd.Context(), "task.unassign", map[string]any{"taskId": args[0]}, func(t apiTask, p palette) string {
				return fmt.Sprintf("unassigned %s (%s)", t.ID, p.status(t.Status))
			})
		},
	}
}

func (a *app) taskDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := a.call(cmd.Context(), "task.delete", map[string]any{"id": args[0]})
			if err != nil {
				return err
			}
			return a.printResult(raw, func(w io.Writer, p palette) error {
				var res taskDeleteResult
				if err := decodeResult("task.delete", raw, &res); err != nil {
					return err
				}
				if !res.Deleted {
					_, err := fmt.Fprintf(w, "%s: nothing to delete\n", res.ID)
					return err
				}
				_, err := fmt.Fprintf(w, "deleted %s\n", res.ID)
				return err
			})
		},
	}
}

// leaseMs checks a --lease flag and returns it in ms, as the methods take it.
func leaseMs(d time.Duration) (int64, error) {
	if d < 100*time.Millisecond || d > 7*24*time.Hour {
		return 0, usageError("--lease %s: want 100ms to 168h", d)
	}
	return d.Milliseconds(), nil
}

func (a *app) taskRenewCmd() *cobra.Command {
	var worker string
	var lease time.Duration
	cmd := &cobra.Command{
		Use:   "renew ID",
		Short: "Extend the lease of a task you claimed",
		Long: `Extend the lease of a task you claimed to --lease (else cbd's tasks.lease)
from now. Fails with conflict (exit 8) when the task is no longer yours: its
lease ran out and it went back to the queue, or it was finished.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if worker == "" {
				worker = defaultWorkerID()
			}
			params := map[string]any{"id": args[0], "workerId": worker}
			if cmd.Flags().Changed("lease") {
				ms, err := leaseMs(lease)
				if err != nil {
					return err
				}
				params["leaseMs"] = ms
			}
			return a.taskCall(cmd.Context(), "task.renew", params, func(t apiTask, p palette) string {
				if t.LeaseExpiresAt == nil {
					return "renewed " + t.ID
				}
				return fmt.Sprintf("renewed %s until %s", t.ID, t.LeaseExpiresAt.Local().Format(time.RFC3339))
			})
		},
	}
	cmd.Flags().StringVar(&worker, "worker", "", "the worker that claimed the task (default $USER@$HOSTNAME)")
	cmd.Flags().DurationVar(&lease, "lease", 0, "the new lease, from now (default: cbd's tasks.lease)")
	return cmd
}
