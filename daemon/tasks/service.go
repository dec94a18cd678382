// Package tasks is the task system: the priority queue and task state in
// Redis (changed only by the Lua scripts in scripts/tasks, which also emit
// the task.* events), written through to the durable store, with a reaper
// that gives the tasks of dead workers back to the queue.
package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

// Config tunes the service; zero values take the documented defaults.
type Config struct {
	Source       string        // this instance's id, the source of task events
	ReclaimAfter time.Duration // tasks.reclaim_after (45s)
	MaxAttempts  int           // tasks.max_attempts (3)
	Lease        time.Duration // tasks.lease (30m): a claim's default lease
	FinishedTTL  time.Duration // how long finished tasks stay in Redis (7 days)
	IdemTTL      time.Duration // how long a request's answer is remembered (24h)
	// Batch pipelines the task scripts of concurrent requests (nil: one
	// of its own).
	Batch *redisbatch.Batcher
}

// Service runs task operations.
type Service struct {
	rdb     redis.UniversalClient
	store   store.Store
	persist *Persister
	batch   *redisbatch.Batcher
	cfg     Config
	log     *slog.Logger
	ctxBase []byte // the script context without eventId, encoded once

	checkNow chan struct{}                     // wakes RunRepair (see CheckRedis)
	onLoss   []func(ctx context.Context) error // more repairs after Redis lost its data
}

// New builds the service. persist may be nil (no durable store).
func New(rdb redis.UniversalClient, st store.Store, persist *Persister, cfg Config, log *slog.Logger) *Service {
	if cfg.ReclaimAfter <= 0 {
		cfg.ReclaimAfter = 45 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Minute
	}
	if cfg.FinishedTTL <= 0 {
		cfg.FinishedTTL = 7 * 24 * time.Hour
	}
	if cfg.IdemTTL <= 0 {
		cfg.IdemTTL = 24 * time.Hour
	}
	base, _ := json.Marshal(map[string]any{ // strings and ints only
		// Prefixes of the run-time keys only: every other key is passed
		// in KEYS (see scripts/tasks/lib.lua).
		"task":     protocol.TaskKey(""),
		"assigned": protocol.AssignedKey(""),
		"leaseMs":  cfg.Lease.Milliseconds(),
		"field":    protocol.StreamField,
		"source":   cfg.Source,
		"idemTtl":  int(cfg.IdemTTL / time.Second),
	})
	batch := cfg.Batch
	if batch == nil {
		batch = redisbatch.New(rdb, 2, 0)
	}
	return &Service{rdb: rdb, store: st, persist: persist, batch: batch, cfg: cfg, log: log, ctxBase: base,
		checkNow: make(chan struct{}, 1)}
}

// scriptCtx is ARGV[1] of every task script (see scripts/tasks/lib.lua).
func (s *Service) scriptCtx(eventID string) string {
	id, _ := json.Marshal(eventID)
	b := append(append([]byte{}, s.ctxBase[:len(s.ctxBase)-1]...), `,"eventId":`...)
	return string(append(append(b, id...), '}'))
}

type scriptReply struct {
	OK  json.RawMessage `json:"ok"`
	Err *protocol.Error `json:"err"`
}

// run executes a task script with keys (its KEYS, in the order of its
// header; see keys.go) and returns its "ok" value.
func (s *Service) run(ctx context.Context, sc *redis.Script, eventID string, keys []any, args ...any) (json.RawMessage, error) {
	argv := make([]any, 0, len(keys)+1+len(args))
	argv = append(append(append(argv, keys...), s.scriptCtx(eventID)), args...)
	raw, err := s.batch.RunScriptArgs(ctx, sc, len(keys), argv...).Text()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	// The scripts return '{"ok":' .. value .. '}' (lib.lua's ok): take the
	// value without decoding it (every answer is validated further on).
	if ok, found := strings.CutPrefix(raw, `{"ok":`); found && strings.HasSuffix(ok, "}") {
		return json.RawMessage(ok[:len(ok)-1]), nil
	}
	var r scriptReply
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("task script reply %q: %w", raw, err)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return r.OK, nil
}

