// Package install is cb install and cb uninstall (ClaudeBench's hooks in
// Claude Code's settings files) and cb doctor, which checks them along with
// the config, Redis, cbd and the hook latency.
package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/claudesettings"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/internal/loopback"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// cb install / cb uninstall merge ClaudeBench's hook entries into one of
// Claude Code's settings files and take them out again.
//
// The file is edited, never rewritten from a model of it (internal/jsonedit):
// it is parsed into an ordered tree whose nodes keep their original text,
// only the containers
// on the path to a change (the top-level object, "hooks", hooks.<Event> and
// the matcher groups touched) are re-printed, in the indentation the file
// already uses, and everything else is copied byte for byte. So a second
// install changes nothing, and install then uninstall gives back the same
// bytes for a file printed with a consistent indentation.
//
// An entry is ClaudeBench's when it runs `<cb> hook <type>` (shell form, or
// exec form with args ["hook", "<type>"]) where <cb> is a program named cb
// or the --command given, when it is an http hook to a loopback address
// (or http.addr) with the path /hooks/<type>, or when it is an mcp_tool hook
// calling the hook tool of the claudebench server with input.type <type>
// (mcpserver.go registers that server). Uninstall removes exactly those
// entries, then the matcher groups, hooks.<Event> arrays and the "hooks"
// object that they left empty; a file that install created is left as {}.

// Hook handler timeouts cb install writes, in seconds (Claude Code's unit).
const (
	installTimeout           = 10
	installSessionEndTimeout = 5 // SessionEnd's 1.5 s budget is raised to the largest timeout set
)

// httpHookKind tells which hook types --http makes http hooks: the
// observe-only ones (protocol.HookEvent.HTTP) and the deciding ones
// (Gates), which get onFailure:"block" when their fail mode is closed. The
// others stay command hooks: Private types (their answer can carry the
// user's data, so cbd wants the API token for them, and the API token is
// never written into a settings file), and SessionStart and Setup, on
// which Claude Code skips http hooks.
func httpHookKind(he protocol.HookEvent) bool {
	if he.ClaudeEvent == "SessionStart" || he.ClaudeEvent == "Setup" || he.Private {
		return false
	}
	return he.HTTP || he.Gates
}

// mcpHookKind tells which hook types --mcp makes mcp_tool hooks: all but
// Setup and SessionStart, for which Claude Code 2.1.328 has no MCP client
// yet (it skips the hook with "mcp_tool hooks are not available for the
// 'SessionStart' hook event (no MCP client context)", except for the
// SessionStart of /clear and compaction): those stay command hooks.
func mcpHookKind(he protocol.HookEvent) bool {
	return he.ClaudeEvent != "SessionStart" && he.ClaudeEvent != "Setup"
}

// onFailureIgnored are the events on which Claude Code ignores
// onFailure:"block" (with a warning): install does not write it there.
func onFailureIgnored(he protocol.HookEvent, kind string) bool {
	switch he.ClaudeEvent {
	case "Stop", "SubagentStop", "TaskCompleted", "TeammateIdle":
		return true
	case "SessionStart", "Setup":
		return kind == "mcp_tool"
	}
	return false
}

type installOptions struct {
	scope      string
	projectDir string
	command    string // --command, used verbatim as the program part of the command line
	dryRun     bool
	http       bool
	mcp        bool
	events     string // --events: default, all or a list
	httpAddr   string // http.addr, for --http and to recognise http entries
	uninstall  bool
	now        func() time.Time

	// failMode is the effective fail mode of a hook type
	// (protocol.Config.FailMode): "closed" gives --http and --mcp hooks
	// onFailure:"block". nil: every type fails open.
	failMode func(hookType string) string
	// tokenFile is the API token's file, which the MCP server entry of
	// --mcp reads at connection time (headersHelper); the token itself is
	// never written.
	tokenFile string

	// hookCredential is what the http hooks send (Authorization: Bearer),
	// derived from the API token (apitoken.HookCredential); --http only.
	hookCredential string
}

// HookRef names one hook entry in a report.
type HookRef struct {
	Type    string `json:"type"`
	Event   string `json:"event"`
	Handler string `json:"handler"` // the command line or URL
}

// settingsChange is what install or uninstall did (or would do) to a file.
type settingsChange struct {
	Scope   string    `json:"scope"`
	File    string    `json:"file"`
	Changed bool      `json:"changed"`
	DryRun  bool      `json:"dryRun,omitempty"`
	Created bool      `json:"created,omitempty"`
	Backup  string    `json:"backup,omitempty"`
	Added   []HookRef `json:"added,omitempty"`
	Present []HookRef `json:"present,omitempty"`
	Removed []HookRef `json:"removed,omitempty"`
	Notes   []string  `json:"notes,omitempty"`
	Diff    string    `json:"diff,omitempty"`
	// MCPServer is the change to the MCP server entry (--mcp, and
	// uninstall when one was there).
	MCPServer *mcpServerChange `json:"mcpServer,omitempty"`
}

// mcpServerChange is what install or uninstall did to the MCP server entry
// the mcp_tool hooks call.
type mcpServerChange struct {
	File    string `json:"file"`
	Key     string `json:"key"` // the JSON path of the entry: "mcpServers.claudebench"
	Added   bool   `json:"added,omitempty"`
	Present bool   `json:"present,omitempty"`
	Removed bool   `json:"removed,omitempty"`
	Backup  string `json:"backup,omitempty"`
	Diff    string `json:"diff,omitempty"`
}

