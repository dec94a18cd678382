package mcpcontent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/internal/mcpcontent"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas"
)

// env is cbd's methods (app.Build on a redis-server of the test's own and
// a SQLite store) called the way cbd's MCP server calls them.
type env struct {
	call  mcpcontent.Caller
	store store.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := testenv.NewRedis(t).Client(t)
	d := apptest.Deps(t, rdb, nil)
	a, err := app.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	return &env{call: mcpserver.Caller(a.Invoker), store: d.Store}
}

// do calls method and decodes its result into out (if not nil).
func (e *env) do(t *testing.T, method string, params, out any) {
	t.Helper()
	raw, err := e.call(context.Background(), method, params)
	if err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v\n%s", method, err, raw)
		}
	}
}

func (e *env) create(t *testing.T, text string, priority int, session string) api.Task {
	t.Helper()
	p := api.TaskCreateParams{Text: text, Priority: &priority}
	if session != "" {
		p.Metadata = json.RawMessage(fmt.Sprintf(`{"sessionId":%q}`, session))
	}
	var tk api.Task
	e.do(t, "task.create", p, &tk)
	return tk
}

// read reads uri and decodes the JSON into out.
func (e *env) read(t *testing.T, uri string, out any) mcpcontent.Contents {
	t.Helper()
	c, err := mcpcontent.Read(context.Background(), e.call, uri)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if c.URI != uri || c.MIMEType != "application/json" {
		t.Errorf("read %s: uri %q mimeType %q", uri, c.URI, c.MIMEType)
	}
	if err := json.Unmarshal([]byte(c.Text), out); err != nil {
		t.Fatalf("read %s: %v\n%s", uri, err, c.Text)
	}
	return c
}

// wantNotFound fails unless reading uri is a resource-not-found error
// whose message contains want.
func wantNotFound(t *testing.T, e *env, uri, want string) {
	t.Helper()
	_, err := mcpcontent.Read(context.Background(), e.call, uri)
	var nf *mcpcontent.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("read %s: %v, want a NotFoundError", uri, err)
	}
	code, msg, data := mcpcontent.RPCError(err)
	if code != -32002 || !strings.Contains(msg, uri) || !strings.Contains(msg, want) {
		t.Errorf("read %s: error %d %q, want -32002 naming the URI and %q", uri, code, msg, want)
	}
	if d, _ := data.(map[string]string); d["uri"] != uri {
		t.Errorf("read %s: error data %v, want the uri", uri, data)
	}
}

func TestListings(t *testing.T) {
	rs := mcpcontent.Resources()
	if len(rs) != 1 || rs[0].URI != "cb://queue" || rs[0].MIMEType != "application/json" || rs[0].Description == "" {
		t.Errorf("resources %+v, want cb://queue alone", rs)
	}
	var uris []string
	for _, tp := range mcpcontent.Templates() {
		uris = append(uris, tp.URITemplate)
		if tp.MIMEType != "application/json" || tp.Name == "" || tp.Description == "" {
			t.Errorf("template %+v", tp)
		}
	}
	if !slices.Equal(uris, []string{"cb://sessions/{id}", "cb://tasks/{id}"}) {
		t.Errorf("templates %v", uris)
	}
}

func TestReadQueue(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 12 {
		ids = append(ids, e.create(t, fmt.Sprintf("task %d", i), 10+i, "").ID)
	}
	var claimed api.TaskClaimResult
	e.do(t, "task.claim", api.TaskClaimParams{WorkerID: "worker-a"}, &claimed)
	if len(claimed.Tasks) != 1 || claimed.Tasks[0].ID != ids[11] {
		t.Fatalf("claimed %+v, want the highest priority task %s", claimed.Tasks, ids[11])
	}

	var q mcpcontent.Queue
	e.read(t, "cb://queue", &q)
	if q.QueueDepth != 11 || q.TasksByStatus["pending"] != 11 || q.TasksByStatus["in_progress"] != 1 {
		t.Errorf("counts: depth %d, by status %v; want 11 pending and 1 in progress", q.QueueDepth, q.TasksByStatus)
	}
	var next []string
	for _, tk := range q.Next {
		next = append(next, tk.ID)
	}
	// Claim order: priority 20 (ids[10]) down to 11 (ids[1]).
	want := slices.Clone(ids[1:11])
	slices.Reverse(want)
	if !slices.Equal(next, want) || q.PendingTotal != 11 {
		t.Errorf("next %v (of %d), want %v (of 11)", next, q.PendingTotal, want)
	}
	if len(q.InProgress) != 1 || q.InProgressTotal != 1 {
		t.Fatalf("in progress %+v (of %d), want the claimed task", q.InProgress, q.InProgressTotal)
	}
	if ip := q.InProgress[0]; ip.ID != ids[11] || ip.AssignedTo != "worker-a" || ip.LeaseExpiresAt == nil || !ip.LeaseExpiresAt.After(time.Now()) {
		t.Errorf("in progress %+v, want %s assigned to worker-a with a lease", ip, ids[11])
	}

	// Live: the next read sees the change.
	e.do(t, "task.complete", api.TaskCompleteParams{ID: ids[11], WorkerID: "worker-a"}, nil)
	e.create(t, "one more", 50, "")
	e.read(t, "cb://queue", &q)
	if q.QueueDepth != 12 || q.TasksByStatus["completed"] != 1 || len(q.InProgress) != 0 || q.Next[0].Text != "one more" {
		t.Errorf("after complete and create: depth %d, by status %v, in progress %d, next %q",
			q.QueueDepth, q.TasksByStatus, len(q.InProgress), q.Next[0].Text)
	}
}

