package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/coder/websocket"
)

const versionCall = `{"jsonrpc":"2.0","id":1,"method":"system.version"}`
const createCall = `{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":"from a page"}}`

func TestHostCheck(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AllowedHosts = []string{"cb.internal", "box.lan:9999"} })
	_, port, _ := net.SplitHostPort(f.host)
	for host, want := range map[string]int{
		f.host:                     200,
		"localhost":                200,
		"localhost:" + port:        200,
		"LOCALHOST:" + port:        200,
		"127.0.0.1":                200,
		"[::1]:" + port:            200,
		"[::1]":                    200,
		"cb.internal":              200,
		"cb.internal:1234":         200,
		"box.lan:9999":             200,
		"box.lan":                  403,
		"box.lan:9998":             403,
		"localhost:1":              403,
		"evil.example":             403,
		"evil.example:" + port:     403,
		"127.0.0.1.evil.example":   403,
		"localhost.evil.example:1": 403,
	} {
		status, _, b := f.do(t, req{path: "/rpc", body: versionCall, host: host})
		if status != want {
			t.Errorf("Host %q: status %d, want %d (%s)", host, status, want, b)
		}
	}
	// Every route is guarded, /healthz and WebSockets included.
	for _, path := range []string{"/healthz", "/metrics", "/v1/methods", "/ws"} {
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path, host: "evil.example"}); status != 403 {
			t.Errorf("GET %s with a foreign Host: %d", path, status)
		}
	}
}

