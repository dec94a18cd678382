package hookcli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
)

// Exit statuses of cb hook. Claude Code reads 2 as "block", so cb hook never
// returns it: it blocks only through JSON on stdout.
const (
	exitOK    = 0
	exitUsage = 1
)

// hookRun is one invocation of `cb hook <type>`.
type hookRun struct {
	event    protocol.HookEvent
	stdout   io.Writer
	stderr   io.Writer
	failMode string
}

// RunHook runs `cb hook <hookType>`: it reads Claude Code's JSON from stdin,
// asks cbd for a decision and prints exactly one valid hook output. It
// returns the process exit status, which is never 2.
func RunHook(hookType string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	ev, ok := protocol.LookupHookEvent(hookType)
	if !ok {
		names := make([]string, len(protocol.HookEvents))
		for i, he := range protocol.HookEvents {
			names[i] = he.Type
		}
		fmt.Fprintf(stderr, "cb hook: unknown hook type %q (known: %s)\n", hookType, strings.Join(names, ", "))
		return exitUsage
	}
	h := &hookRun{event: ev, stdout: stdout, stderr: stderr, failMode: "open"}
	defer func() {
		if r := recover(); r != nil {
			code = h.fail(fmt.Errorf("internal error: %v", r))
		}
	}()
	settings, err := LoadSettings()
	if settings != nil {
		h.failMode = settings.FailMode(hookType)
	}
	if err != nil {
		return h.fail(err)
	}
	timeout, err := settings.Duration("hook.timeout")
	if err != nil {
		return h.fail(err)
	}
	maxIn, err := settings.Int("hook.max_input_bytes")
	if err != nil {
		return h.fail(err)
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
	url, err := settings.RedisURL()
	if err != nil {
		return h.fail(err)
	}
	rdb, err := dialRedis(url, 1)
	if err != nil {
		return h.fail(err)
	}
	defer rdb.Close()
	cl := client.New(rdb, "cb-hook")
	result, err := cl.Call(ctx, protocol.HookMethod(hookType), json.RawMessage(in.Raw), client.Options{SessionID: in.SessionID})
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
