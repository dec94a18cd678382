// Package mcpcontent is what cb's two MCP servers publish besides tools:
// the resources (cb://queue, cb://tasks/{id}, cb://sessions/{id}) and the
// prompts (take_next_task, hand_over_task). cbd's streamable HTTP endpoint
// (daemon/mcpserver, on the Go MCP SDK) and `cb mcp` over stdio
// (hookcli/cli/mcp, by hand) both serve them from here, so the URIs, the
// JSON a resource reads as, the prompts' arguments and texts are decided
// once. Reading a resource is a few calls of cbd's methods through a Caller
// the server passes in; nothing here links daemon code or an MCP SDK.
package mcpcontent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"golang.org/x/sync/errgroup"
)

// Caller calls one of cbd's methods and returns its result. An error
// should be (or wrap) a *protocol.Error so its code survives.
type Caller func(ctx context.Context, method string, params any) (json.RawMessage, error)

// MIMEType is the MIME type of every resource: each reads as one JSON
// document.
const MIMEType = "application/json"

// CodeResourceNotFound is MCP's JSON-RPC error code for a resource that
// does not exist (resources/read of an unknown URI or task), as the
// revisions of MCP both servers speak define it.
const CodeResourceNotFound protocol.Code = -32002

// URIs and URI templates of the resources.
const (
	QueueURI         = "cb://queue"
	TaskURITemplate  = "cb://tasks/{id}"
	SessionTemplate  = "cb://sessions/{id}"
	taskURIPrefix    = "cb://tasks/"
	sessionURIPrefix = "cb://sessions/"
)

// Bounds of what a resource reads.
const (
	// QueueHead is how many pending tasks (in claim order) and how many
	// in-progress tasks cb://queue shows.
	QueueHead = 10
	// TimelineLimit is how many entries cb://sessions/{id} shows at most:
	// the newest, tasks and hook decisions together.
	TimelineLimit = 50
)

// Resource is a concrete resource (resources/list).
type Resource struct {
	URI         string
	Name        string
	Title       string
	Description string
	MIMEType    string
}

// Template is a resource template (resources/templates/list).
type Template struct {
	URITemplate string
	Name        string
	Title       string
	Description string
	MIMEType    string
}

// Resources lists the concrete resources: only the queue, since tasks and
// sessions are many and are reached through Templates.
func Resources() []Resource {
	return []Resource{{
		URI:   QueueURI,
		Name:  "queue",
		Title: "Task queue",
		Description: fmt.Sprintf("Live task counts (queueDepth, tasksByStatus), the next %d pending tasks in the order "+
			"task_claim takes them, and up to %d in-progress tasks with their assignee and lease. Read again for fresh numbers.",
			QueueHead, QueueHead),
		MIMEType: MIMEType,
	}}
}

// Templates lists the resource templates, by URI template (the order
// the Go SDK lists them in, which cb mcp keeps).
func Templates() []Template {
	return []Template{
		{
			URITemplate: SessionTemplate,
			Name:        "session",
			Title:       "Session timeline",
			Description: fmt.Sprintf("A Claude Code session's timeline: the tasks it created and the hook decisions cb took "+
				"for it, merged by time, oldest first; the newest %d entries.", TimelineLimit),
			MIMEType: MIMEType,
		},
		{
			URITemplate: TaskURITemplate,
			Name:        "task",
			Title:       "Task",
			Description: "One task as JSON (what task_get returns), with its attachments: notes, files, links, results.",
			MIMEType:    MIMEType,
		},
	}
}

// Contents is a resource as read: its URI, MIME type and JSON text.
type Contents struct {
	URI      string
	MIMEType string
	Text     string
}

// NotFoundError is a resources/read of a URI that names nothing: an
// unknown URI, a task that does not exist, a session nothing is known of.
type NotFoundError struct {
	URI    string
	Reason string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("resource %s not found: %s", e.URI, e.Reason)
}

// RPCError returns the JSON-RPC error a server answers for err, an error of
// Read or Get: CodeResourceNotFound with data {"uri"} for a NotFoundError,
// the protocol error's code and data for anything else (a failed call of
// cbd, bad prompt arguments).
func RPCError(err error) (code protocol.Code, message string, data any) {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return CodeResourceNotFound, nf.Error(), map[string]string{"uri": nf.URI}
	}
	pe := protocol.AsError(err)
	return pe.Code, pe.Error(), pe.Data
}

// Read reads the resource at uri through call.
func Read(ctx context.Context, call Caller, uri string) (Contents, error) {
	var (
		v   any
		err error
	)
	switch {
	case uri == QueueURI:
		v, err = readQueue(ctx, call)
	case strings.HasPrefix(uri, taskURIPrefix):
		id, ok := segment(uri, taskURIPrefix)
		if !ok {
			return Contents{}, &NotFoundError{URI: uri, Reason: "a task URI is cb://tasks/<task id>"}
		}
		var raw json.RawMessage
		raw, err = readTask(ctx, call, uri, id)
		if err == nil {
			return Contents{URI: uri, MIMEType: MIMEType, Text: string(raw)}, nil
		}
	case strings.HasPrefix(uri, sessionURIPrefix):
		id, ok := segment(uri, sessionURIPrefix)
		if !ok {
			return Contents{}, &NotFoundError{URI: uri, Reason: "a session URI is cb://sessions/<session id>"}
		}
		v, err = readSession(ctx, call, uri, id)
	default:
		return Contents{}, &NotFoundError{URI: uri, Reason: "cb serves " + QueueURI + ", " + TaskURITemplate + " and " + SessionTemplate}
	}
	if err != nil {
		return Contents{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Contents{}, fmt.Errorf("encode %s: %w", uri, err)
	}
	return Contents{URI: uri, MIMEType: MIMEType, Text: string(b)}, nil
}

// segment returns the one path segment after prefix, unescaped.
func segment(uri, prefix string) (string, bool) {
	rest := strings.TrimPrefix(uri, prefix)
	if rest == "" || strings.ContainsAny(rest, "/?#") {
		return "", false
	}
	s, err := url.PathUnescape(rest)
	return s, err == nil && s != ""
}

// call calls method and decodes its result into out.
func callInto(ctx context.Context, call Caller, method string, params, out any) error {
	raw, err := call(ctx, method, params)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("%s: malformed answer: %v", method, err)}
	}
	return nil
}

