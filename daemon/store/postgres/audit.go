package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

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
		batch.Queue(`INSERT INTO audit_records (
			id, time, session_id, event, tool, decision, rule_ids, reason, latency_micros, instance_id
		) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Time.Time, r.SessionID, r.Event, r.Tool, r.Decision,
			ruleIDs, r.Reason, r.LatencyMicros, r.InstanceID)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }); err != nil {
		return fmt.Errorf("postgres store: insert %d audit records: %w", len(valid), err)
	}
	return invalid
}

// AuditList returns the audit records matching p, newest first.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) ([]model.AuditRecord, error) {
	p, err := model.NormalizeAuditList(p)
	if err != nil {
		return nil, fmt.Errorf("postgres store: list audit records: %w", err)
	}
	var (
		where []string
		args  []any
	)
	for _, f := range []struct{ col, val string }{
		{"session_id", p.SessionID}, {"decision", p.Decision}, {"event", p.Event}, {"tool", p.Tool},
	} {
		if f.val != "" {
			args = append(args, f.val)
			where = append(where, f.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	if !p.Since.IsZero() {
		args = append(args, p.Since)
		where = append(where, "time >= $"+strconv.Itoa(len(args)))
	}
	query := `SELECT id, time, session_id, event, tool, decision, rule_ids, reason, latency_micros, instance_id FROM audit_records`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, p.Limit)
	query += ` ORDER BY time DESC, id DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.pool.Query(ctx, query, args...)
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
