package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/internal/tick"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Event tailing: one streams.Follower per Server reads every event stream
// (cb:stream:*) from Redis, so WebSocket subscribers see the events of every
// instance, and fans each entry out to the subscribers whose patterns match.
const (
	readyTimeout  = 5 * time.Second // how long subscribe waits for the tailer
	backfillLimit = 1000            // entries one subscribe "since" replays at most
)

// hub tracks the subscribed connections and runs the tailer while there
// are any.
type hub struct {
	s    *Server
	mu   sync.RWMutex
	subs map[*wsConn]struct{}
	cur  *tailer // nil when stopped
}

// tailer is one run of the tailing goroutine.
type tailer struct {
	cancel context.CancelFunc
	ready  chan struct{} // closed once positioned: later entries are seen
	f      *streams.Follower
}

func newHub(s *Server) *hub { return &hub{s: s, subs: map[*wsConn]struct{}{}} }

// add registers a subscriber, starting the tailer if it is the first, and
// returns the running tailer; nil when the connection is closing.
func (h *hub) add(c *wsConn) *tailer {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-c.closing:
		return nil
	default:
	}
	h.subs[c] = struct{}{}
	if h.cur == nil {
		ctx, cancel := context.WithCancel(h.s.baseContext())
		t := &tailer{cancel: cancel, ready: make(chan struct{})}
		var once sync.Once
		t.f = &streams.Follower{Redis: h.s.o.Redis,
			Ready: func() { once.Do(func() { close(t.ready) }) },
			Trouble: func(what string, err error) {
				if err != nil {
					h.s.log.Warn("event tailer: "+what, "err", err)
				}
			}}
		h.cur = t
		h.s.bg.Add(1)
		go func() {
			defer h.s.bg.Done()
			h.run(ctx, t)
		}()
		return t
	}
	h.cur.f.Poke()
	return h.cur
}

// remove unregisters a subscriber, stopping the tailer after the last.
func (h *hub) remove(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c]; !ok {
		return
	}
	delete(h.subs, c)
	if len(h.subs) == 0 && h.cur != nil {
		h.cur.cancel()
		h.cur = nil
	}
}

// stop ends the tailer (server shutdown).
func (h *hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != nil {
		h.cur.cancel()
		h.cur = nil
	}
}

// subscribers counts the subscribed connections.
func (h *hub) subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// entry is one stream entry on its way to subscribers. It is shared by
// every subscriber (the tailer offers it to all; a connection that is
// replaying a backfill encodes its pending ones on its own goroutine).
type entry struct {
	stream, id, typ string
	data            string
	once            sync.Once
	msg             []byte // the encoded notification, built on first use; nil if invalid
}

// message returns the JSON-RPC notification of the entry, or nil for an
// entry that is not a valid event envelope.
func (e *entry) message() []byte {
	e.once.Do(func() {
		if b, err := eventNotification(e.stream, e.id, e.typ, e.data); err == nil {
			e.msg = b
		}
	})
	return e.msg
}

// eventNotification encodes a stream entry as the "event" notification.
func eventNotification(stream, id, typ, data string) ([]byte, error) {
	var env struct {
		Type     string          `json:"type"`
		Payload  json.RawMessage `json:"payload"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(data), &env); err != nil {
		return nil, fmt.Errorf("decode event %s %s: %w", stream, id, err)
	}
	if env.Type == "" {
		env.Type = typ
	}
	if len(env.Metadata) == 0 {
		env.Metadata = json.RawMessage("{}")
	}
	type params struct {
		Type     string          `json:"type"`
		Payload  json.RawMessage `json:"payload"`
		Metadata json.RawMessage `json:"metadata"`
		Stream   string          `json:"stream"`
		EntryID  string          `json:"entryId"`
	}
	b, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  params `json:"params"`
	}{"2.0", "event", params{env.Type, env.Payload, env.Metadata, stream, id}})
	if err != nil {
		return nil, fmt.Errorf("encode event %s %s: %w", stream, id, err)
	}
	return b, nil
}

// newEntry makes an entry of a stream entry.
func newEntry(e streams.Entry) *entry {
	return &entry{stream: e.Stream(), id: e.ID, typ: e.Type, data: e.Data()}
}

// run tails the streams until ctx is done. The follower starts at the
// Redis clock when it starts: streams it finds then and streams that appear
// later are both read from that instant, so nothing written after a
// subscribe was answered is missed, even on a stream created after the last
// scan. A failure that ends the follower (Redis unreachable at the start,
// or refusing a command) is logged and the follower started again.
func (h *hub) run(ctx context.Context, t *tailer) {
	delay := 50 * time.Millisecond
	for {
		err := t.f.Run(ctx, func(es []streams.Entry) error {
			batch := make([]*entry, len(es))
			for i, e := range es {
				batch[i] = newEntry(e)
			}
			h.fanout(batch)
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		h.s.log.Warn("event tailer", "err", err)
		if !tick.Sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// fanout offers entries to every subscriber, in order. Offering never
// blocks: a subscriber whose queue is full is disconnected.
func (h *hub) fanout(batch []*entry) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, e := range batch {
		for c := range h.subs {
			c.offer(e)
		}
	}
}

// backfill reads the entries since sinceMs of the streams matching
// patterns, oldest first, at most backfillLimit.
func backfill(ctx context.Context, rdb redis.UniversalClient, patterns map[string]bool, sinceMs int64) ([]*entry, error) {
	types, err := streams.Types(ctx, rdb, "*")
	if err != nil {
		return nil, err
	}
	var all []streams.Entry
	for _, typ := range types {
		if !matchAny(patterns, typ) {
			continue
		}
		k := protocol.StreamKey(typ)
		msgs, err := rdb.XRangeN(ctx, k, strconv.FormatInt(sinceMs, 10)+"-0", "+", backfillLimit).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s since %d: %w", k, sinceMs, err)
		}
		for _, m := range msgs {
			all = append(all, streams.Entry{Type: typ, XMessage: m})
		}
	}
	streams.SortEntries(all)
	if len(all) > backfillLimit {
		all = all[:backfillLimit]
	}
	out := make([]*entry, len(all))
	for i, e := range all {
		out[i] = newEntry(e)
	}
	return out, nil
}

// matchAny reports whether an event type matches one of the patterns (see
// the streams package for the dialect).
func matchAny(patterns map[string]bool, typ string) bool {
	if patterns["*"] || patterns[typ] {
		return true
	}
	for p := range patterns {
		if streams.MatchPattern(p, typ) {
			return true
		}
	}
	return false
}
