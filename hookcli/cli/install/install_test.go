package install

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

var updateInstallGolden = flag.Bool("update-install-golden", false, "rewrite the golden files in testdata/install")

// testCommand is the cb path the in-process install tests write.
const testCommand = "/opt/cb/bin/cb"

// isolateInstall points HOME and the config dir at a temp dir and returns
// the home and a project directory.
func isolateInstall(t *testing.T) (home, project string) {
	t.Helper()
	dir := t.TempDir()
	home, project = filepath.Join(dir, "home"), filepath.Join(dir, "project")
	for _, d := range []string{home, project} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("CB_CONFIG", "")
	t.Setenv("CLAUDE_CONFIG_DIR", "")
	t.Setenv("CB_HTTP_ADDR", "127.0.0.1:7711")
	t.Setenv("CB_HTTP_ENABLED", "true")
	t.Setenv("NO_COLOR", "1")
	t.Setenv("CB_HTTP_TOKEN_FILE", "")
	// A fixed API token, so the http hooks' credential in golden files is too.
	clitest.WriteFile(t, filepath.Join(dir, "config", "claudebench", "token"), []byte(installTestToken+"\n"), 0o600)
	return home, project
}

// nDefault is the number of hook types cb install installs by default.
var nDefault = func() int {
	n := 0
	for _, he := range protocol.HookEvents {
		if he.Default {
			n++
		}
	}
	return n
}()

// nDefaultHTTP is the number of default types --http makes http hooks.
func nDefaultHTTP() int {
	n := 0
	for _, he := range protocol.HookEvents {
		if he.Default && httpHookKind(he) {
			n++
		}
	}
	return n
}

// installTestToken is the API token isolateInstall writes.
const installTestToken = "install-test-token"

// cbRun runs cb in process.
func cbRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	newCmd := map[string]func(*cmdutil.Factory) *cobra.Command{
		"install": NewCmdInstall, "uninstall": NewCmdUninstall, "doctor": NewCmdDoctor,
	}[args[0]]
	return clitest.RunReal("", newCmd, args...)
}

func backups(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + ".bak.*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkGolden compares got with testdata/install/name (rewritten with
// -update-install-golden).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "install", name)
	if *updateInstallGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-install-golden to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, unifiedDiff(path, "got", want, got))
	}
}

func semanticallyEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, b)
	}
	return reflect.DeepEqual(va, vb)
}

// TestInstallUninstall runs install, install again and uninstall on a
// missing file and on files with the user's own settings and hooks.
func TestInstallUninstall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fixture   string // "" = no settings file, no .claude dir
		mode      fs.FileMode
		args      []string
		golden    string
		byteEqual bool // uninstall gives back the same bytes
	}{
		{name: "fresh", golden: "fresh.installed.json"},
		{name: "user settings", fixture: "user_settings.json", mode: 0o600, golden: "user_settings.installed.json", byteEqual: true},
		{name: "user settings http", fixture: "user_settings.json", mode: 0o600, args: []string{"--http"}, golden: "user_settings_http.installed.json", byteEqual: true},
		{name: "compact", fixture: "compact.json", mode: 0o640, golden: "compact.installed.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, _ := isolateInstall(t)
			path := filepath.Join(home, ".claude", "settings.json")
			var orig []byte
			if tc.fixture != "" {
				orig = clitest.ReadFile(t, filepath.Join("testdata", "install", tc.fixture))
				clitest.WriteFile(t, path, orig, tc.mode)
			}

			out, errOut, code := cbRun(t, append([]string{"install", "--command", testCommand}, tc.args...)...)
			if code != 0 {
				t.Fatalf("install: exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(out, fmt.Sprintf("Installed %d hooks", nDefault)) {
				t.Errorf("install output: %q", out)
			}
			installed := clitest.ReadFile(t, path)
			checkGolden(t, tc.golden, installed)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fixture == "" {
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
				}
				di, _ := os.Stat(filepath.Dir(path))
				if di.Mode().Perm() != 0o755 {
					t.Errorf(".claude mode %v, want 0755", di.Mode().Perm())
				}
				if b := backups(t, path); len(b) != 0 {
					t.Errorf("backups of a new file: %v", b)
				}
			} else {
				if fi.Mode().Perm() != tc.mode {
					t.Errorf("mode %v, want %v kept", fi.Mode().Perm(), tc.mode)
				}
				b := backups(t, path)
				if len(b) != 1 {
					t.Fatalf("backups %v, want 1", b)
				}
				if !bytes.Equal(clitest.ReadFile(t, b[0]), orig) {
					t.Errorf("backup %s is not the original", b[0])
				}
				if !strings.Contains(out, b[0]) {
					t.Errorf("install output does not name the backup %s: %q", b[0], out)
				}
			}
			nBackups := len(backups(t, path))

			// Second run: nothing changes.
			out, errOut, code = cbRun(t, append([]string{"install", "--command", testCommand}, tc.args...)...)
			if code != 0 || !strings.Contains(out, fmt.Sprintf("Already installed: all %d ClaudeBench hooks", nDefault)) {
				t.Fatalf("second install: exit %d\n%s%s", code, out, errOut)
			}
			if !bytes.Equal(clitest.ReadFile(t, path), installed) {
				t.Error("second install changed the file")
			}
			if n := len(backups(t, path)); n != nBackups {
				t.Errorf("second install made a backup (%d, had %d)", n, nBackups)
			}

			// Uninstall gives back the original.
			out, errOut, code = cbRun(t, "uninstall")
			if code != 0 || !strings.Contains(out, fmt.Sprintf("Removed %d hooks", nDefault)) {
				t.Fatalf("uninstall: exit %d\n%s%s", code, out, errOut)
			}
			after := clitest.ReadFile(t, path)
			switch {
			case tc.fixture == "":
				if string(after) != "{}\n" {
					t.Errorf("uninstall of a file install created left %q, want {}", after)
				}
			case tc.byteEqual:
				if !bytes.Equal(after, orig) {
					t.Errorf("uninstall did not restore the original:\n%s", unifiedDiff("original", "after", orig, after))
				}
			default:
				if !semanticallyEqual(t, after, orig) {
					t.Errorf("uninstall result differs from the original:\n%s\nwant\n%s", after, orig)
				}
			}
			wantMode := tc.mode
			if tc.fixture == "" {
				wantMode = 0o644
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != wantMode {
				t.Errorf("mode after uninstall %v, want %v", fi.Mode().Perm(), wantMode)
			}

			// And a second uninstall changes nothing.
			out, _, code = cbRun(t, "uninstall")
			if code != 0 || !strings.Contains(out, "No ClaudeBench hooks there") || !bytes.Equal(clitest.ReadFile(t, path), after) {
				t.Errorf("second uninstall: exit %d %q", code, out)
			}
		})
	}
}

