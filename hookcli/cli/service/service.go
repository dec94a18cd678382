// Package service is `cb service`: cbd as a per-user service (a systemd
// user unit, a launchd agent).
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/spf13/cobra"
)

// cb service installs cbd as a per-user service: a systemd user unit on
// Linux, a launchd agent on macOS.

const (
	systemdUnitName = "claudebench.service"
	launchdLabel    = "dev.claudebench.cbd"
)

// The service files are rendered with strings.NewReplacer, not text/template:
// a reachable template engine keeps every exported method of every type in
// the binary, and cb is also the per-call hook, whose start-up that slows.
const systemdUnitText = `[Unit]
Description=ClaudeBench daemon (cbd)
After=network.target
# A cbd that cannot start (port taken, another cbd owns the runtime dir)
# is retried 5 times a minute, then left failed for the operator:
# systemctl --user restart claudebench. (RestartSteps, a growing delay,
# needs systemd 254.)
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=simple
ExecStart={{CBD}}
# cbd exits non-zero when it cannot start (port taken, another cbd owns
# the runtime dir, bad config) or a service fails; 0 after SIGTERM.
Restart=on-failure
RestartSec=2
# SIGTERM to cbd only: it drains requests and then stops its managed
# redis-server itself (which would otherwise get SIGTERM at once).
KillMode=mixed
# cbd stops within shutdown.timeout (10 s by default).
TimeoutStopSec=30
# cbd reads ~/.config/claudebench/config.yaml; add Environment=CB_...=value
# lines here only for settings that must differ for the service.
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=default.target
`

const launchdPlistText = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{Label}}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{{CBD}}</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ThrottleInterval</key>
	<integer>10</integer>
	<key>ExitTimeOut</key>
	<integer>30</integer>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardOutPath</key>
	<string>{{Log}}</string>
	<key>StandardErrorPath</key>
	<string>{{Log}}</string>
</dict>
</plist>
`

// renderSystemdUnit is the systemd user unit that runs cbdPath.
func renderSystemdUnit(cbdPath string) string {
	return strings.NewReplacer("{{CBD}}", systemdExecArg(cbdPath)).Replace(systemdUnitText)
}

// renderLaunchdPlist is the launchd agent that runs cbdPath, logging to
// logDir/cbd.log.
func renderLaunchdPlist(cbdPath, logDir string) string {
	return strings.NewReplacer("{{Label}}", xmlText(launchdLabel), "{{CBD}}", xmlText(cbdPath),
		"{{Log}}", xmlText(filepath.Join(logDir, "cbd.log"))).Replace(launchdPlistText)
}

// systemdExecArg quotes a path for ExecStart: % and $ are doubled (no
// specifiers, no variable expansion) and a path with spaces, quotes or
// backslashes is put in double quotes.
func systemdExecArg(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlText(s string) string { return xmlEscaper.Replace(s) }

// cmdRunner runs a program with its output going to stdout and stderr.
type cmdRunner func(ctx context.Context, stdout, stderr io.Writer, name string, args ...string) error

func execRunner(ctx context.Context, stdout, stderr io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// serviceEnv is everything cb service depends on, so tests can fake it.
type serviceEnv struct {
	goos       string
	home       string
	configHome string // $XDG_CONFIG_HOME or ~/.config
	uid        int
	cbd        string // cbd's path; "" = find it (next to cb, then PATH)
	dryRun     bool
	run        cmdRunner
	lookPath   func(string) (string, error)
	stdout     io.Writer
	stderr     io.Writer
}

// NewCmdService is `cb service` and its subcommands.
func NewCmdService(f *cmdutil.Factory) *cobra.Command {
	var env serviceEnv
	cmd := &cobra.Command{
		Use:   "service install|uninstall|status",
		Short: "Run cbd as a per-user service (systemd user unit, launchd agent)",
		Long: `Installs cbd as a service of your user that starts at login and is
