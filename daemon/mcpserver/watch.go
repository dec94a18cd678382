package mcpserver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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

	mu   sync.Mutex
	subs int // subscriptions to cb://queue
	srv  *mcp.Server
	wake chan struct{}
}

// NewQueueWatch returns a watch of the task events in rdb; log may be nil.
func NewQueueWatch(rdb redis.UniversalClient, log *slog.Logger) *QueueWatch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &QueueWatch{rdb: rdb, log: log, wake: make(chan struct{}, 1)}
}

// poke wakes Run to look at the subscription count again.
func (w *QueueWatch) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// subscribed is the number of subscriptions to cb://queue.
func (w *QueueWatch) subscribed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.subs
}

// subscribe and unsubscribe are the server's resources/subscribe and
// resources/unsubscribe handlers: only cb://queue changes in a way worth
// following. A session that goes away without unsubscribing leaves its
// count behind, so the watch may follow the events for nobody until cbd
// restarts; the notifications then reach no one.
func (w *QueueWatch) subscribe(_ context.Context, req *mcp.SubscribeRequest) error {
	if req.Params == nil || req.Params.URI != mcpcontent.QueueURI {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "only " + mcpcontent.QueueURI + " can be subscribed to"}
	}
	w.mu.Lock()
	w.subs++
	w.mu.Unlock()
	w.poke()
	return nil
}

func (w *QueueWatch) unsubscribe(_ context.Context, req *mcp.UnsubscribeRequest) error {
	if req.Params == nil || req.Params.URI != mcpcontent.QueueURI {
		return nil
	}
	w.mu.Lock()
	if w.subs > 0 {
		w.subs--
	}
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
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.follow(fctx)
		}()
		for w.subscribed() > 0 && fctx.Err() == nil {
			select {
			case <-fctx.Done():
			case <-w.wake:
			case <-done:
				// Redis refused the follow: try again after a pause.
				tick.Sleep(ctx, time.Second)
				cancel()
			}
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// follow tells the subscribers after every batch of task events, at most
// once per QueueUpdateInterval.
func (w *QueueWatch) follow(ctx context.Context) {
	f := &streams.Follower{Redis: w.rdb, Patterns: tasks.EventTypes(),
		Trouble: func(what string, err error) {
			if err != nil {
				w.log.Warn("mcp queue watch: "+what, "err", err)
			}
		}}
	err := f.Run(ctx, func([]streams.Entry) error {
		w.mu.Lock()
		srv := w.srv
		w.mu.Unlock()
		if srv != nil {
			if err := srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: mcpcontent.QueueURI}); err != nil {
				w.log.Warn("mcp queue watch: notify", "err", err)
			}
		}
		tick.Sleep(ctx, QueueUpdateInterval)
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("mcp queue watch: follow the task events", "err", err)
	}
}
