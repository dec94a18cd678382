package install

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/claudebench/cb/internal/jsonedit"
)

// What cb init (hookcli/cli/initcmd) shares with cb install: the same
// format-preserving edits of Claude Code's files, the same backups, diffs
// and recognisers of ClaudeBench's hook entries, so that a project set up
// with cb init has exactly the hooks cb install --scope project writes.

// File is a file opened for an edit with cb install's rules: written
// atomically, in its own mode, after a backup of what was there
// (<file>.bak.<unix time>), and never over a change made since it was read.
type File struct{ f *settingsFile }

// OpenJSON reads a JSON settings file for an edit of Doc; a missing or
// blank file is an empty object, malformed JSON an error naming the place.
func OpenJSON(path string) (*File, error) {
	f, err := readSettingsFile(path)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// OpenText reads a text file for an edit (a missing file reads as empty).
func OpenText(path string) (*File, error) {
	f, err := readRawFile(path)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Path is the file's path as named.
func (f *File) Path() string { return f.f.path }

// Exists reports whether the file existed when read.
func (f *File) Exists() bool { return f.f.exists }

// Data is the file's content as read.
func (f *File) Data() []byte { return f.f.data }

// Doc is the top-level object of a file opened with OpenJSON, to edit in
// place; nil for OpenText.
func (f *File) Doc() *jsonedit.Node { return f.f.doc }

// Render prints Doc in the file's own layout (indentation, newlines, the
// whitespace around the object).
func (f *File) Render() []byte { return f.f.render() }

// Changed reports whether out differs from the file as read (writing out
// would create or change it).
func (f *File) Changed(out []byte) bool { return !f.f.exists || !bytes.Equal(out, f.f.data) }

// Diff is the unified diff from the file as read to out ("" when equal); a
// file that did not exist is /dev/null, and so is out when remove is set.
func (f *File) Diff(out []byte, remove bool) string {
	oldName, newName := f.f.path, f.f.path
	if !f.f.exists {
		oldName = "/dev/null"
	}
	if remove {
		newName, out = "/dev/null", nil
	}
	return unifiedDiff(oldName, newName, f.f.data, out)
}

// Write backs up the file (when it existed) and replaces it with out. It
// returns the backup's path ("" for a new file).
func (f *File) Write(out []byte, now time.Time) (backup string, err error) {
	return f.f.write(out, now)
}

// Remove deletes the file, unless it changed since it was read. It keeps
// no backup: callers delete only files that hold nothing but what they
// wrote themselves.
func (f *File) Remove() error {
	if !f.f.exists {
		return nil
	}
	cur, err := os.ReadFile(f.f.target)
	if err != nil || !bytes.Equal(cur, f.f.data) {
		return fmt.Errorf("%s changed while cb was editing it; nothing was changed, run the command again", f.f.path)
	}
	if err := os.Remove(f.f.target); err != nil {
		return fmt.Errorf("remove %s: %w", f.f.path, err)
	}
	return nil
}

// ProjectSettingsPath is <dir>/.claude/settings.json, the file of cb install
// --scope project, or with local <dir>/.claude/settings.local.json (--scope
// local). dir must exist.
func ProjectSettingsPath(dir string, local bool) (string, error) {
	scope := "project"
	if local {
		scope = "local"
	}
	return claudeSettingsPath(scope, dir)
}

// CurrentCBPath is the absolute, symlink-free path of the cb beside this
// cb-cli: what cb install's hooks run.
func CurrentCBPath() (string, error) { return currentCBPath() }

// AddProjectHooks adds to doc, the top-level object of the project settings
// file at path, the hook entries `cb install --scope project` writes
// (the default hook types as command hooks running command, the program as
// written: cmdutil.ShellQuote of CurrentCBPath for cb install's default),
// leaving those already there. httpAddr is http.addr, which tells cb's http
// hook entries from others. It reports the entries added and present and
// notes for the user.
func AddProjectHooks(path string, doc *jsonedit.Node, command, httpAddr string) (added, present []HookRef, notes []string, err error) {
	o := installOptions{scope: "project", events: "default", command: command, httpAddr: httpAddr}
	return addHooks(path, doc, o, hookRecognizer{command: command, httpAddr: httpAddr})
}

// RemoveHooks removes from doc ClaudeBench's hook entries of the given hook
// types (cb uninstall's recognisers and clean-up of the containers left
// empty) and reports them.
func RemoveHooks(doc *jsonedit.Node, command, httpAddr string, types []string) []HookRef {
	only := map[string]bool{}
	for _, t := range types {
		only[t] = true
	}
	return uninstallHookTypes(doc, hookRecognizer{command: command, httpAddr: httpAddr}, only)
}
