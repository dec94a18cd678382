// Package dispatch is cbd's Redis stream consumer: consumer groups on
// cb:stream:{method} hand entries to the invoke chain, answers and
// acknowledgements go back pipelined; entries of dead consumers are
// claimed (recover.go), poison ones dead-lettered, and streams trimmed.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Config tunes a Dispatcher; zero values take the documented defaults of the
// dispatch.* config keys.
type Config struct {
	Consumer    string        // consumer name: this process (instance id/nonce; see consumerAlive)
	Concurrency int           // handlers running at once (128)
	Batch       int           // XREADGROUP COUNT (64)
	Block       time.Duration // XREADGROUP BLOCK (1s)
	ResponseTTL time.Duration // TTL of cb:response:{id} (60s)
	// MaxPayload: a handled entry larger than this is replaced by a capped
	// copy (events.max_payload_bytes; 0 = keep entries whole). See kept.go.
	MaxPayload int
	Recover    RecoverConfig
	// OnNoGroup, if set, is called when a consumer group is found missing
	// (Redis lost its data): the groups are recreated here, and the rest
	// of cbd's state can be repaired (see tasks.Service.CheckRedis).
	OnNoGroup func()
}

// Dispatcher consumes the streams of the methods an instance serves.
type Dispatcher struct {
	rdb     redis.UniversalClient
	inv     *invoke.Invoker
	cfg     Config
	log     *slog.Logger
	streams []string

	// Handlers run on long-lived workers (at most Concurrency), started
	// as the load needs them: a worker's stack, once grown by decoding and
	// validation, stays grown, where a goroutine per entry would grow (copy)
	// its stack again for every request.
	jobs     chan job
	stop     chan struct{} // closed when Run stops: idle workers exit
	nworkers atomic.Int32
	spawnMu  sync.Mutex // guards stopped against workers.Add after Wait
	stopped  bool
	workers  sync.WaitGroup
	results  chan outcome
	direct   atomic.Bool // a worker is writing its own answer (see deliver)

	crashMu sync.Mutex
	crashes map[string]string // entry id → last crash message, for dead letters

	leftMu sync.Mutex
	left   []job // read but not started when the stop came

	// lastRound is when the last XREADGROUP round came back without an
	// error (unix nanoseconds), for health checks.
	lastRound atomic.Int64
}

// job is one stream entry to handle.
type job struct {
	stream string
	m      redis.XMessage
}

type outcome struct {
	stream, entryID string
	ev              protocol.Event
	resp            []byte // nil: no answer wanted
	noAck           bool   // the handler crashed: leave the entry pending
	kept            []any  // the capped copy to keep instead (see kept.go)
}

// New builds a dispatcher for methods.
func New(rdb redis.UniversalClient, inv *invoke.Invoker, methods []string, cfg Config, log *slog.Logger) *Dispatcher {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 128
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.ResponseTTL <= 0 {
		cfg.ResponseTTL = time.Minute
	}
	streams := make([]string, len(methods))
	for i, m := range methods {
		streams[i] = protocol.StreamKey(m)
	}
	return &Dispatcher{
		rdb: rdb, inv: inv, cfg: cfg, log: log, streams: streams,
		jobs:    make(chan job),
		stop:    make(chan struct{}),
		results: make(chan outcome, cfg.Concurrency),
		crashes: map[string]string{},
	}
}

// Consuming reports whether the dispatcher is reading its streams: a read
// round came back within the last within (always true when it serves no
// stream).
func (d *Dispatcher) Consuming(within time.Duration) bool {
	if len(d.streams) == 0 {
		return true
	}
	last := d.lastRound.Load()
	return last != 0 && time.Since(time.Unix(0, last)) <= within
}

// Block is the XREADGROUP block time: a healthy dispatcher completes a read
// round at least this often.
func (d *Dispatcher) Block() time.Duration { return d.cfg.Block }

