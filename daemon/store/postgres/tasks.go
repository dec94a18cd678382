package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// taskColumns is the select list read by scanTask.
const taskColumns = query.TaskColumns

// upsertTaskSQL inserts a task or overwrites it when the stored version is
// lower (query.TaskUpsert).
var upsertTaskSQL = query.TaskUpsert(`$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13`)

// TaskUpsert writes t unless a row with the same id and a version greater
// than or equal to t.Version exists. It reports whether it wrote.
func (s *Store) TaskUpsert(ctx context.Context, t model.Task) (bool, error) {
	t, err := model.NormalizeTask(t)
	if err != nil {
		return false, fmt.Errorf("postgres store: upsert task: %w", err)
	}
	tag, err := s.pool.Exec(ctx, upsertTaskSQL,
		t.ID, t.Text, t.Status, t.Priority, t.AssignedTo, t.Attempts,
		jsonArg(t.Metadata), jsonArg(t.Result), t.Error,
		t.CreatedAt.Time, t.UpdatedAt.Time, t.Version, t.Deleted)
	if err != nil {
		return false, fmt.Errorf("postgres store: upsert task %q: %w", t.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// TaskUpsertMany upserts every task in one transaction, sent as one batch.
func (s *Store) TaskUpsertMany(ctx context.Context, ts []model.Task) error {
	if len(ts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, t := range ts {
		t, err := model.NormalizeTask(t)
		if err != nil {
			return fmt.Errorf("postgres store: upsert task: %w", err)
		}
		b.Queue(upsertTaskSQL,
			t.ID, t.Text, t.Status, t.Priority, t.AssignedTo, t.Attempts,
			jsonArg(t.Metadata), jsonArg(t.Result), t.Error,
			t.CreatedAt.Time, t.UpdatedAt.Time, t.Version, t.Deleted)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres store: upsert %d tasks: %w", len(ts), err)
	}
	return nil
}

// TaskGet returns the live task with the given id.
func (s *Store) TaskGet(ctx context.Context, id string) (model.Task, error) {
	row := s.pool.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 AND NOT deleted`, id)
	t, err := scanTask(row)
	if isNoRows(err) {
		return model.Task{}, notFound(id)
	}
	if err != nil {
		return model.Task{}, fmt.Errorf("postgres store: get task %q: %w", id, err)
	}
	return t, nil
}

// dialect is PostgreSQL's SQL for the shared list queries.
var dialect = query.Dialect{
	Param:       param,
	Live:        "NOT deleted",
	Session:     "session_id", // metadata->>'sessionId', stored (migration 0002)
	Time:        func(t time.Time) any { return t },
	IDLen:       "length(id)",
	NegPriority: "(-priority)",
}

// TaskList returns one page of live tasks matching p. The count and the page
// come from one REPEATABLE READ snapshot, so they agree. The page is read
// by index from the cursor on; the total comes from the counters, or from a
// count that stops at model.MaxExactCount.
func (s *Store) TaskList(ctx context.Context, p model.TaskListParams) (model.TaskListResult, error) {
	var res model.TaskListResult
	q, err := model.NormalizeTaskList(p)
	if err != nil {
		return res, fmt.Errorf("postgres store: list tasks: %w", err)
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			countSQL, args := countQuery(q)
			if err := tx.QueryRow(ctx, countSQL, args...).Scan(&res.TotalCount); err != nil {
				return fmt.Errorf("count: %w", err)
			}
			if res.TotalCount > model.MaxExactCount && !q.CountedByStatus() {
				res.TotalCount, res.TotalEstimated = model.MaxExactCount, true
			}
			listSQL, args := dialect.TaskList(q)
			rows, err := tx.Query(ctx, listSQL, args...)
			if err != nil {
				return err
			}
			res.Tasks, err = collectTasks(rows)
			return err
		})
	if err != nil {
		return model.TaskListResult{}, fmt.Errorf("postgres store: list tasks: %w", err)
	}
	if len(res.Tasks) > q.Limit {
		res.Tasks, res.HasMore = res.Tasks[:q.Limit], true
		res.NextCursor = q.CursorFor(res.Tasks[q.Limit-1])
	}
	return res, nil
}

// countQuery is the count TaskList runs for q: the counters for no
// filter or a status alone, else a count that stops past
// model.MaxExactCount.
func countQuery(q model.TaskListQuery) (string, []any) {
	switch {
	case !q.CountedByStatus():
		return dialect.TaskCountCapped(q)
	case q.Status != "":
		return taskCountOneSQL, []any{q.Status}
	default:
		return taskCountAllSQL, nil
	}
}

// TaskDelete removes the row for id. It returns ErrNotFound when there was
// no row or only a tombstone (which is removed too).
func (s *Store) TaskDelete(ctx context.Context, id string) error {
	var deleted bool
	err := s.pool.QueryRow(ctx, `DELETE FROM tasks WHERE id = $1 RETURNING deleted`, id).Scan(&deleted)
	if isNoRows(err) || (err == nil && deleted) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("postgres store: delete task %q: %w", id, err)
	}
	return nil
}

// Counter queries: task_counts as last folded plus the deltas written
// since (see Maintain), read in one statement so they agree.
const (
	taskCountSQL = `SELECT status, sum(n)::bigint FROM (SELECT status, n FROM task_counts
		UNION ALL SELECT status, n FROM task_count_deltas) AS c GROUP BY status`
	taskCountAllSQL = `SELECT coalesce(sum(n), 0)::bigint FROM (SELECT n FROM task_counts
		UNION ALL SELECT n FROM task_count_deltas) AS c`
	taskCountOneSQL = `SELECT coalesce(sum(n), 0)::bigint FROM (SELECT n FROM task_counts WHERE status = $1
		UNION ALL SELECT n FROM task_count_deltas WHERE status = $1) AS c`
)

// TaskCountByStatus returns the live tasks per status from the counters
// the triggers keep; every known status is present in the result.
func (s *Store) TaskCountByStatus(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, taskCountSQL)
	if err != nil {
		return nil, fmt.Errorf("postgres store: count tasks: %w", err)
	}
	counts := model.StatusCounts()
	var (
		st string
		n  int
	)
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		if _, known := counts[st]; known {
			counts[st] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: count tasks: %w", err)
	}
	return counts, nil
}

// scanTask reads one row selected with taskColumns.
func scanTask(row pgx.Row) (model.Task, error) {
	var (
		t            model.Task
		meta, result []byte
	)
	if err := row.Scan(&t.ID, &t.Text, &t.Status, &t.Priority, &t.AssignedTo, &t.Attempts,
		&meta, &result, &t.Error, &t.CreatedAt.Time, &t.UpdatedAt.Time, &t.Version); err != nil {
		return model.Task{}, err
	}
	if meta != nil {
		t.Metadata = meta
	}
	if result != nil {
		t.Result = result
	}
	t.CreatedAt.Time = t.CreatedAt.UTC()
	t.UpdatedAt.Time = t.UpdatedAt.UTC()
	return t, nil
}

// collectTasks scans and closes rows.
func collectTasks(rows pgx.Rows) ([]model.Task, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (model.Task, error) { return scanTask(r) })
}

// param writes PostgreSQL's n-th placeholder.
func param(n int) string { return "$" + strconv.Itoa(n) }

// jsonArg binds a JSON value for a jsonb parameter, or NULL when absent.
func jsonArg(raw []byte) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}
