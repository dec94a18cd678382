package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/claudebench/cb/protocol"
)

// eventCaps is what a rule on one event can do: the actions Claude Code
// honours there, and whether the rule fields permissions and interrupt
// reach it.
type eventCaps struct {
	actions     []string // in the order of allActions
	permissions bool     // allow rules may carry permissions (updatedPermissions)
	interrupt   bool     // deny rules may set interrupt
}

// allActions lists every action, in the order error messages name them.
var allActions = []string{ActionAllow, ActionDeny, ActionAsk, ActionCancel, ActionModify, ActionContext}

// capsByEvent is derived from protocol.RenderHookOutput, the one place that
// knows what each Claude Code event honours: an action is valid on an event
// when rendering its decision there produces output (a decision nobody
// reads would be a rule that silently does nothing). modify is valid where
// a rewritten input is rendered (updatedInput, an elicitation's content),
// context where additionalContext (or PreCompact's instructions) is.
var capsByEvent = func() map[string]eventCaps {
	probe := json.RawMessage(`{"k":"v"}`)
	caps := map[string]eventCaps{}
	for _, he := range protocol.HookEvents {
		if _, dup := caps[he.Type]; dup {
			continue
		}
		render := func(res protocol.HookResult) []byte { return protocol.RenderHookOutput(he.ClaudeEvent, res) }
		var c eventCaps
		for _, a := range allActions {
			ok := false
			switch a {
			case ActionModify:
				ok = !bytes.Equal(render(protocol.HookResult{Decision: protocol.DecisionAllow, UpdatedInput: probe}),
					render(protocol.HookResult{Decision: protocol.DecisionAllow}))
			case ActionContext:
				ok = render(protocol.HookResult{AdditionalContext: "x"}) != nil
			default:
				ok = render(protocol.HookResult{Decision: a, Reason: "x"}) != nil
			}
			if ok {
				c.actions = append(c.actions, a)
			}
		}
		c.permissions = !bytes.Equal(render(protocol.HookResult{Decision: protocol.DecisionAllow, UpdatedPermissions: json.RawMessage(`[]`)}),
			render(protocol.HookResult{Decision: protocol.DecisionAllow}))
		c.interrupt = !bytes.Equal(render(protocol.HookResult{Decision: protocol.DecisionDeny, Interrupt: true}),
			render(protocol.HookResult{Decision: protocol.DecisionDeny}))
		caps[he.Type] = c
	}
	return caps
}()

// eventsWith lists the events that accept an action, for error messages.
func eventsWith(f func(eventCaps) bool) string {
	var out []string
	for _, ev := range knownEvents() {
		if f(capsByEvent[ev]) {
			out = append(out, ev)
		}
	}
	return strings.Join(out, ", ")
}

// checkEventAction reports why action (already known to be one of
// allActions) is meaningless on event, or nil.
func checkEventAction(event, action string) error {
	c := capsByEvent[event]
	if slices.Contains(c.actions, action) {
		return nil
	}
	if len(c.actions) == 0 {
		return fmt.Errorf("event %s takes no decision or context (Claude Code ignores its hook output), so no rule can act on it", event)
	}
	return fmt.Errorf("action %s is not supported on event %s (it takes %s); %s is supported on: %s",
		action, event, strings.Join(c.actions, ", "), action,
		eventsWith(func(c eventCaps) bool { return slices.Contains(c.actions, action) }))
}

// validPermissionTypes are the PermissionUpdate types Claude Code accepts
// (reference §2.3, PermissionRequest), with the field each needs.
var validPermissionTypes = map[string]string{
	"addRules": "rules", "replaceRules": "rules", "removeRules": "rules",
	"setMode":        "mode",
	"addDirectories": "directories", "removeDirectories": "directories",
}

var validDestinations = []string{"userSettings", "projectSettings", "localSettings", "session", "cliArg"}

// checkPermissions validates a rule's permissions list: each entry must be
// a Claude Code PermissionUpdate, or the client rejects the whole hook
// output.
func checkPermissions(perms []map[string]any) error {
	for i, p := range perms {
		typ, _ := p["type"].(string)
		need, ok := validPermissionTypes[typ]
		if !ok {
			return fmt.Errorf("permissions[%d]: type %q is not a PermissionUpdate type (want addRules, replaceRules, removeRules, setMode, addDirectories or removeDirectories)", i, p["type"])
		}
		if dst, _ := p["destination"].(string); !slices.Contains(validDestinations, dst) {
			return fmt.Errorf("permissions[%d]: destination %q (want one of %s)", i, p["destination"], strings.Join(validDestinations, ", "))
		}
		switch need {
		case "rules":
			rules, _ := p["rules"].([]any)
			if len(rules) == 0 {
				return fmt.Errorf("permissions[%d]: %s needs a non-empty rules list of {toolName, ruleContent?}", i, typ)
			}
			for j, r := range rules {
				m, _ := r.(map[string]any)
				if tn, _ := m["toolName"].(string); tn == "" {
					return fmt.Errorf("permissions[%d].rules[%d]: toolName must be a non-empty string", i, j)
				}
			}
			if b, _ := p["behavior"].(string); b != "allow" && b != "deny" && b != "ask" {
				return fmt.Errorf("permissions[%d]: behavior %q (want allow, deny or ask)", i, p["behavior"])
			}
		case "mode":
			if m, _ := p["mode"].(string); m == "" {
				return fmt.Errorf("permissions[%d]: setMode needs a mode", i)
			}
		case "directories":
			dirs, _ := p["directories"].([]any)
			if len(dirs) == 0 {
				return fmt.Errorf("permissions[%d]: %s needs a non-empty directories list", i, typ)
			}
			for _, d := range dirs {
				if s, _ := d.(string); s == "" {
					return fmt.Errorf("permissions[%d]: directories must be non-empty strings", i)
				}
			}
		}
	}
	return nil
}
