package claudecode

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/workfeed"
)

// workRules allow the one command a fed session runs here: completing its
// task with cb (headless mode refuses a Bash call nobody allowed).
const workRules = `
hook:
  rules:
    - id: cc-allow-task-complete
      tool: Bash
      field: command
      match: '^\S*/cb task complete \S+ --worker session:\S+$'
      action: allow
      reason: 'ClaudeBench lets a fed session complete its task.'
`

// completeRe finds the command the block reason tells Claude to run.
var completeRe = regexp.MustCompile(`cb task complete (\S+) --worker (\S+)`)

// lastUser is the last user message of req: its text blocks joined, and
// whether it carries tool results.
func lastUser(req *apiRequest) (text string, toolResults bool) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != "user" {
			continue
		}
		var parts []string
		for _, b := range m.blocks() {
			switch b.Type {
			case "text":
				parts = append(parts, b.Text)
			case "tool_result":
				toolResults = true
			}
		}
		return strings.Join(parts, "\n"), toolResults
	}
	return "", false
}

// TestClientWorkFeeding: a session opted in with `cb task work --session`
// and two queued tasks, the first with a note attached. The model ends its
// turn at once; its Stop is answered with the first task (claimed for the
// session's worker) and its note, which reach the model; the model
// completes it by running the `cb task complete` the reason names;
// its next Stop gets the second task, done the same way; with the queue
// empty the last Stop lets it stop, and the run ends normally.
func TestClientWorkFeeding(t *testing.T) {
	r := newRig(t, workRules, nil)
	const session = "7d0c5e1a-3b2f-4c6d-8e9f-0a1b2c3d4e5f"
	worker := workfeed.WorkerID(session, "", "")
	ids := map[string]string{}
	var noted string // the task with a note
	const note = "Keep the old name as an alias until v3.\nThe loader tests are in config/load_test.go."
	for _, text := range []string{"Rename the config loader", "Update the changelog"} {
		res := r.cb(nil, "task", "create", "-q", text)
		if res.Code != 0 {
			t.Fatalf("cb task create: exit %d %s", res.Code, res.Stderr)
		}
		id := strings.TrimSpace(res.Stdout)
		ids[id] = text
		if noted == "" {
			noted = id
			params, _ := json.Marshal(map[string]any{"taskId": id, "key": "handover", "type": "note", "value": note, "createdBy": "session:earlier"})
			if res := r.cb(nil, "call", "task.attach", string(params)); res.Code != 0 {
				t.Fatalf("cb call task.attach: exit %d %s", res.Code, res.Stderr)
			}
		}
	}
	if res := r.cb(nil, "task", "work", "--session", session); res.Code != 0 || !strings.Contains(res.Stdout, worker) {
		t.Fatalf("cb task work: exit %d %s%s", res.Code, res.Stdout, res.Stderr)
	}

	var fed []string                // task ids in the order the model was handed them
	feedback := map[string]string{} // task id -> the Stop feedback the model got with it
	api := newFakeAPI(t, func(req *apiRequest) reply {
		text, results := lastUser(req)
		switch {
		case results:
			return reply{Text: "Task done."}
		case strings.Contains(text, "Stop hook feedback"):
			m := completeRe.FindAllStringSubmatch(text, -1)
			if m == nil {
				return reply{Text: "I cannot tell which task this is."}
			}
			id, w := m[len(m)-1][1], m[len(m)-1][2]
			fed = append(fed, id)
			feedback[id] = text
			return reply{Tools: []toolUse{bash(bin.CB + " task complete " + id + " --worker " + w)}}
		}
		return reply{Text: "Nothing to do yet."}
	})
	run := r.runClient(api, "work through the queue", "--session-id", session)
	run.finished(t, map[string]any{"subtype": "success"})
	for id, b := range run.toolResults() {
		if b["is_error"] == true {
			t.Fatalf("tool %s failed: %v", id, b)
		}
	}
	if len(fed) != 2 || ids[fed[0]] == "" || ids[fed[1]] == "" || fed[0] == fed[1] {
		t.Fatalf("the model was handed %v, want both tasks of %v once each", fed, ids)
	}
	// The noted task's context reached the model, in the block reason;
	// the other task has none.
	for _, want := range []string{"[note] handover (by session:earlier,",
		"  Keep the old name as an alias until v3.\n  The loader tests are in config/load_test.go.",
		"cb task attach " + noted + " handover --type note"} {
		if !strings.Contains(feedback[noted], want) {
			t.Fatalf("the model was handed %s without %q:\n%s", noted, want, feedback[noted])
		}
	}
	for id, fb := range feedback {
		if id != noted && strings.Contains(fb, "Context attached") {
			t.Fatalf("task %s has no attachments, but the model got a context:\n%s", id, fb)
		}
	}
	for id, text := range ids {
		var tk struct {
			Status     string `json:"status"`
			AssignedTo string `json:"assignedTo"`
			Text       string `json:"text"`
		}
		r.cbJSON(&tk, "task", "get", id, "--json")
		if tk.Status != "completed" || tk.AssignedTo != worker || tk.Text != text {
			t.Fatalf("task %s: %+v, want %q completed by %s", id, tk, text, worker)
		}
	}
	// Three stops: two blocked with a task, the last let through.
	stops := r.hookInputs("stop", session)
	if len(stops) != 3 {
		t.Fatalf("%d Stop hooks, want 3: %v", len(stops), stops)
	}
	var decisions []string
	for _, a := range r.audit(session, 3) {
		if a.Event == "hook.stop" {
			decisions = append(decisions, a.Decision)
		}
	}
	if strings.Join(decisions, ",") != "deny,deny,none" {
		t.Fatalf("Stop decisions %v, want deny,deny,none", decisions)
	}
}

