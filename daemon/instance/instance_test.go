package instance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/claudebench/cb/scripts/scripttest"
	"github.com/redis/go-redis/v9"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var srv *testenv.Redis

func TestMain(m *testing.M) { os.Exit(testenv.RedisMain(m, &srv)) }

func client(t *testing.T) redis.UniversalClient {
	t.Helper()
	rdb := srv.Flushed(t)
	scripttest.Check(t, rdb) // lease, unregister and call.lua touch only their KEYS
	return rdb
}

// running registers cbd-1 serving method, with a 300ms lease and an hour
// between heartbeats, and runs it until stop (or the end of the test).
func running(t *testing.T, rdb redis.UniversalClient, method string) (inst *Instance, stop func()) {
	t.Helper()
	inst = New(rdb, "cbd-1", nil, []string{method}, time.Minute, time.Hour, "v1", quietLog)
	inst.Lease = 300 * time.Millisecond
	if err := inst.Heartbeat(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); inst.Run(ctx, time.Now()) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return inst, stop
}

func TestWriteListRenewRemove(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	seen := time.UnixMilli(time.Now().Add(-time.Second).UnixMilli())
	rec := Record{ID: "w1", Roles: []string{"worker"}, LastSeen: seen, Metadata: json.RawMessage(`{"a":1}`)}
	if err := Write(ctx, rdb, rec, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, protocol.InstanceKey("w1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl = %s", ttl)
	}
	h := rdb.HGetAll(ctx, protocol.InstanceKey("w1")).Val()
	want := map[string]string{"id": "w1", "roles": `["worker"]`, "health": "healthy",
		"lastSeen": strconv.FormatInt(seen.UnixMilli(), 10), "metadata": `{"a":1}`}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("hash = %v, want %v", h, want)
	}
	// An id left in the zset after its hash expired.
	rdb.ZAdd(ctx, protocol.InstancesKey, redis.Z{Score: 1000, Member: "gone"})

	list, err := List(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "gone" || !list[0].Expired || list[1].ID != "w1" || list[1].Expired {
		t.Fatalf("list = %+v", list)
	}
	got := list[1]
	if !got.LastSeen.Equal(seen) || !reflect.DeepEqual(got.Roles, []string{"worker"}) || string(got.Metadata) != `{"a":1}` || got.Health != Healthy {
		t.Fatalf("record = %+v", got)
	}

	ok, err := Renew(ctx, rdb, "w1", 2*time.Minute)
	if err != nil || !ok {
		t.Fatalf("renew w1 = %v, %v", ok, err)
	}
	if ttl := rdb.PTTL(ctx, protocol.InstanceKey("w1")).Val(); ttl <= time.Minute {
		t.Fatalf("ttl after renew = %s", ttl)
	}
	list, _ = List(ctx, rdb)
	if !list[1].LastSeen.After(seen) {
		t.Fatalf("lastSeen not renewed: %v", list[1].LastSeen)
	}
	ok, err = Renew(ctx, rdb, "gone", time.Minute)
	if err != nil || ok {
		t.Fatalf("renew of an expired id = %v, %v", ok, err)
	}
	if rdb.Exists(ctx, protocol.InstanceKey("gone")).Val() != 0 {
		t.Fatal("renew resurrected an expired instance")
	}

	for _, id := range []string{"w1", "gone"} {
		if ok, err := Remove(ctx, rdb, id); err != nil || !ok {
			t.Fatalf("remove %s = %v, %v", id, ok, err)
		}
	}
	if ok, err := Remove(ctx, rdb, "w1"); err != nil || ok {
		t.Fatalf("second remove = %v, %v", ok, err)
	}
	if list, _ := List(ctx, rdb); len(list) != 0 {
		t.Fatalf("list after remove = %+v", list)
	}
}

