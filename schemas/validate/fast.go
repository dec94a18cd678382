package validate

// The fast path: a small validator compiled from the same schema documents,
// which works on the JSON bytes with gjson and only ever answers "valid" or
// "not sure". santhosh-tekuri/jsonschema stays the reference: whenever the
// fast path is not sure (the document fails it, is not valid JSON, or its
// schema uses a keyword the fast path does not know) check runs the full
// validator, which produces every error. The fast path may be stricter than
// the reference, never looser.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// typeSet is a set of JSON Schema types.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBoolean
	tObject
	tArray
	tNumber
	tInteger
	tString
)

var typeNames = map[string]typeSet{"null": tNull, "boolean": tBoolean, "object": tObject,
	"array": tArray, "number": tNumber, "integer": tInteger, "string": tString}

// literal is one scalar value of an enum or const: a decoded string, the
// number's text as the schema writes it, or just the type for true, false
// and null.
type literal struct {
	typ gjson.Type
	s   string
}

// bound is a minimum, maximum, exclusiveMinimum or exclusiveMaximum; the
// fast path knows integer limits only.
type bound struct {
	kw string // the keyword
	v  int64
}

// fastProp is a name listed in properties or required.
type fastProp struct {
	node *fastNode // the property's schema; nil when only required
	bit  uint64    // the name's bit in fastNode.required, or 0
}

// fastNode is one compiled schema. Absent keywords leave their field at its
// zero value (or -1 for the length and count limits).
type fastNode struct {
	never              bool        // the schema false
	types              typeSet     // allowed types; 0 allows any
	enums              [][]literal // each list (enum, const) must hold the value
	bounds             []bound
	minLen, maxLen     int
	pattern            *regexp.Regexp
	props              map[string]fastProp
	required           uint64    // one bit per required name
	additional         *fastNode // additionalProperties; nil allows any
	items              *fastNode
	minItems, maxItems int
	allOf              []*fastNode // allOf, then $ref
}

// maxDepth is encoding/json's nesting limit: deeper documents are not valid
// JSON to the reference validator.
const maxDepth = 10000

// validDoc reports whether data is surely valid against n.
func (n *fastNode) validDoc(data []byte) bool {
	if !shallow(data) || !gjson.ValidBytes(data) {
		return false
	}
	// gjson works on strings; data is neither changed nor kept meanwhile.
	return n.valid(gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data))))
}

// shallow reports whether data nests at most maxDepth deep; it runs before
// gjson, whose validation recurses once per level.
func shallow(data []byte) bool {
	if len(data) <= 2*maxDepth {
		return true
	}
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				return false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return true
}

// isInteger reports whether a JSON number's text has no fraction or exponent.
func isInteger(raw string) bool { return !strings.ContainsAny(raw, ".eE") }

// valid reports whether r is surely valid against n.
func (n *fastNode) valid(r gjson.Result) bool {
	if n.never {
		return false
	}
	var t typeSet
	switch r.Type {
	case gjson.Null:
		t = tNull
	case gjson.False, gjson.True:
		t = tBoolean
	case gjson.Number:
		t = tNumber
	case gjson.String:
		t = tString
	case gjson.JSON:
		if r.IsObject() {
			t = tObject
		} else {
			t = tArray
		}
	default:
		return false
	}
	if n.types != 0 && n.types&t == 0 && !(t == tNumber && n.types&tInteger != 0 && isInteger(r.Raw)) {
		return false
	}
	for _, enum := range n.enums {
		if !matchesAny(enum, r) {
			return false
		}
	}
	switch t {
	case tNumber:
		if len(n.bounds) > 0 && !n.validNumber(r.Raw) {
			return false
		}
	case tString:
		if (n.minLen >= 0 || n.maxLen >= 0 || n.pattern != nil) && !n.validString(r.Str) {
			return false
		}
	case tObject:
		if (n.props != nil || n.required != 0 || n.additional != nil) && !n.validObject(r) {
			return false
		}
	case tArray:
		if (n.items != nil || n.minItems >= 0 || n.maxItems >= 0) && !n.validArray(r) {
			return false
		}
	}
	for _, sub := range n.allOf {
		if !sub.valid(r) {
			return false
		}
	}
	return true
}

func matchesAny(enum []literal, r gjson.Result) bool {
	for _, l := range enum {
		if l.typ == r.Type && (l.typ != gjson.String || l.s == r.Str) && (l.typ != gjson.Number || l.s == r.Raw) {
			return true
		}
	}
	return false
}

