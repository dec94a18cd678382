package tasks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
)

// TestRestorePagesThroughTheStore: after Redis lost its data, Restore puts
// back every pending and in-progress task the store has, across many
// pages, and nothing finished.
func TestRestorePagesThroughTheStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
	svc, st := newService(ctx, t, rdb, tasks.Config{Source: "i1"})

	const pending, inProgress, done = 2345, 1100, 700
	now := time.Now().UTC()
	var rows []store.Task
	for i := range pending + inProgress + done {
		tk := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d%06d", now.UnixMilli(), i), Text: "x",
			Status: store.StatusPending, Priority: i % 7, Version: 1,
			CreatedAt: api.TimeOf(now), UpdatedAt: api.TimeOf(now)}}
		switch {
		case i >= pending+inProgress:
			tk.Status = store.StatusCompleted
		case i >= pending:
			tk.Status, tk.AssignedTo = store.StatusInProgress, "w1"
		}
		rows = append(rows, tk)
	}
	if err := st.TaskUpsertMany(ctx, rows); err != nil {
		t.Fatal(err)
	}

	n, err := svc.Restore(ctx)
	if err != nil || n != pending+inProgress {
		t.Fatalf("Restore = %d, %v; want %d", n, err, pending+inProgress)
	}
	if q := rdb.ZCard(ctx, protocol.QueueTasksKey).Val(); q != pending {
		t.Errorf("queue holds %d tasks, want %d", q, pending)
	}
	if l := rdb.ZCard(ctx, protocol.LeasesKey).Val(); l != inProgress {
		t.Errorf("leases hold %d tasks, want %d", l, inProgress)
	}
	if rdb.Exists(ctx, protocol.TaskKey(rows[len(rows)-1].ID)).Val() != 0 {
		t.Error("a completed task was restored")
	}
	if n, err := svc.Restore(ctx); err != nil || n != 0 {
		t.Errorf("second Restore = %d, %v; want 0 (Redis has them all)", n, err)
	}
}
