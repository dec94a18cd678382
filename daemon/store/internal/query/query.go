// Package query holds the SQL text the store backends share: the column
// lists, the statement shapes both dialects write alike, and a WHERE builder
// that numbers placeholders the way each dialect wants. What differs between
// the dialects (placeholders, booleans, time encoding) stays with each
// backend.
package query

import (
	"strings"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// TaskColumns is the select list every backend's scanTask reads.
const TaskColumns = `id, text, status, priority, assigned_to, attempts, metadata, result, error, created_at, updated_at, version`

// AuditColumns are audit_records' columns, in the order backends bind and
// scan them.
const AuditColumns = `id, time, session_id, event, tool, decision, rule_ids, reason, latency_micros, instance_id`

// taskUpdated are the columns an upsert overwrites (all but id).
var taskUpdated = []string{
	"text", "status", "priority", "assigned_to", "attempts", "metadata", "result", "error",
	"created_at", "updated_at", "version", "deleted",
}

// TaskUpsert returns the statement that inserts a task (TaskColumns, then
// deleted, bound by values: the dialect's 13 placeholders) or overwrites it
// when the stored version is lower. It is one statement, so concurrent
// writers serialize on the row and the highest version wins.
func TaskUpsert(values string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO tasks (" + TaskColumns + ", deleted) VALUES (" + values + ")\nON CONFLICT (id) DO UPDATE SET\n")
	for i, c := range taskUpdated {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("\t" + c + " = excluded." + c)
	}
	b.WriteString("\nWHERE tasks.version < excluded.version")
	return b.String()
}

// AuditInsert returns the statement that inserts an audit record (bound by
// values: the dialect's 10 placeholders) unless its id exists.
func AuditInsert(values string) string {
	return "INSERT INTO audit_records (" + AuditColumns + ") VALUES (" + values + ") ON CONFLICT (id) DO NOTHING"
}

// AuditList returns the query for the records matching p, newest first, and
// its arguments; since is how the dialect binds p.Since.
func AuditList(w *Where, p model.AuditListParams, since any) string {
	for _, f := range []struct{ col, val string }{
		{"session_id", p.SessionID}, {"decision", p.Decision}, {"event", p.Event}, {"tool", p.Tool},
	} {
		if f.val != "" {
			w.Cond(f.col + " = " + w.Arg(f.val))
		}
	}
	if !p.Since.IsZero() {
		w.Cond("time >= " + w.Arg(since))
	}
	q := `SELECT ` + AuditColumns + ` FROM audit_records`
	if c := w.String(); c != "" {
		q += ` WHERE ` + c
	}
	return q + ` ORDER BY time DESC, id DESC LIMIT ` + w.Arg(p.Limit)
}

// Where builds the conditions of a WHERE clause and their arguments.
type Where struct {
	// Param writes the n-th (from 1) placeholder: "$1" or "?".
	Param func(n int) string
	// Args are the arguments bound so far, in placeholder order.
	Args  []any
	conds []string
}

// Arg binds val and returns its placeholder.
func (w *Where) Arg(val any) string {
	w.Args = append(w.Args, val)
	return w.Param(len(w.Args))
}

// Cond adds a condition, ANDed with the others.
func (w *Where) Cond(cond string) { w.conds = append(w.conds, cond) }

// String returns the conditions joined by AND, or "" for none.
func (w *Where) String() string { return strings.Join(w.conds, " AND ") }
