package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

// ownRedis starts a redis-server for one test: leases and streams left by
// other tests' daemons must not decide what this one sees.
func ownRedis(t *testing.T) (*testenv.Redis, *goredis.Client) {
	t.Helper()
	r := testenv.NewRedis(t)
	return r, r.Client(t)
}

// withSession is the pre_tool fixture `rm -rf /` (which cbd denies) sent
// by session.
func withSession(t *testing.T, session string) []byte {
	return bytes.ReplaceAll(fixture(t, "pre_tool_rm_root.json"), []byte(`"sess-e2e-1"`), []byte(`"`+session+`"`))
}

// hookMetrics is the part of system.metrics these tests read.
type hookMetrics struct {
	RequestsExpired int64 `json:"requestsExpired"`
	Handlers        map[string]struct {
		Calls   int64 `json:"calls"`
		Expired int64 `json:"expired"`
	} `json:"handlers"`
}

func metricsOf(t *testing.T, h *testenv.Home) hookMetrics {
	t.Helper()
	r := testenv.RunCB(t, bin, h, nil, nil, "call", "system.metrics")
	var m hookMetrics
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &m) != nil {
		t.Fatalf("system.metrics: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	return m
}

// auditSessions returns how many audit records each session has.
func auditSessions(t *testing.T, h *testenv.Home, sessions []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range sessions {
		r := testenv.RunCB(t, bin, h, nil, nil, "audit", "--session", s, "--since", "1h", "--json")
		var recs struct{ Records []json.RawMessage }
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &recs) != nil {
			t.Fatalf("audit: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		out[s] = len(recs.Records)
	}
	return out
}

// TestHookCrashDetectedInSeconds: after kill -9 or SIGSTOP of the only
// cbd, every cb hook answers within its deadline and, from 5 s after the
// signal, at once with its fail mode (the lease ran out). Hooks sent to the
// stopped cbd are never executed once it runs again: they are dropped as
// past their deadline, counted, and absent from the audit.
func TestHookCrashDetectedInSeconds(t *testing.T) {
	const deadline = 2 * time.Second
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		name := map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGSTOP: "SIGSTOP"}[sig]
		t.Run(name, func(t *testing.T) {
			r, _ := ownRedis(t)
			addr := testenv.FreeAddr(t)
			h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HOOK_TIMEOUT="+deadline.String())
			d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=liveness", "CB_HTTP_ADDR=" + addr})
			if res := testenv.RunCB(t, bin, h, nil, withSession(t, "before"), "hook", "pre_tool"); !strings.Contains(res.Stdout, `"deny"`) {
				t.Fatalf("cbd not deciding before the signal: %+v", res)
			}
			if err := d.Signal(sig); err != nil {
				t.Fatal(err)
			}
			signalled := time.Now()
			var waited []string // sessions of hooks that waited for an answer
			var fast []time.Duration
			firstFast := time.Duration(-1) // when the first hook was told at once
			for i := 0; ; i++ {
				at := time.Since(signalled)
				if at > 5*time.Second && len(fast) == 10 {
					break
				}
				session := fmt.Sprintf("stopped-%d", i)
				res := testenv.RunCB(t, bin, h, []string{"CB_HOOK_FAIL_MODE=closed"}, withSession(t, session), "hook", "pre_tool")
				if res.Code != 0 || !strings.Contains(res.Stdout, `"deny"`) || !strings.Contains(res.Stderr, "fail mode closed") {
					t.Fatalf("hook %d (%v after the signal): exit %d stdout %q stderr %q", i, at, res.Code, res.Stdout, res.Stderr)
				}
				if res.Elapsed > deadline+1500*time.Millisecond { // slack: process start on a loaded machine
					t.Errorf("hook %d (%v after the signal) took %v, deadline %v", i, at, res.Elapsed, deadline)
				}
				if strings.Contains(res.Stderr, "no answer within") {
					waited = append(waited, session)
				} else if firstFast < 0 {
					firstFast = at
				}
				if at >= 5*time.Second {
					if !strings.Contains(res.Stderr, "no cbd instance is serving") {
						t.Errorf("hook %d, %v after the signal, still waited for the dead cbd: %q", i, at, res.Stderr)
					}
					fast = append(fast, res.Elapsed)
				}
			}
			sort.Slice(fast, func(i, j int) bool { return fast[i] < fast[j] })
			t.Logf("%d hooks waited for an answer; the first told at once started %v after the signal; from 5s after it: median %v, max %v",
				len(waited), firstFast.Round(time.Millisecond), fast[len(fast)/2], fast[len(fast)-1])
			if fast[len(fast)/2] > 50*time.Millisecond {
				t.Errorf("hooks from 5s after the signal: median %v, want <= 50ms", fast[len(fast)/2])
			}
			if fast[len(fast)-1] > time.Second {
				t.Errorf("a hook from 5s after the signal took %v", fast[len(fast)-1])
			}
			if sig != syscall.SIGSTOP {
				return
			}

			// SIGCONT: cbd serves again within a lease renewal, and none of
			// the requests whose callers gave up is executed.
			if err := d.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, func() bool {
				res := testenv.RunCB(t, bin, h, nil, withSession(t, "after"), "hook", "pre_tool")
				return strings.Contains(res.Stdout, `"deny"`) && res.Stderr == ""
			}, "cbd not deciding again after SIGCONT")
			// The audit is written in the background: once the last hook
			// (sent after every stale one) is in it, so would they be.
			waitFor(t, 15*time.Second, func() bool { return auditSessions(t, h, []string{"after"})["after"] > 0 }, "hook after SIGCONT not audited")
			for s, n := range auditSessions(t, h, waited) {
				if n != 0 {
					t.Errorf("session %s: a hook whose caller gave up was executed after SIGCONT (%d audit records)", s, n)
				}
			}
			m := metricsOf(t, h)
			if got := m.Handlers[protocol.HookMethod("pre_tool")].Expired; got != int64(len(waited)) || m.RequestsExpired != got {
				t.Errorf("expired: hook.pre_tool %d, total %d; want %d (the hooks that waited)", got, m.RequestsExpired, len(waited))
			}
			if len(waited) == 0 {
				t.Error("no hook reached the stopped cbd before its lease ran out: nothing was tested")
			}
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf(`cb_rejections_total{method="hook.pre_tool",reason="expired"} %d`, len(waited))
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		})
	}
}

