// Package redisbatch sends the Redis commands of concurrent callers in
// shared pipelines. cbd runs a Lua script or two for every request; under
// load, dozens of handlers do so at once, and one write and one read for
// all of them costs far less (in system calls on both sides) than one
// round trip each. A lone caller is sent at once: batching adds no waiting.
package redisbatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Batcher pipelines commands. It starts no goroutines: a caller that finds
// fewer than Flushers pipelines in flight sends the queue itself, and hands
// the job to a waiting caller when it is done.
type Batcher struct {
	rdb     redis.UniversalClient
	max     int           // pipelines in flight at once
	timeout time.Duration // bound on one pipeline

	mu     sync.Mutex
	queue  []*op
	active int
}

type op struct {
	cmd  redis.Cmder
	done chan struct{} // closed once cmd has its reply
	lead chan struct{} // receives the flusher's job
	led  bool          // the job was handed to it (guarded by Batcher.mu)
}

// New returns a batcher over rdb with at most flushers pipelines in flight
// (1 when <= 0); each pipeline is bounded by timeout (5s when <= 0).
func New(rdb redis.UniversalClient, flushers int, timeout time.Duration) *Batcher {
	if flushers <= 0 {
		flushers = 1
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Batcher{rdb: rdb, max: flushers, timeout: timeout}
}

// Do sends cmd, in a pipeline with whatever other callers send meanwhile,
// and returns once it has its reply (or its error). It waits at most the
// batcher's timeout plus the time of the pipelines ahead of it.
func (b *Batcher) Do(cmd redis.Cmder) error {
	o := &op{cmd: cmd, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, o)
	lead := b.active < b.max
	if lead {
		b.active++
	}
	b.mu.Unlock()
	for {
		if lead {
			b.flush()
		}
		select {
		case <-o.done:
			// Another flusher may have sent our command after the job was
			// handed to us (the hand-off happens while we are still
			// queued, so its token is already here): pass it on.
			select {
			case <-o.lead:
				b.flush()
			default:
			}
			return cmd.Err()
		case <-o.lead:
			lead = true
		}
	}
}

// flush sends the queue as one pipeline, then hands the job to the first
// caller still queued that has not been given one, or gives it up.
func (b *Batcher) flush() {
	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	if len(batch) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		pipe := b.rdb.Pipeline()
		for _, o := range batch {
			_ = pipe.Process(ctx, o.cmd)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		cancel()
		for _, o := range batch {
			close(o.done)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.queue {
		if !o.led {
			o.led = true
			o.lead <- struct{}{} // buffered; sent once per op
			return
		}
	}
	// Nobody left without a job waiting to start.
	b.active--
}

// RunScript runs sc like sc.Run (EVALSHA, then EVAL when Redis does not
// have the script yet), with the EVALSHA batched.
func (b *Batcher) RunScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	argv := make([]any, 0, 3+len(keys)+len(args))
	argv = append(argv, "evalsha", sc.Hash(), len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	return b.evalSha(ctx, sc, len(keys), append(argv, args...))
}

// RunScriptArgs is RunScript with the numKeys keys (strings) first in
// keysAndArgs: a caller that holds its constant keys in interface values
// passes them without boxing them again on every call.
func (b *Batcher) RunScriptArgs(ctx context.Context, sc *redis.Script, numKeys int, keysAndArgs ...any) *redis.Cmd {
	argv := make([]any, 0, 3+len(keysAndArgs))
	argv = append(argv, "evalsha", sc.Hash(), numKeys)
	return b.evalSha(ctx, sc, numKeys, append(argv, keysAndArgs...))
}

// evalSha sends argv, EVALSHA sha numKeys key... arg..., batched, and runs
// sc by EVAL when Redis does not have it yet.
func (b *Batcher) evalSha(ctx context.Context, sc *redis.Script, numKeys int, argv []any) *redis.Cmd {
	cmd := redis.NewCmd(ctx, argv...)
	if err := b.Do(cmd); err != nil && isNoScript(err) {
		keys := make([]string, numKeys)
		for i := range keys {
			keys[i] = fmt.Sprint(argv[3+i])
		}
		return sc.Eval(ctx, b.rdb, keys, argv[3+numKeys:]...)
	}
	return cmd
}

func isNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "NOSCRIPT")
}
