// Package browsertest runs a real headless Chromium for the tests that
// drive cbd's dashboard (e2e, and e2e/claudecode's worked example).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/claudebench/cb/internal/testenv"
)

// debianChromium is where Debian's chromium package puts the browser.
const debianChromium = "/usr/bin/chromium"

// Chromium finds Debian's chromium (CB_CHROMIUM overrides the path). It
// installs the package when it is missing and the test may (root with
// apt-get), and fails, never skips, when it cannot.
func Chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CB_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat(debianChromium); err == nil {
		return debianChromium
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		t.Fatalf("the browser tests need Chromium at %s: install it with `apt-get install -y chromium` "+
			"(as root; `make test` runs .ci/setup, which does), or set CB_CHROMIUM to a Chromium binary", debianChromium)
	}
	t.Logf("%s is missing: installing Debian's chromium package", debianChromium)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "chromium"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the browser tests need Chromium at %s, and `apt-get %s` failed: %v\n%s",
				debianChromium, strings.Join(args, " "), err, tail(out, 2000))
		}
	}
	if _, err := os.Stat(debianChromium); err != nil {
		t.Fatalf("installed the chromium package, but %s is still missing: %v", debianChromium, err)
	}
	return debianChromium
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Chrome is a headless Chromium tab and what its console reported.
type Chrome struct {
	// Ctx is the tab: pass it to chromedp.Run and Step.
	Ctx  context.Context
	mu   sync.Mutex
	errs []string
	logf func(format string, args ...any)
}

// Problems are the console errors and uncaught exceptions of the page so far.
func (c *Chrome) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// listen records console.error calls and uncaught exceptions (and logs the
// other console calls). It runs in the tab's event loop: no commands here.
func (c *Chrome) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg := fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			c.mu.Lock()
			c.errs = append(c.errs, msg)
			c.mu.Unlock()
		}
		c.logf("%s", msg)
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
		c.mu.Lock()
		c.errs = append(c.errs, msg)
		c.mu.Unlock()
		c.logf("%s", msg)
	}
}

// Start starts headless Chromium with a fresh profile.
func Start(t *testing.T, ctx context.Context, path string) *Chrome {
	t.Helper()
	profile, err := os.MkdirTemp("", "cbchrome")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1440, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	c := &Chrome{logf: t.Logf}
	tctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(c.listen))
	c.Ctx = tctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		_ = os.RemoveAll(profile)
	})
	start := time.Now()
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))
	return c
}

// Screenshot saves a full-page PNG of the tab as e2e/artifacts/name and
// returns its path ("" when it could not take one; the test is told).
func (c *Chrome) Screenshot(t *testing.T, name string) string {
	t.Helper()
	png, err := chromedp.Run(c.Ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	dir := filepath.Join(testenv.Root(), "e2e", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return p
}

// ScreenshotIfFailed, deferred before the tab's context is cancelled,
// keeps a screenshot of a failed test.
func (c *Chrome) ScreenshotIfFailed(t *testing.T, name string) {
	if t.Failed() {
		c.Screenshot(t, name)
	}
}

// Step runs actions with a deadline and fails the test, naming the step,
// when they do not finish in time.
func Step(t *testing.T, ctx context.Context, what string, within time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("not done within %v", within)
		}
		t.Fatalf("%s: %v", what, err)
	}
}
