package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/tidwall/gjson"
)

// todoTTL is how long a session's todo → task mapping is kept.
const todoTTL = 7 * 24 * time.Hour

// SyncTodos turns Claude Code's todo tools into tasks. TodoWrite sends the
// whole list; TaskCreate and TaskUpdate (newer Claude Code) one item. A todo
// is known by its content (and, for TaskCreate/TaskUpdate, by Claude's task
// id), so a list sent again creates nothing new. New todos become tasks
// with metadata.source "todo_write"; in_progress ones get priority 75 and
// are assigned to this instance (the one serving the session); completed
// ones complete their task.
//
// The TaskCreated and TaskCompleted events (hook.task_created,
// hook.task_completed) name the task by Claude's task id and subject, the
// same names TaskCreate and TaskUpdate use, so the event and the tool call
// of one Claude task keep one task between them, whichever arrives first:
// TaskCreated makes it (pending), TaskCompleted completes it (making it
// first if it was never seen), and an event sent again changes nothing.
func (s *Service) SyncTodos(ctx context.Context, eventID, sessionID string, hook json.RawMessage) error {
	switch gjson.GetBytes(hook, "hook_event_name").String() {
	case "TaskCreated":
		return s.syncTaskEvent(ctx, eventID, sessionID, hook, "pending")
	case "TaskCompleted":
		return s.syncTaskEvent(ctx, eventID, sessionID, hook, "completed")
	}
	tool := gjson.GetBytes(hook, "tool_name").String()
	input := gjson.GetBytes(hook, "tool_input")
	switch tool {
	case "TodoWrite":
		for i, todo := range input.Get("todos").Array() {
			content := todo.Get("content").String()
			if content == "" {
				continue
			}
			if err := s.syncTodo(ctx, eventID+"/"+strconv.Itoa(i), sessionID, []string{"c:" + content}, content, todo.Get("status").String()); err != nil {
				return err
			}
		}
	case "TaskCreate":
		subject := input.Get("subject").String()
		if subject == "" {
			return nil
		}
		keys := []string{"c:" + subject}
		resp := gjson.GetBytes(hook, "tool_response")
		for _, path := range []string{"task.id", "id", "taskId"} {
			if id := resp.Get(path).String(); id != "" {
				keys = append(keys, "id:"+id)
				break
			}
		}
		return s.syncTodo(ctx, eventID, sessionID, keys, subject, "pending")
	case "TaskUpdate":
		var keys []string
		if id := input.Get("taskId").String(); id != "" {
			keys = append(keys, "id:"+id)
		}
		if subj := input.Get("subject").String(); subj != "" {
			keys = append(keys, "c:"+subj)
		}
		status := input.Get("status").String()
		if len(keys) == 0 || status == "" {
			return nil
		}
		return s.syncTodo(ctx, eventID, sessionID, keys, "", status)
	}
	return nil
}

// syncTaskEvent syncs the Claude task a TaskCreated or TaskCompleted input
// names to status.
func (s *Service) syncTaskEvent(ctx context.Context, eventID, sessionID string, hook json.RawMessage, status string) error {
	id := gjson.GetBytes(hook, "task_id").String()
	subject := gjson.GetBytes(hook, "task_subject").String()
	var keys []string
	if id != "" {
		keys = append(keys, "id:"+id)
	}
	if subject != "" {
		keys = append(keys, "c:"+subject)
	}
	if len(keys) == 0 {
		return nil
	}
	return s.syncTodo(ctx, eventID, sessionID, keys, subject, status)
}

// syncTodo brings the task of one todo to the todo's status. keys are the
// todo's names in the session's mapping; text == "" means "only update".
func (s *Service) syncTodo(ctx context.Context, eventID, sessionID string, keys []string, text, status string) error {
	mapKey := protocol.TodoKey(sessionID)
	// A todo with Claude's task id is known by the id alone: two Claude
	// tasks may share a subject. The content key is still written, for a
	// later TodoWrite-style match.
	lookup := keys
	for _, k := range keys {
		if strings.HasPrefix(k, "id:") {
			lookup = []string{k}
			break
		}
	}
	ids, err := s.rdb.HMGet(ctx, mapKey, lookup...).Result()
	if err != nil {
		return fmt.Errorf("todo mapping: %w", err)
	}
	taskID := ""
	for _, v := range ids {
		if id, ok := v.(string); ok && id != "" {
			taskID = id
			break
		}
	}
	if taskID == "" {
		if text == "" {
			return nil // an update of a todo we never saw
		}
		if len(text) > 500 {
			text = text[:500]
		}
		prio := 50
		if status == "in_progress" {
			prio = 75
		}
		meta, _ := json.Marshal(map[string]any{"source": "todo_write", "sessionId": sessionID})
		raw, err := s.Create(ctx, eventID, api.TaskCreateParams{Text: text, Priority: &prio, Metadata: meta})
		if err != nil {
			return err
		}
		taskID = gjson.GetBytes(raw, "id").String()
	}
	pairs := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, taskID)
	}
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, mapKey, pairs...)
	pipe.Expire(ctx, mapKey, todoTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("todo mapping: %w", err)
	}
	t, err := s.load(ctx, taskID)
	if err != nil {
		return err
	}
	if (status == "in_progress" || status == "completed") && t.Status == "pending" {
		if _, err := s.Assign(ctx, eventID+"/assign", api.TaskAssignParams{TaskID: taskID, InstanceID: s.cfg.Source}); err != nil {
			return err
		}
		t.Status = "in_progress"
	}
	if status == "in_progress" && t.Status == "in_progress" && t.AssignedTo == s.cfg.Source {
		// The session still works on it: a todo list sent again renews the
		// lease of the assignment.
		if _, err := s.Renew(ctx, "", api.TaskRenewParams{ID: taskID, WorkerID: s.cfg.Source}); err != nil && protocol.CodeOf(err) != protocol.CodeConflict {
			return err
		}
	}
	if status == "completed" && t.Status == "in_progress" {
		if _, err := s.Complete(ctx, eventID+"/complete", api.TaskCompleteParams{ID: taskID}); err != nil {
			return err
		}
	}
	return nil
}

// SessionContext lists the session's in-progress tasks (those that came
// from its todos) for UserPromptSubmit's additional context.
func (s *Service) SessionContext(ctx context.Context, sessionID string) (string, error) {
	if sessionID == "" {
		return "", nil
	}
	ids, err := s.rdb.HVals(ctx, protocol.TodoKey(sessionID)).Result()
	if err != nil {
		return "", fmt.Errorf("session tasks: %w", err)
	}
	seen := map[string]bool{}
	var lines []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		t, err := s.load(ctx, id)
		if err != nil || t.Status != "in_progress" {
			continue
		}
		lines = append(lines, "- "+t.ID+": "+t.Text)
	}
	if len(lines) == 0 {
		return "", nil
	}
	sort.Strings(lines)
	return "In-progress ClaudeBench tasks for this session:\n" + strings.Join(lines, "\n"), nil
}
