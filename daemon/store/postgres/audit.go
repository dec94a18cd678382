package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// auditInsertSQL inserts an audit record unless its id exists.
var auditInsertSQL = query.AuditInsert(`$1, $2, $3, $4, $5, $6, $7, $8, $9, $10`)

// AuditInsert records rs in one transaction (one round trip), skipping
// ids that exist.
func (s *Store) AuditInsert(ctx context.Context, rs ...model.AuditRecord) error {
	valid, invalid := model.NormalizeAudits(rs)
	if invalid != nil {
		invalid = fmt.Errorf("postgres store: insert audit records: %w", invalid)
	}
	if len(valid) == 0 {
		return invalid
	}
	batch := &pgx.Batch{}
	for _, r := range valid {
		ruleIDs := r.RuleIDs
		if ruleIDs == nil {
			ruleIDs = []string{} // a nil slice would bind as NULL
		}
		batch.Queue(auditInsertSQL,
			r.ID, r.Time.Time, r.SessionID, r.Event, r.Tool, r.Decision,
			ruleIDs, r.Reason, r.LatencyMicros, r.InstanceID)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }); err != nil {
		return fmt.Errorf("postgres store: insert %d audit records: %w", len(valid), err)
	}
	return invalid
}

// AuditList returns a page of the audit records matching p, newest first,
// read by index from its cursor on.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) (model.AuditListResult, error) {
	q, err := model.NormalizeAuditList(p)
	if err != nil {
		return model.AuditListResult{}, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	listSQL, args := dialect.AuditList(q)
	rows, err := s.pool.Query(ctx, listSQL, args...)
	if err != nil {
		return model.AuditListResult{}, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.AuditRecord, error) {
		var r model.AuditRecord
		if err := row.Scan(&r.ID, &r.Time.Time, &r.SessionID, &r.Event, &r.Tool, &r.Decision,
			&r.RuleIDs, &r.Reason, &r.LatencyMicros, &r.InstanceID); err != nil {
			return r, err
		}
		r.Time.Time = r.Time.UTC()
		if len(r.RuleIDs) == 0 {
			r.RuleIDs = nil
		}
		return r, nil
	})
	if err != nil {
		return model.AuditListResult{}, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	res := model.AuditListResult{Records: out}
	if len(out) > q.Limit {
		res.Records = out[:q.Limit]
		res.NextCursor = q.CursorFor(out[q.Limit-1])
	}
	return res, nil
}

// AuditPurge deletes up to limit audit records older than before, oldest
// first, in one statement.
func (s *Store) AuditPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres store: purge audit records: %w: limit %d is not positive", model.ErrInvalidArgument, limit)
	}
	stmt, args := dialect.AuditPurge(model.NormalizeTime(before), limit)
	tag, err := s.pool.Exec(ctx, stmt, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres store: purge audit records before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

// TaskPurge deletes up to limit finished tasks and tombstones last updated
// before before, oldest first, in one statement; pending and in-progress
// tasks are never candidates. The count triggers record the deltas.
func (s *Store) TaskPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres store: purge tasks: %w: limit %d is not positive", model.ErrInvalidArgument, limit)
	}
	stmt, args := dialect.TaskPurge("deleted", model.NormalizeTime(before), limit)
	tag, err := s.pool.Exec(ctx, stmt, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres store: purge tasks before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

// maintainLockKey is the first key of the advisory lock held while folding
// counter deltas; the second is a hash of the schema.
const maintainLockKey int32 = 0x63620002 // "cb" 0002

// Maintain folds the per-status deltas the task triggers append into
// task_counts, in one transaction under a transaction-scoped advisory lock
// so that concurrent daemons never update the counter rows in opposite
// orders (one folds, the others skip). Writers only ever append deltas, so
// they never wait on a counter row.
func (s *Store) Maintain(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))`,
			maintainLockKey).Scan(&locked); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if !locked {
			return nil // another daemon is folding
		}
		_, err := tx.Exec(ctx, `WITH d AS (DELETE FROM task_count_deltas RETURNING status, n)
			INSERT INTO task_counts (status, n)
			SELECT status, sum(n) FROM d GROUP BY status ORDER BY status
			ON CONFLICT (status) DO UPDATE SET n = task_counts.n + excluded.n`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres store: maintain: fold counters: %w", err)
	}
	return nil
}
