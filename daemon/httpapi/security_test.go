package httpapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/dispatch"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas/validate"
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

	// A foreign origin is refused whatever it asks.
	for _, origin := range []string{"http://evil.example", "null", "http://localhost:3001", "https://" + f.host + ".evil.example"} {
		status, _, _ := f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Origin": origin}})
		if status != 403 {
			t.Errorf("Origin %q: status %d", origin, status)
		}
	}
	// Same origin: reads are fine, writes need the token.
	status, _, b := f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Origin": self}})
	if status != 200 {
		t.Fatalf("same-origin read: %d %s", status, b)
	}
	wantResult(t, b)
	status, h, b := f.do(t, req{path: "/rpc", body: createCall, header: map[string]string{"Origin": self}})
	if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("same-origin write without token: %d %s", status, b)
	}
	wantError(t, b, protocol.CodeUnauthorized)
	batch := `[` + versionCall + `,` + strings.Replace(createCall, `"id":1`, `"id":2`, 1) + `]`
	if status, _, _ := f.do(t, req{path: "/rpc", body: batch, header: map[string]string{"Origin": self}}); status != 401 {
		t.Fatalf("batch with a write from a page: %d", status)
	}
	status, _, b = f.do(t, req{path: "/rpc", body: createCall, header: map[string]string{"Origin": self, "Authorization": bearer}})
	if status != 200 {
		t.Fatalf("same-origin write with token: %d %s", status, b)
	}
	wantResult(t, b)
	// Without Origin (CLI, scripts) on loopback, no token is needed.
	wantResult(t, f.rpc(t, createCall, 200))
	// A wrong token is refused even where none is needed.
	status, _, b = f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Authorization": "Bearer wrong"}})
	if status != 401 {
		t.Fatalf("wrong token: %d %s", status, b)
	}
	wantError(t, b, protocol.CodeUnauthorized)
	// Hooks change state too.
	hook := `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`
	if status, _, _ := f.do(t, req{path: "/hooks/pre_tool", body: hook, header: map[string]string{"Origin": self}}); status != 401 {
		t.Fatalf("hook from a page without token: %d", status)
	}

	// CORS: only configured origins get the headers; preflight needs no token.
	status, h, _ = f.do(t, req{method: http.MethodOptions, path: "/rpc", header: map[string]string{
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
	if status, _, _ := f.do(t, req{method: http.MethodGet, path: "/mcp"}); status != 401 || mcpHits.Load() != 0 {
		t.Fatalf("mcp without token: %d", status)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/mcp", header: map[string]string{"Authorization": bearer}}); status != 200 || string(b) != "mcp" {
		t.Fatalf("mcp with token: %d %s", status, b)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/"}); status != 200 || string(b) != "dashboard" {
		t.Fatalf("dashboard: %d %s", status, b)
	}
	if status, _, b := f.do(t, req{method: http.MethodGet, path: "/healthz", header: map[string]string{"Authorization": "Bearer wrong"}}); status != 200 ||
		!strings.Contains(string(b), `"instance":"test-instance"`) {
		t.Fatalf("healthz: %d %s", status, b)
	}

	// WebSocket from a page: reads work, writes need ?token=.
	ws := f.dialWS(t, "", http.Header{"Origin": {self}})
	resp, _ := wsCall(t, ws, 1, "system.version", nil)
	if resp.Error != nil {
		t.Fatalf("ws read from a page: %+v", resp.Error)
	}
	resp, _ = wsCall(t, ws, 2, "task.create", map[string]any{"text": "x"})
	if resp.Error == nil || resp.Error.Code != protocol.CodeUnauthorized {
		t.Fatalf("ws write from a page without token: %+v", resp)
	}
	ws2 := f.dialWS(t, "?token="+testToken, http.Header{"Origin": {self}})
	if resp, _ := wsCall(t, ws2, 1, "task.create", map[string]any{"text": "x"}); resp.Error != nil {
		t.Fatalf("ws write from a page with token: %+v", resp.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws?token=wrong", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("ws with a wrong token: %v %v", resp, err)
	}
	if _, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("ws from a foreign origin: %v %v", resp, err)
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	reg := registry.New()
	val, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	inv := dispatch.NewInvoker(reg, val, time.Second, nil)
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
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path}); status != 401 {
			t.Errorf("GET %s without token: %d", path, status)
		}
		if status, _, _ := f.do(t, req{method: http.MethodGet, path: path, header: map[string]string{"Authorization": "Bearer " + testToken}}); status != 200 {
			t.Errorf("GET %s with token: %d", path, status)
		}
	}
	wantError(t, f.rpc(t, versionCall, 401), protocol.CodeUnauthorized)
	status, _, b := f.do(t, req{path: "/rpc", body: versionCall, header: map[string]string{"Authorization": "bearer " + testToken}})
	if status != 200 {
		t.Fatalf("rpc with token: %d %s", status, b)
	}
	if status, _, _ := f.do(t, req{method: http.MethodGet, path: "/healthz"}); status != 200 {
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
	val, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	inv := dispatch.NewInvoker(registry.New(), val, time.Second, nil)
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
