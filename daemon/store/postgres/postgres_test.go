package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/store/postgres"
	"github.com/claudebench/cb/daemon/store/storetest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol/api"
)

// freshSchema creates a uniquely named schema, dropped when t ends, and
// returns a URL whose search_path selects it, tuned for the conformance
// suite, and its name.
func freshSchema(t testing.TB) (schemaURL, schema string) {
	t.Helper()
	u, err := url.Parse(testenv.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "4") // many stores run in parallel
	}
	if q.Get("synchronous_commit") == "" {
		// The tests check logic, not crash durability: skip the WAL flush
		// per commit to keep the suite fast.
		q.Set("synchronous_commit", "off")
	}
	u.RawQuery = q.Encode()
	return u.String(), q.Get("search_path")
}

// open opens a store on schemaURL, closed when t ends (before the schema
// is dropped, since cleanups run last-in first-out).
func open(t testing.TB, schemaURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), schemaURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testenv.PostgresServer(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		u, _ := freshSchema(t)
		return open(t, u)
	})
}

// count returns the row count of schema.table.
func count(t *testing.T, schema, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testenv.PostgresServer(t))
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
	stores := storetest.OpenConcurrently(t, n, func() (*postgres.Store, error) { return postgres.Open(t.Context(), u) })
	if stores == nil {
		return
	}
	var wg sync.WaitGroup
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
	base := testenv.PostgresServer(t)
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

// TestTaskListPlans: every list variant reads its page from an index in
// order (no Seq Scan, no Sort, even with a few rows and both disabled only
// as a last resort) and its total from the counters or an index; a page
// after a cursor starts at the cursor (an index condition on the row). A
// list without a filter reads one range per status and sorts their union;
// the variants storetest.SortsMatches names read one assignee's or
// session's tasks by index and sort those.
func TestTaskListPlans(t *testing.T) {
	u, _ := freshSchema(t)
	s := open(t, u)
	cursorTask := store.Task{Task: api.Task{ID: "t-1700000000000000001", Priority: 50,
		CreatedAt: api.TimeOf(time.Unix(1700000000, 0)), UpdatedAt: api.TimeOf(time.Unix(1700000000, 0))}}
	for _, p := range storetest.ListVariants() {
		if p.After != "" {
			p.After = storetest.CursorAfter(t, p, cursorTask)
		}
		list, listArgs, count, countArgs := postgres.TaskListSQL(t, p)
		for _, c := range []struct {
			what, sql string
			args      []any
		}{{"page", list, listArgs}, {"count", count, countArgs}} {
			sorts := c.what == "page" && storetest.SortsMatches(p)
			merges := c.what == "page" && storetest.MergesStatuses(p)
			plan := postgres.QueryPlan(t, s, c.sql, c.args...)
			if sorts || merges {
				plan = postgres.QueryPlanSorting(t, s, c.sql, c.args...)
			}
			bad := ""
			switch {
			case merges && strings.Count(plan, "Index Scan") < len(api.TaskStatuses):
				bad = "does not merge one index range per status"
			case merges && p.After != "" && strings.Count(indexConds(plan), "ROW(") < len(api.TaskStatuses):
				bad = "does not seek every status's range to the cursor"
			case strings.Contains(plan, "Sort") && !sorts && !merges:
				bad = "sorts"
			case strings.Contains(plan, "Seq Scan on tasks"):
				bad = "scans tasks"
			case c.what == "count" && p.AssignedTo == "" && p.Session == "" && p.UpdatedBefore == "" && strings.Contains(plan, " on tasks "):
				bad = "counts tasks instead of reading the counters"
			case c.what == "page" && p.After != "" && !sorts && !strings.Contains(indexConds(plan), "ROW("):
				bad = "does not seek to the cursor"
			case p.Status != "" && !strings.Contains(indexConds(plan), "status = ") && !(c.what == "count" && p.UpdatedBefore == ""),
				p.AssignedTo != "" && !strings.Contains(indexConds(plan), "assigned_to = "),
				p.Session != "" && !strings.Contains(indexConds(plan), "session_id = "):
				bad = "does not seek to the filter"
			}
			if bad != "" {
				t.Errorf("%s of %+v: plan %s:\n%s\n%s", c.what, p, bad, plan, c.sql)
			}
		}
	}
	tp, tpArgs, ap, apArgs := postgres.PurgeSQL(time.Now(), 100)
	for _, c := range []struct {
		sql  string
		args []any
	}{{tp, tpArgs}, {ap, apArgs}} {
		plan := postgres.QueryPlan(t, s, c.sql, c.args...)
		if strings.Contains(plan, "Seq Scan on tasks") || strings.Contains(plan, "Seq Scan on audit_records") {
			t.Errorf("purge plan scans a table:\n%s\n%s", plan, c.sql)
		}
	}
}

// indexConds returns the Index Cond lines of an EXPLAIN output: what the
// scans seek to, as opposed to what they filter.
func indexConds(plan string) string {
	var out []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "Index Cond:") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
