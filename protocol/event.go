package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event is the envelope of everything that travels on the bus: a request to a
// handler, a notification, or a state change another component emitted.
type Event struct {
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	Metadata Metadata        `json:"metadata"`
}

// NewEvent returns an event of type eventType carrying payload (valid JSON),
// with a fresh ID and the current time, from source for sessionID (which may
// be empty).
func NewEvent(eventType string, payload json.RawMessage, source, sessionID string) Event {
	return Event{
		Type:    eventType,
		Payload: payload,
		Metadata: Metadata{
			ID:        NewID(),
			Timestamp: time.Now().UnixMilli(),
			Source:    source,
			SessionID: sessionID,
		},
	}
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
	// longer waits for the answer (0 = none); cbd drops a request read
	// after it without running its handler (see EventDeadline).
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

// metadataKey is how EncodeEvent (and encoding/json) writes the envelope's
// metadata member, which EncodeEvent puts last.
const metadataKey = `"metadata":{`

// EventDeadline returns the metadata.deadline (unix ms, 0 = none) of a
// stream entry's envelope without decoding its payload, which may be
// megabytes: cbd uses it to drop requests whose caller has given up before
// spending a decode on them. Envelopes written by EncodeEvent (and by
// encoding/json, since metadata is Event's last field) end with their
// metadata object, which is found and decoded alone; any other layout is
// decoded in full. For an envelope DecodeEvent accepts that has one
// metadata member, the result is DecodeEvent's Metadata.Deadline; an
// envelope that is not JSON has no deadline.
func EventDeadline(data string) int64 {
	var meta struct {
		Deadline int64 `json:"deadline"`
	}
	if i := strings.LastIndex(data, metadataKey); i > 0 && (data[i-1] == ',' || data[i-1] == '{') && data[len(data)-1] == '}' {
		// The key is structural (a quote inside a string is escaped, so
		// `,"` or `{"` cannot occur there), and when its object is followed
		// by exactly the envelope's closing brace it is a member of the
		// envelope itself, not of an object nested in the payload.
		obj := data[i+len(metadataKey)-1 : len(data)-1]
		if json.Unmarshal([]byte(obj), &meta) == nil {
			return meta.Deadline
		}
	}
	var env struct {
		Metadata struct {
			Deadline int64 `json:"deadline"`
		} `json:"metadata"`
	}
	if json.Unmarshal([]byte(data), &env) != nil {
		return 0
	}
	return env.Metadata.Deadline
}
