// Package instance registers a cbd as an Instance in Redis and keeps the
// registration alive with heartbeats.
package instance

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

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
	TTL      time.Duration
	Interval time.Duration
	Version  string
	Log      *slog.Logger
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
	return &Instance{rdb: rdb, ID: id, Roles: roles, Served: served, TTL: ttl, Interval: interval, Version: version, Log: log}
}

// Heartbeat writes (or renews) the registration and the serving claims.
func (i *Instance) Heartbeat(ctx context.Context, startedAt time.Time) error {
	now := time.Now()
	meta, err := json.Marshal(Metadata{
		Version: i.Version, Capabilities: nonNil(i.Served),
		Resources: Resources{CPU: runtime.NumCPU()}, PID: os.Getpid(), StartedAt: startedAt.UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: encode metadata: %w", i.ID, err)
	}
	until := float64(now.Add(i.TTL).UnixMilli())
	pipe := i.rdb.Pipeline()
	if err := queueWrite(ctx, pipe, Record{ID: i.ID, Roles: i.Roles, LastSeen: now, Metadata: meta}, i.TTL); err != nil {
		return fmt.Errorf("heartbeat %s: %w", i.ID, err)
	}
	for _, m := range i.Served {
		pipe.ZAdd(ctx, protocol.ServingKey(m), redis.Z{Score: until, Member: i.ID})
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
	return nil
}

// Unregister removes the registration and serving claims.
func (i *Instance) Unregister(ctx context.Context) error {
	pipe := i.rdb.Pipeline()
	pipe.Del(ctx, protocol.InstanceKey(i.ID))
	pipe.ZRem(ctx, protocol.InstancesKey, i.ID)
	for _, m := range i.Served {
		pipe.ZRem(ctx, protocol.ServingKey(m), i.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("unregister %s: %w", i.ID, err)
	}
	return nil
}

// Run heartbeats until ctx is done. The first heartbeat has already been
// written by the caller (so callers can rely on it before Run starts).
func (i *Instance) Run(ctx context.Context, startedAt time.Time) {
	t := time.NewTicker(i.Interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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
