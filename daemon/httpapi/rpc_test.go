package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
)

func TestRPCSingleCalls(t *testing.T) {
	f := newFixture(t, nil)

	r := wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":1,"method":"system.version"}`, 200))
	if string(r.ID) != "1" || !strings.Contains(string(r.Result), `"instanceId":"test-instance"`) {
		t.Fatalf("system.version: %+v %s", r, r.Result)
	}
	// params null is the same as absent; ids are echoed as sent.
	r = wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":"abc","method":"system.version","params":null}`, 200))
	if string(r.ID) != `"abc"` {
		t.Fatalf("id: %s", r.ID)
	}

	r = wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":2,"method":"task.create","params":{"text":"write docs","priority":70}}`, 200))
	var tk struct{ ID, Text, Status string }
	if err := json.Unmarshal(r.Result, &tk); err != nil || !strings.HasPrefix(tk.ID, "t-") || tk.Status != "pending" {
		t.Fatalf("task.create: %s %v", r.Result, err)
	}
	r = wantResult(t, f.rpc(t, `{"jsonrpc":"2.0","id":3,"method":"task.get","params":{"id":"`+tk.ID+`"}}`, 200))
	if !strings.Contains(string(r.Result), `"text":"write docs"`) {
		t.Fatalf("task.get: %s", r.Result)
	}

	// Invalid params carry the validator's field paths.
	r = wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":4,"method":"task.create","params":{"text":"","extra":1}}`, 200), protocol.CodeInvalidParams)
	var data struct {
		Errors []struct{ Path, Message string }
	}
	if err := json.Unmarshal(r.Error.Data, &data); err != nil || len(data.Errors) == 0 {
		t.Fatalf("invalid params data: %s", r.Error.Data)
	}
	paths := map[string]bool{}
	for _, e := range data.Errors {
		paths[e.Path] = true
	}
	if !paths["/text"] && !paths["/"] {
		t.Fatalf("field paths: %+v", data.Errors)
	}

	wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":5,"method":"task.get","params":{"id":"t-1"}}`, 200), protocol.CodeNotFound)
	r = wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":6,"method":"no.such"}`, 200), protocol.CodeMethodNotFound)
	if string(r.ID) != "6" {
		t.Fatalf("id of an unknown method: %s", r.ID)
	}
	wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":7,"method":"task.create","params":["x"]}`, 200), protocol.CodeInvalidParams)
	wantError(t, f.rpc(t, `{"jsonrpc":"2.0","id":8,"method":"task.create","params":"x"}`, 200), protocol.CodeInvalidParams)

	for _, body := range []string{`{"jsonrpc":"2.0","id":1,"method":`, `nope`, ``, `   `} {
		r := wantError(t, f.rpc(t, body, 200), protocol.CodeParseError)
		if string(r.ID) != "null" {
			t.Fatalf("parse error id %s", r.ID)
		}
	}
	for _, body := range []string{
		`1`, `"x"`, `null`,
		`{"id":1,"method":"system.version"}`,                       // no jsonrpc
		`{"jsonrpc":"1.0","id":1,"method":"system.version"}`,       // wrong version
		`{"jsonrpc":"2.0","id":1,"method":5}`,                      // method not a string
		`{"jsonrpc":"2.0","id":1}`,                                 // no method
		`{"jsonrpc":"2.0","id":{"a":1},"method":"system.version"}`, // bad id
		`[]`,
	} {
		wantError(t, f.rpc(t, body, 200), protocol.CodeInvalidRequest)
	}
	// An invalid request is answered even without an id.
	wantError(t, f.rpc(t, `{"jsonrpc":"2.0","method":7}`, 200), protocol.CodeInvalidRequest)
}

