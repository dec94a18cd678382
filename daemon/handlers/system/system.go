// Package system implements the system.* handlers: version, instance
// registration (register, heartbeat, unregister), health, state, metrics and
// method discovery.
package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/claudebench/cb/daemon/instance"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas"
	"github.com/redis/go-redis/v9"
)

// Defaults used when a Deps duration is zero (the config defaults).
const (
	DefaultHeartbeat    = 10 * time.Second
	DefaultTTL          = 30 * time.Second
	DefaultReclaimAfter = 45 * time.Second
)

// pingTimeout bounds each health probe so system.health answers within the
// handler timeout even when Redis or the store hangs.
const pingTimeout = 2 * time.Second

// Deps are everything the system handlers read. Only Redis is required; a
// nil function leaves its part out (see each field).
type Deps struct {
	// Redis is the client of the Redis cbd serves.
	Redis redis.UniversalClient
	// RedisMode is "external", "managed" or "embedded".
	RedisMode string
	// InstanceID is this cbd's instance id.
	InstanceID string
	// HeartbeatInterval is instance.heartbeat: an instance is healthy while
	// its last heartbeat is at most twice this old.
	HeartbeatInterval time.Duration
	// TTL is instance.ttl, the lifetime of a registration without heartbeat.
	TTL time.Duration
	// ReclaimAfter is tasks.reclaim_after: an instance is degraded until its
	// last heartbeat is this old, unhealthy after.
	ReclaimAfter time.Duration
	// StoreKind names the durable store ("sqlite", "postgres").
	StoreKind string
	// StorePing checks the durable store; nil reports it "not configured".
	StorePing func(ctx context.Context) error
	// TaskCounts counts tasks by status; nil reports no counts.
	TaskCounts func(ctx context.Context) (map[string]int, error)
	// ReleaseTasks puts the in-progress tasks of an instance back in the
	// queue and returns how many; nil releases nothing.
	ReleaseTasks func(ctx context.Context, instanceID string) (int, error)
	// Stats returns the invoker's counters (a func because the invoker
	// that owns them is built after the handlers); nil or a nil result
	// reports no handler metrics.
	Stats func() *invoke.Stats
	// Methods lists the registered methods for system.discover; nil means
	// every method with a schema.
	Methods func() []string
}

func (d *Deps) heartbeat() time.Duration { return orDefault(d.HeartbeatInterval, DefaultHeartbeat) }
func (d *Deps) ttl() time.Duration       { return orDefault(d.TTL, DefaultTTL) }
func (d *Deps) reclaimAfter() time.Duration {
	return orDefault(d.ReclaimAfter, DefaultReclaimAfter)
}

func orDefault(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Handlers returns the system.* handlers. Registration, heartbeat and
// unregistration are administrative and stay off MCP.
func Handlers(d Deps) []registry.Handler {
	h := &handlers{d: d}
	mcp := []string{"mcp"}
	return []registry.Handler{
		{Event: "system.version", Fn: h.version, Expose: mcp},
		{Event: "system.register", Fn: h.register},
		{Event: "system.heartbeat", Fn: h.heartbeatFn},
		{Event: "system.unregister", Fn: h.unregister},
		{Event: "system.health", Fn: h.health, Expose: mcp},
		{Event: "system.get_state", Fn: h.getState, Expose: mcp},
		{Event: "system.metrics", Fn: h.metrics, Expose: mcp},
		{Event: "system.discover", Fn: h.discover, Expose: mcp},
	}
}

type handlers struct {
	d Deps
}

// errNoRedis answers the handlers that need Redis when Deps.Redis is unset.
var errNoRedis = errors.New("system handlers: Deps.Redis is not set")

// view is an instance as the API shows it.
func (h *handlers) view(rec instance.Record, now time.Time) api.Instance {
	age := now.Sub(rec.LastSeen).Milliseconds()
	if age < 0 {
		age = 0
	}
	roles := rec.Roles
	if roles == nil {
		roles = []string{}
	}
	return api.Instance{
		ID: rec.ID, Roles: roles,
		Health:   instance.Classify(rec, now, 2*h.d.heartbeat(), h.d.reclaimAfter()),
		LastSeen: api.TimeOf(rec.LastSeen), AgeMs: age, Metadata: rec.Metadata,
	}
}

func (h *handlers) instances(ctx context.Context) ([]api.Instance, error) {
	if h.d.Redis == nil {
		return nil, errNoRedis
	}
	recs, err := instance.List(ctx, h.d.Redis)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]api.Instance, len(recs))
	for i, r := range recs {
		out[i] = h.view(r, now)
	}
	return out, nil
}

