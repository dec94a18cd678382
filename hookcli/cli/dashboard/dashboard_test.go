package dashboard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
)

func TestDashboardBase(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:7711": "http://127.0.0.1:7711",
		"0.0.0.0:7711":   "http://127.0.0.1:7711",
		"[::]:7711":      "http://127.0.0.1:7711",
		":7711":          "http://127.0.0.1:7711",
		"[::1]:8000":     "http://[::1]:8000",
		"localhost:9":    "http://localhost:9",
	} {
		if got, err := dashboardBase(addr); err != nil || got != want {
			t.Errorf("dashboardBase(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"7711", "127.0.0.1:0", "127.0.0.1:"} {
		if _, err := dashboardBase(addr); err == nil {
			t.Errorf("dashboardBase(%q) accepted", addr)
		}
	}
}

// TestOpenBrowser runs $BROWSER as a real process and sees the link it got.
func TestOpenBrowser(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "got")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+got+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const link = "http://127.0.0.1:7711/?login=abc"
	t.Setenv("BROWSER", script)
	if err := openBrowser(t.Context(), link); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got); string(b) != link {
		t.Fatalf("the browser got %q", b)
	}
	// A failing opener is an error; none at all is errNoBrowser.
	t.Setenv("BROWSER", "false")
	if err := openBrowser(t.Context(), link); err == nil || err == errNoBrowser {
		t.Fatalf("failing opener: %v", err)
	}
	t.Setenv("BROWSER", "")
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	start := time.Now()
	if err := openBrowser(t.Context(), link); err != errNoBrowser || time.Since(start) > time.Second {
		t.Fatalf("no display: %v", err)
	}
}

// TestLoginRedirectFile: the opener gets a file:// URL of a private page
// that redirects to the link, so the code is on no command line.
func TestLoginRedirectFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	const link = "http://127.0.0.1:7711/?login=abc&x=<y>"
	target, err := loginRedirectFile(dir, link)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dashboard-login.html")
	if target != "file://"+path || strings.Contains(target, "abc") {
		t.Fatalf("target %q", target)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("page mode: %v %v", st, err)
	}
	if d, _ := os.Stat(dir); d.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", d.Mode())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `content="0;url=http://127.0.0.1:7711/?login=abc&amp;x=&lt;y&gt;"`) {
		t.Fatalf("page %s", b)
	}
	// Again: replaced, not appended to.
	if _, err := loginRedirectFile(dir, "http://127.0.0.1:7711/?login=def"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "abc") {
		t.Fatalf("old code left in %s", b)
	}
}

// TestDashboardNeedsToken: without the token file, cb dashboard says where
// it looked and that cbd creates it.
func TestDashboardNeedsToken(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("CB_CONFIG", "")
	t.Setenv("CB_HTTP_ADDR", "127.0.0.1:7711")
	t.Setenv("CB_HTTP_ENABLED", "true")
	t.Setenv("CB_HTTP_TOKEN_FILE", filepath.Join(dir, "none"))
	f, _, s := clitest.NewFactory(nil)
	code := clitest.Run(f, NewCmdDashboard(f, nil), "dashboard", "--print")
	errOut := s.Err.String()
	if code != 1 || !strings.Contains(errOut, "is it running?") {
		t.Fatalf("exit %d %q", code, errOut)
	}
}
