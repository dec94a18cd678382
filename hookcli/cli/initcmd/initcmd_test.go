package initcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/hookcli/cli/task"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/spf13/cobra"
)

var updateGolden = flag.Bool("update-init-golden", false, "rewrite the golden files in testdata/init")

// testCB is the cb path the in-process tests write.
const testCB = "/opt/cb/bin/cb"

// testNow is the fixed clock of the tests (it names the backups).
var testNow = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

// registry answers system.discover with the methods of cb's own schemas
// (what cbd registers), less drop.
func registry(t *testing.T, drop ...string) cmdutil.Caller {
	t.Helper()
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	var methods []map[string]any
	for _, n := range names {
		if !slices.Contains(drop, n) {
			methods = append(methods, map[string]any{"name": n, "inputSchema": map[string]any{}, "outputSchema": map[string]any{}})
		}
	}
	raw, err := json.Marshal(map[string]any{"methods": methods})
	if err != nil {
		t.Fatal(err)
	}
	return cmdutil.CallerFunc(func(_ context.Context, method string, _ any) (json.RawMessage, error) {
		if method != "system.discover" {
			return nil, protocol.Errorf(protocol.CodeMethodNotFound, "no method %s", method)
		}
		return raw, nil
	})
}

// cbdDown is a cbd that does not answer.
var cbdDown = cmdutil.CallerFunc(func(context.Context, string, any) (json.RawMessage, error) {
	return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "no Redis address: cbd has not written redis.url"}
})

// commands is cb's real task command tree, for the guide's lookups.
func commands() func(path ...string) *cobra.Command {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Flags: &cmdutil.GlobalFlags{}}
	root := &cobra.Command{Use: "cb"}
	root.AddCommand(task.NewCmdTask(f))
	return func(path ...string) *cobra.Command { return findCommand(root, path) }
}

// env is one test's project, home and record directory.
type env struct {
	t         *testing.T
	dir       string
	project   string
	home      string
	recordDir string
	caller    cmdutil.Caller
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	e := &env{t: t, dir: dir, project: filepath.Join(dir, "project"), home: filepath.Join(dir, "home"),
		recordDir: filepath.Join(dir, "data", "init"), caller: registry(t)}
	for _, d := range []string{e.project, e.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// run runs cb init with flags (--dry-run, --undo) and returns its output
// with the temp directory replaced by <tmp>.
func (e *env) run(flags ...string) (string, error) {
	e.t.Helper()
	ios, _, out, _ := iostreams.Test()
	opts := &Options{IO: ios, Caller: func() (cmdutil.Caller, error) { return e.caller, nil },
		Dir: e.project, DryRun: slices.Contains(flags, "--dry-run"), Undo: slices.Contains(flags, "--undo"),
		CBPath: testCB, HTTPAddr: "127.0.0.1:7711", RecordDir: e.recordDir, Home: e.home,
		Command: commands(), Now: func() time.Time { return testNow }}
	err := Run(context.Background(), opts)
	return strings.ReplaceAll(out.String(), e.dir, "<tmp>"), err
}

// mustRun runs cb init and fails the test on an error.
func (e *env) mustRun(flags ...string) string {
	e.t.Helper()
	out, err := e.run(flags...)
	if err != nil {
		e.t.Fatalf("cb init %v: %v\n%s", flags, err, out)
	}
	return out
}

// write puts a file into the project.
func (e *env) write(rel, content string) {
	e.t.Helper()
	p := filepath.Join(e.project, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// read returns a project file ("" when missing).
func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.project, rel))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.t.Fatal(err)
	}
	return string(b)
}

// snapshot maps every file under the project and the record directory to
// its content.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	m := map[string]string{}
	for _, root := range []string{e.project, e.recordDir} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil //nolint:nilerr // a missing root is an empty tree
			}
			rel, _ := filepath.Rel(e.dir, p)
			if d.IsDir() {
				if root == e.project {
					m[rel+"/"] = ""
				}
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				e.t.Fatal(err)
			}
			m[rel] = string(b)
			return nil
		})
	}
	return m
}

func sameSnapshot(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s differs:\n%s", what, k, udiff.Unified("want", "got", v, got[k]))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		}
	}
}

