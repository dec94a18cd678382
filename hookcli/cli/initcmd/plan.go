package initcmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/install"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/internal/jsonedit"
)

// planInit plans init's edits of the four files, given the methods cbd
// publishes as tools.
func planInit(dir string, tools []string, rec *record, opts *Options, rep *Report) ([]*edit, error) {
	hooks, err := planHooks(dir, opts, rep)
	if err != nil {
		return nil, err
	}
	local, err := planLocalSettings(dir, allowedTools(tools), rep)
	if err != nil {
		return nil, err
	}
	mcp, err := planMCPServer(dir, mcpCommand(opts), rec, rep)
	if err != nil {
		return nil, err
	}
	md, err := planGuide(dir, guide{tools: setOf(tools), command: opts.Command})
	if err != nil {
		return nil, err
	}
	return []*edit{hooks, local, mcp, md}, nil
}

// planHooks adds cb install --scope project's hooks to .claude/settings.json.
func planHooks(dir string, opts *Options, rep *Report) (*edit, error) {
	path, err := install.ProjectSettingsPath(dir, false)
	if err != nil {
		return nil, err
	}
	f, err := install.OpenJSON(path)
	if err != nil {
		return nil, err
	}
	added, present, notes, err := install.AddProjectHooks(path, f.Doc(), cmdutil.ShellQuote(opts.CBPath), opts.HTTPAddr)
	if err != nil {
		return nil, err
	}
	rep.Notes = append(rep.Notes, notes...)
	e := &edit{rel: settingsFile, file: f, out: unchanged(f, len(added) > 0), ch: FileChange{File: path}}
	var types []string
	for _, h := range added {
		types = append(types, h.Type)
	}
	if len(added) > 0 {
		e.ch.Added = append(e.ch.Added, fmt.Sprintf("%d cb hooks (%s): %s", len(added), added[0].Handler, strings.Join(types, ", ")))
	}
	if len(present) > 0 {
		e.ch.Present = append(e.ch.Present, fmt.Sprintf("%d cb hooks", len(present)))
	}
	e.record = func(r *record) { r.Hooks = addSorted(r.Hooks, types...) }
	return e, nil
}

// planLocalSettings adds the permissions and the server's approval to
// .claude/settings.local.json.
func planLocalSettings(dir string, allow []string, rep *Report) (*edit, error) {
	path, err := install.ProjectSettingsPath(dir, true)
	if err != nil {
		return nil, err
	}
	f, err := install.OpenJSON(path)
	if err != nil {
		return nil, err
	}
	doc := f.Doc()
	e := &edit{rel: localSettingsFile, file: f, ch: FileChange{File: path}}
	var created []string
	perms, err := container(path, doc, "permissions", jsonedit.Object)
	if err != nil {
		return nil, err
	}
	var list *jsonedit.Node
	if perms != nil {
		if list, err = container(path, perms, "allow", jsonedit.Array); err != nil {
			return nil, err
		}
	}
	have := stringSet(list)
	var added []string
	for _, p := range allow {
		if have[p] {
			continue
		}
		if perms == nil {
			perms = jsonedit.NewObject()
			doc.Set("permissions", perms)
			created = append(created, "permissions")
		}
		if list == nil {
			list = jsonedit.NewArray()
			perms.Set("allow", list)
			created = append(created, "permissions.allow")
		}
		list.Push(jsonedit.NewString(p))
		added = append(added, p)
		e.ch.Added = append(e.ch.Added, "permission "+p)
	}
	if n := len(allow) - len(added); n > 0 {
		e.ch.Present = append(e.ch.Present, fmt.Sprintf("%d of the claudebench permissions", n))
	}
	enabled, err := container(path, doc, "enabledMcpjsonServers", jsonedit.Array)
	if err != nil {
		return nil, err
	}
	addServer := !stringSet(enabled)[hookmcp.ServerKey]
	if addServer {
		if enabled == nil {
			enabled = jsonedit.NewArray()
			doc.Set("enabledMcpjsonServers", enabled)
			created = append(created, "enabledMcpjsonServers")
		}
		enabled.Push(jsonedit.NewString(hookmcp.ServerKey))
		e.ch.Added = append(e.ch.Added, "enabledMcpjsonServers "+hookmcp.ServerKey)
	} else {
		e.ch.Present = append(e.ch.Present, "enabledMcpjsonServers "+hookmcp.ServerKey)
	}
	if disabled, _ := container(path, doc, "disabledMcpjsonServers", jsonedit.Array); stringSet(disabled)[hookmcp.ServerKey] {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s lists %q in disabledMcpjsonServers, so Claude Code does not start it; cb init leaves that choice of yours alone", path, hookmcp.ServerKey))
	}
	e.out = unchanged(f, len(added) > 0 || addServer)
	e.record = func(r *record) {
		r.Permissions = addSorted(r.Permissions, added...)
		r.EnabledServer = r.EnabledServer || addServer
		for _, k := range created {
			r.CreatedKeys = addSorted(r.CreatedKeys, localSettingsFile+"#"+k)
		}
	}
	return e, nil
}

