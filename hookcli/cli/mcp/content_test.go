package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/internal/testenv"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// realCBD is cbd's methods (app.Build on a redis-server of the test's
// own) as cb mcp's caller, and cbd's own MCP server on the same methods,
// connected with the Go SDK's client: the two servers must agree.
func realCBD(t *testing.T) (cmdutil.Caller, *sdk.ClientSession, *invoke.Invoker) {
	t.Helper()
	inv := apptest.Build(t, testenv.NewRedis(t).Client(t), nil, nil).Invoker
	srv, err := mcpserver.New(inv, "v-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, ct := sdk.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cmdutil.CallerFunc(mcpserver.Caller(inv)), cs, inv
}

// asJSON round-trips v through JSON, so that SDK structs and cb mcp's
// decoded answers compare as the same kind of value.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMCPContentAgreesWithCBD: cb mcp's resources, templates and prompts,
// listed, read and rendered, are what cbd's MCP server answers on the same
// methods, and both give MCP's resource-not-found (-32002) for an unknown
// task or URI.
func TestMCPContentAgreesWithCBD(t *testing.T) {
	caller, cs, _ := realCBD(t)
	ctx := context.Background()
	created, err := caller.Call(ctx, "task.create", map[string]any{"text": "agree on me", "priority": 60})
	if err != nil {
		t.Fatal(err)
	}
	var task struct{ ID string }
	if err := json.Unmarshal(created, &task); err != nil {
		t.Fatal(err)
	}
	handover := map[string]string{"taskId": task.ID, "notes": "tests pass; docs left", "to": "w-2"}

	input := req(0, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "test", "version": "1"}}) +
		req(1, "resources/list", map[string]any{}) +
		req(2, "resources/templates/list", nil) +
		req(3, "prompts/list", map[string]any{}) +
		req(4, "resources/read", map[string]any{"uri": "cb://tasks/" + task.ID}) +
		req(5, "prompts/get", map[string]any{"name": "take_next_task", "arguments": map[string]any{"workerId": "w-1"}}) +
		req(6, "prompts/get", map[string]any{"name": "hand_over_task", "arguments": handover}) +
		req(7, "resources/read", map[string]any{"uri": "cb://tasks/t-404"}) +
		req(8, "resources/read", map[string]any{"uri": "cb://nowhere"}) +
		req(9, "prompts/get", map[string]any{"name": "hand_over_task", "arguments": map[string]any{"taskId": task.ID}}) +
		req(10, "resources/read", map[string]any{"uri": "cb://queue"}) +
		req(11, "resources/read", map[string]any{})
	_, byID := runMCP(t, caller, input)

	caps := get(byID["0"], "result", "capabilities").(map[string]any)
	for _, c := range []string{"tools", "resources", "prompts"} {
		if caps[c] == nil {
			t.Errorf("initialize capabilities %v lack %s", caps, c)
		}
	}

	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	read, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "cb://tasks/" + task.ID})
	if err != nil {
		t.Fatal(err)
	}
	take, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "take_next_task", Arguments: map[string]string{"workerId": "w-1"}})
	if err != nil {
		t.Fatal(err)
	}
	hand, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "hand_over_task", Arguments: handover})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id    string
		field string
		cbd   any
	}{
		{"1", "resources", resources.Resources},
		{"2", "resourceTemplates", templates.ResourceTemplates},
		{"3", "prompts", prompts.Prompts},
		{"4", "contents", read.Contents},
		{"5", "messages", take.Messages},
		{"6", "messages", hand.Messages},
	} {
		got := get(byID[c.id], "result", c.field)
		if want := asJSON(t, c.cbd); got == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("request %s: cb mcp's %s\n %v\ncbd's\n %v", c.id, c.field, got, want)
		}
	}
	if text, _ := get(byID["4"], "result", "contents", 0, "text").(string); !strings.Contains(text, `"agree on me"`) {
		t.Errorf("cb://tasks/%s read as %q", task.ID, text)
	}

	for _, c := range []struct {
		id, uri string
	}{{"7", "cb://tasks/t-404"}, {"8", "cb://nowhere"}} {
		_, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: c.uri})
		code, msg := get(byID[c.id], "error", "code"), fmt.Sprint(get(byID[c.id], "error", "message"))
		if code != float64(-32002) || !strings.Contains(msg, c.uri) || get(byID[c.id], "error", "data", "uri") != c.uri {
			t.Errorf("read %s: cb mcp answered %v", c.uri, byID[c.id])
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("read %s: cbd answered %v, cb mcp %q", c.uri, err, msg)
		}
	}
	if code, msg := get(byID["9"], "error", "code"), fmt.Sprint(get(byID["9"], "error", "message")); code != float64(-32602) || !strings.Contains(msg, "notes is required") {
		t.Errorf("hand_over_task without notes: %v", byID["9"])
	}
	if text, _ := get(byID["10"], "result", "contents", 0, "text").(string); !strings.Contains(text, `"queueDepth":1`) || !strings.Contains(text, task.ID) {
		t.Errorf("cb://queue read as %q", text)
	}
	if get(byID["11"], "error", "code") != float64(-32602) {
		t.Errorf("resources/read without uri: %v", byID["11"])
	}
}

// TestMCPContentCBDDown: with no cbd, lists still answer (they are cb's
// own) and reading a resource is a clear unavailable error.
func TestMCPContentCBDDown(t *testing.T) {
	input := req(1, "resources/list", nil) + req(2, "prompts/list", nil) + req(3, "resources/read", map[string]any{"uri": "cb://queue"}) +
		req(4, "prompts/get", map[string]any{"name": "take_next_task"})
	_, byID := runMCP(t, newFakeCBD(true), input)
	if get(byID["1"], "result", "resources", 0, "uri") != "cb://queue" || get(byID["2"], "result", "prompts", 1, "name") != "take_next_task" {
		t.Errorf("lists without cbd: %v %v", byID["1"], byID["2"])
	}
	for _, id := range []string{"3", "4"} {
		if code, msg := get(byID[id], "error", "code"), fmt.Sprint(get(byID[id], "error", "message")); code != float64(-32006) || !strings.Contains(msg, "is cbd running?") {
			t.Errorf("request %s without cbd: %v", id, byID[id])
		}
	}
}
