package task

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
)

func TestTaskListGolden(t *testing.T) {
	var res api.TaskListResult
	clitest.LoadFixture(t, "task_list.json", &res)
	cases := []struct {
		name  string
		res   api.TaskListResult
		width int
		pal   iostreams.ColorScheme
	}{
		{"task_list.txt", res, 0, iostreams.ColorScheme{}},
		{"task_list_w80.txt", res, 80, iostreams.ColorScheme{}},
		{"task_list_w200.txt", res, 200, iostreams.ColorScheme{}},
		{"task_list_color.txt", res, 0, iostreams.NewColorScheme(true)},
		{"task_list_empty.txt", api.TaskListResult{Tasks: []api.Task{}}, 0, iostreams.ColorScheme{}},
		{"task_list_past_end.txt", api.TaskListResult{Tasks: []api.Task{}, TotalCount: 12}, 0, iostreams.ColorScheme{}},
		{"task_list_estimated.txt", api.TaskListResult{Tasks: res.Tasks[:1], TotalCount: 10000, TotalEstimated: true, HasMore: true}, 0, iostreams.ColorScheme{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := clitest.GoldenRender(t, c.name, func(w io.Writer) error {
				return renderTaskList(w, c.res, clitest.GoldenNow, c.width, c.pal)
			})
			if c.width > 0 {
				for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
					if n := len([]rune(line)); n > c.width {
						t.Errorf("line of %d runes exceeds width %d: %q", n, c.width, line)
					}
				}
			}
		})
	}
}

func TestTaskGetGolden(t *testing.T) {
	var res api.TaskListResult
	clitest.LoadFixture(t, "task_list.json", &res)
	var buf bytes.Buffer
	for _, task := range res.Tasks[1:3] {
		if err := renderTask(&buf, task, clitest.GoldenNow, iostreams.ColorScheme{}); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("\n")
	}
	clitest.Golden(t, "task_get.txt", buf.Bytes())
}

// runTask runs cb task with args (after "task") against fake, with stdout
// a terminal or not.
func runTask(fake *clitest.FakeCaller, tty bool, args ...string) (stdout, stderr string, code int) {
	f, ios, s := clitest.NewFactory(fake)
	ios.SetStdoutTTY(tty)
	code = clitest.Run(f, NewCmdTask(f), append([]string{"task"}, args...)...)
	return s.Out.String(), s.Err.String(), code
}

const fakeTask = `{"version":2,"id":"t-17","text":"do it","status":"pending","priority":70,"createdAt":"2025-06-01T11:00:00.000Z","updatedAt":"2025-06-01T11:00:00.000Z","attempts":0,"metadata":{"b":1,"a":2}}`