func decode(req *registry.Request, v any) error {
	params := req.Params
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if err := jsonint.Unmarshal(params, v); err != nil { // 5.0 is an integer too
		return protocol.Errorf(protocol.CodeInvalidParams, "%s: %v", req.Event.Type, err)
	}
	return nil
}

func (h *handlers) version(ctx context.Context, req *registry.Request) (any, error) {
	return api.VersionResult{Version: protocol.Version, InstanceID: h.d.InstanceID, RedisMode: h.d.RedisMode}, nil
}

func (h *handlers) register(ctx context.Context, req *registry.Request) (any, error) {
	var in api.RegisterParams
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.ID == "" {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "system.register: id is required")
	}
	if h.d.Redis == nil {
		return nil, errNoRedis
	}
	if in.Roles == nil {
		in.Roles = []string{}
	}
	if string(in.Metadata) == "null" {
		in.Metadata = nil
	}
	rec := instance.Record{ID: in.ID, Roles: in.Roles, Health: instance.Healthy,
		LastSeen: time.UnixMilli(time.Now().UnixMilli()), Metadata: in.Metadata}
	if err := instance.Write(ctx, h.d.Redis, rec, h.d.ttl()); err != nil {
		return nil, fmt.Errorf("system.register: %w", err)
	}
	if rec.Metadata == nil {
		rec.Metadata = json.RawMessage("{}")
	}
	return api.RegisterResult{Registered: true, Instance: h.view(rec, rec.LastSeen)}, nil
}

func (h *handlers) heartbeatFn(ctx context.Context, req *registry.Request) (any, error) {
	var in api.InstanceParams
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if h.d.Redis == nil {
		return nil, errNoRedis
	}
	alive, err := instance.Renew(ctx, h.d.Redis, in.InstanceID, h.d.ttl())
	if err != nil {
		return nil, fmt.Errorf("system.heartbeat: %w", err)
	}
	return api.HeartbeatResult{Alive: alive}, nil
}

// unregister removes the registration first, so the instance cannot be
// given new work, then releases its in-progress tasks (even when the
// registration had already expired).
func (h *handlers) unregister(ctx context.Context, req *registry.Request) (any, error) {
	var in api.InstanceParams
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if h.d.Redis == nil {
		return nil, errNoRedis
	}
	removed, err := instance.Remove(ctx, h.d.Redis, in.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("system.unregister: %w", err)
	}
	res := api.UnregisterResult{Unregistered: removed}
	if h.d.ReleaseTasks != nil {
		n, err := h.d.ReleaseTasks(ctx, in.InstanceID)
		if err != nil {
			return nil, fmt.Errorf("system.unregister %s: release tasks: %w", in.InstanceID, err)
		}
		res.Released = max(n, 0)
	}
	return res, nil
}

// Status strings of system.health's redis and store parts.
const (
	statusOK            = "ok"
	statusNotConfigured = "not configured"
)

