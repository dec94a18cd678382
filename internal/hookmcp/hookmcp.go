// Package hookmcp is the contract between `cb install --mcp` and cbd's MCP
// server for Claude Code's mcp_tool hooks: the name of the tool, the input
// template install writes for a hook type, and the decoding of the
// interpolated arguments back into the hook input.
//
// An mcp_tool hook gets no raw JSON: Claude Code fills the string values of
// the handler's "input" object with ${path} interpolation from the hook
// input (reference §4.4). A missing or null path gives "", and objects,
// arrays, numbers and booleans arrive JSON-encoded as strings. So install
// writes one "${name}" per property of the event's input schema
// (schemas/methods/hook.<type>.json with hookCommon), and the server turns
// each string back into the type that schema declares. Both sides derive
// the list from the same schema, so they cannot disagree.
package hookmcp

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
)

// ToolName is the MCP tool that answers mcp_tool hooks. It is one tool with
// the hook type as an argument rather than one per type: the tools list
// that every MCP client loads (and shows the model) grows by one entry, not
// by 34.
const ToolName = "hook"

// Argument names of the tool.
const (
	ArgType  = "type"  // the cb hook type, "pre_tool"
	ArgInput = "input" // the interpolated hook input: property → string
)

// Field is one property of a hook type's input.
type Field struct {
	Name string
	// Types are the JSON Schema types the schema allows; empty when it
	// does not say (any JSON value).
	Types    []string
	Required bool
}

// onlyString reports whether the property is a string and nothing else.
func (f Field) onlyString() bool { return len(f.Types) == 1 && f.Types[0] == "string" }

var (
	fieldsMu    sync.Mutex
	fieldsCache = map[string][]Field{}
)

// Fields lists the properties of hookType's input schema, sorted by name:
// those of its hook.<type> schema and of everything it includes through
// allOf (hookCommon). Unknown types are an error.
func Fields(hookType string) ([]Field, error) {
	he, ok := protocol.LookupHookEvent(hookType)
	if !ok {
		return nil, fmt.Errorf("unknown hook type %q", hookType)
	}
	hookType = he.Type // an alias names the same schema
	fieldsMu.Lock()
	defer fieldsMu.Unlock()
	if f, ok := fieldsCache[hookType]; ok {
		return f, nil
	}
	m, err := schemas.Resolved(protocol.HookMethod(hookType))
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", hookType, err)
	}
	var doc any
	if err := json.Unmarshal(m.Input, &doc); err != nil {
		return nil, fmt.Errorf("hook %s input schema: %w", hookType, err)
	}
	byName := map[string]*Field{}
	collect(doc, byName)
	out := make([]Field, 0, len(byName))
	for _, f := range byName {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	fieldsCache[hookType] = out
	return out, nil
}

// collect adds the properties of schema s (and of its allOf parts) to
// byName; a property declared twice keeps the narrower, later declaration's
// types when it has some.
func collect(s any, byName map[string]*Field) {
	obj, ok := s.(map[string]any)
	if !ok {
		return
	}
	if all, ok := obj["allOf"].([]any); ok {
		for _, part := range all {
			collect(part, byName)
		}
	}
	if props, ok := obj["properties"].(map[string]any); ok {
		for name, ps := range props {
			f := byName[name]
			if f == nil {
				f = &Field{Name: name}
				byName[name] = f
			}
			if t := schemaTypes(ps); len(t) > 0 {
				f.Types = t
			}
		}
	}
	if req, ok := obj["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				f := byName[name]
				if f == nil {
					f = &Field{Name: name}
					byName[name] = f
				}
				f.Required = true
			}
		}
	}
}

func schemaTypes(s any) []string {
	obj, ok := s.(map[string]any)
	if !ok {
		return nil
	}
	switch t := obj["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Template is the "input" of the mcp_tool handler install writes for
// hookType: {"type": hookType, "input": {"<field>": "${<field>}", ...}}.
func Template(hookType string) (map[string]any, error) {
	fields, err := Fields(hookType)
	if err != nil {
		return nil, err
	}
	in := make(map[string]any, len(fields))
	for _, f := range fields {
		in[f.Name] = "${" + f.Name + "}"
	}
	return map[string]any{ArgType: hookType, ArgInput: in}, nil
}

// Interpolate does to a Template what Claude Code does to an mcp_tool
// handler's input (reference §4.4), for tests and benchmarks that stand in
// for it: every "${name}" becomes the hook input's value of name, a string
// as is, any other value JSON-encoded, a missing or null one "".
func Interpolate(tpl map[string]any, hookInput map[string]any) map[string]any {
	src, _ := tpl[ArgInput].(map[string]any)
	in := make(map[string]any, len(src))
	for k, v := range src {
		ref, _ := v.(string)
		name := strings.TrimSuffix(strings.TrimPrefix(ref, "${"), "}")
		switch x := hookInput[name].(type) {
		case nil:
			in[k] = ""
		case string:
			in[k] = x
		default:
			b, _ := json.Marshal(x) // a value decoded from JSON encodes again
			in[k] = string(b)
		}
	}
	return map[string]any{ArgType: tpl[ArgType], ArgInput: in}
}

// Decode rebuilds the hook input of hookType from the interpolated input
// object: "" (a missing or null path) is left out unless the property is a
// required string; a property the schema types as anything but string is
// JSON-decoded (a value that does not decode is kept as the string, for
// the handler's validation to judge); properties the schema does not know
// pass through unchanged.
func Decode(hookType string, in map[string]any) (json.RawMessage, error) {
	fields, err := Fields(hookType)
	if err != nil {
		return nil, err
	}
	known := make(map[string]Field, len(fields))
	for _, f := range fields {
		known[f.Name] = f
	}
	out := make(map[string]any, len(in))
	for name, v := range in {
		f, isKnown := known[name]
		s, isString := v.(string)
		if !isKnown || !isString {
			out[name] = v
			continue
		}
		if s == "" {
			if f.Required && (f.onlyString() || slices.Contains(f.Types, "string")) {
				out[name] = s
			}
			continue
		}
		if f.onlyString() {
			out[name] = s
			continue
		}
		var decoded any
		if err := json.Unmarshal([]byte(s), &decoded); err != nil {
			out[name] = s
			continue
		}
		if _, isStr := decoded.(string); isStr && !slices.Contains(f.Types, "string") && len(f.Types) > 0 {
			out[name] = s // a JSON string where the schema wants another type: leave it to validation
			continue
		}
		out[name] = decoded
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("hook %s input: %w", hookType, err)
	}
	return b, nil
}

// ServerKey is the name cb install registers cbd's MCP server under in
// Claude Code's MCP configuration, and the "server" of its mcp_tool hooks.
const ServerKey = "claudebench"
