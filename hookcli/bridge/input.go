package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// HookInput holds the fields of Claude Code's hook JSON that cb itself needs;
// the whole document travels on as the request payload.
type HookInput struct {
	SessionID     string `json:"session_id"`
	HookEventName string `json:"hook_event_name"`
	ToolName      string `json:"tool_name"`
	// Raw is the input exactly as read, leading/trailing space trimmed.
	Raw []byte `json:"-"`
}

// ErrInputTooLarge reports stdin over hook.max_input_bytes.
var ErrInputTooLarge = errors.New("hook input too large")

// ParseHookInput checks that data is one JSON object whose common fields have
// the right types. Unknown fields are ignored. Fields are read as Claude
// Code (JavaScript) reads them: by their exact name (encoding/json would
// match "Session_ID" to session_id), the last of a name given twice.
func ParseHookInput(data []byte) (HookInput, error) {
	data = bytes.TrimSpace(data)
	var in HookInput
	if len(data) == 0 {
		return in, errors.New("empty input: expected Claude Code hook JSON on stdin")
	}
	if data[0] != '{' {
		return in, fmt.Errorf("invalid input: expected a JSON object on stdin, got %q", preview(data))
	}
	var fields map[string]jsField
	if err := json.Unmarshal(data, &fields); err != nil {
		return in, fmt.Errorf("invalid JSON on stdin: %w", err)
	}
	for _, c := range [...]struct {
		name string
		dst  *string
	}{{"session_id", &in.SessionID}, {"hook_event_name", &in.HookEventName}, {"tool_name", &in.ToolName}} {
		name, dst := c.name, c.dst
		f, ok := fields[name]
		switch {
		case !ok || f.kind == 'n': // absent or null: empty, as before
		case f.kind != '"':
			return in, fmt.Errorf("invalid hook input: field %s must be a string, not %s", name, kindName(f.kind))
		default:
			*dst = f.str
		}
	}
	in.Raw = data
	return in, nil
}

// jsField is one top-level member of the hook JSON as ParseHookInput keeps
// it: a string's value, else only the first byte of its JSON (its kind).
// Decoding into it copies no large value.
type jsField struct {
	str  string
	kind byte
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *jsField) UnmarshalJSON(b []byte) error {
	f.kind = b[0]
	if f.kind == '"' {
		return json.Unmarshal(b, &f.str)
	}
	return nil
}

func kindName(k byte) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

func preview(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// readInput reads r to EOF, at most max bytes, giving up when ctx is done (a
// writer that never closes stdin must not hang the hook).
func readInput(ctx context.Context, r io.Reader, max int) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
		ch <- result{data, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return nil, fmt.Errorf("read stdin: %w", res.err)
		}
		if len(res.data) > max {
			return nil, fmt.Errorf("%w: more than %d bytes on stdin (hook.max_input_bytes)", ErrInputTooLarge, max)
		}
		return res.data, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("read stdin: no EOF before the deadline: %w", ctx.Err())
	}
}
