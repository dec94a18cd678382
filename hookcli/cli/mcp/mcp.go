// Package mcp is `cb mcp`: an MCP server over stdio (newline-delimited
// JSON-RPC 2.0) that publishes cbd's methods as tools, and
// internal/mcpcontent's resources and prompts (content.go), and forwards
// calls to cbd over Redis.
package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// `cb mcp` is an MCP server over stdio (newline-delimited JSON-RPC 2.0) that
// publishes cbd's methods as tools and forwards calls to cbd over Redis.
// It is written by hand instead of with the MCP SDK so that cb, which is
// also the per-tool-call hook, links no HTTP or MCP server code. The set of
// tools, their names and the shape of schemas and results follow the
// protocol.MCP* functions, exactly like cbd's HTTP endpoint.

const mcpUsage = `Serves the Model Context Protocol over stdin/stdout so that Claude Code (or
any MCP client) can use ClaudeBench's tasks and system methods as tools:

  claude mcp add claudebench -- cb mcp

It also serves the resources cb://queue, cb://tasks/{id} and
cb://sessions/{id}, and the prompts take_next_task and hand_over_task
(/mcp__claudebench__take_next_task in Claude Code).

Every tool call and resource read is forwarded to cbd, which must be running. Only JSON-RPC
messages are written to stdout; diagnostics go to stderr. cb mcp exits 0
when stdin is closed.`

// mcpProtocolVersions are the MCP revisions cb mcp speaks, newest first.
var mcpProtocolVersions = []string{"2025-06-18", "2025-03-26", "2024-11-05"}

// mcpStructuredSince is the first revision with structured tool output
// (outputSchema, structuredContent); older clients get text only.
const mcpStructuredSince = "2025-06-18"

// mcpMaxMessage bounds one incoming message (one line).
const mcpMaxMessage = 8 << 20

// mcpMaxInFlight bounds the requests to cbd running at once (the size of
// cb's Redis pool).
const mcpMaxInFlight = 8

// Options are cb mcp's inputs.
type Options struct {
	IO *iostreams.IOStreams
	// Caller sends the tool calls to cbd: by default one that reconnects
	// once when cbd moved (see reconnectingCaller).
	Caller cmdutil.Caller
}

// NewCmdMCP is `cb mcp`; runF replaces mcpRun in tests.
func NewCmdMCP(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "mcp",
		Short: "MCP server over stdio for Claude Code (claude mcp add claudebench -- cb mcp)",
		Long:  mcpUsage,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Caller == nil {
				rc := &reconnectingCaller{settings: f.Settings, timeout: f.Flags.Timeout}
				defer rc.close()
				opts.Caller = rc
			}
			return cmdutil.RunWith(cmd.Context(), opts, runF, mcpRun)
		},
	}
}

func mcpRun(ctx context.Context, opts *Options) error {
	s := newMCPServer(opts.Caller, opts.IO.ErrOut)
	if err := s.serve(ctx, opts.IO.In, opts.IO.Out); err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	return nil
}

// reconnectingCaller calls cbd, safe for concurrent use, with one
// reconnect: a long-running cb mcp outlives a cbd restart, which (in
// embedded mode) serves Redis at a new address. The retry resends the same
// event, so a request that did reach cbd is not carried out twice
// (handlers are idempotent by event id).
type reconnectingCaller struct {
	settings func() (*bridge.Settings, error)
	timeout  time.Duration

	mu sync.Mutex // guards c
	c  *client.Client
}

func (r *reconnectingCaller) client() (*client.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		return r.c, nil
	}
	s, err := r.settings()
	if err != nil {
		return nil, err
	}
	url, err := s.RedisURL() // read again: a restarted cbd may serve Redis elsewhere
	if err != nil {
		return nil, err
	}
	rdb, err := cmdutil.DialRedis(url, mcpMaxInFlight)
	if err != nil {
		return nil, err
	}
	r.c = client.New(rdb, cmdutil.CLISource)
	return r.c, nil
}

// drop forgets c so the next call reconnects.
func (r *reconnectingCaller) drop(c *client.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == c {
		_ = c.Redis().Close()
		r.c = nil
	}
}

func (r *reconnectingCaller) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		_ = r.c.Redis().Close()
		r.c = nil
	}
}

