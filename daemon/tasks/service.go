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
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
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
	// AttachmentMaxBytes caps an attachment's value, in bytes of compact
	// JSON (tasks.attachment_max_bytes, 65536).
	AttachmentMaxBytes int
	// MaxAttachments caps the attachments of one task
	// (tasks.max_attachments, 64).
	MaxAttachments int
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

	// indexed is set once the task event types are in the index of
	// streams (registerStreams); Restore indexes them again after Redis
	// lost its data.
	indexed atomic.Bool

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
	if cfg.AttachmentMaxBytes <= 0 {
		cfg.AttachmentMaxBytes = 65536
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = 64
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
	if !s.indexed.Load() {
		if err := s.registerStreams(ctx); err != nil {
			return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
		}
	}
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

// registerStreams adds the task event types to the index of streams
// (cb:streams) before a script can append to one: once per process, and
// again by Restore after Redis lost its data. The scripts do not SADD
// themselves, which would add a key to each.
func (s *Service) registerStreams(ctx context.Context) error {
	if err := streams.Register(ctx, s.rdb, eventTypes...); err != nil {
		return err
	}
	s.indexed.Store(true)
	return nil
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

// The task operations take the id of the request they serve (eventID: a
// request id seen before returns the answer it got then; "" is never
// remembered) and the method's params, and answer with the task JSON the
// scripts built, unchanged: it is an api.Task (see TestScriptTaskJSON in
// daemon/handlers/tasks).

// Create makes a pending task.
func (s *Service) Create(ctx context.Context, eventID string, p api.TaskCreateParams) (json.RawMessage, error) {
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

// Claim gives a worker up to p.MaxTasks (0: 1) of the highest-priority
// pending tasks, each with a lease of p.LeaseMs (0: tasks.lease), and
// with its attachments. The answer is an api.TaskClaimResult.
func (s *Service) Claim(ctx context.Context, eventID string, p api.TaskClaimParams) (json.RawMessage, error) {
	maxTasks := p.MaxTasks
	if maxTasks == 0 {
		maxTasks = 1
	}
	keys := claimKeys(eventID, p.WorkerID)
	raw, err := s.run(ctx, redisscript.TaskClaim(), eventID, keys[:], p.WorkerID, maxTasks, leaseArg(p.LeaseMs))
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
	if len(res.Tasks) == 0 {
		return raw, nil
	}
	// The attachments are read after the script (a replayed claim reads
	// them again): a worker starts with the task's context as it is now.
	claimed := api.TaskClaimResult{Tasks: make([]api.Task, len(res.Tasks))}
	for i, t := range res.Tasks {
		claimed.Tasks[i] = t.Task
	}
	if err := s.withAttachments(ctx, claimed.Tasks); err != nil {
		return nil, err
	}
	for _, t := range claimed.Tasks {
		if len(t.Attachments) > 0 {
			return json.Marshal(claimed)
		}
	}
	return raw, nil
}

// Complete completes an in-progress task with p.Result, which it also
// keeps as the task's attachment api.ResultAttachmentKey (type result)
// unless it is empty or over a cap; p.WorkerID "" is not checked.
func (s *Service) Complete(ctx context.Context, eventID string, p api.TaskCompleteParams) (json.RawMessage, error) {
	return s.finish(ctx, eventID, outcome{id: p.ID, worker: p.WorkerID, status: store.StatusCompleted, detail: string(p.Result)})
}

// Fail fails an in-progress task with p.Error; p.WorkerID "" is not
// checked.
func (s *Service) Fail(ctx context.Context, eventID string, p api.TaskFailParams) (json.RawMessage, error) {
	return s.finish(ctx, eventID, outcome{id: p.ID, worker: p.WorkerID, status: store.StatusFailed, detail: p.Error})
}

// outcome is how a task ends: status completed with detail the result JSON
// (or ""), or failed with detail the error text.
type outcome struct {
	id, worker, status, detail string
}

func (s *Service) finish(ctx context.Context, eventID string, o outcome) (json.RawMessage, error) {
	keys := finishKeys(eventID, o.id, o.worker, o.status)
	raw, err := s.run(ctx, redisscript.TaskFinish(), eventID, keys[:], o.id, o.worker, o.status, o.detail, int(s.cfg.FinishedTTL/time.Second))
	if err != nil {
		return nil, err
	}
	if raw, err = s.saved(ctx, raw); err != nil {
		return nil, err
	}
	if o.status == store.StatusCompleted {
		if err := s.keepResult(ctx, o.id, o.worker, o.detail); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// Renew extends the lease of an in-progress task to p.LeaseMs from now (0:
// tasks.lease); p.WorkerID "" is not checked. The lease lives in Redis
// only, so nothing is written to the store.
func (s *Service) Renew(ctx context.Context, eventID string, p api.TaskRenewParams) (json.RawMessage, error) {
	keys := renewKeys(eventID, p.ID)
	return s.run(ctx, redisscript.TaskRenew(), eventID, keys[:], p.ID, p.WorkerID, leaseArg(p.LeaseMs))
}

// leaseArg is a lease in ms as the scripts take it: "" for the default.
func leaseArg(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return strconv.FormatInt(ms, 10)
}

// Update changes a task.
func (s *Service) Update(ctx context.Context, eventID string, p api.TaskUpdateParams) (json.RawMessage, error) {
	updates, err := json.Marshal(p.Updates)
	if err != nil {
		return nil, fmt.Errorf("task %s: encode updates: %w", p.ID, err)
	}
	keys := updateKeys(eventID, p.ID)
	raw, err := s.run(ctx, redisscript.TaskUpdate(), eventID, keys[:], p.ID, string(updates))
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Assign gives a pending task to a live instance.
func (s *Service) Assign(ctx context.Context, eventID string, p api.TaskAssignParams) (json.RawMessage, error) {
	return s.assign(ctx, eventID, p.TaskID, p.InstanceID)
}

// Unassign puts an assigned task back in the queue.
func (s *Service) Unassign(ctx context.Context, eventID string, p api.TaskUnassignParams) (json.RawMessage, error) {
	return s.assign(ctx, eventID, p.TaskID, "")
}

// assign gives task id to instance ("": back to the queue).
func (s *Service) assign(ctx context.Context, eventID, id, instance string) (json.RawMessage, error) {
	keys := assignKeys(eventID, id, instance)
	raw, err := s.run(ctx, redisscript.TaskAssign(), eventID, keys[:], id, instance)
	if err != nil {
		return nil, err
	}
	return s.saved(ctx, raw)
}

// Delete removes a task from Redis and the store.
func (s *Service) Delete(ctx context.Context, eventID string, p api.TaskDeleteParams) error {
	id := p.ID
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

// Get returns a task from Redis, or from the store once Redis let it go,
// with its attachments.
func (s *Service) Get(ctx context.Context, id string) (api.Task, error) {
	t, err := s.load(ctx, id)
	if err != nil {
		return api.Task{}, err
	}
	one := []api.Task{t}
	if err := s.withAttachments(ctx, one); err != nil {
		return api.Task{}, err
	}
	return one[0], nil
}

// load returns a task from Redis, or from the store once Redis let it go.
func (s *Service) load(ctx context.Context, id string) (api.Task, error) {
	h, err := s.rdb.HGetAll(ctx, protocol.TaskKey(id)).Result()
	if err != nil {
		return api.Task{}, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	if len(h) > 0 {
		return fromHash(h)
	}
	t, err := s.store.TaskGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Task{}, protocol.Errorf(protocol.CodeNotFound, "task %s not found", id)
	}
	return t.Task, err
}

// fromHash decodes a task hash written by the task scripts.
func fromHash(h map[string]string) (api.Task, error) {
	atoi := func(k string) int { n, _ := strconv.Atoi(h[k]); return n }
	t := api.Task{ID: h["id"], Text: h["text"], Status: h["status"], Priority: atoi("priority"),
		AssignedTo: h["assignedTo"], Attempts: atoi("attempts"), Error: h["error"]}
	t.Version, _ = strconv.ParseInt(h["version"], 10, 64)
	if ms, err := strconv.ParseInt(h["leaseUntil"], 10, 64); err == nil && t.Status == store.StatusInProgress {
		at := api.TimeOf(time.UnixMilli(ms).UTC())
		t.LeaseExpiresAt = &at
	}
	if v := h["metadata"]; v != "" {
		t.Metadata = json.RawMessage(v)
	}
	if v := h["result"]; v != "" {
		t.Result = json.RawMessage(v)
	}
	var err error
	if t.CreatedAt.Time, err = time.Parse(time.RFC3339Nano, h["createdAt"]); err != nil {
		return t, fmt.Errorf("task %s createdAt: %w", t.ID, err)
	}
	if t.UpdatedAt.Time, err = time.Parse(time.RFC3339Nano, h["updatedAt"]); err != nil {
		return t, fmt.Errorf("task %s updatedAt: %w", t.ID, err)
	}
	return t, nil
}

// List reads tasks from the store after this instance's pending writes.
func (s *Service) List(ctx context.Context, p api.TaskListParams) (api.TaskListResult, error) {
	if err := s.persist.Flush(ctx); err != nil {
		return api.TaskListResult{}, err
	}
	res, err := s.store.TaskList(ctx, p)
	if err != nil {
		return api.TaskListResult{}, err
	}
	out := api.TaskListResult{
		Tasks:          make([]api.Task, len(res.Tasks)),
		TotalCount:     res.TotalCount,
		TotalEstimated: res.TotalEstimated,
		HasMore:        res.HasMore,
		NextCursor:     res.NextCursor,
	}
	for i, t := range res.Tasks {
		out.Tasks[i] = t.Task
	}
	return out, nil
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
		t, err := s.load(ctx, st.ID)
		if err != nil {
			continue
		}
		if t.Version > st.Version {
			changed = append(changed, store.Task{Task: t})
		}
	}
	return s.persist.Save(ctx, changed...)
}