// Queue is what cb://queue reads as.
type Queue struct {
	// ReadAt is when the counts were read.
	ReadAt        api.Time       `json:"readAt"`
	QueueDepth    int64          `json:"queueDepth"`
	TasksByStatus map[string]int `json:"tasksByStatus"`
	// Next are the first pending tasks in the order task.claim takes
	// them; PendingTotal counts them all.
	Next         []api.Task `json:"next"`
	PendingTotal int        `json:"pendingTotal"`
	// InProgress are in-progress tasks (most recently created first), each
	// with assignedTo and leaseExpiresAt; InProgressTotal counts them all.
	InProgress      []api.Task `json:"inProgress"`
	InProgressTotal int        `json:"inProgressTotal"`
}

func readQueue(ctx context.Context, call Caller) (*Queue, error) {
	q := &Queue{ReadAt: api.TimeOf(time.Now())}
	var (
		state            api.StateResult
		pending, running api.TaskListResult
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return callInto(gctx, call, "system.get_state", nil, &state) })
	g.Go(func() error {
		return callInto(gctx, call, "task.list", api.TaskListParams{Status: api.StatusPending, OrderBy: "queue", Limit: QueueHead}, &pending)
	})
	g.Go(func() error {
		return callInto(gctx, call, "task.list", api.TaskListParams{Status: api.StatusInProgress, Limit: QueueHead}, &running)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// task.list reads the store, which keeps no leases: the lease of an
	// in-progress task is in task.get's answer.
	g, gctx = errgroup.WithContext(ctx)
	for i := range running.Tasks {
		g.Go(func() error {
			var tk api.Task
			err := callInto(gctx, call, "task.get", api.TaskGetParams{ID: running.Tasks[i].ID}, &tk)
			switch protocol.CodeOf(err) {
			case 0:
				running.Tasks[i] = tk
			case protocol.CodeNotFound: // deleted since: keep what the list said
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	q.QueueDepth, q.TasksByStatus = state.QueueDepth, state.TasksByStatus
	q.Next, q.PendingTotal = nonNil(pending.Tasks), pending.TotalCount
	q.InProgress, q.InProgressTotal = nonNil(running.Tasks), running.TotalCount
	return q, nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func readTask(ctx context.Context, call Caller, uri, id string) (json.RawMessage, error) {
	raw, err := call(ctx, "task.get", api.TaskGetParams{ID: id})
	switch protocol.CodeOf(err) {
	case 0:
		return raw, nil
	case protocol.CodeNotFound, protocol.CodeInvalidParams:
		return nil, &NotFoundError{URI: uri, Reason: protocol.AsError(err).Message}
	}
	return nil, err
}

// Timeline is what cb://sessions/{id} reads as.
type Timeline struct {
	SessionID string `json:"sessionId"`
	// Entries are oldest first: the newest TimelineLimit of the session's
	// tasks (by creation) and hook decisions.
	Entries []TimelineEntry `json:"entries"`
	// Truncated is set when older entries were left out.
	Truncated bool `json:"truncated"`
}

// TimelineEntry is a task the session created or a hook decision cb took
// for it; Kind says which of Task and Hook is set.
type TimelineEntry struct {
	Time api.Time         `json:"time"`
	Kind string           `json:"kind"` // "task" or "hook"
	Task *api.Task        `json:"task,omitempty"`
	Hook *api.AuditRecord `json:"hook,omitempty"`
}

func readSession(ctx context.Context, call Caller, uri, id string) (*Timeline, error) {
	// Both lists newest first, so that the bound keeps the newest.
	var tasks api.TaskListResult
	if err := callInto(ctx, call, "task.list", api.TaskListParams{Session: id, OrderBy: "createdAt", Order: "desc", Limit: TimelineLimit}, &tasks); err != nil {
		return nil, err
	}
	var audit api.AuditListResult
	if err := callInto(ctx, call, "audit.list", api.AuditListParams{Session: id, Limit: TimelineLimit}, &audit); err != nil {
		return nil, err
	}
	if len(tasks.Tasks) == 0 && len(audit.Records) == 0 {
		return nil, &NotFoundError{URI: uri, Reason: fmt.Sprintf("cb knows no task and no hook decision of session %q", id)}
	}
	entries := make([]TimelineEntry, 0, len(tasks.Tasks)+len(audit.Records))
	for i := range tasks.Tasks {
		entries = append(entries, TimelineEntry{Time: tasks.Tasks[i].CreatedAt, Kind: "task", Task: &tasks.Tasks[i]})
	}
	for i := range audit.Records {
		entries = append(entries, TimelineEntry{Time: audit.Records[i].Time, Kind: "hook", Hook: &audit.Records[i]})
	}
	slices.SortStableFunc(entries, func(a, b TimelineEntry) int { return a.Time.Compare(b.Time.Time) })
	tl := &Timeline{SessionID: id, Truncated: tasks.HasMore || audit.NextCursor != ""}
	if len(entries) > TimelineLimit {
		entries, tl.Truncated = entries[len(entries)-TimelineLimit:], true
	}
	tl.Entries = entries
	return tl, nil
}
