package service

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
)

func TestRenderSystemdUnit(t *testing.T) {
	unit := renderSystemdUnit("/usr/local/bin/cbd")
	clitest.Golden(t, "claudebench.service.golden", []byte(unit))
	for _, w := range []string{
		"[Unit]\nDescription=ClaudeBench daemon (cbd)\nAfter=network.target\n",
		"\nExecStart=/usr/local/bin/cbd\n", "\nRestart=on-failure\n", "\nRestartSec=2\n",
		"\nStandardOutput=journal\n", "\nStandardError=journal\n", "[Install]\nWantedBy=default.target\n",
		// Restarts are bounded, and a stop reaches cbd first, which stops its redis-server itself.
		"\nKillMode=mixed\n", "\nTimeoutStopSec=30\n", "\nStartLimitIntervalSec=60\nStartLimitBurst=5\n",
	} {
		if !strings.Contains(unit, w) {
			t.Errorf("unit lacks %q", w)
		}
	}
	if strings.Contains(unit, "\nEnvironment=") {
		t.Error("the unit sets environment variables by default")
	}
	for in, want := range map[string]string{
		"/opt/cb/cbd":           "/opt/cb/cbd",
		"/home/a b/cbd":         `"/home/a b/cbd"`,
		"/home/100%/cbd":        "/home/100%%/cbd",
		"/home/$USER/cbd":       "/home/$$USER/cbd",
		`/odd "dir"\x/cbd`:      `"/odd \"dir\"\\x/cbd"`,
		"/Users/x y/100%/$/cbd": `"/Users/x y/100%%/$$/cbd"`,
	} {
		if got := systemdExecArg(in); got != want {
			t.Errorf("systemdExecArg(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSystemdAnalyzeVerify checks the unit with systemd's own verifier,
// for a plain path and for one that needs quoting and escaping.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not on PATH (Debian package systemd provides it); cannot verify the unit")
	}
	dir := t.TempDir()
	odd := filepath.Join(dir, "my cb%dir", "cbd")
	if err := os.MkdirAll(filepath.Dir(odd), 0o755); err != nil {
		t.Fatal(err)
	}
	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(trueBin, odd); err != nil {
		t.Fatal(err)
	}
	runtimeDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, cbd := range []string{trueBin, odd} {
		unitDir := filepath.Join(dir, "units", string(rune('a'+i)))
		unit := filepath.Join(unitDir, systemdUnitName)
		clitest.WriteFile(t, unit, []byte(renderSystemdUnit(cbd)), 0o644)
		cmd := exec.Command(sa, "--user", "verify", unit)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtimeDir, "SYSTEMD_LOG_LEVEL=notice")
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze --user verify (ExecStart %s): %v\n%s\n%s", cbd, err, out, clitest.ReadFile(t, unit))
		}
	}
}

func TestRenderLaunchdPlist(t *testing.T) {
	plist := renderLaunchdPlist("/Users/alice/bin/cbd", "/Users/alice/Library/Logs/claudebench")
	clitest.Golden(t, "dev.claudebench.cbd.plist.golden", []byte(plist))
	// It is well-formed XML, and special characters are escaped.
	odd := renderLaunchdPlist("/Users/a&b/<cbd>", "/tmp/logs")
	for _, p := range []string{plist, odd} {
		dec := xml.NewDecoder(strings.NewReader(p))
		dec.Strict = true
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("plist is not well-formed XML: %v\n%s", err, p)
			}
		}
	}
	if !strings.Contains(odd, "<string>/Users/a&amp;b/&lt;cbd&gt;</string>") {
		t.Errorf("special characters not escaped:\n%s", odd)
	}
	for _, w := range []string{
		"<key>Label</key>\n\t<string>dev.claudebench.cbd</string>",
		"<key>ProgramArguments</key>\n\t<array>\n\t\t<string>/Users/alice/bin/cbd</string>\n\t</array>",
		"<key>RunAtLoad</key>\n\t<true/>",
		"<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>",
		"<key>ThrottleInterval</key>\n\t<integer>10</integer>", "<key>ExitTimeOut</key>\n\t<integer>30</integer>",
		"<key>StandardOutPath</key>\n\t<string>/Users/alice/Library/Logs/claudebench/cbd.log</string>",
		"<key>StandardErrorPath</key>\n\t<string>/Users/alice/Library/Logs/claudebench/cbd.log</string>",
	} {
		if !strings.Contains(plist, w) {
			t.Errorf("plist lacks %q", w)
		}
	}
}

