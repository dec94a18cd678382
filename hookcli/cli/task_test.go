package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func TestTaskListGolden(t *testing.T) {
	var res taskListResult
	loadFixture(t, "task_list.json", &res)
	cases := []struct {
		name  string
		res   taskListResult
		width int
		pal   palette
	}{
		{"task_list.txt", res, 0, palette{}},
		{"task_list_w80.txt", res, 80, palette{}},
		{"task_list_w200.txt", res, 200, palette{}},
		{"task_list_color.txt", res, 0, palette{on: true}},
		{"task_list_empty.txt", taskListResult{Tasks: []apiTask{}}, 0, palette{}},
		{"task_list_past_end.txt", taskListResult{Tasks: []apiTask{}, TotalCount: 12}, 0, palette{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := renderTaskList(&buf, c.res, goldenNow, c.width, c.pal); err != nil {
				t.Fatal(err)
			}
			goldenCompare(t, c.name, buf.Bytes())
			if c.width > 0 {
				for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
					if n := len([]rune(line)); n > c.width {
						t.Errorf("line of %d runes exceeds width %d: %q", n, c.width, line)
					}
				}
			}
		})
	}
}

func TestTaskGetGolden(t *testing.T) {
	var res taskListResult
	loadFixture(t, "task_list.json", &res)
	var buf bytes.Buffer
	for _, task := range res.Tasks[1:3] {
		if err := renderTask(&buf, task, goldenNow, palette{}); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("\n")
	}
	goldenCompare(t, "task_get.txt", buf.Bytes())
}

// taskFake is a stand-in cbd on a real redis-server: it serves the methods
// given to it over the same streams and answer lists as cbd, and records
// every call.
type taskFake struct {
	t     *testing.T
	rdb   *redis.Client
	mu    sync.Mutex
	fns   map[string]func(params json.RawMessage) (json.RawMessage, error)
	calls []fakeCall
}

type fakeCall struct {
	Method string
	Params map[string]any
}

func newTaskFake(t *testing.T, fns map[string]func(params json.RawMessage) (json.RawMessage, error)) *taskFake {
	t.Helper()
	srv, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	f := &taskFake{t: t, rdb: redis.NewClient(opt), fns: fns}
	ctx, cancel := context.WithCancel(context.Background())
	var streams []string
	for m := range fns {
		f.rdb.ZAdd(ctx, protocol.ServingKey(m), redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "fake"})
		f.rdb.SAdd(ctx, protocol.MethodsKey, m)
		streams = append(streams, protocol.StreamKey(m))
	}
	done := make(chan struct{})
	go func() { defer close(done); f.serve(ctx, streams) }()
	t.Cleanup(func() { cancel(); <-done; _ = f.rdb.Close() })
	t.Setenv("CB_REDIS_URL", srv.URL())
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	t.Setenv("NO_COLOR", "1")
	return f
}

func (f *taskFake) serve(ctx context.Context, streams []string) {
	ids := make([]string, len(streams))
	for i := range ids {
		ids[i] = "0"
	}
	for ctx.Err() == nil {
		res, err := f.rdb.XRead(ctx, &redis.XReadArgs{Streams: append(append([]string{}, streams...), ids...), Block: 50 * time.Millisecond}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		for _, st := range res {
			for _, msg := range st.Messages {
				for i, s := range streams {
					if s == st.Stream {
						ids[i] = msg.ID
					}
				}
				data, _ := msg.Values[protocol.StreamField].(string)
				ev, err := protocol.DecodeEvent([]byte(data))
				if err != nil {
					f.t.Errorf("fake cbd: %v", err)
					continue
				}
				var params map[string]any
				_ = json.Unmarshal(ev.Payload, &params)
				f.mu.Lock()
				f.calls = append(f.calls, fakeCall{ev.Type, params})
				f.mu.Unlock()
				resp := protocol.Response{ID: ev.Metadata.ID}
				out, err := f.fns[ev.Type](ev.Payload)
				if err != nil {
					resp.Error = protocol.AsError(err)
				} else {
					resp.Result = out
				}
				b, _ := json.Marshal(resp)
				f.rdb.LPush(ctx, protocol.ResponseKey(ev.Metadata.CorrelationID), b)
			}
		}
	}
}

func (f *taskFake) callLog() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// runTaskCLI runs cb with args as the binary would.
func runTaskCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func answer(s string) func(json.RawMessage) (json.RawMessage, error) {
	return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(s), nil }
}

