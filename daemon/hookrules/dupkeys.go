package hookrules

import (
	"bytes"
	"errors"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Duplicate keys: JSON allows an object to name a key twice, and parsers
// disagree on which value counts. Claude Code is JavaScript, whose
// JSON.parse keeps the last; gjson (the rule engine) finds the first, and
// Go's encoding/json matches struct fields case-insensitively. So every
// duplicate is resolved before anything looks at the input: LastWins
// rewrites it to what JSON.parse makes of it (Decide does so; the hook
// handlers can also refuse to judge it, per hook.duplicate_keys).

// errNotJSON: the input is not valid JSON (the validator lets nothing
// else through; this guards direct callers).
var errNotJSON = errors.New("hook input is not valid JSON")

// DuplicateKey returns a key named twice in one object of raw ("" and
// false when none is), looking at every object at every depth; an error
// when raw is not valid JSON.
func DuplicateKey(raw []byte) (string, bool, error) {
	if !gjson.ValidBytes(raw) {
		return "", false, errNotJSON
	}
	k, ok := findDuplicate(parse(raw))
	return k, ok, nil
}

// parse reads raw with gjson without copying it (gjson.ParseBytes copies
// what may be megabytes); raw is neither changed nor kept meanwhile.
func parse(raw []byte) gjson.Result {
	return gjson.Parse(unsafe.String(unsafe.SliceData(raw), len(raw)))
}

func findDuplicate(r gjson.Result) (dup string, found bool) {
	switch {
	case r.IsObject():
		var seen map[string]struct{}
		r.ForEach(func(key, value gjson.Result) bool {
			name := key.String()
			if seen == nil {
				seen = map[string]struct{}{}
			}
			if _, ok := seen[name]; ok {
				dup, found = name, true
				return false
			}
			seen[name] = struct{}{}
			dup, found = findDuplicate(value)
			return !found
		})
	case r.IsArray():
		r.ForEach(func(_, value gjson.Result) bool {
			dup, found = findDuplicate(value)
			return !found
		})
	}
	return dup, found
}

// LastWins rewrites raw as JSON.parse reads it: in every object a key named
// more than once keeps its last value (at the place of its first
// occurrence, as a JavaScript object does). Everything else is copied as
// is. raw must be valid JSON.
func LastWins(raw []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(raw))
	writeLastWins(&b, parse(raw))
	return b.Bytes()
}

func writeLastWins(b *bytes.Buffer, r gjson.Result) {
	switch {
	case r.IsObject():
		type member struct {
			rawKey string
			value  gjson.Result
		}
		var members []member
		index := map[string]int{}
		r.ForEach(func(key, value gjson.Result) bool {
			name := key.String()
			if i, ok := index[name]; ok {
				members[i].value = value
				return true
			}
			index[name] = len(members)
			members = append(members, member{rawKey: key.Raw, value: value})
			return true
		})
		b.WriteByte('{')
		for i, m := range members {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.rawKey)
			b.WriteByte(':')
			writeLastWins(b, m.value)
		}
		b.WriteByte('}')
	case r.IsArray():
		b.WriteByte('[')
		i := 0
		r.ForEach(func(_, value gjson.Result) bool {
			if i > 0 {
				b.WriteByte(',')
			}
			i++
			writeLastWins(b, value)
			return true
		})
		b.WriteByte(']')
	default:
		b.WriteString(r.Raw)
	}
}
