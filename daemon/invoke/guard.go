package invoke

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

// GuardConfig sets the shared rate limits and circuit breakers.
type GuardConfig struct {
	RateLimit  int           // default per-source requests/s per handler (0 = none)
	Failures   int           // failures in Window that open a circuit
	Window     time.Duration // failure window
	OpenFor    time.Duration // open period before half-open
	Probes     int           // calls let through while half-open
	CircuitTTL time.Duration // TTL of cb:circuit:{handler} (60s)
	// Recheck: for handlers without a rate limit, how long a closed
	// circuit is trusted before Redis is asked again (0 = every call).
	Recheck time.Duration
	// Batch pipelines the admission scripts of concurrent requests (nil:
	// one of its own).
	Batch *redisbatch.Batcher
}

// Guard enforces rate limits and circuit breakers through Redis, so all
// instances share them.
type Guard struct {
	rdb   redis.UniversalClient
	cfg   GuardConfig
	batch *redisbatch.Batcher
	// closedUntil: handler → unix ns until which its circuit is trusted
	// closed (handlers without a rate limit, and hook requests).
	closedUntil sync.Map
	// shedUntil: rate key → unix ns until which its source is over the
	// limit, as the last admission script of a hook request found.
	shedUntil sync.Map
	// counting bounds the counts running after their requests; when it is
	// full a hook request is counted before it runs, as other requests are.
	counting chan struct{}
}

// NewGuard returns a guard; zero config values take the defaults.
func NewGuard(rdb redis.UniversalClient, cfg GuardConfig) *Guard {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 5 * time.Second
	}
	if cfg.Probes <= 0 {
		cfg.Probes = 1
	}
	if cfg.CircuitTTL <= 0 {
		cfg.CircuitTTL = time.Minute
	}
	batch := cfg.Batch
	if batch == nil {
		batch = redisbatch.New(rdb, 2, 0)
	}
	return &Guard{rdb: rdb, cfg: cfg, batch: batch, counting: make(chan struct{}, maxCounting)}
}

// maxCounting bounds the admission scripts of hook requests in flight
// after their requests were answered.
const maxCounting = 256

// admission is the outcome of Admit.
type admission struct {
	halfOpen bool
	// shed: over the rate limit, but the method runs anyway in shed mode
	// (protocol.ShedsOverLimit).
	shed bool
}

// Limit is h's rate limit: requests per second per source, 0 for none.
func (g *Guard) Limit(h *registry.Handler) int {
	limit := g.cfg.RateLimit
	if h.RateLimit != 0 {
		limit = h.RateLimit
	}
	return max(limit, 0)
}

// Admit checks the rate limit and circuit of h for ev in one script.
// rateMark is the entry's protocol.StreamRateCheckedField, set when
// call.lua has already checked ev against the rate limit: then only the
// circuit is checked ("1"), and a request call.lua marked
// protocol.StreamRateShed is admitted in shed mode. A request of a method
// that protocol.ShedsOverLimit is never refused for its rate either.
func (g *Guard) Admit(ctx context.Context, h *registry.Handler, ev protocol.Event, rateMark string) (admission, *protocol.Error) {
	limit := g.Limit(h)
	shed := rateMark == protocol.StreamRateShed && protocol.ShedsOverLimit(h.Event)
	if rateMark != "" {
		limit = 0
	}

	// Without a rate limit only the circuit matters, and a circuit seen
	// closed a moment ago is closed still: skip the round trip.
	trust := limit == 0 && g.cfg.Recheck > 0
	if trust && g.trusted(h.Event) {
		return admission{shed: shed}, nil
	}
	member := ev.Metadata.ID
	if member == "" {
		member = protocol.NewID()
	}
	rateKey := protocol.RequestRateKey(ev)
	if limit > 0 && g.cfg.Recheck > 0 && protocol.ShedsOverLimit(h.Event) && g.trusted(h.Event) {
		// A hook request that did not come through call.lua (http and
		// mcp_tool hooks) is decided whatever its rate: the count only
		// says whether its extras are shed. So while its circuit is
		// trusted closed it runs at once, shed as the source's last count
		// said, and is counted after, off the hook's path: one Redis round
		// trip less for every zero-spawn hook.
		select {
		case g.counting <- struct{}{}:
			go func() {
				defer func() { <-g.counting }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if res, err := g.admit(ctx, h, rateKey, limit, member); err == nil {
					g.note(h, rateKey, res, false)
				} else {
					g.closedUntil.Delete(h.Event) // the next request asks Redis itself
				}
			}()
			return admission{shed: g.overLimit(rateKey)}, nil
		default: // too many counts in flight: count this one first
		}
	}
	res, err := g.admit(ctx, h, rateKey, limit, member)
	if err != nil {
		// The guard protects; when Redis is away the request fails anyway.
		return admission{}, &protocol.Error{Code: protocol.CodeUnavailable, Message: "rate limit check: redis: " + err.Error()}
	}
	g.note(h, rateKey, res, trust)
	switch res[0] {
	case 2:
		if protocol.ShedsOverLimit(h.Event) {
			// Over the limit, the rules still decide; only the circuit
			// could keep this request from its handler, and admit.lua
			// checked an open one before the rate.
			return admission{shed: true}, nil
		}
		return admission{}, protocol.RateLimitedError(h.Event, protocol.RateSource(ev), int64(limit), res[1])
	case 3:
		return admission{}, &protocol.Error{Code: protocol.CodeCircuitOpen,
			Message: fmt.Sprintf("%s is failing; its circuit is open", h.Event),
			Data:    map[string]any{"retryAfterMs": res[1]}}
	}
	return admission{halfOpen: res[2] == 1, shed: shed}, nil
}

