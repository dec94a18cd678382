package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/protocol"
)

// toolLabel is the tool label of cb_hook_decisions_total: a label from a
// fixed set, never the hook's input as such.
var toolLabel = invoke.ToolLabel

// hookFields are the parts of Claude Code's hook JSON the transport reads.
type hookFields struct {
	HookEventName string `json:"hook_event_name"`
}

// handleHook serves POST /hooks/{type}: Claude Code's "type":"http" hooks.
// The body is the hook JSON; the answer is exactly what `cb hook <type>`
// prints: one JSON object, or an empty body for "no opinion". Failures are
// logged and answered with an empty 200 (Claude Code's normal flow goes on).
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	hookType := r.PathValue("type")
	he, ok := protocol.LookupHookEvent(hookType)
	if !ok {
		writeRPCError(w, http.StatusNotFound, nil, protocol.Errorf(protocol.CodeMethodNotFound, "unknown hook type %q", hookType))
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	// The hook credential posts events; it reads nothing back.
	if requestLevel(r) == authHook && he.Private {
		s.refuse(w, r, "hooks", "the hook credential is not accepted for "+hookType+", whose answer can carry your data; it needs the API token")
		return
	}
	method := protocol.HookMethod(hookType)
	noOpinion := func(what string, err error) {
		s.log.Warn("http hook: answering no opinion", "type", hookType, "what", what, "err", err)
		w.WriteHeader(http.StatusOK)
	}
	body, err := readBody(w, r, s.o.MaxHookBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			err = fmt.Errorf("hook input exceeds %d bytes (hook.max_input_bytes)", s.o.MaxHookBody)
		}
		noOpinion("read body", err)
		return
	}
	var in hookFields
	if err := json.Unmarshal(body, &in); err != nil {
		noOpinion("decode hook input", fmt.Errorf("hook input is not a JSON object: %w", err))
		return
	}
	raw, perr := s.invoke(r.Context(), "http", callSession(method, body, r.Header.Get("X-CB-Session")), method, body)
	if perr != nil {
		noOpinion("invoke "+method, perr)
		return
	}
	var res protocol.HookResult // counted in cb_hook_decisions_total by the invoker
	if err := json.Unmarshal(raw, &res); err != nil {
		noOpinion("decode hook result", fmt.Errorf("%s answer: %w", method, err))
		return
	}
	claudeEvent := in.HookEventName
	if claudeEvent == "" {
		claudeEvent = he.ClaudeEvent
	}
	out := protocol.RenderHookOutput(claudeEvent, res)
	if len(out) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
