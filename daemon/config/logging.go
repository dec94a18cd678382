package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RepeatWindow is how long a warning that keeps coming is held back: the
// first is logged, later ones within the window are counted, and the next
// one after it carries the count (repeated=N).
const RepeatWindow = 30 * time.Second

// NewLogger builds cbd's logger at level (debug, info, warn, error) in
// format (text or json). Warnings and errors that repeat are rate-limited
// (see RepeatWindow). It also routes go-redis's own logger, which otherwise
// prints unstructured lines to stderr, through this logger at debug level.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	log := slog.New(NewRepeatHandler(h, RepeatWindow))
	redis.SetLogger(redisLogger{log.With("component", "go-redis")})
	return log
}

// redisLogger is go-redis's internal.Logging on slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.DebugContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}

// RepeatHandler wraps a slog.Handler and rate-limits warnings and errors
// that repeat: records at Warn and above with the same message and the same
// attributes (errors aside, whose text often varies) are logged once per
// window, the next one carrying repeated=N, the number held back meanwhile.
// Records below Warn pass through.
type RepeatHandler struct {
	next   slog.Handler
	window time.Duration
	prefix string // attributes and groups added with WithAttrs/WithGroup
	st     *repeatState
}

type repeatState struct {
	mu   sync.Mutex
	seen map[string]*repeatEntry
}

type repeatEntry struct {
	logged time.Time // when one was last logged
	held   int       // held back since
}

// maxRepeatKeys bounds the memory of distinct warnings.
const maxRepeatKeys = 4096

// NewRepeatHandler returns next with repeated warnings rate-limited to one
// per window.
func NewRepeatHandler(next slog.Handler, window time.Duration) *RepeatHandler {
	return &RepeatHandler{next: next, window: window, st: &repeatState{seen: map[string]*repeatEntry{}}}
}

// Enabled implements slog.Handler.
func (h *RepeatHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RepeatHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	var key strings.Builder
	key.WriteString(h.prefix)
	key.WriteString(r.Level.String())
	key.WriteByte(0)
	key.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "error" {
			return true
		}
		key.WriteByte(0)
		key.WriteString(a.String())
		return true
	})
	now := r.Time
	if now.IsZero() {
		now = time.Now()
	}
	held := 0
	h.st.mu.Lock()
	e, ok := h.st.seen[key.String()]
	switch {
	case !ok:
		if len(h.st.seen) >= maxRepeatKeys {
			h.st.prune(now, h.window)
		}
		h.st.seen[key.String()] = &repeatEntry{logged: now}
	case now.Sub(e.logged) < h.window:
		e.held++
		h.st.mu.Unlock()
		return nil
	default:
		held, e.held, e.logged = e.held, 0, now
	}
	h.st.mu.Unlock()
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", held))
	}
	return h.next.Handle(ctx, r)
}

// prune forgets entries outside the window (all of them if none are).
func (st *repeatState) prune(now time.Time, window time.Duration) {
	for k, e := range st.seen {
		if now.Sub(e.logged) >= window {
			delete(st.seen, k)
		}
	}
	if len(st.seen) >= maxRepeatKeys {
		clear(st.seen)
	}
}

// WithAttrs implements slog.Handler.
func (h *RepeatHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		b.WriteString(a.String())
		b.WriteByte(0)
	}
	return &RepeatHandler{next: h.next.WithAttrs(attrs), window: h.window, prefix: b.String(), st: h.st}
}

// WithGroup implements slog.Handler.
func (h *RepeatHandler) WithGroup(name string) slog.Handler {
	return &RepeatHandler{next: h.next.WithGroup(name), window: h.window, prefix: h.prefix + name + ".", st: h.st}
}
