package claudecode

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/claudebench/cb/internal/browsertest"
	"github.com/claudebench/cb/internal/testenv"
)

// TestClientHandover is the README's worked example ("Using cb from
// Claude"): in a project set up with `cb init`, two Claude Code sessions
// share cbd's queue while the dashboard is open. Session A queues a task,
// claims it, leaves a handover note and the files it touched, and puts it
// back in the queue; session B, started with cb's take_next_task prompt,
// claims it, gets the notes with the task, and completes it with a result.
// The dashboard, in a real Chromium, shows both sessions' events live and
// the completed task with its note, files and result on its card.
func TestClientHandover(t *testing.T) {
	addr := testenv.FreeAddr(t)
	r := newRig(t, "", []string{"CB_HTTP_ADDR=" + addr})
	if res := r.cb(nil, "uninstall"); res.Code != 0 {
		t.Fatalf("cb uninstall: exit %d %s", res.Code, res.Stderr)
	}
	if res := r.cb(nil, "init", "--dir", r.project); res.Code != 0 {
		t.Fatalf("cb init: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}

	// The dashboard is open while the sessions work.
	b := openDashboard(t, r, addr)
	defer b.ScreenshotIfFailed(t, "handover-failed.png")
	page := b.Ctx

	const (
		text = "Write the release notes for v2"
		note = "Draft is in docs/release-notes.md; the API section is still to do."
		file = "docs/release-notes.md"
	)
	var id string
	apiA := newFakeAPI(t, func(req *apiRequest) reply {
		call := func(tool string, input map[string]any) toolUse {
			return toolUse{Name: "mcp__claudebench__" + tool, Input: input}
		}
		switch req.turn() {
		case 0:
			return reply{Tools: []toolUse{call("task_create", map[string]any{"text": text, "priority": 80})}}
		case 1:
			id = lastTask(t, req).ID
			return reply{Tools: []toolUse{call("task_claim", map[string]any{"workerId": "session:alice"})}}
		case 2:
			return reply{Tools: []toolUse{
				call("task_attach", map[string]any{"taskId": id, "key": "handover", "type": "note", "value": note, "createdBy": "session:alice"}),
				call("task_attach", map[string]any{"taskId": id, "key": "touched", "type": "files", "value": []string{file}, "createdBy": "session:alice"}),
			}}
		case 3:
			return reply{Tools: []toolUse{call("task_unassign", map[string]any{"taskId": id})}}
		}
		return reply{Text: "Handed over: the API section is left."}
	})
	runA := r.runClient(apiA, "start the release notes, then hand them over")
	runA.finished(t, map[string]any{"subtype": "success"})
	noDenials(t, "session A", runA)
	if id == "" {
		t.Fatal("session A never got a task id back from task_create")
	}
	if got := taskOf(t, r, id); got.Status != "pending" || len(got.Attachments) != 2 {
		t.Fatalf("after session A the task is %+v, want pending with 2 attachments", got)
	}

	var claimed claimedTask
	apiB := newFakeAPI(t, func(req *apiRequest) reply {
		switch req.turn() {
		case 0:
			return reply{Tools: []toolUse{{Name: "mcp__claudebench__task_claim", Input: map[string]any{"workerId": "session:bob"}}}}
		case 1:
			claimed = lastClaim(t, req)
			return reply{Tools: []toolUse{{Name: "mcp__claudebench__task_complete", Input: map[string]any{
				"id": id, "workerId": "session:bob", "result": map[string]any{"file": file, "sections": 4}}}}}
		}
		return reply{Text: "Release notes done."}
	})
	runB := r.runClient(apiB, "/mcp__claudebench__take_next_task session:bob")
	runB.finished(t, map[string]any{"subtype": "success"})
	noDenials(t, "session B", runB)
	// The prompt reached the model with its worker id.
	if reqs := apiB.agentRequests(); len(reqs) == 0 || !strings.Contains(reqs[0].userText(), "task_claim") || !strings.Contains(reqs[0].userText(), "session:bob") {
		t.Fatalf("take_next_task did not reach the model: %q", reqs[0].userText())
	}
	// Session B started with session A's context.
	if claimed.ID != id || !slices.ContainsFunc(claimed.Attachments, func(a attachment) bool {
		return a.Key == "handover" && a.Type == "note" && strings.Contains(a.Value, note)
	}) || !slices.ContainsFunc(claimed.Attachments, func(a attachment) bool { return a.Key == "touched" && strings.Contains(a.Value, file) }) {
		t.Fatalf("session B claimed %+v, want %s with the note and the files", claimed, id)
	}
	done := taskOf(t, r, id)
	var keys []string
	for _, a := range done.Attachments {
		keys = append(keys, a.Key)
	}
	if done.Status != "completed" || done.AssignedTo != "session:bob" || !slices.Equal(keys, []string{"handover", "touched", "result"}) {
		t.Fatalf("the task at the end: %+v, want completed by session:bob with handover, touched, result", done)
	}

	// The dashboard followed it all live: both sessions' hook events, and
	// the task's card with its context.
	card := fmt.Sprintf(`[data-testid="column-completed"] [data-testid="task-card"][data-task-id=%q]`, id)
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS(card + ` [data-testid="task-attachments-toggle"][data-count="3"]`)),
	}
	for _, s := range []string{runA.sessionID(), runB.sessionID()} {
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="event-row"][data-type="hook.pre_tool"][data-session=%q]`, s))))
	}
	steps = append(steps,
		chromedp.Click(chromedp.CSS(card+` [data-testid="task-attachments-toggle"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+` [data-testid="attachment"][data-key="handover"] [data-testid="attachment-note"]`)),
	)
	browsertest.Step(t, page, "see both sessions and the handed-over task on the dashboard", 30*time.Second, steps...)
	shown, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(card+` [data-testid="attachment"][data-key="handover"] [data-testid="attachment-note"]`)))
	if err != nil || shown != note {
		t.Fatalf("the card shows the note %q (%v), want %q", shown, err, note)
	}
	b.Screenshot(t, "handover.png")
	if errs := b.Problems(); len(errs) > 0 {
		t.Errorf("the dashboard's console: %v", errs)
	}
}

