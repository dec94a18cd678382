package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/claudebench/cb/protocol"
)

// knownTools are the tool names cb_hook_decisions_total keeps as they are:
// Claude Code's built-in tools (claude-code-hooks-2.1.md §7.1, with Task,
// the old name of Agent). Any other name is input, so it never becomes a
// label of its own: mcp__* tools count as "mcp", the rest as "other".
var knownTools = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`Agent Task Bash PowerShell Read Write Edit NotebookEdit Glob Grep
		WebFetch WebSearch TodoWrite TaskCreate TaskGet TaskList TaskUpdate TaskStop AskUserQuestion
		ExitPlanMode EnterPlanMode EnterWorktree ExitWorktree Skill ToolSearch ListMcpResourcesTool
		ReadMcpResourceTool ReadMcpResourceDirTool LSP Monitor SendMessage SendUserMessage SendFile
		ListAgents CronCreate CronDelete CronList ScheduleWakeup RemoteTrigger Workflow Artifact
		PushNotification ReportFindings SendFeedback SetGoal REPL StructuredOutput ObserverReport`) {
		m[t] = true
	}
	return m
}()

// toolLabel maps a hook's tool_name to a label from a fixed set: a known
// tool, "mcp", "other", or "" for hooks without a tool.
func toolLabel(name string) string {
	switch {
	case name == "" || knownTools[name]:
		return name
	case strings.HasPrefix(name, "mcp__"):
		return "mcp"
	}
	return "other"
}

// hookFields are the parts of Claude Code's hook JSON the transport reads.
type hookFields struct {
	HookEventName string `json:"hook_event_name"`
	SessionID     string `json:"session_id"`
	ToolName      string `json:"tool_name"`
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
	session := r.Header.Get("X-CB-Session")
	if session == "" {
		session = in.SessionID
	}
	raw, perr := s.invoke(r.Context(), "http", session, method, body)
	if perr != nil {
		noOpinion("invoke "+method, perr)
		return
	}
	var res protocol.HookResult
	if err := json.Unmarshal(raw, &res); err != nil {
		noOpinion("decode hook result", fmt.Errorf("%s answer: %w", method, err))
		return
	}
	decision := res.Decision
	if decision == protocol.DecisionNone {
		decision = "none"
	}
	s.metrics.hooks.WithLabelValues(hookType, toolLabel(in.ToolName), decision).Inc()
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
