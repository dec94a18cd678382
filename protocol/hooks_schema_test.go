package protocol_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/claudebench/cb/schemas/validate"
)

// referenceEvents are the 33 event names of Claude Code 2.1.328's settings
// schema, in its order (reference §2.1).
var referenceEvents = []string{
	"PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
	"UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop",
	"StopFailure", "SubagentStart", "SubagentStop", "PreCompact", "PostCompact",
	"PreModelSwitch", "PostModelSwitch", "PermissionRequest", "PermissionDenied", "Setup",
	"TeammateIdle", "TaskCreated", "TaskCompleted", "Elicitation", "ElicitationResult",
	"ConfigChange", "WorktreeCreate", "WorktreeRemove", "InstructionsLoaded", "CwdChanged",
	"FileChanged", "DirectoryAdded", "MessageDisplay",
}

// referenceBase are the base fields every event carries (reference §1.2).
var referenceBase = []string{
	"session_id", "transcript_path", "cwd", "hook_event_name", "prompt_id", "permission_mode",
	"agent_id", "agent_type", "effort", "scratchpad_dir",
}

// referenceInputs are each event's own input fields as reference §2.3
// lists them (todo_write is a PostToolUse hook and takes its input).
var referenceInputs = map[string][]string{
	"PreToolUse":          {"tool_name", "tool_input", "tool_use_id", "mcp_server"},
	"PermissionRequest":   {"tool_name", "tool_input", "permission_suggestions", "mcp_server"},
	"PermissionDenied":    {"tool_name", "tool_input", "tool_use_id", "reason", "mcp_server"},
	"PostToolUse":         {"tool_name", "tool_input", "tool_response", "tool_use_id", "duration_ms", "mcp_server"},
	"PostToolUseFailure":  {"tool_name", "tool_input", "tool_use_id", "error", "is_interrupt", "duration_ms", "mcp_server"},
	"PostToolBatch":       {"tool_calls"},
	"UserPromptSubmit":    {"prompt", "session_title", "source"},
	"UserPromptExpansion": {"expansion_type", "command_name", "command_args", "command_source", "prompt"},
	"SessionStart": {"source", "agent_type", "model", "session_title", "seconds_since_last_response",
		"context_tokens", "prompt_cache_likely_expired", "estimated_cache_write_usd"},
	"Setup":      {"trigger"},
	"SessionEnd": {"reason"},
	"Stop":       {"stop_hook_active", "last_assistant_message", "background_tasks", "session_crons"},
	"SubagentStop": {"stop_hook_active", "agent_id", "agent_transcript_path", "agent_type",
		"last_assistant_message", "background_tasks", "session_crons"},
	"StopFailure":    {"error", "error_details", "last_assistant_message"},
	"SubagentStart":  {"agent_id", "agent_type"},
	"TeammateIdle":   {"teammate_name", "team_name"},
	"TaskCreated":    {"task_id", "task_subject", "task_description", "teammate_name", "team_name"},
	"TaskCompleted":  {"task_id", "task_subject", "task_description", "teammate_name", "team_name"},
	"PreCompact":     {"trigger", "custom_instructions"},
	"PostCompact":    {"trigger", "compact_summary"},
	"PreModelSwitch": {"from_model", "to_model", "requested_model", "source", "context_tokens", "prompt_cache_warm", "cache_ttl", "estimated_cache_write_usd", "pricing"},
	"PostModelSwitch": {"from_model", "to_model", "requested_model", "source", "context_tokens", "prompt_cache_warm",
		"cache_ttl", "estimated_cache_write_usd", "pricing"},
	"Notification":       {"message", "title", "notification_type"},
	"Elicitation":        {"mcp_server_name", "message", "mode", "url", "elicitation_id", "requested_schema"},
	"ElicitationResult":  {"mcp_server_name", "elicitation_id", "mode", "action", "content"},
	"ConfigChange":       {"source", "file_path"},
	"InstructionsLoaded": {"file_path", "memory_type", "load_reason", "globs", "trigger_file_path", "parent_file_path"},
	"CwdChanged":         {"old_cwd", "new_cwd"},
	"FileChanged":        {"file_path", "event"},
	"DirectoryAdded":     {"directory", "source"},
	"WorktreeCreate":     {"name"},
	"WorktreeRemove":     {"worktree_path"},
	"MessageDisplay":     {"turn_id", "message_id", "index", "final", "delta"},
}

