package dispatch

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

// Invoke runs one request through the middleware chain and returns the
// encoded result or a typed error:
//
//	input validation → timeout → handler (panics recovered) → output validation
//
// Every transport calls Invoke, so the chain is the same everywhere.
type Invoker struct {
	reg            *registry.Registry
	val            *validate.Validator
	defaultTimeout time.Duration
	log            *slog.Logger
	stats          *Stats
}

// NewInvoker builds the chain for a registry.
func NewInvoker(reg *registry.Registry, val *validate.Validator, defaultTimeout time.Duration, log *slog.Logger) *Invoker {
	return &Invoker{reg: reg, val: val, defaultTimeout: defaultTimeout, log: log, stats: NewStats(reg.Events())}
}

// Stats returns the invoker's counters.
func (in *Invoker) Stats() *Stats { return in.stats }

// Registry returns the handler registry.
func (in *Invoker) Registry() *registry.Registry { return in.reg }

// Invoke runs ev through the chain.
func (in *Invoker) Invoke(ctx context.Context, ev protocol.Event) (json.RawMessage, *protocol.Error) {
	start := time.Now()
	h, ok := in.reg.Lookup(ev.Type)
	if !ok {
		return nil, &protocol.Error{Code: protocol.CodeMethodNotFound, Message: "unknown method " + ev.Type}
	}
	res, perr := in.invoke(ctx, h, ev)
	in.stats.record(ev.Type, time.Since(start), perr)
	return res, perr
}

func (in *Invoker) invoke(ctx context.Context, h *registry.Handler, ev protocol.Event) (json.RawMessage, *protocol.Error) {
	params := ev.Payload
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if err := in.val.Input(h.Event, params); err != nil {
		return nil, protocol.AsError(err)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = in.defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := &registry.Request{Event: ev, Params: params}
	out, err := in.call(ctx, h, req)
	if err != nil {
		perr := protocol.AsError(err)
		if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && perr.Code == protocol.CodeInternal) {
			perr = &protocol.Error{Code: protocol.CodeTimeout, Message: fmt.Sprintf("%s did not finish within %s", h.Event, timeout)}
		}
		if h.Fallback != nil {
			if v, ok := h.Fallback(req, perr); ok {
				if b, merr := json.Marshal(v); merr == nil {
					return b, nil
				}
			}
		}
		return nil, perr
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

// call runs the handler body, turning a panic into an internal error.
func (in *Invoker) call(ctx context.Context, h *registry.Handler, req *registry.Request) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			in.log.Error("handler panicked", "method", h.Event, "panic", r, "stack", string(debug.Stack()))
			err = &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("%s panicked: %v", h.Event, r)}
		}
	}()
	return h.Fn(ctx, req)
}
