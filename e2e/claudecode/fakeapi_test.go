package claudecode

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAPI is a loopback server speaking the part of the Anthropic Messages
// API Claude Code uses in a headless run: POST /v1/messages with
// "stream": true, answered as server-sent events (message_start,
// content_block_start/delta/stop per block, message_delta with the stop
// reason, message_stop). Each test scripts the model's turns; everything
// the client sent is kept for the test to inspect.
type fakeAPI struct {
	t      testing.TB
	srv    *httptest.Server
	script func(*apiRequest) reply

	mu       sync.Mutex
	requests []*apiRequest // every /v1/messages request, in arrival order
	other    []string      // other requests: "METHOD /path"
	nextID   int
}

// apiRequest is one Messages API request as the fake saw it.
type apiRequest struct {
	Model    string          `json:"model"`
	Stream   bool            `json:"stream"`
	System   json.RawMessage `json:"system"`
	Messages []apiMessage    `json:"messages"`
	Tools    []struct {
		Name string `json:"name"`
	} `json:"tools"`
	Raw []byte `json:"-"`
}

// apiMessage is one conversation message; content is a string or a list of
// blocks, normalised to blocks.
type apiMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// apiBlock is one content block of a message.
type apiBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
}

// blocks returns m's content as blocks (a plain string becomes one text block).
func (m apiMessage) blocks() []apiBlock {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return []apiBlock{{Type: "text", Text: s}}
	}
	var bs []apiBlock
	_ = json.Unmarshal(m.Content, &bs)
	return bs
}

// text is the text of a tool_result block's content (a string or blocks).
func (b apiBlock) text() string {
	var s string
	if json.Unmarshal(b.Content, &s) == nil {
		return s
	}
	var bs []apiBlock
	_ = json.Unmarshal(b.Content, &bs)
	var parts []string
	for _, c := range bs {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

// hasTools reports whether the request is the agent loop's (it offers tools);
// Claude Code's side requests (titles, summaries) offer none.
func (r *apiRequest) hasTools() bool { return len(r.Tools) > 0 }

// toolResults returns the tool_result blocks of the last user message.
func (r *apiRequest) toolResults() []apiBlock {
	if len(r.Messages) == 0 {
		return nil
	}
	last := r.Messages[len(r.Messages)-1]
	if last.Role != "user" {
		return nil
	}
	var out []apiBlock
	for _, b := range last.blocks() {
		if b.Type == "tool_result" {
			out = append(out, b)
		}
	}
	return out
}

// turn is how many assistant messages the conversation already holds: 0 for
// the model's first answer to the prompt.
func (r *apiRequest) turn() int {
	n := 0
	for _, m := range r.Messages {
		if m.Role == "assistant" {
			n++
		}
	}
	return n
}

// userText joins every text block of every user message (the prompt, and
// the context Claude Code adds as <system-reminder> text).
func (r *apiRequest) userText() string {
	var parts []string
	for _, m := range r.Messages {
		if m.Role != "user" {
			continue
		}
		for _, b := range m.blocks() {
			if b.Type == "text" {
				parts = append(parts, b.Text)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// toolUse is one tool call the fake model makes.
type toolUse struct {
	Name  string
	Input any
}

// reply is the fake model's answer: text, then tool calls (stop reason
// tool_use when there are any, end_turn otherwise).
type reply struct {
	Text  string
	Tools []toolUse
	// Error, when set, is answered instead: HTTP 400 with an
	// invalid_request_error of this message (the client does not retry it).
	Error string
}

func newFakeAPI(t testing.TB, script func(*apiRequest) reply) *fakeAPI {
	f := &fakeAPI{t: t, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the ANTHROPIC_BASE_URL for the client.
func (f *fakeAPI) URL() string { return f.srv.URL }

// agentRequests returns the agent loop's requests so far.
func (f *fakeAPI) agentRequests() []*apiRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*apiRequest
	for _, r := range f.requests {
		if r.hasTools() {
			out = append(out, r)
		}
	}
	return out
}

// sideTraffic counts the requests that were not the agent loop's: side
// requests to /v1/messages (no tools) and any other path.
func (f *fakeAPI) sideTraffic() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.other)
	for _, r := range f.requests {
		if !r.hasTools() {
			n++
		}
	}
	return n
}

// summary describes every request the fake got, for failure messages.
func (f *fakeAPI) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for i, r := range f.requests {
		fmt.Fprintf(&b, "  #%d model=%s tools=%d messages=%d turn=%d\n", i, r.Model, len(r.Tools), len(r.Messages), r.turn())
	}
	for _, o := range f.other {
		fmt.Fprintf(&b, "  other: %s\n", o)
	}
	return b.String()
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		f.note(r)
		writeJSON(w, map[string]any{"input_tokens": 100})
		return
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
	default:
		f.note(r)
		http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"not here"}}`, http.StatusNotFound)
		return
	}
	req := &apiRequest{Raw: body}
	if err := json.Unmarshal(body, req); err != nil {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.nextID++
	id := f.nextID
	f.mu.Unlock()

	var rep reply
	if req.hasTools() {
		rep = f.script(req)
	} else {
		rep = reply{Text: "ok"} // a side request (title, summary)
	}
	if rep.Error != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error",
			"error": map[string]any{"type": "invalid_request_error", "message": rep.Error}})
		return
	}
	if !req.Stream {
		writeJSON(w, f.message(id, req.Model, rep))
		return
	}
	f.stream(w, id, req.Model, rep)
}

func (f *fakeAPI) note(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.other = append(f.other, r.Method+" "+r.URL.Path)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func usage() map[string]any {
	return map[string]any{"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
}

// message is rep as a whole (non-streamed) Messages API response.
func (f *fakeAPI) message(id int, model string, rep reply) map[string]any {
	var content []any
	if rep.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	for i, tu := range rep.Tools {
		content = append(content, map[string]any{"type": "tool_use", "id": toolUseID(id, i), "name": tu.Name, "input": tu.Input})
	}
	return map[string]any{
		"id": fmt.Sprintf("msg_fake%04d", id), "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": stopReason(rep), "stop_sequence": nil, "usage": usage(),
	}
}

func toolUseID(msg, i int) string { return fmt.Sprintf("toolu_fake%04d_%d", msg, i) }

func stopReason(rep reply) string {
	if len(rep.Tools) > 0 {
		return "tool_use"
	}
	return "end_turn"
}

// stream writes rep as the Messages API's server-sent events.
func (f *fakeAPI) stream(w http.ResponseWriter, id int, model string, rep reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(event string, data map[string]any) {
		data["type"] = event
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	start := f.message(id, model, reply{})
	start["content"] = []any{}
	start["stop_reason"] = nil
	start["usage"] = map[string]any{"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	send("message_start", map[string]any{"message": start})
	idx := 0
	if rep.Text != "" {
		send("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		// Two deltas, as a real stream splits text.
		half := len(rep.Text) / 2
		for _, part := range []string{rep.Text[:half], rep.Text[half:]} {
			if part != "" {
				send("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "text_delta", "text": part}})
			}
		}
		send("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	for i, tu := range rep.Tools {
		send("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{
			"type": "tool_use", "id": toolUseID(id, i), "name": tu.Name, "input": map[string]any{}}})
		in, _ := json.Marshal(tu.Input)
		half := len(in) / 2
		for _, part := range []string{string(in[:half]), string(in[half:])} {
			send("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
		}
		send("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	send("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stopReason(rep), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": 10}})
	send("message_stop", map[string]any{})
}
