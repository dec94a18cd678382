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
	// Alias is the snake_case of ClaudeEvent when Type is an older, shorter
	// name ("pre_tool_use"); `cb hook` accepts both.
	Alias string
	// Matcher is the matcher cb install writes ("" = none).
	Matcher string
	// Gates: a block from this event stops the action it asks about (a
	// tool call, a prompt, a permission, a model switch), so the global
	// hook.fail_mode applies to it. A block from the other events stops
	// nothing (the action is done) or makes Claude keep working (Stop), so
	// they fail closed only when set per type (hook.<type>.fail_mode); the
	// gates are the events Claude Code itself fails closed on for personal
	// hooks in CLAUDE_CODE_RESTRICT_PERSONAL_CONFIG mode.
	Gates bool
	// HTTP: `cb install --http` makes it a native http hook (events that
	// only observe: an http hook fails open; Claude Code skips http hooks on
	// SessionStart and Setup).
	HTTP bool
	// Private: its answer can carry the user's data (UserPromptSubmit adds
	// the session's in-progress tasks, Stop hands a worker its next task),
	// so the hook-only credential of native http hooks is not accepted for
	// it.
	Private bool
	// Tool: the input carries tool_name and tool_input.
	Tool bool
	// Default: `cb install` installs it without --events (README, Hook
	// events, says why each is in or out).
	Default bool
	// Replaces: a hook on this event replaces what Claude Code does
	// (creating a worktree, showing a message), so cb install writes it
	// only when asked for by name.
	Replaces bool
}

// HookEvents is the table of hook types cb understands: one per Claude Code
// event (in the order of Claude Code's settings schema), plus todo_write,
// a PostToolUse hook on the todo tools.
var HookEvents = []HookEvent{
	{Type: "pre_tool", Alias: "pre_tool_use", ClaudeEvent: "PreToolUse", Matcher: "*", Gates: true, Tool: true, Default: true},
	{Type: "post_tool", Alias: "post_tool_use", ClaudeEvent: "PostToolUse", Matcher: "*", HTTP: true, Tool: true, Default: true},
	{Type: "post_tool_use_failure", ClaudeEvent: "PostToolUseFailure", Matcher: "*", HTTP: true, Tool: true, Default: true},
	{Type: "post_tool_batch", ClaudeEvent: "PostToolBatch", HTTP: true},
	{Type: "notification", ClaudeEvent: "Notification", HTTP: true, Default: true},
	{Type: "user_prompt", Alias: "user_prompt_submit", ClaudeEvent: "UserPromptSubmit", Gates: true, Private: true, Default: true},
	{Type: "user_prompt_expansion", ClaudeEvent: "UserPromptExpansion", Gates: true},
	{Type: "session_start", ClaudeEvent: "SessionStart", Default: true},
	{Type: "session_end", ClaudeEvent: "SessionEnd", HTTP: true, Default: true},
	{Type: "stop", ClaudeEvent: "Stop", Private: true, Default: true},
	{Type: "stop_failure", ClaudeEvent: "StopFailure", HTTP: true, Default: true},
	{Type: "subagent_start", ClaudeEvent: "SubagentStart", HTTP: true, Default: true},
	{Type: "subagent_stop", ClaudeEvent: "SubagentStop", Private: true, Default: true},
	{Type: "pre_compact", ClaudeEvent: "PreCompact", HTTP: true, Default: true},
	{Type: "post_compact", ClaudeEvent: "PostCompact", HTTP: true},
	{Type: "pre_model_switch", ClaudeEvent: "PreModelSwitch", Gates: true},
	{Type: "post_model_switch", ClaudeEvent: "PostModelSwitch", HTTP: true},
	{Type: "permission_request", ClaudeEvent: "PermissionRequest", Matcher: "*", Gates: true, Tool: true, Default: true},
	{Type: "permission_denied", ClaudeEvent: "PermissionDenied", Matcher: "*", HTTP: true, Tool: true, Default: true},
	{Type: "setup", ClaudeEvent: "Setup"},
	{Type: "teammate_idle", ClaudeEvent: "TeammateIdle", Private: true, Default: true},
	{Type: "task_created", ClaudeEvent: "TaskCreated", HTTP: true, Default: true},
	{Type: "task_completed", ClaudeEvent: "TaskCompleted", HTTP: true, Default: true},
	{Type: "elicitation", ClaudeEvent: "Elicitation", HTTP: true},
	{Type: "elicitation_result", ClaudeEvent: "ElicitationResult", HTTP: true},
	{Type: "config_change", ClaudeEvent: "ConfigChange", Default: true},
	{Type: "worktree_create", ClaudeEvent: "WorktreeCreate", Replaces: true},
	{Type: "worktree_remove", ClaudeEvent: "WorktreeRemove", HTTP: true, Replaces: true},
	{Type: "instructions_loaded", ClaudeEvent: "InstructionsLoaded", HTTP: true},
	{Type: "cwd_changed", ClaudeEvent: "CwdChanged", HTTP: true},
	{Type: "file_changed", ClaudeEvent: "FileChanged", HTTP: true},
	{Type: "directory_added", ClaudeEvent: "DirectoryAdded", HTTP: true},
	{Type: "message_display", ClaudeEvent: "MessageDisplay", Replaces: true},
	{Type: "todo_write", ClaudeEvent: "PostToolUse", Matcher: "TodoWrite|TaskCreate|TaskUpdate", HTTP: true, Tool: true, Default: true},
}

// OtherHookType is the hook type of an event cb does not know (a newer
// Claude Code's): `cb hook <name>` records it through hook.other and
// answers no opinion.
const OtherHookType = "other"

