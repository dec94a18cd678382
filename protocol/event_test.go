package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
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

func TestEventDeadline(t *testing.T) {
	ev := Event{Type: "hook.pre_tool", Payload: json.RawMessage(`{"metadata":{"deadline":1},"x":"\",\"metadata\":{"}`),
		Metadata: Metadata{ID: "id1", Source: `"metadata":{"deadline":2}`, Deadline: 1700000000123}}
	enc, err := EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	std, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want int64
	}{
		{string(enc), 1700000000123},
		{string(std), 1700000000123},
		{`{"type":"a","metadata":{"deadline":5},"payload":{"metadata":{"deadline":9}}}`, 5},
		{`{"type":"a","payload":{"metadata":{"deadline":9}},"metadata":{"id":"x"}}`, 0},
		{`{"type":"a","payload":{},"metadata":{"deadline":7} }`, 7},
		{`{"type":"a","payload":{}}`, 0},
		{`not json`, 0},
		{``, 0},
		{`{"type":"a","metadata":{"deadline":"soon"}}`, 0},
	} {
		if got := EventDeadline(c.in); got != c.want {
			t.Errorf("EventDeadline(%s) = %d, want %d", c.in, got, c.want)
		}
	}
}

// topLevelCount counts the members named key of the JSON object data
// (-1 if data is not one): encoding/json merges duplicate members.
func topLevelCount(data, key string) int {
	dec := json.NewDecoder(strings.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		if tok == key {
			n++
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return -1
		}
	}
	return n
}

// FuzzEventDeadline: the shortcut EventDeadline takes through an
// envelope's end agrees with a full decode for every envelope DecodeEvent
// accepts that has a single metadata member, and never panics on others.
func FuzzEventDeadline(f *testing.F) {
	for _, s := range []string{
		`{"type":"a","payload":{},"metadata":{"id":"x","deadline":5}}`,
		`{"type":"a","metadata":{"deadline":5},"payload":{"metadata":{"deadline":9}}}`,
		`{"type":"a","payload":{"a":"\",\"metadata\":{"},"metadata":{"source":"{\"metadata\":{"}}`,
		`{"type":"a","payload":[{"metadata":{"deadline":3}}],"metadata":{}}`,
		`{"metadata":{"deadline":1}}`, `}`, `,"metadata":{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		got := EventDeadline(data)
		ev, err := DecodeEvent([]byte(data))
		if err != nil || topLevelCount(data, "metadata") != 1 {
			return
		}
		if got != ev.Metadata.Deadline {
			t.Fatalf("EventDeadline(%q) = %d, DecodeEvent says %d", data, got, ev.Metadata.Deadline)
		}
	})
}

// BenchmarkEventDeadline compares reading the deadline of a request with a
// 100 kB payload (a Write hook's input) with decoding the whole envelope.
func BenchmarkEventDeadline(b *testing.B) {
	payload, _ := json.Marshal(map[string]string{"content": strings.Repeat("x", 100<<10)})
	data, err := EncodeEvent(Event{Type: "hook.pre_tool", Payload: payload, Metadata: Metadata{ID: "i", Deadline: 1}})
	if err != nil {
		b.Fatal(err)
	}
	raw := string(data)
	b.Run("EventDeadline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if EventDeadline(raw) != 1 {
				b.Fatal("wrong deadline")
			}
		}
	})
	b.Run("DecodeEvent", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := DecodeEvent([]byte(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
