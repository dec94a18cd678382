package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// TestTodoWriteSessionOverRPC is issue 15's defect 3: hook.todo_write over
// POST /rpc takes the session from the hook's session_id, as `cb hook` and
// /hooks do, so the same todo in two sessions is two tasks, not one.
func TestTodoWriteSessionOverRPC(t *testing.T) {
	e := startHTTPEnv(t)
	for _, session := range []string{"sess-a", "sess-b"} {
		hook, _ := json.Marshal(map[string]any{"session_id": session, "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
			"tool_input":    map[string]any{"todos": []any{map[string]any{"content": "Shared step", "status": "pending", "activeForm": "Sharing"}}},
			"tool_response": map[string]any{}})
		body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "hook.todo_write", "params": json.RawMessage(hook)})
		status, b := e.post(t, "/rpc", body, nil)
		if status != 200 || !strings.Contains(string(b), `"result"`) {
			t.Fatalf("POST /rpc hook.todo_write (%s): %d %s", session, status, b)
		}
	}
	raw, err := e.call(t, "task.list", map[string]any{"limit": 100})
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Tasks []task }
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]bool{}
	for _, tk := range list.Tasks {
		if tk.Text != "Shared step" {
			continue
		}
		var md struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(tk.Metadata, &md)
		sessions[md.SessionID] = true
	}
	if len(sessions) != 2 || !sessions["sess-a"] || !sessions["sess-b"] {
		t.Fatalf("want one task per session (sess-a, sess-b), got sessions %v in %s", sessions, raw)
	}
}

// TestHookDecisionsFromCBHook is issue 15's defect 4: a decision made
// through `cb hook` (the default install) shows in /metrics.
func TestHookDecisionsFromCBHook(t *testing.T) {
	e := startHTTPEnv(t)
	deny := []byte(`{"session_id":"s-metrics","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`)
	out := testenv.RunCB(t, bin, e.h, nil, deny, "hook", "pre_tool")
	if !strings.Contains(out.Stdout+out.Stderr, "deny") && out.Code != 2 {
		t.Fatalf("cb hook pre_tool did not deny: %d %q %q", out.Code, out.Stdout, out.Stderr)
	}
	status, b := e.send(t, http.MethodGet, "/metrics", nil, nil)
	want := `cb_hook_decisions_total{decision="deny",event="pre_tool",tool="Bash"} 1`
	if status != 200 || !strings.Contains(string(b), want) {
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "cb_hook") {
				lines = append(lines, l)
			}
		}
		t.Fatalf("/metrics (%d) lacks %s; hook series: %q", status, want, lines)
	}
}
