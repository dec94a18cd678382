package api

import "encoding/json"

// The inputs of the hook events beyond the first ten (reference §2.3).
// Claude Code adds optional fields often; unknown fields are allowed.

// MCPServer names the MCP server of an mcp__* tool call.
type MCPServer struct {
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"`
}

// PostToolUseFailureInput is hook.post_tool_use_failure's input.
type PostToolUseFailureInput struct {
	ToolEvent
	Error       string  `json:"error"`
	IsInterrupt bool    `json:"is_interrupt,omitempty"`
	DurationMS  float64 `json:"duration_ms,omitempty"`
}

// ToolCall is one call of a PostToolBatch.
type ToolCall struct {
	ToolName     string          `json:"tool_name,omitempty"`
	ToolInput    json.RawMessage `json:"tool_input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	ToolResponse json.RawMessage `json:"tool_response,omitempty"` // any JSON value
}

// PostToolBatchInput is hook.post_tool_batch's input.
type PostToolBatchInput struct {
	HookCommon
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// UserPromptExpansionInput is hook.user_prompt_expansion's input.
type UserPromptExpansionInput struct {
	HookCommon
	ExpansionType string `json:"expansion_type,omitempty"`
	CommandName   string `json:"command_name,omitempty"`
	CommandArgs   string `json:"command_args,omitempty"`
	CommandSource string `json:"command_source,omitempty"`
	Prompt        string `json:"prompt,omitempty"`
}

// StopFailureInput is hook.stop_failure's input.
type StopFailureInput struct {
	HookCommon
	Error                string `json:"error,omitempty"`
	ErrorDetails         string `json:"error_details,omitempty"`
	LastAssistantMessage string `json:"last_assistant_message,omitempty"`
}

// SubagentStartInput is hook.subagent_start's input (agent_id and
// agent_type are HookCommon's).
type SubagentStartInput struct {
	HookCommon
}

// CompactInput is hook.post_compact's input.
type CompactInput struct {
	HookCommon
	Trigger        string `json:"trigger,omitempty"`
	CompactSummary string `json:"compact_summary,omitempty"`
}

// ModelSwitchInput is the input of hook.pre_model_switch and
// hook.post_model_switch.
type ModelSwitchInput struct {
	HookCommon
	FromModel              string  `json:"from_model,omitempty"`
	ToModel                string  `json:"to_model,omitempty"`
	RequestedModel         *string `json:"requested_model,omitempty"`
	Source                 string  `json:"source,omitempty"`
	ContextTokens          float64 `json:"context_tokens,omitempty"`
	PromptCacheWarm        bool    `json:"prompt_cache_warm,omitempty"`
	CacheTTL               string  `json:"cache_ttl,omitempty"`
	EstimatedCacheWriteUSD float64 `json:"estimated_cache_write_usd,omitempty"`
	Pricing                string  `json:"pricing,omitempty"`
}

// PermissionRequestInput is hook.permission_request's input: a tool call
// without tool_use_id.
type PermissionRequestInput struct {
	HookCommon
	ToolName              string            `json:"tool_name"`
	ToolInput             json.RawMessage   `json:"tool_input"`
	PermissionSuggestions []json.RawMessage `json:"permission_suggestions,omitempty"`
	MCPServer             *MCPServer        `json:"mcp_server,omitempty"`
}

// PermissionDeniedInput is hook.permission_denied's input.
type PermissionDeniedInput struct {
	ToolEvent
	Reason string `json:"reason,omitempty"`
}

// SetupInput is hook.setup's input.
type SetupInput struct {
	HookCommon
	Trigger string `json:"trigger,omitempty"`
}

// TeammateIdleInput is hook.teammate_idle's input.
type TeammateIdleInput struct {
	HookCommon
	TeammateName string `json:"teammate_name,omitempty"`
	TeamName     string `json:"team_name,omitempty"`
}

// TaskEventInput is the input of hook.task_created and hook.task_completed.
type TaskEventInput struct {
	HookCommon
	TaskID          string `json:"task_id,omitempty"`
	TaskSubject     string `json:"task_subject,omitempty"`
	TaskDescription string `json:"task_description,omitempty"`
	TeammateName    string `json:"teammate_name,omitempty"`
	TeamName        string `json:"team_name,omitempty"`
}

// ElicitationInput is hook.elicitation's input.
type ElicitationInput struct {
	HookCommon
	MCPServerName   string          `json:"mcp_server_name,omitempty"`
	Message         string          `json:"message,omitempty"`
	Mode            string          `json:"mode,omitempty"`
	URL             string          `json:"url,omitempty"`
	ElicitationID   string          `json:"elicitation_id,omitempty"`
	RequestedSchema json.RawMessage `json:"requested_schema,omitempty"`
}

// ElicitationResultInput is hook.elicitation_result's input.
type ElicitationResultInput struct {
	HookCommon
	MCPServerName string          `json:"mcp_server_name,omitempty"`
	ElicitationID string          `json:"elicitation_id,omitempty"`
	Mode          string          `json:"mode,omitempty"`
	Action        string          `json:"action,omitempty"`
	Content       json.RawMessage `json:"content,omitempty"`
}

// ConfigChangeInput is hook.config_change's input.
type ConfigChangeInput struct {
	HookCommon
	Source   string `json:"source,omitempty"`
	FilePath string `json:"file_path,omitempty"`
}

// WorktreeCreateInput is hook.worktree_create's input.
type WorktreeCreateInput struct {
	HookCommon
	Name string `json:"name,omitempty"`
}

// WorktreeRemoveInput is hook.worktree_remove's input.
type WorktreeRemoveInput struct {
	HookCommon
	WorktreePath string `json:"worktree_path,omitempty"`
}

// InstructionsLoadedInput is hook.instructions_loaded's input.
type InstructionsLoadedInput struct {
	HookCommon
	FilePath        string   `json:"file_path,omitempty"`
	MemoryType      string   `json:"memory_type,omitempty"`
	LoadReason      string   `json:"load_reason,omitempty"`
	Globs           []string `json:"globs,omitempty"`
	TriggerFilePath string   `json:"trigger_file_path,omitempty"`
	ParentFilePath  string   `json:"parent_file_path,omitempty"`
}

// CwdChangedInput is hook.cwd_changed's input.
type CwdChangedInput struct {
	HookCommon
	OldCwd string `json:"old_cwd,omitempty"`
	NewCwd string `json:"new_cwd,omitempty"`
}

// FileChangedInput is hook.file_changed's input.
type FileChangedInput struct {
	HookCommon
	FilePath string `json:"file_path,omitempty"`
	Event    string `json:"event,omitempty"`
}

// DirectoryAddedInput is hook.directory_added's input.
type DirectoryAddedInput struct {
	HookCommon
	Directory string `json:"directory,omitempty"`
	Source    string `json:"source,omitempty"`
}

// MessageDisplayInput is hook.message_display's input.
type MessageDisplayInput struct {
	HookCommon
	TurnID    string `json:"turn_id,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	Index     int    `json:"index,omitempty"`
	Final     bool   `json:"final,omitempty"`
	Delta     string `json:"delta,omitempty"`
}
