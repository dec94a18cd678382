package web

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = "127.0.0.1:7711"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wantCommonHeaders checks what every answer carries.
func wantCommonHeaders(t *testing.T, rec *httptest.ResponseRecorder, path string) {
	t.Helper()
	h := rec.Header()
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", path, got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", path, got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
		"frame-ancestors 'none'", "connect-src 'self' ws://127.0.0.1:7711 wss://127.0.0.1:7711"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http:") || strings.Contains(csp, "https:") || strings.Contains(csp, "*") {
		t.Errorf("%s: CSP is not strict: %q", path, csp)
	}
}

// yes and no stand in for httpapi.Authenticated.
func yes(*http.Request) bool { return true }
func no(*http.Request) bool  { return false }

// TestIndexNeedsLogin: the dashboard only for an authenticated request;
// anyone else gets the login page, with no token and no data, and neither
// page holds a secret.
func TestIndexNeedsLogin(t *testing.T) {
	for _, path := range []string{"/", "/index.html"} {
		rec := get(t, Handler(yes), http.MethodGet, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="task-form"`) {
			t.Fatalf("GET %s authenticated: %d", path, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		wantCommonHeaders(t, rec, path)
		for _, h := range []http.Handler{Handler(no), Handler(nil)} {
			rec = get(t, h, http.MethodGet, path)
			body := rec.Body.String()
			if rec.Code != http.StatusUnauthorized || !strings.Contains(body, "cb dashboard") || strings.Contains(body, `id="task-form"`) {
				t.Fatalf("GET %s without login: %d\n%s", path, rec.Code, body)
			}
			wantCommonHeaders(t, rec, path)
		}
	}
	for _, name := range []string{"index.html", "login.html", "app.js"} {
		b, _ := fs.ReadFile(Assets(), name)
		if bytes.Contains(b, []byte("cb-token")) || bytes.Contains(b, []byte("__CB_TOKEN__")) || bytes.Contains(b, []byte("?token=")) {
			t.Errorf("%s still carries a token", name)
		}
	}
}

func TestAssets(t *testing.T) {
	h := Handler(yes)
	for path, ctype := range map[string]string{
		"/app.js":      "text/javascript; charset=utf-8",
		"/styles.css":  "text/css; charset=utf-8",
		"/favicon.png": "image/png",
	} {
		rec := get(t, h, http.MethodGet, path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ctype)
		}
		wantCommonHeaders(t, rec, path)
		want, _ := fs.ReadFile(Assets(), strings.TrimPrefix(path, "/"))
		if !bytes.Equal(rec.Body.Bytes(), want) || len(want) == 0 {
			t.Errorf("GET %s: body differs from the embedded file", path)
		}
		head := get(t, h, http.MethodHead, path)
		if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD %s: %d, %d body bytes", path, head.Code, head.Body.Len())
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := Handler(yes)
	for _, path := range []string{"/nope.js", "/static/app.js", "/app.js/", "/x/../app.js.map", "/favicon.ico", "/rpc", "/.well-known/x", "/index.htm"} {
		rec := get(t, h, http.MethodGet, path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: 404 without no-store", path)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := get(t, h, m, "/")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestCSPHost(t *testing.T) {
	for host, want := range map[string]string{
		"localhost:7711":     "connect-src 'self' ws://localhost:7711 wss://localhost:7711;",
		"[::1]:7711":         "connect-src 'self' ws://[::1]:7711 wss://[::1]:7711;",
		"cb.example":         "connect-src 'self' ws://cb.example wss://cb.example;",
		"evil; script-src *": "connect-src 'self';",
		"":                   "connect-src 'self';",
		"a b":                "connect-src 'self';",
	} {
		if got := csp(host); !strings.Contains(got, want) {
			t.Errorf("csp(%q) = %q, want it to contain %q", host, got, want)
		}
	}
}

// TestNoExternalURLs keeps the page offline: no asset may name an http(s)
// URL (no CDN, no web font, no analytics).
func TestNoExternalURLs(t *testing.T) {
	n := 0
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := static.ReadFile(path)
		if err != nil {
			return err
		}
		lower := bytes.ToLower(b)
		for _, scheme := range []string{"http://", "https://", "//cdn", "ws://", "wss://"} {
			if i := bytes.Index(lower, []byte(scheme)); i >= 0 {
				t.Errorf("%s names an external URL at byte %d: %q", path, i, b[i:min(len(b), i+60)])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("only %d embedded files", n)
	}
}

// TestIndexIsCSPClean checks index.html for what the CSP would block: inline
// scripts, event handler attributes, style attributes or elements, and links
// to assets that are not served.
func TestIndexIsCSPClean(t *testing.T) {
	index, err := fs.ReadFile(Assets(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(index)
	for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=`).FindString(page); m != "" {
		t.Errorf("event handler attribute %q", m)
	}
	if m := regexp.MustCompile(`(?i)(\sstyle\s*=|<style)`).FindString(page); m != "" {
		t.Errorf("inline style %q", m)
	}
	h := Handler(yes)
	refs := regexp.MustCompile(`(?i)\s(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html links %d assets", len(refs))
	}
	for _, m := range refs {
		if strings.Contains(m[1], ":") || strings.HasPrefix(m[1], "/") {
			t.Errorf("asset %q is not a relative URL", m[1])
			continue
		}
		if rec := get(t, h, http.MethodGet, "/"+m[1]); rec.Code != http.StatusOK {
			t.Errorf("index.html links %q, which answers %d", m[1], rec.Code)
		}
	}
}

// TestTestIDs pins the hooks the end-to-end test and users' scripts rely on.
func TestTestIDs(t *testing.T) {
	index, _ := fs.ReadFile(Assets(), "index.html")
	app, _ := fs.ReadFile(Assets(), "app.js")
	page := string(index)
	for _, id := range []string{`id="task-form"`, `id="task-text"`, `id="task-priority"`, `id="task-submit"`,
		`data-testid="column-pending"`, `data-testid="column-in_progress"`, `data-testid="column-completed"`,
		`data-testid="column-failed"`, `data-testid="task-card"`, `data-action="claim"`, `data-action="complete"`,
		`data-action="fail"`, `data-testid="task-priority-input"`, `id="event-list"`, `id="event-filter"`,
		`id="event-session"`, `id="instance-list"`, `id="decision-rows"`, `id="denial-list"`, `id="metric-rows"`,
		`id="conn-status"`, `data-testid="task-attachments-toggle"`, `data-testid="task-attachments"`} {
		if !strings.Contains(page, id) {
			t.Errorf("index.html lacks %s", id)
		}
	}
	for _, s := range []string{"dataset.taskId", "'/rpc'", "/ws?key=", "X-CB-Session-Key", "cb dashboard", "'subscribe'", "'audit.list'", "'task.attachments'", "'task.attached'", "-32601"} {
		if !bytes.Contains(app, []byte(s)) {
			t.Errorf("app.js lacks %s", s)
		}
	}
}

// TestCardFieldsAreTaskFields keeps the dashboard's view of a task in step
// with the wire contract: every field a task card shows (cardSig in app.js
// lists them, as the card re-renders when one changes) is a property of the
// task schema, schemas/methods/common.json#/$defs/task.
func TestCardFieldsAreTaskFields(t *testing.T) {
	js, err := fs.ReadFile(Assets(), "app.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)function cardSig\(t\) \{\s*return \[(.*?)\]`).FindSubmatch(js)
	if m == nil {
		t.Fatal("app.js has no cardSig(t) listing the task fields a card shows")
	}
	common, err := schemas.Common()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs struct {
			Task struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"task"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(common, &doc); err != nil {
		t.Fatal(err)
	}
	fields := regexp.MustCompile(`\bt\.([A-Za-z]+)`).FindAllSubmatch(m[1], -1)
	if len(fields) < 5 {
		t.Fatalf("cardSig lists %d fields", len(fields))
	}
	for _, f := range fields {
		if _, ok := doc.Defs.Task.Properties[string(f[1])]; !ok {
			t.Errorf("the dashboard shows task field %q, which the task schema does not have", f[1])
		}
	}
}

// TestHookSummaryEveryEvent: the live view's hookSummary has a case for
// every Claude Code event whose input is not a tool call or a prompt
// (those are summarized by toolSummary and the prompt branch), so a new
// event in protocol.HookEvents does not show up as a bare field list.
func TestHookSummaryEveryEvent(t *testing.T) {
	app, _ := fs.ReadFile(Assets(), "app.js")
	for _, he := range protocol.HookEvents {
		switch he.ClaudeEvent {
		case "PreToolUse", "PostToolUse", "UserPromptSubmit":
			continue
		}
		if !bytes.Contains(app, []byte("case '"+he.ClaudeEvent+"':")) {
			t.Errorf("app.js hookSummary has no case for %s (hook.%s)", he.ClaudeEvent, he.Type)
		}
	}
}
