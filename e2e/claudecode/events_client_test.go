package claudecode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// Markers the event rules below put into what the model sees; each is
// searched for in the raw requests the fake API got.
const (
	evSessionCtx  = "CB-EV-SESSION-5521"
	evFailureCtx  = "CB-EV-FAILURE-6143"
	evBatchCtx    = "CB-EV-BATCH-3307"
	evSubagentCtx = "CB-EV-SUBAGENT-8819"
	evPostBlock   = "CB-EV-POST-BLOCK-2290"
	evPermDeny    = "CB-EV-PERM-DENY-4471"
)

// eventRules are the rules of TestClientEvents (and, within builtRules,
// of TestClientMoreEvents and TestBuiltInputs): one per event it raises,
// each leaving a marker where the client puts that event's answer.
const eventRules = `
hook:
  rules:
    - id: ev-session-context
      event: session_start
      action: context
      context: '` + evSessionCtx + `: sessions here are watched by ClaudeBench.'
    - id: ev-failure-context
      event: post_tool_use_failure
      tool: Bash
      action: context
      context: '` + evFailureCtx + `: ClaudeBench logged the failed command.'
    - id: ev-batch-context
      event: post_tool_batch
      action: context
      context: '` + evBatchCtx + `: ClaudeBench saw this batch.'
    - id: ev-subagent-context
      event: subagent_start
      field: agent_type
      match: '^general-purpose$'
      action: context
      context: '` + evSubagentCtx + `: subagents report to ClaudeBench.'
    - id: ev-post-block
      event: post_tool
      tool: Bash
      field: command
      match: '^echo post-block$'
      action: deny
      reason: '` + evPostBlock + `: ClaudeBench withholds this output.'
    - id: ev-perm-allow
      event: permission_request
      tool: Bash
      field: command
      match: '^touch cb-perm-allowed\.txt$'
      action: allow
    - id: ev-perm-deny
      event: permission_request
      tool: Bash
      field: command
      match: '^touch cb-perm-denied\.txt$'
      action: deny
      priority: 200
      blocking: true
      reason: '` + evPermDeny + `: ClaudeBench refuses this touch.'
    - id: ev-perm-rewrite
      event: permission_request
      tool: Bash
      field: command
      match: '^touch cb-perm-rewrite\.txt$'
      action: modify
      replace: {command: 'touch cb-perm-rewritten.txt'}
`

// ensureEvents makes sure the hooks of the given cb types are in the
// settings: cb install's default set does not hold every event, and when
// one asked for is missing the test installs the default set plus these
// with `cb install --events` (derived from protocol.HookEvents).
func ensureEvents(r *rig, types ...string) {
	r.t.Helper()
	hooks, _ := r.settings()["hooks"].(map[string]any)
	missing := false
	for _, typ := range types {
		he, ok := protocol.LookupHookEvent(typ)
		if !ok {
			r.t.Fatalf("unknown hook type %s", typ)
		}
		if !strings.Contains(fmt.Sprint(hooks[he.ClaudeEvent]), "hook "+he.Type) {
			missing = true
		}
	}
	if !missing {
		return
	}
	list := append([]string{}, types...)
	for _, he := range protocol.HookEvents {
		if he.Default {
			list = append(list, he.Type)
		}
	}
	if res := r.cb(nil, "install", "--events", strings.Join(list, ",")); res.Code != 0 {
		r.t.Fatalf("cb install --events %s: exit %d\n%s%s", strings.Join(list, ","), res.Code, res.Stdout, res.Stderr)
	}
}