// options are what the install and doctor commands share.
type options struct{ *cmdutil.Run }

// NewCmdInstall is `cb install`.
func NewCmdInstall(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.installCmd())
}

// NewCmdUninstall is `cb uninstall`.
func NewCmdUninstall(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.uninstallCmd())
}

func (r *options) installCmd() *cobra.Command {
	o := installOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Add ClaudeBench's hooks to Claude Code's settings",
		Long: `Adds one hook entry per ClaudeBench hook type to Claude Code's settings:
--scope user (~/.claude/settings.json, or $CLAUDE_CONFIG_DIR/settings.json
when Claude Code's CLAUDE_CONFIG_DIR is set; the default), project
(<dir>/.claude/settings.json) or local (<dir>/.claude/settings.local.json),
where <dir> is --project-dir or the current directory.

--events chooses the hook types: default (the set the README lists, with
why each is in), all (every type except those whose hook replaces what
Claude Code does: worktree_create, worktree_remove, message_display), or a
comma-separated list of cb types, their snake_case aliases or Claude Code
event names (pre_tool, permission_request, PreModelSwitch), which may also
name default and all. A replacing type is installed only when named.

The file is merged, never replaced: your keys, their order and your own hooks
stay; entries already there are left alone, so running it again changes
nothing. The previous file is copied to <file>.bak.<unix time> first.

Handlers, one kind per install:

  command (default)  "<cb> hook <type>": one cb process per event. Hooks run
                     the absolute path of this cb unless --command gives the
                     program; --command is used as written, so quote it for
                     the shell yourself (e.g. '"$CLAUDE_PROJECT_DIR"/bin/cb').
  --http             native http hooks to cbd at http.addr (no process) for
                     the observe-only types and the deciding ones (pre_tool,
                     permission_request, user_prompt_expansion,
                     pre_model_switch), with onFailure "block" when the
                     type's fail mode (hook.fail_mode, hook.<type>.fail_mode)
                     is closed. Each sends a hook-only credential derived
                     from the API token (cb creates the token if cbd has not
                     yet), good on /hooks/* only; so the file is made private
                     (0600), and --http is refused for --scope project, whose
                     settings.json is usually committed: use --scope local.
                     Types whose answer can carry your data (user_prompt,
                     stop, subagent_stop, teammate_idle) need the API token
                     itself, which is never written into settings: they stay
                     command hooks, as do session_start and setup, on which
                     Claude Code skips http hooks. After the token changes,
                     run cb install --http again: it updates the credential.
  --mcp              mcp_tool hooks answered by the "hook" tool of cbd's MCP
                     server (/mcp): no process per event. SessionStart and
                     Setup stay command hooks: Claude Code has no MCP
                     connection yet when they run. The
                     server is registered for Claude Code as "claudebench" in
                     the scope's MCP configuration (user: ~/.claude.json, or
                     $CLAUDE_CONFIG_DIR/.claude.json; local: that file's
                     projects entry for <dir>; project: <dir>/.mcp.json),
                     with a headersHelper that reads the API token from its
                     file when Claude Code connects, so no secret is written.
                     Claude Code connects once per session and waits for the
                     connection before the first hook.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg := r.Settings.Config()
			o.httpAddr = cfg.HTTP.Addr
			o.failMode = cfg.FailMode
			if _, err := selectEvents(o.events); err != nil {
				return err
			}
			if o.http && o.mcp {
				return cmdutil.FlagErrorf("--http and --mcp: choose one kind of hook")
			}
			if o.http {
				if err := checkHTTPHooks(r.Settings, o.scope); err != nil {
					return err
				}
				cred, err := hookCredential(r.Settings, o.dryRun)
				if err != nil {
					return err
				}
				o.hookCredential = cred
			}
			if o.mcp {
				if err := checkMCPHooks(r.Settings); err != nil {
					return err
				}
				file, err := ensureTokenFile(r.Settings, o.dryRun)
				if err != nil {
					return err
				}
				o.tokenFile = file
			}
			return r.runSettingsEdit(o)
		},
	}
	addScopeFlags(cmd, &o)
	cmd.Flags().StringVar(&o.events, "events", "default", "hook types: default, all, or a comma-separated list of types, aliases or Claude Code event names")
	cmd.Flags().BoolVar(&o.http, "http", false, "native http hooks to cbd for the observe-only and deciding events")
	cmd.Flags().BoolVar(&o.mcp, "mcp", false, "mcp_tool hooks answered by cbd's MCP server (no process per event)")
	cmd.Flags().StringVar(&o.command, "command", "", "program the hooks run, as written in the command line (default: this cb's absolute path)")
	return cmd
}

// selectEvents resolves --events: "default", "all", or a comma-separated
// list of cb types, aliases, Claude Code event names, "default" and "all".
// The result is in table order. An unknown name is a usage error.
func selectEvents(spec string) ([]protocol.HookEvent, error) {
	want := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch item {
		case "":
			continue
		case "default", "all":
			for _, he := range protocol.HookEvents {
				if (item == "default" && he.Default) || (item == "all" && !he.Replaces) {
					want[he.Type] = true
				}
			}
			continue
		}
		he, ok := protocol.LookupHookEvent(item)
		if !ok {
			he, ok = protocol.LookupClaudeEvent(item)
		}
		if !ok {
			return nil, cmdutil.FlagErrorf("--events: unknown hook type or event %q (the README's Hook events lists them; or use default or all)", item)
		}
		want[he.Type] = true
	}
	if len(want) == 0 {
		return nil, cmdutil.FlagErrorf("--events %q names no hook type", spec)
	}
	var out []protocol.HookEvent
	for _, he := range protocol.HookEvents {
		if want[he.Type] {
			out = append(out, he)
		}
	}
	return out, nil
}

func (r *options) uninstallCmd() *cobra.Command {
	o := installOptions{uninstall: true}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove ClaudeBench's hooks from Claude Code's settings",
		Long: `Removes the hook entries cb install adds (recognised by their command,
"<cb> hook <type>", their http URL, /hooks/<type>, or their mcp_tool call of
the claudebench server's hook tool), whichever --events and handler kind
installed them, from the settings file of --scope, and the matcher groups,
hooks.<Event> arrays and "hooks" object that this leaves empty; and the
claudebench MCP server entry cb install --mcp registered for the scope.
Everything else stays as it is. A file cb install created is left as {}. The
previous file is copied to <file>.bak.<unix time> first.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			o.httpAddr = r.Settings.Config().HTTP.Addr
			return r.runSettingsEdit(o)
		},
	}
	addScopeFlags(cmd, &o)
	return cmd
}

