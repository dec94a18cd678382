package claudecode

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// initGuideLine is a line of the section cb init writes into
// CLAUDE.local.md that the model must see.
const initGuideLine = "## Shared task queue (ClaudeBench)"

// TestClientInit: after `cb init` in a project (and no hooks of cb's
// anywhere else), `claude -p` there connects to the claudebench server of
// .mcp.json and lists its tools; the model's call of
// mcp__claudebench__task_create runs without a permission prompt (which
// -p would answer with a denial) and creates the task in cbd; the
// project hooks run; and the CLAUDE.local.md section reaches the model
// (the same permissions in .claude/settings.json would not do: the call
// is denied in a folder nobody trusted).
// Once the user has trusted the folder, Claude Code counts the server as
// approved (enabledMcpjsonServers) instead of pending.
func TestClientInit(t *testing.T) {
	r := newRig(t, "", nil)
	if res := r.cb(nil, "uninstall"); res.Code != 0 {
		t.Fatalf("cb uninstall: exit %d %s", res.Code, res.Stderr)
	}
	if res := r.cb(nil, "init", "--dir", r.project); res.Code != 0 {
		t.Fatalf("cb init: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	local := readJSONObject(t, filepath.Join(r.project, ".claude", "settings.local.json"))
	var allowed []string
	for _, a := range local["permissions"].(map[string]any)["allow"].([]any) {
		allowed = append(allowed, a.(string))
	}

	const text = "task made through cb init's MCP server"
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			return reply{Tools: []toolUse{{Name: "mcp__claudebench__task_create", Input: map[string]any{"text": text, "priority": 70}}}}
		}
		return reply{Text: "Created."}
	})
	run := r.runClient(api, "queue a task")
	run.finished(t, map[string]any{"subtype": "success"})

	init := run.init()
	var servers []string
	for _, s := range init["mcp_servers"].([]any) {
		m := s.(map[string]any)
		servers = append(servers, m["name"].(string)+"/"+m["status"].(string))
	}
	if !slices.Contains(servers, "claudebench/connected") {
		t.Fatalf("MCP servers of the session: %v, want claudebench connected", servers)
	}
	var tools []string
	for _, tl := range init["tools"].([]any) {
		tools = append(tools, tl.(string))
	}
	for _, a := range allowed {
		if !slices.Contains(tools, a) {
			t.Errorf("permissions.allow names %s, which the session does not list (tools %v)", a, tools)
		}
	}

	results := run.toolResults()
	if len(results) != 1 {
		t.Fatalf("tool results %v, want one", results)
	}
	for _, res := range results {
		if res["is_error"] == true || !strings.Contains(toolResultText(res), text) {
			t.Fatalf("task_create's result: %v", res)
		}
	}
	if d, _ := run.result()["permission_denials"].([]any); len(d) != 0 {
		t.Fatalf("permission denials: %v", d)
	}
	var found bool
	for _, tk := range r.tasks() {
		if tk.Text == text && tk.Priority == 70 && tk.Status == "pending" {
			found = true
		}
	}
	if !found {
		t.Fatalf("cbd has no task %q: %v", text, r.tasks())
	}
	var hooked bool
	for _, in := range r.hookInputs("pre_tool", run.sessionID()) {
		hooked = hooked || in["tool_name"] == "mcp__claudebench__task_create"
	}
	if !hooked {
		t.Errorf("the project's pre_tool hook did not see the call")
	}

	reqs := api.agentRequests()
	if len(reqs) == 0 {
		t.Fatal("no agent request")
	}
	if seen := string(reqs[0].System) + reqs[0].userText(); !strings.Contains(seen, initGuideLine) || !strings.Contains(seen, "`task_claim` with `workerId`") {
		t.Fatalf("the model's first request lacks CLAUDE.local.md's section:\n%s", tail(seen, 40))
	}

	// Why the permissions are in the local file: in .claude/settings.json
	// of a folder nobody trusted, the same entries leave the call denied.
	denied := permissionsInProjectSettings(t, r, func() *clientRun {
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if req.turn() == 0 {
				return reply{Tools: []toolUse{{Name: "mcp__claudebench__task_create", Input: map[string]any{"text": "not allowed"}}}}
			}
			return reply{Text: "Denied."}
		})
		return r.runClient(api, "queue a task")
	})
	for _, res := range denied.toolResults() {
		if res["is_error"] != true || !strings.Contains(toolResultText(res), "haven't granted") {
			t.Fatalf("with the permissions in .claude/settings.json, task_create's result: %v", res)
		}
	}

	// Trusted, the server counts as approved, not pending.
	trustProject(t, r)
	if out := r.claudeCLI(t, "mcp", "get", "claudebench"); !strings.Contains(out, "Connected") || strings.Contains(out, "Pending approval") {
		t.Fatalf("claude mcp get claudebench in the trusted project:\n%s", out)
	}
}

// trustProject records in Claude Code's state (.claude.json) that the user
// accepted the project's trust dialog, as an interactive session does.
func trustProject(t *testing.T, r *rig) {
	t.Helper()
	path := filepath.Join(r.config, ".claude.json")
	state := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &state); err != nil {
			t.Fatal(err)
		}
	}
	projects, _ := state["projects"].(map[string]any)
	if projects == nil {
		projects = map[string]any{}
	}
	p, _ := projects[r.project].(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	p["hasTrustDialogAccepted"] = true
	projects[r.project] = p
	state["projects"] = projects
	b, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// claudeCLI runs a claude subcommand in the project and returns its output.
func (r *rig) claudeCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.claude, args...)
	cmd.Dir = r.project
	cmd.Env = append(append([]string{}, r.h.Env...), claudeEnv("http://127.0.0.1:9")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("claude %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// permissionsInProjectSettings runs fn with cb init's permissions.allow
// moved from .claude/settings.local.json to .claude/settings.json, then
// puts both files back.
func permissionsInProjectSettings(t *testing.T, r *rig, fn func() *clientRun) *clientRun {
	t.Helper()
	localPath := filepath.Join(r.project, ".claude", "settings.local.json")
	projectPath := filepath.Join(r.project, ".claude", "settings.json")
	var saved [][]byte
	for _, p := range []string{localPath, projectPath} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, b)
	}
	defer func() {
		for i, p := range []string{localPath, projectPath} {
			if err := os.WriteFile(p, saved[i], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}()
	local, project := readJSONObject(t, localPath), readJSONObject(t, projectPath)
	project["permissions"] = local["permissions"]
	delete(local, "permissions")
	for p, v := range map[string]map[string]any{localPath: local, projectPath: project} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fn()
}
