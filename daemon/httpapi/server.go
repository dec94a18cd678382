// Package httpapi is cbd's HTTP side:
//
//   - POST /rpc: JSON-RPC 2.0 (single calls, batches, notifications);
//   - GET /ws: a WebSocket speaking JSON-RPC 2.0, for calls and for live
//     events read from the Redis streams (so events of every instance arrive);
//   - POST /hooks/{type}: Claude Code "type":"http" hooks;
//   - GET /v1/methods: every method with its input and output schema;
//   - GET /metrics: Prometheus exposition;
//   - GET /healthz: health (Redis reachable, requests consumed);
//   - POST /v1/login: a one-time dashboard login code (API token only);
//   - whatever the owner mounts (MCP, the dashboard).
//
// Every call goes through the one invoke.Invoker, so validation, rate
// limits, circuit breakers, timeouts and error codes are the same as on the
// Redis path. Every request passes a Host check (DNS rebinding) and an
// Origin check (cross-site requests). Then every route but a small public
// set (/healthz, /v1/methods, /metrics and the method system.version, and
// over loopback only) needs a credential: the API token; on /hooks/* the
// hook credential derived from it (apitoken.HookCredential); on /rpc, /ws
// and the dashboard a session cookie that only a one-time login code minted
// with the token gives, honoured on same-origin requests only.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/apitoken"
	"github.com/claudebench/cb/internal/loopback"
	"github.com/claudebench/cb/protocol"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Defaults of the Options sizes and address (the config defaults).
const (
	DefaultAddr         = "127.0.0.1:7711"
	DefaultMaxBody      = 1 << 20
	DefaultMaxHookBody  = 16 << 20
	DefaultWSMaxMessage = 1 << 20
)

// Server timeouts.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 5 * time.Second
)

// Options configure a Server. Only Invoker is required.
type Options struct {
	// Addr is the listen address (config http.addr, default 127.0.0.1:7711).
	// Anything but a loopback address requires Token.
	Addr string
	// Invoker is the one middleware chain every call goes through.
	Invoker *invoke.Invoker
	// Registry lists the methods (default Invoker.Registry()).
	Registry *registry.Registry
	// Redis is read for WebSocket event streaming; nil disables subscribe.
	Redis redis.UniversalClient
	// Token is the API token (see LoadOrCreateToken). With an empty token
	// every request that needs one is refused. The http hooks' credential
	// is derived from it (apitoken.HookCredential).
	Token string
	// AllowedHosts are Host header values accepted besides localhost,
	// 127.0.0.1, [::1] and the listen address (config http.allowed_hosts).
	// An entry without a port accepts that name on any port.
	AllowedHosts []string
	// CORSOrigins are browser origins allowed to call the API, e.g.
	// "http://localhost:3000" (config http.cors_origins); empty = same
	// origin only.
	CORSOrigins []string
	// MaxBody is the largest request body (config http.max_body_bytes, 1 MiB).
	MaxBody int64
	// MaxHookBody is the largest /hooks/* body (config hook.max_input_bytes, 16 MiB).
	MaxHookBody int64
	// WSMaxMessage is the largest WebSocket message a client may send
	// (config http.ws_max_message_bytes, 1 MiB); bigger ones close the
	// connection with status 1009.
	WSMaxMessage int64
	// Mounts are extra handlers, e.g. {Pattern: "/mcp", Handler: h,
	// RequireToken: true} and {Pattern: "/", Handler: dashboard, Browser: true}.
	Mounts []Mount
	// Log receives the server's diagnostics (default: discarded).
	Log *slog.Logger
	// InstanceID is reported by /healthz.
	InstanceID string
	// Health, when set, is asked by every /healthz request: a non-nil
	// error makes the answer 503 "unhealthy" with the error as the reason
	// (e.g. cbd cannot reach Redis, or its dispatcher stopped consuming).
	Health func(ctx context.Context) error
	// Stats are the per-method counters /metrics exports (default
	// Invoker.Stats()).
	Stats *invoke.Stats
	// Gauges, when set, is called on every /metrics scrape for the queue
	// depth, tasks by status and the number of live instances.
	Gauges func(ctx context.Context) (Gauges, error)
	// Collectors are more metrics of cbd's services (e.g. the retention
	// service's cb_store_purged_total), registered on /metrics' registry.
	Collectors []prometheus.Collector
}