// Run consumes until ctx is cancelled, then waits for in-flight handlers and
// flushes their answers. Answers go out even after ctx is cancelled, so a
// graceful stop answers every request it took. The recovery loop runs
// alongside and has returned when Run returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	if len(d.streams) == 0 {
		<-ctx.Done()
		return nil
	}
	respDone := make(chan struct{})
	go func() {
		defer close(respDone)
		d.respond()
	}()
	defer func() {
		d.spawnMu.Lock()
		d.stopped = true
		d.spawnMu.Unlock()
		close(d.stop)
		d.workers.Wait()
		close(d.results)
		<-respDone
		d.release()
	}()

	if d.cfg.Recover.ClaimIdle > 0 {
		recoverDone := make(chan struct{})
		go func() { defer close(recoverDone); d.recoverLoop(ctx, d.cfg.Recover) }()
		// Deferred after the drain above, so it runs first: recovery hands
		// entries to handle, which must not outlive the workers.
		defer func() { <-recoverDone }()
	}
	b := backoff{log: d.log}
	for ctx.Err() == nil {
		if err := d.ensureGroups(ctx); err != nil {
			b.fail(ctx, "create consumer groups", err)
			continue
		}
		// Entries this consumer read before a crash or restart come first.
		if err := d.consume(ctx, "0", &b); err != nil {
			continue
		}
		b.ok()
		_ = d.consume(ctx, ">", &b)
	}
	return nil
}

// consume reads entries from start ("0": our own pending ones until there
// are none left; ">": new ones, forever) and hands each to a handler.
func (d *Dispatcher) consume(ctx context.Context, start string, b *backoff) error {
	ids := make([]string, len(d.streams))
	for i := range ids {
		ids[i] = start
	}
	args := &redis.XReadGroupArgs{
		Group:    protocol.GroupName,
		Consumer: d.cfg.Consumer,
		Streams:  append(append([]string{}, d.streams...), ids...),
		Count:    int64(d.cfg.Batch),
		Block:    d.cfg.Block,
	}
	if start != ">" {
		args.Block = -1 // pending entries: never block
	}
	for ctx.Err() == nil {
		res, err := d.rdb.XReadGroup(ctx, args).Result()
		if err == nil || errors.Is(err, redis.Nil) {
			d.lastRound.Store(time.Now().UnixNano())
		}
		if errors.Is(err, redis.Nil) {
			if start != ">" {
				return nil
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				// Redis lost its data (restart without persistence): start
				// over, recreating the groups, and have the rest repaired.
				if d.cfg.OnNoGroup != nil {
					d.cfg.OnNoGroup()
				}
				return err
			}
			b.fail(ctx, "read streams", err)
			return err
		}
		b.ok()
		n := 0
		now := time.Now().UnixMilli()
		for _, s := range res {
			var expired []string
			for _, m := range s.Messages {
				n++
				// An oversized entry goes to a worker even when expired,
				// so that it is replaced by its capped copy.
				if staleRead(m.ID, now) && pastDeadline(m, now) && !d.oversized(m) {
					expired = append(expired, m.ID)
					continue
				}
				d.handle(ctx, s.Stream, m)
			}
			d.dropExpired(s.Stream, expired)
		}
		if start != ">" {
			if n == 0 {
				return nil
			}
			// Pending entries are re-read after the last one seen per stream.
			for _, s := range res {
				if len(s.Messages) > 0 {
					args.Streams[len(d.streams)+indexOf(d.streams, s.Stream)] = s.Messages[len(s.Messages)-1].ID
				}
			}
		}
	}
	return ctx.Err()
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	panic("dispatch: reply for a stream that was not read: " + s)
}

// staleAfter is how old a stream entry must be before the read loop looks
// at its deadline: a fresh entry's caller is nearly always still waiting,
// so it goes to a worker, which checks the decoded deadline anyway. Only a
// backlog pays for reading deadlines, and it is where they save work.
const staleAfter = 250 // ms

// staleRead says the entry with stream id id was appended at least
// staleAfter before now (unix ms); ids are "<append ms>-<seq>".
func staleRead(id string, now int64) bool {
	ms, _, _ := strings.Cut(id, "-")
	t, err := strconv.ParseInt(ms, 10, 64)
	return err != nil || now-t >= staleAfter
}

