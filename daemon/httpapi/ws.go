package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/coder/websocket"
)

// WebSocket limits.
const (
	defaultWSQueueLen = 256      // messages waiting to be written to one client
	wsQueueBytes      = 64 << 20 // bytes waiting to be written to one client
	wsWriteTimeout    = 10 * time.Second
	wsConcurrency     = 16 // calls one connection runs at once
	wsMaxPatterns     = 64
)

// wsConn is one WebSocket client.
type wsConn struct {
	s       *Server
	conn    *websocket.Conn
	session string

	ctx     context.Context // cancelled when the connection ends
	out     chan []byte
	queued  atomic.Int64
	closing chan struct{} // closed once the connection is being closed
	once    sync.Once
	closed  chan struct{} // closed when the close handshake is over
	sem     chan struct{}
	calls   sync.WaitGroup

	subOp sync.Mutex // serialises subscribe and unsubscribe

	subMu       sync.Mutex // guards what follows; taken inside hub.mu
	patterns    map[string]bool
	backfilling bool
	pending     []*entry          // live entries held back while backfilling
	replayed    map[string]string // stream → last entry id a backfill sent
}

// handleWS serves GET /ws.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	session := r.Header.Get("X-CB-Session")
	if session == "" {
		session = r.URL.Query().Get("session")
	}
	// Counted while still an ordinary request, so that Run's shutdown, which
	// waits for requests before it waits for WebSockets, sees it.
	s.wsConns.Add(1)
	defer s.wsConns.Done()
	// The Host and Origin checks of serveHTTP already ran; the library's own
	// same-origin check would refuse the CORS origins allowed there.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("websocket accept", "err", err)
		return
	}
	conn.SetReadLimit(s.o.WSMaxMessage)
	ctx, cancel := context.WithCancel(s.baseContext())
	c := &wsConn{
		s: s, conn: conn, session: session,
		ctx: ctx, out: make(chan []byte, s.wsQueueLen),
		closing: make(chan struct{}), closed: make(chan struct{}),
		sem: make(chan struct{}, wsConcurrency), patterns: map[string]bool{},
	}
	c.run(cancel)
}

// run reads and answers messages until the connection ends.
func (c *wsConn) run(cancel context.CancelFunc) {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	go func() {
		select {
		case <-c.s.wsStop:
			c.fail(websocket.StatusGoingAway, "server shutting down")
		case <-c.ctx.Done():
		}
	}()
	defer func() {
		c.fail(websocket.StatusNormalClosure, "")
		<-c.closed
		cancel()
		c.calls.Wait()
		c.s.hub.remove(c) // a subscribe that raced with the close
		<-writerDone
	}()
	for {
		_, data, err := c.conn.Read(c.ctx)
		if err != nil {
			c.s.log.Debug("websocket closed", "status", websocket.CloseStatus(err), "err", err)
			return
		}
		c.handle(data)
	}
}

// fail closes the connection with code once: it stops event delivery and
// writing, and runs the close handshake in the background.
func (c *wsConn) fail(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.closing)
		go func() {
			defer close(c.closed)
			c.s.hub.remove(c)
			if err := c.conn.Close(code, reason); err != nil {
				c.s.log.Debug("websocket close", "code", code, "err", err)
			}
		}()
	})
}

// writeLoop writes queued messages until the connection closes.
func (c *wsConn) writeLoop() {
	for {
		select {
		case <-c.closing:
			return
		case msg := <-c.out:
			c.queued.Add(-int64(len(msg)))
			ctx, cancel := context.WithTimeout(c.ctx, wsWriteTimeout)
			err := c.conn.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				c.s.log.Debug("websocket write", "err", err)
				c.fail(websocket.StatusInternalError, "write failed")
				return
			}
		}
	}
}

// send queues a message without blocking. A client too slow to keep its
// queue from filling is disconnected with 1008.
func (c *wsConn) send(msg []byte) {
	select {
	case <-c.closing:
		return
	default:
	}
	n := int64(len(msg))
	if c.queued.Add(n) > wsQueueBytes {
		c.queued.Add(-n)
		c.tooSlow()
		return
	}
	select {
	case c.out <- msg:
	default:
		c.queued.Add(-n)
		c.tooSlow()
	}
}