// fakeSystem records the commands cb service runs.
type fakeSystem struct {
	calls   []string
	missing map[string]bool // programs not on PATH
	fail    map[string]bool // commands (joined by spaces) that fail
}

func (f *fakeSystem) run(_ context.Context, stdout, _ io.Writer, name string, args ...string) error {
	c := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, c)
	if f.fail[c] {
		return errors.New("exit status 1")
	}
	if strings.Contains(c, " status ") {
		io.WriteString(stdout, "● claudebench.service - ClaudeBench daemon (cbd)\n     Active: active (running)\n")
	}
	return nil
}

func (f *fakeSystem) lookPath(name string) (string, error) {
	if f.missing[name] {
		return "", exec.ErrNotFound
	}
	return "/usr/bin/" + name, nil
}

func newTestServiceEnv(t *testing.T, goos string) (*serviceEnv, *fakeSystem, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	cbd := filepath.Join(dir, "bin", "cbd")
	clitest.WriteFile(t, cbd, []byte("#!/bin/sh\n"), 0o755)
	f := &fakeSystem{missing: map[string]bool{}, fail: map[string]bool{}}
	var out, errb bytes.Buffer
	e := &serviceEnv{
		goos: goos, home: filepath.Join(dir, "home"), configHome: filepath.Join(dir, "config"), uid: 501,
		cbd: cbd, run: f.run, lookPath: f.lookPath, stdout: &out, stderr: &errb,
	}
	return e, f, &out, &errb
}

func exitCode(err error) int { return cmdutil.ExitCode(err) }

