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

// AuditList returns the audit records matching p, newest first.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) (model.AuditListResult, error) {
	out, err := s.auditList(ctx, p)
	return model.AuditListResult{Records: out}, err
}

func (s *Store) auditList(ctx context.Context, p model.AuditListParams) ([]model.AuditRecord, error) {
	p, err := model.NormalizeAuditList(p)
	if err != nil {
		return nil, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	w := query.Where{Param: param}
	rows, err := s.pool.Query(ctx, query.AuditList(&w, p, p.Since), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("postgres store: list audit records: %w", err)
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
		return nil, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	return out, nil
}

// AuditPurge is not written yet.
func (s *Store) AuditPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, fmt.Errorf("postgres store: audit purge: not implemented")
}

// TaskPurge is not written yet.
func (s *Store) TaskPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, fmt.Errorf("postgres store: task purge: not implemented")
}

// Maintain has nothing to do yet.
func (s *Store) Maintain(ctx context.Context) error { return nil }