// pastDeadline says m is a request whose caller stopped waiting before
// now (unix ms): running it would be work nobody asked for any more (a task
// created after its caller was told it failed). Only the envelope's
// metadata is read (protocol.EventDeadline), so a backlog of stale
// requests costs little more than its acknowledgements.
func pastDeadline(m redis.XMessage, now int64) bool {
	if _, ok := m.Values[protocol.StreamRecordField]; ok {
		return false // a capped copy of a request that ran: not a request
	}
	raw, _ := m.Values[protocol.StreamField].(string)
	dl := protocol.EventDeadline(raw)
	return dl > 0 && now > dl
}

// oversized says m is larger than events.max_payload_bytes: it is kept
// only as a capped copy (see kept.go).
func (d *Dispatcher) oversized(m redis.XMessage) bool {
	raw, _ := m.Values[protocol.StreamField].(string)
	return d.cfg.MaxPayload > 0 && len(raw) > d.cfg.MaxPayload
}

// dropExpired acknowledges, without running them, the entries ids of
// stream whose deadline had passed when they were read, and counts them.
// If the acknowledgement fails they stay pending, are read again and
// dropped then.
func (d *Dispatcher) dropExpired(stream string, ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.rdb.XAck(ctx, stream, protocol.GroupName, ids...).Err(); err != nil {
		d.log.Warn("acknowledging requests past their deadline", "stream", stream, "count", len(ids), "err", err)
		return
	}
	d.countExpired(stream, int64(len(ids)))
	d.log.Debug("dropped requests whose callers had given up", "stream", stream, "count", len(ids))
}

func (d *Dispatcher) countExpired(stream string, n int64) {
	if st := d.inv.Stats(); st != nil {
		st.RecordExpired(strings.TrimPrefix(stream, protocol.StreamKeyPrefix), n)
	}
}

// handle hands one entry to an idle worker, starts a new worker while
// fewer than Concurrency run, or waits for one to be free.
func (d *Dispatcher) handle(ctx context.Context, stream string, m redis.XMessage) {
	j := job{stream, m}
	select {
	case d.jobs <- j:
		return
	default:
	}
	if n := d.nworkers.Add(1); n <= int32(d.cfg.Concurrency) {
		d.spawnMu.Lock()
		if !d.stopped {
			d.workers.Add(1)
			go d.work(j)
			d.spawnMu.Unlock()
			return
		}
		d.spawnMu.Unlock()
	}
	d.nworkers.Add(-1)
	select {
	case d.jobs <- j:
	case <-ctx.Done():
		// Not started: handed back to the stream when Run ends.
		d.leftMu.Lock()
		d.left = append(d.left, j)
		d.leftMu.Unlock()
	}
}

// work runs first, then whatever entries come, until Run stops.
func (d *Dispatcher) work(first job) {
	defer d.workers.Done()
	d.deliver(d.process(first.stream, first.m))
	for {
		select {
		case j := <-d.jobs:
			d.deliver(d.process(j.stream, j.m))
		case <-d.stop:
			return
		}
	}
}

// process decodes and invokes one entry. The handler's context is not tied
// to the dispatcher's: a graceful stop lets started work finish.
func (d *Dispatcher) process(stream string, m redis.XMessage) outcome {
	o := outcome{stream: stream, entryID: m.ID}
	if _, ok := m.Values[protocol.StreamRecordField]; ok {
		return o // a capped copy kept for the record: acknowledged only
	}
	raw, _ := m.Values[protocol.StreamField].(string)
	ev, err := protocol.DecodeEvent([]byte(raw))
	if err != nil {
		d.log.Warn("dropping malformed stream entry", "stream", stream, "id", m.ID, "err", err)
		o.kept = d.keptCopy(raw, protocol.Event{})
		return o
	}
	// The read loop checked only stale entries; this one may also have
	// waited for a worker, or been taken over from a dead consumer.
	if dl := ev.Metadata.Deadline; dl > 0 && time.Now().UnixMilli() > dl {
		d.countExpired(stream, 1)
		o.kept = d.keptCopy(raw, ev)
		return o
	}
	o.ev = ev
	rateMark, _ := m.Values[protocol.StreamRateCheckedField].(string)
	res, perr, crashed := d.inv.InvokeDelivery(context.Background(), ev, rateMark)
	if crashed {
		o.noAck = true
		d.crashMu.Lock()
		if len(d.crashes) < 10000 {
			d.crashes[m.ID] = perr.Message
		}
		d.crashMu.Unlock()
	} else {
		o.kept = d.keptCopy(raw, ev)
	}
	if ev.Metadata.CorrelationID == "" {
		if perr != nil {
			d.log.Warn("event failed", "method", ev.Type, "id", ev.Metadata.ID, "err", perr)
		}
		return o
	}
	o.resp, err = json.Marshal(protocol.Response{ID: ev.Metadata.CorrelationID, Result: res, Error: perr})
	if err != nil {
		o.resp, _ = json.Marshal(protocol.Response{ID: ev.Metadata.CorrelationID,
			Error: &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("encode answer: %v", err)}})
	}
	return o
}

