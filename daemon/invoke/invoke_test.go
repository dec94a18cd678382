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

// TestChain: what the chain makes of each way a call can end, without a
// Guard (the Redis-backed admission is covered by the shed test and the
// dispatch tests).
func TestChain(t *testing.T) {
	val := testenv.Validator(t)
	fallback := func(*registry.Request, *protocol.Error) (any, bool) {
		return map[string]any{"version": "fallback", "instanceId": "x", "redisMode": "external"}, true
	}
	block := func(ctx context.Context, _ *registry.Request) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	boom := func(context.Context, *registry.Request) (any, error) { panic("boom") }
	cases := []struct {
		name    string
		h       registry.Handler
		params  string
		want    protocol.Code // 0: a result
		result  string        // its version, when a result
		crashed bool
	}{
		{name: "result", h: registry.Handler{Fn: version()}, params: `{}`, result: "t"},
		{name: "null params read as {}", h: registry.Handler{Fn: version()}, params: `null`, result: "t"},
		{name: "invalid params", h: registry.Handler{Fn: version(), Fallback: fallback}, params: `{"x":1}`, want: protocol.CodeInvalidParams},
		{name: "timeout", h: registry.Handler{Fn: block, Timeout: 20 * time.Millisecond}, params: `{}`, want: protocol.CodeTimeout},
		{name: "timeout answered by the fallback", h: registry.Handler{Fn: block, Timeout: 20 * time.Millisecond, Fallback: fallback}, params: `{}`, result: "fallback"},
		{name: "panic", h: registry.Handler{Fn: boom, Fallback: fallback}, params: `{}`, want: protocol.CodeInternal, crashed: true},
		{name: "answer fails its output schema", h: registry.Handler{Fn: func(context.Context, *registry.Request) (any, error) {
			return map[string]any{"version": 1}, nil
		}}, params: `{}`, want: protocol.CodeInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := registry.New()
			c.h.Event = method
			reg.Register(c.h)
			inv := New(reg, val, time.Second, quiet)
			ev := protocol.Event{Type: method, Payload: json.RawMessage(c.params)}
			res, perr, crashed := inv.InvokeDelivery(context.Background(), ev, "")
			if crashed != c.crashed {
				t.Errorf("crashed = %v, want %v", crashed, c.crashed)
			}
			if c.want != 0 {
				if perr == nil || perr.Code != c.want || res != nil {
					t.Fatalf("got %s, %v; want error %d", res, perr, c.want)
				}
				if perr.Data == errDataPanic {
					t.Fatal("the panic marker leaked to the caller")
				}
				if sn := inv.Stats().Snapshot()[method]; sn.Errors != 1 || (c.want == protocol.CodeTimeout) != (sn.Timeouts == 1) {
					t.Fatalf("stats %+v", sn)
				}
				return
			}
			var out struct{ Version string }
			if perr != nil || json.Unmarshal(res, &out) != nil || out.Version != c.result {
				t.Fatalf("got %s, %v; want version %q", res, perr, c.result)
			}
		})
	}

	inv := New(registry.New(), val, time.Second, quiet)
	if _, perr := inv.Invoke(context.Background(), protocol.Event{Type: "no.such"}); perr == nil || perr.Code != protocol.CodeMethodNotFound {
		t.Fatalf("unknown method: %v", perr)
	}
}
