// Package work is `cb work`: a worker that claims tasks and runs a command
// for each.
package work

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/tick"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// Options configure cb work.
type Options struct {
	IO     *iostreams.IOStreams
	Caller func() (cmdutil.Caller, error)
	// Client is the Redis connection idle waits block on.
	Client func() (*client.Client, error)

	Worker    string
	Heartbeat time.Duration
	UntilIdle time.Duration
	MaxTasks  int
	Argv      []string

	caller cmdutil.Caller
}

// NewCmdWork is `cb work`; runF replaces workRun in tests.
func NewCmdWork(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Caller: f.Caller, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "work [flags] -- COMMAND [ARG...]",
		Short: "Run a worker: claim tasks and run COMMAND for each",
		Long: `Registers a worker instance, heartbeats while it runs, claims tasks as they
arrive (no polling) and runs COMMAND once per task, with the task JSON on
stdin (as task.claim answers it, attachments included) and in the
environment:

  CB_TASK_ID           the task's id
  CB_TASK_TEXT         the task's text
  CB_WORKER_ID         this worker's id
  CB_TASK_NOTES        the text of the task's note attachments, oldest first,
                       joined by blank lines (cut at 32 KiB with a marker;
                       the whole notes are in CB_TASK_ATTACHMENTS)
  CB_TASK_ATTACHMENTS  the path of a file (private to this user, removed
                       when COMMAND exits) holding the task's attachments as
                       a JSON array, [] when it has none: always a file, since
                       attachments can outgrow what an environment holds

COMMAND adds notes for whoever works on the task next with
cb task attach "$CB_TASK_ID" KEY TEXT --by "$CB_WORKER_ID". Exit status 0
completes the task with COMMAND's stdout as result (JSON if it parses, else a
string); any other status fails it with the end of stderr. If the worker
dies, its tasks go back to the queue after tasks.reclaim_after. While
COMMAND runs, cb work renews its task's lease (a third of the lease before it
runs out), so a command may run longer than tasks.lease. SIGINT or SIGTERM
stops claiming, lets the running task finish, and unregisters. A call cbd
refuses for its rate limit is sent again after the wait cbd names.`,
		Example: `  # Each task's notes and attachments, then its work:
  cb work -- sh -c 'echo "$CB_TASK_NOTES"; jq -r ".[].key" "$CB_TASK_ATTACHMENTS"; ./do-task'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Argv = args
			return cmdutil.RunWith(cmd.Context(), o, runF, workRun)
		},
	}
	host, _ := os.Hostname()
	cmd.Flags().StringVar(&o.Worker, "worker", fmt.Sprintf("worker-%s-%d", host, os.Getpid()), "worker id (registered as an instance with role worker)")
	cmd.Flags().DurationVar(&o.Heartbeat, "heartbeat", 5*time.Second, "heartbeat interval")
	cmd.Flags().DurationVar(&o.UntilIdle, "until-idle", 0, "exit when no task arrived for this long (0 = run until stopped)")
	cmd.Flags().IntVar(&o.MaxTasks, "max", 1, "tasks to claim at once (1-10)")
	return cmd
}

func (o *Options) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	return o.caller.Call(ctx, method, params)
}

func workRun(parent context.Context, o *Options) error {
	caller, err := o.Caller()
	if err != nil {
		return err
	}
	o.caller = caller
	client, err := o.Client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := o.call(ctx, "system.register", map[string]any{"id": o.Worker, "roles": []string{"worker"}}); err != nil {
		return fmt.Errorf("register worker %s: %w", o.Worker, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "cb work: %s ready\n", o.Worker)
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := o.call(uctx, "system.unregister", map[string]any{"instanceId": o.Worker}); err != nil {
			fmt.Fprintf(o.IO.ErrOut, "cb work: unregister: %v\n", err)
		}
	}()
	stopHB := every(o.Heartbeat, func(hbCtx context.Context) bool {
		if _, err := o.call(hbCtx, "system.heartbeat", map[string]any{"instanceId": o.Worker}); err != nil && hbCtx.Err() == nil {
			fmt.Fprintf(o.IO.ErrOut, "cb work: heartbeat: %v\n", err)
		}
		return true
	})
	defer stopHB()
	idleSince := time.Now()
	for ctx.Err() == nil {
		raw, err := o.call(ctx, "task.claim", map[string]any{"workerId": o.Worker, "maxTasks": o.MaxTasks})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		var res struct {
			Tasks []json.RawMessage `json:"tasks"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return fmt.Errorf("claim answer: %w", err)
		}
		if len(res.Tasks) == 0 {
			if o.UntilIdle > 0 && time.Since(idleSince) >= o.UntilIdle {
				return nil
			}
			wait := time.Second
			if o.UntilIdle > 0 {
				wait = min(wait, o.UntilIdle-time.Since(idleSince)+10*time.Millisecond)
			}
			waitForTask(ctx, client.Redis(), wait)
			continue
		}
		for _, t := range res.Tasks {
			o.runTask(o.Worker, t, o.Argv)
		}
		idleSince = time.Now()
	}
	return nil
}

// waitForTask blocks until a task is made claimable (a token on the notify
// list) or d passes. It never polls the queue.
func waitForTask(ctx context.Context, rdb redis.UniversalClient, d time.Duration) {
	if d <= 0 {
		return
	}
	bctx, cancel := context.WithTimeout(ctx, d+time.Second)
	defer cancel()
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	_ = rdb.Do(bctx, "BLPOP", protocol.QueueNotifyKey, secs).Err()
}

