// Package daemon is cbd. New checks the configuration and takes what cbd
// needs (the runtime dir's lock, Redis, the store, the HTTP port) without
// running anything; Run starts its services in order (daemon/lifecycle) and
// stops them in reverse when told to stop.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/audit"
	"github.com/claudebench/cb/daemon/config"
	"github.com/claudebench/cb/daemon/dispatch"
	"github.com/claudebench/cb/daemon/handlers/hooks"
	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/httpapi"
	"github.com/claudebench/cb/daemon/instance"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/lifecycle"
	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/daemon/redisserver"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/retention"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/daemon/web"
	"github.com/claudebench/cb/daemon/workfeed"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Daemon is one running cbd.
type Daemon struct {
	cfg   *config.Config
	log   *slog.Logger
	lock  *lifecycle.Lock // nil when this cbd joined another one's Redis
	redis *redisserver.Server
	rdb   *redis.Client
	reg   *registry.Registry
	inst  *instance.Instance
	disp  *dispatch.Dispatcher
	store store.Store
	pers  *tasks.Persister
	ret   *retention.Service
	tasks *tasks.Service
	rules *hookrules.Rules
	audit *audit.Writer
	http  *httpapi.Server
	stats *invoke.Stats
	// mcpQueue tells /mcp clients subscribed to cb://queue that it
	// changed; nil without HTTP.
	mcpQueue *mcpserver.QueueWatch
}

