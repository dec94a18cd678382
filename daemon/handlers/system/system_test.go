package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/handlers/handlertest"
	"github.com/claudebench/cb/daemon/instance"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// fixture is a registry of the system handlers over a flushed Redis.
type fixture struct {
	t   *testing.T
	rdb redis.UniversalClient
	reg *registry.Registry
}

func newFixture(t *testing.T, d Deps) *fixture {
	t.Helper()
	rdb := testenv.SharedRedis(t).Flushed(t)
	d.Redis = rdb
	if d.RedisMode == "" {
		d.RedisMode = "external"
	}
	reg := registry.New()
	reg.Register(Handlers(d)...)
	return &fixture{t: t, rdb: rdb, reg: reg}
}

// call runs a handler body directly, checks params against the input schema
// and the answer against the output schema, and decodes it into out.
func (f *fixture) call(method, params string, out any) error {
	f.t.Helper()
	data, err := handlertest.Call(f.t, f.reg, protocol.Event{Type: method, Payload: json.RawMessage(params)})
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s: decode %s: %v", method, data, err)
		}
	}
	return nil
}

func (f *fixture) mustCall(method, params string, out any) {
	f.t.Helper()
	if err := f.call(method, params, out); err != nil {
		f.t.Fatalf("%s %s: %v", method, params, err)
	}
}

func TestRegisterHeartbeatHealth(t *testing.T) {
	f := newFixture(t, Deps{InstanceID: "cbd-1", TTL: time.Minute, StoreKind: "sqlite",
		StorePing: func(context.Context) error { return nil }})
	ctx := context.Background()

	var reg api.RegisterResult
	f.mustCall("system.register", `{"id":"worker-1","roles":["worker"],"metadata":{"host":"h"}}`, &reg)
	if !reg.Registered || reg.Instance.ID != "worker-1" || reg.Instance.Health != "healthy" ||
		strings.Join(reg.Instance.Roles, ",") != "worker" || string(reg.Instance.Metadata) != `{"host":"h"}` {
		t.Fatalf("register = %+v", reg)
	}
	// The same layout cbd writes for itself.
	h := f.rdb.HGetAll(ctx, protocol.InstanceKey("worker-1")).Val()
	if h["id"] != "worker-1" || h["roles"] != `["worker"]` || h["health"] != "healthy" || h["metadata"] != `{"host":"h"}` || h["lastSeen"] == "" {
		t.Fatalf("hash = %v", h)
	}
	if ttl := f.rdb.PTTL(ctx, protocol.InstanceKey("worker-1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl = %s", ttl)
	}
	if f.rdb.ZScore(ctx, protocol.InstancesKey, "worker-1").Val() == 0 {
		t.Fatal("not in the instances zset")
	}
	// Registering without roles or metadata.
	f.mustCall("system.register", `{"id":"worker-2"}`, &reg)
	if reg.Instance.Roles == nil || len(reg.Instance.Roles) != 0 {
		t.Fatalf("roles = %#v", reg.Instance.Roles)
	}

	f.rdb.PExpire(ctx, protocol.InstanceKey("worker-1"), 5*time.Second)
	var hb struct{ Alive bool }
	f.mustCall("system.heartbeat", `{"instanceId":"worker-1"}`, &hb)
	if !hb.Alive {
		t.Fatal("heartbeat of a registered instance: alive = false")
	}
	if ttl := f.rdb.PTTL(ctx, protocol.InstanceKey("worker-1")).Val(); ttl <= 5*time.Second {
		t.Fatalf("heartbeat did not renew the ttl: %s", ttl)
	}

	var health api.HealthResult
	f.mustCall("system.health", `{}`, &health)
	if health.Status != "healthy" || health.Redis.Status != "ok" || health.Redis.Mode != "external" ||
		health.Store.Status != "ok" || health.Store.Kind != "sqlite" || len(health.Instances) != 2 {
		t.Fatalf("health = %+v", health)
	}
	for _, in := range health.Instances {
		if in.Health != "healthy" || in.AgeMs > 5000 {
			t.Errorf("instance %+v", in)
		}
		// Decoding checked it is RFC 3339.
		if in.LastSeen.IsZero() {
			t.Errorf("lastSeen is zero")
		}
	}
}