// Call sends one request to cbd and waits for the answer, at most timeout
// per attempt.
func (r *reconnectingCaller) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	ev, err := c.NewEvent(method, params, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, r.timeout)
		res, err := c.CallEvent(cctx, ev)
		cancel()
		if attempt > 0 || protocol.CodeOf(err) != protocol.CodeUnavailable || ctx.Err() != nil {
			return res, err
		}
		r.drop(c)
		if c, err = r.client(); err != nil {
			return nil, err
		}
	}
}

// mcpServer is the protocol state of one stdio session.
type mcpServer struct {
	caller cmdutil.Caller
	stderr io.Writer

	writeMu  sync.Mutex
	out      io.Writer
	writeErr error

	mu       sync.Mutex
	version  string                        // negotiated protocol version
	tools    map[string]mcpTool            // by tool name; nil until listed
	inflight map[string]context.CancelFunc // by request id

	wg  sync.WaitGroup
	sem chan struct{}
}

func newMCPServer(caller cmdutil.Caller, stderr io.Writer) *mcpServer {
	return &mcpServer{caller: caller, stderr: stderr, version: mcpProtocolVersions[0],
		inflight: map[string]context.CancelFunc{}, sem: make(chan struct{}, mcpMaxInFlight)}
}

// rpcMessage is any incoming JSON-RPC message.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// rpcResponse is an outgoing JSON-RPC response.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    protocol.Code `json:"code"`
	Message string        `json:"message"`
	Data    any           `json:"data,omitempty"`
}

// mcpTool is one entry of tools/list.
type mcpTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	Annotations  *mcpAnnotations `json:"annotations,omitempty"`
	method       string
}

// mcpAnnotations are a tool's hints; only the read-only methods
// (protocol.MCPReadOnly) have them, as on cbd's server.
type mcpAnnotations struct {
	IdempotentHint bool `json:"idempotentHint"`
	ReadOnlyHint   bool `json:"readOnlyHint"`
}

