package protocol

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol/api"
)

// HookEvent ties a cb hook type (the `cb hook <type>` argument and the
// hook.<type> method) to the Claude Code event that runs it.
type HookEvent struct {
	Type        string // "pre_tool"
	ClaudeEvent string // "PreToolUse"
	// Matcher is the matcher cb install writes ("" = none).
	Matcher string
	// Gates: a block from this event stops the action it asks about (a
	// tool call, a prompt), so the global hook.fail_mode applies to it. A
	// block from the other events stops nothing (the action is done) or
	// makes Claude keep working (Stop), so they fail closed only when set
	// per type (hook.<type>.fail_mode), as Claude Code ignores onFailure
	// on Stop and SubagentStop.
	Gates bool
	// HTTP: `cb install --http` makes it a native http hook (events that
	// only observe: an http hook fails open).
	HTTP bool
	// Private: its answer can carry the user's data (UserPromptSubmit adds
	// the session's in-progress tasks), so the hook-only credential of
	// native http hooks is not accepted for it.
	Private bool
}

// HookEvents is the table of hook types cb understands.
var HookEvents = []HookEvent{
	{"pre_tool", "PreToolUse", "*", true, false, false},
	{"post_tool", "PostToolUse", "*", false, true, false},
	{"user_prompt", "UserPromptSubmit", "", true, false, true},
	{"todo_write", "PostToolUse", "TodoWrite|TaskCreate|TaskUpdate", false, true, false},
	{"session_start", "SessionStart", "", false, false, false},
	{"session_end", "SessionEnd", "", false, true, false},
	{"stop", "Stop", "", false, true, false},
	{"subagent_stop", "SubagentStop", "", false, true, false},
	{"notification", "Notification", "", false, true, false},
	{"pre_compact", "PreCompact", "", false, true, false},
}

// FailMode is the fail mode of a hook type, "open" or "closed", from the
// config values setting returns (hook.<type>.fail_mode, else
// hook.fail_mode for the events that gate an action; see HookEvent.Gates).
// cb hook and cbd both decide with it.
func FailMode(hookType string, setting func(key string) string) string {
	m := setting("hook." + hookType + ".fail_mode")
	if m == "" {
		if he, ok := LookupHookEvent(hookType); ok && !he.Gates {
			return "open"
		}
		m = setting("hook.fail_mode")
	}
	if m == "closed" {
		return "closed"
	}
	return "open"
}

// LookupHookEvent finds a hook type by its cb name.
func LookupHookEvent(hookType string) (HookEvent, bool) {
	for _, he := range HookEvents {
		if he.Type == hookType {
			return he, true
		}
	}
	return HookEvent{}, false
}

// HookMethod is the handler method of a hook type: "hook.pre_tool".
func HookMethod(hookType string) string { return "hook." + hookType }

// Decisions a hook handler can return.
const (
	DecisionNone  = api.DecisionNone
	DecisionAllow = api.DecisionAllow
	DecisionDeny  = api.DecisionDeny
	DecisionAsk   = api.DecisionAsk
)

// HookResult is what every hook.* handler answers (see api.HookResult).
type HookResult = api.HookResult

// maxHookString is Claude Code's cap on context and reason strings.
const maxHookString = 10000

// RenderHookOutput returns exactly what a hook prints on stdout for res on
// Claude Code event claudeEvent: nil for "no opinion", otherwise one JSON
// object in the shape that event honours. Fields an event does not take are
// left out, so Claude Code's output validation always passes.
func RenderHookOutput(claudeEvent string, res HookResult) []byte {
	reason := clip(res.Reason)
	ctx := clip(res.AdditionalContext)
	out := map[string]any{}
	specific := map[string]any{"hookEventName": claudeEvent}
	switch claudeEvent {
	case "PreToolUse":
		if res.Decision == DecisionNone && len(res.UpdatedInput) == 0 && ctx == "" {
			return nil
		}
		if res.Decision != DecisionNone {
			specific["permissionDecision"] = res.Decision
			if reason != "" {
				specific["permissionDecisionReason"] = reason
			}
		}
		if len(res.UpdatedInput) > 0 {
			specific["updatedInput"] = res.UpdatedInput
		}
		if ctx != "" {
			specific["additionalContext"] = ctx
		}
		out["hookSpecificOutput"] = specific
	case "PostToolUse", "UserPromptSubmit", "SessionStart", "Stop", "SubagentStop", "PreCompact":
		if res.Decision == DecisionDeny && claudeEvent != "SessionStart" {
			out["decision"] = "block"
			if reason == "" {
				reason = "blocked by ClaudeBench"
			}
			out["reason"] = reason
		}
		if ctx != "" && claudeEvent != "PreCompact" {
			specific["additionalContext"] = ctx
			out["hookSpecificOutput"] = specific
		}
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out) // maps of strings and raw JSON always encode
	return b
}

func clip(s string) string {
	if len(s) <= maxHookString {
		return s
	}
	s = s[:maxHookString]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
