package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// spawn runs one process with stdin and returns how long it took.
func spawn(b *testing.B, path string, env []string, stdin []byte, args ...string) time.Duration {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// BenchmarkHookRoundTrip times `cb hook pre_tool` with a typical 400-byte
// payload against a running cbd, interleaved with a bare Go binary that
// reads stdin and prints a fixed JSON (the floor of any command hook), and
// reports both medians and their ratio. Targets: median ≤ 5 ms, ratio ≤ 2.
func BenchmarkHookRoundTrip(b *testing.B) {
	bare := filepath.Join(bin.Dir, "bare")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bare, "./testdata/bare").CombinedOutput(); err != nil {
		b.Fatalf("build bare: %v %s", err, out)
	}
	h := testenv.NewHome(b, "CB_REDIS_URL="+redis.URL())
	testenv.StartDaemon(b, bin, h, []string{"CB_INSTANCE_ID=bench-hook"})
	in, err := readFixture("pre_tool_typical.json")
	if err != nil {
		b.Fatal(err)
	}
	// The calls rotate over 32 sessions: one session at this pace would
	// exceed the default rate limit (handlers.rate_limit, 100/s per
	// session), and the benchmark would time rejections, not decisions.
	var ins [][]byte
	for i := 0; i < 32; i++ {
		ins = append(ins, bytes.ReplaceAll(in, []byte("9f3c2a4e-1b7d-4c55-8e2a-3d6f0b1c2e4f"), fmt.Appendf(nil, "bench-session-%02d", i)))
	}
	// Warm both (page cache, the script cache of Redis).
	for i := 0; i < 10; i++ {
		spawn(b, bare, h.Env, in)
		spawn(b, bin.CB, h.Env, ins[i%len(ins)], "hook", "pre_tool")
	}
	var bareT, hookT []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bareT = append(bareT, spawn(b, bare, h.Env, in))
		hookT = append(hookT, spawn(b, bin.CB, h.Env, ins[i%len(ins)], "hook", "pre_tool"))
	}
	b.StopTimer()
	mb, mh := median(bareT), median(hookT)
	b.ReportMetric(ms(mb), "bare-median-ms")
	b.ReportMetric(ms(mh), "hook-median-ms")
	b.ReportMetric(float64(mh)/float64(mb), "ratio")
	b.ReportMetric(0, "ns/op")
}

// mcpToolArgs is what Claude Code sends to the hook tool for hook input in
// (hookmcp.Template, interpolated as its mcp_tool hooks do: a string as is,
// anything else JSON-encoded, a missing value "").
func mcpToolArgs(tb testing.TB, hookType string, in []byte) map[string]any {
	tb.Helper()
	var hookInput map[string]any
	if err := json.Unmarshal(in, &hookInput); err != nil {
		tb.Fatal(err)
	}
	tpl, err := hookmcp.Template(hookType)
	if err != nil {
		tb.Fatal(err)
	}
	return hookmcp.Interpolate(tpl, hookInput)
}