func probe(ctx context.Context, ping func(context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := ping(ctx); err != nil {
		return "error: " + err.Error()
	}
	return statusOK
}

// health never fails: a broken Redis or store is part of the answer.
func (h *handlers) health(ctx context.Context, req *registry.Request) (any, error) {
	res := api.HealthResult{
		Redis: api.RedisStatus{Mode: h.d.RedisMode},
		Store: api.StoreStatus{Status: statusNotConfigured, Kind: h.d.StoreKind},
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		res.Redis.Status = probe(ctx, func(ctx context.Context) error {
			if h.d.Redis == nil {
				return errNoRedis
			}
			return h.d.Redis.Ping(ctx).Err()
		})
	})
	if h.d.StorePing != nil {
		wg.Go(func() { res.Store.Status = probe(ctx, h.d.StorePing) })
	}
	wg.Wait()

	res.Instances = []api.Instance{}
	if res.Redis.Status == statusOK {
		lctx, cancel := context.WithTimeout(ctx, pingTimeout)
		insts, err := h.instances(lctx)
		cancel()
		if err != nil {
			res.Redis.Status = "error: " + err.Error()
		} else {
			res.Instances = insts
		}
	}

	res.Status = instance.Healthy
	for _, in := range res.Instances {
		if in.Health != instance.Healthy {
			res.Status = instance.Degraded
		}
	}
	if res.Redis.Status != statusOK || (res.Store.Status != statusOK && res.Store.Status != statusNotConfigured) {
		res.Status = instance.Unhealthy
	}
	return res, nil
}

func (h *handlers) taskCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	if h.d.TaskCounts == nil {
		return out, nil
	}
	counts, err := h.d.TaskCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("count tasks: %w", err)
	}
	// Every status is listed, with 0 when no task has it.
	for _, s := range api.TaskStatuses {
		out[s] = 0
	}
	for s, n := range counts {
		out[s] = n
	}
	return out, nil
}

func (h *handlers) queueDepth(ctx context.Context) (int64, error) {
	if h.d.Redis == nil {
		return 0, errNoRedis
	}
	n, err := h.d.Redis.ZCard(ctx, protocol.QueueTasksKey).Result()
	if err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}

func (h *handlers) getState(ctx context.Context, req *registry.Request) (any, error) {
	insts, err := h.instances(ctx)
	if err != nil {
		return nil, fmt.Errorf("system.get_state: %w", err)
	}
	depth, err := h.queueDepth(ctx)
	if err != nil {
		return nil, fmt.Errorf("system.get_state: %w", err)
	}
	counts, err := h.taskCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("system.get_state: %w", err)
	}
	return api.StateResult{Instances: insts, QueueDepth: depth, TasksByStatus: counts}, nil
}

func (h *handlers) metrics(ctx context.Context, req *registry.Request) (any, error) {
	depth, err := h.queueDepth(ctx)
	if err != nil {
		return nil, fmt.Errorf("system.metrics: %w", err)
	}
	counts, err := h.taskCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("system.metrics: %w", err)
	}
	res := api.MetricsResult{QueueDepth: depth, TasksByStatus: counts, Handlers: map[string]api.HandlerMetrics{}}
	if h.d.Stats != nil {
		if st := h.d.Stats(); st != nil {
			res.Handlers = st.Snapshot()
		}
	}
	for _, sn := range res.Handlers {
		res.EventsProcessed += sn.Calls
		res.RequestsExpired += sn.Expired
	}
	return res, nil
}

func (h *handlers) discover(ctx context.Context, req *registry.Request) (any, error) {
	var names []string
	if h.d.Methods != nil {
		names = h.d.Methods()
	} else {
		var err error
		if names, err = schemas.Methods(); err != nil {
			return nil, fmt.Errorf("system.discover: %w", err)
		}
	}
	res := api.DiscoverResult{Methods: make([]api.MethodSchema, 0, len(names))}
	for _, n := range names {
		m, err := schemas.Resolved(n)
		if err != nil {
			return nil, fmt.Errorf("system.discover: %w", err)
		}
		res.Methods = append(res.Methods, api.MethodSchema(m))
	}
	return res, nil
}
