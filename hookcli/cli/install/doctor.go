package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/claudesettings"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// cb doctor checks, in order, what a working ClaudeBench needs: a readable
// config, a reachable Redis, a running cbd, hooks in Claude Code's settings,
// and a hook round trip that is fast.

// doctorCheck is the outcome of one check.
type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
	// Warning is a risk that does not fail the check (printed as its own
	// "warn" line).
	Warning string `json:"warning,omitempty"`
}

// doctorProbes is how many hook.pre_tool calls the latency check makes.
const doctorProbes = 5

// NewCmdDoctor is `cb doctor`.
func NewCmdDoctor(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.doctorCmd())
}

func (o *options) doctorCmd() *cobra.Command {
	var projectDir string
	var loadErr error
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, Redis, cbd, the installed hooks and the hook round trip",
		Long: `Runs these checks and prints one line each (✓/✗ on a terminal, ok/FAIL
otherwise, with a fix for each failure):

  config   the config file parses
  redis    Redis answers PING at the URL cb uses (redis.url or cbd's address file);
           a warning line when it is TCP without a password (other users can reach it)
  cbd      cbd answers system.version within 2 s, and its /healthz (at
           http.addr) does not say unhealthy (Redis unreachable from cbd,
           requests not consumed)
  hooks    ClaudeBench's hooks in the user, project and local settings
  latency  median of 5 hook.pre_tool round trips, the path cb hook takes

It exits 0 when every check passes and 1 otherwise.`,
		Args: cobra.NoArgs,
		// A broken config is one of the things doctor reports, so it must
		// not stop the command the way it stops the others.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			o.Settings, loadErr = bridge.LoadSettings(cmdutil.ParseYAML)
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := o.runDoctor(cmd.Context(), loadErr, projectDir)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if o.JSON {
				if err := o.PrintJSON(map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				printDoctor(o.IO.Out, o.IO.ColorScheme(), checks)
			}
			if failed > 0 {
				return cmdutil.Exit(1, fmt.Errorf("%d of %d checks failed", failed, len(checks)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&projectDir, "project-dir", "", "project whose .claude settings to check (default: the current directory)")
	return cmd
}

func (o *options) runDoctor(ctx context.Context, loadErr error, projectDir string) []doctorCheck {
	checks := []doctorCheck{o.doctorConfig(loadErr)}
	redisOK := o.doctorRedis(ctx, &checks)
	cbdOK := false
	if redisOK {
		cbdOK = o.doctorCBD(ctx, &checks)
	} else {
		c := doctorCheck{Name: "cbd", Detail: "not checked: Redis is not reachable",
			Hint: "start cbd: `make run` (foreground) or `cb service install`"}
		if h, ok := o.cbdHealth(ctx); ok {
			c.Detail += "; " + h
		}
		checks = append(checks, c)
	}
	checks = append(checks, o.doctorHooks(projectDir))
	if cbdOK {
		checks = append(checks, o.doctorLatency(ctx))
	} else {
		checks = append(checks, doctorCheck{Name: "latency", Detail: "not measured: cbd is not reachable",
			Hint: "start cbd: `make run` (foreground) or `cb service install`"})
	}
	return checks
}

func (o *options) doctorConfig(loadErr error) doctorCheck {
	path := os.Getenv("CB_CONFIG")
	if path == "" {
		path = o.Settings.Dirs().ConfigFile()
	}
	c := doctorCheck{Name: "config"}
	if loadErr != nil {
		c.Detail = loadErr.Error()
		c.Hint = "fix " + path + " (YAML; the keys are in the README, Configuration)"
		return c
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.Detail = path + " (none: defaults)"
	} else {
		c.Detail = path
	}
	for _, key := range []string{"hook.timeout"} {
		if err := o.Settings.Check(key); err != nil {
			c.Detail = err.Error()
			c.Hint = "set " + key + " to a duration like 2s in " + path + " or " + protocol.EnvName(key)
			return c
		}
	}
	c.OK = true
	return c
}

func (o *options) doctorRedis(ctx context.Context, checks *[]doctorCheck) bool {
	c := doctorCheck{Name: "redis", Hint: "start cbd, which serves Redis and writes its address (`make run` or `cb service install`), or set redis.url / CB_REDIS_URL"}
	defer func() { *checks = append(*checks, c) }()
	rawURL, err := o.Settings.RedisURL()
	if err != nil {
		c.Detail = err.Error()
		return false
	}
	source := "address file " + o.Settings.Dirs().AddrFile() + " written by cbd"
	if _, ok := os.LookupEnv(protocol.EnvName("redis.url")); ok {
		source = protocol.EnvName("redis.url")
	} else if o.Settings.Config().Redis.URL != "" {
		source = "redis.url in the config"
	}
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted()
		c.Warning = redisExposure(u)
	}
	client, err := o.Connect()
	if err != nil {
		c.Detail = fmt.Sprintf("%s (from %s): %v", shown, source, err)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := client.Redis().Ping(pctx).Err(); err != nil {
		c.Detail = fmt.Sprintf("%s (from %s): PING: %v", shown, source, err)
		return false
	}
	c.OK, c.Hint = true, ""
	c.Detail = fmt.Sprintf("%s (from %s), PING %s", shown, source, fmtMs(time.Since(start)))
	return true
}

// redisExposure warns about a Redis other local users can reach: one on
// TCP without a password. (cbd's managed Redis listens on a unix socket in
// a 0700 directory, which only this user can reach.)
func redisExposure(u *url.URL) string {
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return ""
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return ""
	}
	return "Redis is on TCP without a password: any local user (and any process on the network it listens on) " +
		"can read your tasks, events and audit, change the hook rules and answer hooks in cbd's place; " +
		"use cbd's managed Redis (a private unix socket), or give Redis a password (requirepass or an ACL user) and put it in redis.url"
}

func (o *options) doctorCBD(ctx context.Context, checks *[]doctorCheck) bool {
	c := doctorCheck{Name: "cbd", Hint: "start cbd: `make run` (foreground) or `cb service install`"}
	defer func() { *checks = append(*checks, c) }()
	vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := o.Call(vctx, "system.version", nil)
	if err != nil {
		c.Detail = "no answer to system.version: " + err.Error()
		if h, ok := o.cbdHealth(ctx); ok {
			c.Detail += "; " + h
		}
		return false
	}
	var v struct {
		Version    string `json:"version"`
		InstanceID string `json:"instanceId"`
		RedisMode  string `json:"redisMode"`
	}
	if err := json.Unmarshal(res, &v); err != nil {
		c.Detail = "malformed system.version answer: " + err.Error()
		return false
	}
	c.Detail = fmt.Sprintf("cbd %s, instance %s", v.Version, cmdutil.OrDash(v.InstanceID))
	if v.RedisMode != "" {
		c.Detail += ", redis mode " + v.RedisMode
	}
	if h, ok := o.cbdHealth(ctx); ok && strings.Contains(h, "unhealthy") {
		// Another instance answered, but the one at http.addr is sick.
		c.Detail += "; " + h
		c.Hint = "check cbd's log: it cannot reach its Redis or is not consuming requests"
		return false
	}
	c.OK, c.Hint = true, ""
	return true
}

// cbdHealth asks the cbd at http.addr for /healthz. ok is false when there
// is nobody to ask (HTTP off, no fixed port, nothing listening): cbd may
// run without HTTP, so only an answer counts.
func (o *options) cbdHealth(ctx context.Context) (detail string, ok bool) {
	addr := o.Settings.Config().HTTP.Addr
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "", false
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, url, nil)
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var h struct {
		Status, Instance, Error string
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&h); err != nil || h.Status == "" {
		return "", false
	}
	if resp.StatusCode == http.StatusOK {
		return fmt.Sprintf("%s says %s", url, h.Status), true
	}
	return fmt.Sprintf("%s says %s (instance %s): %s", url, h.Status, cmdutil.OrDash(h.Instance), h.Error), true
}

// scopeHooks is what doctor found in one settings file.
type scopeHooks struct {
	scope, path string
	missing     bool
	err         error
	byType      map[string]int
	mcpTool     int // entries of type mcp_tool
	byEvent     map[string]int
	badPrograms []string
}

func (o *options) doctorHooks(projectDir string) doctorCheck {
	c := doctorCheck{Name: "hooks"}
	r := hookRecognizer{httpAddr: o.Settings.Config().HTTP.Addr}
	if exe, err := currentCBPath(); err == nil {
		r.command = cmdutil.ShellQuote(exe)
	}
	var found []scopeHooks
	seen := map[string]string{}
	var parts []string
	complete, broken := false, false
	for _, scope := range []string{"user", "project", "local"} {
		path, err := claudeSettingsPath(scope, projectDir)
		if err != nil {
			parts = append(parts, scope+": "+err.Error())
			broken = true
			continue
		}
		if other, ok := seen[path]; ok {
			parts = append(parts, scope+": same file as "+other)
			continue
		}
		seen[path] = scope
		sh := inspectScopeHooks(scope, path, r)
		found = append(found, sh)
		switch {
		case sh.err != nil:
			broken = true
			parts = append(parts, scope+": "+sh.err.Error())
		case sh.missing:
			parts = append(parts, scope+": no "+path)
		case len(sh.byType) == 0:
			parts = append(parts, scope+": none in "+path)
		default:
			// Reported against what is installed, not against every type:
			// cb install --events chooses the set, and the settings do not
			// say which was asked for.
			parts = append(parts, fmt.Sprintf("%s: %d %s in %s (%s)", scope, len(sh.byType), plural(len(sh.byType), "type"), path, eventCounts(sh.byEvent)))
			complete = true
			if sh.mcpTool > 0 && !o.mcpServerRegistered(scope, projectDir) {
				broken = true
				parts = append(parts, scope+": mcp_tool hooks call the MCP server "+hookmcp.ServerKey+", which is not registered for this scope (run cb install --mcp again)")
			}
			if len(sh.badPrograms) > 0 {
				broken = true
				parts = append(parts, scope+": hooks run "+strings.Join(sh.badPrograms, ", ")+", which is not an executable file")
			}
		}
	}
	c.Detail = strings.Join(parts, "; ")
	installedIn := 0
	for _, sh := range found {
		if len(sh.byType) > 0 {
			installedIn++
		}
	}
	if installedIn > 1 {
		c.Detail += "; note: hooks in several files run once each unless their commands are identical"
	}
	switch {
	case broken:
		c.Hint = "fix the file named above (cb install refuses to edit malformed JSON), or rerun `cb install` from the cb you use"
	case !complete:
		c.Hint = "run `cb install` (user settings) or `cb install --scope project`"
	default:
		c.OK = true
	}
	return c
}

// mcpServerRegistered reports whether the scope's MCP configuration has
// ClaudeBench's server entry (cb install --mcp).
func (o *options) mcpServerRegistered(scope, projectDir string) bool {
	file, path, err := mcpConfigLocation(scope, projectDir)
	if err != nil {
		return false
	}
	f, err := readSettingsFile(file)
	if err != nil || !f.exists {
		return false
	}
	node := f.doc
	for _, k := range path {
		if node = node.Get(k); node == nil || node.Kind != jsonedit.Object {
			return false
		}
	}
	return oursMCPServer(node.Get(hookmcp.ServerKey), o.Settings.Config().HTTP.Addr)
}

// inspectScopeHooks counts ClaudeBench's entries in one settings file.
func inspectScopeHooks(scope, path string, r hookRecognizer) scopeHooks {
	sh := scopeHooks{scope: scope, path: path, byType: map[string]int{}, byEvent: map[string]int{}}
	f, err := readSettingsFile(path)
	if err != nil {
		sh.err = errors.Unwrap(err)
		if sh.err == nil {
			sh.err = err
		}
		return sh
	}
	if !f.exists {
		sh.missing = true
		return sh
	}
	hooks := f.doc.Get("hooks")
	bad := map[string]bool{}
	claudesettings.Recognizer{Command: r.command, HTTPAddr: r.httpAddr}.Each(hooks, func(he protocol.HookEvent, e *jsonedit.Node) bool {
		sh.byType[he.Type]++
		sh.byEvent[he.ClaudeEvent]++
		if t, _ := e.GetString("type"); t == "mcp_tool" {
			sh.mcpTool++
		}
		if p := hookProgramPath(e); p != "" && !cmdutil.IsExecutableFile(p) && !bad[p] {
			bad[p] = true
			sh.badPrograms = append(sh.badPrograms, p)
		}
		return true
	})
	return sh
}

// hookProgramPath is the absolute program path a command entry runs, when
// it is a plain path ("" for shell expressions, names on PATH and http).
func hookProgramPath(entry *jsonedit.Node) string {
	cmd, ok := entry.GetString("command")
	if !ok {
		return ""
	}
	prog := cmd
	if _, isExec := entry.GetStrings("args"); !isExec {
		f := strings.Fields(cmd)
		if len(f) < 3 {
			return ""
		}
		prog = strings.Join(f[:len(f)-2], " ")
	}
	if len(prog) > 1 && prog[0] == '\'' && prog[len(prog)-1] == '\'' && !strings.Contains(prog[1:len(prog)-1], "'") {
		prog = prog[1 : len(prog)-1]
	} else if strings.ContainsAny(prog, "$`\"' ") {
		return ""
	}
	if !filepath.IsAbs(prog) {
		return ""
	}
	return prog
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// eventCounts prints entry counts per Claude Code event, in table order.
func eventCounts(byEvent map[string]int) string {
	var out []string
	done := map[string]bool{}
	for _, he := range protocol.HookEvents {
		if n := byEvent[he.ClaudeEvent]; n > 0 && !done[he.ClaudeEvent] {
			done[he.ClaudeEvent] = true
			out = append(out, fmt.Sprintf("%s %d", he.ClaudeEvent, n))
		}
	}
	return strings.Join(out, ", ")
}

func (o *options) doctorLatency(ctx context.Context) doctorCheck {
	c := doctorCheck{Name: "latency", Hint: "check cbd's log and load; cb hook gives up after hook.timeout"}
	// A malformed hook.timeout is at its default (2s) here.
	timeout := o.Settings.Config().Hook.Timeout
	cwd, _ := os.Getwd()
	payload, _ := json.Marshal(map[string]any{ // plain strings always encode
		"session_id": "cb-doctor", "hook_event_name": "PreToolUse", "cwd": cwd,
		"tool_name": "Bash", "tool_input": map[string]any{"command": "true", "description": "cb doctor latency probe"},
	})
	cl, err := o.Connect()
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	times := make([]time.Duration, 0, doctorProbes)
	for range doctorProbes {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		res, err := cl.Call(pctx, protocol.HookMethod("pre_tool"), json.RawMessage(payload), client.Options{SessionID: "cb-doctor"})
		elapsed := time.Since(start)
		cancel()
		if err != nil {
			c.Detail = fmt.Sprintf("hook.pre_tool call %d of %d: %v", len(times)+1, doctorProbes, err)
			return c
		}
		var hr protocol.HookResult
		if err := json.Unmarshal(res, &hr); err != nil {
			c.Detail = "malformed hook.pre_tool answer: " + err.Error()
			return c
		}
		times = append(times, elapsed)
	}
	slices.Sort(times)
	median := times[len(times)/2]
	c.Detail = fmt.Sprintf("median %s over %d hook.pre_tool round trips (min %s, max %s; hook.timeout %s)",
		fmtMs(median), doctorProbes, fmtMs(times[0]), fmtMs(times[len(times)-1]), timeout)
	if median > timeout/2 {
		c.Detail += ": too close to hook.timeout"
		return c
	}
	c.OK, c.Hint = true, ""
	return c
}

// fmtMs prints a duration in milliseconds with one decimal.
func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func printDoctor(w io.Writer, p iostreams.ColorScheme, checks []doctorCheck) {
	passed := 0
	for _, c := range checks {
		mark := "ok  "
		if p.Enabled() {
			mark = p.Green("✓")
		}
		if c.OK {
			passed++
		} else {
			mark = "FAIL"
			if p.Enabled() {
				mark = p.Red("✗")
			}
		}
		line := fmt.Sprintf("%s %-7s %s", mark, c.Name, c.Detail)
		if !c.OK && c.Hint != "" {
			line += " — fix: " + c.Hint
		}
		fmt.Fprintln(w, line)
		if c.Warning != "" {
			warn := "warn"
			if p.Enabled() {
				warn = p.Yellow("!")
			}
			fmt.Fprintf(w, "%s %-7s %s\n", warn, c.Name, c.Warning)
		}
	}
	fmt.Fprintf(w, "%d of %d checks passed\n", passed, len(checks))
}