restarted when it fails (systemd: after 2 s, at most 5 times a minute;
launchd: at most every 10 s). cbd exits non-zero when it cannot start, e.g. while
another cbd owns the runtime dir, and 0 after a clean stop:

  Linux  ~/.config/systemd/user/claudebench.service, logs in the journal
         (journalctl --user -u claudebench.service), managed with systemctl --user
  macOS  ~/Library/LaunchAgents/dev.claudebench.cbd.plist, logs in
         ~/Library/Logs/claudebench/cbd.log, managed with launchctl

The service runs the cbd next to this cb, else the one on PATH, else --cbd.
status exits 0 when the service runs and 1 otherwise.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.FlagErrorf("cb service %s: want install, uninstall or status", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.PersistentFlags().BoolVar(&env.dryRun, "dry-run", false, "print what would be written and run, and change nothing")
	// sub is a subcommand that runs do on the service environment.
	sub := func(use, short string, do func(*serviceEnv, context.Context) error) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				e, err := newServiceEnv(env.dryRun, f.IOStreams.Out, f.IOStreams.ErrOut)
				if err != nil {
					return err
				}
				e.cbd = env.cbd
				return do(e, cmd.Context())
			},
		}
	}
	install := sub("install", "Install and start the cbd service", (*serviceEnv).install)
	install.Flags().StringVar(&env.cbd, "cbd", "", "path of the cbd to run (default: next to cb, else on PATH)")
	cmd.AddCommand(install,
		sub("uninstall", "Stop and remove the cbd service", (*serviceEnv).uninstall),
		sub("status", "Show the cbd service's state", (*serviceEnv).status))
	return cmd
}

func newServiceEnv(dryRun bool, stdout, stderr io.Writer) (*serviceEnv, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find the home directory: %w", err)
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" || !filepath.IsAbs(cfg) {
		cfg = filepath.Join(home, ".config")
	}
	return &serviceEnv{
		goos: runtime.GOOS, home: home, configHome: cfg, uid: os.Getuid(), dryRun: dryRun,
		run: execRunner, lookPath: exec.LookPath, stdout: stdout, stderr: stderr,
	}, nil
}

func (e *serviceEnv) unitPath() string {
	return filepath.Join(e.configHome, "systemd", "user", systemdUnitName)
}
func (e *serviceEnv) plistPath() string {
	return filepath.Join(e.home, "Library", "LaunchAgents", launchdLabel+".plist")
}
func (e *serviceEnv) logDir() string { return filepath.Join(e.home, "Library", "Logs", "claudebench") }

func (e *serviceEnv) unsupported() error {
	return cmdutil.Exit(1, fmt.Errorf("cb service supports Linux (systemd) and macOS (launchd), not %s; run cbd another way", e.goos))
}

