package protocol

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Config is the configuration of both binaries, one field per key. A
// field's cb tag is its key segment (nested structs join theirs with a dot:
// Redis.URL is redis.url), its default tag the default in the form a config
// file or environment variable would write it, and its doc comment the text
// of the README's table (copied into config_fields.go, so that the help
// of both binaries has it and cb hook, which never shows it, does not link
// it). Each key can be set in the config file, by an
// environment variable (EnvName) and, for cbd, by a flag of the same name.
// Per-method handler settings (HandlerKey) are not fields: they are looked
// up by the loaders for the methods that exist.
type Config struct {
	Redis    RedisConfig    `cb:"redis"`
	Instance InstanceConfig `cb:"instance"`
	Dispatch DispatchConfig `cb:"dispatch"`
	Events   EventsConfig   `cb:"events"`
	Handlers HandlersConfig `cb:"handlers"`
	Shutdown ShutdownConfig `cb:"shutdown"`
	Log      LogConfig      `cb:"log"`
	Store    StoreConfig    `cb:"store"`
	Tasks    TasksConfig    `cb:"tasks"`
	Audit    AuditConfig    `cb:"audit"`
	HTTP     HTTPConfig     `cb:"http"`
	Hook     HookConfig     `cb:"hook"`
}

// RedisConfig holds the redis.* keys.
type RedisConfig struct {
	// Redis to use (redis://, rediss://, unix://). Empty: cbd manages its own (see
	// redis.mode) and cb reads the address cbd wrote to the runtime dir.
	URL string `cb:"url" default:""`
	// When redis.url is empty: auto (managed if redis-server is on PATH, else
	// embedded), managed, or embedded.
	Mode string `cb:"mode" default:"auto"`
	// The redis-server binary managed mode runs.
	Server string `cb:"server" default:"redis-server"`
}

// InstanceConfig holds the instance.* keys.
type InstanceConfig struct {
	// This cbd's instance id and consumer name; empty means the host name. Give
	// each cbd on one host its own.
	ID string `cb:"id" default:""`
	// Roles of this instance; empty = it runs every handler. Otherwise it runs the
	// handlers without roles (system.*) and those of its roles: hooks (hook.*),
	// tasks (task.*), admin (hooks.*, audit.list).
	Roles []string `cb:"roles" default:""`
	// How often the instance renews its registration.
	Heartbeat time.Duration `cb:"heartbeat" default:"10s"`
	// How long a registration lives without a heartbeat.
	TTL time.Duration `cb:"ttl" default:"30s"`
	// How long callers take a cbd as serving after it last renewed its lease (it
	// renews every third of this, apart from the heartbeat). A cbd that crashed or
	// was stopped (SIGSTOP) is passed over within this time: cb hook then answers
	// its fail mode at once instead of waiting for its deadline.
	Lease time.Duration `cb:"lease" default:"3s"`
}

// DispatchConfig holds the dispatch.* keys.
type DispatchConfig struct {
	// Handlers running at once in one cbd.
	Concurrency int `cb:"concurrency" default:"128"`
	// Entries one XREADGROUP reads at most (COUNT).
	Batch int `cb:"batch" default:"64"`
	// How long one XREADGROUP blocks (BLOCK).
	Block time.Duration `cb:"block" default:"1s"`
	// How long an unread answer is kept in cb:response:{id}.
	ResponseTTL time.Duration `cb:"response_ttl" default:"1m"`
	// A request read by an instance whose heartbeat is gone is taken over after it
	// has been idle this long (a live instance's after 10x this).
	ClaimIdle time.Duration `cb:"claim_idle" default:"30s"`
	// Deliveries after which a request whose handler keeps crashing goes to the
	// dead-letter stream (cb:stream:system.deadletter).
	MaxDeliveries int `cb:"max_deliveries" default:"3"`
}

// EventsConfig holds the events.* keys.
type EventsConfig struct {
	// How long events are kept in the streams (never dropping entries still
	// pending).
	Retention time.Duration `cb:"retention" default:"24h"`
	// Largest request kept in a stream for events.retention: after cbd has handled
	// a request whose entry is larger, it replaces the entry with a copy whose
	// long strings (tool_response, content, ...) are cut short with a marker
	// "…[truncated N bytes]" (the handler, and so every hook decision, saw the
	// whole input); 0 = keep every entry whole.
	MaxPayloadBytes int `cb:"max_payload_bytes" default:"65536"`
}

