package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/store/postgres"
	"github.com/claudebench/cb/daemon/store/storetest"
	"github.com/claudebench/cb/protocol/api"
)

// serverURL returns CB_TEST_POSTGRES_URL, failing the test when it is unset
// in CI and skipping it otherwise.
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CB_TEST_POSTGRES_URL")
	if u != "" {
		return u
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CB_TEST_POSTGRES_URL not set: CI must run the PostgreSQL conformance tests")
	}
	t.Skip("CB_TEST_POSTGRES_URL not set: PostgreSQL conformance tests need a server, e.g. CB_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	return ""
}

// cleanupCtx is for cleanups, which run after t.Context is canceled.
func cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// adminExec runs one statement on a short-lived connection to base.
func adminExec(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// freshSchema creates a uniquely named schema, dropped when t ends, and
// returns a URL whose search_path selects it.
func freshSchema(t *testing.T) (schemaURL, schema string) {
	t.Helper()
	base := serverURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "cbtest_" + hex.EncodeToString(b[:])
	if err := adminExec(t.Context(), base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := adminExec(ctx, base, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse CB_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "4") // many stores run in parallel
	}
	if q.Get("synchronous_commit") == "" {
		// The tests check logic, not crash durability: skip the WAL flush
		// per commit to keep the suite fast.
		q.Set("synchronous_commit", "off")
	}
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// open opens a store on schemaURL, closed when t ends (before the schema
// is dropped, since cleanups run last-in first-out).
func open(t *testing.T, schemaURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), schemaURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		u, _ := freshSchema(t)
		return open(t, u)
	})
}

// count returns the row count of schema.table.
func count(t *testing.T, schema, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(),
		"SELECT count(*) FROM "+pgx.Identifier{schema, table}.Sanitize()).Scan(&n); err != nil {
		t.Fatalf("count %s.%s: %v", schema, table, err)
	}
	return n
}

// TestConcurrentOpen starts several stores on one empty schema at once, as
// several daemons would: the advisory lock must make each migration apply
// exactly once, in that schema, and leave all stores working.
func TestConcurrentOpen(t *testing.T) {
	u, schema := freshSchema(t)
	const n = 6
	stores := make([]*postgres.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), u)
			if err != nil {
				t.Errorf("open #%d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			defer s.Close()
		}
	}
	if t.Failed() {
		return
	}
	migrations := count(t, schema, "schema_migrations")
	if migrations < 1 {
		t.Fatalf("schema_migrations in %s has %d rows", schema, migrations)
	}
	for i, s := range stores {
		wg.Go(func() {
			task := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d", i), Status: store.StatusPending, Version: 1}}
			if _, err := s.TaskUpsert(t.Context(), task); err != nil {
				t.Errorf("store %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := count(t, schema, "tasks"); got != n {
		t.Errorf("tasks in %s = %d, want %d", schema, got, n)
	}

	// Reopening applies nothing new and keeps the data.
	s := open(t, u)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, schema, "schema_migrations"); got != migrations {
		t.Errorf("schema_migrations after reopen = %d, want %d", got, migrations)
	}
	if _, err := s.TaskGet(t.Context(), "t-0"); err != nil {
		t.Errorf("TaskGet after reopen: %v", err)
	}
}

func TestKindAndStoreOpen(t *testing.T) {
	u, _ := freshSchema(t)
	s, err := store.Open(t.Context(), u, "/nonexistent/unused.db")
	if err != nil {
		t.Fatalf("store.Open(postgres URL): %v", err)
	}
	defer s.Close()
	if s.Kind() != store.KindPostgres {
		t.Errorf("Kind() = %q, want %q", s.Kind(), store.KindPostgres)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "cbtest_does_not_exist")
	u.RawQuery = q.Encode()
	if s, err := postgres.Open(t.Context(), u.String()); err == nil {
		s.Close()
		t.Fatal("Open with a search_path naming no existing schema succeeded, want an error")
	}
}