func addScopeFlags(cmd *cobra.Command, o *installOptions) {
	cmd.Flags().StringVar(&o.scope, "scope", "user", "settings to change: user, project or local")
	cmd.Flags().StringVar(&o.projectDir, "project-dir", "", "project directory for --scope project and local (default: the current directory)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the change as a unified diff and write nothing")
}

func (r *options) runSettingsEdit(o installOptions) error {
	if o.projectDir != "" && o.scope == "user" {
		return cmdutil.Exit(1, errors.New("--project-dir applies to --scope project and local only"))
	}
	if !o.uninstall && o.command == "" {
		exe, err := currentCBPath()
		if err != nil {
			return err
		}
		o.command = cmdutil.ShellQuote(exe)
	} else if !o.uninstall {
		warnMissingCommand(r.IO.ErrOut, o.command)
	}
	ch, err := editSettings(o)
	if err != nil {
		return err
	}
	if r.JSON {
		return r.PrintJSON(ch)
	}
	printSettingsChange(r.IO.Out, ch, o.uninstall)
	return nil
}

// checkHTTPHooks refuses --http when cbd's HTTP server would turn the hooks
// away or their credential would leak: cbd must serve HTTP on loopback (the
// credential is sent in clear), and project settings, usually committed to
// git, never get a secret.
func checkHTTPHooks(s *bridge.Settings, scope string) error {
	if scope == "project" {
		return cmdutil.Exit(1, errors.New("--http: the http hooks send a credential, and project settings "+
			"(.claude/settings.json) are usually committed to git; use --scope local (.claude/settings.local.json, "+
			"kept out of git) or --scope user, or install command hooks"))
	}
	if !s.Config().HTTP.Enabled {
		return cmdutil.Exit(1, errors.New("--http: http.enabled is false, so cbd serves no http hooks; enable it or install command hooks"))
	}
	if _, err := httpHookURL(s.Config().HTTP.Addr, "stop"); err != nil {
		return cmdutil.Exit(1, err)
	}
	return nil
}

// hookCredential reads the API token (creating the token file as cbd would,
// unless dryRun) and derives the http hooks' credential from it.
func hookCredential(s *bridge.Settings, dryRun bool) (string, error) {
	file := apitoken.File(s.Config().HTTP.TokenFile, s.Dirs().Config)
	read := apitoken.LoadOrCreate
	if dryRun {
		read = apitoken.Read
	}
	token, err := read(file)
	if err != nil {
		return "", cmdutil.Exit(1, fmt.Errorf("--http: the hooks' credential comes from the API token: %w", err))
	}
	return apitoken.HookCredential(token), nil
}

// httpHookURL is the URL of cbd's http hook endpoint for hookType.
func httpHookURL(addr, hookType string) (string, error) {
	base, err := cbdBaseURL("--http", addr)
	if err != nil {
		return "", err
	}
	return base + "/hooks/" + hookType, nil
}

// mcpURL is the URL of cbd's MCP endpoint.
func mcpURL(addr string) (string, error) {
	base, err := cbdBaseURL("--mcp", addr)
	if err != nil {
		return "", err
	}
	return base + "/mcp", nil
}

