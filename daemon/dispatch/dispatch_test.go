package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	rpc "github.com/claudebench/cb/protocol/client"
	"github.com/claudebench/cb/scripts/scripttest"
	"github.com/redis/go-redis/v9"
)

var testRedis *testenv.Redis

func TestMain(m *testing.M) { os.Exit(testenv.RedisMain(m, &testRedis)) }

func newClient(t *testing.T) *redis.Client {
	t.Helper()
	c := testRedis.Flushed(t, testenv.PoolSize(64))
	scripttest.Check(t, c) // admit.lua and circuit.lua touch only their KEYS
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// system.version has a schema with an empty input; tests reuse it as the
// method name of their own handler bodies.
const method = "system.version"

type node struct {
	disp   *Dispatcher
	cancel context.CancelFunc
	done   chan struct{}
}

func startNode(t *testing.T, rdb *redis.Client, name string, fn registry.Func, guard *invoke.Guard, rc RecoverConfig) *node {
	t.Helper()
	reg := registry.New()
	reg.Register(registry.Handler{Event: method, Fn: fn})
	inv := invoke.New(reg, testenv.Validator(t), 2*time.Second, quiet)
	if guard != nil {
		inv.SetGuard(guard)
	}
	// A live instance record, as cbd's heartbeat writes.
	rdb.Set(context.Background(), protocol.InstanceKey(name), "1", time.Minute)
	rdb.ZAdd(context.Background(), protocol.ServingKey(method), redis.Z{Score: float64(time.Now().Add(time.Minute).UnixMilli()), Member: name})
	rdb.SAdd(context.Background(), protocol.MethodsKey, method)
	d := New(rdb, inv, []string{method}, Config{Consumer: name, Block: 100 * time.Millisecond, Recover: rc}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{disp: d, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(n.done); _ = d.Run(ctx) }()
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	n.cancel()
	<-n.done
}

func version() registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		return map[string]any{"version": "t", "instanceId": "x", "redisMode": "external"}, nil
	}
}

func TestPoisonGoesToDeadLetter(t *testing.T) {
	rdb := newClient(t)
	var calls atomic.Int32
	poison := func(ctx context.Context, r *registry.Request) (any, error) {
		calls.Add(1)
		panic("poison")
	}
	startNode(t, rdb, "n1", poison, nil, RecoverConfig{ClaimIdle: 100 * time.Millisecond, MaxDeliveries: 3, Retention: time.Hour, Interval: 50 * time.Millisecond})
	cl := rpc.New(rdb, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cl.Call(ctx, method, nil, rpc.Options{})
	if protocol.CodeOf(err) != protocol.CodeInternal {
		t.Fatalf("first answer: %v", err)
	}
	dl := protocol.StreamKey(protocol.DeadLetterStream)
	deadline := time.Now().Add(5 * time.Second)
	for rdb.XLen(ctx, dl).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter; handler ran %d times", calls.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("handler ran %d times, want 3 deliveries", got)
	}
	time.Sleep(500 * time.Millisecond) // no more retries after dead-lettering
	if got := calls.Load(); got != 3 {
		t.Fatalf("retried after dead-lettering: %d runs", got)
	}
	entries := rdb.XRange(ctx, dl, "-", "+").Val()
	ev, err := protocol.DecodeEvent([]byte(entries[0].Values[protocol.StreamField].(string)))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Stream, Error string
		Deliveries    int
		Event         protocol.Event
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.Stream != method || p.Deliveries != 3 || p.Event.Type != method || p.Error == "" {
		t.Fatalf("dead letter %s (%v)", ev.Payload, err)
	}
	if n := rdb.XPending(ctx, protocol.StreamKey(method), protocol.GroupName).Val().Count; n != 0 {
		t.Fatalf("%d entries still pending", n)
	}
}

