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
	go Every[struct{}](ctx, time.Millisecond, nil, func() {
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

func TestEveryIgnoresClosedWake(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan int)
	close(wake)
	calls := 0
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	// With a closed wake taken as a wake, fn would run in a tight loop.
	Every(ctx, time.Hour, wake, func() { calls++ })
	if calls != 0 {
		t.Fatalf("fn ran %d times on a closed wake and no tick", calls)
	}
}
