package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	goredis "github.com/redis/go-redis/v9"
)

// scaleConfig is what one scale run measures: a fresh redis-server, store
// and cbd per size, filled before cbd starts.
type scaleConfig struct {
	Sizes   []int // tasks in the store at each step (the first is the baseline)
	Pending int   // at most this many of them pending; the rest finished
	Events  int   // events across the streams at the largest size
	Runs    int   // samples of each operation per size, at most
	Budget  time.Duration
}

// scaleConfigFromEnv is the sizes unless CB_SCALE_SIZES,
// CB_SCALE_PENDING, CB_SCALE_EVENTS, CB_SCALE_RUNS or CB_SCALE_BUDGET say
// otherwise (a smoke run: CB_SCALE_SIZES=0,20000 CB_SCALE_EVENTS=100000).
func scaleConfigFromEnv(tb testing.TB) scaleConfig {
	c := scaleConfig{Sizes: []int{0, 100_000, 1_000_000}, Pending: 100_000, Events: 10_000_000, Runs: 50, Budget: 30 * time.Second}
	if v := os.Getenv("CB_SCALE_SIZES"); v != "" {
		c.Sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				tb.Fatalf("CB_SCALE_SIZES=%q: want comma-separated task counts", v)
			}
			c.Sizes = append(c.Sizes, n)
		}
	}
	for name, dst := range map[string]*int{"CB_SCALE_PENDING": &c.Pending, "CB_SCALE_EVENTS": &c.Events, "CB_SCALE_RUNS": &c.Runs} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				tb.Fatalf("%s=%q: want a count", name, v)
			}
			*dst = n
		}
	}
	if v := os.Getenv("CB_SCALE_BUDGET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			tb.Fatalf("CB_SCALE_BUDGET=%q: %v", v, err)
		}
		c.Budget = d
	}
	return c
}

// scaleOp is one timed operation on one transport. run returns how long
// the operation took, timed around the request alone.
type scaleOp struct {
	name, transport string
	run             func() (time.Duration, error)
}

// scaleResult is what one size measured.
type scaleResult struct {
	size, pending, events int
	fill                  time.Duration
	medians               map[string]time.Duration // transport/op
	samples               map[string]int
	errs                  map[string]int    // failed samples (timed to the failure)
	firstErr              map[string]string // the first failure's message
	rssKB                 int64
	redisBytes            int64
}

// scaleEnv is one size's redis-server, store file and cbd.
type scaleEnv struct {
	tb       testing.TB
	size     int
	r        *testenv.Redis
	rdb      *goredis.Client
	h        *testenv.Home
	d        *testenv.Daemon
	addr     string
	token    string
	hc       *http.Client
	hookIns  [][]byte
	seq      atomic.Int64
	mu       sync.Mutex
	lastID   string   // the task last created (a get reads it)
	claimed  []string // tasks claimed and not yet completed, per transport
	claimedH []string
}

// Filled task rows carry one of these sessions and assignees.
var scaleSessions = []string{"scale-s0", "scale-s1", "scale-s2", "scale-s3", "scale-s4", "scale-s5", "scale-s6", "scale-s7"}