func TestReadQueueEmpty(t *testing.T) {
	e := newEnv(t)
	c := e.read(t, "cb://queue", &map[string]any{})
	for _, want := range []string{`"next":[]`, `"inProgress":[]`, `"queueDepth":0`} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("empty queue %s lacks %s", c.Text, want)
		}
	}
}

func TestReadTask(t *testing.T) {
	e := newEnv(t)
	tk := e.create(t, "read me", 70, "")
	var got api.Task
	e.read(t, "cb://tasks/"+tk.ID, &got)
	if got.ID != tk.ID || got.Text != "read me" || got.Priority != 70 || got.Status != "pending" {
		t.Errorf("cb://tasks/%s = %+v", tk.ID, got)
	}
	wantNotFound(t, e, "cb://tasks/t-999999", "t-999999")
	wantNotFound(t, e, "cb://tasks/not-an-id", "id")
	for _, uri := range []string{"cb://tasks/", "cb://tasks/" + tk.ID + "/x", "cb://tasks/" + tk.ID + "?x=1"} {
		wantNotFound(t, e, uri, "cb://tasks/<task id>")
	}
	for _, uri := range []string{"cb://nothing", "cb://queue/", "file:///etc/passwd", ""} {
		wantNotFound(t, e, uri, "cb serves cb://queue")
	}
}

func TestReadSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const sid = "5f0c-session"
	first := e.create(t, "first of the session", 50, sid)
	e.create(t, "another session's", 50, "other")
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	second := e.create(t, "second of the session", 50, sid)
	err := e.store.AuditInsert(ctx,
		api.AuditRecord{ID: "ev-1", Time: api.TimeOf(mid), SessionID: sid, Event: "hook.pre_tool", Tool: "Bash", Decision: "deny", Reason: "no"},
		api.AuditRecord{ID: "ev-2", Time: api.TimeOf(time.Now().Add(time.Second)), SessionID: sid, Event: "hook.stop", Decision: "none"},
		api.AuditRecord{ID: "ev-3", Time: api.TimeOf(mid), SessionID: "other", Event: "hook.stop", Decision: "none"})
	if err != nil {
		t.Fatal(err)
	}
	var tl mcpcontent.Timeline
	// The tasks reach the store behind the answer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		e.read(t, "cb://sessions/"+sid, &tl)
		if len(tl.Entries) == 4 || time.Now().After(deadline) {
			break
		}
	}
	var got []string
	for _, en := range tl.Entries {
		switch en.Kind {
		case "task":
			got = append(got, "task "+en.Task.ID)
		case "hook":
			got = append(got, "hook "+en.Hook.Event+" "+en.Hook.Decision)
		}
	}
	want := []string{"task " + first.ID, "hook hook.pre_tool deny", "task " + second.ID, "hook hook.stop none"}
	if tl.SessionID != sid || !slices.Equal(got, want) || tl.Truncated {
		t.Errorf("timeline of %s: %v (truncated %v), want %v", tl.SessionID, got, tl.Truncated, want)
	}
	wantNotFound(t, e, "cb://sessions/no-such-session", "no-such-session")
	wantNotFound(t, e, "cb://sessions/", "cb://sessions/<session id>")
}