func TestServiceSystemd(t *testing.T) {
	ctx := context.Background()
	reload, enable := "systemctl --user daemon-reload", "systemctl --user enable --now claudebench.service"

	t.Run("install, again, changed, uninstall", func(t *testing.T) {
		e, f, out, _ := newTestServiceEnv(t, "linux")
		if err := e.install(ctx); err != nil {
			t.Fatal(err)
		}
		unit := e.unitPath()
		if unit != filepath.Join(e.configHome, "systemd", "user", "claudebench.service") {
			t.Errorf("unit path %s", unit)
		}
		if got := string(clitest.ReadFile(t, unit)); got != renderSystemdUnit(e.cbd) {
			t.Errorf("unit file:\n%s", got)
		}
		if fi, _ := os.Stat(unit); fi.Mode().Perm() != 0o644 {
			t.Errorf("unit mode %v", fi.Mode().Perm())
		}
		if !reflect.DeepEqual(f.calls, []string{reload, enable}) {
			t.Errorf("calls %q", f.calls)
		}
		if !strings.Contains(out.String(), "journalctl --user -u claudebench.service") {
			t.Errorf("output %q", out.String())
		}

		// Unchanged: no restart.
		f.calls = nil
		if err := e.install(ctx); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.calls, []string{reload, enable}) {
			t.Errorf("calls %q", f.calls)
		}
		// A new cbd path: the running service is restarted.
		f.calls = nil
		other := filepath.Join(filepath.Dir(e.cbd), "cbd2")
		clitest.WriteFile(t, other, []byte("#!/bin/sh\n"), 0o755)
		e.cbd = other
		if err := e.install(ctx); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.calls, []string{reload, enable, "systemctl --user restart claudebench.service"}) {
			t.Errorf("calls %q", f.calls)
		}
		if !strings.Contains(string(clitest.ReadFile(t, unit)), "ExecStart="+other+"\n") {
			t.Error("unit not updated")
		}

		f.calls = nil
		out.Reset()
		if err := e.status(ctx); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.calls, []string{"systemctl --user --no-pager status claudebench.service"}) || !strings.Contains(out.String(), "active (running)") {
			t.Errorf("status: calls %q output %q", f.calls, out.String())
		}

		f.calls = nil
		if err := e.uninstall(ctx); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.calls, []string{"systemctl --user disable --now claudebench.service", reload}) {
			t.Errorf("calls %q", f.calls)
		}
		if _, err := os.Stat(unit); !os.IsNotExist(err) {
			t.Error("unit file not removed")
		}

		f.calls = nil
		out.Reset()
		if err := e.uninstall(ctx); err != nil || len(f.calls) != 0 || !strings.Contains(out.String(), "not installed") {
			t.Errorf("second uninstall: %v calls %q output %q", err, f.calls, out.String())
		}
		out.Reset()
		if err := e.status(ctx); exitCode(err) != 1 || !strings.Contains(out.String(), "not installed") {
			t.Errorf("status when not installed: %v %q", err, out.String())
		}
	})

	t.Run("no systemctl", func(t *testing.T) {
		e, f, _, errb := newTestServiceEnv(t, "linux")
		f.missing["systemctl"] = true
		err := e.install(ctx)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "systemctl is not on PATH") {
			t.Fatalf("err %v", err)
		}
		if _, serr := os.Stat(e.unitPath()); serr != nil {
			t.Error("the unit file was not kept")
		}
		for _, w := range []string{"The unit file stays at " + e.unitPath(), "Run by hand:", "  " + reload, "  " + enable} {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("stderr lacks %q:\n%s", w, errb.String())
			}
		}
		// Uninstall without systemctl removes the file.
		if err := e.uninstall(ctx); err != nil {
			t.Fatal(err)
		}
		if _, serr := os.Stat(e.unitPath()); !os.IsNotExist(serr) || len(f.calls) != 0 {
			t.Errorf("uninstall without systemctl: %v calls %q", serr, f.calls)
		}
	})

	t.Run("systemctl fails", func(t *testing.T) {
		e, f, _, errb := newTestServiceEnv(t, "linux")
		f.fail[enable] = true
		err := e.install(ctx)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "enable --now") || !strings.Contains(err.Error(), "loginctl enable-linger") {
			t.Fatalf("err %v", err)
		}
		if !strings.Contains(errb.String(), "  "+enable) || strings.Contains(errb.String(), "  "+reload) {
			t.Errorf("stderr should list only what is left to run:\n%s", errb.String())
		}
		if _, serr := os.Stat(e.unitPath()); serr != nil {
			t.Error("the unit file was not kept")
		}
		// A failing disable keeps the unit, so the service is not orphaned.
		f.fail["systemctl --user disable --now claudebench.service"] = true
		errb.Reset()
		if err := e.uninstall(ctx); exitCode(err) != 1 {
			t.Fatalf("uninstall: %v", err)
		}
		if _, serr := os.Stat(e.unitPath()); serr != nil {
			t.Error("uninstall removed the unit although disable failed")
		}
		if !strings.Contains(errb.String(), "  rm ") {
			t.Errorf("stderr lacks the rm step:\n%s", errb.String())
		}
		if err := e.status(ctx); exitCode(err) != 0 {
			t.Errorf("status: %v", err)
		}
		f.fail["systemctl --user --no-pager status claudebench.service"] = true
		if err := e.status(ctx); exitCode(err) != 1 {
			t.Errorf("status of a failing service: %v", err)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		e, f, out, _ := newTestServiceEnv(t, "linux")
		e.dryRun = true
		if err := e.install(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(e.unitPath()); !os.IsNotExist(err) || len(f.calls) != 0 {
			t.Errorf("dry run wrote or ran something: %v %q", err, f.calls)
		}
		for _, w := range []string{"would write " + e.unitPath(), "+ExecStart=" + e.cbd, "would run: " + reload, "would run: " + enable} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, out.String())
			}
		}
	})

	t.Run("cbd not found", func(t *testing.T) {
		e, f, _, _ := newTestServiceEnv(t, "linux")
		e.cbd = ""
		f.missing["cbd"] = true
		// The test binary has no cbd next to it.
		if err := e.install(ctx); exitCode(err) != 1 || !strings.Contains(err.Error(), "--cbd") {
			t.Errorf("err %v", err)
		}
		e.cbd = filepath.Join(t.TempDir(), "nope")
		if err := e.install(ctx); exitCode(err) != 1 || !strings.Contains(err.Error(), "not an executable file") {
			t.Errorf("err %v", err)
		}
	})
}