// fillScaleEnv starts a redis-server and fills it and a SQLite store with
// size tasks (pending of them pending, made by the task create script as
// task.create makes them, the rest finished rows written straight to the
// store) and events stream entries over the last 23 hours, then starts cbd
// on both and waits until it has restored (looked at) the pending tasks.
func fillScaleEnv(tb testing.TB, size, pending, events int) (*scaleEnv, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	e := &scaleEnv{tb: tb, size: size, r: testenv.NewRedis(tb), hc: httpClient()}
	e.rdb = e.r.Client(tb, testenv.PoolSize(64))
	dir := tb.TempDir()
	dbPath := filepath.Join(dir, "store.db")
	st, err := store.Open(ctx, "sqlite://"+dbPath, "")
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	pending = min(pending, size)
	e.fillPending(ctx, st, pending)
	tPending := time.Since(start)
	t0 := time.Now()
	e.fillFinished(ctx, st, size-pending)
	tFinished := time.Since(t0)
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
	t0 = time.Now()
	e.fillEvents(ctx, events)
	tEvents := time.Since(t0)
	fill := time.Since(start)
	rate := func(n int, d time.Duration) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f/s", float64(n)/d.Seconds())
	}
	fmt.Printf("scale fill %d tasks: %d pending in %v (%s), %d finished in %v (%s), %d events in %v (%s)\n",
		size, pending, tPending.Round(time.Millisecond), rate(pending, tPending),
		size-pending, tFinished.Round(time.Millisecond), rate(size-pending, tFinished),
		events, tEvents.Round(time.Millisecond), rate(events, tEvents))

	e.addr = testenv.FreeAddr(tb)
	tokenFile := filepath.Join(dir, "http.token")
	e.h = testenv.NewHome(tb, "CB_REDIS_URL="+e.r.URL(), "CB_STORE_URL=sqlite://"+dbPath, "CB_HANDLERS_RATE_LIMIT=0",
		"CB_HTTP_ADDR="+e.addr, "CB_HTTP_TOKEN_FILE="+tokenFile)
	e.d = testenv.StartDaemon(tb, bin, e.h, []string{"CB_INSTANCE_ID=cbd-scale"})
	waitHTTPServing(tb, e.addr, e.d)
	e.token = httpReadToken(tb, tokenFile)
	// cbd restores the store's pending tasks Redis lacks (none here) in
	// the background and then sets the data marker: measure after that.
	deadline := time.Now().Add(10 * time.Minute)
	for e.rdb.Exists(ctx, protocol.DataMarkerKey).Val() == 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("cbd did not finish restoring tasks in 10 minutes:\n%s", e.d.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The fill is what the size says: the store holds every task, the
	// queue the pending ones.
	_, res, err := e.rpc(rpcSpec{"task.list", map[string]any{"limit": 1}})
	if err != nil {
		tb.Fatal(err)
	}
	var page struct{ TotalCount int }
	if err := json.Unmarshal(res[0], &page); err != nil || page.TotalCount != size {
		tb.Fatalf("after the fill task.list counts %d tasks (%v), want %d", page.TotalCount, err, size)
	}
	if q := e.rdb.ZCard(ctx, protocol.QueueTasksKey).Val(); q != int64(pending) {
		tb.Fatalf("after the fill the queue holds %d tasks, want %d", q, pending)
	}
	in, err := readFixture("pre_tool_typical.json")
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 32 {
		e.hookIns = append(e.hookIns, bytes.ReplaceAll(in, []byte("9f3c2a4e-1b7d-4c55-8e2a-3d6f0b1c2e4f"), fmt.Appendf(nil, "scale-session-%02d", i)))
	}
	return e, fill
}

// fillPending makes n pending tasks with the task create script (as
// task.create does, through tasks.Service with a batcher, 64 at a time)
// and writes their rows to the store 10,000 a transaction. The task.created
// entries the script adds are dropped afterwards: the event fill stands
// for the history, and a catch-up must not find 100k events of one minute.
func (e *scaleEnv) fillPending(ctx context.Context, st store.Store, n int) {
	if n == 0 {
		return
	}
	svc := tasks.New(e.rdb, nil, nil, tasks.Config{Source: "scale-fill", Batch: redisbatch.New(e.rdb, 4, 0)},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	rows := make(chan store.Task, 20_000)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				meta, _ := json.Marshal(map[string]any{"sessionId": scaleSessions[i%len(scaleSessions)], "source": "scale"})
				raw, err := svc.Create(ctx, "", api.TaskCreateParams{Text: fmt.Sprintf("scale pending task %d: refactor the module and run the tests", i), Metadata: meta})
				var t store.Task
				if err == nil {
					err = json.Unmarshal(raw, &t)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				rows <- t
			}
		})
	}
	go func() { wg.Wait(); close(rows) }()
	e.upsert(ctx, st, rows)
	if firstErr != nil {
		e.tb.Fatalf("fill pending tasks: %v", firstErr)
	}
	if err := e.rdb.Del(ctx, protocol.StreamKey("task.created")).Err(); err != nil {
		e.tb.Fatal(err)
	}
}

