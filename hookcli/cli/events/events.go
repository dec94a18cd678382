// Package events is cb events (tail and get the event streams) and cb
// sessions (the Claude Code sessions read back from the hook event
// streams), which share the stream reading and the event printer.
package events

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

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/streams"
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

// options are what the cb events commands share.
type options struct{ *cmdutil.Run }

// NewCmdEvents is `cb events` and its subcommands.
func NewCmdEvents(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.eventsCmd())
}

func (o *options) eventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow or read the event streams",
		Long:  eventsLong,
	}
	cmd.AddCommand(o.eventsTailCmd(), o.eventsGetCmd())
	return cmd
}

func (o *options) eventsTailCmd() *cobra.Command {
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
		ValidArgsFunction: cmdutil.CompleteEventTypes(o.Factory, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"*"}
			}
			for _, p := range args {
				if p == "" {
					return cmdutil.FlagErrorf("empty pattern")
				}
			}
			start, err := sinceFlag(since, true)
			if err != nil {
				return err
			}
			c, err := o.Connect()
			if err != nil {
				return err
			}
			t := &tailer{rdb: c.Redis(), patterns: args, since: start, out: o.newEventPrinter(session), stderr: o.IO.ErrOut}
			return t.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start at a duration ago (10m, 2h, 1d) or after a stream entry id (default: now)")
	cmd.Flags().StringVar(&session, "session", "", "only events whose metadata.sessionId is this")
	return cmd
}

const eventsOutputHelp = `Output: one JSON object per line when stdout is not a terminal or with --json:
{"stream","id","type","payload","metadata"} (see cb events --help).`

func (o *options) eventsGetCmd() *cobra.Command {
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
		ValidArgsFunction: cmdutil.CompleteEventTypes(o.Factory, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return cmdutil.FlagErrorf("--limit must be 0 (no limit) or more")
			}
			start, err := sinceFlag(since, false)
			if err != nil {
				return err
			}
			c, err := o.Connect()
			if err != nil {
				return err
			}
			return o.eventsGet(cmd.Context(), c.Redis(), args[0], start, limit, o.newEventPrinter(session))
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start a duration ago (10m, 2h, 1d) or after a stream entry id")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events (0: all)")
	cmd.Flags().StringVar(&session, "session", "", "only events whose metadata.sessionId is this")
	return cmd
}

func (o *options) eventsGet(ctx context.Context, rdb redis.UniversalClient, typ, start string, limit int, p *eventPrinter) error {
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
		start = streams.NextID(msgs[len(msgs)-1].ID)
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

// sinceFlag is parseSince(since) at the current time, a usage error when
// --since is malformed.
func sinceFlag(since string, allowDollar bool) (string, error) {
	start, err := parseSince(since, time.Now(), allowDollar)
	if err != nil {
		return "", cmdutil.FlagErrorf("--since: %v", err)
	}
	return start, nil
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
		return streams.NextID(s), nil
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

// tailer follows the streams of the types matching patterns and prints
// their entries.
type tailer struct {
	rdb      redis.UniversalClient
	patterns []string
	since    string // first id to include; "" = from now
	out      *eventPrinter
	stderr   io.Writer
}

// tailRefresh is how often the tail looks for new streams (a variable for tests).
var tailRefresh = streams.DefaultRescan

func (t *tailer) run(ctx context.Context) error {
	// Ctrl-C cancels ctx; closing the client ends a blocked XREAD at once.
	stop := context.AfterFunc(ctx, func() { _ = t.rdb.Close() })
	defer stop()
	f := &streams.Follower{Redis: t.rdb, Patterns: t.patterns, Since: t.since, Rescan: tailRefresh,
		Trouble: func(what string, err error) {
			if err != nil {
				fmt.Fprintf(t.stderr, "cb: %s: redis: %v (retrying)\n", what, err)
			} else {
				fmt.Fprintln(t.stderr, "cb: redis is back")
			}
		}}
	err := f.Run(ctx, func(es []streams.Entry) error {
		for _, e := range es {
			if err := t.out.print(e.Type, e.XMessage); err != nil {
				return err
			}
		}
		return nil
	})
	if re := (*streams.RedisError)(nil); errors.As(err, &re) {
		return redisFailure(re.What, re.Err)
	}
	return err
}

// eventPrinter writes entries as JSON lines or human lines, one Write per
// line (stdout is not buffered, so every line is out at once).
type eventPrinter struct {
	w       io.Writer
	stderr  io.Writer
	json    bool
	pal     iostreams.ColorScheme
	width   int
	session string
	// hideSession leaves session= out of human lines (one session's timeline).
	hideSession bool
	buf         bytes.Buffer
	enc         *json.Encoder
	now         time.Time
}

func (o *options) newEventPrinter(session string) *eventPrinter {
	p := &eventPrinter{w: o.IO.Out, stderr: o.IO.ErrOut, json: o.JSON || !o.IO.IsStdoutTTY(),
		pal: o.IO.ColorScheme(), width: o.IO.TerminalWidth(), session: session, now: time.Now()}
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
	detail := ""
	if strings.HasPrefix(typ, "hook.") {
		// What the hook event is about, as cb sessions show says it.
		detail = hookDetail(hookEntry{rec: rec})
	}
	return true, p.write(rec, meta, detail)
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
	b.WriteString(p.pal.Gray(ts.Format(layout)))
	b.WriteByte(' ')
	b.WriteString(p.pal.Cyan(cmdutil.OneLine(rec.Stream)))
	if rec.Type != rec.Stream {
		b.WriteString("(" + cmdutil.OneLine(rec.Type) + ")")
	}
	plain := len(ts.Format(layout)) + 1 + len(rec.Stream)
	if subject := payloadSubject(rec.Payload); subject != "" {
		b.WriteString(" " + cmdutil.OneLine(subject))
		plain += 1 + len(subject)
	}
	if meta.SessionID != "" && !p.hideSession {
		s := "session=" + cmdutil.OneLine(meta.SessionID)
		b.WriteString(" " + p.pal.Yellow(s))
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
	detail = cmdutil.OneLine(detail)
	room := 200
	if p.width > 0 {
		room = p.width - plain - 1
	}
	if room < 10 {
		room = 10
	}
	b.WriteString(" " + cmdutil.Truncate(detail, room))
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
