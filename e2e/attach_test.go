package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/mcptest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/coder/websocket"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// attachmentsOf lists a task's attachments with cb task attachments --json.
func attachmentsOf(t *testing.T, e *taskEnv, id string, args ...string) []api.Attachment {
	t.Helper()
	res := testenv.RunCB(t, bin, e.h, nil, nil, append([]string{"task", "attachments", id, "--json"}, args...)...)
	if res.Code != 0 {
		t.Fatalf("cb task attachments %s: exit %d %s", id, res.Code, res.Stderr)
	}
	var out api.TaskAttachmentsResult
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil || out.TaskID != id {
		t.Fatalf("cb task attachments %s printed %q (%v)", id, res.Stdout, err)
	}
	return out.Attachments
}

// keyValues renders attachments as "key=type:value" lines.
func keyValues(as []api.Attachment) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.Key + "=" + a.Type + ":" + string(a.Value) + "\n")
	}
	return b.String()
}

// TestTaskAttachCLI runs cb task attach, attachments, claim, get, complete
// and delete against a real cbd (SQLite store) with small caps: attached
// values come back with the claim (of two tasks) and get, the result of a
// completion becomes the attachment "result" (unless over the cap), bad
// values and both caps are refused with invalid params naming the field
// and the limit and change nothing, an unknown task is not found, and
// deleting a task takes its attachments.
func TestTaskAttachCLI(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_ATTACHMENT_MAX_BYTES=120", "CB_TASKS_MAX_ATTACHMENTS=4")
	cb := func(stdin string, args ...string) testenv.Result {
		t.Helper()
		var in []byte
		if stdin != "" {
			in = []byte(stdin)
		}
		return testenv.RunCB(t, bin, e.h, nil, in, args...)
	}
	mustCB := func(stdin string, args ...string) string {
		t.Helper()
		res := cb(stdin, args...)
		if res.Code != 0 {
			t.Fatalf("cb %v: exit %d\n%s", args, res.Code, res.Stderr)
		}
		return res.Stdout
	}
	a := strings.TrimSpace(mustCB("", "task", "create", "-q", "hand over", "--priority", "90"))
	b := strings.TrimSpace(mustCB("", "task", "create", "-q", "no context", "--priority", "80"))

	if out := mustCB("", "task", "attach", a, "notes", "Half", "done:", "the parser works"); !strings.HasPrefix(out, "attached notes to "+a+" (note, ") {
		t.Errorf("cb task attach printed %q", out)
	}
	mustCB("daemon/tasks/attach.go\n\nREADME.md\n", "task", "attach", a, "paths", "-", "--type", "files")
	mustCB("", "task", "attach", a, "refs", "https://example.com/pr/42", "--type", "links", "--by", "s-e2e")
	want := "notes=note:\"Half done: the parser works\"\n" +
		"paths=files:[\"daemon/tasks/attach.go\",\"README.md\"]\n" +
		"refs=links:[\"https://example.com/pr/42\"]\n"
	got := attachmentsOf(t, e, a)
	if keyValues(got) != want {
		t.Fatalf("attachments:\n%s\nwant\n%s", keyValues(got), want)
	}
	if got[2].CreatedBy != "s-e2e" || got[0].CreatedBy == "" || got[0].Size != len(`"Half done: the parser works"`) {
		t.Errorf("attachments %+v", got)
	}

	// Refused, each with invalid params (exit 3) naming the field and the
	// limit; nothing changes.
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"big", strings.Repeat("x", 130)}, "tasks.attachment_max_bytes (120)"},
		{[]string{"refs", "example.com/no-scheme", "--type", "links"}, "/value/0"},
		{[]string{"paths", "[1]", "--type", "files", "--json-value"}, "/value/0"},
		{[]string{"notes", "x", "--type", "blob"}, "/type"},
		{[]string{"notes", `""`, "--json-value"}, "/value"},
	} {
		res := cb("", append([]string{"task", "attach", a}, c.args...)...)
		if res.Code != 3 || !strings.Contains(res.Stderr, c.mention) {
			t.Errorf("cb task attach %v: exit %d %q, want 3 naming %s", c.args, res.Code, res.Stderr, c.mention)
		}
	}
	mustCB("", "task", "attach", a, "fourth", `{"n":4}`, "--type", "json")
	if res := cb("", "task", "attach", a, "fifth", "one too many"); res.Code != 3 || !strings.Contains(res.Stderr, "tasks.max_attachments") || !strings.Contains(res.Stderr, "/key") {
		t.Errorf("a fifth key: exit %d %q, want 3 naming tasks.max_attachments", res.Code, res.Stderr)
	}
	want += "fourth=json:{\"n\":4}\n"
	if got := keyValues(attachmentsOf(t, e, a)); got != want {
		t.Fatalf("after the refusals:\n%s\nwant\n%s", got, want)
	}
	if res := cb("", "task", "attach", "t-1", "notes", "x"); res.Code != 7 || !strings.Contains(res.Stderr, "not found") {
		t.Errorf("attach to an unknown task: exit %d %q, want 7", res.Code, res.Stderr)
	}

	// A claim of two: each task with its own attachments.
	var claimed api.TaskClaimResult
	if err := json.Unmarshal([]byte(mustCB("", "task", "claim", "--max", "2", "--worker", "w-e2e", "--json")), &claimed); err != nil {
		t.Fatal(err)
	}
	if len(claimed.Tasks) != 2 || claimed.Tasks[0].ID != a || claimed.Tasks[1].ID != b {
		t.Fatalf("claimed %+v, want %s and %s", claimed.Tasks, a, b)
	}
	if got := keyValues(claimed.Tasks[0].Attachments); got != want || claimed.Tasks[1].Attachments != nil {
		t.Errorf("claimed with\n%s and %v; want\n%s and none", got, claimed.Tasks[1].Attachments, want)
	}
	shown := mustCB("", "task", "get", a)
	for _, s := range []string{"attachments  4", "  notes (note, ", "    Half done: the parser works", "    README.md", "    https://example.com/pr/42"} {
		if !strings.Contains(shown, s) {
			t.Errorf("cb task get lacks %q:\n%s", s, shown)
		}
	}

	// Completing keeps the result as an attachment, unless it is over the
	// cap (the task keeps it then).
	mustCB("", "task", "attach", a, "notes", "replaced") // a key already there: no new one
	mustCB("", "task", "complete", a, "--worker", "w-e2e", "--result", `{"pages": 3}`)
	big := `{"log":"` + strings.Repeat("y", 150) + `"}`
	mustCB("", "task", "complete", b, "--worker", "w-e2e", "--result", big)
	res := attachmentsOf(t, e, a, "--key", "result")
	if len(res) != 1 || res[0].Type != "result" || string(res[0].Value) != `{"pages":3}` || res[0].CreatedBy != "w-e2e" {
		t.Errorf("the result attachment: %+v", res)
	}
	if got := attachmentsOf(t, e, b); len(got) != 0 {
		t.Errorf("a result over the cap became an attachment: %+v", got)
	}
	if tk := e.mustTask(t, "task.get", map[string]any{"id": b}); string(tk.Result) != big {
		t.Errorf("task %s result %s", b, tk.Result)
	}

	mustCB("", "task", "delete", a)
	if res := cb("", "task", "attachments", a); res.Code != 7 {
		t.Errorf("attachments of a deleted task: exit %d %q, want 7", res.Code, res.Stderr)
	}
	if res := cb("", "task", "attach", a, "notes", "again"); res.Code != 7 {
		t.Errorf("attach to a deleted task: exit %d %q, want 7", res.Code, res.Stderr)
	}
}

