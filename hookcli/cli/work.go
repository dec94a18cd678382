package cli

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

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// workOpts configure `cb work`.
type workOpts struct {
	worker    string
	heartbeat time.Duration
	untilIdle time.Duration
	maxTasks  int
}

func (a *app) workCmd() *cobra.Command {
	o := workOpts{}
	cmd := &cobra.Command{
		Use:   "work [flags] -- COMMAND [ARG...]",
		Short: "Run a worker: claim tasks and run COMMAND for each",
		Long: `Registers a worker instance, heartbeats while it runs, claims tasks as they
arrive (no polling) and runs COMMAND once per task, with the task JSON on
stdin and CB_TASK_ID / CB_TASK_TEXT in the environment. Exit status 0
completes the task with COMMAND's stdout as result (JSON if it parses, else a
string); any other status fails it with the end of stderr. If the worker
dies, its tasks go back to the queue after tasks.reclaim_after. SIGINT or
SIGTERM stops claiming, lets the running task finish, and unregisters.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.work(cmd.Context(), o, args)
		},
	}
	host, _ := os.Hostname()
	cmd.Flags().StringVar(&o.worker, "worker", fmt.Sprintf("worker-%s-%d", host, os.Getpid()), "worker id (registered as an instance with role worker)")
	cmd.Flags().DurationVar(&o.heartbeat, "heartbeat", 5*time.Second, "heartbeat interval")
	cmd.Flags().DurationVar(&o.untilIdle, "until-idle", 0, "exit when no task arrived for this long (0 = run until stopped)")
	cmd.Flags().IntVar(&o.maxTasks, "max", 1, "tasks to claim at once (1-10)")
	return cmd
}

func (a *app) work(parent context.Context, o workOpts, argv []string) error {
	client, err := a.connect()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := a.call(ctx, "system.register", map[string]any{"id": o.worker, "roles": []string{"worker"}}); err != nil {
		return fmt.Errorf("register worker %s: %w", o.worker, err)
	}
	fmt.Fprintf(a.stderr, "cb work: %s ready\n", o.worker)
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := a.call(uctx, "system.unregister", map[string]any{"instanceId": o.worker}); err != nil {
			fmt.Fprintf(a.stderr, "cb work: unregister: %v\n", err)
		}
	}()
	hbDone := make(chan struct{})
	hbCtx, stopHB := context.WithCancel(context.Background())
	defer func() { stopHB(); <-hbDone }()
	go func() {
		defer close(hbDone)
		t := time.NewTicker(o.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				if _, err := a.call(hbCtx, "system.heartbeat", map[string]any{"instanceId": o.worker}); err != nil && hbCtx.Err() == nil {
					fmt.Fprintf(a.stderr, "cb work: heartbeat: %v\n", err)
				}
			}
		}
	}()
	idleSince := time.Now()
	for ctx.Err() == nil {
		raw, err := a.call(ctx, "task.claim", map[string]any{"workerId": o.worker, "maxTasks": o.maxTasks})
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
			if o.untilIdle > 0 && time.Since(idleSince) >= o.untilIdle {
				return nil
			}
			wait := time.Second
			if o.untilIdle > 0 {
				wait = min(wait, o.untilIdle-time.Since(idleSince)+10*time.Millisecond)
			}
			waitForTask(ctx, client.Redis(), wait)
			continue
		}
		for _, t := range res.Tasks {
			a.runTask(o.worker, t, argv)
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
func (a *app) runTask(worker string, task json.RawMessage, argv []string) {
	var t struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(task, &t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(task)
	cmd.Env = append(os.Environ(), "CB_TASK_ID="+t.ID, "CB_TASK_TEXT="+t.Text, "CB_WORKER_ID="+worker)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if runErr == nil {
		result := json.RawMessage(bytes.TrimSpace(out.Bytes()))
		if len(result) == 0 || !json.Valid(result) {
			result, _ = json.Marshal(strings.TrimSpace(out.String()))
		}
		_, err = a.call(ctx, "task.complete", map[string]any{"id": t.ID, "workerId": worker, "result": result})
		fmt.Fprintf(a.stderr, "cb work: %s completed\n", t.ID)
	} else {
		msg := tail(strings.TrimSpace(errb.String()), 2000)
		var ee *exec.ExitError
		if errors.As(runErr, &ee) && msg == "" {
			msg = ee.Error()
		} else if msg == "" {
			msg = runErr.Error()
		}
		_, err = a.call(ctx, "task.fail", map[string]any{"id": t.ID, "workerId": worker, "error": msg})
		fmt.Fprintf(a.stderr, "cb work: %s failed: %s\n", t.ID, firstLine(msg))
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "cb work: report %s: %v\n", t.ID, err)
	}
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
