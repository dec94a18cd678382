package mcpserver_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/internal/mcptest"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
)

// newInvoker builds cbd's methods with app.Build, as daemon.New does, on
// an in-process Redis (apptest.Build).
func newInvoker(t testing.TB) *invoke.Invoker {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })

	return apptest.Build(t, rdb, log, nil).Invoker
}

// connect serves srv over an in-memory transport and returns a connected
// go-sdk client session.
func connect(t *testing.T, srv *mcp.Server) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func newServer(t *testing.T) *mcp.Server {
	t.Helper()
	srv, err := mcpserver.New(newInvoker(t), "v-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestExposureRule checks that a handler's Expose and protocol.MCPExposed
// agree for every method cbd registers, and that tool names map back.
func TestExposureRule(t *testing.T) {
	inv := newInvoker(t)
	reg := inv.Registry()
	for _, m := range reg.Events() {
		h, _ := reg.Lookup(m)
		if got, want := slices.Contains(h.Expose, mcpserver.Transport), protocol.MCPExposed(m); got != want {
			t.Errorf("%s: Expose has mcp = %v, protocol.MCPExposed = %v", m, got, want)
		}
		if back := protocol.MCPMethod(protocol.MCPToolName(m)); back != m {
			t.Errorf("%s: MCPMethod(MCPToolName) = %q", m, back)
		}
	}
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range names {
		if _, ok := reg.Lookup(m); !ok {
			t.Errorf("schema %s has no handler in the test registry; add its handlers", m)
		}
	}
	for _, m := range []string{"hook.pre_tool", "system.register", "system.unregister", "system.heartbeat", "task.delete",
		"hooks.add", "hooks.remove", "hooks.enable", "hooks.disable", ""} {
		if protocol.MCPExposed(m) {
			t.Errorf("MCPExposed(%q) = true", m)
		}
	}
	if got := protocol.MCPToolName("system.get_state"); got != "system_get_state" {
		t.Errorf("MCPToolName = %q", got)
	}
	if got := protocol.MCPMethod("system_get_state"); got != "system.get_state" {
		t.Errorf("MCPMethod = %q", got)
	}
}

func TestListTools(t *testing.T) {
	cs := connect(t, newServer(t))
	ctx := context.Background()
	if got := cs.InitializeResult().ServerInfo; got.Name != mcpserver.ServerName || got.Version != "v-test" {
		t.Errorf("server info = %+v", got)
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if strings.HasPrefix(tool.Name, "hook_") {
			t.Errorf("hook method published: %s", tool.Name)
		}
		if tool.Description == "" {
			t.Errorf("%s: no description", tool.Name)
		}
		in, _ := json.Marshal(tool.InputSchema)
		var top map[string]any
		if err := json.Unmarshal(in, &top); err != nil || top["type"] != "object" {
			t.Errorf("%s: input schema %s", tool.Name, in)
		}
		out, _ := json.Marshal(tool.OutputSchema)
		if strings.Contains(string(in)+string(out), `"$ref"`) {
			t.Errorf("%s: schema not self-contained:\n%s\n%s", tool.Name, in, out)
		}
	}
	want := []string{"audit_list", "hook", "hooks_list", "hooks_test",
		"system_discover", "system_get_state", "system_health", "system_metrics", "system_version",
		"task_assign", "task_attach", "task_attachments", "task_claim", "task_complete", "task_create", "task_fail", "task_get", "task_list",
		"task_renew", "task_unassign", "task_update"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("tools\n got %v\nwant %v", names, want)
	}
	for _, tool := range res.Tools {
		// Read-only methods (protocol.MCPReadOnly) say so; others have no hints.
		ro := tool.Annotations != nil && tool.Annotations.ReadOnlyHint
		if want := protocol.MCPReadOnly(protocol.MCPMethod(tool.Name)); ro != want {
			t.Errorf("%s: readOnlyHint %v, want %v", tool.Name, ro, want)
		}
	}
	for _, tool := range res.Tools {
		if tool.Name != "task_create" {
			continue
		}
		out, _ := json.Marshal(tool.OutputSchema)
		if !strings.Contains(string(out), `"type":"object"`) || !strings.Contains(string(out), `"priority"`) {
			t.Errorf("task_create output schema %s", out)
		}
	}
}

func TestCallTool(t *testing.T) {
	cs := connect(t, newServer(t))
	ctx := context.Background()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": "write the MCP server", "priority": 70}})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("task_create failed: %v", mcptest.Texts(res))
	}
	task := mcptest.Structured(t, res)
	id, _ := task["id"].(string)
	if !regexp.MustCompile(`^t-\d+$`).MatchString(id) || task["text"] != "write the MCP server" || task["priority"] != float64(70) || task["status"] != "pending" {
		t.Errorf("task = %v", task)
	}
	texts := mcptest.Texts(res)
	if len(texts) != 1 {
		t.Fatalf("content %v", texts)
	}
	var fromText map[string]any
	if err := json.Unmarshal([]byte(texts[0]), &fromText); err != nil || fromText["id"] != id {
		t.Errorf("text content %q", texts[0])
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_list", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("task_list failed: %v", mcptest.Texts(res))
	}
	list := mcptest.Structured(t, res)
	items, _ := list["tasks"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != id || list["totalCount"] != float64(1) {
		t.Errorf("task_list = %v", list)
	}

	// No arguments at all is the same as {}.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "system_version"})
	if err != nil {
		t.Fatal(err)
	}
	if v := mcptest.Structured(t, res); res.IsError || v["version"] != protocol.Version || v["instanceId"] != apptest.InstanceID {
		t.Errorf("system_version = %v %v", v, mcptest.Texts(res))
	}
}

func TestCallInvalidArguments(t *testing.T) {
	cs := connect(t, newServer(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		args  any
		field string
	}{
		{"empty text", map[string]any{"text": ""}, "/text"},
		{"wrong type", map[string]any{"text": "x", "priority": "high"}, "/priority"},
		{"out of range", map[string]any{"text": "x", "priority": 101}, "/priority"},
		{"unknown field", map[string]any{"text": "x", "bogus": true}, "/"},
		{"missing text", nil, "/"},
		{"not an object", []int{1}, "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: tc.args})
			if err != nil {
				t.Fatalf("protocol error instead of a tool error: %v", err)
			}
			texts := mcptest.Texts(res)
			if !res.IsError || len(texts) != 2 {
				t.Fatalf("IsError %v, content %v", res.IsError, texts)
			}
			if !strings.HasPrefix(texts[0], "invalid_params (-32602): ") || !strings.Contains(texts[0], tc.field) {
				t.Errorf("text %q", texts[0])
			}
			var perr struct {
				Code int `json:"code"`
				Data struct {
					Errors []struct{ Path, Message string } `json:"errors"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(texts[1]), &perr); err != nil {
				t.Fatalf("error JSON %q: %v", texts[1], err)
			}
			if perr.Code != int(protocol.CodeInvalidParams) || len(perr.Data.Errors) == 0 {
				t.Fatalf("error %s", texts[1])
			}
			if !slices.ContainsFunc(perr.Data.Errors, func(e struct{ Path, Message string }) bool { return e.Path == tc.field }) {
				t.Errorf("no error at %s: %s", tc.field, texts[1])
			}
			if res.StructuredContent != nil {
				t.Errorf("structured content on an error: %v", res.StructuredContent)
			}
		})
	}

	// A handler error (not validation) is a tool error too.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_get", Arguments: map[string]any{"id": "t-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if texts := mcptest.Texts(res); !res.IsError || !strings.HasPrefix(texts[0], "not_found (-32004): ") {
		t.Errorf("task_get of a missing task: IsError %v %v", res.IsError, texts)
	}

	// Hook methods are not tools at all.
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "hook_pre_tool", Arguments: map[string]any{}}); err == nil {
		t.Error("hook_pre_tool could be called")
	}
}

func TestHTTPHandler(t *testing.T) {
	hs := httptest.NewServer(mcpserver.Handler(newServer(t)))
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Tools, func(tool *mcp.Tool) bool { return tool.Name == "task_create" }) {
		t.Fatalf("no task_create among %d tools", len(res.Tools))
	}
	call, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": "over http"}})
	if err != nil {
		t.Fatal(err)
	}
	if call.IsError || mcptest.Structured(t, call)["text"] != "over http" {
		t.Errorf("task_create over HTTP: %v", mcptest.Texts(call))
	}
	bad, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if texts := mcptest.Texts(bad); !bad.IsError || !strings.Contains(texts[0], "-32602") || !strings.Contains(texts[0], "/text") {
		t.Errorf("invalid call over HTTP: %v", texts)
	}
}

func TestResult(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`{"a":1}`, `{"a":1}`},
		{`[1,2]`, `{"result":[1,2]}`},
		{`"x"`, `{"result":"x"}`},
		{`null`, `{"result":null}`},
		{``, `{"result":null}`},
	} {
		res := mcpserver.Result(json.RawMessage(tc.in), nil)
		b, _ := json.Marshal(res.StructuredContent)
		if string(b) != tc.want || res.IsError {
			t.Errorf("Result(%s): structured %s", tc.in, b)
		}
	}
	res := mcpserver.Result(nil, &protocol.Error{Code: protocol.CodeConflict, Message: "busy"})
	if texts := mcptest.Texts(res); !res.IsError || texts[0] != "conflict (-32005): busy" || texts[1] != `{"code":-32005,"message":"busy"}` {
		t.Errorf("error result %v", texts)
	}
	if res.GetError() == nil {
		t.Error("GetError is nil")
	}
}

func TestSchemaShapes(t *testing.T) {
	in, err := protocol.MCPInputSchema(nil)
	if err != nil || string(in) != `{"type":"object"}` {
		t.Errorf("empty input schema → %s, %v", in, err)
	}
	in, err = protocol.MCPInputSchema(json.RawMessage(`{"properties":{}}`))
	if err != nil || !strings.Contains(string(in), `"type":"object"`) {
		t.Errorf("untyped input schema → %s, %v", in, err)
	}
	if _, err := protocol.MCPInputSchema(json.RawMessage(`{"type":"array"}`)); err == nil {
		t.Error("array input schema accepted")
	}
	if out := protocol.MCPOutputSchema(json.RawMessage(`{"type":"array"}`)); out != nil {
		t.Errorf("array output schema published: %s", out)
	}
	if out := protocol.MCPOutputSchema(json.RawMessage(`{"type":"object"}`)); string(out) != `{"type":"object"}` {
		t.Errorf("object output schema → %s", out)
	}
}

// TestNoBooleanSubschemas keeps every published tool schema free of boolean
// subschemas ("result": true): valid JSON Schema, but the official
// TypeScript MCP SDK refuses a tools/list whose "properties" hold anything
// but objects, and other strict clients do the same deeper down. Only the
// keywords clients commonly accept as booleans may be booleans.
func TestNoBooleanSubschemas(t *testing.T) {
	tools, err := mcpserver.Tools(newInvoker(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools) == 0 {
		t.Fatal("no tools")
	}
	for _, tool := range tools {
		for what, schema := range map[string]any{"inputSchema": tool.Tool.InputSchema, "outputSchema": tool.Tool.OutputSchema} {
			if schema == nil {
				continue
			}
			b, err := json.Marshal(schema)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			for _, at := range booleanSubschemas(v, "") {
				t.Errorf("%s %s: boolean subschema at %s", tool.Tool.Name, what, at)
			}
		}
	}
}

// booleanSubschemas lists the JSON pointers of boolean subschemas in
// schema, except under additionalProperties and the unevaluated* keywords.
func booleanSubschemas(schema any, at string) []string {
	m, ok := schema.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	one := func(v any, p string) {
		if _, isBool := v.(bool); isBool {
			out = append(out, p)
			return
		}
		out = append(out, booleanSubschemas(v, p)...)
	}
	for k, v := range m {
		p := at + "/" + k
		switch k {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			sub, _ := v.(map[string]any)
			for name, s := range sub {
				one(s, p+"/"+name)
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			sub, _ := v.([]any)
			for i, s := range sub {
				one(s, p+"/"+strconv.Itoa(i))
			}
		case "items", "not", "contains", "if", "then", "else", "propertyNames", "additionalItems":
			one(v, p)
		case "additionalProperties", "unevaluatedProperties", "unevaluatedItems":
			out = append(out, booleanSubschemas(v, p)...)
		}
	}
	return out
}
