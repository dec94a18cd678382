package tasks_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/handlers/handlertest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// todoFixture is cbd's methods (as cbd builds them) over a flushed Redis.
type todoFixture struct {
	t   *testing.T
	a   *app.App
	n   int
	ses string
}

func newTodoFixture(t *testing.T, todoSync bool) *todoFixture {
	t.Helper()
	rdb := testenv.SharedRedis(t).Flushed(t)
	a := apptest.Build(t, rdb, nil, func(d *app.Deps) { d.TodoSync = todoSync })
	f := &todoFixture{t: t, a: a, ses: "11111111-2222-4333-8444-555555555555"}
	// A todo in progress or completed is assigned to the instance serving
	// the session, which cbd has registered.
	f.call("system.register", api.RegisterParams{ID: apptest.InstanceID})
	return f
}

func (f *todoFixture) call(method string, params any) json.RawMessage {
	f.t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		f.t.Fatal(err)
	}
	f.n++
	res, err := handlertest.Call(f.t, f.a.Registry, protocol.Event{Type: method, Payload: raw,
		Metadata: protocol.Metadata{ID: fmt.Sprintf("e-todo-%d", f.n), SessionID: f.ses}})
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, raw, err)
	}
	return res
}

// taskEvent sends a TaskCreated or TaskCompleted of Claude task id (as
// Claude Code 2.1.328 sends it) and returns the answer.
func (f *todoFixture) taskEvent(event, id, subject string) protocol.HookResult {
	f.t.Helper()
	hookType := map[string]string{"TaskCreated": "task_created", "TaskCompleted": "task_completed"}[event]
	raw := f.call(protocol.HookMethod(hookType), map[string]any{
		"session_id": f.ses, "hook_event_name": event, "cwd": "/tmp/p", "transcript_path": "/tmp/t.jsonl",
		"task_id": id, "task_subject": subject, "task_description": "details",
	})
	var res protocol.HookResult
	if err := json.Unmarshal(raw, &res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

// tasks maps each task's text to its statuses (one entry per task,
// sorted).
func (f *todoFixture) tasks() map[string][]string {
	f.t.Helper()
	var res api.TaskListResult
	if err := json.Unmarshal(f.call("task.list", map[string]any{"limit": 100}), &res); err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tk := range res.Tasks {
		out[tk.Text] = append(out[tk.Text], tk.Status)
	}
	for _, st := range out {
		slices.Sort(st)
	}
	return out
}

func (f *todoFixture) want(want map[string][]string) {
	f.t.Helper()
	got := f.tasks()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		f.t.Fatalf("tasks %v, want %v", got, want)
	}
}

// TestTaskEvents: TaskCreated and TaskCompleted keep one task per Claude
// task of the session, shared with the TaskCreate/TaskUpdate tool calls of
// the same task, and an event sent again changes nothing.
func TestTaskEvents(t *testing.T) {
	f := newTodoFixture(t, true)
	if res := f.taskEvent("TaskCreated", "1", "Check the events"); res.Decision != protocol.DecisionNone {
		t.Fatalf("TaskCreated answered %+v", res)
	}
	f.taskEvent("TaskCreated", "1", "Check the events")
	f.want(map[string][]string{"Check the events": {"pending"}})

	// The PostToolUse of the TaskCreate call that raised the event.
	f.call("hook.todo_write", map[string]any{
		"session_id": f.ses, "hook_event_name": "PostToolUse", "tool_name": "TaskCreate",
		"tool_input":    map[string]any{"subject": "Check the events", "description": "details"},
		"tool_response": map[string]any{"task": map[string]any{"id": "1", "subject": "Check the events"}},
	})
	f.want(map[string][]string{"Check the events": {"pending"}})

	// Another Claude task with the same subject is a task of its own.
	f.taskEvent("TaskCreated", "2", "Check the events")
	f.want(map[string][]string{"Check the events": {"pending", "pending"}})

	f.taskEvent("TaskCompleted", "1", "Check the events")
	f.taskEvent("TaskCompleted", "1", "Check the events")
	f.want(map[string][]string{"Check the events": {"completed", "pending"}})

	// A completion of a task never seen (cbd was down at its creation)
	// makes it, completed.
	f.taskEvent("TaskCompleted", "3", "Write the summary")
	f.want(map[string][]string{"Check the events": {"completed", "pending"}, "Write the summary": {"completed"}})
}

// TestTaskEventsDenied: a TaskCreated the rules deny is rolled back by
// Claude Code, so it makes no task.
func TestTaskEventsDenied(t *testing.T) {
	f := newTodoFixture(t, true)
	f.call("hooks.add", api.HooksAddParams{Rule: api.Rule{ID: "no-tasks", Event: "task_created", Action: "deny", Reason: "no new tasks today"}})
	if res := f.taskEvent("TaskCreated", "1", "Check the events"); res.Decision != protocol.DecisionDeny {
		t.Fatalf("TaskCreated answered %+v, want the rule's deny", res)
	}
	f.want(map[string][]string{})
}

// TestTaskEventsNoSync: with tasks.todo_sync off the events make no task.
func TestTaskEventsNoSync(t *testing.T) {
	f := newTodoFixture(t, false)
	f.taskEvent("TaskCreated", "1", "Check the events")
	f.taskEvent("TaskCompleted", "1", "Check the events")
	f.want(map[string][]string{})
}
