// Package initcmd is `cb init` ("init" is a Go keyword): it sets a project
// up so that Claude Code sessions in it use ClaudeBench — cb's hooks, cbd's
// MCP server, permission to call its read-only and task tools, and a
// CLAUDE.local.md section on how to use the task queue — and `cb init
// --undo` takes out exactly what it put in.
package initcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/install"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/hookmcp"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/spf13/cobra"
)

// The files cb init edits, relative to the project directory.
//
// The hooks go where cb install --scope project puts them. The permissions
// and the approval of the MCP server go into the local settings instead:
// Claude Code 2.1.328 honours permissions.allow of .claude/settings.json
// only once the user has accepted the folder's trust dialog, and those of
// .claude/settings.local.json always (e2e/claudecode TestClientInit runs
// claude -p on a project nobody trusted); and both are one user's choice,
// in the file Claude Code keeps out of git.
//
// The server of .mcp.json needs no approval in a headless run (claude -p
// starts a project's pending servers too); an interactive session asks
// the user first, unless enabledMcpjsonServers of the local settings names
// it (claude mcp get then shows it approved rather than pending, once
// the folder is trusted: TestClientInit checks both).
const (
	settingsFile      = ".claude/settings.json"
	localSettingsFile = ".claude/settings.local.json"
	mcpFile           = ".mcp.json"
	claudeMDFile      = "CLAUDE.local.md"
	claudeDir         = ".claude"
)

// discoverTimeout bounds the system.discover that checks that cbd answers.
const discoverTimeout = 3 * time.Second

// startHint says how to start cbd (the README's commands).
const startHint = "start cbd with `cbd` (or `make run` in cb's source tree) in another terminal, or as a service with `cb service install`; then run cb init again"

// Options are cb init's inputs.
type Options struct {
	IO *iostreams.IOStreams
	// Caller asks cbd (system.discover).
	Caller func() (cmdutil.Caller, error)
	// JSON prints the report as JSON through PrintJSON.
	JSON      bool
	PrintJSON func(any) error

	Dir    string // --dir; "" is the current directory
	DryRun bool
	Undo   bool

	// CBPath is this cb's absolute path, which the hooks run; CBOnPath is
	// the resolved path of the cb that PATH finds ("" when none).
	CBPath, CBOnPath string
	// HTTPAddr is http.addr (it tells cb's http hook entries from others).
	HTTPAddr string
	// RecordDir holds the records of what init added (see record.go).
	RecordDir string
	// Home is the user's home directory, where init refuses to run.
	Home string
	// Command finds a cb command by its path ("task", "claim"), nil when
	// there is none: the guide names only commands that exist.
	Command func(path ...string) *cobra.Command
	Now     func() time.Time
}

