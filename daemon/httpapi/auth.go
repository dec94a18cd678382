package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/claudebench/cb/protocol"
)

// Who a request is, as far as the server can tell.
type authLevel int

const (
	authNone   authLevel = iota // nothing valid presented
	authHook                    // the hook credential: /hooks/* only
	authCookie                  // a dashboard session cookie, same origin only
	authToken                   // the API token
)

// Login codes and dashboard sessions.
const (
	// LoginCodeTTL is how long a code minted by POST /v1/login stays valid.
	LoginCodeTTL = 60 * time.Second
	// SessionTTL is how long a dashboard session lasts after its login.
	SessionTTL = 12 * time.Hour
	// maxLoginCodes and maxSessions bound what the token holder can make
	// the server keep; the oldest entry gives way.
	maxLoginCodes = 64
	maxSessions   = 256
	// cookiePrefix + port is the session cookie's name: cookies are not
	// separated by port, so two cbd on one host must not share a name.
	cookiePrefix = "cb_session_"
)

// authKey is the request context key Authenticated reads.
type authKey struct{}

// Authenticated reports whether the request a Mount is serving carries the
// API token or a valid dashboard session (set by the server for Browser
// mounts; false anywhere else).
func Authenticated(ctx context.Context) bool {
	ok, _ := ctx.Value(authKey{}).(bool)
	return ok
}

// secretSet keeps SHA-256 digests of short-lived secrets (login codes,
// session ids) with their expiry; the secrets themselves are never stored.
type secretSet struct {
	mu    sync.Mutex
	max   int
	items map[[32]byte]time.Time
	now   func() time.Time
}

func newSecretSet(max int) *secretSet {
	return &secretSet{max: max, items: map[[32]byte]time.Time{}, now: time.Now}
}

// add mints a random secret valid for ttl and returns it.
func (ss *secretSet) add(ttl time.Duration) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, exp := range ss.items {
		if !now.Before(exp) {
			delete(ss.items, k)
		}
	}
	for len(ss.items) >= ss.max { // drop the one closest to expiry
		var oldest [32]byte
		var first time.Time
		for k, exp := range ss.items {
			if first.IsZero() || exp.Before(first) {
				oldest, first = k, exp
			}
		}
		delete(ss.items, oldest)
	}
	ss.items[sha256.Sum256([]byte(secret))] = now.Add(ttl)
	return secret, nil
}

// valid reports whether secret is live; with consume it is used up.
func (ss *secretSet) valid(secret string, consume bool) bool {
	if secret == "" || len(secret) > 128 {
		return false
	}
	k := sha256.Sum256([]byte(secret))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.items[k]
	if !ok {
		return false
	}
	if consume || !ss.now().Before(exp) {
		delete(ss.items, k)
	}
	return ss.now().Before(exp)
}

// cookieName is the session cookie of this server.
func (s *Server) cookieName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	port := s.port
	if port == "" {
		_, port, _ = strings.Cut(s.o.Addr, ":")
	}
	return cookiePrefix + port
}

