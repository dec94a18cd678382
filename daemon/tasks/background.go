package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/internal/tick"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// Reap releases the tasks of every registered instance whose last heartbeat
// is older than tasks.reclaim_after, and the tasks whose lease ran out.
// Safe to run on every cbd at once: the release and expire scripts re-check
// the heartbeat and the lease atomically.
func (s *Service) Reap(ctx context.Context) error {
	if err := s.expireLeases(ctx); err != nil {
		return err
	}
	cutoff := time.Now().Add(-s.cfg.ReclaimAfter)
	stale, err := s.rdb.ZRangeByScore(ctx, protocol.InstancesKey, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(cutoff.UnixMilli(), 10)}).Result()
	if err != nil {
		return fmt.Errorf("find stale instances: %w", err)
	}
	for _, id := range stale {
		released, failed, err := s.Release(ctx, id, cutoff, "worker "+id+" stopped heartbeating")
		if err != nil {
			return err
		}
		if released+failed > 0 {
			s.log.Warn("took back the tasks of a dead worker", "worker", id, "requeued", released, "failed", failed)
		}
	}
	return nil
}

// expireBatch bounds the tasks one expire script handles, so that a burst
// of expired leases does not hold Redis for long.
const expireBatch = 100

// expireLeases gives back the tasks whose lease ran out (requeued, or
// failed when out of attempts) and writes them to the store.
func (s *Service) expireLeases(ctx context.Context) error {
	for {
		keys := expireKeys()
		raw, err := s.run(ctx, redisscript.TaskExpire(), "", keys[:], s.cfg.MaxAttempts, expireBatch)
		if err != nil {
			return fmt.Errorf("expire leases: %w", err)
		}
		var r struct {
			Tasks []store.Task `json:"tasks"`
			More  bool         `json:"more"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode expired leases: %w", err)
		}
		if len(r.Tasks) > 0 {
			failed := 0
			for _, t := range r.Tasks {
				if t.Status == store.StatusFailed {
					failed++
				}
			}
			s.log.Warn("took back tasks whose lease ran out", "requeued", len(r.Tasks)-failed, "failed", failed)
			if err := s.persist.Save(ctx, r.Tasks...); err != nil {
				return err
			}
		}
		if !r.More {
			return nil
		}
	}
}

// RunReaper calls Reap every interval until ctx is done.
func (s *Service) RunReaper(ctx context.Context, interval time.Duration) {
	failing := false
	tick.Every[struct{}](ctx, interval, nil, func() {
		err := s.Reap(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			s.log.Warn("reaper", "err", err)
			failing = true
		case err == nil && failing:
			failing = false
		}
	})
}

// restorePage is how many tasks Restore reads from the store at a time,
// and restoreInFlight how many of their restore scripts it has running at
// once (the batcher pipelines them): memory stays one page whatever the
// queue holds, and a page costs a few round trips, not one per task.
const (
	restorePage     = 1000
	restoreInFlight = 64
)

// Restore puts the non-terminal tasks the store has and Redis lacks back into
// Redis (pending ones into the queue, in-progress ones with a fresh lease;
// completed ones never), then sets the data marker that RunRepair watches.
// It reads the store a page at a time, by cursor. First it adds the task
// event types to the index of streams.
func (s *Service) Restore(ctx context.Context) (int, error) {
	if err := s.registerStreams(ctx); err != nil {
		return 0, fmt.Errorf("restore tasks: %w", err)
	}
	if err := s.persist.Flush(ctx); err != nil {
		return 0, fmt.Errorf("restore tasks: %w", err)
	}
	var restored atomic.Int64
	for _, status := range []string{store.StatusPending, store.StatusInProgress} {
		p := store.TaskListParams{Status: status, OrderBy: "id", Order: "asc", Limit: restorePage}
		for {
			page, err := s.store.TaskList(ctx, p)
			if err != nil {
				return int(restored.Load()), fmt.Errorf("restore %s tasks: %w", status, err)
			}
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(restoreInFlight)
			for _, t := range page.Tasks {
				g.Go(func() error {
					ok, err := s.restoreOne(gctx, t)
					if ok {
						restored.Add(1)
					}
					return err
				})
			}
			if err := g.Wait(); err != nil {
				return int(restored.Load()), err
			}
			if !page.HasMore {
				break
			}
			p.After = page.NextCursor
		}
	}
	if err := s.rdb.Set(ctx, protocol.DataMarkerKey, s.cfg.Source, 0).Err(); err != nil {
		return int(restored.Load()), fmt.Errorf("restore tasks: set %s: %w", protocol.DataMarkerKey, err)
	}
	return int(restored.Load()), nil
}

// restoreOne puts t back into Redis unless Redis has it (or its
// tombstone); it reports whether it did.
func (s *Service) restoreOne(ctx context.Context, t store.Task) (bool, error) {
	doc := map[string]any{
		"id": t.ID, "text": t.Text, "status": t.Status, "priority": t.Priority,
		"attempts": t.Attempts, "assignedTo": t.AssignedTo, "version": t.Version,
		"createdAt": t.CreatedAt, "updatedAt": t.UpdatedAt,
	}
	if len(t.Metadata) > 0 {
		doc["metadata"] = t.Metadata
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return false, fmt.Errorf("restore task %s: %w", t.ID, err)
	}
	keys := restoreKeys(t.ID, t.AssignedTo)
	raw, err := s.run(ctx, redisscript.TaskRestore(), "", keys[:], string(b))
	if err != nil {
		return false, fmt.Errorf("restore task %s: %w", t.ID, err)
	}
	return string(raw) == "true", nil
}

// OnRedisLoss adds a repair RunRepair makes when Redis lost its data,
// before it restores the tasks: re-registering the instance, for one (its
// serving claims and cb:methods are gone too). Call it before RunRepair.
func (s *Service) OnRedisLoss(fn func(ctx context.Context) error) {
	s.onLoss = append(s.onLoss, fn)
}

// CheckRedis asks RunRepair to look for data loss now, e.g. when a consumer
// group was found missing (NOGROUP). It never blocks.
func (s *Service) CheckRedis() {
	select {
	case s.checkNow <- struct{}{}:
	default:
	}
}

// repairInterval is how often RunRepair looks for the data marker and
// Redis's run id: one EXISTS and one INFO server a second per cbd.
const repairInterval = time.Second

// RunRepair watches Redis while cbd runs, until ctx is done:
//   - Redis lost its data (restarted without persistence, flushed): the
//     data marker Restore set is gone. It runs the OnRedisLoss repairs and
//     restores tasks and queue from the store, logging the loss once and
//     retrying a failed repair every second until it succeeds.
//   - Redis restarted, or another server took over (its run_id changed),
//     with the marker kept: it may still lack the last writes it had
//     acknowledged (appendfsync everysec loses up to about two seconds on a
//     crash, an asynchronous replica what it had not yet received), so it
//     restores from the store the tasks Redis lacks.
func (s *Service) RunRepair(ctx context.Context) {
	repairing := false
	runID := s.redisRunID(ctx)
	tick.Every(ctx, repairInterval, s.checkNow, func() {
		n, err := s.rdb.Exists(ctx, protocol.DataMarkerKey).Result()
		if err != nil {
			return // Redis unreachable: the dispatcher and heartbeat say so
		}
		if n == 1 {
			id := s.redisRunID(ctx)
			if id == "" || id == runID {
				return
			}
			if runID != "" {
				restored, err := s.Restore(ctx)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Debug("reconcile after a Redis restart", "err", err)
					}
					return // the run id is checked again next time
				}
				s.log.Info("Redis restarted (run_id changed): reconciled tasks with the store", "restoredTasks", restored)
			}
			runID = id
			return
		}
		if !repairing {
			s.log.Warn("Redis lost its data (" + protocol.DataMarkerKey + " is gone): restoring tasks and queue from the store")
			repairing = true
		}
		restored, err := s.repair(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Debug("repair after Redis data loss", "err", err)
			}
			return
		}
		repairing = false
		runID = s.redisRunID(ctx)
		s.log.Info("repaired Redis after data loss", "restoredTasks", restored)
	})
}

// redisRunID is the run_id of the Redis server cbd talks to (it changes
// when the server restarts or another one takes over), or "" when Redis
// does not say (an embedded server) or cannot be reached.
func (s *Service) redisRunID(ctx context.Context) string {
	info, err := s.rdb.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (s *Service) repair(ctx context.Context) (int, error) {
	for _, fn := range s.onLoss {
		if err := fn(ctx); err != nil {
			return 0, err
		}
	}
	return s.Restore(ctx)
}
