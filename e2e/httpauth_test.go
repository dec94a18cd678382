package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/coder/websocket"
)

// TestHTTPNoTokenCannotDisableTheGuard is issue 12's measurement 2 against
// a real cbd: a local process without the token (over TCP there is no uid:
// "no token" is the attacker) tried hooks.disable of deny-rm-root on
// POST /rpc, then rm -rf / went through; audit.list and task.create
// answered too, and GET / served the token (sessions and events are read
// over /ws, refused too). Every one of those is refused now, the guard
// still denies, and the refusals are counted.
func TestHTTPNoTokenCannotDisableTheGuard(t *testing.T) {
	e := startHTTPEnv(t)
	anon := map[string]string{"Authorization": ""}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"hooks.disable","params":{"id":"deny-rm-root"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"audit.list","params":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":"planted"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"hooks.list","params":{}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"system.version"},{"jsonrpc":"2.0","id":2,"method":"hooks.disable","params":{"id":"deny-rm-root"}}]`,
	} {
		if status, b := e.post(t, "/rpc", []byte(body), anon); status != http.StatusUnauthorized {
			t.Errorf("without token %s: %d %s", body, status, b)
		}
	}
	hook := `{"session_id":"victim","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`
	if status, b := e.post(t, "/hooks/pre_tool", []byte(hook), anon); status != http.StatusUnauthorized {
		t.Errorf("hook without credential: %d %s", status, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+e.addr+"/ws", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WebSocket without token: %v %v", resp, err)
	}
	if status, b := e.send(t, http.MethodGet, "/", nil, anon); status != http.StatusUnauthorized ||
		strings.Contains(string(b), e.token) || !strings.Contains(string(b), "cb dashboard") {
		t.Errorf("GET / without login: %d %.300s", status, b)
	}

	time.Sleep(time.Second) // the measured attack waited a second for the rules to reload
	res := testenv.RunCB(t, bin, e.h, nil, []byte(hook), "hook", "pre_tool")
	if res.Code != 0 || !strings.Contains(res.Stdout, `"permissionDecision":"deny"`) {
		t.Fatalf("rm -rf / after the refused hooks.disable: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	if r := e.httpCall(t, "task.list", map[string]any{}); r.Error != nil || strings.Contains(string(r.Result), "planted") {
		t.Fatalf("task.list: %s %+v", r.Result, r.Error)
	}
	// The owner's credentials still work: the token, and on /hooks/* the
	// hook credential.
	status, b := e.post(t, "/hooks/pre_tool", []byte(hook), map[string]string{"Authorization": "Bearer " + apitoken.HookCredential(e.token)})
	if status != http.StatusOK || !strings.Contains(string(b), `"permissionDecision":"deny"`) {
		t.Fatalf("hook with the hook credential: %d %s", status, b)
	}
	status, b = e.send(t, http.MethodGet, "/metrics", nil, anon)
	if status != http.StatusOK || !strings.Contains(string(b), `cb_http_unauthorized_total{route="rpc"} 5`) ||
		!strings.Contains(string(b), `cb_http_unauthorized_total{route="hooks"} 1`) ||
		!strings.Contains(string(b), `cb_http_unauthorized_total{route="ws"} 1`) {
		t.Errorf("refusals are not counted in /metrics: %d\n%s", status, grepLines(string(b), "cb_http_unauthorized_total"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