// New prepares a daemon without starting anything another process could
// see: it validates the configuration, takes the runtime dir's lock (or
// decides to join the cbd holding it), picks Redis, opens the store, builds
// the registry and binds the HTTP listener. A failure here leaves nothing
// behind. Run starts the services; Close releases what New took.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (d *Daemon, err error) {
	d = &Daemon{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	defaults, user, err := ruleSources(cfg)
	if err != nil {
		return d, err
	}
	feedSessions := cfg.Tasks.FeedSessions
	if feedSessions != workfeed.SessionsNone && feedSessions != workfeed.SessionsAll {
		return d, fmt.Errorf("config tasks.feed_sessions: %q is neither %s nor %s", feedSessions, workfeed.SessionsNone, workfeed.SessionsAll)
	}
	feedMaxBlocks := cfg.Tasks.FeedMaxBlocks
	if feedMaxBlocks <= 0 {
		feedMaxBlocks = -1 // no limit
	}
	dupKeys := cfg.Hook.DuplicateKeys
	if dupKeys != hooks.DuplicateKeysLast && dupKeys != hooks.DuplicateKeysRefuse {
		return d, fmt.Errorf("config hook.duplicate_keys: %q is neither %s nor %s", dupKeys, hooks.DuplicateKeysLast, hooks.DuplicateKeysRefuse)
	}
	id := cfg.Instance.ID
	ownID := id != ""
	if id == "" {
		if id, err = os.Hostname(); err != nil || id == "" {
			id = "cbd"
		}
	}
	ropts := redisserver.Options{
		URL: cfg.Redis.URL, Mode: cfg.Redis.Mode,
		ServerPath: cfg.Redis.Server, Dirs: cfg.Dirs, Log: log,
	}
	if d.lock, err = lifecycle.Acquire(cfg.Dirs.Runtime, id); err == nil {
		ropts.Owner = true
	} else {
		var locked *lifecycle.LockedError
		if !errors.As(err, &locked) {
			return d, err
		}
		if !ownID || locked.Owner.InstanceID == id {
			return d, fmt.Errorf("%w; stop it first, or give this cbd its own instance.id (and http.addr) to run it as another instance on the same Redis", locked)
		}
		if st, serr := os.Stat(filepath.Join(cfg.Dirs.Runtime, lifecycle.LockFile)); serr == nil {
			ropts.OwnerSince = st.ModTime()
		}
		log.Info("another cbd runs for this runtime dir; joining its Redis as another instance",
			"pid", locked.Owner.PID, "its_instance", locked.Owner.InstanceID, "instance", id)
	}
	if d.redis, err = redisserver.Prepare(ctx, ropts); err != nil {
		return d, err
	}
	srv := d.redis
	if d.rdb, err = client.OpenRedis(srv.URL, client.RedisTuning{PoolSize: cfg.Dispatch.Concurrency + 16}); err != nil {
		return d, err
	}
	d.rules = hookrules.New(d.rdb, defaults, user, cfg.Hook.DisabledRules, log)
	storePath := filepath.Join(cfg.Dirs.Data, "claudebench.db")
	if d.store, err = store.Open(ctx, cfg.Store.URL, storePath); err != nil {
		return d, fmt.Errorf("open store: %w", err)
	}
	d.pers = tasks.NewPersister(d.store, log)
	d.ret = retention.New(d.store, retention.Config{
		Tasks: cfg.Tasks.HistoryRetention,
		Audit: cfg.Audit.Retention,
	}, log)
	// One batcher for the scripts every request runs (admission, task
	// changes), so concurrent requests share pipelines.
	batch := redisbatch.New(d.rdb, 2, 0)
	d.tasks = tasks.New(d.rdb, d.store, d.pers, tasks.Config{
		Source:       id,
		ReclaimAfter: cfg.Tasks.ReclaimAfter,
		MaxAttempts:  cfg.Tasks.MaxAttempts,
		Lease:        cfg.Tasks.Lease,
		Batch:        batch,

		AttachmentMaxBytes: cfg.Tasks.AttachmentMaxBytes,
		MaxAttachments:     cfg.Tasks.MaxAttachments,
	}, log)
	var auditRecord func(store.AuditRecord)
	if cfg.Hook.Audit {
		d.audit = audit.NewWriter(d.store, d.rdb, id, 4096, log)
		auditRecord = d.audit.Record
	}
	built, err := app.Build(app.Deps{
		Redis:             d.rdb,
		RedisMode:         srv.Mode,
		Store:             d.store,
		Tasks:             d.tasks,
		Rules:             d.rules,
		InstanceID:        id,
		Log:               log,
		Audit:             auditRecord,
		TodoSync:          cfg.Tasks.TodoSync,
		PromptContext:     cfg.Hook.PromptTasksContext,
		WorkFeed:          workfeed.Config{All: feedSessions == workfeed.SessionsAll, MaxBlocks: feedMaxBlocks, RenewEvery: cfg.Tasks.Lease / 3},
		FailClosed:        func(hookType string) bool { return cfg.FailMode(hookType) == "closed" },
		DuplicateKeys:     dupKeys,
		HTTPAddr:          cfg.HTTP.Addr,
		HeartbeatInterval: cfg.Instance.Heartbeat,
		InstanceTTL:       cfg.Instance.TTL,
		ReclaimAfter:      cfg.Tasks.ReclaimAfter,
		Timeout:           cfg.Handlers.Timeout,
		Guard: &invoke.GuardConfig{
			RateLimit: cfg.Handlers.RateLimit,
			Failures:  cfg.Handlers.CircuitFailures,
			Window:    cfg.Handlers.CircuitWindow,
			OpenFor:   cfg.Handlers.CircuitOpenFor,
			Probes:    cfg.Handlers.CircuitProbes,
			Recheck:   cfg.Handlers.CircuitRecheck,
			Batch:     batch,
		},
		Overrides: func(hs []registry.Handler) []registry.Handler { return applyOverrides(cfg, hs) },
	})
	if err != nil {
		return d, err
	}
	d.reg = built.Registry
	inv, guard := built.Invoker, built.Guard
	d.stats = inv.Stats()
	if cfg.HTTP.Enabled {
		if d.http, err = newHTTP(cfg, inv, d, id, log); err != nil {
			return d, err
		}
		// Bound now: a taken port fails the start before anything runs.
		if err := d.http.Listen(ctx); err != nil {
			return d, err
		}
	}
	roles := cfg.Instance.Roles
	served := d.reg.ServedBy(roles)
	d.inst = instance.New(d.rdb, id, roles, served, cfg.Instance.TTL, cfg.Instance.Heartbeat, protocol.Version, log)
	d.inst.Lease = cfg.Instance.Lease
	// Callers check a request's rate limit as they append it (call.lua):
	// every heartbeat publishes the limits of the methods served here.
	d.inst.Limits = map[string]int{}
	for _, m := range served {
		if h, ok := d.reg.Lookup(m); ok {
			d.inst.Limits[m] = guard.Limit(h)
		}
	}
	d.disp = dispatch.New(d.rdb, inv, served, dispatch.Config{
		Consumer:    d.inst.Member(), // per process: see dispatch.consumerAlive
		OnNoGroup:   d.tasks.CheckRedis,
		Concurrency: cfg.Dispatch.Concurrency,
		Batch:       cfg.Dispatch.Batch,
		Block:       cfg.Dispatch.Block,
		ResponseTTL: cfg.Dispatch.ResponseTTL,
		MaxPayload:  cfg.Events.MaxPayloadBytes,
		Recover: dispatch.RecoverConfig{
			ClaimIdle:     cfg.Dispatch.ClaimIdle,
			MaxDeliveries: int64(cfg.Dispatch.MaxDeliveries),
			Retention:     cfg.Events.Retention,
		},
	}, log)
	return d, nil
}