// TestInstallScopes writes the project and local files under --project-dir
// and leaves the user's alone.
func TestInstallScopes(t *testing.T) {
	home, project := isolateInstall(t)
	for scope, name := range map[string]string{"project": "settings.json", "local": "settings.local.json"} {
		out, errOut, code := cbRun(t, "install", "--scope", scope, "--project-dir", project, "--command", testCommand)
		if code != 0 {
			t.Fatalf("install --scope %s: exit %d\n%s%s", scope, code, out, errOut)
		}
		path := filepath.Join(project, ".claude", name)
		if !strings.Contains(out, path) {
			t.Errorf("output does not name %s: %q", path, out)
		}
		if n := countOurEntries(t, clitest.ReadFile(t, path)); n != nDefault {
			t.Errorf("%s: %d entries, want %d", path, n, nDefault)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".claude")); err == nil {
		t.Error("project installs touched ~/.claude")
	}
	// The current directory is the default project.
	t.Chdir(project)
	out, _, code := cbRun(t, "install", "--scope", "project", "--command", testCommand)
	if code != 0 || !strings.Contains(out, "Already installed") {
		t.Errorf("install in the project dir: exit %d %q", code, out)
	}
	for _, args := range [][]string{
		{"install", "--scope", "global"},
		{"install", "--project-dir", project},
		{"install", "--scope", "project", "--project-dir", filepath.Join(project, "missing")},
	} {
		if _, errOut, code := cbRun(t, args...); code != 1 || errOut == "" {
			t.Errorf("%v: exit %d %q, want 1 with a message", args, code, errOut)
		}
	}
}

// TestInstallClaudeConfigDir: with Claude Code's CLAUDE_CONFIG_DIR set, the
// user scope is $CLAUDE_CONFIG_DIR/settings.json, and ~/.claude stays
// untouched; uninstall finds the same file.
func TestInstallClaudeConfigDir(t *testing.T) {
	home, _ := isolateInstall(t)
	cfgDir := filepath.Join(t.TempDir(), "claude-config")
	t.Setenv("CLAUDE_CONFIG_DIR", cfgDir)
	out, errOut, code := cbRun(t, "install", "--command", testCommand)
	path := filepath.Join(cfgDir, "settings.json")
	if code != 0 || !strings.Contains(out, path) {
		t.Fatalf("install: exit %d, output %q %q; want it to name %s", code, out, errOut, path)
	}
	if n := countOurEntries(t, clitest.ReadFile(t, path)); n != nDefault {
		t.Errorf("%s: %d entries, want %d", path, n, nDefault)
	}
	if _, err := os.Stat(filepath.Join(home, ".claude")); err == nil {
		t.Error("install with CLAUDE_CONFIG_DIR touched ~/.claude")
	}
	if _, errOut, code := cbRun(t, "uninstall"); code != 0 {
		t.Fatalf("uninstall: exit %d %s", code, errOut)
	}
	if n := countOurEntries(t, clitest.ReadFile(t, path)); n != 0 {
		t.Errorf("after uninstall %s still has %d entries", path, n)
	}
}

// countOurEntries counts command or http entries that run cb hook.
func countOurEntries(t *testing.T, data []byte) int {
	t.Helper()
	var s struct {
		Hooks map[string][]struct {
			Hooks []struct {
				Type, Command, URL string
			}
		}
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, groups := range s.Hooks {
		for _, g := range groups {
			for _, h := range g.Hooks {
				if strings.Contains(h.Command, " hook ") || strings.Contains(h.URL, "/hooks/") {
					n++
				}
			}
		}
	}
	return n
}

// TestInstallRefusesBadSettings leaves files it cannot edit untouched and
// names the problem.
func TestInstallRefusesBadSettings(t *testing.T) {
	malformed := clitest.ReadFile(t, filepath.Join("testdata", "install", "malformed.json"))
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"malformed", string(malformed), []string{"is not valid JSON", "line 4, column 14", "nothing was changed"}},
		{"truncated", `{"hooks": {`, []string{"is not valid JSON", "line 1", "unexpected end of JSON input"}},
		{"top-level array", `[{"hooks": {}}]`, []string{"top level must be a JSON object"}},
		{"hooks array", `{"hooks": []}`, []string{`"hooks" must be an object, not an array`}},
		{"event object", `{"hooks": {"PreToolUse": {"matcher": "*"}}}`, []string{`"hooks.PreToolUse" must be an array, not an object`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, _ := isolateInstall(t)
			path := filepath.Join(home, ".claude", "settings.json")
			clitest.WriteFile(t, path, []byte(tc.content), 0o644)
			runs := [][]string{{"install", "--command", testCommand}}
			if strings.Contains(tc.want[0], "not valid JSON") {
				// Uninstall has nothing to remove from the others.
				runs = append(runs, []string{"uninstall"})
			}
			for _, args := range runs {
				cmd := args[0]
				out, errOut, code := cbRun(t, args...)
				if code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s%s", cmd, code, out, errOut)
				}
				for _, w := range append([]string{path}, tc.want...) {
					if !strings.Contains(errOut, w) {
						t.Errorf("%s: stderr %q lacks %q", cmd, errOut, w)
					}
				}
				if got := clitest.ReadFile(t, path); string(got) != tc.content {
					t.Errorf("%s changed the file: %q", cmd, got)
				}
				if b := backups(t, path); len(b) != 0 {
					t.Errorf("%s made backups %v", cmd, b)
				}
			}
		})
	}
}

