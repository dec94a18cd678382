package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sdkNodeModules is where .ci/setup installs the official TypeScript MCP
// SDK; CB_MCP_SDK_NODE_MODULES names another node_modules directory.
func sdkNodeModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CB_MCP_SDK_NODE_MODULES")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no home directory to find the MCP SDK in: %v", err)
		}
		dir = filepath.Join(home, ".cache", "claudebench", "node", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		t.Fatalf("@modelcontextprotocol/sdk is not installed in %s (run .ci/setup, or set CB_MCP_SDK_NODE_MODULES): %v", dir, err)
	}
	return dir
}

// sdkResult is what e2e/testdata/mcpsdk/client.cjs prints.
type sdkResult struct {
	Server       struct{ Name string }      `json:"server"`
	Capabilities map[string]json.RawMessage `json:"capabilities"`
	Tools        []string                   `json:"tools"`
	Created      struct {
		IsError    bool            `json:"isError"`
		Structured map[string]any  `json:"structured"`
		Content    json.RawMessage `json:"content"`
	} `json:"created"`
	Resources []string      `json:"resources"`
	Templates []string      `json:"templates"`
	Queue     []sdkContents `json:"queue"`
	Task      []sdkContents `json:"task"`
	Session   []sdkContents `json:"session"`
	Missing   struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	} `json:"missing"`
	Prompts []struct {
		Name      string   `json:"name"`
		Arguments []string `json:"arguments"` // required ones end in "!"
	} `json:"prompts"`
	Take []sdkPromptMessage `json:"take"`
	Hand []sdkPromptMessage `json:"hand"`
	// Updated is the URI of the notifications/resources/updated the client
	// got after subscribing to cb://queue ("" if the server offers no
	// subscriptions, or never notified).
	Updated string `json:"updated"`
}

// sdkContents is one item of a resource read.
type sdkContents struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mimeType"`
	Text     string `json:"text"`
}

// sdkPromptMessage is one message of a rendered prompt.
type sdkPromptMessage struct {
	Role    string `json:"role"`
	Content struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// runSDKClient runs the TypeScript SDK client script with args.
func runSDKClient(t *testing.T, env []string, args ...string) sdkResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the TypeScript MCP SDK test (.ci/setup installs it): %v", err)
	}
	modules := sdkNodeModules(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := filepath.Join("testdata", "mcpsdk", "client.cjs")
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Env = append(append([]string{}, env...), "NODE_PATH="+modules)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("TypeScript MCP SDK client %v: %v\nstdout: %s\nstderr: %s", args, err, stdout.Bytes(), stderr.Bytes())
	}
	var res sdkResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("client output %q: %v\nstderr: %s", stdout.Bytes(), err, stderr.Bytes())
	}
	return res
}

// checkSDKResult asserts the SDK client saw cbd's tools and created a task
// that the Redis client sees with priority 50 (sent as the number 50.0).
func checkSDKResult(t *testing.T, e *taskEnv, res sdkResult, mode string) {
	t.Helper()
	if res.Server.Name != "claudebench" {
		t.Errorf("%s: server %+v", mode, res.Server)
	}
	for _, want := range []string{"task_create", "task_complete", "task_list", "system_discover", "system_health"} {
		if !slices.Contains(res.Tools, want) {
			t.Errorf("%s: no tool %s among %v", mode, want, res.Tools)
		}
	}
	if res.Created.IsError {
		t.Fatalf("%s: task_create failed: %s", mode, res.Created.Content)
	}
	id, _ := res.Created.Structured["id"].(string)
	want := "created by the TypeScript MCP SDK over " + mode
	if got := e.mustTask(t, "task.get", map[string]any{"id": id}); got.Text != want || got.Priority != 50 {
		t.Errorf("%s: task.get %s → %+v, want text %q priority 50", mode, id, got, want)
	}
	checkSDKContent(t, res, mode, id, want)
}