// golden compares got with testdata/init/name.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "init", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-init-golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", name, udiff.Unified(path, "got", string(want), got))
	}
}

// TestInitFresh: in an empty project, --dry-run shows the four new files
// and writes nothing; init writes them; a second run changes nothing; undo
// leaves the project as empty as it was and drops the record.
func TestInitFresh(t *testing.T) {
	e := newEnv(t)
	empty := e.snapshot()
	golden(t, "fresh.dry-run.txt", e.mustRun("--dry-run"))
	sameSnapshot(t, "after --dry-run", e.snapshot(), empty)

	out := e.mustRun()
	for _, w := range []string{".claude/settings.json: created", ".claude/settings.local.json: created", ".mcp.json: created", "CLAUDE.local.md: created", "Set up."} {
		if !strings.Contains(out, w) {
			t.Errorf("init output lacks %q:\n%s", w, out)
		}
	}
	written := e.snapshot()
	golden(t, "fresh.settings.json", e.read(settingsFile))
	golden(t, "fresh.settings.local.json", e.read(localSettingsFile))
	golden(t, "fresh.mcp.json", e.read(mcpFile))
	golden(t, "fresh.CLAUDE.local.md", e.read(claudeMDFile))

	out = e.mustRun()
	if !strings.Contains(out, "Already set up; nothing changed.") {
		t.Errorf("second run:\n%s", out)
	}
	sameSnapshot(t, "after a second run", e.snapshot(), written)

	e.caller = cbdDown // undo needs no cbd
	out = e.mustRun("--undo")
	if !strings.Contains(out, "Removed what cb init added.") {
		t.Errorf("undo:\n%s", out)
	}
	sameSnapshot(t, "after --undo", e.snapshot(), empty)
	out = e.mustRun("--undo")
	if !strings.Contains(out, "nothing changed") {
		t.Errorf("second undo:\n%s", out)
	}
}

// The user's files of TestInitExisting: other MCP servers in an indented
// layout of their own, permissions of their own (one of them a claudebench
// tool), their own hooks and keys, and notes in CLAUDE.local.md.
const (
	userMCP = `{
	"mcpServers": {
		"github": {"command": "gh-mcp", "args": ["--stdio"]},
		"docs": {
			"type": "http",
			"url": "https://docs.example.com/mcp"
		}
	},
	"x-note": "team servers"
}
`
	userLocal = `{
    "permissions": {
        "allow": [
            "Bash(npm test:*)",
            "mcp__claudebench__task_list"
        ],
        "deny": ["Read(./.env)"]
    },
    "model": "opus"
}
`
	userSettings = `{
  "env": {"FOO": "1"},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/audit.sh"}]}
    ]
  }
}
`
	userNotes = "# Notes\n\nRun `make test` before committing.\n"
)

// TestInitExisting: init merges into the user's files, keeping their
// content and layout; undo gives back the same bytes (as cb uninstall does,
// for containers printed one member per line: those init changes are
// re-printed so), the claudebench permission the user had granted before
// included.
func TestInitExisting(t *testing.T) {
	e := newEnv(t)
	e.write(mcpFile, userMCP)
	e.write(localSettingsFile, userLocal)
	e.write(settingsFile, userSettings)
	e.write(claudeMDFile, userNotes)
	before := e.snapshot()
	golden(t, "existing.dry-run.txt", e.mustRun("--dry-run"))
	sameSnapshot(t, "after --dry-run", e.snapshot(), before)

	e.mustRun()
	golden(t, "existing.mcp.json", e.read(mcpFile))
	golden(t, "existing.settings.local.json", e.read(localSettingsFile))
	if got := e.read(claudeMDFile); !strings.HasPrefix(got, userNotes+"\n"+beginMarker+"\n") {
		t.Errorf("CLAUDE.local.md does not keep the notes and append the section:\n%s", got)
	}
	for _, rel := range []string{mcpFile, localSettingsFile, settingsFile, claudeMDFile} {
		b, err := os.ReadFile(filepath.Join(e.project, rel+".bak."+strconv.FormatInt(testNow.Unix(), 10)))
		if err != nil || string(b) != before["project/"+rel] {
			t.Errorf("backup of %s: %v %q", rel, err, b)
		}
	}
	var rec record
	data, err := os.ReadFile(recordPath(e.recordDir, e.project))
	if err != nil || json.Unmarshal(data, &rec) != nil {
		t.Fatalf("record: %v %s", err, data)
	}
	if slices.Contains(rec.Permissions, "mcp__claudebench__task_list") || !slices.Contains(rec.Permissions, "mcp__claudebench__task_create") {
		t.Errorf("recorded permissions %v: want task_create, not the user's task_list", rec.Permissions)
	}

	e.mustRun("--undo")
	for _, rel := range []string{mcpFile, localSettingsFile, settingsFile, claudeMDFile} {
		if got := e.read(rel); got != before["project/"+rel] {
			t.Errorf("%s after undo:\n%s", rel, udiff.Unified("before init", "after undo", before["project/"+rel], got))
		}
	}
	if _, err := os.Stat(recordPath(e.recordDir, e.project)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the record is still there after undo: %v", err)
	}
}

