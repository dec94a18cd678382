package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MCP publishes a subset of the methods as tools, over two transports that
// must agree: cbd's streamable HTTP endpoint (daemon/mcpserver) and
// `cb mcp` over stdio (hookcli/cli). Both use the functions below, so the tool
// names, the set of tools and the shape of their schemas and results are
// decided here once.
//
// The rule: every method is published except the hook.* methods (only
// Claude Code's hooks call those) and the administrative ones (mcpHidden):
// those that manage instances, change the hook rules that guard the agent
// itself, keep the agent working (task.work), or destroy data. cbd additionally requires the handler to list
// "mcp" in its Expose field; a test in daemon/mcpserver checks that the two
// agree for every registered method, so a new method must be added to both
// or to neither.

// mcpHidden are the methods outside hook.* that MCP never publishes.
var mcpHidden = map[string]bool{
	"system.register":   true,
	"system.unregister": true,
	"system.heartbeat":  true,
	"task.delete":       true,
	"hooks.add":         true,
	"hooks.remove":      true,
	"hooks.disable":     true,
	"hooks.enable":      true,
	// Opting a session in to work feeding keeps it working past its
	// stops: the user's choice, not one the agent makes for itself.
	"task.work": true,
}

// mcpReadOnly are the published methods that change nothing. Both MCP
// servers annotate their tools readOnlyHint, and cb init lets Claude call
// them without asking.
var mcpReadOnly = map[string]bool{
	"task.get":         true,
	"task.list":        true,
	"task.attachments": true,
	"system.health":    true,
	"system.version":   true,
	"system.discover":  true,
	"system.get_state": true,
	"system.metrics":   true,
	"hooks.list":       true,
	"audit.list":       true,
}

// MCPReadOnly reports whether method is published and changes nothing.
func MCPReadOnly(method string) bool { return MCPExposed(method) && mcpReadOnly[method] }

// MCPExposed reports whether MCP publishes method as a tool.
func MCPExposed(method string) bool {
	return method != "" && !strings.HasPrefix(method, "hook.") && !mcpHidden[method]
}

// MCPToolName is the tool name of a method: dots become underscores
// ("task.create" → "task_create"), since some MCP clients refuse dots in
// tool names.
func MCPToolName(method string) string { return strings.ReplaceAll(method, ".", "_") }

// MCPMethod is the method of a tool name, the inverse of MCPToolName. A
// method is "<domain>.<action>" and no domain contains an underscore, so the
// first underscore of the tool name is the dot ("system_get_state" →
// "system.get_state"). A name without an underscore is returned unchanged
// (and names no method).
func MCPMethod(tool string) string { return strings.Replace(tool, "_", ".", 1) }

// MCPInputSchema returns a method's input schema as an MCP tool inputSchema,
// which MCP requires to be an object schema with "type":"object" at the top:
// an empty schema becomes {"type":"object"}, a schema without "type" gets
// it added. A schema of another type is an error. schema must be
// self-contained (see schemas.Resolved).
func MCPInputSchema(schema json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, fmt.Errorf("input schema is not a JSON object: %w", err)
	}
	typ, ok := top["type"]
	switch {
	case !ok:
		top["type"] = json.RawMessage(`"object"`)
		b, err := json.Marshal(top)
		if err != nil {
			return nil, fmt.Errorf("encode input schema: %w", err)
		}
		return b, nil
	case isJSONString(typ, "object"):
		return schema, nil
	default:
		return nil, fmt.Errorf(`input schema has "type" %s; MCP tools take an object`, typ)
	}
}

// MCPOutputSchema returns the outputSchema to publish for a method's output
// schema: the schema itself when it declares "type":"object", otherwise nil
// (no outputSchema; the result is then published wrapped, see
// MCPStructured, which no schema of the method describes).
func MCPOutputSchema(schema json.RawMessage) json.RawMessage {
	var top map[string]json.RawMessage
	if json.Unmarshal(schema, &top) != nil || !isJSONString(top["type"], "object") {
		return nil
	}
	return schema
}

// MCPResultKey is the member that wraps a result which is not a JSON object
// in a tool's structured content.
const MCPResultKey = "result"

// MCPStructured returns the structured content of a tool result: the result
// itself when it is a JSON object, else {"result": <result>}, because MCP
// clients expect an object there.
func MCPStructured(result json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(result)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return trimmed
	}
	if len(trimmed) == 0 {
		trimmed = []byte("null")
	}
	b := make([]byte, 0, len(trimmed)+len(MCPResultKey)+5)
	b = append(b, `{"`+MCPResultKey+`":`...)
	b = append(b, trimmed...)
	return append(b, '}')
}

// isJSONString reports whether raw is the JSON string want.
func isJSONString(raw json.RawMessage, want string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}