func TestTaskCommands(t *testing.T) {
	f := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.create":   clitest.Answer(fakeTask),
		"task.get":      clitest.Answer(fakeTask),
		"task.update":   clitest.Answer(fakeTask),
		"task.assign":   clitest.Answer(strings.Replace(fakeTask, `"attempts"`, `"assignedTo":"w-9","attempts"`, 1)),
		"task.unassign": clitest.Answer(fakeTask),
		"task.complete": clitest.Answer(strings.Replace(fakeTask, `"pending"`, `"completed"`, 1)),
		"task.fail":     clitest.Answer(strings.Replace(fakeTask, `"attempts"`, `"error":"boom","attempts"`, 1)),
		"task.delete":   clitest.Answer(`{"id":"t-17","deleted":true}`),
		"task.list":     clitest.Answer(`{"tasks":[` + fakeTask + `],"totalCount":1,"hasMore":false}`),
	})
	me := cmdutil.DefaultWorkerID()
	cases := []struct {
		args       []string
		method     string
		params     string
		out        string
		code       int
		errContain string
	}{
		{[]string{"task", "create", "do", "it"}, "task.create", `{"text":"do it"}`, "created t-17 (priority 70)\n", 0, ""},
		{[]string{"task", "create", "do it", "--priority", "70", "--metadata", `{"a":2}`}, "task.create", `{"text":"do it","priority":70,"metadata":{"a":2}}`, "created t-17 (priority 70)\n", 0, ""},
		{[]string{"task", "create", "x", "--metadata", `[1]`}, "", "", "", 2, "--metadata: want a JSON object"},
		{[]string{"task", "create", "x", "--metadata", `{`}, "", "", "", 2, "--metadata: not valid JSON"},
		{[]string{"task", "list"}, "task.list", `{}`, "", 0, ""},
		{[]string{"task", "list", "--status", "pending", "--assigned-to", "w", "--limit", "5", "--offset", "10", "--order-by", "priority", "--order", "asc"},
			"task.list", `{"status":"pending","assignedTo":"w","limit":5,"offset":10,"orderBy":"priority","order":"asc"}`, "", 0, ""},
		{[]string{"task", "list", "--session", "s-1", "--updated-before", "2026-01-02T03:04:05+01:00", "--after", "c1", "--order-by", "queue"},
			"task.list", `{"session":"s-1","updatedBefore":"2026-01-02T02:04:05Z","after":"c1","orderBy":"queue"}`, "", 0, ""},
		{[]string{"task", "list", "--updated-before", "soon"}, "", "", "", 2, "--updated-before"},
		{[]string{"task", "list", "--after", "c1", "--offset", "5"}, "", "", "", 2, "cannot be combined"},
		{[]string{"task", "get", "t-17"}, "task.get", `{"id":"t-17"}`, "", 0, ""},
		{[]string{"task", "update", "t-17", "--priority", "70", "--status", "pending", "--text", "t", "--metadata", `{"k":"v"}`},
			"task.update", `{"id":"t-17","updates":{"priority":70,"status":"pending","text":"t","metadata":{"k":"v"}}}`, "updated t-17 (pending, priority 70)\n", 0, ""},
		{[]string{"task", "update", "t-17"}, "", "", "", 2, "nothing to update"},
		{[]string{"task", "assign", "t-17", "w-9"}, "task.assign", `{"taskId":"t-17","instanceId":"w-9"}`, "assigned t-17 to w-9\n", 0, ""},
		{[]string{"task", "unassign", "t-17"}, "task.unassign", `{"taskId":"t-17"}`, "unassigned t-17 (pending)\n", 0, ""},
		{[]string{"task", "complete", "t-17"}, "task.complete", `{"id":"t-17","workerId":"` + me + `"}`, "completed t-17\n", 0, ""},
		{[]string{"task", "complete", "t-17", "--result", `{"n":1}`, "--worker", "w2"}, "task.complete", `{"id":"t-17","workerId":"w2","result":{"n":1}}`, "completed t-17\n", 0, ""},
		{[]string{"task", "complete", "t-17", "--result", "all good"}, "task.complete", `{"id":"t-17","workerId":"` + me + `","result":"all good"}`, "completed t-17\n", 0, ""},
		{[]string{"task", "fail", "t-17", "--error", "boom"}, "task.fail", `{"id":"t-17","workerId":"` + me + `","error":"boom"}`, "failed t-17: boom\n", 0, ""},
		{[]string{"task", "fail", "t-17"}, "", "", "", 2, `"error" not set`},
		{[]string{"task", "delete", "t-17"}, "task.delete", `{"id":"t-17"}`, "deleted t-17\n", 0, ""},
		{[]string{"task", "get"}, "", "", "", 2, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			before := len(f.Calls())
			out, errOut, code := runTask(f, false, c.args[1:]...)
			if code != c.code || (c.errContain != "" && !strings.Contains(errOut, c.errContain)) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, errOut, c.code, c.errContain)
			}
			if c.out != "" && out != c.out {
				t.Errorf("stdout = %q, want %q", out, c.out)
			}
			calls := f.Calls()[before:]
			if c.method == "" {
				if len(calls) != 0 {
					t.Errorf("calls = %v, want none", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Method != c.method {
				t.Fatalf("calls = %v, want one %s", calls, c.method)
			}
			clitest.JSONEq(t, calls[0].Params, c.params)
		})
	}
}