// HandlersConfig holds the handlers.* keys.
type HandlersConfig struct {
	// Default handler timeout (context deadline).
	Timeout time.Duration `cb:"timeout" default:"5s"`
	// Requests per second one source (session, else producer) may make of one
	// handler, across all instances; 0 = no limit. Per method: handlers.<method
	// with _ for .>.rate_limit, e.g. handlers.task_create.rate_limit. Requests
	// sent over Redis are checked as they are appended (cbd publishes the limits
	// in cb:limits), those over HTTP by cbd. A hook request is never refused for
	// its rate: over the limit its rules are still evaluated and only its extras
	// are shed (a no-opinion answer is not audited), counted as shed in
	// system.metrics and cb_rejections_total{reason="shed"}.
	RateLimit int `cb:"rate_limit" default:"100"`
	// Handler failures (internal errors, timeouts) within handlers.circuit_window
	// that open its circuit, on every instance. Per method:
	// handlers.<method>.circuit_failures.
	CircuitFailures int `cb:"circuit_failures" default:"5"`
	// Window in which circuit failures are counted.
	CircuitWindow time.Duration `cb:"circuit_window" default:"10s"`
	// How long an open circuit rejects calls before letting probes through
	// (half-open).
	CircuitOpenFor time.Duration `cb:"circuit_open_for" default:"5s"`
	// Calls let through while half-open; a success closes the circuit, a failure
	// opens it again.
	CircuitProbes int `cb:"circuit_probes" default:"1"`
	// For a call with no rate limit to check here (none set, or checked by the
	// caller as it appended the request), how long an instance trusts that its
	// handler's circuit is closed before asking Redis again (a circuit another
	// instance opened is seen within this time; a local failure asks at once); 0 =
	// ask on every call.
	CircuitRecheck time.Duration `cb:"circuit_recheck" default:"100ms"`
}

// ShutdownConfig holds the shutdown.* keys.
type ShutdownConfig struct {
	// The longest a graceful shutdown takes: in-flight handlers finish, cbd
	// unregisters and every service stops within it, even with Redis hung;
	// unfinished requests stay pending for another instance.
	Timeout time.Duration `cb:"timeout" default:"10s"`
}

// LogConfig holds the log.* keys.
type LogConfig struct {
	// cbd log level: debug, info, warn, error.
	Level string `cb:"level" default:"info"`
	// cbd log format: text or json.
	Format string `cb:"format" default:"text"`
}

// StoreConfig holds the store.* keys.
type StoreConfig struct {
	// Durable store: empty = SQLite file in the data dir; postgres://... =
	// PostgreSQL (shared by several cbd).
	URL string `cb:"url" default:""`
}

// TasksConfig holds the tasks.* keys.
type TasksConfig struct {
	// A task claimed by a registered instance goes back to the queue when that
	// instance's last heartbeat is older than this.
	ReclaimAfter time.Duration `cb:"reclaim_after" default:"45s"`
	// How often each cbd looks for tasks held by dead instances or past their
	// lease.
	ReaperInterval time.Duration `cb:"reaper_interval" default:"5s"`
	// Claims a task gets before a dead worker or an expired lease makes it failed
	// instead of pending.
	MaxAttempts int `cb:"max_attempts" default:"3"`
	// How long a claim (task.claim by any worker, task.assign, a todo in progress)
	// holds a task unless renewed (task.renew; cb work renews while its command
	// runs). An expired lease gives the task back to the queue like a dead
	// worker's, counting the attempt. A claim can ask for its own lease (leaseMs).
	Lease time.Duration `cb:"lease" default:"30m"`
	// Turn Claude Code's todos and tasks (TodoWrite, TaskCreate, TaskUpdate, the
	// TaskCreated and TaskCompleted events) into tasks, one per todo.
	TodoSync bool `cb:"todo_sync" default:"true"`
	// Which Claude Code sessions are handed their next queued task when they would
	// stop (work feeding): none (only those opted in with cb task work --session)
	// or all (every session but those opted out with cb task work --off).
	FeedSessions string `cb:"feed_sessions" default:"none"`
	// Most times in a row work feeding blocks one session's stop (new tasks and
	// reminders alike), then it gives an unfinished task back to the queue and
	// lets the session stop. Keep it at or below Claude Code's
	// CLAUDE_CODE_STOP_HOOK_BLOCK_CAP (8), past which the client ends the turn
	// anyway; 0 or less: no limit.
	FeedMaxBlocks int `cb:"feed_max_blocks" default:"8"`
	// How long finished (completed or failed) tasks stay in the store after they
	// finished: older ones are deleted in small batches by a background service
	// (export them first with cb task export --before). Pending and in-progress
	// tasks are never removed. 0 = keep them forever.
	HistoryRetention time.Duration `cb:"history_retention" default:"2160h"`
	// Largest attachment value (task.attach), in bytes of its JSON: a note, a
	// file list, links or a result. A bigger one is refused (invalid params);
	// a task.complete result bigger than this is kept on the task but not
	// stored as its result attachment.
	AttachmentMaxBytes int `cb:"attachment_max_bytes" default:"65536"`
	// Most attachments one task holds; attaching another key is refused
	// (replacing an existing key is not). The result task.complete keeps
	// is stored even past it.
	MaxAttachments int `cb:"max_attachments" default:"64"`
}

