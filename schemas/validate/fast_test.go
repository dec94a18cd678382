package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// shared compiles the validator and the corpus once for every test here.
var shared = sync.OnceValues(func() (*Validator, error) { return New() })

func sharedValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var dirs = []string{"input", "output"}

// reference is the verdict of santhosh-tekuri/jsonschema alone.
func (v *Validator) reference(method, dir string, data []byte) bool {
	sch := v.input[method]
	if dir == "output" {
		sch = v.output[method]
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	return err == nil && sch.Validate(inst) == nil
}

// slow is v without its fast path.
func (v *Validator) slow() *Validator {
	s := *v
	s.fastIn, s.fastOut = nil, nil
	return &s
}

// TestFastPathCoversEverySchema: every method's input and output schema is
// compiled for the fast path, so that a new keyword in a schema (which would
// silently send that method back to the slow path) fails here. Today that is
// all of them: audit.list, hook.* (notification, post_tool, pre_compact,
// pre_tool, session_end, session_start, stop, subagent_stop, todo_write,
// user_prompt), hooks.* (add, disable, enable, list, remove, test), system.*
// (discover, get_state, health, heartbeat, metrics, register, unregister,
// version) and task.* (assign, claim, complete, create, delete, fail, get,
// list, unassign, update), input and output. A schema may be left on the
// slow path only by listing it in slowOK with the reason.
func TestFastPathCoversEverySchema(t *testing.T) {
	slowOK := map[string]string{} // "method input|output" → why
	v := sharedValidator(t)
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range names {
		for _, dir := range dirs {
			if _, sure := v.fastValid(m, dir, []byte(`{}`)); !sure && slowOK[m+" "+dir] == "" {
				t.Errorf("%s %s has no fast path: %v", m, dir, v.fastUnsupported[m+" "+dir])
			}
		}
	}
	if len(v.fastUnsupported) != len(slowOK) {
		t.Errorf("unsupported %v, allowed %v", v.fastUnsupported, slowOK)
	}
}

// TestFastPathUnsupportedKeywords: a keyword the fast path does not know
// leaves the schema to the reference.
func TestFastPathUnsupportedKeywords(t *testing.T) {
	for _, s := range []string{
		`{"type":"object","patternProperties":{"^a":{"type":"string"}}}`,
		`{"anyOf":[{"type":"string"}]}`,
		`{"properties":{"a":{"not":{"type":"string"}}}}`,
		`{"items":{"$ref":"#/$defs/nope"}}`,
		`{"$ref":"other.json#/$defs/x"}`,
		`{"$ref":"common.json#task"}`,
		`{"enum":[{"a":1}]}`,
		`{"const":[1]}`,
		`{"pattern":"\\p{Nope}"}`,
		`{"minimum":0.5}`,
		`{"$id":"x.json"}`,
		`{"type":"integer","multipleOf":2}`,
	} {
		var doc any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		c := &fastCompiler{docs: map[string]any{"m.json": map[string]any{"input": doc}, "common.json": map[string]any{}}, nodes: map[string]*fastNode{}}
		if _, err := c.ref("m.json", "#/input"); err == nil {
			t.Errorf("%s: compiled, want unsupported", s)
		}
	}
}

// TestFormatIsNotAsserted: the fast path ignores "format" because the
// reference does (it asserts formats only after Compiler.AssertFormat).
func TestFormatIsNotAsserted(t *testing.T) {
	v := sharedValidator(t)
	doc := []byte(`{"id":"t-1","text":"x","status":"pending","priority":1,"attempts":0,"createdAt":"not a date","updatedAt":"yesterday"}`)
	if !v.reference("task.create", "output", doc) {
		t.Fatal("reference rejects a bad date-time: format is asserted, the fast path must not ignore it")
	}
	if ok, _ := v.fastValid("task.create", "output", doc); !ok {
		t.Error("fast path rejects a document only format would reject")
	}
}

// TestFastPathAcceptsValidDocuments: the fast path really answers for the
// documents the daemon sees every time.
func TestFastPathAcceptsValidDocuments(t *testing.T) {
	v := sharedValidator(t)
	for _, c := range []struct{ method, dir, doc string }{
		{"task.create", "output", benchTask},
		{"task.create", "input", `{"text":"write tests","priority":50,"metadata":{"a":{"b":[1,2,{"c":null}]}}}`},
		{"task.create", "input", `{"text":"é😀\n\"q\""}`},
		{"task.update", "input", `{"id":"t-12","updates":{"status":"in_progress","priority":0}}`},
		{"task.claim", "output", `{"tasks":[` + benchTask + `,` + benchTask + `]}`},
		{"task.list", "input", `{"status":"failed","limit":1000,"offset":0,"orderBy":"id","order":"asc"}`},
		{"hook.pre_tool", "input", `{"session_id":"s","tool_name":"Bash","tool_input":{"command":"ls -la"},"unknown":[1]}`},
		{"hook.pre_tool", "output", `{"decision":"deny","reason":"no","ruleIds":["r1"]}`},
		{"hook.user_prompt", "input", `{"prompt":"hello","cwd":"/tmp"}`},
		{"hook.stop", "output", `{}`},
		{"system.heartbeat", "input", `{"instanceId":"worker-1"}`},
		{"system.get_state", "output", `{"instances":[{"id":"a","roles":["w"],"health":"healthy","lastSeen":"x","ageMs":-5}],"queueDepth":3,"tasksByStatus":{"pending":3}}`},
		{"audit.list", "output", `{"records":[{"id":"a","time":"t","event":"e","decision":"allow","ruleIds":null}]}`},
	} {
		if !v.reference(c.method, c.dir, []byte(c.doc)) {
			t.Errorf("%s %s: reference rejects %s", c.method, c.dir, c.doc)
		}
		if ok, sure := v.fastValid(c.method, c.dir, []byte(c.doc)); !ok || !sure {
			t.Errorf("%s %s: fast path not sure of %s", c.method, c.dir, c.doc)
		}
	}
}

// TestFastPathIsNotSure: documents the reference accepts but the fast path
// leaves to it, and documents both reject.
func TestFastPathIsNotSure(t *testing.T) {
	v := sharedValidator(t)
	deep := `{"tool_name":"x","tool_input":{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}}`
	for _, c := range []struct {
		method, dir, doc string
		valid            bool // the reference's verdict
	}{
		{"task.create", "input", `{"text":"x","priority":1.0}`, true},
		{"task.create", "input", `{"text":"x","priority":1e2}`, true},
		{"task.create", "input", `{"text":"x","priority":50.5}`, false},
		{"task.create", "input", `{"text":"x","priority":9223372036854775808}`, false},
		{"task.create", "output", `{"id":"t-1","text":"x","status":"pending","priority":1,"attempts":99999999999999999999,"createdAt":"","updatedAt":""}`, true},
		{"task.create", "output", `{"id":"t-1","text":"x","status":"pending","priority":1,"attempts":2.0,"createdAt":"","updatedAt":""}`, true},
		{"task.create", "input", `{"text":"x","text":5}`, false}, // the last duplicate wins
		{"task.create", "input", `{"text":5,"text":"x"}`, true},
		{"task.create", "input", "{\"text\":\"\xff\"}", true},
		{"hook.pre_tool", "input", "{\"tool_name\":\"x\",\"tool_input\":{},\"\xff\":1}", true},
		{"hook.pre_tool", "input", deep, false}, // deeper than encoding/json allows
		{"hook.pre_tool", "input", `{"tool_name":"x","tool_input":{}} x`, false},
	} {
		if got := v.reference(c.method, c.dir, []byte(c.doc)); got != c.valid {
			t.Errorf("%s: reference says %v, want %v", c.doc, got, c.valid)
		}
		if ok, _ := v.fastValid(c.method, c.dir, []byte(c.doc)); ok {
			t.Errorf("%s %s: fast path sure of %.80s", c.method, c.dir, c.doc)
		}
	}
}

// TestFastPathDifferential runs the corpus through the fast path and the
// reference: the fast path may be sure only of what the reference accepts,
// and Input/Output answer exactly as without the fast path.
func TestFastPathDifferential(t *testing.T) {
	v := sharedValidator(t)
	slow := v.slow()
	c := corpus(t)
	sure, total := 0, 0
	for _, d := range c {
		total++
		ok, _ := v.fastValid(d.method, d.dir, d.doc)
		if ok {
			sure++
			if !v.reference(d.method, d.dir, d.doc) {
				t.Errorf("%s %s: fast path accepts what the reference rejects: %s", d.method, d.dir, d.doc)
			}
		}
		if d.valid && !ok {
			t.Errorf("%s %s: fast path not sure of a generated valid document %s", d.method, d.dir, d.doc)
		}
		fast, ref := v.Output, slow.Output
		if d.dir == "input" {
			fast, ref = v.Input, slow.Input
		}
		if got, want := fast(d.method, d.doc), ref(d.method, d.doc); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s %s: error %v, without the fast path %v", d.method, d.dir, d.doc, got, want)
		}
	}
	t.Logf("%d documents, fast path sure of %d", total, sure)
	if sure < total/10 {
		t.Errorf("fast path sure of only %d of %d documents", sure, total)
	}
}

