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
	"encoding/json"
	"errors"
	"time"
)

// Backend kinds reported by Store.Kind.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// Task statuses.
const (
	StatusPending    = "pending"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// Statuses lists every valid task status, non-terminal ones first.
var Statuses = []string{StatusPending, StatusInProgress, StatusCompleted, StatusFailed}

// Sentinel errors. Backends wrap them with context; test with errors.Is.
var (
	ErrNotFound        = errors.New("store: not found")
	ErrInvalidArgument = errors.New("store: invalid argument")
)

// Task is the durable copy of one task. See store.Task.
type Task struct {
	ID         string          `json:"id"`
	Text       string          `json:"text"`
	Status     string          `json:"status"`
	Priority   int             `json:"priority"`
	AssignedTo string          `json:"assignedTo,omitempty"`
	Attempts   int             `json:"attempts"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Version    int64           `json:"version"`
	// LeaseExpiresAt is when an in-progress task's claim runs out. It is
	// hot state held in Redis only: stores neither write nor read it.
	LeaseExpiresAt *time.Time `json:"leaseExpiresAt,omitempty"`
	Deleted        bool       `json:"-"`
}

// AuditRecord is one hook decision. See store.AuditRecord.
type AuditRecord struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	SessionID     string    `json:"sessionId,omitempty"`
	Event         string    `json:"event"`
	Tool          string    `json:"tool,omitempty"`
	Decision      string    `json:"decision"`
	RuleIDs       []string  `json:"ruleIds,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	LatencyMicros int64     `json:"latencyMicros"`
	InstanceID    string    `json:"instanceId,omitempty"`
}

// TaskListParams filters and pages TaskList. See store.TaskListParams.
type TaskListParams struct {
	Status     string
	AssignedTo string
	Limit      int
	Offset     int
	OrderBy    string
	Order      string
}

// TaskListResult is one page of TaskList. See store.TaskListResult.
type TaskListResult struct {
	Tasks      []Task
	TotalCount int
	HasMore    bool
}

// AuditListParams filters AuditList. See store.AuditListParams.
type AuditListParams struct {
	SessionID string
	Decision  string
	Event     string
	Tool      string
	Since     time.Time
	Limit     int
}
