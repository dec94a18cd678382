package protocol

import (
	"encoding/json"
	"fmt"
)

// Event is the envelope of everything that travels on the bus: a request to a
// handler, a notification, or a state change another component emitted.
type Event struct {
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	Metadata Metadata        `json:"metadata"`
}

// Metadata carries an event's identity and routing information.
type Metadata struct {
	// ID is unique per event; handlers are idempotent by it.
	ID string `json:"id"`
	// Timestamp is the unix time in milliseconds the event was created.
	Timestamp int64 `json:"timestamp"`
	// Source names the producer (an instance id, "cb", "cb-hook", ...).
	Source string `json:"source,omitempty"`
	// SessionID is the Claude Code session the event belongs to, if any.
	SessionID string `json:"sessionId,omitempty"`
	// CorrelationID is set on requests that want an answer on
	// ResponseKey(CorrelationID).
	CorrelationID string `json:"correlationId,omitempty"`
	// Deadline is the unix time in milliseconds after which the caller no
	// longer waits for the answer (0 = none).
	Deadline int64 `json:"deadline,omitempty"`
}

// StreamField is the single stream entry field holding the JSON envelope.
const StreamField = "event"

// StreamRateCheckedField is set on a request entry whose rate limit
// call.lua has already checked, so cbd does not check it again: "1" within
// the limit (and counted), StreamRateShed over it.
const StreamRateCheckedField = "ratechecked"

// StreamRateShed is StreamRateCheckedField's value on a hook request over
// its rate limit. Hook requests are never refused for their rate (the
// decision must not depend on what others send under the same session id):
// cbd evaluates the rules and sheds only the extras (audit, event copies).
const StreamRateShed = "shed"

// StreamRecordField marks a stream entry that is a capped copy of a request
// already handled, kept for the record (events.max_payload_bytes); its
// value is the size in bytes of the original entry. cbd acknowledges such
// an entry without handling it.
const StreamRecordField = "record"

// EncodeEvent encodes ev for a stream entry. Unlike json.Marshal it copies
// the payload as is (no re-validation or compaction of what may be
// megabytes), so the payload must already be valid JSON.
func EncodeEvent(ev Event) ([]byte, error) {
	typ, err := json.Marshal(ev.Type)
	if err != nil {
		return nil, fmt.Errorf("encode event type: %w", err)
	}
	meta, err := json.Marshal(ev.Metadata)
	if err != nil {
		return nil, fmt.Errorf("encode event metadata: %w", err)
	}
	payload := []byte(ev.Payload)
	if len(payload) == 0 {
		payload = []byte("null")
	}
	b := make([]byte, 0, len(typ)+len(payload)+len(meta)+36)
	b = append(b, `{"type":`...)
	b = append(b, typ...)
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	b = append(b, `,"metadata":`...)
	b = append(b, meta...)
	return append(b, '}'), nil
}

// DecodeEvent parses a stream entry's envelope.
func DecodeEvent(data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, fmt.Errorf("decode event: %w", err)
	}
	if ev.Type == "" {
		return ev, fmt.Errorf("decode event: missing type")
	}
	return ev, nil
}

// Response is the answer pushed to ResponseKey(correlationId): exactly one of
// Result and Error is set.
type Response struct {
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}
