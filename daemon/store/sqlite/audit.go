package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// auditInsertSQL inserts an audit record unless its id exists.
const auditInsertSQL = `INSERT INTO audit_records (
	id, time, session_id, event, tool, decision, rule_ids, reason, latency_micros, instance_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// AuditInsert records rs in one transaction, skipping ids that exist.
func (s *Store) AuditInsert(ctx context.Context, rs ...model.AuditRecord) error {
	type row struct {
		r       model.AuditRecord
		ruleIDs string
	}
	rows := make([]row, 0, len(rs))
	var errs []error
	for _, r := range rs {
		r, err := model.NormalizeAudit(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("sqlite store: insert audit record: %w", err))
			continue
		}
		ruleIDs := []byte("[]")
		if r.RuleIDs != nil {
			if ruleIDs, err = json.Marshal(r.RuleIDs); err != nil {
				errs = append(errs, fmt.Errorf("sqlite store: insert audit record %q: encode rule ids: %w", r.ID, err))
				continue
			}
		}
		rows = append(rows, row{r, string(ruleIDs)})
	}
	if len(rows) > 0 {
		errs = append(errs, s.auditInsertRows(ctx, len(rows), func(stmt *sql.Stmt) error {
			for _, w := range rows {
				r := w.r
				if _, err := stmt.ExecContext(ctx, r.ID, r.Time.UnixMicro(), r.SessionID, r.Event, r.Tool,
					r.Decision, w.ruleIDs, r.Reason, r.LatencyMicros, r.InstanceID); err != nil {
					return fmt.Errorf("sqlite store: insert audit record %q: %w", r.ID, err)
				}
			}
			return nil
		}))
	}
	return errors.Join(errs...)
}

// auditInsertRows runs insert with the audit insert statement in one write
// transaction (n is how many rows it inserts).
func (s *Store) auditInsertRows(ctx context.Context, n int, insert func(*sql.Stmt) error) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlite store: insert %d audit records: %w", n, err)
	}
	defer s.unlockWrite()
	if n == 1 {
		// A statement outside a transaction commits by itself: one round
		// of BEGIN and COMMIT less for the common lone record.
		return insert(s.stmtAuditInsert)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: insert %d audit records: begin: %w", n, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := insert(tx.StmtContext(ctx, s.stmtAuditInsert)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: insert %d audit records: commit: %w", n, err)
	}
	return nil
}

// AuditList returns the audit records matching p, newest first.
func (s *Store) AuditList(ctx context.Context, p model.AuditListParams) ([]model.AuditRecord, error) {
	p, err := model.NormalizeAuditList(p)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	var (
		where []string
		args  []any
	)
	for _, f := range []struct{ col, val string }{
		{"session_id", p.SessionID}, {"decision", p.Decision}, {"event", p.Event}, {"tool", p.Tool},
	} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if !p.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, p.Since.UnixMicro())
	}
	query := `SELECT id, time, session_id, event, tool, decision, rule_ids, reason, latency_micros, instance_id FROM audit_records`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, p.Limit)

	rows, err := s.db.QueryContext(ctx, query, args...)
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
		r.Time = time.UnixMicro(micros).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: list audit records: %w", err)
	}
	return out, nil
}