// AuditConfig holds the audit.* keys.
type AuditConfig struct {
	// How long hook decisions stay in the store's audit trail: older records are
	// deleted in small batches by a background service. 0 = keep them forever.
	Retention time.Duration `cb:"retention" default:"720h"`
}

// HTTPConfig holds the http.* keys.
type HTTPConfig struct {
	// Serve HTTP (JSON-RPC, WebSocket, MCP, dashboard, metrics, Claude Code http
	// hooks).
	Enabled bool `cb:"enabled" default:"true"`
	// HTTP listen address; anything but loopback requires the API token on every
	// request.
	Addr string `cb:"addr" default:"127.0.0.1:7711"`
	// Host header values accepted besides localhost, 127.0.0.1, [::1] and the
	// listen address (DNS-rebinding guard).
	AllowedHosts []string `cb:"allowed_hosts" default:""`
	// Browser origins allowed to call the API (CORS); empty = same origin only.
	CORSOrigins []string `cb:"cors_origins" default:""`
	// Largest HTTP request body (hook bodies may be up to hook.max_input_bytes).
	MaxBodyBytes int `cb:"max_body_bytes" default:"1048576"`
	// Largest WebSocket message.
	WSMaxMessageBytes int `cb:"ws_max_message_bytes" default:"1048576"`
	// File holding the API token (0600, created on first start); empty = token in
	// the config dir.
	TokenFile string `cb:"token_file" default:""`
}

