package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// EventRecord is one stream entry as cb events tail, cb events get and
// cb sessions show print it with --json (or when stdout is not a terminal):
// one JSON object per line.
type EventRecord struct {
	// Stream is the event type the stream holds (its key without cb:stream:).
	Stream string `json:"stream"`
	// ID is the stream entry id, "<unix ms>-<seq>", assigned by Redis.
	ID string `json:"id"`
	// Type, Payload and Metadata are the event envelope as published;
	// Metadata decodes into protocol.Metadata (id, timestamp, source,
	// sessionId, correlationId, deadline).
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	Metadata json.RawMessage `json:"metadata"`
}

const eventsLong = `Read the event streams (cb:stream:TYPE in Redis) that every cbd, cb hook,
cb emit and task change writes to.

Output: one JSON object per line when stdout is not a terminal or with --json,

  {"stream":"task.created","id":"1767000000000-0","type":"task.created","payload":{...},"metadata":{...}}

(stream: the event type; id: the Redis stream entry id; metadata: id,
timestamp (unix ms), source, sessionId, correlationId), else one line per event
for people: time, type, subject (payload id or tool), session, payload preview
(colored on a terminal unless NO_COLOR is set).

--since takes a duration before now (90s, 10m, 2h, 7d) or a stream entry id
(1767000000000-0, or just the unix ms): the events after it.`

func (a *app) eventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow or read the event streams",
		Long:  eventsLong,
	}
	cmd.AddCommand(a.eventsTailCmd(), a.eventsGetCmd())
	return cmd
}

func (a *app) eventsTailCmd() *cobra.Command {
	var since, session string
	cmd := &cobra.Command{
		Use:   "tail [PATTERN...]",
		Short: "Follow events live, from all streams matching the patterns",
		Long: `Follow events live, from the streams of every type matching a PATTERN:
"*" (the default: everything), a glob such as "task.*" or "*.failed" (* matches
any characters, dots included), or an exact type. New types are picked up
within about 3 seconds. Events from several streams are printed in entry id
(time) order; within one millisecond, events of different types may come in
either order. Each line is written as soon as it is read, so a file or pipe
sees it at once. Ctrl-C stops (exit 0).

Without --since, only events published after cb started are shown.

` + eventsOutputHelp,
		Example: `  cb events tail
  cb events tail 'task.*' 'hook.pre_tool' --json > events.ndjson
  cb events tail 'hook.*' --session "$CLAUDE_CODE_SESSION_ID" --since 10m`,
		ValidArgsFunction: a.completeTypes(-1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"*"}
			}
			for _, p := range args {
				if p == "" {
					return usageError("empty pattern")
				}
			}
			start, err := parseSince(since, time.Now(), true)
			if err != nil {
				return usageError("--since: %v", err)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			t := &tailer{rdb: c.Redis(), patterns: args, since: start, out: a.newEventPrinter(session), stderr: a.stderr}
			return t.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start at a duration ago (10m, 2h, 1d) or after a stream entry id (default: now)")
	cmd.Flags().StringVar(&session, "session", "", "only events whose metadata.sessionId is this")
	return cmd
}

const eventsOutputHelp = `Output: one JSON object per line when stdout is not a terminal or with --json:
{"stream","id","type","payload","metadata"} (see cb events --help).`

func (a *app) eventsGetCmd() *cobra.Command {
	var since, session string
	var limit int
	cmd := &cobra.Command{
		Use:   "get TYPE",
		Short: "Print the recorded events of one type",
		Long: `Print the recorded events of one type (streams keep about 24 hours), oldest
first, without following. Without --since: the last --limit events. With
--since: the first --limit events after that point. --limit 0: no limit.
A type with no events prints nothing.

` + eventsOutputHelp,
		Example: `  cb events get task.created --limit 20
  cb events get hook.pre_tool --since 1h --limit 0 --json | jq .payload.tool_name`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTypes(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError("--limit must be 0 (no limit) or more")
			}
			start, err := parseSince(since, time.Now(), false)
			if err != nil {
				return usageError("--since: %v", err)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			return a.eventsGet(cmd.Context(), c.Redis(), args[0], start, limit, a.newEventPrinter(session))
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start a duration ago (10m, 2h, 1d) or after a stream entry id")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events (0: all)")
	cmd.Flags().StringVar(&session, "session", "", "only events whose metadata.sessionId is this")
	return cmd
}

func (a *app) eventsGet(ctx context.Context, rdb redis.UniversalClient, typ, start string, limit int, p *eventPrinter) error {
	key := protocol.StreamKey(typ)
	if start == "" && limit > 0 {
		msgs, err := rdb.XRevRangeN(ctx, key, "+", "-", int64(limit)).Result()
		if err != nil {
			return redisFailure("read "+key, err)
		}
		slices.Reverse(msgs)
		for _, m := range msgs {
			if err := p.print(typ, m); err != nil {
				return err
			}
		}
		return nil
	}
	if start == "" {
		start = "-"
	}
	printed := 0
	return xrangeAll(ctx, rdb, key, start, func(m redis.XMessage) (bool, error) {
		ok, err := p.printCounted(typ, m)
		if ok {
			printed++
		}
		return limit == 0 || printed < limit, err
	})
}

// xrangeAll calls fn for each entry of key from start on (inclusive), in
// pages, until fn returns false or an error.
func xrangeAll(ctx context.Context, rdb redis.UniversalClient, key, start string, fn func(redis.XMessage) (bool, error)) error {
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, "+", 1000).Result()
		if err != nil {
			return redisFailure("read "+key, err)
		}
		for _, m := range msgs {
			more, err := fn(m)
			if err != nil || !more {
				return err
			}
		}
		if len(msgs) < 1000 {
			return nil
		}
		start = nextStreamID(msgs[len(msgs)-1].ID)
	}
}

