package dispatch

import (
	"context"
	"strconv"

	"github.com/claudebench/cb/daemon/eventcap"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// A request entry stays in its stream for events.retention after it has
// been handled. A hook input may be megabytes (a Write of a large file, a
// tool_response), so an entry over Config.MaxPayload is replaced, once its
// handler has seen the whole of it, by a capped copy (eventcap.Payload)
// marked protocol.StreamRecordField: the copy is acknowledged without
// being handled when the consumer group delivers it.

// keptCopy returns the capped stream entry to keep in place of one whose
// envelope is raw and decodes to ev (zero when it does not decode), or nil
// when the entry is kept as it is.
func (d *Dispatcher) keptCopy(raw string, ev protocol.Event) []any {
	if d.cfg.MaxPayload <= 0 || len(raw) <= d.cfg.MaxPayload {
		return nil
	}
	if ev.Type == "" {
		// Not an envelope: keep only a marker of what it was.
		return []any{protocol.StreamField, eventcap.Payload([]byte(raw), 0), protocol.StreamRecordField, strconv.Itoa(len(raw))}
	}
	// The envelope around the payload is small; cap the payload so the
	// whole entry fits.
	room := max(d.cfg.MaxPayload-(len(raw)-len(ev.Payload)), 0)
	ev.Payload = eventcap.Payload(ev.Payload, room)
	data, err := protocol.EncodeEvent(ev)
	if err != nil {
		return nil
	}
	return []any{protocol.StreamField, data, protocol.StreamRecordField, strconv.Itoa(len(raw))}
}

// replaceKept queues, for an outcome with a capped copy, the deletion of
// the whole entry and the append of the copy.
func replaceKept(ctx context.Context, pipe redis.Pipeliner, o outcome) {
	if o.kept == nil {
		return
	}
	pipe.XDel(ctx, o.stream, o.entryID)
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: o.stream, Values: o.kept})
}