// FuzzFastPathAgrees: whatever the fast path accepts, the reference accepts.
func FuzzFastPathAgrees(f *testing.F) {
	v := sharedValidator(f)
	names, err := schemas.Methods()
	if err != nil {
		f.Fatal(err)
	}
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	for i, d := range corpus(f) {
		if d.valid || i%40 == 0 {
			f.Add(uint8(index[d.method]), d.dir == "output", d.doc)
		}
	}
	f.Fuzz(func(t *testing.T, m uint8, output bool, doc []byte) {
		method, dir := names[int(m)%len(names)], "input"
		if output {
			dir = "output"
		}
		if ok, _ := v.fastValid(method, dir, doc); ok && !v.reference(method, dir, doc) {
			t.Errorf("%s %s: fast path accepts what the reference rejects: %q", method, dir, doc)
		}
	})
}

// doc is one corpus entry; valid marks the generated valid examples.
type doc struct {
	method, dir string
	doc         []byte
	valid       bool
}

var corpusOnce = sync.OnceValues(buildCorpus)

func corpus(t testing.TB) []doc {
	t.Helper()
	c, err := corpusOnce()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// palette holds the values every location of an example is replaced by.
var palette = func() []json.RawMessage {
	raw := []string{`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `10`, `11`, `50`, `100`, `101`, `1000`, `1001`,
		`50.5`, `1e2`, `1E2`, `1.0`, `100.0`, `0.0`, `-1.0`, `1e-2`, `9007199254740993`, `-9223372036854775809`, `1e400`,
		`""`, `"a"`, `" "`, `"a b"`, `"t-1"`, `"t-"`, `"t-1x"`, `"t-\u0031"`, `"\u00e9"`, `"é"`, `"😀"`, `"\ud83d\ude00"`,
		`"\ud800"`, `"a\u0000b"`, "\"\xff\"", `"pending"`, `"allow"`, `"healthy"`, `"asc"`,
		`[]`, `[""]`, `["a"]`, `[1]`, `[null]`, `{}`, `{"a":1}`, `{"metadata":{"k":{"n":[1,{"m":{}}]}}}`}
	for _, n := range []int{99, 100, 101, 199, 200, 201, 499, 500, 501} {
		raw = append(raw, `"`+strings.Repeat("x", n)+`"`, `"`+strings.Repeat("é", n)+`"`, `"`+strings.Repeat(`\ud83d\ude00`, n)+`"`)
	}
	out := make([]json.RawMessage, len(raw))
	for i, r := range raw {
		out[i] = json.RawMessage(r)
	}
	return out
}()

// buildCorpus makes, for every method and direction, a full and a minimal
// valid example from the schema, then every example with each location
// replaced by each palette value, deleted, or given an extra member, with a
// duplicate member, and a few malformed variants.
func buildCorpus() ([]doc, error) {
	names, err := schemas.Methods()
	if err != nil {
		return nil, err
	}
	var out []doc
	add := func(m, dir string, v any, valid bool) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out = append(out, doc{m, dir, b, valid})
		return nil
	}
	for _, m := range names {
		res, err := schemas.Resolved(m)
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			raw := res.Input
			if dir == "output" {
				raw = res.Output
			}
			var sch any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&sch); err != nil {
				return nil, err
			}
			for _, full := range []bool{true, false} {
				ex, err := example(sch, full)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", m, dir, err)
				}
				if err := add(m, dir, ex, true); err != nil {
					return nil, err
				}
				for _, variant := range mutations(ex) {
					if err := add(m, dir, variant, false); err != nil {
						return nil, err
					}
				}
				b, _ := json.Marshal(ex)
				for _, text := range textual(b) {
					out = append(out, doc{m, dir, text, false})
				}
			}
		}
	}
	return out, nil
}

// example builds a value valid against the (resolved) schema s: with every
// property when full, else with the required ones only.
func example(s any, full bool) (any, error) {
	if b, ok := s.(bool); ok {
		if !b {
			return nil, fmt.Errorf("schema false")
		}
		return "anything", nil
	}
	parts := flatten(s.(map[string]any))
	get := func(k string) any {
		for _, p := range parts {
			if v, ok := p[k]; ok {
				return v
			}
		}
		return nil
	}
	if c, ok := parts[0]["const"]; ok {
		return c, nil
	}
	if e, ok := get("enum").([]any); ok {
		return e[0], nil
	}
	typ := get("type")
	if list, ok := typ.([]any); ok {
		typ = list[0]
	}
	if typ == nil && (get("properties") != nil || get("required") != nil) {
		typ = "object"
	}
	num := func(k string, def int64) int64 {
		if n, ok := get(k).(json.Number); ok {
			x, _ := n.Int64()
			return x
		}
		return def
	}
	switch typ {
	case "object":
		obj := map[string]any{}
		required := map[string]bool{}
		for _, p := range parts {
			list, _ := p["required"].([]any)
			for _, r := range list {
				required[r.(string)] = true
				obj[r.(string)] = "x"
			}
		}
		for _, p := range parts {
			props, _ := p["properties"].(map[string]any)
			for name, ps := range props {
				if full || required[name] {
					v, err := example(ps, full)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", name, err)
					}
					obj[name] = v
				}
			}
		}
		if ap, ok := get("additionalProperties").(map[string]any); ok && full {
			v, err := example(ap, full)
			if err != nil {
				return nil, err
			}
			obj["extra"] = v
		}
		return obj, nil
	case "array":
		if items := get("items"); items != nil && full {
			v, err := example(items, full)
			if err != nil {
				return nil, err
			}
			return []any{v}, nil
		}
		return []any{}, nil
	case "string":
		switch p, _ := get("pattern").(string); p {
		case "":
			return strings.Repeat("é", int(max(1, num("minLength", 1)))), nil
		case `^t-\d+$`:
			return "t-1764230000000000123", nil
		case `^[^\s]+$`:
			return "worker-1", nil
		case `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`:
			return "handover", nil
		default:
			return nil, fmt.Errorf("no example for pattern %q", p)
		}
	case "integer", "number":
		return min(max(num("minimum", 7), num("exclusiveMinimum", -1<<62)+1), num("maximum", 1<<62)), nil
	case "boolean":
		return true, nil
	case "null":
		return nil, nil
	case nil:
		return map[string]any{"any": []any{1, "x"}}, nil
	}
	return nil, fmt.Errorf("no example for type %v", typ)
}

// flatten lists s and, recursively, its allOf members.
func flatten(s map[string]any) []map[string]any {
	out := []map[string]any{s}
	list, _ := s["allOf"].([]any)
	for _, sub := range list {
		if m, ok := sub.(map[string]any); ok {
			out = append(out, flatten(m)...)
		}
	}
	return out
}

// mutations replaces each location of v by each palette value; deletes each
// object member and adds an unknown one.
func mutations(v any) []any {
	var out []any
	for _, p := range palette {
		out = append(out, p)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		with := func(k string, sub any) map[string]any {
			c := make(map[string]any, len(x)+1)
			for k2, v2 := range x {
				c[k2] = v2
			}
			if sub == nil {
				delete(c, k)
			} else {
				c[k] = sub
			}
			return c
		}
		out = append(out, with("zz", json.RawMessage(`1`)), with("", json.RawMessage(`"x"`)))
		for _, k := range keys {
			out = append(out, with(k, nil))
			for _, sub := range mutations(x[k]) {
				out = append(out, with(k, sub))
			}
		}
	case []any:
		if len(x) > 0 {
			for _, sub := range mutations(x[0]) {
				out = append(out, []any{x[0], sub}, []any{sub})
			}
		}
	}
	return out
}

// textual varies an encoded object as text: duplicate members, malformed
// JSON, odd whitespace.
func textual(b []byte) [][]byte {
	out := [][]byte{nil, []byte(``), []byte(` `), []byte(`null`), b[:len(b)-1], append(bytes.Clone(b), " x"...),
		append(bytes.Clone(b), b...), []byte("\ufeff" + string(b)), []byte(" \t\r\n" + string(b) + "\n"), bytes.ReplaceAll(b, []byte(":"), []byte(" : "))}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil || len(obj) == 0 {
		return out
	}
	for k := range obj {
		name, _ := json.Marshal(k)
		for _, p := range []json.RawMessage{json.RawMessage(`null`), json.RawMessage(`5`), json.RawMessage(`"x"`), json.RawMessage(`{"a":[]}`), obj[k]} {
			member := string(name) + ":" + string(p)
			out = append(out, []byte("{"+member+","+string(b[1:])), []byte(string(b[:len(b)-1])+","+member+"}"))
		}
	}
	return out
}