// TestInstallDryRun prints a diff and writes nothing.
func TestInstallDryRun(t *testing.T) {
	home, _ := isolateInstall(t)
	dir := filepath.Join(home, ".claude")
	path := filepath.Join(dir, "settings.json")

	out, errOut, code := cbRun(t, "install", "--dry-run", "--command", testCommand)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"--- /dev/null\n", "+++ " + path + "\n", "@@ -0,0 +1,", `+            "command": "/opt/cb/bin/cb hook pre_tool",`, "Dry run: nothing was written."} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("dry run created ~/.claude")
	}

	orig := clitest.ReadFile(t, filepath.Join("testdata", "install", "user_settings.json"))
	clitest.WriteFile(t, path, orig, 0o644)
	out, _, code = cbRun(t, "install", "--dry-run", "--command", testCommand)
	if code != 0 || !strings.Contains(out, "--- "+path+"\n+++ "+path+"\n@@ -") || !strings.Contains(out, `+            "command": "/opt/cb/bin/cb hook stop",`) {
		t.Errorf("dry run on a file: exit %d\n%s", code, out)
	}
	if !bytes.Equal(clitest.ReadFile(t, path), orig) || len(backups(t, path)) != 0 {
		t.Error("dry run changed the file or made a backup")
	}

	if _, _, code := cbRun(t, "install", "--command", testCommand); code != 0 {
		t.Fatal("install failed")
	}
	installed := clitest.ReadFile(t, path)
	nb := len(backups(t, path))
	out, _, code = cbRun(t, "uninstall", "--dry-run")
	if code != 0 || !strings.Contains(out, `-            "command": "/opt/cb/bin/cb hook pre_tool",`) || !strings.Contains(out, "Dry run") {
		t.Errorf("uninstall dry run: exit %d\n%s", code, out)
	}
	if !bytes.Equal(clitest.ReadFile(t, path), installed) || len(backups(t, path)) != nb {
		t.Error("uninstall dry run changed something")
	}
}

// TestInstallHTTP writes http hooks for the observe-only and the deciding
// events, onFailure "block" on those whose fail mode is closed, and command
// hooks for the private ones and SessionStart.
func TestInstallHTTP(t *testing.T) {
	home, _ := isolateInstall(t)
	t.Setenv("CB_HTTP_ADDR", "127.0.0.1:7799")
	t.Setenv("CB_HOOK_FAIL_MODE", "closed") // the deciding events fail closed
	path := filepath.Join(home, ".claude", "settings.json")
	if out, errOut, code := cbRun(t, "install", "--http", "--command", testCommand); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var s struct {
		Hooks map[string][]struct {
			Matcher *string
			Hooks   []map[string]any
		}
	}
	if err := json.Unmarshal(clitest.ReadFile(t, path), &s); err != nil {
		t.Fatal(err)
	}
	for _, he := range protocol.HookEvents {
		if !he.Default {
			continue
		}
		var entry map[string]any
		for _, g := range s.Hooks[he.ClaudeEvent] {
			m := ""
			if g.Matcher != nil {
				m = *g.Matcher
			}
			if m == he.Matcher && len(g.Hooks) == 1 {
				if c, _ := g.Hooks[0]["command"].(string); strings.HasSuffix(c, " "+he.Type) {
					entry = g.Hooks[0]
				}
				if u, _ := g.Hooks[0]["url"].(string); strings.HasSuffix(u, "/"+he.Type) {
					entry = g.Hooks[0]
				}
			}
		}
		if entry == nil {
			t.Errorf("%s: no entry under %s with matcher %q", he.Type, he.ClaudeEvent, he.Matcher)
			continue
		}
		timeout := 10.0
		if he.ClaudeEvent == "SessionEnd" {
			timeout = 5
		}
		want := map[string]any{"type": "command", "command": testCommand + " hook " + he.Type, "timeout": timeout}
		if httpHookKind(he) {
			want = map[string]any{"type": "http", "url": "http://127.0.0.1:7799/hooks/" + he.Type, "timeout": timeout,
				"headers": map[string]any{"Authorization": "Bearer " + apitoken.HookCredential(installTestToken)}}
			if he.Gates {
				want["onFailure"] = "block"
			}
		}
		if !reflect.DeepEqual(entry, want) {
			t.Errorf("%s: entry %v, want %v", he.Type, entry, want)
		}
	}
	for _, typ := range []string{"user_prompt", "session_start", "setup", "stop", "subagent_stop", "teammate_idle"} {
		if he, _ := protocol.LookupHookEvent(typ); httpHookKind(he) {
			t.Errorf("%s must stay a command hook", typ)
		}
	}
	for _, typ := range []string{"pre_tool", "permission_request", "pre_model_switch", "post_tool"} {
		if he, _ := protocol.LookupHookEvent(typ); !httpHookKind(he) {
			t.Errorf("%s must be an http hook", typ)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file with the hooks' credential: %v %v, want mode 0600", fi.Mode(), err)
	}
	// A command install afterwards finds every type installed.
	out, _, code := cbRun(t, "install", "--command", testCommand)
	if code != 0 || !strings.Contains(out, "Already installed") {
		t.Errorf("command install after http install: exit %d %q", code, out)
	}
	out, _, code = cbRun(t, "uninstall")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Removed %d hooks", nDefault)) || string(clitest.ReadFile(t, path)) != "{}\n" {
		t.Errorf("uninstall of http hooks: exit %d %q %q", code, out, clitest.ReadFile(t, path))
	}

	// --http is refused when cbd would turn the hooks away.
	for _, env := range [][2]string{{"CB_HTTP_ADDR", "0.0.0.0:7711"}, {"CB_HTTP_ADDR", "192.0.2.1:7711"}, {"CB_HTTP_ADDR", "127.0.0.1:0"}, {"CB_HTTP_ADDR", "7711"}, {"CB_HTTP_ENABLED", "false"}} {
		t.Run(env[0]+"="+env[1], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			before := clitest.ReadFile(t, path)
			_, errOut, code := cbRun(t, "install", "--http", "--command", testCommand)
			if code != 1 || !strings.Contains(errOut, "--http") {
				t.Errorf("exit %d %q, want 1 naming --http", code, errOut)
			}
			if !bytes.Equal(clitest.ReadFile(t, path), before) {
				t.Error("file changed")
			}
		})
	}
}

