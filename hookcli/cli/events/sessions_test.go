package events

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// addHook records a hook event the way cb hook does: the raw Claude Code
// JSON as payload, the session in the metadata.
func addHook(t *testing.T, rdb *redis.Client, typ string, at time.Time, hook map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(hook)
	session, _ := hook["session_id"].(string)
	_, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: protocol.StreamKey(typ),
		Values: []any{protocol.StreamField, envelope(typ, string(payload), session, at.UnixMilli())}}).Result()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSessions(t *testing.T) {
	_, rdb := testRedis(t)
	now := time.Now()
	sA, sB := "aaaa1111-0000-0000-0000-000000000001", "bbbb2222-0000-0000-0000-000000000002"
	at := func(minAgo int) time.Time { return now.Add(-time.Duration(minAgo) * time.Minute) }
	addHook(t, rdb, "hook.session_start", at(50), map[string]any{"session_id": sA, "hook_event_name": "SessionStart", "source": "startup", "cwd": "/a"})
	addHook(t, rdb, "hook.user_prompt", at(49), map[string]any{"session_id": sA, "hook_event_name": "UserPromptSubmit", "prompt": "fix it", "cwd": "/a"})
	for _, tool := range []string{"Bash", "Read", "Bash"} {
		addHook(t, rdb, "hook.pre_tool", at(48), map[string]any{"session_id": sA, "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": map[string]any{"command": "ls"}, "cwd": "/a"})
		addHook(t, rdb, "hook.post_tool", at(47), map[string]any{"session_id": sA, "hook_event_name": "PostToolUse", "tool_name": tool, "cwd": "/a"})
	}
	addHook(t, rdb, "hook.user_prompt", at(40), map[string]any{"session_id": sA, "hook_event_name": "UserPromptSubmit", "prompt": "again", "cwd": "/a/sub"})
	addHook(t, rdb, "hook.pre_tool", at(10), map[string]any{"session_id": sB, "hook_event_name": "PreToolUse", "tool_name": "Write"})
	// Outside the window (and a non-hook stream) do not count.
	addHook(t, rdb, "hook.pre_tool", now.Add(-30*time.Hour), map[string]any{"session_id": sA, "hook_event_name": "PreToolUse", "tool_name": "Old"})
	addHook(t, rdb, "task.created", at(5), map[string]any{"session_id": sA})

	list := sessionsJSON(t)
	if len(list) != 2 || list[0].ID != sB || list[1].ID != sA {
		t.Fatalf("sessions %+v", list)
	}
	a := list[1]
	if a.Events != 9 || a.Prompts != 2 || a.Tools["Bash"] != 2 || a.Tools["Read"] != 1 || len(a.Tools) != 2 || a.Cwd != "/a/sub" {
		t.Fatalf("session A %+v", a)
	}
	if !a.FirstSeen.Equal(time.UnixMilli(at(50).UnixMilli())) || !a.LastSeen.Equal(time.UnixMilli(at(40).UnixMilli())) ||
		a.LastPrompt == nil || !a.LastPrompt.Equal(a.LastSeen) {
		t.Fatalf("session A times %+v", a)
	}
	if a.Denials != nil {
		t.Fatalf("denials without a decision stream: %v", *a.Denials)
	}
	if b := list[0]; b.Events != 1 || b.Tools["Write"] != 1 || b.LastPrompt != nil || b.Prompts != 0 {
		t.Fatalf("session B %+v", b)
	}
	if got := sessionsJSON(t, "--since", "20m"); len(got) != 1 || got[0].ID != sB {
		t.Fatalf("--since 20m: %+v", got)
	}

	// A decision stream makes denials countable.
	addHook(t, rdb, decisionType, at(39), map[string]any{"sessionId": sA, "event": "hook.pre_tool", "tool": "Bash", "decision": "deny", "reason": "no"})
	addHook(t, rdb, decisionType, at(39), map[string]any{"sessionId": sA, "event": "hook.pre_tool", "tool": "Bash", "decision": "allow"})
	list = sessionsJSON(t)
	if list[1].Denials == nil || *list[1].Denials != 1 || list[0].Denials == nil || *list[0].Denials != 0 || list[1].Events != 9 {
		t.Fatalf("with decisions: %+v", list)
	}

	// The table of a terminal.
	var tbl strings.Builder
	ios := iostreams.System(nil, &tbl, nil)
	ios.SetStdoutTTY(true)
	if err := printSessions(&tbl, ios, list, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := tbl.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "DENIALS") || !strings.HasPrefix(lines[2], "aaaa1111 ") ||
		!strings.HasSuffix(lines[2], "Bash 2, Read 1") {
		t.Fatalf("table:\n%s", out)
	}
	// Off a terminal: tab-separated rows, whole ids, no header.
	out, errs, code := runCB("", "sessions")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], list[1].ID+"\t") || !strings.HasSuffix(lines[1], "\tBash 2, Read 1") {
		t.Fatalf("rows:\n%s", out)
	}

	// The timeline, by prefix.
	out, errs, code = runCB("", "sessions", "show", "aaaa", "--json")
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errs)
	}
	recs := decodeLines(t, out)
	if len(recs) != 11 || recs[0].Stream != "hook.session_start" || recs[1].Stream != "hook.user_prompt" || recs[10].Stream != "hook.decision" {
		t.Fatalf("timeline %s", recIDs(recs))
	}
	for i := 1; i < len(recs); i++ {
		var m0, m1 protocol.Metadata
		_ = json.Unmarshal(recs[i-1].Metadata, &m0)
		_ = json.Unmarshal(recs[i].Metadata, &m1)
		if m1.Timestamp < m0.Timestamp {
			t.Fatalf("timeline out of order at %d", i)
		}
	}
	if _, errs, code := runCB("", "sessions", "show", "zzz"); code != 7 || !strings.Contains(errs, "not_found") {
		t.Fatalf("unknown session: exit %d %s", code, errs)
	}
	addHook(t, rdb, "hook.stop", at(1), map[string]any{"session_id": "aaaa9999", "hook_event_name": "Stop"})
	if _, errs, code := runCB("", "sessions", "show", "aaaa"); code != 1 || !strings.Contains(errs, "ambiguous") {
		t.Fatalf("ambiguous prefix: exit %d %s", code, errs)
	}
}