func TestRPCNotificationsAndBatches(t *testing.T) {
	f := newFixture(t, nil)

	// A notification runs but gets no answer.
	if b := f.rpc(t, `{"jsonrpc":"2.0","method":"task.create","params":{"text":"fire and forget"}}`, http.StatusNoContent); len(b) != 0 {
		t.Fatalf("notification answered: %s", b)
	}
	n, err := f.rdb.ZCard(t.Context(), protocol.QueueTasksKey).Result()
	if err != nil || n != 1 {
		t.Fatalf("the notification did not create a task: %d %v", n, err)
	}
	f.rpc(t, `[{"jsonrpc":"2.0","method":"system.version"},{"jsonrpc":"2.0","method":"no.such"}]`, http.StatusNoContent)

	b := f.rpc(t, `[
		{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":"ok"}},
		{"jsonrpc":"2.0","id":"two","method":"task.create","params":{"text":""}},
		{"jsonrpc":"2.0","method":"task.create","params":{"text":"notified"}},
		{"jsonrpc":"2.0","id":3,"method":"no.such"},
		42,
		{"jsonrpc":"2.0","id":4,"method":"system.version","params":[1]},
		{"jsonrpc":"2.0","id":5,"method":"task.get","params":{"id":"t-1"}}
	]`, 200)
	var out []response
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("batch answer %s: %v", b, err)
	}
	want := []struct {
		id   string
		code protocol.Code
	}{{"1", 0}, {`"two"`, protocol.CodeInvalidParams}, {"3", protocol.CodeMethodNotFound},
		{"null", protocol.CodeInvalidRequest}, {"4", protocol.CodeInvalidParams}, {"5", protocol.CodeNotFound}}
	if len(out) != len(want) {
		t.Fatalf("batch: %d answers, want %d: %s", len(out), len(want), b)
	}
	for i, w := range want {
		got := out[i]
		if string(got.ID) != w.id {
			t.Errorf("answer %d: id %s, want %s", i, got.ID, w.id)
		}
		switch {
		case w.code == 0 && (got.Error != nil || got.Result == nil):
			t.Errorf("answer %d: want a result, got %+v", i, got.Error)
		case w.code != 0 && (got.Error == nil || got.Error.Code != w.code):
			t.Errorf("answer %d: want error %d, got %s", i, w.code, b)
		}
	}
	if n, _ := f.rdb.ZCard(t.Context(), protocol.QueueTasksKey).Result(); n != 3 {
		t.Fatalf("queue after batch: %d tasks, want 3", n)
	}
}

func TestRPCTransportErrors(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxBody = 1024 })

	// Over MaxBody: 413 with a -32008 error, also without Content-Length.
	big := `{"jsonrpc":"2.0","id":1,"method":"task.create","params":{"text":"` + strings.Repeat("x", 2000) + `"}}`
	status, _, b := f.do(t, req{path: "/rpc", body: big})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: status %d %s", status, b)
	}
	wantError(t, b, protocol.CodeTooLarge)
	hr, _ := http.NewRequest(http.MethodPost, f.base+"/rpc", struct{ *strings.Reader }{strings.NewReader(big)})
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || hr.ContentLength != 0 {
		t.Fatalf("chunked big body: status %d (content length %d)", resp.StatusCode, hr.ContentLength)
	}

	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		status, _, b := f.do(t, req{path: "/rpc", body: `{"jsonrpc":"2.0","id":1,"method":"system.version"}`, header: map[string]string{"Content-Type": ct}})
		if status != http.StatusUnsupportedMediaType {
			t.Fatalf("Content-Type %q: status %d %s", ct, status, b)
		}
	}
	status, _, b = f.do(t, req{path: "/rpc", body: `{"jsonrpc":"2.0","id":1,"method":"system.version"}`,
		header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	if status != 200 {
		t.Fatalf("charset: status %d %s", status, b)
	}
	wantResult(t, b)

	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		status, h, _ := f.do(t, req{method: m, path: "/rpc"})
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != "POST" {
			t.Fatalf("%s /rpc: status %d, Allow %q", m, status, h.Get("Allow"))
		}
	}
}

func TestParseCall(t *testing.T) {
	for _, c := range []struct {
		in     string
		notify bool
		code   protocol.Code
		params string
	}{
		{`{"jsonrpc":"2.0","method":"a"}`, true, 0, "{}"},
		{`{"jsonrpc":"2.0","id":null,"method":"a"}`, false, 0, "{}"},
		{`{"jsonrpc":"2.0","id":-1.5,"method":"a","params":{"x":1}}`, false, 0, `{"x":1}`},
		{`{"jsonrpc":"2.0","method":"a","params":[]}`, true, protocol.CodeInvalidParams, ""},
		{`{"jsonrpc":"2.0","method":""}`, false, protocol.CodeInvalidRequest, ""},
		{`{"jsonrpc":"2.0","id":true,"method":"a"}`, false, protocol.CodeInvalidRequest, ""},
		{`[1]`, false, protocol.CodeInvalidRequest, ""},
	} {
		got := parseCall(json.RawMessage(c.in))
		var code protocol.Code
		if got.err != nil {
			code = got.err.Code
		}
		if got.notify != c.notify || code != c.code || (c.params != "" && string(got.params) != c.params) {
			t.Errorf("parseCall(%s) = %+v", c.in, got)
		}
	}
	calls, batch, perr := parseMessage([]byte(` [ {"jsonrpc":"2.0","method":"a"} ] `))
	if perr != nil || !batch || len(calls) != 1 || !reflect.DeepEqual(calls[0].params, json.RawMessage("{}")) {
		t.Fatalf("parseMessage: %+v %v %v", calls, batch, perr)
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"a","params":{}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","method":"a"},1,"x"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		calls, _, perr := parseMessage(data)
		if perr == nil && len(calls) == 0 {
			t.Fatal("no calls and no error")
		}
		for _, c := range calls {
			if c.err == nil && (c.method == "" || len(c.params) == 0 || c.params[0] != '{') {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}
