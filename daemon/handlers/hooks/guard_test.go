package hooks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/settingsguard"
	"github.com/claudebench/cb/internal/policytest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// cbSettings is a settings file as cb install --scope local writes it
// (one event is enough to be "ours"), plus a user key.
const cbSettings = `{
  "model": "sonnet",
  "hooks": {
    "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/usr/local/bin/cb hook pre_tool", "timeout": 10}]}],
    "ConfigChange": [{"hooks": [{"type": "command", "command": "cb", "args": ["hook", "config_change"]}]}]
  }
}`

// otherHooks keeps a hook that is not ClaudeBench's.
const otherHooks = `{"model": "sonnet", "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "my-linter hook pre_tool"}]}]}}`

// TestSettingsGuard: the shipped rule deny-disable-cb-hooks refuses a
// ConfigChange that removes ClaudeBench's hooks from a file that held them
// (as SessionStart or an earlier ConfigChange found), or sets
// disableAllHooks; it stays out of every other change, and the facts come
// from the files and Redis through the hook handlers.
func TestSettingsGuard(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	ctx := context.Background()
	engine := policytest.DefaultEngine(t)
	guard := settingsguard.New(rdb, "")
	handlers := map[string]registry.Handler{}
	for _, h := range Handlers(Deps{Engine: func() *policy.Engine { return engine }, Facts: guard.Facts}) {
		handlers[h.Event] = h
	}
	call := func(hookType string, in map[string]any) protocol.HookResult {
		t.Helper()
		b, _ := json.Marshal(in)
		out, err := handlers[protocol.HookMethod(hookType)].Fn(ctx, &registry.Request{Params: b})
		if err != nil {
			t.Fatalf("%s: %v", hookType, err)
		}
		return out.(protocol.HookResult)
	}

	root := t.TempDir()
	project := filepath.Join(root, "proj")
	configDir := filepath.Join(root, "claude-config") // the session's $CLAUDE_CONFIG_DIR
	for _, d := range []string{filepath.Join(project, ".claude"), filepath.Join(configDir, "projects", "p")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	local := filepath.Join(project, ".claude", "settings.local.json")
	shared := filepath.Join(project, ".claude", "settings.json")
	user := filepath.Join(configDir, "settings.json")
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(local, cbSettings)
	write(user, cbSettings)
	write(shared, otherHooks)
	start := map[string]any{"hook_event_name": "SessionStart", "source": "startup", "cwd": project,
		"transcript_path": filepath.Join(configDir, "projects", "p", "s1.jsonl")}
	if res := call("session_start", start); res.Decision != "" {
		t.Fatalf("session_start: %+v", res)
	}
	members, err := rdb.SMembers(ctx, protocol.SettingsGuardKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{user, local}
	slices.Sort(members)
	slices.Sort(want)
	if !slices.Equal(members, want) {
		t.Fatalf("marked %v, want %v", members, want)
	}

	change := func(source, path string) protocol.HookResult {
		t.Helper()
		return call("config_change", map[string]any{"hook_event_name": "ConfigChange", "source": source, "file_path": path, "cwd": project})
	}
	blocked := func(res protocol.HookResult) bool {
		return res.Decision == protocol.DecisionDeny && slices.Contains(res.RuleIDs, "deny-disable-cb-hooks")
	}
	// A change that keeps our hooks passes.
	write(local, `{"model":"opus",`+cbSettings[1:])
	if res := change("local_settings", local); res.Decision != "" {
		t.Fatalf("change keeping the hooks: %+v", res)
	}
	// Dropping them is refused, with Claude Code's block output.
	write(local, otherHooks)
	res := change("local_settings", local)
	if !blocked(res) {
		t.Fatalf("dropping cb hooks: %+v", res)
	}
	if out := string(protocol.RenderHookOutput("ConfigChange", res)); out != `{"decision":"block","reason":`+mustJSON(res.Reason)+`}` {
		t.Fatalf("output %s", out)
	}
	// Still refused on the next change of the same file (the block left the
	// session's hooks in place), and when the file is deleted.
	if res := change("local_settings", local); !blocked(res) {
		t.Fatalf("second change: %+v", res)
	}
	if err := os.Remove(local); err != nil {
		t.Fatal(err)
	}
	if res := change("local_settings", local); !blocked(res) {
		t.Fatalf("deleted file: %+v", res)
	}
	// The user settings lose them too.
	write(user, `{}`)
	if res := change("user_settings", user); !blocked(res) {
		t.Fatalf("user settings: %+v", res)
	}
	// A file that never held them changes freely...
	write(shared, `{"model":"haiku"}`)
	if res := change("project_settings", shared); res.Decision != "" {
		t.Fatalf("file without cb hooks: %+v", res)
	}
	// ...but disableAllHooks is refused anywhere.
	write(shared, `{"disableAllHooks": true}`)
	if res := change("project_settings", shared); !blocked(res) {
		t.Fatalf("disableAllHooks: %+v", res)
	}
	// Managed settings: Claude Code cannot block them, so no opinion.
	if res := change("policy_settings", shared); res.Decision != "" {
		t.Fatalf("policy_settings: %+v", res)
	}
	// Hooks added by a ConfigChange are remembered from then on.
	write(shared, cbSettings)
	if res := change("project_settings", shared); res.Decision != "" {
		t.Fatalf("adding hooks: %+v", res)
	}
	write(shared, `{}`)
	if res := change("project_settings", shared); !blocked(res) {
		t.Fatalf("dropping hooks added later: %+v", res)
	}
	// Files the guard does not read: other names, relative paths, a FIFO.
	other := filepath.Join(project, "notes.json")
	write(other, `{"disableAllHooks": true}`)
	fifo := filepath.Join(root, "fifo", "settings.json")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{other, ".claude/settings.json", fifo} {
		if res := change("project_settings", p); res.Decision != "" {
			t.Fatalf("%s: %+v", p, res)
		}
	}
	// The rule is an ordinary one: disabled, the guard has no say.
	off, err := policy.New(policy.Merge(policy.DefaultRules(), nil, []string{"deny-disable-cb-hooks"}))
	if err != nil {
		t.Fatal(err)
	}
	engine = off
	write(local, `{}`)
	if res := change("local_settings", local); res.Decision != "" {
		t.Fatalf("rule disabled: %+v", res)
	}
	engine = policytest.DefaultEngine(t)
	// A new session starts from what the files hold now.
	call("session_start", start)
	if res := change("local_settings", local); res.Decision != "" {
		t.Fatalf("after a new session without cb hooks: %+v", res)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
