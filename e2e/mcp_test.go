package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/mcptest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPStdio runs a real MCP client (the go-sdk) against `cb mcp` as a
// subprocess, the way Claude Code runs it after
// `claude mcp add claudebench -- cb mcp`.
func TestMCPStdio(t *testing.T) {
	e := newTaskEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, cmd, stderr := connectCBMCP(ctx, t, e.h.Env)
	closed := false
	defer func() {
		if !closed {
			_ = cs.Close()
		}
	}()
	init := cs.InitializeResult()
	if init.ServerInfo == nil || init.ServerInfo.Name != "claudebench" || init.Capabilities == nil || init.Capabilities.Tools == nil {
		t.Errorf("initialize result %+v", init)
	}
	exerciseMCP(ctx, t, cs, e)

	// Closing stdin ends cb mcp with status 0 and a clean stderr.
	closed = true
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v (stderr %q)", err, stderr)
	}
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("cb mcp exit: %v, stderr %q", cmd.ProcessState, stderr)
	}
}

// connectCBMCP runs `cb mcp` with env and connects the go-sdk client to it
// over its stdin and stdout, the way Claude Code does. It returns the
// session, the process (done once the session is closed) and its stderr.
func connectCBMCP(ctx context.Context, t *testing.T, env []string) (*mcp.ClientSession, *exec.Cmd, *testenv.SyncBuffer) {
	t.Helper()
	stderr := &testenv.SyncBuffer{}
	cmd := exec.Command(bin.CB, "mcp")
	cmd.Env = append([]string{}, env...)
	cmd.Stderr = stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to cb mcp: %v\nstderr: %s", err, stderr)
	}
	return cs, cmd, stderr
}

// TestMCPStdioReconnect checks that a running `cb mcp` survives a cbd
// restart that moves Redis (embedded mode: new port, new password).
func TestMCPStdioReconnect(t *testing.T) {
	h := testenv.NewHome(t, "CB_REDIS_MODE=embedded")
	d := testenv.StartDaemon(t, bin, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, _, _ := connectCBMCP(ctx, t, h.Env)
	defer cs.Close()
	create := func(text string) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": text}})
		if err != nil {
			t.Fatalf("task_create: %v", err)
		}
		if res.IsError {
			t.Fatalf("task_create %q failed: %s", text, mcptest.Texts(res))
		}
	}
	create("before the restart")
	d.Kill()
	testenv.StartDaemon(t, bin, h, nil)
	create("after the restart")
}

// TestMCPHTTP runs a real MCP client against cbd's /mcp endpoint: cbd
// listens on CB_HTTP_ADDR and requires the API token from the file named
// by CB_HTTP_TOKEN_FILE.
func TestMCPHTTP(t *testing.T) {
	e := startHTTPEnv(t)
	endpoint := "http://" + e.addr + "/mcp"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Without the token: 401, and nothing reaches the MCP server.
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	for _, auth := range []string{"", "Bearer wrong"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v\ncbd log:\n%s", endpoint, err, e.d.Log)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /mcp with Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}

	hc := &http.Client{Transport: bearer{token: e.token, next: http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", endpoint, err)
	}
	defer cs.Close()
	if init := cs.InitializeResult(); init.ServerInfo == nil || init.ServerInfo.Name != "claudebench" {
		t.Errorf("initialize result %+v", init)
	}
	exerciseMCP(ctx, t, cs, e.taskEnv)
}

// exerciseMCP lists the tools and calls task_create and task_list, valid
// and invalid, the same over every transport.
func exerciseMCP(ctx context.Context, t *testing.T, cs *mcp.ClientSession, e *taskEnv) {
	t.Helper()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if strings.HasPrefix(tool.Name, "hook_") || tool.Name == "task_delete" || tool.Name == "system_register" {
			t.Errorf("tool %s must not be published", tool.Name)
		}
		in, _ := json.Marshal(tool.InputSchema)
		if !strings.Contains(string(in), `"type":"object"`) || strings.Contains(string(in), `"$ref"`) {
			t.Errorf("%s: input schema %s", tool.Name, in)
		}
	}
	for _, want := range []string{"task_create", "task_list", "task_get", "system_health"} {
		if !slices.Contains(names, want) {
			t.Errorf("no tool %s among %v", want, names)
		}
	}
	// task_list offers cursors, the session filter and the queue's order
	// (from task.list's schema).
	for _, tool := range tools.Tools {
		if tool.Name != "task_list" {
			continue
		}
		in, _ := json.Marshal(tool.InputSchema)
		var schema struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(in, &schema); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"after", "session", "updatedBefore", "status", "orderBy"} {
			if _, ok := schema.Properties[p]; !ok {
				t.Errorf("task_list input schema lacks %s: %s", p, in)
			}
		}
		if !slices.Contains(schema.Properties["orderBy"].Enum, "queue") {
			t.Errorf("task_list orderBy does not offer queue: %s", in)
		}
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": "created over MCP", "priority": 60}})
	if err != nil {
		t.Fatalf("task_create: %v", err)
	}
	if res.IsError {
		t.Fatalf("task_create failed: %s", mcptest.Texts(res))
	}
	created := mcptest.Structured(t, res)
	id, _ := created["id"].(string)
	if !regexp.MustCompile(`^t-\d+$`).MatchString(id) || created["text"] != "created over MCP" || created["priority"] != float64(60) {
		t.Fatalf("task_create → %v", created)
	}
	var fromText map[string]any
	if err := json.Unmarshal([]byte(mcptest.Texts(res)[0]), &fromText); err != nil || fromText["id"] != id {
		t.Errorf("text content %q", mcptest.Texts(res))
	}
	// The task is real: the Redis client sees it too.
	if got := e.mustTask(t, "task.get", map[string]any{"id": id}); got.Text != "created over MCP" {
		t.Errorf("task.get → %+v", got)
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_list", Arguments: map[string]any{"limit": 100}})
	if err != nil {
		t.Fatalf("task_list: %v", err)
	}
	if res.IsError {
		t.Fatalf("task_list failed: %s", mcptest.Texts(res))
	}
	listed, _ := mcptest.Structured(t, res)["tasks"].([]any)
	if !slices.ContainsFunc(listed, func(v any) bool { m, _ := v.(map[string]any); return m["id"] == id }) {
		t.Errorf("task_list does not list %s: %v", id, listed)
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": ""}})
	if err != nil {
		t.Fatalf("invalid task_create is a protocol error, want a tool error: %v", err)
	}
	if tx := mcptest.Texts(res); !res.IsError || len(tx) == 0 || !strings.Contains(tx[0], "-32602") || !strings.Contains(tx[0], "/text") {
		t.Errorf("invalid task_create: IsError %v, content %q", res.IsError, tx)
	}
}

// bearer adds the API token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
