package tasks_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/scripts"
	"github.com/claudebench/cb/scripts/scripttest"
	"github.com/redis/go-redis/v9"
)

// TestScriptsTouchOnlyTheirKeys runs every task script through the
// service against a real redis-server, each under scripttest's check: a
// command on a key that is neither in the KEYS the service passed nor a
// run-time key the script's header declares fails the script, and so does
// a number of KEYS other than the header lists. Each script runs down the
// branches that touch keys (replays, an assignee read from the task, the
// unassign path, the tombstone, requeue and fail).
func TestScriptsTouchOnlyTheirKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	check := scripttest.Check(t, rdb)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	persist := tasks.NewPersister(st, log)
	go persist.Run(ctx)
	svc := tasks.New(rdb, st, persist, tasks.Config{Source: "i1", MaxAttempts: 2}, log)

	must := func(raw json.RawMessage, err error) json.RawMessage {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	create := func(eventID string) string {
		t.Helper()
		var task struct{ ID string }
		raw := must(svc.Create(ctx, eventID, api.TaskCreateParams{Text: "x"}))
		if err := json.Unmarshal(raw, &task); err != nil || task.ID == "" {
			t.Fatalf("create: %s %v", raw, err)
		}
		return task.ID
	}
	claim := func(worker string, lease time.Duration) {
		t.Helper()
		if raw := must(svc.Claim(ctx, "", api.TaskClaimParams{WorkerID: worker, MaxTasks: 1, LeaseMs: lease.Milliseconds()})); !strings.Contains(string(raw), worker) {
			t.Fatalf("%s claimed nothing: %s", worker, raw)
		}
	}

	a, b, c := create("e1"), create("e2"), create("")
	if again := create("e1"); again != a {
		t.Fatalf("replayed create made %s, not %s", again, a)
	}
	must(svc.Claim(ctx, "e3", api.TaskClaimParams{WorkerID: "w1", MaxTasks: 2}))
	must(svc.Claim(ctx, "e3", api.TaskClaimParams{WorkerID: "w1", MaxTasks: 2}))
	must(svc.Renew(ctx, "e4", api.TaskRenewParams{ID: a, WorkerID: "w1", LeaseMs: time.Minute.Milliseconds()}))
	must(svc.Complete(ctx, "e5", api.TaskCompleteParams{ID: a, WorkerID: "w1", Result: json.RawMessage(`{"x":1}`)}))
	must(svc.Fail(ctx, "", api.TaskFailParams{ID: b, Error: "boom"}))
	for range 2 { // and the replay
		if _, err := svc.Attach(ctx, "e9", api.TaskAttachParams{TaskID: a, Key: "k", Type: "note", Value: json.RawMessage(`"n"`)}); err != nil {
			t.Fatalf("attach: %v", err)
		}
	}

	seven := 7
	must(svc.Update(ctx, "", api.TaskUpdateParams{ID: c, Updates: api.TaskUpdates{Status: "in_progress", Priority: &seven}}))
	must(svc.Update(ctx, "", api.TaskUpdateParams{ID: c, Updates: api.TaskUpdates{Status: "pending", Metadata: json.RawMessage(`{"k":1}`)}}))
	claim("w2", 0)
	must(svc.Update(ctx, "e6", api.TaskUpdateParams{ID: c, Updates: api.TaskUpdates{Status: "pending"}}))

	rdb.HSet(ctx, protocol.InstanceKey("i2"), "id", "i2")
	must(svc.Assign(ctx, "e7", api.TaskAssignParams{TaskID: c, InstanceID: "i2"}))
	must(svc.Unassign(ctx, "", api.TaskUnassignParams{TaskID: c}))
	claim("w3", 0)
	if err := svc.Delete(ctx, "e8", api.TaskDeleteParams{ID: c}); err != nil {
		t.Fatalf("delete: %v", err)
	}

	create("")
	claim("w4", 0)
	if n, _, err := svc.Release(ctx, "w4", time.Time{}, "gone"); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	rdb.ZAdd(ctx, protocol.InstancesKey, redis.Z{Score: 1, Member: "w5"})
	claim("w5", 0)
	if err := svc.Reap(ctx); err != nil { // releases w5's task: the second attempt fails it
		t.Fatalf("reap: %v", err)
	}
	create("")
	claim("w6", time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if err := svc.Reap(ctx); err != nil { // w6's lease ran out: requeued
		t.Fatalf("reap: %v", err)
	}
	claim("w7", time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if err := svc.Reap(ctx); err != nil { // and again: out of attempts, failed
		t.Fatalf("reap: %v", err)
	}

	p := create("")
	create("")
	claim("w8", 0) // p is pending, the other in progress with an assignee
	if err := persist.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Restore(ctx); err != nil || n != 2 {
		t.Fatalf("restore: %d %v", n, err)
	}
	if _, err := svc.Get(ctx, p); err != nil {
		t.Fatalf("restored task: %v", err)
	}

	ran := check.Ran()
	for _, sc := range scripts.All() {
		if strings.HasPrefix(sc.Name, "tasks/") && ran[sc.Name] == 0 {
			t.Errorf("%s did not run", sc.Name)
		}
	}
}
