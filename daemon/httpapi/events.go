package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Event tailing: one goroutine per Server reads every event stream
// (cb:stream:*) from Redis, so WebSocket subscribers see the events of every
// instance, and fans each entry out to the subscribers whose patterns match.
const (
	scanEvery     = 2 * time.Second // how often new stream keys are looked for
	xreadBlock    = time.Second     // XREAD BLOCK
	xreadCount    = 512             // XREAD COUNT per stream
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
	poke   chan struct{} // look for new streams now
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
		t := &tailer{cancel: cancel, ready: make(chan struct{}), poke: make(chan struct{}, 1)}
		h.cur = t
		h.s.bg.Add(1)
		go func() {
			defer h.s.bg.Done()
			h.run(ctx, t)
		}()
		return t
	}
	select {
	case h.cur.poke <- struct{}{}:
	default:
	}
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

// newEntry makes an entry of a stream message.
func newEntry(stream string, m redis.XMessage) *entry {
	data, _ := m.Values[protocol.StreamField].(string)
	return &entry{stream: stream, id: m.ID, typ: strings.TrimPrefix(stream, protocol.StreamKeyPrefix), data: data}
}

// run tails the streams until ctx is done. Its start is the Redis clock
// when it starts: streams it finds then and streams that appear later are
// both read from that instant, so nothing written after a subscribe was
// answered is missed, even on a stream created after the last scan.
func (h *hub) run(ctx context.Context, t *tailer) {
	rdb := h.s.o.Redis
	log := h.s.log
	var start string
	delay := 50 * time.Millisecond
	for {
		now, err := rdb.Time(ctx).Result()
		if err == nil {
			start = idBefore(now.UnixMilli())
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("event tailer: reading the redis clock", "err", err)
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, 5*time.Second)
	}
	pos := map[string]string{} // stream key → last id read
	rescan := func() {
		keys, err := scanStreams(ctx, rdb)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("event tailer: listing streams", "err", err)
			}
			return
		}
		seen := make(map[string]bool, len(keys))
		for _, k := range keys {
			seen[k] = true
			if _, ok := pos[k]; !ok {
				pos[k] = start
			}
		}
		for k := range pos {
			if !seen[k] {
				delete(pos, k)
			}
		}
	}
	rescan()
	close(t.ready)
	nextScan := time.Now().Add(scanEvery)
	delay = 50 * time.Millisecond
	for ctx.Err() == nil {
		select {
		case <-t.poke:
			nextScan = time.Now()
		default:
		}
		if !time.Now().Before(nextScan) {
			rescan()
			nextScan = time.Now().Add(scanEvery)
		}
		if len(pos) == 0 {
			select {
			case <-ctx.Done():
			case <-t.poke:
				nextScan = time.Now()
			case <-time.After(time.Until(nextScan)):
			}
			continue
		}
		keys := make([]string, 0, len(pos))
		for k := range pos {
			keys = append(keys, k)
		}
		args := make([]string, 0, 2*len(keys))
		args = append(args, keys...)
		for _, k := range keys {
			args = append(args, pos[k])
		}
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: xreadCount, Block: xreadBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("event tailer: reading streams", "err", err)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, 5*time.Second)
			continue
		}
		delay = 50 * time.Millisecond
		var batch []*entry
		for _, st := range res {
			for _, m := range st.Messages {
				batch = append(batch, newEntry(st.Stream, m))
			}
			if n := len(st.Messages); n > 0 {
				pos[st.Stream] = st.Messages[n-1].ID
			}
		}
		sortEntries(batch)
		h.fanout(batch)
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

// scanStreams lists the event stream keys.
func scanStreams(ctx context.Context, rdb redis.UniversalClient) ([]string, error) {
	var keys []string
	iter := rdb.Scan(ctx, 0, protocol.StreamKeyPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan %s*: %w", protocol.StreamKeyPrefix, err)
	}
	return keys, nil
}

// backfill reads the entries since sinceMs of the streams matching
// patterns, oldest first, at most backfillLimit.
func backfill(ctx context.Context, rdb redis.UniversalClient, patterns map[string]bool, sinceMs int64) ([]*entry, error) {
	keys, err := scanStreams(ctx, rdb)
	if err != nil {
		return nil, err
	}
	var all []*entry
	for _, k := range keys {
		if !matchAny(patterns, strings.TrimPrefix(k, protocol.StreamKeyPrefix)) {
			continue
		}
		msgs, err := rdb.XRangeN(ctx, k, strconv.FormatInt(sinceMs, 10)+"-0", "+", backfillLimit).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s since %d: %w", k, sinceMs, err)
		}
		for _, m := range msgs {
			all = append(all, newEntry(k, m))
		}
	}
	sortEntries(all)
	if len(all) > backfillLimit {
		all = all[:backfillLimit]
	}
	return all, nil
}

// matchAny reports whether an event type matches one of the patterns:
// "*" matches all, "prefix.*" every type starting with "prefix.", anything
// else only itself.
func matchAny(patterns map[string]bool, typ string) bool {
	if patterns["*"] || patterns[typ] {
		return true
	}
	for i := len(typ) - 1; i > 0; i-- {
		if typ[i] == '.' && patterns[typ[:i+1]+"*"] {
			return true
		}
	}
	return false
}

// validPattern accepts "*", "prefix.*" and exact types.
func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	if p == "" || len(p) > 200 {
		return false
	}
	body := strings.TrimSuffix(p, ".*")
	return body != "" && !strings.Contains(body, "*")
}

// sortEntries orders entries by stream id (their time), stably. Ids are
// per stream, so two streams written in the same millisecond can both hold
// <ms>-0; such entries keep the order in which they were read, which is not
// necessarily the order in which they were written. Task events do not tie:
// their ids take the sequence part from one counter (emit in
// scripts/tasks/lib.lua).
func sortEntries(es []*entry) {
	sort.SliceStable(es, func(i, j int) bool { return protocol.CompareStreamIDs(es[i].id, es[j].id) < 0 })
}

// idBefore is the largest stream id before millisecond ms: XREAD from it
// returns every entry written at ms or later.
func idBefore(ms int64) string {
	return strconv.FormatInt(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
