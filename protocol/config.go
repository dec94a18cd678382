package protocol

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ConfigKey documents one configuration key. Keys are dotted ("redis.url");
// each can be set in the config file, by an environment variable (EnvName)
// and, for cbd, by a flag of the same name.
type ConfigKey struct {
	Name    string
	Default any
	Doc     string
}

// HookEvents lists the hook types cb handles; hook.<event>.fail_mode exists
// for each. Keep in step with the HookEvent table in hooks.go (a test does).
var hookEventNames = []string{"pre_tool", "post_tool", "user_prompt", "todo_write", "session_start",
	"session_end", "stop", "subagent_stop", "notification", "pre_compact"}

// ConfigKeys is the one table of configuration keys with their defaults. The
// README's table, viper's defaults in cbd and cb's lean reader all use it.
var ConfigKeys = func() []ConfigKey {
	keys := []ConfigKey{
		{"redis.url", "", "Redis to use (redis://, rediss://, unix://). Empty: cbd manages its own (see redis.mode) and cb reads the address cbd wrote to the runtime dir."},
		{"redis.mode", "auto", "When redis.url is empty: auto (managed if redis-server is on PATH, else embedded), managed, or embedded."},
		{"redis.server", "redis-server", "The redis-server binary managed mode runs."},
		{"instance.id", "", "This cbd's instance id and consumer name; empty means the host name. Give each cbd on one host its own."},
		{"instance.roles", []string{}, "Roles of this instance; empty = it runs every handler. Otherwise it runs the handlers without roles (system.*) and those of its roles: hooks (hook.*), tasks (task.*), admin (hooks.*, audit.list)."},
		{"instance.heartbeat", 10 * time.Second, "How often the instance renews its registration."},
		{"instance.ttl", 30 * time.Second, "How long a registration lives without a heartbeat."},
		{"instance.lease", 3 * time.Second, "How long callers take a cbd as serving after it last renewed its lease (it renews every third of this, apart from the heartbeat). A cbd that crashed or was stopped (SIGSTOP) is passed over within this time: cb hook then answers its fail mode at once instead of waiting for its deadline."},
		{"dispatch.concurrency", 128, "Handlers running at once in one cbd."},
		{"dispatch.batch", 64, "Entries one XREADGROUP reads at most (COUNT)."},
		{"dispatch.block", time.Second, "How long one XREADGROUP blocks (BLOCK)."},
		{"dispatch.response_ttl", time.Minute, "How long an unread answer is kept in cb:response:{id}."},
		{"dispatch.claim_idle", 30 * time.Second, "A request read by an instance whose heartbeat is gone is taken over after it has been idle this long (a live instance's after 10x this)."},
		{"dispatch.max_deliveries", 3, "Deliveries after which a request whose handler keeps crashing goes to the dead-letter stream (cb:stream:system.deadletter)."},
		{"events.retention", 24 * time.Hour, "How long events are kept in the streams (never dropping entries still pending)."},
		{"events.max_payload_bytes", 64 << 10, "Largest request kept in a stream for events.retention: after cbd has handled a request whose entry is larger, it replaces the entry with a copy whose long strings (tool_response, content, ...) are cut short with a marker \"…[truncated N bytes]\" (the handler, and so every hook decision, saw the whole input); 0 = keep every entry whole."},
		{"handlers.timeout", 5 * time.Second, "Default handler timeout (context deadline)."},
		{"handlers.rate_limit", 100, "Requests per second one source (session, else producer) may make of one handler, across all instances; 0 = no limit. Per method: handlers.<method with _ for .>.rate_limit, e.g. handlers.task_create.rate_limit. Requests sent over Redis are checked as they are appended (cbd publishes the limits in cb:limits), those over HTTP by cbd. A hook request is never refused for its rate: over the limit its rules are still evaluated and only its extras are shed (a no-opinion answer is not audited), counted as shed in system.metrics and cb_rejections_total{reason=\"shed\"}."},
		{"handlers.circuit_failures", 5, "Handler failures (internal errors, timeouts) within handlers.circuit_window that open its circuit, on every instance. Per method: handlers.<method>.circuit_failures."},
		{"handlers.circuit_window", 10 * time.Second, "Window in which circuit failures are counted."},
		{"handlers.circuit_open_for", 5 * time.Second, "How long an open circuit rejects calls before letting probes through (half-open)."},
		{"handlers.circuit_probes", 1, "Calls let through while half-open; a success closes the circuit, a failure opens it again."},
		{"handlers.circuit_recheck", 100 * time.Millisecond, "For a call with no rate limit to check here (none set, or checked by the caller as it appended the request), how long an instance trusts that its handler's circuit is closed before asking Redis again (a circuit another instance opened is seen within this time; a local failure asks at once); 0 = ask on every call."},
		{"shutdown.timeout", 10 * time.Second, "The longest a graceful shutdown takes: in-flight handlers finish, cbd unregisters and every service stops within it, even with Redis hung; unfinished requests stay pending for another instance."},
		{"log.level", "info", "cbd log level: debug, info, warn, error."},
		{"log.format", "text", "cbd log format: text or json."},
		{"store.url", "", "Durable store: empty = SQLite file in the data dir; postgres://... = PostgreSQL (shared by several cbd)."},
		{"tasks.reclaim_after", 45 * time.Second, "A task claimed by a registered instance goes back to the queue when that instance's last heartbeat is older than this."},
		{"tasks.reaper_interval", 5 * time.Second, "How often each cbd looks for tasks held by dead instances or past their lease."},
		{"tasks.max_attempts", 3, "Claims a task gets before a dead worker or an expired lease makes it failed instead of pending."},
		{"tasks.lease", 30 * time.Minute, "How long a claim (task.claim by any worker, task.assign, a todo in progress) holds a task unless renewed (task.renew; cb work renews while its command runs). An expired lease gives the task back to the queue like a dead worker's, counting the attempt. A claim can ask for its own lease (leaseMs)."},
		{"tasks.todo_sync", true, "Turn Claude Code's todos (TodoWrite, TaskCreate, TaskUpdate) into tasks."},
		{"http.enabled", true, "Serve HTTP (JSON-RPC, WebSocket, MCP, dashboard, metrics, Claude Code http hooks)."},
		{"http.addr", "127.0.0.1:7711", "HTTP listen address; anything but loopback requires the API token on every request."},
		{"http.allowed_hosts", []string{}, "Host header values accepted besides localhost, 127.0.0.1, [::1] and the listen address (DNS-rebinding guard)."},
		{"http.cors_origins", []string{}, "Browser origins allowed to call the API (CORS); empty = same origin only."},
		{"http.max_body_bytes", 1 << 20, "Largest HTTP request body (hook bodies may be up to hook.max_input_bytes)."},
		{"http.ws_max_message_bytes", 1 << 20, "Largest WebSocket message."},
		{"http.token_file", "", "File holding the API token (0600, created on first start); empty = token in the config dir."},
		{"hook.prompt_tasks_context", false, "On UserPromptSubmit, add the session's in-progress tasks to Claude's context."},
		{"hook.audit", true, "Record every hook decision in the store (cb audit) and on cb:stream:hook.decision."},
		{"hook.timeout", 2 * time.Second, "cb hook's own deadline for the whole round trip; keep it below the timeout in Claude Code's settings."},
		{"hook.fail_mode", "open", "What cb hook does when it gets no answer: open (no opinion, exit 0) or closed (deny / block with a reason naming the problem). Inherited only by the hooks that gate an action (pre_tool, user_prompt): a block from the others stops nothing or makes Claude keep working (Stop), so they fail closed only when set per type."},
		{"hook.max_input_bytes", 16 << 20, "Largest hook input cb hook accepts on stdin."},
		{"hook.duplicate_keys", "last", "A hook input that names a key twice in one object (e.g. two \"command\" in tool_input) is judged on the last value, as Claude Code (JavaScript) reads it (last), or not judged at all and answered per the hook's fail mode (refuse)."},
		{"hook.default_rules", true, "Apply the shipped default rules (README, Hook rules)."},
		{"hook.disabled_rules", []string{}, "Ids of rules to switch off."},
		{"hook.rules", []any{}, "Your own rules (a YAML list; see README, Hook rules)."},
	}
	for _, ev := range hookEventNames {
		keys = append(keys, ConfigKey{"hook." + ev + ".fail_mode", "", "Fail mode for cb hook " + ev + "; empty inherits hook.fail_mode (pre_tool and user_prompt only; the others stay open)."})
	}
	return keys
}()

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
