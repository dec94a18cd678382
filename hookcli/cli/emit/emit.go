package emit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/resp"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// emitSource names cb emit as the producer in event metadata.
const emitSource = "cb-emit"

// Limits of `cb emit` with NDJSON input.
const (
	maxEmitLine       = 16 << 20 // longest input line (a payload up to 16 MiB)
	emitBatchEvents   = 1000     // XADDs per pipeline
	emitBatchBytes    = 4 << 20  // or fewer, when their envelopes reach this size
	emitBatchesQueued = 2        // parsed batches waiting for the writer
	emitInFlight      = 4        // batches written whose replies are not all read
	maxTypeLen        = 256
)

const emitLong = `Publish events to the Redis streams (XADD cb:stream:TYPE), where cbd, cb
events tail and every other ClaudeBench client see them.

  cb emit TYPE [PAYLOAD_JSON]   one event; the payload is a JSON object ({} if omitted)
  cb emit TYPE -                one event per stdin line, each line a payload object
  cb emit -                     one event per stdin line: {"type":"...","payload":{...}}

Every event gets metadata {id, timestamp, source: "cb-emit", sessionId}; the
session is --session, else $CLAUDE_CODE_SESSION_ID (set inside Claude Code).
One event prints the stream entry id (with --json: {"type","entryId","eventId"}).

Event types are non-empty, at most 256 bytes of UTF-8, without spaces,
control characters or the glob characters * ? [ ] (cb events tail uses them).

Methods. When TYPE is a method some cbd registered (task.create, hook.pre_tool,
system.health, ...; see cb call), the event is a request: cbd validates the
payload against the method's input schema and runs the handler. Without --wait
it is fire-and-forget: nobody waits for the answer, and a payload that fails
validation is only logged by cbd. With --wait, cb emit waits for the answer
(up to --timeout) and prints it, or exits with the error's status (invalid
params: 3; see cb help exit-codes). --wait with a type that is not a method
fails with method_not_found (exit 3). Other types have no schema: any JSON
object is accepted.

NDJSON input (stdin, lines up to 16 MiB) is sent in pipelines of up to 1,000
XADDs while the next lines are parsed. Blank lines are skipped. A bad line (not
JSON, not an object; with cb emit -: a missing, empty or invalid "type", a
"payload" that is not an object, any other field) is reported on stderr as
"line N: reason" and skipped; a missing "payload" means {}. The good lines are
all sent. At the end a summary goes to stderr:

  sent 99990, rejected 10, 185000 events/s

and, when stderr is a terminal and the input takes more than a second, a
progress line is shown meanwhile. Exit status 0 even with rejected lines;
with --strict, cb emit stops at the first bad line (the lines before it are
sent) and exits 1. Redis unreachable: exit 6.

Rate limits. A line whose type is a method is appended the way every cb
request is, through the check of the method's rate limit (handlers.rate_limit,
100 requests/s from one source; cb emit is the source "cb-emit", or the
session). A line cbd refuses for being over the limit is sent again after the
wait it names (after the lines behind it), for up to --timeout after the input
ends. Lines still refused then are listed as "line N: refused: ..." naming
the setting that raises the limit, the summary counts them ("refused N"), and
cb emit exits 5 (rate_limited).`

// options are what cb emit's helpers share.
type options struct{ *cmdutil.Run }

// NewCmdEmit is `cb emit`.
func NewCmdEmit(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.emitCmd())
}

