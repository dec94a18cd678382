// Package instance registers a cbd as an Instance in Redis and keeps the
// registration alive: a slow heartbeat renews the registration (instance.ttl),
// and a fast lease says which processes serve which methods right now
// (instance.lease), so callers stop waiting for a cbd within seconds of its
// death. Each process's entries carry a nonce of its own, so a process with
// the same instance id started while an old one shuts down keeps its
// registration when the old one unregisters.
package instance

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/claudebench/cb/internal/tick"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

// DefaultLease is the liveness lease when Instance.Lease is zero.
const DefaultLease = 3 * time.Second

// Instance is this process's registration.
type Instance struct {
	rdb    redis.UniversalClient
	ID     string
	Roles  []string
	Served []string // methods whose streams this instance consumes
	// Limits are the rate limits (requests/s per source, 0 = none) of the
	// served methods, published in cb:limits with every heartbeat for
	// call.lua; with several cbd the last to heartbeat sets them.
	Limits   map[string]int
	TTL      time.Duration // registration lifetime without a heartbeat
	Interval time.Duration // heartbeat interval
	// Lease is how long callers take this process as serving its methods
	// after its last renewal; Run renews it every third of that, apart
	// from the heartbeat, so a slow heartbeat never lets it lapse.
	// 0 = DefaultLease.
	Lease   time.Duration
	Version string
	Log     *slog.Logger
	// Nonce tells this process's entries from those of another process
	// with the same ID (set by New, unique per process).
	Nonce string

	// leaseMu orders renewals with StopServing, so no renewal in flight
	// puts back the lease StopServing just withdrew.
	leaseMu   sync.Mutex
	withdrawn bool // StopServing was called: the lease is no longer renewed
}

// Metadata is the Instance entity's metadata.
type Metadata struct {
	Version      string    `json:"version"`
	Capabilities []string  `json:"capabilities"`
	Resources    Resources `json:"resources"`
	PID          int       `json:"pid"`
	StartedAt    int64     `json:"startedAt"`
}

// Resources describes the machine an instance runs on.
type Resources struct {
	CPU    int    `json:"cpu"`
	Memory uint64 `json:"memory"`
}

// New prepares a registration.
func New(rdb redis.UniversalClient, id string, roles, served []string, ttl, interval time.Duration, version string, log *slog.Logger) *Instance {
	return &Instance{rdb: rdb, ID: id, Roles: roles, Served: served, TTL: ttl, Interval: interval,
		Version: version, Log: log, Nonce: fmt.Sprintf("%d-%s", os.Getpid(), protocol.NewID())}
}

// Member is this process's member in protocol.ServingKey: its instance id
// and nonce.
func (i *Instance) Member() string { return i.ID + "/" + i.Nonce }

func (i *Instance) lease() time.Duration {
	if i.Lease > 0 {
		return i.Lease
	}
	return DefaultLease
}