// --json prints the answer as received, fields in cbd's order: indented on
// a terminal, one line otherwise.
func TestTaskJSONOutput(t *testing.T) {
	list := `{"tasks":[` + fakeTask + `],"totalCount":1,"hasMore":false}`
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.create": clitest.Answer(fakeTask),
		"task.list":   clitest.Answer(list),
		"task.claim":  clitest.Answer(`{"tasks":[` + fakeTask + `]}`),
		"task.delete": clitest.Answer(`{"id":"t-17","deleted":true}`),
	})
	cases := []struct {
		args []string
		raw  string
		into any
	}{
		{[]string{"task", "create", "do it", "--json"}, fakeTask, &api.Task{}},
		{[]string{"--json", "task", "list"}, list, &api.TaskListResult{}},
		{[]string{"task", "claim", "--json"}, `{"tasks":[` + fakeTask + `]}`, &api.TaskClaimResult{}},
		{[]string{"task", "delete", "t-17", "--json"}, `{"id":"t-17","deleted":true}`, &api.TaskDeleteResult{}},
	}
	for _, c := range cases {
		f, _, s := clitest.NewFactory(fake)
		if code := clitest.Run(f, NewCmdTask(f), c.args...); code != 0 || s.Out.String() != c.raw+"\n" {
			t.Errorf("%v off a terminal: exit %d, printed %q, want %q", c.args, code, s.Out, c.raw+"\n")
		}
		f, ios, s := clitest.NewFactory(fake)
		ios.SetStdoutTTY(true)
		code := clitest.Run(f, NewCmdTask(f), c.args...)
		out, errOut := s.Out.String(), s.Err.String()
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(c.raw), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteString("\n")
		if out != want.String() {
			t.Errorf("%v printed\n%s\nwant\n%s", c.args, out, want.String())
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c.into); err != nil {
			t.Errorf("%v: output does not decode into %T: %v", c.args, c.into, err)
		}
	}
	var task api.Task
	_ = json.Unmarshal([]byte(fakeTask), &task)
	if task.ID != "t-17" || task.Priority != 70 || task.Version != 2 || !task.CreatedAt.Time.Equal(time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)) || string(task.Metadata) != `{"b":1,"a":2}` {
		t.Errorf("task = %+v", task)
	}
}

func TestTaskErrorsExitCodes(t *testing.T) {
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.get": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "task t-9 not found")
		},
		"task.complete": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, protocol.Errorf(protocol.CodeConflict, "task t-9 is assigned to someone else")
		},
	})
	out, errOut, code := runTask(fake, false, "get", "t-9")
	if code != 7 || out != "" || !strings.Contains(errOut, "task t-9 not found") {
		t.Errorf("get: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code = runTask(fake, false, "complete", "t-9"); code != 8 || !strings.Contains(errOut, "someone else") {
		t.Errorf("complete: exit %d, stderr %q", code, errOut)
	}
	// A method nobody serves.
	if _, errOut, code = runTask(fake, false, "delete", "t-9"); code != 3 || !strings.Contains(errOut, "unknown method") {
		t.Errorf("delete: exit %d, stderr %q", code, errOut)
	}
}

// runTaskRedis runs cb task with args (after "task") as cb-cli would,
// against the Redis of a RedisCBD.
func runTaskRedis(t *testing.T, args ...string) (stdout, stderr string, code int) {
	f, s := clitest.NewRedisFactory(t)
	code = clitest.Run(f, NewCmdTask(f), append([]string{"task"}, args...)...)
	return s.Out.String(), s.Err.String(), code
}