func TestOriginAndToken(t *testing.T) {
	var mcpHits atomic.Int32
	f := newFixture(t, func(o *Options) {
		o.CORSOrigins = []string{"http://localhost:3000/"}
		o.Mounts = []Mount{
			{Pattern: "/mcp", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mcpHits.Add(1); _, _ = io.WriteString(w, "mcp") }), RequireToken: true},
			{Pattern: "/", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "dashboard") })},
		}
	})
	self := "http://" + f.host
	bearer := "Bearer " + testToken

	// A foreign origin is refused whatever it asks, token or not.
	for _, origin := range []string{"http://evil.example", "null", "http://localhost:3001", "https://" + f.host + ".evil.example"} {
		status, _, _ := f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Origin": origin}})
		if status != 403 {
			t.Errorf("Origin %q: status %d", origin, status)
		}
	}
	// Same origin with the token: reads and writes.
	status, _, b := f.do(t, req{path: "/rpc", body: createCall, header: map[string]string{"Origin": self}})
	if status != 200 {
		t.Fatalf("same-origin write with token: %d %s", status, b)
	}
	wantResult(t, b)
	// Without a credential only system.version answers, page or not.
	for _, origin := range []string{"", self} {
		status, _, b = f.do(t, req{path: "/rpc", body: versionCall, anon: true, header: map[string]string{"Origin": origin}})
		if status != 200 {
			t.Fatalf("system.version without token (Origin %q): %d %s", origin, status, b)
		}
		wantResult(t, b)
		status, h, b := f.do(t, req{path: "/rpc", body: createCall, anon: true, header: map[string]string{"Origin": origin}})
		if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("write without token (Origin %q): %d %s", origin, status, b)
		}
		wantError(t, b, protocol.CodeUnauthorized)
	}
	batch := `[` + versionCall + `,` + strings.Replace(createCall, `"id":1`, `"id":2`, 1) + `]`
	if status, _, _ := f.do(t, req{path: "/rpc", body: batch, anon: true}); status != 401 {
		t.Fatalf("batch with a private call, no token: %d", status)
	}
	// A wrong token is refused even where none is needed.
	status, _, b = f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Authorization": "Bearer wrong"}})
	if status != 401 {
		t.Fatalf("wrong token: %d %s", status, b)
	}
	wantError(t, b, protocol.CodeUnauthorized)

	// CORS: only configured origins get the headers; preflight needs no token.
	status, h, _ := f.do(t, req{method: http.MethodOptions, path: "/rpc", anon: true, header: map[string]string{
		"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}})
	if status != 204 || h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", status, h)
	}
	status, h, _ = f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Origin": "http://localhost:3000"}})
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("CORS read: %d %v", status, h)
	}
	_, h, _ = f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Origin": self}})
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS headers for the own origin: %v", h)
	}

	// Mounts: RequireToken is enforced; others are open on loopback.
	if status, _, _ := f.do(t, req{method: http.MethodGet, path: "/mcp", anon: true}); status != 401 || mcpHits.Load() != 0 {
		t.Fatalf("mcp without token: %d", status)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/mcp", header: map[string]string{"Authorization": bearer}}); status != 200 || string(b) != "mcp" {
		t.Fatalf("mcp with token: %d %s", status, b)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/", anon: true}); status != 200 || string(b) != "dashboard" {
		t.Fatalf("plain mount: %d %s", status, b)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/healthz", header: map[string]string{"Authorization": "Bearer wrong"}}); status != 200 ||
		!strings.Contains(string(b), `"instance":"test-instance"`) {
		t.Fatalf("healthz: %d %s", status, b)
	}

	// WebSocket: a credential on the upgrade (header, or ?token= for
	// clients that cannot set headers), then every call works.
	ws := f.dialWS(t, "?token="+testToken, http.Header{"Origin": {self}})
	if resp, _ := wsCall(t, ws, 1, "task.create", map[string]any{"text": "x"}); resp.Error != nil {
		t.Fatalf("ws write with token: %+v", resp.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct {
		url    string
		header http.Header
		status int
	}{
		{"ws://" + f.host + "/ws?token=wrong", nil, 401},
		{"ws://" + f.host + "/ws", nil, 401},
		{"ws://" + f.host + "/ws", http.Header{"Origin": {self}}, 401},
		{"ws://" + f.host + "/ws", http.Header{"Origin": {"http://evil.example"}, "Authorization": {bearer}}, 403},
	} {
		if _, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{HTTPHeader: c.header}); err == nil || resp == nil || resp.StatusCode != c.status {
			t.Fatalf("ws %s %v: %v %v, want %d", c.url, c.header, resp, err, c.status)
		}
	}
}

// TestNoCredentialNoAccess is issue 12's measurement over loopback TCP
// (where there is no uid, "no token" is the test): without the token no
// state changes and nothing private is read, on any route; only the public
// set answers, and every refusal is counted.
func TestNoCredentialNoAccess(t *testing.T) {
	f := newFixture(t, nil)
	before := f.createTask(t, "private task")
	calls := map[string]string{
		"task.create":     `{"text":"planted"}`,
		"task.list":       `{}`,
		"task.claim":      `{"workerId":"w"}`,
		"system.metrics":  `{}`,
		"system.health":   `{}`,
		"hook.pre_tool":   `{"tool_name":"Bash","tool_input":{"command":"ls"}}`,
		"no.such.method":  `{}`,
		"system.discover": `{}`,
	}
	for method, params := range calls {
		body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`
		status, _, b := f.do(t, req{path: "/rpc", body: body, anon: true})
		if status != 401 {
			t.Errorf("%s without token: %d %s", method, status, b)
			continue
		}
		wantError(t, b, protocol.CodeUnauthorized)
		if strings.Contains(string(b), before) {
			t.Errorf("%s without token leaked a task id: %s", method, b)
		}
	}
	if n, err := f.rdb.ZCard(context.Background(), protocol.QueueTasksKey).Result(); err != nil || n != 1 {
		t.Fatalf("queue after refused calls: %d %v (a refused call ran)", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("ws without token: %v %v", resp, err)
	}
	hook := `{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + apitoken.HookCredential("another token")} {
		status, _, b := f.do(t, req{path: "/hooks/pre_tool", body: hook, header: map[string]string{"Authorization": auth}})
		if status != 401 {
			t.Errorf("hook with Authorization %q: %d %s", auth, status, b)
		}
	}
	// The public set still answers.
	for _, path := range []string{"/healthz", "/v1/methods", "/metrics"} {
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path, anon: true}); status != 200 {
			t.Errorf("GET %s without token: %d", path, status)
		}
	}
	wantResult(t, f.rpc(t, versionCall, 200))
	m := f.scrape(t)
	for _, want := range []string{`cb_http_unauthorized_total{route="rpc"} 8`, `cb_http_unauthorized_total{route="ws"} 1`, `cb_http_unauthorized_total{route="hooks"} 3`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestHookCredential: Claude Code's http hooks authenticate with the hook
// credential, which is good for /hooks/* and nothing else.
func TestHookCredential(t *testing.T) {
	f := newFixture(t, nil)
	hookAuth := map[string]string{"Authorization": "Bearer " + apitoken.HookCredential(testToken)}
	hook := `{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`
	status, _, b := f.do(t, req{path: "/hooks/pre_tool", body: hook, header: hookAuth})
	if status != 200 || !strings.Contains(string(b), `"permissionDecision":"deny"`) {
		t.Fatalf("hook with the hook credential: %d %s", status, b)
	}
	// Its answer can carry the session's tasks: not with the hook
	// credential.
	prompt := `{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi"}`
	if status, _, b := f.do(t, req{path: "/hooks/user_prompt", body: prompt, header: hookAuth}); status != 401 {
		t.Errorf("user_prompt with the hook credential: %d %s", status, b)
	}
	for _, path := range []string{"/rpc", "/mcp"} {
		if status, _, _ := f.do(t, req{path: path, body: createCall, header: hookAuth}); status != 401 && status != 404 {
			t.Errorf("POST %s with the hook credential: %d", path, status)
		}
	}
	if status, _, _ := f.do(t, req{path: "/v1/login", header: hookAuth}); status != 401 {
		t.Errorf("login code with the hook credential: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {hookAuth["Authorization"]}}}); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("ws with the hook credential: %v %v", resp, err)
	}
}

// TestToolLabelsBounded is issue 12's measurement 5: 3,000 hook bodies
// with distinct tool names must not make 3,000 series.
func TestToolLabelsBounded(t *testing.T) {
	f := newFixture(t, nil)
	const n = 3000
	for i := range n {
		body := fmt.Sprintf(`{"session_id":"s%d","hook_event_name":"PostToolUse","tool_name":"tool-%d<script>","tool_input":{}}`, i, i)
		if status, _, b := f.do(t, req{path: "/hooks/post_tool", body: body}); status != 200 {
			t.Fatalf("hook %d: %d %s", i, status, b)
		}
	}
	for _, name := range []string{"Bash", "mcp__github__create_issue", "mcp__x__y"} {
		body := `{"hook_event_name":"PostToolUse","tool_name":"` + name + `","tool_input":{}}`
		if status, _, _ := f.do(t, req{path: "/hooks/post_tool", body: body}); status != 200 {
			t.Fatalf("hook %s: %d", name, status)
		}
	}
	series := 0
	var lines []string
	for _, line := range strings.Split(f.scrape(t), "\n") {
		if strings.HasPrefix(line, "cb_hook_decisions_total{") {
			series++
			lines = append(lines, line)
		}
	}
	if series > 3 || strings.Contains(strings.Join(lines, "\n"), "tool-") {
		t.Fatalf("%d cb_hook_decisions_total series from %d distinct tool names:\n%.500s", series, n, strings.Join(lines, "\n"))
	}
	t.Logf("%d cb_hook_decisions_total series after %d distinct tool names", series, n+3)
	joined := strings.Join(lines, "\n")
	for _, want := range []string{`tool="other"} 3000`, `tool="mcp"} 2`, `tool="Bash"} 1`} {
		if !strings.Contains(joined, want) {
			t.Errorf("series lack %s:\n%s", want, joined)
		}
	}
}

func TestToolLabel(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "Bash": "Bash", "TodoWrite": "TodoWrite", "mcp__a__b": "mcp", "mcp_": "other",
		"bash": "other", "Bash ": "other", strings.Repeat("x", 300): "other", "\xff": "other",
	} {
		if got := toolLabel(in); got != want {
			t.Errorf("toolLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	reg := registry.New()
	inv := invoke.New(reg, testenv.Validator(t), time.Second, nil)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:7711"} {
		_, err := New(Options{Addr: addr, Invoker: inv})
		if err == nil || err.Error() != "refusing to listen on "+addr+" without an API token" {
			t.Errorf("New(%s) without token: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0", ""} {
		if _, err := New(Options{Addr: addr, Invoker: inv}); err != nil {
			t.Errorf("New(%q) on loopback: %v", addr, err)
		}
	}
	if _, err := New(Options{Addr: "nonsense", Invoker: inv}); err == nil {
		t.Error("New accepted a bad address")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without an Invoker")
	}
	if _, err := New(Options{Invoker: inv, Mounts: []Mount{{Pattern: "/rpc", Handler: http.NotFoundHandler()}}}); err == nil {
		t.Error("New accepted a mount conflicting with /rpc")
	}

	// Off loopback every endpoint but /healthz needs the token.
	f := newFixture(t, func(o *Options) { o.Addr = "0.0.0.0:0" })
	_, port, _ := net.SplitHostPort(f.srv.Addr())
	f.base = "http://127.0.0.1:" + port
	f.host = "127.0.0.1:" + port
	for _, path := range []string{"/v1/methods", "/metrics"} {
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path, anon: true}); status != 401 {
			t.Errorf("GET %s without token: %d", path, status)
		}
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path, header: map[string]string{"Authorization": "Bearer " + testToken}}); status != 200 {
			t.Errorf("GET %s with token: %d", path, status)
		}
	}
	status, _, b := f.do(t, req{path: "/rpc", body: versionCall, anon: true})
	if status != 401 {
		t.Fatalf("system.version without token off loopback: %d %s", status, b)
	}
	wantError(t, b, protocol.CodeUnauthorized)
	status, _, b = f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Authorization": "bearer " + testToken}})
	if status != 200 {
		t.Fatalf("rpc with token: %d %s", status, b)
	}
	if status, _, _ := f.do(t, req{method: http.MethodGet, path: "/healthz", anon: true}); status != 200 {
		t.Errorf("healthz off loopback: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("ws without token off loopback: %v %v", resp, err)
	}
	ws := f.dialWS(t, "?token="+testToken, nil)
	if resp, _ := wsCall(t, ws, 1, "ping", nil); string(resp.Result) != `"pong"` {
		t.Fatalf("ping: %+v", resp)
	}
}

func TestListen(t *testing.T) {
	inv := invoke.New(registry.New(), testenv.Validator(t), time.Second, nil)
	a, err := New(Options{Addr: "127.0.0.1:0", Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-a.Ready()
	// The port is taken: Listen and Run say so.
	b, err := New(Options{Addr: a.Addr(), Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Listen(t.Context()); err == nil || !strings.Contains(err.Error(), a.Addr()) {
		t.Fatalf("second listener on %s: %v", a.Addr(), err)
	}
	<-b.Ready()
	if err := b.Run(t.Context()); err == nil {
		t.Fatal("Run after a failed Listen")
	}
	// Close frees a listener Run will not use.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(t.Context()); err == nil {
		t.Fatal("Run after Close")
	}
	c, err := New(Options{Addr: a.Addr(), Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	<-c.Ready()
	if c.Addr() != a.Addr() {
		t.Fatalf("rebound %s, want %s", c.Addr(), a.Addr())
	}
	resp, err := http.Get("http://" + c.Addr() + "/healthz") // served: the first Run is under way
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := c.Run(ctx); err == nil {
		t.Fatal("Run twice")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestDashboardLogin: the one-time code minted with the token becomes an
// HttpOnly, SameSite=Strict session cookie; the cookie then opens /rpc,
// /ws and the page, on same-origin requests only, and nothing else.
func TestDashboardLogin(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64
	f := newFixture(t, func(o *Options) {
		o.CORSOrigins = []string{"http://localhost:3000"}
		o.Mounts = []Mount{
			{Pattern: "/mcp", Handler: http.NotFoundHandler(), RequireToken: true},
			{Pattern: "/", Browser: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !Authenticated(r.Context()) {
					w.WriteHeader(401)
					_, _ = io.WriteString(w, "run cb dashboard")
					return
				}
				_, _ = io.WriteString(w, "dashboard "+r.URL.RawQuery)
			})},
		}
	}, func(s *Server) {
		s.loginCodes.now = func() time.Time { return now.Add(time.Duration(clock.Load())) }
	})
	self := "http://" + f.host
	mint := func() string {
		t.Helper()
		status, _, b := f.do(t, req{path: "/v1/login"})
		var out struct {
			Code, Path string
			Expires    int `json:"expiresInSeconds"`
		}
		if status != 200 || json.Unmarshal(b, &out) != nil || out.Code == "" || out.Path != "/?login="+out.Code || out.Expires != 60 {
			t.Fatalf("POST /v1/login: %d %s", status, b)
		}
		return out.Code
	}
	if status, _, _ := f.do(t, req{path: "/v1/login", anon: true}); status != 401 {
		t.Fatalf("login code without token: %d", status)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/", anon: true}); status != 401 || string(b) != "run cb dashboard" {
		t.Fatalf("page without login: %d %s", status, b)
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	open := func(query string) *http.Response {
		t.Helper()
		resp, err := noRedirect.Get(f.base + "/" + query)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	code := mint()
	resp := open("?tab=tasks&login=" + code)
	loc, key, _ := strings.Cut(resp.Header.Get("Location"), "#key=")
	if resp.StatusCode != http.StatusSeeOther || loc != "/?tab=tasks" || len(key) != 64 || strings.Contains(key, code) {
		t.Fatalf("login: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	setCookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
		}
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !strings.HasPrefix(cookies[0].Name, cookiePrefix) || strings.Contains(cookies[0].Value, code) {
		t.Fatalf("cookies %v", cookies)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value
	// The redirect goes to the root, whatever the path.
	if resp := open("x/y?login=" + mint()); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/#key=") {
		t.Fatalf("login on /x/y: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// HEAD (a link preview) does not spend a code.
	head := mint()
	if hr, err := http.NewRequest(http.MethodHead, f.base+"/?login="+head, nil); err != nil {
		t.Fatal(err)
	} else if resp, err := noRedirect.Do(hr); err != nil || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("HEAD with a code: %v %v", resp, err)
	}
	if resp := open("?login=" + head); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET after HEAD: %d", resp.StatusCode)
	}
	// The code works once.
	if resp := open("?login=" + code); resp.StatusCode != 401 || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("second use of a code: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	// An expired code does not work.
	late := mint()
	clock.Store(int64(LoginCodeTTL + time.Second))
	if resp := open("?login=" + late); resp.StatusCode != 401 {
		t.Fatalf("expired code: %d", resp.StatusCode)
	}

	withCookie := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": "", "Cookie": cookie, sessionKeyHeader: key}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/", header: withCookie(nil)}); status != 200 || !strings.HasPrefix(string(b), "dashboard") {
		t.Fatalf("page with the cookie: %d %s", status, b)
	}
	status, _, b := f.do(t, req{path: "/rpc", body: createCall, header: withCookie(map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"})})
	if status != 200 {
		t.Fatalf("rpc with the cookie: %d %s", status, b)
	}
	wantResult(t, b)
	ws := f.dialWS(t, "?key="+key, http.Header{"Origin": {self}, "Cookie": {cookie}})
	if resp, _ := wsCall(t, ws, 1, "task.list", map[string]any{}); resp.Error != nil {
		t.Fatalf("ws with the cookie: %+v", resp.Error)
	}
	// Never cross-origin: a CORS origin, another site, or Fetch Metadata
	// saying so get nothing from the cookie; nor do the token-only routes.
	for name, h := range map[string]map[string]string{
		"CORS origin":       {"Origin": "http://localhost:3000"},
		"same-site fetch":   {"Sec-Fetch-Site": "same-site"},
		"cross-site fetch":  {"Sec-Fetch-Site": "cross-site", "Origin": self},
		"a forged cookie":   {"Cookie": cookies[0].Name + "=0123"},
		"another port's":    {"Cookie": cookiePrefix + "1=" + cookies[0].Value},
		"cookie, no Origin": {"Cookie": cookie}, // allowed with the key: see below
		// Cookies go to every port of the host: a server another user
		// runs on another port gets this one, but not the key, which
		// the page keeps in its own origin's storage.
		"cookie without its key":  {sessionKeyHeader: ""},
		"cookie with a wrong key": {sessionKeyHeader: strings.Repeat("0", 64)},
		"key of another session":  {"Cookie": cookies[0].Name + "=" + strings.Repeat("a", 64)},
	} {
		status, _, b := f.do(t, req{path: "/rpc", body: createCall, header: withCookie(h)})
		want := 401
		if name == "cookie, no Origin" {
			want = 200
		}
		if status != want {
			t.Errorf("rpc with %s: %d, want %d (%s)", name, status, want, b)
		}
	}
	// The page itself opens with the cookie alone (it holds no data); a
	// WebSocket does not.
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/", header: withCookie(map[string]string{sessionKeyHeader: ""})}); status != 200 || !strings.HasPrefix(string(b), "dashboard") {
		t.Fatalf("page with the cookie alone: %d %s", status, b)
	}
	dctx, cancelDial := context.WithTimeout(context.Background(), 5*time.Second)
	_, wsResp, err := websocket.Dial(dctx, "ws://"+f.host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {self}, "Cookie": {cookie}}})
	cancelDial()
	if err == nil || wsResp == nil || wsResp.StatusCode != 401 {
		t.Fatalf("ws with the cookie alone: %v %v", wsResp, err)
	}
	hook := `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`
	for path, body := range map[string]string{"/hooks/pre_tool": hook, "/mcp": "{}", "/v1/login": ""} {
		if status, _, _ := f.do(t, req{path: path, body: body, header: withCookie(map[string]string{"Origin": self})}); status != 401 {
			t.Errorf("POST %s with the cookie: %d", path, status)
		}
	}
}