const fakeTask = `{"version":2,"id":"t-17","text":"do it","status":"pending","priority":70,"createdAt":"2025-06-01T11:00:00.000Z","updatedAt":"2025-06-01T11:00:00.000Z","attempts":0,"metadata":{"b":1,"a":2}}`

func jsonEq(t *testing.T, got any, want string) {
	t.Helper()
	g, _ := json.Marshal(got)
	var a, b any
	_ = json.Unmarshal(g, &a)
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("params = %s, want %s", ga, gb)
	}
}

func TestTaskCommands(t *testing.T) {
	f := newTaskFake(t, map[string]func(json.RawMessage) (json.RawMessage, error){
		"task.create":   answer(fakeTask),
		"task.get":      answer(fakeTask),
		"task.update":   answer(fakeTask),
		"task.assign":   answer(strings.Replace(fakeTask, `"attempts"`, `"assignedTo":"w-9","attempts"`, 1)),
		"task.unassign": answer(fakeTask),
		"task.complete": answer(strings.Replace(fakeTask, `"pending"`, `"completed"`, 1)),
		"task.fail":     answer(strings.Replace(fakeTask, `"attempts"`, `"error":"boom","attempts"`, 1)),
		"task.delete":   answer(`{"id":"t-17","deleted":true}`),
		"task.list":     answer(`{"tasks":[` + fakeTask + `],"totalCount":1,"hasMore":false}`),
	})
	me := defaultWorkerID()
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
		{[]string{"task", "create", "x", "--metadata", `[1]`}, "", "", "", 1, "--metadata: want a JSON object"},
		{[]string{"task", "create", "x", "--metadata", `{`}, "", "", "", 1, "--metadata: not valid JSON"},
		{[]string{"task", "list"}, "task.list", `{}`, "", 0, ""},
		{[]string{"task", "list", "--status", "pending", "--assigned-to", "w", "--limit", "5", "--offset", "10", "--order-by", "priority", "--order", "asc"},
			"task.list", `{"status":"pending","assignedTo":"w","limit":5,"offset":10,"orderBy":"priority","order":"asc"}`, "", 0, ""},
		{[]string{"task", "get", "t-17"}, "task.get", `{"id":"t-17"}`, "", 0, ""},
		{[]string{"task", "update", "t-17", "--priority", "70", "--status", "pending", "--text", "t", "--metadata", `{"k":"v"}`},
			"task.update", `{"id":"t-17","updates":{"priority":70,"status":"pending","text":"t","metadata":{"k":"v"}}}`, "updated t-17 (pending, priority 70)\n", 0, ""},
		{[]string{"task", "update", "t-17"}, "", "", "", 1, "nothing to update"},
		{[]string{"task", "assign", "t-17", "w-9"}, "task.assign", `{"taskId":"t-17","instanceId":"w-9"}`, "assigned t-17 to w-9\n", 0, ""},
		{[]string{"task", "unassign", "t-17"}, "task.unassign", `{"taskId":"t-17"}`, "unassigned t-17 (pending)\n", 0, ""},
		{[]string{"task", "complete", "t-17"}, "task.complete", `{"id":"t-17","workerId":"` + me + `"}`, "completed t-17\n", 0, ""},
		{[]string{"task", "complete", "t-17", "--result", `{"n":1}`, "--worker", "w2"}, "task.complete", `{"id":"t-17","workerId":"w2","result":{"n":1}}`, "completed t-17\n", 0, ""},
		{[]string{"task", "complete", "t-17", "--result", "all good"}, "task.complete", `{"id":"t-17","workerId":"` + me + `","result":"all good"}`, "completed t-17\n", 0, ""},
		{[]string{"task", "fail", "t-17", "--error", "boom"}, "task.fail", `{"id":"t-17","workerId":"` + me + `","error":"boom"}`, "failed t-17: boom\n", 0, ""},
		{[]string{"task", "fail", "t-17"}, "", "", "", 1, `"error" not set`},
		{[]string{"task", "delete", "t-17"}, "task.delete", `{"id":"t-17"}`, "deleted t-17\n", 0, ""},
		{[]string{"task", "get"}, "", "", "", 1, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			before := len(f.callLog())
			out, errOut, code := runTaskCLI(c.args...)
			if code != c.code || (c.errContain != "" && !strings.Contains(errOut, c.errContain)) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, errOut, c.code, c.errContain)
			}
			if c.out != "" && out != c.out {
				t.Errorf("stdout = %q, want %q", out, c.out)
			}
			calls := f.callLog()[before:]
			if c.method == "" {
				if len(calls) != 0 {
					t.Errorf("calls = %v, want none", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Method != c.method {
				t.Fatalf("calls = %v, want one %s", calls, c.method)
			}
			jsonEq(t, calls[0].Params, c.params)
		})
	}
}

