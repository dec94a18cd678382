package hookadmin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// readmeRules are the rules of README's "Decisions on the other events"
// example.
const readmeRules = `
- id: no-opus
  event: pre_model_switch
  field: to_model
  match: opus
  action: ask
  reason: Opus costs more; confirm the switch.
- id: no-webfetch-dialog
  event: permission_request
  tool: WebFetch
  action: deny
  interrupt: true
  reason: No web access from this project.
- id: allow-npm-test
  event: permission_request
  tool: Bash
  field: command
  match: '^npm test'
  action: allow
  permissions:
    - {type: addRules, rules: [{toolName: Bash, ruleContent: "npm test:*"}], behavior: allow, destination: session}
- id: retry-after-classifier
  event: permission_denied
  tool: Read
  action: allow
- id: failure-hint
  event: post_tool_use_failure
  tool: Bash
  action: context
  context: If a test failed, read its log before retrying.
- id: no-deploy-command
  event: user_prompt_expansion
  field: command_name
  match: '^deploy$'
  action: deny
  reason: Deploys go through CI.
- id: subagent-rules
  event: subagent_start
  action: context
  context: Subagents never push.
- id: name-tasks
  event: task_created
  field: task_subject
  match: '(?i)^wip'
  action: deny
  reason: Give the task a real subject.
- id: decline-spam
  event: elicitation
  field: mcp_server_name
  match: '^ads$'
  action: cancel
`

// TestHooksTestExamples: the README's cb hooks test examples give the
// decision and output shown there, through hooks.test with the default
// rules, the read_only rule set and the example rules.
func TestHooksTestExamples(t *testing.T) {
	user, err := policy.ParseRules([]byte(readmeRules))
	if err != nil {
		t.Fatal(err)
	}
	ro, err := policy.RuleSet("read_only")
	if err != nil {
		t.Fatal(err)
	}
	rules := hookrules.New(testenv.SharedRedis(t).Flushed(t), append(policy.DefaultRules(), ro...), user, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rules.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	reg.Register(Handlers(rules, nil)...)
	h, _ := reg.Lookup("hooks.test")
	val := testenv.Validator(t)
	cwd := "/home/u/proj"
	cases := []struct {
		name, params, decision, output string
	}{
		{"read-only bash", `{"event":"permission_request","command":"git log --oneline | head","cwd":"` + cwd + `"}`, "allow",
			`{"hookSpecificOutput":{"decision":{"behavior":"allow"},"hookEventName":"PermissionRequest"}}`},
		{"read-only tool", `{"event":"permission_request","tool":"Read","input":{"file_path":"` + cwd + `/main.go"},"cwd":"` + cwd + `"}`, "allow", ""},
		{"one command is not read-only", `{"event":"permission_request","command":"ls; rm -rf build","cwd":"` + cwd + `"}`, "", ""},
		{"output to a file", `{"event":"permission_request","command":"git log > log.txt","cwd":"` + cwd + `"}`, "", ""},
		{"outside the project", `{"event":"permission_request","command":"cat ~/.npmrc","cwd":"` + cwd + `"}`, "", ""},
		{"allow with permissions", `{"event":"permission_request","command":"npm test -- --watch=false","cwd":"` + cwd + `"}`, "allow",
			`{"hookSpecificOutput":{"decision":{"behavior":"allow","updatedPermissions":[{"behavior":"allow","destination":"session","rules":[{"ruleContent":"npm test:*","toolName":"Bash"}],"type":"addRules"}]},"hookEventName":"PermissionRequest"}}`},
		{"deny with interrupt", `{"event":"permission_request","tool":"WebFetch","input":{"url":"https://example.com","prompt":"p"}}`, "deny",
			`{"hookSpecificOutput":{"decision":{"behavior":"deny","interrupt":true,"message":"No web access from this project."},"hookEventName":"PermissionRequest"}}`},
		{"retry", `{"event":"permission_denied","tool":"Read","input":{"file_path":"x"}}`, "allow",
			`{"hookSpecificOutput":{"hookEventName":"PermissionDenied","retry":true}}`},
		{"failure context", `{"event":"post_tool_use_failure","command":"npm test"}`, "",
			`{"hookSpecificOutput":{"additionalContext":"If a test failed, read its log before retrying.","hookEventName":"PostToolUseFailure"}}`},
		{"model ask", `{"event":"pre_model_switch","payload":{"from_model":"claude-sonnet-5","to_model":"claude-opus-5"}}`, "ask",
			`{"hookSpecificOutput":{"hookEventName":"PreModelSwitch","permissionDecision":"ask","permissionDecisionReason":"Opus costs more; confirm the switch."}}`},
		{"expansion block", `{"event":"user_prompt_expansion","payload":{"command_name":"deploy","prompt":"/deploy prod"}}`, "deny",
			`{"decision":"block","reason":"Deploys go through CI."}`},
		{"subagent context", `{"event":"subagent_start","payload":{"agent_id":"a1","agent_type":"Explore"}}`, "",
			`{"hookSpecificOutput":{"additionalContext":"Subagents never push.","hookEventName":"SubagentStart"}}`},
		{"task block", `{"event":"task_created","payload":{"task_id":"1","task_subject":"WIP"}}`, "deny",
			`{"decision":"block","reason":"Give the task a real subject."}`},
		{"elicitation cancel", `{"event":"elicitation","payload":{"mcp_server_name":"ads","message":"Rate us"}}`, "cancel",
			`{"hookSpecificOutput":{"action":"cancel","hookEventName":"Elicitation"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := val.Input("hooks.test", []byte(c.params)); err != nil {
				t.Fatalf("params fail their schema: %v", err)
			}
			res, err := h.Fn(context.Background(), &registry.Request{Event: protocol.Event{Type: "hooks.test"}, Params: json.RawMessage(c.params)})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(res)
			if err := val.Output("hooks.test", data); err != nil {
				t.Fatalf("answer %s fails the output schema: %v", data, err)
			}
			var out struct {
				Result protocol.HookResult `json:"result"`
				Output string              `json:"output"`
			}
			if err := json.Unmarshal(data, &out); err != nil {
				t.Fatal(err)
			}
			if out.Result.Decision != c.decision {
				t.Errorf("decision %q (rules %v), want %q", out.Result.Decision, out.Result.RuleIDs, c.decision)
			}
			if c.output != "" && out.Output != c.output {
				t.Errorf("output\n got %s\nwant %s", out.Output, c.output)
			}
			if strings.HasPrefix(c.name, "read-only") && !strings.Contains(strings.Join(out.Result.RuleIDs, ","), "read-only-approve") {
				t.Errorf("rules %v", out.Result.RuleIDs)
			}
		})
	}
}
