// Package hookadmin implements the hooks.* methods (rules as data: list,
// add, remove, disable, enable, test) and audit.list.
package hookadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/hookrules"
	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// Handlers returns the rule and audit methods.
func Handlers(rules *hookrules.Rules, st store.Store) []registry.Handler {
	mcp := []string{"mcp"}
	hs := []registry.Handler{
		{Event: "hooks.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			listed := rules.List()
			res := api.HooksListResult{Rules: make([]api.ListedRule, len(listed))}
			for i, l := range listed {
				res.Rules[i] = api.ListedRule{Rule: api.Rule(l.Rule), Source: l.Source, Disabled: l.Disabled}
			}
			return res, nil
		}},
		{Event: "hooks.add", Persist: true, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.HooksAddParams
			if err := jsonint.Unmarshal(r.Params, &p); err != nil { // "priority": 5.0 too
				return nil, invalid(err)
			}
			if err := rules.Add(ctx, policy.Rule(p.Rule)); err != nil {
				return nil, err
			}
			return api.HooksAddResult{ID: p.Rule.ID, Added: true}, nil
		}},
		{Event: "hooks.remove", Persist: true, Fn: idOp(func(ctx context.Context, id string) (any, error) {
			return api.HooksRemoveResult{ID: id, Removed: true}, rules.Remove(ctx, id)
		})},
		{Event: "hooks.disable", Persist: true, Fn: idOp(func(ctx context.Context, id string) (any, error) {
			return api.HooksDisableResult{ID: id, Disabled: true}, rules.SetDisabled(ctx, id, true)
		})},
		{Event: "hooks.enable", Persist: true, Fn: idOp(func(ctx context.Context, id string) (any, error) {
			return api.HooksEnableResult{ID: id, Enabled: true}, rules.SetDisabled(ctx, id, false)
		})},
		{Event: "hooks.test", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.HooksTestParams
			if err := json.Unmarshal(r.Params, &p); err != nil {
				return nil, invalid(err)
			}
			// The type, its alias or Claude Code's event name; "" is pre_tool.
			hookType := policy.CanonicalEvent(p.Event)
			he, ok := protocol.LookupHookEvent(hookType)
			if !ok {
				return nil, invalid(fmt.Errorf("event %q: not a hook type (cb hook types: pre_tool, permission_request, config_change, ...; see README, Hook events)", p.Event))
			}
			payload := p.Payload
			if len(payload) == 0 {
				var err error
				if payload, err = testPayload(he, p); err != nil {
					return nil, invalid(err)
				}
			}
			res, err := hookrules.Decide(rules.Engine(), hookType, payload)
			if err != nil {
				return nil, err
			}
			if res.RuleIDs == nil {
				res.RuleIDs = []string{}
			}
			// As cb hook does: the event the input names decides the
			// output's shape (PostToolUse for todo_write).
			claude := he.ClaudeEvent
			var named struct {
				Name string `json:"hook_event_name"`
			}
			if json.Unmarshal(payload, &named) == nil && named.Name != "" {
				claude = named.Name
			}
			out := protocol.RenderHookOutput(claude, res)
			return api.HooksTestResult{Result: res, Output: string(out), Commands: bashCommands(hookType, payload)}, nil
		}},
		{Event: "audit.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.AuditListParams
			if err := jsonint.Unmarshal(r.Params, &p); err != nil { // "limit": 5.0 too
				return nil, invalid(err)
			}
			q := store.AuditListParams{SessionID: p.Session, Decision: p.Decision, Tool: p.Tool, Limit: p.Limit, After: p.After}
			if p.Since != "" {
				since, err := parseSince(p.Since)
				if err != nil {
					return nil, invalid(err)
				}
				q.Since = since
			}
			page, err := st.AuditList(ctx, q)
			if err != nil {
				return nil, err
			}
			if page.Records == nil {
				page.Records = []api.AuditRecord{}
			}
			return api.AuditListResult{Records: page.Records, NextCursor: page.NextCursor}, nil
		}},
	}
	for i := range hs {
		hs[i].Roles = []string{"admin"}
	}
	return hs
}

// testPayload builds the hook input hooks.test evaluates when it is given
// no payload: the base fields and hook_event_name, then for a tool event
// tool_name and tool_input (tool, command, input), for any other event the
// fields of input as the event's own.
func testPayload(he protocol.HookEvent, p api.HooksTestParams) (json.RawMessage, error) {
	cwd := p.Cwd
	if cwd == "" {
		cwd = "."
	}
	doc := map[string]any{"session_id": "cb-hooks-test", "cwd": cwd, "hook_event_name": he.ClaudeEvent}
	input := map[string]any{}
	if len(p.Input) > 0 {
		if err := json.Unmarshal(p.Input, &input); err != nil {
			return nil, err
		}
	}
	if !he.Tool && p.Tool == "" && p.Command == "" {
		for k, v := range input {
			if _, base := doc[k]; !base {
				doc[k] = v
			}
		}
		return json.Marshal(doc)
	}
	doc["tool_name"] = p.Tool
	if p.Command != "" {
		if p.Tool == "" {
			doc["tool_name"] = "Bash"
		}
		input["command"] = p.Command
	}
	doc["tool_input"] = input
	return json.Marshal(doc)
}

// bashCommands returns the normalized simple commands the Bash rules were
// matched against (what rules with field "command" see), [] for other
// tools. The payload is read as hookrules.Decide reads it.
func bashCommands(hookType string, payload json.RawMessage) []string {
	var in struct {
		ToolName  string          `json:"tool_name"`
		ToolInput json.RawMessage `json:"tool_input"`
	}
	if err := json.Unmarshal(payload, &in); err != nil {
		return []string{}
	}
	cmds := policy.BashCommands(policy.Input{Event: hookType, ToolName: in.ToolName, ToolInput: in.ToolInput, Raw: payload})
	if cmds == nil {
		cmds = []string{}
	}
	return cmds
}

// parseSince takes a duration ("1h": that long ago) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want a duration like 1h or an RFC 3339 time", s)
	}
	return t, nil
}

// idOp adapts an operation on one rule; its answer counts only when it
// does not fail.
func idOp(op func(ctx context.Context, id string) (any, error)) registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		var p api.RuleIDParams
		if err := json.Unmarshal(r.Params, &p); err != nil {
			return nil, invalid(err)
		}
		res, err := op(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

func invalid(err error) error {
	return &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
}
