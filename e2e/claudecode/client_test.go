package claudecode

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/policytest"
	"github.com/claudebench/cb/internal/testenv"
)

// clientRules are the rules the client tests run with, besides the shipped
// defaults (deny-rm-root among them).
const clientRules = `
hook:
  rules:
    - id: cc-allow-touch
      tool: Bash
      field: command
      match: '^touch cb-allowed\.txt$'
      action: allow
      reason: 'ClaudeBench allows this touch.'
    - id: cc-ask
      tool: Bash
      field: command
      match: '^echo ask-me$'
      action: ask
      reason: 'ClaudeBench wants a human to confirm this echo.'
    - id: cc-rewrite
      tool: Bash
      field: command
      match: '^echo original$'
      action: modify
      replace: {command: 'echo rewritten-by-cb'}
    - id: cc-prompt-secret
      event: user_prompt
      field: prompt
      match: 'password'
      action: deny
      reason: 'Prompt looks like it contains a secret.'
    - id: cc-prompt-context
      event: user_prompt
      field: prompt
      match: 'deploy'
      action: context
      context: 'CB-PROMPT-CONTEXT-4412: deploys need the release checklist.'
    - id: cc-session-context
      event: session_start
      action: context
      context: 'CB-SESSION-CONTEXT-7731: this project is watched by ClaudeBench.'
`

func bash(command string) toolUse {
	return toolUse{Name: "Bash", Input: map[string]any{"command": command, "description": "test step"}}
}

