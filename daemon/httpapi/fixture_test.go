package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
)

const testToken = "test-token-0123456789abcdef"

// fixture is a real Server on 127.0.0.1:0 with cbd's methods (apptest.Build,
// without a Guard) on a private redis-server.
type fixture struct {
	srv  *Server
	base string // http://127.0.0.1:port
	host string // 127.0.0.1:port
	rdb  *redis.Client
	log  *testenv.SyncBuffer
	// stop cancels Run and waits for it; it returns Run's error.
	stop func() error
}

// newFixture starts the server with Options changed by mutate and the
// Server by tweaks (before Run).
func newFixture(t *testing.T, mutate func(o *Options), tweaks ...func(s *Server)) *fixture {
	t.Helper()
	rdb := testenv.NewRedis(t).Client(t, testenv.PoolSize(64))

	f := &fixture{rdb: rdb, log: &testenv.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", f.log.String())
		}
	})
	inv := apptest.Build(t, rdb, log, nil).Invoker
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{
		Addr: "127.0.0.1:0", Invoker: inv, Redis: rdb, Token: testToken,
		InstanceID: apptest.InstanceID, Log: log,
		Gauges: func(ctx context.Context) (Gauges, error) {
			n, err := rdb.ZCard(ctx, protocol.QueueTasksKey).Result()
			return Gauges{QueueDepth: n, TasksByStatus: map[string]int{"pending": int(n)}, Instances: 1}, err
		},
	}
	if mutate != nil {
		mutate(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tw := range tweaks {
		tw(srv)
	}
	f.srv = srv
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	<-srv.Ready()
	f.host = srv.Addr()
	f.base = "http://" + f.host
	f.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-runDone:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("Run did not return within 15s of cancel")
		}
	})
	t.Cleanup(func() {
		if err := f.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// req is one HTTP request of a test.
type req struct {
	method, path string
	body         string
	header       map[string]string
	host         string
	// anon sends no credential; otherwise the API token goes along unless
	// header sets Authorization (to "" for none).
	anon bool
}

// do sends r to the fixture and returns the status, headers and body.
func (f *fixture) do(t *testing.T, r req) (int, http.Header, []byte) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr, err := http.NewRequest(r.method, f.base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/json")
	}
	if !r.anon {
		hr.Header.Set("Authorization", "Bearer "+testToken)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
		if v == "" {
			hr.Header.Del(k)
		}
	}
	if r.host != "" {
		hr.Host = r.host
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// rpc posts a JSON-RPC body to /rpc and expects status.
func (f *fixture) rpc(t *testing.T, body string, status int) []byte {
	t.Helper()
	got, _, b := f.do(t, req{path: "/rpc", body: body})
	if got != status {
		t.Fatalf("POST /rpc %s: status %d, want %d; body %s", body, got, status, b)
	}
	return b
}

// response is a decoded JSON-RPC response.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    protocol.Code   `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeResponse(t *testing.T, b []byte) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode response %s: %v", b, err)
	}
	if r.JSONRPC != "2.0" {
		t.Fatalf("response without jsonrpc 2.0: %s", b)
	}
	return r
}

func wantError(t *testing.T, b []byte, code protocol.Code) response {
	t.Helper()
	r := decodeResponse(t, b)
	if r.Error == nil || r.Error.Code != code {
		t.Fatalf("want error %d, got %s", code, b)
	}
	if r.Result != nil {
		t.Fatalf("error response with a result: %s", b)
	}
	return r
}

func wantResult(t *testing.T, b []byte) response {
	t.Helper()
	r := decodeResponse(t, b)
	if r.Error != nil || r.Result == nil {
		t.Fatalf("want a result, got %s", b)
	}
	return r
}

// dialWS opens a WebSocket to the fixture, with the API token unless
// header or query carries a credential.
func (f *fixture) dialWS(t *testing.T, query string, header http.Header) *websocket.Conn {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Authorization") == "" && header.Get("Cookie") == "" && !strings.Contains(query, "token=") {
		header = header.Clone()
		header.Set("Authorization", "Bearer "+testToken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+f.host+"/ws"+query, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial ws (status %d): %v", status, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// wsCall sends one request and reads until its response, returning the
// notifications read on the way.
func wsCall(t *testing.T, c *websocket.Conn, id int, method string, params any) (response, []json.RawMessage) {
	t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	wsSend(t, c, msg)
	var notes []json.RawMessage
	for {
		b := wsRead(t, c, 10*time.Second)
		var probe struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			t.Fatalf("ws message %s: %v", b, err)
		}
		if probe.Method != "" {
			notes = append(notes, b)
			continue
		}
		if string(probe.ID) == jsonString(id) {
			return decodeResponse(t, b), notes
		}
		t.Fatalf("unexpected ws message %s", b)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func wsSend(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

func wsRead(t *testing.T, c *websocket.Conn, within time.Duration) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	return b
}

// eventNote is a decoded "event" notification.
type eventNote struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  struct {
		Type     string            `json:"type"`
		Payload  json.RawMessage   `json:"payload"`
		Metadata protocol.Metadata `json:"metadata"`
		Stream   string            `json:"stream"`
		EntryID  string            `json:"entryId"`
	} `json:"params"`
}

func decodeEvent(t *testing.T, b []byte) eventNote {
	t.Helper()
	var n eventNote
	if err := json.Unmarshal(b, &n); err != nil || n.Method != "event" || n.JSONRPC != "2.0" {
		t.Fatalf("not an event notification: %s (%v)", b, err)
	}
	return n
}

// nextEvent reads until an event notification arrives.
func nextEvent(t *testing.T, c *websocket.Conn, within time.Duration) eventNote {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b := wsRead(t, c, time.Until(deadline))
		if bytes.Contains(b, []byte(`"method":"event"`)) {
			return decodeEvent(t, b)
		}
	}
}