// --json prints the answer as received: indented, fields in cbd's order.
func TestTaskJSONOutput(t *testing.T) {
	list := `{"tasks":[` + fakeTask + `],"totalCount":1,"hasMore":false}`
	newTaskFake(t, map[string]func(json.RawMessage) (json.RawMessage, error){
		"task.create": answer(fakeTask),
		"task.list":   answer(list),
		"task.claim":  answer(`{"tasks":[` + fakeTask + `]}`),
		"task.delete": answer(`{"id":"t-17","deleted":true}`),
	})
	cases := []struct {
		args []string
		raw  string
		into any
	}{
		{[]string{"task", "create", "do it", "--json"}, fakeTask, &apiTask{}},
		{[]string{"--json", "task", "list"}, list, &taskListResult{}},
		{[]string{"task", "claim", "--json"}, `{"tasks":[` + fakeTask + `]}`, &taskClaimResult{}},
		{[]string{"task", "delete", "t-17", "--json"}, `{"id":"t-17","deleted":true}`, &taskDeleteResult{}},
	}
	for _, c := range cases {
		out, errOut, code := runTaskCLI(c.args...)
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
	var task apiTask
	_ = json.Unmarshal([]byte(fakeTask), &task)
	if task.ID != "t-17" || task.Priority != 70 || task.Version != 2 || !task.CreatedAt.Equal(time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)) || string(task.Metadata) != `{"b":1,"a":2}` {
		t.Errorf("task = %+v", task)
	}
}

func TestTaskErrorsExitCodes(t *testing.T) {
	newTaskFake(t, map[string]func(json.RawMessage) (json.RawMessage, error){
		"task.get": func(json.RawMessage) (json.RawMessage, error) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "task t-9 not found")
		},
		"task.complete": func(json.RawMessage) (json.RawMessage, error) {
			return nil, protocol.Errorf(protocol.CodeConflict, "task t-9 is assigned to someone else")
		},
	})
	out, errOut, code := runTaskCLI("task", "get", "t-9")
	if code != 7 || out != "" || !strings.Contains(errOut, "task t-9 not found") {
		t.Errorf("get: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code = runTaskCLI("task", "complete", "t-9"); code != 8 || !strings.Contains(errOut, "someone else") {
		t.Errorf("complete: exit %d, stderr %q", code, errOut)
	}
	// A method nobody serves.
	if _, errOut, code = runTaskCLI("task", "delete", "t-9"); code != 3 || !strings.Contains(errOut, "unknown method") {
		t.Errorf("delete: exit %d, stderr %q", code, errOut)
	}
}