// newHTTP builds the HTTP side: JSON-RPC, WebSocket, metrics, Claude Code
// http hooks, MCP at /mcp (token always required) and the dashboard at /
// (shown after a login through `cb dashboard`).
func newHTTP(cfg *config.Config, inv *invoke.Invoker, d *Daemon, id string, log *slog.Logger) (*httpapi.Server, error) {
	token, err := apitoken.LoadOrCreate(apitoken.File(cfg.HTTP.TokenFile, cfg.Dirs.Config))
	if err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	d.mcpQueue = mcpserver.NewQueueWatch(d.rdb, log)
	mcpSrv, err := mcpserver.NewWithOptions(inv, protocol.Version, log, mcpserver.Options{Queue: d.mcpQueue})
	if err != nil {
		return nil, fmt.Errorf("mcp server: %w", err)
	}
	return httpapi.New(httpapi.Options{
		Addr:         cfg.HTTP.Addr,
		Invoker:      inv,
		Registry:     d.reg,
		Redis:        d.rdb,
		Token:        token,
		AllowedHosts: cfg.HTTP.AllowedHosts,
		CORSOrigins:  cfg.HTTP.CORSOrigins,
		MaxBody:      int64(cfg.HTTP.MaxBodyBytes),
		MaxHookBody:  int64(cfg.Hook.MaxInputBytes),
		WSMaxMessage: int64(cfg.HTTP.WSMaxMessageBytes),
		Log:          log,
		InstanceID:   id,
		Health:       d.health,
		Stats:        inv.Stats(),
		Collectors:   []prometheus.Collector{d.ret},
		Gauges: func(ctx context.Context) (httpapi.Gauges, error) {
			depth, err := d.tasks.QueueDepth(ctx)
			if err != nil {
				return httpapi.Gauges{}, err
			}
			counts, err := d.tasks.Counts(ctx)
			if err != nil {
				return httpapi.Gauges{}, err
			}
			live, err := d.rdb.ZCount(ctx, protocol.InstancesKey,
				strconv.FormatInt(time.Now().Add(-cfg.Instance.TTL).UnixMilli(), 10), "+inf").Result()
			g := httpapi.Gauges{QueueDepth: depth, TasksByStatus: counts, Instances: int(live)}
			if d.audit != nil {
				g.AuditDropped = d.audit.Dropped()
			}
			return g, err
		},
		Mounts: []httpapi.Mount{
			{Pattern: "/mcp", Handler: mcpserver.Handler(mcpSrv), RequireToken: true},
			{Pattern: "/", Handler: web.Handler(func(r *http.Request) bool { return httpapi.Authenticated(r.Context()) }), Browser: true},
		},
	})
}