// wantWait is what one cb task claim --wait should do: exit code, stdout,
// a part of stderr, how long it takes (not checked when max is 0) and how
// many claims it sends.
type wantWait struct {
	code     int
	out      string
	errHas   string
	min, max time.Duration
	sent     int
}

func TestTaskClaim(t *testing.T) {
	var mu sync.Mutex
	var available []string // tasks the fake hands out, one per claim
	f := clitest.NewRedisCBD(t, map[string]clitest.Handler{
		"task.claim": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(available) == 0 {
				return json.RawMessage(`{"tasks":[]}`), nil
			}
			t := available[0]
			available = available[1:]
			return json.RawMessage(`{"tasks":[` + t + `]}`), nil
		},
	})
	ctx := context.Background()
	claims := func() int {
		n := 0
		for _, c := range f.Calls() {
			if c.Method == "task.claim" {
				n++
			}
		}
		return n
	}
	// waitClaim runs cb task claim --wait and checks its exit code, its
	// output, how long it took and how many claims it sent against w.
	waitClaim := func(t *testing.T, timeout string, w wantWait) {
		t.Helper()
		before := claims()
		start := time.Now()
		out, errOut, code := runTaskRedis(t, "claim", "--wait", "--wait-timeout", timeout)
		took, sent := time.Since(start), claims()-before
		if code != w.code || out != w.out || !strings.Contains(errOut, w.errHas) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if w.max > 0 && (took < w.min || took > w.max) {
			t.Errorf("returned after %s, want between %s and %s", took, w.min, w.max)
		}
		if sent != w.sent {
			t.Errorf("%d claims, want %d", sent, w.sent)
		}
	}

	t.Run("empty", func(t *testing.T) {
		out, errOut, code := runTaskRedis(t, "claim", "--worker", "w1", "--max", "2")
		if code != 0 || out != "" || errOut != "no pending task\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		calls := f.Calls()
		clitest.JSONEq(t, calls[len(calls)-1].Params, `{"workerId":"w1","maxTasks":2}`)
		out, errOut, code = runTaskRedis(t, "claim", "--json")
		if code != 0 || out != "{\"tasks\":[]}\n" || errOut != "no pending task\n" {
			t.Fatalf("--json: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		calls = f.Calls()
		clitest.JSONEq(t, calls[len(calls)-1].Params, `{"workerId":"`+cmdutil.DefaultWorkerID()+`","maxTasks":1}`)
	})

	t.Run("wait timeout", func(t *testing.T) {
		// One claim while waiting: it does not poll.
		waitClaim(t, "1300ms", wantWait{code: 6, errHas: "no task within 1.3s", min: 1300 * time.Millisecond, max: 4 * time.Second, sent: 1})
	})

	t.Run("stale tokens do not reach cbd", func(t *testing.T) {
		// Tokens of tasks somebody else already took: the queue is empty.
		f.Rdb.LPush(ctx, protocol.QueueNotifyKey, "t-1", "t-2", "t-3")
		waitClaim(t, "300ms", wantWait{code: 6, sent: 1})
		if n := f.Rdb.LLen(ctx, protocol.QueueNotifyKey).Val(); n != 0 {
			t.Errorf("%d tokens left", n)
		}
	})

	t.Run("woken by a new task", func(t *testing.T) {
		go func() {
			time.Sleep(400 * time.Millisecond)
			mu.Lock()
			available = append(available, fakeTask)
			mu.Unlock()
			// What create.lua does: queue the task, push a token.
			f.Rdb.ZAdd(ctx, protocol.QueueTasksKey, redis.Z{Score: -70, Member: "t-17"})
			f.Rdb.LPush(ctx, protocol.QueueNotifyKey, "t-17")
		}()
		// Two claims: before and after the wake-up.
		waitClaim(t, "10s", wantWait{out: "claimed t-17 (priority 70): do it\n", min: 400 * time.Millisecond, max: 3 * time.Second, sent: 2})
	})

	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		start := time.Now()
		_, err := blockPop(ctx, f.Rdb, protocol.QueueNotifyKey, 10*time.Second)
		if cmdutil.ExitCode(err) != 130 || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
	})
}