// sameOriginRequest reports whether a request may be authenticated by the
// session cookie: no Origin or the server's own, and no Fetch Metadata
// saying it came from another site or origin. A CORS origin of
// http.cors_origins never gets cookie authority: it must send the token.
func sameOriginRequest(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		norm := normOrigin(origin)
		host := strings.ToLower(r.Host)
		if norm != "http://"+host && norm != "https://"+host {
			return false
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// A dashboard session has two halves. The cookie (HttpOnly, SameSite=Strict)
// is sent by the browser, but cookies are not separated by port: any
// server on another localhost port, another user's included, gets it when
// the browser visits that port. So the cookie alone only opens the page;
// calls (/rpc, /ws) also need the session key, which the login hands to
// the page in the URL fragment (never sent to a server) and the page keeps
// in its own origin's storage (port included) and sends as sessionKeyHeader
// (or ?key= on /ws, which cannot set headers).
const sessionKeyHeader = "X-CB-Session-Key"

// sessionKey is the key that belongs to session id sid.
func (s *Server) sessionKey(sid string) string {
	m := hmac.New(sha256.New, s.sessionMAC[:])
	m.Write([]byte(sid))
	return hex.EncodeToString(m.Sum(nil))
}

// authenticate reads the request's credentials: Authorization: Bearer (the
// API token or, where hookOK, the hook credential), the token query
// parameter where allowQuery (WebSocket clients that cannot set headers),
// and the session cookie where cookieOK. A cookie counts for calls only
// with its session key (see sessionKeyHeader); pageOnly accepts the cookie
// alone, for the page itself, which holds no data. badToken is set when a
// bearer token or query token was presented and is not valid here.
func (s *Server) authenticate(r *http.Request, allowQuery, hookOK, cookieOK bool) (level authLevel, badToken bool) {
	return s.authenticateAs(r, allowQuery, hookOK, cookieOK, false)
}

func (s *Server) authenticateAs(r *http.Request, allowQuery, hookOK, cookieOK, pageOnly bool) (level authLevel, badToken bool) {
	var tok string
	presented := false
	if a := r.Header.Get("Authorization"); a != "" {
		presented = true
		if scheme, rest, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(rest)
		}
	} else if allowQuery {
		if q := r.URL.Query().Get("token"); q != "" {
			presented, tok = true, q
		}
	}
	if presented {
		switch {
		case s.tokenMatches(tok):
			return authToken, false
		case hookOK && digestMatches(s.hookSum, tok):
			return authHook, false
		}
		return authNone, true
	}
	if cookieOK && sameOriginRequest(r) {
		if c, err := r.Cookie(s.cookieName()); err == nil && s.sessions.valid(c.Value, false) {
			if pageOnly {
				return authCookie, false
			}
			key := r.Header.Get(sessionKeyHeader)
			if key == "" && allowQuery {
				key = r.URL.Query().Get("key")
			}
			if key != "" && hmac.Equal([]byte(key), []byte(s.sessionKey(c.Value))) {
				return authCookie, false
			}
		}
	}
	return authNone, false
}

// digestMatches compares tok with a SHA-256 digest in constant time.
func digestMatches(sum []byte, tok string) bool {
	if sum == nil || tok == "" {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], sum) == 1
}

// handleLogin serves POST /v1/login (API token only): it mints a one-time
// login code for the dashboard. `cb dashboard` opens /?login=<code>, which
// the dashboard mount exchanges for a session cookie.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if level, _ := s.authenticate(r, false, false, false); level != authToken {
		s.refuse(w, r, "login", "minting a dashboard login code needs the API token (Authorization: Bearer <token>)")
		return
	}
	code, err := s.loginCodes.add(LoginCodeTTL)
	if err != nil {
		writeRPCError(w, http.StatusInternalServerError, nil, protocol.Errorf(protocol.CodeInternal, "login code: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"code":             code,
		"path":             "/?login=" + code,
		"expiresInSeconds": int(LoginCodeTTL / time.Second),
	})
}

// browserMount wraps a Mount serving pages (the dashboard): a GET with
// ?login=<code> trades a valid code for an HttpOnly, SameSite=Strict
// session cookie and redirects to "/" without the code; every
// request then reaches h with Authenticated(ctx) telling whether it holds
// the token or a live session.
func (s *Server) browserMount(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Only a GET spends a code: a HEAD (link previews) must not.
		if code := r.URL.Query().Get("login"); code != "" && r.Method == http.MethodGet {
			if !s.loginCodes.valid(code, true) {
				s.metrics.unauthorized.WithLabelValues("login").Inc()
				r = r.WithContext(context.WithValue(r.Context(), authKey{}, false))
				h.ServeHTTP(w, r) // the page without data, telling how to log in
				return
			}
			sid, err := s.sessions.add(SessionTTL)
			if err != nil {
				writeRPCError(w, http.StatusInternalServerError, nil, protocol.Errorf(protocol.CodeInternal, "session: %v", err))
				return
			}
			http.SetCookie(w, &http.Cookie{
				Name: s.cookieName(), Value: sid, Path: "/",
				MaxAge: int(SessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
				Secure: r.TLS != nil,
			})
			// Always to the dashboard's root: a path like //host would
			// make the Location another site. The session key rides in
			// the fragment, which the browser keeps and sends nowhere.
			q := r.URL.Query()
			q.Del("login")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.Redirect(w, r, (&url.URL{Path: "/", RawQuery: q.Encode(), Fragment: "key=" + s.sessionKey(sid)}).String(), http.StatusSeeOther)
			return
		}
		level, _ := s.authenticateAs(r, false, false, true, true)
		ok := level == authToken || level == authCookie
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, ok)))
	}
}

// refuse answers 401 and counts it by route (a fixed set of names).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, route, msg string) {
	s.metrics.unauthorized.WithLabelValues(route).Inc()
	s.log.Debug("unauthorized request", "route", route, "path", r.URL.Path)
	s.unauthorized(w, nil, msg)
}