// applyOverrides applies per-method settings:
// handlers.<method with _ for .>.{rate_limit,circuit_failures,timeout}.
func applyOverrides(cfg *config.Config, hs []registry.Handler) []registry.Handler {
	for i := range hs {
		o := cfg.HandlerOverride(hs[i].Event)
		if o.RateLimit != nil {
			if *o.RateLimit == 0 {
				hs[i].RateLimit = -1 // 0 in config means "no limit"
			} else {
				hs[i].RateLimit = *o.RateLimit
			}
		}
		if o.CircuitFailures != nil {
			hs[i].CircuitFailures = *o.CircuitFailures
		}
		if o.Timeout != nil {
			hs[i].Timeout = *o.Timeout
		}
	}
	return hs
}

// ruleSources returns the shipped defaults (unless turned off) and the
// user's rules: hook.rules in the config file, then rules.yaml in the config
// dir (a YAML list), checking that together they compile.
func ruleSources(cfg *config.Config) (defaults, user []policy.Rule, err error) {
	if cfg.Hook.DefaultRules {
		defaults = policy.DefaultRules()
	}
	// Opt-in rule sets are shipped rules too: listed as default, and a
	// user rule with the same id replaces one.
	for _, name := range cfg.Hook.RuleSets {
		set, err := policy.RuleSet(strings.TrimSpace(name))
		if err != nil {
			return nil, nil, fmt.Errorf("config hook.rule_sets: %w", err)
		}
		defaults = append(defaults, set...)
	}
	if raw := cfg.Hook.Rules; raw != nil {
		data, err := json.Marshal(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("config hook.rules: %w", err)
		}
		if user, err = policy.ParseRules(data); err != nil {
			return nil, nil, fmt.Errorf("config hook.rules: %w", err)
		}
	}
	rulesFile := filepath.Join(cfg.Dirs.Config, "rules.yaml")
	if data, err := os.ReadFile(rulesFile); err == nil {
		more, err := policy.ParseRules(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rulesFile, err)
		}
		user = append(user, more...)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read %s: %w", rulesFile, err)
	}
	if _, err := policy.New(policy.Merge(defaults, user, cfg.Hook.DisabledRules)); err != nil {
		return nil, nil, fmt.Errorf("hook rules: %w", err)
	}
	return defaults, user, nil
}

// Run starts cbd's services in order and serves until ctx is cancelled,
// then stops them in reverse order, waiting for each, all within
// shutdown.timeout: HTTP, then the dispatcher (in-flight requests finish
// and are answered), then the heartbeat (which unregisters), and so on down
// to Redis. It returns the error of a failed start or of a service that
// stopped by itself; the caller then calls Close.
func (d *Daemon) Run(ctx context.Context) error {
	started := time.Now()
	r := &lifecycle.Runner{ShutdownTimeout: d.cfg.Shutdown.Timeout, Log: d.log}
	for _, s := range d.services(started) {
		r.Add(s)
	}
	returned := make(chan struct{})
	defer close(returned)
	go func() {
		select {
		case <-ctx.Done():
			d.log.Info("shutting down: stopping services in reverse order", "timeout", d.cfg.Shutdown.Timeout)
		case <-returned:
		}
	}()
	return r.Run(ctx, func() {
		httpAddr := ""
		if d.http != nil {
			httpAddr = d.http.Addr()
		}
		d.log.Info("cbd ready", "instance", d.inst.ID, "redis", d.redis.Mode, "store", d.store.Kind(), "methods", len(d.inst.Served), "http", httpAddr)
	})
}