// TestTaskAttachTransports attaches over Redis, HTTP JSON-RPC, WebSocket
// and MCP (streamable HTTP), lists over MCP, sees the task.attached events
// on a WebSocket subscription, and gets the same invalid-params answer for
// a bad value over Redis and HTTP.
func TestTaskAttachTransports(t *testing.T) {
	e := startHTTPEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	id := e.mustTask(t, "task.create", map[string]any{"text": "over every transport"}).ID
	attach := func(key string) map[string]any {
		return map[string]any{"taskId": id, "key": key, "type": "note", "value": "from " + key}
	}

	ws, _, err := websocket.Dial(ctx, "ws://"+e.addr+"/ws?token="+e.token, nil)
	if err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(16 << 20)
	wsCall := func(id, method string, params any) json.RawMessage {
		t.Helper()
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("ws %s: %v", method, err)
			}
			var r rpcReply
			if json.Unmarshal(b, &r) == nil && string(r.ID) == `"`+id+`"` {
				if r.Error != nil {
					t.Fatalf("ws %s: %+v", method, r.Error)
				}
				return r.Result
			}
		}
	}
	wsCall("s", "subscribe", map[string]any{"patterns": []string{"task.attached"}})

	e.mustCall(t, "task.attach", attach("redis"), &api.Attachment{})
	if r := e.httpCall(t, "task.attach", attach("http")); r.Error != nil {
		t.Fatalf("http task.attach: %+v", r.Error)
	}
	wsCall("w", "task.attach", attach("ws"))

	hc := &http.Client{Transport: bearer{token: e.token, next: http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "http://" + e.addr + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	readOnly := map[string]bool{}
	for _, tool := range tools.Tools {
		readOnly[tool.Name] = tool.Annotations != nil && tool.Annotations.ReadOnlyHint
	}
	if ro, ok := readOnly["task_attach"]; !ok || ro {
		t.Errorf("tool task_attach: listed %v, read-only %v; want listed and not read-only", ok, ro)
	}
	if _, ok := readOnly["task_attachments"]; !ok {
		t.Error("tool task_attachments not listed")
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_attach", Arguments: attach("mcp")})
	if err != nil || res.IsError {
		t.Fatalf("task_attach over MCP: %v %q", err, mcptest.Texts(res))
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_attachments", Arguments: map[string]any{"taskId": id}})
	if err != nil || res.IsError {
		t.Fatalf("task_attachments over MCP: %v %q", err, mcptest.Texts(res))
	}
	listed, _ := mcptest.Structured(t, res)["attachments"].([]any)
	var keys []string
	for _, v := range listed {
		m, _ := v.(map[string]any)
		keys = append(keys, m["key"].(string)+"="+m["value"].(string))
	}
	if got := strings.Join(keys, " "); got != "redis=from redis http=from http ws=from ws mcp=from mcp" {
		t.Errorf("task_attachments over MCP: %s", got)
	}

	// Each attachment was announced, in order.
	var announced []string
	for len(announced) < 4 {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for task.attached events (have %v): %v", announced, err)
		}
		var ev struct {
			Method string `json:"method"`
			Params struct {
				Type    string         `json:"type"`
				Payload api.Attachment `json:"payload"`
			} `json:"params"`
		}
		if json.Unmarshal(b, &ev) != nil || ev.Method != "event" {
			continue
		}
		if ev.Params.Type != "task.attached" || ev.Params.Payload.TaskID != id {
			t.Fatalf("event %s", b)
		}
		announced = append(announced, ev.Params.Payload.Key)
	}
	if got := strings.Join(announced, " "); got != "redis http ws mcp" {
		t.Errorf("task.attached events for %s", got)
	}

	bad := map[string]any{"taskId": id, "key": "bad", "type": "links", "value": []string{"nope"}}
	_, rerr := e.call(t, "task.attach", bad)
	perr := redisError(t, rerr, "bad links over Redis")
	r := e.httpCall(t, "task.attach", bad)
	if perr.Code != protocol.CodeInvalidParams || r.Error == nil || r.Error.Code != perr.Code || !sameJSON(t, errorData(t, perr), r.Error.Data) ||
		!strings.Contains(perr.Message, "/value/0") {
		t.Errorf("bad links: redis %+v, http %+v", perr, r.Error)
	}
}
