package tick

import (
	"context"
	"testing"
	"time"
)

func TestEveryRunsOnTickAndWakeUntilDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	calls := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Hour, wake, func() { calls <- struct{}{} })
	}()
	wake <- struct{}{}
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("a wake did not run fn")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not return when ctx was done")
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go Every(ctx, time.Millisecond, nil, func() {
		select {
		case calls <- struct{}{}:
		default:
		}
	})
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("a tick did not run fn")
	}
}
