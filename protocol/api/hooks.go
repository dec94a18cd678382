package api

import "encoding/json"

// Decisions a hook result can carry (common.json#/$defs/hookResult);
// DecisionNone is no opinion.
const (
	DecisionNone  = ""
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
	DecisionAsk   = "ask"
	// DecisionCancel cancels an MCP elicitation (Elicitation,
	// ElicitationResult); the other events read it as no opinion.
	DecisionCancel = "cancel"
)

// HookDecisions lists the decisions a hook result may name.
var HookDecisions = []string{DecisionAllow, DecisionDeny, DecisionAsk, DecisionCancel}

// HookResult is what every hook.* method answers. An empty result means
// "no opinion".
type HookResult struct {
	// Decision is "", allow, deny, ask or cancel. What each means per event
	// is protocol.RenderHookOutput's table.
	Decision string `json:"decision,omitempty"`
	// Reason explains a decision (shown to Claude on deny).
	Reason string `json:"reason,omitempty"`
	// UpdatedInput is the whole rewritten tool input (PreToolUse,
	// PermissionRequest), or the content of an accepted elicitation.
	UpdatedInput json.RawMessage `json:"updatedInput,omitempty"`
	// UpdatedPermissions are permission updates an allowed
	// PermissionRequest applies (Claude Code's PermissionUpdate list).
	UpdatedPermissions json.RawMessage `json:"updatedPermissions,omitempty"`
	// Interrupt: a denied PermissionRequest also stops the turn.
	Interrupt bool `json:"interrupt,omitempty"`
	// AdditionalContext is added to Claude's context.
	AdditionalContext string `json:"additionalContext,omitempty"`
	// RuleIDs names the rules that fired.
	RuleIDs []string `json:"ruleIds,omitempty"`
}

// HookCommon are the fields Claude Code sends with every hook event
// (common.json#/$defs/hookCommon); inputs may carry more.
type HookCommon struct {
	SessionID      string `json:"session_id,omitempty"`
	TranscriptPath string `json:"transcript_path,omitempty"`
	Cwd            string `json:"cwd,omitempty"`
	PermissionMode string `json:"permission_mode,omitempty"`
	HookEventName  string `json:"hook_event_name,omitempty"`
	AgentID        string `json:"agent_id,omitempty"`
	AgentType      string `json:"agent_type,omitempty"`
	// PromptID is the UUID of the current user prompt (absent before the
	// first one).
	PromptID string `json:"prompt_id,omitempty"`
	// Effort is sent on events with full tool context when the model
	// supports effort.
	Effort *Effort `json:"effort,omitempty"`
	// ScratchpadDir is sent only behind a Claude Code feature flag.
	ScratchpadDir string `json:"scratchpad_dir,omitempty"`
}

// Effort is the effort level of a hook event's model (low, medium, high,
// xhigh, max).
type Effort struct {
	Level string `json:"level,omitempty"`
}

// ToolEvent is the input of a tool hook (common.json#/$defs/toolEvent):
// hook.pre_tool.
type ToolEvent struct {
	HookCommon
	ToolName  string          `json:"tool_name"`
	ToolInput json.RawMessage `json:"tool_input"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	// MCPServer is sent for mcp__* tools only.
	MCPServer *MCPServer `json:"mcp_server,omitempty"`
}

// PostToolInput is the input of hook.post_tool and hook.todo_write.
type PostToolInput struct {
	ToolEvent
	ToolResponse json.RawMessage `json:"tool_response,omitempty"` // any JSON value
	DurationMS   float64         `json:"duration_ms,omitempty"`   // execution time only
}

// UserPromptInput is hook.user_prompt's input.
type UserPromptInput struct {
	HookCommon
	Prompt       string `json:"prompt"`
	SessionTitle string `json:"session_title,omitempty"`
	// Source is declared by Claude Code's SDK schema but not filled by
	// 2.1.328.
	Source string `json:"source,omitempty"`
}

// SessionStartInput is hook.session_start's input.
type SessionStartInput struct {
	HookCommon
	Source       string `json:"source,omitempty"`
	Model        string `json:"model,omitempty"`
	SessionTitle string `json:"session_title,omitempty"`
	// Sent on resume and fork only.
	SecondsSinceLastResponse float64 `json:"seconds_since_last_response,omitempty"`
	ContextTokens            float64 `json:"context_tokens,omitempty"`
	PromptCacheLikelyExpired bool    `json:"prompt_cache_likely_expired,omitempty"`
	EstimatedCacheWriteUSD   float64 `json:"estimated_cache_write_usd,omitempty"`
}

// SessionEndInput is hook.session_end's input.
type SessionEndInput struct {
	HookCommon
	Reason string `json:"reason,omitempty"`
}

// StopInput is hook.stop's input.
type StopInput struct {
	HookCommon
	StopHookActive       bool   `json:"stop_hook_active,omitempty"`
	LastAssistantMessage string `json:"last_assistant_message,omitempty"`
	// BackgroundTasks and SessionCrons tell "done" from "waiting".
	BackgroundTasks []BackgroundTask `json:"background_tasks,omitempty"`
	SessionCrons    []SessionCron    `json:"session_crons,omitempty"`
}

// SubagentStopInput is hook.subagent_stop's input.
type SubagentStopInput struct {
	StopInput
	AgentTranscriptPath string `json:"agent_transcript_path,omitempty"`
}

// BackgroundTask is in-flight background work of a stopping agent.
type BackgroundTask struct {
	ID          string `json:"id,omitempty"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
	Command     string `json:"command,omitempty"`
	AgentType   string `json:"agent_type,omitempty"`
	Server      string `json:"server,omitempty"`
	Tool        string `json:"tool,omitempty"`
	Name        string `json:"name,omitempty"`
}