func (o *options) emitCmd() *cobra.Command {
	var (
		wait, strict bool
		session      string
	)
	cmd := &cobra.Command{
		Use:   "emit {TYPE [PAYLOAD_JSON|-] | -}",
		Short: "Publish events (one, or NDJSON from stdin)",
		Long:  emitLong,
		Example: `  cb emit deploy.finished '{"service":"api","ok":true}'
  cb emit task.create '{"text":"write the release notes"}' --wait
  jq -c '.[]' payloads.json | cb emit metrics.sample -
  cb emit - < events.ndjson`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: cmdutil.CompleteEventTypes(o.Factory, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if session == "" {
				session = os.Getenv("CLAUDE_CODE_SESSION_ID")
			}
			typ := args[0]
			stdinMode := typ == "-" || (len(args) == 2 && args[1] == "-")
			if typ == "-" && len(args) == 2 {
				return cmdutil.FlagErrorf("cb emit - takes no second argument (each stdin line carries its type)")
			}
			if stdinMode && wait {
				return cmdutil.FlagErrorf("--wait takes one event, not stdin")
			}
			if typ != "-" {
				if err := validateType(typ); err != nil {
					return cmdutil.FlagErrorf("event type %q: %v", typ, err)
				}
			}
			if !stdinMode {
				return o.emitOne(cmd.Context(), typ, args[1:], session, wait)
			}
			if typ == "-" {
				typ = ""
			}
			return o.emitStream(cmd.Context(), typ, session, strict)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "treat the event as a request to a method and print cbd's answer")
	cmd.Flags().BoolVar(&strict, "strict", false, "stop at the first bad stdin line and exit 1")
	cmd.Flags().StringVar(&session, "session", "", "session id for the events' metadata (default $CLAUDE_CODE_SESSION_ID)")
	return cmd
}

// EmitResult is what `cb emit TYPE PAYLOAD --json` prints.
type EmitResult struct {
	Type    string `json:"type"`
	EntryID string `json:"entryId"` // the stream entry id in cb:stream:TYPE
	EventID string `json:"eventId"` // metadata.id of the event
}

func (o *options) emitOne(ctx context.Context, typ string, args []string, session string, wait bool) error {
	payload := []byte("{}")
	if len(args) == 1 {
		payload = trimJSONSpace([]byte(args[0]))
		if err := checkJSONObject(payload); err != nil {
			return &protocol.Error{Code: protocol.CodeParseError, Message: "payload " + err.Error()}
		}
	}
	c, err := o.Connect()
	if err != nil {
		return err
	}
	client := client.New(c.Redis(), emitSource)
	ev, err := client.NewEvent(typ, json.RawMessage(payload), session)
	if err != nil {
		return err
	}
	if wait {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		tries := 0
		res, err := cmdutil.RetryRateLimited(ctx, typ, func(ctx context.Context) (json.RawMessage, error) {
			if tries++; tries > 1 {
				// A request cbd refused may be remembered by its id: a
				// new try is a new request.
				ev.Metadata.ID = protocol.NewID()
			}
			return client.CallEvent(ctx, ev)
		})
		if err != nil {
			return err
		}
		return o.PrintJSON(res)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	id, err := client.PublishEvent(ctx, ev)
	if err != nil {
		return err
	}
	if iostreams.IsTerminal(o.IO.ErrOut) {
		// A note for people, not scripts: the event is a request nobody awaits.
		if ok, err := c.Redis().SIsMember(ctx, protocol.MethodsKey, typ).Result(); err == nil && ok {
			fmt.Fprintf(o.IO.ErrOut, "note: %s is a method: cbd runs this as a request; its answer and any validation error are not shown (use --wait)\n", typ)
		}
	}
	if o.JSON {
		return o.PrintJSON(EmitResult{Type: typ, EntryID: id, EventID: ev.Metadata.ID})
	}
	_, err = fmt.Fprintln(o.IO.Out, id)
	return err
}

// validateType checks an event type: it becomes part of a Redis key and is
// matched by the glob patterns of cb events tail.
func validateType(t string) error {
	switch {
	case t == "":
		return errors.New("empty")
	case len(t) > maxTypeLen:
		return fmt.Errorf("longer than %d bytes", maxTypeLen)
	case !utf8.ValidString(t):
		return errors.New("not valid UTF-8")
	}
	for _, r := range t {
		switch {
		case r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			return fmt.Errorf("contains %q (no spaces or control characters)", r)
		case r == '*' || r == '?' || r == '[' || r == ']':
			return fmt.Errorf("contains %q (no glob characters)", r)
		}
	}
	return nil
}

// errBlankLine marks an input line holding only white space: skipped, not
// counted as rejected.
var errBlankLine = errors.New("blank line")

// trimJSONSpace trims the white space JSON allows around a value.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonKind names the kind of JSON value starting with c.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// checkJSONObject reports why b (trimmed) is not one JSON object.
func checkJSONObject(b []byte) error {
	if len(b) == 0 {
		return errors.New("is empty, not a JSON object")
	}
	if !json.Valid(b) {
		return fmt.Errorf("is not JSON: %s", describeJSONError(b))
	}
	if b[0] != '{' {
		return fmt.Errorf("is not a JSON object (got %s)", jsonKind(b[0]))
	}
	return nil
}

// describeJSONError describes why b is not valid JSON (the slow path, bad input only).
func describeJSONError(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "invalid JSON"
}

// parseEmitLine parses one NDJSON input line. With fixedType (cb emit TYPE -)
// the line is the payload object; without (cb emit -) it is
// {"type":"...","payload":{...}}, payload optional ({}), no other fields.
// The returned payload aliases line. errBlankLine reports a blank line.
func parseEmitLine(line []byte, fixedType string) (typ string, payload []byte, err error) {
	line = trimJSONSpace(line)
	if len(line) == 0 {
		return "", nil, errBlankLine
	}
	if !json.Valid(line) {
		return "", nil, fmt.Errorf("not JSON: %s", describeJSONError(line))
	}
	if line[0] != '{' {
		return "", nil, fmt.Errorf("not a JSON object (got %s)", jsonKind(line[0]))
	}
	if fixedType != "" {
		return fixedType, line, nil
	}
	// line is a valid object: walk its members.
	var haveType, havePayload bool
	i := jsonSkipSpace(line, 1)
	for line[i] != '}' {
		end := jsonSkipString(line, i)
		key, err := jsonUnquoteToken(line[i:end])
		if err != nil {
			return "", nil, err
		}
		i = jsonSkipSpace(line, end)
		i = jsonSkipSpace(line, i+1) // ':'
		vend := jsonSkipValue(line, i)
		val := line[i:vend]
		switch key {
		case "type":
			if haveType {
				return "", nil, errors.New(`duplicate field "type"`)
			}
			haveType = true
			if val[0] != '"' {
				return "", nil, fmt.Errorf(`"type" is not a string (got %s)`, jsonKind(val[0]))
			}
			if typ, err = jsonUnquoteToken(val); err != nil {
				return "", nil, err
			}
		case "payload":
			if havePayload {
				return "", nil, errors.New(`duplicate field "payload"`)
			}
			havePayload = true
			if val[0] != '{' {
				return "", nil, fmt.Errorf(`"payload" is not a JSON object (got %s)`, jsonKind(val[0]))
			}
			payload = val
		default:
			return "", nil, fmt.Errorf(`unknown field %q (a line is {"type":"...","payload":{...}})`, key)
		}
		i = jsonSkipSpace(line, vend)
		if line[i] == ',' {
			i = jsonSkipSpace(line, i+1)
		}
	}
	if !haveType {
		return "", nil, errors.New(`missing "type"`)
	}
	if err := validateType(typ); err != nil {
		if typ == "" {
			return "", nil, errors.New(`"type" is empty`)
		}
		return "", nil, fmt.Errorf("type %q: %v", typ, err)
	}
	if !havePayload {
		payload = []byte("{}")
	}
	return typ, payload, nil
}

// The scanners below walk JSON already checked by json.Valid; each returns
// the index just past what it skipped.

func jsonSkipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

func jsonSkipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

func jsonSkipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return jsonSkipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = jsonSkipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// jsonUnquoteToken decodes a JSON string token.
func jsonUnquoteToken(tok []byte) (string, error) {
	inner := tok[1 : len(tok)-1]
	if !strings.ContainsRune(string(inner), '\\') {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", fmt.Errorf("bad string %s: %v", tok, err)
	}
	return s, nil
}

// ndjsonReader reads lines of any length up to max, reporting longer ones
// instead of stopping (unlike bufio.Scanner), so no good line after them is lost.
type ndjsonReader struct {
	r    *bufio.Reader
	max  int
	buf  []byte
	num  int
	done bool
}

func newNDJSONReader(r io.Reader, max int) *ndjsonReader {
	return &ndjsonReader{r: bufio.NewReaderSize(r, 1<<20), max: max}
}

// next returns the next line (without its line break, valid until the next
// call), its 1-based number, and whether it was longer than max (its content
// is then dropped). err is io.EOF after the last line.
func (lr *ndjsonReader) next() (line []byte, num int, tooLong bool, err error) {
	if lr.done {
		return nil, lr.num, false, io.EOF
	}
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong && len(lr.buf) == 0 && err == nil && len(chunk) <= lr.max+1 {
			lr.num++
			return chunk[:len(chunk)-1], lr.num, false, nil // the common case: no copy
		}
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+1 { // +1: the line break
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			lr.num++
			return trimNewline(lr.buf), lr.num, tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			lr.done = true
			if len(lr.buf) == 0 && !tooLong {
				return nil, lr.num, false, io.EOF
			}
			lr.num++
			return lr.buf, lr.num, tooLong, nil
		default:
			return nil, lr.num, false, fmt.Errorf("read stdin: %w", err)
		}
	}
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// emitBatch is a run of XADDs, RESP-encoded by the reader goroutine and
// written in one go.
type emitBatch struct {
	buf   []byte
	lines []int       // the input line of each command
	calls []*emitCall // per command: the request sent through call.lua, or nil for an XADD
	// users counts the writer and the reply reader done with the batch; the
	// second to finish returns it to the free list.
	users atomic.Int32
}

// release returns b to free once both the writer and the reply reader are done.
func (b *emitBatch) release(free chan *emitBatch) {
	if b.users.Add(1) < 2 {
		return
	}
	select {
	case free <- b:
	default:
	}
}

// emitStatus writes line reports, the progress line and the summary to
// stderr, keeping a progress line on a terminal from mixing with reports.
type emitStatus struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	shown    bool
	start    time.Time
	sent     atomic.Int64
	rejected atomic.Int64

	refusedMu sync.Mutex
	refused   []refusal // requests over their rate limit, to send again
	gaveUp    int       // requests still refused when cb emit stopped trying
}

// emitCall is a line sent as a request through call.lua: what it takes to
// send it again.
type emitCall struct {
	typ, eventID  string
	rateKey, from string // the rate-limit window it counts in, and its source
	data          []byte
}

// refusal is a request call.lua refused for its rate limit.
type refusal struct {
	line  int
	call  *emitCall
	retry time.Duration // when the limit lets a request through again
	limit int64
}

func (s *emitStatus) report(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown {
		fmt.Fprint(s.w, "\r\x1b[K")
		s.shown = false
	}
	fmt.Fprintf(s.w, format+"\n", args...)
}

func (s *emitStatus) rate() float64 {
	el := time.Since(s.start).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(s.sent.Load()) / el
}

func (s *emitStatus) line() string {
	refused := ""
	s.refusedMu.Lock()
	if n := len(s.refused) + s.gaveUp; n > 0 {
		refused = fmt.Sprintf(", refused %d", n)
	}
	s.refusedMu.Unlock()
	return fmt.Sprintf("sent %d, rejected %d%s, %.0f events/s", s.sent.Load(), s.rejected.Load(), refused, s.rate())
}

// progress redraws the progress line (terminal only).
func (s *emitStatus) progress() {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprint(s.w, "\r\x1b[K"+s.line())
	s.shown = true
}

// summary clears the progress line and prints the final counts.
func (s *emitStatus) summary() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown {
		fmt.Fprint(s.w, "\r\x1b[K")
		s.shown = false
	}
	fmt.Fprintln(s.w, s.line())
}

