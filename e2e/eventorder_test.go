package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

// TestTaskEventIDsKeepOrder: task events take the sequence part of their
// stream ids from one counter, so a creation and an update written in the
// same millisecond to two streams still compare in the order written; a
// stream holding a later id (another writer) makes Redis pick the id.
func TestTaskEventIDsKeepOrder(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		raw, err := e.call(t, "task.create", map[string]any{"text": "ordered"})
		if err != nil {
			t.Fatal(err)
		}
		var tk task
		_ = json.Unmarshal(raw, &tk)
		if _, err := e.call(t, "task.update", map[string]any{"id": tk.ID, "updates": map[string]any{"priority": 9}}); err != nil {
			t.Fatal(err)
		}
		created, _ := e.rdb.XRevRangeN(ctx, protocol.StreamKey("task.created"), "+", "-", 1).Result()
		updated, _ := e.rdb.XRevRangeN(ctx, protocol.StreamKey("task.updated"), "+", "-", 1).Result()
		if len(created) != 1 || len(updated) != 1 || protocol.CompareStreamIDs(created[0].ID, updated[0].ID) >= 0 {
			t.Fatalf("created %v, updated %v: want the creation's id before the update's", created, updated)
		}
	}
	// Another writer put a later id in task.created: creating still works.
	if err := e.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: protocol.StreamKey("task.created"), ID: "9999999999999-0",
		Values: []any{protocol.StreamField, `{}`}}).Err(); err != nil {
		t.Fatal(err)
	}
	raw, err := e.call(t, "task.create", map[string]any{"text": "after a future entry"})
	if err != nil {
		t.Fatalf("create with a later id in the stream: %v", err)
	}
	last, _ := e.rdb.XRevRangeN(ctx, protocol.StreamKey("task.created"), "+", "-", 1).Result()
	if len(last) != 1 || last[0].ID != "9999999999999-1" || !strings.Contains(last[0].Values[protocol.StreamField].(string), "after a future entry") {
		t.Fatalf("event after the future entry: %v (task %s)", last, raw)
	}
}
