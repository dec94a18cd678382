package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// ClaimOptions are cb task claim's inputs.
type ClaimOptions struct {
	Options
	// Client is the Redis connection --wait blocks on.
	Client func() (*client.Client, error)
	// Timeout bounds each Redis read besides the blocking wait (--timeout).
	Timeout time.Duration

	Worker      string
	Max         int
	Lease       time.Duration // 0: cbd's tasks.lease
	Wait        bool
	WaitTimeout time.Duration
	Quiet       bool
}

// NewCmdClaim is `cb task claim`.
func NewCmdClaim(f *cmdutil.Factory, runF func(context.Context, *ClaimOptions) error) *cobra.Command {
	opts := &ClaimOptions{Options: newOptions(f), Client: f.Client}
	var lease time.Duration
	cmd := &cobra.Command{
		Use:   "claim",
		Short: "Claim the highest-priority pending task(s) for a worker",
		Long: `Claim the highest-priority pending task(s) for a worker.

Without --wait it returns at once ("no pending task" on stderr, exit 0, when
the queue is empty). With --wait it blocks until a task is queued (it is woken
by cbd, it does not poll), up to --wait-timeout; then it exits with status 6.

Each claimed task is printed with its attachments (cb task attach): the
context whoever queued it or worked on it before left for you.

A claim holds its task for a lease (--lease, else cbd's tasks.lease, 30m by
default): complete or fail it before then, or extend it with cb task renew;
otherwise the task goes back to the queue (cb task get shows the lease).`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, _ []string) error {
		opts.Timeout = f.Flags.Timeout
		var err error
		if opts.Lease, err = leaseFlag(cmd, lease); err != nil {
			return err
		}
		if opts.Wait && opts.WaitTimeout <= 0 {
			return cmdutil.FlagErrorf("--wait-timeout must be positive")
		}
		return nil
	}, runF, claimRun)
	fl := cmd.Flags()
	fl.BoolVar(&opts.Wait, "wait", false, "block until a task can be claimed (up to --wait-timeout)")
	fl.StringVar(&opts.Worker, "worker", "", "worker id to claim for (default $USER@$HOSTNAME)")
	fl.IntVar(&opts.Max, "max", 1, "claim up to this many tasks (1-10)")
	fl.DurationVar(&opts.WaitTimeout, "wait-timeout", 30*time.Second, "how long --wait blocks")
	fl.DurationVar(&lease, "lease", 0, "how long the claim holds the task unless renewed (default: cbd's tasks.lease)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only the claimed tasks' ids, one per line")
	return cmd
}

func claimRun(ctx context.Context, opts *ClaimOptions) error {
	params := api.TaskClaimParams{WorkerID: workerOrDefault(opts.Worker), MaxTasks: opts.Max, LeaseMs: opts.Lease.Milliseconds()}
	if !opts.Wait {
		raw, res, err := opts.claimOnce(ctx, params)
		if err != nil {
			return err
		}
		return opts.printClaim(raw, res)
	}
	raw, res, err := opts.claimWait(ctx, params)
	if err != nil {
		var te *claimTimeout
		if errors.As(err, &te) && opts.Print != nil && !opts.Quiet {
			_ = opts.Print(raw)
		}
		return err
	}
	return opts.printClaim(raw, res)
}

func (o *ClaimOptions) claimOnce(ctx context.Context, params any) (json.RawMessage, api.TaskClaimResult, error) {
	var res api.TaskClaimResult
	raw, err := o.Call(ctx, "task.claim", params)
	if err != nil {
		return nil, res, err
	}
	return raw, res, cmdutil.DecodeResult("task.claim", raw, &res)
}

func (o *ClaimOptions) printClaim(raw json.RawMessage, res api.TaskClaimResult) error {
	w := o.IO.Out
	if len(res.Tasks) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "no pending task")
		if o.Print != nil && !o.Quiet {
			return o.Print(raw)
		}
		return nil
	}
	if o.Quiet {
		for _, t := range res.Tasks {
			if _, err := fmt.Fprintln(w, t.ID); err != nil {
				return err
			}
		}
		return nil
	}
	return o.PrintResult(raw, func(w io.Writer, _ iostreams.ColorScheme) error {
		for _, t := range res.Tasks {
			if _, err := fmt.Fprintf(w, "claimed %s (priority %d): %s\n", t.ID, t.Priority, cmdutil.OneLine(t.Text)); err != nil {
				return err
			}
			if err := renderAttachments(w, t.Attachments, "  ", o.Now()); err != nil {
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
func (o *ClaimOptions) claimWait(ctx context.Context, params any) (json.RawMessage, api.TaskClaimResult, error) {
	deadline := time.Now().Add(o.WaitTimeout)
	for {
		raw, res, err := o.claimOnce(ctx, params)
		if err != nil || len(res.Tasks) > 0 {
			return raw, res, err
		}
		c, err := o.Client()
		if err != nil {
			return raw, res, err
		}
		rdb := c.Redis()
		for {
			remaining := time.Until(deadline)
			if remaining <= 0 {
				return raw, res, cmdutil.Exit(protocol.CodeTimeout.Info().Exit, &claimTimeout{o.WaitTimeout})
			}
			woken, err := blockPop(ctx, rdb, protocol.QueueNotifyKey, remaining)
			if err != nil {
				return raw, res, err
			}
			if !woken {
				continue // the loop above ends it at the deadline
			}
			qctx, cancel := context.WithTimeout(ctx, o.Timeout)
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
		return false, cmdutil.ErrInterrupted
	case r := <-done:
		if r.err != nil {
			return false, &protocol.Error{Code: protocol.CodeUnavailable, Message: "wait for a task: redis: " + r.err.Error()}
		}
		return r.ok, nil
	}
}
