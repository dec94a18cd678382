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
)

// Handlers returns the rule and audit methods.
func Handlers(rules *hookrules.Rules, st store.Store) []registry.Handler {
	mcp := []string{"mcp"}
	hs := []registry.Handler{
		{Event: "hooks.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			return map[string]any{"rules": rules.List()}, nil
		}},
		{Event: "hooks.add", Persist: true, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				Rule policy.Rule `json:"rule"`
			}
			if err := json.Unmarshal(r.Params, &p); err != nil {
				return nil, invalid(err)
			}
			if err := rules.Add(ctx, p.Rule); err != nil {
				return nil, err
			}
			return map[string]any{"id": p.Rule.ID, "added": true}, nil
		}},
		{Event: "hooks.remove", Persist: true, Fn: idOp(func(ctx context.Context, id string) error { return rules.Remove(ctx, id) }, "removed")},
		{Event: "hooks.disable", Persist: true, Fn: idOp(func(ctx context.Context, id string) error { return rules.SetDisabled(ctx, id, true) }, "disabled")},
		{Event: "hooks.enable", Persist: true, Fn: idOp(func(ctx context.Context, id string) error { return rules.SetDisabled(ctx, id, false) }, "enabled")},
		{Event: "hooks.test", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				Event   string          `json:"event"`
				Tool    string          `json:"tool"`
				Command string          `json:"command"`
				Input   json.RawMessage `json:"input"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := json.Unmarshal(r.Params, &p); err != nil {
				return nil, invalid(err)
			}
			hookType := p.Event
			if hookType == "" {
				hookType = "pre_tool"
			}
			payload := p.Payload
			if len(payload) == 0 {
				doc := map[string]any{"session_id": "cb-hooks-test", "cwd": ".", "tool_name": p.Tool}
				input := map[string]any{}
				if len(p.Input) > 0 {
					if err := json.Unmarshal(p.Input, &input); err != nil {
						return nil, invalid(err)
					}
				}
				if p.Command != "" {
					if p.Tool == "" {
						doc["tool_name"] = "Bash"
					}
					input["command"] = p.Command
				}
				doc["tool_input"] = input
				payload, _ = json.Marshal(doc)
			}
			res, err := hookrules.Decide(rules.Engine(), hookType, payload)
			if err != nil {
				return nil, err
			}
			if res.RuleIDs == nil {
				res.RuleIDs = []string{}
			}
			claude := ""
			if he, ok := protocol.LookupHookEvent(hookType); ok {
				claude = he.ClaudeEvent
			}
			out := protocol.RenderHookOutput(claude, res)
			return map[string]any{"result": res, "output": string(out), "commands": bashCommands(hookType, payload)}, nil
		}},
		{Event: "audit.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				Session  string `json:"session"`
				Decision string `json:"decision"`
				Tool     string `json:"tool"`
				Since    string `json:"since"`
				Limit    int    `json:"limit"`
			}
			if err := jsonint.Unmarshal(r.Params, &p); err != nil { // "limit": 5.0 too
				return nil, invalid(err)
			}
			q := store.AuditListParams{SessionID: p.Session, Decision: p.Decision, Tool: p.Tool, Limit: p.Limit}
			if p.Since != "" {
				since, err := parseSince(p.Since)
				if err != nil {
					return nil, invalid(err)
				}
				q.Since = since
			}
			recs, err := st.AuditList(ctx, q)
			if err != nil {
				return nil, err
			}
			if recs == nil {
				recs = []store.AuditRecord{}
			}
			return map[string]any{"records": recs}, nil
		}},
	}
	for i := range hs {
		hs[i].Roles = []string{"admin"}
	}
	return hs
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

func idOp(op func(context.Context, string) error, verb string) registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		var p struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.Params, &p); err != nil {
			return nil, invalid(err)
		}
		if err := op(ctx, p.ID); err != nil {
			return nil, err
		}
		return map[string]any{"id": p.ID, verb: true}, nil
	}
}

func invalid(err error) error {
	return &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
}
