// Package hooks implements the hook.* handlers: every Claude Code hook event
// arrives here and is answered from the policy engine's rules.
package hooks

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
)

// TodoSync turns a todo tool call (the hook.todo_write input) into tasks.
type TodoSync func(ctx context.Context, eventID, sessionID string, hook json.RawMessage) error

// Handlers returns a handler for every hook type in protocol.HookEvents,
// deciding with engine. todos, when not nil, runs for hook.todo_write.
func Handlers(engine *policy.Engine, todos TodoSync) []registry.Handler {
	hs := make([]registry.Handler, 0, len(protocol.HookEvents))
	for _, he := range protocol.HookEvents {
		hookType := he.Type
		hs = append(hs, registry.Handler{
			Event:   protocol.HookMethod(hookType),
			Persist: true,
			Fn: func(ctx context.Context, req *registry.Request) (any, error) {
				if hookType == "todo_write" && todos != nil {
					if err := todos(ctx, req.Event.Metadata.ID, req.Event.Metadata.SessionID, req.Params); err != nil {
						return nil, err
					}
				}
				return Decide(engine, hookType, req.Params)
			},
		})
	}
	return hs
}

// hookInput is the part of Claude Code's hook JSON the rules look at.
type hookInput struct {
	ToolName  string          `json:"tool_name"`
	ToolInput json.RawMessage `json:"tool_input"`
	Cwd       string          `json:"cwd"`
	Prompt    string          `json:"prompt"`
}

// Decide evaluates the rules for one hook event.
func Decide(engine *policy.Engine, hookType string, params json.RawMessage) (protocol.HookResult, error) {
	var in hookInput
	if err := json.Unmarshal(params, &in); err != nil {
		return protocol.HookResult{}, &protocol.Error{Code: protocol.CodeInvalidParams, Message: fmt.Sprintf("hook input: %v", err)}
	}
	d := engine.Evaluate(policy.Input{
		Event: hookType, ToolName: in.ToolName, ToolInput: in.ToolInput,
		Cwd: in.Cwd, Prompt: in.Prompt, Raw: params,
	})
	res := protocol.HookResult{
		Decision:          d.Action,
		Reason:            d.Reason,
		UpdatedInput:      d.UpdatedInput,
		AdditionalContext: d.AdditionalContext,
		RuleIDs:           d.RuleIDs,
	}
	if len(res.UpdatedInput) > 0 && res.Decision == protocol.DecisionNone {
		// A rewrite alone takes effect only with a decision; allow keeps the
		// normal flow otherwise unchanged.
		res.Decision = protocol.DecisionAllow
	}
	return res, nil
}
