package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func TestCompleteTypes(t *testing.T) {
	_, rdb := testRedis(t)
	for _, typ := range []string{"task.created", "task.claimed", "hook.pre_tool"} {
		args := &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, envelope(typ, "{}", "", 1)}}
		if err := rdb.XAdd(context.Background(), args).Err(); err != nil {
			t.Fatal(err)
		}
	}
	out, _, code := runCB("", "__complete", "events", "tail", "task.")
	if code != 0 || !strings.Contains(out, "task.claimed\ntask.created\n") || strings.Contains(out, "hook.pre_tool") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, _ = runCB("", "__complete", "events", "get", "task.created", "")
	if strings.Contains(out, "task.") {
		t.Fatalf("completed a second argument:\n%s", out)
	}
}