// TestClientPreToolUse has the model call Bash five times in one turn and
// checks that each call went the way cb decided: rm -rf / denied by the
// default rule with its reason in the tool_result the model gets back; a
// touch allowed by a rule running without any permission granted, while
// the same kind of touch without an opinion is refused by headless mode; an
// ask refused by headless mode with cb's reason; and an updatedInput
// rewrite running the rewritten command. PostToolUse then reaches cb (audit
// and the hook.post_tool stream) for exactly the calls that ran.
func TestClientPreToolUse(t *testing.T) {
	r := newRig(t, clientRules, nil)
	calls := []toolUse{
		bash("rm -rf /"),
		bash("touch cb-allowed.txt"),
		bash("touch cb-no-opinion.txt"),
		bash("echo ask-me"),
		bash("echo original"),
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			return reply{Text: "Working on it.", Tools: calls}
		}
		return reply{Text: "All done."}
	})
	// Safety net: were the hook ever not to deny, this permission rule (and
	// headless mode, which grants nothing) still refuses rm.
	run := r.runClient(api, "clean up the machine", "--disallowedTools", "Bash(rm:*)")
	run.finished(t, map[string]any{"subtype": "success"})
	reqs := api.agentRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want 2 (the tool calls, then the answer to their results)", len(reqs))
	}
	seen := reqs[1].toolResults() // what the model got back
	byID := map[string]apiBlock{}
	for _, b := range seen {
		byID[b.ToolUseID] = b
	}
	if len(byID) != len(calls) {
		t.Fatalf("the model got %d tool results back, want %d: %+v", len(byID), len(calls), seen)
	}
	result := func(i int) apiBlock { return byID[toolUseID(1, i)] }

	t.Run("deny: the model sees cb's reason", func(t *testing.T) {
		b := result(0)
		if want := policytest.DefaultReason(t, "deny-rm-root"); !b.IsError || !strings.Contains(b.text(), want) {
			t.Fatalf("tool_result for rm -rf /: is_error=%v %q, want an error containing %q", b.IsError, b.text(), want)
		}
		denials, _ := run.result()["permission_denials"].([]any)
		if !strings.Contains(fmt.Sprint(denials), "rm -rf /") {
			t.Fatalf("result.permission_denials %v lacks rm -rf /", denials)
		}
	})
	t.Run("allow: runs with no permission granted", func(t *testing.T) {
		if b := result(1); b.IsError {
			t.Fatalf("allowed touch failed: %q", b.text())
		}
		if _, err := os.Stat(filepath.Join(r.project, "cb-allowed.txt")); err != nil {
			t.Fatalf("allowed touch did not run: %v", err)
		}
	})
	t.Run("no opinion: headless mode refuses", func(t *testing.T) {
		if b := result(2); !b.IsError {
			t.Fatalf("touch without an opinion ran: %q", b.text())
		}
		if _, err := os.Stat(filepath.Join(r.project, "cb-no-opinion.txt")); err == nil {
			t.Fatal("touch without an opinion created its file")
		}
	})
	t.Run("ask: headless mode refuses with cb's reason", func(t *testing.T) {
		b := result(3)
		if !b.IsError || !strings.Contains(b.text(), "ClaudeBench wants a human to confirm this echo.") {
			t.Fatalf("tool_result for the ask: is_error=%v %q", b.IsError, b.text())
		}
	})
	t.Run("updatedInput: the rewritten command runs", func(t *testing.T) {
		b := result(4)
		// The client appends a <system-reminder> to the last result.
		if first, _, _ := strings.Cut(b.text(), "\n"); b.IsError || first != "rewritten-by-cb" {
			t.Fatalf("tool_result for the rewrite: is_error=%v %q", b.IsError, b.text())
		}
	})

	session := run.sessionID()
	t.Run("audit and streams", func(t *testing.T) {
		pre := r.hookInputs("pre_tool", session)
		if len(pre) != len(calls) {
			t.Fatalf("%d pre_tool inputs on the stream, want %d", len(pre), len(calls))
		}
		for _, in := range pre {
			if in["hook_event_name"] != "PreToolUse" || in["tool_name"] != "Bash" || in["permission_mode"] != "default" ||
				in["cwd"] != r.project || !strings.HasPrefix(fmt.Sprint(in["tool_use_id"]), "toolu_fake0001_") {
				t.Errorf("pre_tool input %v", in)
			}
		}
		// PostToolUse fires for the calls that ran: the allowed touch and
		// the rewritten echo (with the rewritten input).
		post := r.hookInputs("post_tool", session)
		var ran []string
		for _, in := range post {
			ti, _ := in["tool_input"].(map[string]any)
			ran = append(ran, fmt.Sprint(ti["command"]))
		}
		sort.Strings(ran)
		if got := strings.Join(ran, ","); got != "echo rewritten-by-cb,touch cb-allowed.txt" {
			t.Fatalf("post_tool inputs for %q, want the allowed touch and the rewritten echo", got)
		}
		want := map[string]string{"rm -rf /": "deny", "touch cb-allowed.txt": "allow", "touch cb-no-opinion.txt": "none",
			"echo ask-me": "ask", "echo original": "modify"}
		var decisions []string
		for _, a := range r.audit(session, 10) {
			decisions = append(decisions, a.Event+"/"+a.Tool+"/"+a.Decision)
		}
		got := strings.Join(decisions, " ")
		for _, d := range want {
			if !strings.Contains(got, "hook.pre_tool/Bash/"+d) {
				t.Errorf("audit lacks a pre_tool %s: %s", d, got)
			}
		}
		for _, ev := range []string{"hook.session_start", "hook.user_prompt", "hook.post_tool/Bash/none", "hook.stop", "hook.session_end"} {
			if !strings.Contains(got, ev) {
				t.Errorf("audit lacks %s: %s", ev, got)
			}
		}
	})
	record(t, r, "pre_tool", session, `"rm -rf /"`, "pre_tool_bash_rm_root.json")
	record(t, r, "pre_tool", session, `"echo original"`, "pre_tool_bash_rewrite.json")
	record(t, r, "post_tool", session, `"touch cb-allowed.txt"`, "post_tool_bash.json")
	record(t, r, "session_start", session, "", "session_start.json")
	record(t, r, "user_prompt", session, "", "user_prompt.json")
	record(t, r, "stop", session, "", "stop.json")
	record(t, r, "session_end", session, "", "session_end.json")
}