// TestInitSectionEdits: a re-run replaces the section in place, keeping
// the text around it; undo after the user edited the section removes it,
// edit included, and keeps their text after it.
func TestInitSectionEdits(t *testing.T) {
	e := newEnv(t)
	e.write(claudeMDFile, userNotes)
	e.mustRun()
	withSection := e.read(claudeMDFile)
	edited := strings.Replace(withSection, "## Shared task queue", "## Shared task queue\n\nMY EDIT INSIDE", 1) + "\n## After\n\nkept text\n"
	e.write(claudeMDFile, edited)

	e.mustRun()
	want := withSection + "\n## After\n\nkept text\n"
	if got := e.read(claudeMDFile); got != want {
		t.Errorf("re-run did not replace the section in place:\n%s", udiff.Unified("want", "got", want, got))
	}

	e.write(claudeMDFile, edited)
	e.mustRun("--undo")
	want = userNotes + "\n## After\n\nkept text\n"
	if got := e.read(claudeMDFile); got != want {
		t.Errorf("undo after an edit:\n%s", udiff.Unified("want", "got", want, got))
	}
}

// TestInitRefusesBadInput: broken markers, malformed JSON and the home
// directory are refused with a clear error, and nothing is written.
func TestInitRefusesBadInput(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"begin without end", claudeMDFile, "x\n" + beginMarker + "\nhalf\n", "are not one pair"},
		{"two sections", claudeMDFile, beginMarker + "\n" + endMarker + "\n" + beginMarker + "\n" + endMarker + "\n", "are not one pair"},
		{"end before begin", claudeMDFile, endMarker + "\n" + beginMarker + "\n", "are not one pair"},
		{"comments in .mcp.json", mcpFile, "{\n  // team servers\n  \"mcpServers\": {}\n}\n", "is not valid JSON"},
		{"mcpServers not an object", mcpFile, `{"mcpServers": []}`, `"mcpServers" must be an object, not an array`},
		{"allow not an array", localSettingsFile, `{"permissions": {"allow": "x"}}`, `"allow" must be an array`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.write(tc.file, tc.content)
			before := e.snapshot()
			for _, flags := range [][]string{nil, {"--dry-run"}} {
				out, err := e.run(flags...)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was changed") {
					t.Fatalf("cb init %v: err %v, want one containing %q\n%s", flags, err, tc.want, out)
				}
				sameSnapshot(t, "after the refusal", e.snapshot(), before)
			}
		})
	}
	t.Run("home", func(t *testing.T) {
		e := newEnv(t)
		e.project = e.home
		_, err := e.run()
		if err == nil || !strings.Contains(err.Error(), "is your home directory") || !strings.Contains(err.Error(), "cb install") {
			t.Fatalf("err %v", err)
		}
		if entries, _ := os.ReadDir(e.home); len(entries) != 0 {
			t.Fatalf("home has %v", entries)
		}
	})
}