func TestHeartbeatUsesTheSameLayout(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inst := New(rdb, "cbd-1", nil, []string{"system.version"}, time.Minute, time.Second, "v1", log)
	if err := inst.Heartbeat(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	list, err := List(ctx, rdb)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	rec := list[0]
	var meta Metadata
	if err := json.Unmarshal(rec.Metadata, &meta); err != nil || meta.Version != "v1" {
		t.Fatalf("metadata = %s (%v)", rec.Metadata, err)
	}
	if rec.ID != "cbd-1" || len(rec.Roles) != 0 || rec.Health != Healthy || time.Since(rec.LastSeen) > time.Minute {
		t.Fatalf("record = %+v", rec)
	}
	if err := inst.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := List(ctx, rdb); len(list) != 0 {
		t.Fatalf("list after unregister = %+v", list)
	}
}

func TestClassify(t *testing.T) {
	now := time.Now()
	cases := []struct {
		rec  Record
		want string
	}{
		{Record{LastSeen: now.Add(-5 * time.Second)}, Healthy},
		{Record{LastSeen: now.Add(-20 * time.Second)}, Healthy},
		{Record{LastSeen: now.Add(-21 * time.Second)}, Degraded},
		{Record{LastSeen: now.Add(-45 * time.Second)}, Degraded},
		{Record{LastSeen: now.Add(-46 * time.Second)}, Unhealthy},
		{Record{LastSeen: now, Expired: true}, Unhealthy},
		{Record{LastSeen: now, Health: Degraded}, Degraded},
		{Record{LastSeen: now.Add(-30 * time.Second), Health: Healthy}, Degraded},
	}
	for i, c := range cases {
		if got := Classify(c.rec, now, 20*time.Second, 45*time.Second); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
}

// callStatus asks call.lua, as cb does, whether a request for method would
// be appended: 1 appended and served, 0 nothing appended (nobody serves it).
func callStatus(t *testing.T, rdb redis.UniversalClient, method string) int64 {
	t.Helper()
	ev := protocol.Event{Type: method, Payload: json.RawMessage(`{}`), Metadata: protocol.Metadata{ID: protocol.NewID()}}
	_, data, err := protocol.PrepareCall(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := redisscript.Call().Run(context.Background(), rdb,
		[]string{protocol.ServingKey(method), protocol.MethodsKey, protocol.StreamKey(method),
			protocol.LimitsKey, protocol.RequestRateKey(ev), protocol.RateLimitedKey},
		time.Now().UnixMilli(), data, method, protocol.StreamField, ev.Metadata.ID, protocol.StreamRateCheckedField).Slice()
	if err != nil {
		t.Fatal(err)
	}
	return res[0].(int64)
}

// TestLeaseLapsesWithTheProcess: while Run renews the lease callers are
// served; once renewals stop (the process died: no unregister) callers are
// refused within one lease, and nothing is appended for them.
func TestLeaseLapsesWithTheProcess(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	const m = "system.version"
	_, die := running(t, rdb, m)
	for i := 0; i < 5; i++ { // well past one lease: renewals keep it
		time.Sleep(150 * time.Millisecond)
		if s := callStatus(t, rdb, m); s != 1 {
			t.Fatalf("status %d while the lease is renewed", s)
		}
	}
	die()
	died := time.Now()
	for callStatus(t, rdb, m) != 0 {
		if time.Since(died) > time.Second {
			t.Fatal("still served 1s after renewals stopped (lease 300ms)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := rdb.XLen(ctx, protocol.StreamKey(m)).Val()
	if s := callStatus(t, rdb, m); s != 0 || rdb.XLen(ctx, protocol.StreamKey(m)).Val() != n {
		t.Fatalf("status %d: a request nobody serves was appended", s)
	}
	// The registration (instance.ttl) outlives the lease.
	if rdb.Exists(ctx, protocol.InstanceKey("cbd-1")).Val() != 1 {
		t.Fatal("registration gone with the lease")
	}
}

// TestUnregisterIsPerProcess: an old process with the same instance id
// unregistering after a new one registered removes only its own entries.
func TestUnregisterIsPerProcess(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	const m = "system.version"
	old := New(rdb, "cbd-1", nil, []string{m}, time.Minute, time.Hour, "v1", quietLog)
	cur := New(rdb, "cbd-1", nil, []string{m}, time.Minute, time.Hour, "v1", quietLog)
	if old.Nonce == cur.Nonce {
		t.Fatal("two processes share a nonce")
	}
	for _, i := range []*Instance{old, cur} {
		if err := i.Heartbeat(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	if s := callStatus(t, rdb, m); s != 1 {
		t.Fatalf("status %d after the old process unregistered", s)
	}
	if got := rdb.HGet(ctx, protocol.InstanceKey("cbd-1"), "nonce").Val(); got != cur.Nonce {
		t.Fatalf("registration nonce %q, want the new process's", got)
	}
	if rdb.ZScore(ctx, protocol.InstancesKey, "cbd-1").Err() != nil {
		t.Fatal("instance id gone from cb:instances")
	}
	if err := cur.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	if s := callStatus(t, rdb, m); s != 0 {
		t.Fatalf("status %d after both unregistered", s)
	}
	if rdb.Exists(ctx, protocol.InstanceKey("cbd-1")).Val() != 0 || rdb.ZCard(ctx, protocol.InstancesKey).Val() != 0 {
		t.Fatal("registration left after the last process unregistered")
	}
}

// TestLeaseRestoresRegistration: a registration removed under a running
// process (an older process's unregister, Redis losing its data) is
// written again within one lease renewal, not at the next heartbeat.
func TestLeaseRestoresRegistration(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	running(t, rdb, "system.version")
	rdb.FlushAll(ctx)
	gone := time.Now()
	for rdb.Exists(ctx, protocol.InstanceKey("cbd-1")).Val() == 0 || rdb.SIsMember(ctx, protocol.MethodsKey, "system.version").Val() == false {
		if time.Since(gone) > 2*time.Second {
			t.Fatal("registration not restored within 2s (lease 300ms, heartbeat 1h)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStopServing: a process that stops reading withdraws its lease at once
// and does not renew it, while its registration stays.
func TestStopServing(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	const m = "system.version"
	inst, _ := running(t, rdb, m)
	if err := inst.StopServing(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if s := callStatus(t, rdb, m); s != 0 {
			t.Fatalf("status %d after StopServing", s)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if rdb.Exists(ctx, protocol.InstanceKey("cbd-1")).Val() != 1 {
		t.Fatal("registration gone")
	}
}
