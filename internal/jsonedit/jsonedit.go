// Package jsonedit edits JSON text in place: a value is parsed into an
// ordered tree whose nodes keep their original text; on printing, only
// the containers on the path to a change are re-printed (one member per
// line, in the indentation given, like json.MarshalIndent) and everything
// else is copied byte for byte, duplicate keys and odd spacing included.
// cb install and cb uninstall use it on Claude Code's settings files, so a
// second install changes nothing and install then uninstall gives back
// the same bytes.
//
// github.com/tailscale/hujson was considered: its Patch inserts values
// without line breaks or indentation, and its Format re-lays-out the whole
// document in its own style, so neither keeps a settings file's layout.
package jsonedit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Kind is the kind of a Node.
type Kind uint8

// The kinds of Node.
const (
	Scalar Kind = iota // a string, number, boolean or null
	Object
	Array
)

// Member is one member of an object.
type Member struct {
	Key string
	Val *Node
}

// Node is one JSON value. Read its fields; change it only through its
// methods, which mark it for re-printing.
type Node struct {
	Kind    Kind
	Members []Member // objects, in order (duplicates kept)
	Elems   []*Node  // arrays
	Raw     []byte   // the original text; nil for new containers
	dirty   bool     // Members or Elems changed
}

// Parse parses one valid JSON value (check validity with json.Valid or
// json.Unmarshal first: Parse reports only what its decoder trips on).
func Parse(raw []byte) (*Node, error) {
	raw = bytes.Trim(raw, " \t\r\n")
	if len(raw) == 0 {
		return nil, errors.New("empty JSON value")
	}
	n := &Node{Raw: raw}
	if raw[0] != '{' && raw[0] != '[' {
		return n, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	n.Kind = Array
	if raw[0] == '{' {
		n.Kind = Object
	}
	for dec.More() {
		var key string
		if n.Kind == Object {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ = tok.(string)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		child, err := Parse(v)
		if err != nil {
			return nil, err
		}
		if n.Kind == Object {
			n.Members = append(n.Members, Member{key, child})
		} else {
			n.Elems = append(n.Elems, child)
		}
	}
	return n, nil
}

// NewObject is a new, empty object.
func NewObject() *Node { return &Node{Kind: Object, dirty: true} }

// NewArray is a new, empty array.
func NewArray() *Node { return &Node{Kind: Array, dirty: true} }

// NewString is a string value.
func NewString(s string) *Node { return &Node{Kind: Scalar, Raw: Quote(s)} }

// NewInt is an integer value.
func NewInt(i int) *Node { return &Node{Kind: Scalar, Raw: []byte(strconv.Itoa(i))} }

// Quote is s as a JSON string, without HTML escaping.
func Quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	return bytes.TrimRight(b.Bytes(), "\n")
}

// Get returns the value of key in an object (the last one, as JSON.parse
// does), or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			return n.Members[i].Val
		}
	}
	return nil
}

// Set replaces the value of key in place, or appends it.
func (n *Node) Set(key string, v *Node) {
	n.dirty = true
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			n.Members[i].Val = v
			return
		}
	}
	n.Members = append(n.Members, Member{key, v})
}

// Delete removes every member named key.
func (n *Node) Delete(key string) {
	kept := n.Members[:0]
	for _, m := range n.Members {
		if m.Key != key {
			kept = append(kept, m)
		}
	}
	n.Members = kept
	n.dirty = true
}

// Push appends v to an array.
func (n *Node) Push(v *Node) {
	n.Elems = append(n.Elems, v)
	n.dirty = true
}

// RemoveAt removes the element at i of an array.
func (n *Node) RemoveAt(i int) {
	n.Elems = append(n.Elems[:i], n.Elems[i+1:]...)
	n.dirty = true
}

// IsNull reports whether n is null.
func (n *Node) IsNull() bool { return n.Kind == Scalar && string(n.Raw) == "null" }

// KindName names n's kind for messages: "an object", "a string", ….
func (n *Node) KindName() string {
	switch {
	case n.Kind == Object:
		return "an object"
	case n.Kind == Array:
		return "an array"
	case n.IsNull():
		return "null"
	case n.Raw[0] == '"':
		return "a string"
	case string(n.Raw) == "true" || string(n.Raw) == "false":
		return "a boolean"
	}
	return "a number"
}

// GetString returns the string value of key.
func (n *Node) GetString(key string) (string, bool) {
	v := n.Get(key)
	if v == nil || v.Kind != Scalar || len(v.Raw) == 0 || v.Raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v.Raw, &s) != nil {
		return "", false
	}
	return s, true
}

// GetStrings returns key's value as a list of strings; ok is false when key
// is absent (non-string elements are returned as "").
func (n *Node) GetStrings(key string) ([]string, bool) {
	v := n.Get(key)
	if v == nil || v.Kind != Array {
		return nil, false
	}
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		if e.Kind == Scalar {
			_ = json.Unmarshal(e.Raw, &out[i])
		}
	}
	return out, true
}

// Dirty reports whether n's own members or elements were changed.
func (n *Node) Dirty() bool { return n.dirty }

// Changed reports whether n or anything in it was changed.
func (n *Node) Changed() bool {
	if n.dirty || n.Raw == nil {
		return true
	}
	for _, m := range n.Members {
		if m.Val.Changed() {
			return true
		}
	}
	for _, e := range n.Elems {
		if e.Changed() {
			return true
		}
	}
	return false
}

// Style is how re-printed containers are laid out.
type Style struct {
	Indent  string // one level of indentation
	Newline string // "\n" or "\r\n"
}

// Render prints n at nesting depth: unchanged values as they were, changed
// containers one member per line like json.MarshalIndent.
func (n *Node) Render(b *bytes.Buffer, st Style, depth int) {
	if n.Kind == Scalar || !n.Changed() {
		b.Write(n.Raw)
		return
	}
	open, closing, count := byte('['), byte(']'), len(n.Elems)
	if n.Kind == Object {
		open, closing, count = '{', '}', len(n.Members)
	}
	b.WriteByte(open)
	if count == 0 {
		b.WriteByte(closing)
		return
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(st.Newline)
		b.WriteString(strings.Repeat(st.Indent, depth+1))
		if n.Kind == Object {
			b.Write(Quote(n.Members[i].Key))
			b.WriteString(": ")
			n.Members[i].Val.Render(b, st, depth+1)
		} else {
			n.Elems[i].Render(b, st, depth+1)
		}
	}
	b.WriteString(st.Newline)
	b.WriteString(strings.Repeat(st.Indent, depth))
	b.WriteByte(closing)
}

// DetectIndent is the indentation unit of a JSON text: the whitespace
// starting its first indented line, if that is all spaces or all tabs
// ("  " otherwise).
func DetectIndent(body []byte) string {
	i := bytes.IndexByte(body, '\n')
	if i < 0 {
		return "  "
	}
	rest := body[i+1:]
	ws := rest[:len(rest)-len(bytes.TrimLeft(rest, " \t"))]
	if len(ws) == 0 || (len(bytes.Trim(ws, " ")) != 0 && len(bytes.Trim(ws, "\t")) != 0) {
		return "  "
	}
	return string(ws)
}
