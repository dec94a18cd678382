package claudecode

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/policytest"
	"github.com/claudebench/cb/internal/testenv"
)

// -update rewrites testdata/hooks from what the real client sends.
var update = flag.Bool("update", false, "record the real client's hook inputs into testdata/hooks")

// Stable stand-ins for what changes from run to run in a recorded input.
const (
	recSession = "11111111-2222-4333-8444-555555555555"
	recPrompt  = "66666666-7777-4888-9999-000000000000"
	recAgent   = "a0000000000000001"
	recDir     = "/tmp/cbrec"
)

// record checks the hook input the client sent for hookType in session
// (the first on the stream whose JSON contains match) against the
// recording testdata/hooks/name: the same fields, at the same places. With
// -update it writes the recording instead. So when the pinned client
// changes what it sends, this is what says so.
func record(t *testing.T, r *rig, hookType, session, match, name string) {
	t.Helper()
	var in map[string]any
	for _, cand := range r.hookInputs(hookType, session) {
		b, _ := json.Marshal(cand)
		if strings.Contains(string(b), match) {
			in = cand
			break
		}
	}
	if in == nil {
		t.Errorf("record %s: no %s input containing %s on the stream", name, hookType, match)
		return
	}
	live := normalize(t, in, session, r.h.Dir)
	if got, want, differ := diffRecording(t, filepath.Join("testdata", "hooks", name), live); differ {
		t.Errorf("the client's %s input no longer has the recorded fields (re-record with -update once the change is handled):\n got %v\nwant %v\ninput: %s",
			hookType, got, want, live)
	}
}

// diffRecording compares the field paths of the normalized input live with
// those of the recording at path and returns both when they differ. A
// missing recording is an error of the test. With -update it writes live as
// the recording instead.
func diffRecording(t *testing.T, path string, live []byte) (got, want []string, differ bool) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, live, 0o644); err != nil {
			t.Fatal(err)
		}
		return nil, nil, false
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v (run the test with -update to record it)", err)
		return nil, nil, false
	}
	got, want = fieldPaths(t, live), fieldPaths(t, saved)
	return got, want, !slices.Equal(got, want)
}

// normalize replaces what differs between runs (session, prompt and agent ids, the
// temporary directory) with stable values and indents the JSON.
func normalize(t *testing.T, in map[string]any, session, dir string) []byte {
	t.Helper()
	if _, ok := in["prompt_id"]; ok {
		in["prompt_id"] = recPrompt
	}
	if _, ok := in["duration_ms"]; ok {
		in["duration_ms"] = 1
	}
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if id, _ := in["agent_id"].(string); id != "" {
		s = strings.ReplaceAll(s, id, recAgent) // also in agent_transcript_path
	}
	s = strings.ReplaceAll(s, session, recSession)
	s = strings.ReplaceAll(s, dir, recDir)
	// Claude Code names a project's transcript directory after its path
	// with every "/" as "-".
	s = strings.ReplaceAll(s, strings.ReplaceAll(dir, "/", "-"), strings.ReplaceAll(recDir, "/", "-"))
	return []byte(s + "\n")
}

// fieldPaths lists the object keys of a JSON document as dotted paths
// (array elements as []), sorted.
func fieldPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("recorded input: %v", err)
	}
	seen := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				seen[prefix+k] = true
				walk(prefix+k+".", e)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[].", e)
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRecordedInputs replays the hook inputs recorded from the real client
// through `cb hook` against a cbd with the client tests' rules: every one
// is accepted and gets the answer the client got. It needs no client.
func TestRecordedInputs(t *testing.T) {
	rs := testenv.NewRedis(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+rs.URL(), "CB_HOOK_TIMEOUT=8s")
	h.WriteConfig(t, clientRules)
	testenv.StartDaemon(t, bin, h, nil)
	denyRoot, _ := json.Marshal(policytest.DefaultReason(t, "deny-rm-root"))
	cases := []struct {
		file, hook string
		want       string // "" = no opinion
	}{
		{"pre_tool_bash_rm_root.json", "pre_tool",
			`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":` + string(denyRoot) + `}}`},
		{"pre_tool_bash_rewrite.json", "pre_tool",
			`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow","updatedInput":{"command":"echo rewritten-by-cb","description":"test step"}}}`},
		{"post_tool_bash.json", "post_tool", ""},
		{"session_start.json", "session_start",
			`{"hookSpecificOutput":{"hookEventName":"SessionStart","additionalContext":"CB-SESSION-CONTEXT-7731: this project is watched by ClaudeBench."}}`},
		{"user_prompt.json", "user_prompt", ""},
		{"user_prompt_context.json", "user_prompt",
			`{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"CB-PROMPT-CONTEXT-4412: deploys need the release checklist."}}`},
		{"stop.json", "stop", ""},
		{"session_end.json", "session_end", ""},
		{"subagent_stop.json", "subagent_stop", ""},
		{"todo_write_task_create.json", "todo_write", ""},
		{"todo_write_task_update.json", "todo_write", ""},
		{"todo_write_todowrite.json", "todo_write", ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "hooks", c.file))
			if err != nil {
				t.Fatal(err)
			}
			res := testenv.RunCB(t, bin, h, nil, in, "hook", c.hook)
			if res.Code != 0 || res.Stderr != "" {
				t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
			}
			if c.want == "" {
				if res.Stdout != "" {
					t.Fatalf("want no opinion, got %q", res.Stdout)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
				t.Fatalf("stdout %q: %v", res.Stdout, err)
			}
			_ = json.Unmarshal([]byte(c.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("stdout\n got %s\nwant %s", res.Stdout, c.want)
			}
		})
	}
	// The recorded task tools became tasks of the recorded session.
	res := testenv.RunCB(t, bin, h, nil, nil, "task", "list", "--json")
	var out struct{ Tasks []task }
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("cb task list: %v %s %s", err, res.Stdout, res.Stderr)
	}
	got := map[string]string{}
	for _, tk := range out.Tasks {
		if tk.Metadata["sessionId"] == recSession {
			got[tk.Text] = tk.Status
		}
	}
	want := map[string]string{"Write the quarterly report": "completed", "Read the logs": "in_progress", "Fix the bug": "pending"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tasks from the recorded todo inputs: %v, want %v", got, want)
	}
}
