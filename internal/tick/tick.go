// Package tick runs the periodic loops of cbd's background services.
package tick

import (
	"context"
	"time"
)

// Every calls fn every interval, and at once whenever wake delivers (a nil
// wake never does), until ctx is done. fn runs on the caller's goroutine, so
// calls never overlap; a tick missed while fn runs is dropped, as
// time.Ticker drops it.
func Every(ctx context.Context, interval time.Duration, wake <-chan struct{}, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		fn()
	}
}
