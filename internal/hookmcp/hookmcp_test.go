package hookmcp

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/claudebench/cb/protocol"
)

func TestTemplateCoversEveryType(t *testing.T) {
	for _, he := range protocol.HookEvents {
		tpl, err := Template(he.Type)
		if err != nil {
			t.Fatalf("%s: %v", he.Type, err)
		}
		in := tpl[ArgInput].(map[string]any)
		for _, common := range []string{"session_id", "hook_event_name", "cwd", "transcript_path"} {
			if in[common] != "${"+common+"}" {
				t.Errorf("%s: template lacks %s: %v", he.Type, common, in)
			}
		}
		if he.Tool && (in["tool_name"] != "${tool_name}" || in["tool_input"] != "${tool_input}") {
			t.Errorf("%s: tool event template lacks tool_name/tool_input: %v", he.Type, in)
		}
	}
	if _, err := Template("no_such_type"); err == nil {
		t.Error("Template of an unknown type: no error")
	}
}

func TestDecode(t *testing.T) {
	// What Claude Code sends for a PreToolUse whose hook input has no
	// agent_id (missing path → "") and an object tool_input (JSON-encoded).
	in := map[string]any{
		"session_id":      "s1",
		"hook_event_name": "PreToolUse",
		"cwd":             "/p",
		"agent_id":        "",
		"tool_name":       "Bash",
		"tool_input":      `{"command":"rm -rf /","timeout":5}`,
		"tool_use_id":     "",
		"extra":           "kept",
	}
	raw, err := Decode("pre_tool", in)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"session_id": "s1", "hook_event_name": "PreToolUse", "cwd": "/p", "tool_name": "Bash",
		"tool_input": map[string]any{"command": "rm -rf /", "timeout": float64(5)}, "extra": "kept",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %v, want %v", got, want)
	}

	// A boolean arrives as "true"; a required string stays even when empty.
	raw, err = Decode("stop", map[string]any{"stop_hook_active": "true", "session_id": "s"})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"session_id":"s","stop_hook_active":true}` {
		t.Errorf("stop: %s", raw)
	}
	raw, err = Decode("user_prompt", map[string]any{"prompt": "", "session_id": "s"})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"prompt":"","session_id":"s"}` {
		t.Errorf("user_prompt: %s", raw)
	}
	// A value that is not the JSON its schema wants is left for the
	// handler's validation to refuse, not silently dropped.
	raw, err = Decode("pre_tool", map[string]any{"tool_input": "not json"})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"tool_input":"not json"}` {
		t.Errorf("bad tool_input: %s", raw)
	}
}
