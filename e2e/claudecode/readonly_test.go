package claudecode

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestClientReadOnlyRuleSet: with hook.rule_sets: [read_only], the
// permission dialog a headless run raises for a Bash call (PermissionRequest)
// is approved by cb when the whole line only reads inside the project; a
// line that writes gets no opinion, and the headless client denies it.
func TestClientReadOnlyRuleSet(t *testing.T) {
	r := newRig(t, "hook:\n  rule_sets: [read_only]\n", nil)
	if err := os.WriteFile(filepath.Join(r.project, "notes.txt"), []byte("cb-readonly-line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			// Claude Code approves some read-only commands by itself (nl, cat,
			// ...); these it asks about.
			return reply{Tools: []toolUse{bash("cksum notes.txt && column notes.txt"), bash("comm notes.txt notes.txt | md5sum"),
				bash("nl notes.txt > copy.txt")}}
		}
		return reply{Text: "Done."}
	})
	run := r.runClient(api, "read the notes")
	run.finished(t, nil)
	session := run.sessionID()

	var approved, unanswered []string
	for _, a := range r.audit(session, 2) {
		if a.Event != "hook.permission_request" {
			continue
		}
		if a.Decision == "allow" && slices.Contains(a.RuleIDs, "read-only-approve") {
			approved = append(approved, a.Tool)
		} else {
			unanswered = append(unanswered, a.Decision)
		}
	}
	for _, in := range r.hookInputs("permission_request", session) {
		t.Logf("PermissionRequest for %v", in["tool_input"])
	}
	if len(approved) == 0 || len(unanswered) != 1 {
		t.Fatalf("permission requests: approved %v, others %v (debug: %q)", approved, unanswered, run.debugLines("PermissionRequest"))
	}
	var read bool
	for _, res := range run.toolResults() {
		if strings.Contains(toolResultText(res), "cb-readonly-line") {
			read = true
		}
	}
	if !read {
		t.Errorf("the approved read-only call did not run: %v", run.toolResults())
	}
	if _, err := os.Stat(filepath.Join(r.project, "copy.txt")); err == nil {
		t.Errorf("the writing call ran without approval")
	}
}

// toolResultText is a tool_result's content as text.
func toolResultText(res map[string]any) string {
	switch c := res["content"].(type) {
	case string:
		return c
	case []any:
		var sb strings.Builder
		for _, b := range c {
			if m, ok := b.(map[string]any); ok {
				s, _ := m["text"].(string)
				sb.WriteString(s)
			}
		}
		return sb.String()
	}
	return ""
}
