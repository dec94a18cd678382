// Package store is the durable cold store of ClaudeBench.
//
// Redis holds the hot state of tasks; a Store sits behind it as write-through
// durable storage, so task history survives Redis losing its data, and it
// keeps an audit trail of hook decisions. SQLite (an embedded file) is the
// default backend; PostgreSQL is used when a postgres:// or postgresql:// URL
// is configured, and several daemons may share one PostgreSQL database.
//
// The value types are declared in an internal package and re-exported here
// as aliases, so that the backend packages (store/sqlite, store/postgres) can
// implement Store while this package opens them. Always refer to them
// through this package.
package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/daemon/store/postgres"
	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/protocol/api"
)

// Backend kinds returned by Store.Kind.
const (
	KindSQLite   = model.KindSQLite
	KindPostgres = model.KindPostgres
)

// Task statuses. Pending and in-progress tasks are non-terminal.
const (
	StatusPending    = api.StatusPending
	StatusInProgress = api.StatusInProgress
	StatusCompleted  = api.StatusCompleted
	StatusFailed     = api.StatusFailed
)

// List limits applied by TaskList and AuditList.
const (
	DefaultTaskListLimit  = model.DefaultTaskListLimit
	MaxTaskListLimit      = model.MaxTaskListLimit
	DefaultAuditListLimit = model.DefaultAuditListLimit
	MaxAuditListLimit     = model.MaxAuditListLimit
)

// ErrNotFound is returned (wrapped) by TaskGet and TaskDelete when the task
// does not exist. Test for it with errors.Is.
var ErrNotFound = model.ErrNotFound

// ErrInvalidArgument is returned (wrapped) when a Task, AuditRecord or list
// parameter fails validation: an empty id, an unknown status, malformed JSON,
// an OrderBy or Order outside the whitelist, a negative Limit or Offset, an
// UpdatedBefore that is not RFC 3339, a malformed cursor or one made for
// other filters or another order, After with Offset, or a purge limit that
// is not positive.
var ErrInvalidArgument = model.ErrInvalidArgument

// ErrTooManyAttachments is returned (wrapped) by AttachmentPut when a new
// key would take a task past its maximum number of attachments.
var ErrTooManyAttachments = model.ErrTooManyAttachments

// Attachment is one typed key/value entry of a task, an api.Attachment.
// Stores keep its times in UTC with microsecond precision; Value
// round-trips semantically (PostgreSQL may reformat it), and Size is the
// byte length of Value as given to AttachmentPut.
type Attachment = model.Attachment

// Task is the durable copy of one task: an api.Task (the task as the API
// shows it) plus Deleted, a tombstone flag that is never serialized to JSON.
// Version increases monotonically per task and is set by the caller (Redis
// HINCRBY); LeaseExpiresAt is hot state that stores neither write nor read.
//
// Stores keep times in UTC with microsecond precision. A JSON null in
// Metadata or Result is stored as absent and reads back as nil; JSON values
// round-trip semantically (PostgreSQL may reformat whitespace and key order).
//
// Upserting a Task with Deleted set records a tombstone: the row keeps its
// version, so a stale write cannot resurrect the task, but TaskGet,
// TaskList and TaskCountByStatus no longer see it.
// A later upsert with a higher version and Deleted unset brings it back.
type Task = model.Task

// AuditRecord is one hook decision, an api.AuditRecord; its ID (the event
// id) is unique. Time is kept in UTC with microsecond precision; an empty
// RuleIDs reads back as nil.
type AuditRecord = model.AuditRecord

// TaskListParams filters and pages TaskList: task.list's params. Status,
// AssignedTo and Session (metadata.sessionId) filter by exact match when
// non-empty; UpdatedBefore (RFC 3339) keeps tasks last changed before it.
// Limit defaults to DefaultTaskListLimit and is capped at MaxTaskListLimit.
// OrderBy is one of "createdAt" (default), "updatedAt", "id" (the same
// order as createdAt: an id is made from its creation time), "queue"
// (priority descending, then id ascending: the order a claim takes pending
// tasks) or "priority" (the queue's order: desc is queue asc); Order is
// "asc" or "desc" (default; asc for queue). Ties are broken by id (numeric
// order) in the same direction. After is a cursor, the NextCursor of the
// page before, valid only with the same filters and order; a page read by
// cursor costs the same at any depth, except that queue and priority with
// AssignedTo or Session sort that assignee's or session's tasks. Offset
// and After exclude each other.
type TaskListParams = model.TaskListParams

// TaskListResult is one page of TaskList: the tasks, the number of tasks
// matching the filters regardless of paging (exact, from counters, for no
// filter or a status alone; otherwise counted up to MaxExactCount and then
// marked TotalEstimated), whether more follow and, if so, the cursor of the
// next page.
type TaskListResult = model.TaskListResult

// MaxExactCount is where TaskList stops counting matches no counter keeps.
const MaxExactCount = model.MaxExactCount

// AuditListParams filters AuditList. Non-empty strings filter by exact
// match; a non-zero Since keeps records at or after it. Limit defaults to
// DefaultAuditListLimit and is capped at MaxAuditListLimit. After is the
// NextCursor of the previous page.
type AuditListParams = model.AuditListParams

// AuditListResult is one page of AuditList, newest first, with the cursor
// of the next page when more records match.
type AuditListResult = model.AuditListResult

