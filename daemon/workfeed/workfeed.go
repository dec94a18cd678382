// Package workfeed hands Claude Code sessions that opted in as workers
// their next queued task when they would stop. Stop, SubagentStop and
// TeammateIdle are answered with a block whose reason is the task (Claude
// Code then keeps working on it); the task is claimed for the session's
// worker with a lease, and the session completes it with task.complete (an
// MCP tool call, or cb task complete).
//
// Claude Code ends a turn anyway after CLAUDE_CODE_STOP_HOOK_BLOCK_CAP
// consecutive blocks (8), so the feeder counts its blocks in a row per
// worker and, at Config.MaxBlocks, gives an unfinished task back to the
// queue and lets the session stop instead of being overridden with a
// claimed task left behind.
package workfeed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"
)

// Values of tasks.feed_sessions.
const (
	SessionsNone = "none" // only sessions opted in with task.work
	SessionsAll  = "all"  // every session but those opted out
)

// DefaultMaxBlocks is Claude Code's default CLAUDE_CODE_STOP_HOOK_BLOCK_CAP.
const DefaultMaxBlocks = 8

// DefaultOptInTTL is how long task.work's opt-in lasts without ttlMs.
const DefaultOptInTTL = 24 * time.Hour

// stateTTL bounds how long a worker's feed state outlives its last stop.
const stateTTL = 24 * time.Hour

// Config tunes the feeder; the zero value is tasks.feed_sessions none
// with the default block limit.
type Config struct {
	// All is tasks.feed_sessions all: sessions are fed unless opted out.
	All bool
	// MaxBlocks is tasks.feed_max_blocks: 0 means DefaultMaxBlocks, a
	// negative value no limit.
	MaxBlocks int
	// RenewEvery is how often at most a worker's tool calls look for its
	// fed task to renew the lease of (a third of tasks.lease keeps a task
	// that is worked on claimed); 0 means DefaultRenewEvery.
	RenewEvery time.Duration
}

// DefaultRenewEvery is a third of tasks.lease's default (30m).
const DefaultRenewEvery = 10 * time.Minute

// Feeder feeds queued tasks to opted-in sessions.
type Feeder struct {
	rdb   redis.UniversalClient
	tasks *tasks.Service
	cfg   Config
	// looked: feed state key → unix ns before which a tool call of that
	// worker does not look for a task to renew again. Every PostToolUse
	// of every session comes here; a Redis lookup on each would put a
	// round trip on that hook for the few sessions ever fed work.
	looked sync.Map
	stores atomic.Int64
}

// New returns a feeder over the task service svc.
func New(rdb redis.UniversalClient, svc *tasks.Service, cfg Config) *Feeder {
	if cfg.MaxBlocks == 0 {
		cfg.MaxBlocks = DefaultMaxBlocks
	}
	if cfg.RenewEvery <= 0 {
		cfg.RenewEvery = DefaultRenewEvery
	}
	return &Feeder{rdb: rdb, tasks: svc, cfg: cfg}
}

// feedEvents are the Claude Code events that can keep an agent working,
// by hook type (from protocol.HookEvents).
var feedEvents = func() map[string]string {
	m := map[string]string{}
	for _, he := range protocol.HookEvents {
		switch he.ClaudeEvent {
		case "Stop", "SubagentStop", "TeammateIdle":
			m[he.Type] = he.ClaudeEvent
		}
	}
	return m
}()

// renewType is the hook type after each tool call (post_tool): it renews
// the lease of the task a worker was fed, so a task that takes longer than
// tasks.lease stays claimed while the session works on it.
var renewType = func() string {
	he, _ := protocol.LookupClaudeEvent("PostToolUse")
	return he.Type
}()

// maxWorkerID is the schemas' limit on a worker (instance) id.
const maxWorkerID = 200

// WorkerID is the worker a session's fed tasks are claimed for:
// "session:<id>", with "/agent:<agent id>" for one of its subagents and
// "/teammate:<name>" for a teammate. Characters other than letters,
// digits and ._:/@- become "_" (the id is pasted into a shell command in
// the block reason) and an id too long for the schemas is shortened to a
// hash, so it is always a valid workerId.
func WorkerID(sessionID, agentID, teammate string) string {
	id := "session:" + sessionID
	switch {
	case agentID != "":
		id += "/agent:" + agentID
	case teammate != "":
		id += "/teammate:" + teammate
	}
	id = strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/@-", r)) {
			return r
		}
		return '_'
	}, id)
	if len(id) > maxWorkerID {
		sum := sha256.Sum256([]byte(id))
		id = "session:" + hex.EncodeToString(sum[:16])
	}
	return id
}