// Mount is a handler the owner adds to the server's routes. It gets the
// Host and Origin checks of every route; the token is checked when
// RequireToken is set or the server listens beyond loopback, except on a
// Browser mount.
type Mount struct {
	// Pattern is an http.ServeMux pattern ("/mcp", "/").
	Pattern string
	// Handler serves the pattern.
	Handler http.Handler
	// RequireToken demands the API token on every request.
	RequireToken bool
	// Browser marks a mount serving pages to a browser (the dashboard):
	// every request reaches Handler, which must serve nothing private
	// unless Authenticated(r.Context()); the server trades ?login=<code>
	// for a session cookie first (see POST /v1/login).
	Browser bool
}

// Gauges are the point-in-time values /metrics exports as gauges.
type Gauges struct {
	// QueueDepth is the number of pending tasks in the queue (cb_queue_depth).
	QueueDepth int64
	// TasksByStatus counts tasks per status (cb_tasks{status}).
	TasksByStatus map[string]int
	// Instances is the number of live cbd instances (cb_instances).
	Instances int
	// AuditDropped counts hook decisions this cbd did not audit because
	// its audit queue was full (cb_audit_dropped_total).
	AuditDropped int64
}

// Server is cbd's HTTP server. Build it with New and serve with Run.
type Server struct {
	o        Options
	reg      *registry.Registry
	log      *slog.Logger
	loopback bool
	// tokenSum is the SHA-256 of the token (nil: no token configured);
	// comparing digests keeps the comparison constant-time in the length too.
	tokenSum   []byte
	hookSum    []byte // SHA-256 of the hook credential
	loginCodes *secretSet
	sessions   *secretSet
	// sessionMAC keys the second half of a dashboard session (sessionKey):
	// random per process, so a restart ends every session.
	sessionMAC   [32]byte
	hostExact    map[string]bool // "name:port" entries
	hostNames    map[string]bool // names accepted on any port
	cors         map[string]bool
	mux          *http.ServeMux
	metrics      *metrics
	hub          *hub
	methodsCache func() ([]byte, error)
	wsQueueLen   int // per-connection send queue (tests shrink it)

	mu        sync.Mutex
	ln        net.Listener
	listenErr error
	started   bool
	bound     string // the bound address once listening
	port      string // the bound port
	ready     chan struct{}
	wsStop    chan struct{} // closed when shutting down: WebSockets close with 1001
	wsConns   sync.WaitGroup
	bg        sync.WaitGroup // the event tailer
	baseCtx   context.Context
}

// New validates o and builds the server. It refuses a non-loopback address
// without a token.
func New(o Options) (*Server, error) {
	if o.Invoker == nil {
		return nil, errors.New("httpapi: Options.Invoker is required")
	}
	if o.Registry == nil {
		o.Registry = o.Invoker.Registry()
	}
	if o.Stats == nil {
		o.Stats = o.Invoker.Stats()
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxHookBody <= 0 {
		o.MaxHookBody = DefaultMaxHookBody
	}
	if o.WSMaxMessage <= 0 {
		o.WSMaxMessage = DefaultWSMaxMessage
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listen address %q: %w", o.Addr, err)
	}
	s := &Server{
		o: o, reg: o.Registry, log: o.Log.With("component", "http"),
		loopback:   loopback.IsHost(host),
		hostExact:  map[string]bool{},
		hostNames:  map[string]bool{},
		cors:       map[string]bool{},
		ready:      make(chan struct{}),
		wsStop:     make(chan struct{}),
		wsQueueLen: defaultWSQueueLen,
		baseCtx:    context.Background(),
		loginCodes: newSecretSet(maxLoginCodes),
		sessions:   newSecretSet(maxSessions),
	}
	if !s.loopback && o.Token == "" {
		return nil, fmt.Errorf("refusing to listen on %s without an API token", o.Addr)
	}
	if _, err := rand.Read(s.sessionMAC[:]); err != nil {
		return nil, fmt.Errorf("httpapi: session key: %w", err)
	}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		s.tokenSum = sum[:]
		hsum := sha256.Sum256([]byte(apitoken.HookCredential(o.Token)))
		s.hookSum = hsum[:]
	}
	if host != "" {
		s.hostExact[strings.ToLower(o.Addr)] = true
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if name, port := splitHost(h); port != "" {
			s.hostExact[name+":"+port] = true
		} else {
			s.hostNames[name] = true
		}
	}
	for _, origin := range o.CORSOrigins {
		if origin = normOrigin(origin); origin != "" {
			s.cors[origin] = true
		}
	}
	s.metrics = newMetrics(o.Stats, o.Collectors...)
	s.hub = newHub(s)
	s.methodsCache = sync.OnceValues(s.buildMethods)
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// routes builds the mux. A Mount whose pattern is invalid or conflicts with
// another route is an error.
func (s *Server) routes() (err error) {
	s.mux = http.NewServeMux()
	offLoopback := !s.loopback
	handle := func(pattern string, h http.Handler) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("httpapi: route %q: %v", pattern, r)
			}
		}()
		s.mux.Handle(pattern, h)
	}
	handle("/healthz", http.HandlerFunc(s.handleHealth))
	// On loopback /rpc lets system.version through without a credential
	// (handleRPC checks the methods).
	handle("/rpc", s.protect(s.handleRPC, access{route: "rpc", public: !offLoopback, cookie: true}))
	handle("/ws", s.protect(s.handleWS, access{route: "ws", query: true, cookie: true}))
	handle("/hooks/{type}", s.protect(s.handleHook, access{route: "hooks", hook: true}))
	handle("/v1/methods", s.protect(s.handleMethods, access{route: "methods", public: !offLoopback}))
	handle("/metrics", s.protect(s.handleMetrics, access{route: "metrics", public: !offLoopback}))
	handle("/v1/login", http.HandlerFunc(s.handleLogin))
	for _, m := range s.o.Mounts {
		if err != nil {
			return err
		}
		if m.Handler == nil {
			return fmt.Errorf("httpapi: mount %q has no handler", m.Pattern)
		}
		route := "mcp"
		if m.Pattern != "/mcp" {
			route = "mount"
		}
		if m.Browser {
			handle(m.Pattern, s.browserMount(m.Handler))
			continue
		}
		handle(m.Pattern, s.protect(m.Handler.ServeHTTP, access{route: route, public: !offLoopback && !m.RequireToken}))
	}
	return err
}

