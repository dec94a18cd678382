// Package claudecode runs the real Claude Code client (the npm package
// @anthropic-ai/claude-code, pinned in .ci/setup) headless against a fake
// Messages API on loopback, with hooks written by `cb install`, against a
// real cbd and redis-server: what cb decides must be what the client does.
//
// The client is found through CB_CLAUDE (a path to the claude binary) or in
// the directory .ci/setup installs it into,
// ${XDG_CACHE_HOME:-$HOME/.cache}/claudebench/claude-code. In CI (CI set)
// a missing client fails the tests that need it; elsewhere they skip and
// say how to install it. The table tests of recorded hook inputs
// (testdata/hooks) need no client.
package claudecode

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

var bin testenv.Binaries

func TestMain(m *testing.M) {
	if os.Getenv(elicitServerEnv) != "" {
		// The test binary run as an MCP server by the client under test.
		os.Exit(serveElicitation())
	}
	os.Exit(testenv.Main(m, &bin, nil))
}

// pinnedVersion is the client version .ci/setup installs
// (CLAUDE_CODE_VERSION=... in that script).
func pinnedVersion() (string, error) {
	f, err := os.Open(filepath.Join(testenv.Root(), ".ci", "setup"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "CLAUDE_CODE_VERSION="); ok {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", fmt.Errorf(".ci/setup sets no CLAUDE_CODE_VERSION")
}

// claudeInstallDir is where .ci/setup installs the client.
func claudeInstallDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "claudebench", "claude-code")
}

var (
	clientOnce    sync.Once
	clientPath    string
	clientVersion string
	clientErr     error
)

var versionRe = regexp.MustCompile(`^(\d+\.\d+\.\d+)`)

// findClient locates the claude binary and reads its version.
func findClient() (path, version string, err error) {
	path = os.Getenv("CB_CLAUDE")
	if path == "" {
		dir := claudeInstallDir()
		path = filepath.Join(dir, "node_modules", ".bin", "claude")
		if _, err := os.Stat(path); err != nil {
			return "", "", fmt.Errorf("no Claude Code client at %s (run .ci/setup, or set CB_CLAUDE to a claude binary)", path)
		}
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("%s --version: %v", path, err)
	}
	m := versionRe.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return "", "", fmt.Errorf("%s --version printed %q, not a version", path, out)
	}
	return path, m[1], nil
}

// inCI reports whether the tests run in CI (CI set to anything but a false
// value, as CI services set it).
func inCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	if v == "" {
		return false
	}
	on, err := strconv.ParseBool(v)
	return err != nil || on
}

// needClient returns the client's path, or ends the test: a failure in CI
// (the client is part of the test environment there), a skip elsewhere.
func needClient(t *testing.T) string {
	t.Helper()
	clientOnce.Do(func() {
		clientPath, clientVersion, clientErr = findClient()
		if clientErr != nil {
			return
		}
		pin, err := pinnedVersion()
		if err != nil {
			clientErr = err
			return
		}
		if clientVersion != pin && os.Getenv("CB_CLAUDE") == "" {
			clientErr = fmt.Errorf("the Claude Code client in %s is %s, .ci/setup pins %s: run .ci/setup", claudeInstallDir(), clientVersion, pin)
		}
	})
	if clientErr != nil {
		if inCI() {
			t.Fatalf("Claude Code client required in CI: %v", clientErr)
		}
		t.Skipf("Claude Code client not available (CI unset, so skipping): %v", clientErr)
	}
	return clientPath
}