// TestClientEvents raises, in one headless run with hooks written by cb
// install, the events beyond PreToolUse that tool calls and a subagent
// raise, and checks that cb's answer to each did what the protocol says:
//
//   - SessionStart: a context rule's text is in the model's first request.
//   - PostToolUseFailure: a failing Bash call (false); a context rule's
//     text reaches the model in the next request.
//   - PostToolBatch: a context rule's text reaches the model once per
//     batch (two batches: the Bash calls, then the Agent call).
//   - PostToolUse: a deny (decision "block") puts cb's reason next to the
//     result the model gets.
//   - PermissionRequest: touches that headless mode has no permission for.
//     An allow rule makes one run; a deny rule's reason is what the model
//     is told; with no rule the client's default (refused, headless)
//     holds; a modify rule's updatedInput makes the rewritten command run.
//   - SubagentStart/SubagentStop: an Agent call; a subagent_start context
//     rule's text reaches the subagent's request, not the main loop's; the
//     subagent's end reaches cb with its agent_id and agent_type.
//
// The streams and the audit hold each event, and the inputs are kept as
// recordings (testdata/hooks) for TestBuiltInputs.
func TestClientEvents(t *testing.T) {
	r := newRig(t, eventRules, nil)
	ensureEvents(r, "post_tool_use_failure", "post_tool_batch", "permission_request", "subagent_start", "subagent_stop")
	batch := []toolUse{
		bash("false"),
		bash("echo post-block"),
		bash("touch cb-perm-allowed.txt"),
		bash("touch cb-perm-denied.txt"),
		bash("touch cb-perm-none.txt"),
		bash("touch cb-perm-rewrite.txt"),
	}
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if strings.Contains(req.userText(), subagentMarker) {
			return reply{Text: "Subagent finished."}
		}
		switch req.turn() {
		case 0:
			return reply{Text: "Trying things.", Tools: batch}
		case 1:
			return reply{Tools: []toolUse{{Name: "Agent", Input: map[string]any{"description": "look around",
				"prompt": subagentMarker + ": say hello", "subagent_type": "general-purpose"}}}}
		}
		return reply{Text: "All done."}
	})
	run := r.runClient(api, "exercise the events", "--allowedTools", "Bash(false)", "Bash(echo post-block)")
	run.finished(t, map[string]any{"subtype": "success"})
	session := run.sessionID()

	// The main loop's requests by turn, and the subagent's.
	var main, sub []*apiRequest
	for _, req := range api.agentRequests() {
		if strings.Contains(req.userText(), subagentMarker) {
			sub = append(sub, req)
		} else {
			main = append(main, req)
		}
	}
	// The Agent tool runs the subagent in the background: the main loop
	// answers, and gets one more turn when the subagent's result arrives.
	if len(main) < 3 || len(sub) == 0 {
		t.Fatalf("%d main-loop requests (want at least 3: the batch, the Agent call, the answer) and %d subagent requests (want some):\n%s",
			len(main), len(sub), api.summary())
	}
	results := map[string]apiBlock{}
	for _, b := range main[1].toolResults() {
		results[b.ToolUseID] = b
	}
	if len(results) != len(batch) {
		t.Fatalf("the model got %d tool results back, want %d: %+v", len(results), len(batch), main[1].toolResults())
	}
	result := func(i int) apiBlock { return results[toolUseID(1, i)] }
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(r.project, name))
		return err == nil
	}

	t.Run("SessionStart context in the first request", func(t *testing.T) {
		if !bytes.Contains(main[0].Raw, []byte(evSessionCtx)) {
			t.Fatalf("the first request lacks %s:\n%.3000s", evSessionCtx, main[0].userText())
		}
	})
	t.Run("PostToolUseFailure context reaches the model", func(t *testing.T) {
		if b := result(0); !b.IsError {
			t.Fatalf("false did not fail: %q", b.text())
		}
		if n := bytes.Count(main[1].Raw, []byte(evFailureCtx)); n != 1 {
			t.Fatalf("the request after the failure holds %s %d times, want 1", evFailureCtx, n)
		}
		in := r.hookInputs("post_tool_use_failure", session)
		if len(in) != 1 {
			t.Fatalf("%d post_tool_use_failure inputs on the stream, want 1 (the false): %v", len(in), in)
		}
		ti, _ := in[0]["tool_input"].(map[string]any)
		if in[0]["hook_event_name"] != "PostToolUseFailure" || ti["command"] != "false" || in[0]["tool_use_id"] != toolUseID(1, 0) ||
			in[0]["error"] == nil {
			t.Fatalf("post_tool_use_failure input %v", in[0])
		}
	})
	t.Run("PostToolBatch context once per batch", func(t *testing.T) {
		// Two batches (the Bash calls, the Agent call): the context of
		// each is in the conversation once.
		for i, req := range main {
			if n, want := bytes.Count(req.Raw, []byte(evBatchCtx)), min(i, 2); n != want {
				t.Errorf("main-loop request %d holds %s %d times, want %d", i, evBatchCtx, n, want)
			}
		}
		in := r.hookInputs("post_tool_batch", session)
		if len(in) != 2 {
			t.Fatalf("%d post_tool_batch inputs on the stream, want 2", len(in))
		}
		if calls, _ := in[0]["tool_calls"].([]any); len(calls) != len(batch) {
			t.Errorf("the first batch's input lists %d tool calls, want %d: %v", len(calls), len(batch), in[0])
		}
	})
	t.Run("PostToolUse block reason reaches the model", func(t *testing.T) {
		if n := bytes.Count(main[1].Raw, []byte(evPostBlock)); n != 1 {
			t.Fatalf("the request after the blocked echo holds %s %d times, want 1; its result: %q", evPostBlock, n, result(1).text())
		}
	})
	t.Run("PermissionRequest allow runs the call", func(t *testing.T) {
		if b := result(2); b.IsError || !exists("cb-perm-allowed.txt") {
			t.Fatalf("allowed touch: is_error=%v %q, file made: %v", b.IsError, b.text(), exists("cb-perm-allowed.txt"))
		}
	})
	t.Run("PermissionRequest deny: the model sees the message", func(t *testing.T) {
		if b := result(3); !b.IsError || !strings.Contains(b.text(), evPermDeny) || exists("cb-perm-denied.txt") {
			t.Fatalf("denied touch: is_error=%v %q, file made: %v", b.IsError, b.text(), exists("cb-perm-denied.txt"))
		}
	})
	t.Run("PermissionRequest without an opinion: headless refuses", func(t *testing.T) {
		if b := result(4); !b.IsError || exists("cb-perm-none.txt") {
			t.Fatalf("touch without an opinion: is_error=%v %q, file made: %v", b.IsError, b.text(), exists("cb-perm-none.txt"))
		}
	})
	t.Run("PermissionRequest allow with updatedInput runs the rewrite", func(t *testing.T) {
		if b := result(5); b.IsError || !exists("cb-perm-rewritten.txt") || exists("cb-perm-rewrite.txt") {
			t.Fatalf("rewritten touch: is_error=%v %q, rewritten file made: %v, original made: %v",
				b.IsError, b.text(), exists("cb-perm-rewritten.txt"), exists("cb-perm-rewrite.txt"))
		}
	})
	t.Run("PermissionRequest inputs", func(t *testing.T) {
		var asked []string
		for _, in := range r.hookInputs("permission_request", session) {
			ti, _ := in["tool_input"].(map[string]any)
			asked = append(asked, fmt.Sprint(ti["command"]))
			if in["hook_event_name"] != "PermissionRequest" || in["tool_name"] != "Bash" {
				t.Errorf("permission_request input %v", in)
			}
		}
		sort.Strings(asked)
		// Only the touches lack a permission; false and the echo are allowed.
		if got := strings.Join(asked, ","); got != "touch cb-perm-allowed.txt,touch cb-perm-denied.txt,touch cb-perm-none.txt,touch cb-perm-rewrite.txt" {
			t.Fatalf("permission requests for %s", got)
		}
	})
	t.Run("SubagentStart context reaches the subagent only", func(t *testing.T) {
		if !bytes.Contains(sub[0].Raw, []byte(evSubagentCtx)) {
			t.Errorf("the subagent's first request lacks %s:\n%.3000s", evSubagentCtx, sub[0].userText())
		}
		for i, req := range main {
			if bytes.Contains(req.Raw, []byte(evSubagentCtx)) {
				t.Errorf("main-loop request %d holds the subagent's context", i)
			}
		}
		start := r.hookInputs("subagent_start", session)
		stop := r.hookInputs("subagent_stop", session)
		if len(start) != 1 || len(stop) != 1 {
			t.Fatalf("%d subagent_start and %d subagent_stop inputs, want 1 each", len(start), len(stop))
		}
		id, _ := start[0]["agent_id"].(string)
		if id == "" || start[0]["agent_type"] != "general-purpose" {
			t.Errorf("subagent_start input %v", start[0])
		}
		if stop[0]["agent_id"] != id || stop[0]["agent_type"] != "general-purpose" || stop[0]["last_assistant_message"] != "Subagent finished." {
			t.Errorf("subagent_stop input %v, want agent_id %s", stop[0], id)
		}
	})
	t.Run("audit", func(t *testing.T) {
		want := []string{
			"hook.session_start//context",
			"hook.post_tool_use_failure/Bash/context",
			"hook.post_tool_batch//context",
			"hook.post_tool/Bash/deny",
			"hook.permission_request/Bash/allow",
			"hook.permission_request/Bash/deny",
			"hook.permission_request/Bash/none",
			"hook.permission_request/Bash/modify",
			"hook.subagent_start//context",
			"hook.subagent_stop//none",
		}
		var got []string
		for _, a := range r.audit(session, 20) {
			got = append(got, a.Event+"/"+a.Tool+"/"+a.Decision)
		}
		all := strings.Join(got, " ")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("audit lacks %s: %s", w, all)
			}
		}
	})
	record(t, r, "post_tool_use_failure", session, `"false"`, "post_tool_use_failure_bash.json")
	record(t, r, "post_tool_batch", session, `"false"`, "post_tool_batch.json")
	record(t, r, "permission_request", session, `"touch cb-perm-denied.txt"`, "permission_request_bash.json")
	record(t, r, "subagent_start", session, "", "subagent_start.json")
}