// emitStream publishes NDJSON from stdin over a connection of its own, in
// three goroutines: this one reads, parses and encodes batches of XADDs; a
// writer sends each batch as soon as it is ready; a reply reader matches
// Redis's answers to input lines. Redis is never left waiting for the next
// batch (the pipeline streams), and one connection keeps the input order.
func (o *options) emitStream(ctx context.Context, fixedType, session string, strict bool) error {
	st := &emitStatus{w: o.IO.ErrOut, tty: iostreams.IsTerminal(o.IO.ErrOut), start: time.Now()}
	// The garbage is short-lived envelopes and the live heap a few batches:
	// collect less often.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	url, err := o.Settings.RedisURL()
	if err != nil {
		return err
	}
	conn, err := dialXAdd(ctx, url, o.Timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	methods, err := o.emitMethods(ctx)
	if err != nil {
		return err
	}
	if fixedType != "" && st.tty && methods.sha != "" && methods.names[fixedType] {
		st.report("note: %s is a method: cbd runs each line as a request; answers and validation errors are not shown", fixedType)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopClose := context.AfterFunc(ctx, func() { _ = conn.Close() }) // unblocks the writer and the reply reader
	defer stopClose()
	batches := make(chan *emitBatch, emitBatchesQueued)
	inflight := make(chan *emitBatch, emitInFlight)
	free := make(chan *emitBatch, emitBatchesQueued+emitInFlight+2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(inflight)
		emitWriter(ctx, cancel, conn, o.Timeout, batches, inflight, free)
	}()
	go func() {
		defer wg.Done()
		emitReplies(ctx, cancel, conn, o.Timeout, st, strict, inflight, free)
	}()
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if !st.tty {
			return
		}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				if time.Since(st.start) > time.Second {
					st.progress()
				}
			}
		}
	}()

	c, err := o.Connect()
	if err != nil {
		return err
	}
	// A type seen for the first time joins the index of streams before its
	// first XADD is queued: one SADD per type, not per line.
	register := func(typ string) error { return streams.Register(ctx, c.Redis(), typ) }
	readErr := o.emitRead(ctx, fixedType, session, strict, st, methods, register, batches, free)
	close(batches)
	wg.Wait()
	if context.Cause(ctx) == nil && readErr == nil {
		o.emitRetryRefused(ctx, st)
	}
	close(stopProgress)
	<-progressDone
	st.summary()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // Redis failed, or --strict stopped at a line Redis refused
	}
	if readErr != nil {
		return readErr
	}
	if err := ctx.Err(); err != nil {
		return cmdutil.Exit(1, errors.New("interrupted"))
	}
	if st.gaveUp > 0 {
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: fmt.Sprintf(
			"cbd refused %d requests over its rate limit (listed above by line); nothing was appended for them", st.gaveUp)}
	}
	return nil
}

