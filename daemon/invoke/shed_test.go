package invoke

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestGuardShedsHooksRefusesOthers: over its rate limit, a hook request
// invoked directly (the HTTP path) still runs its handler, marked shed and
// counted; another method is refused.
func TestGuardShedsHooksRefusesOthers(t *testing.T) {
	rdb := testenv.SharedRedis(t).Flushed(t)
	var shedRuns, runs int
	reg := registry.New()
	reg.Register(
		registry.Handler{Event: "hook.pre_tool", Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			runs++
			if r.Shed {
				shedRuns++
			}
			return protocol.HookResult{Decision: protocol.DecisionDeny, Reason: "no"}, nil
		}},
		registry.Handler{Event: method, Fn: version()},
	)
	inv := New(reg, testenv.Validator(t), 2*time.Second, quiet)
	inv.SetGuard(NewGuard(rdb, GuardConfig{RateLimit: 2}))
	ctx := context.Background()
	ev := func(typ string, payload string) protocol.Event {
		return protocol.Event{Type: typ, Payload: json.RawMessage(payload),
			Metadata: protocol.Metadata{ID: protocol.NewID(), SessionID: "victim"}}
	}
	for i := range 5 {
		res, perr := inv.Invoke(ctx, ev("hook.pre_tool", `{"session_id":"victim","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`))
		var hr protocol.HookResult
		if perr != nil || json.Unmarshal(res, &hr) != nil || hr.Decision != protocol.DecisionDeny {
			t.Fatalf("hook call %d: %s %v", i, res, perr)
		}
	}
	if runs != 5 || shedRuns != 3 {
		t.Fatalf("handler ran %d times, %d shed; want 5, 3", runs, shedRuns)
	}
	if sn := inv.Stats().Snapshot()["hook.pre_tool"]; sn.Shed != 3 || sn.RateLimited != 0 {
		t.Fatalf("stats %+v, want shed 3", sn)
	}
	limited := 0
	for range 5 {
		if _, perr := inv.Invoke(ctx, ev(method, `{}`)); perr != nil && perr.Code == protocol.CodeRateLimited {
			limited++
		}
	}
	if limited != 3 {
		t.Fatalf("%s: %d of 5 refused, want 3", method, limited)
	}

	// A request call.lua marked shed is admitted in shed mode without
	// being counted again.
	res, perr, _ := inv.InvokeDelivery(ctx, ev("hook.pre_tool", `{"tool_name":"Bash","tool_input":{}}`), protocol.StreamRateShed)
	if perr != nil || shedRuns != 4 {
		t.Fatalf("marked shed: %s %v, shed runs %d", res, perr, shedRuns)
	}
}
