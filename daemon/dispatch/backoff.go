package dispatch

import (
	"context"
	"log/slog"
	"time"
)

// backoff sleeps with capped exponential delays between failed Redis calls
// and logs only when the state changes (first failure, recovery).
type backoff struct {
	log    *slog.Logger
	delay  time.Duration
	failed bool
}

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

func (b *backoff) fail(ctx context.Context, what string, err error) {
	if !b.failed {
		b.log.Warn("redis unavailable; retrying with backoff", "op", what, "err", err)
		b.failed = true
	}
	if b.delay == 0 {
		b.delay = backoffMin
	} else if b.delay *= 2; b.delay > backoffMax {
		b.delay = backoffMax
	}
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (b *backoff) ok() {
	if b.failed {
		b.log.Info("redis available again")
	}
	b.failed = false
	b.delay = 0
}
