package workfeed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/handlers/handlertest"
	"github.com/claudebench/cb/daemon/workfeed"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// fixture is cbd's methods (app.Build, as cbd serves them) over a flushed
// Redis, with work feeding configured by cfg.
type fixture struct {
	t   *testing.T
	rdb redis.UniversalClient
	a   *app.App
	n   int
}

func newFixture(t *testing.T, cfg workfeed.Config) *fixture {
	t.Helper()
	rdb := testenv.SharedRedis(t).Flushed(t)
	a := apptest.Build(t, rdb, nil, func(d *app.Deps) { d.WorkFeed = cfg; d.TodoSync = true })
	return &fixture{t: t, rdb: rdb, a: a}
}

// call runs method with params (checked against its schemas) for session
// and decodes the answer into out (when not nil).
func (f *fixture) call(method, session string, params any, out any) error {
	f.t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		f.t.Fatal(err)
	}
	f.n++
	res, err := handlertest.Call(f.t, f.a.Registry, protocol.Event{Type: method, Payload: raw,
		Metadata: protocol.Metadata{ID: fmt.Sprintf("e-feed-%d", f.n), SessionID: session}})
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			f.t.Fatalf("%s answer %s: %v", method, res, err)
		}
	}
	return nil
}

func (f *fixture) mustCall(method, session string, params any, out any) {
	f.t.Helper()
	if err := f.call(method, session, params, out); err != nil {
		f.t.Fatalf("%s %v: %v", method, params, err)
	}
}

func (f *fixture) create(text string) string {
	f.t.Helper()
	var tk api.Task
	f.mustCall("task.create", "", api.TaskCreateParams{Text: text}, &tk)
	return tk.ID
}

func (f *fixture) get(id string) api.Task {
	f.t.Helper()
	var tk api.Task
	f.mustCall("task.get", "", api.TaskGetParams{ID: id}, &tk)
	return tk
}

// stop sends a Stop of session (stop_hook_active as given) and returns
// the answer and its rendering for Claude Code.
func (f *fixture) stop(session string, active bool) (protocol.HookResult, string) {
	f.t.Helper()
	return f.hook("stop", "Stop", session, map[string]any{"stop_hook_active": active})
}

func (f *fixture) hook(hookType, event, session string, fields map[string]any) (protocol.HookResult, string) {
	f.t.Helper()
	in := map[string]any{"session_id": session, "hook_event_name": event, "cwd": "/tmp", "transcript_path": "/tmp/t.jsonl"}
	for k, v := range fields {
		in[k] = v
	}
	var res protocol.HookResult
	f.mustCall(protocol.HookMethod(hookType), session, in, &res)
	return res, string(protocol.RenderHookOutput(event, res))
}

// fedTask checks that a Stop answer hands (or reminds of) task id to
// worker: a block whose reason has the text and both ways to finish it.
func fedTask(t *testing.T, res protocol.HookResult, rendered, id, text, worker string) {
	t.Helper()
	if res.Decision != protocol.DecisionDeny || !strings.Contains(rendered, `"decision":"block"`) {
		t.Fatalf("answer %+v (rendered %s), want a block", res, rendered)
	}
	for _, want := range []string{id, text, "task_complete", `"workerId":"` + worker + `"`,
		"cb task complete " + id + " --worker " + worker} {
		if !strings.Contains(res.Reason, want) {
			t.Fatalf("reason %q lacks %q", res.Reason, want)
		}
	}
}

const session = "3f1c9a52-7c1e-4b7e-9a43-0c6f5d2e8b11"

var worker = workfeed.WorkerID(session, "", "")

// TestNotOptedIn: a session that did not opt in stops as always, and the
// queue is left alone.
func TestNotOptedIn(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	id := f.create("write the notes")
	res, rendered := f.stop(session, false)
	if res.Decision != protocol.DecisionNone || rendered != "" {
		t.Fatalf("answer %+v %q, want no opinion", res, rendered)
	}
	if tk := f.get(id); tk.Status != "pending" {
		t.Fatalf("task %+v, want it left pending", tk)
	}
}

