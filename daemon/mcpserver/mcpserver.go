// Package mcpserver publishes cbd's methods as MCP tools over streamable
// HTTP. The tools are derived from the handler registry and the method
// schemas: a handler becomes a tool when its Expose lists "mcp" and
// protocol.MCPExposed agrees (the rule `cb mcp` applies too), named by
// protocol.MCPToolName, with the method's description and self-contained
// input and output JSON Schemas. A call runs through the same
// invoke.Invoker chain as every other transport; handler errors, invalid
// arguments included, come back as tool results with IsError set, as MCP
// asks, not as protocol errors.
//
// Besides the methods, one tool, "hook" (hook.go), answers Claude Code's
// mcp_tool hooks, which cb install --mcp writes: every hook event then
// costs Claude Code a request on the MCP connection it already holds, and
// no process.
//
// Beyond tools, the server publishes internal/mcpcontent's resources
// (cb://queue, cb://tasks/{id}, cb://sessions/{id}) and prompts
// (content.go), which `cb mcp` serves too.
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ServerName is the name the server gives itself in the MCP handshake.
const ServerName = "claudebench"

// Transport is the Expose value of handlers MCP publishes.
const Transport = "mcp"

// Source is the event metadata source of calls that arrive over MCP.
const Source = "mcp"

// SessionTimeout closes HTTP sessions idle this long, so clients that go
// away without a DELETE do not hold memory forever.
const SessionTimeout = 30 * time.Minute

// New builds an MCP server whose tools are the MCP-exposed methods of inv's
// registry. version is reported as the server version. A handler whose
// Expose disagrees with protocol.MCPExposed is left out, with a warning; a
// published method without a usable schema is an error.
func New(inv *invoke.Invoker, version string, log *slog.Logger) (*mcp.Server, error) {
	return NewWithOptions(inv, version, log, Options{})
}

// Options are the optional parts of a server.
type Options struct {
	// Queue, if set, makes cb://queue subscribable (resources/subscribe,
	// notifications/resources/updated); its Run must run while the server
	// serves.
	Queue *QueueWatch
}

// NewWithOptions is New with opts.
func NewWithOptions(inv *invoke.Invoker, version string, log *slog.Logger, opts Options) (*mcp.Server, error) {
	if inv == nil {
		return nil, fmt.Errorf("mcpserver: nil invoker")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tools, err := Tools(inv, log)
	if err != nil {
		return nil, err
	}
	ht, err := hookToolFor(tools)
	if err != nil {
		return nil, err
	}
	so := &mcp.ServerOptions{Logger: log}
	if opts.Queue != nil {
		so.SubscribeHandler, so.UnsubscribeHandler = opts.Queue.subscribe, opts.Queue.unsubscribe
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: ServerName, Version: version}, so)
	if opts.Queue != nil {
		opts.Queue.attach(srv)
	}
	published := map[string]bool{}
	for _, t := range tools {
		srv.AddTool(t.Tool, handler(inv, t.Method))
		published[t.Method] = true
	}
	srv.AddTool(ht, hookHandler(inv))
	addContent(srv, inv, published)
	return srv, nil
}

// Tool is one published tool and the method it calls.
type Tool struct {
	Method string
	Tool   *mcp.Tool
}

// Tools lists the tools New publishes for inv's registry, sorted by method.
// log receives a warning for every handler whose Expose disagrees with
// protocol.MCPExposed (such a handler is not published).
func Tools(inv *invoke.Invoker, log *slog.Logger) ([]Tool, error) {
	reg := inv.Registry()
	var out []Tool
	for _, method := range reg.Events() {
		h, _ := reg.Lookup(method)
		exposed := slices.Contains(h.Expose, Transport)
		if exposed != protocol.MCPExposed(method) {
			if log != nil {
				log.Warn("mcp: handler Expose and protocol.MCPExposed disagree; not publishing the method",
					"method", method, "expose", exposed, "mcpExposed", !exposed)
			}
			continue
		}
		if !exposed {
			continue
		}
		t, err := toolFor(method)
		if err != nil {
			return nil, fmt.Errorf("mcpserver: %w", err)
		}
		out = append(out, Tool{Method: method, Tool: t})
	}
	return out, nil
}

// toolFor builds the tool definition of method from its schema.
func toolFor(method string) (*mcp.Tool, error) {
	m, err := schemas.Resolved(method)
	if err != nil {
		return nil, fmt.Errorf("tool %s: %w", method, err)
	}
	in, err := protocol.MCPInputSchema(m.Input)
	if err != nil {
		return nil, fmt.Errorf("tool %s: %w", method, err)
	}
	t := &mcp.Tool{
		Name:        protocol.MCPToolName(method),
		Description: m.Description,
		InputSchema: in,
	}
	// Only a non-nil schema may go into the interface field: a typed nil
	// would be published as "outputSchema": null.
	if out := protocol.MCPOutputSchema(m.Output); out != nil {
		t.OutputSchema = out
	}
	// Clients may call a read-only tool without asking (cb init allows
	// them in Claude Code's permissions).
	if protocol.MCPReadOnly(method) {
		t.Annotations = &mcp.ToolAnnotations{IdempotentHint: true, ReadOnlyHint: true}
	}
	return t, nil
}

// handler calls method through the invoker. The SDK hands the arguments
// over unvalidated, so the invoker's validator is the one that judges them
// and its -32602 error, with the failing field paths, reaches the client.
func handler(inv *invoke.Invoker, method string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args json.RawMessage
		if req != nil && req.Params != nil {
			args = req.Params.Arguments
		}
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("{}")
		}
		ev := protocol.NewEvent(method, args, Source, "")
		res, perr := inv.Invoke(ctx, ev)
		return Result(res, perr), nil
	}
}

// Result turns an invoker answer into a tool result. Success: the result as
// structured content (protocol.MCPStructured) and as JSON text. Failure: a
// result with IsError set whose content is the text
// "<name> (<code>): <message>" followed by the error object as JSON.
func Result(res json.RawMessage, perr *protocol.Error) *mcp.CallToolResult {
	if perr != nil {
		r := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: perr.Error()}}}
		if b, err := json.Marshal(perr); err == nil {
			r.Content = append(r.Content, &mcp.TextContent{Text: string(b)})
		}
		r.SetError(perr)
		return r
	}
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: string(res)}},
		StructuredContent: protocol.MCPStructured(res),
	}
}

// Handler serves srv over MCP's streamable HTTP transport. The owner mounts
// it at /mcp of cbd's HTTP server (daemon/httpapi), behind the API token.
// Idle sessions are closed after SessionTimeout.
//
// The SDK's own DNS-rebinding guard (a loopback connection with a Host other
// than localhost is refused) is switched off: httpapi checks Host and
// Origin on every route, mounts included, against http.allowed_hosts, and a
// second, stricter check here would refuse on /mcp the host names the user
// allowed everywhere else. Do not serve Handler without such a check.
func Handler(srv *mcp.Server) http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{SessionTimeout: SessionTimeout, DisableLocalhostProtection: true})
}