// Heartbeat writes (or renews) the registration, the methods and limits it
// publishes, and the serving lease.
func (i *Instance) Heartbeat(ctx context.Context, startedAt time.Time) error {
	now := time.Now()
	meta, err := json.Marshal(Metadata{
		Version: i.Version, Capabilities: nonNil(i.Served),
		Resources: Resources{CPU: runtime.NumCPU()}, PID: os.Getpid(), StartedAt: startedAt.UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: encode metadata: %w", i.ID, err)
	}
	pipe := i.rdb.Pipeline()
	if err := queueWrite(ctx, pipe, Record{ID: i.ID, Roles: i.Roles, LastSeen: now, Metadata: meta, Nonce: i.Nonce}, i.TTL); err != nil {
		return fmt.Errorf("heartbeat %s: %w", i.ID, err)
	}
	if len(i.Served) > 0 {
		pipe.SAdd(ctx, protocol.MethodsKey, toAny(i.Served)...)
	}
	if len(i.Limits) > 0 {
		limits := make([]any, 0, 2*len(i.Limits))
		for m, l := range i.Limits {
			limits = append(limits, m, l)
		}
		pipe.HSet(ctx, protocol.LimitsKey, limits...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("heartbeat %s: %w", i.ID, err)
	}
	if _, err := i.renewLease(ctx); err != nil {
		return fmt.Errorf("heartbeat %s: %w", i.ID, err)
	}
	return nil
}

// StopServing withdraws this process's serving lease for good while its
// registration lives on: a cbd that stops reading new requests (a graceful
// shutdown finishing its in-flight ones) says so at once, so callers fail
// fast or reach another instance instead of waiting for their deadline.
func (i *Instance) StopServing(ctx context.Context) error {
	i.leaseMu.Lock()
	defer i.leaseMu.Unlock()
	i.withdrawn = true
	if len(i.Served) == 0 {
		return nil
	}
	pipe := i.rdb.Pipeline()
	for _, m := range i.Served {
		pipe.ZRem(ctx, protocol.ServingKey(m), i.Member())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("stop serving %s: %w", i.ID, err)
	}
	return nil
}

// renewLease renews the serving lease on every served method (lease.lua)
// and reports whether the registration hash still exists. After
// StopServing it does nothing and reports true.
func (i *Instance) renewLease(ctx context.Context) (registered bool, err error) {
	i.leaseMu.Lock()
	defer i.leaseMu.Unlock()
	if i.withdrawn {
		return true, nil
	}
	keys := make([]string, 0, 1+len(i.Served))
	keys = append(keys, protocol.InstanceKey(i.ID))
	for _, m := range i.Served {
		keys = append(keys, protocol.ServingKey(m))
	}
	n, err := redisscript.Lease().Run(ctx, i.rdb, keys, i.Member(), i.lease().Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease: %w", err)
	}
	return n == 1, nil
}

// Unregister withdraws this process's serving lease and, unless a later
// process with the same id has registered since, its registration.
func (i *Instance) Unregister(ctx context.Context) error {
	keys := make([]string, 0, 2+len(i.Served))
	keys = append(keys, protocol.InstanceKey(i.ID), protocol.InstancesKey)
	for _, m := range i.Served {
		keys = append(keys, protocol.ServingKey(m))
	}
	if err := redisscript.Unregister().Run(ctx, i.rdb, keys, i.ID, i.Member(), i.Nonce).Err(); err != nil {
		return fmt.Errorf("unregister %s: %w", i.ID, err)
	}
	return nil
}

// Run heartbeats every Interval and renews the serving lease every third of
// Lease until ctx is done. The first heartbeat has already been written by
// the caller (so callers can rely on it before Run starts). The lease has a
// goroutine of its own: a heartbeat held up by a slow Redis must not let it
// lapse. When the lease finds the registration gone (expired, lost with
// Redis's data, or removed by an older process with the same id), the
// heartbeat is written at once instead of at its next tick.
func (i *Instance) Run(ctx context.Context, startedAt time.Time) {
	beat := make(chan struct{}, 1)
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		i.runLease(ctx, beat)
	}()
	defer func() { <-leaseDone }()
	failing := false
	tick.Every(ctx, i.Interval, beat, func() {
		hctx, cancel := context.WithTimeout(ctx, i.Interval)
		err := i.Heartbeat(hctx, startedAt)
		cancel()
		switch {
		case err != nil && !failing:
			i.Log.Warn("heartbeat failed", "err", err)
			failing = true
		case err == nil && failing:
			i.Log.Info("heartbeat restored")
			failing = false
		}
	})
}

// runLease renews the lease until ctx is done, asking for a heartbeat on
// beat when the registration is missing.
func (i *Instance) runLease(ctx context.Context, beat chan<- struct{}) {
	every := max(i.lease()/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		lctx, cancel := context.WithTimeout(ctx, every)
		registered, err := i.renewLease(lctx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			i.Log.Warn("serving lease not renewed; callers stop sending requests here when it runs out", "lease", i.lease(), "err", err)
			failing = true
		case err == nil && failing:
			i.Log.Info("serving lease renewed again")
			failing = false
		}
		if err == nil && !registered {
			select {
			case beat <- struct{}{}:
			default:
			}
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
