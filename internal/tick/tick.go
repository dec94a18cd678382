// Package tick runs periodic loops: cbd's background services and the
// lease renewal of cb work.
package tick

import (
	"context"
	"time"
)

// Every calls fn every interval, and at once whenever wake delivers (a nil
// wake never does; a closed one is ignored from then on), until ctx is done.
// What wake delivers is dropped, so any channel can serve, such as a
// subscription's. fn runs on the caller's goroutine, so calls never overlap;
// a tick missed while fn runs is dropped, as time.Ticker drops it.
func Every[T any](ctx context.Context, interval time.Duration, wake <-chan T, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case _, ok := <-wake:
			if !ok {
				wake = nil // the ticker still runs fn
				continue
			}
		}
		fn()
	}
}

// Sleep waits d, or less if ctx is done first; it reports whether the whole
// of d passed (ctx is still live).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