// TestFeedCompleteNext: an opted-in session is handed the queued tasks in
// turn, each claimed for its worker with a lease; completing one (as the
// reason says) gets the next at the next stop; an empty queue lets it stop.
func TestFeedCompleteNext(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	first, second := f.create("write the notes"), f.create("file the report")
	var opt api.TaskWorkResult
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, &opt)
	if !opt.Feed || opt.WorkerID != worker || opt.Until.IsZero() {
		t.Fatalf("task.work %+v", opt)
	}
	if ttl := f.rdb.TTL(t.Context(), protocol.WorkKey(session)).Val(); ttl <= 0 {
		t.Fatalf("opt-in mark TTL %v", ttl)
	}

	res, rendered := f.stop(session, false)
	fedTask(t, res, rendered, first, "write the notes", worker)
	tk := f.get(first)
	if tk.Status != "in_progress" || tk.AssignedTo != worker || tk.LeaseExpiresAt == nil {
		t.Fatalf("fed task %+v, want in progress for %s with a lease", tk, worker)
	}
	// Someone else's worker cannot complete it; the session's can.
	if err := f.call("task.complete", "", api.TaskCompleteParams{ID: first, WorkerID: "me@host"}, nil); protocol.CodeOf(err) != protocol.CodeConflict {
		t.Fatalf("complete by another worker: %v", err)
	}
	f.mustCall("task.complete", "", api.TaskCompleteParams{ID: first, WorkerID: worker}, nil)

	res, rendered = f.stop(session, true)
	fedTask(t, res, rendered, second, "file the report", worker)
	f.mustCall("task.complete", "", api.TaskCompleteParams{ID: second, WorkerID: worker}, nil)

	res, rendered = f.stop(session, true)
	if res.Decision != protocol.DecisionNone || rendered != "" {
		t.Fatalf("empty queue: answer %+v %q, want no opinion", res, rendered)
	}
	for _, id := range []string{first, second} {
		if tk := f.get(id); tk.Status != "completed" || tk.AssignedTo != worker {
			t.Fatalf("task %+v, want completed by %s", tk, worker)
		}
	}
	if n := f.rdb.Exists(t.Context(), protocol.FeedKey(worker)).Val(); n != 0 {
		t.Fatal("feed state left behind after the session stopped")
	}
}

// TestRemindThenRelease: a session stopping with its fed task unfinished is
// reminded (the same task, its lease renewed) until the block limit; the
// stop after that gives the task back to the queue and is let through,
// and the next turn (stop_hook_active false) starts counting again.
func TestRemindThenRelease(t *testing.T) {
	const limit = 3
	f := newFixture(t, workfeed.Config{MaxBlocks: limit})
	id := f.create("write the notes")
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)

	res, rendered := f.stop(session, false)
	fedTask(t, res, rendered, id, "write the notes", worker)
	lease := f.get(id).LeaseExpiresAt.Time
	for i := 2; i <= limit; i++ {
		res, rendered = f.stop(session, true)
		fedTask(t, res, rendered, id, "write the notes", worker)
		if !strings.Contains(res.Reason, "still yours") {
			t.Fatalf("block %d: %q, want a reminder", i, res.Reason)
		}
	}
	if tk := f.get(id); tk.Status != "in_progress" || !tk.LeaseExpiresAt.After(lease) {
		t.Fatalf("task %+v after reminders, want its lease renewed past %v", tk, lease)
	}
	res, rendered = f.stop(session, true)
	if res.Decision != protocol.DecisionNone || rendered != "" {
		t.Fatalf("stop %d: answer %+v %q, want no opinion at the limit", limit+1, res, rendered)
	}
	if tk := f.get(id); tk.Status != "pending" || tk.AssignedTo != "" {
		t.Fatalf("task %+v, want it back in the queue", tk)
	}
	// A new turn: the count starts again and the task is handed out again.
	res, rendered = f.stop(session, false)
	fedTask(t, res, rendered, id, "write the notes", worker)
}

// TestRenewOnToolUse: each tool call of the session renews the lease of
// the task it was fed; other sessions' tool calls change nothing.
func TestRenewOnToolUse(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	id := f.create("write the notes")
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)
	f.stop(session, false)
	postTool := map[string]any{"tool_name": "Bash", "tool_input": map[string]any{"command": "ls"}, "tool_response": map[string]any{}}
	lease := f.get(id).LeaseExpiresAt.Time
	time.Sleep(5 * time.Millisecond)
	f.hook("post_tool", "PostToolUse", "0b7e1c4d-1111-4222-8333-444455556666", postTool)
	if got := f.get(id).LeaseExpiresAt.Time; !got.Equal(lease) {
		t.Fatalf("another session's tool call moved the lease from %v to %v", lease, got)
	}
	f.hook("post_tool", "PostToolUse", session, postTool)
	if got := f.get(id).LeaseExpiresAt.Time; !got.After(lease) {
		t.Fatalf("lease %v after a tool call, want it renewed past %v", got, lease)
	}
	// Once completed, a tool call has nothing to renew and fails nothing.
	f.mustCall("task.complete", "", api.TaskCompleteParams{ID: id, WorkerID: worker}, nil)
	f.hook("post_tool", "PostToolUse", session, postTool)
}

