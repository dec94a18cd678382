package retention_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/retention"
	"github.com/prometheus/client_golang/prometheus"
)

// row is one fake stored row: its time and whether a purge may take it
// (finished tasks and every audit record may; pending tasks may not).
type row struct {
	at        time.Time
	removable bool
}

// fakeStore keeps the contract of store.Store's purges on rows in memory:
// up to limit removable rows older than before, oldest first.
type fakeStore struct {
	mu        sync.Mutex
	tasks     []row
	audit     []row
	calls     []call
	maintains int
	fail      error
}

type call struct {
	kind   string
	before time.Time
	limit  int
}

func (f *fakeStore) purge(rows *[]row, kind string, before time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{kind, before, limit})
	if f.fail != nil {
		return 0, f.fail
	}
	slices.SortFunc(*rows, func(a, b row) int { return a.at.Compare(b.at) })
	n := 0
	*rows = slices.DeleteFunc(*rows, func(r row) bool {
		if n < limit && r.removable && r.at.Before(before) {
			n++
			return true
		}
		return false
	})
	return n, nil
}

func (f *fakeStore) TaskPurge(_ context.Context, before time.Time, limit int) (int, error) {
	return f.purge(&f.tasks, "tasks", before, limit)
}

func (f *fakeStore) AuditPurge(_ context.Context, before time.Time, limit int) (int, error) {
	return f.purge(&f.audit, "audit", before, limit)
}

func (f *fakeStore) Maintain(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maintains++
	return nil
}

func (f *fakeStore) counts() (tasks, audit, maintains int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tasks), len(f.audit), f.maintains
}

func rows(n int, at time.Time, removable bool) []row {
	out := make([]row, n)
	for i := range out {
		out[i] = row{at: at.Add(time.Duration(i) * time.Millisecond), removable: removable}
	}
	return out
}

func TestSweepDeletesOldFinishedRowsInBatches(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-100*24*time.Hour), now.Add(-time.Hour)
	f := &fakeStore{}
	f.tasks = append(f.tasks, rows(1203, old, true)...) // finished, past retention
	f.tasks = append(f.tasks, rows(7, old, false)...)   // pending/in progress, as old
	f.tasks = append(f.tasks, rows(5, recent, true)...) // finished lately
	f.audit = append(f.audit, rows(2500, old, true)...) // past audit retention
	f.audit = append(f.audit, rows(3, recent, true)...) // recent decisions
	s := retention.New(f, retention.Config{
		Tasks: 90 * 24 * time.Hour, Audit: 30 * 24 * time.Hour,
		Pause: time.Millisecond, Now: func() time.Time { return now },
	}, nil)

	got := s.Sweep(context.Background())
	if got[retention.KindTasks] != 1203 || got[retention.KindAudit] != 2500 {
		t.Fatalf("sweep removed %v, want tasks 1203 and audit 2500", got)
	}
	if nt, na, _ := f.counts(); nt != 12 || na != 3 {
		t.Fatalf("left %d tasks and %d audit records, want 12 (7 unfinished + 5 recent) and 3", nt, na)
	}
	// Batches of 500 tasks until one comes back short (500, 500, 203),
	// and of 1000 audit records (1000, 1000, 500), all with one cutoff.
	var taskCalls, auditCalls int
	for _, c := range f.calls {
		switch c.kind {
		case "tasks":
			taskCalls++
			if c.limit != retention.TaskBatch || !c.before.Equal(now.Add(-90*24*time.Hour)) {
				t.Errorf("task purge call %+v: want limit %d before %v", c, retention.TaskBatch, now.Add(-90*24*time.Hour))
			}
		case "audit":
			auditCalls++
			if c.limit != retention.AuditBatch || !c.before.Equal(now.Add(-30*24*time.Hour)) {
				t.Errorf("audit purge call %+v: want limit %d before %v", c, retention.AuditBatch, now.Add(-30*24*time.Hour))
			}
		}
	}
	if taskCalls != 3 || auditCalls != 3 {
		t.Errorf("%d task and %d audit purge calls, want 3 and 3", taskCalls, auditCalls)
	}
	if p := s.Purged(); p[retention.KindTasks] != 1203 || p[retention.KindAudit] != 2500 {
		t.Errorf("Purged() = %v", p)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]float64{}
	for _, mf := range families {
		if mf.GetName() != "cb_store_purged_total" || mf.GetType().String() != "COUNTER" {
			t.Errorf("unexpected family %s of type %v", mf.GetName(), mf.GetType())
			continue
		}
		for _, m := range mf.GetMetric() {
			exported[m.GetLabel()[0].GetName()+"="+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if want := map[string]float64{"kind=tasks": 1203, "kind=audit": 2500}; !maps.Equal(exported, want) {
		t.Errorf("cb_store_purged_total = %v, want %v", exported, want)
	}

	// A second sweep finds nothing: one short call each.
	f.calls = nil
	if got := s.Sweep(context.Background()); got[retention.KindTasks] != 0 || got[retention.KindAudit] != 0 || len(f.calls) != 2 {
		t.Errorf("second sweep removed %v in %d calls, want nothing in 2", got, len(f.calls))
	}
}

func TestZeroRetentionKeepsEverything(t *testing.T) {
	f := &fakeStore{tasks: rows(10, time.Unix(0, 0), true), audit: rows(10, time.Unix(0, 0), true)}
	s := retention.New(f, retention.Config{}, nil)
	if got := s.Sweep(context.Background()); len(got) != 0 || len(f.calls) != 0 {
		t.Fatalf("with no retention, sweep removed %v in %d calls, want no calls", got, len(f.calls))
	}
	s = retention.New(f, retention.Config{Audit: time.Hour}, nil)
	s.Sweep(context.Background())
	if nt, na, _ := f.counts(); nt != 10 || na != 0 {
		t.Fatalf("tasks retention 0, audit 1h: left %d tasks, %d audit; want 10 and 0", nt, na)
	}
}

func TestRunSweepsMaintainsAndSurvivesErrors(t *testing.T) {
	f := &fakeStore{fail: errors.New("store: task purge: not implemented")}
	f.tasks = rows(600, time.Now().Add(-time.Hour), true)
	s := retention.New(f, retention.Config{Tasks: time.Second, MaintainEvery: 50 * time.Millisecond, Pause: time.Millisecond}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	// Failing sweeps are retried at the interval (100ms for 1s); the
	// service keeps running and maintaining.
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.calls) >= 2 && f.maintains >= 2
	})
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	waitFor(t, func() bool { n, _, _ := f.counts(); return n == 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if p := s.Purged()[retention.KindTasks]; p != 600 {
		t.Errorf("purged %d tasks, want 600", p)
	}
}

func TestInterval(t *testing.T) {
	for _, c := range []struct{ retention, want time.Duration }{
		{0, 0},
		{time.Second, retention.MinInterval},
		{5 * time.Second, 500 * time.Millisecond},
		{2160 * time.Hour, time.Minute},
	} {
		if got := retention.Interval(c.retention); got != c.want {
			t.Errorf("Interval(%v) = %v, want %v", c.retention, got, c.want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
