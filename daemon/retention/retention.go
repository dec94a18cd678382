// Package retention is cbd's history policy: a background service that
// deletes finished tasks older than tasks.history_retention and audit
// records older than audit.retention from the store, in small batches, and
// runs the store's periodic maintenance (Store.Maintain).
//
// Several cbd may sweep the same store at once: a purge deletes rows that
// match a time bound, so two sweeps racing delete each row once and the
// loser just counts fewer. Errors are logged and the next sweep tries again;
// nothing here stops cbd.
package retention

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/internal/tick"
	"github.com/prometheus/client_golang/prometheus"
)

// Batch sizes of one purge call: small enough that one DELETE holds the
// store's write lock (SQLite has one) for milliseconds, large enough that a
// backlog of a million rows clears in a few thousand calls.
const (
	TaskBatch  = 500
	AuditBatch = 1000
)

// Default timings; Config fields left zero take these.
const (
	// DefaultMaintainEvery is how often Store.Maintain runs: PostgreSQL
	// folds the counter deltas its writes leave, and counts read between
	// two folds sum the deltas, so a short period keeps those reads cheap.
	DefaultMaintainEvery = 2 * time.Second
	// DefaultPause is the wait between two batches of one sweep, so that
	// the request path's writes get the store between them.
	DefaultPause = 20 * time.Millisecond
	// MaxInterval bounds the time between two sweeps of one kind.
	MaxInterval = time.Minute
	// MinInterval bounds it from below, for tiny retentions (tests).
	MinInterval = 100 * time.Millisecond
	// errorLogEvery bounds how often one kind's failure is logged: a
	// store that keeps failing is logged once a minute, not every sweep.
	errorLogEvery = time.Minute
)

// Store is the part of store.Store the service uses.
type Store interface {
	TaskPurge(ctx context.Context, before time.Time, limit int) (int, error)
	AuditPurge(ctx context.Context, before time.Time, limit int) (int, error)
	Maintain(ctx context.Context) error
}

// Config says what to keep. A zero retention keeps that kind forever.
type Config struct {
	// Tasks is tasks.history_retention: finished tasks last updated
	// longer ago are deleted.
	Tasks time.Duration
	// Audit is audit.retention: audit records older are deleted.
	Audit time.Duration
	// MaintainEvery defaults to DefaultMaintainEvery.
	MaintainEvery time.Duration
	// Pause defaults to DefaultPause.
	Pause time.Duration
	// Now defaults to time.Now (tests move the clock).
	Now func() time.Time
}

// Kinds of purged rows, the kind label of cb_store_purged_total.
const (
	KindTasks = "tasks"
	KindAudit = "audit"
)

// Service sweeps the store. Run it with Run; read its counts with Purged or
// register it (a prometheus.Collector) on a metrics registry.
type Service struct {
	st    Store
	cfg   Config
	log   *slog.Logger
	kinds []*kind
}

// kind is one purged table: its retention, batch and counters.
type kind struct {
	name      string
	retention time.Duration
	batch     int
	purge     func(ctx context.Context, before time.Time, limit int) (int, error)
	purged    atomic.Int64
	next      time.Time // next sweep, on the Run goroutine only
	loggedErr time.Time // last failure logged, on the Run goroutine only
}

// New returns a service over st; log may be nil.
func New(st Store, cfg Config, log *slog.Logger) *Service {
	if cfg.MaintainEvery <= 0 {
		cfg.MaintainEvery = DefaultMaintainEvery
	}
	if cfg.Pause <= 0 {
		cfg.Pause = DefaultPause
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, cfg: cfg, log: log, kinds: []*kind{
		{name: KindTasks, retention: cfg.Tasks, batch: TaskBatch, purge: st.TaskPurge},
		{name: KindAudit, retention: cfg.Audit, batch: AuditBatch, purge: st.AuditPurge},
	}}
}

// Interval is the time between two sweeps for a retention: a tenth of it
// (a row outlives the retention by at most 10%), at most MaxInterval and at
// least MinInterval. It is 0 for a zero retention (no sweeps).
func Interval(retention time.Duration) time.Duration {
	if retention <= 0 {
		return 0
	}
	return min(max(retention/10, MinInterval), MaxInterval)
}

// Run sweeps every kind with a retention at its Interval, the first time
// right away, and calls Maintain every MaintainEvery, until ctx is done.
func (s *Service) Run(ctx context.Context) {
	now := s.cfg.Now()
	nextMaintain := now.Add(s.cfg.MaintainEvery)
	for _, k := range s.kinds {
		k.next = now
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		for _, k := range s.kinds {
			if k.retention > 0 && !s.cfg.Now().Before(k.next) {
				s.sweep(ctx, k)
				k.next = s.cfg.Now().Add(Interval(k.retention))
			}
		}
		if now := s.cfg.Now(); !now.Before(nextMaintain) {
			if err := s.st.Maintain(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("store maintenance", "err", err)
			}
			nextMaintain = s.cfg.Now().Add(s.cfg.MaintainEvery)
		}
		wake := nextMaintain
		for _, k := range s.kinds {
			if k.retention > 0 && k.next.Before(wake) {
				wake = k.next
			}
		}
		timer.Reset(max(wake.Sub(s.cfg.Now()), time.Millisecond))
	}
}

// Sweep purges every kind with a retention once, to the end of its backlog,
// and returns how many rows each removed (by kind name).
func (s *Service) Sweep(ctx context.Context) map[string]int {
	out := map[string]int{}
	for _, k := range s.kinds {
		if k.retention > 0 {
			out[k.name] = s.sweep(ctx, k)
		}
	}
	return out
}

// sweep deletes k's rows older than its retention in batches until a batch
// comes back short, pausing between batches. The cutoff is fixed at the
// start, so a sweep ends even while rows keep ageing past the retention.
func (s *Service) sweep(ctx context.Context, k *kind) int {
	t0 := time.Now()
	before := s.cfg.Now().Add(-k.retention)
	total := 0
	for {
		n, err := k.purge(ctx, before, k.batch)
		if n > 0 {
			total += n
			k.purged.Add(int64(n))
		}
		if err != nil {
			if ctx.Err() == nil && s.cfg.Now().Sub(k.loggedErr) >= errorLogEvery {
				k.loggedErr = s.cfg.Now()
				s.log.Warn("retention: purging the store failed; retrying next sweep", "kind", k.name, "err", err)
			}
			break
		}
		if n < k.batch || !tick.Sleep(ctx, s.cfg.Pause) {
			break
		}
	}
	if total > 0 {
		s.log.Info("retention: purged from the store", "kind", k.name, "count", total,
			"older_than", before.UTC().Format(time.RFC3339), "took", time.Since(t0).Round(time.Millisecond))
	}
	return total
}

// Purged returns how many rows this service removed since it was made, by
// kind name.
func (s *Service) Purged() map[string]int64 {
	out := make(map[string]int64, len(s.kinds))
	for _, k := range s.kinds {
		out[k.name] = k.purged.Load()
	}
	return out
}

var purgedDesc = prometheus.NewDesc("cb_store_purged_total",
	"Rows this cbd deleted from the store under the history policy (tasks.history_retention, audit.retention), by kind.",
	[]string{"kind"}, nil)

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) { ch <- purgedDesc }

// Collect implements prometheus.Collector.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	for _, k := range s.kinds {
		ch <- prometheus.MustNewConstMetric(purgedDesc, prometheus.CounterValue, float64(k.purged.Load()), k.name)
	}
}
