package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

const fakeDiscover = `{"methods":[
 {"name":"hook.pre_tool","description":"hook","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},
 {"name":"system.metrics","description":"metrics","inputSchema":{"type":"object"},"outputSchema":{"type":"object"},"mcp":false},
 {"name":"system.register","description":"register","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},
 {"name":"system.version","description":"Version.","inputSchema":{"type":"object","properties":{},"additionalProperties":false},"outputSchema":{"type":"object"},"mcp":true},
 {"name":"task.count","description":"Count tasks.","inputSchema":{"properties":{}},"outputSchema":{"type":"integer"}},
 {"name":"task.create","description":"Create a task.","inputSchema":{"type":"object","properties":{"text":{"type":"string","minLength":1}},"required":["text"]},"outputSchema":{"type":"object","properties":{"id":{"type":"string"}}}},
 {"name":"task.delete","description":"delete","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},
 {"name":"task.list","description":"List tasks.","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},
 {"name":"task.wait","description":"Blocks.","inputSchema":{"type":"object"}}
]}`

// newFakeCBD answers the methods cb mcp calls, like cbd would; down: as
// when no cbd is running.
func newFakeCBD(down bool) *clitest.FakeCaller {
	f := clitest.NewFakeCaller(map[string]clitest.Handler{
		"system.discover": clitest.Answer(fakeDiscover),
		"system.version":  clitest.Answer(`{"version":"v9"}`),
		"task.count":      clitest.Answer(`3`),
		"task.create": func(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
			var args map[string]any
			if err := json.Unmarshal(params, &args); err != nil {
				return nil, &protocol.Error{Code: protocol.CodeInvalidParams, Message: "params are not an object"}
			}
			text, _ := args["text"].(string)
			if text == "" {
				return nil, &protocol.Error{Code: protocol.CodeInvalidParams, Message: "invalid params for task.create: /text: minLength: got 0, want 1",
					Data: map[string]any{"errors": []map[string]string{{"path": "/text", "message": "minLength: got 0, want 1"}}}}
			}
			return json.RawMessage(`{"id":"t-1","text":` + strconvQuote(text) + `}`), nil
		},
		"task.list": clitest.Answer(`{"tasks":[{"id":"t-1"}],"totalCount":1,"hasMore":false}`),
		"task.wait": func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, &protocol.Error{Code: protocol.CodeTimeout, Message: "cancelled"}
		},
	})
	if down {
		f.Down = &protocol.Error{Code: protocol.CodeUnavailable, Message: "no cbd instance is serving it (is cbd running?)"}
	}
	return f
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// runMCP feeds input to a cb mcp session and returns every line it wrote,
// decoded, plus the responses by id.
func runMCP(t *testing.T, f cmdutil.Caller, input string) ([]map[string]any, map[string]map[string]any) {
	t.Helper()
	var out, errb bytes.Buffer
	s := newMCPServer(f, &errb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.serve(ctx, strings.NewReader(input), &out); err != nil {
		t.Fatalf("serve: %v", err)
	}
	var all []map[string]any
	byID := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		if m["jsonrpc"] != "2.0" {
			t.Errorf("not a JSON-RPC 2.0 message: %q", line)
		}
		if _, ok := m["id"]; !ok {
			t.Errorf("response without id: %q", line)
		}
		all = append(all, m)
		byID[fmt.Sprint(m["id"])] = m
	}
	return all, byID
}

// get follows a path of map keys and slice indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func req(id any, method string, params any) string {
	m := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		m["params"] = params
	}
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

func toolNames(resp map[string]any) []string {
	var names []string
	for _, tool := range get(resp, "result", "tools").([]any) {
		names = append(names, get(tool, "name").(string))
	}
	return names
}