// cbdBaseURL is http://<http.addr>, refused unless it is a loopback address
// with a fixed port (what Claude Code sends there carries a credential).
func cbdBaseURL(flag, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s: http.addr %q is not host:port: %v", flag, addr, err)
	}
	if port == "0" || port == "" {
		return "", fmt.Errorf("%s: http.addr %q has no fixed port for the hooks to call; set one (the default is 127.0.0.1:7711)", flag, addr)
	}
	if !loopback.IsHost(host) {
		return "", fmt.Errorf("%s: http.addr %q is not a loopback address, and the hooks' credential would cross the network in clear; install command hooks instead", flag, addr)
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// checkMCPHooks refuses --mcp when cbd serves no MCP over HTTP on loopback.
func checkMCPHooks(s *bridge.Settings) error {
	if !s.Config().HTTP.Enabled {
		return cmdutil.Exit(1, errors.New("--mcp: http.enabled is false, so cbd serves no /mcp; enable it or install command hooks"))
	}
	if _, err := mcpURL(s.Config().HTTP.Addr); err != nil {
		return cmdutil.Exit(1, err)
	}
	return nil
}

// ensureTokenFile returns the API token's file, creating the token as cbd
// would (unless dryRun): the MCP server entry reads it at connection time.
func ensureTokenFile(s *bridge.Settings, dryRun bool) (string, error) {
	file := apitoken.File(s.Config().HTTP.TokenFile, s.Dirs().Config)
	if dryRun {
		return file, nil
	}
	if _, err := apitoken.LoadOrCreate(file); err != nil {
		return "", cmdutil.Exit(1, fmt.Errorf("--mcp: the MCP server's credential is the API token: %w", err))
	}
	return file, nil
}

// currentCBPath is the absolute, symlink-free path of cb: the cb beside
// this cb-cli (cb hands its commands over to the cb-cli in its own
// directory, and make build puts them side by side).
func currentCBPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find cb's path (pass --command): %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	if strings.Contains(exe, "go-build") {
		return "", cmdutil.Exit(1, fmt.Errorf("this cb runs from a temporary go build (%s); build it (make build) and run bin/cb install, or pass --command", exe))
	}
	name := "cb"
	if runtime.GOOS == "windows" {
		name = "cb.exe"
	}
	cb := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(cb); err != nil {
		return "", cmdutil.Exit(1, fmt.Errorf("no cb beside %s (make build puts cb, cb-cli and cbd side by side); pass --command", exe))
	}
	if runtime.GOOS == "windows" {
		cb = filepath.ToSlash(cb) // Claude Code runs shell-form hooks with Git Bash there
	}
	return cb, nil
}

// warnMissingCommand warns when --command names a path that does not exist.
func warnMissingCommand(w io.Writer, command string) {
	if strings.ContainsAny(command, "$'\"` ") || !strings.ContainsRune(command, '/') {
		return // a shell expression or a name looked up on PATH
	}
	if _, err := os.Stat(command); err != nil {
		fmt.Fprintf(w, "cb install: warning: --command %s: %v\n", command, err)
	}
}

// claudeSettingsPath is the settings file of a scope.
func claudeSettingsPath(scope, projectDir string) (string, error) {
	switch scope {
	case "user":
		dir, err := claudesettings.ConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "settings.json"), nil
	case "project", "local":
		dir := projectDir
		if dir == "" {
			wd, err := os.Getwd()
			if err != nil {
				return "", fmt.Errorf("find the current directory: %w", err)
			}
			dir = wd
		}
		dir, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", cmdutil.Exit(1, fmt.Errorf("project directory %s does not exist", dir))
		}
		name := "settings.json"
		if scope == "local" {
			name = "settings.local.json"
		}
		return filepath.Join(dir, ".claude", name), nil
	}
	return "", cmdutil.Exit(1, fmt.Errorf("--scope %q: want user, project or local", scope))
}

// hookPlan is the entry install wants for one hook type.
type hookPlan struct {
	he        protocol.HookEvent
	kind      string // "command", "http" or "mcp_tool"
	target    string // the command line, the URL, or "mcp <server>/<tool>"
	timeout   int
	auth      string // http: the Authorization header the hook sends
	onFailure bool   // write "onFailure": "block"
}

func (p hookPlan) ref() HookRef {
	return HookRef{Type: p.he.Type, Event: p.he.ClaudeEvent, Handler: p.target}
}

// group is the matcher group holding the entry.
func (p hookPlan) group() *jsonedit.Node {
	entry := jsonedit.NewObject()
	entry.Set("type", jsonedit.NewString(p.kind))
	switch p.kind {
	case "http":
		entry.Set("url", jsonedit.NewString(p.target))
	case "mcp_tool":
		entry.Set("server", jsonedit.NewString(hookmcp.ServerKey))
		entry.Set("tool", jsonedit.NewString(hookmcp.ToolName))
		entry.Set("input", mcpInput(p.he.Type))
	default:
		entry.Set("command", jsonedit.NewString(p.target))
	}
	if p.auth != "" {
		entry.Set("headers", p.headers())
	}
	entry.Set("timeout", jsonedit.NewInt(p.timeout))
	if p.onFailure {
		entry.Set("onFailure", jsonedit.NewString("block"))
	}
	g := jsonedit.NewObject()
	if p.he.Matcher != "" {
		g.Set("matcher", jsonedit.NewString(p.he.Matcher))
	}
	hooks := jsonedit.NewArray()
	hooks.Push(entry)
	g.Set("hooks", hooks)
	return g
}

// headers is the http entry's "headers" object.
func (p hookPlan) headers() *jsonedit.Node {
	h := jsonedit.NewObject()
	h.Set("Authorization", jsonedit.NewString(p.auth))
	return h
}