// TestClientWorkFeedingCap: a fed session that keeps stopping without
// completing its task is reminded until tasks.feed_max_blocks (8, Claude
// Code's default CLAUDE_CODE_STOP_HOOK_BLOCK_CAP) blocks in a row; the client
// honours all of them and asks once more, and that stop gives the task back
// to the queue and lets the run end normally.
func TestClientWorkFeedingCap(t *testing.T) {
	r := newRig(t, "", nil)
	const session = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	res := r.cb(nil, "task", "create", "-q", "Refactor the parser")
	if res.Code != 0 {
		t.Fatalf("cb task create: exit %d %s", res.Code, res.Stderr)
	}
	id := strings.TrimSpace(res.Stdout)
	if res := r.cb(nil, "task", "work", "--session", session); res.Code != 0 {
		t.Fatalf("cb task work: exit %d %s", res.Code, res.Stderr)
	}
	api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Not now."} })
	run := r.runClient(api, "idle", "--session-id", session)
	run.finished(t, map[string]any{"subtype": "success"})
	stops := r.hookInputs("stop", session)
	if len(stops) != workfeed.DefaultMaxBlocks+1 {
		t.Fatalf("%d Stop hooks, want %d", len(stops), workfeed.DefaultMaxBlocks+1)
	}
	var decisions []string
	for _, a := range r.audit(session, workfeed.DefaultMaxBlocks+2) {
		if a.Event == "hook.stop" {
			decisions = append(decisions, a.Decision)
		}
	}
	want := strings.Repeat("deny,", workfeed.DefaultMaxBlocks) + "none"
	if strings.Join(decisions, ",") != want {
		t.Fatalf("Stop decisions %v, want %s", decisions, want)
	}
	var tk struct {
		Status     string `json:"status"`
		AssignedTo string `json:"assignedTo"`
	}
	r.cbJSON(&tk, "task", "get", id, "--json")
	if tk.Status != "pending" || tk.AssignedTo != "" {
		t.Fatalf("task %s: %+v, want it back in the queue", id, tk)
	}
}
