package hookrules

import (
	"encoding/json"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/protocol"
)

// Decide evaluates engine's rules for one hook event, reading duplicate
// keys as Claude Code does (the last value counts).
func Decide(engine *policy.Engine, hookType string, params json.RawMessage) (protocol.HookResult, error) {
	_, dup, err := DuplicateKey(params)
	if err != nil {
		return protocol.HookResult{}, &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
	}
	if dup {
		params = LastWins(params)
	}
	res, _, err := Evaluate(engine, hookType, params, nil)
	return res, err
}

// Evaluate evaluates engine's rules for params, which names no key twice
// (see DuplicateKey), with what cbd knows about the input beyond its text
// (facts, for the specials that read them: policy.Input.Facts), and
// returns the answer and the input's tool_name (a string pointing into
// params). Its fields are read with exact-case names, as JavaScript reads
// them (not encoding/json's case-insensitive matching).
func Evaluate(engine *policy.Engine, hookType string, params json.RawMessage, facts map[string]bool) (protocol.HookResult, string, error) {
	r := parse(params)
	if !r.IsObject() {
		return protocol.HookResult{}, "", &protocol.Error{Code: protocol.CodeInvalidParams, Message: "hook input: not a JSON object"}
	}
	in := policy.Input{
		Event:    hookType,
		ToolName: r.Get("tool_name").String(),
		Cwd:      r.Get("cwd").String(),
		Prompt:   r.Get("prompt").String(),
		Raw:      params,
		Facts:    facts,
	}
	if ti := r.Get("tool_input"); ti.Exists() {
		// A slice of params, not a copy: tool_input is most of a large input.
		if ti.Index > 0 && ti.Index+len(ti.Raw) <= len(params) {
			in.ToolInput = params[ti.Index : ti.Index+len(ti.Raw) : ti.Index+len(ti.Raw)]
		} else {
			in.ToolInput = json.RawMessage(ti.Raw)
		}
	}
	d := engine.Evaluate(in)
	res := protocol.HookResult{
		Decision:          d.Action,
		Reason:            d.Reason,
		UpdatedInput:      d.UpdatedInput,
		AdditionalContext: d.AdditionalContext,
		RuleIDs:           d.RuleIDs,
		// Only set by the engine for the decision they belong to (allow,
		// deny on permission_request).
		UpdatedPermissions: d.UpdatedPermissions,
		Interrupt:          d.Interrupt,
	}
	if len(res.UpdatedInput) > 0 && res.Decision == protocol.DecisionNone {
		// A rewrite alone takes effect only with a decision; allow keeps the
		// normal flow otherwise unchanged.
		res.Decision = protocol.DecisionAllow
	}
	return res, in.ToolName, nil
}