// sendWait queues a message, waiting for room (backfills).
func (c *wsConn) sendWait(msg []byte) bool {
	c.queued.Add(int64(len(msg)))
	select {
	case c.out <- msg:
		return true
	case <-c.closing:
		c.queued.Add(-int64(len(msg)))
		return false
	}
}

func (c *wsConn) tooSlow() {
	c.s.log.Warn("websocket client too slow: disconnecting", "queued", len(c.out))
	c.fail(websocket.StatusPolicyViolation, "too slow")
}

// offer delivers a live entry if the connection subscribed to its type.
// It runs on the tailer goroutine and never blocks.
func (c *wsConn) offer(e *entry) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if !matchAny(c.patterns, e.typ) {
		return
	}
	if last, ok := c.replayed[e.stream]; ok && protocol.CompareStreamIDs(e.id, last) <= 0 {
		return
	}
	if c.backfilling {
		if len(c.pending) >= cap(c.out) {
			c.tooSlow()
			return
		}
		c.pending = append(c.pending, e)
		return
	}
	if msg := e.message(); msg != nil {
		c.send(msg)
	}
}

// handle answers one message. Subscriptions and pings are answered in
// order; other calls run concurrently (at most wsConcurrency at once).
func (c *wsConn) handle(data []byte) {
	calls, batch, perr := parseMessage(data)
	if perr != nil {
		c.reply([]rpcResponse{{JSONRPC: "2.0", Error: perr}}, false)
		return
	}
	if !batch && isWSMethod(calls[0].method) {
		c.answer(calls, false)
		return
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.closing:
		return
	}
	c.calls.Add(1)
	go func() {
		defer c.calls.Done()
		defer func() { <-c.sem }()
		c.answer(calls, batch)
	}()
}

func isWSMethod(m string) bool { return m == "subscribe" || m == "unsubscribe" || m == "ping" }

// answer runs calls and sends the responses, then whatever a subscribe
// left to do after its answer (the backfill).
func (c *wsConn) answer(calls []rpcCall, batch bool) {
	var after []func()
	out := answer(c.ctx, calls, func(ctx context.Context, call *rpcCall) (json.RawMessage, *protocol.Error) {
		switch call.method {
		case "ping":
			return json.RawMessage(`"pong"`), nil
		case "subscribe":
			res, then, perr := c.subscribe(ctx, call.params)
			if then != nil {
				after = append(after, then)
			}
			return res, perr
		case "unsubscribe":
			return c.unsubscribe(call.params)
		}
		return c.s.invoke(ctx, "ws", callSession(call.method, call.params, c.session), call.method, call.params)
	})
	c.reply(out, batch)
	for _, f := range after {
		f()
	}
}

// reply sends the responses of one message.
func (c *wsConn) reply(out []rpcResponse, batch bool) {
	b, err := encodeResponses(out, batch)
	if err != nil {
		c.s.log.Error("websocket", "err", err)
		b, _ = json.Marshal(rpcResponse{JSONRPC: "2.0", Error: &protocol.Error{Code: protocol.CodeInternal, Message: err.Error()}})
	}
	if b != nil {
		c.send(b)
	}
}

type subscribeParams struct {
	Patterns []string        `json:"patterns"`
	Since    json.RawMessage `json:"since"`
}

