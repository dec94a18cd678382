package hookcli

import (
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
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseHookInput(data)
		if err == nil {
			if len(in.Raw) == 0 || in.Raw[0] != '{' {
				t.Fatalf("accepted input that is not an object: %q", data)
			}
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
