package claudesettings

import "testing"

// TestSummarize: which settings files hold ClaudeBench's hooks, as cb
// install writes them in every form, and which switch all hooks off.
func TestSummarize(t *testing.T) {
	r := Recognizer{Command: `"$CLAUDE_PROJECT_DIR"/bin/claudebench`, HTTPAddr: "10.0.0.5:7711"}
	cases := []struct {
		name, content string
		ours, off     bool
	}{
		{"empty object", `{}`, false, false},
		{"not JSON", `{"hooks": `, false, false},
		{"not an object", `[1]`, false, false},
		{"shell form", `{"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"/opt/cb/bin/cb hook pre_tool"}]}]}}`, true, false},
		{"exec form", `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"cb","args":["hook","stop"]}]}]}}`, true, false},
		{"installed --command", `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"\"$CLAUDE_PROJECT_DIR\"/bin/claudebench hook stop"}]}]}}`, true, false},
		{"http loopback", `{"hooks":{"PostToolUse":[{"hooks":[{"type":"http","url":"http://127.0.0.1:7711/hooks/post_tool"}]}]}}`, true, false},
		{"http addr", `{"hooks":{"PostToolUse":[{"hooks":[{"type":"http","url":"http://10.0.0.5:7711/hooks/post_tool"}]}]}}`, true, false},
		{"http elsewhere", `{"hooks":{"PostToolUse":[{"hooks":[{"type":"http","url":"https://hooks.example.com/hooks/post_tool"}]}]}}`, false, false},
		// A cb hook under the wrong event is not one install wrote.
		{"wrong event", `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"cb hook pre_tool"}]}]}}`, false, false},
		{"other program", `{"hooks":{"PreToolUse":[{"hooks":[{"type":"command","command":"my-linter hook pre_tool"}]}]}}`, false, false},
		{"todo_write on PostToolUse", `{"hooks":{"PostToolUse":[{"matcher":"TodoWrite","hooks":[{"type":"command","command":"cb hook todo_write"}]}]}}`, true, false},
		{"disableAllHooks", `{"disableAllHooks": true, "hooks":{"Stop":[{"hooks":[{"type":"command","command":"cb hook stop"}]}]}}`, true, true},
		{"disableAllHooks false", `{"disableAllHooks": false}`, false, false},
		// JSON.parse keeps the last of a repeated key, and so does Claude Code.
		{"repeated key, last true", `{"disableAllHooks": false, "disableAllHooks": true}`, false, true},
		{"repeated hooks, last empty", `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"cb hook stop"}]}]}, "hooks": {}}`, false, false},
	}
	for _, c := range cases {
		s := r.Summarize([]byte(c.content))
		if s.HasOurHooks != c.ours || s.DisableAllHooks != c.off {
			t.Errorf("%s: %+v, want ours=%v off=%v", c.name, s, c.ours, c.off)
		}
	}
}
