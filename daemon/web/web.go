// Package web is the dashboard cbd serves at "/": one page of embedded HTML,
// CSS and vanilla JavaScript (no build step, no external network) that talks
// to the daemon's own JSON-RPC endpoint (POST /rpc) and WebSocket (GET /ws).
//
// The page holds no secret: the browser authenticates with the HttpOnly
// session cookie the server sets when `cb dashboard`'s one-time login URL
// is opened. Without a session, "/" is a short page saying so, and no data.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Assets returns the embedded files, rooted at the directory index.html is in.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded at compile time
	}
	return sub
}

// contentTypes are the only kinds of file the dashboard serves.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".png":  "image/png",
	".svg":  "image/svg+xml",
}

// Handler serves the dashboard. authorized tells whether a request may see
// the dashboard (cbd passes httpapi.Authenticated: the API token or a live
// session cookie); when it says no, "/" and "/index.html" answer 401 with
// login.html, which names `cb dashboard` and shows no data. Every answer has
// Cache-Control: no-store and a strict Content-Security-Policy (no inline
// script or style; scripts, styles and images only from the same origin;
// connections only back to it, WebSocket included).
//
// It serves "/" (and "/index.html") and the assets index.html links by
// relative URL; anything else is 404, and methods other than GET and HEAD
// are 405. The assets hold no data, so they are served to anyone.
func Handler(authorized func(*http.Request) bool) http.Handler {
	assets := Assets()
	read := func(name string) []byte {
		b, err := fs.ReadFile(assets, name)
		if err != nil {
			panic("web: " + name + " is not embedded: " + err.Error())
		}
		return b
	}
	return &handler{assets: assets, index: read("index.html"), login: read("login.html"), authorized: authorized}
}

type handler struct {
	assets     fs.FS
	index      []byte
	login      []byte
	authorized func(*http.Request) bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", csp(r.Host))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	var body []byte
	status := http.StatusOK
	switch {
	case name == "" || name == "index.html":
		name, body = "index.html", h.index
		if h.authorized == nil || !h.authorized(r) {
			body, status = h.login, http.StatusUnauthorized
		}
	case name == "login.html":
		body = h.login
	case strings.Contains(name, "/") || !fs.ValidPath(name):
		// Only top-level files.
	default:
		if b, err := fs.ReadFile(h.assets, name); err == nil {
			body = b
		}
	}
	ctype, ok := contentTypes[path.Ext(name)]
	if body == nil || !ok {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// validHost matches a Host header worth naming in the CSP: a DNS name, IPv4
// or bracketed IPv6 address, with an optional port.
var validHost = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// csp is the Content-Security-Policy of every response. connect-src names
// the page's own host for ws:// and wss:// as well, because 'self' covers
// WebSocket URLs only in CSP Level 3 browsers.
func csp(host string) string {
	connect := "'self'"
	if validHost.MatchString(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
