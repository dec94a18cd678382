package sqlite

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// QueryString runs a one-value query for white-box checks in tests.
func QueryString(t *testing.T, s *Store, query string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRowContext(t.Context(), query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// MigrationCount is the number of embedded migrations.
func MigrationCount(t *testing.T) int {
	t.Helper()
	migs, err := model.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}

// CreateAtVersion makes a database file holding only the migrations up to
// version, as an older cbd would have left it.
func CreateAtVersion(t *testing.T, path string, version int64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	migs, err := model.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if m.Version > version {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("apply %s: %v", m.Name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// ExecRaw runs a statement on the store's database, for fixtures.
func ExecRaw(t *testing.T, path, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// QueryPlan returns the details of EXPLAIN QUERY PLAN for query, joined.
func QueryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return strings.Join(out, "; ")
}

// TaskListSQL returns the list query and its count query for p, as the
// store would run them.
func TaskListSQL(t *testing.T, p model.TaskListParams) (list string, listArgs []any, count string, countArgs []any) {
	t.Helper()
	q, err := model.NormalizeTaskList(p)
	if err != nil {
		t.Fatal(err)
	}
	list, listArgs = dialect.TaskList(q)
	count, countArgs = countQuery(q)
	return list, listArgs, count, countArgs
}

// PurgeSQL returns the task and audit purge statements as the store runs
// them.
func PurgeSQL(before time.Time, limit int) (tasks string, taskArgs []any, audit string, auditArgs []any) {
	tasks, taskArgs = dialect.TaskPurge("deleted = 1", before, limit)
	audit, auditArgs = dialect.AuditPurge(before, limit)
	return tasks, taskArgs, audit, auditArgs
}

// AuditListSQL returns the audit list query for p, as the store would run
// it.
func AuditListSQL(t *testing.T, p model.AuditListParams) (string, []any) {
	t.Helper()
	q, err := model.NormalizeAuditList(p)
	if err != nil {
		t.Fatal(err)
	}
	return dialect.AuditList(q)
}

// AttachmentSQL returns the attachment statements as the store runs them:
// the put's check and upsert, and the lists without and with a key.
func AttachmentSQL() (check, upsert, list, listKey string) {
	return attachmentCheckSQL, attachmentUpsertSQL, attachmentListSQL, attachmentListKeySQL
}