// Hook is the hook handlers' Feed: for a Stop, SubagentStop or
// TeammateIdle of a session fed work (see FeedsSession) it returns the
// reason to block the stop with, "" for no opinion. After a tool call
// (post_tool) it renews the lease of the task the caller was fed (see
// renew). Any
// other hook type returns "" at once.
func (f *Feeder) Hook(ctx context.Context, eventID, hookType, sessionID string, hook json.RawMessage) (string, error) {
	if sessionID == "" {
		return "", nil
	}
	if hookType == renewType {
		return "", f.renew(ctx, WorkerID(sessionID, gjson.GetBytes(hook, "agent_id").String(), ""))
	}
	event, ok := feedEvents[hookType]
	if !ok {
		return "", nil
	}
	feed, err := f.FeedsSession(ctx, sessionID)
	if err != nil || !feed {
		return "", err
	}
	in := gjson.ParseBytes(hook)
	worker := WorkerID(sessionID, in.Get("agent_id").String(), "")
	if event == "TeammateIdle" {
		worker = WorkerID(sessionID, "", in.Get("teammate_name").String())
	}
	key := protocol.FeedKey(worker)
	st, err := f.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("work feed state of %s: %w", worker, err)
	}
	blocks, _ := strconv.Atoi(st["blocks"])
	// stop_hook_active false: this stop does not follow a block, so the
	// client's count of blocks in a row starts again. TeammateIdle does not
	// say; there a finished task is what starts the count again.
	active := in.Get("stop_hook_active")
	if active.Exists() && !active.Bool() {
		blocks = 0
	}
	var open *api.Task
	if id := st["task"]; id != "" {
		t, err := f.tasks.Get(ctx, id)
		switch {
		case err == nil && t.Status == "in_progress" && t.AssignedTo == worker:
			open = &t
		case err != nil && protocol.CodeOf(err) != protocol.CodeNotFound:
			return "", err
		case !active.Exists():
			blocks = 0
		}
	}
	if f.cfg.MaxBlocks > 0 && blocks >= f.cfg.MaxBlocks {
		// One more block would reach the client's cap: give the task back
		// and let the session stop.
		if open != nil {
			if _, err := f.tasks.Unassign(ctx, eventID+"/feed-release", api.TaskUnassignParams{TaskID: open.ID}); err != nil && protocol.CodeOf(err) != protocol.CodeConflict {
				return "", err
			}
		}
		return "", f.clear(ctx, key)
	}
	if open != nil {
		// Still on it: each stop renews the claim.
		if _, err := f.tasks.Renew(ctx, "", api.TaskRenewParams{ID: open.ID, WorkerID: worker}); err != nil && protocol.CodeOf(err) != protocol.CodeConflict {
			return "", err
		}
		if err := f.save(ctx, key, open.ID, blocks+1); err != nil {
			return "", err
		}
		return reminder(*open, worker), nil
	}
	raw, err := f.tasks.Claim(ctx, eventID+"/feed", api.TaskClaimParams{WorkerID: worker, MaxTasks: 1})
	if err != nil {
		return "", err
	}
	var claimed api.TaskClaimResult
	if err := json.Unmarshal(raw, &claimed); err != nil {
		return "", fmt.Errorf("decode claimed task: %w", err)
	}
	if len(claimed.Tasks) == 0 {
		return "", f.clear(ctx, key) // nothing queued: the session may stop
	}
	t := claimed.Tasks[0]
	if err := f.save(ctx, key, t.ID, blocks+1); err != nil {
		return "", err
	}
	return assignment(t, worker), nil
}

// renew extends the lease of the task worker was fed, if any: one HGET
// per worker every cfg.RenewEvery at most (and after each feed here).
func (f *Feeder) renew(ctx context.Context, worker string) error {
	key := protocol.FeedKey(worker)
	now := time.Now().UnixNano()
	if until, ok := f.looked.Load(key); ok && now < until.(int64) {
		return nil
	}
	f.lookedAt(key, now)
	id, err := f.rdb.HGet(ctx, key, "task").Result()
	switch {
	case errors.Is(err, redis.Nil) || id == "":
		return nil
	case err != nil:
		return fmt.Errorf("work feed state of %s: %w", worker, err)
	}
	_, err = f.tasks.Renew(ctx, "", api.TaskRenewParams{ID: id, WorkerID: worker})
	if c := protocol.CodeOf(err); c == protocol.CodeConflict || c == protocol.CodeNotFound {
		return nil // finished, or no longer its: the next stop sorts it out
	}
	return err
}