// findCBD is the cbd the service runs: --cbd, else the one next to this cb
// (cb-cli sits beside cb and cbd), else the one on PATH.
func (e *serviceEnv) findCBD() (string, error) {
	p := e.cbd
	if p == "" {
		if exe, err := os.Executable(); err == nil {
			if r, err := filepath.EvalSymlinks(exe); err == nil {
				exe = r
			}
			if c := filepath.Join(filepath.Dir(exe), "cbd"); cmdutil.IsExecutableFile(c) {
				p = c
			}
		}
	}
	if p == "" {
		lp, err := e.lookPath("cbd")
		if err != nil {
			return "", cmdutil.Exit(1, errors.New("cbd is neither next to cb nor on PATH; build it (make build) or pass --cbd PATH"))
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if !cmdutil.IsExecutableFile(abs) {
		return "", cmdutil.Exit(1, fmt.Errorf("%s is not an executable file", abs))
	}
	return abs, nil
}

// writeServiceFile writes content to path (atomically, mode 0644) unless it
// is already there. It reports whether the file existed and whether it
// changed.
func (e *serviceEnv) writeServiceFile(path, content string) (existed, changed bool, err error) {
	old, rerr := os.ReadFile(path)
	existed = rerr == nil
	if existed && string(old) == content {
		fmt.Fprintf(e.stdout, "%s is up to date\n", path)
		return true, false, nil
	}
	if e.dryRun {
		from := path
		if !existed {
			from = "/dev/null"
		}
		fmt.Fprintf(e.stdout, "would write %s:\n%s", path, udiff.Unified(from, path, string(old), content))
		return existed, true, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return existed, false, fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return existed, false, err
	}
	_, err = tmp.WriteString(content)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return existed, false, fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", path)
	return existed, true, nil
}

// runSteps runs commands in order, stopping at the first failure. With a
// missing program or a failure it prints the remaining commands (and the
// lines of more) to run by hand and returns an error that says why.
func (e *serviceEnv) runSteps(ctx context.Context, steps [][]string, keep string, more ...string) error {
	if e.dryRun {
		for _, s := range steps {
			fmt.Fprintf(e.stdout, "would run: %s\n", strings.Join(s, " "))
		}
		return nil
	}
	for i, s := range steps {
		var why string
		if _, err := e.lookPath(s[0]); err != nil {
			why = s[0] + " is not on PATH"
		} else if err := e.run(ctx, e.stdout, e.stderr, s[0], s[1:]...); err != nil {
			why = fmt.Sprintf("`%s` failed: %v", strings.Join(s, " "), err)
		}
		if why == "" {
			continue
		}
		fmt.Fprintf(e.stderr, "%s\n%s. Run by hand:\n", keep, why)
		for _, r := range steps[i:] {
			fmt.Fprintf(e.stderr, "  %s\n", strings.Join(r, " "))
		}
		for _, m := range more {
			fmt.Fprintf(e.stderr, "  %s\n", m)
		}
		hint := ""
		if s[0] == "systemctl" {
			hint = " (systemctl --user needs your user's session bus: run it from a login session, or enable lingering with `loginctl enable-linger $USER`)"
		}
		return cmdutil.Exit(1, errors.New(why+hint))
	}
	return nil
}

func (e *serviceEnv) install(ctx context.Context) error {
	switch e.goos {
	case "linux", "darwin":
	default:
		return e.unsupported()
	}
	cbd, err := e.findCBD()
	if err != nil {
		return err
	}
	e.warnShellEnv()
	if e.goos == "darwin" {
		return e.installLaunchd(ctx, cbd)
	}
	path := e.unitPath()
	existed, changed, err := e.writeServiceFile(path, renderSystemdUnit(cbd))
	if err != nil {
		return err
	}
	steps := [][]string{{"systemctl", "--user", "daemon-reload"}, {"systemctl", "--user", "enable", "--now", systemdUnitName}}
	if existed && changed {
		// enable --now leaves a running cbd alone; make it run the new unit.
		steps = append(steps, []string{"systemctl", "--user", "restart", systemdUnitName})
	}
	if err := e.runSteps(ctx, steps, "The unit file stays at "+path+"."); err != nil {
		return err
	}
	if !e.dryRun {
		fmt.Fprintf(e.stdout, "cbd runs as the systemd user service %s.\nLogs: journalctl --user -u %s -f\nTo keep it running after you log out: loginctl enable-linger $USER\n", systemdUnitName, systemdUnitName)
	}
	return nil
}

func (e *serviceEnv) installLaunchd(ctx context.Context, cbd string) error {
	path := e.plistPath()
	if !e.dryRun {
		if err := os.MkdirAll(e.logDir(), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", e.logDir(), err)
		}
	}
	existed, changed, err := e.writeServiceFile(path, renderLaunchdPlist(cbd, e.logDir()))
	if err != nil {
		return err
	}
	domain := "gui/" + strconv.Itoa(e.uid)
	if existed && !changed && !e.dryRun && e.run(ctx, io.Discard, io.Discard, "launchctl", "print", domain+"/"+launchdLabel) == nil {
		fmt.Fprintf(e.stdout, "cbd already runs as the launchd agent %s.\n", launchdLabel)
		return nil
	}
	if existed && !e.dryRun {
		// A loaded agent must be booted out before it can be bootstrapped
		// again; it is fine if it was not loaded.
		_ = e.run(ctx, io.Discard, io.Discard, "launchctl", "bootout", domain+"/"+launchdLabel)
	}
	if err := e.runSteps(ctx, [][]string{{"launchctl", "bootstrap", domain, path}}, "The agent file stays at "+path+"."); err != nil {
		return err
	}
	if !e.dryRun {
		fmt.Fprintf(e.stdout, "cbd runs as the launchd agent %s.\nLogs: %s\n", launchdLabel, filepath.Join(e.logDir(), "cbd.log"))
	}
	return nil
}

func (e *serviceEnv) uninstall(ctx context.Context) error {
	var path string
	var steps [][]string
	switch e.goos {
	case "linux":
		path = e.unitPath()
		steps = [][]string{{"systemctl", "--user", "disable", "--now", systemdUnitName}}
	case "darwin":
		path = e.plistPath()
		steps = [][]string{{"launchctl", "bootout", "gui/" + strconv.Itoa(e.uid) + "/" + launchdLabel}}
	default:
		return e.unsupported()
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "The cbd service is not installed (no %s); nothing to do.\n", path)
		return nil
	}
	tool := steps[0][0]
	if _, err := e.lookPath(tool); err != nil {
		// Without systemctl/launchctl nothing can be running the file.
		steps = nil
		fmt.Fprintf(e.stderr, "%s is not on PATH; removing the file only.\n", tool)
	}
	if e.goos == "darwin" && steps != nil && !e.dryRun {
		// bootout fails when the agent is not loaded; that is fine.
		if err := e.run(ctx, e.stdout, io.Discard, steps[0][0], steps[0][1:]...); err != nil {
			fmt.Fprintf(e.stdout, "The agent %s was not loaded.\n", launchdLabel)
		}
		steps = nil
	}
	if err := e.runSteps(ctx, steps, "The unit file stays at "+path+".", "rm "+cmdutil.ShellQuote(path), "systemctl --user daemon-reload"); err != nil {
		return err
	}
	if e.dryRun {
		fmt.Fprintf(e.stdout, "would remove %s\n", path)
	} else {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		fmt.Fprintf(e.stdout, "removed %s\n", path)
	}
	if e.goos == "linux" {
		if _, err := e.lookPath("systemctl"); err == nil {
			return e.runSteps(ctx, [][]string{{"systemctl", "--user", "daemon-reload"}}, "The unit file is removed.")
		}
	}
	return nil
}

func (e *serviceEnv) status(ctx context.Context) error {
	var path string
	var args []string
	switch e.goos {
	case "linux":
		path = e.unitPath()
		args = []string{"systemctl", "--user", "--no-pager", "status", systemdUnitName}
	case "darwin":
		path = e.plistPath()
		args = []string{"launchctl", "print", "gui/" + strconv.Itoa(e.uid) + "/" + launchdLabel}
	default:
		return e.unsupported()
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "not installed (no %s); install it with: cb service install\n", path)
		return cmdutil.Exit(1, errors.New("the cbd service is not installed"))
	}
	if _, err := e.lookPath(args[0]); err != nil {
		return cmdutil.Exit(1, fmt.Errorf("%s is installed but %s is not on PATH to ask about it", path, args[0]))
	}
	if err := e.run(ctx, e.stdout, e.stderr, args[0], args[1:]...); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return cmdutil.Exit(1, fmt.Errorf("the cbd service is not running (%s exited %d)", args[0], ee.ExitCode()))
		}
		return cmdutil.Exit(1, fmt.Errorf("%s: %w", strings.Join(args, " "), err))
	}
	return nil
}

// warnShellEnv says which CB_* variables of this shell the service will not
// see.
func (e *serviceEnv) warnShellEnv() {
	var names []string
	for _, kv := range os.Environ() {
		if name, _, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "CB_") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprintf(e.stderr, "note: %s set in this shell; the service does not see them, put them in the config file instead\n", strings.Join(names, ", "))
}
