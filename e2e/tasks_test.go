package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	rpc "github.com/claudebench/cb/protocol/client"
	goredis "github.com/redis/go-redis/v9"
)

// taskEnv is a cbd on its own redis-server, and a client speaking the same
// protocol as cb.
type taskEnv struct {
	h      *testenv.Home
	d      *testenv.Daemon
	redis  *testenv.Redis
	rdb    *goredis.Client
	client *rpc.Client
}

func newTaskEnv(t *testing.T, env ...string) *taskEnv {
	t.Helper()
	r := testenv.NewRedis(t)
	e := &taskEnv{redis: r}
	e.h = testenv.NewHome(t, append([]string{"CB_REDIS_URL=" + r.URL()}, env...)...)
	e.d = testenv.StartDaemon(t, bin, e.h, []string{"CB_INSTANCE_ID=cbd-" + strings.ReplaceAll(t.Name(), "/", "-")})
	e.rdb = r.Client(t, testenv.PoolSize(64))
	e.client = rpc.New(e.rdb, "e2e")
	return e
}

func (e *taskEnv) call(t *testing.T, method string, params any) (json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return e.client.Call(ctx, method, params, rpc.Options{})
}

// task is a task as the task.* methods answer.
type task = api.Task

// mustCall calls method over Redis and decodes its answer into out; an
// error answer fails the test.
func (e *taskEnv) mustCall(t *testing.T, method string, params, out any) {
	t.Helper()
	raw, err := e.call(t, method, params)
	if err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s answer %s: %v", method, raw, err)
	}
}

func (e *taskEnv) mustTask(t *testing.T, method string, params any) task {
	t.Helper()
	var tk task
	e.mustCall(t, method, params, &tk)
	return tk
}

func (e *taskEnv) claim(t *testing.T, worker string, max int) []task {
	t.Helper()
	var res struct{ Tasks []task }
	e.mustCall(t, "task.claim", map[string]any{"workerId": worker, "maxTasks": max}, &res)
	return res.Tasks
}

func wantCode(t *testing.T, err error, code protocol.Code, what string) {
	t.Helper()
	if protocol.CodeOf(err) != code {
		t.Fatalf("%s: err %v, want code %d", what, err, code)
	}
}