// mcpInput is the "input" template of hookType's mcp_tool entry
// (hookmcp.Template), keys sorted.
func mcpInput(hookType string) *jsonedit.Node {
	tpl, err := hookmcp.Template(hookType)
	if err != nil {
		panic(err) // every table type has a schema (hookmcp's tests)
	}
	in := jsonedit.NewObject()
	in.Set(hookmcp.ArgType, jsonedit.NewString(hookType))
	fields := tpl[hookmcp.ArgInput].(map[string]any)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	vals := jsonedit.NewObject()
	for _, k := range names {
		vals.Set(k, jsonedit.NewString(fields[k].(string)))
	}
	in.Set(hookmcp.ArgInput, vals)
	return in
}

// mcpTarget is how reports name an mcp_tool entry.
func mcpTarget() string { return "mcp " + hookmcp.ServerKey + "/" + hookmcp.ToolName }

// installPlans lists the entries install writes for o's events: command
// hooks running o.command, or with o.http http hooks to o.httpAddr that
// send o.hookCredential (httpHookKind), or with o.mcp mcp_tool hooks.
func installPlans(o installOptions) ([]hookPlan, error) {
	events, err := selectEvents(o.events)
	if err != nil {
		return nil, err
	}
	closed := func(t string) bool { return o.failMode != nil && o.failMode(t) == "closed" }
	plans := make([]hookPlan, 0, len(events))
	for _, he := range events {
		p := hookPlan{he: he, kind: "command", target: o.command + " hook " + he.Type, timeout: installTimeout}
		if he.ClaudeEvent == "SessionEnd" {
			p.timeout = installSessionEndTimeout
		}
		switch {
		case o.http && httpHookKind(he):
			u, err := httpHookURL(o.httpAddr, he.Type)
			if err != nil {
				return nil, err
			}
			p.kind, p.target = "http", u
			if o.hookCredential != "" {
				p.auth = "Bearer " + o.hookCredential
			}
		case o.mcp && mcpHookKind(he):
			p.kind, p.target = "mcp_tool", mcpTarget()
		}
		if p.kind != "command" && closed(he.Type) && !onFailureIgnored(he, p.kind) {
			p.onFailure = true
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// hookRecognizer tells ClaudeBench's entries from others, as
// claudesettings.Recognizer does (cbd's settings guard uses the same).
type hookRecognizer struct {
	command  string // the program install writes (matched besides any program named cb)
	httpAddr string // http.addr (matched besides any loopback host)
}

// ours reports whether entry is ClaudeBench's entry for hookType.
func (r hookRecognizer) ours(entry *jsonedit.Node, hookType string) bool {
	return claudesettings.Recognizer{Command: r.command, HTTPAddr: r.httpAddr}.Ours(entry, hookType)
}

// describe is an entry's command line or URL, for reports.
func describeHookEntry(entry *jsonedit.Node) string {
	if u, ok := entry.GetString("url"); ok {
		return u
	}
	if t, _ := entry.GetString("type"); t == "mcp_tool" {
		server, _ := entry.GetString("server")
		tool, _ := entry.GetString("tool")
		return "mcp " + server + "/" + tool
	}
	cmd, _ := entry.GetString("command")
	if args, ok := entry.GetStrings("args"); ok {
		return strings.Join(append([]string{cmd}, args...), " ")
	}
	return cmd
}

// settingsError names the settings file in a problem with its content.
func settingsError(path, format string, args ...any) error {
	return cmdutil.Exit(1, fmt.Errorf("settings file %s: %s; nothing was changed", path, fmt.Sprintf(format, args...)))
}

// findOurHook returns ClaudeBench's entry for hookType in an event's array.
func findOurHook(groups *jsonedit.Node, hookType string, r hookRecognizer) *jsonedit.Node {
	if groups == nil || groups.Kind != jsonedit.Array {
		return nil
	}
	for _, g := range groups.Elems {
		hs := g.Get("hooks")
		if hs == nil || hs.Kind != jsonedit.Array {
			continue
		}
		for _, e := range hs.Elems {
			if r.ours(e, hookType) {
				return e
			}
		}
	}
	return nil
}

// installHooks adds the plans missing from doc (the settings' top-level
// object). It reports the entries added and those already there.
func installHooks(path string, doc *jsonedit.Node, plans []hookPlan, r hookRecognizer) (added, present []HookRef, notes []string, err error) {
	hooks := doc.Get("hooks")
	if hooks != nil && !hooks.IsNull() && hooks.Kind != jsonedit.Object {
		return nil, nil, nil, settingsError(path, `"hooks" must be an object, not %s`, hooks.KindName())
	}
	for _, p := range plans {
		if hooks != nil && hooks.Kind == jsonedit.Object {
			arr := hooks.Get(p.he.ClaudeEvent)
			if arr != nil && !arr.IsNull() && arr.Kind != jsonedit.Array {
				return nil, nil, nil, settingsError(path, `"hooks.%s" must be an array, not %s`, p.he.ClaudeEvent, arr.KindName())
			}
			if e := findOurHook(arr, p.he.Type, r); e != nil {
				ref := p.ref()
				ref.Handler = describeHookEntry(e)
				if ref.Handler == p.target {
					var what []string
					if p.auth != "" && !hasAuthHeader(e, p.auth) {
						// An http hook of an older install, or of an
						// earlier token: give it the current credential.
						e.Set("headers", p.headers())
						what = append(what, "credential")
					}
					what = append(what, syncEntry(e, p)...)
					if len(what) > 0 {
						notes = append(notes, fmt.Sprintf("%s (%s): updated the %s hook's %s", p.he.Type, p.he.ClaudeEvent, p.kind, strings.Join(what, " and ")))
						added = append(added, ref)
						continue
					}
				}
				present = append(present, ref)
				if ref.Handler != p.target {
					notes = append(notes, fmt.Sprintf("%s (%s) is already installed as %q, not %q; run cb uninstall first to replace it", p.he.Type, p.he.ClaudeEvent, ref.Handler, p.target))
				}
				continue
			}
		}
		if hooks == nil || hooks.Kind != jsonedit.Object {
			hooks = jsonedit.NewObject()
			doc.Set("hooks", hooks)
		}
		arr := hooks.Get(p.he.ClaudeEvent)
		if arr == nil || arr.Kind != jsonedit.Array {
			arr = jsonedit.NewArray()
			hooks.Set(p.he.ClaudeEvent, arr)
		}
		arr.Push(p.group())
		added = append(added, p.ref())
	}
	return added, present, notes, nil
}

// gitTracksPath reports whether path is in a git work tree and not ignored
// there (false when git is missing or path is outside a repository).
func gitTracksPath(path string) bool {
	// From the project dir: .claude may not exist yet.
	project := filepath.Dir(filepath.Dir(path))
	rel, err := filepath.Rel(project, path)
	if err != nil {
		return false
	}
	cmd := exec.Command("git", "-C", project, "check-ignore", "-q", "--", rel)
	err = cmd.Run()
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 1 // 0: ignored, 128: not a repository
}

// syncEntry brings an installed entry of the planned kind up to date with
// what install would write now, and names what it changed: onFailure
// follows the type's fail mode (a config change since the last install),
// and an mcp_tool entry's input template follows the event's input schema
// (a cb that knows more fields).
func syncEntry(e *jsonedit.Node, p hookPlan) []string {
	var what []string
	if p.kind == "command" {
		return nil
	}
	cur, _ := e.GetString("onFailure")
	switch {
	case p.onFailure && cur != "block":
		e.Set("onFailure", jsonedit.NewString("block"))
		what = append(what, "onFailure")
	case !p.onFailure && cur == "block":
		e.Delete("onFailure")
		what = append(what, "onFailure")
	}
	if p.kind == "mcp_tool" {
		want := mcpInput(p.he.Type)
		if !sameJSON(e.Get("input"), want) {
			e.Set("input", want)
			what = append(what, "input")
		}
	}
	return what
}

// sameJSON reports whether two nodes hold equal JSON values.
func sameJSON(a, b *jsonedit.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	var va, vb any
	var ba, bb bytes.Buffer
	a.Render(&ba, jsonedit.Style{Indent: ""}, 0)
	b.Render(&bb, jsonedit.Style{Indent: ""}, 0)
	if json.Unmarshal(ba.Bytes(), &va) != nil || json.Unmarshal(bb.Bytes(), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// hasAuthHeader reports whether an http entry sends exactly auth.
func hasAuthHeader(entry *jsonedit.Node, auth string) bool {
	h := entry.Get("headers")
	if h == nil || h.Kind != jsonedit.Object {
		return false
	}
	got, ok := h.GetString("Authorization")
	return ok && got == auth
}

// uninstallHooks removes ClaudeBench's entries from doc and the containers
// that this leaves empty.
func uninstallHooks(doc *jsonedit.Node, r hookRecognizer) (removed []HookRef) {
	return uninstallHookTypes(doc, r, nil)
}

// uninstallHookTypes is uninstallHooks for the hook types only (all when
// only is nil).
func uninstallHookTypes(doc *jsonedit.Node, r hookRecognizer, only map[string]bool) (removed []HookRef) {
	hooks := doc.Get("hooks")
	if hooks == nil || hooks.Kind != jsonedit.Object {
		return nil
	}
	var events []string
	seen := map[string]bool{}
	for _, he := range protocol.HookEvents {
		if !seen[he.ClaudeEvent] {
			seen[he.ClaudeEvent] = true
			events = append(events, he.ClaudeEvent)
		}
	}
	for _, ev := range events {
		arr := hooks.Get(ev)
		if arr == nil || arr.Kind != jsonedit.Array {
			continue
		}
		before := len(removed)
		for gi := 0; gi < len(arr.Elems); gi++ {
			hs := arr.Elems[gi].Get("hooks")
			if hs == nil || hs.Kind != jsonedit.Array || len(hs.Elems) == 0 {
				continue
			}
			for ei := 0; ei < len(hs.Elems); ei++ {
				for _, he := range protocol.HookEvents {
					if only != nil && !only[he.Type] {
						continue
					}
					if he.ClaudeEvent == ev && r.ours(hs.Elems[ei], he.Type) {
						removed = append(removed, HookRef{Type: he.Type, Event: ev, Handler: describeHookEntry(hs.Elems[ei])})
						hs.RemoveAt(ei)
						ei--
						break
					}
				}
			}
			if len(hs.Elems) == 0 && hs.Dirty() {
				arr.RemoveAt(gi)
				gi--
			}
		}
		if len(removed) > before && len(arr.Elems) == 0 {
			hooks.Delete(ev)
		}
	}
	if len(removed) > 0 && len(hooks.Members) == 0 {
		doc.Delete("hooks")
	}
	return removed
}

// editSettings runs install or uninstall on the file of o.scope.
func editSettings(o installOptions) (*settingsChange, error) {
	path, err := claudeSettingsPath(o.scope, o.projectDir)
	if err != nil {
		return nil, err
	}
	if o.now == nil {
		o.now = time.Now
	}
	ch := &settingsChange{Scope: o.scope, File: path, DryRun: o.dryRun}
	f, err := readSettingsFile(path)
	if err != nil {
		return nil, err
	}
	r := hookRecognizer{command: o.command, httpAddr: o.httpAddr}
	if o.uninstall {
		if !f.exists {
			return ch, nil
		}
		ch.Removed = uninstallHooks(f.doc, r)
	} else {
		if ch.Added, ch.Present, ch.Notes, err = addHooks(path, f.doc, o, r); err != nil {
			return nil, err
		}
	}
	// The MCP server entry first: hooks that call a server Claude Code
	// does not know would fail.
	if o.mcp || o.uninstall {
		if ch.MCPServer, err = editMCPServer(o); err != nil {
			return nil, err
		}
	}
	if len(ch.Added) == 0 && len(ch.Removed) == 0 {
		return ch, nil
	}
	out := f.render()
	if f.exists && bytes.Equal(out, f.data) {
		return ch, nil
	}
	ch.Changed, ch.Created = true, !f.exists
	oldName := path
	if !f.exists {
		oldName = "/dev/null"
	}
	ch.Diff = unifiedDiff(oldName, path, f.data, out)
	if o.hookCredential != "" {
		// The file now holds a secret: private, backups included.
		if f.exists && f.mode&0o077 != 0 {
			ch.Notes = append(ch.Notes, fmt.Sprintf("the http hooks' credential is in this file: its mode is now 0600 (was %04o)", f.mode))
		}
		f.mode = 0o600
		ch.Diff = strings.ReplaceAll(ch.Diff, o.hookCredential, "<hook credential>")
		if o.scope == "local" && gitTracksPath(path) {
			ch.Notes = append(ch.Notes, fmt.Sprintf("git does not ignore %s here: add it to .gitignore, it holds the http hooks' credential", path))
		}
	}
	if o.dryRun {
		return ch, nil
	}
	ch.Backup, err = f.write(out, o.now())
	return ch, err
}

// addHooks adds o's hook entries missing from doc, the top-level object of
// the settings file at path, and notes what would keep them from running.
func addHooks(path string, doc *jsonedit.Node, o installOptions, r hookRecognizer) (added, present []HookRef, notes []string, err error) {
	plans, err := installPlans(o)
	if err != nil {
		return nil, nil, nil, cmdutil.Exit(1, err)
	}
	added, present, notes, err = installHooks(path, doc, plans, r)
	if err != nil {
		return nil, nil, nil, err
	}
	if v := doc.Get("disableAllHooks"); v != nil && string(v.Raw) == "true" {
		notes = append(notes, `this file sets "disableAllHooks": true, so Claude Code runs none of its hooks`)
	}
	return added, present, notes, nil
}

// settingsFile is a settings file as read.
type settingsFile struct {
	path    string // as named
	target  string // the file written (path with symlinks resolved)
	exists  bool
	mode    fs.FileMode
	data    []byte
	doc     *jsonedit.Node
	prefix  string // whitespace before the top-level object
	suffix  string // whitespace after it
	indent  string
	newline string
}

// readSettingsFile reads and parses a settings file; a missing or blank
// file is an empty object. Malformed JSON is an error naming the place.
func readSettingsFile(path string) (*settingsFile, error) {
	f, err := readRawFile(path)
	if err != nil {
		return nil, err
	}
	if !f.exists {
		f.doc = jsonedit.NewObject()
		return f, nil
	}
	data := f.data
	body := bytes.TrimLeft(data, " \t\r\n")
	f.prefix = string(data[:len(data)-len(body)])
	body = bytes.TrimRight(body, " \t\r\n")
	f.suffix = string(data[len(f.prefix)+len(body):])
	if len(body) == 0 {
		f.doc = jsonedit.NewObject()
		f.prefix, f.suffix = "", "\n"
		return f, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return nil, cmdutil.Exit(1, fmt.Errorf("settings file %s is not valid JSON: %v (line %d, column %d, byte offset %d); nothing was changed", path, se, line, col, se.Offset))
		}
		return nil, cmdutil.Exit(1, fmt.Errorf("settings file %s is not valid JSON: %v; nothing was changed", path, err))
	}
	if body[0] != '{' {
		return nil, settingsError(path, "the top level must be a JSON object")
	}
	if f.doc, err = jsonedit.Parse(body); err != nil {
		return nil, settingsError(path, "%v", err)
	}
	f.indent = jsonedit.DetectIndent(body)
	if bytes.Contains(data, []byte("\r\n")) {
		f.newline = "\r\n"
	}
	return f, nil
}

// readRawFile reads a file's bytes, its mode and where a write goes (a
// missing file is no error: f.exists is false).
func readRawFile(path string) (*settingsFile, error) {
	f := &settingsFile{path: path, target: path, mode: 0o644, indent: "  ", newline: "\n", suffix: "\n"}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("read settings file: %w", err)
	}
	f.exists, f.data = true, data
	if t, err := filepath.EvalSymlinks(path); err == nil {
		f.target = t
	}
	if fi, err := os.Stat(f.target); err == nil {
		f.mode = fi.Mode().Perm()
	}
	return f, nil
}

// lineCol turns the offset of a json.SyntaxError (the bytes read, so the
// bad byte is the one before it) into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	p := int(min(max(off-1, 0), int64(len(data))))
	before := data[:p]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = p - bytes.LastIndexByte(before, '\n')
	return line, col
}

// render prints the edited document.
func (f *settingsFile) render() []byte {
	var b bytes.Buffer
	b.WriteString(f.prefix)
	f.doc.Render(&b, jsonedit.Style{Indent: f.indent, Newline: f.newline}, 0)
	b.WriteString(f.suffix)
	return b.Bytes()
}

// write backs up the old file and replaces it atomically with out, keeping
// its mode. It returns the backup's path.
func (f *settingsFile) write(out []byte, now time.Time) (backup string, err error) {
	dir := filepath.Dir(f.target)
	if !f.exists {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if f.exists {
		if backup, err = writeBackup(f.path, f.data, f.mode, now); err != nil {
			return "", err
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.target)+".tmp-*")
	if err != nil {
		return backup, fmt.Errorf("write settings file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(out); err == nil {
		if err = tmp.Chmod(f.mode); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return backup, fmt.Errorf("write settings file: %w", err)
	}
	// Claude Code writes some settings files itself; do not overwrite a
	// change made since we read the file.
	now2, rerr := os.ReadFile(f.target)
	if (f.exists && (rerr != nil || !bytes.Equal(now2, f.data))) || (!f.exists && rerr == nil) {
		err = fmt.Errorf("settings file %s changed while cb was editing it; nothing was changed, run the command again", f.path)
		return backup, err
	}
	if err = os.Rename(tmp.Name(), f.target); err != nil {
		return backup, fmt.Errorf("write settings file: %w", err)
	}
	return backup, nil
}

// writeBackup copies the original to <path>.bak.<unix time> (with a counter
// when that name is taken) and returns the name.
func writeBackup(path string, data []byte, mode fs.FileMode, now time.Time) (string, error) {
	base := path + ".bak." + strconv.FormatInt(now.Unix(), 10)
	name := base
	for i := 1; ; i++ {
		bf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			name = base + "." + strconv.Itoa(i)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up settings file: %w", err)
		}
		_, err = bf.Write(data)
		if cerr := bf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
			return "", fmt.Errorf("back up settings file: %w", err)
		}
		return name, nil
	}
}

func printSettingsChange(w io.Writer, ch *settingsChange, uninstall bool) {
	what := map[string]string{"user": "user settings", "project": "project settings", "local": "local project settings"}[ch.Scope]
	fmt.Fprintf(w, "%s: %s\n", what, ch.File)
	if ch.DryRun && ch.Diff != "" {
		fmt.Fprint(w, ch.Diff)
	}
	line := func(mark string, r HookRef, extra string) {
		fmt.Fprintf(w, "  %s %-17s %-14s %s%s\n", mark, r.Event, r.Type, r.Handler, extra)
	}
	for _, r := range ch.Added {
		line("+", r, "")
	}
	for _, r := range ch.Present {
		line("=", r, " (already installed)")
	}
	for _, r := range ch.Removed {
		line("-", r, "")
	}
	if m := ch.MCPServer; m != nil {
		if ch.DryRun && m.Diff != "" {
			fmt.Fprint(w, m.Diff)
		}
		switch {
		case m.Added:
			fmt.Fprintf(w, "  + MCP server %s in %s", m.Key, m.File)
		case m.Removed:
			fmt.Fprintf(w, "  - MCP server %s in %s", m.Key, m.File)
		default:
			fmt.Fprintf(w, "  = MCP server %s in %s (already registered)", m.Key, m.File)
		}
		if m.Backup != "" {
			fmt.Fprintf(w, "; previous file saved as %s", m.Backup)
		}
		fmt.Fprintln(w)
	}
	for _, n := range ch.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case uninstall && len(ch.Removed) == 0:
		fmt.Fprintln(w, "No ClaudeBench hooks there; nothing changed.")
	case !uninstall && len(ch.Added) == 0:
		fmt.Fprintf(w, "Already installed: all %d ClaudeBench hooks are there; nothing changed.\n", len(ch.Present))
	case ch.DryRun:
		fmt.Fprintln(w, "Dry run: nothing was written.")
	default:
		verb := fmt.Sprintf("Installed %d hooks", len(ch.Added))
		if uninstall {
			verb = fmt.Sprintf("Removed %d hooks", len(ch.Removed))
		}
		if ch.Created {
			verb += " (created the file)"
		}
		if ch.Backup != "" {
			verb += "; previous file saved as " + ch.Backup
		}
		fmt.Fprintln(w, verb+".")
	}
}

// unifiedDiff returns the changes from a to b as a unified diff with three
// lines of context; "" when they are equal.
func unifiedDiff(aName, bName string, a, b []byte) string {
	return udiff.Unified(aName, bName, string(a), string(b))
}
