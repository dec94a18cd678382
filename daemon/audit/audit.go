// Package audit records every hook decision off the hook's hot path: in the
// store (queryable with `cb audit`) and as a hook.decision event.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
)

// DecisionEvent is the event type of a recorded decision.
const DecisionEvent = "hook.decision"

// Writer queues records and writes them in batches.
type Writer struct {
	st      store.Store
	rdb     redis.UniversalClient
	source  string
	in      chan api.AuditRecord
	dropped atomic.Int64
	log     *slog.Logger
}

// NewWriter returns a writer with room for queue records in flight.
func NewWriter(st store.Store, rdb redis.UniversalClient, source string, queue int, log *slog.Logger) *Writer {
	return &Writer{st: st, rdb: rdb, source: source, in: make(chan api.AuditRecord, queue), log: log}
}

// Record queues r without blocking; when the queue is full the record is
// dropped and counted (the hook's answer never waits for the audit).
func (w *Writer) Record(r api.AuditRecord) {
	select {
	case w.in <- r:
	default:
		if w.dropped.Add(1) == 1 {
			w.log.Warn("audit queue full; dropping records")
		}
	}
}

// Dropped is the number of records lost to a full queue.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Run writes until ctx is done, then drains the queue.
func (w *Writer) Run(ctx context.Context) {
	for {
		select {
		case r := <-w.in:
			w.write(r)
		case <-ctx.Done():
			for {
				select {
				case r := <-w.in:
					w.write(r)
				default:
					return
				}
			}
		}
	}
}

func (w *Writer) write(first api.AuditRecord) {
	batch := []api.AuditRecord{first}
	for len(batch) < 256 {
		select {
		case r := <-w.in:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// One transaction for the batch: a commit per record cost more than
	// the records themselves.
	if err := w.st.AuditInsert(ctx, batch...); err != nil {
		w.log.Warn("audit insert", "records", len(batch), "err", err)
	}
	pipe := w.rdb.Pipeline()
	pipe.SAdd(ctx, protocol.StreamsKey, DecisionEvent) // the index of streams
	for _, r := range batch {
		payload, _ := json.Marshal(r)
		data, err := protocol.EncodeEvent(protocol.Event{Type: DecisionEvent, Payload: payload, Metadata: protocol.Metadata{
			ID: r.ID + "/decision", Timestamp: r.Time.UnixMilli(), Source: w.source, SessionID: r.SessionID}})
		if err == nil {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(DecisionEvent), Values: []any{protocol.StreamField, data}})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		w.log.Warn("publish hook decisions", "err", err)
	}
}
