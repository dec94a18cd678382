package install

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/internal/jsonedit"
	"github.com/claudebench/cb/internal/testenv"
)

// fakeCB is an executable file the hooks can point at.
func fakeCB(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cb")
	clitest.WriteFile(t, p, []byte("#!/bin/sh\n"), 0o755)
	return p
}

// doctorLines runs cb doctor and returns its lines by check name.
func doctorLines(t *testing.T, args ...string) (lines map[string]string, out, errOut string, code int) {
	t.Helper()
	out, errOut, code = cbRun(t, append([]string{"doctor"}, args...)...)
	lines = map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			lines[f[1]] = l
		}
	}
	return lines, out, errOut, code
}

func TestDoctorWithoutRedis(t *testing.T) {
	_, project := isolateInstall(t)
	t.Setenv("CB_REDIS_URL", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	if _, _, code := cbRun(t, "install", "--command", fakeCB(t)); code != 0 {
		t.Fatal("install failed")
	}
	lines, out, errOut, code := doctorLines(t, "--project-dir", project)
	if code != 1 || !strings.Contains(errOut, "3 of 5 checks failed") {
		t.Errorf("exit %d stderr %q, want 1 and 3 failures", code, errOut)
	}
	for name, prefix := range map[string]string{
		"config":  "ok   config  ",
		"redis":   "FAIL redis   unix://",
		"cbd":     "FAIL cbd     not checked: Redis is not reachable — fix: start cbd: `make run` (foreground) or `cb service install`",
		"hooks":   fmt.Sprintf("ok   hooks   user: %d types in ", nDefault),
		"latency": "FAIL latency not measured",
	} {
		if !strings.HasPrefix(lines[name], prefix) {
			t.Errorf("%s line %q, want prefix %q\n%s", name, lines[name], prefix, out)
		}
	}
	if !strings.Contains(lines["redis"], "(from CB_REDIS_URL)") || !strings.Contains(lines["redis"], "fix: ") {
		t.Errorf("redis line %q", lines["redis"])
	}
	if !strings.HasSuffix(out, "2 of 5 checks passed\n") || strings.ContainsAny(out, "✓✗\x1b") {
		t.Errorf("plain output expected:\n%s", out)
	}

	out, _, code = cbRun(t, "doctor", "--json", "--project-dir", project)
	var rep struct {
		OK     bool
		Checks []doctorCheck
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("--json: exit %d %v\n%s", code, err, out)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if c.OK == (c.Hint != "") {
			t.Errorf("check %+v: a hint goes with a failure", c)
		}
	}
	if rep.OK || strings.Join(names, ",") != "config,redis,cbd,hooks,latency" {
		t.Errorf("report %+v", rep)
	}
}

// TestDoctorWithoutCBD has a Redis that answers and no cbd behind it.
func TestDoctorWithoutCBD(t *testing.T) {
	_, project := isolateInstall(t)
	mr := miniredis.RunT(t)
	mr.RequireAuth("s3cret")
	t.Setenv("CB_REDIS_URL", "redis://:s3cret@"+mr.Addr()+"/0")
	lines, out, _, code := doctorLines(t, "--project-dir", project)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	if !strings.HasPrefix(lines["redis"], "ok   redis   redis://:xxxxx@"+mr.Addr()+"/0 (from CB_REDIS_URL), PING ") || strings.Contains(out, "s3cret") {
		t.Errorf("redis line %q (the password must not show)", lines["redis"])
	}
	if strings.Contains(out, "warn ") {
		t.Errorf("a warning for a Redis with a password:\n%s", out)
	}
	if !strings.HasPrefix(lines["cbd"], "FAIL cbd     no answer to system.version: ") || !strings.Contains(lines["cbd"], "cb service install") {
		t.Errorf("cbd line %q", lines["cbd"])
	}
	if !strings.HasPrefix(lines["latency"], "FAIL latency not measured: cbd is not reachable") {
		t.Errorf("latency line %q", lines["latency"])
	}
}

func TestDoctorConfigAndHooks(t *testing.T) {
	home, project := isolateInstall(t)
	t.Setenv("CB_REDIS_URL", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	cfg := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "claudebench", "config.yaml")
	clitest.WriteFile(t, cfg, []byte("hook: [\n"), 0o600)
	lines, out, _, _ := doctorLines(t, "--project-dir", project)
	if !strings.HasPrefix(lines["config"], "FAIL config  parse config "+cfg) || !strings.Contains(lines["config"], "fix: fix "+cfg) {
		t.Errorf("config line %q\n%s", lines["config"], out)
	}
	clitest.WriteFile(t, cfg, []byte("hook:\n  timeout: soon\n"), 0o600)
	if lines, _, _, _ = doctorLines(t, "--project-dir", project); !strings.Contains(lines["config"], `"soon" is not a duration`) {
		t.Errorf("config line %q", lines["config"])
	}
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}

	// Nothing installed.
	lines, _, _, _ = doctorLines(t, "--project-dir", project)
	if !strings.HasPrefix(lines["hooks"], "FAIL hooks   user: no "+filepath.Join(home, ".claude", "settings.json")) || !strings.Contains(lines["hooks"], "fix: run `cb install`") {
		t.Errorf("hooks line %q", lines["hooks"])
	}

	// One hook in the project file, all in the local file, pointing at a
	// program that does not exist.
	clitest.WriteFile(t, filepath.Join(project, ".claude", "settings.json"),
		[]byte(`{"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"cb hook pre_tool"}]}]}}`), 0o644)
	if _, _, code := cbRun(t, "install", "--scope", "local", "--project-dir", project, "--command", "/nonexistent/cb"); code != 0 {
		t.Fatal("install failed")
	}
	lines, _, _, _ = doctorLines(t, "--project-dir", project)
	for _, w := range []string{
		"project: 1 type in " + filepath.Join(project, ".claude", "settings.json") + " (PreToolUse 1)",
		fmt.Sprintf("local: %d types in ", nDefault) + filepath.Join(project, ".claude", "settings.local.json") + " (PreToolUse 1, PostToolUse 2, PostToolUseFailure 1, Notification 1, UserPromptSubmit 1, SessionStart 1,",
		"local: hooks run /nonexistent/cb, which is not an executable file",
		"note: hooks in several files run once each",
	} {
		if !strings.Contains(lines["hooks"], w) {
			t.Errorf("hooks line lacks %q:\n%s", w, lines["hooks"])
		}
	}
	if !strings.HasPrefix(lines["hooks"], "FAIL") {
		t.Errorf("hooks line %q should fail", lines["hooks"])
	}

	// A malformed file fails the check and is named.
	clitest.WriteFile(t, filepath.Join(project, ".claude", "settings.json"), []byte(`{"hooks":`), 0o644)
	lines, _, _, _ = doctorLines(t, "--project-dir", project)
	if !strings.HasPrefix(lines["hooks"], "FAIL") || !strings.Contains(lines["hooks"], "project: settings file "+filepath.Join(project, ".claude", "settings.json")+" is not valid JSON") {
		t.Errorf("hooks line %q", lines["hooks"])
	}
}

