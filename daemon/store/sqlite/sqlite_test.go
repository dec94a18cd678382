package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/daemon/store/storetest"
	"github.com/claudebench/cb/protocol/api"
)

func openTemp(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestKind(t *testing.T) {
	if k := openTemp(t).Kind(); k != store.KindSQLite {
		t.Errorf("Kind() = %q, want %q", k, store.KindSQLite)
	}
}

// pragma returns the value of PRAGMA name on a fresh connection to path.
func pragma(t *testing.T, path, name string) string {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return sqlite.QueryString(t, s, "PRAGMA "+name)
}

func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cb.db")
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": fmt.Sprint(sqlite.BusyTimeout.Milliseconds()),
		"synchronous":  "1", // NORMAL
		// The store checkpoints itself, off the commit path.
		"wal_autocheckpoint": "0",
	} {
		if got := pragma(t, path, name); got != want {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
}

func TestReopenKeepsDataAndMigrationsOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "dir", "cb.db")
	for i := range 3 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		task := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d", i+1), Status: store.StatusPending, Version: 1}}
		if _, err := s.TaskUpsert(ctx, task); err != nil {
			t.Fatal(err)
		}
		if got := sqlite.QueryString(t, s, "SELECT count(*) FROM tasks"); got != fmt.Sprint(i+1) {
			t.Errorf("open #%d: %s tasks, want %d", i, got, i+1)
		}
		if got := sqlite.QueryString(t, s, "SELECT count(*) FROM schema_migrations"); got != fmt.Sprint(sqlite.MigrationCount(t)) {
			t.Errorf("open #%d: %s schema_migrations rows, want %d", i, got, sqlite.MigrationCount(t))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{path, filepath.Dir(path)} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o600)
			if fi.IsDir() {
				want = 0o700
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %v, want %v", p, got, want)
			}
		}
	}
}

