package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestCallerChecksRateLimit: cbd publishes its rate limits in cb:limits,
// and a caller over the limit is refused by call.lua before its request is
// appended (no round trip to cbd), with the error cbd's guard gives.
// Requests within the limit carry the mark that tells cbd they are
// counted already. A hook request over the limit (the lean cb hook's) is
// not refused: it is appended marked shed and still decided.
func TestCallerChecksRateLimit(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_SYSTEM_HEALTH_RATE_LIMIT=3", "CB_HANDLERS_HOOK_PRE_TOOL_RATE_LIMIT=1")
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := e.rdb.HGet(ctx, protocol.LimitsKey, "system.health").Result()
		if got == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cb:limits system.health = %q, want 3", got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	perr := e.burst(t, "system.health", 3)
	retry, _ := perr.Data.(map[string]any)["retryAfterMs"].(int64)
	// retryAfterMs is an int64 only when call.lua refused the call (an
	// answer from cbd decodes to float64).
	if perr.Code != protocol.CodeRateLimited || retry < 1 || retry > 1000 ||
		!strings.HasPrefix(perr.Message, "system.health: more than 3 requests/s from source:") {
		t.Fatalf("over the limit: %+v (retryAfterMs %d)", perr, retry)
	}
	entries, err := e.rdb.XRange(ctx, protocol.StreamKey("system.health"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d requests appended, want 3: the one over the limit must not reach cbd", len(entries))
	}
	for _, m := range entries {
		if m.Values[protocol.StreamRateCheckedField] != "1" {
			t.Errorf("entry %s lacks %s=1: %v", m.ID, protocol.StreamRateCheckedField, m.Values)
		}
	}

	// cb hook: the second PreToolUse of a session within a second is over
	// the limit, yet a hook is never refused for its rate: call.lua appends
	// it marked shed, and cbd still evaluates the rules (deny).
	in := []byte(`{"session_id":"rl-1","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls; rm -rf /"}}`)
	for i := range 2 {
		r := testenv.RunCB(t, bin, e.h, nil, in, "hook", "pre_tool")
		if r.Code != 0 || !strings.Contains(r.Stdout, `"permissionDecision":"deny"`) {
			t.Fatalf("hook %d: exit %d %q %s", i, r.Code, r.Stdout, r.Stderr)
		}
	}
	hooks, err := e.rdb.XRange(ctx, protocol.StreamKey("hook.pre_tool"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 2 || hooks[0].Values[protocol.StreamRateCheckedField] != "1" || hooks[1].Values[protocol.StreamRateCheckedField] != protocol.StreamRateShed {
		t.Fatalf("hook requests appended: %v; want two, the second marked %s", hooks, protocol.StreamRateShed)
	}

	// cbd never saw the refused requests, but counts them in its metrics.
	var m struct {
		Handlers map[string]struct {
			Calls       int64 `json:"calls"`
			RateLimited int64 `json:"rateLimited"`
			Shed        int64 `json:"shed"`
		} `json:"handlers"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		e.mustCall(t, "system.metrics", map[string]any{}, &m)
		if m.Handlers["system.health"].RateLimited == 1 && m.Handlers["hook.pre_tool"].Shed == 1 && m.Handlers["hook.pre_tool"].RateLimited == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("system.metrics handlers: %+v; want rateLimited 1 for system.health, shed 1 and rateLimited 0 for hook.pre_tool", m.Handlers)
		}
	}
	if c := m.Handlers["system.health"].Calls; c != 3 {
		t.Errorf("system.health calls = %d, want the 3 that reached cbd", c)
	}
}

// burst calls method over Redis limit+1 times in a row: the calls within
// its rate limit must succeed, and it returns the error of the one over it.
func (e *taskEnv) burst(t *testing.T, method string, limit int) *protocol.Error {
	t.Helper()
	for i := range limit {
		if _, err := e.call(t, method, map[string]any{}); err != nil {
			t.Fatalf("call %d within the limit: %v", i, err)
		}
	}
	var perr *protocol.Error
	if _, err := e.call(t, method, map[string]any{}); !errors.As(err, &perr) {
		t.Fatalf("call over the limit: %v", err)
	}
	return perr
}
