// Package hooks implements the hook.* handlers: every Claude Code hook event
// arrives here and is answered from the policy engine's rules.
package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol"
)

// TodoSync turns a todo tool call (the hook.todo_write input) into tasks.
type TodoSync func(ctx context.Context, eventID, sessionID string, hook json.RawMessage) error

// Deps are what the hook handlers use.
type Deps struct {
	// Engine returns the current rule engine (it changes when rules do).
	Engine func() *policy.Engine
	// Audit, when not nil, records every decision (must not block).
	Audit func(store.AuditRecord)
	// PromptContext, when not nil, adds text to UserPromptSubmit's context
	// (the session's in-progress tasks).
	PromptContext func(ctx context.Context, sessionID string) (string, error)
	// InstanceID is recorded with each decision.
	InstanceID string
	// Todos, when not nil, runs for hook.todo_write.
	Todos TodoSync
	// FailClosed reports whether a hook type's fail mode is closed; then a
	// hook that cannot be decided (circuit open, timeout, failure) denies
	// instead of answering "no opinion".
	FailClosed func(hookType string) bool
}

// Handlers returns a handler for every hook type in protocol.HookEvents.
func Handlers(d Deps) []registry.Handler {
	todos := d.Todos
	hs := make([]registry.Handler, 0, len(protocol.HookEvents))
	for _, he := range protocol.HookEvents {
		hookType := he.Type
		hs = append(hs, registry.Handler{
			Event:   protocol.HookMethod(hookType),
			Persist: true,
			Roles:   []string{"hooks"},
			Fn: func(ctx context.Context, req *registry.Request) (any, error) {
				start := time.Now()
				if hookType == "todo_write" && todos != nil {
					if err := todos(ctx, req.Event.Metadata.ID, req.Event.Metadata.SessionID, req.Params); err != nil {
						return nil, err
					}
				}
				res, tool, err := decide(d.Engine(), hookType, req.Params)
				if err != nil {
					return nil, err
				}
				if hookType == "user_prompt" && d.PromptContext != nil {
					extra, err := d.PromptContext(ctx, req.Event.Metadata.SessionID)
					if err != nil {
						return nil, err
					}
					res.AdditionalContext = joinContext(res.AdditionalContext, extra)
				}
				if d.Audit != nil {
					d.Audit(store.AuditRecord{
						ID: req.Event.Metadata.ID, Time: start, SessionID: req.Event.Metadata.SessionID,
						Event: req.Event.Type, Tool: tool, Decision: decisionName(res), RuleIDs: res.RuleIDs,
						Reason: res.Reason, LatencyMicros: time.Since(start).Microseconds(), InstanceID: d.InstanceID,
					})
				}
				return res, nil
			},
			Fallback: func(req *registry.Request, perr *protocol.Error) (any, bool) {
				if d.FailClosed != nil && d.FailClosed(hookType) {
					return protocol.HookResult{Decision: protocol.DecisionDeny,
						Reason: "ClaudeBench could not decide (" + perr.Message + "); hook fail mode is closed."}, true
				}
				return protocol.HookResult{}, true
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
	res, _, err := decide(engine, hookType, params)
	return res, err
}

func decide(engine *policy.Engine, hookType string, params json.RawMessage) (protocol.HookResult, string, error) {
	var in hookInput
	if err := json.Unmarshal(params, &in); err != nil {
		return protocol.HookResult{}, "", &protocol.Error{Code: protocol.CodeInvalidParams, Message: fmt.Sprintf("hook input: %v", err)}
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
	return res, in.ToolName, nil
}

// decisionName is what the audit records: the decision, or "context" /
// "none" when the answer decided nothing.
func decisionName(res protocol.HookResult) string {
	switch {
	case len(res.UpdatedInput) > 0:
		return "modify"
	case res.Decision != protocol.DecisionNone:
		return res.Decision
	case res.AdditionalContext != "":
		return "context"
	}
	return "none"
}

func joinContext(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}
