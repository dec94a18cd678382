// Package query holds the SQL text the store backends share: the column
// lists, the statement shapes both dialects write alike, and a WHERE builder
// that numbers placeholders the way each dialect wants. What differs between
// the dialects (placeholders, booleans, time encoding) stays with each
// backend.
package query

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/protocol/api"
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

// AttachmentColumns are task_attachments' columns, in the order backends
// bind and scan them.
const AttachmentColumns = `task_id, key, type, value, size, created_by, created_at, updated_at`

// GroupAttachments orders found (each task's attachments in a run, oldest
// first) by task in the order of taskIDs, each task once.
func GroupAttachments(found []model.Attachment, taskIDs []string) []model.Attachment {
	if len(found) == 0 {
		return nil
	}
	runs := make(map[string][]model.Attachment)
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].TaskID == found[i].TaskID {
			j++
		}
		runs[found[i].TaskID] = found[i:j:j]
		i = j
	}
	out := make([]model.Attachment, 0, len(found))
	for _, id := range taskIDs {
		out = append(out, runs[id]...)
		delete(runs, id) // a repeated id adds nothing
	}
	return out
}

// TaskUpsert returns the statement that inserts a task (TaskColumns, then
// deleted, then any extra columns, bound by values: the dialect's 13
// placeholders and the extra columns' expressions) or overwrites it when
// the stored version is lower. It is one statement, so concurrent writers
// serialize on the row and the highest version wins.
func TaskUpsert(values string, extra ...string) string {
	var b strings.Builder
	cols := TaskColumns + ", deleted"
	for _, c := range extra {
		cols += ", " + c
	}
	b.WriteString("INSERT INTO tasks (" + cols + ") VALUES (" + values + ")\nON CONFLICT (id) DO UPDATE SET\n")
	for i, c := range append(slices.Clip(taskUpdated), extra...) {
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

// Dialect is what the task and audit list queries need to know of a
// backend's SQL.
type Dialect struct {
	// Param writes the n-th (from 1) placeholder: "$1" or "?".
	Param func(n int) string
	// Live is the condition that keeps live (not tombstoned) tasks, written
	// exactly as the partial indexes' WHERE clauses are.
	Live string
	// Session is the expression for metadata's sessionId, as indexed.
	Session string
	// Time binds a time the way the dialect stores it.
	Time func(t time.Time) any
	// IDLen and NegPriority are length(id) and -priority as the indexes
	// hold them (SQLite: generated columns, so that a row-value range on
	// them seeks the index on every key).
	IDLen, NegPriority string
}

// orderKeys returns q's sort keys, all sorted in q's direction.
func (d Dialect) orderKeys(q model.TaskListQuery) []string {
	if q.Key == model.KeyNegPriority {
		return []string{d.NegPriority, d.IDLen, "id"}
	}
	return []string{q.Key, d.IDLen, "id"}
}

// OrderClause returns q's ORDER BY clause.
func (d Dialect) OrderClause(q model.TaskListQuery) string {
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	keys := d.orderKeys(q)
	for i := range keys {
		keys[i] += dir
	}
	return "ORDER BY " + strings.Join(keys, ", ")
}

// Where starts a WHERE builder for the dialect.
func (d Dialect) Where() *Where { return &Where{Param: d.Param} }

// taskFilters adds q's filters (not its cursor) to w. The literal
// "assigned_to != ”" and "IS NOT NULL" terms let the planner use the
// partial assignee and session indexes.
func (d Dialect) taskFilters(w *Where, q model.TaskListQuery, page bool) {
	w.Cond(d.Live)
	if q.Status != "" {
		w.Cond("status = " + w.Arg(q.Status))
	}
	if q.AssignedTo != "" {
		w.Cond("assigned_to = " + w.Arg(q.AssignedTo))
		w.Cond("assigned_to != ''")
	}
	if q.Session != "" {
		w.Cond(d.Session + " = " + w.Arg(q.Session))
		w.Cond(d.Session + " IS NOT NULL")
	}
	// A cursor of a page by updatedAt descending already bounds updated_at
	// below UpdatedBefore; SQLite seeks by one upper bound only, and must
	// take the cursor's.
	if !q.UpdatedBefore.IsZero() && !(page && q.After != nil && q.OrderBy == "updatedAt" && q.Desc) {
		w.Cond("updated_at < " + w.Arg(d.Time(q.UpdatedBefore)))
	}
}

// TaskList returns the query for one page of q plus one row (so the caller
// knows whether more follow) and its arguments. A cursor becomes a row-value
// comparison on the sort keys, all in one direction, which an index on
// (filter, key, length(id), id) answers by a range scan.
//
// A list without a status, assignee or session filter reads the page of
// each status from its (status, key) index and merges them: no index of
// the whole table is kept for it, so that every task write pays for three
// indexes fewer. That costs four short range reads and a sort of at most
// four pages, the same at any size.
func (d Dialect) TaskList(q model.TaskListQuery) (string, []any) {
	w := d.Where()
	if q.Status != "" || q.AssignedTo != "" || q.Session != "" {
		sql := `SELECT ` + TaskColumns + ` FROM tasks WHERE ` + d.pageWhere(w, q) + ` ` + d.OrderClause(q) + ` LIMIT ` + strconv.Itoa(q.Limit+1)
		if q.Offset > 0 {
			sql += ` OFFSET ` + w.Arg(q.Offset)
		}
		return sql, w.Args
	}
	keys := d.orderKeys(q)
	sel := TaskColumns
	for i, k := range keys[:len(keys)-1] { // the last key is id, a column already
		sel += ", " + k + " AS k" + strconv.Itoa(i)
	}
	armLimit := strconv.Itoa(q.Offset + q.Limit + 1)
	arms := make([]string, len(model.Statuses))
	for i, st := range model.Statuses {
		one := q
		one.Status = st
		arms[i] = `SELECT * FROM (SELECT ` + sel + ` FROM tasks WHERE ` + d.pageWhere(w, one) + ` ` + d.OrderClause(q) + ` LIMIT ` + armLimit + `) AS s` + strconv.Itoa(i)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	var order []string
	for i := range keys[:len(keys)-1] {
		order = append(order, "k"+strconv.Itoa(i)+dir)
	}
	order = append(order, "id"+dir)
	sql := `SELECT ` + TaskColumns + ` FROM (` + strings.Join(arms, ` UNION ALL `) + `) AS merged ORDER BY ` +
		strings.Join(order, ", ") + ` LIMIT ` + strconv.Itoa(q.Limit+1)
	if q.Offset > 0 {
		sql += ` OFFSET ` + w.Arg(q.Offset)
	}
	return sql, w.Args
}

// pageWhere adds q's filters and cursor to w and returns its conditions.
func (d Dialect) pageWhere(w *Where, q model.TaskListQuery) string {
	page := d.Where()
	page.Args = w.Args
	d.taskFilters(page, q, true)
	if c := q.After; c != nil {
		op := " > "
		if q.Desc {
			op = " < "
		}
		// Bind in placeholder order: SQLite's "?" are positional.
		var key any = c.Key
		if q.KeyIsTime {
			key = d.Time(time.UnixMicro(c.Key))
		}
		vals := []string{page.Arg(key)}
		// length() counts characters in both dialects.
		vals = append(vals, page.Arg(utf8.RuneCountInString(c.ID)), page.Arg(c.ID))
		page.Cond("(" + strings.Join(d.orderKeys(q), ", ") + ")" + op + "(" + strings.Join(vals, ", ") + ")")
	}
	w.Args = page.Args
	return page.String()
}

// TaskCountCapped returns the query counting the tasks matching q's
// filters, stopping at model.MaxExactCount+1 rows.
func (d Dialect) TaskCountCapped(q model.TaskListQuery) (string, []any) {
	w := d.Where()
	d.taskFilters(w, q, false)
	return `SELECT count(*) FROM (SELECT 1 FROM tasks WHERE ` + w.String() +
		` LIMIT ` + strconv.Itoa(model.MaxExactCount+1) + `) AS capped`, w.Args
}

// TaskPurge returns the statement deleting up to limit rows, oldest
// updated_at first, among finished live tasks and tombstones last updated
// before before; it returns the number of rows deleted through RETURNING.
// Each of the three candidate sets is read by its own index (status,
// updated_at) or the tombstone index, at most limit rows each, so the
// statement costs O(limit) whatever the table holds. tombstone is the
// dialect's condition for a tombstone, written as its index is.
func (d Dialect) TaskPurge(tombstone string, before time.Time, limit int) (string, []any) {
	w := d.Where()
	cand := func(name, cond string) string {
		return `SELECT id, updated_at FROM (SELECT id, updated_at FROM tasks WHERE ` + cond +
			` AND updated_at < ` + w.Arg(d.Time(before)) + ` ORDER BY updated_at LIMIT ` + w.Arg(limit) + `) AS ` + name
	}
	sql := `DELETE FROM tasks WHERE id IN (SELECT id FROM (` +
		cand("c", d.Live+` AND status = '`+api.StatusCompleted+`'`) + ` UNION ALL ` +
		cand("f", d.Live+` AND status = '`+api.StatusFailed+`'`) + ` UNION ALL ` +
		cand("t", tombstone) +
		`) AS oldest ORDER BY updated_at LIMIT ` + w.Arg(limit) + `)`
	return sql, w.Args
}

// AuditPurge returns the statement deleting up to limit audit records older
// than before, oldest first, read by the (time, id) index.
func (d Dialect) AuditPurge(before time.Time, limit int) (string, []any) {
	w := d.Where()
	return `DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records WHERE time < ` +
		w.Arg(d.Time(before)) + ` ORDER BY time, id LIMIT ` + w.Arg(limit) + `)`, w.Args
}

// AuditList returns the query for a page of the records matching q, newest
// first, plus one row, and its arguments.
func (d Dialect) AuditList(q model.AuditListQuery) (string, []any) {
	w := d.Where()
	p := q.AuditListParams
	for _, f := range []struct{ col, val string }{
		{"session_id", p.SessionID}, {"decision", p.Decision}, {"event", p.Event}, {"tool", p.Tool},
	} {
		if f.val != "" {
			w.Cond(f.col + " = " + w.Arg(f.val))
		}
	}
	if !p.Since.IsZero() {
		w.Cond("time >= " + w.Arg(d.Time(p.Since)))
	}
	if c := q.Cursor; c != nil {
		w.Cond("(time, id) < (" + w.Arg(d.Time(time.UnixMicro(c.Key))) + ", " + w.Arg(c.ID) + ")")
	}
	sql := `SELECT ` + AuditColumns + ` FROM audit_records`
	if c := w.String(); c != "" {
		sql += ` WHERE ` + c
	}
	return sql + ` ORDER BY time DESC, id DESC LIMIT ` + strconv.Itoa(p.Limit+1), w.Args
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
