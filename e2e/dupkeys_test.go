package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// TestDuplicateKeys: a hook input naming "command" twice is judged on the
// value Claude Code (JavaScript's JSON.parse) uses, the last, through cb
// hook and through POST /hooks/pre_tool; with hook.duplicate_keys refuse
// it is not judged but answered per the fail mode.
func TestDuplicateKeys(t *testing.T) {
	rmLast := []byte(`{"session_id":"dup","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls","command":"rm -rf /"}}`)
	lsLast := []byte(`{"session_id":"dup","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"rm -rf /","command":"ls"}}`)

	// both answers rmLast and lsLast through cb hook and over HTTP.
	both := func(t *testing.T, e *httpEnv, in []byte) (hook, web string) {
		t.Helper()
		r := testenv.RunCB(t, bin, e.h, nil, in, "hook", "pre_tool")
		if r.Code != 0 {
			t.Fatalf("cb hook: exit %d %s", r.Code, r.Stderr)
		}
		status, body := e.post(t, "/hooks/pre_tool", in, map[string]string{"Authorization": "Bearer " + e.token})
		if status != http.StatusOK {
			t.Fatalf("POST /hooks/pre_tool: %d %s", status, body)
		}
		return strings.TrimSpace(r.Stdout), strings.TrimSpace(string(body))
	}
	const deny = `"permissionDecision":"deny"`

	t.Run("last", func(t *testing.T) {
		e := startHTTPEnv(t)
		hook, web := both(t, e, rmLast)
		if !strings.Contains(hook, deny) || !strings.Contains(web, deny) {
			t.Fatalf("command ls then rm -rf /: cb hook %q, http %q; want both denied", hook, web)
		}
		hook, web = both(t, e, lsLast)
		if hook != "" || web != "" {
			t.Fatalf("command rm -rf / then ls: cb hook %q, http %q; want no opinion (Claude Code runs ls)", hook, web)
		}
	})
	t.Run("refuse closed", func(t *testing.T) {
		e := startHTTPEnv(t, "CB_HOOK_DUPLICATE_KEYS=refuse", "CB_HOOK_FAIL_MODE=closed")
		for _, in := range [][]byte{rmLast, lsLast} {
			hook, web := both(t, e, in)
			for _, out := range []string{hook, web} {
				if !strings.Contains(out, deny) || !strings.Contains(out, "hook.duplicate_keys") {
					t.Fatalf("%s: answer %q; want a deny naming hook.duplicate_keys", in, out)
				}
			}
		}
	})
	t.Run("refuse open", func(t *testing.T) {
		e := startHTTPEnv(t, "CB_HOOK_DUPLICATE_KEYS=refuse")
		for _, in := range [][]byte{rmLast, lsLast} {
			if hook, web := both(t, e, in); hook != "" || web != "" {
				t.Fatalf("%s: cb hook %q, http %q; want no opinion (fail mode open)", in, hook, web)
			}
		}
	})
}