// lookedAt notes that worker's feed state (key) was looked at now, and
// now and then forgets the workers whose time has passed.
func (f *Feeder) lookedAt(key string, now int64) {
	f.looked.Store(key, now+int64(f.cfg.RenewEvery))
	if f.stores.Add(1)%1024 == 0 {
		f.looked.Range(func(k, v any) bool {
			if now >= v.(int64) {
				f.looked.CompareAndDelete(k, v)
			}
			return true
		})
	}
}

func (f *Feeder) save(ctx context.Context, key, taskID string, blocks int) error {
	f.looked.Delete(key) // its next tool call renews the task it was just fed
	pipe := f.rdb.TxPipeline()
	pipe.HSet(ctx, key, "task", taskID, "blocks", blocks)
	pipe.Expire(ctx, key, stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("save work feed state: %w", err)
	}
	return nil
}

func (f *Feeder) clear(ctx context.Context, key string) error {
	if err := f.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("clear work feed state: %w", err)
	}
	return nil
}

// FeedsSession reports whether session is fed work: opted in with
// task.work, or tasks.feed_sessions all and not opted out.
func (f *Feeder) FeedsSession(ctx context.Context, sessionID string) (bool, error) {
	mark, err := f.rdb.Get(ctx, protocol.WorkKey(sessionID)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return f.cfg.All, nil
	case err != nil:
		return false, fmt.Errorf("work feed opt-in of %s: %w", sessionID, err)
	}
	return mark == "on", nil
}

// Work is task.work: it opts a session in to work feeding (or out of it)
// for p.TTLMs.
func (f *Feeder) Work(ctx context.Context, p api.TaskWorkParams) (api.TaskWorkResult, error) {
	ttl := DefaultOptInTTL
	if p.TTLMs > 0 {
		ttl = time.Duration(p.TTLMs) * time.Millisecond
	}
	mark := "on"
	if p.Off {
		mark = "off"
	}
	if err := f.rdb.Set(ctx, protocol.WorkKey(p.SessionID), mark, ttl).Err(); err != nil {
		return api.TaskWorkResult{}, fmt.Errorf("work feed opt-in of %s: %w", p.SessionID, err)
	}
	return api.TaskWorkResult{SessionID: p.SessionID, WorkerID: WorkerID(p.SessionID, "", ""), Feed: !p.Off,
		Until: api.TimeOf(time.Now().Add(ttl).UTC())}, nil
}

// Handlers returns task.work.
func (f *Feeder) Handlers() []registry.Handler {
	return []registry.Handler{{
		Event: "task.work", Roles: []string{"tasks"},
		Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.TaskWorkParams
			if err := jsonint.Unmarshal(r.Params, &p); err != nil {
				return nil, &protocol.Error{Code: protocol.CodeInvalidParams, Message: "task.work params: " + err.Error()}
			}
			return f.Work(ctx, p)
		},
	}}
}

// howToFinish tells Claude how to finish task id as worker: one MCP tool
// call, or one command.
func howToFinish(id, worker string) string {
	return fmt.Sprintf("When it is done, complete it: call the MCP tool %s with {\"id\":%q,\"workerId\":%q}, or run\n"+
		"  cb task complete %s --worker %s\n"+
		"If it cannot be done, run: cb task fail %s --worker %s --error \"<why>\"",
		protocol.MCPToolName("task.complete"), id, worker, id, worker, id, worker)
}

// assignment is the block reason that hands t to worker, with the
// task's attachments (task.claim answers with them).
func assignment(t api.Task, worker string) string {
	return handover(fmt.Sprintf("ClaudeBench has work for you before you stop. Task %s (claimed for you as %s):", t.ID, worker), t, worker)
}

// reminder is the block reason when worker stops with t unfinished; it
// repeats the task's context (task.get answers with it), which may have
// grown or left the session's context since.
func reminder(t api.Task, worker string) string {
	return handover(fmt.Sprintf("ClaudeBench task %s is still yours and not completed:", t.ID), t, worker)
}