// TestInstallRecognisesOtherForms counts an entry written by hand (README
// style, other matcher) as installed and uninstall removes it too.
func TestInstallRecognisesOtherForms(t *testing.T) {
	home, _ := isolateInstall(t)
	path := filepath.Join(home, ".claude", "settings.json")
	orig := `{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "cb hook pre_tool",
            "timeout": 10
          },
          {
            "type": "command",
            "command": "~/bin/audit.sh"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "cb",
            "args": [
              "hook",
              "stop"
            ]
          }
        ]
      }
    ]
  }
}
`
	clitest.WriteFile(t, path, []byte(orig), 0o644)
	out, errOut, code := cbRun(t, "install", "--command", testCommand)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{fmt.Sprintf("Installed %d hooks", nDefault-2), "= PreToolUse        pre_tool       cb hook pre_tool (already installed)", "= Stop              stop           cb hook stop (already installed)", `note: pre_tool (PreToolUse) is already installed as "cb hook pre_tool", not "/opt/cb/bin/cb hook pre_tool"`} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, _, code = cbRun(t, "uninstall")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Removed %d hooks", nDefault)) {
		t.Fatalf("uninstall: exit %d %q", code, out)
	}
	// The user's audit.sh stays; the Stop array that only held ours goes.
	want := `{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/bin/audit.sh"
          }
        ]
      }
    ]
  }
}
`
	if got := string(clitest.ReadFile(t, path)); got != want {
		t.Errorf("after uninstall:\n%s", unifiedDiff("want", "got", []byte(want), []byte(got)))
	}
}

// TestInstallFormatting keeps tab indentation, CRLF line ends and a symlink.
func TestInstallFormatting(t *testing.T) {
	for _, tc := range []struct {
		name, content, wantLine string
	}{
		{"tabs", "{\n\t\"model\": \"opus\",\n\t\"hooks\": {\n\t\t\"Stop\": [\n\t\t\t{\n\t\t\t\t\"hooks\": [\n\t\t\t\t\t{\n\t\t\t\t\t\t\"type\": \"command\",\n\t\t\t\t\t\t\"command\": \"say done\"\n\t\t\t\t\t}\n\t\t\t\t]\n\t\t\t}\n\t\t]\n\t}\n}\n", "\n\t\t\"PreToolUse\": [\n"},
		{"four spaces", "{\n    \"model\": \"opus\"\n}\n", "\n        \"PreToolUse\": [\n"},
		{"crlf", "{\r\n  \"model\": \"opus\",\r\n  \"env\": {\r\n    \"A\": \"1\"\r\n  }\r\n}\r\n", "\r\n    \"PreToolUse\": [\r\n"},
		{"no final newline", "{\n  \"model\": \"opus\"\n}", "\n    \"PreToolUse\": [\n"},
		{"empty file", "", "\n    \"PreToolUse\": [\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, _ := isolateInstall(t)
			path := filepath.Join(home, ".claude", "settings.json")
			clitest.WriteFile(t, path, []byte(tc.content), 0o644)
			if out, errOut, code := cbRun(t, "install", "--command", testCommand); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			got := clitest.ReadFile(t, path)
			if !json.Valid(got) || !bytes.Contains(got, []byte(tc.wantLine)) {
				t.Errorf("installed file lacks %q:\n%s", tc.wantLine, got)
			}
			if tc.name == "crlf" && bytes.Count(got, []byte("\n")) != bytes.Count(got, []byte("\r\n")) {
				t.Error("mixed line ends")
			}
			if _, _, code := cbRun(t, "uninstall"); code != 0 {
				t.Fatal("uninstall failed")
			}
			want := tc.content
			if want == "" {
				want = "{}\n"
			}
			if got := string(clitest.ReadFile(t, path)); got != want {
				t.Errorf("uninstall gave %q, want %q", got, want)
			}
		})
	}

	t.Run("symlink", func(t *testing.T) {
		home, project := isolateInstall(t)
		target := filepath.Join(project, "dotfiles", "claude-settings.json")
		clitest.WriteFile(t, target, []byte("{\n  \"model\": \"opus\"\n}\n"), 0o600)
		path := filepath.Join(home, ".claude", "settings.json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if _, _, code := cbRun(t, "install", "--command", testCommand); code != 0 {
			t.Fatal("install failed")
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("settings.json is no longer a symlink: %v", err)
		}
		if n := countOurEntries(t, clitest.ReadFile(t, target)); n != nDefault {
			t.Errorf("target has %d entries", n)
		}
		if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
			t.Errorf("target mode %v, want 0600", fi.Mode().Perm())
		}
	})
}

// TestInstallJSONReport prints what changed as JSON with --json.
func TestInstallJSONReport(t *testing.T) {
	home, _ := isolateInstall(t)
	out, _, code := cbRun(t, "install", "--json", "--command", testCommand)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var ch settingsChange
	if err := json.Unmarshal([]byte(out), &ch); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !ch.Changed || !ch.Created || ch.Scope != "user" || ch.File != filepath.Join(home, ".claude", "settings.json") || len(ch.Added) != nDefault || ch.Added[0] != (HookRef{"pre_tool", "PreToolUse", testCommand + " hook pre_tool"}) {
		t.Errorf("report %+v", ch)
	}
}