// TestConcurrentOpen opens one new file from several stores at once, as
// several processes would: each migration must be applied exactly once and
// all stores must then write concurrently without SQLITE_BUSY.
func TestConcurrentOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cb.db")
	const n = 6
	stores := storetest.OpenConcurrently(t, n, func() (*sqlite.Store, error) { return sqlite.Open(ctx, path) })
	if stores == nil {
		return
	}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for j := range 20 {
				task := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d", i*100+j), Status: store.StatusPending, Version: 1}}
				if _, err := s.TaskUpsert(ctx, task); err != nil {
					t.Errorf("store %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := sqlite.QueryString(t, stores[0], "SELECT count(*) FROM schema_migrations"); got != fmt.Sprint(sqlite.MigrationCount(t)) {
		t.Errorf("schema_migrations rows = %s, want %d", got, sqlite.MigrationCount(t))
	}
	if got := sqlite.QueryString(t, stores[0], "SELECT count(*) FROM tasks"); got != fmt.Sprint(n*20) {
		t.Errorf("tasks = %s, want %d", got, n*20)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := sqlite.Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestPathWithURIChars(t *testing.T) {
	path := filepath.Join(t.TempDir(), "we?ird#dir %41", "cb.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created at the literal path: %v", err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
}

// TestCheckpoint: with automatic checkpoints off, the WAL grows with writes;
// Checkpoint copies it into the database (writers not blocked), and the
// next write starts it over, so the WAL stays small under the store's
// own checkpoints.
func TestCheckpoint(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	for i := range 300 {
		task := store.Task{Task: api.Task{ID: fmt.Sprintf("t-%d", i+1), Text: "x", Status: store.StatusPending, Version: 1}}
		if err := s.TaskUpsertMany(ctx, []store.Task{task}); err != nil {
			t.Fatal(err)
		}
	}
	// (The store's own loop may have checkpointed meanwhile: then fewer.)
	frames, err := s.Checkpoint(ctx)
	if err != nil || frames == 0 {
		t.Fatalf("Checkpoint after 300 commits: %d frames, %v", frames, err)
	}
	// Everything is in the database file now: the next write restarts the
	// WAL at its beginning.
	if err := s.TaskUpsertMany(ctx, []store.Task{{Task: api.Task{ID: "t-1000", Text: "x", Status: store.StatusPending, Version: 1}}}); err != nil {
		t.Fatal(err)
	}
	if frames, err = s.Checkpoint(ctx); err != nil || frames > 20 {
		t.Fatalf("after a full checkpoint and one write the WAL has %d frames (%v), want a few", frames, err)
	}
	if got := sqlite.QueryString(t, s, "SELECT count(*) FROM tasks"); got != "301" {
		t.Fatalf("%s tasks, want 301", got)
	}
}

// TestMigrateLeanTasks opens a database an older cbd left at migration 1:
// its tasks survive the rebuild into a WITHOUT ROWID table.
func TestMigrateLeanTasks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cb.db")
	sqlite.CreateAtVersion(t, path, 1)
	sqlite.ExecRaw(t, path, `INSERT INTO tasks (id, text, status, priority, assigned_to, metadata, created_at, updated_at, version)
		VALUES ('t-17', 'kept', 'in_progress', 70, 'w1', '{"a":1}', 1000, 2000, 3)`)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	got, err := s.TaskGet(t.Context(), "t-17")
	if err != nil {
		t.Fatalf("TaskGet after migration: %v", err)
	}
	if got.Text != "kept" || got.Status != store.StatusInProgress || got.Priority != 70 || got.AssignedTo != "w1" ||
		got.Version != 3 || string(got.Metadata) != `{"a":1}` || got.CreatedAt.UnixMicro() != 1000 {
		t.Errorf("task after migration = %+v", got)
	}
	if ddl := sqlite.QueryString(t, s, `SELECT sql FROM sqlite_master WHERE name = 'tasks'`); !strings.Contains(ddl, "WITHOUT ROWID") {
		t.Errorf("tasks table not rebuilt: %s", ddl)
	}
	if n := sqlite.QueryString(t, s, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL`); n != "8" {
		t.Errorf("tasks has %s explicit indexes, want 8 (migration 3: 3 keys for status, 2 each for assignee and session, the tombstones)", n)
	}
}

// TestTaskListPlans: every list variant reads its page from an index in
// order (no full scan of tasks, no sort of the matches) and its total from
// the counters or an index, never a scan of the table. A list without a
// filter reads one range per status, each seeked to the cursor, and sorts
// their union (a page per status); the variants storetest.SortsMatches
// names sort one assignee's or session's tasks.
func TestTaskListPlans(t *testing.T) {
	s := openTemp(t)
	cursorTask := store.Task{Task: api.Task{ID: "t-1700000000000000001", Priority: 50,
		CreatedAt: api.TimeOf(time.Unix(1700000000, 0)), UpdatedAt: api.TimeOf(time.Unix(1700000000, 0))}}
	for _, p := range storetest.ListVariants() {
		if p.After != "" {
			p.After = storetest.CursorAfter(t, p, cursorTask)
		}
		list, listArgs, count, countArgs := sqlite.TaskListSQL(t, p)
		for _, c := range []struct {
			what, sql string
			args      []any
		}{{"page", list, listArgs}, {"count", count, countArgs}} {
			plan := sqlite.QueryPlan(t, s, c.sql, c.args...)
			sorts := c.what == "page" && storetest.SortsMatches(p)
			merges := c.what == "page" && storetest.MergesStatuses(p)
			bad := ""
			switch {
			case merges && (strings.Count(plan, "SEARCH tasks USING INDEX tasks_status_") != len(api.TaskStatuses) ||
				!strings.HasSuffix(plan, "SCAN merged; USE TEMP B-TREE FOR ORDER BY")):
				bad = "does not merge one index range per status"
			case merges && p.After != "" && strings.Count(plan, ")>(?")+strings.Count(plan, ")<(?") != len(api.TaskStatuses):
				bad = "does not seek every status's range to the cursor"
			case strings.Contains(plan, "TEMP B-TREE") && !sorts && !merges:
				bad = "sorts the matches"
			case c.what == "count" && strings.Contains(plan, "SCAN tasks"):
				bad = "scans tasks to count"
			case c.what == "count" && p.AssignedTo == "" && p.Session == "" && p.UpdatedBefore == "" && strings.Contains(plan, "tasks "):
				bad = "counts tasks instead of reading the counters"
			case c.what == "page" && !strings.Contains(plan, "tasks USING INDEX") && !strings.Contains(plan, "tasks USING COVERING INDEX"):
				bad = "does not read an index"
			case c.what == "page" && p.After != "" && !sorts && !strings.Contains(plan, ")>(?") && !strings.Contains(plan, ")<(?"):
				bad = "does not seek to the cursor"
			case c.what == "page" && p.Status != "" && !strings.Contains(plan, "status=?"),
				p.AssignedTo != "" && !strings.Contains(plan, "assigned_to=?"),
				p.Session != "" && !strings.Contains(plan, "session_id=?"):
				bad = "does not seek to the filter"
			}
			if bad != "" {
				t.Errorf("%s of %+v: plan %q %s\n%s", c.what, p, plan, bad, c.sql)
			}
		}
	}
	// The audit pages the dashboard asks for on every load (the latest
	// records, the latest denials, a session's) read an index in order.
	for _, c := range []struct {
		p     store.AuditListParams
		index string
	}{
		{store.AuditListParams{Limit: 500}, "audit_records_time"},
		{store.AuditListParams{Decision: "deny", Limit: 12}, "audit_records_decision_time"},
		{store.AuditListParams{SessionID: "s-1", Limit: 100}, "audit_records_session_time"},
	} {
		q, args := sqlite.AuditListSQL(t, c.p)
		if plan := sqlite.QueryPlan(t, s, q, args...); !strings.Contains(plan, c.index) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("audit list %+v: plan %q does not read %s in order\n%s", c.p, plan, c.index, q)
		}
	}
	// The purges read their candidates by index too: (status, updated_at)
	// for finished tasks, the tombstone index, (time, id) for audit.
	tp, tpArgs, ap, apArgs := sqlite.PurgeSQL(time.Now(), 100)
	for _, c := range []struct {
		sql     string
		args    []any
		indexes []string
	}{
		{tp, tpArgs, []string{"tasks_status_updated", "tasks_tombstones"}},
		{ap, apArgs, []string{"audit_records_time"}},
	} {
		plan := sqlite.QueryPlan(t, s, c.sql, c.args...)
		if strings.Contains(plan, "SCAN tasks") && !strings.Contains(plan, "USING") || strings.Contains(plan, "SCAN audit_records") {
			t.Errorf("purge plan %q scans a table\n%s", plan, c.sql)
		}
		for _, idx := range c.indexes {
			if !strings.Contains(plan, idx) {
				t.Errorf("purge plan %q does not use %s", plan, idx)
			}
		}
	}
	for _, q := range []string{
		`SELECT id FROM tasks WHERE deleted = 0 AND status IN ('pending', 'in_progress') ORDER BY created_at, id`,
	} {
		if plan := sqlite.QueryPlan(t, s, q); !strings.Contains(plan, "tasks_status_created") {
			t.Errorf("%s: plan %q does not use tasks_status_created", q, plan)
		}
	}
}

// TestMigrateCounts opens a database an older cbd left at migration 2: the
// counters start from its rows (tombstones left out), and its tasks list by
// cursor through the new indexes.
func TestMigrateCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cb.db")
	sqlite.CreateAtVersion(t, path, 2)
	for i, st := range []string{"pending", "pending", "in_progress", "completed", "completed", "completed", "failed"} {
		sqlite.ExecRaw(t, path, `INSERT INTO tasks (id, text, status, priority, metadata, created_at, updated_at, version, deleted)
			VALUES (?, 'old', ?, ?, ?, ?, ?, 1, ?)`, fmt.Sprintf("t-%d", i+1), st, i*10, fmt.Sprintf(`{"sessionId":"s-%d"}`, i-1), i, i, i%6/5)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	counts, err := s.TaskCountByStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// t-6 (completed) is a tombstone.
	want := map[string]int{"pending": 2, "in_progress": 1, "completed": 2, "failed": 1}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("after migration counts = %v, want %v", counts, want)
			break
		}
	}
	var got []string
	p := store.TaskListParams{OrderBy: "queue", Limit: 2}
	for {
		res, err := s.TaskList(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range res.Tasks {
			got = append(got, task.ID)
		}
		if !res.HasMore {
			break
		}
		p.After = res.NextCursor
	}
	if strings.Join(got, " ") != "t-7 t-5 t-4 t-3 t-2 t-1" {
		t.Errorf("queue order after migration = %v", got)
	}
	res, err := s.TaskList(t.Context(), store.TaskListParams{Session: "s-1"})
	if err != nil || len(res.Tasks) != 1 || res.Tasks[0].ID != "t-3" || res.TotalCount != 1 {
		t.Errorf("session s-1 after migration = %+v, %v; want t-3", res, err)
	}
}

// TestAttachmentPlans: a put reads the task and the task's attachments by
// key, and a list reads each task's attachments from the (task_id,
// created_at, key) index in order (or one by the primary key): no scan of
// a table, no sort.
func TestAttachmentPlans(t *testing.T) {
	s := openTemp(t)
	check, _, list, listKey := sqlite.AttachmentSQL()
	for _, c := range []struct {
		sql   string
		args  []any
		wants []string
	}{
		{check, []any{"t-1", "k"}, []string{"SEARCH tasks USING PRIMARY KEY (id=?)",
			"SEARCH task_attachments USING COVERING INDEX task_attachments_task_created (task_id=?)",
			"SEARCH task_attachments USING PRIMARY KEY (task_id=? AND key=?)"}},
		{list, []any{`["t-1"]`}, []string{"SEARCH task_attachments USING INDEX task_attachments_task_created (task_id=?)"}},
		{list, []any{`["t-2", "t-1", "t-3"]`}, []string{"SEARCH task_attachments USING INDEX task_attachments_task_created (task_id=?)"}},
		{listKey, []any{`["t-2", "t-1"]`, "k"}, []string{"SEARCH task_attachments USING PRIMARY KEY (task_id=? AND key=?)"}},
	} {
		plan := sqlite.QueryPlan(t, s, c.sql, c.args...)
		if strings.Contains(plan, "SCAN task") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan %q scans or sorts\n%s", plan, c.sql)
		}
		for _, want := range c.wants {
			if !strings.Contains(plan, want) {
				t.Errorf("plan %q lacks %q\n%s", plan, want, c.sql)
			}
		}
	}
}

// TestMigrateAttachments opens a database an older cbd left at migration
// 3: its tasks take attachments, and its deletes, tombstones and purges
// take them away.
func TestMigrateAttachments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cb.db")
	sqlite.CreateAtVersion(t, path, 3)
	for i, st := range []string{"pending", "completed", "pending"} {
		sqlite.ExecRaw(t, path, `INSERT INTO tasks (id, text, status, created_at, updated_at, version)
			VALUES (?, 'old', ?, 1000, 1000, 1)`, fmt.Sprintf("t-%d", i+1), st)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	for i := 1; i <= 3; i++ {
		a := store.Attachment{TaskID: fmt.Sprintf("t-%d", i), Key: "notes", Type: api.AttachmentNote, Value: []byte(`"n"`)}
		if _, err := s.AttachmentPut(ctx, a, 64); err != nil {
			t.Fatalf("AttachmentPut on a migrated task: %v", err)
		}
	}
	if err := s.TaskDelete(ctx, "t-1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.TaskPurge(ctx, time.Now(), 10); err != nil || n != 1 {
		t.Fatalf("TaskPurge = %d, %v; want 1 (t-2)", n, err)
	}
	got, err := s.AttachmentList(ctx, []string{"t-1", "t-2", "t-3"}, "")
	if err != nil || len(got) != 1 || got[0].TaskID != "t-3" {
		t.Errorf("attachments after delete and purge = %+v, %v; want t-3's only", got, err)
	}
	if n := sqlite.QueryString(t, s, `SELECT count(*) FROM task_attachments`); n != "1" {
		t.Errorf("task_attachments has %s rows, want 1", n)
	}
}

// TestAttachmentRaceStores runs storetest.AttachmentRace on three stores
// opening one file, as three processes: the IMMEDIATE transaction, not the
// in-process write gate, keeps the limit and the cascades.
func TestAttachmentRaceStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cb.db")
	var stores []store.Store
	for range 3 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	storetest.AttachmentRace(t, stores...)
}