// validNumber checks the bounds on integers that fit an int64, exactly; any
// other number is not sure.
func (n *fastNode) validNumber(raw string) bool {
	x, err := strconv.ParseInt(raw, 10, 64) // fails on fractions and exponents too
	if err != nil {
		return false
	}
	for _, b := range n.bounds {
		var ok bool
		switch b.kw {
		case "minimum":
			ok = x >= b.v
		case "maximum":
			ok = x <= b.v
		case "exclusiveMinimum":
			ok = x > b.v
		default:
			ok = x < b.v
		}
		if !ok {
			return false
		}
	}
	return true
}

// validString counts code points as the reference does; a string that is not
// valid UTF-8 (which encoding/json would have repaired) is not sure.
func (n *fastNode) validString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	if k := utf8.RuneCountInString(s); (n.minLen >= 0 && k < n.minLen) || (n.maxLen >= 0 && k > n.maxLen) {
		return false
	}
	return n.pattern == nil || n.pattern.MatchString(s)
}

// validObject checks every member, duplicates included, and the required names.
func (n *fastNode) validObject(r gjson.Result) bool {
	ok, seen := true, uint64(0)
	r.ForEach(func(key, value gjson.Result) bool {
		p, known := n.props[key.Str]
		seen |= p.bit
		switch {
		case p.node != nil:
			ok = p.node.valid(value)
		case !known && !utf8.ValidString(key.Str):
			ok = false // encoding/json would decode another name
		case n.additional == nil:
		default:
			ok = n.additional.valid(value)
		}
		return ok
	})
	return ok && seen == n.required
}

func (n *fastNode) validArray(r gjson.Result) bool {
	ok, count := true, 0
	r.ForEach(func(_, value gjson.Result) bool {
		count++
		ok = n.items == nil || n.items.valid(value)
		return ok
	})
	return ok && count >= n.minItems && (n.maxItems < 0 || count <= n.maxItems)
}

// ignored are the keywords that never make a document invalid here:
// annotations, and format, which the reference asserts only on request.
var ignored = map[string]bool{"description": true, "title": true, "default": true, "examples": true,
	"format": true, "$defs": true, "$comment": true, "deprecated": true, "readOnly": true, "writeOnly": true}

// fastCompiler compiles the schema documents (file name → decoded JSON) into
// fastNodes. Each root gets its own compiler, so that a root that fails
// shares no half-built node with another.
type fastCompiler struct {
	docs  map[string]any
	nodes map[string]*fastNode // by "file#pointer", for $ref and recursion
}

// compileFast compiles the fast validator of every method and direction
// from docs (schema file name → document decoded with json.Number, as
// jsonschema.UnmarshalJSON gives); a (method, direction) it cannot handle
// is absent from in or out, with its reason in why (keyed "method input"
// or "method output").
func compileFast(methods []string, docs map[string]any) (in, out map[string]*fastNode, why map[string]error) {
	in, out, why = map[string]*fastNode{}, map[string]*fastNode{}, map[string]error{}
	for _, m := range methods {
		for _, dir := range []string{"input", "output"} {
			c := &fastCompiler{docs: docs, nodes: map[string]*fastNode{}}
			n, err := c.ref(m+".json", "#/"+dir)
			switch {
			case err != nil:
				why[m+" "+dir] = err
			case dir == "input":
				in[m] = n
			default:
				out[m] = n
			}
		}
	}
	return in, out, why
}

// ref compiles the schema a $ref names, relative to document file. Only
// "#/pointer" and "<file>#/pointer" with a file of methods/ are known.
func (c *fastCompiler) ref(file, ref string) (*fastNode, error) {
	name, ptr, _ := strings.Cut(ref, "#")
	if name != "" {
		file = name
	}
	doc, ok := c.docs[file]
	if !ok || strings.ContainsAny(file, "/:?%") || (ptr != "" && ptr[0] != '/') || strings.Contains(ptr, "%") {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	key := file + "#" + ptr
	if n := c.nodes[key]; n != nil {
		return n, nil
	}
	v := doc
	if ptr != "" {
		for i, tok := range strings.Split(ptr[1:], "/") {
			obj, _ := v.(map[string]any)
			if _, id := obj["$id"]; id && i > 0 {
				return nil, fmt.Errorf("$ref %q: passes an $id", ref)
			}
			if v, ok = obj[strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)]; !ok {
				return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
			}
		}
	}
	n := newFastNode()
	c.nodes[key] = n
	return n, c.fill(n, v, file, key, ptr == "")
}

func newFastNode() *fastNode { return &fastNode{minLen: -1, maxLen: -1, minItems: -1, maxItems: -1} }

// schema compiles a subschema at where (for error messages).
func (c *fastCompiler) schema(v any, file, where string) (*fastNode, error) {
	n := newFastNode()
	return n, c.fill(n, v, file, where, false)
}

