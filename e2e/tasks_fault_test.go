package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestWorkerKilled: a worker process killed with SIGKILL while holding
// claimed tasks; the tasks return to the queue by themselves and another
// worker finishes them. Nothing is lost, and the dead worker's claim can no
// longer complete a task.
func TestWorkerKilled(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_RECLAIM_AFTER=2s", "CB_TASKS_REAPER_INTERVAL=200ms")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.mustTask(t, "task.create", map[string]any{"text": fmt.Sprintf("job %d", i)}).ID)
	}
	w1 := exec.Command(bin.CB, "work", "--worker", "w-doomed", "--heartbeat", "300ms", "--max", "5", "--", "sleep", "60")
	w1.Env = e.h.Env
	w1.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w1err := &testenv.SyncBuffer{}
	w1.Stderr = w1err
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-w1.Process.Pid, syscall.SIGKILL); _ = w1.Wait() })
	// Wait until it holds all five.
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := e.call(t, "task.list", map[string]any{"status": "in_progress", "assignedTo": "w-doomed"})
		if strings.Contains(string(raw), `"totalCount":5`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not claim: %s\n%s", raw, w1err.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	killed := time.Now()
	if err := syscall.Kill(-w1.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w1.Wait()

	// The reaper gives them back: pending again, attempt count kept.
	deadline = time.Now().Add(15 * time.Second)
	for {
		raw, _ := e.call(t, "task.list", map[string]any{"status": "pending"})
		if strings.Contains(string(raw), `"totalCount":5`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks not back in the queue 15s after the kill: %s", raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("tasks back in the queue %v after SIGKILL (reclaim_after 2s)", time.Since(killed).Round(10*time.Millisecond))
	back := e.mustTask(t, "task.get", map[string]any{"id": ids[0]})
	if back.Attempts != 1 || back.AssignedTo != "" {
		t.Fatalf("requeued task: %+v", back)
	}
	// The dead worker's claim is void.
	_, err := e.call(t, "task.complete", map[string]any{"id": ids[0], "workerId": "w-doomed"})
	wantCode(t, err, protocol.CodeConflict, "complete after the claim was taken back")

	// Another worker finishes all of them.
	w2 := testenv.RunCB(t, bin, e.h, nil, nil, "work", "--worker", "w-rescue", "--max", "5", "--until-idle", "1s", "--", "sh", "-c", `echo "{\"done\":\"$CB_TASK_ID\"}"`)
	if w2.Code != 0 {
		t.Fatalf("rescue worker exit %d: %s", w2.Code, w2.Stderr)
	}
	for _, id := range ids {
		tk := e.mustTask(t, "task.get", map[string]any{"id": id})
		if tk.Status != "completed" || tk.AssignedTo != "w-rescue" || !strings.Contains(string(tk.Result), id) || tk.Attempts != 2 {
			t.Fatalf("task %s after rescue: %+v", id, tk)
		}
	}
	if n := e.rdb.XLen(context.Background(), protocol.StreamKey("task.requeued")).Val(); n != 5 {
		t.Errorf("task.requeued events: %d, want 5", n)
	}
}

// TestTasksOutOfAttemptsFail: after tasks.max_attempts claims by dead
// workers a task becomes failed with a clear error.
func TestTasksOutOfAttemptsFail(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_RECLAIM_AFTER=1s", "CB_TASKS_REAPER_INTERVAL=100ms", "CB_TASKS_MAX_ATTEMPTS=2")
	id := e.mustTask(t, "task.create", map[string]any{"text": "cursed"}).ID
	for attempt := 1; attempt <= 2; attempt++ {
		worker := fmt.Sprintf("ghost-%d", attempt)
		if _, err := e.call(t, "system.register", map[string]any{"id": worker, "roles": []string{"worker"}}); err != nil {
			t.Fatal(err)
		}
		if got := e.claim(t, worker, 1); len(got) != 1 || got[0].ID != id {
			t.Fatalf("attempt %d claimed %+v", attempt, got)
		}
		// The worker never heartbeats again.
		deadline := time.Now().Add(10 * time.Second)
		for {
			tk := e.mustTask(t, "task.get", map[string]any{"id": id})
			if tk.Status != "in_progress" {
				want := "pending"
				if attempt == 2 {
					want = "failed"
				}
				if tk.Status != want {
					t.Fatalf("after attempt %d: %+v", attempt, tk)
				}
				if want == "failed" && !strings.Contains(tk.Error, "ghost-2 stopped heartbeating") {
					t.Fatalf("error %q", tk.Error)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d never reclaimed", attempt)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestTasksSurviveRedisLoss: the store puts non-terminal tasks back when
// Redis loses its data; completed tasks never re-enter the queue.
func TestTasksSurviveRedisLoss(t *testing.T) {
	e := newTaskEnv(t)
	pending := e.mustTask(t, "task.create", map[string]any{"text": "keep me", "priority": 70})
	done := e.mustTask(t, "task.create", map[string]any{"text": "finished"})
	e.claim(t, "w", 2)
	e.mustTask(t, "task.complete", map[string]any{"id": done.ID, "workerId": "w"})
	inProg := e.mustTask(t, "task.create", map[string]any{"text": "in flight"})
	e.claim(t, "w2", 1)
	e.mustTask(t, "task.unassign", map[string]any{"taskId": pending.ID})

	e.d.Kill()
	if err := e.rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.StartDaemon(t, bin, e.h, []string{"CB_INSTANCE_ID=cbd-restarted"})
	got := e.mustTask(t, "task.get", map[string]any{"id": pending.ID})
	if got.Status != "pending" || got.Priority != 70 {
		t.Fatalf("restored pending task: %+v", got)
	}
	if ip := e.mustTask(t, "task.get", map[string]any{"id": inProg.ID}); ip.Status != "in_progress" || ip.AssignedTo != "w2" {
		t.Fatalf("restored in-progress task: %+v", ip)
	}
	claimed := e.claim(t, "w3", 10)
	if len(claimed) != 1 || claimed[0].ID != pending.ID {
		t.Fatalf("queue after restore: %+v (the completed task must not be queued)", claimed)
	}
	raw, _ := e.call(t, "task.get", map[string]any{"id": done.ID})
	var d task
	_ = json.Unmarshal(raw, &d)
	if d.Status != "completed" {
		t.Fatalf("completed task from the store: %s", raw)
	}
}
