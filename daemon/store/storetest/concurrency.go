package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
)

// parallel runs fn(0..n-1) on n goroutines released together and waits.
func parallel(n int, fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			<-start
			fn(g)
		})
	}
	close(start)
	wg.Wait()
}

// versionedTask is the content written for version v of task id, so that
// the final row can be checked to come entirely from the highest version.
func versionedTask(id string, v int64) store.Task {
	task := newTask(id, v)
	task.Text = fmt.Sprintf("%s at v%d", id, v)
	task.Attempts = int(v)
	task.Priority = int(v % 7)
	task.UpdatedAt = at(int(v))
	task.Metadata = []byte(fmt.Sprintf(`{"v":%d}`, v))
	if v%2 == 0 {
		task.Status = store.StatusInProgress
		task.AssignedTo = fmt.Sprintf("w-%d", v)
	}
	return task
}

func testConcurrentUpsertSameTasks(t *testing.T, s store.Store) {
	const (
		goroutines = 32
		tasks      = 4
		versions   = 64 // per task
	)
	type write struct {
		id string
		v  int64
	}
	// Every (task, version) pair is written exactly once, by a random
	// goroutine, in a random order, so that versions race each other.
	var all []write
	for i := 1; i <= tasks; i++ {
		for v := int64(1); v <= versions; v++ {
			all = append(all, write{taskID(i), v})
		}
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var wrote [tasks + 1]atomic.Int64
	var maxWrote [tasks + 1]atomic.Bool
	parallel(goroutines, func(g int) {
		for k := g; k < len(all); k += goroutines {
			w := all[k]
			ok, err := s.TaskUpsert(t.Context(), versionedTask(w.id, w.v))
			if err != nil {
				t.Errorf("TaskUpsert(%s v%d): %v", w.id, w.v, err)
				return
			}
			var i int
			fmt.Sscanf(w.id, "t-%d", &i)
			if ok {
				wrote[i].Add(1)
				if w.v == versions {
					maxWrote[i].Store(true)
				}
			}
		}
	})
	for i := 1; i <= tasks; i++ {
		id := taskID(i)
		checkTask(t, mustGet(t, s, id), versionedTask(id, versions))
		if !maxWrote[i].Load() {
			t.Errorf("%s: the upsert of the highest version reported no write", id)
		}
		if n := wrote[i].Load(); n < 1 || n > versions {
			t.Errorf("%s: %d upserts reported a write, want 1..%d", id, n, versions)
		}
	}
	// Stale writes after the race are still no-ops.
	if ok, err := s.TaskUpsert(t.Context(), versionedTask(taskID(1), versions-1)); ok || err != nil {
		t.Errorf("stale upsert after race = %v, %v; want false, nil", ok, err)
	}
}

func testConcurrentDistinctInserts(t *testing.T, s store.Store) {
	const (
		goroutines = 16
		total      = 1000
	)
	parallel(goroutines, func(g int) {
		for i := g; i < total; i += goroutines {
			task := newTask(taskID(i+1), 1)
			task.CreatedAt = at(i)
			ok, err := s.TaskUpsert(t.Context(), task)
			if err != nil || !ok {
				t.Errorf("TaskUpsert(%s) = %v, %v; want true, nil", task.ID, ok, err)
				return
			}
		}
	})
	ctx := t.Context()
	res, err := s.TaskList(ctx, store.TaskListParams{Limit: store.MaxTaskListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalCount != total || len(res.Tasks) != total || res.HasMore {
		t.Fatalf("after %d inserts: TaskList = %d tasks, total %d, more %v", total, len(res.Tasks), res.TotalCount, res.HasMore)
	}
	seen := map[string]bool{}
	for _, task := range res.Tasks {
		seen[task.ID] = true
	}
	if len(seen) != total {
		t.Errorf("TaskList returned %d distinct ids, want %d", len(seen), total)
	}
	counts, err := s.TaskCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusPending] != total {
		t.Errorf("pending count = %d, want %d", counts[store.StatusPending], total)
	}

	// Limit is capped at MaxTaskListLimit.
	mustUpsert(t, s, newTask(taskID(total+1), 1))
	res, err = s.TaskList(ctx, store.TaskListParams{Limit: store.MaxTaskListLimit + 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != store.MaxTaskListLimit || res.TotalCount != total+1 || !res.HasMore {
		t.Errorf("TaskList(Limit %d) = %d tasks, total %d, more %v; want %d, %d, true",
			store.MaxTaskListLimit+500, len(res.Tasks), res.TotalCount, res.HasMore, store.MaxTaskListLimit, total+1)
	}
}

func testConcurrentAuditInsert(t *testing.T, s store.Store) {
	const (
		goroutines = 16
		records    = 50
	)
	// Every goroutine inserts every record: each id must end up once.
	parallel(goroutines, func(g int) {
		for i := range records {
			r := newAudit(fmt.Sprintf("e-%02d", (i+g)%records), i)
			if err := s.AuditInsert(t.Context(), r); err != nil {
				t.Errorf("AuditInsert(%s): %v", r.ID, err)
				return
			}
		}
	})
	got, err := auditRecords(t.Context(), s, store.AuditListParams{Limit: store.MaxAuditListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != records {
		t.Fatalf("AuditList after concurrent duplicate inserts = %d records, want %d", len(got), records)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	mustUpsert(t, s, newTask("t-1", 1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checkCanceled := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with a canceled context: error = %v, want a context error", what, err)
		}
	}
	_, err := s.TaskGet(ctx, "t-1")
	checkCanceled("TaskGet", err)
	_, err = s.TaskUpsert(ctx, newTask("t-1", 2))
	checkCanceled("TaskUpsert", err)
	_, err = s.TaskList(ctx, store.TaskListParams{})
	checkCanceled("TaskList", err)
	err = s.TaskDelete(ctx, "t-1")
	checkCanceled("TaskDelete", err)
	_, err = s.TaskCountByStatus(ctx)
	checkCanceled("TaskCountByStatus", err)
	err = s.AuditInsert(ctx, newAudit("e-1", 0))
	checkCanceled("AuditInsert", err)
	_, err = auditRecords(ctx, s, store.AuditListParams{})
	checkCanceled("AuditList", err)
	_, err = s.AttachmentPut(ctx, newAttachment("t-1", "k", `1`, 0), 0)
	checkCanceled("AttachmentPut", err)
	_, err = s.AttachmentList(ctx, []string{"t-1"}, "")
	checkCanceled("AttachmentList", err)
	checkCanceled("Ping", s.Ping(ctx))

	// Nothing was written, and the store still works.
	checkTask(t, mustGet(t, s, "t-1"), newTask("t-1", 1))
	if got, err := auditRecords(t.Context(), s, store.AuditListParams{}); err != nil || len(got) != 0 {
		t.Errorf("AuditList after canceled insert = %v, %v; want none", got, err)
	}
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("AttachmentList after canceled put = %v, want none", attachmentNames(got))
	}
	// A deadline that expires while waiting behaves the same way.
	dctx, dcancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	_, err = s.TaskUpsert(dctx, newTask("t-1", 3))
	checkCanceled("TaskUpsert past deadline", err)
}

func testPingKindClose(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if k := s.Kind(); k != store.KindSQLite && k != store.KindPostgres {
		t.Errorf("Kind() = %q, want %q or %q", k, store.KindSQLite, store.KindPostgres)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// OpenConcurrently opens n stores at once with open, as n daemons starting
// together would, and closes them when t ends. Each failed open is
// reported; the result is nil when any failed.
func OpenConcurrently[S interface{ Close() error }](t *testing.T, n int, open func() (S, error)) []S {
	t.Helper()
	stores := make([]S, n)
	opened := make([]bool, n)
	parallel(n, func(i int) {
		s, err := open()
		if err != nil {
			t.Errorf("open #%d: %v", i, err)
			return
		}
		stores[i], opened[i] = s, true
	})
	for i, s := range stores {
		if opened[i] {
			t.Cleanup(func() { _ = s.Close() })
		}
	}
	if t.Failed() {
		return nil
	}
	return stores
}

// testConcurrentCounts: writers racing on the same tasks' versions and
// statuses (some as tombstones), batches, and Maintain run at once, the
// counters end equal to a count of the rows.
func testConcurrentCounts(t *testing.T, s store.Store) {
	const (
		goroutines = 8
		tasks      = 40
		versions   = 12
	)
	statuses := []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed}
	version := func(i int, v int64) store.Task {
		task := newTask(taskID(i), v)
		task.Status = statuses[(i+int(v))%4]
		task.Deleted = (i+int(v))%5 == 0
		return task
	}
	parallel(goroutines, func(g int) {
		for k := range tasks * versions {
			if k%goroutines != g {
				continue
			}
			i, v := k%tasks+1, int64(k/tasks+1)
			var err error
			if g%2 == 0 {
				_, err = s.TaskUpsert(t.Context(), version(i, v))
			} else {
				err = s.TaskUpsertMany(t.Context(), []store.Task{version(i, v), version(i%tasks+1, v)})
			}
			if err != nil {
				t.Errorf("upsert: %v", err)
				return
			}
			if k%17 == 0 {
				if err := s.Maintain(t.Context()); err != nil {
					t.Errorf("Maintain: %v", err)
					return
				}
			}
		}
	})
	want := map[string]int{store.StatusPending: 0, store.StatusInProgress: 0, store.StatusCompleted: 0, store.StatusFailed: 0}
	for i := 1; i <= tasks; i++ {
		final := version(i, versions)
		got, err := s.TaskGet(t.Context(), taskID(i))
		if final.Deleted {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: want a tombstone, got %v", final.ID, err)
			}
			continue
		}
		if err != nil || got.Version != versions {
			t.Fatalf("%s: %+v, %v; want version %d", final.ID, got, err, versions)
		}
		want[final.Status]++
	}
	for _, maintained := range []bool{false, true} {
		if maintained {
			if err := s.Maintain(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TaskCountByStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(got, want) {
			t.Errorf("after the race (maintained %v): counts %v, want %v", maintained, got, want)
		}
	}
}
