package redisbatch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/redisbatch"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestConcurrentCallersGetTheirOwnReplies: 64 goroutines × 200 commands
// through 1, 2 and 4 flushers: every caller gets its own reply, nothing is
// lost or run twice, and the commands did share pipelines.
func TestConcurrentCallersGetTheirOwnReplies(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	ctx := context.Background()
	for _, flushers := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(flushers), func(t *testing.T) {
			b := redisbatch.New(rdb, flushers, 0)
			key := fmt.Sprintf("ctr:%d", flushers)
			var wg sync.WaitGroup
			for g := 0; g < 64; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 200; i++ {
						echo := redis.NewStringCmd(ctx, "echo", fmt.Sprintf("%d/%d", g, i))
						incr := redis.NewIntCmd(ctx, "incr", key)
						if err := b.Do(echo); err != nil {
							t.Error(err)
							return
						}
						if echo.Val() != fmt.Sprintf("%d/%d", g, i) {
							t.Errorf("caller %d/%d got %q", g, i, echo.Val())
							return
						}
						if err := b.Do(incr); err != nil || incr.Val() < 1 {
							t.Errorf("incr: %v %d", err, incr.Val())
							return
						}
					}
				}()
			}
			wg.Wait()
			if n := rdb.Get(ctx, key).Val(); n != "12800" {
				t.Fatalf("counter = %s, want 12800 (a command lost or run twice)", n)
			}
		})
	}
}

// TestErrorsStayWithTheirCommand: a failing command in a shared pipeline
// fails only its own caller.
func TestErrorsStayWithTheirCommand(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	ctx := context.Background()
	b := redisbatch.New(rdb, 1, 0)
	rdb.Set(ctx, "str", "x", 0)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "list"
			if i%2 == 1 {
				key = "str" // LPUSH on a string: WRONGTYPE
			}
			errs[i] = b.Do(redis.NewIntCmd(ctx, "lpush", key, i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i%2 == 1) {
			t.Errorf("command %d: err %v", i, err)
		}
	}
	if n := rdb.LLen(ctx, "list").Val(); n != 25 {
		t.Fatalf("list has %d entries, want 25", n)
	}
}

// TestRunScriptLoadsOnNoScript: RunScript and RunScriptArgs work on a server that has never
// seen the script (EVALSHA fails with NOSCRIPT, EVAL follows) and after.
func TestRunScriptLoadsOnNoScript(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	ctx := context.Background()
	b := redisbatch.New(rdb, 2, time.Second)
	sc := redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	for want := int64(5); want <= 15; want += 5 {
		n, err := b.RunScript(ctx, sc, []string{"k"}, 5).Int64()
		if err != nil || n != want {
			t.Fatalf("RunScript = %d, %v; want %d", n, err, want)
		}
	}
	sc = redis.NewScript(`return redis.call('INCRBY', KEYS[2], ARGV[1])`)
	for want := int64(2); want <= 4; want += 2 {
		n, err := b.RunScriptArgs(ctx, sc, 2, "k", "k2", 2).Int64()
		if err != nil || n != want {
			t.Fatalf("RunScriptArgs = %d, %v; want %d", n, err, want)
		}
	}
}

// TestDeadRedis: with Redis gone, callers get an error within the timeout
// instead of hanging.
func TestDeadRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	b := redisbatch.New(rdb, 1, 500*time.Millisecond)
	start := time.Now()
	if err := b.Do(redis.NewStatusCmd(context.Background(), "ping")); err == nil {
		t.Fatal("ping to a dead Redis succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}
