package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestIntegralNumbersAreIntegers is issue 15's defect 1: JSON Schema counts
// 50.0 and 1e2 as integers, and so must the handlers that decode them.
func TestIntegralNumbersAreIntegers(t *testing.T) {
	f := newFixture(t, nil)
	call := func(method, params string) json.RawMessage {
		t.Helper()
		b := f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":`+params+`}`, 200)
		return wantResult(t, b).Result
	}
	var tk struct {
		ID       string
		Priority int
	}
	for params, want := range map[string]int{
		`{"text":"fifty","priority":50.0}`:  50,
		`{"text":"hundred","priority":1e2}`: 100,
		`{"text":"ten","priority":0.1E+2}`:  10,
	} {
		if err := json.Unmarshal(call("task.create", params), &tk); err != nil || tk.Priority != want {
			t.Errorf("task.create %s → %+v, %v; want priority %d", params, tk, err, want)
		}
	}
	if err := json.Unmarshal(call("task.update", `{"id":"`+tk.ID+`","updates":{"priority":7.0e1}}`), &tk); err != nil || tk.Priority != 70 {
		t.Errorf("task.update priority 7.0e1 → %+v, %v", tk, err)
	}
	var list struct {
		Tasks []json.RawMessage
	}
	if err := json.Unmarshal(call("task.list", `{"limit":2.0,"offset":0.0}`), &list); err != nil || len(list.Tasks) != 2 {
		t.Errorf("task.list limit 2.0 → %d tasks, %v", len(list.Tasks), err)
	}
	if err := json.Unmarshal(call("task.claim", `{"workerId":"w-1","maxTasks":3e0}`), &list); err != nil || len(list.Tasks) != 3 {
		t.Errorf("task.claim maxTasks 3e0 → %d tasks, %v", len(list.Tasks), err)
	}
	// A number that is not an integer is still refused, by the schema, with
	// the failing field in data.errors.
	r := wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":"x","priority":50.5}}`, 200), -32602)
	if !strings.Contains(string(r.Error.Data), `"/priority"`) {
		t.Errorf("priority 50.5: data %s", r.Error.Data)
	}
}

// TestHookDecisionsOfEveryTransport is issue 15's defect 4: every hook
// answer counts in cb_hook_decisions_total, not only those of http hooks,
// and each counts once.
func TestHookDecisionsOfEveryTransport(t *testing.T) {
	f := newFixture(t, nil)
	deny := `{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`
	wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"hook.pre_tool","params":`+deny+`}`, 200))
	ws := f.dialWS(t, "", nil)
	var params map[string]any
	if err := json.Unmarshal([]byte(deny), &params); err != nil {
		t.Fatal(err)
	}
	if r, _ := wsCall(t, ws, 1, "hook.pre_tool", params); r.Error != nil {
		t.Fatalf("ws hook.pre_tool: %+v", r.Error)
	}
	if status, _, b := f.do(t, req{path: "/hooks/pre_tool", body: deny}); status != 200 || !strings.Contains(string(b), "deny") {
		t.Fatalf("/hooks/pre_tool: %d %s", status, b)
	}
	wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"hook.user_prompt","params":{"session_id":"s1","prompt":"hi"}}`, 200))
	m := f.scrape(t)
	for _, want := range []string{
		`cb_hook_decisions_total{decision="deny",event="pre_tool",tool="Bash"} 3`,
		`cb_hook_decisions_total{decision="none",event="user_prompt",tool=""} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, `method="task.`) && strings.Contains(m, `cb_hook_decisions_total{decision="none",event="task`) {
		t.Error("a task method counted as a hook decision")
	}
}

// TestHookSessionOverRPC is part of issue 15's defect 3: the session of a
// hook call is the hook body's session_id over every transport, the
// connection's session only when the body has none.
func TestHookSessionOverRPC(t *testing.T) {
	for _, c := range []struct {
		method, params, conn, want string
	}{
		{"hook.todo_write", `{"session_id":"from-body"}`, "from-header", "from-body"},
		{"hook.todo_write", `{"session_id":"from-body"}`, "", "from-body"},
		{"hook.todo_write", `{"session_id":""}`, "from-header", "from-header"},
		{"hook.pre_tool", `{"tool_name":"Bash"}`, "from-header", "from-header"},
		{"hook.pre_tool", `{"session_id":7}`, "from-header", "from-header"},
		{"task.create", `{"session_id":"not-a-hook"}`, "from-header", "from-header"},
	} {
		if got := callSession(c.method, json.RawMessage(c.params), c.conn); got != c.want {
			t.Errorf("callSession(%s, %s, %q) = %q, want %q", c.method, c.params, c.conn, got, c.want)
		}
	}
}

// TestSubscribeSinceIntegral: the WebSocket subscribe's since, an integer
// of milliseconds, may be written as any integral JSON number too.
func TestSubscribeSinceIntegral(t *testing.T) {
	for raw, want := range map[string]int64{`1700000000000`: 1700000000000, `1.7e12`: 1700000000000, `"1700000000000"`: 1700000000000, `"$"`: -1} {
		if got, perr := parseSince(json.RawMessage(raw)); perr != nil || got != want {
			t.Errorf("parseSince(%s) = %d, %v; want %d", raw, got, perr, want)
		}
	}
	if _, perr := parseSince(json.RawMessage(`1.5`)); perr == nil {
		t.Error("since 1.5 accepted")
	}
}
