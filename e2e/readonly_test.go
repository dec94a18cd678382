package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// TestReadOnlyRuleSet: hook.rule_sets: [read_only] in the config file
// makes cbd approve the permission dialog for read-only calls, through
// cb hooks test (in the caller's directory) and a real cb hook
// permission_request, and nothing else.
func TestReadOnlyRuleSet(t *testing.T) {
	h := testenv.NewHome(t, "CB_REDIS_URL="+redis.URL())
	h.WriteConfig(t, "hook:\n  rule_sets: [read_only]\n")
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=" + strings.ReplaceAll(t.Name(), "/", "-")})

	out := testenv.RunCB(t, bin, h, nil, nil, "hooks", "test", "--event", "permission_request", "--command", "git log --oneline | head")
	if out.Code != 0 || !strings.Contains(out.Stdout, "decision: allow") || !strings.Contains(out.Stdout, "read-only-approve") ||
		!strings.Contains(out.Stdout, `"behavior":"allow"`) {
		t.Fatalf("read-only line: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	for _, cmd := range []string{"ls; rm -rf build", "git log > log.txt", "cat ~/.npmrc"} {
		out = testenv.RunCB(t, bin, h, nil, nil, "hooks", "test", "--event", "permission_request", "--command", cmd)
		if out.Code != 0 || !strings.Contains(out.Stdout, "decision: no opinion") {
			t.Errorf("%s: %d\n%s%s", cmd, out.Code, out.Stdout, out.Stderr)
		}
	}
	// The hook Claude Code runs answers with the approval.
	in := `{"session_id":"sess-ro","transcript_path":"/tmp/t.jsonl","cwd":"/home/u/proj","permission_mode":"default","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"git status && git diff --stat"}}`
	out = testenv.RunCB(t, bin, h, nil, []byte(in), "hook", "permission_request")
	var got struct {
		HookSpecificOutput struct {
			HookEventName string
			Decision      struct{ Behavior string }
		}
	}
	if err := json.Unmarshal([]byte(out.Stdout), &got); err != nil || out.Code != 0 ||
		got.HookSpecificOutput.HookEventName != "PermissionRequest" || got.HookSpecificOutput.Decision.Behavior != "allow" {
		t.Fatalf("cb hook permission_request: %d %v\n%s%s", out.Code, err, out.Stdout, out.Stderr)
	}
	out = testenv.RunCB(t, bin, h, nil, []byte(strings.Replace(in, "git status", "rm -rf build; git status", 1)), "hook", "permission_request")
	if out.Code != 0 || strings.TrimSpace(out.Stdout) != "" {
		t.Fatalf("cb hook permission_request with rm: %d %q %s", out.Code, out.Stdout, out.Stderr)
	}
	// Listed as a shipped rule.
	out = testenv.RunCB(t, bin, h, nil, nil, "hooks", "list", "--json")
	if !strings.Contains(out.Stdout, `"id":"read-only-approve"`) {
		t.Errorf("hooks list: %s", out.Stdout)
	}
}
