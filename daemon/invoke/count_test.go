package invoke

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestGuardCountsHooksAfterAnswer: a hook request that did not come
// through call.lua (an http or mcp_tool hook) is decided without waiting
// for Redis while its circuit is trusted closed: with Redis stopped
// (SIGSTOP) it is answered at once. It is still counted, after: a source
// over its limit has its next requests shed, until its window frees a slot.
func TestGuardCountsHooksAfterAnswer(t *testing.T) {
	srv := testenv.NewRedis(t)
	rdb := srv.Client(t)
	var runs, shedRuns atomic.Int64
	reg := registry.New()
	reg.Register(registry.Handler{Event: "hook.pre_tool", Fn: func(ctx context.Context, r *registry.Request) (any, error) {
		runs.Add(1)
		if r.Shed {
			shedRuns.Add(1)
		}
		return protocol.HookResult{Decision: protocol.DecisionDeny, Reason: "no"}, nil
	}})
	inv := New(reg, testenv.Validator(t), 2*time.Second, quiet)
	inv.SetGuard(NewGuard(rdb, GuardConfig{RateLimit: 3, Recheck: time.Minute}))
	call := func(session string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ev := protocol.Event{Type: "hook.pre_tool", Payload: json.RawMessage(`{"session_id":"` + session + `","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`),
			Metadata: protocol.Metadata{ID: protocol.NewID(), SessionID: session}}
		start := time.Now()
		res, perr := inv.Invoke(ctx, ev)
		var hr protocol.HookResult
		if perr != nil || json.Unmarshal(res, &hr) != nil || hr.Decision != protocol.DecisionDeny {
			t.Fatalf("hook call: %s %v", res, perr)
		}
		return time.Since(start)
	}
	call("warm") // the first asks Redis, and trusts the circuit after

	if err := syscall.Kill(srv.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	el := call("stalled")
	if err := syscall.Kill(srv.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if el > 500*time.Millisecond {
		t.Fatalf("with Redis stopped the hook took %v: it waited for its count", el)
	}

	// Over the limit (3/s): the counts that come back say so, and the
	// source's next requests are shed.
	for range 5 {
		call("flood")
	}
	g := inv.guard
	deadline := time.Now().Add(5 * time.Second)
	for len(g.counting) > 0 && time.Now().Before(deadline) { // the counts' replies
		time.Sleep(10 * time.Millisecond)
	}
	before := shedRuns.Load()
	call("flood")
	if shedRuns.Load() != before+1 {
		t.Fatalf("the flood's next request was not shed (shed runs %d → %d)", before, shedRuns.Load())
	}
	call("quiet")
	if shedRuns.Load() != before+1 {
		t.Fatal("another source was shed")
	}
	time.Sleep(1100 * time.Millisecond) // the window frees its slots
	call("flood")
	if shedRuns.Load() != before+1 {
		t.Fatal("the source is still shed after its window passed")
	}
}
