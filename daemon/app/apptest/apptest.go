// Package apptest builds cbd's methods with app.Build for tests, on the
// test's Redis, a SQLite store in a temp dir (its persister running) and
// the shipped default rules, all released when the test ends.
package apptest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/redis/go-redis/v9"
)

// InstanceID is the instance id the built methods run as, unless mutate
// sets another.
const InstanceID = "test-instance"

// Deps returns the dependencies of cbd's methods on rdb: a SQLite store
// in a temp dir with its persister running, the task service, and the
// shipped default rules loaded; log may be nil.
func Deps(t testing.TB, rdb redis.UniversalClient, log *slog.Logger) app.Deps {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, "", filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	pers := tasks.NewPersister(st, log)
	done := make(chan struct{})
	go func() { defer close(done); pers.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = st.Close()
	})
	rules := hookrules.New(rdb, policy.DefaultRules(), nil, nil, log)
	if err := rules.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return app.Deps{
		Redis: rdb, RedisMode: "external", Store: st, Rules: rules, InstanceID: InstanceID, Log: log,
		Tasks: tasks.New(rdb, st, pers, tasks.Config{Source: InstanceID}, log),
	}
}

// Build returns cbd's methods on rdb (see Deps), with the Deps changed by
// mutate (if not nil) before app.Build. Without a Guard in the Deps,
// requests run unguarded.
func Build(t testing.TB, rdb redis.UniversalClient, log *slog.Logger, mutate func(d *app.Deps)) *app.App {
	t.Helper()
	d := Deps(t, rdb, log)
	if mutate != nil {
		mutate(&d)
	}
	a, err := app.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