func TestDeadConsumerEntriesTakenOver(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	stream := protocol.StreamKey(method)
	rdb.XGroupCreateMkStream(ctx, stream, protocol.GroupName, "0")
	cl := rpc.New(rdb, "test")
	// A request read by "dead" (no instance record) and never acknowledged.
	ev, _ := cl.NewEvent(method, nil, "")
	ev.Metadata.CorrelationID = ev.Metadata.ID
	data, _ := protocol.EncodeEvent(ev)
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{protocol.StreamField, data}})
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: protocol.GroupName, Consumer: "dead", Streams: []string{stream, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	fn := func(ctx context.Context, r *registry.Request) (any, error) {
		calls.Add(1)
		return version()(ctx, r)
	}
	startNode(t, rdb, "alive", fn, nil, RecoverConfig{ClaimIdle: 200 * time.Millisecond, MaxDeliveries: 3, Retention: time.Hour, Interval: 50 * time.Millisecond})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := cl.Await(wctx, ev.Metadata.CorrelationID) // the caller still waits
	if err != nil || calls.Load() != 1 {
		t.Fatalf("answer %s, err %v, calls %d", res, err, calls.Load())
	}
	if n := rdb.XPending(ctx, stream, protocol.GroupName).Val().Count; n != 0 {
		t.Fatalf("%d still pending", n)
	}
}

func TestRateLimitAcrossInstances(t *testing.T) {
	rdb := newClient(t)
	g := invoke.GuardConfig{RateLimit: 100}
	var mu sync.Mutex
	var admitted []time.Time // when the handler ran, right after admission
	fn := func(ctx context.Context, r *registry.Request) (any, error) {
		mu.Lock()
		admitted = append(admitted, time.Now())
		mu.Unlock()
		return version()(ctx, r)
	}
	startNode(t, rdb, "a", fn, invoke.NewGuard(rdb, g), RecoverConfig{})
	startNode(t, rdb, "b", fn, invoke.NewGuard(rdb, g), RecoverConfig{})
	cl := rpc.New(rdb, "burst")
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	var next atomic.Int32
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= 1000 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := cl.Call(ctx, method, nil, rpc.Options{})
				cancel()
				switch protocol.CodeOf(err) {
				case 0:
					ok.Add(1)
				case protocol.CodeRateLimited:
					limited.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ok.Load()+limited.Load() != 1000 || limited.Load() == 0 {
		t.Fatalf("admitted %d, limited %d in %v", ok.Load(), limited.Load(), elapsed)
	}
	// In any one-second window at most 100 ran (handler start times trail
	// admission by a little scheduling noise under -race: windows are 150 ms short).
	sort.Slice(admitted, func(i, j int) bool { return admitted[i].Before(admitted[j]) })
	for i := range admitted {
		j := sort.Search(len(admitted), func(k int) bool { return admitted[k].After(admitted[i].Add(time.Second - 150*time.Millisecond)) })
		if j-i > 100 {
			t.Fatalf("%d admitted within one second starting at %v", j-i, admitted[i].Sub(start))
		}
	}
	t.Logf("burst of 1000 over two instances: %d admitted, %d rate limited in %v", ok.Load(), limited.Load(), elapsed)
}

func TestCircuitOpensEverywhereAndCloses(t *testing.T) {
	rdb := newClient(t)
	var failing atomic.Bool
	failing.Store(true)
	fn := func(ctx context.Context, r *registry.Request) (any, error) {
		if failing.Load() {
			return nil, fmt.Errorf("backend down")
		}
		return version()(ctx, r)
	}
	g := invoke.GuardConfig{Failures: 3, Window: 5 * time.Second, OpenFor: 300 * time.Millisecond}
	startNode(t, rdb, "a", fn, invoke.NewGuard(rdb, g), RecoverConfig{})
	startNode(t, rdb, "b", fn, invoke.NewGuard(rdb, g), RecoverConfig{})
	cl := rpc.New(rdb, "c")
	call := func() protocol.Code {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cl.Call(ctx, method, nil, rpc.Options{})
		return protocol.CodeOf(err)
	}
	for i := 0; i < 3; i++ {
		if c := call(); c != protocol.CodeInternal {
			t.Fatalf("call %d: code %d", i, c)
		}
	}
	// Open on both instances: many calls, all rejected at once.
	for i := 0; i < 10; i++ {
		if c := call(); c != protocol.CodeCircuitOpen {
			t.Fatalf("open circuit answered %d", c)
		}
	}
	if st := rdb.HGet(context.Background(), protocol.CircuitKey(method), "state").Val(); st != "open" {
		t.Fatalf("state %q", st)
	}
	failing.Store(false)
	time.Sleep(350 * time.Millisecond)
	if c := call(); c != 0 {
		t.Fatalf("probe after the open period: code %d", c)
	}
	if n := rdb.Exists(context.Background(), protocol.CircuitKey(method)).Val(); n != 0 {
		t.Fatal("circuit not closed after a successful probe")
	}
	if c := call(); c != 0 {
		t.Fatalf("closed circuit: code %d", c)
	}
}

func TestTrimKeepsPendingAndRecent(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour).UnixMilli()
	req := protocol.StreamKey("trim.requests")
	evs := protocol.StreamKey("trim.events")
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("%d-%d", old+int64(i), 0)
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: req, ID: id, Values: []any{"event", "{}"}})
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: evs, ID: id, Values: []any{"event", "{}"}})
	}
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: req, Values: []any{"event", "{}"}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: evs, Values: []any{"event", "{}"}})
	// The third old request is read and still pending in a group.
	rdb.XGroupCreate(ctx, req, protocol.GroupName, fmt.Sprintf("%d-0", old+1))
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: protocol.GroupName, Consumer: "c", Streams: []string{req, ">"}, Count: 1})
	if err := Trim(ctx, rdb, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := rdb.XLen(ctx, evs).Val(); n != 1 {
		t.Errorf("events stream kept %d entries, want only the recent one", n)
	}
	got := rdb.XRange(ctx, req, "-", "+").Val()
	if len(got) != 4 || got[0].ID != fmt.Sprintf("%d-0", old+2) {
		t.Errorf("requests stream: %d entries starting at %v; want the pending one and everything after it", len(got), got)
	}
}

