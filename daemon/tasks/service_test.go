package tasks_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/redis/go-redis/v9"
)

// newService is a task service over rdb with a SQLite store in the test's
// temp dir, its persister running until ctx is done; the store closes when
// the test ends.
func newService(ctx context.Context, t *testing.T, rdb redis.UniversalClient, cfg tasks.Config) (*tasks.Service, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	persist := tasks.NewPersister(st, log)
	go persist.Run(ctx)
	return tasks.New(rdb, st, persist, cfg, log), st
}
