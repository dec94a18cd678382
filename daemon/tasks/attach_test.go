package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/store/postgres"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
)

// attachFixture is a task service over a flushed shared redis-server and
// a SQLite store.
type attachFixture struct {
	t   *testing.T
	ctx context.Context
	rdb redis.UniversalClient
	svc *tasks.Service
}

// newAttachFixture is the fixture on a SQLite store, or with pg on a
// PostgreSQL store (a schema of its own on CB_TEST_POSTGRES_URL).
func newAttachFixture(t *testing.T, cfg tasks.Config, pg bool) *attachFixture {
	t.Helper()
	ctx := t.Context()
	rdb := testenv.SharedRedis(t).Flushed(t)
	cfg.Source = "cbd-attach"
	if !pg {
		svc, _ := newService(ctx, t, rdb, cfg)
		return &attachFixture{t: t, ctx: ctx, rdb: rdb, svc: svc}
	}
	st, err := postgres.Open(ctx, testenv.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	persist := tasks.NewPersister(st, log)
	go persist.Run(ctx)
	return &attachFixture{t: t, ctx: ctx, rdb: rdb, svc: tasks.New(rdb, st, persist, cfg, log)}
}

// eachStore runs test on SQLite and on PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) { test(t, pg) })
	}
}

func (f *attachFixture) create(text string) string {
	f.t.Helper()
	raw, err := f.svc.Create(f.ctx, "", api.TaskCreateParams{Text: text})
	if err != nil {
		f.t.Fatal(err)
	}
	var task api.Task
	if err := json.Unmarshal(raw, &task); err != nil {
		f.t.Fatal(err)
	}
	return task.ID
}

func (f *attachFixture) attach(eventID, id, key, typ, value string) api.Attachment {
	f.t.Helper()
	a, err := f.svc.Attach(f.ctx, eventID, api.TaskAttachParams{TaskID: id, Key: key, Type: typ, Value: json.RawMessage(value), CreatedBy: "w-1"})
	if err != nil {
		f.t.Fatalf("attach %s %s %s: %v", key, typ, value, err)
	}
	return a
}