// testMCPConfig writes an --mcp-config file naming MCP servers that are
// this test binary (serveElicitation), one per name, and returns its path.
func testMCPConfig(t *testing.T, r *rig, names ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]any{}
	for _, n := range names {
		servers[n] = map[string]any{"type": "stdio", "command": exe, "args": []string{"-test.run=^$"},
			"env": map[string]any{elicitServerEnv: "1"}}
	}
	b, err := json.Marshal(map[string]any{"mcpServers": servers})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.h.Dir, "mcp-"+strings.Join(names, "-")+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runTurns runs the client with the prompts as user messages on its
// standard input (--input-format stream-json), one turn each: a /command
// and then a prompt in one session.
func (r *rig) runTurns(api *fakeAPI, prompts ...string) *clientRun {
	r.t.Helper()
	var in strings.Builder
	for _, p := range prompts {
		b, err := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": p}})
		if err != nil {
			r.t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	r.stdin = in.String()
	defer func() { r.stdin = "" }()
	return r.runClient(api, "", "--input-format", "stream-json")
}

// results are the texts of the run's result messages, one per turn.
func (c *clientRun) results() []string {
	var out []string
	for _, m := range c.Messages {
		if m["type"] == "result" {
			out = append(out, fmt.Sprint(m["result"]))
		}
	}
	return out
}

// builtRules are eventRules plus a rule for each event TestBuiltInputs
// replays that no headless run raises.
const builtRules = eventRules + `
    - id: bt-expansion-block
      event: user_prompt_expansion
      field: command_name
      match: '^deploy$'
      action: deny
      reason: 'CB-BT-EXPANSION: /deploy needs the release checklist first.'
    - id: bt-expansion-context
      event: user_prompt_expansion
      field: command_name
      match: '^review$'
      action: context
      context: 'CB-BT-REVIEW: reviews follow CONTRIBUTING.md.'
    - id: bt-expansion-mcp
      event: user_prompt_expansion
      field: command_name
      match: '^mcp__trusted__review$'
      action: context
      context: 'CB-BT-MCP-PROMPT: MCP prompts are logged by ClaudeBench.'
    - id: bt-setup-context
      event: setup
      action: context
      context: 'CB-BT-SETUP: this repository is set up by ClaudeBench.'
    - id: bt-model-deny
      event: pre_model_switch
      field: to_model
      match: 'opus'
      action: deny
      reason: 'CB-BT-MODEL: the budget allows no switch to opus.'
    - id: bt-model-ask
      event: pre_model_switch
      field: to_model
      match: 'sonnet'
      action: ask
      reason: 'CB-BT-MODEL-ASK: confirm the switch.'
    - id: bt-model-allow
      event: pre_model_switch
      field: to_model
      match: 'haiku'
      action: allow
      reason: 'CB-BT-MODEL-ALLOW: haiku is within budget.'
    - id: bt-post-model-context
      event: post_model_switch
      action: context
      context: 'CB-BT-POST-MODEL: the model changed; re-read the plan.'
    - id: bt-denied-retry
      event: permission_denied
      tool: Bash
      field: command
      match: '^git push\b'
      action: allow
    - id: bt-teammate-block
      event: teammate_idle
      field: teammate_name
      match: '^reviewer$'
      action: deny
      reason: 'CB-BT-TEAMMATE: review the open pull request before going idle.'
    - id: bt-elicitation-accept
      event: elicitation
      field: mcp_server_name
      match: '^trusted$'
      action: allow
    - id: bt-elicitation-decline
      event: elicitation
      field: mcp_server_name
      match: '^untrusted$'
      action: deny
      reason: 'CB-BT-ELICIT: this server may not ask for input.'
    - id: bt-elicitation-result-decline
      event: elicitation_result
      field: mcp_server_name
      match: '^other$'
      action: deny
      reason: 'CB-BT-ELICIT-RESULT: answers to this server are declined.'
    - id: bt-config-block
      event: config_change
      field: source
      match: '^project_settings$'
      action: deny
      priority: 200
      blocking: true
      reason: 'CB-BT-CONFIG: project settings are managed by ClaudeBench.'
    - id: bt-precompact-context
      event: pre_compact
      field: trigger
      match: '^manual$'
      action: context
      context: 'CB-BT-COMPACT: keep the task list in the summary.'
    - id: bt-precompact-block
      event: pre_compact
      field: trigger
      match: '^auto$'
      action: deny
      reason: 'CB-BT-COMPACT-BLOCK: not now.'
`

// builtInput is a hook input built from the reference (§1.2 base fields,
// §2.3 the event's own), shaped like the recordings: the recorded
// session, transcript and directory stand-ins, prompt_id, and
// permission_mode on the events whose dispatcher passes it.
func builtInput(event string, withMode bool, fields map[string]any) []byte {
	in := map[string]any{
		"session_id":      recSession,
		"transcript_path": recDir + "/home/.claude/projects/-tmp-cbrec-project/" + recSession + ".jsonl",
		"cwd":             recDir + "/project",
		"hook_event_name": event,
		"prompt_id":       recPrompt,
	}
	if withMode {
		in["permission_mode"] = "default"
	}
	for k, v := range fields {
		in[k] = v
	}
	b, err := json.Marshal(in)
	if err != nil {
		panic(err) // maps of plain values always encode
	}
	return b
}

// TestBuiltInputs replays through `cb hook <type>`, against a cbd with
// builtRules, the inputs TestClientEvents, TestClientMoreEvents and
// TestClientOtherEvents recorded, and inputs of the events these headless
// runs do not raise (agent team, url-mode elicitation, settings change,
// automatic compaction, notification, added directory, changed file), and
// checks the exact stdout of each: the shape reference
// §2.3 gives that event for cb's decision (nothing where the event's
// output is ignored or cb must not answer), exit 0, and the input on its
// hook stream. It needs no client.
//
// Which inputs are which: "recorded" rows read testdata (sent by Claude
// Code 2.1.328, normalized); "built" rows are builtInput from the
// reference's field lists, since these runs do not make the pinned
// client send them.
func TestBuiltInputs(t *testing.T) {
	rs := testenv.NewRedis(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+rs.URL(), "CB_HOOK_TIMEOUT=8s")
	h.WriteConfig(t, builtRules)
	testenv.StartDaemon(t, bin, h, nil)
	recorded := func(path string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", path))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name, hook string
		in         []byte
		want       string // "" = no output (no opinion, or output the event ignores)
		plain      bool   // want is plain text, not JSON
	}{
		// Recorded from the real client.
		{"recorded PostToolUseFailure", "post_tool_use_failure", recorded("hooks/post_tool_use_failure_bash.json"),
			`{"hookSpecificOutput":{"hookEventName":"PostToolUseFailure","additionalContext":"` + evFailureCtx + `: ClaudeBench logged the failed command."}}`, false},
		{"recorded PostToolBatch", "post_tool_batch", recorded("hooks/post_tool_batch.json"),
			`{"hookSpecificOutput":{"hookEventName":"PostToolBatch","additionalContext":"` + evBatchCtx + `: ClaudeBench saw this batch."}}`, false},
		{"recorded PermissionRequest deny", "permission_request", recorded("hooks/permission_request_bash.json"),
			`{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"deny","message":"` + evPermDeny + `: ClaudeBench refuses this touch."}}}`, false},
		{"recorded PermissionRequest no opinion", "permission_request", recorded("events/PermissionRequest.json"), "", false},
		{"recorded SubagentStart", "subagent_start", recorded("hooks/subagent_start.json"),
			`{"hookSpecificOutput":{"hookEventName":"SubagentStart","additionalContext":"` + evSubagentCtx + `: subagents report to ClaudeBench."}}`, false},
		{"recorded InstructionsLoaded", "instructions_loaded", recorded("events/InstructionsLoaded.json"), "", false},
		{"recorded UserPromptExpansion block", "user_prompt_expansion", recorded("hooks/user_prompt_expansion.json"),
			`{"decision":"block","reason":"CB-BT-EXPANSION: /deploy needs the release checklist first."}`, false},
		{"recorded UserPromptExpansion context", "user_prompt_expansion", recorded("hooks/user_prompt_expansion_context.json"),
			`{"hookSpecificOutput":{"hookEventName":"UserPromptExpansion","additionalContext":"CB-BT-REVIEW: reviews follow CONTRIBUTING.md."}}`, false},
		{"recorded UserPromptExpansion mcp_prompt context", "user_prompt_expansion", recorded("hooks/user_prompt_expansion_mcp.json"),
			`{"hookSpecificOutput":{"hookEventName":"UserPromptExpansion","additionalContext":"CB-BT-MCP-PROMPT: MCP prompts are logged by ClaudeBench."}}`, false},
		{"recorded Setup context", "setup", recorded("hooks/setup.json"),
			`{"hookSpecificOutput":{"hookEventName":"Setup","additionalContext":"CB-BT-SETUP: this repository is set up by ClaudeBench."}}`, false},
		// PreCompact's context is plain text: the compaction instructions.
		{"recorded PreCompact instructions", "pre_compact", recorded("hooks/pre_compact.json"),
			"CB-BT-COMPACT: keep the task list in the summary.", true},
		{"recorded PostCompact", "post_compact", recorded("hooks/post_compact.json"), "", false},
		{"recorded CwdChanged", "cwd_changed", recorded("hooks/cwd_changed.json"), "", false},
		{"recorded Elicitation accept", "elicitation", recorded("hooks/elicitation.json"),
			`{"hookSpecificOutput":{"hookEventName":"Elicitation","action":"accept"}}`, false},
		{"recorded Elicitation decline", "elicitation", recorded("hooks/elicitation_untrusted.json"),
			`{"decision":"block","reason":"CB-BT-ELICIT: this server may not ask for input.","hookSpecificOutput":{"hookEventName":"Elicitation","action":"decline"}}`, false},
		{"recorded ElicitationResult decline", "elicitation_result", recorded("hooks/elicitation_result.json"),
			`{"decision":"block","reason":"CB-BT-ELICIT-RESULT: answers to this server are declined.","hookSpecificOutput":{"hookEventName":"ElicitationResult","action":"decline"}}`, false},
		{"recorded PermissionDenied retry", "permission_denied", recorded("hooks/permission_denied_bash.json"),
			`{"hookSpecificOutput":{"hookEventName":"PermissionDenied","retry":true}}`, false},
		{"recorded PermissionDenied no opinion", "permission_denied", recorded("hooks/permission_denied_curl.json"), "", false},
		{"recorded PreModelSwitch deny", "pre_model_switch", recorded("hooks/pre_model_switch.json"),
			`{"hookSpecificOutput":{"hookEventName":"PreModelSwitch","permissionDecision":"deny","permissionDecisionReason":"CB-BT-MODEL: the budget allows no switch to opus."}}`, false},
		{"recorded PreModelSwitch ask", "pre_model_switch", recorded("hooks/pre_model_switch_sonnet.json"),
			`{"hookSpecificOutput":{"hookEventName":"PreModelSwitch","permissionDecision":"ask","permissionDecisionReason":"CB-BT-MODEL-ASK: confirm the switch."}}`, false},
		{"recorded PreModelSwitch allow", "pre_model_switch", recorded("hooks/pre_model_switch_haiku.json"),
			`{"hookSpecificOutput":{"hookEventName":"PreModelSwitch","permissionDecision":"allow","permissionDecisionReason":"CB-BT-MODEL-ALLOW: haiku is within budget."}}`, false},
		{"recorded PostModelSwitch context", "post_model_switch", recorded("hooks/post_model_switch.json"),
			`{"hookSpecificOutput":{"hookEventName":"PostModelSwitch","additionalContext":"CB-BT-POST-MODEL: the model changed; re-read the plan."}}`, false},
		// MessageDisplay replaces the text shown: cb never answers it.
		{"recorded MessageDisplay", "message_display", recorded("hooks/message_display.json"), "", false},
		// StopFailure's output is ignored: no rule can act on it, nothing.
		{"recorded StopFailure", "stop_failure", recorded("hooks/stop_failure.json"), "", false},

		// Built from the reference.
		{"built TeammateIdle block", "teammate_idle", builtInput("TeammateIdle", true, map[string]any{"teammate_name": "reviewer", "team_name": "default"}),
			`{"decision":"block","reason":"CB-BT-TEAMMATE: review the open pull request before going idle."}`, false},
		{"built TeammateIdle no opinion", "teammate_idle", builtInput("TeammateIdle", true, map[string]any{"teammate_name": "writer", "team_name": "default"}),
			"", false},
		// A url-mode elicitation (the recorded ones are forms).
		{"built Elicitation url decline", "elicitation", builtInput("Elicitation", true, map[string]any{
			"mcp_server_name": "untrusted", "message": "Open this page", "mode": "url", "url": "https://example.com/login", "elicitation_id": "el-2"}),
			`{"decision":"block","reason":"CB-BT-ELICIT: this server may not ask for input.","hookSpecificOutput":{"hookEventName":"Elicitation","action":"decline"}}`, false},
		{"built ConfigChange block", "config_change", builtInput("ConfigChange", false, map[string]any{
			"source": "project_settings", "file_path": recDir + "/project/.claude/settings.json"}),
			`{"decision":"block","reason":"CB-BT-CONFIG: project settings are managed by ClaudeBench."}`, false},
		// Automatic compaction (the context never fills in these runs).
		{"built PreCompact block", "pre_compact", builtInput("PreCompact", false, map[string]any{"trigger": "auto", "custom_instructions": nil}),
			`{"decision":"block","reason":"CB-BT-COMPACT-BLOCK: not now."}`, false},
		// Output discarded by the client: no rule can act on it, nothing.
		{"built Notification", "notification", builtInput("Notification", false, map[string]any{
			"message": "Claude needs your permission", "title": "Permission", "notification_type": "permission_prompt"}), "", false},
		{"built FileChanged", "file_changed", builtInput("FileChanged", false, map[string]any{"file_path": recDir + "/project/.envrc", "event": "change"}), "", false},
		{"built DirectoryAdded", "directory_added", builtInput("DirectoryAdded", false, map[string]any{"directory": recDir + "/other", "source": "slash_command"}), "", false},
	}
	perType := map[string]int{}
	for _, c := range cases {
		perType[c.hook]++
		t.Run(c.name, func(t *testing.T) {
			res := testenv.RunCB(t, bin, h, nil, c.in, "hook", c.hook)
			if res.Code != 0 || res.Stderr != "" {
				t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
			}
			switch {
			case c.want == "":
				if res.Stdout != "" {
					t.Fatalf("want no output, got %q", res.Stdout)
				}
			case c.plain:
				if res.Stdout != c.want+"\n" {
					t.Fatalf("stdout %q, want %q", res.Stdout, c.want+"\n")
				}
			default:
				var got, want any
				if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
					t.Fatalf("stdout %q: %v", res.Stdout, err)
				}
				if err := json.Unmarshal([]byte(c.want), &want); err != nil {
					t.Fatalf("the case's want: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("stdout\n got %s\nwant %s", res.Stdout, c.want)
				}
			}
		})
	}
	// Every input is on its event's stream, under the recorded session.
	r := &rig{t: t, redis: rs}
	for hookType, n := range perType {
		if got := len(r.hookInputs(hookType, recSession)); got != n {
			t.Errorf("%d inputs on the hook.%s stream, want %d", got, hookType, n)
		}
	}
}

// TestClientMoreEvents raises, with the real client, events that need
// more than a tool call: a custom /command and an MCP server's prompt
// (UserPromptExpansion: a block keeps the expansion from the model, a
// context rule's text reaches it),
// the answer shown (MessageDisplay: cb prints nothing, so the text stays
// as the model wrote it), an API error (the client runs cb's StopFailure
// hook instead of Stop), /compact (PreCompact: cb's plain-text answer is
// appended to the compaction instructions; PostCompact gets the summary),
// a Bash cd (CwdChanged, and later hooks run in the new directory),
// /model (PreModelSwitch: a deny keeps the model and the user reads cb's
// reason, an allow switches; PostModelSwitch's context reaches the new
// model), auto mode without its classifier (PermissionDenied: cb's retry
// reaches the model), an MCP server's elicitation (cb accepts or declines
// it for the server, or overrides headless mode's cancel) and `claude
// --init-only` (Setup reaches cb). The inputs are kept as
// recordings for TestBuiltInputs.
func TestClientMoreEvents(t *testing.T) {
	r := newRig(t, builtRules, nil)
	ensureEvents(r, "user_prompt_expansion", "message_display", "stop_failure", "setup", "pre_compact", "post_compact", "cwd_changed",
		"pre_model_switch", "post_model_switch", "permission_denied", "elicitation", "elicitation_result")
	commands := filepath.Join(r.project, ".claude", "commands")
	if err := os.MkdirAll(commands, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"deploy": "Deploy $ARGUMENTS now.\n", "review": "Review $ARGUMENTS carefully.\n"} {
		if err := os.WriteFile(filepath.Join(commands, name+".md"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("UserPromptExpansion block", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Deployed."} })
		run := r.runClient(api, "/deploy prod")
		res := run.result()
		if res == nil {
			t.Fatalf("no result; exit %d", run.Code)
		}
		if text := fmt.Sprint(res["result"]); !strings.Contains(text, "CB-BT-EXPANSION") {
			t.Errorf("result %q lacks cb's reason", text)
		}
		if n := len(api.agentRequests()); n != 0 {
			t.Errorf("the blocked expansion reached the model (%d requests)", n)
		}
		in := r.hookInputs("user_prompt_expansion", run.sessionID())
		if len(in) != 1 || in[0]["command_name"] != "deploy" || in[0]["command_args"] != "prod" {
			t.Fatalf("user_prompt_expansion inputs %v", in)
		}
		record(t, r, "user_prompt_expansion", run.sessionID(), "", "user_prompt_expansion.json")
	})
	t.Run("UserPromptExpansion context and MessageDisplay", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Reviewed the diff."} })
		run := r.runClient(api, "/review the diff")
		run.finished(t, map[string]any{"result": "Reviewed the diff."})
		reqs := api.agentRequests()
		if len(reqs) != 1 {
			t.Fatalf("%d model requests, want 1", len(reqs))
		}
		for _, want := range []string{"CB-BT-REVIEW", "Review the diff carefully."} {
			if !bytes.Contains(reqs[0].Raw, []byte(want)) {
				t.Errorf("the model's request lacks %q:\n%.3000s", want, reqs[0].userText())
			}
		}
		shown := r.hookInputs("message_display", run.sessionID())
		if len(shown) == 0 || !strings.Contains(fmt.Sprint(shown[len(shown)-1]["delta"]), "Reviewed the diff.") {
			t.Fatalf("message_display inputs %v", shown)
		}
		record(t, r, "user_prompt_expansion", run.sessionID(), "", "user_prompt_expansion_context.json")
		record(t, r, "message_display", run.sessionID(), "", "message_display.json")
	})
	t.Run("StopFailure", func(t *testing.T) {
		// The client runs StopFailure hooks fire-and-forget while it exits
		// on the error, and in -p it may kill them before they read their
		// input (debug log "completed with status 1"; a capture hook
		// `tee in.json | cb hook stop_failure` then wrote nothing): a race
		// cb cannot win every time. So the test requires that the client
		// ran cb's hook, and checks the input against the recording when
		// cb got it.
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Error: "CB-FAKE-API: this request is refused"} })
		run := r.runClient(api, "say hello")
		if res := run.result(); res == nil || res["is_error"] != true || !strings.Contains(fmt.Sprint(res["result"]), "CB-FAKE-API") {
			t.Fatalf("client exit %d, result %v, want the API error", run.Code, res)
		}
		if ran := run.debugLines("StopFailure:unknown [" + bin.CB + " hook stop_failure]"); len(ran) == 0 {
			t.Errorf("the client did not run cb's StopFailure hook:\n%s", strings.Join(run.debugLines("StopFailure"), "\n"))
		}
		session := run.sessionID()
		if n := len(r.hookInputs("stop", session)); n != 0 {
			t.Errorf("Stop fired (%d times) on an API error; StopFailure replaces it", n)
		}
		if len(r.hookInputs("stop_failure", session)) > 0 {
			record(t, r, "stop_failure", session, "", "stop_failure.json")
		} else {
			t.Log("the client killed cb's StopFailure hook before it read its input")
		}
	})
	t.Run("PreCompact and PostCompact", func(t *testing.T) {
		// /compact after a turn: the client asks the model for a summary
		// (its request ends with the compaction instructions), and cb's
		// PreCompact answer, plain text, is appended to them.
		const summary = "CB-SUMMARY-3141: said hello."
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if last := req.Messages[len(req.Messages)-1]; last.Role == "user" && strings.Contains(fmt.Sprint(last.blocks()), "<summary>") {
				return reply{Text: "<analysis>A greeting.</analysis>\n<summary>" + summary + "</summary>"}
			}
			return reply{Text: "Hello there."}
		})
		run := r.runTurns(api, "say hello", "/compact")
		run.finished(t, nil)
		session := run.sessionID()
		reqs := api.agentRequests()
		if len(reqs) != 2 {
			t.Fatalf("%d model requests, want 2 (the greeting, the summary):\n%s", len(reqs), api.summary())
		}
		if want := "Additional Instructions:\nCB-BT-COMPACT: keep the task list in the summary."; !strings.Contains(reqs[1].userText(), want) {
			t.Errorf("the summary request lacks cb's instructions %q:\n%s", want, tail(reqs[1].userText(), 20))
		}
		pre := r.hookInputs("pre_compact", session)
		if len(pre) != 1 || pre[0]["trigger"] != "manual" {
			t.Fatalf("pre_compact inputs %v", pre)
		}
		post := r.hookInputs("post_compact", session)
		if len(post) != 1 || !strings.Contains(fmt.Sprint(post[0]["compact_summary"]), summary) {
			t.Fatalf("post_compact inputs %v", post)
		}
		record(t, r, "pre_compact", session, "", "pre_compact.json")
		record(t, r, "post_compact", session, "", "post_compact.json")
	})
	t.Run("CwdChanged", func(t *testing.T) {
		sub := filepath.Join(r.project, "sub")
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if req.turn() == 0 {
				return reply{Tools: []toolUse{bash("cd sub")}}
			}
			if req.turn() == 1 {
				return reply{Tools: []toolUse{bash("pwd")}}
			}
			return reply{Text: "Moved."}
		})
		run := r.runClient(api, "go to sub", "--allowedTools", "Bash(cd:*)", "Bash(pwd)")
		run.finished(t, map[string]any{"result": "Moved."})
		session := run.sessionID()
		in := r.hookInputs("cwd_changed", session)
		if len(in) != 1 || in[0]["old_cwd"] != r.project || in[0]["new_cwd"] != sub {
			t.Fatalf("cwd_changed inputs %v, want one from %s to %s", in, r.project, sub)
		}
		// Later hooks run in the new directory.
		var pwd map[string]any
		for _, p := range r.hookInputs("pre_tool", session) {
			if ti, _ := p["tool_input"].(map[string]any); ti["command"] == "pwd" {
				pwd = p
			}
		}
		if pwd == nil || pwd["cwd"] != sub {
			t.Errorf("pre_tool input of pwd %v, want cwd %s", pwd, sub)
		}
		record(t, r, "cwd_changed", session, "", "cwd_changed.json")
	})
	t.Run("PreModelSwitch and PostModelSwitch", func(t *testing.T) {
		// Three /model commands, then a prompt, in one session: cb denies
		// opus (the user reads cb's reason), asks for sonnet 4.6 (which
		// headless mode cannot ask, so the client refuses with cb's reason)
		// and allows haiku; PostModelSwitch's context reaches the new model.
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Hi."} })
		run := r.runTurns(api, "/model claude-opus-4-1", "/model claude-sonnet-4-6", "/model claude-haiku-4-5", "say hello")
		results := run.results()
		if len(results) != 4 || !strings.Contains(results[0], "CB-BT-MODEL: the budget allows no switch to opus.") ||
			!strings.Contains(results[1], "CB-BT-MODEL-ASK: confirm the switch.") || results[3] != "Hi." {
			t.Fatalf("results %q, want opus and sonnet refused with cb's reasons, haiku set, then the answer", results)
		}
		reqs := api.agentRequests()
		if len(reqs) != 1 || reqs[0].Model != "claude-haiku-4-5" {
			t.Fatalf("%d model requests, want one to the new model:\n%s", len(reqs), api.summary())
		}
		if !bytes.Contains(reqs[0].Raw, []byte("CB-BT-POST-MODEL: the model changed; re-read the plan.")) {
			t.Errorf("the new model's request lacks cb's PostModelSwitch context:\n%.3000s", reqs[0].userText())
		}
		session := run.sessionID()
		var asked []string
		for _, in := range r.hookInputs("pre_model_switch", session) {
			asked = append(asked, fmt.Sprintf("%v>%v", in["from_model"], in["requested_model"]))
		}
		if got := strings.Join(asked, " "); got != "claude-sonnet-4-5>claude-opus-4-1 claude-sonnet-4-5>claude-sonnet-4-6 claude-sonnet-4-5>claude-haiku-4-5" {
			t.Fatalf("pre_model_switch inputs %s", got)
		}
		post := r.hookInputs("post_model_switch", session)
		if len(post) != 1 || post[0]["to_model"] != "claude-haiku-4-5" {
			t.Fatalf("post_model_switch inputs %v, want one (haiku)", post)
		}
		record(t, r, "pre_model_switch", session, `"claude-opus-4-1"`, "pre_model_switch.json")
		record(t, r, "pre_model_switch", session, `"claude-sonnet-4-6"`, "pre_model_switch_sonnet.json")
		record(t, r, "pre_model_switch", session, `"claude-haiku-4-5"`, "pre_model_switch_haiku.json")
		record(t, r, "post_model_switch", session, "", "post_model_switch.json")
	})
	t.Run("PermissionDenied retry", func(t *testing.T) {
		// Auto mode (a model that supports it) asks a server-side
		// classifier, which does not run against the fake API: the client
		// denies each call that needs it and raises PermissionDenied.
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if req.turn() == 0 {
				return reply{Tools: []toolUse{bash("git push origin main"), bash("curl -X POST http://example.invalid/api")}}
			}
			return reply{Text: "Blocked."}
		})
		run := r.runClient(api, "publish it", "--permission-mode", "auto", "--model", "claude-opus-4-1")
		run.finished(t, map[string]any{"result": "Blocked."})
		session := run.sessionID()
		in := r.hookInputs("permission_denied", session)
		if len(in) != 2 {
			t.Fatalf("%d permission_denied inputs, want 2: %v", len(in), in)
		}
		for _, d := range in {
			if d["permission_mode"] != "auto" || d["reason"] == "" || d["tool_name"] != "Bash" {
				t.Errorf("permission_denied input %v", d)
			}
		}
		reqs := api.agentRequests()
		if len(reqs) != 2 {
			t.Fatalf("%d model requests, want 2", len(reqs))
		}
		// cb's retry (for git push only) is what the model is told.
		if n := bytes.Count(reqs[1].Raw, []byte("The PermissionDenied hook indicated you may retry this tool call.")); n != 1 {
			t.Errorf("the request after the denials holds the retry note %d times, want 1 (git push)", n)
		}
		var got []string
		for _, a := range r.audit(session, 6) {
			if a.Event == "hook.permission_denied" {
				got = append(got, a.Decision)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != "allow,none" {
			t.Errorf("permission_denied audit decisions %v, want allow (git push) and none (curl)", got)
		}
		record(t, r, "permission_denied", session, `"git push origin main"`, "permission_denied_bash.json")
		record(t, r, "permission_denied", session, `"curl -X POST http://example.invalid/api"`, "permission_denied_curl.json")
	})
	t.Run("Elicitation", func(t *testing.T) {
		// Three MCP servers (this test binary, see serveElicitation) whose
		// tool asks the user for a branch: cb's Elicitation rules accept
		// for "trusted" and decline for "untrusted"; for "other" they have
		// no opinion, headless mode cancels, and cb's ElicitationResult
		// rule turns the cancel into a decline.
		servers := []string{"trusted", "untrusted", "other"}
		mcpConfig := testMCPConfig(t, r, servers...)
		var calls []toolUse
		allowed := []string{"--mcp-config", mcpConfig, "--allowedTools"}
		for _, s := range servers {
			calls = append(calls, toolUse{Name: "mcp__" + s + "__ask_branch", Input: map[string]any{}})
			allowed = append(allowed, "mcp__"+s+"__ask_branch")
		}
		api := newFakeAPI(t, func(req *apiRequest) reply {
			if req.turn() == 0 {
				return reply{Tools: calls}
			}
			return reply{Text: "Asked."}
		})
		run := r.runClient(api, "ask for a branch", allowed...)
		run.finished(t, map[string]any{"result": "Asked."})
		results := run.toolResults()
		// What each server got back, as its tool result says.
		want := []string{"elicitation action=accept", "elicitation action=decline", "elicitation action=decline"}
		for i := range servers {
			got := fmt.Sprint(results[toolUseID(1, i)]["content"])
			if !strings.Contains(got, want[i]) {
				t.Errorf("%s: tool result %s, want %q", servers[i], got, want[i])
			}
		}
		session := run.sessionID()
		var asked []string
		for _, in := range r.hookInputs("elicitation", session) {
			asked = append(asked, fmt.Sprint(in["mcp_server_name"]))
		}
		sort.Strings(asked)
		if strings.Join(asked, ",") != "other,trusted,untrusted" {
			t.Fatalf("elicitation inputs for servers %v, want one per server", asked)
		}
		// Only the elicitation no hook answered gets a result.
		res := r.hookInputs("elicitation_result", session)
		if len(res) != 1 || res[0]["mcp_server_name"] != "other" || res[0]["action"] != "cancel" {
			t.Fatalf("elicitation_result inputs %v, want one: other, cancel", res)
		}
		record(t, r, "elicitation", session, `"trusted"`, "elicitation.json")
		record(t, r, "elicitation", session, `"untrusted"`, "elicitation_untrusted.json")
		record(t, r, "elicitation_result", session, "", "elicitation_result.json")
	})
	t.Run("UserPromptExpansion mcp_prompt", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "Reviewed."} })
		run := r.runClient(api, "/mcp__trusted__review", "--mcp-config", testMCPConfig(t, r, "trusted"))
		run.finished(t, map[string]any{"result": "Reviewed."})
		reqs := api.agentRequests()
		if len(reqs) != 1 {
			t.Fatalf("%d model requests, want 1", len(reqs))
		}
		for _, want := range []string{"CB-BT-MCP-PROMPT", "Review the change from the MCP prompt."} {
			if !bytes.Contains(reqs[0].Raw, []byte(want)) {
				t.Errorf("the model's request lacks %q:\n%.3000s", want, reqs[0].userText())
			}
		}
		in := r.hookInputs("user_prompt_expansion", run.sessionID())
		if len(in) != 1 || in[0]["expansion_type"] != "mcp_prompt" || in[0]["command_name"] != "mcp__trusted__review" {
			t.Fatalf("user_prompt_expansion inputs %v", in)
		}
		record(t, r, "user_prompt_expansion", run.sessionID(), "", "user_prompt_expansion_mcp.json")
	})
	t.Run("Setup", func(t *testing.T) {
		api := newFakeAPI(t, func(req *apiRequest) reply { return reply{Text: "unused"} })
		run := r.runClient(api, "", "--init-only")
		in := r.hookInputs("setup", "")
		if len(in) != 1 || in[0]["trigger"] != "init" {
			t.Fatalf("setup inputs %v (client exit %d)", in, run.Code)
		}
		record(t, r, "setup", fmt.Sprint(in[0]["session_id"]), "", "setup.json")
	})
}
