package hookrules

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/protocol"
)

// TestDecisionsPerEvent: each decision the new events take, from rule to
// the exact output Claude Code reads (reference §2.3).
func TestDecisionsPerEvent(t *testing.T) {
	rules, err := policy.ParseRules([]byte(`
- id: pr-allow-read
  event: permission_request
  tool: Read
  action: allow
  permissions:
    - {type: addRules, rules: [{toolName: Read}], behavior: allow, destination: session}
- id: pr-deny-fetch
  event: PermissionRequest
  tool: WebFetch
  action: deny
  interrupt: true
  reason: no web
- id: pr-rewrite-timeout
  event: permission_request
  tool: Bash
  field: command
  match: '^npm test'
  action: modify
  replace: {timeout: 600000}
- id: denied-retry
  event: permission_denied
  tool: Bash
  action: allow
- id: failure-ctx
  event: post_tool_use_failure
  action: context
  context: check the logs
- id: batch-ctx
  event: post_tool_batch
  action: context
  context: batch done
- id: expansion-block
  event: user_prompt_expansion
  field: command_name
  match: '^deploy$'
  action: deny
  reason: no deploys from here
- id: model-ask
  event: pre_model_switch
  field: to_model
  match: opus
  action: ask
  reason: opus costs more
- id: elicit-cancel
  event: elicitation
  field: mcp_server_name
  match: '^spam$'
  action: cancel
- id: elicit-decline
  event: elicitation
  field: mcp_server_name
  match: '^spam$'
  action: deny
  reason: never
- id: elicit-accept
  event: elicitation
  field: mcp_server_name
  match: '^forms$'
  action: modify
  replace: {approved: true}
- id: result-override
  event: elicitation_result
  action: modify
  replace: {team: core}
- id: sub-ctx
  event: subagent_start
  action: context
  context: you are a subagent
- id: task-block
  event: task_created
  field: task_subject
  match: '(?i)wip'
  action: deny
  reason: name the task
- id: done-block
  event: task_completed
  action: deny
  reason: run the tests first
- id: config-block
  event: config_change
  field: source
  match: '^project_settings$'
  action: deny
  reason: settings are frozen
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		hookType, input, want string
	}{
		{"permission_request", `{"tool_name":"Read","tool_input":{"file_path":"/x"}}`,
			`{"hookSpecificOutput":{"decision":{"behavior":"allow","updatedPermissions":[{"behavior":"allow","destination":"session","rules":[{"toolName":"Read"}],"type":"addRules"}]},"hookEventName":"PermissionRequest"}}`},
		{"permission_request", `{"tool_name":"WebFetch","tool_input":{"url":"https://x"}}`,
			`{"hookSpecificOutput":{"decision":{"behavior":"deny","interrupt":true,"message":"no web"},"hookEventName":"PermissionRequest"}}`},
		{"permission_request", `{"tool_name":"Bash","tool_input":{"command":"npm test"}}`,
			`{"hookSpecificOutput":{"decision":{"behavior":"allow","updatedInput":{"command":"npm test","timeout":600000}},"hookEventName":"PermissionRequest"}}`},
		{"permission_denied", `{"tool_name":"Bash","tool_input":{"command":"ls"},"reason":"classifier"}`,
			`{"hookSpecificOutput":{"hookEventName":"PermissionDenied","retry":true}}`},
		{"post_tool_use_failure", `{"tool_name":"Bash","tool_input":{"command":"make"},"error":"exit 2"}`,
			`{"hookSpecificOutput":{"additionalContext":"check the logs","hookEventName":"PostToolUseFailure"}}`},
		{"post_tool_batch", `{"tool_calls":[]}`,
			`{"hookSpecificOutput":{"additionalContext":"batch done","hookEventName":"PostToolBatch"}}`},
		{"user_prompt_expansion", `{"command_name":"deploy","prompt":"/deploy"}`,
			`{"decision":"block","reason":"no deploys from here"}`},
		{"user_prompt_expansion", `{"command_name":"review","prompt":"/review"}`, ``},
		{"pre_model_switch", `{"from_model":"claude-sonnet","to_model":"claude-opus-5"}`,
			`{"hookSpecificOutput":{"hookEventName":"PreModelSwitch","permissionDecision":"ask","permissionDecisionReason":"opus costs more"}}`},
		// deny > cancel: both fire, deny wins.
		{"elicitation", `{"mcp_server_name":"spam","message":"m"}`,
			`{"decision":"block","hookSpecificOutput":{"action":"decline","hookEventName":"Elicitation"},"reason":"never"}`},
		{"elicitation", `{"mcp_server_name":"forms","message":"m"}`,
			`{"hookSpecificOutput":{"action":"accept","content":{"approved":true},"hookEventName":"Elicitation"}}`},
		// The user's answer is the base the override is merged into.
		{"elicitation_result", `{"mcp_server_name":"forms","action":"accept","content":{"name":"ann"}}`,
			`{"hookSpecificOutput":{"action":"accept","content":{"name":"ann","team":"core"},"hookEventName":"ElicitationResult"}}`},
		{"subagent_start", `{"agent_id":"a1","agent_type":"Explore"}`,
			`{"hookSpecificOutput":{"additionalContext":"you are a subagent","hookEventName":"SubagentStart"}}`},
		{"task_created", `{"task_id":"1","task_subject":"WIP stuff"}`,
			`{"decision":"block","reason":"name the task"}`},
		{"task_completed", `{"task_id":"1","task_subject":"x"}`,
			`{"decision":"block","reason":"run the tests first"}`},
		{"config_change", `{"source":"project_settings","file_path":"/p/.claude/settings.json"}`,
			`{"decision":"block","reason":"settings are frozen"}`},
	}
	for _, c := range cases {
		t.Run(c.hookType, func(t *testing.T) {
			res, err := Decide(e, c.hookType, json.RawMessage(c.input))
			if err != nil {
				t.Fatal(err)
			}
			he, _ := protocol.LookupHookEvent(c.hookType)
			if got := string(protocol.RenderHookOutput(he.ClaudeEvent, res)); got != c.want {
				t.Errorf("%s %s:\n got %s\nwant %s (rules %v)", c.hookType, c.input, got, c.want, res.RuleIDs)
			}
		})
	}
}

// TestStrengthOrder: deny > cancel > ask > allow, and a deny drops the
// permissions of fired allow rules while an allow drops interrupt.
func TestStrengthOrder(t *testing.T) {
	e, err := policy.New([]policy.Rule{
		{ID: "a-allow", Event: "elicitation", Action: "allow"},
		{ID: "b-cancel", Event: "elicitation", Action: "cancel"},
		{ID: "c-allow", Event: "permission_request", Action: "allow",
			Permissions: []map[string]any{{"type": "setMode", "mode": "acceptEdits", "destination": "session"}}},
		{ID: "d-deny", Event: "permission_request", Tool: "Write", Action: "deny", Reason: "no"},
		{ID: "e-allow", Event: "permission_request", Tool: "Read", Action: "allow",
			Permissions: []map[string]any{{"type": "addDirectories", "directories": []any{"/data"}, "destination": "session"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Evaluate(policy.Input{Event: "elicitation"}); d.Action != "cancel" {
		t.Errorf("elicitation: %q, want cancel", d.Action)
	}
	d := e.Evaluate(policy.Input{Event: "permission_request", ToolName: "Write"})
	if d.Action != "deny" || d.UpdatedPermissions != nil {
		t.Errorf("deny kept permissions: %+v", d)
	}
	d = e.Evaluate(policy.Input{Event: "permission_request", ToolName: "Read"})
	want := `[{"destination":"session","mode":"acceptEdits","type":"setMode"},{"destination":"session","directories":["/data"],"type":"addDirectories"}]`
	if d.Action != "allow" || string(d.UpdatedPermissions) != want {
		t.Errorf("allow: %+v\nwant permissions %s", d, want)
	}
}

// TestRuleActionsPerEvent: a rule whose action its event does not honour
// is refused, naming the event, the action and where it would work.
func TestRuleActionsPerEvent(t *testing.T) {
	bad := []struct {
		rule policy.Rule
		want []string
	}{
		{policy.Rule{ID: "pr-ask", Event: "permission_request", Action: "ask"}, []string{"ask", "permission_request", "pre_model_switch, pre_tool"}},
		{policy.Rule{ID: "pd-deny", Event: "permission_denied", Action: "deny"}, []string{"deny", "permission_denied", "takes allow"}},
		{policy.Rule{ID: "tool-cancel", Event: "pre_tool", Action: "cancel"}, []string{"cancel", "elicitation"}},
		{policy.Rule{ID: "switch-ctx", Event: "pre_model_switch", Action: "context", Context: "x"}, []string{"context", "pre_model_switch"}},
		{policy.Rule{ID: "task-allow", Event: "task_created", Action: "allow"}, []string{"allow", "task_created", "takes deny"}},
		{policy.Rule{ID: "notif", Event: "notification", Action: "context", Context: "x"}, []string{"notification", "ignores"}},
		{policy.Rule{ID: "mod-stop", Event: "stop", Action: "modify", Replace: map[string]any{"a": 1}}, []string{"modify", "elicitation, elicitation_result, permission_request, pre_tool"}},
		{policy.Rule{ID: "perm-tool", Event: "pre_tool", Action: "allow", Permissions: []map[string]any{{"type": "setMode", "mode": "x", "destination": "session"}}}, []string{"permissions", "permission_request"}},
		{policy.Rule{ID: "perm-deny", Event: "permission_request", Action: "deny", Permissions: []map[string]any{{"type": "setMode", "mode": "x", "destination": "session"}}}, []string{"permissions", "deny"}},
		{policy.Rule{ID: "perm-type", Event: "permission_request", Action: "allow", Permissions: []map[string]any{{"type": "grant", "destination": "session"}}}, []string{"permissions[0]", "grant"}},
		{policy.Rule{ID: "perm-dst", Event: "permission_request", Action: "allow", Permissions: []map[string]any{{"type": "setMode", "mode": "plan", "destination": "everywhere"}}}, []string{"destination", "everywhere"}},
		{policy.Rule{ID: "perm-rules", Event: "permission_request", Action: "allow", Permissions: []map[string]any{{"type": "addRules", "behavior": "allow", "destination": "session"}}}, []string{"rules list"}},
		{policy.Rule{ID: "int-allow", Event: "permission_request", Action: "allow", Interrupt: true}, []string{"interrupt", "deny"}},
		{policy.Rule{ID: "int-tool", Event: "pre_tool", Action: "deny", Interrupt: true}, []string{"interrupt", "permission_request"}},
		{policy.Rule{ID: "blk-allow", Event: "elicitation", Action: "allow", Blocking: true}, []string{"blocking"}},
	}
	for _, c := range bad {
		err := c.rule.Validate()
		if err == nil {
			t.Errorf("%s: no error", c.rule.ID)
			continue
		}
		for _, w := range append(c.want, `"`+c.rule.ID+`"`) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.rule.ID, err, w)
			}
		}
	}
	good := []policy.Rule{
		{ID: "a", Event: "permission_denied", Action: "allow"},
		{ID: "b", Event: "PreModelSwitch", Action: "deny"},
		{ID: "c", Event: "elicitation_result", Action: "cancel", Blocking: true},
		{ID: "d", Event: "pre_compact", Action: "context", Context: "keep the task list"},
		{ID: "e", Event: "permission_request", Action: "deny", Interrupt: true},
		{ID: "f", Event: "teammate_idle", Action: "deny", Reason: "keep going"},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
	}
}
