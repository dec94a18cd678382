// Package eventcap bounds the copy of a request that stays in its stream
// for events.retention: long strings are cut short with a marker, and what
// still does not fit is dropped from the end, so the kept copy stays valid
// JSON of about the same shape, at most a given size.
package eventcap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Marker is what replaces the cut part of a string: Marker(n) for n bytes.
func Marker(n int) string { return "…[truncated " + strconv.Itoa(n) + " bytes]" }

// minString is the shortest a long string is cut to.
const minString = 32

// Payload returns payload (JSON) cut to at most max bytes: unchanged when
// it fits; else every string longer than a limit (as long as the result
// fits allows, at least minString bytes) keeps its start followed by
// Marker; members and elements that still do not fit are left out from the
// end of their container, with a marker in their place. When nothing
// shaped like payload fits, or payload is not JSON, the result is one JSON
// string: Marker(len(payload)).
func Payload(payload []byte, max int) []byte {
	if len(payload) <= max {
		return payload
	}
	whole, _ := json.Marshal(Marker(len(payload)))
	if !gjson.ValidBytes(payload) {
		return whole
	}
	// gjson works on strings; payload is neither changed nor kept meanwhile,
	// and a copy of what may be megabytes is what this package is to spare.
	r := gjson.Parse(unsafe.String(unsafe.SliceData(payload), len(payload)))
	var b bytes.Buffer
	for limit := max / 2; limit >= minString; limit /= 4 {
		b.Reset()
		w := writer{b: &b, limit: limit, budget: -1}
		w.value(r, 0)
		if b.Len() <= max {
			return bytes.Clone(b.Bytes())
		}
	}
	b.Reset()
	w := writer{b: &b, limit: minString, budget: max}
	w.value(r, 0)
	if b.Len() <= max {
		return bytes.Clone(b.Bytes())
	}
	return whole
}

// writer writes a value with strings cut to limit bytes and, when budget
// is not -1, containers cut so the output stays near budget bytes.
type writer struct {
	b      *bytes.Buffer
	limit  int
	budget int
}

// reserve is room kept per open container for its closing marker.
const reserve = 48

// full reports whether another member would overrun the budget at depth.
func (w *writer) full(depth int) bool {
	return w.budget >= 0 && w.b.Len()+reserve*(depth+1) > w.budget
}

func (w *writer) value(r gjson.Result, depth int) {
	switch {
	case r.IsObject():
		w.members(r, depth, '{', '}', `"…":"[truncated %d members]"`, true)
	case r.IsArray():
		w.members(r, depth, '[', ']', `"…[truncated %d elements]"`, false)
	case r.Type == gjson.String && len(r.Raw) > w.limit+2:
		s := r.Raw[1 : len(r.Raw)-1]
		if strings.IndexByte(s, '\\') >= 0 {
			s = r.String() // escapes: decode (a copy); else the raw text is the string
		}
		keep := w.limit
		if w.budget >= 0 {
			keep = min(keep, max(w.budget-w.b.Len()-reserve*(depth+1), 0))
		}
		if keep >= len(s) {
			w.b.WriteString(r.Raw)
			return
		}
		for keep > 0 && !utf8.RuneStart(s[keep]) {
			keep--
		}
		enc, _ := json.Marshal(s[:keep] + Marker(len(s)-keep))
		w.b.Write(enc)
	default:
		w.b.WriteString(r.Raw)
	}
}

// members writes an object's or array's members between open and close,
// while the budget lasts; the rest become one marker saying how many
// (format, with their count).
func (w *writer) members(r gjson.Result, depth int, open, close byte, format string, keys bool) {
	w.b.WriteByte(open)
	n, left := 0, 0
	r.ForEach(func(key, value gjson.Result) bool {
		if left > 0 || w.full(depth) {
			left++
			return true
		}
		if n > 0 {
			w.b.WriteByte(',')
		}
		n++
		if keys {
			w.b.WriteString(key.Raw)
			w.b.WriteByte(':')
		}
		w.value(value, depth+1)
		return true
	})
	if left > 0 {
		if n > 0 {
			w.b.WriteByte(',')
		}
		fmt.Fprintf(w.b, format, left)
	}
	w.b.WriteByte(close)
}
