// Package invoke is the chain every transport runs a request through
// (Redis streams, HTTP JSON-RPC, Claude Code http hooks, WebSocket, MCP):
// input validation, admission by the Guard (rate limit, circuit breaker),
// the handler under a timeout with panics recovered, output validation,
// and the handler's fallback; Stats counts what it did.
package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas/validate"
)

// Invoker runs one request through the middleware chain and returns the
// encoded result or a typed error:
//
//	input validation → rate limit → circuit breaker → timeout →
//	handler (panics recovered) → output validation
//
// A method that protocol.ShedsOverLimit (the hooks) is never refused for
// its rate limit: over it, the handler runs in shed mode (Request.Shed),
// counted in Stats.
// (the handlers persist through the store before they return).
// Every transport calls Invoke, so the chain is the same everywhere.
type Invoker struct {
	reg            *registry.Registry
	val            *validate.Validator
	defaultTimeout time.Duration
	log            *slog.Logger
	stats          *Stats
	guard          *Guard
}

// SetGuard enables rate limits and circuit breakers (call before serving).
func (in *Invoker) SetGuard(g *Guard) { in.guard = g }

// New builds the chain for a registry.
func New(reg *registry.Registry, val *validate.Validator, defaultTimeout time.Duration, log *slog.Logger) *Invoker {
	return &Invoker{reg: reg, val: val, defaultTimeout: defaultTimeout, log: log, stats: NewStats(reg.Events())}
}

// Stats returns the invoker's counters.
func (in *Invoker) Stats() *Stats { return in.stats }

// Registry returns the handler registry.
func (in *Invoker) Registry() *registry.Registry { return in.reg }

// Invoke runs ev through the chain.
func (in *Invoker) Invoke(ctx context.Context, ev protocol.Event) (json.RawMessage, *protocol.Error) {
	res, perr, _ := in.InvokeDelivery(ctx, ev, "")
	return res, perr
}

// InvokeDelivery is Invoke that also reports whether the handler crashed
// (panicked): the Redis dispatcher then leaves the entry pending for
// redelivery and, after dispatch.max_deliveries, dead-letters it.
// rateMark is the entry's protocol.StreamRateCheckedField: call.lua
// already checked the request against its rate limit ("1"), or found a
// hook request over it (protocol.StreamRateShed); "" when unchecked.
func (in *Invoker) InvokeDelivery(ctx context.Context, ev protocol.Event, rateMark string) (json.RawMessage, *protocol.Error, bool) {
	start := time.Now()
	h, ok := in.reg.Lookup(ev.Type)
	if !ok {
		return nil, &protocol.Error{Code: protocol.CodeMethodNotFound, Message: "unknown method " + ev.Type}, false
	}
	res, perr := in.invoke(ctx, h, ev, rateMark)
	in.stats.record(ev.Type, time.Since(start), perr)
	if perr == nil {
		in.stats.recordHook(ev.Type, ev.Payload, res)
	}
	crashed := perr != nil && perr.Data == errDataPanic
	if crashed {
		perr = &protocol.Error{Code: perr.Code, Message: perr.Message}
	}
	return res, perr, crashed
}

// errDataPanic marks (by identity) the error a recovered panic becomes.
var errDataPanic = &struct{ panicked bool }{true}

func (in *Invoker) invoke(ctx context.Context, h *registry.Handler, ev protocol.Event, rateMark string) (json.RawMessage, *protocol.Error) {
	params := ev.Payload
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if err := in.val.Input(h.Event, params); err != nil {
		return nil, protocol.AsError(err)
	}
	req := &registry.Request{Event: ev, Params: params}
	var adm admission
	if in.guard != nil {
		var perr *protocol.Error
		if adm, perr = in.guard.Admit(ctx, h, ev, rateMark); perr != nil {
			return in.fallback(h, req, perr)
		}
		if adm.shed {
			// Over the rate limit, yet the answer must be the one it would
			// be without the flood: run the handler, minus its extras.
			req.Shed = true
			in.stats.shed(h.Event)
		}
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = in.defaultTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	out, err := in.call(hctx, h, req)
	var perr *protocol.Error
	if err != nil {
		perr = protocol.AsError(err)
		if errors.Is(err, context.DeadlineExceeded) || (hctx.Err() != nil && perr.Code == protocol.CodeInternal) {
			perr = &protocol.Error{Code: protocol.CodeTimeout, Message: fmt.Sprintf("%s did not finish within %s", h.Event, timeout)}
		}
	}
	cancel()
	if in.guard != nil {
		in.guard.Record(ctx, h, countsAsFailure(perr), adm)
	}
	if perr != nil {
		return in.fallback(h, req, perr)
	}
	var res json.RawMessage
	switch v := out.(type) {
	case json.RawMessage:
		res = v
	default:
		if res, err = json.Marshal(v); err != nil {
			return nil, &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("%s: encode result: %v", h.Event, err)}
		}
	}
	if err := in.val.Output(h.Event, res); err != nil {
		in.log.Error("handler answer fails its output schema", "method", h.Event, "err", err)
		return nil, protocol.AsError(err)
	}
	return res, nil
}

// fallback answers with the handler's declared fallback for errors that
// are not the caller's fault (circuit open, timeout, failure), else the error.
func (in *Invoker) fallback(h *registry.Handler, req *registry.Request, perr *protocol.Error) (json.RawMessage, *protocol.Error) {
	if h.Fallback == nil || perr.Code == protocol.CodeInvalidParams || perr.Code == protocol.CodeRateLimited || perr.Data == errDataPanic {
		return nil, perr
	}
	v, ok := h.Fallback(req, perr)
	if !ok {
		return nil, perr
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, perr
	}
	in.stats.record(h.Event, 0, perr) // the rejection still counts
	return b, nil
}

// call runs the handler body, turning a panic into an internal error.
func (in *Invoker) call(ctx context.Context, h *registry.Handler, req *registry.Request) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			in.log.Error("handler panicked", "method", h.Event, "panic", r, "stack", string(debug.Stack()))
			err = &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("%s panicked: %v", h.Event, r), Data: errDataPanic}
		}
	}()
	return h.Fn(ctx, req)
}
