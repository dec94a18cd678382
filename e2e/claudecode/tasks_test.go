package claudecode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newestModel is a model of the newest family this client knows: it gets
// none of the task tools unless CLAUDE_CODE_ENABLE_TODO_TOOLS is set
// (reference §7.4).
const newestModel = "claude-opus-4-8"

// taskScript is the fake model of the task tests: it creates two tasks,
// starts the first, completes it, and ends its turn.
func taskScript(req *apiRequest) reply {
	switch req.turn() {
	case 0:
		return reply{Tools: []toolUse{
			{Name: "TaskCreate", Input: map[string]any{"subject": "Migrate the schema", "description": "add the index"}},
			{Name: "TaskCreate", Input: map[string]any{"subject": "Write the runbook", "description": "for on-call"}},
		}}
	case 1:
		return reply{Tools: []toolUse{{Name: "TaskUpdate", Input: map[string]any{"taskId": "1", "status": "in_progress"}}}}
	case 2:
		return reply{Tools: []toolUse{{Name: "TaskUpdate", Input: map[string]any{"taskId": "1", "status": "completed"}}}}
	}
	return reply{Text: "Schema migrated."}
}

// dropTodoToolHook removes the PostToolUse hook on the todo tools from the
// settings cb install wrote, so that only TaskCreated and TaskCompleted
// reach cb, and returns a function putting the settings back.
func dropTodoToolHook(t *testing.T, r *rig) (restore func()) {
	t.Helper()
	path := filepath.Join(r.config, "settings.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := r.settings()
	hooks, _ := s["hooks"].(map[string]any)
	var kept []any
	dropped := 0
	for _, e := range hooks["PostToolUse"].([]any) {
		if m, _ := e.(map[string]any)["matcher"].(string); strings.Contains(m, "TaskCreate") {
			dropped++
			continue
		}
		kept = append(kept, e)
	}
	if dropped != 1 {
		t.Fatalf("found %d PostToolUse hooks on the todo tools, want 1: %v", dropped, hooks["PostToolUse"])
	}
	hooks["PostToolUse"] = kept
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// runTasks runs taskScript on the newest model with env added.
func (r *rig) runTasks(t *testing.T, env ...string) *clientRun {
	t.Helper()
	saved := r.h.Env
	r.h.Env = append(append([]string{}, saved...), env...)
	defer func() { r.h.Env = saved }()
	return r.runClient(newFakeAPI(t, taskScript), "migrate the schema", "--model", newestModel)
}

// TestClientTaskEvents: Claude Code's native tasks (TaskCreate and
// TaskUpdate on a current model, enabled with CLAUDE_CODE_ENABLE_TODO_TOOLS)
// become cb tasks through the TaskCreated and TaskCompleted events: one
// per Claude task, the completed one completed, whether the events come
// alone or together with the PostToolUse hook on the same tool calls.
func TestClientTaskEvents(t *testing.T) {
	r := newRig(t, "", nil)
	t.Run("off by default on the newest model", func(t *testing.T) {
		run := r.runTasks(t)
		run.finished(t, map[string]any{"subtype": "success"})
		disabled := 0
		for _, b := range run.toolResults() {
			if s, _ := b["content"].(string); b["is_error"] == true && strings.Contains(s, "TaskCreate is disabled") {
				disabled++
			}
		}
		if disabled != 2 {
			t.Fatalf("tool results %v, want both TaskCreate calls refused as disabled", run.toolResults())
		}
		if got := sessionTasks(r, run.sessionID()); len(got) != 0 {
			t.Fatalf("tasks of the session: %v, want none", got)
		}
	})
	t.Run("events alone", func(t *testing.T) {
		restore := dropTodoToolHook(t, r)
		run := r.runTasks(t, "CLAUDE_CODE_ENABLE_TODO_TOOLS=1")
		restore()
		run.finished(t, map[string]any{"subtype": "success"})
		session := run.sessionID()
		if n := len(r.hookInputs("todo_write", session)); n != 0 {
			t.Fatalf("%d todo tool hooks reached cb, want none", n)
		}
		if c, d := len(r.hookInputs("task_created", session)), len(r.hookInputs("task_completed", session)); c != 2 || d != 1 {
			t.Fatalf("%d TaskCreated and %d TaskCompleted, want 2 and 1", c, d)
		}
		got := sessionTasks(r, session)
		if got["Migrate the schema"] != "completed" || got["Write the runbook"] != "pending" || len(got) != 2 {
			t.Fatalf("tasks of the session: %v", got)
		}
	})
	t.Run("events and tool hooks", func(t *testing.T) {
		run := r.runTasks(t, "CLAUDE_CODE_ENABLE_TODO_TOOLS=1")
		run.finished(t, map[string]any{"subtype": "success"})
		session := run.sessionID()
		if n := len(r.hookInputs("todo_write", session)); n != 4 {
			t.Fatalf("%d todo tool hooks reached cb, want 4", n)
		}
		if c := len(r.hookInputs("task_created", session)); c != 2 {
			t.Fatalf("%d TaskCreated, want 2", c)
		}
		var all []task
		for _, tk := range r.tasks() {
			if tk.Metadata["sessionId"] == session {
				all = append(all, tk)
			}
		}
		got := sessionTasks(r, session)
		if len(all) != 2 || got["Migrate the schema"] != "completed" || got["Write the runbook"] != "pending" {
			t.Fatalf("tasks of the session: %v, want one per Claude task", all)
		}
	})
}
