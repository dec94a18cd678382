package claudecode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// cbMCPConfig writes an --mcp-config file naming `cb mcp` as the stdio
// server "claudebench" (what cb init writes into .mcp.json) and returns
// its path. cb mcp finds the rig's cbd through the environment the client
// passes on.
func cbMCPConfig(t *testing.T, r *rig) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"claudebench": map[string]any{"type": "stdio", "command": bin.CB, "args": []string{"mcp"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.h.Dir, "mcp-cb.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mcpTransports are the two ways Claude Code reaches cb's MCP server:
// `cb mcp` over stdio (--mcp-config), and cbd's /mcp over HTTP, which
// `cb install --mcp` registers in the user's .claude.json. Each returns a
// rig and the client arguments that name the server "claudebench".
var mcpTransports = []struct {
	name  string
	setup func(t *testing.T) (*rig, []string)
}{
	{"cb mcp", func(t *testing.T) (*rig, []string) {
		r := newRig(t, "", nil)
		return r, []string{"--mcp-config", cbMCPConfig(t, r)}
	}},
	{"cbd http", func(t *testing.T) (*rig, []string) {
		return newRig(t, "", []string{"CB_HTTP_ADDR=" + testenv.FreeAddr(t)}, "--mcp"), nil
	}},
}

// newTask creates a pending task with cb and returns its id.
func (r *rig) newTask(text string, priority string) string {
	r.t.Helper()
	res := r.cb(nil, "task", "create", "-q", "--priority", priority, text)
	if res.Code != 0 {
		r.t.Fatalf("cb task create: exit %d %s", res.Code, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

// TestClientMCPResources: Claude Code, given cb mcp as an MCP server, has
// its resource tools; the model lists cb's resources and reads cb://queue,
// cb://tasks/<id> and an unknown task, and the tool results the model gets
// back hold the live counts, the task, and the client's own "Resource not
// found" (it recognised cb's error).
func TestClientMCPResources(t *testing.T) {
	for _, tr := range mcpTransports {
		t.Run(tr.name, func(t *testing.T) { clientMCPResources(t, tr.setup) })
	}
}

func clientMCPResources(t *testing.T, setup func(t *testing.T) (*rig, []string)) {
	r, args := setup(t)
	first := r.newTask("Migrate the billing schema", "80")
	r.newTask("Write the runbook", "20")
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			return reply{Tools: []toolUse{
				{Name: "ListMcpResourcesTool", Input: map[string]any{"server": "claudebench"}},
				{Name: "ReadMcpResourceTool", Input: map[string]any{"server": "claudebench", "uri": "cb://queue"}},
				{Name: "ReadMcpResourceTool", Input: map[string]any{"server": "claudebench", "uri": "cb://tasks/" + first}},
				{Name: "ReadMcpResourceTool", Input: map[string]any{"server": "claudebench", "uri": "cb://tasks/t-1"}},
			}}
		}
		return reply{Text: "Read the queue."}
	})
	run := r.runClient(api, "what is in the queue?", args...)
	run.finished(t, map[string]any{"result": "Read the queue."})
	reqs := api.agentRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want the tool calls and their results", len(reqs))
	}
	// The client has the resource tools (its init message lists them) but
	// defers them: the model request offers ToolSearch, not their schemas,
	// and a call by name still runs.
	tools, _ := run.init()["tools"].([]any)
	for _, want := range []string{"ListMcpResourcesTool", "ReadMcpResourceTool", "mcp__claudebench__task_claim"} {
		if !slices.Contains(tools, any(want)) {
			t.Errorf("the client's tools lack %s: %v", want, tools)
		}
	}
	results := reqs[1].toolResults()
	if len(results) != 4 {
		t.Fatalf("%d tool results, want 4", len(results))
	}
	byID := map[string]apiBlock{}
	for _, b := range results {
		byID[b.ToolUseID] = b
	}
	list, queue, task, missing := byID[toolUseID(1, 0)], byID[toolUseID(1, 1)], byID[toolUseID(1, 2)], byID[toolUseID(1, 3)]
	if list.IsError || !strings.Contains(list.text(), "cb://queue") {
		t.Errorf("ListMcpResourcesTool result (error %v): %s", list.IsError, list.text())
	}
	// The resource's JSON reaches the model as text, quoted or not.
	plain := func(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }
	for _, want := range []string{`"queueDepth":2`, `"pending":2`, first, "Migrate the billing schema"} {
		if queue.IsError || !strings.Contains(plain(queue.text()), want) {
			t.Errorf("cb://queue result (error %v) lacks %s: %s", queue.IsError, want, queue.text())
		}
	}
	for _, want := range []string{`"id":"` + first + `"`, `"text":"Migrate the billing schema"`, `"priority":80`} {
		if task.IsError || !strings.Contains(plain(task.text()), want) {
			t.Errorf("cb://tasks/%s result (error %v) lacks %s: %s", first, task.IsError, want, task.text())
		}
	}
	// The client recognises MCP's resource-not-found and says so itself.
	if !strings.Contains(missing.text(), "Resource not found: cb://tasks/t-1") {
		t.Errorf("cb://tasks/t-1 result (error %v): %s", missing.IsError, missing.text())
	}
}

// TestClientMCPPrompt: cb's take_next_task prompt run as a slash command
// in -p mode reaches the model as the prompt's text, with the argument
// given after the command.
func TestClientMCPPrompt(t *testing.T) {
	for _, tr := range mcpTransports {
		t.Run(tr.name, func(t *testing.T) { clientMCPPrompt(t, tr.setup) })
	}
}

func clientMCPPrompt(t *testing.T, setup func(t *testing.T) (*rig, []string)) {
	r, args := setup(t)
	api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Claiming."} })
	run := r.runClient(api, "/mcp__claudebench__take_next_task worker-7", args...)
	run.finished(t, map[string]any{"result": "Claiming."})
	reqs := api.agentRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests, want 1", len(reqs))
	}
	text := reqs[0].userText()
	for _, want := range []string{"Take the next task from the ClaudeBench (cb) queue", `Use "worker-7" as workerId`, "task_claim", "task_complete"} {
		if !strings.Contains(text, want) {
			t.Errorf("the model's request lacks %q:\n%.3000s", want, text)
		}
	}
}