func TestTaskContract(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	sub := e.rdb.Subscribe(ctx) // not used; events are read from the streams below
	sub.Close()

	a := e.mustTask(t, "task.create", map[string]any{"text": "write docs"})
	if a.Status != "pending" || a.Priority != 50 || !strings.HasPrefix(a.ID, "t-") || a.CreatedAt.IsZero() {
		t.Fatalf("create: %+v", a)
	}
	b := e.mustTask(t, "task.create", map[string]any{"text": "fix bug", "priority": 90, "metadata": map[string]any{"k": 1}})
	c := e.mustTask(t, "task.create", map[string]any{"text": "later", "priority": 50})

	// Invalid inputs are invalid-params errors.
	for _, p := range []any{
		map[string]any{"text": ""}, map[string]any{"text": strings.Repeat("x", 501)},
		map[string]any{"text": "x", "priority": -1}, map[string]any{"text": "x", "priority": 101},
		map[string]any{}, map[string]any{"text": 5}, map[string]any{"text": "x", "priority": "high"},
		map[string]any{"text": "x", "extra": true},
	} {
		_, err := e.call(t, "task.create", p)
		wantCode(t, err, protocol.CodeInvalidParams, fmt.Sprint(p))
	}
	_, err := e.call(t, "task.claim", map[string]any{"workerId": "w", "maxTasks": 11})
	wantCode(t, err, protocol.CodeInvalidParams, "maxTasks 11")
	_, err = e.call(t, "task.get", map[string]any{"id": "nope"})
	wantCode(t, err, protocol.CodeInvalidParams, "bad id")
	_, err = e.call(t, "task.get", map[string]any{"id": "t-1"})
	wantCode(t, err, protocol.CodeNotFound, "missing task")

	// Priority first, FIFO within a priority.
	got := e.claim(t, "w1", 2)
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID || got[0].Status != "in_progress" || got[0].AssignedTo != "w1" || got[0].Attempts != 1 {
		t.Fatalf("claim order: %+v", got)
	}
	// Only the assignee completes, only once.
	_, err = e.call(t, "task.complete", map[string]any{"id": b.ID, "workerId": "w2"})
	wantCode(t, err, protocol.CodeConflict, "complete by another worker")
	done := e.mustTask(t, "task.complete", map[string]any{"id": b.ID, "workerId": "w1", "result": map[string]any{"ok": true}})
	if done.Status != "completed" || string(done.Result) != `{"ok":true}` {
		t.Fatalf("complete: %+v", done)
	}
	_, err = e.call(t, "task.complete", map[string]any{"id": b.ID, "workerId": "w1"})
	wantCode(t, err, protocol.CodeConflict, "complete twice")
	_, err = e.call(t, "task.update", map[string]any{"id": b.ID, "updates": map[string]any{"status": "pending"}})
	wantCode(t, err, protocol.CodeConflict, "completed task status change")
	failed := e.mustTask(t, "task.fail", map[string]any{"id": a.ID, "workerId": "w1", "error": "boom"})
	if failed.Status != "failed" || failed.Error != "boom" {
		t.Fatalf("fail: %+v", failed)
	}

	// Unassign returns a task to its place: c (older) before d at the same priority.
	d := e.mustTask(t, "task.create", map[string]any{"text": "newer", "priority": 50})
	got = e.claim(t, "w1", 1)
	if got[0].ID != c.ID {
		t.Fatalf("claimed %s, want %s", got[0].ID, c.ID)
	}
	un := e.mustTask(t, "task.unassign", map[string]any{"taskId": c.ID})
	if un.Status != "pending" || un.AssignedTo != "" {
		t.Fatalf("unassign: %+v", un)
	}
	if got = e.claim(t, "w1", 1); got[0].ID != c.ID {
		t.Fatalf("after unassign claimed %s, want %s (its old place, before %s)", got[0].ID, c.ID, d.ID)
	}
	// A priority change re-scores a pending task.
	e.mustTask(t, "task.create", map[string]any{"text": "p70", "priority": 70})
	up := e.mustTask(t, "task.update", map[string]any{"id": d.ID, "updates": map[string]any{"priority": 80, "metadata": map[string]any{"a": 1}}})
	if up.Priority != 80 {
		t.Fatalf("update: %+v", up)
	}
	up = e.mustTask(t, "task.update", map[string]any{"id": d.ID, "updates": map[string]any{"metadata": map[string]any{"b": 2}}})
	var meta map[string]any
	_ = json.Unmarshal(up.Metadata, &meta)
	if meta["a"] != float64(1) || meta["b"] != float64(2) {
		t.Fatalf("metadata not merged: %s", up.Metadata)
	}
	if got = e.claim(t, "w2", 1); got[0].ID != d.ID {
		t.Fatalf("claimed %s, want re-scored %s", got[0].ID, d.ID)
	}
	// Assign needs a registered, live instance.
	p := e.mustTask(t, "task.create", map[string]any{"text": "assign me"})
	_, err = e.call(t, "task.assign", map[string]any{"taskId": p.ID, "instanceId": "ghost"})
	wantCode(t, err, protocol.CodeNotFound, "assign to unknown instance")
	as := e.mustTask(t, "task.assign", map[string]any{"taskId": p.ID, "instanceId": "cbd-TestTaskContract"})
	if as.Status != "in_progress" || as.AssignedTo != "cbd-TestTaskContract" {
		t.Fatalf("assign: %+v", as)
	}
	// Get, list (with totals), delete.
	if g := e.mustTask(t, "task.get", map[string]any{"id": p.ID}); g.ID != p.ID || g.Status != "in_progress" {
		t.Fatalf("get: %+v", g)
	}
	raw, err := e.call(t, "task.list", map[string]any{"status": "in_progress", "limit": 2, "orderBy": "priority", "order": "desc"})
	if err != nil {
		t.Fatal(err)
	}
	var list api.TaskListResult
	_ = json.Unmarshal(raw, &list)
	if list.TotalCount != 3 || !list.HasMore || len(list.Tasks) != 2 || list.Tasks[0].Priority < list.Tasks[1].Priority {
		t.Fatalf("list: %s", raw)
	}
	if _, err := e.call(t, "task.delete", map[string]any{"id": p.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.call(t, "task.get", map[string]any{"id": p.ID})
	wantCode(t, err, protocol.CodeNotFound, "deleted task")
	_, err = e.call(t, "task.delete", map[string]any{"id": p.ID})
	wantCode(t, err, protocol.CodeNotFound, "delete twice")

	// Every change was an event on cb:stream:task.*.
	for typ, min := range map[string]int64{"task.created": 6, "task.claimed": 5, "task.completed": 1, "task.failed": 1,
		"task.updated": 2, "task.unassigned": 1, "task.assigned": 1, "task.deleted": 1} {
		if n := e.rdb.XLen(ctx, protocol.StreamKey(typ)).Val(); n < min {
			t.Errorf("%s has %d events, want ≥ %d", typ, n, min)
		}
	}
}

func TestTaskCreateIdempotent(t *testing.T) {
	e := newTaskEnv(t)
	ev, err := e.client.NewEvent("task.create", map[string]any{"text": "once"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := e.client.CallEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.Metadata.CorrelationID = "" // a redelivery: same event id, new answer slot
	ev.Metadata.CorrelationID = protocol.NewID()
	second, err := e.client.CallEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("replayed create answered differently:\n%s\n%s", first, second)
	}
	raw, _ := e.call(t, "task.list", map[string]any{})
	if !strings.Contains(string(raw), `"totalCount":1`) {
		t.Fatalf("want one task, list %s", raw)
	}
}

func TestTaskConcurrency(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_RATE_LIMIT=0") // one source making 10,000 calls
	const clients, perClient = 32, 10000 / 32
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			n := perClient
			if c < 10000%clients {
				n++
			}
			for i := 0; i < n; i++ {
				raw, err := e.call(t, "task.create", map[string]any{"text": fmt.Sprintf("c%d-%d", c, i), "priority": i % 101})
				if err != nil {
					errs <- err
					return
				}
				var tk task
				_ = json.Unmarshal(raw, &tk)
				mu.Lock()
				ids[tk.ID] = true
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ids) != 10000 {
		t.Fatalf("%d distinct ids, want 10000", len(ids))
	}
	raw, err := e.call(t, "task.list", map[string]any{"limit": 1})
	if err != nil || !strings.Contains(string(raw), `"totalCount":10000`) {
		t.Fatalf("store count: %s %v", raw, err)
	}
	// 8 workers claiming concurrently never get the same task.
	claimed := map[string]string{}
	var cmu sync.Mutex
	var cwg sync.WaitGroup
	for w := 0; w < 8; w++ {
		cwg.Add(1)
		go func(w int) {
			defer cwg.Done()
			worker := fmt.Sprintf("w%d", w)
			for {
				raw, err := e.call(t, "task.claim", map[string]any{"workerId": worker, "maxTasks": 10})
				if err != nil {
					t.Error(err)
					return
				}
				var res struct{ Tasks []task }
				_ = json.Unmarshal(raw, &res)
				if len(res.Tasks) == 0 {
					return
				}
				cmu.Lock()
				for _, tk := range res.Tasks {
					if prev, dup := claimed[tk.ID]; dup {
						t.Errorf("task %s claimed by %s and %s", tk.ID, prev, worker)
					}
					claimed[tk.ID] = worker
				}
				cmu.Unlock()
			}
		}(w)
	}
	cwg.Wait()
	if len(claimed) != 10000 {
		t.Fatalf("claimed %d tasks, want 10000", len(claimed))
	}
}
