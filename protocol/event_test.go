package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEncodeEventRoundTrip(t *testing.T) {
	ev := Event{Type: "hook.pre_tool\"x", Payload: json.RawMessage(`{"a": [1, 2]}`),
		Metadata: Metadata{ID: "id1", Timestamp: 42, Source: "cb", SessionID: "s", CorrelationID: "c", Deadline: 7}}
	b, err := EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON %s", b)
	}
	got, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, ev)
	}
}

func TestDecodeEventErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"payload":{}}`, `{"type":1}`} {
		if _, err := DecodeEvent([]byte(in)); err == nil {
			t.Errorf("DecodeEvent(%q) accepted", in)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"task.create","payload":{"text":"x"},"metadata":{"id":"1","timestamp":1}}`))
	f.Add([]byte(`{"type":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err == nil && ev.Type == "" {
			t.Fatal("accepted an event without type")
		}
	})
}