func TestHookRecognizer(t *testing.T) {
	r := hookRecognizer{command: `"$CLAUDE_PROJECT_DIR"/bin/claudebench`, httpAddr: "10.0.0.5:7711"}
	for _, tc := range []struct {
		entry, hookType string
		want            bool
	}{
		{`{"type":"command","command":"/usr/local/bin/cb hook pre_tool","timeout":10}`, "pre_tool", true},
		{`{"type":"command","command":"cb hook pre_tool"}`, "pre_tool", true},
		{`{"type":"command","command":"  cb   hook   stop  "}`, "stop", true},
		{`{"type":"command","command":"'/Users/a b/bin/cb' hook stop"}`, "stop", true},
		{`{"type":"command","command":"$CLAUDE_PROJECT_DIR/bin/cb hook stop"}`, "stop", true},
		{`{"type":"command","command":"C:\\tools\\cb.exe hook stop"}`, "stop", true},
		{`{"type":"command","command":"\"$CLAUDE_PROJECT_DIR\"/bin/claudebench hook stop"}`, "stop", true},
		{`{"type":"command","command":"cb","args":["hook","pre_tool"]}`, "pre_tool", true},
		{`{"type":"command","command":"/opt/cb","args":["hook","stop"]}`, "stop", true},
		{`{"type":"http","url":"http://127.0.0.1:7711/hooks/stop"}`, "stop", true},
		{`{"type":"http","url":"http://localhost:9000/hooks/stop","timeout":3}`, "stop", true},
		{`{"type":"http","url":"http://[::1]:7711/hooks/stop"}`, "stop", true},
		{`{"type":"http","url":"http://10.0.0.5:7711/hooks/stop"}`, "stop", true},

		{`{"type":"command","command":"cb hook stop"}`, "pre_tool", false},
		{`{"type":"command","command":"cb hook pre_tool --verbose"}`, "pre_tool", false},
		{`{"type":"command","command":"mycb hook pre_tool"}`, "pre_tool", false},
		{`{"type":"command","command":"/usr/bin/cbx hook pre_tool"}`, "pre_tool", false},
		{`{"type":"command","command":"hook pre_tool"}`, "pre_tool", false},
		{`{"type":"command","command":"cb","args":["hook","stop","-v"]}`, "stop", false},
		{`{"type":"command","command":"cb hook stop","args":["x"]}`, "stop", false},
		{`{"type":"prompt","prompt":"cb hook stop"}`, "stop", false},
		{`{"command":"cb hook stop"}`, "stop", false},
		{`{"type":"http","url":"http://example.com/hooks/stop"}`, "stop", false},
		{`{"type":"http","url":"http://127.0.0.1:7711/hooks/stop/x"}`, "stop", false},
		{`{"type":"http","url":"http://127.0.0.1:7711/hooks/pre_tool"}`, "stop", false},
		{`"cb hook stop"`, "stop", false},
	} {
		n, err := jsonedit.Parse([]byte(tc.entry))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.ours(n, tc.hookType); got != tc.want {
			t.Errorf("ours(%s, %s) = %v, want %v", tc.entry, tc.hookType, got, tc.want)
		}
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("{\n  \"a\": ,\n}")
	var v any
	err := json.Unmarshal(data, &v)
	se, ok := err.(*json.SyntaxError)
	if !ok {
		t.Fatalf("err %v", err)
	}
	if l, c := lineCol(data, se.Offset); l != 2 || c != 8 {
		t.Errorf("line %d column %d, want 2 8", l, c)
	}
}

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"x\n", "x\n", ""},
		{"", "a\nb\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"a\nb\n", "", "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-a\n-b\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n", "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{"a\nb", "a\nc", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"},
		// Two changes 8 lines apart make two hunks.
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "A\n2\n3\n4\n5\n6\n7\n8\n9\nB\n",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+A\n 2\n 3\n 4\n@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+B\n"},
		// Insertion in the middle.
		{"a\nb\n", "a\nnew\nb\n", "--- a\n+++ b\n@@ -1,2 +1,3 @@\n a\n+new\n b\n"},
	} {
		if got := unifiedDiff("a", "b", []byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("diff %q → %q:\ngot\n%s\nwant\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestWriteBackupNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	now := time.Unix(1700000000, 0)
	var names []string
	for i := 0; i < 3; i++ {
		n, err := writeBackup(path, []byte(fmt.Sprint(i)), 0o600, now)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	want := []string{path + ".bak.1700000000", path + ".bak.1700000000.1", path + ".bak.1700000000.2"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("backups %v, want %v", names, want)
	}
	if fi, _ := os.Stat(names[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", fi.Mode().Perm())
	}
	if string(clitest.ReadFile(t, names[2])) != "2" {
		t.Error("backup content")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/cb":   "/usr/local/bin/cb",
		"/Users/a b/cb":       "'/Users/a b/cb'",
		"/tmp/it's/cb":        `'/tmp/it'\''s/cb'`,
		"C:/Program Files/cb": "'C:/Program Files/cb'",
		"/x/$HOME/cb":         "'/x/$HOME/cb'",
	} {
		if got := cmdutil.ShellQuote(in); got != want {
			t.Errorf("cmdutil.ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCBBinary runs the built cb (with cb-cli beside it, and cbd) as
// processes: exit codes and output of install, uninstall and doctor as a
// user sees them.
func TestCBBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cb, cb-cli and cbd")
	}
	dir := t.TempDir()
	bin := testenv.Binaries{Dir: dir, CB: filepath.Join(dir, "cb"), CLI: filepath.Join(dir, "cb-cli"), CBD: filepath.Join(dir, "cbd")}
	goBuild(t, bin.CB, "./cmd/cb")
	goBuild(t, bin.CLI, "./cmd/cb-cli")
	cbPath, err := filepath.EvalSymlinks(bin.CB)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("install and uninstall", func(t *testing.T) {
		h := testenv.NewHome(t)
		path := filepath.Join(h.Dir, "home", ".claude", "settings.json")
		r := testenv.RunCB(t, bin, h, nil, nil, "install")
		if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("Installed %d hooks (created the file).", nDefault)) {
			t.Fatalf("install: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		installed := clitest.ReadFile(t, path)
		if !bytes.Contains(installed, []byte(`"command": "`+cmdutil.ShellQuote(cbPath)+` hook pre_tool",`)) {
			t.Errorf("hooks do not run %s:\n%s", cbPath, installed)
		}
		r = testenv.RunCB(t, bin, h, nil, nil, "install")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Already installed") || !bytes.Equal(clitest.ReadFile(t, path), installed) {
			t.Errorf("second install: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		r = testenv.RunCB(t, bin, h, nil, nil, "uninstall", "--dry-run")
		if r.Code != 0 || !strings.Contains(r.Stdout, "+{}\n") || !bytes.Equal(clitest.ReadFile(t, path), installed) {
			t.Errorf("uninstall --dry-run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		r = testenv.RunCB(t, bin, h, nil, nil, "uninstall")
		if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("Removed %d hooks", nDefault)) || string(clitest.ReadFile(t, path)) != "{}\n" {
			t.Errorf("uninstall: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}

		bad := []byte("{\n  \"hooks\": {\n    \"Stop\": [,]\n  }\n}\n")
		clitest.WriteFile(t, path, bad, 0o644)
		r = testenv.RunCB(t, bin, h, nil, nil, "install")
		want := "cb: settings file " + path + " is not valid JSON: invalid character ',' looking for beginning of value (line 3, column 14, byte offset 29); nothing was changed\n"
		if r.Code != 1 || r.Stderr != want || r.Stdout != "" || !bytes.Equal(clitest.ReadFile(t, path), bad) {
			t.Errorf("malformed: exit %d stdout %q stderr %q, want 1 and %q", r.Code, r.Stdout, r.Stderr, want)
		}
		r = testenv.RunCB(t, bin, h, nil, nil, "install", "--scope", "everywhere")
		if r.Code != 1 || !strings.Contains(r.Stderr, `--scope "everywhere"`) {
			t.Errorf("bad scope: exit %d %q", r.Code, r.Stderr)
		}
	})

	t.Run("doctor", func(t *testing.T) {
		if _, err := exec.LookPath("redis-server"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("redis-server is not on PATH; .ci/setup installs it")
			}
			t.Skip("redis-server is not on PATH; the doctor round trip needs a real cbd")
		}
		goBuild(t, bin.CBD, "./cmd/cbd")
		redis := testenv.NewRedis(t)
		h := testenv.NewHome(t, "CB_REDIS_URL="+redis.URL())
		project := t.TempDir()
		d := testenv.StartDaemon(t, bin, h, nil)
		if r := testenv.RunCB(t, bin, h, nil, nil, "install"); r.Code != 0 {
			t.Fatalf("install: %s", r.Stderr)
		}
		r := testenv.RunCB(t, bin, h, nil, nil, "doctor", "--project-dir", project)
		if r.Code != 0 || !strings.HasSuffix(r.Stdout, "5 of 5 checks passed\n") {
			t.Fatalf("doctor: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		for _, w := range []string{"ok   redis   " + redis.URL() + " (from CB_REDIS_URL), PING ", "ok   cbd     cbd ", fmt.Sprintf("ok   hooks   user: %d types", nDefault), "ok   latency median "} {
			if !strings.Contains(r.Stdout, w) {
				t.Errorf("doctor output lacks %q:\n%s", w, r.Stdout)
			}
		}
		d.Kill()
		r = testenv.RunCB(t, bin, h, nil, nil, "doctor", "--project-dir", project)
		if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL cbd ") || !strings.Contains(r.Stderr, "cb: 2 of 5 checks failed") {
			t.Errorf("doctor without cbd: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})
}

// goBuild builds pkg of this module into out the way testenv.Build does.
func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = testenv.Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// TestInstallHTTPCredential: the http hooks send a hook-only credential;
// it never goes into project settings, the file holding it is private,
// a changed token updates it, and a dry run does not print it.
func TestInstallHTTPCredential(t *testing.T) {
	home, project := isolateInstall(t)
	path := filepath.Join(home, ".claude", "settings.json")
	clitest.WriteFile(t, path, []byte("{}\n"), 0o644)

	// Project settings are usually committed: refused, nothing written.
	_, errOut, code := cbRun(t, "install", "--http", "--scope", "project", "--project-dir", project, "--command", testCommand)
	if code != 1 || !strings.Contains(errOut, "--scope local") {
		t.Fatalf("--http --scope project: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(project, ".claude")); err == nil {
		t.Fatal("--http --scope project wrote something")
	}

	// Dry run: the diff names the credential, never shows it.
	cred := apitoken.HookCredential(installTestToken)
	out, _, code := cbRun(t, "install", "--http", "--dry-run", "--command", testCommand)
	if code != 0 || strings.Contains(out, cred) || !strings.Contains(out, `"Authorization": "Bearer <hook credential>"`) {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	out, _, code = cbRun(t, "install", "--http", "--command", testCommand)
	if code != 0 || !strings.Contains(out, "mode is now 0600") {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 || !strings.Contains(string(clitest.ReadFile(t, path)), "Bearer "+cred) {
		t.Fatalf("settings: mode %v\n%s", fi.Mode(), clitest.ReadFile(t, path))
	}
	for _, b := range backups(t, path) {
		if fi, _ := os.Stat(b); fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s: mode %v", b, fi.Mode())
		}
	}

	// A new token: installing again puts the new credential in place.
	tokenFile := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "claudebench", "token")
	clitest.WriteFile(t, tokenFile, []byte("rotated-token\n"), 0o600)
	out, _, code = cbRun(t, "install", "--http", "--command", testCommand)
	settings := string(clitest.ReadFile(t, path))
	if code != 0 || !strings.Contains(out, "updated the http hook's credential") ||
		strings.Contains(settings, cred) || strings.Count(settings, "Bearer "+apitoken.HookCredential("rotated-token")) != nDefaultHTTP() {
		t.Fatalf("reinstall after a new token: exit %d\n%s\n%s", code, out, settings)
	}
	if out, _, _ := cbRun(t, "install", "--http", "--command", testCommand); !strings.Contains(out, "Already installed") {
		t.Fatalf("third install: %s", out)
	}

	// No token yet (cbd never ran): cb creates it as cbd would.
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(project, ".claude", "settings.local.json")
	out, errOut, code = cbRun(t, "install", "--http", "--scope", "local", "--project-dir", project, "--command", testCommand)
	if code != 0 {
		t.Fatalf("install --scope local: exit %d %s %s", code, out, errOut)
	}
	tok, err := apitoken.Read(tokenFile)
	if err != nil || !strings.Contains(string(clitest.ReadFile(t, local)), "Bearer "+apitoken.HookCredential(tok)) {
		t.Fatalf("token created by cb install: %v\n%s", err, clitest.ReadFile(t, local))
	}
	if fi, _ := os.Stat(local); fi.Mode().Perm() != 0o600 {
		t.Errorf("settings.local.json: mode %v", fi.Mode())
	}
}

// TestInstallHTTPLocalNotIgnored: in a git repository that does not ignore
// settings.local.json, install says so.
func TestInstallHTTPLocalNotIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: ", err)
	}
	_, project := isolateInstall(t)
	if out, err := exec.Command("git", "init", "-q", project).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	out, _, code := cbRun(t, "install", "--http", "--scope", "local", "--project-dir", project, "--command", testCommand)
	if code != 0 || !strings.Contains(out, "add it to .gitignore") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	clitest.WriteFile(t, filepath.Join(project, ".gitignore"), []byte(".claude/settings.local.json\n"), 0o644)
	if err := os.Remove(filepath.Join(project, ".claude", "settings.local.json")); err != nil {
		t.Fatal(err)
	}
	out, _, code = cbRun(t, "install", "--http", "--scope", "local", "--project-dir", project, "--command", testCommand)
	if code != 0 || strings.Contains(out, ".gitignore") {
		t.Fatalf("ignored file: exit %d\n%s", code, out)
	}
}

// TestInstallEvents installs the sets --events names: default, all (every
// type but the replacing ones), a list of types, aliases and Claude Code
// event names, a replacing type when named; unknown names are usage errors.
func TestInstallEvents(t *testing.T) {
	nAll := 0
	for _, he := range protocol.HookEvents {
		if !he.Replaces {
			nAll++
		}
	}
	for _, tc := range []struct {
		events string
		want   []string // types; nil: count only
		n      int
	}{
		{events: "default", n: nDefault},
		{events: "all", n: nAll},
		{events: "pre_tool_use,PermissionRequest, stop", want: []string{"pre_tool", "stop", "permission_request"}},
		{events: "default,WorktreeCreate", n: nDefault + 1},
		{events: "message_display", want: []string{"message_display"}},
	} {
		t.Run(tc.events, func(t *testing.T) {
			home, _ := isolateInstall(t)
			path := filepath.Join(home, ".claude", "settings.json")
			var ch settingsChange
			out, errOut, code := cbRun(t, "install", "--json", "--command", testCommand, "--events", tc.events)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if err := json.Unmarshal([]byte(out), &ch); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range ch.Added {
				got = append(got, r.Type)
				if he, _ := protocol.LookupHookEvent(r.Type); he.Replaces && !strings.Contains(tc.events, he.ClaudeEvent) && !strings.Contains(tc.events, he.Type) {
					t.Errorf("replacing type %s installed without being named", r.Type)
				}
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("installed %v, want %v (table order)", got, tc.want)
			}
			if tc.want == nil && len(got) != tc.n {
				t.Errorf("installed %d types %v, want %d", len(got), got, tc.n)
			}
			if n := countOurEntries(t, clitest.ReadFile(t, path)); n != len(got) {
				t.Errorf("%d entries in the file, %d reported", n, len(got))
			}
			// Uninstall removes whatever was installed.
			if out, _, code := cbRun(t, "uninstall"); code != 0 || !strings.Contains(out, fmt.Sprintf("Removed %d hooks", len(got))) {
				t.Errorf("uninstall: exit %d %q", code, out)
			}
		})
	}
	isolateInstall(t)
	for _, bad := range []string{"pre_tol", "", "default,nope"} {
		_, errOut, code := cbRun(t, "install", "--command", testCommand, "--events", bad)
		if code != 2 || !strings.Contains(errOut, "--events") {
			t.Errorf("--events %q: exit %d %q, want a usage error (2)", bad, code, errOut)
		}
	}
	if _, errOut, code := cbRun(t, "install", "--command", testCommand, "--http", "--mcp"); code != 2 {
		t.Errorf("--http --mcp: exit %d %q, want a usage error (2)", code, errOut)
	}
}

// TestInstallMCP writes mcp_tool hooks for every chosen type and registers
// cbd's MCP server in the scope's MCP configuration (user: .claude.json
// beside the settings' directory; local: its projects entry; project:
// .mcp.json), without the API token; uninstall takes both out again.
func TestInstallMCP(t *testing.T) {
	home, project := isolateInstall(t)
	t.Setenv("CB_HOOK_FAIL_MODE", "closed")
	tokenFile := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "claudebench", "token")
	path := filepath.Join(home, ".claude", "settings.json")
	global := filepath.Join(home, ".claude.json")
	// Claude Code's own state in its global config stays as it is.
	clitest.WriteFile(t, global, []byte("{\n  \"numStartups\": 3,\n  \"projects\": {}\n}\n"), 0o600)

	out, errOut, code := cbRun(t, "install", "--mcp", "--command", testCommand)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "+ MCP server mcpServers.claudebench in "+global) {
		t.Errorf("output lacks the MCP server:\n%s", out)
	}
	settings := clitest.ReadFile(t, path)
	checkGolden(t, "fresh_mcp.installed.json", settings)
	cfg := clitest.ReadFile(t, global)
	checkGolden(t, "claude_json_mcp.installed.json", bytes.ReplaceAll(cfg, []byte(cmdutil.ShellQuote(tokenFile)), []byte("<token file>")))
	if strings.Contains(string(settings)+string(cfg), installTestToken) {
		t.Error("the API token was written")
	}
	var s struct {
		Hooks map[string][]struct{ Hooks []map[string]any }
	}
	if err := json.Unmarshal(settings, &s); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev, groups := range s.Hooks {
		for _, g := range groups {
			for _, e := range g.Hooks {
				n++
				if ev == "SessionStart" {
					if e["type"] != "command" || e["command"] != testCommand+" hook session_start" {
						t.Errorf("SessionStart: entry %v, want the command hook (no mcp_tool there)", e)
					}
					continue
				}
				he, _ := protocol.LookupHookEvent(e["input"].(map[string]any)["type"].(string))
				if e["type"] != "mcp_tool" || e["server"] != "claudebench" || e["tool"] != "hook" || he.ClaudeEvent != ev {
					t.Errorf("%s: entry %v", ev, e)
				}
				if want := he.Gates; (e["onFailure"] == "block") != want {
					t.Errorf("%s: onFailure %v, want block=%v (hook.fail_mode closed)", he.Type, e["onFailure"], want)
				}
			}
		}
	}
	if n != nDefault {
		t.Errorf("%d entries, want %d", n, nDefault)
	}
	// Again: nothing changes.
	if out, _, _ := cbRun(t, "install", "--mcp", "--command", testCommand); !strings.Contains(out, "Already installed") || !strings.Contains(out, "(already registered)") {
		t.Errorf("second install:\n%s", out)
	}
	// cb doctor sees the hooks and the server.
	lines, _, _, _ := doctorLines(t)
	if !strings.Contains(lines["hooks"], fmt.Sprintf("user: %d types in ", nDefault)) || strings.Contains(lines["hooks"], "not registered") {
		t.Errorf("doctor hooks line %q", lines["hooks"])
	}
	out, _, code = cbRun(t, "uninstall")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Removed %d hooks", nDefault)) || !strings.Contains(out, "- MCP server") {
		t.Fatalf("uninstall: exit %d\n%s", code, out)
	}
	if got := string(clitest.ReadFile(t, global)); got != "{\n  \"numStartups\": 3,\n  \"projects\": {}\n}\n" {
		t.Errorf("uninstall left %s", got)
	}

	// Local scope: the project's entry of .claude.json; project: .mcp.json.
	if out, errOut, code := cbRun(t, "install", "--mcp", "--scope", "local", "--project-dir", project, "--command", testCommand, "--events", "pre_tool"); code != 0 {
		t.Fatalf("local: exit %d\n%s%s", code, out, errOut)
	}
	var g struct {
		Projects map[string]struct{ MCPServers map[string]map[string]any } `json:"projects"`
	}
	if err := json.Unmarshal(clitest.ReadFile(t, global), &g); err != nil {
		t.Fatal(err)
	}
	if e := g.Projects[project].MCPServers["claudebench"]; e["url"] != "http://127.0.0.1:7711/mcp" || e["type"] != "http" {
		t.Errorf("local MCP server: %v", g.Projects)
	}
	if out, errOut, code := cbRun(t, "install", "--mcp", "--scope", "project", "--project-dir", project, "--command", testCommand, "--events", "pre_tool"); code != 0 {
		t.Fatalf("project: exit %d\n%s%s", code, out, errOut)
	}
	var m struct{ MCPServers map[string]map[string]any }
	if err := json.Unmarshal(clitest.ReadFile(t, filepath.Join(project, ".mcp.json")), &m); err != nil || m.MCPServers["claudebench"]["url"] != "http://127.0.0.1:7711/mcp" {
		t.Errorf(".mcp.json: %v %v", m, err)
	}
	for _, scope := range []string{"local", "project"} {
		if out, _, code := cbRun(t, "uninstall", "--scope", scope, "--project-dir", project); code != 0 || !strings.Contains(out, "- MCP server") {
			t.Errorf("uninstall %s: exit %d\n%s", scope, code, out)
		}
	}
	if got := string(clitest.ReadFile(t, filepath.Join(project, ".mcp.json"))); got != "{}\n" {
		t.Errorf(".mcp.json after uninstall: %q", got)
	}
	if err := json.Unmarshal(clitest.ReadFile(t, global), &g); err != nil || g.Projects[project].MCPServers != nil {
		t.Errorf("local MCP server after uninstall: %v %v", g.Projects, err)
	}
	// Another server under the name is not replaced.
	clitest.WriteFile(t, global, []byte(`{"mcpServers":{"claudebench":{"type":"stdio","command":"other"}}}`), 0o600)
	if _, errOut, code := cbRun(t, "install", "--mcp", "--command", testCommand); code != 1 || !strings.Contains(errOut, "another MCP server") {
		t.Errorf("install over another server: exit %d %q", code, errOut)
	}
}

// TestInstallSyncsEntries: installing again after the fail mode changed
// updates onFailure in place, and an mcp_tool entry whose input template
// lacks fields gets the current one.
func TestInstallSyncsEntries(t *testing.T) {
	home, _ := isolateInstall(t)
	path := filepath.Join(home, ".claude", "settings.json")
	if _, errOut, code := cbRun(t, "install", "--mcp", "--command", testCommand, "--events", "pre_tool"); code != 0 {
		t.Fatal(errOut)
	}
	if strings.Contains(string(clitest.ReadFile(t, path)), "onFailure") {
		t.Fatal("onFailure written with fail mode open")
	}
	t.Setenv("CB_HOOK_PRE_TOOL_FAIL_MODE", "closed")
	out, _, code := cbRun(t, "install", "--mcp", "--command", testCommand, "--events", "pre_tool")
	if code != 0 || !strings.Contains(out, "updated the mcp_tool hook's onFailure") || !strings.Contains(string(clitest.ReadFile(t, path)), `"onFailure": "block"`) {
		t.Fatalf("reinstall with fail mode closed: exit %d\n%s\n%s", code, out, clitest.ReadFile(t, path))
	}
	// An older template: one field fewer.
	old := strings.Replace(string(clitest.ReadFile(t, path)), `"tool_use_id": "${tool_use_id}",`, "", 1)
	clitest.WriteFile(t, path, []byte(old), 0o644)
	out, _, code = cbRun(t, "install", "--mcp", "--command", testCommand, "--events", "pre_tool")
	if code != 0 || !strings.Contains(out, "updated the mcp_tool hook's input") || !strings.Contains(string(clitest.ReadFile(t, path)), "${tool_use_id}") {
		t.Fatalf("reinstall over an old template: exit %d\n%s", code, out)
	}
	t.Setenv("CB_HOOK_PRE_TOOL_FAIL_MODE", "open")
	if out, _, _ := cbRun(t, "install", "--mcp", "--command", testCommand, "--events", "pre_tool"); strings.Contains(string(clitest.ReadFile(t, path)), "onFailure") {
		t.Fatalf("fail mode open again: onFailure stays\n%s", out)
	}
}
