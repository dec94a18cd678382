package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// taskColumns is the select list read by scanTask.
const taskColumns = query.TaskColumns

// taskUpsertSQL inserts a task or overwrites it when the stored version is
// lower (query.TaskUpsert).
// session_id is metadata's sessionId (migration 0003), taken from the
// metadata parameter (?7) by the statement itself.
var taskUpsertSQL = query.TaskUpsert(`?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, json_extract(?7, '$.sessionId')`, "session_id")

// Fixed task queries, prepared at Open.
const (
	taskGetSQL      = `SELECT ` + taskColumns + ` FROM tasks WHERE id = ? AND deleted = 0`
	taskDeleteSQL   = `DELETE FROM tasks WHERE id = ? RETURNING deleted`
	taskCountSQL    = `SELECT status, n FROM task_counts`
	taskCountAllSQL = `SELECT coalesce(sum(n), 0) FROM task_counts`
	taskCountOneSQL = `SELECT coalesce(sum(n), 0) FROM task_counts WHERE status = ?`
)

// TaskUpsert writes t unless a row with the same id and a version greater
// than or equal to t.Version exists. It reports whether it wrote.
func (s *Store) TaskUpsert(ctx context.Context, t model.Task) (bool, error) {
	t, err := model.NormalizeTask(t)
	if err != nil {
		return false, fmt.Errorf("sqlite store: upsert task: %w", err)
	}
	deleted := 0
	if t.Deleted {
		deleted = 1
	}
	if err := s.lockWrite(ctx); err != nil {
		return false, fmt.Errorf("sqlite store: upsert task %q: %w", t.ID, err)
	}
	defer s.unlockWrite()
	res, err := s.stmtTaskUpsert.ExecContext(ctx,
		t.ID, t.Text, t.Status, t.Priority, t.AssignedTo, t.Attempts,
		jsonArg(t.Metadata), jsonArg(t.Result), t.Error,
		t.CreatedAt.UnixMicro(), t.UpdatedAt.UnixMicro(), t.Version, deleted)
	if err != nil {
		return false, fmt.Errorf("sqlite store: upsert task %q: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite store: upsert task %q: rows affected: %w", t.ID, err)
	}
	return n > 0, nil
}

// TaskUpsertMany upserts every task in one transaction.
func (s *Store) TaskUpsertMany(ctx context.Context, ts []model.Task) error {
	if len(ts) == 0 {
		return nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlite store: upsert %d tasks: %w", len(ts), err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: upsert %d tasks: begin: %w", len(ts), err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt := tx.StmtContext(ctx, s.stmtTaskUpsert)
	for _, t := range ts {
		t, err := model.NormalizeTask(t)
		if err != nil {
			return fmt.Errorf("sqlite store: upsert task: %w", err)
		}
		deleted := 0
		if t.Deleted {
			deleted = 1
		}
		if _, err := stmt.ExecContext(ctx,
			t.ID, t.Text, t.Status, t.Priority, t.AssignedTo, t.Attempts,
			jsonArg(t.Metadata), jsonArg(t.Result), t.Error,
			t.CreatedAt.UnixMicro(), t.UpdatedAt.UnixMicro(), t.Version, deleted); err != nil {
			return fmt.Errorf("sqlite store: upsert task %q: %w", t.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: upsert %d tasks: commit: %w", len(ts), err)
	}
	return nil
}

// TaskGet returns the live task with the given id.
func (s *Store) TaskGet(ctx context.Context, id string) (model.Task, error) {
	row := s.stmtTaskGet.QueryRowContext(ctx, id)
	t, err := scanTask(row)
	if isNoRows(err) {
		return model.Task{}, notFound(id)
	}
	if err != nil {
		return model.Task{}, fmt.Errorf("sqlite store: get task %q: %w", id, err)
	}
	return t, nil
}

// dialect is SQLite's SQL for the shared list queries: times are Unix
// microseconds.
var dialect = query.Dialect{
	Param:   param,
	Live:    "deleted = 0",
	Session: "session_id",
	Time:    func(t time.Time) any { return t.UnixMicro() },
	// Generated columns (migration 0003): SQLite seeks a row-value range
	// on an index, and answers from the index alone, only through plain
	// columns, not expressions; session_id is json_extract(metadata,
	// '$.sessionId').
	IDLen:       "id_len",
	NegPriority: "neg_priority",
}

// TaskList returns one page of live tasks matching p. The count and the page
// come from one read transaction, so they agree. The page is read by index
// from the cursor on; the total comes from task_counts, or from a count
// that stops at model.MaxExactCount.
func (s *Store) TaskList(ctx context.Context, p model.TaskListParams) (res model.TaskListResult, err error) {
	q, err := model.NormalizeTaskList(p)
	if err != nil {
		return res, fmt.Errorf("sqlite store: list tasks: %w", err)
	}
	// ReadOnly makes the driver issue a deferred BEGIN, which takes no write
	// lock, instead of BEGIN IMMEDIATE.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("sqlite store: list tasks: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	countSQL, args := countQuery(q)
	if err = tx.QueryRowContext(ctx, countSQL, args...).Scan(&res.TotalCount); err != nil {
		return res, fmt.Errorf("sqlite store: list tasks: count: %w", err)
	}
	if res.TotalCount > model.MaxExactCount && !q.CountedByStatus() {
		res.TotalCount, res.TotalEstimated = model.MaxExactCount, true
	}
	listSQL, args := dialect.TaskList(q)
	rows, err := tx.QueryContext(ctx, listSQL, args...)
	if err != nil {
		return res, fmt.Errorf("sqlite store: list tasks: %w", err)
	}
	res.Tasks, err = collectTasks(rows)
	if err != nil {
		return res, fmt.Errorf("sqlite store: list tasks: %w", err)
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
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlite store: delete task %q: %w", id, err)
	}
	defer s.unlockWrite()
	var deleted bool
	err := s.stmtTaskDelete.QueryRowContext(ctx, id).Scan(&deleted)
	if isNoRows(err) || (err == nil && deleted) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: delete task %q: %w", id, err)
	}
	return nil
}

// TaskCountByStatus returns the live tasks per status from task_counts,
// which triggers keep; every known status is present in the result.
func (s *Store) TaskCountByStatus(ctx context.Context) (map[string]int, error) {
	rows, err := s.stmtTaskCount.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: count tasks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	counts := model.StatusCounts()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite store: count tasks: %w", err)
		}
		if _, known := counts[st]; known {
			counts[st] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: count tasks: %w", err)
	}
	return counts, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanTask reads one row selected with taskColumns.
func scanTask(sc scanner) (model.Task, error) {
	var (
		t                    model.Task
		meta, result         []byte
		createdAt, updatedAt int64
	)
	if err := sc.Scan(&t.ID, &t.Text, &t.Status, &t.Priority, &t.AssignedTo, &t.Attempts,
		&meta, &result, &t.Error, &createdAt, &updatedAt, &t.Version); err != nil {
		return model.Task{}, err
	}
	if meta != nil {
		t.Metadata = meta
	}
	if result != nil {
		t.Result = result
	}
	t.CreatedAt.Time = time.UnixMicro(createdAt).UTC()
	t.UpdatedAt.Time = time.UnixMicro(updatedAt).UTC()
	return t, nil
}

// collectTasks scans and closes rows.
func collectTasks(rows *sql.Rows) ([]model.Task, error) {
	var tasks []model.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		tasks = append(tasks, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return tasks, nil
}

// param writes SQLite's placeholder, the same for every n.
func param(int) string { return "?" }

// jsonArg binds a JSON value as TEXT, or NULL when absent.
func jsonArg(raw []byte) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}
