package postgres

import (
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
	if q.CountedByStatus() {
		count, countArgs = taskCountAllSQL, nil
		if q.Status != "" {
			count, countArgs = taskCountOneSQL, []any{q.Status}
		}
	} else {
		count, countArgs = dialect.TaskCountCapped(q)
	}
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