// Store is the durable cold store. Implementations are safe for concurrent
// use by multiple goroutines and, for PostgreSQL, by multiple processes.
type Store interface {
	// TaskUpsert writes t if no row exists or the stored version is lower
	// than t.Version (a stale write is a no-op, not an error). It reports
	// whether it wrote. The check and the write are one atomic statement.
	TaskUpsert(ctx context.Context, t Task) (bool, error)
	// TaskUpsertMany applies TaskUpsert to every task in one transaction
	// (group commit for many concurrent writers).
	TaskUpsertMany(ctx context.Context, ts []Task) error
	// TaskGet returns the task with the given id, or an error wrapping
	// ErrNotFound if there is none (or only a tombstone).
	TaskGet(ctx context.Context, id string) (Task, error)
	// TaskList returns one page of tasks matching p, read from a consistent
	// snapshot. A page costs the same at any size of the store and any
	// depth reached by cursor: it is read from an index in order from the
	// cursor on, and the total comes from counters (no filter, or a status
	// alone) or a count capped at MaxExactCount. Offset still reads and
	// skips Offset rows.
	TaskList(ctx context.Context, p TaskListParams) (TaskListResult, error)
	// TaskDelete removes the task row (hard delete, tombstone included). It
	// returns an error wrapping ErrNotFound if no live task existed.
	TaskDelete(ctx context.Context, id string) error
	// TaskCountByStatus counts tasks per status. Every known status is
	// present in the map, with 0 when no task has it. It reads counters
	// the writes keep, so it costs the same at any size.
	TaskCountByStatus(ctx context.Context) (map[string]int, error)
	// TaskPurge deletes up to limit finished (completed or failed) tasks
	// last updated before before, oldest first, and tombstones older than
	// before; it never touches a pending or in-progress task. It returns
	// how many rows it removed, so a caller deletes in small batches until
	// it returns less than limit.
	TaskPurge(ctx context.Context, before time.Time, limit int) (int, error)
	// AttachmentPut stores a: it inserts it, or, when the task already has
	// an attachment with a.Key, replaces its Type, Value, Size, CreatedBy
	// and UpdatedAt (CreatedAt stays). It returns the attachment as stored.
	// A zero UpdatedAt is the time of the put, a zero CreatedAt UpdatedAt.
	// The task must exist and not be a tombstone (else ErrNotFound). A new
	// key on a task that has max attachments already is refused with
	// ErrTooManyAttachments (max <= 0: no limit); the count and the insert
	// are one transaction. An empty TaskID or Key, a Type not in
	// api.AttachmentTypes or a Value that is not JSON is ErrInvalidArgument,
	// as are a TaskID, Key or CreatedBy that is not UTF-8 or holds a NUL.
	AttachmentPut(ctx context.Context, a Attachment, max int) (Attachment, error)
	// AttachmentList returns the attachments of the tasks taskIDs, grouped
	// by task in the order given, each task's oldest first (CreatedAt, then
	// Key); key != "" keeps only that key. Tasks without any (or unknown)
	// contribute nothing. It reads an index on (task id, ...) only.
	AttachmentList(ctx context.Context, taskIDs []string, key string) ([]Attachment, error)
	// TaskDelete, TaskPurge and a tombstone upsert (Deleted set) remove the
	// task's attachments with it.

	// AuditInsert records rs in one transaction. It is idempotent by ID:
	// inserting an existing id is a no-op that keeps the first record. An
	// invalid record (ErrInvalidArgument) is left out, the others are
	// written, and the error names it.
	AuditInsert(ctx context.Context, rs ...AuditRecord) error
	// AuditList returns one page of the records matching p, newest first.
	AuditList(ctx context.Context, p AuditListParams) (AuditListResult, error)
	// AuditPurge deletes up to limit records older than before, oldest
	// first, and returns how many it removed.
	AuditPurge(ctx context.Context, before time.Time, limit int) (int, error)
	// Maintain does the store's periodic bookkeeping (PostgreSQL folds the
	// counter deltas its writes leave; SQLite has nothing to do); cbd calls
	// it every few seconds. It is safe to call from several processes at
	// once. On PostgreSQL a count reads the deltas written since the last
	// fold, so without Maintain counting slows as writes accumulate (it
	// stays exact).
	Maintain(ctx context.Context) error
	// Ping checks that the backend is reachable.
	Ping(ctx context.Context) error
	// Kind returns KindSQLite or KindPostgres.
	Kind() string
	// Close releases the backend's resources. It is safe to call more than
	// once.
	Close() error
}

// Both backends must satisfy Store.
var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// Open opens the store configured by url:
//
//   - "postgres://..." or "postgresql://...": PostgreSQL at that URL (a
//     search_path query parameter selects the schema);
//   - "sqlite://<path>", "file://<path>" or "file:<path>": SQLite at path;
//   - "": SQLite at sqlitePath.
//
// Any other url is an error. For SQLite the parent directory is created with
// mode 0700 if missing. Migrations are applied before Open returns.
func Open(ctx context.Context, url string, sqlitePath string) (Store, error) {
	path := sqlitePath
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return s, nil
	case strings.HasPrefix(url, "sqlite://"):
		path = strings.TrimPrefix(url, "sqlite://")
	case strings.HasPrefix(url, "file://"):
		path = strings.TrimPrefix(url, "file://")
	case strings.HasPrefix(url, "file:"):
		path = strings.TrimPrefix(url, "file:")
	case url == "":
	default:
		return nil, fmt.Errorf("open store: unsupported url %q: want postgres://, postgresql://, sqlite://, file: or empty for SQLite at %q",
			redact(url), sqlitePath)
	}
	if path == "" {
		return nil, fmt.Errorf("open store: no SQLite path configured")
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// redact hides anything that looks like credentials in a URL before it is
// put in an error message.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return u
}