// BenchmarkHookPaths times one PreToolUse round trip over each handler
// type cb install writes, interleaved in one run against one cbd: a bare
// process (the floor of any command hook), the command hook (`cb hook
// pre_tool`, a process), the http hook (POST /hooks/pre_tool with the hook
// credential on a kept-alive connection) and the mcp_tool hook (tools/call
// of the hook tool on an established streamable-HTTP MCP session to /mcp,
// the transport cb install --mcp registers). It reports each median and
// its ratio to the floor. Target: the zero-spawn paths (http, mcp_tool)
// ≤ 0.3 ms median.
func BenchmarkHookPaths(b *testing.B) {
	bare := filepath.Join(bin.Dir, "bare")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bare, "./testdata/bare").CombinedOutput(); err != nil {
		b.Fatalf("build bare: %v %s", err, out)
	}
	addr := testenv.FreeAddr(b)
	tokenFile := filepath.Join(b.TempDir(), "http.token")
	h := testenv.NewHome(b, "CB_REDIS_URL="+redis.URL(), "CB_HTTP_ADDR="+addr, "CB_HTTP_TOKEN_FILE="+tokenFile)
	d := testenv.StartDaemon(b, bin, h, []string{"CB_INSTANCE_ID=bench-paths"})
	waitHTTPServing(b, addr, d)
	token := httpReadToken(b, tokenFile)
	in, err := readFixture("pre_tool_typical.json")
	if err != nil {
		b.Fatal(err)
	}
	// 32 sessions, as in BenchmarkHookRoundTrip: one session at this pace
	// would be rate limited.
	var ins [][]byte
	var mcpArgs []map[string]any
	for i := 0; i < 32; i++ {
		x := bytes.ReplaceAll(in, []byte("9f3c2a4e-1b7d-4c55-8e2a-3d6f0b1c2e4f"), fmt.Appendf(nil, "bench-paths-%02d", i))
		ins = append(ins, x)
		mcpArgs = append(mcpArgs, mcpToolArgs(b, "pre_tool", x))
	}

	hc := httpClient()
	hookURL := "http://" + addr + "/hooks/pre_tool"
	cred := "Bearer " + apitoken.HookCredential(token)
	post := func(body []byte) time.Duration {
		req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", cred)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST %s: %d", hookURL, resp.StatusCode)
		}
		return el
	}

	// The mcp_tool path as Claude Code drives it: one session set up by an
	// MCP client, then each hook a plain POST of tools/call on it, read to
	// the end. So the figure is cbd's side (its MCP server and the hook),
	// as for the http path, not a Go client's framing.
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp",
			HTTPClient: &http.Client{Transport: bearer{token: token, next: hc.Transport}}, MaxRetries: -1}, nil)
	if err != nil {
		b.Fatalf("connect to /mcp: %v", err)
	}
	defer cs.Close()
	var mcpBodies [][]byte
	for i, args := range mcpArgs {
		body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
			"params": map[string]any{"name": hookmcp.ToolName, "arguments": args}})
		if err != nil {
			b.Fatal(err)
		}
		mcpBodies = append(mcpBodies, body)
	}
	mcpURL := "http://" + addr + "/mcp"
	call := func(body []byte) time.Duration {
		req, err := http.NewRequest(http.MethodPost, mcpURL, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Mcp-Session-Id", cs.ID())
		req.Header.Set("Mcp-Protocol-Version", cs.InitializeResult().ProtocolVersion)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"content"`)) || bytes.Contains(out, []byte(`"isError":true`)) {
			b.Fatalf("tools/call hook: %d %s", resp.StatusCode, out)
		}
		return el
	}

	for i := 0; i < 10; i++ { // warm every path
		spawn(b, bare, h.Env, in)
		spawn(b, bin.CB, h.Env, ins[i%len(ins)], "hook", "pre_tool")
		post(ins[i%len(ins)])
		call(mcpBodies[i%len(ins)])
	}
	var bareT, cmdT, httpT, mcpT []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(ins)
		bareT = append(bareT, spawn(b, bare, h.Env, in))
		cmdT = append(cmdT, spawn(b, bin.CB, h.Env, ins[k], "hook", "pre_tool"))
		httpT = append(httpT, post(ins[k]))
		mcpT = append(mcpT, call(mcpBodies[k]))
	}
	b.StopTimer()
	mb := median(bareT)
	for _, p := range []struct {
		name string
		d    []time.Duration
	}{{"bare", bareT}, {"command", cmdT}, {"http", httpT}, {"mcp_tool", mcpT}} {
		m := median(p.d)
		b.ReportMetric(ms(m), p.name+"-median-ms")
		if p.name != "bare" {
			b.ReportMetric(float64(m)/float64(mb), p.name+"-ratio")
		}
	}
	b.ReportMetric(0, "ns/op")
}