func TestMCPMessages(t *testing.T) {
	initialized := `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"
	init := func(version string) string {
		return req(0, "initialize", map[string]any{"protocolVersion": version, "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "test", "version": "1"}})
	}
	for _, tc := range []struct {
		name  string
		input string
		down  bool
		// check looks at the responses by id ("<nil>" for id null).
		check func(t *testing.T, all []map[string]any, byID map[string]map[string]any)
	}{
		{"initialize echoes a supported version", init("2025-03-26") + initialized, false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["0"]
				if len(all) != 1 || get(r, "result", "protocolVersion") != "2025-03-26" ||
					get(r, "result", "serverInfo", "name") != "claudebench" ||
					get(r, "result", "serverInfo", "version") != protocol.Version ||
					get(r, "result", "capabilities", "tools") == nil {
					t.Errorf("responses %v", all)
				}
			}},
		{"initialize answers the newest for an unknown version", init("2099-01-01"), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if v := get(byID["0"], "result", "protocolVersion"); v != "2025-06-18" {
					t.Errorf("protocolVersion %v", v)
				}
			}},
		{"ping", req("p", "ping", nil), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if r, ok := get(byID["p"], "result").(map[string]any); !ok || len(r) != 0 {
					t.Errorf("ping → %v", byID["p"])
				}
			}},
		{"tools/list publishes the MCP-exposed methods", init("2025-06-18") + req(1, "tools/list", map[string]any{}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["1"]
				want := []string{"system_version", "task_count", "task_create", "task_list", "task_wait"}
				if got := toolNames(r); !slices.Equal(got, want) {
					t.Fatalf("tools %v, want %v", got, want)
				}
				for i := range want {
					if typ := get(r, "result", "tools", i, "inputSchema", "type"); typ != "object" {
						t.Errorf("%s: inputSchema type %v", want[i], typ)
					}
				}
				if get(r, "result", "tools", 2, "outputSchema", "type") != "object" || get(r, "result", "tools", 2, "description") != "Create a task." {
					t.Errorf("task_create %v", get(r, "result", "tools", 2))
				}
				if _, ok := get(r, "result", "tools", 1).(map[string]any)["outputSchema"]; ok {
					t.Errorf("task_count publishes a non-object outputSchema: %v", get(r, "result", "tools", 1))
				}
				// Read-only methods (protocol.MCPReadOnly) say so; others have no hints.
				if get(r, "result", "tools", 3, "annotations", "readOnlyHint") != true || get(r, "result", "tools", 2, "annotations") != nil {
					t.Errorf("annotations: task_list %v, task_create %v", get(r, "result", "tools", 3), get(r, "result", "tools", 2))
				}
			}},
		{"tools/call ok", req(2, "tools/call", map[string]any{"name": "task_create", "arguments": map[string]any{"text": "hello"}}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["2"]
				if get(r, "result", "isError") != nil || get(r, "result", "structuredContent", "id") != "t-1" ||
					get(r, "result", "content", 0, "type") != "text" ||
					get(r, "result", "content", 0, "text") != `{"id":"t-1","text":"hello"}` {
					t.Errorf("tools/call → %v", r)
				}
			}},
		{"tools/call without arguments", req(2, "tools/call", map[string]any{"name": "task_list"}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if get(byID["2"], "result", "structuredContent", "totalCount") != float64(1) {
					t.Errorf("tools/call → %v", byID["2"])
				}
			}},
		{"tools/call wraps a non-object result", req(3, "tools/call", map[string]any{"name": "task_count", "arguments": map[string]any{}}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["3"]
				if get(r, "result", "structuredContent", "result") != float64(3) || get(r, "result", "content", 0, "text") != "3" {
					t.Errorf("tools/call → %v", r)
				}
			}},
		{"tools/call error is a tool result", req(4, "tools/call", map[string]any{"name": "task_create", "arguments": map[string]any{"text": ""}}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["4"]
				text, _ := get(r, "result", "content", 0, "text").(string)
				if get(r, "error") != nil || get(r, "result", "isError") != true ||
					!strings.HasPrefix(text, "invalid_params (-32602): ") || !strings.Contains(text, "/text") {
					t.Fatalf("tools/call → %v", r)
				}
				var pe protocol.Error
				if err := json.Unmarshal([]byte(get(r, "result", "content", 1, "text").(string)), &pe); err != nil || pe.Code != protocol.CodeInvalidParams ||
					get(pe.Data, "errors", 0, "path") != "/text" {
					t.Errorf("error object %v (%v)", get(r, "result", "content", 1), err)
				}
				if get(r, "result", "structuredContent") != nil {
					t.Errorf("structuredContent on an error: %v", r)
				}
			}},
		{"unknown tool", req(5, "tools/call", map[string]any{"name": "nope", "arguments": map[string]any{}}) +
			req(6, "tools/call", map[string]any{"name": "hook_pre_tool", "arguments": map[string]any{}}) +
			req(7, "tools/call", map[string]any{"name": "task_delete", "arguments": map[string]any{"id": "t-1"}}) +
			req(8, "tools/call", map[string]any{"name": "task.create", "arguments": map[string]any{"text": "x"}}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				for _, id := range []string{"5", "6", "7", "8"} {
					r := byID[id]
					text, _ := get(r, "result", "content", 0, "text").(string)
					if get(r, "result", "isError") != true || !strings.HasPrefix(text, "method_not_found (-32601): unknown tool") {
						t.Errorf("id %s → %v", id, r)
					}
				}
			}},
		{"old protocol gets text only", init("2024-11-05") + req(1, "tools/list", nil) +
			req(2, "tools/call", map[string]any{"name": "task_create", "arguments": map[string]any{"text": "x"}}), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				for _, tool := range get(byID["1"], "result", "tools").([]any) {
					if _, ok := tool.(map[string]any)["outputSchema"]; ok {
						t.Errorf("outputSchema for 2024-11-05: %v", tool)
					}
				}
				if r := byID["2"]; get(r, "result", "structuredContent") != nil || get(r, "result", "content", 0, "text") == nil {
					t.Errorf("tools/call → %v", r)
				}
			}},
		{"cbd down", req(1, "tools/list", nil) + req(2, "tools/call", map[string]any{"name": "task_list"}), true,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if code := get(byID["1"], "error", "code"); code != float64(protocol.CodeUnavailable) {
					t.Errorf("tools/list → %v", byID["1"])
				}
				text, _ := get(byID["2"], "result", "content", 0, "text").(string)
				if get(byID["2"], "result", "isError") != true || !strings.HasPrefix(text, "unavailable (-32006): ") {
					t.Errorf("tools/call → %v", byID["2"])
				}
			}},
		{"malformed JSON", "{\"jsonrpc\":\n" + req(9, "ping", nil), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				r := byID["<nil>"]
				if len(all) != 2 || get(r, "error", "code") != float64(-32700) || byID["9"] == nil {
					t.Errorf("responses %v", all)
				}
			}},
		{"invalid requests", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]` + "\n" +
			`{"jsonrpc":"1.0","id":2,"method":"ping"}` + "\n" +
			`{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}` + "\n" +
			`{"jsonrpc":"2.0","id":3}` + "\n" +
			`{"jsonrpc":"2.0","id":4,"result":{}}` + "\n" +
			req(5, "tools/call", map[string]any{"arguments": map[string]any{}}) +
			req(6, "tools/call", "x"), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				codes := map[string]float64{"2": -32600, "3": -32600, "5": -32602, "6": -32602}
				for id, code := range codes {
					if got := get(byID[id], "error", "code"); got != code {
						t.Errorf("id %s: %v", id, byID[id])
					}
				}
				nulls := 0
				for _, r := range all {
					if r["id"] == nil && get(r, "error", "code") == float64(-32600) {
						nulls++
					}
				}
				if nulls != 2 || len(all) != 6 {
					t.Errorf("responses %v", all)
				}
			}},
		{"unknown method", req("u", "resources/subscribe", map[string]any{"uri": "cb://queue"}) + `{"jsonrpc":"2.0","method":"notifications/whatever"}` + "\n", false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if len(all) != 1 || get(byID["u"], "error", "code") != float64(-32601) {
					t.Errorf("responses %v", all)
				}
			}},
		{"blank lines and no final newline", "\n  \n" + strings.TrimSuffix(req(1, "ping", nil), "\n"), false,
			func(t *testing.T, all []map[string]any, byID map[string]map[string]any) {
				if len(all) != 1 || byID["1"] == nil {
					t.Errorf("responses %v", all)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCBD(tc.down)
			all, byID := runMCP(t, f, tc.input)
			tc.check(t, all, byID)
		})
	}
}