// saved decodes a task answer and writes it through to the store before
// returning it, so an acknowledged change is durable.
func (s *Service) saved(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var t store.Task
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	if err := s.persist.Save(ctx, t); err != nil {
		return nil, err
	}
	return raw, nil
}

// CreateParams are task.create's params.
type CreateParams struct {
	Text     string          `json:"text"`
	Priority *int            `json:"priority"`
	Metadata json.RawMessage `json:"metadata"`
}

// Create makes a pending task. A request id seen before returns the task
// it created then.
func (s *Service) Create(ctx context.Context, eventID string, p CreateParams) (json.RawMessage, error) {
	prio := 50
	if p.Priority != nil {
		prio = *p.Priority
	}
	meta := ""
	if len(p.Metadata) > 0 && string(p.Metadata) != "null" {
		meta = string(p.Metadata)
	}
	keys := createKeys(eventID)
	raw, err := s.run(ctx, redisscript.TaskCreate(), eventID, keys[:], p.Text, prio, meta)
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Claim gives a worker up to max of the highest-priority pending tasks,
// each with a lease of lease (0: tasks.lease).
func (s *Service) Claim(ctx context.Context, eventID, worker string, max int, lease time.Duration) (json.RawMessage, error) {
	keys := claimKeys(eventID, worker)
	raw, err := s.run(ctx, redisscript.TaskClaim(), eventID, keys[:], worker, max, leaseArg(lease))
	if err != nil {
		return nil, err
	}
	var res struct {
		Tasks []store.Task `json:"tasks"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("decode claimed tasks: %w", err)
	}
	if err := s.persist.Save(ctx, res.Tasks...); err != nil {
		return nil, err
	}
	return raw, nil
}

// Finish completes (status "completed", detail = result JSON or "") or fails
// (status "failed", detail = error text) an in-progress task.
func (s *Service) Finish(ctx context.Context, eventID, id, worker, status, detail string) (json.RawMessage, error) {
	keys := finishKeys(eventID, id, worker, status)
	raw, err := s.run(ctx, redisscript.TaskFinish(), eventID, keys[:], id, worker, status, detail, int(s.cfg.FinishedTTL/time.Second))
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Renew extends the lease of an in-progress task to lease from now (0:
// tasks.lease); worker "" is not checked. The lease lives in Redis only, so
// nothing is written to the store.
func (s *Service) Renew(ctx context.Context, eventID, id, worker string, lease time.Duration) (json.RawMessage, error) {
	keys := renewKeys(eventID, id)
	return s.run(ctx, redisscript.TaskRenew(), eventID, keys[:], id, worker, leaseArg(lease))
}

// leaseArg is a lease as the scripts take it: ms, or "" for the default.
func leaseArg(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// Update changes a task; updates is task.update's "updates" object.
func (s *Service) Update(ctx context.Context, eventID, id string, updates json.RawMessage) (json.RawMessage, error) {
	keys := updateKeys(eventID, id)
	raw, err := s.run(ctx, redisscript.TaskUpdate(), eventID, keys[:], id, string(updates))
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Assign gives a pending task to a live instance; instance "" unassigns.
func (s *Service) Assign(ctx context.Context, eventID, id, instance string) (json.RawMessage, error) {
	keys := assignKeys(eventID, id, instance)
	raw, err := s.run(ctx, redisscript.TaskAssign(), eventID, keys[:], id, instance)
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Delete removes a task from Redis and the store.
func (s *Service) Delete(ctx context.Context, eventID, id string) error {
	keys := deleteKeys(eventID, id)
	_, rerr := s.run(ctx, redisscript.TaskDelete(), eventID, keys[:], id)
	if rerr != nil && protocol.CodeOf(rerr) != protocol.CodeNotFound {
		return rerr
	}
	serr := s.store.TaskDelete(ctx, id)
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, store.ErrNotFound) && rerr == nil:
		return nil // it was only in Redis so far
	case errors.Is(serr, store.ErrNotFound):
		return rerr
	default:
		return fmt.Errorf("delete task %s: %w", id, serr)
	}
}

// Get returns a task from Redis, or from the store once Redis let it go.
func (s *Service) Get(ctx context.Context, id string) (store.Task, error) {
	h, err := s.rdb.HGetAll(ctx, protocol.TaskKey(id)).Result()
	if err != nil {
		return store.Task{}, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	if len(h) > 0 {
		return fromHash(h)
	}
	t, err := s.store.TaskGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Task{}, protocol.Errorf(protocol.CodeNotFound, "task %s not found", id)
	}
	return t, err
}

// fromHash decodes a task hash written by the task scripts.
func fromHash(h map[string]string) (store.Task, error) {
	atoi := func(k string) int { n, _ := strconv.Atoi(h[k]); return n }
	t := store.Task{ID: h["id"], Text: h["text"], Status: h["status"], Priority: atoi("priority"),
		AssignedTo: h["assignedTo"], Attempts: atoi("attempts"), Error: h["error"]}
	t.Version, _ = strconv.ParseInt(h["version"], 10, 64)
	if ms, err := strconv.ParseInt(h["leaseUntil"], 10, 64); err == nil && t.Status == store.StatusInProgress {
		at := time.UnixMilli(ms).UTC()
		t.LeaseExpiresAt = &at
	}
	if v := h["metadata"]; v != "" {
		t.Metadata = json.RawMessage(v)
	}
	if v := h["result"]; v != "" {
		t.Result = json.RawMessage(v)
	}
	var err error
	if t.CreatedAt, err = time.Parse(time.RFC3339Nano, h["createdAt"]); err != nil {
		return t, fmt.Errorf("task %s createdAt: %w", t.ID, err)
	}
	if t.UpdatedAt, err = time.Parse(time.RFC3339Nano, h["updatedAt"]); err != nil {
		return t, fmt.Errorf("task %s updatedAt: %w", t.ID, err)
	}
	return t, nil
}

// List reads tasks from the store after this instance's pending writes.
func (s *Service) List(ctx context.Context, p store.TaskListParams) (store.TaskListResult, error) {
	if err := s.persist.Flush(ctx); err != nil {
		return store.TaskListResult{}, err
	}
	return s.store.TaskList(ctx, p)
}

// Counts returns the number of tasks by status (from the store).
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	if err := s.persist.Flush(ctx); err != nil {
		return nil, err
	}
	return s.store.TaskCountByStatus(ctx)
}

// QueueDepth is the number of pending tasks in the queue.
func (s *Service) QueueDepth(ctx context.Context) (int64, error) {
	return s.rdb.ZCard(ctx, protocol.QueueTasksKey).Result()
}

// Release gives the in-progress tasks of worker back to the queue (or fails
// those out of attempts). cutoff > 0 releases only if the worker's last
// heartbeat is not after it.
func (s *Service) Release(ctx context.Context, worker string, cutoff time.Time, reason string) (released, failed int, err error) {
	cut := ""
	if !cutoff.IsZero() {
		cut = strconv.FormatInt(cutoff.UnixMilli(), 10)
	}
	keys := releaseKeys(worker)
	raw, err := s.run(ctx, redisscript.TaskRelease(), "", keys[:], worker, cut, s.cfg.MaxAttempts, reason)
	if err != nil {
		return 0, 0, err
	}
	var r struct{ Released, Failed int }
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, 0, fmt.Errorf("decode release: %w", err)
	}
	if r.Released+r.Failed > 0 {
		if err := s.syncAssigned(ctx, worker); err != nil {
			return r.Released, r.Failed, err
		}
	}
	return r.Released, r.Failed, nil
}

// syncAssigned writes to the store the tasks a release changed: those that
// the store still shows in progress for worker.
func (s *Service) syncAssigned(ctx context.Context, worker string) error {
	if err := s.persist.Flush(ctx); err != nil {
		return err
	}
	res, err := s.store.TaskList(ctx, store.TaskListParams{Status: store.StatusInProgress, AssignedTo: worker, Limit: store.MaxTaskListLimit})
	if err != nil {
		return fmt.Errorf("tasks of %s: %w", worker, err)
	}
	var changed []store.Task
	for _, st := range res.Tasks {
		t, err := s.Get(ctx, st.ID)
		if err != nil {
			continue
		}
		if t.Version > st.Version {
			changed = append(changed, t)
		}
	}
	return s.persist.Save(ctx, changed...)
}
