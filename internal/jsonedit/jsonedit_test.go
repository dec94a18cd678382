package jsonedit

import (
	"bytes"
	"testing"
)

// TestRoundTrip prints an unchanged tree byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":1}`, "{\n\t\"a\" : [1, 2.50, -3e+7, true, false, null],\n\t\"b\":{}\n}",
		`{"k":"caf\u00e9 \"quoted\" \/ \ud83d\ude00","k":"duplicate"}`,
		`{"deep":[[[{"x":[{}]}]]],"sp" :   "  spaced  "}`,
	} {
		n, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var b bytes.Buffer
		n.Render(&b, Style{Indent: "  ", Newline: "\n"}, 0)
		if b.String() != in {
			t.Errorf("round trip of %s gave %s", in, b.String())
		}
	}
	// A change re-prints only the path to it.
	n, _ := Parse([]byte(`{"a": {"x":1}, "b": [1,2]}`))
	n.Set("c", NewString("<&>"))
	n.Get("b").RemoveAt(0)
	var b bytes.Buffer
	n.Render(&b, Style{Indent: "  ", Newline: "\n"}, 0)
	want := "{\n  \"a\": {\"x\":1},\n  \"b\": [\n    2\n  ],\n  \"c\": \"<&>\"\n}"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if n.Get("missing") != nil || (*Node)(nil).Get("x") != nil {
		t.Error("get of a missing key")
	}
}

func TestDetectIndent(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`:          "  ",
		"{\n\"a\":1\n}":    "  ",
		"{\n    \"a\":1}":  "    ",
		"{\n\t\"a\":1}":    "\t",
		"{\n \t \"a\":1}":  "  ",
		"{\r\n   \"a\":1}": "   ",
	} {
		if got := DetectIndent([]byte(in)); got != want {
			t.Errorf("DetectIndent(%q) = %q, want %q", in, got, want)
		}
	}
}

// An edit in a tab-indented CRLF file keeps the untouched parts byte for
// byte and prints the new ones in the file's layout.
func TestEditKeepsLayout(t *testing.T) {
	in := "{\r\n\t\"keep\" :  {\"x\": [1,2]},\r\n\t\"hooks\": {\"Stop\": [], \"Old\": [1]}\r\n}"
	n, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	hooks := n.Get("hooks")
	hooks.Delete("Old")
	arr := NewArray()
	o := NewObject()
	o.Set("type", NewString("command"))
	o.Set("timeout", NewInt(30))
	arr.Push(o)
	hooks.Set("PreToolUse", arr)
	var b bytes.Buffer
	n.Render(&b, Style{Indent: DetectIndent([]byte(in)), Newline: "\r\n"}, 0)
	want := "{\r\n\t\"keep\": {\"x\": [1,2]},\r\n\t\"hooks\": {\r\n\t\t\"Stop\": [],\r\n\t\t\"PreToolUse\": [\r\n\t\t\t{\r\n\t\t\t\t\"type\": \"command\",\r\n\t\t\t\t\"timeout\": 30\r\n\t\t\t}\r\n\t\t]\r\n\t}\r\n}"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	if !hooks.Dirty() || n.Get("keep").Changed() || !n.Changed() {
		t.Error("dirty/changed marks")
	}
}

func TestAccessors(t *testing.T) {
	n, err := Parse([]byte(`{"s":"a\"b","n":1,"b":true,"z":null,"l":["x",2,"y"],"o":{},"a":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := n.GetString("s"); !ok || s != `a"b` {
		t.Errorf("GetString: %q %v", s, ok)
	}
	if _, ok := n.GetString("n"); ok {
		t.Error("GetString of a number")
	}
	if l, ok := n.GetStrings("l"); !ok || len(l) != 3 || l[0] != "x" || l[1] != "" || l[2] != "y" {
		t.Errorf("GetStrings: %q %v", l, ok)
	}
	if _, ok := n.GetStrings("missing"); ok {
		t.Error("GetStrings of a missing key")
	}
	for key, want := range map[string]string{"s": "a string", "n": "a number", "b": "a boolean", "z": "null", "o": "an object", "a": "an array"} {
		if got := n.Get(key).KindName(); got != want {
			t.Errorf("KindName(%s) = %q, want %q", key, got, want)
		}
	}
	if !n.Get("z").IsNull() || n.Get("n").IsNull() {
		t.Error("IsNull")
	}
	if string(Quote("<&>\n")) != `"<&>\n"` {
		t.Errorf("Quote: %s", Quote("<&>\n"))
	}
}