// TestLimitCountsNewTasks: the client's cap counts every block in a row,
// so handing out new tasks counts too: at the limit the session stops and
// the rest stays queued.
func TestLimitCountsNewTasks(t *testing.T) {
	f := newFixture(t, workfeed.Config{MaxBlocks: 2})
	ids := []string{f.create("one"), f.create("two"), f.create("three")}
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)
	for i, active := range []bool{false, true} {
		res, rendered := f.stop(session, active)
		fedTask(t, res, rendered, ids[i], []string{"one", "two"}[i], worker)
		f.mustCall("task.complete", "", api.TaskCompleteParams{ID: ids[i], WorkerID: worker}, nil)
	}
	if res, _ := f.stop(session, true); res.Decision != protocol.DecisionNone {
		t.Fatalf("third block in a row: %+v", res)
	}
	if tk := f.get(ids[2]); tk.Status != "pending" {
		t.Fatalf("task %+v, want it still queued", tk)
	}
}

// TestRuleDenyWins: a rule that blocks the stop answers it; nothing is
// claimed.
func TestRuleDenyWins(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	id := f.create("write the notes")
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)
	f.mustCall("hooks.add", "", api.HooksAddParams{Rule: api.Rule{ID: "keep-going", Event: "stop", Action: "deny", Reason: "run the tests first"}}, nil)
	res, _ := f.stop(session, false)
	if res.Decision != protocol.DecisionDeny || res.Reason != "run the tests first" {
		t.Fatalf("answer %+v, want the rule's", res)
	}
	if tk := f.get(id); tk.Status != "pending" {
		t.Fatalf("task %+v, want it left pending", tk)
	}
}

// TestSubagentAndTeammate: a subagent's and a teammate's stops are fed
// as workers of their own, so each has its own task.
func TestSubagentAndTeammate(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	a, b := f.create("task a"), f.create("task b")
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)
	sub := workfeed.WorkerID(session, "agent-1", "")
	res, rendered := f.hook("subagent_stop", "SubagentStop", session, map[string]any{
		"stop_hook_active": false, "agent_id": "agent-1", "agent_type": "general-purpose", "agent_transcript_path": "/tmp/a.jsonl"})
	fedTask(t, res, rendered, a, "task a", sub)
	mate := workfeed.WorkerID(session, "", "Ada Lovelace")
	if mate != "session:"+session+"/teammate:Ada_Lovelace" {
		t.Fatalf("teammate worker %q", mate)
	}
	res, rendered = f.hook("teammate_idle", "TeammateIdle", session, map[string]any{"teammate_name": "Ada Lovelace", "team_name": "t"})
	fedTask(t, res, rendered, b, "task b", mate)
	if f.get(a).AssignedTo != sub || f.get(b).AssignedTo != mate {
		t.Fatalf("assignees %q %q", f.get(a).AssignedTo, f.get(b).AssignedTo)
	}
}

// TestFeedAllAndOptOut: with tasks.feed_sessions all every session is fed
// without opting in, except one opted out.
func TestFeedAllAndOptOut(t *testing.T) {
	f := newFixture(t, workfeed.Config{All: true})
	id := f.create("write the notes")
	const other = "0b7e1c4d-1111-4222-8333-444455556666"
	var opt api.TaskWorkResult
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: other, Off: true, TTLMs: 60000}, &opt)
	if opt.Feed {
		t.Fatalf("opt-out answered %+v", opt)
	}
	if res, _ := f.stop(other, false); res.Decision != protocol.DecisionNone {
		t.Fatalf("opted-out session: %+v", res)
	}
	res, rendered := f.stop(session, false)
	fedTask(t, res, rendered, id, "write the notes", worker)
}