// NewCmdInit is `cb init`; runF replaces Run in tests.
func NewCmdInit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Caller: f.Caller, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set up the project for Claude Code with ClaudeBench (hooks, MCP server, permissions, CLAUDE.local.md)",
		Long: `Sets up a project directory (the current one, or --dir) so that Claude Code
sessions in it use ClaudeBench:

  .claude/settings.json        cb's hooks, exactly as cb install --scope project
                               writes them
  .mcp.json                    the MCP server "claudebench" (cb mcp over stdio);
                               your other servers stay
  .claude/settings.local.json  permissions.allow for the claudebench tools that
                               only read and for the task tools, so Claude is
                               not asked before each; and "claudebench" in
                               enabledMcpjsonServers, which approves the server
  CLAUDE.local.md              a section, between <!-- claudebench:begin -->
                               and <!-- claudebench:end -->, telling Claude how
                               to create, claim, finish and hand over tasks

cbd must answer: the permissions and the section name only the tools the
running cbd publishes (system.discover). With --dry-run a cbd that does not
answer is reported, and the methods cb knows are used instead.

Every file is merged, never replaced: your keys, servers, permissions and
text stay as they are (and so does the files' layout). Running cb init again
changes nothing, or only what is new. A file that existed is copied to
<file>.bak.<unix time> before it changes. What init added is recorded in
cb's data directory, so that cb init --undo removes exactly that: the hooks,
permissions and server entry it added (the server entry only while it is
the one init wrote), the marked section, and the files and directory it
created once nothing else is left in them.

The MCP server's command is "cb" when the cb on PATH is this one (the entry
then works for everyone who shares .mcp.json), else this cb's absolute path.
Your home directory is refused: its .claude is Claude Code's user
configuration, which cb install sets up.`,
		Example: `  cb init                  # set up the current directory
  cb init --dry-run        # show the diff of every file it would change
  cb init --dir ~/src/app  # another project
  cb init --undo           # take out what cb init added`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.Settings()
			if err != nil {
				return err
			}
			opts.JSON, opts.PrintJSON = f.Flags.JSONOut(), f.PrintJSON
			opts.HTTPAddr = s.Config().HTTP.Addr
			opts.RecordDir = filepath.Join(s.Dirs().Data, "init")
			opts.Home, _ = os.UserHomeDir()
			if opts.CBPath, err = install.CurrentCBPath(); err != nil {
				return err
			}
			opts.CBOnPath = lookPathCB()
			root := cmd.Root()
			opts.Command = func(path ...string) *cobra.Command { return findCommand(root, path) }
			return cmdutil.RunWith(cmd.Context(), opts, runF, Run)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "project directory (default: the current directory)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the unified diff of every file it would change and write nothing")
	cmd.Flags().BoolVar(&opts.Undo, "undo", false, "remove what cb init added")
	return cmd
}