// TestClientPrompt checks UserPromptSubmit and SessionStart: a prompt a
// rule blocks never reaches the model and the client reports cb's reason;
// an allowed prompt reaches the model with the context of the
// SessionStart rule and of the UserPromptSubmit rule, and the hook input
// carries the --permission-mode given.
func TestClientPrompt(t *testing.T) {
	r := newRig(t, clientRules, nil)
	api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Noted."} })

	t.Run("blocked prompt", func(t *testing.T) {
		run := r.runClient(api, "my password is hunter2, log in for me")
		res := run.result()
		if run.Code != 0 || res == nil {
			t.Fatalf("client exit %d, result %v", run.Code, res)
		}
		if text, _ := res["result"].(string); !strings.Contains(text, "Prompt looks like it contains a secret.") {
			t.Fatalf("result %q lacks cb's reason", text)
		}
		if n := len(api.agentRequests()); n != 0 {
			t.Fatalf("the blocked prompt reached the model (%d requests)", n)
		}
		if in := r.hookInputs("user_prompt", run.sessionID()); len(in) != 1 || !strings.Contains(fmt.Sprint(in[0]["prompt"]), "hunter2") {
			t.Fatalf("user_prompt inputs %v", in)
		}
	})
	t.Run("context reaches the model", func(t *testing.T) {
		// acceptEdits, to see the mode reach the hook input.
		run := r.runClient(api, "deploy the site", "--permission-mode", "acceptEdits")
		run.finished(t, map[string]any{"result": "Noted."})
		reqs := api.agentRequests()
		if len(reqs) != 1 {
			t.Fatalf("%d model requests, want 1", len(reqs))
		}
		text := reqs[0].userText()
		for _, want := range []string{"CB-SESSION-CONTEXT-7731", "CB-PROMPT-CONTEXT-4412", "deploy the site"} {
			if !strings.Contains(text, want) {
				t.Errorf("the model's request lacks %q:\n%.3000s", want, text)
			}
		}
		if in := r.hookInputs("user_prompt", run.sessionID()); len(in) != 1 || in[0]["permission_mode"] != "acceptEdits" {
			t.Errorf("user_prompt inputs %v, want one with permission_mode acceptEdits", in)
		}
		record(t, r, "user_prompt", run.sessionID(), "", "user_prompt_context.json")
		// With nonessential traffic off, the agent loop's is all the API sees.
		if n := api.sideTraffic(); n != 0 {
			t.Errorf("%d requests besides the agent loop's:\n%s", n, api.summary())
		}
	})
}

// TestClientTodoSync has the model use Claude Code's task tools
// (TaskCreate, TaskUpdate to in_progress then completed) and, with
// CLAUDE_CODE_ENABLE_TASKS=0, TodoWrite: each becomes a cb task of the
// session with the matching status.
func TestClientTodoSync(t *testing.T) {
	r := newRig(t, clientRules, nil)
	t.Run("TaskCreate and TaskUpdate", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply {
			switch req.turn() {
			case 0:
				return reply{Tools: []toolUse{
					{Name: "TaskCreate", Input: map[string]any{"subject": "Write the quarterly report", "description": "numbers from finance"}},
					{Name: "TaskCreate", Input: map[string]any{"subject": "Book the review meeting", "description": "with the team"}},
				}}
			case 1:
				return reply{Tools: []toolUse{{Name: "TaskUpdate", Input: map[string]any{"taskId": "1", "status": "in_progress"}}}}
			case 2:
				return reply{Tools: []toolUse{{Name: "TaskUpdate", Input: map[string]any{"taskId": "1", "status": "completed"}}}}
			}
			return reply{Text: "Report written."}
		})
		run := r.runClient(api, "write the report")
		run.finished(t, map[string]any{"subtype": "success"})
		for id, b := range run.toolResults() {
			if b["is_error"] == true {
				t.Fatalf("tool %s failed: %v", id, b)
			}
		}
		got := sessionTasks(r, run.sessionID())
		if got["Write the quarterly report"] != "completed" || got["Book the review meeting"] != "pending" || len(got) != 2 {
			t.Fatalf("tasks of the session: %v", got)
		}
		record(t, r, "todo_write", run.sessionID(), `"Write the quarterly report"`, "todo_write_task_create.json")
		record(t, r, "todo_write", run.sessionID(), `"completed"`, "todo_write_task_update.json")
	})
	t.Run("TodoWrite", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if req.turn() == 0 {
				return reply{Tools: []toolUse{{Name: "TodoWrite", Input: map[string]any{"todos": []any{
					map[string]any{"content": "Read the logs", "status": "in_progress", "activeForm": "Reading the logs"},
					map[string]any{"content": "Fix the bug", "status": "pending", "activeForm": "Fixing the bug"},
				}}}}}
			}
			return reply{Text: "Planned."}
		})
		saved := r.h.Env
		r.h.Env = append(append([]string{}, saved...), "CLAUDE_CODE_ENABLE_TASKS=0", "CLAUDE_CODE_ENABLE_TODO_TOOLS=1")
		run := r.runClient(api, "fix the bug")
		r.h.Env = saved
		run.finished(t, map[string]any{"subtype": "success"})
		got := sessionTasks(r, run.sessionID())
		if got["Read the logs"] != "in_progress" || got["Fix the bug"] != "pending" || len(got) != 2 {
			t.Fatalf("tasks of the session: %v", got)
		}
		record(t, r, "todo_write", run.sessionID(), "", "todo_write_todowrite.json")
	})
}

// sessionTasks maps the text of each task synced from session's todos to
// its status.
func sessionTasks(r *rig, session string) map[string]string {
	out := map[string]string{}
	for _, tk := range r.tasks() {
		if tk.Metadata["sessionId"] == session {
			out[tk.Text] = tk.Status
		}
	}
	return out
}