// TestNoPhantomTask: a task create that was told no cbd is serving leaves
// nothing behind: the next cbd does not create the task.
func TestNoPhantomTask(t *testing.T) {
	r, rdb := ownRedis(t)
	ctx := context.Background()
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL())
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=phantom"})
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.Wait(15 * time.Second); code != 0 {
		t.Fatalf("cbd exit %d after SIGTERM", code)
	}
	stream := protocol.StreamKey("task.create")
	before := rdb.XLen(ctx, stream).Val()
	for i := 0; i < 2; i++ { // the user tries twice
		res := testenv.RunCB(t, bin, h, nil, nil, "task", "create", "phantom")
		if res.Code != 6 || !strings.Contains(res.Stderr, "no cbd instance is serving") {
			t.Fatalf("create with no cbd: exit %d stdout %q stderr %q", res.Code, res.Stdout, res.Stderr)
		}
	}
	if after := rdb.XLen(ctx, stream).Val(); after != before {
		t.Errorf("%d requests left in %s by creates that were told they failed", after-before, stream)
	}
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=phantom"})
	if res := testenv.RunCB(t, bin, h, nil, nil, "task", "create", "marker"); res.Code != 0 {
		t.Fatalf("create with cbd: exit %d stderr %q", res.Code, res.Stderr)
	}
	time.Sleep(300 * time.Millisecond) // a phantom would have been read before the marker
	res := testenv.RunCB(t, bin, h, nil, nil, "call", "task.list", `{"limit":100}`)
	if res.Code != 0 {
		t.Fatalf("task.list: exit %d stderr %q", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stdout, `"marker"`) {
		t.Fatalf("marker task missing: %s", res.Stdout)
	}
	if n := strings.Count(res.Stdout, `"phantom"`); n != 0 {
		t.Fatalf("%d phantom tasks created by a later cbd: %s", n, res.Stdout)
	}
}

// TestRestartSameInstanceID: a cbd started with the same instance.id while
// the old process still runs keeps serving when the old one shuts down.
func TestRestartSameInstanceID(t *testing.T) {
	r, rdb := ownRedis(t)
	const id = "same-id"
	// Two homes: the processes share Redis and the instance id, not a
	// runtime dir.
	oldHome := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HOOK_TIMEOUT=2s")
	newHome := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HOOK_TIMEOUT=2s")
	old := testenv.StartDaemon(t, bin, oldHome, []string{"CB_INSTANCE_ID=" + id})
	testenv.StartDaemon(t, bin, newHome, []string{"CB_INSTANCE_ID=" + id})
	if err := old.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := old.Wait(15 * time.Second); code != 0 {
		t.Fatalf("old cbd exit %d after SIGTERM", code)
	}
	for i := 0; i < 5; i++ {
		res := testenv.RunCB(t, bin, newHome, nil, withSession(t, fmt.Sprintf("restart-%d", i)), "hook", "pre_tool")
		if !strings.Contains(res.Stdout, `"deny"`) || res.Stderr != "" {
			t.Fatalf("hook %d after the old process exited: stdout %q stderr %q", i, res.Stdout, res.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Were the old process's last heartbeat later than the new one's, the
	// hash carries the old nonce and goes with it; the new process's next
	// lease renewal (every second) writes it again.
	waitFor(t, 2*time.Second, func() bool {
		return rdb.Exists(context.Background(), protocol.InstanceKey(id)).Val() == 1
	}, "the new process's registration is gone")
}
