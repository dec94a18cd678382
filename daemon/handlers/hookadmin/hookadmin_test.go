package hookadmin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// testResult is hooks.test's answer.
type testResult struct {
	Result   protocol.HookResult `json:"result"`
	Output   string              `json:"output"`
	Commands []string            `json:"commands"`
}

// callTest runs hooks.test over the default rules, checking params and
// answer against their schemas.
func callTest(t *testing.T, params string) testResult {
	t.Helper()
	out, err := callTestRules(t, policy.DefaultRules(), params)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// callTestRules runs hooks.test over rules.
func callTestRules(t *testing.T, ruleSet []policy.Rule, params string) (out testResult, _ error) {
	t.Helper()
	val := testenv.Validator(t)
	rules := hookrules.New(testenv.SharedRedis(t).Client(t), ruleSet, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rules.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	reg.Register(Handlers(rules, nil)...)
	h, ok := reg.Lookup("hooks.test")
	if !ok {
		t.Fatal("no hooks.test")
	}
	if err := val.Input("hooks.test", []byte(params)); err != nil {
		t.Fatalf("params %s fail their schema: %v", params, err)
	}
	res, err := h.Fn(context.Background(), &registry.Request{Event: protocol.Event{Type: "hooks.test"}, Params: json.RawMessage(params)})
	if err != nil {
		return out, err
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Output("hooks.test", data); err != nil {
		t.Fatalf("answer %s fails the output schema: %v", data, err)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// TestHooksTestShowsCommands: hooks.test returns the normalized simple
// commands the Bash rules were matched against.
func TestHooksTestShowsCommands(t *testing.T) {
	out := callTest(t, `{"command":"t=/; for d in $t; do setsid rm -rf \"$d\"; done"}`)
	if out.Result.Decision != "deny" || !slices.Contains(out.Result.RuleIDs, "deny-rm-root") {
		t.Errorf("result = %+v", out.Result)
	}
	if !slices.Equal(out.Commands, []string{"rm -rf /"}) {
		t.Errorf("commands = %q, want [rm -rf /]", out.Commands)
	}
	// The same through a whole payload; xargs is shown with its input.
	out = callTest(t, `{"payload":{"tool_name":"Bash","tool_input":{"command":"echo / | xargs rm -rf"}}}`)
	if !slices.Equal(out.Commands, []string{"echo /", "rm -rf", "rm -rf /"}) || out.Result.Decision != "deny" {
		t.Errorf("payload: commands = %q, result %+v", out.Commands, out.Result)
	}
	// Other tools: no commands, but the field is there.
	out = callTest(t, `{"tool":"Read","input":{"file_path":"/home/u/.env"}}`)
	if out.Commands == nil || len(out.Commands) != 0 || out.Result.Decision != "ask" {
		t.Errorf("Read: commands = %#v, result %+v", out.Commands, out.Result)
	}
}

// TestHooksAddIntegralPriority: a rule's priority written as a JSON number
// with a fraction or exponent that is a whole number (5.0, 1e1), valid for
// the schema's "integer", is accepted as that integer.
func TestHooksAddIntegralPriority(t *testing.T) {
	rules := hookrules.New(testenv.SharedRedis(t).Flushed(t), nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rules.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	reg.Register(Handlers(rules, nil)...)
	h, _ := reg.Lookup("hooks.add")
	for i, prio := range []string{"5.0", "1e1"} {
		params := `{"rule":{"id":"r` + string(rune('a'+i)) + `","event":"pre_tool","tool":"Bash","action":"deny","reason":"no","priority":` + prio + `}}`
		if err := testenv.Validator(t).Input("hooks.add", []byte(params)); err != nil {
			t.Fatalf("params %s fail their schema: %v", params, err)
		}
		if _, err := h.Fn(t.Context(), &registry.Request{Event: protocol.Event{Type: "hooks.add"}, Params: json.RawMessage(params)}); err != nil {
			t.Errorf("hooks.add with priority %s: %v", prio, err)
		}
	}
}

// TestHooksTestAnyEvent: hooks.test evaluates the rules of any hook type,
// named as the type, its alias or Claude Code's event, with a recorded
// payload or one built from input, and renders that event's exact output.
func TestHooksTestAnyEvent(t *testing.T) {
	rules := append(policy.DefaultRules(),
		policy.Rule{ID: "t-allow-ls", Event: "permission_request", Tool: "Bash", Field: "command", Match: "^ls( |$)", Action: "allow"},
		policy.Rule{ID: "t-deny-touch", Event: "permission_request", Tool: "Bash", Field: "command", Match: "^touch ", Action: "deny", Reason: "no touching"},
		policy.Rule{ID: "t-frozen-settings", Event: "config_change", Field: "source", Match: "^user_settings$", Action: "deny", Reason: "settings are frozen"},
	)
	recorded, err := os.ReadFile("../../../e2e/claudecode/testdata/events/PermissionRequest.json")
	if err != nil {
		t.Fatal(err)
	}
	const denyTouch = `{"hookSpecificOutput":{"decision":{"behavior":"deny","message":"no touching"},"hookEventName":"PermissionRequest"}}`
	const blockSettings = `{"decision":"block","reason":"settings are frozen"}`
	for _, c := range []struct {
		name, params, decision, rule, output string
	}{
		{"recorded PermissionRequest", `{"event":"permission_request","payload":` + string(recorded) + `}`, "deny", "t-deny-touch", denyTouch},
		{"PermissionRequest by its event name", `{"event":"PermissionRequest","command":"touch x"}`, "deny", "t-deny-touch", denyTouch},
		{"PermissionRequest allowed", `{"event":"permission_request","command":"ls -la"}`, "allow", "t-allow-ls",
			`{"hookSpecificOutput":{"decision":{"behavior":"allow"},"hookEventName":"PermissionRequest"}}`},
		{"PermissionRequest no opinion", `{"event":"permission_request","tool":"Read","input":{"file_path":"/tmp/x"}}`, "", "", ""},
		{"ConfigChange payload", `{"event":"config_change","payload":{"hook_event_name":"ConfigChange","session_id":"s","source":"user_settings","file_path":"/h/.claude/settings.json"}}`,
			"deny", "t-frozen-settings", blockSettings},
		{"ConfigChange from input", `{"event":"config_change","input":{"source":"user_settings"}}`, "deny", "t-frozen-settings", blockSettings},
		{"ConfigChange other source", `{"event":"config_change","input":{"source":"project_settings"}}`, "", "", ""},
		{"alias", `{"event":"pre_tool_use","command":"rm -rf /"}`, "deny", "deny-rm-root", ""},
	} {
		out, err := callTestRules(t, rules, c.params)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if out.Result.Decision != c.decision || (c.rule != "" && !slices.Contains(out.Result.RuleIDs, c.rule)) {
			t.Errorf("%s: result %+v, want %q by %s", c.name, out.Result, c.decision, c.rule)
		}
		if c.name != "alias" && out.Output != c.output {
			t.Errorf("%s: output\n got %s\nwant %s", c.name, out.Output, c.output)
		}
	}
	if _, err := callTestRules(t, rules, `{"event":"brand_new_event"}`); err == nil || !strings.Contains(err.Error(), "not a hook type") {
		t.Errorf("unknown event: %v, want an invalid-params error", err)
	}
}