func TestHookProgramPath(t *testing.T) {
	for entry, want := range map[string]string{
		`{"type":"command","command":"/usr/local/bin/cb hook stop"}`:           "/usr/local/bin/cb",
		`{"type":"command","command":"'/Users/a b/cb' hook stop"}`:             "/Users/a b/cb",
		`{"type":"command","command":"/opt/cb","args":["hook","stop"]}`:        "/opt/cb",
		`{"type":"command","command":"cb hook stop"}`:                          "",
		`{"type":"command","command":"\"$CLAUDE_PROJECT_DIR\"/cb hook stop"}`:  "",
		`{"type":"command","command":"env A=1 /usr/bin/cb hook stop"}`:         "",
		`{"type":"http","url":"http://127.0.0.1:7711/hooks/stop"}`:             "",
		`{"type":"command","command":"/usr/local/bin/cb hook stop --verbose"}`: "",
	} {
		n, err := jsonedit.Parse([]byte(entry))
		if err != nil {
			t.Fatal(err)
		}
		if got := hookProgramPath(n); got != want {
			t.Errorf("hookProgramPath(%s) = %q, want %q", entry, got, want)
		}
	}
}

// TestDoctorWarnsOpenTCPRedis: a real redis-server on TCP without a
// password is reachable by every local user; doctor says so in a warning
// line that does not fail the check.
func TestDoctorWarnsOpenTCPRedis(t *testing.T) {
	_, project := isolateInstall(t)
	_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
	r := testenv.NewRedis(t, "--port", port, "--bind", "127.0.0.1")
	t.Setenv("CB_REDIS_URL", "redis://127.0.0.1:"+port+"/0")
	out, _, _ := cbRun(t, "doctor", "--project-dir", project)
	var redisLine, warnLine string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "ok   redis "):
			redisLine = l
		case strings.HasPrefix(l, "warn redis "):
			warnLine = l
		}
	}
	if redisLine == "" || !strings.Contains(warnLine, "TCP without a password") {
		t.Fatalf("want an ok redis line and a warning:\n%s", out)
	}
	out, _, _ = cbRun(t, "doctor", "--json", "--project-dir", project)
	if !strings.Contains(out, `"warning":"Redis is on TCP without a password`) { // compact off a terminal
		t.Fatalf("--json lacks the warning:\n%s", out)
	}
	// cbd's own socket: no warning.
	t.Setenv("CB_REDIS_URL", r.URL())
	if out, _, _ = cbRun(t, "doctor", "--project-dir", project); strings.Contains(out, "warn ") {
		t.Fatalf("a warning for a unix socket:\n%s", out)
	}
}
