package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func TestParseEmitLine(t *testing.T) {
	cases := []struct {
		name, line, fixed string
		typ, payload      string // want on success
		err               string // substring of the error; "" = success
	}{
		// cb emit TYPE -: the line is the payload.
		{name: "fixed object", line: `{"a":1}`, fixed: "t.x", typ: "t.x", payload: `{"a":1}`},
		{name: "fixed spaces and CR", line: " \t{\"a\": [1, 2]} \r", fixed: "t.x", typ: "t.x", payload: `{"a": [1, 2]}`},
		{name: "fixed empty object", line: `{}`, fixed: "t.x", typ: "t.x", payload: `{}`},
		{name: "fixed array", line: `[1]`, fixed: "t.x", err: "not a JSON object (got an array)"},
		{name: "fixed string", line: `"s"`, fixed: "t.x", err: "not a JSON object (got a string)"},
		{name: "fixed number", line: `12`, fixed: "t.x", err: "not a JSON object (got a number)"},
		{name: "fixed null", line: `null`, fixed: "t.x", err: "not a JSON object (got null)"},
		{name: "fixed broken", line: `{"a":`, fixed: "t.x", err: "not JSON: unexpected end of JSON input"},
		{name: "fixed two values", line: `{} {}`, fixed: "t.x", err: "not JSON: invalid character '{' after top-level value"},
		{name: "fixed garbage", line: `hello`, fixed: "t.x", err: "not JSON"},
		{name: "blank", line: " \t\r", fixed: "t.x", err: errBlankLine.Error()},
		{name: "empty", line: "", err: errBlankLine.Error()},

		// cb emit -: {"type":...,"payload":...}.
		{name: "typed", line: `{"type":"task.x","payload":{"k":"v"}}`, typ: "task.x", payload: `{"k":"v"}`},
		{name: "typed reversed, spaces", line: ` { "payload" : { "k" : [ 1 , {"}":"{"} ] } , "type" : "a.b" } `, typ: "a.b", payload: `{ "k" : [ 1 , {"}":"{"} ] }`},
		{name: "typed no payload", line: `{"type":"a"}`, typ: "a", payload: `{}`},
		{name: "typed escaped type", line: `{"type":"a\u002eb\/c","payload":{}}`, typ: "a.b/c", payload: `{}`},
		{name: "typed escaped key", line: `{"typ\u0065":"a","payload":{}}`, typ: "a", payload: `{}`},
		{name: "typed quotes in payload", line: `{"payload":{"s":"a\"b\\"},"type":"q"}`, typ: "q", payload: `{"s":"a\"b\\"}`},
		{name: "typed unicode type", line: `{"type":"événement.créé"}`, typ: "événement.créé", payload: `{}`},
		{name: "missing type", line: `{"payload":{}}`, err: `missing "type"`},
		{name: "empty object", line: `{}`, err: `missing "type"`},
		{name: "empty type", line: `{"type":"","payload":{}}`, err: `"type" is empty`},
		{name: "type number", line: `{"type":1}`, err: `"type" is not a string (got a number)`},
		{name: "type null", line: `{"type":null}`, err: `"type" is not a string (got null)`},
		{name: "type with space", line: `{"type":"a b"}`, err: `type "a b": contains ' '`},
		{name: "type with glob", line: `{"type":"a.*"}`, err: "no glob characters"},
		{name: "type with newline", line: `{"type":"a\nb"}`, err: "no spaces or control characters"},
		{name: "type too long", line: `{"type":"` + strings.Repeat("x", 257) + `"}`, err: "longer than 256 bytes"},
		{name: "payload null", line: `{"type":"a","payload":null}`, err: `"payload" is not a JSON object (got null)`},
		{name: "payload array", line: `{"type":"a","payload":[]}`, err: `"payload" is not a JSON object (got an array)`},
		{name: "payload string", line: `{"type":"a","payload":"{}"}`, err: `"payload" is not a JSON object (got a string)`},
		{name: "unknown field", line: `{"type":"a","data":{}}`, err: `unknown field "data"`},
		{name: "case matters", line: `{"Type":"a"}`, err: `unknown field "Type"`},
		{name: "duplicate type", line: `{"type":"a","type":"b"}`, err: `duplicate field "type"`},
		{name: "duplicate payload", line: `{"type":"a","payload":{},"payload":{}}`, err: `duplicate field "payload"`},
		{name: "not an object", line: `["a"]`, err: "not a JSON object (got an array)"},
		{name: "not JSON", line: `{type:"a"}`, err: "not JSON: invalid character 't' looking for beginning of object key string (at byte 2)"},
		{name: "trailing garbage", line: `{"type":"a"}x`, err: "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, payload, err := parseEmitLine([]byte(c.line), c.fixed)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if typ != c.typ || string(payload) != c.payload {
				t.Fatalf("got (%q, %s), want (%q, %s)", typ, payload, c.typ, c.payload)
			}
		})
	}
}