// redisFailure maps a Redis failure to CodeUnavailable (exit 6), a refusal
// (e.g. WRONGTYPE) to an internal error.
func redisFailure(what string, err error) error {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("%s: redis: %v", what, err)}
	}
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: fmt.Sprintf("%s: redis: %v", what, err)}
}

// parseSince turns --since into the first stream id to include: "" → ""
// (not set); a duration ("10m", "2h", "7d") → "<unix ms then>-0"; a stream
// id "<ms>-<seq>" (or "<ms>") → the id just after it. allowDollar lets "$"
// (now, the same as not set) through.
func parseSince(s string, now time.Time, allowDollar bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", nil
	case s == "$" && allowDollar:
		return "", nil
	}
	if d, ok := parseAge(s); ok {
		if d < 0 {
			return "", fmt.Errorf("%q is negative", s)
		}
		ms := now.Add(-d).UnixMilli()
		if ms < 0 {
			ms = 0
		}
		return strconv.FormatInt(ms, 10) + "-0", nil
	}
	if _, _, ok := protocol.ParseStreamID(s); ok {
		return nextStreamID(s), nil
	}
	return "", fmt.Errorf("%q is neither a duration (10m, 2h, 1d) nor a stream entry id (1767000000000-0)", s)
}

// parseAge parses a Go duration or a number of days ("7d", "1.5d").
func parseAge(s string) (time.Duration, bool) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if f, err := strconv.ParseFloat(n, 64); err == nil && f >= 0 && f < 1e5 {
			return time.Duration(f * float64(24*time.Hour)), true
		}
	}
	return 0, false
}