// HookConfig holds the hook.* keys.
type HookConfig struct {
	// On UserPromptSubmit, add the session's in-progress tasks to Claude's
	// context.
	PromptTasksContext bool `cb:"prompt_tasks_context" default:"false"`
	// Record every hook decision in the store (cb audit) and on
	// cb:stream:hook.decision.
	Audit bool `cb:"audit" default:"true"`
	// cb hook's own deadline for the whole round trip; keep it below the timeout
	// in Claude Code's settings.
	Timeout time.Duration `cb:"timeout" default:"2s"`
	// What cb hook does when it gets no answer: open (no opinion, exit 0) or
	// closed (deny / block with a reason naming the problem). Inherited only by
	// the hooks that gate an action (pre_tool, user_prompt, user_prompt_expansion,
	// permission_request, pre_model_switch): a block from the
	// others stops nothing or makes Claude keep working (Stop), so they fail
	// closed only when set per type.
	FailMode string `cb:"fail_mode" default:"open"`
	// Largest hook input cb hook accepts on stdin.
	MaxInputBytes int `cb:"max_input_bytes" default:"16777216"`
	// A hook input that names a key twice in one object (e.g. two "command" in
	// tool_input) is judged on the last value, as Claude Code (JavaScript) reads
	// it (last), or not judged at all and answered per the hook's fail mode
	// (refuse).
	DuplicateKeys string `cb:"duplicate_keys" default:"last"`
	// Apply the shipped default rules (README, Hook rules).
	DefaultRules bool `cb:"default_rules" default:"true"`
	// Ids of rules to switch off.
	DisabledRules []string `cb:"disabled_rules" default:""`
	// Opt-in rule sets shipped with cb, by name: read_only approves Claude
	// Code's permission dialog for calls that only read inside the project
	// (README, Read-only rule set).
	RuleSets []string `cb:"rule_sets" default:""`
	// Your own rules (a YAML list; see README, Hook rules).
	Rules any `cb:"rules" default:"[]"`
	// Per hook type (hook.<type>.fail_mode), one field per HookEvents entry.
	PreTool             HookTypeConfig `cb:"pre_tool"`
	PostTool            HookTypeConfig `cb:"post_tool"`
	UserPrompt          HookTypeConfig `cb:"user_prompt"`
	TodoWrite           HookTypeConfig `cb:"todo_write"`
	SessionStart        HookTypeConfig `cb:"session_start"`
	SessionEnd          HookTypeConfig `cb:"session_end"`
	Stop                HookTypeConfig `cb:"stop"`
	SubagentStop        HookTypeConfig `cb:"subagent_stop"`
	Notification        HookTypeConfig `cb:"notification"`
	PreCompact          HookTypeConfig `cb:"pre_compact"`
	PostToolUseFailure  HookTypeConfig `cb:"post_tool_use_failure"`
	PostToolBatch       HookTypeConfig `cb:"post_tool_batch"`
	UserPromptExpansion HookTypeConfig `cb:"user_prompt_expansion"`
	StopFailure         HookTypeConfig `cb:"stop_failure"`
	SubagentStart       HookTypeConfig `cb:"subagent_start"`
	PostCompact         HookTypeConfig `cb:"post_compact"`
	PreModelSwitch      HookTypeConfig `cb:"pre_model_switch"`
	PostModelSwitch     HookTypeConfig `cb:"post_model_switch"`
	PermissionRequest   HookTypeConfig `cb:"permission_request"`
	PermissionDenied    HookTypeConfig `cb:"permission_denied"`
	Setup               HookTypeConfig `cb:"setup"`
	TeammateIdle        HookTypeConfig `cb:"teammate_idle"`
	TaskCreated         HookTypeConfig `cb:"task_created"`
	TaskCompleted       HookTypeConfig `cb:"task_completed"`
	Elicitation         HookTypeConfig `cb:"elicitation"`
	ElicitationResult   HookTypeConfig `cb:"elicitation_result"`
	ConfigChange        HookTypeConfig `cb:"config_change"`
	WorktreeCreate      HookTypeConfig `cb:"worktree_create"`
	WorktreeRemove      HookTypeConfig `cb:"worktree_remove"`
	InstructionsLoaded  HookTypeConfig `cb:"instructions_loaded"`
	CwdChanged          HookTypeConfig `cb:"cwd_changed"`
	FileChanged         HookTypeConfig `cb:"file_changed"`
	DirectoryAdded      HookTypeConfig `cb:"directory_added"`
	MessageDisplay      HookTypeConfig `cb:"message_display"`
}

// HookTypeConfig holds the keys of one hook type, hook.<type>.*; "<type>"
// in a doc comment stands for the type.
type HookTypeConfig struct {
	// Fail mode for cb hook <type>; empty inherits hook.fail_mode (the events
	// that gate an action: pre_tool, user_prompt, user_prompt_expansion,
	// permission_request, pre_model_switch; the others stay open).
	FailMode string `cb:"fail_mode" default:""`
}

