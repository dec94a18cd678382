package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	Server  struct{ Name string } `json:"server"`
	Tools   []string              `json:"tools"`
	Created struct {
		IsError    bool            `json:"isError"`
		Structured map[string]any  `json:"structured"`
		Content    json.RawMessage `json:"content"`
	} `json:"created"`
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
}

// TestMCPTypeScriptSDK runs the official TypeScript MCP SDK as a client of
// both MCP transports: StreamableHTTPClientTransport against cbd's /mcp
// (with the API token) and StdioClientTransport against `cb mcp`. The SDK
// validates tool listings strictly (a boolean subschema such as
// "result": true used to fail it), so this is what keeps cbd usable from
// the most common MCP client library.
func TestMCPTypeScriptSDK(t *testing.T) {
	e := startHTTPEnv(t)

	res := runSDKClient(t, os.Environ(), "http", "http://"+e.addr+"/mcp", e.token)
	checkSDKResult(t, e.taskEnv, res, "http")

	res = runSDKClient(t, e.h.Env, "stdio", bin.CB, "mcp")
	checkSDKResult(t, e.taskEnv, res, "stdio")
}