// nextStreamID is the smallest id after id ("<ms>" means "<ms>-<max seq>"
// for XREAD, so "<ms>" → "<ms+1>-0").
func nextStreamID(id string) string {
	ms, seq, ok := protocol.ParseStreamID(id)
	if !ok {
		return id
	}
	if !strings.Contains(id, "-") || seq == ^uint64(0) {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

// prevStreamID is the greatest id before id (XREAD reads after its id).
func prevStreamID(id string) string {
	ms, seq, ok := protocol.ParseStreamID(id)
	switch {
	case !ok || (ms == 0 && seq == 0):
		return "0-0"
	case seq == 0:
		return strconv.FormatUint(ms-1, 10) + "-" + strconv.FormatUint(^uint64(0), 10)
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
}

// matchType reports whether the event type t matches one of the patterns:
// "*" matches any run of characters (dots included), all else is literal.
func matchType(patterns []string, t string) bool {
	for _, p := range patterns {
		if typeGlobMatch(p, t) {
			return true
		}
	}
	return false
}

func typeGlobMatch(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	prefix := pattern[:star]
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	s, rest := s[len(prefix):], pattern[star+1:]
	for strings.HasPrefix(rest, "*") {
		rest = rest[1:]
	}
	if rest == "" {
		return true
	}
	// Try every position for the rest (patterns are short).
	for i := 0; i <= len(s); i++ {
		if typeGlobMatch(rest, s[i:]) {
			return true
		}
	}
	return false
}

// scanStreamTypes lists the event types that have a stream, sorted.
func scanStreamTypes(ctx context.Context, rdb redis.UniversalClient, match string) ([]string, error) {
	var types []string
	var cursor uint64
	for {
		keys, next, err := rdb.ScanType(ctx, cursor, protocol.StreamKeyPrefix+match, 1000, "stream").Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			types = append(types, strings.TrimPrefix(k, protocol.StreamKeyPrefix))
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(types)
	return slices.Compact(types), nil // SCAN may repeat keys
}

// tailer follows the streams of the types matching patterns.
type tailer struct {
	rdb      redis.UniversalClient
	patterns []string
	since    string // first id to include; "" = from now
	out      *eventPrinter
	stderr   io.Writer

	types    []string          // followed types, sorted
	last     map[string]string // type → last entry id read
	lateFrom string            // start id of types found after the start
	pending  []tailEntry
}

type tailEntry struct {
	typ string
	msg redis.XMessage
}

const (
	tailCount = 1000        // entries per stream and XREAD
	tailBlock = time.Second // XREAD BLOCK
)

// tailRefresh is how often the tail looks for new streams (a variable for tests).
var tailRefresh = 2 * time.Second

func (t *tailer) run(ctx context.Context) error {
	// Ctrl-C cancels ctx; closing the client ends a blocked XREAD at once.
	stop := context.AfterFunc(ctx, func() { _ = t.rdb.Close() })
	defer stop()
	err := t.follow(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (t *tailer) follow(ctx context.Context) error {
	t.last = map[string]string{}
	if t.since != "" {
		t.lateFrom = prevStreamID(t.since)
	} else {
		now, err := t.rdb.Time(ctx).Result()
		if err != nil {
			return redisFailure("read the time", err)
		}
		t.lateFrom = strconv.FormatInt(now.UnixMilli(), 10) + "-0"
	}
	if err := t.refresh(ctx, true); err != nil {
		return redisFailure("list streams", err)
	}
	lastScan := time.Now()
	more := false // a stream had a full page: read again without blocking
	failing := false
	// retry reports a connection failure once and waits; a Redis error reply
	// (e.g. WRONGTYPE) ends the tail.
	retry := func(what string, err error) error {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return redisFailure(what, err)
		}
		if !failing {
			fmt.Fprintf(t.stderr, "cb: %s: redis: %v (retrying)\n", what, err)
			failing = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return nil
	}
	for ctx.Err() == nil {
		if time.Since(lastScan) >= tailRefresh {
			if err := t.refresh(ctx, false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if err := retry("list streams", err); err != nil {
					return err
				}
				continue
			}
			lastScan = time.Now()
		}
		if len(t.types) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(tailBlock):
			}
			continue
		}
		args := &redis.XReadArgs{Streams: make([]string, 0, 2*len(t.types)), Count: tailCount, Block: tailBlock}
		if more {
			args.Block = -1
		}
		for _, typ := range t.types {
			args.Streams = append(args.Streams, protocol.StreamKey(typ))
		}
		for _, typ := range t.types {
			args.Streams = append(args.Streams, t.last[typ])
		}
		res, err := t.rdb.XRead(ctx, args).Result()
		switch {
		case errors.Is(err, redis.Nil):
			more = false
			if err := t.flush(""); err != nil {
				return err
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			if err := retry("read streams", err); err != nil {
				return err
			}
			continue
		}
		if failing {
			fmt.Fprintln(t.stderr, "cb: redis is back")
			failing = false
		}
		if err := t.take(res); err != nil {
			return err
		}
		more = false
		for _, s := range res {
			if len(s.Messages) >= tailCount {
				more = true
			}
		}
	}
	return nil
}

// refresh adds the types that match and have a stream. At the first call,
// a type starts at --since or at its last entry; later, at --since or at
// the moment the tail started.
func (t *tailer) refresh(ctx context.Context, first bool) error {
	all, err := scanStreamTypes(ctx, t.rdb, "*")
	if err != nil {
		return err
	}
	var added []string
	for _, typ := range all {
		if _, ok := t.last[typ]; ok || !matchType(t.patterns, typ) {
			continue
		}
		added = append(added, typ)
	}
	if len(added) == 0 {
		return nil
	}
	if first && t.since == "" {
		pipe := t.rdb.Pipeline()
		cmds := make([]*redis.XMessageSliceCmd, len(added))
		for i, typ := range added {
			cmds[i] = pipe.XRevRangeN(ctx, protocol.StreamKey(typ), "+", "-", 1)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for i, typ := range added {
			t.last[typ] = "0-0"
			if msgs := cmds[i].Val(); len(msgs) > 0 {
				t.last[typ] = msgs[0].ID
			}
		}
	} else {
		for _, typ := range added {
			t.last[typ] = t.lateFrom
		}
	}
	t.types = append(t.types, added...)
	slices.Sort(t.types)
	return nil
}

// take merges one XREAD reply into the pending entries and prints those that
// are certainly in order: all of them, unless a stream returned a full page
// (it may hold older entries than the other streams' newest); then those up
// to the lowest last id among the full streams.
func (t *tailer) take(res []redis.XStream) error {
	watermark := ""
	for _, s := range res {
		typ := strings.TrimPrefix(s.Stream, protocol.StreamKeyPrefix)
		if len(s.Messages) == 0 {
			continue
		}
		for _, m := range s.Messages {
			t.pending = append(t.pending, tailEntry{typ: typ, msg: m})
		}
		lastID := s.Messages[len(s.Messages)-1].ID
		t.last[typ] = lastID
		if len(s.Messages) >= tailCount && (watermark == "" || protocol.CompareStreamIDs(lastID, watermark) < 0) {
			watermark = lastID
		}
	}
	return t.flush(watermark)
}

// flush prints the pending entries up to watermark ("" = all) in id order.
func (t *tailer) flush(watermark string) error {
	if len(t.pending) == 0 {
		return nil
	}
	slices.SortStableFunc(t.pending, func(x, y tailEntry) int { return protocol.CompareStreamIDs(x.msg.ID, y.msg.ID) })
	n := len(t.pending)
	if watermark != "" {
		n, _ = slices.BinarySearchFunc(t.pending, watermark, func(e tailEntry, w string) int {
			if protocol.CompareStreamIDs(e.msg.ID, w) <= 0 {
				return -1
			}
			return 1
		})
	}
	for _, e := range t.pending[:n] {
		if err := t.out.print(e.typ, e.msg); err != nil {
			return err
		}
	}
	rest := copy(t.pending, t.pending[n:])
	clear(t.pending[rest:])
	t.pending = t.pending[:rest]
	return nil
}

// eventPrinter writes entries as JSON lines or human lines, one Write per
// line (stdout is not buffered, so every line is out at once).
type eventPrinter struct {
	w       io.Writer
	stderr  io.Writer
	json    bool
	pal     palette
	width   int
	session string
	// hideSession leaves session= out of human lines (one session's timeline).
	hideSession bool
	buf         bytes.Buffer
	enc         *json.Encoder
	now         time.Time
}

func (a *app) newEventPrinter(session string) *eventPrinter {
	p := &eventPrinter{w: a.stdout, stderr: a.stderr, json: a.jsonOut || !isTerminal(a.stdout),
		pal: paletteFor(a.stdout), width: outputWidth(a.stdout), session: session, now: time.Now()}
	p.enc = json.NewEncoder(&p.buf)
	p.enc.SetEscapeHTML(false)
	return p
}

// eventMeta is the part of the metadata the printers read.
type eventMeta struct {
	Timestamp int64  `json:"timestamp"`
	SessionID string `json:"sessionId"`
}

// decodeStreamEntry reads the envelope of a stream entry.
func decodeStreamEntry(typ string, m redis.XMessage) (EventRecord, eventMeta, error) {
	rec := EventRecord{Stream: typ, ID: m.ID}
	raw, ok := m.Values[protocol.StreamField].(string)
	if !ok {
		return rec, eventMeta{}, fmt.Errorf("no %q field", protocol.StreamField)
	}
	var env struct {
		Type     string          `json:"type"`
		Payload  json.RawMessage `json:"payload"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return rec, eventMeta{}, fmt.Errorf("bad envelope: %v", err)
	}
	rec.Type, rec.Payload, rec.Metadata = env.Type, env.Payload, env.Metadata
	if len(rec.Payload) == 0 {
		rec.Payload = json.RawMessage("null")
	}
	if len(rec.Metadata) == 0 {
		rec.Metadata = json.RawMessage("{}")
	}
	var meta eventMeta
	_ = json.Unmarshal(rec.Metadata, &meta) // lenient: odd metadata still prints
	if meta.Timestamp == 0 {
		ms, _, _ := protocol.ParseStreamID(m.ID)
		meta.Timestamp = int64(ms)
	}
	return rec, meta, nil
}

func (p *eventPrinter) print(typ string, m redis.XMessage) error {
	_, err := p.printCounted(typ, m)
	return err
}

// printCounted prints one entry unless the session filter drops it (or it
// is malformed: a warning on stderr), and says whether it printed.
func (p *eventPrinter) printCounted(typ string, m redis.XMessage) (bool, error) {
	rec, meta, err := decodeStreamEntry(typ, m)
	if err != nil {
		fmt.Fprintf(p.stderr, "cb: skipping entry %s of %s: %v\n", m.ID, typ, err)
		return false, nil
	}
	if p.session != "" && meta.SessionID != p.session {
		return false, nil
	}
	return true, p.write(rec, meta, "")
}

// write prints one record; detail replaces the payload preview of human lines.
func (p *eventPrinter) write(rec EventRecord, meta eventMeta, detail string) error {
	p.buf.Reset()
	if p.json {
		if err := p.enc.Encode(rec); err != nil {
			return fmt.Errorf("encode event %s: %w", rec.ID, err)
		}
	} else {
		p.buf.WriteString(p.humanLine(rec, meta, detail))
		p.buf.WriteByte('\n')
	}
	_, err := p.w.Write(p.buf.Bytes())
	return err
}

// humanLine: 15:04:05.000 task.created t-123 session=abc {payload preview}
func (p *eventPrinter) humanLine(rec EventRecord, meta eventMeta, detail string) string {
	ts := time.UnixMilli(meta.Timestamp).Local()
	layout := "15:04:05.000"
	if y, m, d := ts.Date(); y != p.now.Year() || m != p.now.Month() || d != p.now.Day() {
		layout = "Jan _2 15:04:05.000"
	}
	var b strings.Builder
	b.WriteString(p.pal.paint("90", ts.Format(layout)))
	b.WriteByte(' ')
	b.WriteString(p.pal.paint(sgrCyan, oneLine(rec.Stream)))
	if rec.Type != rec.Stream {
		b.WriteString("(" + oneLine(rec.Type) + ")")
	}
	plain := len(ts.Format(layout)) + 1 + len(rec.Stream)
	if subject := payloadSubject(rec.Payload); subject != "" {
		b.WriteString(" " + oneLine(subject))
		plain += 1 + len(subject)
	}
	if meta.SessionID != "" && !p.hideSession {
		s := "session=" + oneLine(meta.SessionID)
		b.WriteString(" " + p.pal.paint(sgrYellow, s))
		plain += 1 + len(s)
	}
	if detail == "" {
		var c bytes.Buffer
		if json.Compact(&c, rec.Payload) == nil {
			detail = c.String()
		} else {
			detail = string(rec.Payload)
		}
	}
	detail = oneLine(detail)
	room := 200
	if p.width > 0 {
		room = p.width - plain - 1
	}
	if room < 10 {
		room = 10
	}
	b.WriteString(" " + truncate(detail, room))
	return b.String()
}

// payloadSubject names what an event is about: the payload's id (a task),
// taskId, or tool_name (a hook event).
func payloadSubject(payload json.RawMessage) string {
	if len(payload) == 0 || payload[0] != '{' {
		return ""
	}
	var s struct {
		ID       any    `json:"id"`
		TaskID   string `json:"taskId"`
		ToolName string `json:"tool_name"`
	}
	_ = json.Unmarshal(payload, &s)
	if id, ok := s.ID.(string); ok && id != "" && len(id) <= 64 {
		return id
	}
	if s.TaskID != "" {
		return s.TaskID
	}
	return s.ToolName
}