// SessionCron is a scheduled prompt of a stopping session.
type SessionCron struct {
	ID        string `json:"id,omitempty"`
	Schedule  string `json:"schedule,omitempty"`
	Recurring bool   `json:"recurring,omitempty"`
	Prompt    string `json:"prompt,omitempty"`
}

// NotificationInput is hook.notification's input.
type NotificationInput struct {
	HookCommon
	Message          string `json:"message,omitempty"`
	Title            string `json:"title,omitempty"`
	NotificationType string `json:"notification_type,omitempty"`
}

// PreCompactInput is hook.pre_compact's input.
type PreCompactInput struct {
	HookCommon
	Trigger            string  `json:"trigger,omitempty"`
	CustomInstructions *string `json:"custom_instructions,omitempty"` // string or null
}

// RuleActions are the actions a rule may take (common.json#/$defs/rule).
var RuleActions = []string{"allow", "deny", "ask", "cancel", "modify", "context"}

// Rule is a hook rule (common.json#/$defs/rule; see README, Hook rules).
// It converts to and from policy.Rule, which has the same fields.
type Rule struct {
	ID       string         `json:"id"`
	Event    string         `json:"event,omitempty"`
	Tool     string         `json:"tool,omitempty"`
	Field    string         `json:"field,omitempty"`
	Match    string         `json:"match,omitempty"`
	Action   string         `json:"action"`
	Reason   string         `json:"reason,omitempty"`
	Context  string         `json:"context,omitempty"`
	Priority int            `json:"priority,omitempty"`
	Blocking bool           `json:"blocking,omitempty"`
	Replace  map[string]any `json:"replace,omitempty"`
	Disabled bool           `json:"disabled,omitempty"`
	Special  string         `json:"special,omitempty"`
	// Permissions are Claude Code PermissionUpdate objects an allow rule on
	// permission_request applies (updatedPermissions).
	Permissions []map[string]any `json:"permissions,omitempty"`
	// Interrupt: a deny rule on permission_request also stops the turn.
	Interrupt bool `json:"interrupt,omitempty"`
}

// RuleSources are where hooks.list says a rule comes from.
var RuleSources = []string{"default", "config", "redis"}

// ListedRule is a rule as hooks.list shows it
// (common.json#/$defs/listedRule).
type ListedRule struct {
	Rule
	Source   string `json:"source" schema:"optional"` // default, config or redis
	Disabled bool   `json:"disabled" schema:"optional"`
}

// HooksListResult is hooks.list's result.
type HooksListResult struct {
	Rules []ListedRule `json:"rules"`
}

// HooksAddParams are hooks.add's params.
type HooksAddParams struct {
	Rule Rule `json:"rule"`
}

// HooksAddResult is hooks.add's result.
type HooksAddResult struct {
	ID    string `json:"id"`
	Added bool   `json:"added"`
}

// RuleIDParams are the params of hooks.remove, hooks.disable and
// hooks.enable.
type RuleIDParams struct {
	ID string `json:"id"`
}

// HooksRemoveResult is hooks.remove's result.
type HooksRemoveResult struct {
	ID      string `json:"id"`
	Removed bool   `json:"removed"`
}

// HooksDisableResult is hooks.disable's result.
type HooksDisableResult struct {
	ID       string `json:"id"`
	Disabled bool   `json:"disabled"`
}

// HooksEnableResult is hooks.enable's result.
type HooksEnableResult struct {
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
}

// HooksTestParams are hooks.test's params: a whole hook input (Payload),
// or one built from Tool, Command and Input.
type HooksTestParams struct {
	Event   string          `json:"event,omitempty"` // "": pre_tool
	Tool    string          `json:"tool,omitempty"`
	Command string          `json:"command,omitempty"`
	Input   json.RawMessage `json:"input,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Cwd is the session directory of the input built from the other
	// fields ("": "."); rules about the project (special read_only,
	// outside_cwd) judge paths against it. cb hooks test sends its own.
	Cwd string `json:"cwd,omitempty"`
}

// HooksTestResult is hooks.test's result.
type HooksTestResult struct {
	Result HookResult `json:"result"`
	// Output is exactly what the hook prints for Claude Code.
	Output string `json:"output"`
	// Commands are, for Bash, the normalized simple commands the rules
	// were matched against; empty for other tools.
	Commands []string `json:"commands"`
}

// AuditRecord is one recorded hook decision
// (common.json#/$defs/auditRecord).
type AuditRecord struct {
	ID        string `json:"id"` // the hook request's event id
	Time      Time   `json:"time"`
	SessionID string `json:"sessionId,omitempty"`
	Event     string `json:"event"` // the method, e.g. "hook.pre_tool"
	Tool      string `json:"tool,omitempty"`
	// Decision is allow, deny, ask, modify, context or none.
	Decision      string   `json:"decision"`
	RuleIDs       []string `json:"ruleIds,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	LatencyMicros int64    `json:"latencyMicros" schema:"optional"`
	InstanceID    string   `json:"instanceId,omitempty"` // the cbd that decided
}

// AuditListParams are audit.list's params.
type AuditListParams struct {
	Session  string `json:"session,omitempty"`
	Decision string `json:"decision,omitempty"`
	Tool     string `json:"tool,omitempty"`
	// Since is a duration ("1h": that long ago) or an RFC 3339 time.
	Since string `json:"since,omitempty"`
	Limit int    `json:"limit,omitempty"` // 0: 100
	// After is the NextCursor of the previous page (same filters).
	After string `json:"after,omitempty"`
}

// AuditListResult is audit.list's result, newest first.
type AuditListResult struct {
	Records []AuditRecord `json:"records"`
	// NextCursor, set when more records match, is the After of the next
	// page.
	NextCursor string `json:"nextCursor,omitempty"`
}
