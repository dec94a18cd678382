package postgres_test

import (
	"context"
	"errors"
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

// TestAttachmentPlans: a put locks the task by its primary key and counts
// its attachments by index, and a list reads them from the (task_id,
// created_at, key) index in order, for any number of tasks: no Seq Scan,
// no Sort.
func TestAttachmentPlans(t *testing.T) {
	u, _ := freshSchema(t)
	s := open(t, u)
	lock, count, _, list, listKey := postgres.AttachmentSQL()
	for _, c := range []struct {
		sql   string
		args  []any
		index string
	}{
		{lock, []any{"t-1"}, "tasks_pkey"},
		{count, []any{"t-1", "k"}, "task_attachments_"},
		{list, []any{[]string{"t-1"}}, "task_attachments_task_created"},
		{list, []any{[]string{"t-2", "t-1", "t-3"}}, "task_attachments_task_created"},
		{listKey, []any{[]string{"t-2", "t-1"}, "k"}, "task_attachments_"},
	} {
		plan := postgres.QueryPlan(t, s, c.sql, c.args...)
		if strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("plan scans or sorts:\n%s\n%s", plan, c.sql)
		}
		if !strings.Contains(indexConds(plan), "id = ") || !strings.Contains(plan, "on "+c.index) && !strings.Contains(plan, "using "+c.index) {
			t.Errorf("plan does not seek %s to the task:\n%s\n%s", c.index, plan, c.sql)
		}
	}
}

// TestAttachmentRaceStores runs storetest.AttachmentRace on three stores
// sharing one schema, as three daemons: the row lock, not anything in one
// process, keeps the limit and the cascades.
func TestAttachmentRaceStores(t *testing.T) {
	u, _ := freshSchema(t)
	storetest.AttachmentRace(t, open(t, u), open(t, u), open(t, u))
}

// TestAttachmentNulEscape: jsonb cannot hold \u0000, which JSON allows: the
// put is refused as invalid and stores nothing.
func TestAttachmentNulEscape(t *testing.T) {
	u, _ := freshSchema(t)
	s := open(t, u)
	if _, err := s.TaskUpsert(t.Context(), store.Task{Task: api.Task{ID: "t-1", Status: store.StatusPending, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	a := store.Attachment{TaskID: "t-1", Key: "k", Type: api.AttachmentNote, Value: []byte(`"a\u0000b"`)}
	if _, err := s.AttachmentPut(t.Context(), a, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("AttachmentPut of \\u0000: error = %v, want ErrInvalidArgument", err)
	}
	if got, err := s.AttachmentList(t.Context(), []string{"t-1"}, ""); err != nil || len(got) != 0 {
		t.Errorf("AttachmentList after a refused put = %+v, %v; want none", got, err)
	}
}

// TestMigrateAttachments opens a schema an older cbd left at migration 2:
// its tasks take attachments, and its deletes, tombstones and purges take
// them away.
func TestMigrateAttachments(t *testing.T) {
	u := testenv.PostgresSchema(t)
	postgres.CreateAtVersion(t, u, 2)
	s := open(t, u)
	ctx := t.Context()
	for i, st := range []string{store.StatusPending, store.StatusCompleted, store.StatusPending, store.StatusPending} {
		task := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d", i+1), Status: st, Version: 1,
			CreatedAt: api.TimeOf(time.Unix(1000, 0)), UpdatedAt: api.TimeOf(time.Unix(1000, 0))}}
		if _, err := s.TaskUpsert(ctx, task); err != nil {
			t.Fatal(err)
		}
		a := store.Attachment{TaskID: task.ID, Key: "notes", Type: api.AttachmentNote, Value: []byte(`"n"`)}
		if _, err := s.AttachmentPut(ctx, a, 64); err != nil {
			t.Fatalf("AttachmentPut on a migrated schema: %v", err)
		}
	}
	if err := s.TaskDelete(ctx, "t-1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.TaskPurge(ctx, time.Now(), 10); err != nil || n != 1 {
		t.Fatalf("TaskPurge = %d, %v; want 1 (t-2)", n, err)
	}
	tomb := store.Task{Task: api.Task{ID: "t-4", Status: store.StatusPending, Version: 2}, Deleted: true}
	if _, err := s.TaskUpsert(ctx, tomb); err != nil {
		t.Fatal(err)
	}
	got, err := s.AttachmentList(ctx, []string{"t-1", "t-2", "t-3", "t-4"}, "")
	if err != nil || len(got) != 1 || got[0].TaskID != "t-3" {
		t.Errorf("attachments after delete, purge and tombstone = %+v, %v; want t-3's only", got, err)
	}
}