// Ready is closed once the listener is bound (or binding failed).
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the bound address once listening (useful with port 0), else
// the configured one.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound != "" {
		return s.bound
	}
	return s.o.Addr
}

// baseContext is the parent of the contexts of WebSockets and the event
// tailer: not cancelled by Run's ctx, so they can close gracefully.
func (s *Server) baseContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseCtx
}

// Listen binds Options.Addr without serving yet, so a caller can fail its
// start-up on a port already in use; Run then serves on this listener.
// Calling it is optional: Run listens itself when it was not called.
func (s *Server) Listen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	if s.listenErr != nil {
		return s.listenErr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.o.Addr)
	if err != nil {
		s.listenErr = fmt.Errorf("http listen on %s: %w", s.o.Addr, err)
		close(s.ready)
		return s.listenErr
	}
	s.ln = ln
	s.bound = ln.Addr().String()
	_, s.port, _ = net.SplitHostPort(s.bound)
	s.hostExact[strings.ToLower(s.bound)] = true
	close(s.ready)
	return nil
}

// Close releases a listener bound by Listen when Run will not be called.
// After Run started, cancelling Run's ctx is what stops the server.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil || s.started {
		return nil
	}
	if err := s.ln.Close(); err != nil {
		return fmt.Errorf("close http listener: %w", err)
	}
	s.listenErr = errors.New("httpapi: server closed")
	s.ln = nil
	return nil
}

// Run serves until ctx is done (listening first unless Listen was called),
// then shuts down gracefully: WebSockets are closed with 1001 and in-flight
// requests get up to 5 s. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("httpapi: Run called twice")
	}
	s.started = true
	ln := s.ln
	s.baseCtx = context.WithoutCancel(ctx)
	s.mu.Unlock()

	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("http listening", "addr", s.bound, "public_routes", s.loopback)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var runErr error
	select {
	case err := <-serveErr:
		runErr = fmt.Errorf("http serve on %s: %w", s.bound, err)
	case <-ctx.Done():
	}
	close(s.wsStop)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if runErr == nil {
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("http shutdown: closing remaining connections", "err", err)
			_ = srv.Close()
		}
		<-serveErr
	}
	s.hub.stop()
	if !waitGroup(sctx, &s.wsConns) || !waitGroup(sctx, &s.bg) {
		s.log.Warn("http shutdown: WebSocket connections still closing")
	}
	return runErr
}