// services are cbd's background services in start order.
func (d *Daemon) services(started time.Time) []lifecycle.Service {
	out := []lifecycle.Service{
		// Runs (and supervises) a managed redis-server; publishes the URL.
		d.redis,
		lifecycle.New("redis connection", func(ctx context.Context) error {
			if err := d.waitRedis(ctx); err != nil {
				return err
			}
			// A Redis from before the index of streams: index its streams
			// once (one SCAN), before any writer adds to the index.
			if n, err := streams.AdoptOnce(ctx, d.rdb); err != nil {
				d.log.Warn("indexing the event streams", "err", err)
			} else if n > 0 {
				d.log.Info("indexed the event streams found in Redis", "count", n)
			}
			return nil
		}, nil),
		lifecycle.New("hook rules watch", d.rules.Load, func(ctx context.Context) error {
			d.rules.Watch(ctx, time.Second)
			return nil
		}),
		lifecycle.Loop("caller-refusal watch", func(ctx context.Context) {
			invoke.WatchCallerRefusals(ctx, d.rdb, d.stats, time.Second)
		}),
	}
	if d.audit != nil {
		out = append(out, lifecycle.Loop("audit writer", d.audit.Run))
	}
	out = append(out,
		lifecycle.Loop("task persister", d.pers.Run),
		lifecycle.New("task restore", func(ctx context.Context) error {
			if n, err := d.tasks.Restore(ctx); err != nil {
				d.log.Warn("restoring tasks from the store", "err", err)
			} else if n > 0 {
				d.log.Info("restored tasks Redis had lost from the store", "count", n)
			}
			return nil
		}, nil),
		// Deletes finished tasks and audit records past their retention
		// from the store, and runs the store's maintenance.
		lifecycle.Loop("retention", d.ret.Run),
		lifecycle.Loop("task reaper", func(ctx context.Context) {
			d.tasks.RunReaper(ctx, d.cfg.Tasks.ReaperInterval)
		}),
		lifecycle.New("heartbeat",
			func(ctx context.Context) error { return d.inst.Heartbeat(ctx, started) },
			func(ctx context.Context) error {
				d.inst.Run(ctx, started)
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if err := d.inst.Unregister(uctx); err != nil {
					d.log.Warn("unregister", "err", err)
				}
				return nil
			}),
		// Puts back what Redis lost (a restart without persistence):
		// tasks, queue, claims and this instance's registration.
		lifecycle.Loop("redis repair", func(ctx context.Context) {
			d.tasks.OnRedisLoss(func(ctx context.Context) error { return d.inst.Heartbeat(ctx, started) })
			d.tasks.RunRepair(ctx)
		}),
		lifecycle.New("dispatcher", nil, d.disp.Run),
		// Stopped before the dispatcher: callers stop sending this cbd
		// requests while it finishes the ones it took.
		lifecycle.New("serving lease", nil, func(ctx context.Context) error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := d.inst.StopServing(sctx); err != nil {
				d.log.Warn("withdrawing the serving lease", "err", err)
			}
			return nil
		}),
	)
	if d.mcpQueue != nil {
		out = append(out, lifecycle.Loop("mcp queue watch", d.mcpQueue.Run))
	}
	if d.http != nil {
		out = append(out, lifecycle.New("http server", nil, d.http.Run))
	}
	return out
}

// health is what /healthz reports: cbd is healthy when its Redis answers
// and its dispatcher completed a read round lately.
func (d *Daemon) health(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := d.rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("redis unreachable: %w", err)
	}
	if within := 3*d.disp.Block() + 2*time.Second; !d.disp.Consuming(within) {
		return fmt.Errorf("dispatcher not consuming: no read of the request streams completed in the last %v", within)
	}
	return nil
}

// waitRedis retries the first PING with backoff until Redis answers.
func (d *Daemon) waitRedis(ctx context.Context) error {
	delay := 50 * time.Millisecond
	logged := false
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := d.rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if !logged {
			d.log.Warn("waiting for redis", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("stopped before redis was reachable"), err)
		case <-time.After(delay):
		}
		if delay *= 2; delay > 5*time.Second {
			delay = 5 * time.Second
		}
	}
}

// Close releases what New took, after Run has returned: the store, the
// Redis client, an embedded server that never started, and the runtime
// dir's lock.
func (d *Daemon) Close() {
	if d.http != nil {
		_ = d.http.Close() // the listener, when Run never served it
	}
	if d.store != nil {
		if err := d.store.Close(); err != nil {
			d.log.Warn("close store", "err", err)
		}
	}
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
	if d.redis != nil {
		d.redis.Close()
	}
	if err := d.lock.Release(); err != nil {
		d.log.Warn("release the runtime dir lock", "err", err)
	}
}
