package install

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/internal/claudesettings"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/internal/loopback"
)

// cb install --mcp registers cbd's MCP server (/mcp over streamable HTTP)
// for Claude Code, next to the mcp_tool hooks that call it, in the MCP
// configuration of the scope:
//
//	user     ~/.claude.json ($CLAUDE_CONFIG_DIR/.claude.json), "mcpServers"
//	local    the same file, "projects"["<project dir>"]["mcpServers"]
//	project  <project dir>/.mcp.json, "mcpServers"
//
// The entry is {"type": "http", "url": "http://<http.addr>/mcp",
// "headersHelper": "<shell command printing the Authorization header>"}.
// Claude Code runs the headersHelper once when it connects (once per
// session), and it reads the API token from its file then: the token is
// never written into a configuration file, and a new token needs no new
// install. An HTTP server rather than `cb mcp` over stdio: Claude Code
// then keeps one connection to cbd and starts no process at all, and the
// tool runs inside cbd, one hop from the handler.
//
// The entry is ClaudeBench's when its key is "claudebench" and its url is
// /mcp on a loopback host (or http.addr); uninstall removes only such an
// entry, and the objects that this leaves empty.

// mcpConfigLocation is the file and the object path of a scope's
// "mcpServers".
func mcpConfigLocation(scope, projectDir string) (file string, path []string, err error) {
	switch scope {
	case "user":
		file, err = claudesettings.GlobalConfigPath()
		return file, []string{"mcpServers"}, err
	case "local", "project":
		settings, err := claudeSettingsPath(scope, projectDir)
		if err != nil {
			return "", nil, err
		}
		dir := filepath.Dir(filepath.Dir(settings)) // <dir>/.claude/settings.json → <dir>
		if scope == "project" {
			return filepath.Join(dir, ".mcp.json"), []string{"mcpServers"}, nil
		}
		file, err = claudesettings.GlobalConfigPath()
		return file, []string{"projects", dir, "mcpServers"}, err
	}
	return "", nil, cmdutil.Exit(1, fmt.Errorf("--scope %q: want user, project or local", scope))
}

// headersHelper is the shell command Claude Code runs to get the MCP
// request headers: {"Authorization":"Bearer <API token>"}.
func headersHelper(tokenFile string) string {
	return `printf '{"Authorization":"Bearer %s"}' "$(cat ` + cmdutil.ShellQuote(tokenFile) + `)"`
}

// mcpServerEntry is the entry install writes.
func mcpServerEntry(u, tokenFile string) *jsonedit.Node {
	e := jsonedit.NewObject()
	e.Set("type", jsonedit.NewString("http"))
	e.Set("url", jsonedit.NewString(u))
	e.Set("headersHelper", jsonedit.NewString(headersHelper(tokenFile)))
	return e
}

// oursMCPServer reports whether an mcpServers entry is ClaudeBench's.
func oursMCPServer(e *jsonedit.Node, httpAddr string) bool {
	if e == nil || e.Kind != jsonedit.Object {
		return false
	}
	raw, ok := e.GetString("url")
	if !ok {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/mcp" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return loopback.IsHost(u.Hostname()) || (httpAddr != "" && u.Host == httpAddr)
}

// editMCPServer adds (install --mcp) or removes (uninstall) the MCP server
// entry of o.scope. It reports nil when uninstall found none.
func editMCPServer(o installOptions) (*mcpServerChange, error) {
	file, path, err := mcpConfigLocation(o.scope, o.projectDir)
	if err != nil {
		return nil, err
	}
	f, err := readSettingsFile(file)
	if err != nil {
		return nil, err
	}
	if !f.exists && o.scope != "project" {
		f.mode = 0o600 // Claude Code's own mode for its global config
	}
	ch := &mcpServerChange{File: file, Key: joinPath(append(path, hookmcp.ServerKey))}
	// Walk to mcpServers, creating the objects on the way for install.
	parents := []*jsonedit.Node{f.doc}
	node := f.doc
	for _, k := range path {
		next := node.Get(k)
		if next != nil && !next.IsNull() && next.Kind != jsonedit.Object {
			return nil, settingsError(file, "%q must be an object, not %s", k, next.KindName())
		}
		if next == nil || next.Kind != jsonedit.Object {
			if o.uninstall {
				return nil, nil
			}
			next = jsonedit.NewObject()
			node.Set(k, next)
		}
		node = next
		parents = append(parents, node)
	}
	cur := node.Get(hookmcp.ServerKey)
	if o.uninstall {
		if !oursMCPServer(cur, o.httpAddr) {
			return nil, nil
		}
		node.Delete(hookmcp.ServerKey)
		// Remove the objects left empty, innermost first, but never the
		// project's entry of ~/.claude.json (Claude Code keeps its state there).
		for i := len(path) - 1; i >= 0; i-- {
			if len(parents[i+1].Members) != 0 || (len(path) == 3 && i < 2) {
				break
			}
			parents[i].Delete(path[i])
		}
		ch.Removed = true
	} else {
		u, err := mcpURL(o.httpAddr)
		if err != nil {
			return nil, cmdutil.Exit(1, err)
		}
		want := mcpServerEntry(u, o.tokenFile)
		switch {
		case oursMCPServer(cur, o.httpAddr):
			helper, _ := cur.GetString("headersHelper")
			if raw, _ := cur.GetString("url"); raw == u && helper == headersHelper(o.tokenFile) {
				ch.Present = true
				return ch, nil
			}
			node.Set(hookmcp.ServerKey, want) // an older address or token file
		case cur != nil:
			return nil, cmdutil.Exit(1, fmt.Errorf("%s: %s is another MCP server; remove or rename it so that cb install --mcp can register cbd's", file, ch.Key))
		default:
			node.Set(hookmcp.ServerKey, want)
		}
		ch.Added = true
	}
	out := f.render()
	if f.exists && bytes.Equal(out, f.data) {
		ch.Added, ch.Removed, ch.Present = false, false, true
		return ch, nil
	}
	oldName := file
	if !f.exists {
		oldName = "/dev/null"
	}
	ch.Diff = unifiedDiff(oldName, file, f.data, out)
	if o.dryRun {
		return ch, nil
	}
	ch.Backup, err = f.write(out, o.now())
	return ch, err
}

func joinPath(p []string) string {
	var b bytes.Buffer
	for i, k := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(k)
	}
	return b.String()
}