// mcpContent is a text content item of a tool result.
type mcpContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// mcpToolResult is the result of tools/call.
type mcpToolResult struct {
	Content           []mcpContent    `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

var nullID = json.RawMessage("null")

// serve reads messages from in until EOF (or ctx ends), answering each on
// out. It returns nil at EOF, after the requests in flight are answered.
func (s *mcpServer) serve(ctx context.Context, in io.Reader, out io.Writer) error {
	s.out = out
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type line struct {
		data    []byte
		tooLong bool
		err     error
	}
	lines := make(chan line)
	go func() {
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			data, tooLong, err := readLine(br, mcpMaxMessage)
			select {
			case lines <- line{data, tooLong, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer s.wg.Wait()
	for {
		var l line
		select {
		case <-ctx.Done():
			return nil
		case l = <-lines:
		}
		if l.tooLong {
			s.respondError(nullID, protocol.CodeInvalidRequest, fmt.Sprintf("message larger than %d bytes", mcpMaxMessage), nil)
		} else if len(bytes.TrimSpace(l.data)) > 0 {
			s.handle(ctx, l.data)
		}
		if err := s.failedWrite(); err != nil {
			cancel() // nobody can read the answers of the requests in flight
			return fmt.Errorf("write stdout: %w", err)
		}
		switch {
		case errors.Is(l.err, io.EOF):
			return nil
		case l.err != nil:
			return fmt.Errorf("read stdin: %w", l.err)
		}
	}
}

// readLine reads one line of at most limit bytes; a longer line is
// consumed and reported as tooLong.
func readLine(r *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, tooLong, err
		}
	}
}

// handle processes one message. Requests that reach cbd run in their own
// goroutine (at most mcpMaxInFlight at once); the rest are answered inline.
func (s *mcpServer) handle(ctx context.Context, data []byte) {
	data = bytes.TrimSpace(data)
	if data[0] == '[' {
		s.respondError(nullID, protocol.CodeInvalidRequest, "JSON-RPC batches are not supported", nil)
		return
	}
	var msg rpcMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		s.respondError(nullID, protocol.CodeParseError, "parse error: "+err.Error(), nil)
		return
	}
	isRequest := msg.ID != nil
	if isRequest && !validID(msg.ID) {
		s.respondError(nullID, protocol.CodeInvalidRequest, "id must be a string or a number", nil)
		return
	}
	if msg.JSONRPC != "2.0" {
		if isRequest {
			s.respondError(msg.ID, protocol.CodeInvalidRequest, `jsonrpc must be "2.0"`, nil)
		}
		return
	}
	if msg.Method == "" {
		if isRequest && msg.Result == nil && msg.Error == nil {
			s.respondError(msg.ID, protocol.CodeInvalidRequest, "missing method", nil)
		}
		return // a response; cb mcp sends no requests, so there is nothing to match
	}
	if !isRequest {
		s.notification(msg)
		return
	}
	switch msg.Method {
	case "initialize":
		s.respond(msg.ID, s.initialize(msg.Params), nil)
	case "ping":
		s.respond(msg.ID, struct{}{}, nil)
	case "tools/list", "tools/call", "resources/read", "prompts/get":
		s.async(ctx, msg)
	case "resources/list":
		s.respond(msg.ID, resourcesList(), nil)
	case "resources/templates/list":
		s.respond(msg.ID, templatesList(), nil)
	case "prompts/list":
		s.respond(msg.ID, promptsList(), nil)
	default:
		s.respondError(msg.ID, protocol.CodeMethodNotFound, "method not found: "+msg.Method, nil)
	}
}

// validID reports whether id is a JSON string or number.
func validID(id json.RawMessage) bool {
	var v any
	if json.Unmarshal(id, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

// notification handles a message without id; it is never answered.
func (s *mcpServer) notification(msg rpcMessage) {
	if msg.Method != "notifications/cancelled" {
		return // notifications/initialized and anything else need nothing
	}
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	if json.Unmarshal(msg.Params, &p) != nil || p.RequestID == nil {
		return
	}
	s.mu.Lock()
	cancel := s.inflight[idKey(p.RequestID)]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// idKey normalises a request id for the in-flight table.
func idKey(id json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		return string(id)
	}
	return b.String()
}

// async runs a request that calls cbd in its own goroutine. A request the
// client cancels is not answered, as MCP asks.
func (s *mcpServer) async(ctx context.Context, msg rpcMessage) {
	rctx, cancel := context.WithCancel(ctx)
	key := idKey(msg.ID)
	s.mu.Lock()
	s.inflight[key] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, key)
			s.mu.Unlock()
			cancel()
		}()
		select {
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-rctx.Done():
			return
		}
		var (
			res  any
			rerr *rpcError
		)
		switch msg.Method {
		case "tools/list":
			res, rerr = s.toolsList(rctx)
		case "tools/call":
			res, rerr = s.toolsCall(rctx, msg.Params)
		case "resources/read":
			res, rerr = s.resourcesRead(rctx, msg.Params)
		case "prompts/get":
			res, rerr = s.promptsGet(rctx, msg.Params)
		}
		if rctx.Err() != nil {
			return
		}
		s.respond(msg.ID, res, rerr)
	}()
}

// initialize negotiates the protocol version: the client's when cb mcp
// speaks it, else the newest cb mcp speaks.
func (s *mcpServer) initialize(params json.RawMessage) any {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(params, &p) // a missing or odd version gets the newest
	version := mcpProtocolVersions[0]
	for _, v := range mcpProtocolVersions {
		if v == p.ProtocolVersion {
			version = v
		}
	}
	s.mu.Lock()
	s.version = version
	s.mu.Unlock()
	return map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"tools": map[string]any{}, "resources": map[string]any{}, "prompts": map[string]any{}},
		"serverInfo":      map[string]any{"name": "claudebench", "version": protocol.Version},
	}
}

// structured reports whether the session's protocol has structured tool
// output.
func (s *mcpServer) structured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version >= mcpStructuredSince
}

// discoveredMethod is one entry of system.discover's answer. MCP, when
// present, is cbd's own verdict on publishing the method over MCP.
type discoveredMethod struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	MCP          *bool           `json:"mcp"`
}

// loadTools asks cbd for its methods and keeps the MCP-exposed ones.
func (s *mcpServer) loadTools(ctx context.Context) (map[string]mcpTool, error) {
	raw, err := s.caller.Call(ctx, "system.discover", nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Methods []discoveredMethod `json:"methods"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "system.discover: malformed answer: " + err.Error()}
	}
	tools := map[string]mcpTool{}
	for _, m := range d.Methods {
		if !protocol.MCPExposed(m.Name) || (m.MCP != nil && !*m.MCP) {
			continue
		}
		in, err := protocol.MCPInputSchema(m.InputSchema)
		if err != nil {
			fmt.Fprintf(s.stderr, "cb mcp: not publishing %s: %v\n", m.Name, err)
			continue
		}
		name := protocol.MCPToolName(m.Name)
		t := mcpTool{Name: name, Description: m.Description, InputSchema: in,
			OutputSchema: protocol.MCPOutputSchema(m.OutputSchema), method: m.Name}
		if protocol.MCPReadOnly(m.Name) {
			t.Annotations = &mcpAnnotations{IdempotentHint: true, ReadOnlyHint: true}
		}
		tools[name] = t
	}
	s.mu.Lock()
	s.tools = tools
	s.mu.Unlock()
	return tools, nil
}

