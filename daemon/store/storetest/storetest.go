// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's tests call Run with a function that opens a fresh, empty
// store.
package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/store/internal/model"
	"github.com/claudebench/cb/protocol/api"
)

// Run runs the conformance suite as parallel subtests of t. open is called
// once per subtest and must return a new, empty store that it arranges to be
// closed when that subtest ends (with t.Cleanup); the suite may also close
// the store itself, so Close must tolerate a second call.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"TaskRoundTrip", testTaskRoundTrip},
		{"TaskJSONValues", testTaskJSONValues},
		{"TaskUpsertVersion", testTaskUpsertVersion},
		{"TaskUpsertMany", testTaskUpsertMany},
		{"TaskGetNotFound", testTaskGetNotFound},
		{"TaskDelete", testTaskDelete},
		{"TaskTombstone", testTaskTombstone},
		{"TaskValidation", testTaskValidation},
		{"TaskListFilterAndPage", testTaskListFilterAndPage},
		{"TaskListOrder", testTaskListOrder},
		{"TaskListDefaults", testTaskListDefaults},
		{"TaskListInvalidParams", testTaskListInvalidParams},
		{"TaskCountByStatus", testTaskCountByStatus},
		{"TaskListCursorWalk", testTaskListCursorWalk},
		{"TaskListQueueOrder", testTaskListQueueOrder},
		{"TaskListCursorConcurrentInserts", testTaskListCursorConcurrentInserts},
		{"TaskListBadCursor", testTaskListBadCursor},
		{"TaskCountsExact", testTaskCountsExact},
		{"TaskCountEstimated", testTaskCountEstimated},
		{"TaskPurge", testTaskPurge},
		{"AttachmentPutReplace", testAttachmentPutReplace},
		{"AttachmentListOrder", testAttachmentListOrder},
		{"AttachmentTaskMissing", testAttachmentTaskMissing},
		{"AttachmentMax", testAttachmentMax},
		{"AttachmentValidation", testAttachmentValidation},
		{"AttachmentCascades", testAttachmentCascades},
		{"AttachmentJSONValues", testAttachmentJSONValues},
		{"AttachmentRace", testAttachmentRace},
		{"AuditCursorAndPurge", testAuditCursorAndPurge},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditIdempotent", testAuditIdempotent},
		{"AuditListFilters", testAuditListFilters},
		{"AuditListLimit", testAuditListLimit},
		{"AuditValidation", testAuditValidation},
		{"AuditInsertMany", testAuditInsertMany},
		{"ConcurrentUpsertSameTasks", testConcurrentUpsertSameTasks},
		{"ConcurrentDistinctInserts", testConcurrentDistinctInserts},
		{"ConcurrentAuditInsert", testConcurrentAuditInsert},
		{"ConcurrentCounts", testConcurrentCounts},
		{"CanceledContext", testCanceledContext},
		{"PingKindClose", testPingKindClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// baseTime has sub-microsecond digits and a non-UTC zone, to check that
// stores normalize to UTC and keep at least millisecond precision.
var baseTime = time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("UTC+5:30", 5*3600+1800))

// at returns baseTime plus n milliseconds.
func at(n int) api.Time { return api.TimeOf(baseTime.Add(time.Duration(n) * time.Millisecond)) }

// newTask returns a valid pending task with the given id and version.
func newTask(id string, version int64) store.Task {
	return store.Task{Task: api.Task{
		ID:        id,
		Text:      "task " + id,
		Status:    store.StatusPending,
		Priority:  50,
		CreatedAt: api.TimeOf(baseTime),
		UpdatedAt: api.TimeOf(baseTime),
		Version:   version,
	}}
}

// taskID returns "t-<n>".
func taskID(n int) string { return fmt.Sprintf("t-%d", n) }

// mustUpsert upserts t and fails the test unless the write happened.
func mustUpsert(t *testing.T, s store.Store, task store.Task) {
	t.Helper()
	wrote, err := s.TaskUpsert(t.Context(), task)
	if err != nil {
		t.Fatalf("TaskUpsert(%s v%d): %v", task.ID, task.Version, err)
	}
	if !wrote {
		t.Fatalf("TaskUpsert(%s v%d) = false, want a write", task.ID, task.Version)
	}
}

