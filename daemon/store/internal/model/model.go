// Package model holds the value types, sentinel errors and validation rules
// shared by the store package and its backends.
//
// It exists only to break the import cycle between package store (which
// opens a backend) and the backends (which implement store.Store): the
// backends import model, and package store re-exports every name here under
// a type alias, so store.Task and model.Task are the same type. Callers
// outside daemon/store use the names in package store.
package model

import (
	"errors"
	"time"

	"github.com/claudebench/cb/protocol/api"
)

// Backend kinds reported by Store.Kind.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// Statuses lists every valid task status, non-terminal ones first.
var Statuses = api.TaskStatuses

// StatusCounts returns a count of zero for every status, for a backend's
// TaskCountByStatus to fill.
func StatusCounts() map[string]int {
	counts := make(map[string]int, len(Statuses))
	for _, st := range Statuses {
		counts[st] = 0
	}
	return counts
}

// Sentinel errors. Backends wrap them with context; test with errors.Is.
var (
	ErrNotFound           = errors.New("store: not found")
	ErrInvalidArgument    = errors.New("store: invalid argument")
	ErrTooManyAttachments = errors.New("store: too many attachments")
)

// Attachment is one typed key/value entry of a task. See store.Attachment.
type Attachment = api.Attachment

// Task is the durable copy of one task: the task as the API shows it, plus
// the tombstone flag. See store.Task. Its LeaseExpiresAt is hot state held
// in Redis only: stores neither write nor read it.
type Task struct {
	api.Task
	Deleted bool `json:"-"`
}

// AuditRecord is one hook decision. See store.AuditRecord.
type AuditRecord = api.AuditRecord

// TaskListParams filters and pages TaskList: task.list's params. See
// store.TaskListParams.
type TaskListParams = api.TaskListParams

// TaskListResult is one page of TaskList. See store.TaskListResult.
type TaskListResult struct {
	Tasks          []Task
	TotalCount     int
	TotalEstimated bool
	HasMore        bool
	NextCursor     string
}

// AuditListParams filters AuditList. See store.AuditListParams.
type AuditListParams struct {
	SessionID string
	Decision  string
	Event     string
	Tool      string
	Since     time.Time
	Limit     int
	// After is the NextCursor of the previous page.
	After string
}

// AuditListResult is one page of AuditList. See store.AuditListResult.
type AuditListResult struct {
	Records    []AuditRecord
	NextCursor string
}

// MaxExactCount is where TaskList stops counting the tasks matching a
// filter no counter keeps (assignee, session, updatedBefore): TotalCount is
// then MaxExactCount and TotalEstimated is set. Counting reads one index
// entry per match, so the cap is what such a list costs at most on top of
// its page: at 10000 it was a 10000-entry read per call (a list by session
// at 100k tasks took twice an empty one), at 1000 a tenth of it.
const MaxExactCount = 1000
