// Package dashboard is `cb dashboard`: a one-time login link to cbd's
// dashboard, opened in a browser.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// openWait is how long cb dashboard waits for the browser opener to fail.
const openWait = 2 * time.Second

// dashboardLogin is cbd's answer to POST /v1/login.
type dashboardLogin struct {
	Code    string `json:"code"`
	Path    string `json:"path"`
	Expires int    `json:"expiresInSeconds"`
}

// Options are cb dashboard's inputs.
type Options struct {
	IO       *iostreams.IOStreams
	Settings func() (*bridge.Settings, error)
	Print    func(v any) error // JSON output; nil for text
	Timeout  time.Duration

	PrintOnly bool
}

// NewCmdDashboard is `cb dashboard`; runF replaces dashboardRun in tests.
func NewCmdDashboard(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Settings: f.Settings}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Open the dashboard with a one-time login link",
		Long: `Asks cbd (with the API token from its token file) for a one-time login code
and opens http://<http.addr>/?login=<code> in a browser: $BROWSER when set,
else xdg-open (when a display is there) or open. The opener is given a
private file in the runtime dir that redirects to the link, so the code never
appears on a command line other users can read. cbd trades the code for a
session cookie plus a key the page keeps, and the page drops both from the
address bar. The link works
once, for one minute; the session lasts 12 hours or until cbd restarts.

With --print, or when no browser can be opened, the link is printed instead:
open it yourself in a browser on this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Timeout = f.Flags.Timeout
			opts.Print = nil
			if f.Flags.JSONOut() {
				opts.Print = f.PrintJSON
			}
			return cmdutil.RunWith(cmd.Context(), opts, runF, dashboardRun)
		},
	}
	cmd.Flags().BoolVar(&opts.PrintOnly, "print", false, "print the login link instead of opening a browser")
	return cmd
}

func dashboardRun(parent context.Context, opts *Options) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, opts.Timeout)
	defer cancel()
	link, login, err := dashboardLink(ctx, s)
	if err != nil {
		return err
	}
	if opts.Print != nil {
		return opts.Print(map[string]any{"url": link, "expiresInSeconds": login.Expires})
	}
	if !opts.PrintOnly {
		// The opener gets a private file that redirects to the
		// link, not the link: command lines are readable by every
		// user (/proc/<pid>/cmdline), and the code is a login.
		target, err := loginRedirectFile(s.Dirs().Runtime, link)
		if err != nil {
			return err
		}
		if err := openBrowser(parent, target); err == nil {
			fmt.Fprintf(opts.IO.Out, "opened the dashboard in your browser; if nothing shows, open this link (once, within %ds):\n  %s\n", login.Expires, link)
			return nil
		} else if !errors.Is(err, errNoBrowser) {
			fmt.Fprintf(opts.IO.ErrOut, "cb: could not open a browser: %v\n", err)
		}
	}
	fmt.Fprintf(opts.IO.Out, "open this link in a browser on this machine (it works once, within %ds):\n  %s\n", login.Expires, link)
	return nil
}

// dashboardLink mints a login code and returns the link that uses it.
func dashboardLink(ctx context.Context, s *bridge.Settings) (string, dashboardLogin, error) {
	var login dashboardLogin
	if !s.Config().HTTP.Enabled {
		return "", login, cmdutil.Exit(1, errors.New("http.enabled is false: cbd serves no dashboard"))
	}
	base, err := dashboardBase(s.Config().HTTP.Addr)
	if err != nil {
		return "", login, cmdutil.Exit(1, err)
	}
	tokenFile := apitoken.File(s.Config().HTTP.TokenFile, s.Dirs().Config)
	token, err := apitoken.Read(tokenFile)
	if err != nil {
		return "", login, cmdutil.Exit(1, fmt.Errorf("%w (cbd creates the token on its first start: is it running?)", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/login", nil)
	if err != nil {
		return "", login, fmt.Errorf("dashboard login: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", login, cmdutil.Exit(protocol.CodeUnavailable.Info().Exit, fmt.Errorf("dashboard login: cbd's HTTP server at %s is not reachable: %w", base, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", login, fmt.Errorf("dashboard login: read answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", login, cmdutil.Exit(protocol.CodeUnauthorized.Info().Exit, fmt.Errorf("dashboard login: cbd at %s refused the token in %s (is that cbd yours, and started with this token file?)", base, tokenFile))
	case resp.StatusCode != http.StatusOK:
		return "", login, fmt.Errorf("dashboard login: cbd at %s answered %s: %.200s", base, resp.Status, body)
	}
	if err := json.Unmarshal(body, &login); err != nil || login.Code == "" || !strings.HasPrefix(login.Path, "/") {
		return "", login, fmt.Errorf("dashboard login: unexpected answer from %s: %.200s", base, body)
	}
	return base + login.Path, login, nil
}

// loginRedirectFile writes dir/dashboard-login.html (0600, in a 0700 dir),
// a page that sends the browser on to link, and returns its file:// URL.
func loginRedirectFile(dir, link string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("dashboard login page: %w", err)
	}
	path := filepath.Join(dir, "dashboard-login.html")
	esc := html.EscapeString(link)
	page := "<!doctype html>\n<meta charset=\"utf-8\">\n<meta name=\"referrer\" content=\"no-referrer\">\n" +
		"<meta http-equiv=\"refresh\" content=\"0;url=" + esc + "\">\n<title>ClaudeBench</title>\n" +
		"<a href=\"" + esc + "\">Open the ClaudeBench dashboard</a>\n"
	// Written anew each time, never through a file someone else made.
	_ = os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("dashboard login page: %w", err)
	}
	if _, err := f.WriteString(page); err != nil {
		f.Close()
		return "", fmt.Errorf("dashboard login page: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("dashboard login page: %w", err)
	}
	return (&url.URL{Scheme: "file", Path: path}).String(), nil
}

// dashboardBase is the URL the browser reaches cbd at: http.addr, with a
// wildcard listen address replaced by 127.0.0.1.
func dashboardBase(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("http.addr %q is not host:port: %v", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("http.addr %q has no fixed port to open", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// errNoBrowser: nothing here can open a browser (no $BROWSER, no display).
var errNoBrowser = errors.New("no browser to open")

// openBrowser opens link with $BROWSER (a command; "%s" in it is replaced
// by the link, else the link is its last argument), else the platform's
// opener when a display is there.
func openBrowser(ctx context.Context, link string) error {
	var argv []string
	if b := strings.TrimSpace(os.Getenv("BROWSER")); b != "" {
		// $BROWSER may list alternatives separated by ':'; the first is used.
		first, _, _ := strings.Cut(b, ":")
		argv = strings.Fields(first)
		placed := false
		for i, f := range argv {
			if strings.Contains(f, "%s") {
				argv[i], placed = strings.ReplaceAll(f, "%s", link), true
			}
		}
		if !placed {
			argv = append(argv, link)
		}
	} else {
		switch runtime.GOOS {
		case "darwin":
			argv = []string{"open", link}
		case "windows":
			argv = []string{"rundll32", "url.dll,FileProtocolHandler", link}
		default:
			if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
				return errNoBrowser
			}
			argv = []string{"xdg-open", link}
		}
	}
	if len(argv) == 0 {
		return errNoBrowser
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return errNoBrowser
	}
	// The opener may be the browser itself, which runs until closed: wait
	// a moment for an early failure, then leave it running.
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", argv[0], err)
		}
	case <-time.After(openWait):
	case <-ctx.Done():
	}
	return nil
}