func sessionsJSON(t *testing.T, args ...string) []SessionSummary {
	t.Helper()
	out, errs, code := runCB("", append([]string{"sessions", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var list []SessionSummary
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return list
}

func TestSessionsEmpty(t *testing.T) {
	testRedis(t)
	out, errs, code := runCB("", "sessions", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("exit %d %q %s", code, out, errs)
	}
	out, errs, code = runCB("", "sessions")
	if code != 0 || out != "" || !strings.Contains(errs, "no Claude Code sessions") {
		t.Fatalf("exit %d %q %s", code, out, errs)
	}
}

func TestHookDetail(t *testing.T) {
	mk := func(stream, payload string) hookEntry {
		return hookEntry{rec: EventRecord{Stream: stream, Payload: json.RawMessage(payload)}}
	}
	covered := map[string]bool{}
	for _, c := range []struct {
		e    hookEntry
		want string
	}{
		{mk("hook.pre_tool", `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"go test ./...","description":"x"}}`), "go test ./..."},
		{mk("hook.post_tool", `{"hook_event_name":"PostToolUse","tool_name":"WebFetch","tool_input":{"url":"https://x","prompt":"p"}}`), "https://x"},
		{mk("hook.pre_compact", `{"hook_event_name":"PreCompact","trigger":"manual","custom_instructions":null}`), "PreCompact: manual"},
		{mk("hook.pre_tool", `{"tool_name":"Read","tool_input":{"file_path":"/a/b.go"}}`), "/a/b.go"},
		{mk("hook.user_prompt", `{"hook_event_name":"UserPromptSubmit","prompt":"hello\nworld"}`), `"hello\nworld"`},
		{mk("hook.session_start", `{"hook_event_name":"SessionStart","source":"resume"}`), "SessionStart: resume"},
		{mk("hook.stop", `{"hook_event_name":"Stop"}`), "Stop"},
		{mk(decisionType, `{"decision":"deny","reason":"rm -rf /"}`), "deny: rm -rf /"},
		// The events beyond the first ten: what each is about.
		{mk("hook.post_tool_use_failure", `{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"false"},"error":"Exit code 1"}`), "false → Exit code 1"},
		{mk("hook.post_tool_use_failure", `{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"sleep 9"},"error":"x","is_interrupt":true}`), "sleep 9 (interrupted)"},
		{mk("hook.permission_request", `{"hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"touch a"}}`), "asks: touch a"},
		{mk("hook.permission_denied", `{"hook_event_name":"PermissionDenied","tool_name":"Bash","tool_input":{"command":"rm a"},"reason":"destructive"}`), "rm a → denied: destructive"},
		{mk("hook.todo_write", `{"hook_event_name":"PostToolUse","tool_name":"TaskCreate","tool_input":{"subject":"Write it","description":"all"}}`), "Write it"},
		{mk("hook.post_tool_batch", `{"hook_event_name":"PostToolBatch","tool_calls":[{"tool_name":"Bash"},{"tool_name":"Read"}]}`), "PostToolBatch: 2 tool calls: Bash, Read"},
		{mk("hook.user_prompt_expansion", `{"hook_event_name":"UserPromptExpansion","command_name":"review","command_args":"pr 12","prompt":"long"}`), "/review pr 12"},
		{mk("hook.session_start", `{"hook_event_name":"SessionStart","source":"startup","model":"claude-x"}`), "SessionStart: startup, model claude-x"},
		{mk("hook.stop", `{"hook_event_name":"Stop","stop_hook_active":true,"last_assistant_message":"Done."}`), `Stop: (continuing after a block) "Done."`},
		{mk("hook.subagent_stop", `{"hook_event_name":"SubagentStop","agent_type":"Explore","last_assistant_message":"ok"}`), `SubagentStop: Explore "ok"`},
		{mk("hook.stop_failure", `{"hook_event_name":"StopFailure","error":"rate_limit","error_details":"429"}`), "StopFailure: rate_limit: 429"},
		{mk("hook.subagent_start", `{"hook_event_name":"SubagentStart","agent_type":"general-purpose","agent_id":"a01"}`), "SubagentStart: general-purpose a01"},
		{mk("hook.teammate_idle", `{"hook_event_name":"TeammateIdle","teammate_name":"bob"}`), "TeammateIdle: bob"},
		{mk("hook.task_created", `{"hook_event_name":"TaskCreated","task_id":"1","task_subject":"Check the events"}`), `TaskCreated: #1 "Check the events"`},
		{mk("hook.task_completed", `{"hook_event_name":"TaskCompleted","task_id":"2","task_subject":"x","teammate_name":"bob"}`), `TaskCompleted: #2 "x" (bob)`},
		{mk("hook.pre_model_switch", `{"hook_event_name":"PreModelSwitch","from_model":"a","to_model":"b","source":"command"}`), "PreModelSwitch: a → b (command)"},
		{mk("hook.post_model_switch", `{"hook_event_name":"PostModelSwitch","from_model":"a","to_model":"b"}`), "PostModelSwitch: a → b"},
		{mk("hook.notification", `{"hook_event_name":"Notification","notification_type":"idle_prompt","message":"waiting"}`), "Notification: idle_prompt: waiting"},
		{mk("hook.elicitation", `{"hook_event_name":"Elicitation","mcp_server_name":"gh","message":"token?"}`), "Elicitation: gh: token?"},
		{mk("hook.elicitation_result", `{"hook_event_name":"ElicitationResult","mcp_server_name":"gh","action":"decline"}`), "ElicitationResult: gh: decline"},
		{mk("hook.config_change", `{"hook_event_name":"ConfigChange","source":"user_settings","file_path":"/h/.claude/settings.json"}`), "ConfigChange: user_settings /h/.claude/settings.json"},
		{mk("hook.instructions_loaded", `{"hook_event_name":"InstructionsLoaded","file_path":"/p/CLAUDE.md","load_reason":"session_start"}`), "InstructionsLoaded: /p/CLAUDE.md (session_start)"},
		{mk("hook.cwd_changed", `{"hook_event_name":"CwdChanged","old_cwd":"/a","new_cwd":"/b"}`), "CwdChanged: /a → /b"},
		{mk("hook.file_changed", `{"hook_event_name":"FileChanged","file_path":"/p/.env","event":"change"}`), "FileChanged: change /p/.env"},
		{mk("hook.directory_added", `{"hook_event_name":"DirectoryAdded","directory":"/q","source":"slash_command"}`), "DirectoryAdded: /q (slash_command)"},
		{mk("hook.worktree_create", `{"hook_event_name":"WorktreeCreate","name":"fix-1"}`), "WorktreeCreate: fix-1"},
		{mk("hook.worktree_remove", `{"hook_event_name":"WorktreeRemove","worktree_path":"/w/fix-1"}`), "WorktreeRemove: /w/fix-1"},
		{mk("hook.message_display", `{"hook_event_name":"MessageDisplay","delta":"Hello"}`), "MessageDisplay: Hello"},
		{mk("hook.setup", `{"hook_event_name":"Setup","trigger":"init"}`), "Setup: init"},
		{mk("hook.post_compact", `{"hook_event_name":"PostCompact","trigger":"auto","compact_summary":"..."}`), "PostCompact: auto"},
		{mk("hook.session_end", `{"hook_event_name":"SessionEnd","reason":"other"}`), "SessionEnd: other"},
		{mk("hook.other", `{"hook_event_name":"BrandNewEvent"}`), "BrandNewEvent"},
		{mk("hook.other", `{"hook_event_name":"BrandNewEvent","message":"hi"}`), "BrandNewEvent: hi"},
	} {
		if got := hookDetail(c.e); got != c.want {
			t.Errorf("%s: %q, want %q", c.e.rec.Payload, got, c.want)
		}
		var ev struct {
			Name string `json:"hook_event_name"`
		}
		_ = json.Unmarshal(c.e.rec.Payload, &ev)
		covered[ev.Name] = true
		covered[c.e.rec.Stream] = true
	}
	for _, he := range protocol.HookEvents {
		if !covered[he.ClaudeEvent] || !covered[protocol.HookMethod(he.Type)] {
			t.Errorf("no case for %s (%s)", he.Type, he.ClaudeEvent)
		}
	}
}

func TestToolsCell(t *testing.T) {
	if got := toolsCell(map[string]int{"Read": 2, "Bash": 5, "Edit": 2}); got != "Bash 5, Edit 2, Read 2" {
		t.Fatal(got)
	}
	if got := toolsCell(nil); got != "-" {
		t.Fatal(got)
	}
	var b bytes.Buffer
	now := time.Now()
	d := 0
	err := printSessions(&b, iostreams.System(nil, &b, nil), []SessionSummary{{ID: "s", FirstSeen: now, LastSeen: now, Tools: map[string]int{}, Denials: &d}}, true, now)
	if err != nil || !strings.Contains(b.String(), "DENIALS") || strings.Contains(b.String(), "\x1b") {
		t.Fatalf("%v %q", err, b.String())
	}
}