// TestHookEventsAreTheReferenceEvents: every HookEvents entry names one of
// the reference's 33 events, each exactly once, except PostToolUse, which
// post_tool and todo_write share.
func TestHookEventsAreTheReferenceEvents(t *testing.T) {
	count := map[string]int{}
	for _, he := range protocol.HookEvents {
		if !slices.Contains(referenceEvents, he.ClaudeEvent) {
			t.Errorf("%s: %q is not an event of the reference", he.Type, he.ClaudeEvent)
		}
		count[he.ClaudeEvent]++
	}
	for _, ev := range referenceEvents {
		want := 1
		if ev == "PostToolUse" {
			want = 2
		}
		if count[ev] != want {
			t.Errorf("%s: %d HookEvents entries, want %d", ev, count[ev], want)
		}
	}
	if len(referenceInputs) != len(referenceEvents) {
		t.Errorf("referenceInputs has %d events, want %d", len(referenceInputs), len(referenceEvents))
	}
}

// declared are the properties a resolved input schema names, allOf parts
// merged.
func declared(t *testing.T, method string) map[string]any {
	t.Helper()
	m, err := schemas.Resolved(method)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(m.Input, &doc); err != nil {
		t.Fatal(err)
	}
	props := map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		s, ok := v.(map[string]any)
		if !ok {
			return
		}
		if ps, ok := s["properties"].(map[string]any); ok {
			for k, p := range ps {
				props[k] = p
			}
		}
		if all, ok := s["allOf"].([]any); ok {
			for _, a := range all {
				walk(a)
			}
		}
	}
	walk(doc)
	return props
}

// TestHookSchemasNameTheReferenceFields: every hook.<type> input schema
// declares the base fields and the event's own fields of the reference, so
// a type mismatch in any of them is caught by validation rather than
// passed through as an unknown field.
func TestHookSchemasNameTheReferenceFields(t *testing.T) {
	for _, he := range protocol.HookEvents {
		props := declared(t, protocol.HookMethod(he.Type))
		for _, f := range append(slices.Clone(referenceBase), referenceInputs[he.ClaudeEvent]...) {
			if _, ok := props[f]; !ok {
				t.Errorf("hook.%s (%s): the schema does not declare %q", he.Type, he.ClaudeEvent, f)
			}
		}
	}
	props := declared(t, protocol.HookMethod(protocol.OtherHookType))
	for _, f := range referenceBase {
		if _, ok := props[f]; !ok {
			t.Errorf("hook.other: the schema does not declare %q", f)
		}
	}
}

// TestRecordedInputsMatchSchemas: what the real client sent (recorded in
// e2e/claudecode/testdata) validates against the hook type's schema, and
// the schema declares every field the client sent.
func TestRecordedInputsMatchSchemas(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../e2e/claudecode/testdata/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d recordings, want the e2e/claudecode testdata", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var in map[string]any
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name, _ := in["hook_event_name"].(string)
		he, ok := protocol.LookupClaudeEvent(name)
		if !ok {
			t.Errorf("%s: unknown event %q", f, name)
			continue
		}
		if strings.HasPrefix(filepath.Base(f), "todo_write") {
			he, _ = protocol.LookupHookEvent("todo_write")
		}
		method := protocol.HookMethod(he.Type)
		if err := v.Input(method, data); err != nil {
			t.Errorf("%s: %s rejects the recording: %v", f, method, err)
		}
		props := declared(t, method)
		for k := range in {
			if _, ok := props[k]; !ok {
				t.Errorf("%s: %s does not declare %q, which the client sent", f, method, k)
			}
		}
	}
}

// TestHookSchemasAllowNewFields: Claude Code adds optional fields often, so
// no hook input schema refuses a field it does not name, at the top or
// inside the base fields' objects.
func TestHookSchemasAllowNewFields(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	types := []string{protocol.OtherHookType}
	for _, he := range protocol.HookEvents {
		types = append(types, he.Type)
	}
	for _, typ := range types {
		in := `{"session_id":"s","hook_event_name":"X","effort":{"level":"high","budget":3},` +
			`"tool_name":"Bash","tool_input":{},"prompt":"p","error":"e","future_field":{"x":[1]}}`
		if err := v.Input(protocol.HookMethod(typ), []byte(in)); err != nil {
			t.Errorf("hook.%s refuses new fields: %v", typ, err)
		}
	}
}