// emitMethodSet is what cb emit needs to send method lines as requests:
// the methods some cbd registered and the SHA of call.lua, loaded.
type emitMethodSet struct {
	names map[string]bool
	sha   string // "" when no method is registered: every line is an XADD
}

func (o *options) emitMethods(ctx context.Context) (emitMethodSet, error) {
	c, err := o.Connect()
	if err != nil {
		return emitMethodSet{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	names, err := c.Redis().SMembers(ctx, protocol.MethodsKey).Result()
	if err != nil {
		return emitMethodSet{}, protocol.UnavailableError("read "+protocol.MethodsKey, err)
	}
	m := emitMethodSet{names: make(map[string]bool, len(names))}
	for _, n := range names {
		m.names[n] = true
	}
	if len(names) == 0 {
		return m, nil
	}
	if m.sha, err = redisscript.Call().Load(ctx, c.Redis()).Result(); err != nil {
		return emitMethodSet{}, protocol.UnavailableError("load call.lua", err)
	}
	return m, nil
}

// emitRetryRefused sends the requests cbd refused for their rate limit
// again, after the wait the refusals named, at most one limit's worth per
// wait, until all are appended or --timeout has passed since the input
// ended; those left are reported by line and counted in st.gaveUp.
func (o *options) emitRetryRefused(ctx context.Context, st *emitStatus) {
	pending := st.refused
	if len(pending) == 0 {
		return
	}
	rdb := o.Client.Redis() // connected by emitMethods
	deadline := time.Now().Add(o.Timeout)
	wait := pending[0].retry
	for len(pending) > 0 && ctx.Err() == nil {
		if time.Now().Add(wait).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		n := min(len(pending), int(max(pending[0].limit, 1)))
		pipe := rdb.Pipeline()
		cmds := make([]*redis.Cmd, n)
		now := time.Now().UnixMilli()
		for i, r := range pending[:n] {
			cmds[i] = redisscript.Call().EvalSha(ctx, pipe, protocol.CallKeys(r.call.typ, r.call.rateKey),
				now, r.call.data, r.call.typ, protocol.StreamField, r.call.eventID, protocol.StreamRateCheckedField)
		}
		_, _ = pipe.Exec(ctx)
		var again []refusal
		for i, r := range pending[:n] {
			reply, err := cmds[i].Slice()
			if err != nil {
				st.rejected.Add(1)
				st.report("line %d: redis: %v", r.line, err)
				continue
			}
			if status, _ := reply[0].(int64); status == protocol.StatusRateLimited && len(reply) >= 3 {
				retry, _ := reply[1].(int64)
				r.retry = time.Duration(max(retry, 1)) * time.Millisecond
				again = append(again, r)
				continue
			}
			st.sent.Add(1)
		}
		pending = append(again, pending[n:]...)
		wait = 0 // the limit took all n: the next ones may go at once
		if len(again) > 0 {
			wait = again[0].retry
		}
		st.refusedMu.Lock()
		st.refused = pending
		st.refusedMu.Unlock()
	}
	st.refusedMu.Lock()
	st.refused, st.gaveUp = nil, len(pending)
	st.refusedMu.Unlock()
	sort.Slice(pending, func(i, j int) bool { return pending[i].line < pending[j].line })
	for _, r := range pending {
		st.report("line %d: refused: %s: more than %d requests/s from %s (raise %s or handlers.rate_limit in cbd's config, or allow more time with --timeout)",
			r.line, r.call.typ, r.limit, r.call.from, protocol.HandlerKey(r.call.typ, "rate_limit"))
	}
}

// emitRead parses stdin into batches until EOF, a --strict stop or ctx is done.
func (o *options) emitRead(ctx context.Context, fixedType, session string, strict bool, st *emitStatus, methods emitMethodSet, register func(typ string) error, batches, free chan *emitBatch) error {
	lr := newNDJSONReader(o.IO.In, maxEmitLine)
	heads := map[string][]byte{} // event type → RESP of XADD key * field
	var b *emitBatch
	flush := func() bool {
		if b == nil || len(b.lines) == 0 {
			return true
		}
		select {
		case batches <- b:
			b = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		line, num, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			flush()
			return err
		}
		var typ string
		var payload []byte
		if tooLong {
			err = fmt.Errorf("longer than %d bytes", maxEmitLine)
		} else {
			typ, payload, err = parseEmitLine(line, fixedType)
		}
		if errors.Is(err, errBlankLine) {
			continue
		}
		if err != nil {
			st.rejected.Add(1)
			st.report("line %d: %v", num, err)
			if strict {
				flush()
				return cmdutil.Exit(1, fmt.Errorf("stopped at line %d (--strict); the lines before it were sent", num))
			}
			continue
		}
		ev := protocol.NewEvent(typ, payload, emitSource, session)
		data, err := protocol.EncodeEvent(ev)
		if err != nil { // the type is valid UTF-8 and the payload checked: not expected
			st.rejected.Add(1)
			st.report("line %d: %v", num, err)
			continue
		}
		if b == nil {
			select {
			case b = <-free:
				b.buf, b.lines, b.calls = b.buf[:0], b.lines[:0], b.calls[:0]
				b.users.Store(0)
			default:
				b = &emitBatch{buf: make([]byte, 0, 512<<10), lines: make([]int, 0, emitBatchEvents),
					calls: make([]*emitCall, 0, emitBatchEvents)}
			}
		}
		if methods.sha != "" && methods.names[typ] {
			// A request: appended through call.lua, which checks its rate
			// limit as every cb request's is checked.
			c := &emitCall{typ: typ, eventID: ev.Metadata.ID, rateKey: protocol.RequestRateKey(ev),
				from: protocol.RateSource(ev), data: data}
			b.buf = appendCallCommand(b.buf, methods.sha, c)
			b.calls = append(b.calls, c)
		} else {
			head := heads[typ]
			if head == nil {
				if err := register(typ); err != nil {
					flush()
					return err
				}
				head = xaddHead(protocol.StreamKey(typ))
				heads[typ] = head
			}
			b.buf = resp.AppendBulk(append(b.buf, head...), data)
			b.calls = append(b.calls, nil)
		}
		b.lines = append(b.lines, num)
		if len(b.lines) >= emitBatchEvents || len(b.buf) >= emitBatchBytes {
			if !flush() {
				return nil
			}
		}
	}
	flush()
	return nil
}

// xaddHead is the RESP of `XADD key * event` without the value.
func xaddHead(key string) []byte {
	b := resp.AppendArray(nil, 5)
	for _, arg := range []string{"XADD", key, "*", protocol.StreamField} {
		b = resp.AppendBulk(b, arg)
	}
	return b
}

// appendCallCommand appends the RESP of EVALSHA call.lua for c (see
// scripts/call.lua for its KEYS and ARGV).
func appendCallCommand(b []byte, sha string, c *emitCall) []byte {
	keys := protocol.CallKeys(c.typ, c.rateKey)
	b = resp.AppendArray(b, 3+len(keys)+6)
	b = resp.AppendBulk(b, "EVALSHA")
	b = resp.AppendBulk(b, sha)
	b = resp.AppendInt(b, int64(len(keys)))
	for _, k := range keys {
		b = resp.AppendBulk(b, k)
	}
	b = resp.AppendInt(b, time.Now().UnixMilli())
	b = resp.AppendBulk(b, c.data)
	for _, arg := range []string{c.typ, protocol.StreamField, c.eventID, protocol.StreamRateCheckedField} {
		b = resp.AppendBulk(b, arg)
	}
	return b
}

// emitWriter writes each batch, first telling the reply reader to expect
// its answers (so Redis can always deliver them: no deadlock).
func emitWriter(ctx context.Context, cancel context.CancelCauseFunc, conn net.Conn, timeout time.Duration, batches, inflight, free chan *emitBatch) {
	failed := false
	for b := range batches {
		if failed || ctx.Err() != nil {
			continue // drain: the reader must not block
		}
		inflight <- b
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err := conn.Write(b.buf)
		line := b.lines[0]
		b.release(free)
		if err != nil {
			failed = true
			if ctx.Err() == nil {
				cancel(&protocol.Error{Code: protocol.CodeUnavailable, Message: fmt.Sprintf("publish: redis: %v (stopped at line %d)", err, line)})
			}
		}
	}
}

// emitReplies reads one reply per XADD written: an entry id counts as sent,
// an error reply (e.g. WRONGTYPE) rejects the line.
func emitReplies(ctx context.Context, cancel context.CancelCauseFunc, conn net.Conn, timeout time.Duration, st *emitStatus, strict bool, inflight, free chan *emitBatch) {
	r := bufio.NewReaderSize(conn, 64<<10)
	failed := false
	for b := range inflight {
		if !failed {
			_ = conn.SetReadDeadline(time.Now().Add(timeout))
			for i, num := range b.lines {
				var srvErr, err error
				if c := b.calls[i]; c != nil {
					var reply []int64
					if reply, srvErr, err = readCallReply(r); err == nil && srvErr == nil {
						switch {
						case len(reply) >= 3 && reply[0] == protocol.StatusRateLimited:
							st.refusedMu.Lock()
							st.refused = append(st.refused, refusal{line: num, call: c,
								retry: time.Duration(max(reply[1], 1)) * time.Millisecond, limit: reply[2]})
							st.refusedMu.Unlock()
							continue
						case reply[0] < 0:
							srvErr = protocol.CallStatusError(c.typ, reply[0])
						}
					}
				} else {
					srvErr, err = splitReplyError(resp.Skip(r))
				}
				if err != nil {
					failed = true
					if ctx.Err() == nil {
						cancel(&protocol.Error{Code: protocol.CodeUnavailable,
							Message: fmt.Sprintf("publish: redis: %v (stopped at line %d; the lines before it were sent)", err, num)})
					}
					break
				}
				if srvErr != nil {
					st.rejected.Add(1)
					st.report("line %d: redis: %v", num, srvErr)
					if strict && ctx.Err() == nil {
						cancel(cmdutil.Exit(1, fmt.Errorf("stopped at line %d (--strict)", num)))
					}
					continue
				}
				st.sent.Add(1)
			}
		}
		b.release(free)
	}
}

// readCallReply reads call.lua's reply: an array whose first element is the
// status and, when rate limited, whose next are retryAfterMs and the limit
// (see scripts/call.lua). Bulk elements (the entry id) read as 0. err is an
// I/O or protocol failure, srvErr an error reply.
func readCallReply(r *bufio.Reader) (reply []int64, srvErr, err error) {
	kind, body, err := resp.ReadLine(r)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case '-':
		return nil, resp.Error(body), nil
	case '*':
	default:
		return nil, nil, fmt.Errorf("protocol error: call.lua answered %q", append([]byte{kind}, body...))
	}
	n, err := strconv.Atoi(string(body))
	if err != nil || n < 1 || n > 16 {
		return nil, nil, fmt.Errorf("protocol error: call.lua answered an array of %q", body)
	}
	reply = make([]int64, n)
	for i := range reply {
		if reply[i], err = readCallElement(r); err != nil {
			return nil, nil, err
		}
	}
	return reply, nil, nil
}

// readCallElement reads one element of call.lua's reply: an integer, or a
// bulk string (read as 0).
func readCallElement(r *bufio.Reader) (int64, error) {
	kind, body, err := resp.ReadLine(r)
	if err != nil {
		return 0, err
	}
	switch kind {
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("protocol error: call.lua element %q", body)
		}
		return n, nil
	case '$':
		size, err := strconv.Atoi(string(body))
		if err != nil || size > 1<<20 {
			return 0, fmt.Errorf("protocol error: call.lua element of length %q", body)
		}
		if size >= 0 {
			if _, err := r.Discard(size + 2); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	return 0, fmt.Errorf("protocol error: unexpected call.lua element %q", append([]byte{kind}, body...))
}

// splitReplyError tells an error reply (srvErr) from a failure to read one.
func splitReplyError(err error) (srvErr, ioErr error) {
	var e resp.Error
	if errors.As(err, &e) {
		return e, nil
	}
	return nil, err
}

// dialXAdd opens a connection of its own for cb emit's streaming pipeline,
// with the URL's TLS, credentials and database (go-redis's pool answers one
// pipeline at a time, which leaves Redis idle between batches).
// A Sentinel URL is resolved to the current primary first.
func dialXAdd(ctx context.Context, url string, timeout time.Duration) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opt, err := emitOptions(dctx, url)
	if err != nil {
		return nil, err
	}
	opt.DialTimeout = timeout
	conn, err := redis.NewDialer(opt)(dctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var hello []byte
	n := 0
	cmd := func(args ...string) {
		hello = resp.AppendCommand(hello, args...)
		n++
	}
	switch {
	case opt.Username != "" && opt.Password != "":
		cmd("AUTH", opt.Username, opt.Password)
	case opt.Password != "":
		cmd("AUTH", opt.Password)
	}
	if opt.DB != 0 {
		cmd("SELECT", strconv.Itoa(opt.DB))
	}
	cmd("PING")
	fail := func(err error) (net.Conn, error) {
		_ = conn.Close()
		return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	if _, err := conn.Write(hello); err != nil {
		return fail(err)
	}
	r := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		if err := resp.Skip(r); err != nil {
			return fail(err)
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// emitOptions are the connection options of a Redis URL; for a Sentinel URL
// (redis://sentinel:26379?master_name=NAME) those of the primary the
// Sentinels name now, with the URL's credentials, database and TLS.
func emitOptions(ctx context.Context, rawURL string) (*redis.Options, error) {
	if !strings.Contains(rawURL, "master_name=") {
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url %q: %w", rawURL, err)
		}
		return opt, nil
	}
	fo, err := redis.ParseFailoverURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis sentinel url %q: %w", rawURL, err)
	}
	var errs []error
	for _, addr := range fo.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: fo.SentinelUsername,
			Password: fo.SentinelPassword, TLSConfig: fo.TLSConfig, MaxRetries: -1})
		hostPort, err := sc.GetMasterAddrByName(ctx, fo.MasterName).Result()
		_ = sc.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
			continue
		}
		return &redis.Options{Network: "tcp", Addr: net.JoinHostPort(hostPort[0], hostPort[1]),
			Username: fo.Username, Password: fo.Password, DB: fo.DB, TLSConfig: fo.TLSConfig}, nil
	}
	return nil, &protocol.Error{Code: protocol.CodeUnavailable,
		Message: fmt.Sprintf("no Sentinel named a primary for %q: %v", fo.MasterName, errors.Join(errs...))}
}