func TestServiceLaunchd(t *testing.T) {
	ctx := context.Background()
	e, f, out, _ := newTestServiceEnv(t, "darwin")
	if err := e.install(ctx); err != nil {
		t.Fatal(err)
	}
	plist := filepath.Join(e.home, "Library", "LaunchAgents", "dev.claudebench.cbd.plist")
	logDir := filepath.Join(e.home, "Library", "Logs", "claudebench")
	if got := string(clitest.ReadFile(t, plist)); got != renderLaunchdPlist(e.cbd, logDir) {
		t.Errorf("plist:\n%s", got)
	}
	if fi, err := os.Stat(logDir); err != nil || !fi.IsDir() {
		t.Errorf("log dir: %v", err)
	}
	if !reflect.DeepEqual(f.calls, []string{"launchctl bootstrap gui/501 " + plist}) {
		t.Errorf("calls %q", f.calls)
	}
	if !strings.Contains(out.String(), filepath.Join(logDir, "cbd.log")) {
		t.Errorf("output %q", out.String())
	}

	// Installed and loaded: nothing to do.
	f.calls = nil
	if err := e.install(ctx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.calls, []string{"launchctl print gui/501/dev.claudebench.cbd"}) {
		t.Errorf("calls %q", f.calls)
	}

	f.calls = nil
	if err := e.status(ctx); err != nil || !reflect.DeepEqual(f.calls, []string{"launchctl print gui/501/dev.claudebench.cbd"}) {
		t.Errorf("status: %v %q", err, f.calls)
	}

	f.calls = nil
	if err := e.uninstall(ctx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.calls, []string{"launchctl bootout gui/501/dev.claudebench.cbd"}) {
		t.Errorf("calls %q", f.calls)
	}
	if _, err := os.Stat(plist); !os.IsNotExist(err) {
		t.Error("plist not removed")
	}

	f.fail["launchctl bootstrap gui/501 "+plist] = true
	if err := e.install(ctx); exitCode(err) != 1 {
		t.Errorf("failing bootstrap: %v", err)
	}
	if _, err := os.Stat(plist); err != nil {
		t.Error("plist not kept after a failing bootstrap")
	}
}

func TestServiceUnsupported(t *testing.T) {
	e, _, _, _ := newTestServiceEnv(t, "windows")
	ctx := context.Background()
	for name, fn := range map[string]func(context.Context) error{"install": e.install, "uninstall": e.uninstall, "status": e.status} {
		if err := fn(ctx); exitCode(err) != 1 || !strings.Contains(err.Error(), "Linux (systemd) and macOS (launchd)") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestServiceCommandDryRun goes through the cobra command: --dry-run writes
// nothing and runs nothing.
func TestServiceCommandDryRun(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("cb service supports Linux and macOS only")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("CB_CONFIG", "")
	cbRun := func(t *testing.T, args ...string) (string, string, int) {
		f, _, s := clitest.NewFactory(nil)
		code := clitest.Run(f, NewCmdService(f), args...)
		return s.Out.String(), s.Err.String(), code
	}
	cbd := filepath.Join(t.TempDir(), "cbd")
	clitest.WriteFile(t, cbd, []byte("#!/bin/sh\n"), 0o755)
	out, errOut, code := cbRun(t, "service", "install", "--dry-run", "--cbd", cbd)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "would write ") || !strings.Contains(out, "would run: ") {
		t.Errorf("output %q", out)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("dry run wrote into HOME: %v", entries)
	}
	if _, errOut, code := cbRun(t, "service", "bogus"); code != 2 || !strings.Contains(errOut, "want install, uninstall or status") {
		t.Errorf("unknown subcommand: exit %d %q", code, errOut)
	}
}
