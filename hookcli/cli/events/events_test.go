package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func TestParseSince(t *testing.T) {
	now := time.UnixMilli(1_767_000_000_000)
	cases := []struct {
		in     string
		dollar bool
		want   string
		err    string
	}{
		{in: "", want: ""},
		{in: "$", dollar: true, want: ""},
		{in: "$", err: "neither a duration"},
		{in: "10m", want: "1766999400000-0"},
		{in: "1h30m", want: "1766994600000-0"},
		{in: "90s", want: "1766999910000-0"},
		{in: "2d", want: "1766827200000-0"},
		{in: "0.5d", want: "1766956800000-0"},
		{in: "0s", want: "1767000000000-0"},
		{in: "-5m", err: "negative"},
		{in: "1766999400000-5", want: "1766999400000-6"},
		{in: "1766999400000", want: "1766999400001-0"},
		{in: "5-18446744073709551615", want: "6-0"},
		{in: "0-0", want: "0-1"},
		{in: "yesterday", err: "neither a duration"},
		{in: "12-x", err: "neither a duration"},
		{in: "-12", err: "neither a duration"},
		{in: "+12", err: "neither a duration"},
	}
	for _, c := range cases {
		got, err := parseSince(c.in, now, c.dollar)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseSince(%q): %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseSince(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func envelope(typ, payload, session string, ts int64) string {
	data, _ := protocol.EncodeEvent(protocol.Event{Type: typ, Payload: json.RawMessage(payload),
		Metadata: protocol.Metadata{ID: protocol.NewID(), Timestamp: ts, Source: "test", SessionID: session}})
	return string(data)
}

// decodeLines decodes JSON lines strictly into EventRecords.
func decodeLines(t *testing.T, out string) []EventRecord {
	t.Helper()
	var recs []EventRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var r EventRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func recIDs(recs []EventRecord) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.Stream+"/"+r.ID)
	}
	return strings.Join(s, " ")
}

func TestEventPrinter(t *testing.T) {
	var out, errb bytes.Buffer
	p := &eventPrinter{w: &out, stderr: &errb, session: "s1", now: time.Now()}
	p.enc = json.NewEncoder(&p.buf)
	ts := time.Date(2026, 1, 2, 15, 4, 5, 6e6, time.Local).UnixMilli()
	m := redis.XMessage{ID: "1-0", Values: map[string]any{protocol.StreamField: envelope("task.created", `{"id":"t-123","text":"a\nb"}`, "s1", ts)}}
	if err := p.print("task.created", m); err != nil {
		t.Fatal(err)
	}
	other := redis.XMessage{ID: "2-0", Values: map[string]any{protocol.StreamField: envelope("task.created", `{}`, "s2", ts)}}
	bad := redis.XMessage{ID: "3-0", Values: map[string]any{protocol.StreamField: "{not json"}}
	_ = p.print("task.created", other)
	_ = p.print("task.created", bad)
	want := "Jan  2 15:04:05.006 task.created t-123 session=s1 {\"id\":\"t-123\",\"text\":\"a\\nb\"}\n"
	if out.String() != want {
		t.Fatalf("got  %q\nwant %q", out.String(), want)
	}
	if !strings.Contains(errb.String(), "skipping entry 3-0 of task.created") {
		t.Fatalf("stderr %q", errb.String())
	}
	// A hook event's line says what it is about.
	out.Reset()
	hook := redis.XMessage{ID: "4-0", Values: map[string]any{protocol.StreamField: envelope("hook.task_created",
		`{"session_id":"s1","hook_event_name":"TaskCreated","task_id":"3","task_subject":"Check it","prompt_id":"p"}`, "s1", ts)}}
	if err := p.print("hook.task_created", hook); err != nil {
		t.Fatal(err)
	}
	if want := "Jan  2 15:04:05.006 hook.task_created session=s1 TaskCreated: #3 \"Check it\"\n"; out.String() != want {
		t.Fatalf("got  %q\nwant %q", out.String(), want)
	}
}

func TestEventsGet(t *testing.T) {
	_, rdb := testRedis(t)
	ctx := context.Background()
	key := protocol.StreamKey("task.created")
	var ids []string
	for i := 1; i <= 5; i++ {
		session := "s1"
		if i%2 == 0 {
			session = "s2"
		}
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("1000-%d", i),
			Values: []any{protocol.StreamField, envelope("task.created", fmt.Sprintf(`{"id":"t-%d","html":"<b>&</b>"}`, i), session, 1000)}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	get := func(args ...string) []EventRecord {
		t.Helper()
		out, errs, code := runCB("", append([]string{"events", "get", "task.created"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return decodeLines(t, out)
	}
	recs := get()
	if len(recs) != 5 || recs[0].ID != ids[0] || recs[4].ID != ids[4] {
		t.Fatalf("all: %s", recIDs(recs))
	}
	r := recs[0]
	var meta protocol.Metadata
	if r.Stream != "task.created" || r.Type != "task.created" || string(r.Payload) != `{"id":"t-1","html":"<b>&</b>"}` ||
		json.Unmarshal(r.Metadata, &meta) != nil || meta.SessionID != "s1" || meta.Timestamp != 1000 || meta.Source != "test" {
		t.Fatalf("record %+v", r)
	}
	if got := recIDs(get("--limit", "2")); got != "task.created/1000-4 task.created/1000-5" {
		t.Fatalf("--limit 2: %s", got)
	}
	if got := recIDs(get("--since", "1000-2", "--limit", "2")); got != "task.created/1000-3 task.created/1000-4" {
		t.Fatalf("--since id: %s", got)
	}
	if got := recIDs(get("--since", "1000-2", "--limit", "0")); got != "task.created/1000-3 task.created/1000-4 task.created/1000-5" {
		t.Fatalf("--since id, no limit: %s", got)
	}
	if got := recIDs(get("--session", "s2")); got != "task.created/1000-2 task.created/1000-4" {
		t.Fatalf("--session: %s", got)
	}
	if got := get("--since", "1h"); len(got) != 0 { // ids at 1000 ms are long ago
		t.Fatalf("--since 1h: %s", recIDs(got))
	}
	if out, _, code := runCB("", "events", "get", "no.such"); code != 0 || out != "" {
		t.Fatalf("unknown type: %d %q", code, out)
	}
	for _, args := range [][]string{{"events", "get", "x", "--since", "soon"}, {"events", "get", "x", "--limit", "-1"}, {"events", "tail", "--since", "later"}} {
		if _, _, code := runCB("", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestTailFollow(t *testing.T) {
	m, rdb := testRedis(t)
	old := tailRefresh
	tailRefresh = 200 * time.Millisecond
	t.Cleanup(func() { tailRefresh = old })
	ctx := context.Background()
	add := func(typ, payload, session string) string {
		t.Helper()
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(typ),
			Values: []any{protocol.StreamField, envelope(typ, payload, session, time.Now().UnixMilli())}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		// Entries of different streams in one millisecond have no order
		// between them; keep the milliseconds apart.
		time.Sleep(2 * time.Millisecond)
		return id
	}
	add("task.created", `{"n":0}`, "") // before the tail: not shown
	add("task.claimed", `{"n":0}`, "")
	add("hook.pre_tool", `{"n":0}`, "")

	tailClient := redis.NewClient(&redis.Options{Addr: m.Addr()})
	var out, errb testenv.SyncBuffer
	p := &eventPrinter{w: &out, stderr: &errb, json: true}
	p.enc = json.NewEncoder(&p.buf)
	tl := &tailer{rdb: tailClient, patterns: []string{"task.*"}, out: p, stderr: &errb}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tl.run(tctx) }()

	// Wait until the tail runs: a new type is picked up by the refresh.
	deadline := time.Now().Add(5 * time.Second)
	for len(decodeLines(t, out.String())) == 0 && time.Now().Before(deadline) {
		add("task.probe", `{}`, "")
		time.Sleep(50 * time.Millisecond)
	}
	if len(decodeLines(t, out.String())) == 0 {
		t.Fatalf("tail never printed; stderr %s", errb.String())
	}
	want := []string{add("task.created", `{"n":1}`, ""), add("hook.pre_tool", `{"n":1}`, ""), add("task.claimed", `{"n":2}`, ""), add("task.created", `{"n":3}`, "")}
	var recs []EventRecord
	deadline = time.Now().Add(5 * time.Second)
	for len(recs) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		recs = recs[:0]
		for _, r := range decodeLines(t, out.String()) {
			if r.Stream != "task.probe" {
				recs = append(recs, r)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // nothing more may come
	if n := len(decodeLines(t, out.String())); n > len(recs)+countProbes(t, out.String()) {
		t.Fatalf("more lines than expected: %s", out.String())
	}
	if len(recs) != 3 || recs[0].ID != want[0] || recs[1].ID != want[2] || recs[1].Stream != "task.claimed" || recs[2].ID != want[3] {
		t.Fatalf("got %s; want task.created/%s task.claimed/%s task.created/%s", recIDs(recs), want[0], want[2], want[3])
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tail: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("tail did not stop")
	}
}

func countProbes(t *testing.T, out string) int {
	n := 0
	for _, r := range decodeLines(t, out) {
		if r.Stream == "task.probe" {
			n++
		}
	}
	return n
}
