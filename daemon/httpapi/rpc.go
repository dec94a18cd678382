package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/claudebench/cb/protocol"
	"github.com/tidwall/gjson"
)

// maxBatch bounds the calls of one JSON-RPC batch.
const maxBatch = 1000

// publicMethods answer on /rpc without a credential (over loopback: off it
// /rpc needs the token, see routes). They reveal nothing private.
var publicMethods = map[string]bool{"system.version": true}

// publicMethodList names publicMethods in messages.
const publicMethodList = "system.version"

// rpcResponse is one JSON-RPC 2.0 response. ID is JSON null when nil.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *protocol.Error `json:"error,omitempty"`
}

// rpcCall is one parsed request of a message.
type rpcCall struct {
	id     json.RawMessage // the request's id as sent; nil when absent or invalid
	notify bool            // no id: no response
	method string
	params json.RawMessage // an object; {} when absent
	err    *protocol.Error // the request is invalid: answer this
}

// parseMessage parses a JSON-RPC message: one request or a batch. perr is
// set when the whole message is answered by one error (not JSON, an empty
// or oversized batch).
func parseMessage(body []byte) (calls []rpcCall, batch bool, perr *protocol.Error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || !json.Valid(b) {
		return nil, false, &protocol.Error{Code: protocol.CodeParseError, Message: "parse error: the body is not valid JSON"}
	}
	if b[0] != '[' {
		return []rpcCall{parseCall(b)}, false, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil { // valid JSON: cannot fail
		return nil, false, &protocol.Error{Code: protocol.CodeParseError, Message: "parse error: " + err.Error()}
	}
	switch {
	case len(elems) == 0:
		return nil, false, &protocol.Error{Code: protocol.CodeInvalidRequest, Message: "invalid request: empty batch"}
	case len(elems) > maxBatch:
		return nil, false, protocol.Errorf(protocol.CodeTooLarge, "batch of %d calls exceeds the limit of %d", len(elems), maxBatch)
	}
	calls = make([]rpcCall, len(elems))
	for i, e := range elems {
		calls[i] = parseCall(e)
	}
	return calls, true, nil
}

// parseCall checks one request object.
func parseCall(raw json.RawMessage) rpcCall {
	invalid := func(c rpcCall, msg string) rpcCall {
		c.notify = false // an invalid request is always answered
		c.err = &protocol.Error{Code: protocol.CodeInvalidRequest, Message: "invalid request: " + msg}
		return c
	}
	var c rpcCall
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return invalid(c, "a request must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalid(c, err.Error())
	}
	if id, ok := m["id"]; ok {
		if !validID(id) {
			return invalid(c, `"id" must be a string, a number or null`)
		}
		c.id = id
	} else {
		c.notify = true
	}
	var version string
	if err := json.Unmarshal(m["jsonrpc"], &version); err != nil || version != "2.0" {
		return invalid(c, `"jsonrpc" must be "2.0"`)
	}
	if err := json.Unmarshal(m["method"], &c.method); err != nil || m["method"] == nil || c.method == "" {
		return invalid(c, `"method" must be a non-empty string`)
	}
	params, ok := m["params"]
	switch {
	case !ok || string(params) == "null":
		c.params = json.RawMessage("{}")
	case params[0] == '{':
		c.params = params
	case params[0] == '[':
		c.err = &protocol.Error{Code: protocol.CodeInvalidParams,
			Message: "invalid params: params must be an object (by name); positional (array) params are not supported"}
	default:
		c.err = &protocol.Error{Code: protocol.CodeInvalidParams, Message: "invalid params: params must be an object"}
	}
	return c
}

// validID accepts the id types of JSON-RPC 2.0: string, number, null.
func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	switch c := id[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	default:
		return string(id) == "null"
	}
}

// answer runs the valid calls in order with do and returns the responses
// (none for notifications).
func answer(ctx context.Context, calls []rpcCall, do func(ctx context.Context, c *rpcCall) (json.RawMessage, *protocol.Error)) []rpcResponse {
	var out []rpcResponse
	for i := range calls {
		c := &calls[i]
		res, perr := json.RawMessage(nil), c.err
		if perr == nil {
			res, perr = do(ctx, c)
		}
		if c.notify {
			continue
		}
		if perr != nil {
			res = nil
		}
		out = append(out, rpcResponse{JSONRPC: "2.0", ID: c.id, Result: res, Error: perr})
	}
	return out
}

// encodeResponses encodes what answers a message: nil when there is
// nothing to send (notifications only).
func encodeResponses(out []rpcResponse, batch bool) ([]byte, error) {
	if len(out) == 0 {
		return nil, nil
	}
	var v any = out
	if !batch {
		v = out[0]
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON-RPC response: %w", err)
	}
	return b, nil
}

// handleRPC serves POST /rpc.
func (s *Server) handleRPC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		writeRPCError(w, http.StatusUnsupportedMediaType, nil, protocol.Errorf(protocol.CodeInvalidRequest,
			"unsupported Content-Type %q: send application/json", r.Header.Get("Content-Type")))
		return
	}
	body, err := readBody(w, r, s.o.MaxBody)
	if err != nil {
		writeBodyError(w, err, s.o.MaxBody)
		return
	}
	calls, batch, perr := parseMessage(body)
	if perr != nil {
		writeRPCError(w, http.StatusOK, nil, perr)
		return
	}
	// Without a credential only the public methods answer: one other call
	// refuses the whole message, so nothing of it runs.
	if requestLevel(r) < authCookie {
		for _, c := range calls {
			if c.err == nil && !publicMethods[c.method] {
				s.refuse(w, r, "rpc", fmt.Sprintf("%s needs the API token (Authorization: Bearer <token>); only %s answers without it", c.method, publicMethodList))
				return
			}
		}
	}
	session := r.Header.Get("X-CB-Session")
	out := answer(r.Context(), calls, func(ctx context.Context, c *rpcCall) (json.RawMessage, *protocol.Error) {
		return s.invoke(ctx, "http", callSession(c.method, c.params, session), c.method, c.params)
	})
	b, err := encodeResponses(out, batch)
	switch {
	case err != nil:
		s.log.Error("rpc", "err", err)
		writeRPCError(w, http.StatusInternalServerError, nil, &protocol.Error{Code: protocol.CodeInternal, Message: err.Error()})
	case b == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	}
}

// callSession is the session a call belongs to. The params of a hook
// method are Claude Code's hook JSON, whose session_id names the session:
// it wins over the connection's session (X-CB-Session, ?session=), which
// one client may use for calls of many sessions. Every transport agrees
// with `cb hook`, which takes the session from the hook JSON alone.
func callSession(method string, params json.RawMessage, connSession string) string {
	if strings.HasPrefix(method, "hook.") {
		if s := gjson.GetBytes(params, "session_id"); s.Type == gjson.String && s.Str != "" {
			return s.Str
		}
	}
	return connSession
}

// isJSONContentType accepts application/json with any parameters.
func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// errTooLarge is returned by readBody for a body over the limit.
var errTooLarge = errors.New("request body too large")

// readBody reads the whole body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// writeBodyError answers a failed readBody: 413 with -32008 for a body over
// the limit, else 400.
func writeBodyError(w http.ResponseWriter, err error, limit int64) {
	if errors.Is(err, errTooLarge) {
		writeRPCError(w, http.StatusRequestEntityTooLarge, nil, protocol.Errorf(protocol.CodeTooLarge,
			"request body exceeds the limit of %d bytes", limit))
		return
	}
	writeRPCError(w, http.StatusBadRequest, nil, protocol.Errorf(protocol.CodeParseError, "%v", err))
}
