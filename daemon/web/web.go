// Package web is the dashboard cbd serves at "/": one page of embedded HTML,
// CSS and vanilla JavaScript (no build step, no external network) that talks
// to the daemon's own JSON-RPC endpoint (POST /rpc) and WebSocket (GET /ws).
package web

import (
	"bytes"
	"embed"
	"html"
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

// tokenPlaceholder is replaced in index.html by the HTML-escaped API token.
const tokenPlaceholder = "__CB_TOKEN__"

// contentTypes are the only kinds of file the dashboard serves.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".png":  "image/png",
	".svg":  "image/svg+xml",
}

// Handler serves the dashboard. token is the API token; the page gets it only
// from the same origin: Handler injects it into index.html as
// <meta name="cb-token" content="..."> at serve time (never in a separate
// unauthenticated JSON endpoint), with Cache-Control: no-store and a strict
// Content-Security-Policy (no inline script or style; scripts, styles and
// images only from the same origin; connections only back to it, WebSocket
// included).
//
// It serves "/" (and "/index.html") and the assets index.html links by
// relative URL; anything else is 404, and methods other than GET and HEAD
// are 405.
func Handler(token string) http.Handler {
	assets := Assets()
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		panic("web: index.html is not embedded: " + err.Error())
	}
	if bytes.Count(index, []byte(tokenPlaceholder)) != 1 {
		panic("web: index.html must hold the token placeholder exactly once")
	}
	page := bytes.Replace(index, []byte(tokenPlaceholder), []byte(html.EscapeString(token)), 1)
	return &handler{assets: assets, index: page}
}

type handler struct {
	assets fs.FS
	index  []byte
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
	switch {
	case name == "" || name == "index.html":
		name, body = "index.html", h.index
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
	w.WriteHeader(http.StatusOK)
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
