package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestWorktreeHooks: a WorktreeCreate hook replaces Claude Code's own git
// worktree step, so `cb hook worktree_create` must create the worktree and
// print only its path (anything else fails the creation), and
// worktree_remove must remove it; both are recorded like any hook, and both
// do their job with cbd down.
func TestWorktreeHooks(t *testing.T) {
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"-c", "user.email=t@e", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	input := func(event string, fields map[string]any) []byte {
		m := map[string]any{"session_id": "wt-session", "transcript_path": "", "cwd": repo, "hook_event_name": event}
		for k, v := range fields {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	run := func(t *testing.T, h *testenv.Home, name string) string {
		r := testenv.RunCB(t, bin, h, nil, input("WorktreeCreate", map[string]any{"name": name}), "hook", "worktree_create")
		if r.Code != 0 {
			t.Fatalf("worktree_create: exit %d, stderr %q", r.Code, r.Stderr)
		}
		path := strings.TrimSuffix(r.Stdout, "\n")
		if want := filepath.Join(repo, ".claude", "worktrees", name); path != want {
			t.Fatalf("stdout %q, want only the path %q", r.Stdout, want)
		}
		if _, err := os.Stat(filepath.Join(path, ".git")); err != nil {
			t.Fatalf("no worktree at %s: %v", path, err)
		}
		r = testenv.RunCB(t, bin, h, nil, input("WorktreeRemove", map[string]any{"worktree_path": path}), "hook", "worktree_remove")
		if r.Code != 0 || r.Stdout != "" {
			t.Fatalf("worktree_remove: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("worktree %s still there: %v", path, err)
		}
		return path
	}

	t.Run("recorded", func(t *testing.T) {
		h, _ := startWithRules(t)
		run(t, h, "feature-x")
		rdb := redisClient(t)
		for _, ht := range []string{"worktree_create", "worktree_remove"} {
			key := protocol.StreamKey(protocol.HookMethod(ht))
			entries, err := rdb.XRange(context.Background(), key, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || strings.Contains(e.Values[protocol.StreamField].(string), "wt-session")
			}
			if !found {
				t.Errorf("%s holds no request of the session", key)
			}
		}
	})
	t.Run("cbd down", func(t *testing.T) {
		h := testenv.NewHome(t, "CB_REDIS_URL=unix:///nonexistent/redis.sock")
		run(t, h, "offline")
	})
	t.Run("no name fails the creation", func(t *testing.T) {
		h := testenv.NewHome(t, "CB_REDIS_URL=unix:///nonexistent/redis.sock")
		r := testenv.RunCB(t, bin, h, nil, input("WorktreeCreate", nil), "hook", "worktree_create")
		if r.Code == 0 || r.Code == 2 || r.Stdout != "" {
			t.Fatalf("exit %d, stdout %q: want a non-zero exit other than 2 and no path", r.Code, r.Stdout)
		}
	})
}
