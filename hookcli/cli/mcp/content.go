package mcp

import (
	"context"
	"encoding/json"

	"github.com/claudebench/cb/internal/mcpcontent"
	"github.com/claudebench/cb/protocol"
)

// The resources and prompts of cb mcp are internal/mcpcontent's, as on
// cbd's MCP endpoint; these are their wire forms.

// mcpResource is one entry of resources/list.
type mcpResource struct {
	URI         string `json:"uri"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mimeType,omitempty"`
}

// mcpTemplate is one entry of resources/templates/list.
type mcpTemplate struct {
	URITemplate string `json:"uriTemplate"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mimeType,omitempty"`
}

// mcpResourceContents is one item of resources/read's contents.
type mcpResourceContents struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mimeType,omitempty"`
	Text     string `json:"text"`
}

// mcpPrompt is one entry of prompts/list.
type mcpPrompt struct {
	Name        string              `json:"name"`
	Title       string              `json:"title,omitempty"`
	Description string              `json:"description,omitempty"`
	Arguments   []mcpPromptArgument `json:"arguments,omitempty"`
}

// mcpPromptArgument is one argument of a prompt.
type mcpPromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// mcpPromptMessage is one message of prompts/get's result.
type mcpPromptMessage struct {
	Role    string     `json:"role"`
	Content mcpContent `json:"content"`
}

func resourcesList() any {
	list := []mcpResource{}
	for _, r := range mcpcontent.Resources() {
		list = append(list, mcpResource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType})
	}
	return map[string]any{"resources": list}
}

func templatesList() any {
	list := []mcpTemplate{}
	for _, t := range mcpcontent.Templates() {
		list = append(list, mcpTemplate{URITemplate: t.URITemplate, Name: t.Name, Title: t.Title, Description: t.Description, MIMEType: t.MIMEType})
	}
	return map[string]any{"resourceTemplates": list}
}

func promptsList() any {
	list := []mcpPrompt{}
	for _, p := range mcpcontent.Prompts() {
		mp := mcpPrompt{Name: p.Name, Title: p.Title, Description: p.Description}
		for _, a := range p.Arguments {
			mp.Arguments = append(mp.Arguments, mcpPromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required})
		}
		list = append(list, mp)
	}
	return map[string]any{"prompts": list}
}

// contentError is the JSON-RPC error of a failed read or prompt.
func contentError(err error) *rpcError {
	code, msg, data := mcpcontent.RPCError(err)
	return &rpcError{Code: code, Message: msg, Data: data}
}

// resourcesRead answers resources/read by reading the resource from cbd.
func (s *mcpServer) resourcesRead(ctx context.Context, params json.RawMessage) (any, *rpcError) {
	var p struct {
		URI string `json:"uri"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.URI == "" {
		msg := "resources/read needs params {uri}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &rpcError{Code: protocol.CodeInvalidParams, Message: msg}
	}
	c, err := mcpcontent.Read(ctx, s.caller.Call, p.URI)
	if err != nil {
		return nil, contentError(err)
	}
	return map[string]any{"contents": []mcpResourceContents{{URI: c.URI, MIMEType: c.MIMEType, Text: c.Text}}}, nil
}

// promptsGet answers prompts/get. The prompt names only tools cbd
// publishes, so the tools are listed first if no tools/list came before.
func (s *mcpServer) promptsGet(ctx context.Context, params json.RawMessage) (any, *rpcError) {
	var p struct {
		Name      string            `json:"name"`
		Arguments map[string]string `json:"arguments"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.Name == "" {
		msg := "prompts/get needs params {name, arguments}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &rpcError{Code: protocol.CodeInvalidParams, Message: msg}
	}
	tools, err := s.published(ctx)
	if err != nil {
		pe := protocol.AsError(err)
		return nil, &rpcError{Code: pe.Code, Message: "cannot list tools: " + pe.Error(), Data: pe.Data}
	}
	published := func(method string) bool {
		t, ok := tools[protocol.MCPToolName(method)]
		return ok && t.method == method
	}
	desc, msgs, err := mcpcontent.Get(p.Name, p.Arguments, published)
	if err != nil {
		return nil, contentError(err)
	}
	out := make([]mcpPromptMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, mcpPromptMessage{Role: m.Role, Content: mcpContent{Type: "text", Text: m.Text}})
	}
	return map[string]any{"description": desc, "messages": out}, nil
}
