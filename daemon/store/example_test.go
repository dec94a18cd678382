package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/claudebench/cb/daemon/store"
)

// Open with an empty URL gives the embedded SQLite store at the fallback
// path. A task is written with the version Redis gave it, read back, and
// listed; a write with an older version is ignored.
func Example() {
	dir, err := os.MkdirTemp("", "cbstore")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := store.Open(ctx, "", filepath.Join(dir, "cb.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	task := store.Task{ID: "t-1", Text: "write the release notes", Status: store.StatusPending,
		Priority: 50, CreatedAt: now, UpdatedAt: now, Version: 1}
	if _, err := s.TaskUpsert(ctx, task); err != nil {
		log.Fatal(err)
	}
	task.Status, task.AssignedTo, task.Version = store.StatusInProgress, "worker-1", 2
	if _, err := s.TaskUpsert(ctx, task); err != nil {
		log.Fatal(err)
	}
	stale := task
	stale.Status, stale.Version = store.StatusFailed, 1
	wrote, err := s.TaskUpsert(ctx, stale)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stale write applied:", wrote)

	got, err := s.TaskGet(ctx, "t-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Kind(), got.ID, got.Status, got.AssignedTo, got.Version)

	page, err := s.TaskList(ctx, store.TaskListParams{Status: store.StatusInProgress})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range page.Tasks {
		fmt.Printf("%s %q priority %d\n", t.ID, t.Text, t.Priority)
	}
	fmt.Println("total:", page.TotalCount, "more:", page.HasMore)
	// Output:
	// stale write applied: false
	// sqlite t-1 in_progress worker-1 2
	// t-1 "write the release notes" priority 50
	// total: 1 more: false
}
