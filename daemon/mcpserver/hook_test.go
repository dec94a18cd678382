package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/mcptest"
	"github.com/claudebench/cb/protocol"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func callHook(t *testing.T, cs *mcp.ClientSession, hookType string, hookInput map[string]any) *mcp.CallToolResult {
	t.Helper()
	tpl, err := hookmcp.Template(hookType)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: hookmcp.ToolName, Arguments: hookmcp.Interpolate(tpl, hookInput)})
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

// BenchmarkHookTool splits the mcp_tool path's cost inside one process:
// tools/call of the hook tool over streamable HTTP to Handler (go-sdk
// client and server), a plain POST to a handler that calls the invoker the
// way /hooks/<type> does, and the invoker alone. The first minus the second
// is what MCP's framing costs per hook on top of an http hook.
func BenchmarkHookTool(b *testing.B) {
	inv := newInvoker(b)
	srv, err := mcpserver.New(inv, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	hookInput := map[string]any{"session_id": "bench", "transcript_path": "/t.jsonl", "cwd": "/p", "hook_event_name": "PreToolUse",
		"permission_mode": "default", "tool_use_id": "toolu_1", "tool_name": "Bash", "tool_input": map[string]any{"command": "ls -la"}}
	raw, _ := json.Marshal(hookInput)
	tpl, err := hookmcp.Template("pre_tool")
	if err != nil {
		b.Fatal(err)
	}
	args := hookmcp.Interpolate(tpl, hookInput)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpserver.Handler(srv))
	mux.HandleFunc("/hooks/pre_tool", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, perr := inv.Invoke(r.Context(), protocol.NewEvent("hook.pre_tool", body, "http", "bench"))
		if perr != nil {
			http.Error(w, perr.Error(), http.StatusInternalServerError)
			return
		}
		var hr protocol.HookResult
		_ = json.Unmarshal(res, &hr)
		_, _ = w.Write(protocol.RenderHookOutput("PreToolUse", hr))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", MaxRetries: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	b.Run("mcp_tool", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: hookmcp.ToolName, Arguments: args})
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			resp, err := http.Post(ts.URL+"/hooks/pre_tool", "application/json", bytes.NewReader(raw))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("invoker", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, perr := inv.Invoke(ctx, protocol.NewEvent("hook.pre_tool", raw, "bench", "bench")); perr != nil {
				b.Fatal(perr)
			}
		}
	})
}