// runTask runs the command for one task and reports the outcome. The task's
// own context is not the worker's: a stop lets it finish.
func (o *Options) runTask(worker string, task json.RawMessage, argv []string) {
	var t struct {
		ID             string           `json:"id"`
		Text           string           `json:"text"`
		LeaseExpiresAt *time.Time       `json:"leaseExpiresAt"`
		Attachments    []api.Attachment `json:"attachments"`
	}
	_ = json.Unmarshal(task, &t)
	if t.LeaseExpiresAt != nil {
		stopRenew := o.renewWhileRunning(worker, t.ID, time.Until(*t.LeaseExpiresAt))
		defer stopRenew()
	}
	attFile, fileErr := writeAttachments(t.ID, t.Attachments)
	if attFile != "" {
		defer os.Remove(attFile)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(task)
	cmd.Env = append(os.Environ(), "CB_TASK_ID="+t.ID, "CB_TASK_TEXT="+t.Text, "CB_WORKER_ID="+worker,
		"CB_TASK_NOTES="+notes(t.Attachments, maxNotesEnv), "CB_TASK_ATTACHMENTS="+attFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := fileErr
	if runErr == nil {
		runErr = cmd.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if runErr == nil {
		result := json.RawMessage(bytes.TrimSpace(out.Bytes()))
		if len(result) == 0 || !json.Valid(result) {
			result, _ = json.Marshal(strings.TrimSpace(out.String()))
		}
		_, err = o.call(ctx, "task.complete", map[string]any{"id": t.ID, "workerId": worker, "result": result})
		fmt.Fprintf(o.IO.ErrOut, "cb work: %s completed\n", t.ID)
	} else {
		msg := tail(strings.TrimSpace(errb.String()), 2000)
		var ee *exec.ExitError
		if errors.As(runErr, &ee) && msg == "" {
			msg = ee.Error()
		} else if msg == "" {
			msg = runErr.Error()
		}
		_, err = o.call(ctx, "task.fail", map[string]any{"id": t.ID, "workerId": worker, "error": msg})
		fmt.Fprintf(o.IO.ErrOut, "cb work: %s failed: %s\n", t.ID, firstLine(msg))
	}
	if err != nil {
		fmt.Fprintf(o.IO.ErrOut, "cb work: report %s: %v\n", t.ID, err)
	}
}

// maxNotesEnv bounds CB_TASK_NOTES. Linux takes at most 128 KiB per
// environment string (MAX_ARG_STRLEN) and a quarter of the stack limit for
// all arguments and environment together; notes can be 64 of
// tasks.attachment_max_bytes each.
const maxNotesEnv = 32 << 10

// notes is CB_TASK_NOTES: the text of the note attachments, oldest first,
// joined by blank lines, cut to at most limit bytes (at a rune boundary)
// with a marker. NUL bytes, which no environment string can hold, are
// dropped.
func notes(atts []api.Attachment, limit int) string {
	var parts []string
	for _, a := range atts {
		var s string
		if a.Type != api.AttachmentNote || json.Unmarshal(a.Value, &s) != nil || s == "" {
			continue
		}
		parts = append(parts, strings.ReplaceAll(s, "\x00", ""))
	}
	s := strings.Join(parts, "\n\n")
	if len(s) <= limit {
		return s
	}
	mark := fmt.Sprintf("\n[… notes cut at %d of %d bytes: all of them are in $CB_TASK_ATTACHMENTS]", limit, len(s))
	n := max(limit-len(mark), 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// writeAttachments writes CB_TASK_ATTACHMENTS: the attachments of task id
// as a JSON array in a new file only this user can read. The caller
// removes it.
func writeAttachments(id string, atts []api.Attachment) (string, error) {
	if atts == nil {
		atts = []api.Attachment{}
	}
	raw, err := json.Marshal(atts)
	if err != nil {
		return "", fmt.Errorf("cb work: encode the attachments of %s: %w", id, err)
	}
	f, err := os.CreateTemp("", "cb-task-*.json") // mode 0600
	if err != nil {
		return "", fmt.Errorf("cb work: file for the attachments of %s: %w", id, err)
	}
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f.Name(), fmt.Errorf("cb work: write the attachments of %s: %w", id, err)
	}
	return f.Name(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// renewWhileRunning renews the lease of task id every third of lease
// (the time left on it when the command started) until the returned stop
// is called. A renewal refused with conflict means the task is no longer
// this worker's; that is reported once and renewing stops.
func (o *Options) renewWhileRunning(worker, id string, lease time.Duration) (stop func()) {
	return every(max(lease/3, 50*time.Millisecond), func(ctx context.Context) bool {
		_, err := o.call(ctx, "task.renew", map[string]any{"id": id, "workerId": worker})
		switch {
		case err == nil, ctx.Err() != nil:
		case protocol.CodeOf(err) == protocol.CodeConflict:
			fmt.Fprintf(o.IO.ErrOut, "cb work: %s is no longer ours (its lease ran out): %v\n", id, err)
			return false
		default:
			fmt.Fprintf(o.IO.ErrOut, "cb work: renew the lease of %s: %v\n", id, err)
		}
		return true
	})
}

// every runs do every d in a goroutine until do returns false or the
// returned stop is called; stop cancels the ctx do is given and waits for
// the goroutine to end.
func every(d time.Duration, do func(ctx context.Context) bool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick.Every[struct{}](ctx, d, nil, func() {
			// A tick that raced the cancel must not run do on a dead ctx.
			if ctx.Err() == nil && !do(ctx) {
				cancel()
			}
		})
	}()
	return func() { cancel(); <-done }
}