// FuzzParseEmitLine checks the hand-written member walk against
// encoding/json: whatever the parser accepts, encoding/json reads the same
// type and payload from; and it never panics.
func FuzzParseEmitLine(f *testing.F) {
	for _, s := range []string{`{"type":"a","payload":{"b":[1,"}"]}}`, `{"payload":{},"type":"x.y"}`, `{"type":"a"}`,
		`{"typ\u0065":"a"}`, `{"type":"a","type":"b"}`, `[1]`, `{"a":1}`, ` {"type" : "t" , "payload" : { } } `, `{`, `"`, `{"type":"\""}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, line []byte, fixed bool) {
		fixedType := ""
		if fixed {
			fixedType = "fixed.type"
		}
		typ, payload, err := parseEmitLine(line, fixedType)
		if err != nil {
			if fixed && json.Valid(line) && len(trimJSONSpace(line)) > 0 && trimJSONSpace(line)[0] == '{' {
				t.Fatalf("rejected a JSON object with a fixed type: %v", err)
			}
			return
		}
		if !json.Valid(payload) || payload[0] != '{' {
			t.Fatalf("payload %q is not a JSON object", payload)
		}
		if err := validateType(typ); err != nil {
			t.Fatalf("accepted bad type %q: %v", typ, err)
		}
		if fixed {
			if typ != fixedType || !bytes.Equal(payload, trimJSONSpace(line)) {
				t.Fatalf("fixed: got (%q, %q)", typ, payload)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", line, err)
		}
		var wantType string
		if err := json.Unmarshal(m["type"], &wantType); err != nil || wantType != typ {
			t.Fatalf("type %q, encoding/json reads %s", typ, m["type"])
		}
		for k := range m {
			if k != "type" && k != "payload" {
				t.Fatalf("accepted unknown field %q", k)
			}
		}
		if p, ok := m["payload"]; ok && !bytes.Equal(p, payload) {
			t.Fatalf("payload %q, encoding/json reads %q", payload, p)
		}
	})
}

func TestLineReader(t *testing.T) {
	in := "a\r\n\nbb\n" + strings.Repeat("x", 40) + "\nok\n" + strings.Repeat("y", 25) + "\nlast"
	lr := newNDJSONReader(strings.NewReader(in), 30)
	type got struct {
		line    string
		num     int
		tooLong bool
	}
	var all []got
	for {
		line, num, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got{string(line), num, tooLong})
	}
	want := []got{{"a\r", 1, false}, {"", 2, false}, {"bb", 3, false}, {"", 4, true}, {"ok", 5, false},
		{strings.Repeat("y", 25), 6, false}, {"last", 7, false}}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("got  %v\nwant %v", all, want)
	}
}

func TestLineReaderLongLines(t *testing.T) {
	// Lines longer than bufio's buffer (1 MiB) are assembled; longer than
	// max they are reported and the next lines still come.
	big := strings.Repeat("z", 3<<20)
	in := big + "\n" + strings.Repeat("w", 5<<20) + "\nafter\n"
	lr := newNDJSONReader(strings.NewReader(in), 4<<20)
	line, num, tooLong, err := lr.next()
	if err != nil || num != 1 || tooLong || len(line) != len(big) {
		t.Fatalf("line 1: len %d num %d tooLong %v err %v", len(line), num, tooLong, err)
	}
	line, num, tooLong, err = lr.next()
	if err != nil || num != 2 || !tooLong || len(line) != 0 {
		t.Fatalf("line 2: len %d num %d tooLong %v err %v", len(line), num, tooLong, err)
	}
	line, num, tooLong, err = lr.next()
	if err != nil || num != 3 || tooLong || string(line) != "after" {
		t.Fatalf("line 3: %q num %d tooLong %v err %v", line, num, tooLong, err)
	}
	if _, _, _, err = lr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestValidateType(t *testing.T) {
	for _, ok := range []string{"a", "task.created", "hook.pre_tool", "x-y:z/1", "ünï"} {
		if err := validateType(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " a", "a b", "a\tb", "a*", "a?", "[a]", "a\x7f", "\xff", "a\u2028b", strings.Repeat("a", 257)} {
		if err := validateType(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func testRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) { return clitest.MiniRedis(t) }

// runCB runs cb emit in-process.
func runCB(stdin string, args ...string) (stdout, stderr string, code int) {
	return clitest.RunReal(stdin, NewCmdEmit, args...)
}

func streamEvents(t *testing.T, rdb *redis.Client, typ string) []protocol.Event {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), protocol.StreamKey(typ), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]protocol.Event, len(msgs))
	for i, m := range msgs {
		if evs[i], err = protocol.DecodeEvent([]byte(m.Values[protocol.StreamField].(string))); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

func TestEmitStdin(t *testing.T) {
	_, rdb := testRedis(t)
	var in strings.Builder
	bad := map[int]bool{3: true, 1500: true, 2999: true}
	for i := 1; i <= 3000; i++ {
		if bad[i] {
			in.WriteString("{oops\n")
			continue
		}
		fmt.Fprintf(&in, "{\"i\":%d}\n", i)
	}
	out, errs, code := runCB(in.String(), "emit", "bulk.x", "-", "--session", "s-1")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	for n := range bad {
		if !strings.Contains(errs, fmt.Sprintf("line %d: not JSON", n)) {
			t.Errorf("line %d not reported:\n%s", n, errs)
		}
	}
	if !strings.Contains(errs, "sent 2997, rejected 3, ") || !strings.HasSuffix(errs, " events/s\n") {
		t.Errorf("summary: %s", errs)
	}
	evs := streamEvents(t, rdb, "bulk.x")
	if len(evs) != 2997 {
		t.Fatalf("%d events in the stream", len(evs))
	}
	// In input order, with the metadata cb emit sets.
	j := 0
	for i := 1; i <= 3000; i++ {
		if bad[i] {
			continue
		}
		ev := evs[j]
		j++
		if want := fmt.Sprintf("{\"i\":%d}", i); string(ev.Payload) != want || ev.Type != "bulk.x" {
			t.Fatalf("event %d: %s %s, want %s", j, ev.Type, ev.Payload, want)
		}
		if ev.Metadata.Source != "cb-emit" || ev.Metadata.SessionID != "s-1" || ev.Metadata.ID == "" || ev.Metadata.Timestamp == 0 {
			t.Fatalf("metadata %+v", ev.Metadata)
		}
	}

	// --strict stops at the first bad line; the lines before it are sent.
	_, errs, code = runCB("{\"a\":1}\n{\"a\":2}\n[]\n{\"a\":3}\n", "emit", "strict.x", "-", "--strict")
	if code != 1 || !strings.Contains(errs, "line 3: not a JSON object") || !strings.Contains(errs, "sent 2, rejected 1") {
		t.Fatalf("strict: exit %d\n%s", code, errs)
	}
	if n := len(streamEvents(t, rdb, "strict.x")); n != 2 {
		t.Fatalf("strict: %d events", n)
	}
}

func TestEmitMixedTypes(t *testing.T) {
	_, rdb := testRedis(t)
	in := `{"type":"m.a","payload":{"n":1}}
{"type":"m.b"}

{"type":"m.a","payload":{"n":2}}
{"payload":{}}
`
	_, errs, code := runCB(in, "emit", "-")
	if code != 0 || !strings.Contains(errs, `line 5: missing "type"`) || !strings.Contains(errs, "sent 3, rejected 1") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	a, b := streamEvents(t, rdb, "m.a"), streamEvents(t, rdb, "m.b")
	if len(a) != 2 || len(b) != 1 || string(a[1].Payload) != `{"n":2}` || string(b[0].Payload) != `{}` {
		t.Fatalf("m.a %v, m.b %v", a, b)
	}
}

func TestEmitOne(t *testing.T) {
	_, rdb := testRedis(t)
	out, errs, code := runCB("", "emit", "one.x", `{"k":"v"}`, "--session", "s9")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	evs := streamEvents(t, rdb, "one.x")
	if len(evs) != 1 || string(evs[0].Payload) != `{"k":"v"}` || evs[0].Metadata.SessionID != "s9" || evs[0].Metadata.Source != "cb-emit" {
		t.Fatalf("events %+v", evs)
	}
	if id := strings.TrimSpace(out); !strings.Contains(id, "-") {
		t.Fatalf("stdout %q is not an entry id", out)
	}

	out, _, code = runCB("", "emit", "one.x", "--json")
	var res EmitResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Type != "one.x" || res.EntryID == "" || res.EventID == "" {
		t.Fatalf("--json: exit %d %q", code, out)
	}
	if evs := streamEvents(t, rdb, "one.x"); string(evs[1].Payload) != "{}" || evs[1].Metadata.ID != res.EventID {
		t.Fatalf("default payload / event id: %+v", evs[1])
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"emit", "one.x", `[1]`}, 3, "payload is not a JSON object (got an array)"},
		{[]string{"emit", "one.x", `{"a":`}, 3, "payload is not JSON"},
		{[]string{"emit", "one.x", ``}, 3, "payload is empty"},
		{[]string{"emit", "bad type", `{}`}, 2, `event type "bad type"`},
		{[]string{"emit", "-", "x"}, 2, "takes no second argument"},
		{[]string{"emit", "one.x", "-", "--wait"}, 2, "--wait takes one event"},
		{[]string{"emit", "no.method", "--wait"}, 3, "method_not_found"},
	} {
		_, errs, code := runCB("", c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
	if n := len(streamEvents(t, rdb, "one.x")); n != 2 {
		t.Fatalf("failed emits published: %d events", n)
	}
}

func TestEmitUnavailable(t *testing.T) {
	t.Setenv("CB_REDIS_URL", "unix://"+filepath.Join(t.TempDir(), "nothing.sock"))
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	for _, args := range [][]string{{"emit", "x.y"}, {"emit", "x.y", "-"}} {
		if _, errs, code := runCB("{}\n", args...); code != 6 {
			t.Errorf("%v: exit %d (%s), want 6", args, code, errs)
		}
	}
}

// TestEmitStatus covers the progress line and summary writer (a real
// terminal, which isTerminal requires, is not available in tests).
func TestEmitStatus(t *testing.T) {
	var b bytes.Buffer
	st := &emitStatus{w: &b, tty: true}
	st.sent.Store(5)
	st.progress()
	st.report("line %d: %s", 7, "bad")
	st.progress()
	st.summary()
	got := b.String()
	want := "\r\x1b[Ksent 5, rejected 0, "
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "\r\x1b[Kline 7: bad\n") || !strings.HasSuffix(got, " events/s\n") {
		t.Fatalf("%q", got)
	}
	if strings.Count(got, "\r\x1b[K") != 4 { // draw, clear for the report, draw, clear for the summary
		t.Fatalf("%q", got)
	}
}

// TestParseEmitGolden runs testdata/emit/mixed.ndjson (every kind of good
// and bad line, a CRLF line, no final newline) through the line reader and
// parser and compares with mixed.want: "ok N TYPE PAYLOAD", "blank N", or
// the "line N: reason" report cb emit prints.
func TestParseEmitGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/emit/mixed.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/emit/mixed.want")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	lr := newNDJSONReader(bytes.NewReader(in), maxEmitLine)
	for {
		line, num, _, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		typ, payload, err := parseEmitLine(line, "")
		switch {
		case errors.Is(err, errBlankLine):
			fmt.Fprintf(&got, "blank %d\n", num)
		case err != nil:
			fmt.Fprintf(&got, "line %d: %v\n", num, err)
		default:
			fmt.Fprintf(&got, "ok %d %s %s\n", num, typ, payload)
		}
	}
	if got.String() != string(want) {
		t.Fatalf("got:\n%s\nwant:\n%s", got.String(), want)
	}
}