// serverEntry is the .mcp.json entry of cbd's MCP server run as `<command> mcp`.
func serverEntry(command string) *jsonedit.Node {
	e := jsonedit.NewObject()
	e.Set("command", jsonedit.NewString(command))
	args := jsonedit.NewArray()
	args.Push(jsonedit.NewString("mcp"))
	e.Set("args", args)
	return e
}

// planMCPServer adds the claudebench server to .mcp.json. An entry of that
// name that init did not write is left alone.
func planMCPServer(dir, command string, rec *record, rep *Report) (*edit, error) {
	path := filepath.Join(dir, mcpFile)
	f, err := install.OpenJSON(path)
	if err != nil {
		return nil, err
	}
	e := &edit{rel: mcpFile, file: f, ch: FileChange{File: path}}
	servers, err := container(path, f.Doc(), "mcpServers", jsonedit.Object)
	if err != nil {
		return nil, err
	}
	want := serverEntry(command)
	label := fmt.Sprintf("MCP server %s: %s mcp", hookmcp.ServerKey, command)
	var cur *jsonedit.Node
	if servers != nil {
		cur = servers.Get(hookmcp.ServerKey)
	}
	createdServers := false
	switch {
	case cur != nil && sameJSON(cur, want):
		e.ch.Present = append(e.ch.Present, label)
		e.out = unchanged(f, false)
		return e, nil
	case cur != nil && (rec.MCPCommand == "" || !sameJSON(cur, serverEntry(rec.MCPCommand))):
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s already has a %q server that cb init did not write; it is left as it is (remove it and run cb init again to have cb's)", path, hookmcp.ServerKey))
		e.out = unchanged(f, false)
		return e, nil
	case servers == nil:
		servers = jsonedit.NewObject()
		f.Doc().Set("mcpServers", servers)
		createdServers = true
	}
	// A new entry, or init's own from an earlier run with another cb path.
	servers.Set(hookmcp.ServerKey, want)
	e.ch.Added = append(e.ch.Added, label)
	e.out = f.Render()
	e.record = func(r *record) {
		r.MCPCommand = command
		if createdServers {
			r.CreatedKeys = addSorted(r.CreatedKeys, mcpFile+"#mcpServers")
		}
	}
	return e, nil
}

// planGuide writes the marked section into CLAUDE.local.md.
func planGuide(dir string, g guide) (*edit, error) {
	path := filepath.Join(dir, claudeMDFile)
	f, err := install.OpenText(path)
	if err != nil {
		return nil, err
	}
	out, err := putSection(f.Data(), g.section())
	if err != nil {
		return nil, cmdutil.Exit(1, fmt.Errorf("%s: %w; nothing was changed", path, err))
	}
	e := &edit{rel: claudeMDFile, file: f, out: out, ch: FileChange{File: path}}
	if f.Changed(out) {
		e.ch.Added = append(e.ch.Added, "the section between "+beginMarker+" and "+endMarker)
	} else {
		e.ch.Present = append(e.ch.Present, "the section between "+beginMarker+" and "+endMarker)
	}
	return e, nil
}

// planUndo plans the removal of what rec says init added, and of the
// marked section (which is init's wherever it is found).
func planUndo(dir string, rec *record, opts *Options, rep *Report) ([]*edit, error) {
	if rec.empty() {
		rep.Notes = append(rep.Notes, "cb init left no record of what it added to this project on this machine: only the marked CLAUDE.local.md section is removed "+
			"(cb uninstall --scope project removes cb's hooks)")
	}
	var edits []*edit
	// settings.json: the hooks init added.
	path, err := install.ProjectSettingsPath(dir, false)
	if err != nil {
		return nil, err
	}
	f, err := install.OpenJSON(path)
	if err != nil {
		return nil, err
	}
	e := &edit{rel: settingsFile, file: f, ch: FileChange{File: path}}
	var dropped bool
	if len(rec.Hooks) > 0 && f.Exists() {
		var types []string
		for _, h := range install.RemoveHooks(f.Doc(), cmdutil.ShellQuote(opts.CBPath), opts.HTTPAddr, rec.Hooks) {
			types = append(types, h.Type)
		}
		if dropped = len(types) > 0; dropped {
			e.ch.Dropped = append(e.ch.Dropped, fmt.Sprintf("%d cb hooks: %s", len(types), strings.Join(types, ", ")))
		}
	}
	finishJSONUndo(e, rec, dropped)
	edits = append(edits, e)

	// settings.local.json: the permissions and the server's approval.
	if path, err = install.ProjectSettingsPath(dir, true); err != nil {
		return nil, err
	}
	if f, err = install.OpenJSON(path); err != nil {
		return nil, err
	}
	e = &edit{rel: localSettingsFile, file: f, ch: FileChange{File: path}}
	dropped = false
	if perms := f.Doc().Get("permissions"); perms != nil && perms.Kind == jsonedit.Object {
		for _, p := range removeStrings(perms.Get("allow"), rec.Permissions) {
			e.ch.Dropped = append(e.ch.Dropped, "permission "+p)
			dropped = true
		}
		dropped = dropEmpty(perms, "allow", rec.createdKey(localSettingsFile, "permissions.allow")) || dropped
	}
	dropped = dropEmpty(f.Doc(), "permissions", rec.createdKey(localSettingsFile, "permissions")) || dropped
	if rec.EnabledServer {
		for _, s := range removeStrings(f.Doc().Get("enabledMcpjsonServers"), []string{hookmcp.ServerKey}) {
			e.ch.Dropped = append(e.ch.Dropped, "enabledMcpjsonServers "+s)
			dropped = true
		}
	}
	dropped = dropEmpty(f.Doc(), "enabledMcpjsonServers", rec.createdKey(localSettingsFile, "enabledMcpjsonServers")) || dropped
	finishJSONUndo(e, rec, dropped)
	edits = append(edits, e)

	// .mcp.json: the server entry, while it is the one init wrote.
	path = filepath.Join(dir, mcpFile)
	if f, err = install.OpenJSON(path); err != nil {
		return nil, err
	}
	e = &edit{rel: mcpFile, file: f, ch: FileChange{File: path}}
	dropped = false
	if servers := f.Doc().Get("mcpServers"); servers != nil && servers.Kind == jsonedit.Object {
		if cur := servers.Get(hookmcp.ServerKey); cur != nil && rec.MCPCommand != "" {
			if sameJSON(cur, serverEntry(rec.MCPCommand)) {
				servers.Delete(hookmcp.ServerKey)
				e.ch.Dropped = append(e.ch.Dropped, fmt.Sprintf("MCP server %s: %s mcp", hookmcp.ServerKey, rec.MCPCommand))
				dropped = true
			} else {
				rep.Notes = append(rep.Notes, fmt.Sprintf("the %q server in %s changed since cb init wrote it; it is left as it is", hookmcp.ServerKey, path))
			}
		}
		dropped = dropEmpty(f.Doc(), "mcpServers", rec.createdKey(mcpFile, "mcpServers")) || dropped
	}
	finishJSONUndo(e, rec, dropped)
	edits = append(edits, e)

	// CLAUDE.local.md: the marked section.
	path = filepath.Join(dir, claudeMDFile)
	if f, err = install.OpenText(path); err != nil {
		return nil, err
	}
	e = &edit{rel: claudeMDFile, file: f, ch: FileChange{File: path}}
	out, ok, err := dropSection(f.Data())
	if err != nil {
		return nil, cmdutil.Exit(1, fmt.Errorf("%s: %w; nothing was changed", path, err))
	}
	e.out = out
	if ok {
		e.ch.Dropped = append(e.ch.Dropped, "the section between "+beginMarker+" and "+endMarker)
	}
	if f.Exists() && slices.Contains(rec.Created, claudeMDFile) && len(bytes.TrimSpace(out)) == 0 {
		e.remove = true
	}
	edits = append(edits, e)
	return edits, nil
}

// finishJSONUndo sets a JSON file's output after undo's removals: the file
// is deleted when init created it and it is now an empty object.
func finishJSONUndo(e *edit, rec *record, dropped bool) {
	e.out = unchanged(e.file, dropped)
	if e.file.Exists() && slices.Contains(rec.Created, e.rel) && len(e.file.Doc().Members) == 0 {
		e.remove = true
	}
}

// unchanged is the file's output: re-rendered when it was edited, else its
// bytes as read.
func unchanged(f *install.File, edited bool) []byte {
	if edited || !f.Exists() {
		return f.Render()
	}
	return f.Data()
}

// container returns parent[key] when it is a container of kind, nil when
// it is missing or null, and an error naming the file when it is anything
// else.
func container(path string, parent *jsonedit.Node, key string, kind jsonedit.Kind) (*jsonedit.Node, error) {
	n := parent.Get(key)
	if n == nil || n.IsNull() {
		return nil, nil
	}
	if n.Kind != kind {
		want := "an object"
		if kind == jsonedit.Array {
			want = "an array"
		}
		return nil, cmdutil.Exit(1, fmt.Errorf("settings file %s: %q must be %s, not %s; nothing was changed", path, key, want, n.KindName()))
	}
	return n, nil
}

// dropEmpty deletes parent[key] when created (init created it) and it is
// an empty container; it reports whether it did.
func dropEmpty(parent *jsonedit.Node, key string, created bool) bool {
	n := parent.Get(key)
	if !created || n == nil || n.Kind == jsonedit.Scalar || len(n.Members)+len(n.Elems) > 0 {
		return false
	}
	parent.Delete(key)
	return true
}

// stringValue is a string scalar's value.
func stringValue(n *jsonedit.Node) (string, bool) {
	if n == nil || n.Kind != jsonedit.Scalar {
		return "", false
	}
	var s string
	if json.Unmarshal(n.Raw, &s) != nil {
		return "", false
	}
	return s, true
}

// stringSet is the set of the string elements of an array (empty for nil).
func stringSet(arr *jsonedit.Node) map[string]bool {
	set := map[string]bool{}
	if arr == nil || arr.Kind != jsonedit.Array {
		return set
	}
	for _, el := range arr.Elems {
		if s, ok := stringValue(el); ok {
			set[s] = true
		}
	}
	return set
}

// removeStrings removes from arr the string elements in vals and returns
// those it removed.
func removeStrings(arr *jsonedit.Node, vals []string) []string {
	if arr == nil || arr.Kind != jsonedit.Array {
		return nil
	}
	want := setOf(vals)
	var out []string
	for i := 0; i < len(arr.Elems); i++ {
		if s, ok := stringValue(arr.Elems[i]); ok && want[s] {
			arr.RemoveAt(i)
			i--
			out = append(out, s)
		}
	}
	return out
}

func setOf(vals []string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

// sameJSON reports whether two nodes hold equal JSON values.
func sameJSON(a, b *jsonedit.Node) bool {
	var ba, bb bytes.Buffer
	a.Render(&ba, jsonedit.Style{}, 0)
	b.Render(&bb, jsonedit.Style{}, 0)
	var va, vb any
	if json.Unmarshal(ba.Bytes(), &va) != nil || json.Unmarshal(bb.Bytes(), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