// waitGroup waits for wg until ctx is done; it reports whether wg finished.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveHTTP runs the checks every request passes, then the routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if !s.hostAllowed(r.Host) {
		writeRPCError(w, http.StatusForbidden, nil, protocol.Errorf(protocol.CodeInvalidRequest,
			"forbidden: Host %q is not allowed (add it to http.allowed_hosts)", r.Host))
		return
	}
	if len(s.cors) > 0 {
		h.Add("Vary", "Origin")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		norm := normOrigin(origin)
		sameOrigin := norm == "http://"+strings.ToLower(r.Host) || norm == "https://"+strings.ToLower(r.Host)
		if !sameOrigin && !s.cors[norm] {
			writeRPCError(w, http.StatusForbidden, nil, protocol.Errorf(protocol.CodeInvalidRequest,
				"forbidden: Origin %q is not allowed (add it to http.cors_origins)", origin))
			return
		}
		if s.cors[norm] {
			h.Set("Access-Control-Allow-Origin", origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-CB-Session")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	s.mux.ServeHTTP(w, r)
}

// hostAllowed is the DNS-rebinding guard: the Host header must name this
// server, not whatever domain a browser page came from.
func (s *Server) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if host == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostExact[host] {
		return true
	}
	name, port := splitHost(host)
	if s.hostNames[name] {
		return true
	}
	switch name {
	case "localhost", "127.0.0.1", "::1":
		return port == "" || port == s.port
	}
	return false
}

// splitHost splits "name:port", "[::1]:port", "[::1]" or "name" into the
// bare name and the port ("" when absent).
func splitHost(h string) (name, port string) {
	if n, p, err := net.SplitHostPort(h); err == nil {
		return n, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ""
}

// normOrigin lower-cases an origin and drops a trailing slash.
func normOrigin(o string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
}

// tokenMatches compares in constant time.
func (s *Server) tokenMatches(tok string) bool {
	if s.tokenSum == nil || tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum) == 1
}

// access says which credentials a route takes.
type access struct {
	route  string // its label in cb_http_unauthorized_total (a fixed set)
	public bool   // no credential needed (a wrong one is still refused)
	query  bool   // the token may come as ?token= (WebSocket clients)
	hook   bool   // the hook credential is accepted
	cookie bool   // a dashboard session cookie is accepted (same origin only)
}

// levelKey is the context key of the authLevel protect found.
type levelKey struct{}

// requestLevel is the authLevel protect found for r.
func requestLevel(r *http.Request) authLevel {
	l, _ := r.Context().Value(levelKey{}).(authLevel)
	return l
}

// protect wraps a route with its credential check. A wrong token is
// refused even where none is required; every refusal is counted.
func (s *Server) protect(h http.HandlerFunc, a access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		level, bad := s.authenticate(r, a.query, a.hook, a.cookie)
		switch {
		case bad:
			s.refuse(w, r, a.route, "wrong API token")
			return
		case level == authNone && !a.public:
			s.refuse(w, r, a.route, "this endpoint needs the API token (Authorization: Bearer <token>)")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), levelKey{}, level)))
	})
}

// unauthorized answers 401 with a JSON-RPC -32007 error.
func (s *Server) unauthorized(w http.ResponseWriter, id json.RawMessage, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="claudebench"`)
	writeRPCError(w, http.StatusUnauthorized, id, &protocol.Error{Code: protocol.CodeUnauthorized, Message: msg})
}

// invoke runs one call through the Invoker and observes its latency.
func (s *Server) invoke(ctx context.Context, transport, sessionID, method string, params json.RawMessage) (json.RawMessage, *protocol.Error) {
	ev := protocol.NewEvent(method, params, transport, sessionID)
	start := time.Now()
	res, perr := s.o.Invoker.Invoke(ctx, ev)
	if _, ok := s.reg.Lookup(method); ok { // unknown names would be unbounded labels
		s.metrics.duration.WithLabelValues(method, transport).Observe(time.Since(start).Seconds())
	}
	if perr == nil && len(res) == 0 {
		res = json.RawMessage("null")
	}
	return res, perr
}

// handleHealth answers GET /healthz without a token: 200 "ok", or 503
// "unhealthy" with the reason when Options.Health reports a problem.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	if s.o.Health != nil {
		if err := s.o.Health(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "instance": s.o.InstanceID, "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "instance": s.o.InstanceID})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(rpcResponse{JSONRPC: "2.0", Error: &protocol.Error{Code: protocol.CodeInternal, Message: "encode response: " + err.Error()}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeRPCError writes a JSON-RPC error response with an HTTP status.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, perr *protocol.Error) {
	writeJSON(w, status, rpcResponse{JSONRPC: "2.0", ID: id, Error: perr})
}

// methodNotAllowed answers 405 with the allowed methods.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeRPCError(w, http.StatusMethodNotAllowed, nil, protocol.Errorf(protocol.CodeInvalidRequest, "method not allowed: use %s", allow))
}
