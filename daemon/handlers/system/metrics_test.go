package system_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// TestMetricsSumsCalls: system.metrics reports the counters of the chain
// the calls ran through, cbd's methods as app.Build wires them.
func TestMetricsSumsCalls(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	a := apptest.Build(t, rdb, nil, nil)
	inv := a.Invoker
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, perr := inv.Invoke(ctx, protocol.Event{Type: "system.version", Payload: json.RawMessage(`{}`)}); perr != nil {
			t.Fatal(perr)
		}
	}
	if _, perr := inv.Invoke(ctx, protocol.Event{Type: "system.heartbeat", Payload: json.RawMessage(`{"instanceId":"x"}`)}); perr != nil {
		t.Fatal(perr)
	}
	if _, perr := inv.Invoke(ctx, protocol.Event{Type: "system.heartbeat", Payload: json.RawMessage(`{"bad":1}`)}); perr == nil {
		t.Fatal("bad params accepted")
	}
	// The metrics call itself is counted once it has answered.
	res, perr := inv.Invoke(ctx, protocol.Event{Type: "system.metrics", Payload: json.RawMessage(`{}`)})
	if perr != nil {
		t.Fatal(perr)
	}
	var m api.MetricsResult
	if err := json.Unmarshal(res, &m); err != nil {
		t.Fatalf("decode %s: %v", res, err)
	}
	if m.EventsProcessed != 5 {
		t.Fatalf("eventsProcessed = %d, want 5", m.EventsProcessed)
	}
	if v := m.Handlers["system.version"]; v.Calls != 3 || v.Errors != 0 || v.MaxLatencyMs <= 0 {
		t.Fatalf("system.version = %+v", v)
	}
	if hb := m.Handlers["system.heartbeat"]; hb.Calls != 2 || hb.Errors != 1 {
		t.Fatalf("system.heartbeat = %+v", hb)
	}
	if n := len(a.Registry.Events()); len(m.Handlers) != n {
		t.Fatalf("handlers = %d, want one per method (%d)", len(m.Handlers), n)
	}
	if m.QueueDepth != 0 {
		t.Fatalf("metrics = %+v", m)
	}
	for status, n := range m.TasksByStatus {
		if n != 0 {
			t.Fatalf("tasksByStatus[%s] = %d, want none", status, n)
		}
	}
}