// attachment is an attachment as the tests read it; Value is its JSON.
type attachment struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value string `json:"-"`
}

func (a *attachment) UnmarshalJSON(b []byte) error {
	var v struct {
		Key   string          `json:"key"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	a.Key, a.Type, a.Value = v.Key, v.Type, string(v.Value)
	return nil
}

// claimedTask is a task with its attachments, as task_claim and task.get
// answer.
type claimedTask struct {
	ID          string       `json:"id"`
	Status      string       `json:"status"`
	AssignedTo  string       `json:"assignedTo"`
	Attachments []attachment `json:"attachments"`
}

// lastResult is the text of the last tool result the model got back.
func lastResult(t *testing.T, req *apiRequest) string {
	t.Helper()
	rs := req.toolResults()
	if len(rs) == 0 {
		t.Errorf("no tool result in the request")
		return ""
	}
	b := rs[len(rs)-1]
	if b.IsError {
		t.Errorf("tool result is an error: %s", b.text())
	}
	return b.text()
}

// firstJSON decodes the JSON value a tool result starts with (the client
// may append its own text after it).
func firstJSON(s string, v any) error {
	return json.NewDecoder(strings.NewReader(s)).Decode(v)
}

// lastTask decodes the last tool result as a task.
func lastTask(t *testing.T, req *apiRequest) claimedTask {
	t.Helper()
	var tk claimedTask
	if err := firstJSON(lastResult(t, req), &tk); err != nil {
		t.Errorf("tool result is not a task: %v", err)
	}
	return tk
}

// lastClaim decodes the last tool result as task_claim's answer, the one
// task it holds.
func lastClaim(t *testing.T, req *apiRequest) claimedTask {
	t.Helper()
	var res struct{ Tasks []claimedTask }
	if err := firstJSON(lastResult(t, req), &res); err != nil || len(res.Tasks) != 1 {
		t.Errorf("task_claim answered %s (%v), want one task", lastResult(t, req), err)
		return claimedTask{}
	}
	return res.Tasks[0]
}

// taskOf reads a task with its attachments through cb.
func taskOf(t *testing.T, r *rig, id string) claimedTask {
	t.Helper()
	var tk claimedTask
	r.cbJSON(&tk, "task", "get", id, "--json")
	return tk
}

// noDenials fails the test if the client denied any tool call.
func noDenials(t *testing.T, who string, run *clientRun) {
	t.Helper()
	if d, _ := run.result()["permission_denials"].([]any); len(d) != 0 {
		t.Fatalf("%s: permission denials %v", who, d)
	}
	for id, res := range run.toolResults() {
		if res["is_error"] == true {
			t.Fatalf("%s: tool call %s failed: %v", who, id, res)
		}
	}
}

// openDashboard logs a real Chromium in to the rig's dashboard (through
// cb dashboard's one-time link) and waits until it is live. It returns the
// tab.
func openDashboard(t *testing.T, r *rig, addr string) *browsertest.Chrome {
	t.Helper()
	browser := browsertest.Chromium(t)
	res := testenv.RunCB(t, bin, r.h, []string{"BROWSER=", "DISPLAY=", "WAYLAND_DISPLAY="}, nil, "dashboard", "--json")
	var login struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &login); res.Code != 0 || err != nil || !strings.Contains(login.URL, addr) {
		t.Fatalf("cb dashboard --json: exit %d, %q %q (%v)", res.Code, res.Stdout, res.Stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	b := browsertest.Start(t, ctx, browser)
	browsertest.Step(t, b.Ctx, "open the dashboard", 60*time.Second,
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(login.URL),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-state="live"]`)),
	)
	return b
}
