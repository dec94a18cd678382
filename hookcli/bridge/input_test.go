package bridge

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseHookInput(t *testing.T) {
	cases := []struct {
		name, in, wantErr, wantSession string
	}{
		{"ok", `{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"unknown":[1,2]}`, "", "s1"},
		{"surrounding space", "\n  {\"session_id\":\"s2\"}  \n", "", "s2"},
		{"empty", "", "empty input", ""},
		{"spaces only", "  \n\t", "empty input", ""},
		{"not json", "hello", "expected a JSON object", ""},
		{"array", `[{"session_id":"x"}]`, "expected a JSON object", ""},
		{"truncated", `{"session_id":"s1","tool_input":{"command":"l`, "invalid JSON", ""},
		{"wrong type", `{"session_id":123}`, "field session_id must be a string", ""},
		{"wrong type tool", `{"tool_name":{"a":1}}`, "field tool_name must be a string", ""},
		{"trailing garbage", `{"session_id":"s"} x`, "invalid JSON", ""},
		{"null", `{"session_id":null}`, "", ""},
		// As JavaScript reads it: the last of a duplicated name, exact names.
		{"duplicate", `{"session_id":"a","session_id":"b"}`, "", "b"},
		{"case differs", `{"session_id":"a","Session_ID":"b"}`, "", "a"},
		{"case differs only", `{"SESSION_ID":"b"}`, "", ""},
		{"escaped name", `{"session_id":"a","session\u005fid":"b"}`, "", "b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := ParseHookInput([]byte(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.SessionID != c.wantSession {
				t.Fatalf("session = %q, want %q", in.SessionID, c.wantSession)
			}
		})
	}
}

func FuzzParseHookInput(f *testing.F) {
	f.Add([]byte(`{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`))
	f.Add([]byte(`{"session_id":123}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Add([]byte(`{"a":"\u0000\ud800"}`))
	f.Add([]byte(`{"session_id":"a","Session_Id":"b","session_id":"c","hook_event_name":"PreToolUse","HOOK_EVENT_NAME":"Stop"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseHookInput(data)
		if err == nil {
			if len(in.Raw) == 0 || in.Raw[0] != '{' {
				t.Fatalf("accepted input that is not an object: %q", data)
			}
			// The fields are what a JavaScript reader finds: exact names,
			// the last value of a name given twice (as decoding into a Go
			// map does).
			var m map[string]any
			if err := json.Unmarshal(in.Raw, &m); err != nil {
				t.Fatalf("accepted %q that is not a JSON object: %v", data, err)
			}
			for name, got := range map[string]string{"session_id": in.SessionID, "hook_event_name": in.HookEventName, "tool_name": in.ToolName} {
				want, _ := m[name].(string)
				if got != want {
					t.Fatalf("%q: %s = %q, want %q", data, name, got, want)
				}
			}
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
