package scripttest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

func checked(t *testing.T) (*redis.Client, *Checker) {
	t.Helper()
	rdb := testenv.SharedRedis(t).Flushed(t)
	return rdb, Check(t, rdb)
}

// TestHeaders: every script's header lists its KEYS in order; the task
// scripts that read ids from Redis declare the keys those name.
func TestHeaders(t *testing.T) {
	want := map[string]Header{
		"call":          {Keys: 6},
		"admit":         {Keys: 2},
		"circuit":       {Keys: 1},
		"lease":         {Keys: 1, Variadic: true},
		"unregister":    {Keys: 2, Variadic: true},
		"tasks/claim":   {Keys: 6, RunTime: []string{protocol.TaskKey("")}},
		"tasks/renew":   {Keys: 3},
		"tasks/attach":  {Keys: 3},
		"tasks/restore": {Keys: 6},
		"tasks/expire":  {Keys: 6, RunTime: []string{protocol.TaskKey(""), protocol.AssignedKey("")}},
		"tasks/release": {Keys: 8, RunTime: []string{protocol.TaskKey("")}},
		"tasks/create":  {Keys: 6, RunTime: []string{protocol.TaskKey("")}},
		"tasks/finish":  {Keys: 6, RunTime: []string{protocol.AssignedKey("")}},
		"tasks/update":  {Keys: 7, RunTime: []string{protocol.AssignedKey("")}},
		"tasks/assign":  {Keys: 9, RunTime: []string{protocol.AssignedKey("")}},
		"tasks/delete":  {Keys: 7, RunTime: []string{protocol.AssignedKey("")}},
	}
	all := scripts.All()
	if len(all) != len(want) {
		t.Errorf("%d scripts, want %d", len(all), len(want))
	}
	for _, sc := range all {
		h, err := ParseHeader(sc.File)
		if err != nil {
			t.Errorf("%s: %v", sc.Name, err)
			continue
		}
		if fmt.Sprint(h) != fmt.Sprint(want[sc.Name]) {
			t.Errorf("%s: header %+v, want %+v", sc.Name, h, want[sc.Name])
		}
		// cb hook and cb emit send call.lua without go-redis, so no
		// Checker sees their calls: they take their keys from CallKeys.
		if n := len(protocol.CallKeys("m", "r")); sc.Name == "call" && n != h.Keys {
			t.Errorf("protocol.CallKeys gives %d keys, call.lua's header lists %d", n, h.Keys)
		}
	}
}

// TestRefusesUndeclaredKeys: a script that touches a key outside KEYS and
// its declared run-time keys fails, and so does a call with the wrong
// number of keys.
func TestRefusesUndeclaredKeys(t *testing.T) {
	ctx := context.Background()
	rdb, c := checked(t)
	circuit := []string{protocol.CircuitKey("h")}
	if err := redisscript.Circuit().Run(ctx, rdb, circuit, "failure", 5, 1000, 1000, 1000).Err(); err != nil {
		t.Fatalf("circuit with its keys: %v", err)
	}
	err := redisscript.Circuit().Run(ctx, rdb, append(circuit, "cb:extra"), "failure", 5, 1000, 1000, 1000).Err()
	if err == nil || !strings.Contains(err.Error(), "header lists 1") {
		t.Fatalf("circuit with 2 keys: %v", err)
	}

	// claim pops an id and reads the task under the prefix in its context:
	// one outside the declared cb:task:{id} is refused.
	rdb.ZAdd(ctx, protocol.QueueTasksKey, redis.Z{Score: -50, Member: "t-1"})
	keys := []string{protocol.QueueTasksKey, protocol.LeasesKey, protocol.AssignedKey("w"),
		protocol.EventSeqKey, protocol.StreamKey("task.claimed"), protocol.TaskIdemKey("")}
	ctxJSON := `{"task":"cb:elsewhere:","assigned":"cb:assigned:","leaseMs":1000,"field":"event","source":"s","idemTtl":60,"eventId":""}`
	err = redisscript.TaskClaim().Run(ctx, rdb, keys, ctxJSON, "w", 1, "").Err()
	if err == nil || !strings.Contains(err.Error(), "HGETALL cb:elsewhere:t-1: key not in KEYS") {
		t.Fatalf("claim reading an undeclared key: %v", err)
	}
	if n := c.Ran()["tasks/claim"]; n != 1 {
		t.Errorf("claim ran %d times through the checker", n)
	}
}