// Type returns the settings of one hook type (nil for a type not in
// HookEvents).
func (h *HookConfig) Type(hookType string) *HookTypeConfig {
	switch hookType {
	case "pre_tool":
		return &h.PreTool
	case "post_tool":
		return &h.PostTool
	case "user_prompt":
		return &h.UserPrompt
	case "todo_write":
		return &h.TodoWrite
	case "session_start":
		return &h.SessionStart
	case "session_end":
		return &h.SessionEnd
	case "stop":
		return &h.Stop
	case "subagent_stop":
		return &h.SubagentStop
	case "notification":
		return &h.Notification
	case "pre_compact":
		return &h.PreCompact
	case "post_tool_use_failure":
		return &h.PostToolUseFailure
	case "post_tool_batch":
		return &h.PostToolBatch
	case "user_prompt_expansion":
		return &h.UserPromptExpansion
	case "stop_failure":
		return &h.StopFailure
	case "subagent_start":
		return &h.SubagentStart
	case "post_compact":
		return &h.PostCompact
	case "pre_model_switch":
		return &h.PreModelSwitch
	case "post_model_switch":
		return &h.PostModelSwitch
	case "permission_request":
		return &h.PermissionRequest
	case "permission_denied":
		return &h.PermissionDenied
	case "setup":
		return &h.Setup
	case "teammate_idle":
		return &h.TeammateIdle
	case "task_created":
		return &h.TaskCreated
	case "task_completed":
		return &h.TaskCompleted
	case "elicitation":
		return &h.Elicitation
	case "elicitation_result":
		return &h.ElicitationResult
	case "config_change":
		return &h.ConfigChange
	case "worktree_create":
		return &h.WorktreeCreate
	case "worktree_remove":
		return &h.WorktreeRemove
	case "instructions_loaded":
		return &h.InstructionsLoaded
	case "cwd_changed":
		return &h.CwdChanged
	case "file_changed":
		return &h.FileChanged
	case "directory_added":
		return &h.DirectoryAdded
	case "message_display":
		return &h.MessageDisplay
	}
	return nil
}

// FailMode is the fail mode of a hook type, "open" or "closed":
// hook.<type>.fail_mode, else hook.fail_mode for the events that gate an
// action (see HookEvent.Gates). cb hook and cbd both decide with it.
func (c *Config) FailMode(hookType string) string {
	var m string
	if t := c.Hook.Type(hookType); t != nil {
		m = t.FailMode
	}
	if m == "" {
		if he, ok := LookupHookEvent(hookType); ok && !he.Gates {
			return "open"
		}
		m = c.Hook.FailMode
	}
	if m == "closed" {
		return "closed"
	}
	return "open"
}

// ConfigKey documents one configuration key: a field of Config.
type ConfigKey struct {
	Name string // dotted: "redis.url"
	// Default is the field's default value: a string, int, bool,
	// time.Duration, []string, or []any for a structured key.
	Default any
	Doc     string
	index   []int
}

// Field returns a pointer to the field of c that holds the key: *string,
// *int, *bool, *time.Duration, *[]string, or *any for a structured value
// (the rule list: as YAML decodes it, a list or a mapping). Loaders fill a Config
// through it with a type switch.
func (k ConfigKey) Field(c *Config) any {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index).Addr().Interface()
}

// ConfigKeys returns the keys of Config in field order (the README's
// order), read from the struct's tags on first use. cb hook decodes with
// ConfigField instead, which needs no reflection.
func ConfigKeys() []ConfigKey {
	configKeys.once.Do(func() {
		walkConfig(reflect.TypeOf(Config{}), "", nil, &configKeys.keys)
	})
	return configKeys.keys
}

// configKeys is ConfigKeys' table; a function, not a variable, so that a
// binary that never asks for it (cb) does not link the walk.
var configKeys struct {
	once sync.Once
	keys []ConfigKey
}

func walkConfig(t reflect.Type, prefix string, index []int, keys *[]ConfigKey) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("cb")
		if !ok {
			panic("protocol.Config: field " + f.Name + " has no cb tag")
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct {
			walkConfig(f.Type, prefix+name+".", idx, keys)
			continue
		}
		if _, ok := f.Tag.Lookup("default"); !ok {
			panic("protocol.Config: field " + f.Name + " has no default tag")
		}
		var doc string
		if n := len(*keys); n < len(configDocs) {
			doc = configDocs[n]
		}
		*keys = append(*keys, ConfigKey{Name: prefix + name, Default: parseDefault(f), Doc: doc, index: idx})
	}
}

// parseDefault reads a field's default tag as a value of its type.
func parseDefault(f reflect.StructField) any {
	s := f.Tag.Get("default")
	var v any
	var err error
	switch f.Type {
	case reflect.TypeOf(""):
		v = s
	case reflect.TypeOf(0):
		v, err = strconv.Atoi(s)
	case reflect.TypeOf(false):
		v, err = strconv.ParseBool(s)
	case reflect.TypeOf(time.Duration(0)):
		v, err = time.ParseDuration(s)
	case reflect.TypeOf([]string(nil)):
		l := []string{}
		if s != "" {
			l = strings.Split(s, ",")
		}
		v = l
	case reflect.TypeOf((*any)(nil)).Elem():
		// A structured value (the rule list) read as YAML gives it;
		// its default is the empty list.
		if s != "[]" {
			err = errors.New("a structured key's default is []")
		}
		v = []any{}
	default:
		err = fmt.Errorf("type %s is not a config type", f.Type)
	}
	if err != nil {
		panic(fmt.Sprintf("protocol.Config: field %s: default %q: %v", f.Name, s, err))
	}
	return v
}

