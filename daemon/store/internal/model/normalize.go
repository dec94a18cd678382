package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimePrecision is the precision both backends store times with.
// PostgreSQL timestamptz holds microseconds; SQLite stores the same integer.
const TimePrecision = time.Microsecond

// NormalizeTime converts t to UTC and truncates it to TimePrecision, which is
// exactly what a backend stores and returns.
func NormalizeTime(t time.Time) time.Time {
	return t.UTC().Truncate(TimePrecision)
}

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// NormalizeTask validates t and returns the form a backend stores: times in
// UTC at TimePrecision, a JSON null Metadata or Result turned into nil.
// Errors wrap ErrInvalidArgument.
func NormalizeTask(t Task) (Task, error) {
	if t.ID == "" {
		return Task{}, fmt.Errorf("%w: task id is empty", ErrInvalidArgument)
	}
	if !ValidStatus(t.Status) {
		return Task{}, fmt.Errorf("%w: task %s: status %q is not one of %s",
			ErrInvalidArgument, t.ID, t.Status, strings.Join(Statuses, ", "))
	}
	var err error
	if t.Metadata, err = normalizeJSON(t.Metadata, true); err != nil {
		return Task{}, fmt.Errorf("%w: task %s: metadata: %v", ErrInvalidArgument, t.ID, err)
	}
	if t.Result, err = normalizeJSON(t.Result, false); err != nil {
		return Task{}, fmt.Errorf("%w: task %s: result: %v", ErrInvalidArgument, t.ID, err)
	}
	t.CreatedAt.Time = NormalizeTime(t.CreatedAt.Time)
	t.UpdatedAt.Time = NormalizeTime(t.UpdatedAt.Time)
	return t, nil
}

// normalizeJSON returns nil for an absent value or a JSON null, and
// otherwise checks raw is valid JSON (an object when wantObject).
func normalizeJSON(raw json.RawMessage, wantObject bool) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if !json.Valid(trimmed) {
		return nil, fmt.Errorf("invalid JSON")
	}
	if wantObject && trimmed[0] != '{' {
		return nil, fmt.Errorf("want a JSON object, got %.20s", trimmed)
	}
	return trimmed, nil
}

// NormalizeAudit validates r and returns the form a backend stores: Time in
// UTC at TimePrecision and an empty RuleIDs as nil. Errors wrap
// ErrInvalidArgument.
func NormalizeAudit(r AuditRecord) (AuditRecord, error) {
	if r.ID == "" {
		return AuditRecord{}, fmt.Errorf("%w: audit record id is empty", ErrInvalidArgument)
	}
	r.Time.Time = NormalizeTime(r.Time.Time)
	if len(r.RuleIDs) == 0 {
		r.RuleIDs = nil
	}
	return r, nil
}

// NormalizeAudits normalizes each record of a batch: it returns the valid
// ones, and an error (wrapping ErrInvalidArgument) naming the others.
func NormalizeAudits(rs []AuditRecord) ([]AuditRecord, error) {
	valid := make([]AuditRecord, 0, len(rs))
	var errs []error
	for _, r := range rs {
		r, err := NormalizeAudit(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		valid = append(valid, r)
	}
	return valid, errors.Join(errs...)
}

// List limits.
const (
	DefaultTaskListLimit  = 50
	MaxTaskListLimit      = 1000
	DefaultAuditListLimit = 100
	MaxAuditListLimit     = 1000
)

// taskOrderColumns maps the accepted TaskListParams.OrderBy values to SQL
// sort keys. Only these constant fragments ever reach the SQL text. Every
// ordering ends with the id, which sorts by length first so that
// "t-<digits>" ids come in numeric order; "id" needs no other key.
var taskOrderColumns = map[string]string{
	"":          "created_at",
	"createdAt": "created_at",
	"updatedAt": "updated_at",
	"priority":  "priority",
	"id":        "",
}

// TaskListQuery is a validated TaskListParams.
type TaskListQuery struct {
	Status     string
	AssignedTo string
	Limit      int
	Offset     int
	// OrderClause is a complete ORDER BY clause built only from whitelisted
	// constants, valid in both SQLite and PostgreSQL. It always ends with the
	// id, so that paging is deterministic.
	OrderClause string
}

// NormalizeTaskList validates p against the whitelists and applies the
// defaults (OrderBy createdAt, Order desc, Limit 50, at most 1000).
// Errors wrap ErrInvalidArgument.
func NormalizeTaskList(p TaskListParams) (TaskListQuery, error) {
	col, ok := taskOrderColumns[p.OrderBy]
	if !ok {
		return TaskListQuery{}, fmt.Errorf("%w: orderBy %q is not one of createdAt, updatedAt, priority, id",
			ErrInvalidArgument, p.OrderBy)
	}
	var dir string
	switch strings.ToLower(p.Order) {
	case "", "desc":
		dir = "DESC"
	case "asc":
		dir = "ASC"
	default:
		return TaskListQuery{}, fmt.Errorf("%w: order %q is not asc or desc", ErrInvalidArgument, p.Order)
	}
	limit, err := normalizeLimit(p.Limit, DefaultTaskListLimit, MaxTaskListLimit)
	if err != nil {
		return TaskListQuery{}, err
	}
	if p.Offset < 0 {
		return TaskListQuery{}, fmt.Errorf("%w: offset %d is negative", ErrInvalidArgument, p.Offset)
	}
	var b strings.Builder
	b.WriteString("ORDER BY ")
	if col != "" {
		b.WriteString(col + " " + dir + ", ")
	}
	b.WriteString("length(id) " + dir + ", id " + dir)
	return TaskListQuery{
		Status:      p.Status,
		AssignedTo:  p.AssignedTo,
		Limit:       limit,
		Offset:      p.Offset,
		OrderClause: b.String(),
	}, nil
}

// NormalizeAuditList validates p and applies the defaults (Limit 100, at
// most 1000, Since in UTC). Errors wrap ErrInvalidArgument.
func NormalizeAuditList(p AuditListParams) (AuditListParams, error) {
	limit, err := normalizeLimit(p.Limit, DefaultAuditListLimit, MaxAuditListLimit)
	if err != nil {
		return AuditListParams{}, err
	}
	p.Limit = limit
	if !p.Since.IsZero() {
		p.Since = NormalizeTime(p.Since)
	}
	return p, nil
}

func normalizeLimit(limit, def, maxLimit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: limit %d is negative", ErrInvalidArgument, limit)
	case limit == 0:
		return def, nil
	case limit > maxLimit:
		return maxLimit, nil
	}
	return limit, nil
}

// HasMore reports whether rows beyond a page of n rows at offset remain.
func HasMore(offset, n, total int) bool {
	return offset+n < total
}
