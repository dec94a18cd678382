package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/internal/mcpcontent"
	"github.com/claudebench/cb/protocol"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addContent registers mcpcontent's resources, resource templates and
// prompts with srv. Reading a resource calls methods through inv, like a
// tool call; a prompt names only the tools in published.
func addContent(srv *mcp.Server, inv *invoke.Invoker, published map[string]bool) {
	call := Caller(inv)
	read := func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		c, err := mcpcontent.Read(ctx, call, req.Params.URI)
		if err != nil {
			return nil, rpcError(err)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: c.URI, MIMEType: c.MIMEType, Text: c.Text}}}, nil
	}
	for _, r := range mcpcontent.Resources() {
		srv.AddResource(&mcp.Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType}, read)
	}
	for _, t := range mcpcontent.Templates() {
		srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: t.URITemplate, Name: t.Name, Title: t.Title,
			Description: t.Description, MIMEType: t.MIMEType}, read)
	}
	// The SDK answers a URI that matches no resource or template itself,
	// with its own code; mcpcontent decides instead, so that both servers
	// give the same error.
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if rr, ok := req.(*mcp.ReadResourceRequest); ok && method == "resources/read" && rr.Params != nil {
				return read(ctx, rr)
			}
			return next(ctx, method, req)
		}
	})
	isPublished := func(method string) bool { return published[method] }
	for _, p := range mcpcontent.Prompts() {
		mp := &mcp.Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
		for _, a := range p.Arguments {
			mp.Arguments = append(mp.Arguments, &mcp.PromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required})
		}
		srv.AddPrompt(mp, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			desc, msgs, err := mcpcontent.Get(req.Params.Name, req.Params.Arguments, isPublished)
			if err != nil {
				return nil, rpcError(err)
			}
			res := &mcp.GetPromptResult{Description: desc}
			for _, m := range msgs {
				res.Messages = append(res.Messages, &mcp.PromptMessage{Role: mcp.Role(m.Role), Content: &mcp.TextContent{Text: m.Text}})
			}
			return res, nil
		})
	}
}

// rpcError is the JSON-RPC error the SDK sends for err (see
// mcpcontent.RPCError).
func rpcError(err error) error {
	code, msg, data := mcpcontent.RPCError(err)
	e := &jsonrpc.Error{Code: int64(code), Message: msg}
	if data != nil {
		if b, merr := json.Marshal(data); merr == nil {
			e.Data = b
		}
	}
	return e
}

// Caller calls methods through inv as MCP requests (source Source): the
// mcpcontent.Caller of cbd's MCP server.
func Caller(inv *invoke.Invoker) mcpcontent.Caller {
	return func(ctx context.Context, method string, params any) (json.RawMessage, error) {
		args := json.RawMessage("{}")
		if params != nil {
			b, err := json.Marshal(params)
			if err != nil {
				return nil, fmt.Errorf("%s: encode params: %w", method, err)
			}
			args = b
		}
		res, perr := inv.Invoke(ctx, protocol.NewEvent(method, args, Source, ""))
		if perr != nil {
			return nil, perr
		}
		return res, nil
	}
}
