package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
)

// scanCounter is a go-redis hook counting the SCAN commands sent.
type scanCounter struct{ n atomic.Int64 }

func (c *scanCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *scanCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *scanCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *scanCounter) count(cmd redis.Cmder) {
	if strings.EqualFold(cmd.Name(), "scan") {
		c.n.Add(1)
	}
}

// fill writes n keys that are not streams, as n/2 tasks leave (a hash and
// an idempotency key each).
func fill(tb testing.TB, rdb *redis.Client, n int) {
	tb.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 10000 {
		pipe := rdb.Pipeline()
		for i := start; i < min(start+10000, n); i++ {
			if i%2 == 0 {
				pipe.HSet(ctx, protocol.TaskKey(fmt.Sprintf("t-%d", i)), "id", i, "status", "pending")
			} else {
				pipe.Set(ctx, protocol.TaskIdemKey(fmt.Sprintf("e-%d", i)), "{}", 0)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// Issue 16: with many tasks in Redis, finding the streams must not walk
// the keyspace. A follower finds a stream created while it runs, among
// thousands of other keys, without a single SCAN.
func TestFollowerFindsStreamsWithoutScan(t *testing.T) {
	srv := testenv.NewRedis(t)
	rdb := srv.Client(t)
	fill(t, rdb, 4000)
	pub := client.New(rdb, "test")
	ctx := t.Context()
	if _, err := pub.Publish(ctx, "demo.before", json.RawMessage(`{}`), client.Options{}); err != nil {
		t.Fatal(err)
	}

	var scans scanCounter
	reader := srv.Client(t)
	reader.AddHook(&scans)
	got := make(chan Entry, 10)
	ready := make(chan struct{})
	f := &Follower{Redis: reader, Patterns: []string{"demo.*"}, Rescan: 20 * time.Millisecond, Block: 50 * time.Millisecond,
		Ready: func() { close(ready) }}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = f.Run(rctx, func(es []Entry) error {
			for _, e := range es {
				got <- e
			}
			return nil
		})
	})
	defer func() { cancel(); wg.Wait() }()
	<-ready
	if _, err := pub.Publish(ctx, "demo.created_later", json.RawMessage(`{}`), client.Options{}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Type != "demo.created_later" {
			t.Fatalf("delivered %s, want demo.created_later", e.Type)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the follower did not find the stream created while it ran")
	}
	time.Sleep(100 * time.Millisecond) // a few more rescans
	if n := scans.n.Load(); n != 0 {
		t.Fatalf("the follower sent %d SCANs; it must read the index of streams (%s)", n, protocol.StreamsKey)
	}
}

// A Redis written before the index existed: Types falls back to SCAN,
// AdoptOnce indexes the streams once, and from then on nothing scans. A
// type in the index without a stream is not listed.
func TestTypesFallbackAndAdopt(t *testing.T) {
	srv := testenv.NewRedis(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	fill(t, rdb, 100)
	for _, typ := range []string{"hook.pre_tool", "task.created", "custom.thing"} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, "{}"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var scans scanCounter
	rdb.AddHook(&scans)
	want := []string{"custom.thing", "hook.pre_tool", "task.created"}
	if got, err := Types(ctx, rdb, "*"); err != nil || !slices.Equal(got, want) || scans.n.Load() == 0 {
		t.Fatalf("Types without an index = %v, %v after %d SCANs; want %v by SCAN", got, err, scans.n.Load(), want)
	}
	if n, err := AdoptOnce(ctx, rdb); err != nil || n != 3 {
		t.Fatalf("AdoptOnce = %d, %v; want 3", n, err)
	}
	if n, err := AdoptOnce(ctx, rdb); err != nil || n != 0 {
		t.Fatalf("second AdoptOnce = %d, %v; want 0 (already indexed)", n, err)
	}
	if err := Register(ctx, rdb, "never.written"); err != nil {
		t.Fatal(err)
	}
	scans.n.Store(0)
	if got, err := Types(ctx, rdb, "*"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("Types = %v, %v; want %v", got, err, want)
	}
	if got, err := Types(ctx, rdb, "hook.*"); err != nil || !slices.Equal(got, []string{"hook.pre_tool"}) {
		t.Fatalf(`Types("hook.*") = %v, %v`, got, err)
	}
	if n := scans.n.Load(); n != 0 {
		t.Fatalf("%d SCANs with the index in place", n)
	}
}

// BenchmarkStreamDiscovery lists 20 streams among 0 or 200,000 other keys
// (100k pending tasks: a hash and an idempotency key each), by SCAN (the
// fallback, what every lister did before the index) and from the index.
func BenchmarkStreamDiscovery(b *testing.B) {
	for _, keys := range []int{0, 200000} {
		srv := testenv.NewRedis(b)
		rdb := srv.Client(b)
		ctx := context.Background()
		fill(b, rdb, keys)
		for i := range 20 {
			typ := fmt.Sprintf("demo.s%d", i)
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, "{}"}}).Err(); err != nil {
				b.Fatal(err)
			}
			if err := Register(ctx, rdb, typ); err != nil {
				b.Fatal(err)
			}
		}
		var scans scanCounter
		rdb.AddHook(&scans)
		for _, way := range []struct {
			name string
			list func() ([]string, error)
		}{
			{"scan", func() ([]string, error) { return scanTypes(ctx, rdb) }},
			{"index", func() ([]string, error) { return Types(ctx, rdb, "*") }},
		} {
			b.Run(fmt.Sprintf("%s/keys=%d", way.name, keys), func(b *testing.B) {
				scans.n.Store(0)
				for b.Loop() {
					got, err := way.list()
					if err != nil || len(got) != 20 {
						b.Fatalf("%d types, %v", len(got), err)
					}
				}
				b.ReportMetric(float64(scans.n.Load())/float64(b.N), "scans/op")
			})
		}
	}
}
