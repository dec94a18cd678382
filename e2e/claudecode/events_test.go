package claudecode

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
)

// otherEvents are Claude Code events whose raw input the test below
// captures with a plain command hook next to cb's, so handlers and table
// tests are built on real inputs. cb install now writes hooks for them too
// (PostToolBatch and InstructionsLoaded only when asked for with --events
// once the default set leaves them out): the test then also checks that
// cb's hook saw each of them as often as the capture did.
var otherEvents = []string{"PostToolUseFailure", "PostToolBatch", "PermissionRequest", "TaskCreated", "TaskCompleted",
	"SubagentStart", "InstructionsLoaded"}

// subagentMarker tells the subagent's requests from the main loop's.
const subagentMarker = "CB-SUBAGENT-TASK"

// TestClientOtherEvents raises the events of otherEvents in one headless
// run (a failing Bash call, a permission the session lacks, the task tools,
// a subagent, a CLAUDE.md), checks the inputs the client sent for them
// against testdata/events (-update records them), and that every one cb
// installed a hook for reached cb's stream as often as the capture hook ran.
func TestClientOtherEvents(t *testing.T) {
	r := newRig(t, clientRules, nil)
	capture := filepath.Join(r.h.Dir, "capture")
	if err := os.MkdirAll(capture, 0o700); err != nil {
		t.Fatal(err)
	}
	addCaptureHooks(t, filepath.Join(r.config, "settings.json"), capture)
	if err := os.WriteFile(filepath.Join(r.project, "CLAUDE.md"), []byte("Be brief.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if strings.Contains(req.userText(), subagentMarker) {
			return reply{Text: "Subagent finished."}
		}
		switch req.turn() {
		case 0:
			return reply{Tools: []toolUse{bash("false"), bash("touch cb-no-opinion.txt"),
				{Name: "TaskCreate", Input: map[string]any{"subject": "Check the events", "description": "all of them"}}}}
		case 1:
			return reply{Tools: []toolUse{{Name: "TaskUpdate", Input: map[string]any{"taskId": "1", "status": "completed"}}}}
		case 2:
			return reply{Tools: []toolUse{{Name: "Agent", Input: map[string]any{"description": "look around",
				"prompt": subagentMarker + ": say hello", "subagent_type": "general-purpose"}}}}
		}
		return reply{Text: "Done."}
	})
	run := r.runClient(api, "exercise the hooks", "--allowedTools", "Bash(false)")
	run.finished(t, nil)
	session := run.sessionID()
	// cb's own hook type for the subagent's end.
	record(t, r, "subagent_stop", session, "", "subagent_stop.json")
	got := map[string]map[string]any{} // the first input of each event
	files, _ := filepath.Glob(filepath.Join(capture, "*.json"))
	sort.Strings(files)
	for _, f := range files {
		in := readJSONObject(t, f)
		ev, _ := in["hook_event_name"].(string)
		if _, ok := got[ev]; !ok {
			got[ev] = in
		}
	}
	var names []string
	for ev := range got {
		names = append(names, ev)
	}
	sort.Strings(names)
	t.Logf("captured: %v", names)
	captured := map[string]int{} // times each event's capture hook ran
	for _, f := range files {
		if ev, _ := readJSONObject(t, f)["hook_event_name"].(string); ev != "" {
			captured[ev]++
		}
	}
	hooks, _ := r.settings()["hooks"].(map[string]any)
	for _, ev := range otherEvents {
		he, ok := protocol.LookupClaudeEvent(ev)
		if !ok || !strings.Contains(fmt.Sprint(hooks[ev]), "hook "+he.Type) {
			continue // not installed by cb: only the capture hook runs
		}
		if n := len(r.hookInputs(he.Type, session)); n != captured[ev] || n == 0 {
			t.Errorf("cb's %s hook put %d inputs on its stream, the capture hook ran %d times", he.Type, n, captured[ev])
		}
	}
	for _, ev := range otherEvents {
		in, ok := got[ev]
		path := filepath.Join("testdata", "events", ev+".json")
		if !ok {
			if _, err := os.Stat(path); err == nil || !*update {
				t.Errorf("the client sent no %s", ev)
			}
			continue
		}
		live := normalize(t, in, session, r.h.Dir)
		if g, w, differ := diffRecording(t, path, live); differ {
			t.Errorf("the client's %s input no longer has the recorded fields:\n got %v\nwant %v", ev, g, w)
		}
	}
}

// addCaptureHooks adds, for each of otherEvents, a command hook writing its
// input to a file in dir, to the settings cb install wrote.
func addCaptureHooks(t *testing.T, settings, dir string) {
	t.Helper()
	s := readJSONObject(t, settings)
	hooks, _ := s["hooks"].(map[string]any)
	for _, ev := range otherEvents {
		groups, _ := hooks[ev].([]any)
		hooks[ev] = append(groups, map[string]any{"hooks": []any{map[string]any{
			"type": "command", "timeout": 10,
			"command": "cat > '" + dir + "/" + ev + ".'$$'.json'"}}})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