// upsert writes rows to the store 10,000 a transaction.
func (e *scaleEnv) upsert(ctx context.Context, st store.Store, rows <-chan store.Task) {
	batch := make([]store.Task, 0, 10_000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := st.TaskUpsertMany(ctx, batch); err != nil {
			e.tb.Fatalf("TaskUpsertMany: %v", err)
		}
		batch = batch[:0]
	}
	for t := range rows {
		if batch = append(batch, t); len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// fillFinished writes n finished tasks (4 in 5 completed, the rest failed,
// across the sessions and four workers) straight to the store, created and
// finished over the last 60 days (inside tasks.history_retention).
func (e *scaleEnv) fillFinished(ctx context.Context, st store.Store, n int) {
	if n == 0 {
		return
	}
	rows := make(chan store.Task, 20_000)
	go func() {
		defer close(rows)
		now := time.Now().UTC()
		base := now.Add(-60 * 24 * time.Hour)
		step := 60 * 24 * time.Hour / time.Duration(n)
		for i := range n {
			created := base.Add(time.Duration(i) * step).Truncate(time.Millisecond)
			updated := created.Add(90 * time.Second)
			ms := created.UnixMilli()
			t := store.Task{Task: api.Task{
				ID:         fmt.Sprintf("t-%d", ms*1_000_000+int64(i%1_000_000)),
				Text:       fmt.Sprintf("scale finished task %d: refactor the module and run the tests", i),
				Priority:   50,
				AssignedTo: fmt.Sprintf("scale-worker-%d", i%4),
				Attempts:   1,
				Version:    3,
				Metadata:   json.RawMessage(`{"sessionId":"` + scaleSessions[i%len(scaleSessions)] + `","source":"scale"}`),
				CreatedAt:  api.TimeOf(created),
				UpdatedAt:  api.TimeOf(updated),
			}}
			if i%5 == 4 {
				t.Status, t.Error = store.StatusFailed, "exit status 1: tests failed"
			} else {
				t.Status, t.Result = store.StatusCompleted, json.RawMessage(`{"ok":true,"summary":"done"}`)
			}
			rows <- t
		}
	}()
	e.upsert(ctx, st, rows)
}

// scaleStreams is the event mix of a working day: each tool call leaves a
// hook request (pre and post) and a decision; tasks leave their events.
// The envelopes are the ones cb and cbd write, 300-650 bytes.
var scaleStreams = []struct {
	typ    string
	weight int
	tpl    string // %[1]s session, %[2]d ms, %[3]d sequence
}{
	{"hook.pre_tool", 30, `{"type":"hook.pre_tool","payload":{"session_id":"%[1]s","transcript_path":"/home/user/.claude/projects/-home-user-proj/%[1]s.jsonl","cwd":"/home/user/proj","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"go test ./... -count=1","description":"Run the tests"},"tool_use_id":"toolu_%[3]d"},"metadata":{"id":"ev-%[3]d","timestamp":%[2]d,"source":"cb-hook","sessionId":"%[1]s","correlationId":"ev-%[3]d","deadline":%[2]d}}`},
	{"hook.post_tool", 25, `{"type":"hook.post_tool","payload":{"session_id":"%[1]s","cwd":"/home/user/proj","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"go test ./... -count=1"},"tool_response":{"stdout":"ok","stderr":"","interrupted":false},"tool_use_id":"toolu_%[3]d"},"metadata":{"id":"ev-%[3]d","timestamp":%[2]d,"source":"cb-hook","sessionId":"%[1]s","correlationId":"ev-%[3]d","deadline":%[2]d}}`},
	{"hook.decision", 30, `{"type":"hook.decision","payload":{"id":"ev-%[3]d","time":"2026-01-01T00:00:00.000Z","sessionId":"%[1]s","event":"hook.pre_tool","tool":"Bash","decision":"none","latencyMicros":350,"instanceId":"cbd-scale"},"metadata":{"id":"ev-%[3]d/decision","timestamp":%[2]d,"source":"cbd-scale","sessionId":"%[1]s"}}`},
	{"task.created", 5, `{"type":"task.created","payload":{"id":"t-%[2]d000001","text":"scale task %[3]d: refactor the module","status":"pending","priority":50,"attempts":0,"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","version":1,"metadata":{"sessionId":"%[1]s"}},"metadata":{"id":"ev-%[3]d/task.created/1","timestamp":%[2]d,"source":"cbd-scale"}}`},
	{"task.claimed", 5, `{"type":"task.claimed","payload":{"id":"t-%[2]d000001","text":"scale task %[3]d: refactor the module","status":"in_progress","priority":50,"attempts":1,"assignedTo":"scale-worker","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","version":2},"metadata":{"id":"ev-%[3]d/task.claimed/1","timestamp":%[2]d,"source":"cbd-scale"}}`},
	{"task.completed", 5, `{"type":"task.completed","payload":{"id":"t-%[2]d000001","text":"scale task %[3]d: refactor the module","status":"completed","priority":50,"attempts":1,"assignedTo":"scale-worker","result":{"ok":true},"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","version":3},"metadata":{"id":"ev-%[3]d/task.completed/1","timestamp":%[2]d,"source":"cbd-scale"}}`},
}

// fillEvents adds n entries across scaleStreams, pipelined 10,000 at a
// time, with ids spread evenly over the last 23 hours to 10 seconds ago
// (inside events.retention, so cbd's trimming keeps them). The request
// streams cbd reads get their consumer group at the end, as a cbd that
// served them all would have left it.
func (e *scaleEnv) fillEvents(ctx context.Context, n int) {
	if n == 0 {
		return
	}
	total := 0
	for _, s := range scaleStreams {
		total += s.weight
	}
	end := time.Now().Add(-10 * time.Second).UnixMilli()
	begin := end - (23 * time.Hour).Milliseconds()
	var wg sync.WaitGroup
	var failed atomic.Value
	for k, s := range scaleStreams {
		count := n * s.weight / total
		if k == len(scaleStreams)-1 {
			count = n - n*(total-s.weight)/total
		}
		key := protocol.StreamKey(s.typ)
		wg.Go(func() {
			pipe := e.rdb.Pipeline()
			for i := range count {
				ms := begin + int64(i)*(end-begin)/int64(max(count, 1))
				sess := scaleSessions[i%len(scaleSessions)]
				pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-%d", ms, i),
					Values: []any{protocol.StreamField, fmt.Sprintf(s.tpl, sess, ms, i)}})
				if pipe.Len() == 10_000 || i == count-1 {
					if _, err := pipe.Exec(ctx); err != nil {
						failed.Store(fmt.Errorf("XADD %s: %w", key, err))
						return
					}
				}
			}
			if strings.HasPrefix(s.typ, "hook.") && s.typ != "hook.decision" {
				if err := e.rdb.XGroupCreateMkStream(ctx, key, protocol.GroupName, "$").Err(); err != nil {
					failed.Store(fmt.Errorf("XGROUP CREATE %s: %w", key, err))
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		e.tb.Fatal(err)
	}
}

// cli runs cb with args and returns how long it took and its stdout.
func (e *scaleEnv) cli(stdin []byte, args ...string) (time.Duration, string, error) {
	cmd := exec.Command(bin.CB, args...)
	cmd.Env = e.h.Env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return el, "", fmt.Errorf("cb %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return el, out.String(), nil
}

// post sends one request to cbd's HTTP server on the kept-alive client.
func (e *scaleEnv) post(method, path string, body []byte, auth string) (time.Duration, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+e.addr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", auth)
	start := time.Now()
	resp, err := e.hc.Do(req)
	if err != nil {
		return time.Since(start), nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(start)
	if err != nil {
		return el, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return el, nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return el, out, nil
}

// rpc makes one JSON-RPC call (or a batch, when calls has several) over
// POST /rpc and fails on any error answer.
func (e *scaleEnv) rpc(calls ...rpcSpec) (time.Duration, []json.RawMessage, error) {
	var reqs []map[string]any
	for i, c := range calls {
		reqs = append(reqs, map[string]any{"jsonrpc": "2.0", "id": i + 1, "method": c.method, "params": c.params})
	}
	var body []byte
	if len(reqs) == 1 {
		body, _ = json.Marshal(reqs[0])
	} else {
		body, _ = json.Marshal(reqs)
	}
	el, out, err := e.post(http.MethodPost, "/rpc", body, "Bearer "+e.token)
	if err != nil {
		return el, nil, err
	}
	var replies []rpcReply
	if len(reqs) == 1 {
		var r rpcReply
		err = json.Unmarshal(out, &r)
		replies = []rpcReply{r}
	} else {
		err = json.Unmarshal(out, &replies)
	}
	if err != nil || len(replies) != len(reqs) {
		return el, nil, fmt.Errorf("POST /rpc %s: answer %.300s (%v)", body, out, err)
	}
	results := make([]json.RawMessage, len(replies))
	for i, r := range replies {
		if r.Error != nil {
			return el, nil, fmt.Errorf("POST /rpc %s: error %d %s", calls[i].method, r.Error.Code, r.Error.Message)
		}
		results[i] = r.Result
	}
	return el, results, nil
}

type rpcSpec struct {
	method string
	params any
}

// lastEventID is the newest entry id across the streams of types, "" if
// none.
func (e *scaleEnv) lastEventID(types []string) string {
	last := ""
	for _, t := range types {
		msgs, err := e.rdb.XRevRangeN(context.Background(), protocol.StreamKey(t), "+", "-", 1).Result()
		if err == nil && len(msgs) > 0 && (last == "" || protocol.CompareStreamIDs(msgs[0].ID, last) > 0) {
			last = msgs[0].ID
		}
	}
	return last
}

// tailCatchUp runs `cb events tail 'task.*' --since 1m --json` and times it
// until it has printed the newest task.* entry there was when it started
// (the end of the catch-up); then it stops the process.
func (e *scaleEnv) tailCatchUp() (time.Duration, error) {
	var types []string
	iter := e.rdb.Scan(context.Background(), 0, protocol.StreamKeyPrefix+"task.*", 1000).Iterator()
	for iter.Next(context.Background()) {
		types = append(types, strings.TrimPrefix(iter.Val(), protocol.StreamKeyPrefix))
	}
	want := e.lastEventID(types)
	if want == "" {
		return 0, fmt.Errorf("no task.* event to catch up to")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.CB, "events", "tail", "task.*", "--since", "1m", "--json")
	cmd.Env = e.h.Env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	needle := `"id":"` + want + `"`
	lines := 0
	for sc.Scan() {
		lines++
		if strings.Contains(sc.Text(), needle) {
			return time.Since(start), nil
		}
	}
	return time.Since(start), fmt.Errorf("cb events tail ended after %d lines without %s: %s", lines, want, errb.String())
}

// ops are the operations timed at every size, CLI processes first, then
// JSON-RPC over HTTP; a claim takes the queue head and the next complete
// finishes what that transport claimed.
func (e *scaleEnv) ops(cliSession bool) []scaleOp {
	text := func() string { return fmt.Sprintf("scale op task %d", e.seq.Add(1)) }
	meta := `{"sessionId":"scale-s1","source":"scale-op"}`
	hookCred := "Bearer " + apitoken.HookCredential(e.token)
	var hookN atomic.Int64
	var ops []scaleOp
	add := func(name, transport string, run func() (time.Duration, error)) {
		ops = append(ops, scaleOp{name: name, transport: transport, run: run})
	}
	cliOut := func(args ...string) func() (time.Duration, error) {
		return func() (time.Duration, error) { d, _, err := e.cli(nil, args...); return d, err }
	}
	rpc1 := func(method string, params any) func() (time.Duration, error) {
		return func() (time.Duration, error) { d, _, err := e.rpc(rpcSpec{method, params}); return d, err }
	}
	take := func(list *[]string) (string, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if len(*list) == 0 {
			return "", fmt.Errorf("nothing claimed to complete")
		}
		id := (*list)[0]
		*list = (*list)[1:]
		return id, nil
	}
	getID := func() string { e.mu.Lock(); defer e.mu.Unlock(); return e.lastID }

	// CLI processes.
	add("hook pre_tool", "cli", func() (time.Duration, error) {
		d, _, err := e.cli(e.hookIns[hookN.Add(1)%int64(len(e.hookIns))], "hook", "pre_tool")
		return d, err
	})
	add("task create", "cli", func() (time.Duration, error) {
		d, out, err := e.cli(nil, "task", "create", "-q", "--metadata", meta, text())
		if err == nil {
			e.mu.Lock()
			e.lastID = strings.TrimSpace(out)
			e.mu.Unlock()
		}
		return d, err
	})
	add("task claim", "cli", func() (time.Duration, error) {
		d, out, err := e.cli(nil, "task", "claim", "-q", "--worker", "scale-cli")
		if err == nil {
			id := strings.TrimSpace(out)
			if id == "" {
				return d, fmt.Errorf("cb task claim: queue empty")
			}
			e.mu.Lock()
			e.claimed = append(e.claimed, id)
			e.mu.Unlock()
		}
		return d, err
	})
	add("task complete", "cli", func() (time.Duration, error) {
		id, err := take(&e.claimed)
		if err != nil {
			return 0, err
		}
		d, _, err := e.cli(nil, "task", "complete", id, "--worker", "scale-cli", "--result", `{"ok":true}`)
		return d, err
	})
	add("task list", "cli", cliOut("task", "list", "--limit", "50"))
	add("task list pending", "cli", cliOut("task", "list", "--status", "pending", "--limit", "50"))
	add("task list completed", "cli", cliOut("task", "list", "--status", "completed", "--limit", "50"))
	if cliSession {
		add("task list session", "cli", cliOut("task", "list", "--session", "scale-s1", "--limit", "50"))
	}
	add("task get", "cli", func() (time.Duration, error) { d, _, err := e.cli(nil, "task", "get", getID()); return d, err })
	add("events get", "cli", cliOut("events", "get", "task.created", "--limit", "100"))
	add("events tail catch-up", "cli", e.tailCatchUp)

	// JSON-RPC over HTTP (the http hook for the decision).
	add("hook pre_tool", "http", func() (time.Duration, error) {
		d, _, err := e.post(http.MethodPost, "/hooks/pre_tool", e.hookIns[hookN.Add(1)%int64(len(e.hookIns))], hookCred)
		return d, err
	})
	add("task create", "http", func() (time.Duration, error) {
		d, res, err := e.rpc(rpcSpec{"task.create", map[string]any{"text": text(), "metadata": json.RawMessage(meta)}})
		if err == nil {
			var t struct{ ID string }
			_ = json.Unmarshal(res[0], &t)
			e.mu.Lock()
			e.lastID = t.ID
			e.mu.Unlock()
		}
		return d, err
	})
	add("task claim", "http", func() (time.Duration, error) {
		d, res, err := e.rpc(rpcSpec{"task.claim", map[string]any{"workerId": "scale-http", "maxTasks": 1}})
		if err != nil {
			return d, err
		}
		var c struct{ Tasks []struct{ ID string } }
		if err := json.Unmarshal(res[0], &c); err != nil || len(c.Tasks) != 1 {
			return d, fmt.Errorf("task.claim: %s (%v)", res[0], err)
		}
		e.mu.Lock()
		e.claimedH = append(e.claimedH, c.Tasks[0].ID)
		e.mu.Unlock()
		return d, nil
	})
	add("task complete", "http", func() (time.Duration, error) {
		id, err := take(&e.claimedH)
		if err != nil {
			return 0, err
		}
		d, _, err := e.rpc(rpcSpec{"task.complete", map[string]any{"id": id, "workerId": "scale-http", "result": map[string]any{"ok": true}}})
		return d, err
	})
	add("task list", "http", rpc1("task.list", map[string]any{"limit": 50}))
	add("task list pending", "http", rpc1("task.list", map[string]any{"status": "pending", "limit": 50}))
	add("task list completed", "http", rpc1("task.list", map[string]any{"status": "completed", "limit": 50}))
	add("task list session", "http", rpc1("task.list", map[string]any{"session": "scale-s1", "limit": 50}))
	add("task get", "http", func() (time.Duration, error) {
		d, _, err := e.rpc(rpcSpec{"task.get", map[string]any{"id": getID()}})
		return d, err
	})
	add("dashboard first load", "http", e.dashboardLoad)
	return ops
}

// dashboardLoad is what a browser opening the dashboard asks for, one
// after another: the page, app.js, and the calls app.js makes on load
// (loadTasks' task.list batch, system.health, system.metrics and
// loadAudit's audit.list batch, with the same params).
func (e *scaleEnv) dashboardLoad() (time.Duration, error) {
	var total time.Duration
	auth := "Bearer " + e.token
	for _, p := range []string{"/", "/app.js"} {
		d, _, err := e.post(http.MethodGet, p, nil, auth)
		total += d
		if err != nil {
			return total, err
		}
	}
	// app.js COLUMNS (page sizes 100, 100, FINISHED_CARDS), AUDIT_RECORDS, DENIALS.
	const finishedCards, auditRecords, denials = 60, 500, 12
	for _, calls := range [][]rpcSpec{
		{
			{"task.list", map[string]any{"status": "pending", "limit": 100, "orderBy": "queue"}},
			{"task.list", map[string]any{"status": "in_progress", "limit": 100, "orderBy": "updatedAt", "order": "desc"}},
			{"task.list", map[string]any{"status": "completed", "limit": finishedCards, "orderBy": "updatedAt", "order": "desc"}},
			{"task.list", map[string]any{"status": "failed", "limit": finishedCards, "orderBy": "updatedAt", "order": "desc"}},
		},
		{{"system.health", map[string]any{}}},
		{{"system.metrics", map[string]any{}}},
		{{"audit.list", map[string]any{"limit": auditRecords}}, {"audit.list", map[string]any{"decision": "deny", "limit": denials}}},
	} {
		d, _, err := e.rpc(calls...)
		total += d
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// redisUsedMemory is INFO memory's used_memory.
func redisUsedMemory(tb testing.TB, rdb *goredis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// measure runs every op at every size in rounds, interleaved (op after
// op, size after size, so that a busy moment of the shared machine weighs
// on all alike), up to cfg.Runs samples each; an op stops sampling at a
// size once it has used cfg.Budget there and has 5 samples. envOps[s] are
// the ops of size s, in the same order at every size. A failure at the
// first size (the empty case) is the harness's and fails the run; at the
// others it is a finding (a list that no longer fits in cbd's deadline):
// the sample is timed to the failure, a lower bound, and counted in errs.
func measure(tb testing.TB, envs []*scaleEnv, envOps [][]scaleOp, cfg scaleConfig, results []scaleResult) {
	for s := range results {
		results[s].medians, results[s].samples = map[string]time.Duration{}, map[string]int{}
		results[s].errs, results[s].firstErr = map[string]int{}, map[string]string{}
	}
	sample := func(s, i int, warm bool) time.Duration {
		op := envOps[s][i]
		d, err := op.run()
		if err == nil {
			return d
		}
		if s == 0 {
			tb.Fatalf("size %d: %s %s: %v\ncbd log:\n%s", envs[s].size, op.transport, op.name, err, envs[s].d.Log)
		}
		k := op.transport + "/" + op.name
		if _, seen := results[s].firstErr[k]; !seen {
			results[s].firstErr[k] = err.Error()
		}
		if !warm {
			results[s].errs[k]++
		}
		return d
	}
	// Warm the page cache, the script cache and the connections.
	for range 2 {
		for s, ops := range envOps {
			for i := range ops {
				sample(s, i, true)
			}
		}
	}
	samples := make([][][]time.Duration, len(envs))
	spent := make([][]time.Duration, len(envs))
	for s := range envs {
		samples[s] = make([][]time.Duration, len(envOps[s]))
		spent[s] = make([]time.Duration, len(envOps[s]))
	}
	for range cfg.Runs {
		for i := range envOps[0] {
			for s := range envOps {
				if len(samples[s][i]) >= 5 && spent[s][i] >= cfg.Budget {
					continue
				}
				d := sample(s, i, false)
				samples[s][i] = append(samples[s][i], d)
				spent[s][i] += d
			}
		}
	}
	for s, ops := range envOps {
		for i, op := range ops {
			results[s].medians[op.transport+"/"+op.name] = median(samples[s][i])
			results[s].samples[op.transport+"/"+op.name] = len(samples[s][i])
		}
	}
}

// runScale fills an environment per size (all of them live at once, so
// that the operations can be timed interleaved), measures them and
// returns the results, one per size.
func runScale(tb testing.TB, cfg scaleConfig) ([]scaleResult, []scaleOp) {
	largest := 0
	for _, s := range cfg.Sizes {
		largest = max(largest, s)
	}
	help, err := exec.Command(bin.CB, "task", "list", "--help").CombinedOutput()
	if err != nil {
		tb.Fatalf("cb task list --help: %v %s", err, help)
	}
	cliSession := bytes.Contains(help, []byte("--session"))
	var envs []*scaleEnv
	var envOps [][]scaleOp
	var results []scaleResult
	for _, size := range cfg.Sizes {
		events := 0
		if size == largest && size > 0 {
			events = cfg.Events
		}
		e, fill := fillScaleEnv(tb, size, cfg.Pending, events)
		envs = append(envs, e)
		envOps = append(envOps, e.ops(cliSession))
		results = append(results, scaleResult{size: size, pending: min(size, cfg.Pending), events: events, fill: fill})
	}
	measure(tb, envs, envOps, cfg, results)
	// Let cbd's garbage collector settle before reading its RSS.
	time.Sleep(3 * time.Second)
	for s, e := range envs {
		r := &results[s]
		r.rssKB, r.redisBytes = rssKB(e.d.Cmd.Process.Pid), redisUsedMemory(tb, e.rdb)
		e.d.Kill()
		e.r.Close()
	}
	return results, envOps[0]
}

// scaleTable formats one transport's medians per size with each one's
// ratio to the first size, and returns the worst ratio.
func scaleTable(results []scaleResult, ops []scaleOp, transport string) (string, float64) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-22s", transport+" (median ms)")
	for _, r := range results {
		fmt.Fprintf(&sb, " | %26s", fmt.Sprintf("%d tasks", r.size))
	}
	sb.WriteString("\n")
	worst := 0.0
	for _, op := range ops {
		if op.transport != transport {
			continue
		}
		k := transport + "/" + op.name
		fmt.Fprintf(&sb, "%-22s", op.name)
		base := results[0].medians[k]
		for i, r := range results {
			m := r.medians[k]
			cell := fmt.Sprintf("%.2f", ms(m))
			if i > 0 && base > 0 {
				ratio := float64(m) / float64(base)
				worst = max(worst, ratio)
				cell += fmt.Sprintf(" (x%.2f)", ratio)
			}
			cell += fmt.Sprintf(" n=%d", r.samples[k])
			if r.errs[k] > 0 {
				cell += fmt.Sprintf(" FAILED %d", r.errs[k])
			}
			fmt.Fprintf(&sb, " | %26s", cell)
		}
		sb.WriteString("\n")
	}
	return sb.String(), worst
}

// scaleReport prints the tables, the memory figures and the failures, and
// returns the worst ratio over both transports, the largest cbd RSS ratio
// and the number of failed samples.
func scaleReport(w io.Writer, results []scaleResult, ops []scaleOp) (worst, rssRatio float64, failed int) {
	for _, tr := range []string{"cli", "http"} {
		table, wr := scaleTable(results, ops, tr)
		fmt.Fprintln(w, table)
		worst = max(worst, wr)
	}
	fmt.Fprintf(w, "%-22s", "memory")
	for _, r := range results {
		fmt.Fprintf(w, " | %26s", fmt.Sprintf("%d tasks", r.size))
	}
	fmt.Fprintf(w, "\n%-22s", "pending/events")
	for _, r := range results {
		fmt.Fprintf(w, " | %26s", fmt.Sprintf("%d/%d", r.pending, r.events))
	}
	fmt.Fprintf(w, "\n%-22s", "fill time")
	for _, r := range results {
		fmt.Fprintf(w, " | %26s", r.fill.Round(100*time.Millisecond))
	}
	fmt.Fprintf(w, "\n%-22s", "cbd RSS MiB")
	for i, r := range results {
		cell := fmt.Sprintf("%.1f", float64(r.rssKB)/1024)
		if i > 0 && results[0].rssKB > 0 {
			ratio := float64(r.rssKB) / float64(results[0].rssKB)
			rssRatio = max(rssRatio, ratio)
			cell += fmt.Sprintf(" (x%.2f)", ratio)
		}
		fmt.Fprintf(w, " | %26s", cell)
	}
	fmt.Fprintf(w, "\n%-22s", "Redis used_memory MiB")
	for _, r := range results {
		fmt.Fprintf(w, " | %26s", fmt.Sprintf("%.1f", float64(r.redisBytes)/(1<<20)))
	}
	fmt.Fprintf(w, "\nworst ratio to the empty case: x%.2f (target <= 1.5); cbd RSS x%.2f (target: flat)\n", worst, rssRatio)
	for _, r := range results {
		for _, op := range ops {
			k := op.transport + "/" + op.name
			failed += r.errs[k]
			if msg, ok := r.firstErr[k]; ok {
				fmt.Fprintf(w, "FAILED at %d tasks, %s (%d of %d samples; a failed sample is timed to the failure): %s\n",
					r.size, k, r.errs[k], r.samples[k], strings.TrimSpace(msg))
			}
		}
	}
	return worst, rssRatio, failed
}

// scaleBench keeps BenchmarkScale's figures: the testing package calls a
// benchmark function more than once (b.N = 1, then the -benchtime count),
// and the scale run is done once and reported each time.
var scaleBench struct {
	once          sync.Once
	worst, rss    float64
	failedSamples int
	failed        bool
}

// BenchmarkScale times the operations of a working day (hook decision,
// task create/claim/complete, list first page, list by status and by
// session, get, events get and the `cb events tail` catch-up, dashboard
// first load) as cb processes and as JSON-RPC over HTTP on a kept-alive
// connection, against a cbd whose store holds 0, 100k (all pending) and 1M
// tasks (100k pending, the rest finished) with 10M events across the
// streams at the largest size. It prints a table per transport of the
// medians and their ratio to the empty case, and cbd's RSS and Redis's
// used_memory at each size. Targets (issue 16): every ratio <= 1.5, cbd
// RSS flat. It does its own repetitions (CB_SCALE_RUNS, 50 by default,
// with a time budget per operation, CB_SCALE_BUDGET) whatever b.N is;
// CB_SCALE_SIZES, CB_SCALE_PENDING and CB_SCALE_EVENTS make a cheaper run.
func BenchmarkScale(b *testing.B) {
	scaleBench.once.Do(func() {
		scaleBench.failed = true
		results, ops := runScale(b, scaleConfigFromEnv(b))
		scaleBench.worst, scaleBench.rss, scaleBench.failedSamples = scaleReport(os.Stdout, results, ops)
		scaleBench.failed = false
	})
	if scaleBench.failed {
		b.Fatal("the scale run failed")
	}
	b.ReportMetric(scaleBench.worst, "worst-ratio")
	b.ReportMetric(scaleBench.rss, "rss-ratio")
	b.ReportMetric(float64(scaleBench.failedSamples), "failed-samples")
	b.ReportMetric(0, "ns/op")
}

// TestScaleHarness runs the whole scale harness at a small size (0 and
// 2,000 tasks, half of them finished, 5,000 events) so that it cannot rot
// between `make bench` runs: every operation must succeed at every size
// and yield a median, and the report must have a figure for each.
func TestScaleHarness(t *testing.T) {
	cfg := scaleConfig{Sizes: []int{0, 2000}, Pending: 1000, Events: 5000, Runs: 3, Budget: time.Second}
	results, ops := runScale(t, cfg)
	var out bytes.Buffer
	worst, rss, failed := scaleReport(&out, results, ops)
	t.Logf("\n%s", out.String())
	if len(results) != 2 || worst <= 0 || rss <= 0 || failed != 0 {
		t.Fatalf("worst ratio %v, RSS ratio %v, %d failed samples over %d sizes", worst, rss, failed, len(results))
	}
	for _, r := range results {
		for _, op := range ops {
			k := op.transport + "/" + op.name
			if r.medians[k] <= 0 || r.samples[k] != cfg.Runs {
				t.Errorf("size %d: %s median %v from %d samples", r.size, k, r.medians[k], r.samples[k])
			}
		}
		if r.rssKB <= 0 || r.redisBytes <= 0 {
			t.Errorf("size %d: cbd RSS %d KiB, Redis %d bytes", r.size, r.rssKB, r.redisBytes)
		}
	}
	big := results[1]
	if big.pending != 1000 || big.events != 5000 {
		t.Fatalf("largest size filled %d pending, %d events", big.pending, big.events)
	}
}