// list returns "key=value" of the attachments of task id, in order.
func (f *attachFixture) list(id string) []string {
	f.t.Helper()
	res, err := f.svc.Attachments(f.ctx, api.TaskAttachmentsParams{TaskID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	if res.TaskID != id {
		f.t.Errorf("attachments of %s answered for %s", id, res.TaskID)
	}
	return brief(res.Attachments)
}

// brief renders attachments as "key=value", the value compacted
// (PostgreSQL's jsonb adds spaces).
func brief(as []api.Attachment) []string {
	out := []string{}
	for _, a := range as {
		var b bytes.Buffer
		if err := json.Compact(&b, a.Value); err != nil {
			b.Write(a.Value)
		}
		out = append(out, a.Key+"="+b.String())
	}
	return out
}

// events returns the payloads of the task.attached events.
func (f *attachFixture) events() []api.Attachment {
	f.t.Helper()
	entries, err := f.rdb.XRange(f.ctx, protocol.StreamKey("task.attached"), "-", "+").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	var out []api.Attachment
	for _, e := range entries {
		ev, err := protocol.DecodeEvent([]byte(e.Values[protocol.StreamField].(string)))
		if err != nil {
			f.t.Fatal(err)
		}
		if ev.Type != "task.attached" {
			f.t.Errorf("event type %s on the task.attached stream", ev.Type)
		}
		var a api.Attachment
		if err := json.Unmarshal(ev.Payload, &a); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func same(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// TestAttach: attachments of every type are stored compacted, listed
// oldest first, replaced by key (keeping when they were first made),
// announced by task.attached events, and remembered per request id.
func TestAttach(t *testing.T) {
	eachStore(t, func(t *testing.T, pg bool) {
		f := newAttachFixture(t, tasks.Config{}, pg)
		id := f.create("review the PR")
		note := f.attach("e-1", id, "brief", "note", `"look at the retry loop first"`)
		if note.TaskID != id || note.Type != "note" || note.Size != len(`"look at the retry loop first"`) || note.CreatedBy != "w-1" || note.CreatedAt.IsZero() {
			t.Errorf("attached %+v", note)
		}
		f.attach("e-2", id, "files", "files", `[ "daemon/tasks/attach.go", "README.md" ]`)
		f.attach("e-3", id, "links", "links", `["https://example.com/pr/42","file:///tmp/log.txt","http://localhost:8080/x"]`)
		f.attach("e-4", id, "data", "json", `{"a": [1, 2, {"b": null}]}`)
		want := []string{`brief="look at the retry loop first"`, `files=["daemon/tasks/attach.go","README.md"]`,
			`links=["https://example.com/pr/42","file:///tmp/log.txt","http://localhost:8080/x"]`, `data={"a":[1,2,{"b":null}]}`}
		if got := f.list(id); !same(got, want) {
			t.Errorf("attachments %q, want %q", got, want)
		}

		// The same request again: the same answer, no second event.
		again := f.attach("e-1", id, "brief", "note", `"look at the retry loop first"`)
		if j1, j2 := mustJSON(t, again), mustJSON(t, note); j1 != j2 {
			t.Errorf("replayed attach answered %+v, first %+v", again, note)
		}
		if n := len(f.events()); n != 4 {
			t.Errorf("%d task.attached events after 4 attachments and a replay", n)
		}
		// A new request replaces the key's value; it stays where it was.
		repl := f.attach("e-5", id, "brief", "note", `"start with the tests"`)
		if !repl.CreatedAt.Equal(note.CreatedAt.Time) || repl.UpdatedAt.Before(note.UpdatedAt.Time) {
			t.Errorf("replaced %+v, first %+v", repl, note)
		}
		want[0] = `brief="start with the tests"`
		if got := f.list(id); !same(got, want) {
			t.Errorf("attachments %q, want %q", got, want)
		}
		evs := f.events()
		if len(evs) != 5 || evs[4].Key != "brief" || string(evs[4].Value) != `"start with the tests"` || evs[4].TaskID != id {
			t.Errorf("task.attached events %+v", evs)
		}
		one, err := f.svc.Attachments(f.ctx, api.TaskAttachmentsParams{TaskID: id, Key: "links"})
		if err != nil || len(one.Attachments) != 1 || one.Attachments[0].Type != "links" {
			t.Errorf("attachments key links: %+v %v", one, err)
		}
		none, err := f.svc.Attachments(f.ctx, api.TaskAttachmentsParams{TaskID: id, Key: "nope"})
		if err != nil || none.Attachments == nil || len(none.Attachments) != 0 {
			t.Errorf("attachments key nope: %+v %v (want an empty list)", none, err)
		}
		got, err := f.svc.Get(f.ctx, id)
		if err != nil || !same(brief(got.Attachments), want) {
			t.Errorf("get: %q %v, want %q", brief(got.Attachments), err, want)
		}
		list, err := f.svc.List(f.ctx, api.TaskListParams{})
		if err != nil || len(list.Tasks) != 1 || list.Tasks[0].Attachments != nil {
			t.Errorf("task.list: %+v %v (want no attachments)", list, err)
		}
	})
}

// TestClaimWithAttachments: a claim answers every claimed task with its
// attachments (none for a task without), and so does its replay.
func TestClaimWithAttachments(t *testing.T) {
	eachStore(t, func(t *testing.T, pg bool) {
		f := newAttachFixture(t, tasks.Config{}, pg)
		a, b, c := f.create("a"), f.create("b"), f.create("c")
		f.attach("", a, "brief", "note", `"from a"`)
		f.attach("", a, "files", "files", `["a.go"]`)
		f.attach("", c, "brief", "note", `"from c"`)
		claim := func(eventID string) api.TaskClaimResult {
			t.Helper()
			raw, err := f.svc.Claim(f.ctx, eventID, api.TaskClaimParams{WorkerID: "w-1", MaxTasks: 2})
			if err != nil {
				t.Fatal(err)
			}
			var res api.TaskClaimResult
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := claim("e-claim")
		if len(res.Tasks) != 2 || res.Tasks[0].ID != a || res.Tasks[1].ID != b {
			t.Fatalf("claimed %+v, want %s and %s", res.Tasks, a, b)
		}
		if got := brief(res.Tasks[0].Attachments); !same(got, []string{`brief="from a"`, `files=["a.go"]`}) {
			t.Errorf("claimed %s with %q", a, got)
		}
		if res.Tasks[1].Attachments != nil || res.Tasks[0].Status != "in_progress" || res.Tasks[0].AssignedTo != "w-1" {
			t.Errorf("claimed %+v", res.Tasks)
		}
		replay := claim("e-claim")
		if len(replay.Tasks) != 2 || !same(brief(replay.Tasks[0].Attachments), brief(res.Tasks[0].Attachments)) || replay.Tasks[1].Attachments != nil {
			t.Errorf("replayed claim %+v, first %+v", replay.Tasks, res.Tasks)
		}
		next := claim("")
		if len(next.Tasks) != 1 || next.Tasks[0].ID != c || !same(brief(next.Tasks[0].Attachments), []string{`brief="from c"`}) {
			t.Errorf("claimed %+v, want %s with its note", next.Tasks, c)
		}
	})
}

// TestCompleteKeepsResult: completing keeps a result as the attachment
// "result" (type result) unless it is empty or over the size cap, also on
// a task that has as many attachments as the count cap allows, and
// announces it with task.attached; failing leaves the attachments alone.
func TestCompleteKeepsResult(t *testing.T) {
	eachStore(t, func(t *testing.T, pg bool) {
		f := newAttachFixture(t, tasks.Config{AttachmentMaxBytes: 64, MaxAttachments: 1}, pg)
		ids := []string{f.create("small"), f.create("big"), f.create("none"), f.create("fails")}
		for _, id := range ids {
			f.attach("", id, "brief", "note", `"context"`)
		}
		if _, err := f.svc.Claim(f.ctx, "", api.TaskClaimParams{WorkerID: "w-9", MaxTasks: 4}); err != nil {
			t.Fatal(err)
		}
		big := `{"log":"` + strings.Repeat("x", 100) + `"}`
		for i, result := range []string{`{ "pages": 3 }`, big, ``} {
			if _, err := f.svc.Complete(f.ctx, "", api.TaskCompleteParams{ID: ids[i], WorkerID: "w-9", Result: json.RawMessage(result)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.Fail(f.ctx, "", api.TaskFailParams{ID: ids[3], WorkerID: "w-9", Error: "no luck"}); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Attachments(f.ctx, api.TaskAttachmentsParams{TaskID: ids[0], Key: api.ResultAttachmentKey})
		if err != nil || len(res.Attachments) != 1 {
			t.Fatalf("result attachment: %+v %v", res, err)
		}
		if r := res.Attachments[0]; r.Type != api.AttachmentResult || brief(res.Attachments)[0] != `result={"pages":3}` || r.CreatedBy != "w-9" {
			t.Errorf("result attachment %+v", r)
		}
		// Announced like any attachment: the four notes, then the one
		// result kept (the others were over the cap or empty).
		if evs := f.events(); len(evs) != 5 || evs[4].TaskID != ids[0] || evs[4].Key != api.ResultAttachmentKey {
			t.Errorf("task.attached events %+v, want the 4 notes and the result of %s", evs, ids[0])
		}
		for _, id := range ids[1:] {
			if got := f.list(id); !same(got, []string{`brief="context"`}) {
				t.Errorf("task %s: attachments %q, want its note only", id, got)
			}
		}
		task, err := f.svc.Get(f.ctx, ids[1])
		if err != nil || string(task.Result) != big {
			t.Errorf("the task over the cap keeps its result: %s %v", task.Result, err)
		}
	})
}

// refused checks that err is a -32602 whose data names path.
func refused(t *testing.T, what string, err error, path string) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeInvalidParams {
		t.Errorf("%s: %v, want -32602", what, err)
		return
	}
	data, _ := json.Marshal(pe.Data)
	if !strings.Contains(string(data), `"path":"`+path+`"`) || !strings.Contains(pe.Message, path) {
		t.Errorf("%s: %s (data %s), want the field %s named", what, pe.Message, data, path)
	}
}

// TestAttachRefused: a bad type or value, a value over the size cap and a
// new key past the count cap are -32602 naming the field; an unknown or
// deleted task is -32004; none of them changes what the task has.
func TestAttachRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, pg bool) {
		f := newAttachFixture(t, tasks.Config{AttachmentMaxBytes: 40, MaxAttachments: 2}, pg)
		id := f.create("task")
		f.attach("", id, "brief", "note", `"keep me"`)
		before := f.list(id)
		for _, c := range []struct{ typ, value, path string }{
			{"nope", `"x"`, "/type"},
			{"note", `""`, "/value"},
			{"note", `"  \n"`, "/value"},
			{"note", `42`, "/value"},
			{"note", `{"a":1`, "/value"},
			{"files", `"a.go"`, "/value"},
			{"files", `[]`, "/value"},
			{"files", `["a.go",""]`, "/value/1"},
			{"files", `["a.go",7]`, "/value/1"},
			{"links", `["example.com/x"]`, "/value/0"},
			{"links", `["ftp://example.com/x"]`, "/value/0"},
			{"links", `["https:///nohost"]`, "/value/0"},
			{"links", `["https://a.b", "javascript:x"]`, "/value/1"},
			{"json", `"` + strings.Repeat("y", 40) + `"`, "/value"},
			{"json", `{"a\u0000":1}`, "/value"},
			{"note", `"a\u0000b"`, "/value"},
		} {
			_, err := f.svc.Attach(f.ctx, "", api.TaskAttachParams{TaskID: id, Key: "brief", Type: c.typ, Value: json.RawMessage(c.value)})
			refused(t, c.typ+" "+c.value, err, c.path)
		}
		// Exactly at the cap is fine (40 bytes compact, more with spaces).
		f.attach("", id, "second", "json", ` [ "`+strings.Repeat("y", 36)+`" ] `)
		_, err := f.svc.Attach(f.ctx, "e-third", api.TaskAttachParams{TaskID: id, Key: "third", Type: "note", Value: json.RawMessage(`"one too many"`)})
		refused(t, "a third key", err, "/key")
		if err != nil && !strings.Contains(err.Error(), "tasks.max_attachments") {
			t.Errorf("count cap: %v does not name tasks.max_attachments", err)
		}
		// Replacing a key is not a new one.
		f.attach("", id, "second", "note", `"replaced"`)
		if got, want := f.list(id), append(before, `second="replaced"`); !same(got, want) {
			t.Errorf("attachments %q, want %q", got, want)
		}
		if n := len(f.events()); n != 3 {
			t.Errorf("%d task.attached events, want 3 (refusals announce nothing)", n)
		}

		for _, missing := range []string{"t-1", id} {
			if missing == id {
				if err := f.svc.Delete(f.ctx, "", api.TaskDeleteParams{ID: id}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.svc.Attach(f.ctx, "", api.TaskAttachParams{TaskID: missing, Key: "k", Type: "note", Value: json.RawMessage(`"x"`)})
			if protocol.CodeOf(err) != protocol.CodeNotFound {
				t.Errorf("attach to %s: %v, want -32004", missing, err)
			}
			if _, err := f.svc.Attachments(f.ctx, api.TaskAttachmentsParams{TaskID: missing}); protocol.CodeOf(err) != protocol.CodeNotFound {
				t.Errorf("attachments of %s: %v, want -32004", missing, err)
			}
		}
	})
}
