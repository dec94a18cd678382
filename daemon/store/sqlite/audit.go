package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/internal/query"
)

// auditInsertSQL inserts an audit record unless its id exists.
var auditInsertSQL = query.AuditInsert(`?, ?, ?, ?, ?, ?, ?, ?, ?, ?`)

// AuditInsert records rs in one transaction, skipping ids that exist. A
// lone record is one statement, which commits by itself.
func (s *Store) AuditInsert(ctx context.Context, rs ...model.AuditRecord) error {
	valid, invalid := model.NormalizeAudits(rs)
	if invalid != nil {
		invalid = fmt.Errorf("sqlite store: insert audit records: %w", invalid)
	}
	if len(valid) == 0 {
		return invalid
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlite store: insert %d audit records: %w", len(valid), err)
	}
	defer s.unlockWrite()
	stmt, tx := s.stmtAuditInsert, (*sql.Tx)(nil)
	if len(valid) > 1 {
		var err error
		if tx, err = s.db.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("sqlite store: insert %d audit records: begin: %w", len(valid), err)
		}
		defer func() { _ = tx.Rollback() }()
		stmt = tx.StmtContext(ctx, stmt)
	}
	for _, r := range valid {
		ruleIDs := []byte("[]")
		if r.RuleIDs != nil {
			ruleIDs, _ = json.Marshal(r.RuleIDs) // a []string always encodes
		}
		if _, err := stmt.ExecContext(ctx, r.ID, r.Time.UnixMicro(), r.SessionID, r.Event, r.Tool,
			r.Decision, string(ruleIDs), r.Reason, r.LatencyMicros, r.InstanceID); err != nil {
			return fmt.Errorf("sqlite store: insert audit record %q: %w", r.ID, err)
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite store: insert %d audit records: commit: %w", len(valid), err)
		}
	}
	return invalid
}

// AuditList returns a page of the audit records matching p, newest first,
// read by index from its cursor on.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) (model.AuditListResult, error) {
	q, err := model.NormalizeAuditList(p)
	if err != nil {
		return model.AuditListResult{}, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	listSQL, args := dialect.AuditList(q)
	rows, err := s.db.QueryContext(ctx, listSQL, args...)
	if err != nil {
		return model.AuditListResult{}, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var res model.AuditListResult
	for rows.Next() {
		var (
			r       model.AuditRecord
			micros  int64
			ruleIDs string
		)
		if err := rows.Scan(&r.ID, &micros, &r.SessionID, &r.Event, &r.Tool, &r.Decision,
			&ruleIDs, &r.Reason, &r.LatencyMicros, &r.InstanceID); err != nil {
			return model.AuditListResult{}, fmt.Errorf("sqlite store: list audit records: %w", err)
		}
		if err := json.Unmarshal([]byte(ruleIDs), &r.RuleIDs); err != nil {
			return model.AuditListResult{}, fmt.Errorf("sqlite store: list audit records: decode rule ids of %q: %w", r.ID, err)
		}
		if len(r.RuleIDs) == 0 {
			r.RuleIDs = nil
		}
		r.Time.Time = time.UnixMicro(micros).UTC()
		res.Records = append(res.Records, r)
	}
	if err := rows.Err(); err != nil {
		return model.AuditListResult{}, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	if len(res.Records) > q.Limit {
		res.Records = res.Records[:q.Limit]
		res.NextCursor = q.CursorFor(res.Records[q.Limit-1])
	}
	return res, nil
}

// AuditPurge deletes up to limit audit records older than before, oldest
// first, in one transaction.
func (s *Store) AuditPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlite store: purge audit records: %w: limit %d is not positive", model.ErrInvalidArgument, limit)
	}
	stmt, args := dialect.AuditPurge(model.NormalizeTime(before), limit)
	n, err := s.execCount(ctx, stmt, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite store: purge audit records before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// TaskPurge deletes up to limit finished tasks and tombstones last updated
// before before, oldest first, in one transaction; pending and in-progress
// tasks are never candidates. The count triggers keep task_counts exact.
func (s *Store) TaskPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlite store: purge tasks: %w: limit %d is not positive", model.ErrInvalidArgument, limit)
	}
	stmt, args := dialect.TaskPurge("deleted = 1", model.NormalizeTime(before), limit)
	n, err := s.execCount(ctx, stmt, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite store: purge tasks before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// execCount runs one write statement under the write gate and returns the
// rows it changed.
func (s *Store) execCount(ctx context.Context, stmt string, args ...any) (int, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, err
	}
	defer s.unlockWrite()
	res, err := s.db.ExecContext(ctx, stmt, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return int(n), nil
}

// Maintain has nothing to do: SQLite's counters are exact at every commit
// and the store checkpoints its WAL itself.
func (s *Store) Maintain(ctx context.Context) error { return ctx.Err() }