// fill compiles the schema v into n. root tells whether v is a whole
// document, the only place where $id (naming the file itself) and $schema
// (naming draft 2020-12) may appear.
func (c *fastCompiler) fill(n *fastNode, v any, file, where string, root bool) error {
	if b, ok := v.(bool); ok {
		n.never = !b
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: not a schema", where)
	}
	for k, val := range obj {
		at := where + "/" + k
		var err error
		switch k {
		case "type":
			n.types, err = compileTypes(val)
		case "enum":
			list, ok := val.([]any)
			if !ok {
				return fmt.Errorf("%s: not an array", at)
			}
			var lits []literal
			lits, err = literals(list)
			n.enums = append(n.enums, lits)
		case "const":
			var lits []literal
			lits, err = literals([]any{val})
			n.enums = append(n.enums, lits)
		case "properties":
			props, _ := val.(map[string]any)
			if props == nil {
				return fmt.Errorf("%s: not an object", at)
			}
			if n.props == nil {
				n.props = map[string]fastProp{}
			}
			for name, sub := range props {
				p := n.props[name]
				if p.node, err = c.schema(sub, file, at+"/"+name); err != nil {
					return err
				}
				n.props[name] = p
			}
		case "required":
			list, _ := val.([]any)
			if n.props == nil {
				n.props = map[string]fastProp{}
			}
			for i, name := range list {
				s, ok := name.(string)
				if !ok || i >= 64 {
					return fmt.Errorf("%s: unsupported", at)
				}
				p := n.props[s]
				if p.bit == 0 {
					p.bit = 1 << i
					n.required |= p.bit
				}
				n.props[s] = p
			}
		case "additionalProperties":
			n.additional, err = c.schema(val, file, at)
		case "items":
			n.items, err = c.schema(val, file, at)
		case "minItems":
			n.minItems, err = count(val)
		case "maxItems":
			n.maxItems, err = count(val)
		case "minLength":
			n.minLen, err = count(val)
		case "maxLength":
			n.maxLen, err = count(val)
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			num, _ := val.(json.Number)
			x, perr := strconv.ParseInt(string(num), 10, 64)
			if perr != nil {
				return fmt.Errorf("%s: not an integer limit", at)
			}
			n.bounds = append(n.bounds, bound{kw: k, v: x})
		case "pattern":
			s, _ := val.(string)
			n.pattern, err = regexp.Compile(s)
		case "allOf":
			list, _ := val.([]any)
			if len(list) == 0 {
				return fmt.Errorf("%s: empty", at)
			}
			for i, sub := range list {
				var s *fastNode
				if s, err = c.schema(sub, file, at+"/"+strconv.Itoa(i)); err != nil {
					return err
				}
				n.allOf = append(n.allOf, s)
			}
		case "$ref":
			s, _ := val.(string)
			var target *fastNode
			if target, err = c.ref(file, s); err == nil {
				n.allOf = append(n.allOf, target)
			}
		case "$id":
			if !root || val != file {
				err = fmt.Errorf("unsupported $id %v", val)
			}
		case "$schema":
			if val != "https://json-schema.org/draft/2020-12/schema" {
				err = fmt.Errorf("unsupported $schema %v", val)
			}
		default:
			if !ignored[k] {
				err = fmt.Errorf("unsupported keyword")
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
	}
	return nil
}

func compileTypes(v any) (typeSet, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var set typeSet
	for _, name := range list {
		s, _ := name.(string)
		t := typeNames[s]
		if t == 0 {
			return 0, fmt.Errorf("unknown type %v", name)
		}
		set |= t
	}
	return set, nil
}

// literals converts scalar enum values; objects and arrays are unsupported.
func literals(list []any) ([]literal, error) {
	out := make([]literal, 0, len(list))
	for _, v := range list {
		switch x := v.(type) {
		case nil:
			out = append(out, literal{typ: gjson.Null})
		case bool:
			typ := gjson.False
			if x {
				typ = gjson.True
			}
			out = append(out, literal{typ: typ})
		case string:
			out = append(out, literal{typ: gjson.String, s: x})
		case json.Number:
			out = append(out, literal{typ: gjson.Number, s: x.String()})
		default:
			return nil, fmt.Errorf("non-scalar value %v", v)
		}
	}
	return out, nil
}

// count reads a non-negative integer keyword value.
func count(v any) (int, error) {
	num, _ := v.(json.Number)
	x, err := strconv.Atoi(string(num))
	if err != nil || x < 0 {
		return 0, fmt.Errorf("not a count: %v", v)
	}
	return x, nil
}
