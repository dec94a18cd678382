package mcpserver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/mcpcontent"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/internal/tick"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
)

// QueueUpdateInterval is the shortest time between two
// notifications/resources/updated for cb://queue: a burst of task events
// is one notification.
const QueueUpdateInterval = 250 * time.Millisecond

// QueueWatch makes cb://queue subscribable: while a client is subscribed
// it follows the task event streams of every instance and tells the
// subscribers (notifications/resources/updated) that the queue changed,
// so they read it again. Run runs it; New's server uses it when it is
// given in Options.
type QueueWatch struct {
	rdb redis.UniversalClient
	log *slog.Logger

	mu        sync.Mutex
	subs      map[*mcp.ServerSession]struct{} // subscribed to cb://queue
	srv       *mcp.Server
	wake      chan struct{}
	following atomic.Bool
}

// NewQueueWatch returns a watch of the task events in rdb; log may be nil.
func NewQueueWatch(rdb redis.UniversalClient, log *slog.Logger) *QueueWatch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &QueueWatch{rdb: rdb, log: log, subs: map[*mcp.ServerSession]struct{}{}, wake: make(chan struct{}, 1)}
}

// poke wakes Run to look at the subscription count again.
func (w *QueueWatch) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// subscribed is the number of sessions subscribed to cb://queue. A
// session that went away without unsubscribing no longer counts.
func (w *QueueWatch) subscribed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil && len(w.subs) > 0 {
		live := map[*mcp.ServerSession]bool{}
		for ss := range w.srv.Sessions() {
			live[ss] = true
		}
		for ss := range w.subs {
			if !live[ss] {
				delete(w.subs, ss)
			}
		}
	}
	return len(w.subs)
}

// Following reports whether the watch follows the task events now: while
// a live session is subscribed to cb://queue.
func (w *QueueWatch) Following() bool { return w.following.Load() }

// subscribe and unsubscribe are the server's resources/subscribe and
// resources/unsubscribe handlers: only cb://queue changes in a way worth
// following.
func (w *QueueWatch) subscribe(_ context.Context, req *mcp.SubscribeRequest) error {
	if req.Params == nil || req.Params.URI != mcpcontent.QueueURI {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "only " + mcpcontent.QueueURI + " can be subscribed to"}
	}
	w.mu.Lock()
	w.subs[req.Session] = struct{}{}
	w.mu.Unlock()
	w.poke()
	return nil
}

func (w *QueueWatch) unsubscribe(_ context.Context, req *mcp.UnsubscribeRequest) error {
	if req.Params == nil || req.Params.URI != mcpcontent.QueueURI {
		return nil
	}
	w.mu.Lock()
	delete(w.subs, req.Session)
	w.mu.Unlock()
	w.poke()
	return nil
}

// attach sets the server to notify.
func (w *QueueWatch) attach(srv *mcp.Server) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.srv = srv
}

// Run follows the task events while anyone is subscribed, until ctx ends.
// A session that leaves without unsubscribing stops counting at the next
// task event or subscription change.
func (w *QueueWatch) Run(ctx context.Context) {
	for {
		for w.subscribed() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
		}
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		w.following.Store(true)
		go func() { done <- w.follow(fctx) }()
		var err error
	watch:
		for {
			select {
			case <-fctx.Done():
				err = <-done
				break watch
			case <-w.wake:
				if w.subscribed() == 0 {
					cancel()
				}
			case err = <-done:
				break watch
			}
		}
		cancel()
		w.following.Store(false)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, errNobody) {
			w.log.Warn("mcp queue watch: follow the task events", "err", err)
			tick.Sleep(ctx, time.Second)
		}
	}
}

// errNobody ends a follow that has no subscriber left.
var errNobody = errors.New("no subscriber left")

// follow tells the subscribers after every batch of task events, at most
// once per QueueUpdateInterval, until ctx ends (nil), nobody is
// subscribed (errNobody) or Redis refuses to follow.
func (w *QueueWatch) follow(ctx context.Context) error {
	f := &streams.Follower{Redis: w.rdb, Patterns: tasks.EventTypes(),
		Trouble: func(what string, err error) {
			if err != nil {
				w.log.Warn("mcp queue watch: "+what, "err", err)
			}
		}}
	return f.Run(ctx, func([]streams.Entry) error {
		if w.subscribed() == 0 {
			return errNobody
		}
		w.mu.Lock()
		srv := w.srv
		w.mu.Unlock()
		if srv == nil {
			return errNobody
		}
		if err := srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: mcpcontent.QueueURI}); err != nil {
			w.log.Warn("mcp queue watch: notify", "err", err)
		}
		tick.Sleep(ctx, QueueUpdateInterval)
		return nil
	})
}