func TestTaskClaim(t *testing.T) {
	var mu sync.Mutex
	var available []string // tasks the fake hands out, one per claim
	f := newTaskFake(t, map[string]func(json.RawMessage) (json.RawMessage, error){
		"task.claim": func(json.RawMessage) (json.RawMessage, error) {
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
		for _, c := range f.callLog() {
			if c.Method == "task.claim" {
				n++
			}
		}
		return n
	}

	t.Run("empty", func(t *testing.T) {
		out, errOut, code := runTaskCLI("task", "claim", "--worker", "w1", "--max", "2")
		if code != 0 || out != "" || errOut != "no pending task\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		calls := f.callLog()
		jsonEq(t, calls[len(calls)-1].Params, `{"workerId":"w1","maxTasks":2}`)
		out, errOut, code = runTaskCLI("task", "claim", "--json")
		if code != 0 || out != "{\n  \"tasks\": []\n}\n" || errOut != "no pending task\n" {
			t.Fatalf("--json: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		calls = f.callLog()
		jsonEq(t, calls[len(calls)-1].Params, `{"workerId":"`+defaultWorkerID()+`","maxTasks":1}`)
	})

	t.Run("wait timeout", func(t *testing.T) {
		before := claims()
		start := time.Now()
		out, errOut, code := runTaskCLI("task", "claim", "--wait", "--wait-timeout", "1300ms")
		took := time.Since(start)
		if code != 6 || out != "" || !strings.Contains(errOut, "no task within 1.3s") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if took < 1300*time.Millisecond || took > 4*time.Second {
			t.Errorf("returned after %s, want about 1.3s", took)
		}
		if n := claims() - before; n != 1 {
			t.Errorf("%d claims while waiting: it polls", n)
		}
	})

	t.Run("stale tokens do not reach cbd", func(t *testing.T) {
		// Tokens of tasks somebody else already took: the queue is empty.
		f.rdb.LPush(ctx, protocol.QueueNotifyKey, "t-1", "t-2", "t-3")
		before := claims()
		_, _, code := runTaskCLI("task", "claim", "--wait", "--wait-timeout", "300ms")
		if code != 6 {
			t.Fatalf("exit %d", code)
		}
		if n := claims() - before; n != 1 {
			t.Errorf("%d claims for stale tokens", n)
		}
		if n := f.rdb.LLen(ctx, protocol.QueueNotifyKey).Val(); n != 0 {
			t.Errorf("%d tokens left", n)
		}
	})

	t.Run("woken by a new task", func(t *testing.T) {
		before := claims()
		go func() {
			time.Sleep(400 * time.Millisecond)
			mu.Lock()
			available = append(available, fakeTask)
			mu.Unlock()
			// What create.lua does: queue the task, push a token.
			f.rdb.ZAdd(ctx, protocol.QueueTasksKey, redis.Z{Score: -70, Member: "t-17"})
			f.rdb.LPush(ctx, protocol.QueueNotifyKey, "t-17")
		}()
		start := time.Now()
		out, errOut, code := runTaskCLI("task", "claim", "--wait", "--wait-timeout", "10s")
		took := time.Since(start)
		if code != 0 || out != "claimed t-17 (priority 70): do it\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if took < 400*time.Millisecond || took > 3*time.Second {
			t.Errorf("claimed after %s, want soon after 400ms", took)
		}
		if n := claims() - before; n != 2 {
			t.Errorf("%d claims, want 2 (before and after the wake-up)", n)
		}
	})

	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		start := time.Now()
		_, err := blockPop(ctx, f.rdb, protocol.QueueNotifyKey, 10*time.Second)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 130 || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
	})
}

func TestDefaultWorkerID(t *testing.T) {
	w := defaultWorkerID()
	if w == "" || strings.ContainsAny(w, " \t\n") || !strings.Contains(w, "@") || len(w) > 200 {
		t.Fatalf("default worker %q is not a valid instance id", w)
	}
	if defaultWorkerID() != w {
		t.Fatal("not stable")
	}
}
