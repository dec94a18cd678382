package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// leaseTask is a task with its lease, as task.get and task.claim answer.
type leaseTask = api.Task

func getLeaseTask(t *testing.T, e *taskEnv, id string) leaseTask {
	t.Helper()
	raw, err := e.call(t, "task.get", map[string]any{"id": id})
	if err != nil {
		t.Fatalf("task.get %s: %v", id, err)
	}
	var lt leaseTask
	if err := json.Unmarshal(raw, &lt); err != nil {
		t.Fatal(err)
	}
	return lt
}

// waitStatus waits until task id has status want and returns it.
func waitStatus(t *testing.T, e *taskEnv, id, want string, within time.Duration) leaseTask {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lt := getLeaseTask(t, e, id)
		if lt.Status == want {
			return lt
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s after %v, want %s: %+v", id, lt.Status, within, want, lt)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCLIClaimLeaseExpires: a task claimed from the shell by a worker that
// never registered (cb task claim) and then forgotten goes back to the
// queue when its lease runs out, counting the attempt, and after
// tasks.max_attempts becomes failed, as a dead instance's would. The
// expired claimant can no longer complete it. cb task get shows the lease.
func TestCLIClaimLeaseExpires(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_LEASE=1s", "CB_TASKS_REAPER_INTERVAL=100ms", "CB_TASKS_MAX_ATTEMPTS=2")
	id := e.mustTask(t, "task.create", map[string]any{"text": "forgotten"}).ID

	r := testenv.RunCB(t, bin, e.h, nil, nil, "task", "claim", "--worker", "w1")
	if r.Code != 0 || !strings.Contains(r.Stdout, id) {
		t.Fatalf("cb task claim: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	claimedAt := time.Now()
	got := testenv.RunCB(t, bin, e.h, nil, nil, "task", "get", id)
	if got.Code != 0 || !strings.Contains(got.Stdout, "lease") || !strings.Contains(got.Stdout, "expires in") {
		t.Fatalf("cb task get shows no lease: exit %d\n%s%s", got.Code, got.Stdout, got.Stderr)
	}
	if lt := getLeaseTask(t, e, id); lt.Status != "in_progress" || lt.LeaseExpiresAt == nil {
		t.Fatalf("claimed task: %+v", lt)
	}

	back := waitStatus(t, e, id, "pending", 10*time.Second)
	t.Logf("back in the queue %v after the claim (lease 1s)", time.Since(claimedAt).Round(10*time.Millisecond))
	if back.Attempts != 1 || back.AssignedTo != "" || back.LeaseExpiresAt != nil {
		t.Fatalf("requeued task: %+v", back)
	}
	r = testenv.RunCB(t, bin, e.h, nil, nil, "task", "complete", id, "--worker", "w1")
	if r.Code != protocol.CodeConflict.Info().Exit {
		t.Fatalf("complete by the expired claimant: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}

	// The second claim is the last attempt: its expiry fails the task.
	if got := e.claim(t, "w2", 1); len(got) != 1 || got[0].ID != id {
		t.Fatalf("second claim: %+v", got)
	}
	failed := waitStatus(t, e, id, "failed", 10*time.Second)
	if failed.Attempts != 2 || !strings.Contains(failed.Error, "lease") || !strings.Contains(failed.Error, "w2") {
		t.Fatalf("failed task: %+v", failed)
	}
	// The store agrees (task.list reads the store).
	raw, err := e.call(t, "task.list", map[string]any{"status": "failed"})
	if err != nil || !strings.Contains(string(raw), id) {
		t.Fatalf("task.list failed: %s %v", raw, err)
	}
}

// TestLeaseRenew: task.renew keeps a claim alive past its first expiry;
// only the claimant may renew; a claim can ask for its own lease.
func TestLeaseRenew(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_LEASE=1s", "CB_TASKS_REAPER_INTERVAL=100ms")
	id := e.mustTask(t, "task.create", map[string]any{"text": "long job"}).ID
	if got := e.claim(t, "w1", 1); len(got) != 1 {
		t.Fatalf("claim: %+v", got)
	}
	for i := 0; i < 6; i++ { // 1.8 s: past the 1 s lease
		time.Sleep(300 * time.Millisecond)
		if _, err := e.call(t, "task.renew", map[string]any{"id": id, "workerId": "w1"}); err != nil {
			t.Fatalf("renew %d: %v", i, err)
		}
	}
	if lt := getLeaseTask(t, e, id); lt.Status != "in_progress" || lt.AssignedTo != "w1" || lt.Attempts != 1 {
		t.Fatalf("renewed task: %+v", lt)
	}
	_, err := e.call(t, "task.renew", map[string]any{"id": id, "workerId": "intruder"})
	wantCode(t, err, protocol.CodeConflict, "renew by another worker")
	// Completing ends the lease; nothing is requeued later.
	e.mustTask(t, "task.complete", map[string]any{"id": id, "workerId": "w1"})
	if lt := getLeaseTask(t, e, id); lt.LeaseExpiresAt != nil || lt.Status != "completed" {
		t.Fatalf("completed task keeps a lease: %+v", lt)
	}

	// A longer lease asked for at claim time (and by renew).
	id2 := e.mustTask(t, "task.create", map[string]any{"text": "with its own lease"}).ID
	raw, err := e.call(t, "task.claim", map[string]any{"workerId": "w2", "leaseMs": 60000})
	if err != nil || !strings.Contains(string(raw), id2) {
		t.Fatalf("claim with leaseMs: %s %v", raw, err)
	}
	time.Sleep(1500 * time.Millisecond)
	if lt := getLeaseTask(t, e, id2); lt.Status != "in_progress" {
		t.Fatalf("task with a 60 s lease after 1.5 s: %+v", lt)
	}
	if lt := getLeaseTask(t, e, id); lt.Status != "completed" {
		t.Fatalf("completed task after its old lease: %+v", lt)
	}
}

// TestWorkRenewsLease: cb work renews the lease of the task whose command
// is running, so a command longer than the lease is not taken away.
func TestWorkRenewsLease(t *testing.T) {
	e := newTaskEnv(t, "CB_TASKS_LEASE=1s", "CB_TASKS_REAPER_INTERVAL=100ms")
	id := e.mustTask(t, "task.create", map[string]any{"text": "slow"}).ID
	r := testenv.RunCB(t, bin, e.h, nil, nil, "work", "--worker", "slowpoke", "--until-idle", "500ms", "--", "sh", "-c", "sleep 3; echo done")
	if r.Code != 0 {
		t.Fatalf("cb work: exit %d %s", r.Code, r.Stderr)
	}
	lt := getLeaseTask(t, e, id)
	if lt.Status != "completed" || lt.Attempts != 1 || lt.AssignedTo != "slowpoke" {
		t.Fatalf("task after a 3 s command with a 1 s lease: %+v\n%s", lt, r.Stderr)
	}
}
