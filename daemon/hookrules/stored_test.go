package hookrules

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestStoredRuleNoLongerValid: a run-time rule an older cb accepted but
// this one refuses (an action its event ignores) is skipped when the rules
// load, instead of keeping every other rule from loading; cb hooks rm
// still removes it.
func TestStoredRuleNoLongerValid(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.NewRedis(t).Client(t)
	stale := `{"id":"old-notification-ctx","event":"notification","action":"context","context":"x"}`
	if err := rdb.SAdd(ctx, protocol.HooksKey("notification"), stale).Err(); err != nil {
		t.Fatal(err)
	}
	rules := New(rdb, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rules.Add(ctx, policy.Rule{ID: "new-deny", Event: "task_created", Action: "deny", Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range rules.Engine().Rules() {
		ids[r.ID] = true
	}
	if !ids["new-deny"] || ids["old-notification-ctx"] {
		t.Fatalf("loaded %v", ids)
	}
	if err := rules.Remove(ctx, "old-notification-ctx"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.SCard(ctx, protocol.HooksKey("notification")).Result(); n != 0 {
		t.Fatalf("%d stale rules left", n)
	}
}
