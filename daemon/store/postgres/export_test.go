package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

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

// QueryPlan returns EXPLAIN of query on one connection of the store with
// sequential scans and sorts disabled, so that the plan shows a Seq Scan or
// a Sort only when no index can answer the query.
func QueryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	return queryPlan(t, s, `SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off`, query, args...)
}

// QueryPlanSorting is QueryPlan with sorting left to the planner's costs:
// for queries meant to sort a few matches read by index.
func QueryPlanSorting(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	return queryPlan(t, s, `SET LOCAL enable_seqscan = off`, query, args...)
}

func queryPlan(t *testing.T, s *Store, settings, query string, args ...any) string {
	t.Helper()
	var out []string
	err := pgx.BeginFunc(t.Context(), s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), settings); err != nil {
			return err
		}
		rows, err := tx.Query(t.Context(), "EXPLAIN "+query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return strings.Join(out, "\n")
}

// PurgeSQL returns the task and audit purge statements as the store runs
// them.
func PurgeSQL(before time.Time, limit int) (tasks string, taskArgs []any, audit string, auditArgs []any) {
	tasks, taskArgs = dialect.TaskPurge("deleted", before, limit)
	audit, auditArgs = dialect.AuditPurge(before, limit)
	return tasks, taskArgs, audit, auditArgs
}

// AttachmentSQL returns the attachment statements as the store runs them:
// the put's lock, count and upsert, and the lists without and with a key.
func AttachmentSQL() (lock, count, upsert, list, listKey string) {
	return attachmentLockSQL, attachmentCountSQL, attachmentUpsertSQL, attachmentListSQL, attachmentListKeySQL
}

// CreateAtVersion applies the migrations up to version to the schema url's
// search_path selects, as an older cbd would have left it.
func CreateAtVersion(t *testing.T, url string, version int64) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	migs, err := model.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY,
		name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if m.Version > version {
			break
		}
		if _, err := conn.Exec(t.Context(), m.SQL); err != nil {
			t.Fatalf("apply %s: %v", m.Name, err)
		}
		if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
}
