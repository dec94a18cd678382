package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol/api"
	rpc "github.com/claudebench/cb/protocol/client"
)

// TestRetentionPurgesFinishedHistory writes a store (a real SQLite file)
// with months of history before cbd starts, then checks that cbd's
// retention service deletes finished tasks and audit records older than
// tasks.history_retention and audit.retention — in several batches — while
// pending and in-progress tasks of the same age, and recent history, stay.
func TestRetentionPurgesFinishedHistory(t *testing.T) {
	ctx := context.Background()
	r := testenv.NewRedis(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL())
	dbPath := filepath.Join(h.Dir, "data", "retention.db")
	now := time.Now().UTC()
	old, recent := now.Add(-72*time.Hour), now.Add(-time.Hour)

	st, err := store.Open(ctx, "sqlite://"+dbPath, "")
	if err != nil {
		t.Fatal(err)
	}
	var ts []store.Task
	mk := func(id, status string, at time.Time) store.Task {
		tk := store.Task{Task: api.Task{ID: id, Text: "history " + id, Status: status, Priority: 50, Attempts: 1,
			CreatedAt: api.Time{Time: at.Add(-time.Minute)}, UpdatedAt: api.Time{Time: at}, Version: 3}}
		if status != store.StatusPending {
			tk.AssignedTo = "w-old"
		}
		return tk
	}
	const oldCompleted, oldFailed = 1203, 4 // more than two task batches of 500
	for i := range oldCompleted {
		ts = append(ts, mk(fmt.Sprintf("t-%d", 1000+i), store.StatusCompleted, old.Add(time.Duration(i)*time.Millisecond)))
	}
	for i := range oldFailed {
		ts = append(ts, mk(fmt.Sprintf("t-%d", 5000+i), store.StatusFailed, old))
	}
	pending, inProgress, recentDone := mk("t-7001", store.StatusPending, old), mk("t-7002", store.StatusInProgress, old), mk("t-7003", store.StatusCompleted, recent)
	ts = append(ts, pending, inProgress, recentDone)
	if err := st.TaskUpsertMany(ctx, ts); err != nil {
		t.Fatal(err)
	}
	var rs []store.AuditRecord
	const oldAudit = 2100 // more than two audit batches of 1000
	for i := range oldAudit {
		rs = append(rs, store.AuditRecord{ID: fmt.Sprintf("old-%d", i), Time: api.Time{Time: old.Add(time.Duration(i) * time.Millisecond)},
			Event: "hook.pre_tool", Tool: "Bash", Decision: "allow"})
	}
	rs = append(rs,
		store.AuditRecord{ID: "recent-1", Time: api.Time{Time: recent}, Event: "hook.pre_tool", Tool: "Bash", Decision: "deny"},
		store.AuditRecord{ID: "recent-2", Time: api.Time{Time: now}, Event: "hook.pre_tool", Tool: "Read", Decision: "allow"})
	if err := st.AuditInsert(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	addr := testenv.FreeAddr(t)
	d := testenv.StartDaemon(t, bin, h, []string{
		"CB_INSTANCE_ID=cbd-retention",
		"CB_HTTP_ADDR=" + addr,
		"CB_STORE_URL=sqlite://" + dbPath,
		"CB_TASKS_HISTORY_RETENTION=24h",
		"CB_AUDIT_RETENTION=24h",
	})
	client := rpc.New(r.Client(t), "e2e")
	call := func(method string, params, out any) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		raw, err := client.Call(cctx, method, params, rpc.Options{})
		if err != nil {
			t.Fatalf("%s %+v: %v", method, params, err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s answer %s: %v", method, raw, err)
		}
	}
	count := func(status string) int {
		var res api.TaskListResult
		call("task.list", api.TaskListParams{Status: status, Limit: 1}, &res)
		return res.TotalCount
	}

	// The first sweep runs when cbd starts; give it a few seconds.
	deadline := time.Now().Add(15 * time.Second)
	for count(store.StatusCompleted) != 1 || count(store.StatusFailed) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("finished tasks past the retention still listed: completed %d (want 1), failed %d (want 0)",
				count(store.StatusCompleted), count(store.StatusFailed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var all api.TaskListResult
	call("task.list", api.TaskListParams{Limit: 100}, &all)
	var ids []string
	for _, tk := range all.Tasks {
		ids = append(ids, tk.ID)
	}
	slices.Sort(ids)
	if want := []string{pending.ID, inProgress.ID, recentDone.ID}; !slices.Equal(ids, want) || all.TotalCount != 3 {
		t.Fatalf("tasks left %v (total %d), want %v: the old pending and in-progress tasks and the recent finished one", ids, all.TotalCount, want)
	}
	// Unfinished tasks of any age stay (the reaper may have requeued the
	// claimed one, whose worker never came back: it is still unfinished).
	for _, id := range []string{pending.ID, inProgress.ID} {
		var tk api.Task
		call("task.get", api.TaskGetParams{ID: id}, &tk)
		if tk.Status != store.StatusPending && tk.Status != store.StatusInProgress {
			t.Errorf("task %s is %s, want it unfinished", id, tk.Status)
		}
	}

	deadline = time.Now().Add(15 * time.Second)
	for {
		var res api.AuditListResult
		call("audit.list", api.AuditListParams{Limit: 1000}, &res)
		var got []string
		for _, rec := range res.Records {
			got = append(got, rec.ID)
		}
		if slices.Equal(got, []string{"recent-2", "recent-1"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit records left: %d (first %v), want recent-2 and recent-1", len(got), got[:min(len(got), 5)])
		}
		time.Sleep(100 * time.Millisecond)
	}

	// /metrics counts what this cbd removed.
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`cb_store_purged_total{kind="tasks"} %d`, oldCompleted+oldFailed),
		fmt.Sprintf(`cb_store_purged_total{kind="audit"} %d`, oldAudit),
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics has no %q", want)
		}
	}

	log := d.Log.String()
	for _, want := range []string{
		fmt.Sprintf("kind=tasks count=%d", oldCompleted+oldFailed),
		fmt.Sprintf("kind=audit count=%d", oldAudit),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("cbd log has no sweep line with %q", want)
		}
	}
}