// LookupHookEvent finds a hook type by its cb name or its alias.
func LookupHookEvent(hookType string) (HookEvent, bool) {
	for _, he := range HookEvents {
		if he.Type == hookType || (he.Alias != "" && he.Alias == hookType) {
			return he, true
		}
	}
	return HookEvent{}, false
}

// LookupClaudeEvent finds the hook type that handles a Claude Code event
// name ("PreToolUse" → pre_tool; PostToolUse is post_tool, not todo_write).
func LookupClaudeEvent(name string) (HookEvent, bool) {
	for _, he := range HookEvents {
		if he.ClaudeEvent == name {
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
	// DecisionCancel cancels an elicitation.
	DecisionCancel = api.DecisionCancel
)

// HookResult is what every hook.* handler answers (see api.HookResult).
type HookResult = api.HookResult

// maxHookString is Claude Code's cap on context and reason strings.
const maxHookString = 10000

// RenderHookOutput returns exactly what a hook prints on stdout for res on
// Claude Code event claudeEvent: nil for "no opinion", otherwise one JSON
// object in the shape that event honours (for PreCompact's compaction
// instructions, plain text). Fields an event does not take are left out, so
// Claude Code's output validation always passes; an event whose output
// Claude Code ignores, or one this cb does not know, gets nil.
//
// What each decision means per event (reference §2.3):
//
//   - PreToolUse, PreModelSwitch: allow / deny / ask as permissionDecision
//     (PreToolUse also context, and updatedInput unless it denies).
//   - PermissionRequest: allow (with updatedInput, updatedPermissions) or
//     deny (reason as the message, interrupt); ask is no opinion: the
//     dialog is shown.
//   - PermissionDenied: allow is retry:true.
//   - Elicitation, ElicitationResult: allow accepts (updatedInput as the
//     content), deny declines with the reason, cancel cancels.
//   - Every event that reads decision:"block" (PostToolUse,
//     PostToolUseFailure, PostToolBatch, UserPromptSubmit,
//     UserPromptExpansion, Stop, SubagentStop, TeammateIdle, TaskCreated,
//     TaskCompleted, PreCompact, ConfigChange): deny is a block with the
//     reason.
//   - additionalContext where the event's hookSpecificOutput has it.
func RenderHookOutput(claudeEvent string, res HookResult) []byte {
	reason := clip(res.Reason)
	ctx := clip(res.AdditionalContext)
	out := map[string]any{}
	specific := map[string]any{"hookEventName": claudeEvent}
	block := func(dflt string) {
		if res.Decision != DecisionDeny {
			return
		}
		out["decision"] = "block"
		if reason == "" {
			reason = dflt
		}
		out["reason"] = reason
	}
	context := func() {
		if ctx != "" {
			specific["additionalContext"] = ctx
			out["hookSpecificOutput"] = specific
		}
	}
	switch claudeEvent {
	case "PreToolUse", "PreModelSwitch":
		if res.Decision == DecisionAllow || res.Decision == DecisionDeny || res.Decision == DecisionAsk {
			specific["permissionDecision"] = res.Decision
			if reason != "" {
				specific["permissionDecisionReason"] = reason
			}
			out["hookSpecificOutput"] = specific
		}
		if claudeEvent == "PreToolUse" {
			// Claude Code applies updatedInput with allow or ask from the
			// same hook, or alone; beside a deny it means nothing.
			if len(res.UpdatedInput) > 0 && res.Decision != DecisionDeny {
				specific["updatedInput"] = res.UpdatedInput
				out["hookSpecificOutput"] = specific
			}
			context()
		}
	case "PermissionRequest":
		switch res.Decision {
		case DecisionAllow:
			d := map[string]any{"behavior": "allow"}
			if len(res.UpdatedInput) > 0 {
				d["updatedInput"] = res.UpdatedInput
			}
			if len(res.UpdatedPermissions) > 0 {
				d["updatedPermissions"] = res.UpdatedPermissions
			}
			specific["decision"] = d
			out["hookSpecificOutput"] = specific
		case DecisionDeny:
			d := map[string]any{"behavior": "deny"}
			if reason != "" {
				d["message"] = reason
			}
			if res.Interrupt {
				d["interrupt"] = true
			}
			specific["decision"] = d
			out["hookSpecificOutput"] = specific
		}
	case "PermissionDenied":
		if res.Decision == DecisionAllow {
			specific["retry"] = true
			out["hookSpecificOutput"] = specific
		}
	case "Elicitation", "ElicitationResult":
		switch res.Decision {
		case DecisionAllow:
			specific["action"] = "accept"
			if len(res.UpdatedInput) > 0 {
				specific["content"] = res.UpdatedInput
			}
			out["hookSpecificOutput"] = specific
		case DecisionDeny:
			block("Elicitation denied by ClaudeBench")
			specific["action"] = "decline"
			out["hookSpecificOutput"] = specific
		case DecisionCancel:
			specific["action"] = "cancel"
			out["hookSpecificOutput"] = specific
		}
	case "PostToolUse", "PostToolUseFailure", "PostToolBatch", "UserPromptSubmit", "UserPromptExpansion",
		"Stop", "SubagentStop":
		block("blocked by ClaudeBench")
		context()
	case "SessionStart", "Setup", "SubagentStart", "PostModelSwitch":
		context()
	case "TeammateIdle", "TaskCreated", "TaskCompleted", "ConfigChange":
		block("blocked by ClaudeBench")
	case "PreCompact":
		block("blocked by ClaudeBench")
		if len(out) == 0 && ctx != "" {
			// Plain stdout is appended to the compaction instructions; a
			// JSON object would not be.
			return []byte(ctx)
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
