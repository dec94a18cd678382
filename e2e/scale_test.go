package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	rpc "github.com/claudebench/cb/protocol/client"
	goredis "github.com/redis/go-redis/v9"
)

// fastFailover makes a dead instance's work move within seconds.
var fastFailover = []string{"CB_INSTANCE_TTL=3s", "CB_INSTANCE_HEARTBEAT=500ms",
	"CB_DISPATCH_CLAIM_IDLE=1s", "CB_HANDLERS_RATE_LIMIT=0"}

// countTasks returns how many tasks have each text, in the store (through
// task.list on a live instance) and in Redis.
func countTasks(t *testing.T, client *rpc.Client, rdb *goredis.Client) (store, redisCount map[string]int) {
	t.Helper()
	ctx := context.Background()
	store = map[string]int{}
	for offset := 0; ; offset += 1000 {
		raw, err := client.Call(ctxTimeout(t, 20*time.Second), "task.list", map[string]any{"limit": 1000, "offset": offset}, rpc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Tasks   []task
			HasMore bool
		}
		_ = json.Unmarshal(raw, &page)
		for _, tk := range page.Tasks {
			store[tk.Text]++
		}
		if !page.HasMore {
			break
		}
	}
	redisCount = map[string]int{}
	iter := rdb.Scan(ctx, 0, protocol.TaskKey("*"), 1000).Iterator()
	for iter.Next(ctx) {
		redisCount[rdb.HGet(ctx, iter.Val(), "text").Val()]++
	}
	return store, redisCount
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestKillOneOfThree: kill -9 one of three cbd (sharing Redis and
// PostgreSQL) while 2,000 task.create requests from 16 clients are in
// flight. Every caller gets an answer; every request is exactly one task in
// the store and in Redis.
func TestKillOneOfThree(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	r := testenv.NewRedis(t)
	var daemons []*testenv.Daemon
	for _, id := range []string{"cbd-a", "cbd-b", "cbd-c"} {
		h := testenv.NewHome(t, append([]string{"CB_REDIS_URL=" + r.URL(), "CB_STORE_URL=" + pg}, fastFailover...)...)
		daemons = append(daemons, testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=" + id}))
	}
	rdb := r.Client(t, testenv.PoolSize(40))
	client := rpc.New(rdb, "load")

	raw, err := client.Call(ctxTimeout(t, 10*time.Second), "system.health", nil, rpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cbd-a", "cbd-b", "cbd-c"} {
		if !strings.Contains(string(raw), `"id":"`+id+`"`) {
			t.Fatalf("system.health lacks %s: %s", id, raw)
		}
	}

	const clients, total = 16, 2000
	var done atomic.Int32
	var failures []string
	var mu sync.Mutex
	wait := createTasks(client, clients, total, "req-", 30*time.Second, func(i int, err error) {
		done.Add(1)
		if err != nil {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("req-%d: %v", i, err))
			mu.Unlock()
		}
	})
	for done.Load() < 400 {
		time.Sleep(5 * time.Millisecond)
	}
	daemons[1].Kill()
	killedAt := done.Load()
	wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d callers got no answer (first: %s)", len(failures), total, failures[0])
	}
	store, inRedis := countTasks(t, client, rdb)
	for i := 1; i <= total; i++ {
		text := "req-" + strconv.Itoa(i)
		if store[text] != 1 || inRedis[text] != 1 {
			t.Fatalf("%s: %d in the store, %d in Redis; want exactly 1 each", text, store[text], inRedis[text])
		}
	}
	if len(store) != total || len(inRedis) != total {
		t.Fatalf("store has %d texts, Redis %d; want %d", len(store), len(inRedis), total)
	}
	t.Logf("cbd-b killed after %d answers; all %d requests answered, each exactly one task in PostgreSQL and Redis", killedAt, total)
}

// cpuTime is a process's user+system CPU time from /proc.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err) // Linux only; CI is Linux
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// TestRedisRestartUnderLoad: redis-server killed and restarted while tasks
// are being created. cbd does not crash or spin, recovers by itself, and no
// acknowledged task is missing (AOF on).
func TestRedisRestartUnderLoad(t *testing.T) {
	r := testenv.NewRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HANDLERS_RATE_LIMIT=0")
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=cbd-restart"})
	rdb := r.Client(t, func(o *goredis.Options) { o.MaxRetries = -1 })
	client := rpc.New(rdb, "load")

	var acked sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var n atomic.Int32
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				raw, err := client.Call(ctx, "task.create", map[string]any{"text": "r-" + strconv.Itoa(int(i))}, rpc.Options{})
				cancel()
				if err == nil {
					var tk task
					_ = json.Unmarshal(raw, &tk)
					acked.Store(tk.ID, true)
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	r.Kill()
	pid := d.Cmd.Process.Pid
	before := cpuTime(t, pid)
	time.Sleep(3 * time.Second)
	used := cpuTime(t, pid) - before
	if err := r.Restart("--appendonly", "yes", "--appendfsync", "always"); err != nil {
		t.Fatal(err)
	}
	// cbd resumes by itself.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.Call(ctx, "task.create", map[string]any{"text": "after"}, rpc.Options{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cbd did not resume after redis came back: %v\n%s", err, d.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if d.Wait(0) != -1 {
		t.Fatal("cbd exited while redis was down")
	}
	if used > 600*time.Millisecond {
		t.Errorf("cbd used %v CPU in 3 s while redis was down (spinning?)", used)
	}
	missing, total := 0, 0
	acked.Range(func(k, _ any) bool {
		total++
		if rdb.Exists(context.Background(), protocol.TaskKey(k.(string))).Val() != 1 {
			missing++
		}
		return true
	})
	if total == 0 || missing > 0 {
		t.Fatalf("%d of %d acknowledged tasks missing after the restart", missing, total)
	}
	if c := strings.Count(d.Log.String(), "redis unavailable"); c > 3 {
		t.Errorf("logged 'redis unavailable' %d times; want once per state change", c)
	}
	t.Logf("%d acknowledged tasks all present; cbd used %v CPU during a 3 s outage", total, used)
}

// TestGracefulShutdown: SIGTERM while requests are in flight: the ones cbd
// took are answered and are exactly one task each, it exits 0, and what
// it never answered is not run later by the next cbd: a caller told no cbd
// is serving left nothing behind, and a caller that timed out left at most
// a request dropped as past its deadline.
func TestGracefulShutdown(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_RATE_LIMIT=0")
	const total = 600
	var answered, timedOut, refused atomic.Int32
	outcome := make([]int64, total+1) // by request: its error code, 0 = answered
	wait := createTasks(e.client, 16, total, "g-", 3*time.Second, func(i int, err error) {
		code := protocol.CodeOf(err)
		outcome[i] = int64(code)
		switch code {
		case 0:
			answered.Add(1)
		case protocol.CodeTimeout:
			timedOut.Add(1)
		case protocol.CodeUnavailable:
			refused.Add(1)
		default:
			t.Errorf("req %d: %v", i, err)
		}
	})
	for answered.Load() < 100 {
		time.Sleep(2 * time.Millisecond)
	}
	if err := e.d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.d.Wait(15 * time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM\n%s", code, e.d.Log.String())
	}
	wait()
	// The next cbd reads what was left in the stream: every caller has
	// given up by now, so none of it may run.
	testenv.StartDaemon(t, bin, e.h, []string{"CB_INSTANCE_ID=cbd-next"})
	if _, err := e.client.Call(ctxTimeout(t, 10*time.Second), "task.create", map[string]any{"text": "marker"}, rpc.Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	store, inRedis := countTasks(t, e.client, e.rdb)
	late := 0
	for i := 1; i <= total; i++ {
		text := "g-" + strconv.Itoa(i)
		switch outcome[i] {
		case 0:
			if store[text] != 1 || inRedis[text] != 1 {
				t.Errorf("%s (answered): %d in store, %d in Redis; want 1", text, store[text], inRedis[text])
			}
		case int64(protocol.CodeUnavailable):
			if store[text] != 0 || inRedis[text] != 0 {
				t.Errorf("%s (told no cbd is serving): %d in store, %d in Redis; want 0", text, store[text], inRedis[text])
			}
		default: // timed out: run at most once, if read before its deadline
			if store[text] > 1 || inRedis[text] != store[text] {
				t.Errorf("%s (timed out): %d in store, %d in Redis", text, store[text], inRedis[text])
			}
			late += store[text]
		}
	}
	t.Logf("SIGTERM with requests in flight: %d answered before exit (one task each), %d told no cbd is serving, %d timed out (%d of them ran before their deadline); nothing ran later", answered.Load(), refused.Load(), timedOut.Load(), late)
}

// createTasks sends task.create {"text": prefix+i} for i = 1..total from
// clients goroutines at once, each call bounded by timeout, and hands
// each outcome to report (from those goroutines). wait waits for all.
func createTasks(client *rpc.Client, clients, total int, prefix string, timeout time.Duration, report func(i int, err error)) (wait func()) {
	var wg sync.WaitGroup
	var next atomic.Int32
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				_, err := client.Call(ctx, "task.create", map[string]any{"text": prefix + strconv.Itoa(i)}, rpc.Options{})
				cancel()
				report(i, err)
			}
		})
	}
	return wg.Wait
}