// TestReadSessionBounded: a session with more than TimelineLimit entries
// reads as its newest TimelineLimit, oldest first, marked truncated.
func TestReadSessionBounded(t *testing.T) {
	e := newEnv(t)
	const sid = "busy"
	base := time.Now().Add(-time.Hour)
	var recs []api.AuditRecord
	for i := range mcpcontent.TimelineLimit + 20 {
		recs = append(recs, api.AuditRecord{ID: fmt.Sprintf("ev-%d", i), Time: api.TimeOf(base.Add(time.Duration(i) * time.Second)),
			SessionID: sid, Event: "hook.pre_tool", Tool: fmt.Sprintf("tool-%d", i), Decision: "allow"})
	}
	if err := e.store.AuditInsert(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	var tl mcpcontent.Timeline
	e.read(t, "cb://sessions/"+sid, &tl)
	if len(tl.Entries) != mcpcontent.TimelineLimit || !tl.Truncated {
		t.Fatalf("%d entries, truncated %v; want %d, truncated", len(tl.Entries), tl.Truncated, mcpcontent.TimelineLimit)
	}
	if f, l := tl.Entries[0].Hook.Tool, tl.Entries[len(tl.Entries)-1].Hook.Tool; f != "tool-20" || l != "tool-69" {
		t.Errorf("entries from %s to %s, want tool-20 to tool-69 (the newest, oldest first)", f, l)
	}
}

// toolToken matches what looks like a tool name in a prompt's text.
var toolToken = regexp.MustCompile(`\b(?:task|system|hooks|hook|audit)_[a-z_]+\b`)

// allPublished is every method MCP publishes, by the schemas.
func allPublished(t *testing.T) map[string]bool {
	t.Helper()
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range names {
		if protocol.MCPExposed(m) {
			out[m] = true
		}
	}
	return out
}

// checkPromptTools fails the test if text names a tool that is not a
// published method.
func checkPromptTools(t *testing.T, text string, published map[string]bool) {
	t.Helper()
	for _, tok := range toolToken.FindAllString(text, -1) {
		if !published[protocol.MCPMethod(tok)] {
			t.Errorf("the prompt names %s, which is not a published tool", tok)
		}
	}
}

func TestPrompts(t *testing.T) {
	published := allPublished(t)
	pub := func(m string) bool { return published[m] }
	var names []string
	for _, p := range mcpcontent.Prompts() {
		names = append(names, p.Name)
		if p.Title == "" || p.Description == "" {
			t.Errorf("prompt %+v lacks a title or description", p)
		}
	}
	if !slices.Equal(names, []string{"hand_over_task", "take_next_task"}) {
		t.Errorf("prompts %v", names)
	}

	desc, msgs, err := mcpcontent.Get("take_next_task", map[string]string{"workerId": "w-7"}, pub)
	if err != nil || desc == "" || len(msgs) != 1 || msgs[0].Role != "user" {
		t.Fatalf("take_next_task: %q %+v %v", desc, msgs, err)
	}
	text := msgs[0].Text
	for _, want := range []string{`"w-7"`, "task_claim", "task_attachments", "task_attach:", "task_renew", "task_complete", "task_fail"} {
		if !strings.Contains(text, want) {
			t.Errorf("take_next_task lacks %q:\n%s", want, text)
		}
	}
	checkPromptTools(t, text, published)
	_, msgs, _ = mcpcontent.Get("take_next_task", nil, pub)
	if !strings.Contains(msgs[0].Text, "worker id of your choosing") {
		t.Errorf("take_next_task without workerId:\n%s", msgs[0].Text)
	}

	notes := "Schema migrated on staging;\nprod still to do."
	_, msgs, err = mcpcontent.Get("hand_over_task", map[string]string{"taskId": "t-42", "notes": notes, "to": "worker-b"}, pub)
	if err != nil {
		t.Fatal(err)
	}
	text = msgs[0].Text
	for _, want := range []string{notes, `"taskId": "t-42", "key": "handover", "type": "note"`, "task_attach", "task_unassign", `"instanceId": "worker-b"`, "task_assign"} {
		if !strings.Contains(text, want) {
			t.Errorf("hand_over_task lacks %q:\n%s", want, text)
		}
	}
	checkPromptTools(t, text, published)
	_, msgs, _ = mcpcontent.Get("hand_over_task", map[string]string{"taskId": "t-42", "notes": notes}, pub)
	if strings.Contains(msgs[0].Text, "task_assign") || !strings.Contains(msgs[0].Text, "over to the queue") {
		t.Errorf("hand_over_task without to:\n%s", msgs[0].Text)
	}
}

// TestPromptsNameOnlyPublishedTools: a server without task.attach and
// task.attachments gets prompts that name neither (hand_over_task keeps the notes in the
// task's metadata instead).
func TestPromptsNameOnlyPublishedTools(t *testing.T) {
	published := allPublished(t)
	delete(published, "task.attach")
	delete(published, "task.attachments")
	pub := func(m string) bool { return published[m] }
	for _, name := range []string{"take_next_task", "hand_over_task"} {
		_, msgs, err := mcpcontent.Get(name, map[string]string{"taskId": "t-1", "notes": "n"}, pub)
		if err != nil {
			t.Fatal(err)
		}
		checkPromptTools(t, msgs[0].Text, published)
		if name == "hand_over_task" && !strings.Contains(msgs[0].Text, `"metadata": {"handover"`) {
			t.Errorf("hand_over_task without task.attach:\n%s", msgs[0].Text)
		}
	}
}

func TestPromptErrors(t *testing.T) {
	pub := func(string) bool { return true }
	for _, tc := range []struct {
		name string
		args map[string]string
		want string
	}{
		{"no_such_prompt", nil, `unknown prompt "no_such_prompt"`},
		{"hand_over_task", map[string]string{"taskId": "t-1"}, "argument notes is required"},
		{"hand_over_task", map[string]string{"notes": "x", "taskId": "  "}, "argument taskId is required"},
	} {
		_, _, err := mcpcontent.Get(tc.name, tc.args, pub)
		code, msg, _ := mcpcontent.RPCError(err)
		if code != protocol.CodeInvalidParams || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %v: %d %q, want -32602 %q", tc.name, tc.args, code, msg, tc.want)
		}
	}
}