// toolsList answers tools/list, always from a fresh system.discover.
func (s *mcpServer) toolsList(ctx context.Context) (any, *rpcError) {
	tools, err := s.loadTools(ctx)
	if err != nil {
		pe := protocol.AsError(err)
		return nil, &rpcError{Code: pe.Code, Message: "cannot list tools: " + pe.Error(), Data: pe.Data}
	}
	structured := s.structured()
	list := make([]mcpTool, 0, len(tools))
	for _, t := range tools {
		if !structured {
			t.OutputSchema = nil
		}
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return map[string]any{"tools": list}, nil
}

// published returns the published tools by name, listing them first if no
// tools/list came before.
func (s *mcpServer) published(ctx context.Context) (map[string]mcpTool, error) {
	s.mu.Lock()
	tools := s.tools
	s.mu.Unlock()
	if tools != nil {
		return tools, nil
	}
	return s.loadTools(ctx)
}

// tool finds a published tool.
func (s *mcpServer) tool(ctx context.Context, name string) (mcpTool, bool, error) {
	tools, err := s.published(ctx)
	if err != nil {
		return mcpTool{}, false, err
	}
	t, ok := tools[name]
	return t, ok, nil
}

// toolsCall answers tools/call. Everything that goes wrong with the call
// itself, an unknown tool included, is a tool result with isError set;
// only malformed params are a JSON-RPC error.
func (s *mcpServer) toolsCall(ctx context.Context, params json.RawMessage) (any, *rpcError) {
	var p struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.Name == "" {
		msg := "tools/call needs params {name, arguments}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &rpcError{Code: protocol.CodeInvalidParams, Message: msg}
	}
	t, ok, err := s.tool(ctx, p.Name)
	switch {
	case err != nil:
		return s.toolError(protocol.AsError(err)), nil
	case !ok:
		return s.toolError(&protocol.Error{Code: protocol.CodeMethodNotFound, Message: fmt.Sprintf("unknown tool %q", p.Name)}), nil
	}
	var args any
	if len(p.Arguments) > 0 && string(p.Arguments) != "null" {
		args = p.Arguments
	}
	res, err := s.caller.Call(ctx, t.method, args)
	if err != nil {
		return s.toolError(protocol.AsError(err)), nil
	}
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	out := mcpToolResult{Content: []mcpContent{{Type: "text", Text: string(res)}}}
	if s.structured() {
		out.StructuredContent = protocol.MCPStructured(res)
	}
	return out, nil
}

// toolError is the tool result of a failed call: the text
// "<name> (<code>): <message>" and the error object as JSON.
func (s *mcpServer) toolError(pe *protocol.Error) mcpToolResult {
	r := mcpToolResult{IsError: true, Content: []mcpContent{{Type: "text", Text: pe.Error()}}}
	if b, err := json.Marshal(pe); err == nil {
		r.Content = append(r.Content, mcpContent{Type: "text", Text: string(b)})
	}
	return r
}

func (s *mcpServer) respondError(id json.RawMessage, code protocol.Code, message string, data any) {
	s.respond(id, nil, &rpcError{Code: code, Message: message, Data: data})
}

// respond writes one response line. Only this writes to stdout.
func (s *mcpServer) respond(id json.RawMessage, result any, rerr *rpcError) {
	if id == nil {
		id = nullID
	}
	resp := rpcResponse{JSONRPC: "2.0", ID: id, Result: result, Error: rerr}
	if rerr == nil && result == nil {
		resp.Result = struct{}{}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		fmt.Fprintf(s.stderr, "cb mcp: encode response: %v\n", err)
		b, _ = json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id,
			Error: &rpcError{Code: protocol.CodeInternal, Message: "cannot encode the response"}})
	}
	b = append(b, '\n')
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.writeErr != nil {
		return
	}
	if _, err := s.out.Write(b); err != nil {
		s.writeErr = err
		fmt.Fprintf(s.stderr, "cb mcp: write stdout: %v\n", err)
	}
}

// failedWrite returns the first stdout write error, if any.
func (s *mcpServer) failedWrite() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.writeErr
}
