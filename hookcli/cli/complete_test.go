package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

func TestCompleteTypes(t *testing.T) {
	_, rdb := clitest.MiniRedis(t)
	for _, typ := range []string{"task.created", "task.claimed", "hook.pre_tool"} {
		args := &redis.XAddArgs{Stream: protocol.StreamKey(typ), Values: []any{protocol.StreamField, `{"type":"` + typ + `","payload":{},"metadata":{"id":"e1","timestamp":1}}`}}
		if err := rdb.XAdd(context.Background(), args).Err(); err != nil {
			t.Fatal(err)
		}
	}
	out, _, code := runMain("__complete", "events", "tail", "task.")
	if code != 0 || !strings.Contains(out, "task.claimed\ntask.created\n") || strings.Contains(out, "hook.pre_tool") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, _ = runMain("__complete", "events", "get", "task.created", "")
	if strings.Contains(out, "task.") {
		t.Fatalf("completed a second argument:\n%s", out)
	}
}

// runMain runs cb-cli in process.
func runMain(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}
