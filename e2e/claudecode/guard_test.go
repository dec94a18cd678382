package claudecode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestClientSettingsGuard: during a headless session the user settings
// file cb install wrote is rewritten without cb's hooks. The client
// notices the change and fires ConfigChange; cb's default rule
// deny-disable-cb-hooks refuses it, so the session keeps its hooks: the
// next tool call still goes through cb's PreToolUse hook.
//
// The model's own attempt (a Bash call writing the file) is refused by
// the client before any hook could matter: Claude Code asks permission
// for writes to its settings, which a headless run denies, even with
// --allowedTools Bash (and --permission-mode bypassPermissions is refused
// as root). So the test rewrites the file itself while the model's next
// call sleeps, as another program (an editor, a script) would.
//
// With the rule disabled the same change is applied: the later call runs
// without cb's hook, which shows that what the guarded run checks is the
// client honouring the block.
func TestClientSettingsGuard(t *testing.T) {
	t.Run("guarded", func(t *testing.T) { settingsGuardRun(t, true) })
	t.Run("rule disabled", func(t *testing.T) { settingsGuardRun(t, false) })
}

func settingsGuardRun(t *testing.T, guarded bool) {
	config := ""
	if !guarded {
		config = "hook:\n  disabled_rules: [deny-disable-cb-hooks]\n"
	}
	r := newRig(t, config, nil)
	settings := filepath.Join(r.config, "settings.json")
	if len(r.settings()) == 0 {
		t.Fatal("cb install wrote no settings")
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		switch req.turn() {
		case 0:
			return reply{Tools: []toolUse{bash("printf '{}\\n' > '" + settings + "'")}}
		case 1:
			if err := os.WriteFile(settings, []byte("{\"model\": \"claude-sonnet-4-5\"}\n"), 0o600); err != nil {
				t.Error(err)
			}
			// The watcher needs a moment to see the change; the sleep keeps
			// the turn open until it has.
			return reply{Tools: []toolUse{bash("sleep 4")}}
		case 2:
			return reply{Tools: []toolUse{bash("echo cb-guard-after-change")}}
		}
		return reply{Text: "Done."}
	})
	run := r.runClient(api, "drop the hooks", "--allowedTools", "Bash")
	run.finished(t, nil)
	session := run.sessionID()
	if len(run.debugLines("Bash tool permission denied")) == 0 {
		t.Errorf("the client let the model's Bash call write its settings file")
	}

	changes := r.hookInputs("config_change", "")
	t.Logf("ConfigChange inputs: %v; debug lines: %q", changes, run.debugLines("ConfigChange"))
	if len(changes) == 0 {
		t.Fatalf("the client fired no ConfigChange for %s in a headless run", settings)
	}
	in := changes[0]
	if in["file_path"] != settings || in["source"] != "user_settings" {
		t.Errorf("ConfigChange input %v", in)
	}
	var denied bool
	audited := r.audit(session, 1)
	for _, a := range audited {
		if a.Event == "hook.config_change" && a.Decision == "deny" && slices.Contains(a.RuleIDs, "deny-disable-cb-hooks") {
			denied = true
		}
	}
	if denied != guarded {
		b, _ := json.Marshal(audited)
		t.Fatalf("guarded=%v, change denied=%v; audit: %s", guarded, denied, b)
	}
	// The block held: the later call was still judged by cb (and without
	// it, it was not).
	after := false
	for _, p := range r.hookInputs("pre_tool", session) {
		ti, _ := p["tool_input"].(map[string]any)
		if cmd, _ := ti["command"].(string); strings.Contains(cmd, "cb-guard-after-change") {
			after = true
		}
	}
	if after != guarded {
		t.Errorf("guarded=%v, but cb's PreToolUse hook ran after the change: %v", guarded, after)
	}
}