// TestInitCbdDown: init stops with how to start cbd and writes nothing; a
// dry run says cbd is down and shows the diff with the methods cb knows.
func TestInitCbdDown(t *testing.T) {
	e := newEnv(t)
	e.caller = cbdDown
	_, err := e.run()
	if err == nil || cmdutil.ExitCode(err) != 1 || !strings.Contains(err.Error(), "cbd does not answer") || !strings.Contains(err.Error(), "cb service install") {
		t.Fatalf("err %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	if entries, _ := os.ReadDir(e.project); len(entries) != 0 {
		t.Fatalf("project has %v", entries)
	}
	out := e.mustRun("--dry-run")
	if !strings.Contains(out, "cbd does not answer") || !strings.Contains(out, "+      \"mcp__claudebench__task_create\",") || !strings.Contains(out, "Dry run: nothing was written.") {
		t.Fatalf("dry run with cbd down:\n%s", out)
	}
	if entries, _ := os.ReadDir(e.project); len(entries) != 0 {
		t.Fatalf("project has %v", entries)
	}
}

// TestInitOtherServer: a "claudebench" server in .mcp.json that init did
// not write is left alone, by init and by undo.
func TestInitOtherServer(t *testing.T) {
	e := newEnv(t)
	other := `{"mcpServers": {"claudebench": {"type": "http", "url": "http://127.0.0.1:7711/mcp"}}}` + "\n"
	e.write(mcpFile, other)
	out := e.mustRun()
	if !strings.Contains(out, "did not write; it is left as it is") || e.read(mcpFile) != other {
		t.Fatalf("init:\n%s\n.mcp.json: %s", out, e.read(mcpFile))
	}
	e.mustRun("--undo")
	if e.read(mcpFile) != other {
		t.Fatalf(".mcp.json after undo: %s", e.read(mcpFile))
	}
}

// TestInitServerEntryChangedByUser: undo leaves the server entry once the
// user changed it.
func TestInitServerEntryChangedByUser(t *testing.T) {
	e := newEnv(t)
	e.mustRun()
	changed := strings.Replace(e.read(mcpFile), `"mcp"`, `"mcp", "--verbose"`, 1)
	e.write(mcpFile, changed)
	out := e.mustRun("--undo")
	if !strings.Contains(out, "changed since cb init wrote it") || e.read(mcpFile) != changed {
		t.Fatalf("undo:\n%s\n.mcp.json: %s", out, e.read(mcpFile))
	}
}

// TestMCPCommand: the server runs "cb" when PATH's cb is this one, else
// this cb's absolute path.
func TestMCPCommand(t *testing.T) {
	for _, tc := range []struct{ onPath, want string }{{testCB, "cb"}, {"/usr/bin/cb", testCB}, {"", testCB}} {
		if got := mcpCommand(&Options{CBPath: testCB, CBOnPath: tc.onPath}); got != tc.want {
			t.Errorf("cb on PATH %q: %q, want %q", tc.onPath, got, tc.want)
		}
	}
}

// TestAllowedTools: the permissions are the read-only tools and the task
// tools cbd publishes, never a hidden method.
func TestAllowedTools(t *testing.T) {
	got := allowedTools([]string{"task.create", "task.list", "system.health", "hooks.test", "task.update"})
	want := []string{"mcp__claudebench__system_health", "mcp__claudebench__task_create", "mcp__claudebench__task_list", "mcp__claudebench__task_update"}
	if !slices.Equal(got, want) {
		t.Errorf("allowedTools = %v, want %v", got, want)
	}
	e := newEnv(t)
	e.mustRun()
	local := e.read(localSettingsFile)
	for _, hidden := range []string{"task_delete", "task_work", "hooks_add", "hook_pre_tool", "hooks_test", "system_register"} {
		if strings.Contains(local, "mcp__claudebench__"+hidden+`"`) {
			t.Errorf("permissions allow %s:\n%s", hidden, local)
		}
	}
}

// toolRe matches the tool names the guide writes (in backquotes).
var toolRe = regexp.MustCompile("`([a-z]+_[a-z_]+)`")

// cbRe matches the cb commands the guide writes.
var cbRe = regexp.MustCompile("`cb ([a-z]+) ([a-z]+)")

// TestGuideNamesOnlyWhatExists: every tool the section names is a method
// the registry has, and every cb command one this cb has; without
// task.attach (or task.assign) in the registry, no line names it.
func TestGuideNamesOnlyWhatExists(t *testing.T) {
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands()
	for _, drop := range [][]string{nil, {"task.attach"}, {"task.attach", "task.attachments"}, {"task.assign", "task.unassign"}, {"task.list", "task.claim"}} {
		tools := map[string]bool{}
		for _, n := range names {
			if protocol.MCPExposed(n) && !slices.Contains(drop, n) {
				tools[n] = true
			}
		}
		text := guide{tools: tools, command: cmds}.section()
		for _, m := range toolRe.FindAllStringSubmatch(text, -1) {
			if !tools[protocol.MCPMethod(m[1])] {
				t.Errorf("without %v the guide names %s:\n%s", drop, m[1], text)
			}
		}
		for _, m := range cbRe.FindAllStringSubmatch(text, -1) {
			if cmds(m[1], m[2]) == nil {
				t.Errorf("the guide names cb %s %s, which this cb does not have", m[1], m[2])
			}
		}
		for _, d := range drop {
			if strings.Contains(text, protocol.MCPToolName(d)+"`") {
				t.Errorf("without %s the guide names it:\n%s", d, text)
			}
		}
	}
	// With every method, each step of the brief is there.
	tools := map[string]bool{}
	for _, n := range names {
		tools[n] = protocol.MCPExposed(n)
	}
	text := guide{tools: tools, command: cmds}.section()
	for _, w := range []string{"`task_create`", "`task_claim`", "`task_attachments`", "`task_attach`", "`task_complete`", "`task_fail`", "`task_unassign`", "`task_assign`", "session:$CLAUDE_CODE_SESSION_ID"} {
		if !strings.Contains(text, w) {
			t.Errorf("the guide lacks %s:\n%s", w, text)
		}
	}
	if !strings.HasPrefix(text, beginMarker+"\n") || !strings.HasSuffix(text, endMarker+"\n") {
		t.Errorf("the guide is not between the markers:\n%s", text)
	}
}

// TestSectionRoundTrip: putSection then dropSection gives back the text,
// whatever its ending.
func TestSectionRoundTrip(t *testing.T) {
	section := beginMarker + "\nbody\n" + endMarker + "\n"
	for _, text := range []string{"", "notes\n", "notes\n\n", "a\n\nb\n", "\n"} {
		out, err := putSection([]byte(text), section)
		if err != nil {
			t.Fatal(err)
		}
		back, ok, err := dropSection(out)
		if err != nil || !ok {
			t.Fatalf("%q: %v %v", text, ok, err)
		}
		if text == "\n" {
			text = "" // a blank file: the section replaces it
		}
		if !bytes.Equal(back, []byte(text)) && !(text == "" && len(bytes.TrimSpace(back)) == 0) {
			t.Errorf("%q → %q → %q", text, out, back)
		}
	}
}

// TestInitNewCBPath: a re-run from a cb at another path updates the server
// entry init wrote (and undo then removes the new one); the hooks of the
// first run stay, with a note.
func TestInitNewCBPath(t *testing.T) {
	e := newEnv(t)
	e.mustRun()
	ios, _, out, _ := iostreams.Test()
	opts := &Options{IO: ios, Caller: func() (cmdutil.Caller, error) { return e.caller, nil }, Dir: e.project,
		CBPath: "/usr/local/bin/cb", HTTPAddr: "127.0.0.1:7711", RecordDir: e.recordDir, Home: e.home,
		Command: commands(), Now: func() time.Time { return testNow }}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := e.read(mcpFile); !strings.Contains(got, `"command": "/usr/local/bin/cb"`) {
		t.Fatalf(".mcp.json after a run from /usr/local/bin/cb:\n%s\n%s", got, out)
	}
	if !strings.Contains(out.String(), "is already installed as") {
		t.Errorf("no note on the hooks of the other cb:\n%s", out)
	}
	e.mustRun("--undo")
	if _, err := os.Stat(filepath.Join(e.project, mcpFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf(".mcp.json after undo: %v %s", err, e.read(mcpFile))
	}
}

// TestInitDisabledServer: a server the user disabled stays disabled, and
// init says so.
func TestInitDisabledServer(t *testing.T) {
	e := newEnv(t)
	e.write(localSettingsFile, `{"disabledMcpjsonServers": ["claudebench"]}`)
	out := e.mustRun()
	if !strings.Contains(out, "disabledMcpjsonServers") || !strings.Contains(e.read(localSettingsFile), `"disabledMcpjsonServers": ["claudebench"]`) {
		t.Fatalf("init:\n%s\n%s", out, e.read(localSettingsFile))
	}
}
