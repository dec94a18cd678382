package api

import "encoding/json"

// Task statuses (common.json#/$defs/taskStatus). Pending and in-progress
// tasks are non-terminal.
const (
	StatusPending    = "pending"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// TaskStatuses lists every task status, non-terminal ones first.
var TaskStatuses = []string{StatusPending, StatusInProgress, StatusCompleted, StatusFailed}

// Task is a task (common.json#/$defs/task).
type Task struct {
	ID         string          `json:"id"`
	Text       string          `json:"text"`
	Status     string          `json:"status"`
	Priority   int             `json:"priority"`
	AssignedTo string          `json:"assignedTo,omitempty"`
	Attempts   int             `json:"attempts"`
	Metadata   json.RawMessage `json:"metadata,omitempty"` // a JSON object
	Result     json.RawMessage `json:"result,omitempty"`   // any JSON value
	Error      string          `json:"error,omitempty"`
	CreatedAt  Time            `json:"createdAt"`
	UpdatedAt  Time            `json:"updatedAt"`
	// Version increases with every change of the task (from 1).
	Version int64 `json:"version" schema:"optional"`
	// LeaseExpiresAt is when an in-progress task's claim runs out unless
	// renewed.
	LeaseExpiresAt *Time `json:"leaseExpiresAt,omitempty"`
	// Attachments are the task's context (task.attach), oldest first. Only
	// task.claim and task.get fill them in; task.list leaves them out.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment types (common.json#/$defs/attachmentType): what an
// attachment's value holds.
const (
	AttachmentNote   = "note"   // a string: notes for whoever works on the task
	AttachmentFiles  = "files"  // an array of file paths
	AttachmentLinks  = "links"  // an array of URLs
	AttachmentResult = "result" // any JSON: what the task produced
	AttachmentJSON   = "json"   // any JSON: anything else
)

// AttachmentTypes lists every attachment type.
var AttachmentTypes = []string{AttachmentNote, AttachmentFiles, AttachmentLinks, AttachmentResult, AttachmentJSON}

// ResultAttachmentKey is the key under which task.complete stores the
// task's result as an attachment of type result.
const ResultAttachmentKey = "result"

// Attachment is one typed key/value entry of a task's context
// (common.json#/$defs/attachment). A task has at most one attachment per
// key: attaching a key again replaces its value.
type Attachment struct {
	TaskID string `json:"taskId"`
	Key    string `json:"key"`
	Type   string `json:"type"`
	// Value is the JSON value; its shape depends on Type.
	Value json.RawMessage `json:"value"`
	// Size is the length of Value in bytes (capped by
	// tasks.attachment_max_bytes).
	Size int `json:"size"`
	// CreatedBy is who attached it (a worker or session id), if known.
	CreatedBy string `json:"createdBy,omitempty"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
}

// TaskAttachParams are task.attach's params.
type TaskAttachParams struct {
	TaskID    string          `json:"taskId"`
	Key       string          `json:"key"`
	Type      string          `json:"type"`
	Value     json.RawMessage `json:"value"`
	CreatedBy string          `json:"createdBy,omitempty"`
}

// TaskAttachmentsParams are task.attachments' params.
type TaskAttachmentsParams struct {
	TaskID string `json:"taskId"`
	Key    string `json:"key,omitempty"` // "": every attachment
}

// TaskAttachmentsResult is task.attachments' result, oldest first.
type TaskAttachmentsResult struct {
	TaskID      string       `json:"taskId"`
	Attachments []Attachment `json:"attachments"`
}

// TaskCreateParams are task.create's params.
type TaskCreateParams struct {
	Text     string          `json:"text"`
	Priority *int            `json:"priority,omitempty"` // nil: 50
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// TaskUpdateParams are task.update's params.
type TaskUpdateParams struct {
	ID      string      `json:"id"`
	Updates TaskUpdates `json:"updates"`
}

// TaskUpdates are the changes of task.update; nil or empty fields stay.
type TaskUpdates struct {
	Text     string          `json:"text,omitempty"`
	Status   string          `json:"status,omitempty"`
	Priority *int            `json:"priority,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"` // merged into the task's
}

// TaskAssignParams are task.assign's params.
type TaskAssignParams struct {
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
}

// TaskUnassignParams are task.unassign's params.
type TaskUnassignParams struct {
	TaskID string `json:"taskId"`
}

// TaskClaimParams are task.claim's params.
type TaskClaimParams struct {
	WorkerID string `json:"workerId"`
	MaxTasks int    `json:"maxTasks,omitempty"` // 0: 1
	LeaseMs  int64  `json:"leaseMs,omitempty"`  // 0: tasks.lease
}

// TaskClaimResult is task.claim's result.
type TaskClaimResult struct {
	Tasks []Task `json:"tasks"`
}

// TaskRenewParams are task.renew's params.
type TaskRenewParams struct {
	ID       string `json:"id"`
	WorkerID string `json:"workerId,omitempty"` // "": not checked
	LeaseMs  int64  `json:"leaseMs,omitempty"`  // 0: tasks.lease
}

// TaskCompleteParams are task.complete's params.
type TaskCompleteParams struct {
	ID       string          `json:"id"`
	WorkerID string          `json:"workerId,omitempty"` // "": not checked
	Result   json.RawMessage `json:"result,omitempty"`
}

// TaskFailParams are task.fail's params.
type TaskFailParams struct {
	ID       string `json:"id"`
	WorkerID string `json:"workerId,omitempty"` // "": not checked
	Error    string `json:"error"`
}

// TaskGetParams are task.get's params.
type TaskGetParams struct {
	ID string `json:"id"`
}

// TaskListParams are task.list's params. Zero values take the defaults:
// limit 50, orderBy createdAt, order desc (asc for orderBy queue).
//
// Pages are read by cursor: pass a page's NextCursor as After, with the
// same filters and order, for the page after it. A cursor costs the same at
// any depth; Offset (kept for old callers) reads and skips Offset rows, and
// cannot be combined with After.
type TaskListParams struct {
	Status     string `json:"status,omitempty"`
	AssignedTo string `json:"assignedTo,omitempty"`
	// Session keeps the tasks of one Claude Code session: those whose
	// metadata.sessionId is this (the tasks its todos and task tools made).
	Session string `json:"session,omitempty"`
	// UpdatedBefore keeps tasks last changed before this RFC 3339 time (for
	// a finished task: finished before it).
	UpdatedBefore string `json:"updatedBefore,omitempty"`
	Limit         int    `json:"limit,omitempty"`
	Offset        int    `json:"offset,omitempty"`
	// OrderBy is createdAt, updatedAt, priority, id or queue: the order
	// task.claim takes pending tasks (highest priority first, oldest first
	// within a priority). priority is the queue's order too (desc = queue
	// asc), and id is createdAt's (an id is made from the creation time).
	OrderBy string `json:"orderBy,omitempty"`
	Order   string `json:"order,omitempty"` // asc, desc
	// After is the NextCursor of the previous page.
	After string `json:"after,omitempty"`
}

// TaskListResult is task.list's result.
type TaskListResult struct {
	Tasks []Task `json:"tasks"`
	// TotalCount is the number of tasks matching the filters, regardless of
	// paging. It is exact unless TotalEstimated is set: counting by
	// assignee, session or updatedBefore stops at a cap (see
	// store.MaxExactCount), and TotalCount is then that cap, a lower bound.
	TotalCount     int  `json:"totalCount"`
	TotalEstimated bool `json:"totalEstimated,omitempty"`
	HasMore        bool `json:"hasMore"`
	// NextCursor, set when HasMore, is the After of the next page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// TaskDeleteParams are task.delete's params.
type TaskDeleteParams struct {
	ID string `json:"id"`
}

// TaskDeleteResult is task.delete's result.
type TaskDeleteResult struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// TaskWorkParams are task.work's params: opt a Claude Code session in to
// work feeding (or, with Off, out of it) for TTLMs.
type TaskWorkParams struct {
	SessionID string `json:"sessionId"`
	Off       bool   `json:"off,omitempty"`
	TTLMs     int64  `json:"ttlMs,omitempty"` // 0: 24 hours
}

// TaskWorkResult is task.work's result: whether the session is fed work
// when it would stop, as its worker, until when.
type TaskWorkResult struct {
	SessionID string `json:"sessionId"`
	WorkerID  string `json:"workerId"`
	Feed      bool   `json:"feed"`
	Until     Time   `json:"until"`
}