// TestWorkerID: worker ids are valid workerIds and safe in a shell
// command, however odd the names.
func TestWorkerID(t *testing.T) {
	for _, c := range []struct{ session, agent, mate, want string }{
		{"s1", "", "", "session:s1"},
		{"s1", "a1", "", "session:s1/agent:a1"},
		{"s1", "", "x'; rm -rf / #", "session:s1/teammate:x___rm_-rf_/__"},
	} {
		if got := workfeed.WorkerID(c.session, c.agent, c.mate); got != c.want {
			t.Errorf("WorkerID(%q, %q, %q) = %q, want %q", c.session, c.agent, c.mate, got, c.want)
		}
	}
	long := workfeed.WorkerID(strings.Repeat("s", 300), "", "")
	if len(long) > 200 || !strings.HasPrefix(long, "session:") {
		t.Errorf("long id %q", long)
	}
}

// TestToolCallsLookOncePerInterval: every PostToolUse of every session
// reaches the feeder, so a worker's feed state is looked up at most once
// per RenewEvery (and again after a feed), not on each tool call.
func TestToolCallsLookOncePerInterval(t *testing.T) {
	f := newFixture(t, workfeed.Config{RenewEvery: time.Hour})
	postTool := map[string]any{"tool_name": "Bash", "tool_input": map[string]any{"command": "ls"}, "tool_response": map[string]any{}}
	ctx := context.Background()
	hgets := func() int {
		t.Helper()
		info := f.rdb.Info(ctx, "commandstats").Val()
		for _, line := range strings.Split(info, "\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_hget:calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				return n
			}
		}
		return 0
	}
	if err := f.rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.hook("post_tool", "PostToolUse", session, postTool)
	}
	if n := hgets(); n != 1 {
		t.Fatalf("5 tool calls of a session fed nothing made %d feed state lookups, want 1", n)
	}
	// Fed a task, its next tool call renews it at once.
	id := f.create("write the notes")
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)
	f.stop(session, false)
	lease := f.get(id).LeaseExpiresAt.Time
	time.Sleep(5 * time.Millisecond)
	f.hook("post_tool", "PostToolUse", session, postTool)
	if got := f.get(id).LeaseExpiresAt.Time; !got.After(lease) {
		t.Fatalf("lease %v after the first tool call since the feed, want it renewed past %v", got, lease)
	}
}

// TestFeedWithContext: a task handed to a session comes with its
// attachments (task.claim's answer) in the block reason, and a reminder
// shows what was attached since (task.get's answer); the reason says how
// to attach notes for the next worker.
func TestFeedWithContext(t *testing.T) {
	f := newFixture(t, workfeed.Config{})
	id := f.create("write the notes")
	attach := func(key, typ string, value any) {
		t.Helper()
		raw, _ := json.Marshal(value)
		f.mustCall("task.attach", "", api.TaskAttachParams{TaskID: id, Key: key, Type: typ, Value: raw, CreatedBy: "session:before"}, nil)
	}
	attach("handover", api.AttachmentNote, "The outline is in docs/notes.md.\nSkip the appendix.")
	attach("touched", api.AttachmentFiles, []string{"docs/notes.md"})
	f.mustCall("task.work", "", api.TaskWorkParams{SessionID: session}, nil)

	res, rendered := f.stop(session, false)
	fedTask(t, res, rendered, id, "write the notes", worker)
	for _, want := range []string{
		"Context attached to this task (2 attachments, oldest first):",
		"[note] handover (by session:before, ",
		"  The outline is in docs/notes.md.\n  Skip the appendix.",
		"[files] touched",
		"  - docs/notes.md",
		`task_attach with {"taskId":"` + id + `"`,
		"cb task attach " + id + " handover --type note",
	} {
		if !strings.Contains(res.Reason, want) {
			t.Fatalf("reason lacks %q:\n%s", want, res.Reason)
		}
	}
	attach("links", api.AttachmentLinks, []string{"https://example.com/style-guide"})
	res, rendered = f.stop(session, true)
	fedTask(t, res, rendered, id, "write the notes", worker)
	if !strings.Contains(res.Reason, "still yours") || !strings.Contains(res.Reason, "  - https://example.com/style-guide") {
		t.Fatalf("reminder lacks the new link:\n%s", res.Reason)
	}
	if len(res.Reason) > workfeed.MaxReason {
		t.Fatalf("reason of %d bytes", len(res.Reason))
	}
}
