package instance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

var srv *testenv.Redis

func TestMain(m *testing.M) {
	var err error
	if srv, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func client(t *testing.T) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return rdb
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
