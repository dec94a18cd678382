package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	goredis "github.com/redis/go-redis/v9"
)

// runCBD runs a cbd that is expected to exit by itself and returns its exit
// code, its output and how long it ran.
func runCBD(t *testing.T, h *testenv.Home, env []string, within time.Duration) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.CBD)
	cmd.Env = append(append([]string{}, h.Env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("cbd still running after %v:\n%s", within, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), elapsed
}

// mustCreateTask creates a task through cb (extra are more `cb task
// create` flags), fails the test if it cannot, and returns its id.
func mustCreateTask(t *testing.T, h *testenv.Home, text string, extra ...string) string {
	t.Helper()
	r := testenv.RunCB(t, bin, h, []string{"CB_TIMEOUT=5s"}, nil, append([]string{"task", "create", text, "--json"}, extra...)...)
	var tk struct{ ID string }
	if err := json.Unmarshal([]byte(r.Stdout), &tk); r.Code != 0 || err != nil || tk.ID == "" {
		t.Fatalf("task create %q: exit %d stdout %q stderr %q", text, r.Code, r.Stdout, r.Stderr)
	}
	return tk.ID
}

func runtimeFile(h *testenv.Home, name string) string {
	return filepath.Join(h.Dir, "run", "claudebench", name)
}

// TestSecondCbdManaged: with managed Redis (the README's defaults), a
// second plain cbd exits at once naming the running one and touches nothing;
// a second cbd with its own instance.id joins the running one's Redis and,
// when it stops, leaves that Redis and its files alone.
func TestSecondCbdManaged(t *testing.T) {
	h := testenv.NewHome(t, "CB_REDIS_MODE=managed")
	first := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=first"})
	mustCreateTask(t, h, "before the second cbd")
	redisPid := strings.TrimSpace(readFile(t, runtimeFile(h, "redis.pid")))

	// Plain: no instance.id of its own.
	code, out, took := runCBD(t, h, nil, 15*time.Second)
	wantPid := "pid " + strconv.Itoa(first.Cmd.Process.Pid)
	if code == 0 || !strings.Contains(out, wantPid) {
		t.Fatalf("second cbd: exit %d after %v, want non-zero and a message naming %q:\n%s", code, took, wantPid, out)
	}
	if took > 3*time.Second {
		t.Errorf("second cbd took %v to give up", took)
	}
	t.Logf("plain second cbd: exit %d after %v", code, took)
	if strings.Contains(out, "stopping a managed redis-server") {
		t.Errorf("second cbd stopped a redis-server it did not start:\n%s", out)
	}
	for _, f := range []string{"redis.sock", "redis.url", "redis.pid"} {
		if _, err := os.Stat(runtimeFile(h, f)); err != nil {
			t.Errorf("%s gone after the second cbd: %v", f, err)
		}
	}
	if got := strings.TrimSpace(readFile(t, runtimeFile(h, "redis.pid"))); got != redisPid {
		t.Errorf("redis-server pid %s, was %s", got, redisPid)
	}
	mustCreateTask(t, h, "after a plain second cbd")

	// With its own id: joins the first one's Redis.
	second := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=second"})
	health := testenv.RunCB(t, bin, h, nil, nil, "call", "system.health")
	for _, id := range []string{"first", "second"} {
		if !strings.Contains(health.Stdout, `"`+id+`"`) {
			t.Errorf("system.health lacks %s: %s %s", id, health.Stdout, health.Stderr)
		}
	}
	if err := second.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.Wait(15 * time.Second); code != 0 {
		t.Fatalf("joined cbd exit %d\n%s", code, second.Log.String())
	}
	if strings.Contains(second.Log.String(), "redis-server") {
		t.Errorf("joined cbd managed a redis-server:\n%s", second.Log.String())
	}
	for _, f := range []string{"redis.sock", "redis.url", "redis.pid"} {
		if _, err := os.Stat(runtimeFile(h, f)); err != nil {
			t.Errorf("%s gone after the joined cbd stopped: %v", f, err)
		}
	}
	mustCreateTask(t, h, "after the joined cbd stopped")
	if out := first.Log.String(); strings.Contains(out, "managed redis-server exited") {
		t.Errorf("the first cbd's redis-server died:\n%s", out)
	}
}

// TestFailedStartPortTaken: with the HTTP port taken cbd exits non-zero at
// once with one error, leaves nothing registered and floods nothing.
func TestFailedStartPortTaken(t *testing.T) {
	own := testenv.NewRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := testenv.NewHome(t, "CB_REDIS_URL="+own.URL(), "CB_HTTP_ADDR="+ln.Addr().String())
	code, out, took := runCBD(t, h, []string{"CB_INSTANCE_ID=port-taken"}, 20*time.Second)
	if code == 0 {
		t.Fatalf("exit 0 with the port taken:\n%s", out)
	}
	if took > 3*time.Second {
		t.Errorf("took %v to fail", took)
	}
	t.Logf("port taken: exit %d after %v", code, took)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	problems := 0
	for _, l := range lines {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.HasPrefix(l, "cbd: ") {
			problems++
		}
	}
	if problems != 1 || !strings.Contains(out, "address already in use") || len(lines) > 10 {
		t.Errorf("want one error line naming the port, got %d problem lines of %d:\n%.3000s", problems, len(lines), out)
	}
	rdb := goredis.NewClient(&goredis.Options{Network: "unix", Addr: own.Socket})
	defer rdb.Close()
	ctx := context.Background()
	if n, _ := rdb.ZCard(ctx, "cb:instances").Result(); n != 0 {
		t.Errorf("cb:instances has %d members after a failed start", n)
	}
	if keys, _ := rdb.Keys(ctx, "cb:serving:*").Result(); len(keys) != 0 {
		t.Errorf("serving keys left after a failed start: %v", keys)
	}
	if keys, _ := rdb.Keys(ctx, "cb:instance:*").Result(); len(keys) != 0 {
		t.Errorf("instance keys left after a failed start: %v", keys)
	}
}

// TestBadConfigValueFailsCleanly: a config value cbd refuses ends the
// start with one line naming it, exit 1, not a panic (a nil Daemon was
// closed twice on this path once).
func TestBadConfigValueFailsCleanly(t *testing.T) {
	h := testenv.NewHome(t, "CB_REDIS_MODE=embedded", "CB_HTTP_ENABLED=false")
	code, out, _ := runCBD(t, h, []string{"CB_HOOK_DUPLICATE_KEYS=bogus"}, 20*time.Second)
	if code != 1 || strings.Contains(out, "panic") || !strings.Contains(out, `hook.duplicate_keys: "bogus"`) {
		t.Fatalf("exit %d, want 1 with the setting named:\n%.3000s", code, out)
	}
}

// TestShutdownRedisHung: SIGTERM with the Redis cbd uses SIGSTOPped; cbd
// exits within shutdown.timeout plus a little.
func TestShutdownRedisHung(t *testing.T) {
	own := testenv.NewRedis(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+own.URL(), "CB_SHUTDOWN_TIMEOUT=2s")
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=hung-redis"})
	mustCreateTask(t, h, "before redis hangs")
	stopRedis(t, own.Pid())
	defer func() { _ = syscall.Kill(own.Pid(), syscall.SIGCONT) }()
	shutdownHung(t, d, "a hung Redis")
}

// shutdownHung sends d SIGTERM while its Redis (what) is SIGSTOPped and
// checks that it exits within shutdown.timeout (2s) plus a little.
func shutdownHung(t *testing.T, d *testenv.Daemon, what string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := d.Wait(30 * time.Second)
	took := time.Since(start)
	if code == -1 || took > 3500*time.Millisecond {
		t.Fatalf("shutdown with %s took %v (exit %d), shutdown.timeout is 2s\n%s", what, took, code, d.Log.String())
	}
	t.Logf("shutdown with %s: %v", what, took)
}

func stopRedis(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// healthz returns /healthz's status code and body.
func healthz(t *testing.T, addr string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealth polls /healthz until it answers want or within passes.
func waitHealth(t *testing.T, addr string, want int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body := healthz(t, addr)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %s after %v, want %d", code, body, within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHealthzRedisDown: /healthz (and cb doctor) say unhealthy while cbd's
// Redis is stopped or dead, and healthy again once it is back.
func TestHealthzRedisDown(t *testing.T) {
	own := testenv.NewRedis(t)
	addr := testenv.FreeAddr(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+own.URL(), "CB_HTTP_ADDR="+addr)
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=healthz"})
	waitHealth(t, addr, http.StatusOK, 5*time.Second)

	stopRedis(t, own.Pid())
	body := waitHealth(t, addr, http.StatusServiceUnavailable, 8*time.Second)
	if !strings.Contains(body, "redis") {
		t.Errorf("unhealthy /healthz does not say why: %s", body)
	}
	if err := syscall.Kill(own.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, addr, http.StatusOK, 8*time.Second)

	own.Kill()
	waitHealth(t, addr, http.StatusServiceUnavailable, 8*time.Second)
	// cb doctor reads cbd's /healthz too; give it a Redis that answers (the
	// package one) so only cbd's own state can fail the check.
	r := testenv.RunCB(t, bin, h, []string{"CB_REDIS_URL=" + redis.URL()}, nil, "doctor", "--json")
	var rep struct {
		Checks []struct {
			Name   string
			OK     bool
			Detail string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("cb doctor --json: %v\n%s\n%s", err, r.Stdout, r.Stderr)
	}
	found := false
	for _, c := range rep.Checks {
		if c.Name == "cbd" {
			found = true
			if c.OK || !strings.Contains(c.Detail, "redis") {
				t.Errorf("doctor cbd check: %+v", c)
			}
		}
	}
	if !found || r.Code == 0 {
		t.Errorf("cb doctor: exit %d, want a failed cbd check naming its health:\n%s", r.Code, r.Stdout)
	}
	_ = d
}

// TestQuietLogsRedisDown: while Redis is down, cbd's log holds only slog
// records (go-redis's own logger goes through slog at debug level) and a
// warning that keeps coming is not repeated line after line.
func TestQuietLogsRedisDown(t *testing.T) {
	own := testenv.NewRedis(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+own.URL())
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=quiet"})
	before := len(d.Log.String())
	own.Kill()
	time.Sleep(6 * time.Second)
	out := d.Log.String()[before:]
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("unstructured log line while Redis is down: %q", l)
			continue
		}
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			msg := l
			if i := strings.Index(l, " msg="); i >= 0 {
				msg = l[i:]
				if j := strings.Index(msg, " err="); j >= 0 {
					msg = msg[:j]
				}
			}
			seen[msg]++
		}
	}
	for msg, n := range seen {
		if n > 1 {
			t.Errorf("warning logged %d times in 6 s:%s", n, msg)
		}
	}
	if t.Failed() {
		fmt.Fprintf(os.Stderr, "log while Redis was down:\n%s\n", out)
	}
}

// TestShutdownManagedRedisHung: the same with the managed redis-server
// SIGSTOPped: cbd exits within shutdown.timeout and the server it ran
// does not outlive it, stopped or not.
func TestShutdownManagedRedisHung(t *testing.T) {
	h := testenv.NewHome(t, "CB_REDIS_MODE=managed", "CB_SHUTDOWN_TIMEOUT=2s")
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=hung-managed"})
	mustCreateTask(t, h, "before the managed redis hangs")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, runtimeFile(h, "redis.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	stopRedis(t, pid)
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
	shutdownHung(t, d, "a hung managed Redis")
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("managed redis-server %d still there 5 s after cbd exited", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