// TestCircuitRecheck: without a rate limit an instance trusts a closed
// circuit for Recheck, then sees one another instance opened.
func TestCircuitRecheck(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	g := invoke.GuardConfig{Recheck: 300 * time.Millisecond, OpenFor: time.Minute}
	startNode(t, rdb, "a", version(), invoke.NewGuard(rdb, g), RecoverConfig{})
	cl := rpc.New(rdb, "c")
	call := func() protocol.Code {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := cl.Call(cctx, method, nil, rpc.Options{})
		return protocol.CodeOf(err)
	}
	if c := call(); c != 0 {
		t.Fatalf("first call: code %d", c)
	}
	// Another instance opens the circuit.
	opened := time.Now()
	rdb.HSet(ctx, protocol.CircuitKey(method), "state", "open", "resetAt", time.Now().Add(time.Minute).UnixMilli())
	for call() != protocol.CodeCircuitOpen {
		if time.Since(opened) > 2*time.Second {
			t.Fatal("an open circuit was not seen within 2s (recheck 300ms)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(opened); d > time.Second {
		t.Errorf("open circuit seen after %s, want about the 300ms recheck", d)
	}
}

// TestConsumingFollowsReadRounds: Consuming (what /healthz reports) turns
// false while Redis hangs (SIGSTOP) and true again once it answers.
func TestConsumingFollowsReadRounds(t *testing.T) {
	own := testenv.NewRedis(t)
	rdb := own.Client(t, func(o *redis.Options) { o.ContextTimeoutEnabled = true })
	n := startNode(t, rdb, "health", version(), nil, RecoverConfig{})
	waitFor := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for n.disp.Consuming(500*time.Millisecond) != want {
			if time.Now().After(deadline) {
				t.Fatalf("Consuming still %v after 5s", !want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor(true)
	if err := syscall.Kill(own.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(own.Pid(), syscall.SIGCONT)
	waitFor(false)
	if err := syscall.Kill(own.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(true)
}

// TestPastDeadlineDropped: requests whose caller's deadline has passed are
// acknowledged and counted, never run, even in a large backlog, and do
// not hold up a fresh request behind them.
func TestPastDeadlineDropped(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	const stale = 2000
	past := time.Now().Add(-time.Second).UnixMilli()
	pipe := rdb.Pipeline()
	for i := 0; i < stale; i++ {
		ev := protocol.Event{Type: method, Payload: json.RawMessage(`{}`), Metadata: protocol.Metadata{
			ID: fmt.Sprintf("stale-%d", i), CorrelationID: fmt.Sprintf("stale-%d", i), Deadline: past}}
		data, err := protocol.EncodeEvent(ev)
		if i%2 == 1 { // another encoder's layout: metadata first
			data, err = json.Marshal(map[string]any{"metadata": ev.Metadata, "type": ev.Type, "payload": ev.Payload})
		}
		if err != nil {
			t.Fatal(err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(method), Values: []any{protocol.StreamField, data}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	count := func(ctx context.Context, r *registry.Request) (any, error) {
		calls.Add(1)
		return version()(ctx, r)
	}
	n := startNode(t, rdb, "n1", count, nil, RecoverConfig{})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := rpc.New(rdb, "test").Call(cctx, method, nil, rpc.Options{}); err != nil {
		t.Fatalf("fresh call behind the backlog: %v", err)
	}
	t.Logf("fresh call answered %v after cbd started on %d stale requests", time.Since(start), stale)
	if got := calls.Load(); got != 1 {
		t.Fatalf("handler ran %d times, want 1 (only the fresh request)", got)
	}
	// The last batch's stale entries are acknowledged after its fresh
	// request is handed to a worker, so they may be counted after it is
	// answered.
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := n.disp.inv.Stats().Snapshot()[method].Expired
		p := rdb.XPending(ctx, protocol.StreamKey(method), protocol.GroupName).Val().Count
		if got == stale && p == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("expired = %d, want %d; %d entries still pending", got, stale, p)
		}
	}
	if rdb.Exists(ctx, protocol.ResponseKey("stale-0"), protocol.ResponseKey("stale-1")).Val() != 0 {
		t.Fatal("a dropped request was answered")
	}
}

// TestConsumerAlive: a consumer is one process, alive while its lease on
// the stream's method runs, so a cbd restarted with the same instance id
// (a new nonce) never reads its predecessor's in-flight requests as its
// own, and takes them over only once that process's lease has lapsed.
func TestConsumerAlive(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	stream := protocol.StreamKey(method)
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	ms := float64(now.UnixMilli())
	rdb.ZAdd(ctx, protocol.ServingKey(method),
		redis.Z{Member: "a/live", Score: ms + 3000},
		redis.Z{Member: "a/lapsed", Score: ms - 1})
	rdb.Set(ctx, protocol.InstanceKey("legacy"), "x", time.Minute)
	for consumer, want := range map[string]bool{
		"a/live": true, "a/lapsed": false, "a/never": false, // per process
		"legacy": true, "gone": false, // names without a nonce: the registration
	} {
		got, err := consumerAlive(ctx, rdb, stream, consumer)
		if err != nil || got != want {
			t.Errorf("consumerAlive(%s) = %v, %v; want %v", consumer, got, err, want)
		}
	}
	// Another method's lease does not count.
	if got, _ := consumerAlive(ctx, rdb, protocol.StreamKey("task.create"), "a/live"); got {
		t.Error("a lease on system.version kept a task.create consumer alive")
	}
}
