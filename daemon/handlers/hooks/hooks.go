// Package hooks implements the hook.* handlers: every Claude Code hook event
// arrives here and is answered from the policy engine's rules.
package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// TodoSync turns a todo tool call (the hook.todo_write input) into tasks.
type TodoSync func(ctx context.Context, eventID, sessionID string, hook json.RawMessage) error

// WorkFeed may answer a hook with work for the session: the reason to
// block its stop with, "" for no opinion.
type WorkFeed func(ctx context.Context, eventID, hookType, sessionID string, hook json.RawMessage) (string, error)

// Deps are what the hook handlers use.
type Deps struct {
	// Engine returns the current rule engine (it changes when rules do).
	Engine func() *policy.Engine
	// Audit, when not nil, records every decision (must not block).
	Audit func(api.AuditRecord)
	// PromptContext, when not nil, adds text to UserPromptSubmit's context
	// (the session's in-progress tasks).
	PromptContext func(ctx context.Context, sessionID string) (string, error)
	// InstanceID is recorded with each decision.
	InstanceID string
	// Todos, when not nil, runs for hook.todo_write, and for
	// hook.task_created and hook.task_completed unless the rules deny them.
	Todos TodoSync
	// Feed, when not nil, runs for every hook the rules neither denied nor
	// interrupted; a reason it returns becomes a deny (a block of the stop).
	Feed WorkFeed
	// FailClosed reports whether a hook type's fail mode is closed; then a
	// hook that cannot be decided (circuit open, timeout, failure) denies
	// instead of answering "no opinion".
	FailClosed func(hookType string) bool
	// DuplicateKeys is hook.duplicate_keys: DuplicateKeysLast (the
	// default, also for "") judges an input that names a key twice in one
	// object on the last value, as Claude Code reads it;
	// DuplicateKeysRefuse answers it per the fail mode without judging.
	DuplicateKeys string
	// Facts, when not nil, establishes what cbd knows about an input beyond
	// its text (policy.Input.Facts; the settings guard's, see
	// settingsguard.Guard.Facts) before the rules judge it.
	Facts func(ctx context.Context, hookType string, params json.RawMessage) (map[string]bool, error)
}

// Values of hook.duplicate_keys: how a hook input that names a key twice
// in one object is judged (see hookrules.DuplicateKey).
const (
	DuplicateKeysLast   = "last"
	DuplicateKeysRefuse = "refuse"
)

// maxAuditTool bounds the tool name kept in an audit record (the input's
// tool_name is whatever the caller sent).
const maxAuditTool = 200

// Handlers returns a handler for every hook type in protocol.HookEvents,
// and hook.other for events this cb does not know.
func Handlers(d Deps) []registry.Handler {
	todos := d.Todos
	types := make([]string, 0, len(protocol.HookEvents)+1)
	for _, he := range protocol.HookEvents {
		types = append(types, he.Type)
	}
	types = append(types, protocol.OtherHookType)
	hs := make([]registry.Handler, 0, len(types))
	for _, hookType := range types {
		hs = append(hs, registry.Handler{
			Event:   protocol.HookMethod(hookType),
			Persist: true,
			Roles:   []string{"hooks"},
			Fn: func(ctx context.Context, req *registry.Request) (any, error) {
				start := time.Now()
				params, res, refused, err := resolveDuplicates(req.Params, d.DuplicateKeys, hookType, d.FailClosed)
				if err != nil {
					return nil, err
				}
				tool := ""
				if !refused {
					var facts map[string]bool
					if d.Facts != nil {
						if facts, err = d.Facts(ctx, hookType, params); err != nil {
							return nil, err
						}
					}
					if res, tool, err = hookrules.Evaluate(d.Engine(), hookType, params, facts); err != nil {
						return nil, err
					}
					// A denied TaskCreated is rolled back by Claude Code and a
					// denied TaskCompleted stays open: no task follows them.
					sync := hookType == "todo_write" ||
						(hookType == "task_created" || hookType == "task_completed") && res.Decision != protocol.DecisionDeny
					if sync && todos != nil {
						if err := todos(ctx, req.Event.Metadata.ID, req.Event.Metadata.SessionID, params); err != nil {
							return nil, err
						}
					}
					if d.Feed != nil && res.Decision != protocol.DecisionDeny && !res.Interrupt {
						reason, err := d.Feed(ctx, req.Event.Metadata.ID, hookType, req.Event.Metadata.SessionID, params)
						if err != nil {
							return nil, err
						}
						if reason != "" {
							res.Decision, res.Reason = protocol.DecisionDeny, reason
						}
					}
					if hookType == "user_prompt" && d.PromptContext != nil {
						extra, err := d.PromptContext(ctx, req.Event.Metadata.SessionID)
						if err != nil {
							return nil, err
						}
						res.AdditionalContext = joinContext(res.AdditionalContext, extra)
					}
				}
				decision := decisionName(res)
				// Shed (over the rate limit): the answer is the same, but
				// only decisions that stop or change something are audited;
				// the no-opinion flood is counted, not recorded one by one.
				if d.Audit != nil && (!req.Shed || (decision != "none" && decision != "context")) {
					if len(tool) > maxAuditTool {
						tool = strings.ToValidUTF8(tool[:maxAuditTool], "")
					}
					// tool points into the input (see hookrules.Evaluate); the record is
					// written later and must not hold all of it.
					tool = strings.Clone(tool)
					d.Audit(api.AuditRecord{
						ID: req.Event.Metadata.ID, Time: api.TimeOf(start), SessionID: req.Event.Metadata.SessionID,
						Event: req.Event.Type, Tool: tool, Decision: decision, RuleIDs: res.RuleIDs,
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

// resolveDuplicates applies hook.duplicate_keys to params: it returns the
// input the rules are to see (params itself when no object in it names a
// key twice, the JSON.parse reading of it with DuplicateKeysLast), or, with
// DuplicateKeysRefuse, refused and the answer per the fail mode.
func resolveDuplicates(params json.RawMessage, mode, hookType string, failClosed func(string) bool) (json.RawMessage, protocol.HookResult, bool, error) {
	key, dup, err := hookrules.DuplicateKey(params)
	if err != nil {
		return nil, protocol.HookResult{}, false, &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
	}
	if !dup {
		return params, protocol.HookResult{}, false, nil
	}
	if mode != DuplicateKeysRefuse {
		return hookrules.LastWins(params), protocol.HookResult{}, false, nil
	}
	reason := fmt.Sprintf("ClaudeBench refused to judge this input: it names the key %q twice in one object, which programs read two ways (hook.duplicate_keys: refuse)", key)
	if failClosed != nil && failClosed(hookType) {
		return nil, protocol.HookResult{Decision: protocol.DecisionDeny, Reason: reason + "; hook fail mode is closed."}, true, nil
	}
	return nil, protocol.HookResult{Reason: reason + "; hook fail mode is open."}, true, nil
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