// deliver writes o's answer at once when no other worker is doing so (a
// lone request is not handed to the responder goroutine, which would cost
// a wake-up), else queues it for the responder's next pipeline.
func (d *Dispatcher) deliver(o outcome) {
	if d.direct.CompareAndSwap(false, true) {
		d.flush([]outcome{o})
		d.direct.Store(false)
		return
	}
	d.results <- o
}

// release hands entries read but never started back to the stream for
// other instances: appended again (handlers are idempotent by event id) and
// acknowledged here, in one transaction per entry.
func (d *Dispatcher) release() {
	d.leftMu.Lock()
	left := d.left
	d.left = nil
	d.leftMu.Unlock()
	if len(left) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := d.rdb.TxPipeline()
	for _, l := range left {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: l.stream, Values: l.m.Values})
		pipe.XAck(ctx, l.stream, protocol.GroupName, l.m.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		d.log.Warn("could not hand unstarted requests back; they stay pending for recovery", "count", len(left), "err", err)
		return
	}
	d.log.Info("handed unstarted requests back to the streams", "count", len(left))
}

// respond writes answers and acknowledgements, batching whatever is ready
// into one pipeline, until results is closed.
func (d *Dispatcher) respond() {
	batch := make([]outcome, 0, 256)
	for o := range d.results {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < cap(batch) {
			select {
			case o, ok := <-d.results:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		d.flush(batch)
	}
}

func (d *Dispatcher) flush(batch []outcome) {
	b := backoff{log: d.log}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		pipe := d.rdb.Pipeline()
		for _, o := range batch {
			if o.resp != nil {
				key := protocol.ResponseKey(o.ev.Metadata.CorrelationID)
				pipe.LPush(ctx, key, o.resp)
				pipe.Expire(ctx, key, d.cfg.ResponseTTL)
			}
			if !o.noAck {
				pipe.XAck(ctx, o.stream, protocol.GroupName, o.entryID)
				replaceKept(ctx, pipe, o)
			}
		}
		_, err := pipe.Exec(ctx)
		cancel()
		if err == nil {
			return
		}
		if attempt >= 5 {
			// Unacknowledged entries stay pending and are redelivered.
			d.log.Error("giving up writing answers; entries stay pending", "count", len(batch), "err", err)
			return
		}
		b.fail(context.Background(), "write answers", err)
	}
}

// ensureGroups creates the consumer group of every stream (idempotent). A
// new group starts at the beginning of the stream, so requests sent while
// no cbd ever ran are still handled.
func (d *Dispatcher) ensureGroups(ctx context.Context) error {
	// The streams this cbd serves join the index of streams (call.lua
	// appends requests only to a method some cbd serves).
	types := make([]string, len(d.streams))
	for i, s := range d.streams {
		types[i] = strings.TrimPrefix(s, protocol.StreamKeyPrefix)
	}
	if err := streams.Register(ctx, d.rdb, types...); err != nil {
		return err
	}
	for _, s := range d.streams {
		err := d.rdb.XGroupCreateMkStream(ctx, s, protocol.GroupName, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create group on %s: %w", s, err)
		}
	}
	return nil
}