// subscribe adds patterns. With since (unix ms) the entries since then are
// replayed after the answer (the returned func), before any live one.
func (c *wsConn) subscribe(ctx context.Context, params json.RawMessage) (json.RawMessage, func(), *protocol.Error) {
	var p subscribeParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, nil, protocol.Errorf(protocol.CodeInvalidParams, "subscribe: %v", err)
	}
	if len(p.Patterns) == 0 || len(p.Patterns) > wsMaxPatterns {
		return nil, nil, protocol.Errorf(protocol.CodeInvalidParams, "subscribe: patterns must list 1 to %d patterns", wsMaxPatterns)
	}
	for _, pat := range p.Patterns {
		if !streams.ValidPattern(pat) {
			return nil, nil, protocol.Errorf(protocol.CodeInvalidParams,
				`subscribe: invalid pattern %q: use 1 to %d characters, "*" matching any run of them ("task.*", "*.claimed")`, pat, streams.MaxPatternLen)
		}
	}
	since, perr := parseSince(p.Since)
	if perr != nil {
		return nil, nil, perr
	}
	rdb := c.s.o.Redis
	if rdb == nil {
		return nil, nil, protocol.Errorf(protocol.CodeUnavailable, "subscribe: event streaming needs Redis")
	}
	c.subOp.Lock()
	added := map[string]bool{}
	c.subMu.Lock()
	for _, pat := range p.Patterns {
		if !c.patterns[pat] {
			added[pat] = true
			c.patterns[pat] = true
		}
	}
	if since >= 0 {
		c.backfilling = true
	}
	all := sortedKeys(c.patterns)
	c.subMu.Unlock()

	var ready <-chan struct{} // nil (never ready) when the connection is closing
	if t := c.s.hub.add(c); t != nil {
		ready = t.ready
	}
	wait, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	select {
	case <-ready:
	case <-c.closing:
		c.subOp.Unlock()
		return nil, nil, protocol.Errorf(protocol.CodeUnavailable, "subscribe: the connection is closing")
	case <-wait.Done():
		c.subMu.Lock()
		for pat := range added {
			delete(c.patterns, pat)
		}
		c.backfilling = false
		empty := len(c.patterns) == 0
		c.subMu.Unlock()
		if empty {
			c.s.hub.remove(c)
		}
		c.subOp.Unlock()
		return nil, nil, protocol.Errorf(protocol.CodeUnavailable, "subscribe: the event stream of Redis is not readable yet")
	}
	res, _ := json.Marshal(map[string]any{"subscribed": all})
	if since < 0 {
		c.subOp.Unlock()
		return res, nil, nil
	}
	pats := map[string]bool{}
	for _, pat := range p.Patterns {
		pats[pat] = true
	}
	return res, func() {
		defer c.subOp.Unlock()
		c.replay(ctx, pats, since)
	}, nil
}

// replay sends the entries since sinceMs of patterns, then the live ones
// that arrived meanwhile, without duplicates.
func (c *wsConn) replay(ctx context.Context, patterns map[string]bool, sinceMs int64) {
	entries, err := backfill(ctx, c.s.o.Redis, patterns, sinceMs)
	if err != nil {
		c.s.log.Warn("websocket: replaying events", "err", err)
	}
	c.subMu.Lock()
	if c.replayed == nil {
		c.replayed = map[string]string{}
	}
	for _, e := range entries {
		if last, ok := c.replayed[e.stream]; !ok || protocol.CompareStreamIDs(e.id, last) > 0 {
			c.replayed[e.stream] = e.id
		}
	}
	c.subMu.Unlock()
	for _, e := range entries {
		if msg := e.message(); msg != nil && !c.sendWait(msg) {
			return
		}
	}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, e := range c.pending {
		if last, ok := c.replayed[e.stream]; ok && protocol.CompareStreamIDs(e.id, last) <= 0 {
			continue
		}
		if msg := e.message(); msg != nil {
			c.send(msg)
		}
	}
	c.pending = nil
	c.backfilling = false
}

// parseSince reads subscribe's since: absent or "$" (-1: live only), or a
// unix time in milliseconds as a string or a number.
func parseSince(raw json.RawMessage) (int64, *protocol.Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(jsonint.Integral(raw)) // 1.7e12 is an integer too
	}
	if s == "$" {
		return -1, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return 0, protocol.Errorf(protocol.CodeInvalidParams, `subscribe: since must be "$" or a unix time in milliseconds, not %s`, raw)
	}
	return ms, nil
}

type unsubscribeParams struct {
	Patterns []string `json:"patterns"`
}

// unsubscribe removes patterns (all of them when none are given).
func (c *wsConn) unsubscribe(params json.RawMessage) (json.RawMessage, *protocol.Error) {
	var p unsubscribeParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "unsubscribe: %v", err)
	}
	c.subOp.Lock()
	defer c.subOp.Unlock()
	c.subMu.Lock()
	if len(p.Patterns) == 0 {
		clear(c.patterns)
	}
	for _, pat := range p.Patterns {
		delete(c.patterns, pat)
	}
	left := sortedKeys(c.patterns)
	c.subMu.Unlock()
	if len(left) == 0 {
		c.s.hub.remove(c)
	}
	res, err := json.Marshal(map[string]any{"subscribed": left})
	if err != nil {
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("unsubscribe: %v", err)}
	}
	return res, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
