// Package app assembles the request side of cbd from its dependencies:
// every handler (hook, rule administration, task, system), the registry
// they are served from, the schema validator and the invoke chain with its
// Guard. cbd (daemon.New) and every test that needs cbd's methods build
// them with Build, so both serve the same methods the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/claudebench/cb/daemon/handlers/hookadmin"
	"github.com/claudebench/cb/daemon/handlers/hooks"
	"github.com/claudebench/cb/daemon/handlers/system"
	taskhandlers "github.com/claudebench/cb/daemon/handlers/tasks"
	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/settingsguard"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/daemon/workfeed"
	"github.com/claudebench/cb/schemas/validate"
	"github.com/redis/go-redis/v9"
)

// DefaultTimeout is the handler timeout when Deps.Timeout is zero (the
// default of handlers.timeout).
const DefaultTimeout = 5 * time.Second

// Deps are what Build wires the handlers to. Redis, Store, Tasks and Rules
// are required; the zero value of every other field is what its comment
// says.
type Deps struct {
	Redis redis.UniversalClient
	// RedisMode is "external", "managed" or "embedded" (system.version,
	// system.health).
	RedisMode string
	Store     store.Store
	Tasks     *tasks.Service
	// Rules holds the hook rules the hook handlers decide by and the
	// hooks.* methods administer.
	Rules *hookrules.Rules
	// InstanceID is this cbd's instance id.
	InstanceID string
	// Log receives the chain's errors (nil: discarded).
	Log *slog.Logger

	// Audit, when not nil, records every hook decision (must not block).
	Audit func(store.AuditRecord)
	// TodoSync turns Claude Code's todos into tasks (tasks.todo_sync).
	TodoSync bool
	// WorkFeed configures work feeding (tasks.feed_sessions,
	// tasks.feed_max_blocks; the zero value feeds only sessions opted in
	// with task.work).
	WorkFeed workfeed.Config
	// PromptContext adds the session's in-progress tasks to
	// UserPromptSubmit's context (hook.prompt_tasks_context).
	PromptContext bool
	// FailClosed reports whether a hook type's fail mode is closed (nil:
	// every hook fails open).
	FailClosed func(hookType string) bool
	// DuplicateKeys is hook.duplicate_keys ("": hooks.DuplicateKeysLast).
	DuplicateKeys string
	// HTTPAddr is http.addr: the settings guard counts http hooks to it
	// (besides loopback ones) as ClaudeBench's.
	HTTPAddr string

	// HeartbeatInterval, InstanceTTL and ReclaimAfter are instance.heartbeat,
	// instance.ttl and tasks.reclaim_after, as system.health judges
	// instances by them (zero: the system package's defaults).
	HeartbeatInterval time.Duration
	InstanceTTL       time.Duration
	ReclaimAfter      time.Duration

	// Timeout is the default handler timeout (handlers.timeout; zero:
	// DefaultTimeout).
	Timeout time.Duration
	// Guard, when not nil, enables shared rate limits and circuit breakers
	// with these settings; nil runs every request unguarded.
	Guard *invoke.GuardConfig
	// Overrides, when not nil, adjusts the handlers before they are
	// registered (per-method settings from the configuration).
	Overrides func([]registry.Handler) []registry.Handler
}

// App is cbd's request side, ready to serve.
type App struct {
	Registry  *registry.Registry
	Validator *validate.Validator
	Invoker   *invoke.Invoker
	// Guard is nil when Deps.Guard was.
	Guard *invoke.Guard
}

// Build registers every handler and builds the chain in front of them. It
// fails when a dependency is missing or a handler has no method schema.
func Build(d Deps) (*App, error) {
	if d.Redis == nil || d.Store == nil || d.Tasks == nil || d.Rules == nil {
		return nil, errors.New("app: Redis, Store, Tasks and Rules are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	val, err := validate.New()
	if err != nil {
		return nil, fmt.Errorf("method schemas: %w", err)
	}
	reg := registry.New()
	hookDeps := hooks.Deps{
		Engine: d.Rules.Engine, Audit: d.Audit, InstanceID: d.InstanceID,
		FailClosed: d.FailClosed, DuplicateKeys: d.DuplicateKeys,
		Facts: settingsguard.New(d.Redis, d.HTTPAddr).Facts,
	}
	if d.TodoSync {
		hookDeps.Todos = d.Tasks.SyncTodos
	}
	if d.PromptContext {
		hookDeps.PromptContext = d.Tasks.SessionContext
	}
	feeder := workfeed.New(d.Redis, d.Tasks, d.WorkFeed)
	hookDeps.Feed = feeder.Hook
	var inv *invoke.Invoker // built below, once the registry is complete
	var hs []registry.Handler
	hs = append(hs, hooks.Handlers(hookDeps)...)
	hs = append(hs, hookadmin.Handlers(d.Rules, d.Store)...)
	hs = append(hs, taskhandlers.Handlers(d.Tasks)...)
	hs = append(hs, feeder.Handlers()...)
	hs = append(hs, system.Handlers(system.Deps{
		Redis:             d.Redis,
		RedisMode:         d.RedisMode,
		InstanceID:        d.InstanceID,
		HeartbeatInterval: d.HeartbeatInterval,
		TTL:               d.InstanceTTL,
		ReclaimAfter:      d.ReclaimAfter,
		StoreKind:         d.Store.Kind(),
		StorePing:         d.Store.Ping,
		TaskCounts:        d.Tasks.Counts,
		ReleaseTasks: func(ctx context.Context, instanceID string) (int, error) {
			released, _, err := d.Tasks.Release(ctx, instanceID, time.Time{}, "worker "+instanceID+" unregistered")
			return released, err
		},
		Stats:   func() *invoke.Stats { return inv.Stats() },
		Methods: reg.Events,
	})...)
	if d.Overrides != nil {
		hs = d.Overrides(hs)
	}
	reg.Register(hs...)
	for _, e := range reg.Events() {
		if !val.Has(e) {
			return nil, fmt.Errorf("handler %s has no schema in schemas/methods", e)
		}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	inv = invoke.New(reg, val, timeout, log)
	a := &App{Registry: reg, Validator: val, Invoker: inv}
	if d.Guard != nil {
		a.Guard = invoke.NewGuard(d.Redis, *d.Guard)
		inv.SetGuard(a.Guard)
	}
	return a, nil
}