// TestMCPCancel checks that a cancelled request stops and is not answered,
// while the session goes on.
func TestMCPCancel(t *testing.T) {
	f := newFakeCBD(false)
	pr, pw := io.Pipe()
	var out testenv.SyncBuffer
	s := newMCPServer(f, io.Discard)
	done := make(chan error, 1)
	go func() { done <- s.serve(context.Background(), pr, &out) }()
	write := func(line string) {
		if _, err := io.WriteString(pw, line); err != nil {
			t.Fatal(err)
		}
	}
	write(req(1, "tools/call", map[string]any{"name": "task_wait", "arguments": map[string]any{}}))
	waitFor(t, func() bool {
		return slices.ContainsFunc(f.Calls(), func(c clitest.Call) bool { return c.Method == "task.wait" })
	})
	write(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"user"}}` + "\n")
	write(req(2, "ping", nil))
	pw.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after EOF")
	}
	if got := out.String(); strings.Contains(got, `"id":1`) || !strings.Contains(got, `"id":2`) {
		t.Errorf("output %q", got)
	}
}

func TestMCPLongLine(t *testing.T) {
	input := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", mcpMaxMessage) + `"}}` + "\n" + req(2, "ping", nil)
	all, byID := runMCP(t, newFakeCBD(false), input)
	if len(all) != 2 || get(byID["<nil>"], "error", "code") != float64(-32600) || byID["2"] == nil {
		t.Errorf("responses %v", len(all))
	}
}

// TestMCPCommandEOF runs `cb mcp` through the CLI: EOF on stdin exits 0
// with nothing on stdout.
func TestMCPCommandEOF(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("CB_CONFIG", "")
	t.Setenv("CB_REDIS_URL", "")
	var out, errb bytes.Buffer
	run := func(input string, args ...string) int {
		ios := iostreams.System(strings.NewReader(input), &out, &errb)
		f, closeClient := cmdutil.New(ios)
		defer closeClient()
		root := &cobra.Command{Use: "cb", SilenceErrors: true, SilenceUsage: true}
		cmdutil.AddGlobalFlags(root, f.Flags)
		root.AddCommand(NewCmdMCP(f, nil))
		return cmdutil.Execute(context.Background(), root, args, ios)
	}
	if code := run("", "mcp"); code != 0 || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	// Without cbd, the handshake still works and tools/list says why it failed.
	input := req(0, "initialize", map[string]any{"protocolVersion": "2025-06-18"}) + req(1, "tools/list", nil)
	out.Reset()
	if code := run(input, "mcp", "--timeout", "2s"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"protocolVersion":"2025-06-18"`) || !strings.Contains(lines[1], `"code":-32006`) {
		t.Errorf("stdout %q", out.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
