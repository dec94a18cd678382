package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

// TestRedisModes runs the same protocol checks against each way cbd finds
// Redis. cb is never told where Redis is: it reads the address cbd wrote.
func TestRedisModes(t *testing.T) {
	modes := []struct {
		name    string
		cbdEnv  []string
		wantURL string
	}{
		{"external", []string{"CB_REDIS_URL=" + redis.URL()}, "unix://"},
		{"managed", []string{"CB_REDIS_MODE=managed"}, "unix://"},
		{"embedded", []string{"CB_REDIS_MODE=embedded"}, "redis://:"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := testenv.NewHome(t)
			d := testenv.StartDaemon(t, bin, h, append(m.cbdEnv, "CB_INSTANCE_ID=modes-"+m.name))
			addr := filepath.Join(h.Dir, "run", "claudebench", "redis.url")
			st, err := os.Stat(addr)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", addr, st.Mode().Perm())
			}
			if st, _ := os.Stat(filepath.Dir(addr)); st.Mode().Perm() != 0o700 {
				t.Errorf("runtime dir mode %v, want 0700", st.Mode().Perm())
			}
			url, _ := os.ReadFile(addr)
			if !strings.HasPrefix(string(url), m.wantURL) {
				t.Errorf("address %q, want prefix %q", url, m.wantURL)
			}
			protocolChecks(t, h)
			if m.name == "managed" {
				// The supervised redis-server comes back after it dies, with
				// its data (AOF in the data dir).
				id := mustCreateTask(t, h, "survives a redis-server crash")
				// With appendfsync everysec a redis-server killed while a
				// background fsync is slow loses its last writes,
				// acknowledged ones included (it once lost this very task
				// in CI). Lose a second acknowledged task on purpose: cbd
				// must put it back from the store after the restart.
				lost := mustCreateTask(t, h, "lost with the AOF's tail", "--priority", "90")
				rdb := goredis.NewClient(&goredis.Options{Network: "unix", Addr: filepath.Join(h.Dir, "run", "claudebench", "redis.sock")})
				if err := rdb.Del(context.Background(), protocol.TaskKey(lost)).Err(); err != nil {
					t.Fatal(err)
				}
				if err := rdb.ZRem(context.Background(), protocol.QueueTasksKey, lost).Err(); err != nil {
					t.Fatal(err)
				}
				rdb.Close()
				pid := strings.TrimSpace(readFile(t, filepath.Join(h.Dir, "run", "claudebench", "redis.pid")))
				if out, err := exec.Command("kill", "-9", pid).CombinedOutput(); err != nil {
					t.Fatalf("kill redis-server %s: %v %s", pid, err, out)
				}
				deadline := time.Now().Add(15 * time.Second)
				for {
					r := testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_rm_root.json"), "hook", "pre_tool")
					if strings.Contains(r.Stdout, `"deny"`) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no decision 15s after redis-server was killed: %+v\n%s", r, d.Log.String())
					}
					time.Sleep(100 * time.Millisecond)
				}
				// cbd sees Redis's new run_id and restores what it lost.
				for !strings.Contains(d.Log.String(), "reconciled tasks with the store") {
					if time.Now().After(deadline) {
						t.Fatalf("no reconcile logged after the restart:\n%s", d.Log.String())
					}
					time.Sleep(50 * time.Millisecond)
				}
				if !strings.Contains(d.Log.String(), "managed redis-server restarted") {
					t.Errorf("no restart logged:\n%s", d.Log.String())
				}
				// Claimed from Redis's own queue, highest priority first.
				for _, want := range []string{lost, id} {
					if got := testenv.RunCB(t, bin, h, nil, nil, "call", "task.claim", `{"workerId":"w"}`); !strings.Contains(got.Stdout, want) {
						t.Fatalf("acknowledged task %s lost across the redis-server restart: %q %q\n%s", want, got.Stdout, got.Stderr, d.Log.String())
					}
				}
			}
			if m.name == "embedded" && !strings.Contains(d.Log.String(), "in memory only") {
				t.Errorf("embedded mode must say events live in memory only:\n%s", d.Log.String())
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// protocolChecks is the part of the hook suite every Redis mode must pass.
func protocolChecks(t *testing.T, h *testenv.Home) {
	t.Helper()
	r := testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_rm_root.json"), "hook", "pre_tool")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"permissionDecision":"deny"`) {
		t.Fatalf("deny: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_ls.json"), "hook", "pre_tool")
	if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("no opinion: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCB(t, bin, h, nil, []byte(`{"tool_name":"Bash","tool_input":"x"}`), "hook", "pre_tool")
	if r.Code != 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "invalid_params") {
		t.Fatalf("invalid params: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCB(t, bin, h, nil, nil, "call", "system.version")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"version"`) {
		t.Fatalf("cb call system.version: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCB(t, bin, h, nil, nil, "call", "no.such.method")
	if r.Code == 0 || !strings.Contains(r.Stderr, "unknown method no.such.method") {
		t.Fatalf("unknown method: exit %d stderr %q", r.Code, r.Stderr)
	}
	// The task scripts (and the ids they give task events) run here too.
	// (Low priorities: the managed check below claims its own task.)
	id := mustCreateTask(t, h, "in every mode", "--priority", "10")
	if r = testenv.RunCB(t, bin, h, nil, nil, "task", "update", id, "--priority", "20"); r.Code != 0 {
		t.Fatalf("task update: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r = testenv.RunCB(t, bin, h, nil, nil, "task", "get", id, "--json"); r.Code != 0 || !strings.Contains(r.Stdout, `"priority":20`) {
		t.Fatalf("task get: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}