// TestClientHTTPHooks installs with `cb install --http`: the observe-only
// events and PreToolUse, which decides, reach cbd as native http hooks
// (with the hook credential), while Stop, whose answer can carry the
// user's data, stays a command hook. The client's debug log
// shows the POSTs answered 200, and cbd audits them for the session.
func TestClientHTTPHooks(t *testing.T) {
	addr := testenv.FreeAddr(t)
	r := newRig(t, clientRules, []string{"CB_HTTP_ADDR=" + addr}, "--http")
	hooks, _ := r.settings()["hooks"].(map[string]any)
	if s := fmt.Sprint(hooks["PostToolUse"]); !strings.Contains(s, "type:http") || !strings.Contains(s, "Bearer cbh_") {
		t.Fatalf("cb install --http wrote PostToolUse %s", s)
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			return reply{Tools: []toolUse{bash("touch cb-allowed.txt"),
				{Name: "TaskCreate", Input: map[string]any{"subject": "Sent over http", "description": "a todo"}}}}
		}
		return reply{Text: "Done."}
	})
	run := r.runClient(api, "touch the file")
	run.finished(t, map[string]any{"subtype": "success"})
	if _, err := os.Stat(filepath.Join(r.project, "cb-allowed.txt")); err != nil {
		t.Fatalf("the http hook's allow did not take effect: %v", err)
	}
	for _, typ := range []string{"pre_tool", "post_tool", "todo_write", "session_end"} {
		url := "http://" + addr + "/hooks/" + typ
		if posts := run.debugLines("HTTP hook POST to " + url); len(posts) == 0 {
			t.Errorf("the client did not POST to %s", url)
		}
	}
	if bad := run.debugLines("HTTP hook response status"); len(bad) == 0 || len(run.debugLines("HTTP hook response status 200")) != len(bad) {
		t.Errorf("http hook answers were not all 200:\n%s", strings.Join(bad, "\n"))
	}
	session := run.sessionID()
	var got []string
	for _, a := range r.audit(session, 6) {
		got = append(got, a.Event+"/"+a.Tool+"/"+a.Decision)
	}
	for _, want := range []string{"hook.pre_tool/Bash/allow", "hook.post_tool/Bash/none", "hook.post_tool/TaskCreate/none",
		"hook.todo_write/TaskCreate/none", "hook.stop", "hook.session_end"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("audit lacks %s: %v", want, got)
		}
	}
	if tasks := sessionTasks(r, session); tasks["Sent over http"] != "pending" {
		t.Errorf("TaskCreate over the http hook made no task: %v", tasks)
	}
}

// TestClientDaemonKilled runs the client after cbd was killed (SIGKILL):
// with the default fail mode (open) a command the permission settings
// allow runs, since no hook objects; with hook.pre_tool.fail_mode closed
// the same command is denied and the model is told why.
func TestClientDaemonKilled(t *testing.T) {
	// A short cb deadline: the killed cbd's registration outlives it.
	r := newRig(t, clientRules, []string{"CB_HOOK_TIMEOUT=700ms"})
	r.d.Kill()
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			file := "cb-fail-" + mode + ".txt"
			api := newFakeAPI(t, func(req *apiRequest) reply {
				if req.turn() == 0 {
					return reply{Tools: []toolUse{bash("touch " + file)}}
				}
				return reply{Text: "Done."}
			})
			saved := r.h.Env
			r.h.Env = append(append([]string{}, saved...), "CB_HOOK_PRE_TOOL_FAIL_MODE="+mode)
			run := r.runClient(api, "touch the file", "--allowedTools", "Bash(touch:*)")
			r.h.Env = saved
			run.finished(t, nil)
			reqs := api.agentRequests()
			if len(reqs) != 2 || len(reqs[1].toolResults()) != 1 {
				t.Fatalf("%d model requests, want the tool call and one tool result", len(reqs))
			}
			b := reqs[1].toolResults()[0]
			_, statErr := os.Stat(filepath.Join(r.project, file))
			switch mode {
			case "open":
				if b.IsError || statErr != nil {
					t.Fatalf("fail-open: the allowed touch did not run (is_error=%v %q, %v)", b.IsError, b.text(), statErr)
				}
			case "closed":
				if !b.IsError || statErr == nil || !strings.Contains(b.text(), "hook fail mode is closed") {
					t.Fatalf("fail-closed: is_error=%v %q, file made: %v", b.IsError, b.text(), statErr == nil)
				}
			}
		})
	}
}