// ConfigField is one key of Config by its place in the struct, from 0 to
// NumConfigFields-1: for f := range ConfigField(NumConfigFields). The
// generated tables behind it hold no pointers, so they cost cb hook
// neither reflection nor relocated data at start.
type ConfigField int

// Name returns the key: "redis.url".
func (f ConfigField) Name() string {
	start, end := f.span()
	return configNames[start:end]
}

// IsEnv reports whether name is the key's environment variable,
// EnvName(f.Name()), without building it: cb hook matches the few CB_
// variables the environment holds against every key.
func (f ConfigField) IsEnv(name string) bool {
	key := f.Name()
	if len(name) != len(key)+3 || name[:3] != "CB_" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '.':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if name[3+i] != c {
			return false
		}
	}
	return true
}

// Field returns a pointer to the field of c that holds the key, as
// ConfigKey.Field does.
func (f ConfigField) Field(c *Config) any {
	// The generated offsets are unsafe.Offsetof constants, checked against
	// the struct by TestConfigFieldsGenerated.
	p := unsafe.Add(unsafe.Pointer(c), configOffsets[f])
	switch configKinds[f] {
	case kindString:
		return (*string)(p)
	case kindStrings:
		return (*[]string)(p)
	case kindDuration:
		return (*time.Duration)(p)
	case kindInt:
		return (*int)(p)
	case kindBool:
		return (*bool)(p)
	case kindAny:
		return (*any)(p)
	}
	return nil
}

// configKind is the Go type of a field of Config.
type configKind uint8

const (
	kindString configKind = iota
	kindStrings
	kindDuration
	kindInt
	kindBool
	kindAny
)

func (f ConfigField) span() (start, end int) {
	if f > 0 {
		start = int(configNameEnds[f-1])
	}
	return start, int(configNameEnds[f])
}

// HandlerKey is the config key of one handler setting for method:
// HandlerKey("task.create", "rate_limit") is "handlers.task_create.rate_limit".
func HandlerKey(method, setting string) string {
	return "handlers." + strings.ReplaceAll(method, ".", "_") + "." + setting
}

// EnvName returns the environment variable for a config key:
// "hook.pre_tool.fail_mode" → "CB_HOOK_PRE_TOOL_FAIL_MODE".
func EnvName(key string) string {
	return "CB_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Dirs are the per-user directories ClaudeBench uses.
type Dirs struct {
	Config  string // $XDG_CONFIG_HOME/claudebench
	Data    string // $XDG_DATA_HOME/claudebench
	Runtime string // $XDG_RUNTIME_DIR/claudebench, else $XDG_STATE_HOME/claudebench/run
}

// UserDirs resolves the XDG directories from the environment.
func UserDirs() Dirs {
	home, _ := os.UserHomeDir()
	env := func(name, fallback string) string {
		if v := os.Getenv(name); v != "" && filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(home, fallback)
	}
	d := Dirs{
		Config: filepath.Join(env("XDG_CONFIG_HOME", ".config"), "claudebench"),
		Data:   filepath.Join(env("XDG_DATA_HOME", ".local/share"), "claudebench"),
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		d.Runtime = filepath.Join(rt, "claudebench")
	} else {
		d.Runtime = filepath.Join(env("XDG_STATE_HOME", ".local/state"), "claudebench", "run")
	}
	return d
}

// ConfigFile is the config file both binaries read.
func (d Dirs) ConfigFile() string { return filepath.Join(d.Config, "config.yaml") }

// AddrFile is the 0600 file where cbd writes the Redis URL it serves and cb
// reads it when no URL is configured.
func (d Dirs) AddrFile() string { return filepath.Join(d.Runtime, "redis.url") }

// Version is the ClaudeBench version of both binaries, set at build time:
// -ldflags "-X github.com/claudebench/cb/protocol.Version=v1.2.3".
var Version = "dev"