// admit runs admit.lua for one request: {status, retryAfterMs, halfOpen}.
func (g *Guard) admit(ctx context.Context, h *registry.Handler, rateKey string, limit int, member string) ([]int64, error) {
	return g.batch.RunScript(ctx, redisscript.Admit(),
		[]string{rateKey, protocol.CircuitKey(h.Event)},
		limit, 1000, member, g.cfg.Probes, g.cfg.CircuitTTL.Milliseconds()).Int64Slice()
}

// trusted reports whether method's circuit was seen closed within
// cfg.Recheck.
func (g *Guard) trusted(method string) bool {
	until, ok := g.closedUntil.Load(method)
	return ok && time.Now().UnixNano() < until.(int64)
}

// note keeps what an admission script said for the next requests, where
// they may skip asking (trust: a method without a rate limit; and hook
// requests): the circuit trusted closed for cfg.Recheck, or no longer when
// it was not; for hooks, a source over its limit until its window frees a
// slot.
func (g *Guard) note(h *registry.Handler, rateKey string, res []int64, trust bool) {
	hook := protocol.ShedsOverLimit(h.Event)
	if g.cfg.Recheck <= 0 || !(trust || hook) || len(res) < 3 {
		return
	}
	now := time.Now()
	if hook && res[0] == 2 {
		// Kept until the window frees a slot. An admitted count does not
		// clear it: counts run concurrently, and one that was admitted
		// earlier may be read after it.
		g.shedUntil.Store(rateKey, now.Add(time.Duration(max(res[1], 1))*time.Millisecond).UnixNano())
	}
	if res[0] == 3 || res[2] == 1 {
		g.closedUntil.Delete(h.Event)
	} else {
		g.closedUntil.Store(h.Event, now.Add(g.cfg.Recheck).UnixNano())
	}
}

// overLimit reports whether the last count of a hook request's source
// found it over the limit, and its window has not freed a slot since.
func (g *Guard) overLimit(rateKey string) bool {
	until, ok := g.shedUntil.Load(rateKey)
	if ok && time.Now().UnixNano() >= until.(int64) {
		g.shedUntil.CompareAndDelete(rateKey, until) // a source that went quiet
		return false
	}
	return ok
}

// Record counts a handler failure, or closes a half-open circuit on success.
func (g *Guard) Record(ctx context.Context, h *registry.Handler, failed bool, adm admission) {
	if !failed && !adm.halfOpen {
		return // the common case costs nothing
	}
	if failed {
		g.closedUntil.Delete(h.Event) // ask Redis on the next call
	}
	outcome := "success"
	if failed {
		outcome = "failure"
	}
	failures := g.cfg.Failures
	if h.CircuitFailures > 0 {
		failures = h.CircuitFailures
	}
	_ = redisscript.Circuit().Run(ctx, g.rdb, []string{protocol.CircuitKey(h.Event)},
		outcome, failures, g.cfg.Window.Milliseconds(), g.cfg.OpenFor.Milliseconds(), g.cfg.CircuitTTL.Milliseconds()).Err()
}

// countsAsFailure: errors of the handler itself, not of the caller.
func countsAsFailure(e *protocol.Error) bool {
	if e == nil {
		return false
	}
	switch e.Code {
	case protocol.CodeInternal, protocol.CodeTimeout, protocol.CodeUnavailable:
		return true
	}
	return false
}
