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

// AuditList returns the audit records matching p, newest first.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) (model.AuditListResult, error) {
	out, err := s.auditList(ctx, p)
	return model.AuditListResult{Records: out}, err
}

func (s *Store) auditList(ctx context.Context, p model.AuditListParams) ([]model.AuditRecord, error) {
	p, err := model.NormalizeAuditList(p)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	w := query.Where{Param: param}
	rows, err := s.db.QueryContext(ctx, query.AuditList(&w, p, p.Since.UnixMicro()), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []model.AuditRecord
	for rows.Next() {
		var (
			r       model.AuditRecord
			micros  int64
			ruleIDs string
		)
		if err := rows.Scan(&r.ID, &micros, &r.SessionID, &r.Event, &r.Tool, &r.Decision,
			&ruleIDs, &r.Reason, &r.LatencyMicros, &r.InstanceID); err != nil {
			return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
		}
		if err := json.Unmarshal([]byte(ruleIDs), &r.RuleIDs); err != nil {
			return nil, fmt.Errorf("sqlite store: list audit records: decode rule ids of %q: %w", r.ID, err)
		}
		if len(r.RuleIDs) == 0 {
			r.RuleIDs = nil
		}
		r.Time.Time = time.UnixMicro(micros).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	return out, nil
}

// AuditPurge is not written yet.
func (s *Store) AuditPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, fmt.Errorf("sqlite store: audit purge: not implemented")
}

// TaskPurge is not written yet.
func (s *Store) TaskPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, fmt.Errorf("sqlite store: task purge: not implemented")
}

// Maintain has nothing to do yet.
func (s *Store) Maintain(ctx context.Context) error { return nil }
