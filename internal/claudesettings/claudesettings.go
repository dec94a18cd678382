// Package claudesettings reads Claude Code settings files as ClaudeBench
// sees them: which hook entries are ClaudeBench's own. cb install uses it
// to find the entries it wrote, cbd's settings guard to notice a change
// that removes them; both must recognize the same entries.
package claudesettings

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/internal/loopback"
	"github.com/claudebench/cb/protocol"
)

// Recognizer tells ClaudeBench's hook entries from others.
type Recognizer struct {
	// Command is the program cb install writes (matched besides any
	// program named cb); "" matches programs named cb only.
	Command string
	// HTTPAddr is http.addr (matched besides any loopback host).
	HTTPAddr string
}

// Ours reports whether entry (one element of a matcher group's "hooks"
// array) is ClaudeBench's entry for hookType: a command running
// `<cb> hook <hookType>` (shell or exec form) or an http hook posting to
// /hooks/<hookType> on a loopback host or HTTPAddr, or an mcp_tool hook
// calling cbd's hook tool for hookType.
func (r Recognizer) Ours(entry *jsonedit.Node, hookType string) bool {
	if entry == nil || entry.Kind != jsonedit.Object {
		return false
	}
	typ, _ := entry.GetString("type")
	switch typ {
	case "command":
		cmd, ok := entry.GetString("command")
		if !ok {
			return false
		}
		args, hasArgs := entry.GetStrings("args")
		return r.oursCommand(cmd, args, hasArgs, hookType)
	case "http":
		u, ok := entry.GetString("url")
		return ok && r.oursURL(u, hookType)
	case "mcp_tool":
		return oursMCPTool(entry, hookType)
	}
	return false
}

// oursMCPTool reports whether an mcp_tool entry calls ClaudeBench's hook
// tool for hookType.
func oursMCPTool(entry *jsonedit.Node, hookType string) bool {
	server, _ := entry.GetString("server")
	tool, _ := entry.GetString("tool")
	in := entry.Get("input")
	if server != hookmcp.ServerKey || tool != hookmcp.ToolName || in == nil || in.Kind != jsonedit.Object {
		return false
	}
	t, ok := in.GetString(hookmcp.ArgType)
	return ok && t == hookType
}

func (r Recognizer) oursCommand(cmd string, args []string, hasArgs bool, hookType string) bool {
	var prog []string
	if hasArgs { // exec form: command is the program
		if len(args) != 2 || args[0] != "hook" || args[1] != hookType {
			return false
		}
		prog = strings.Fields(cmd)
	} else {
		f := strings.Fields(cmd)
		n := len(f)
		if n < 3 || f[n-2] != "hook" || f[n-1] != hookType {
			return false
		}
		prog = f[:n-2]
	}
	if len(prog) == 0 {
		return false
	}
	if r.Command != "" && strings.Join(prog, " ") == strings.Join(strings.Fields(r.Command), " ") {
		return true
	}
	last := strings.Trim(prog[len(prog)-1], `'"`)
	if i := strings.LastIndexAny(last, `/\`); i >= 0 {
		last = last[i+1:]
	}
	last = strings.Trim(last, `'"`)
	return last == "cb" || strings.EqualFold(last, "cb.exe")
}

func (r Recognizer) oursURL(raw, hookType string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/hooks/"+hookType || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return loopback.IsHost(u.Hostname()) || (r.HTTPAddr != "" && u.Host == r.HTTPAddr)
}

// Summary is what a settings file says about ClaudeBench's hooks.
type Summary struct {
	// HasOurHooks: some hooks.<Event> array holds an entry of ours for a
	// hook type of that event.
	HasOurHooks bool
	// DisableAllHooks: the file sets disableAllHooks to true, which stops
	// every hook but the managed ones.
	DisableAllHooks bool
}

// Summarize reads a settings file's content. Content that is not a JSON
// object holds no hooks (Claude Code ignores such a file too).
func (r Recognizer) Summarize(content []byte) Summary {
	var s Summary
	if !json.Valid(content) {
		return s
	}
	doc, err := jsonedit.Parse(content)
	if err != nil || doc == nil || doc.Kind != jsonedit.Object {
		return s
	}
	if d := doc.Get("disableAllHooks"); d != nil && d.Kind == jsonedit.Scalar && string(d.Raw) == "true" {
		s.DisableAllHooks = true
	}
	hooks := doc.Get("hooks")
	r.Each(hooks, func(protocol.HookEvent, *jsonedit.Node) bool {
		s.HasOurHooks = true
		return false
	})
	return s
}

// Each calls fn for every ClaudeBench entry in a settings file's "hooks"
// object, with the hook type it serves, until fn returns false.
func (r Recognizer) Each(hooks *jsonedit.Node, fn func(he protocol.HookEvent, entry *jsonedit.Node) bool) {
	if hooks == nil || hooks.Kind != jsonedit.Object {
		return
	}
	for _, he := range protocol.HookEvents {
		groups := hooks.Get(he.ClaudeEvent)
		if groups == nil || groups.Kind != jsonedit.Array {
			continue
		}
		for _, g := range groups.Elems {
			hs := g.Get("hooks")
			if hs == nil || hs.Kind != jsonedit.Array {
				continue
			}
			for _, e := range hs.Elems {
				if r.Ours(e, he.Type) && !fn(he, e) {
					return
				}
			}
		}
	}
}

// ConfigDir is Claude Code's configuration directory: $CLAUDE_CONFIG_DIR
// (made absolute) when it is set, else ~/.claude. The user settings are
// settings.json in it.
func ConfigDir() (string, error) {
	dir, _, err := configDir()
	return dir, err
}

// GlobalConfigPath is Claude Code's global configuration file (which holds
// the user's and the local scope's MCP servers):
// $CLAUDE_CONFIG_DIR/.claude.json when that is set, else ~/.claude.json.
func GlobalConfigPath() (string, error) {
	dir, custom, err := configDir()
	if err != nil {
		return "", err
	}
	if !custom {
		dir = filepath.Dir(dir) // the home directory
	}
	return filepath.Join(dir, ".claude.json"), nil
}

func configDir() (dir string, custom bool, err error) {
	if d := os.Getenv("CLAUDE_CONFIG_DIR"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", true, fmt.Errorf("CLAUDE_CONFIG_DIR: %w", err)
		}
		return abs, true, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", false, fmt.Errorf("find the home directory: %w", err)
	}
	return filepath.Join(home, ".claude"), false, nil
}