// mustGet returns the task or fails the test.
func mustGet(t *testing.T, s store.Store, id string) store.Task {
	t.Helper()
	got, err := s.TaskGet(t.Context(), id)
	if err != nil {
		t.Fatalf("TaskGet(%s): %v", id, err)
	}
	return got
}

// checkTime fails unless got is in UTC and equals want to the millisecond.
func checkTime(t *testing.T, what string, gotT, wantT api.Time) {
	t.Helper()
	got, want := gotT.Time, wantT.Time
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
	if !got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("%s = %s, want %s (to the millisecond)", what,
			got.Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
	}
}

// checkTask fails unless got equals want, comparing times to the
// millisecond and JSON semantically.
func checkTask(t *testing.T, got, want store.Task) {
	t.Helper()
	if got.ID != want.ID || got.Text != want.Text || got.Status != want.Status ||
		got.Priority != want.Priority || got.AssignedTo != want.AssignedTo ||
		got.Attempts != want.Attempts || got.Error != want.Error ||
		got.Version != want.Version || got.Deleted != want.Deleted {
		t.Errorf("task mismatch:\n got %+v\nwant %+v", got, want)
	}
	checkJSON(t, want.ID+" metadata", got.Metadata, want.Metadata)
	checkJSON(t, want.ID+" result", got.Result, want.Result)
	checkTime(t, want.ID+" createdAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, want.ID+" updatedAt", got.UpdatedAt, want.UpdatedAt)
}

// checkJSON fails unless got and want are both nil or hold equal JSON
// values. A JSON null in want is expected back as nil.
func checkJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	if string(bytes.TrimSpace(want)) == "null" {
		want = nil
	}
	if got == nil || want == nil {
		if got != nil || want != nil {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: stored value %q is not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: test value %q is not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// ids returns the ids of tasks, in order.
func ids(tasks []store.Task) []string {
	out := make([]string, len(tasks))
	for i, task := range tasks {
		out[i] = task.ID
	}
	return out
}

// CursorAfter returns the cursor TaskList would return for p after a page
// ending with last, for backends' white-box query plan tests.
func CursorAfter(t testing.TB, p store.TaskListParams, last store.Task) string {
	t.Helper()
	p.After = ""
	q, err := model.NormalizeTaskList(p)
	if err != nil {
		t.Fatalf("NormalizeTaskList(%+v): %v", p, err)
	}
	return q.CursorFor(last)
}

// ListVariants are the task list shapes a backend must read a page of by
// index: every order in both directions, with no filter or one of each
// filter, plus the finished tasks before a time by updatedAt (export and
// purge); each first page, then the same after a cursor (After "cursor":
// replace it with CursorAfter of a row).
func ListVariants() []store.TaskListParams {
	var out []store.TaskListParams
	filters := []store.TaskListParams{{}, {Status: store.StatusPending}, {AssignedTo: "w1"}, {Session: "s-1"},
		{Status: store.StatusCompleted, UpdatedBefore: "2026-01-01T00:00:00Z"},
		{Status: store.StatusFailed, UpdatedBefore: "2026-01-01T00:00:00Z"}}
	for _, f := range filters {
		for _, orderBy := range []string{"createdAt", "updatedAt", "priority", "id", "queue"} {
			if f.UpdatedBefore != "" && orderBy != "updatedAt" {
				continue
			}
			for _, order := range []string{"asc", "desc"} {
				p := f
				p.OrderBy, p.Order = orderBy, order
				out = append(out, p)
				p.After = "cursor"
				out = append(out, p)
			}
		}
	}
	return out
}

// SortsMatches reports whether TaskList may sort p's matches instead of
// reading them in order from an index: the assignee and session filters
// (one worker's or one session's tasks) have indexes by creation and
// update time only, so that every task write does not pay for more.
func SortsMatches(p store.TaskListParams) bool {
	return (p.AssignedTo != "" || p.Session != "") && (p.OrderBy == "priority" || p.OrderBy == "queue")
}

// MergesStatuses reports whether TaskList reads p's page from the status
// indexes, one range per status, and sorts the union (at most a page per
// status): a list with no status, assignee or session filter.
func MergesStatuses(p store.TaskListParams) bool {
	return p.Status == "" && p.AssignedTo == "" && p.Session == ""
}
