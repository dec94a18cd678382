package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/protocol"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// HookSource is the event metadata source of hook events that arrive as
// Claude Code mcp_tool hooks (cb hook's are "hook", http hooks' "http").
const HookSource = "mcp_tool"

// hookTool is the tool Claude Code's mcp_tool hooks call (cb install --mcp
// writes them): {"type": "<cb hook type>", "input": {<interpolated hook
// input>}}. It is not a registry method: it stands for every hook.<type>.
func hookTool() *mcp.Tool {
	types := make([]any, 0, len(protocol.HookEvents))
	for _, he := range protocol.HookEvents {
		types = append(types, he.Type)
	}
	schema := map[string]any{
		"type":     "object",
		"required": []any{hookmcp.ArgType, hookmcp.ArgInput},
		"properties": map[string]any{
			hookmcp.ArgType: map[string]any{"type": "string", "enum": types,
				"description": "cb hook type (cb hook <type>)"},
			hookmcp.ArgInput: map[string]any{"type": "object",
				"description": "the hook input, each property a string filled in by Claude Code's ${path} interpolation"},
		},
	}
	return &mcp.Tool{
		Name: hookmcp.ToolName,
		Description: "Claude Code mcp_tool hook endpoint (written by cb install --mcp): runs hook.<type> on the " +
			"interpolated hook input and answers what `cb hook <type>` would print. Not meant to be called by the model.",
		InputSchema: schema,
	}
}

// hookArgs are the hook tool's arguments.
type hookArgs struct {
	Type  string         `json:"type"`
	Input map[string]any `json:"input"`
}

// hookHandler answers an mcp_tool hook: the hook input is rebuilt from the
// interpolated strings (hookmcp.Decode), hook.<type> runs through the
// invoker like every other transport, and the text content is exactly what
// `cb hook <type>` prints (protocol.RenderHookOutput): one JSON object, or
// empty for no opinion. A failure is a tool error, which Claude Code treats
// as a hook failure: non-blocking, or a block where install wrote
// onFailure:"block" (the type's fail mode is closed).
func hookHandler(inv *invoke.Invoker) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args hookArgs
		if req != nil && req.Params != nil && len(req.Params.Arguments) > 0 {
			if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
				return Result(nil, protocol.Errorf(protocol.CodeInvalidParams, "hook: arguments: %v", err)), nil
			}
		}
		he, ok := protocol.LookupHookEvent(args.Type)
		if !ok {
			return Result(nil, protocol.Errorf(protocol.CodeInvalidParams, "hook: unknown hook type %q", args.Type)), nil
		}
		payload, err := hookmcp.Decode(he.Type, args.Input)
		if err != nil {
			return Result(nil, protocol.Errorf(protocol.CodeInvalidParams, "hook: %v", err)), nil
		}
		session, _ := args.Input["session_id"].(string)
		method := protocol.HookMethod(he.Type)
		raw, perr := inv.Invoke(ctx, protocol.NewEvent(method, payload, HookSource, session))
		if perr != nil {
			return Result(nil, perr), nil
		}
		var res protocol.HookResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return Result(nil, protocol.Errorf(protocol.CodeInternal, "hook: %s answer: %v", method, err)), nil
		}
		claudeEvent, _ := args.Input["hook_event_name"].(string)
		if claudeEvent == "" {
			claudeEvent = he.ClaudeEvent
		}
		out := protocol.RenderHookOutput(claudeEvent, res)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(out)}}}, nil
	}
}

// hookToolFor checks the hook tool's name collides with no published tool.
func hookToolFor(tools []Tool) (*mcp.Tool, error) {
	for _, t := range tools {
		if t.Tool.Name == hookmcp.ToolName {
			return nil, fmt.Errorf("mcpserver: method %s is published as %q, the name of the hook tool", t.Method, hookmcp.ToolName)
		}
	}
	return hookTool(), nil
}
