package hookadmin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// callTest runs hooks.test over the default rules, checking params and
// answer against their schemas.
func callTest(t *testing.T, params string) (out struct {
	Result   protocol.HookResult `json:"result"`
	Output   string              `json:"output"`
	Commands []string            `json:"commands"`
}) {
	t.Helper()
	val := testenv.Validator(t)
	rules := hookrules.New(testenv.SharedRedis(t).Client(t), policy.DefaultRules(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
		t.Fatal(err)
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
	return out
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
