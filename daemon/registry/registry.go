// Package registry is the one place handlers are declared. The Redis
// dispatcher (and every other transport) derives its routes from it.
package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/claudebench/cb/protocol"
)

// Request is one call of a handler.
type Request struct {
	// Event is the envelope the request arrived in.
	Event protocol.Event
	// Params is the validated input (Event.Payload).
	Params json.RawMessage
	// Shed is set when the request is over its rate limit but runs anyway
	// (protocol.ShedsOverLimit): the handler answers as always and skips
	// what it can do without (audit detail, event copies).
	Shed bool
}

// Func is a handler's body. It returns a value encoding/json can marshal (or
// a json.RawMessage) and an error; a *protocol.Error keeps its code.
type Func func(ctx context.Context, req *Request) (any, error)

// Handler declares one method.
type Handler struct {
	// Event is the method and stream name, e.g. "task.create".
	Event string
	// Fn is the body.
	Fn Func
	// Persist marks handlers whose effects are written through the store.
	Persist bool
	// Roles restricts which instances consume the stream (none = every instance).
	Roles []string
	// RateLimit is events per second per source (0 = the default, -1 = none).
	RateLimit int
	// CircuitFailures overrides handlers.circuit_failures (0 = the default).
	CircuitFailures int
	// Timeout overrides handlers.timeout (0 = the default).
	Timeout time.Duration
	// Expose lists the transports besides Redis that publish this method
	// (e.g. "mcp"); hooks and destructive administration stay off MCP.
	Expose []string
	// Fallback, when set, answers instead of an error when the handler
	// cannot run (circuit open, timeout).
	Fallback func(req *Request, err *protocol.Error) (any, bool)
}

// Registry holds the handlers of one cbd. It is built at start and read-only
// afterwards.
type Registry struct {
	handlers map[string]*Handler
}

// New returns an empty registry.
func New() *Registry { return &Registry{handlers: map[string]*Handler{}} }

// Register adds handlers; a duplicate event is a programming error.
func (r *Registry) Register(hs ...Handler) {
	for i := range hs {
		h := hs[i]
		if _, dup := r.handlers[h.Event]; dup {
			panic(fmt.Sprintf("registry: handler %s registered twice", h.Event))
		}
		r.handlers[h.Event] = &h
	}
}

// Lookup returns the handler of an event.
func (r *Registry) Lookup(event string) (*Handler, bool) {
	h, ok := r.handlers[event]
	return h, ok
}

// Events returns every registered event, sorted.
func (r *Registry) Events() []string {
	out := make([]string, 0, len(r.handlers))
	for e := range r.handlers {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// ServedBy returns the events an instance with roles consumes.
func (r *Registry) ServedBy(roles []string) []string {
	var out []string
	for _, e := range r.Events() {
		if r.handlers[e].RunsOn(roles) {
			out = append(out, e)
		}
	}
	return out
}

// RunsOn reports whether an instance with roles consumes this handler: an
// instance without roles runs everything; one with roles runs the handlers
// without roles and those sharing one of its roles.
func (h *Handler) RunsOn(roles []string) bool {
	if len(h.Roles) == 0 || len(roles) == 0 {
		return true
	}
	for _, want := range h.Roles {
		for _, have := range roles {
			if want == have {
				return true
			}
		}
	}
	return false
}