func TestHealthByHeartbeatAge(t *testing.T) {
	f := newFixture(t, Deps{HeartbeatInterval: 10 * time.Second, ReclaimAfter: 45 * time.Second})
	ctx := context.Background()
	now := time.Now()
	for id, age := range map[string]time.Duration{"fresh": time.Second, "late": 30 * time.Second, "dead": 60 * time.Second} {
		if err := instance.Write(ctx, f.rdb, instance.Record{ID: id, LastSeen: now.Add(-age)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Expired hash, still in the zset.
	f.rdb.ZAdd(ctx, protocol.InstancesKey, redis.Z{Score: float64(now.UnixMilli()), Member: "expired"})

	var health api.HealthResult
	f.mustCall("system.health", `{}`, &health)
	got := map[string]string{}
	for _, in := range health.Instances {
		got[in.ID] = in.Health
	}
	want := map[string]string{"fresh": "healthy", "late": "degraded", "dead": "unhealthy", "expired": "unhealthy"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("health by instance = %v, want %v", got, want)
	}
	if health.Status != "degraded" {
		t.Fatalf("overall status = %s, want degraded", health.Status)
	}
	if health.Store.Status != statusNotConfigured {
		t.Fatalf("store = %+v", health.Store)
	}
	for _, in := range health.Instances {
		if in.ID == "late" && (in.AgeMs < 29000 || in.AgeMs > 40000) {
			t.Errorf("late ageMs = %d", in.AgeMs)
		}
	}
}

func TestHealthUnhealthyStoreOrRedis(t *testing.T) {
	f := newFixture(t, Deps{StoreKind: "postgres", StorePing: func(context.Context) error { return errors.New("connection refused") }})
	var health api.HealthResult
	f.mustCall("system.health", `{}`, &health)
	if health.Status != "unhealthy" || health.Store.Status != "error: connection refused" || health.Redis.Status != "ok" {
		t.Fatalf("health = %+v", health)
	}

	// A Redis nobody listens on: health still answers.
	dead := redis.NewClient(&redis.Options{Network: "unix", Addr: testenv.SharedRedis(t).Dir + "/nobody.sock", MaxRetries: -1, DialerRetries: 1})
	defer dead.Close()
	reg := registry.New()
	reg.Register(Handlers(Deps{Redis: dead, RedisMode: "external"})...)
	f.reg = reg
	health = api.HealthResult{}
	f.mustCall("system.health", `{}`, &health)
	if health.Status != "unhealthy" || !strings.HasPrefix(health.Redis.Status, "error: ") || len(health.Instances) != 0 {
		t.Fatalf("health with redis down = %+v", health)
	}
}

func TestHeartbeatUnknownInstance(t *testing.T) {
	f := newFixture(t, Deps{})
	var hb struct{ Alive *bool }
	f.mustCall("system.heartbeat", `{"instanceId":"never-registered"}`, &hb)
	if hb.Alive == nil || *hb.Alive {
		t.Fatalf("alive = %v, want false", hb.Alive)
	}
	if n := f.rdb.Exists(context.Background(), protocol.InstanceKey("never-registered")).Val(); n != 0 {
		t.Fatal("heartbeat created an instance")
	}
}

func TestUnregisterReleasesTasks(t *testing.T) {
	var released []string
	f := newFixture(t, Deps{ReleaseTasks: func(ctx context.Context, id string) (int, error) {
		released = append(released, id)
		return 3, nil
	}})
	ctx := context.Background()
	f.mustCall("system.register", `{"id":"w"}`, nil)
	var res api.UnregisterResult
	f.mustCall("system.unregister", `{"instanceId":"w"}`, &res)
	if !res.Unregistered || res.Released != 3 || strings.Join(released, ",") != "w" {
		t.Fatalf("unregister = %+v, released for %v", res, released)
	}
	if f.rdb.Exists(ctx, protocol.InstanceKey("w")).Val() != 0 || f.rdb.ZScore(ctx, protocol.InstancesKey, "w").Err() != redis.Nil {
		t.Fatal("registration left behind")
	}
	// Unknown (e.g. expired) instance: nothing to remove, tasks still released.
	f.mustCall("system.unregister", `{"instanceId":"w"}`, &res)
	if res.Unregistered || res.Released != 3 || len(released) != 2 {
		t.Fatalf("second unregister = %+v", res)
	}

	// A failing release is an error naming the instance.
	f2 := newFixture(t, Deps{ReleaseTasks: func(context.Context, string) (int, error) { return 0, errors.New("store down") }})
	err := f2.call("system.unregister", `{"instanceId":"w"}`, nil)
	if err == nil || !strings.Contains(err.Error(), "store down") || !strings.Contains(err.Error(), "w") {
		t.Fatalf("err = %v", err)
	}
	// No ReleaseTasks: released 0.
	f3 := newFixture(t, Deps{})
	f3.mustCall("system.unregister", `{"instanceId":"w"}`, &res)
	if res.Released != 0 {
		t.Fatalf("released = %d", res.Released)
	}
}

func TestGetState(t *testing.T) {
	f := newFixture(t, Deps{TaskCounts: func(context.Context) (map[string]int, error) {
		return map[string]int{"pending": 2, "completed": 5}, nil
	}})
	ctx := context.Background()
	f.rdb.ZAdd(ctx, protocol.QueueTasksKey, redis.Z{Score: -50, Member: "t-1"}, redis.Z{Score: -60, Member: "t-2"})
	f.mustCall("system.register", `{"id":"w","roles":["worker"]}`, nil)
	var st api.StateResult
	f.mustCall("system.get_state", `{}`, &st)
	if st.QueueDepth != 2 || len(st.Instances) != 1 || st.Instances[0].ID != "w" {
		t.Fatalf("state = %+v", st)
	}
	want := map[string]int{"pending": 2, "in_progress": 0, "completed": 5, "failed": 0}
	if fmt.Sprint(st.TasksByStatus) != fmt.Sprint(want) {
		t.Fatalf("tasksByStatus = %v, want %v", st.TasksByStatus, want)
	}

	f2 := newFixture(t, Deps{TaskCounts: func(context.Context) (map[string]int, error) { return nil, errors.New("boom") }})
	if err := f2.call("system.get_state", `{}`, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

// TestMetricsWithoutStats: without the chain's counters, system.metrics
// reports no handlers (TestMetricsSumsCalls covers them).
func TestMetricsWithoutStats(t *testing.T) {
	f2 := newFixture(t, Deps{})
	var m2 api.MetricsResult
	f2.mustCall("system.metrics", `{}`, &m2)
	if m2.EventsProcessed != 0 || m2.Handlers == nil || len(m2.Handlers) != 0 {
		t.Fatalf("metrics without stats = %+v", m2)
	}
}

func TestDiscover(t *testing.T) {
	all, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Deps{Methods: func() []string { return all }})
	var res api.DiscoverResult
	f.mustCall("system.discover", `{}`, &res)
	if len(res.Methods) != len(all) {
		t.Fatalf("%d methods, want %d", len(res.Methods), len(all))
	}
	for i, m := range res.Methods {
		if m.Name != all[i] || m.Description == "" || len(m.Input) == 0 || len(m.Output) == 0 {
			t.Errorf("method %d = %s %q", i, m.Name, m.Description)
		}
		for _, s := range []json.RawMessage{m.Input, m.Output} {
			if strings.Contains(string(s), "$ref") {
				t.Errorf("%s: schema not self-contained: %s", m.Name, s)
			}
		}
	}

	// Only the registry's methods, when given.
	f2 := newFixture(t, Deps{Methods: func() []string { return []string{"system.health", "task.create"} }})
	res.Methods = nil
	f2.mustCall("system.discover", `{}`, &res)
	if len(res.Methods) != 2 || res.Methods[1].Name != "task.create" || !strings.Contains(string(res.Methods[1].Output), `"^t-\\d+$"`) {
		t.Fatalf("discover = %+v", res.Methods)
	}
	// A method without a schema is an error, not a silent gap.
	f3 := newFixture(t, Deps{Methods: func() []string { return []string{"no.such"} }})
	if err := f3.call("system.discover", `{}`, nil); err == nil {
		t.Fatal("discover of a method without schema succeeded")
	}
}

func TestExpose(t *testing.T) {
	val := testenv.Validator(t)
	admin := map[string]bool{"system.register": true, "system.heartbeat": true, "system.unregister": true}
	for _, h := range Handlers(Deps{}) {
		onMCP := len(h.Expose) == 1 && h.Expose[0] == "mcp"
		if admin[h.Event] == onMCP {
			t.Errorf("%s: Expose = %v", h.Event, h.Expose)
		}
		if !val.Has(h.Event) {
			t.Errorf("%s has no schema", h.Event)
		}
	}
}

func TestVersion(t *testing.T) {
	f := newFixture(t, Deps{InstanceID: "cbd-1", RedisMode: "managed"})
	var v map[string]string
	f.mustCall("system.version", `{}`, &v)
	if v["instanceId"] != "cbd-1" || v["redisMode"] != "managed" || v["version"] != protocol.Version {
		t.Fatalf("version = %v", v)
	}
}
