package mcpserver_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/mcptest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// interpolate does what Claude Code does with an mcp_tool handler's input
// template: every "${name}" string becomes the hook input's value of name,
// a string as is, anything else JSON-encoded, a missing one "".
func interpolate(t *testing.T, tpl map[string]any, hookInput map[string]any) map[string]any {
	t.Helper()
	in := map[string]any{}
	for k, v := range tpl[hookmcp.ArgInput].(map[string]any) {
		name := v.(string)[2 : len(v.(string))-1]
		switch x := hookInput[name].(type) {
		case nil:
			in[k] = ""
		case string:
			in[k] = x
		default:
			b, _ := json.Marshal(x)
			in[k] = string(b)
		}
	}
	return map[string]any{hookmcp.ArgType: tpl[hookmcp.ArgType], hookmcp.ArgInput: in}
}

func callHook(t *testing.T, cs *mcp.ClientSession, hookType string, hookInput map[string]any) *mcp.CallToolResult {
	t.Helper()
	tpl, err := hookmcp.Template(hookType)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: hookmcp.ToolName, Arguments: interpolate(t, tpl, hookInput)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestHookTool calls the hook tool the way Claude Code's mcp_tool hooks
// do, from the template cb install writes: a shipped deny rule answers
// PreToolUse's deny JSON, an allowed call no opinion (empty text), and a
// bad type is a tool error (a hook failure for Claude Code).
func TestHookTool(t *testing.T) {
	cs := connect(t, newServer(t))
	base := map[string]any{"session_id": "mcp-hook-s1", "transcript_path": "/t.jsonl", "cwd": "/p",
		"hook_event_name": "PreToolUse", "permission_mode": "default", "tool_use_id": "toolu_1"}
	deny := map[string]any{"tool_name": "Bash", "tool_input": map[string]any{"command": "rm -rf /"}}
	for k, v := range base {
		deny[k] = v
	}
	res := callHook(t, cs, "pre_tool", deny)
	texts := mcptest.Texts(res)
	if res.IsError || len(texts) != 1 {
		t.Fatalf("pre_tool deny: error=%v %q", res.IsError, texts)
	}
	var out struct {
		HSO struct {
			Event    string `json:"hookEventName"`
			Decision string `json:"permissionDecision"`
			Reason   string `json:"permissionDecisionReason"`
		} `json:"hookSpecificOutput"`
	}
	if err := json.Unmarshal([]byte(texts[0]), &out); err != nil || out.HSO.Event != "PreToolUse" || out.HSO.Decision != "deny" || out.HSO.Reason == "" {
		t.Fatalf("pre_tool deny answered %q (%v)", texts[0], err)
	}

	allow := map[string]any{"tool_name": "Bash", "tool_input": map[string]any{"command": "ls"}}
	for k, v := range base {
		allow[k] = v
	}
	res = callHook(t, cs, "pre_tool", allow)
	if texts := mcptest.Texts(res); res.IsError || len(texts) != 1 || texts[0] != "" {
		t.Fatalf("pre_tool ls: error=%v %q, want empty text (no opinion)", res.IsError, texts)
	}

	// Every type's template round-trips through its handler's validation.
	res = callHook(t, cs, "stop", map[string]any{"session_id": "mcp-hook-s1", "hook_event_name": "Stop", "stop_hook_active": false, "cwd": "/p"})
	if res.IsError {
		t.Fatalf("stop: %q", mcptest.Texts(res))
	}

	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: hookmcp.ToolName,
		Arguments: map[string]any{"type": "no_such_type", "input": map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError {
		t.Fatalf("unknown type: %q, want a tool error", mcptest.Texts(res))
	}
}
