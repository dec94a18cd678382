package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func xmsg(id string) redis.XMessage { return redis.XMessage{ID: id, Values: map[string]any{}} }

func ids(es []Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Type+"/"+e.ID)
	}
	return strings.Join(s, " ")
}

func TestFollowerMerge(t *testing.T) {
	f := &Follower{}
	f.init()
	var got []Entry
	deliver := func(es []Entry) error { got = append(got, es...); return nil }

	// Two streams, no full page: everything, merged by id.
	if err := f.take([]redis.XStream{
		{Stream: "cb:stream:a", Messages: []redis.XMessage{xmsg("1-0"), xmsg("3-0")}},
		{Stream: "cb:stream:b", Messages: []redis.XMessage{xmsg("2-0"), xmsg("3-1")}},
	}, deliver); err != nil {
		t.Fatal(err)
	}
	if ids(got) != "a/1-0 b/2-0 a/3-0 b/3-1" {
		t.Fatalf("merged: %s", ids(got))
	}
	if f.last["a"] != "3-0" || f.last["b"] != "3-1" {
		t.Fatalf("last ids %v", f.last)
	}

	// A full page from a: b's entries after a's last are held back until a
	// has caught up.
	got = nil
	full := make([]redis.XMessage, f.Count)
	for i := range full {
		full[i] = xmsg(fmt.Sprintf("%d-0", 10+i))
	}
	lastA := fmt.Sprintf("%d-0", 10+f.Count-1)
	held := fmt.Sprintf("%d-0", 10+f.Count+5)
	if err := f.take([]redis.XStream{
		{Stream: "cb:stream:a", Messages: full},
		{Stream: "cb:stream:b", Messages: []redis.XMessage{xmsg("11-5"), xmsg(held)}},
	}, deliver); err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != f.Count+1 || got[len(got)-1].ID != lastA || got[2].ID != "11-5" {
		t.Fatalf("%d delivered, last %s", len(got), got[len(got)-1].ID)
	}
	if len(f.pending) != 1 || f.pending[0].ID != held {
		t.Fatalf("pending %v", f.pending)
	}
	got = nil
	if err := f.take([]redis.XStream{
		{Stream: "cb:stream:a", Messages: []redis.XMessage{xmsg(fmt.Sprintf("%d-0", 10+f.Count+1))}},
	}, deliver); err != nil {
		t.Fatal(err)
	}
	if ids(got) != fmt.Sprintf("a/%d-0 b/%s", 10+f.Count+1, held) {
		t.Fatalf("after catching up: %s", ids(got))
	}
}

// A follower sees the entries written after it is ready, of the matching
// streams only, including streams created after it started.
func TestFollowerRun(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := t.Context()
	add := func(typ string) string {
		t.Helper()
		data, _ := protocol.EncodeEvent(protocol.Event{Type: typ, Payload: json.RawMessage(`{}`)})
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, data}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // keep the milliseconds of two streams apart
		return id
	}
	add("task.claimed") // before the follower: not delivered
	time.Sleep(5 * time.Millisecond)

	var mu sync.Mutex
	var got []Entry
	ready := make(chan struct{})
	f := &Follower{Redis: rdb, Patterns: []string{"*.claimed"}, Rescan: 50 * time.Millisecond, Block: 50 * time.Millisecond,
		Ready: func() { close(ready) }}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- f.Run(fctx, func(es []Entry) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, es...)
			return nil
		})
	}()
	<-ready
	want := []string{add("task.claimed"), add("task.created"), add("job.claimed")}
	f.Poke()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := ids(got); s != "task.claimed/"+want[0]+" job.claimed/"+want[2] {
		t.Fatalf("delivered %s", s)
	}
	if got[0].Stream() != "cb:stream:task.claimed" || !strings.Contains(got[0].Data(), `"task.claimed"`) {
		t.Fatalf("entry %+v", got[0])
	}
}
