package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
)

func TestEveryMethodCompiles(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no schemas")
	}
	for _, n := range names {
		if !v.Has(n) {
			t.Errorf("%s not compiled", n)
		}
		m, err := schemas.Load(n)
		if err != nil || m.Description == "" || len(m.Input) == 0 || len(m.Output) == 0 {
			t.Errorf("%s: description, input and output are required (err %v)", n, err)
		}
	}
}

func TestInputErrorsNameTheField(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ params, path, msg string }{
		{`{"tool_name":"Bash"}`, "/", "tool_input"},
		{`{"tool_name":"Bash","tool_input":"ls"}`, "/tool_input", "object"},
		{`{"tool_name":5,"tool_input":{}}`, "/tool_name", "string"},
		{`{"tool_name":"Bash","tool_input":{},"session_id":[]}`, "/session_id", "string"},
		{`not json`, "", "not valid JSON"},
	}
	for _, c := range cases {
		err := v.Input("hook.pre_tool", []byte(c.params))
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeInvalidParams {
			t.Fatalf("%s: err %v, want invalid params", c.params, err)
		}
		if !strings.Contains(pe.Message, c.msg) {
			t.Errorf("%s: message %q lacks %q", c.params, pe.Message, c.msg)
		}
		if c.path != "" {
			fields := pe.Data.(map[string]any)["errors"].([]FieldError)
			found := false
			for _, f := range fields {
				found = found || f.Path == c.path
			}
			if !found {
				t.Errorf("%s: fields %+v lack path %s", c.params, fields, c.path)
			}
		}
	}
	if err := v.Input("hook.pre_tool", []byte(`{"tool_name":"Bash","tool_input":{"command":"ls"},"extra":1}`)); err != nil {
		t.Errorf("valid input rejected: %v", err)
	}
}

// benchTask is a typical task.create answer.
const benchTask = `{"id":"t-1764230000000000123","text":"bench 123","status":"pending","priority":50,"attempts":0,"createdAt":"2026-11-27T08:45:30.123Z","updatedAt":"2026-11-27T08:45:30.123Z","version":1}`

func BenchmarkOutputTask(b *testing.B) {
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(benchTask)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Output("task.create", doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInputTaskCreate(b *testing.B) {
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(`{"text":"bench 123","priority":50,"metadata":{"source":"bench","n":123}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Input("task.create", doc); err != nil {
			b.Fatal(err)
		}
	}
}
