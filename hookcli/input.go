package hookcli

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
// the right types. Unknown fields are ignored.
func ParseHookInput(data []byte) (HookInput, error) {
	data = bytes.TrimSpace(data)
	var in HookInput
	if len(data) == 0 {
		return in, errors.New("empty input: expected Claude Code hook JSON on stdin")
	}
	if data[0] != '{' {
		return in, fmt.Errorf("invalid input: expected a JSON object on stdin, got %q", preview(data))
	}
	if err := json.Unmarshal(data, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return in, fmt.Errorf("invalid hook input: field %s must be a %s, not %s", te.Field, te.Type, te.Value)
		}
		return in, fmt.Errorf("invalid JSON on stdin: %w", err)
	}
	in.Raw = data
	return in, nil
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
