package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	rpc "github.com/claudebench/cb/protocol/client"
)

// taskTotal is the number of tasks task.list counts (from the store).
func taskTotal(t *testing.T, e *taskEnv, status string) int {
	t.Helper()
	p := map[string]any{"limit": 1}
	if status != "" {
		p["status"] = status
	}
	raw, err := e.call(t, "task.list", p)
	if err != nil {
		t.Fatalf("task.list: %v", err)
	}
	var res struct{ TotalCount int }
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return res.TotalCount
}

// TestShellBurstCreatesAll: 300 `cb task create` run 16 at a time (xargs
// -P 16) all succeed: every cb process is a rate-limit source of its own,
// and a call that is refused anyway is sent again after the retryAfterMs
// cbd named. The limit is set to 10/s so that the burst is over it however
// slow the machine (the default, 100/s, is not reached on a loaded 2-core
// box, where it lost 142 of 300 on an idle one).
func TestShellBurstCreatesAll(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_TASK_CREATE_RATE_LIMIT=10")
	cmd := exec.Command("sh", "-c", `seq 300 | xargs -P 16 -I{} "$CB" task create "burst {}"`)
	cmd.Env = append(append([]string{}, e.h.Env...), "CB="+bin.CB)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("xargs: %v\n%s", err, tail(errb.String(), 2000))
	}
	t.Logf("300 cb task create, 16 at a time: %v", time.Since(start).Round(time.Millisecond))
	if n := taskTotal(t, e, ""); n != 300 {
		t.Fatalf("%d tasks, want 300\n%s", n, tail(errb.String(), 2000))
	}
}

// TestEmitCountsRefused: cb emit - with 300 task.create lines (one
// process, one source, over the 100/s default) either creates all 300 or
// exits non-zero naming the lines cbd refused. Here --timeout leaves room
// for the retries, so all are created; with a limit it cannot meet within
// --timeout, the refused lines are listed and the exit status says so.
func TestEmitCountsRefused(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_TASK_UPDATE_RATE_LIMIT=2")
	var in bytes.Buffer
	for i := 1; i <= 300; i++ {
		fmt.Fprintf(&in, `{"type":"task.create","payload":{"text":"line %d"}}`+"\n", i)
	}
	r := testenv.RunCB(t, bin, e.h, nil, in.Bytes(), "emit", "-")
	if r.Code != 0 {
		t.Fatalf("cb emit: exit %d\n%s", r.Code, tail(r.Stderr, 2000))
	}
	waitFor(t, 10*time.Second, func() bool { return taskTotal(t, e, "") == 300 }, "300 tasks from 300 emitted task.create lines")
	if !strings.Contains(r.Stderr, "sent 300, rejected 0") {
		t.Fatalf("summary: %s", r.Stderr)
	}

	// A limit of 2/s cannot take 20 lines within a 1 s --timeout.
	id := e.mustTask(t, "task.create", map[string]any{"text": "target"}).ID
	waitFor(t, 10*time.Second, func() bool {
		v, _ := e.rdb.HGet(context.Background(), "cb:limits", "task.update").Result()
		return v == "2"
	}, "cb:limits task.update = 2")
	in.Reset()
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&in, `{"type":"task.update","payload":{"id":%q,"updates":{"priority":%d}}}`+"\n", id, i)
	}
	r = testenv.RunCB(t, bin, e.h, nil, in.Bytes(), "emit", "-", "--timeout", "1s")
	if r.Code == 0 {
		t.Fatalf("cb emit with refused lines exited 0:\n%s", r.Stderr)
	}
	refused := regexp.MustCompile(`(?m)^line (\d+): refused`).FindAllStringSubmatch(r.Stderr, -1)
	if len(refused) < 10 || !strings.Contains(r.Stderr, "handlers.task_update.rate_limit") {
		t.Fatalf("exit %d, refused lines %d; stderr:\n%s", r.Code, len(refused), r.Stderr)
	}
	t.Logf("exit %d, %d lines refused; summary %q", r.Code, len(refused), lastLine(r.Stderr))
}

// TestWorkPastRateLimit: cb work keeps going when its claims and
// completions run over their rate limit (it died with rate_limited after
// 100 tasks at the default 100/s): a refused call waits and is sent again.
// The limit is 10/s here so that the worker is over it however slow the
// machine (a loaded 2-core box runs `true` only ~20 times a second).
func TestWorkPastRateLimit(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_TASK_CREATE_RATE_LIMIT=0",
		"CB_HANDLERS_TASK_CLAIM_RATE_LIMIT=10", "CB_HANDLERS_TASK_COMPLETE_RATE_LIMIT=10")
	const n = 60
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if _, err := e.client.Call(ctx, "task.create", map[string]any{"text": fmt.Sprintf("w %d", i)}, rpc.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	r := testenv.RunCB(t, bin, e.h, nil, nil, "work", "--worker", "busy", "--until-idle", "1s", "--", "true")
	if r.Code != 0 {
		t.Fatalf("cb work: exit %d\n%s", r.Code, tail(r.Stderr, 2000))
	}
	t.Logf("cb work: %d tasks in %v", n, time.Since(start).Round(time.Millisecond))
	if done := taskTotal(t, e, "completed"); done != n {
		t.Fatalf("%d completed, want %d\n%s", done, n, tail(r.Stderr, 2000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