// lookPathCB is the resolved path of the cb that PATH finds, "" when none.
func lookPathCB() string {
	p, err := exec.LookPath("cb")
	if err != nil {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}

// findCommand is the command at path under root, nil when there is none.
func findCommand(root *cobra.Command, path []string) *cobra.Command {
	c, rest, err := root.Find(path)
	if err != nil || len(rest) > 0 || c == root || c.Name() != path[len(path)-1] {
		return nil
	}
	return c
}

// Report is what init or undo did (or, with --dry-run, would do).
type Report struct {
	Project string       `json:"project"`
	DryRun  bool         `json:"dryRun,omitempty"`
	Undo    bool         `json:"undo,omitempty"`
	Cbd     string       `json:"cbd,omitempty"` // how the methods were found
	Changed bool         `json:"changed"`
	Files   []FileChange `json:"files"`
	Record  string       `json:"record,omitempty"`
	Notes   []string     `json:"notes,omitempty"`
}

// FileChange is what happened to one file.
type FileChange struct {
	File    string   `json:"file"`
	Changed bool     `json:"changed"`
	Created bool     `json:"created,omitempty"`
	Removed bool     `json:"removed,omitempty"` // the file was deleted
	Backup  string   `json:"backup,omitempty"`
	Added   []string `json:"added,omitempty"`
	Present []string `json:"present,omitempty"`
	Dropped []string `json:"dropped,omitempty"` // what undo took out
	Diff    string   `json:"diff,omitempty"`
}

// edit is one file's planned change.
type edit struct {
	rel    string
	file   *install.File
	out    []byte
	remove bool // delete the file (undo of a file init created)
	ch     FileChange
	// record notes in the record what this edit added, once it is written.
	record func(*record)
}

// Run is cb init (or --undo) with opts.
func Run(ctx context.Context, opts *Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dir, err := projectDir(opts.Dir, opts.Home)
	if err != nil {
		return err
	}
	rep := &Report{Project: dir, DryRun: opts.DryRun, Undo: opts.Undo}
	rec, recPath, err := loadRecord(opts.RecordDir, dir)
	if err != nil {
		return err
	}
	var edits []*edit
	if opts.Undo {
		edits, err = planUndo(dir, rec, opts, rep)
	} else {
		var tools []string
		if tools, err = discover(ctx, opts, rep); err == nil {
			edits, err = planInit(dir, tools, rec, opts, rep)
		}
	}
	if err != nil {
		return err
	}
	err = apply(dir, edits, rec, opts, rep)
	switch {
	case opts.DryRun:
	case opts.Undo && err == nil:
		err = errors.Join(removeCreatedDir(dir, rec), removeRecord(recPath))
	case !opts.Undo && rep.Changed:
		// Also after a failed write: the record keeps what was written.
		rep.Record = recPath
		err = errors.Join(err, saveRecord(recPath, rec))
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		return opts.PrintJSON(rep)
	}
	printReport(opts.IO.Out, rep)
	return nil
}

// projectDir is the absolute, symlink-free project directory; the home
// directory is refused.
func projectDir(dir, home string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("find the current directory: %w", err)
		}
		dir = wd
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("project directory %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", cmdutil.Exit(1, fmt.Errorf("project directory %s does not exist", abs))
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if home != "" {
		if h, err := filepath.EvalSymlinks(home); err == nil && h == abs {
			return "", cmdutil.Exit(1, fmt.Errorf("%s is your home directory: its .claude holds Claude Code's user settings, "+
				"which `cb install` sets up (user scope); run cb init in a project directory, or pass --dir", abs))
		}
	}
	return abs, nil
}

// discoveredMethod is the part of a system.discover entry init reads; MCP,
// when present, is cbd's own verdict on publishing the method over MCP.
type discoveredMethod struct {
	Name string `json:"name"`
	MCP  *bool  `json:"mcp"`
}

// discover returns the methods published as MCP tools by the running cbd.
// When cbd does not answer, init stops with how to start it; a dry run
// goes on with the methods of cb's own schemas, and says so.
func discover(ctx context.Context, opts *Options, rep *Report) ([]string, error) {
	raw, err := callDiscover(ctx, opts)
	if err == nil {
		var d struct {
			Methods []discoveredMethod `json:"methods"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, cmdutil.Exit(1, fmt.Errorf("system.discover: malformed answer: %w", err))
		}
		var tools []string
		for _, m := range d.Methods {
			if protocol.MCPExposed(m.Name) && (m.MCP == nil || *m.MCP) {
				tools = append(tools, m.Name)
			}
		}
		rep.Cbd = fmt.Sprintf("cbd answered; it publishes %d MCP tools", len(tools))
		return tools, nil
	}
	if !opts.DryRun {
		return nil, cmdutil.Exit(1, fmt.Errorf("cbd does not answer (%v): %s", err, startHint))
	}
	names, serr := schemas.Methods()
	if serr != nil {
		return nil, fmt.Errorf("list the methods cb knows: %w", serr)
	}
	var tools []string
	for _, m := range names {
		if protocol.MCPExposed(m) {
			tools = append(tools, m)
		}
	}
	rep.Cbd = fmt.Sprintf("cbd does not answer (%v): this dry run uses the %d tools of cb's own schemas; %s", err, len(tools), startHint)
	return tools, nil
}

func callDiscover(ctx context.Context, opts *Options) (json.RawMessage, error) {
	c, err := opts.Caller()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	return c.Call(ctx, "system.discover", nil)
}

// allowedTools are the permissions.allow entries init writes: the tools
// that only read, and the task tools.
func allowedTools(tools []string) []string {
	var out []string
	for _, m := range tools {
		if protocol.MCPReadOnly(m) || strings.HasPrefix(m, "task.") {
			out = append(out, permission(m))
		}
	}
	sort.Strings(out)
	return out
}

// permission is the permissions.allow entry of a method's tool.
func permission(method string) string {
	return "mcp__" + hookmcp.ServerKey + "__" + protocol.MCPToolName(method)
}

// mcpCommand is the program of the .mcp.json entry. .mcp.json is often
// committed and shared: "cb" works for everyone who has cb on PATH, where
// this machine's absolute path would not; but when the cb on PATH is not
// this one (or there is none), only the absolute path runs this cb.
func mcpCommand(opts *Options) string {
	if opts.CBOnPath != "" && opts.CBOnPath == opts.CBPath {
		return "cb"
	}
	return opts.CBPath
}

// apply writes the planned edits (unless a dry run), in order, noting in
// rec what each added once it is written.
func apply(dir string, edits []*edit, rec *record, opts *Options, rep *Report) error {
	now := opts.Now()
	for _, e := range edits {
		changed := e.remove || e.file.Changed(e.out)
		if opts.Undo && !e.file.Exists() {
			changed = false // nothing to take out of a missing file
		}
		e.ch.Changed = changed
		if changed {
			rep.Changed = true
			e.ch.Diff = e.file.Diff(e.out, e.remove)
			e.ch.Created = !e.remove && !e.file.Exists()
			e.ch.Removed = e.remove
		}
		rep.Files = append(rep.Files, e.ch)
		if !changed || opts.DryRun {
			continue
		}
		if e.ch.Created {
			if _, err := os.Stat(filepath.Join(dir, claudeDir)); errors.Is(err, os.ErrNotExist) && strings.HasPrefix(e.rel, claudeDir+"/") {
				rec.addCreated(claudeDir)
			}
		}
		var backup string
		var err error
		if e.remove {
			err = e.file.Remove()
		} else {
			backup, err = e.file.Write(e.out, now)
		}
		rep.Files[len(rep.Files)-1].Backup = backup
		if err != nil {
			return err
		}
		if e.ch.Created {
			rec.addCreated(e.rel)
		}
		if e.record != nil {
			e.record(rec)
		}
	}
	return nil
}

// removeCreatedDir removes .claude after undo when init created it and
// nothing is left in it.
func removeCreatedDir(dir string, rec *record) error {
	if rec == nil || !slices.Contains(rec.Created, claudeDir) {
		return nil
	}
	p := filepath.Join(dir, claudeDir)
	entries, err := os.ReadDir(p)
	if err != nil || len(entries) > 0 {
		return nil //nolint:nilerr // gone already, or not empty: leave it
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "project: %s\n", rep.Project)
	if rep.Cbd != "" {
		fmt.Fprintf(w, "%s\n", rep.Cbd)
	}
	for _, f := range rep.Files {
		if rep.DryRun && f.Diff != "" {
			fmt.Fprint(w, f.Diff)
		}
		state := "unchanged"
		switch {
		case f.Removed:
			state = "removed"
		case f.Created:
			state = "created"
		case f.Changed:
			state = "changed"
		}
		if rep.DryRun && f.Changed {
			state = "would be " + state
		}
		fmt.Fprintf(w, "%s: %s", f.File, state)
		if f.Backup != "" {
			fmt.Fprintf(w, " (previous file saved as %s)", f.Backup)
		}
		fmt.Fprintln(w)
		for _, a := range f.Added {
			fmt.Fprintf(w, "  + %s\n", a)
		}
		for _, a := range f.Present {
			fmt.Fprintf(w, "  = %s (already there)\n", a)
		}
		for _, a := range f.Dropped {
			fmt.Fprintf(w, "  - %s\n", a)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case !rep.Changed && rep.Undo:
		fmt.Fprintln(w, "Nothing of cb init's is there; nothing changed.")
	case !rep.Changed:
		fmt.Fprintln(w, "Already set up; nothing changed.")
	case rep.DryRun:
		fmt.Fprintln(w, "Dry run: nothing was written.")
	case rep.Undo:
		fmt.Fprintln(w, "Removed what cb init added.")
	default:
		fmt.Fprintln(w, "Set up. Start Claude Code in the project (claude); it asks once to trust the folder.")
	}
}