func TestDefaultWorkerID(t *testing.T) {
	w := cmdutil.DefaultWorkerID()
	if w == "" || strings.ContainsAny(w, " \t\n") || !strings.Contains(w, "@") || len(w) > 200 {
		t.Fatalf("default worker %q is not a valid instance id", w)
	}
	if cmdutil.DefaultWorkerID() != w {
		t.Fatal("not stable")
	}
}

// -q prints ids only (ID=$(cb task create -q ...)); a list off a terminal
// is tab-separated rows without header or count.
func TestTaskQuietAndPlainRows(t *testing.T) {
	list := `{"tasks":[` + fakeTask + `,` + strings.Replace(fakeTask, `"t-17"`, `"t-18"`, 1) + `],"totalCount":2,"hasMore":false}`
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.create": clitest.Answer(fakeTask),
		"task.list":   clitest.Answer(list),
		"task.claim":  clitest.Answer(`{"tasks":[` + fakeTask + `]}`),
	})
	cases := []struct {
		args []string
		tty  bool
		want string
	}{
		{[]string{"create", "-q", "do it"}, false, "t-17\n"},
		{[]string{"create", "--quiet", "do it", "--json"}, true, "t-17\n"},
		{[]string{"list", "-q"}, true, "t-17\nt-18\n"},
		{[]string{"claim", "-q"}, false, "t-17\n"},
		{[]string{"list"}, false, "t-17\tpending\t70\t\t2025-06-01T11:00:00Z\tdo it\nt-18\tpending\t70\t\t2025-06-01T11:00:00Z\tdo it\n"},
	}
	for _, c := range cases {
		out, errOut, code := runTask(fake, c.tty, c.args...)
		if code != 0 || out != c.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, errOut, c.want)
		}
	}
	out, _, _ := runTask(fake, true, "list")
	if !strings.HasPrefix(out, "ID ") || !strings.HasSuffix(out, "2 of 2 tasks\n") {
		t.Errorf("terminal table:\n%s", out)
	}
	out, _, _ = runTask(fake, false, "list", "--jq", ".tasks[].id")
	if out != "t-17\nt-18\n" {
		t.Errorf("--jq printed %q", out)
	}
}

// A page with more after it ends with the command for the next one on
// stderr: the same filters (--updated-before as the time it meant) and
// the cursor; --json is the answer itself, cursor included.
func TestTaskListMoreHint(t *testing.T) {
	page := `{"tasks":[` + fakeTask + `],"totalCount":10000,"totalEstimated":true,"hasMore":true,"nextCursor":"cur 2"}`
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{"task.list": clitest.Answer(page)})
	out, errOut, code := runTask(fake, true, "list", "--session", "s 1", "--updated-before", "2026-11-28T07:00:00+01:00", "--limit", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasSuffix(out, "1 of 10000+ tasks\n") {
		t.Errorf("stdout:\n%s", out)
	}
	want := "more: cb task list --session 's 1' --updated-before 2026-11-28T06:00:00Z --limit 1 --after 'cur 2'\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	clitest.JSONEq(t, fake.Calls()[0].Params, `{"session":"s 1","updatedBefore":"2026-11-28T06:00:00Z","limit":1}`)
	// Off a terminal too (rows on stdout, the hint on stderr).
	if _, errOut, _ = runTask(fake, false, "list", "--status", "pending"); errOut != "more: cb task list --status pending --after 'cur 2'\n" {
		t.Errorf("plain rows: stderr %q", errOut)
	}

	out, errOut, _ = runTask(fake, false, "list", "--json")
	if out != page+"\n" || errOut != "" {
		t.Errorf("--json: stdout %q, stderr %q", out, errOut)
	}
}
