package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
)

// TestRedisLossRepairedWhileRunning: the external redis-server (no
// persistence) is killed and started again empty on the same socket under a
// running cbd. Within a few seconds cbd notices (its marker key is gone),
// puts the pending tasks back in the queue and the claimed ones back in
// progress from the store, and claim and complete work again with the same
// tasks; it says so in its log once.
func TestRedisLossRepairedWhileRunning(t *testing.T) {
	e := newTaskEnv(t)
	ids := map[string]bool{}
	for i := 0; i < 15; i++ {
		ids[e.mustTask(t, "task.create", map[string]any{"text": fmt.Sprintf("job %d", i)}).ID] = true
	}
	held := e.claim(t, "w1", 5)
	if len(held) != 5 {
		t.Fatalf("claimed %d", len(held))
	}

	e.redis.Kill()
	if err := e.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if n := e.rdb.DBSize(context.Background()).Val(); n > 5 {
		t.Logf("keys right after the restart: %d", n)
	}

	// A claim through cb, as a user would, finds a pending task again.
	var claimed string
	deadline := restarted.Add(8 * time.Second)
	for {
		r := testenv.RunCB(t, bin, e.h, nil, nil, "task", "claim", "--worker", "w2", "--json", "--timeout", "2s")
		if r.Code == 0 && strings.Contains(r.Stdout, `"id"`) {
			for id := range ids {
				if strings.Contains(r.Stdout, id) {
					claimed = id
				}
			}
			if claimed == "" {
				t.Fatalf("claimed a task that was never created: %s", r.Stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no task claimable 8s after Redis lost its data: exit %d %q %q\n%s", r.Code, r.Stdout, r.Stderr, e.d.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("claimable again %v after the restart", time.Since(restarted).Round(10*time.Millisecond))

	// The claims held before the loss are still there: w1 completes one.
	r := testenv.RunCB(t, bin, e.h, nil, nil, "task", "complete", held[0].ID, "--worker", "w1")
	if r.Code != 0 {
		t.Fatalf("complete a task claimed before the loss: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCB(t, bin, e.h, nil, nil, "task", "complete", claimed, "--worker", "w2")
	if r.Code != 0 {
		t.Fatalf("complete a task claimed after the loss: exit %d %q", r.Code, r.Stderr)
	}
	// All 9 other pending tasks are claimable, none twice.
	rest := e.claim(t, "w3", 10)
	if len(rest) != 9 {
		t.Fatalf("claimable after the repair: %d, want 9", len(rest))
	}
	for _, tk := range rest {
		if !ids[tk.ID] || tk.ID == claimed {
			t.Fatalf("unexpected task %+v", tk)
		}
	}
	if n := strings.Count(e.d.Log.String(), "Redis lost its data"); n != 1 {
		t.Fatalf("cbd logged the loss %d times, want once:\n%s", n, e.d.Log.String())
	}
}
