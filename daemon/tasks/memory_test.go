package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// memoryFigures are the Redis bytes one pending task costs, measured.
type memoryFigures struct {
	perTask  float64 // used_memory growth / tasks
	hash     int64   // MEMORY USAGE cb:task:{id}
	idem     int64   // MEMORY USAGE cb:idem:task:{eventId}
	queue    float64 // MEMORY USAGE cb:queue:tasks / tasks
	stream   float64 // MEMORY USAGE cb:stream:task.created / tasks
	encoding string  // OBJECT ENCODING of the hash
}

// measurePending creates n pending tasks through the service (as cbd
// does, each with a request event id and a Claude Code session in its
// metadata) on a fresh redis-server started with extra, and measures.
func measurePending(t *testing.T, n int, text string, extra ...string) memoryFigures {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := testenv.NewRedis(t, extra...)
	rdb := srv.Client(t, testenv.PoolSize(32))
	svc, _ := newService(ctx, t, rdb, tasks.Config{Source: "cbd-memory"})
	create := func(i int) string {
		meta := fmt.Sprintf(`{"sessionId":"3f1c9a52-7c1e-4b7e-9a43-%012d"}`, i%50)
		eventID := protocol.NewID()
		if _, err := svc.Create(ctx, eventID, api.TaskCreateParams{Text: text + strconv.Itoa(i), Metadata: []byte(meta)}); err != nil {
			t.Fatal(err)
		}
		return eventID
	}
	create(-1) // scripts loaded, streams and counters made
	used := func() int64 {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	before := used()
	var wg sync.WaitGroup
	var lastEvent string
	var mu sync.Mutex
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				id := create(i)
				mu.Lock()
				lastEvent = id
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f := memoryFigures{perTask: float64(used()-before) / float64(n)}
	ids, err := rdb.ZRange(ctx, protocol.QueueTasksKey, 0, 0).Result()
	if err != nil || len(ids) == 0 {
		t.Fatalf("queue: %v %v", ids, err)
	}
	usage := func(key string) int64 {
		v, err := rdb.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		return v
	}
	f.hash = usage(protocol.TaskKey(ids[0]))
	f.idem = usage(protocol.TaskIdemKey(lastEvent))
	f.queue = float64(usage(protocol.QueueTasksKey)) / float64(n+1)
	f.stream = float64(usage(protocol.StreamKey("task.created"))) / float64(n+1)
	f.encoding = rdb.ObjectEncoding(ctx, protocol.TaskKey(ids[0])).Val()
	if fields := rdb.HGetAll(ctx, protocol.TaskKey(ids[0])).Val(); len(fields) > 0 {
		for k, v := range fields {
			if v == "" {
				t.Errorf("task hash field %s is stored empty: every reader takes a missing field as empty", k)
			}
		}
	}
	return f
}

// TestPendingTaskMemory bounds the Redis memory of one pending task, as
// MEMORY USAGE reports it for its hash (deterministic for a Redis version)
// and INFO's used_memory grows per task. CB_MEMORY_TASKS sets how many
// tasks are made (default 2000; the README's figures are from 20000).
func TestPendingTaskMemory(t *testing.T) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("CB_MEMORY_TASKS")); err == nil && v > 0 {
		n = v
	}
	f := measurePending(t, n, "Write the release notes for build ")
	t.Logf("%d pending tasks: %.0f B/task used_memory; hash %d B (%s), idem key %d B, queue %.1f B/task, task.created stream %.1f B/task",
		n, f.perTask, f.hash, f.encoding, f.idem, f.queue, f.stream)
	if f.encoding != "listpack" {
		t.Errorf("task hash encoding %s, want listpack", f.encoding)
	}
	// The remembered answer of a create is a reference to its task.created
	// entry (it was the whole task again: 408 B with Redis 7.0).
	if f.idem > 200 {
		t.Errorf("the idempotency key of a create takes %d B, want at most 200", f.idem)
	}
	// A longer text (Claude Code's todos, prompts) passes Redis's
	// hash-max-listpack-value (64): the hash becomes a hashtable.
	long := strings.Repeat("Refactor the store layer so that listing stays O(page). ", 4)
	for _, c := range []struct {
		name  string
		extra []string
	}{{"default", nil}, {"hash-max-listpack-value 1024", []string{"--hash-max-listpack-value", "1024"}}} {
		f := measurePending(t, n, long, c.extra...)
		t.Logf("%d pending tasks, %d-byte text, %s: %.0f B/task used_memory; hash %d B (%s), idem key %d B, task.created stream %.1f B/task",
			n, len(long), c.name, f.perTask, f.hash, f.encoding, f.idem, f.stream)
	}
}

// A replayed create answers the same bytes as the first time, from the
// task.created entry, even with metadata that looks like the envelope, and
// after the task changed; with the entry gone it answers the task as it is.
func TestCreateReplayAnswersTheSameBytes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := testenv.NewRedis(t)
	rdb := srv.Client(t)
	svc, _ := newService(ctx, t, rdb, tasks.Config{Source: "cbd-replay"})
	eventID := protocol.NewID()
	meta := `{"note":",\"metadata\":{\"id\":\"x/y\"}","sessionId":"s/1","k":1,"metadata":{"id":"` + eventID + `\/task.created\/1"}}`
	p := api.TaskCreateParams{Text: `quotes " and slashes / and ,"metadata":{"id":`, Metadata: []byte(meta)}
	first, err := svc.Create(ctx, eventID, p)
	if err != nil {
		t.Fatal(err)
	}
	var created api.Task
	if err := json.Unmarshal(first, &created); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Claim(ctx, "", api.TaskClaimParams{WorkerID: "w1", MaxTasks: 1}); err != nil {
		t.Fatal(err)
	}
	again, err := svc.Create(ctx, eventID, p)
	if err != nil || string(again) != string(first) {
		t.Fatalf("replay answered\n%s (%v)\nwant\n%s", again, err, first)
	}
	if n := rdb.ZCard(ctx, protocol.QueueTasksKey).Val(); n != 0 {
		t.Fatalf("the replay queued a task again: queue holds %d", n)
	}
	// events.retention shorter than the answer's 24 h: the entry is gone.
	rdb.Del(ctx, protocol.StreamKey("task.created"))
	now, err := svc.Create(ctx, eventID, p)
	if err != nil {
		t.Fatal(err)
	}
	var cur api.Task
	if err := json.Unmarshal(now, &cur); err != nil || cur.ID != created.ID || cur.Status != "in_progress" {
		t.Fatalf("replay without the entry answered %s (%v), want task %s as it is now", now, err, created.ID)
	}
}
