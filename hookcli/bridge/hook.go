package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/claudebench/cb/protocol"
)

// Exit statuses of cb hook. Claude Code reads 2 as "block", so cb hook never
// returns it: it blocks only through JSON on stdout.
const (
	exitOK    = 0
	exitUsage = 1
)

// Transport reads the settings for and carries one hook request to cbd.
// cb uses a lean config reader and RESP2 client; cb-cli yaml and the
// go-redis client of protocol/client.
type Transport interface {
	// Settings loads the configuration. Like Open, it runs before stdin is
	// read, and may hand the invocation over to another process.
	Settings() (*Settings, error)
	// Open prepares a connection to the Redis at url (it need not dial).
	// It runs before stdin is read, so a transport that cannot serve url
	// may hand the whole invocation over to another process.
	Open(url string) (Conn, error)
}

// Conn sends requests as protocol/client.Client.CallEvent does.
type Conn interface {
	// CallEvent sends ev and waits for its answer until ctx is done; it
	// sets the correlation id and deadline in ev's metadata.
	CallEvent(ctx context.Context, ev protocol.Event) (json.RawMessage, error)
	Close() error
}

// hookRun is one invocation of `cb hook <type>`.
type hookRun struct {
	event    protocol.HookEvent
	stdout   io.Writer
	stderr   io.Writer
	failMode string
}

// RunHook runs `cb hook <hookType>` over t: it reads Claude Code's JSON from
// stdin, asks cbd for a decision and prints exactly one valid hook output.
// It returns the process exit status, which is never 2.
func RunHook(hookType string, stdin io.Reader, stdout, stderr io.Writer, t Transport) (code int) {
	ev, ok := protocol.LookupHookEvent(hookType)
	if !ok {
		// An event this cb does not know (a newer Claude Code's) is
		// recorded through hook.other and gets no opinion.
		if hookType == "" {
			fmt.Fprintln(stderr, "cb hook: missing hook type")
			return exitUsage
		}
		fmt.Fprintf(stderr, "cb hook: unknown hook type %q: recording it as hook.%s, no opinion\n", hookType, protocol.OtherHookType)
		ev = protocol.HookEvent{Type: protocol.OtherHookType}
	}
	hookType = ev.Type
	h := &hookRun{event: ev, stdout: stdout, stderr: stderr, failMode: "open"}
	defer func() {
		if r := recover(); r != nil {
			code = h.fail(fmt.Errorf("internal error: %v", r))
		}
	}()
	settings, err := t.Settings()
	if settings != nil {
		h.failMode = settings.FailMode(hookType)
	}
	if err != nil {
		return h.fail(err)
	}
	if err := settings.Check("hook.timeout", "hook.max_input_bytes"); err != nil {
		return h.fail(err)
	}
	cfg := settings.Config()
	timeout, maxIn := cfg.Hook.Timeout, cfg.Hook.MaxInputBytes
	// The transport sees the URL before stdin is read (it may hand over);
	// its errors are reported after the input's, as they always were.
	var conn Conn
	url, connErr := settings.RedisURL()
	if connErr == nil {
		conn, connErr = t.Open(url)
	}
	if conn != nil {
		defer conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	data, err := readInput(ctx, stdin, maxIn)
	if err != nil {
		return h.fail(err)
	}
	in, err := ParseHookInput(data)
	if err != nil {
		return h.fail(err)
	}
	claudeEvent := ev.ClaudeEvent
	if in.HookEventName != "" {
		// The event Claude Code says it runs decides the output's shape.
		claudeEvent = in.HookEventName
	}
	if connErr != nil {
		return h.fail(connErr)
	}
	result, err := conn.CallEvent(ctx, protocol.Event{
		Type:    protocol.HookMethod(hookType),
		Payload: json.RawMessage(in.Raw),
		Metadata: protocol.Metadata{
			ID:        protocol.NewID(),
			Timestamp: time.Now().UnixMilli(),
			Source:    "cb-hook",
			SessionID: in.SessionID,
		},
	})
	if err != nil {
		return h.fail(err)
	}
	var res protocol.HookResult
	if err := json.Unmarshal(result, &res); err != nil {
		return h.fail(fmt.Errorf("malformed answer from cbd: %w", err))
	}
	h.print(protocol.RenderHookOutput(claudeEvent, res))
	return exitOK
}

func (h *hookRun) print(out []byte) {
	if len(out) == 0 {
		return
	}
	_, _ = h.stdout.Write(append(out, '\n'))
}

// fail applies the fail mode: open prints nothing (no opinion); closed denies
// or blocks with a reason that names the problem. Both exit 0 and say what
// happened in one line on stderr.
func (h *hookRun) fail(err error) int {
	msg := err.Error()
	if h.failMode == "closed" {
		fmt.Fprintf(h.stderr, "cb hook %s: %s (fail mode closed: denying)\n", h.event.Type, msg)
		h.print(protocol.RenderHookOutput(h.event.ClaudeEvent, protocol.HookResult{
			Decision: protocol.DecisionDeny,
			Reason:   "ClaudeBench could not check this action (" + msg + "); hook fail mode is closed. Start cbd or run `cb doctor`.",
		}))
		return exitOK
	}
	fmt.Fprintf(h.stderr, "cb hook %s: %s (fail mode open: no opinion)\n", h.event.Type, msg)
	return exitOK
}