// checkSDKContent asserts what the SDK client read of the resources and
// prompts: cbd's task (made just before) in cb://queue and cb://tasks/<id>,
// MCP's resource-not-found for an unknown task, and both prompts rendered
// with their arguments.
func checkSDKContent(t *testing.T, res sdkResult, mode, id, text string) {
	t.Helper()
	for _, c := range []string{"tools", "resources", "prompts"} {
		if res.Capabilities[c] == nil {
			t.Errorf("%s: capabilities %v lack %s", mode, res.Capabilities, c)
		}
	}
	if !slices.Equal(res.Resources, []string{"cb://queue"}) || !slices.Equal(res.Templates, []string{"cb://sessions/{id}", "cb://tasks/{id}"}) {
		t.Errorf("%s: resources %v, templates %v", mode, res.Resources, res.Templates)
	}
	var queue struct {
		QueueDepth    int            `json:"queueDepth"`
		TasksByStatus map[string]int `json:"tasksByStatus"`
		Next          []struct{ ID string }
	}
	if len(res.Queue) != 1 || res.Queue[0].URI != "cb://queue" || res.Queue[0].MIMEType != "application/json" ||
		json.Unmarshal([]byte(res.Queue[0].Text), &queue) != nil {
		t.Fatalf("%s: cb://queue read as %+v", mode, res.Queue)
	}
	if queue.QueueDepth < 1 || queue.TasksByStatus["pending"] != queue.QueueDepth ||
		!slices.ContainsFunc(queue.Next, func(n struct{ ID string }) bool { return n.ID == id }) {
		t.Errorf("%s: cb://queue = %s, want the pending task %s", mode, res.Queue[0].Text, id)
	}
	var task struct{ ID, Text, Status string }
	if len(res.Task) != 1 || json.Unmarshal([]byte(res.Task[0].Text), &task) != nil || task.ID != id || task.Text != text || task.Status != "pending" {
		t.Errorf("%s: cb://tasks/%s read as %+v", mode, id, res.Task)
	}
	if res.Missing.Code == nil || *res.Missing.Code != -32002 || !strings.Contains(res.Missing.Message, "cb://tasks/t-1") {
		t.Errorf("%s: reading an unknown task: %+v, want -32002 naming the URI", mode, res.Missing)
	}
	var session struct {
		SessionID string
		Entries   []struct {
			Kind string
			Task struct{ Text string }
		}
	}
	if len(res.Session) != 1 || json.Unmarshal([]byte(res.Session[0].Text), &session) != nil || session.SessionID != "ts-sdk-"+mode ||
		len(session.Entries) != 1 || session.Entries[0].Kind != "task" || session.Entries[0].Task.Text != "made in session ts-sdk-"+mode {
		t.Errorf("%s: cb://sessions/ts-sdk-%s read as %+v", mode, mode, res.Session)
	}
	var prompts []string
	for _, p := range res.Prompts {
		prompts = append(prompts, p.Name+"("+strings.Join(p.Arguments, ",")+")")
	}
	if want := []string{"hand_over_task(taskId!,notes!,to)", "take_next_task(workerId)"}; !slices.Equal(prompts, want) {
		t.Errorf("%s: prompts %v, want %v", mode, prompts, want)
	}
	if len(res.Take) != 1 || res.Take[0].Role != "user" || !strings.Contains(res.Take[0].Content.Text, `"ts-sdk"`) ||
		!strings.Contains(res.Take[0].Content.Text, "task_claim") {
		t.Errorf("%s: take_next_task = %+v", mode, res.Take)
	}
	if len(res.Hand) != 1 || !strings.Contains(res.Hand[0].Content.Text, "handed over by the TypeScript SDK") ||
		!strings.Contains(res.Hand[0].Content.Text, id) || !strings.Contains(res.Hand[0].Content.Text, "task_unassign") {
		t.Errorf("%s: hand_over_task = %+v", mode, res.Hand)
	}
}

// TestMCPTypeScriptSDK runs the official TypeScript MCP SDK as a client of
// both MCP transports: StreamableHTTPClientTransport against cbd's /mcp
// (with the API token) and StdioClientTransport against `cb mcp`: tools,
// resources, resource templates and prompts. The SDK
// validates tool listings strictly (a boolean subschema such as
// "result": true used to fail it), so this is what keeps cbd usable from
// the most common MCP client library.
func TestMCPTypeScriptSDK(t *testing.T) {
	e := startHTTPEnv(t)

	res := runSDKClient(t, os.Environ(), "http", "http://"+e.addr+"/mcp", e.token)
	checkSDKResult(t, e.taskEnv, res, "http")

	// cbd's /mcp offers subscriptions to cb://queue and notifies a change.
	if !strings.Contains(string(res.Capabilities["resources"]), `"subscribe":true`) || res.Updated != "cb://queue" {
		t.Errorf("http: resources capability %s, notified %q; want subscribe and an update of cb://queue",
			res.Capabilities["resources"], res.Updated)
	}

	res = runSDKClient(t, e.h.Env, "stdio", bin.CB, "mcp")
	checkSDKResult(t, e.taskEnv, res, "stdio")
}
