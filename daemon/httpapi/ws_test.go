package httpapi

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
)

// createTask makes a task over /rpc and returns its id.
func (f *fixture) createTask(t *testing.T, text string) string {
	t.Helper()
	r := wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":`+jsonString(text)+`}}`, 200))
	var tk struct{ ID string }
	if err := json.Unmarshal(r.Result, &tk); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

// publish appends an event envelope to a stream, as another instance would.
func (f *fixture) publish(t *testing.T, typ, payload, source string) string {
	t.Helper()
	ev := protocol.Event{Type: typ, Payload: json.RawMessage(payload),
		Metadata: protocol.Metadata{ID: protocol.NewID(), Timestamp: time.Now().UnixMilli(), Source: source}}
	data, err := protocol.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	// A writer adds the type to the index of streams, as cbd's do.
	f.rdb.SAdd(t.Context(), protocol.StreamsKey, typ)
	id, err := f.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, data}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebSocketEvents(t *testing.T) {
	f := newFixture(t, nil)
	before := time.Now().Add(-time.Second).UnixMilli()
	earlier := f.createTask(t, "made before anyone subscribed")
	time.Sleep(5 * time.Millisecond) // the tailer starts from the next millisecond at the earliest

	ws := f.dialWS(t, "", nil)
	resp, _ := wsCall(t, ws, 1, "subscribe", map[string]any{"patterns": []string{"task.*"}})
	if resp.Error != nil || string(resp.Result) != `{"subscribed":["task.*"]}` {
		t.Fatalf("subscribe: %+v %s", resp.Error, resp.Result)
	}
	resp, _ = wsCall(t, ws, 2, "subscribe", map[string]any{"patterns": []string{"system.x", "task.*"}, "since": "$"})
	if string(resp.Result) != `{"subscribed":["system.x","task.*"]}` {
		t.Fatalf("second subscribe: %s", resp.Result)
	}

	// Events of this instance's handlers arrive in order, with their stream
	// and entry id; entries older than the subscription do not. (Task events
	// written in the same millisecond to two streams still have ordered ids:
	// see emit in scripts/tasks/lib.lua.)
	id := f.createTask(t, "watch me")
	wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"task.update","params":{"id":"`+id+`","updates":{"priority":90}}}`, 200))
	created := nextEvent(t, ws, 10*time.Second)
	updated := nextEvent(t, ws, 10*time.Second)
	if created.Params.Type != "task.created" || created.Params.Stream != protocol.StreamKey("task.created") ||
		!strings.Contains(string(created.Params.Payload), id) || created.Params.EntryID == "" || created.Params.Metadata.Source != "test-instance" {
		t.Fatalf("first event: %+v", created.Params)
	}
	if updated.Params.Type != "task.updated" || !strings.Contains(string(updated.Params.Payload), `"priority":90`) {
		t.Fatalf("second event: %+v", updated.Params)
	}
	if protocol.CompareStreamIDs(created.Params.EntryID, updated.Params.EntryID) >= 0 {
		t.Fatalf("events out of order: %s then %s", created.Params.EntryID, updated.Params.EntryID)
	}

	// Events written by another instance arrive too; other types do not.
	f.publish(t, "hook.pre_tool", `{}`, "other")
	f.publish(t, "task.custom", `{"n":1}`, "other-instance")
	ev := nextEvent(t, ws, 10*time.Second)
	if ev.Params.Type != "task.custom" || ev.Params.Metadata.Source != "other-instance" || string(ev.Params.Payload) != `{"n":1}` {
		t.Fatalf("foreign event: %+v", ev.Params)
	}

	// Calls over the socket go through the same chain.
	resp, notes := wsCall(t, ws, 3, "ping", nil)
	if string(resp.Result) != `"pong"` || len(notes) != 0 {
		t.Fatalf("ping: %+v %d", resp, len(notes))
	}
	resp, _ = wsCall(t, ws, 4, "task.get", map[string]any{"id": earlier})
	if resp.Error != nil || !strings.Contains(string(resp.Result), earlier) {
		t.Fatalf("task.get over ws: %+v %s", resp.Error, resp.Result)
	}
	resp, _ = wsCall(t, ws, 5, "no.such", nil)
	if resp.Error == nil || resp.Error.Code != protocol.CodeMethodNotFound {
		t.Fatalf("unknown method over ws: %+v", resp)
	}
	resp, _ = wsCall(t, ws, 6, "task.create", map[string]any{"text": ""})
	if resp.Error == nil || resp.Error.Code != protocol.CodeInvalidParams || !strings.Contains(string(resp.Error.Data), `"path"`) {
		t.Fatalf("invalid params over ws: %+v", resp)
	}
	for _, params := range []any{
		map[string]any{"patterns": []string{}}, map[string]any{"patterns": []string{""}},
		map[string]any{"patterns": []string{strings.Repeat("x", 201)}}, map[string]any{"patterns": []string{"task.*"}, "since": "yesterday"},
		[]string{"task.*"},
	} {
		resp, _ = wsCall(t, ws, 7, "subscribe", params)
		if resp.Error == nil || resp.Error.Code != protocol.CodeInvalidParams {
			t.Fatalf("subscribe %v: %+v", params, resp)
		}
	}
	// A batch and a parse error.
	wsSend(t, ws, []any{map[string]any{"jsonrpc": "2.0", "id": 8, "method": "ping"}, map[string]any{"jsonrpc": "2.0", "id": 9, "method": "system.version"}})
	var batch []response
	if err := json.Unmarshal(wsRead(t, ws, 10*time.Second), &batch); err != nil || len(batch) != 2 || string(batch[0].Result) != `"pong"` || batch[1].Error != nil {
		t.Fatalf("ws batch: %+v %v", batch, err)
	}
	if err := ws.Write(t.Context(), websocket.MessageText, []byte(`{"jsonrpc":`)); err != nil {
		t.Fatal(err)
	}
	wantError(t, wsRead(t, ws, 10*time.Second), protocol.CodeParseError)

	// A second client replays from a time, then gets live events, without
	// duplicates.
	ws2 := f.dialWS(t, "", nil)
	resp, notes = wsCall(t, ws2, 1, "subscribe", map[string]any{"patterns": []string{"task.created"}, "since": strconv.FormatInt(before, 10)})
	if resp.Error != nil || len(notes) != 0 {
		t.Fatalf("subscribe since: %+v, %d events before the answer", resp.Error, len(notes))
	}
	var replayed []string
	for range 2 {
		ev := nextEvent(t, ws2, 10*time.Second)
		if ev.Params.Type != "task.created" {
			t.Fatalf("replayed %s", ev.Params.Type)
		}
		replayed = append(replayed, string(ev.Params.Payload))
	}
	if !strings.Contains(replayed[0], earlier) || !strings.Contains(replayed[1], id) {
		t.Fatalf("replay order: %v", replayed)
	}
	live := f.createTask(t, "live")
	if ev := nextEvent(t, ws2, 10*time.Second); !strings.Contains(string(ev.Params.Payload), live) {
		t.Fatalf("after replay: %s", ev.Params.Payload)
	}
	if ev := nextEvent(t, ws, 10*time.Second); !strings.Contains(string(ev.Params.Payload), live) {
		t.Fatalf("first client: %s", ev.Params.Payload)
	}

	// Unsubscribing everything stops the tailer.
	resp, _ = wsCall(t, ws, 10, "unsubscribe", map[string]any{"patterns": []string{"task.*", "system.x"}})
	if string(resp.Result) != `{"subscribed":[]}` {
		t.Fatalf("unsubscribe: %s", resp.Result)
	}
	resp, _ = wsCall(t, ws2, 2, "unsubscribe", nil)
	if string(resp.Result) != `{"subscribed":[]}` {
		t.Fatalf("unsubscribe all: %s", resp.Result)
	}
	waitFor(t, "no subscribers", func() bool { return f.srv.hub.subscribers() == 0 })
	f.srv.hub.mu.RLock()
	running := f.srv.hub.cur != nil
	f.srv.hub.mu.RUnlock()
	if running {
		t.Fatal("tailer still running without subscribers")
	}
	f.createTask(t, "unwatched")
	if resp, notes := wsCall(t, ws, 11, "ping", nil); string(resp.Result) != `"pong"` || len(notes) != 0 {
		t.Fatalf("events after unsubscribe: %d", len(notes))
	}

	// Closing a subscribed client unregisters it.
	ws3 := f.dialWS(t, "", nil)
	wsCall(t, ws3, 1, "subscribe", map[string]any{"patterns": []string{"*"}})
	if n := f.srv.hub.subscribers(); n != 1 {
		t.Fatalf("subscribers: %d", n)
	}
	_ = ws3.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "closed client unregistered", func() bool { return f.srv.hub.subscribers() == 0 })
}

func TestWebSocketMessageTooBig(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WSMaxMessage = 1024 })
	ws := f.dialWS(t, "", nil)
	if resp, _ := wsCall(t, ws, 1, "ping", map[string]any{"pad": strings.Repeat("x", 900)}); string(resp.Result) != `"pong"` {
		t.Fatalf("message under the limit: %+v", resp)
	}
	big := `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`
	if err := ws.Write(t.Context(), websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized message: got %s, %v (status %d), want close 1009", b, err, code)
	}
}

func TestWebSocketTooSlow(t *testing.T) {
	f := newFixture(t, nil, func(s *Server) { s.wsQueueLen = 8 })
	payload := `{"pad":"` + strings.Repeat("x", 32<<10) + `"}`
	f.publish(t, "flood.test", payload, "flood") // the stream exists before the subscription
	slow := f.dialWS(t, "", nil)
	if resp, _ := wsCall(t, slow, 1, "subscribe", map[string]any{"patterns": []string{"flood.*"}}); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	// The client reads far slower than events arrive (it keeps reading, so
	// TCP does not stall in zero-window probes); the server must drop it
	// rather than queue without bound.
	dropped := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		for {
			if _, _, err := slow.Read(ctx); err != nil {
				readErr <- err
				return
			}
			select {
			case <-dropped:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for f.srv.hub.subscribers() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that does not keep up was never disconnected")
		}
		pipe := f.rdb.Pipeline()
		pipe.SAdd(t.Context(), protocol.StreamsKey, "flood.test")
		for range 32 {
			ev := protocol.Event{Type: "flood.test", Payload: json.RawMessage(payload), Metadata: protocol.Metadata{ID: protocol.NewID(), Source: "flood"}}
			data, _ := protocol.EncodeEvent(ev)
			pipe.XAdd(t.Context(), &redis.XAddArgs{Stream: protocol.StreamKey("flood.test"), MaxLen: 2000, Approx: true, Values: []any{protocol.StreamField, data}})
		}
		if _, err := pipe.Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(dropped)
	// It reads what was already sent, then the close status.
	select {
	case err := <-readErr:
		if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
			t.Fatalf("slow client: %v, want close 1008", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("slow client not closed")
	}
	if !strings.Contains(f.log.String(), "too slow") {
		t.Fatal("no log line about the slow client")
	}
	// The server carries on for others.
	ws := f.dialWS(t, "", nil)
	if resp, _ := wsCall(t, ws, 1, "ping", nil); string(resp.Result) != `"pong"` {
		t.Fatalf("after dropping a slow client: %+v", resp)
	}
}

func TestShutdownClosesWebSockets(t *testing.T) {
	f := newFixture(t, nil)
	ws := f.dialWS(t, "", nil)
	if resp, _ := wsCall(t, ws, 1, "subscribe", map[string]any{"patterns": []string{"*"}}); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- f.stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("on shutdown: %v, want close 1001", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, _, err := websocket.Dial(ctx, "ws://"+f.host+"/ws", nil); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestMatchPatterns(t *testing.T) {
	pats := map[string]bool{"task.*": true, "hook.pre_tool": true, "a.b.*": true, "*.claimed": true}
	for typ, want := range map[string]bool{
		"task.created": true, "task.x.y": true, "task": false, "tasks.created": false,
		"hook.pre_tool": true, "hook.post_tool": false, "a.b.c": true, "a.c": false, "": false,
		"job.claimed": true, "claimed": false,
	} {
		if got := matchAny(pats, typ); got != want {
			t.Errorf("matchAny(%q) = %v", typ, got)
		}
	}
	if !matchAny(map[string]bool{"*": true}, "anything") {
		t.Error("* does not match")
	}
}

// The WebSocket takes the patterns cb events tail takes: a glob whose "*"
// matches any run of characters, dots included.
func TestWebSocketSubscribeGlob(t *testing.T) {
	f := newFixture(t, nil)
	ws := f.dialWS(t, "", nil)
	resp, _ := wsCall(t, ws, 1, "subscribe", map[string]any{"patterns": []string{"*.claimed"}})
	if resp.Error != nil || string(resp.Result) != `{"subscribed":["*.claimed"]}` {
		t.Fatalf("subscribe *.claimed: %+v %s", resp.Error, resp.Result)
	}
	f.publish(t, "task.created", `{"id":"t-1"}`, "other")
	f.publish(t, "task.claimed", `{"id":"t-1"}`, "other")
	ev := nextEvent(t, ws, 10*time.Second)
	if ev.Params.Type != "task.claimed" || string(ev.Params.Payload) != `{"id":"t-1"}` {
		t.Fatalf("event: %+v", ev.Params)
	}
}
