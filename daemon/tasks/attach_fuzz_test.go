package tasks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// FuzzCheckAttachment feeds task.attach's value check outside input: it
// never panics; what it accepts is compact JSON, the same value, within
// the cap and of the type's shape; what it refuses is -32602 naming a
// field under /type or /value.
func FuzzCheckAttachment(f *testing.F) {
	for _, seed := range []struct {
		typ   uint8
		value string
		max   int
	}{
		{0, `"a note"`, 100}, {0, `"  "`, 100}, {0, `"a\u0000b"`, 100}, {0, `"C:\\u0000"`, 100},
		{1, `["a.go", "b/c.go"]`, 100}, {1, `[]`, 100}, {1, `["", 1]`, 100},
		{2, `["https://example.com/x?y=1#z", "file:///tmp/a"]`, 100}, {2, `["mailto:a@b"]`, 100}, {2, `["http://[::1"]`, 100},
		{3, `{"a": [1, 2.5e3, null, true]}`, 10}, {4, `{"k\u0000": 1}`, 0}, {5, `1`, 0}, {4, `{`, 0},
	} {
		f.Add(seed.typ, []byte(seed.value), seed.max)
	}
	types := append(append([]string{}, api.AttachmentTypes...), "other")
	f.Fuzz(func(t *testing.T, typSel uint8, value []byte, max int) {
		typ := types[int(typSel)%len(types)]
		out, err := tasks.CheckAttachment(typ, value, max)
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != protocol.CodeInvalidParams {
				t.Fatalf("%s %q: %v, want -32602", typ, value, err)
			}
			if !strings.Contains(pe.Message, "/type") && !strings.Contains(pe.Message, "/value") {
				t.Fatalf("%s %q: %q names no field", typ, value, pe.Message)
			}
			return
		}
		if typ == "other" {
			t.Fatalf("type %q accepted", typ)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil || !bytes.Equal(compact.Bytes(), out) {
			t.Fatalf("%q: accepted as %q, not compact JSON (%v)", value, out, err)
		}
		if max > 0 && len(out) > max {
			t.Fatalf("%q: %d bytes accepted past the cap %d", value, len(out), max)
		}
		var in, got any
		if json.Unmarshal(value, &in) != nil || json.Unmarshal(out, &got) != nil || !reflect.DeepEqual(in, got) {
			t.Fatalf("%q: accepted as %q, another value", value, out)
		}
		if strings.ContainsRune(string(joinStrings(got)), 0) {
			t.Fatalf("%q: a NUL accepted", value)
		}
		switch typ {
		case api.AttachmentNote:
			if s, ok := got.(string); !ok || strings.TrimSpace(s) == "" {
				t.Fatalf("note %q accepted", value)
			}
		case api.AttachmentFiles, api.AttachmentLinks:
			items, ok := got.([]any)
			if !ok || len(items) == 0 {
				t.Fatalf("%s %q accepted", typ, value)
			}
			for _, it := range items {
				s, ok := it.(string)
				if !ok || strings.TrimSpace(s) == "" {
					t.Fatalf("%s %q accepted", typ, value)
				}
				if typ == api.AttachmentLinks {
					u, err := url.Parse(s)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
						t.Fatalf("link %q accepted", s)
					}
				}
			}
		}
	})
}

// joinStrings joins every string (and object key) of a decoded
// JSON value.
func joinStrings(v any) []byte {
	var b bytes.Buffer
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				b.WriteString(k)
				walk(e)
			}
		}
	}
	walk(v)
	return b.Bytes()
}
