package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

func TestHooks(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxHookBody = 4096 })
	engine, err := policy.New(policy.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) (int, string) {
		t.Helper()
		status, _, b := f.do(t, req{path: path, body: body})
		return status, string(b)
	}

	deny := `{"session_id":"s1","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls; rm -rf /"}}`
	status, body := post("/hooks/pre_tool", deny)
	res, err := hookrules.Decide(engine, "pre_tool", json.RawMessage(deny))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(protocol.RenderHookOutput("PreToolUse", res)); status != 200 || body != want || !strings.Contains(body, `"permissionDecision":"deny"`) {
		t.Fatalf("deny: %d %s\nwant %s", status, body, want)
	}
	// No opinion is an empty 200.
	for path, in := range map[string]string{
		"/hooks/pre_tool":     `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`,
		"/hooks/user_prompt":  `{"hook_event_name":"UserPromptSubmit","prompt":"hello"}`,
		"/hooks/session_end":  `{"session_id":"s1"}`,
		"/hooks/notification": `{"message":"hi","unknown":[1,2,3]}`,
	} {
		if status, body := post(path, in); status != 200 || body != "" {
			t.Errorf("%s: %d %q", path, status, body)
		}
	}
	// Without hook_event_name the type's Claude event shapes the answer.
	noName := `{"tool_name":"Bash","tool_input":{"command":"sudo rm -rf ~"}}`
	if _, body := post("/hooks/pre_tool", noName); !strings.Contains(body, `"hookEventName":"PreToolUse"`) {
		t.Fatalf("without hook_event_name: %s", body)
	}
	// Bad input, oversized input: no opinion, logged.
	for _, in := range []string{`{"tool_name":`, `[1]`, `{"tool_name":"Bash","tool_input":{"command":"` + strings.Repeat("x", 5000) + `"}}`} {
		if status, body := post("/hooks/pre_tool", in); status != 200 || body != "" {
			t.Errorf("bad input %.30s: %d %q", in, status, body)
		}
	}
	if !strings.Contains(f.log.String(), "answering no opinion") {
		t.Fatal("failures are not logged")
	}
	if status, _ := post("/hooks/no_such", `{}`); status != 404 {
		t.Fatalf("unknown hook type: %d", status)
	}
	if status, _, _ := f.do(t, req{method: http.MethodGet, path: "/hooks/pre_tool"}); status != 405 {
		t.Fatalf("GET hook: %d", status)
	}

	metrics := f.scrape(t)
	for _, want := range []string{
		`cb_hook_decisions_total{decision="deny",event="pre_tool",tool="Bash"} 2`,
		`cb_hook_decisions_total{decision="none",event="pre_tool",tool="Bash"} 1`,
		`cb_hook_decisions_total{decision="none",event="user_prompt",tool=""} 1`,
		`cb_handler_duration_seconds_count{method="hook.pre_tool",transport="http"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// scrape reads /metrics.
func (f *fixture) scrape(t *testing.T) string {
	t.Helper()
	status, h, b := f.do(t, req{method: http.MethodGet, path: "/metrics"})
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", status, h.Get("Content-Type"))
	}
	return string(b)
}

func TestMetrics(t *testing.T) {
	var gaugeErr error
	var mu sync.Mutex
	f := newFixture(t, func(o *Options) {
		inner := o.Gauges
		o.Gauges = func(ctx context.Context) (Gauges, error) {
			mu.Lock()
			defer mu.Unlock()
			if gaugeErr != nil {
				return Gauges{}, gaugeErr
			}
			g, err := inner(ctx)
			g.AuditDropped = 3
			return g, err
		}
	})
	f.createTask(t, "counted")
	f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":""}}`, 200)
	f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"no.such"}`, 200)
	ws := f.dialWS(t, "", nil)
	wsCall(t, ws, 1, "system.version", nil)

	m := f.scrape(t)
	for _, want := range []string{
		`cb_handler_calls_total{method="task.create"} 2`,
		`cb_handler_errors_total{method="task.create"} 1`,
		`cb_rejections_total{method="task.create",reason="rate_limited"} 0`,
		`cb_rejections_total{method="task.create",reason="circuit_open"} 0`,
		`cb_rejections_total{method="task.create",reason="timeout"} 0`,
		`cb_rejections_total{method="task.create",reason="expired"} 0`,
		`cb_handler_duration_seconds_count{method="task.create",transport="http"} 2`,
		`cb_handler_duration_seconds_count{method="system.version",transport="ws"} 1`,
		`cb_queue_depth 1`,
		`cb_tasks{status="pending"} 1`,
		`cb_instances 1`,
		`cb_audit_dropped_total 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, "no.such") {
		t.Error("unknown methods became labels")
	}
	mu.Lock()
	gaugeErr = errors.New("redis down")
	mu.Unlock()
	if m := f.scrape(t); strings.Contains(m, "cb_queue_depth") || !strings.Contains(m, "cb_handler_calls_total") {
		t.Error("a gauge failure should only drop the gauges")
	}
}

func TestMethods(t *testing.T) {
	f := newFixture(t, nil)
	status, h, b := f.do(t, req{method: http.MethodGet, path: "/v1/methods"})
	if status != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("/v1/methods: %d %s", status, b)
	}
	var out api.DiscoverResult
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	events := f.srv.reg.Events()
	if len(out.Methods) != len(events) {
		t.Fatalf("%d methods, registry has %d", len(out.Methods), len(events))
	}
	for i, m := range out.Methods {
		if m.Name != events[i] || m.Description == "" || len(m.Input) < 2 || len(m.Output) < 2 {
			t.Errorf("method %d: %+v", i, m)
		}
	}
	if strings.Contains(string(b), `"$ref"`) {
		t.Error("schemas are not self-contained")
	}
	if status, _, _ := f.do(t, req{path: "/v1/methods", body: "{}"}); status != 405 {
		t.Errorf("POST /v1/methods: %d", status)
	}
}
