package schemas_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/claudebench/cb/schemas"
	"github.com/claudebench/cb/schemas/validate"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileAlone compiles a schema with no other resource available: it
// fails if anything still points outside the document.
func compileAlone(t *testing.T, name string, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	sch, err := tryCompileAlone(name, raw)
	if err != nil {
		t.Fatalf("%s: resolved schema does not compile on its own: %v", name, err)
	}
	return sch
}

func tryCompileAlone(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	url := "https://standalone.test/" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, &json.UnsupportedValueError{Str: "no external loads: " + url}
}

func TestResolvedIsSelfContained(t *testing.T) {
	names, err := schemas.Methods()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		m, err := schemas.Resolved(n)
		if err != nil {
			t.Fatalf("Resolved(%s): %v", n, err)
		}
		orig, err := schemas.Load(n)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != n || m.Description != orig.Description {
			t.Errorf("%s: name/description changed: %+v", n, m)
		}
		for part, raw := range map[string]json.RawMessage{"input": m.Input, "output": m.Output} {
			if strings.Contains(string(raw), `"$ref"`) {
				t.Errorf("%s %s still has a $ref: %s", n, part, raw)
			}
			compileAlone(t, n+"."+part, raw)
		}
	}
}

// The inlined schemas must judge documents exactly as the validator (which
// resolves refs itself) does.
func TestResolvedAgreesWithValidator(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	task := `{"id":"t-1","text":"x","status":"pending","priority":50,"createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z","attempts":0}`
	cases := []struct {
		method, part, doc string
		ok                bool
	}{
		{"task.create", "output", task, true},
		{"task.create", "output", strings.Replace(task, `"t-1"`, `"x-1"`, 1), false},
		{"task.create", "output", strings.Replace(task, `"pending"`, `"bogus"`, 1), false},
		{"task.list", "input", `{"status":"in_progress"}`, true},
		{"task.list", "input", `{"status":"nope"}`, false},
		{"task.claim", "input", `{"workerId":"a b"}`, false},
		{"task.claim", "input", `{"workerId":"me@host","maxTasks":2}`, true},
		{"system.health", "output", `{"status":"healthy","instances":[{"id":"a","roles":[],"health":"healthy","lastSeen":"2025-01-01T00:00:00Z"}],"redis":{"status":"ok"},"store":{"status":"ok"}}`, true},
		{"system.health", "output", `{"status":"healthy","instances":[{"id":"a","roles":[],"health":"sick","lastSeen":"2025-01-01T00:00:00Z"}],"redis":{"status":"ok"},"store":{"status":"ok"}}`, false},
		{"hook.pre_tool", "input", `{"session_id":"s","tool_name":"Bash","tool_input":{}}`, true},
		{"hook.pre_tool", "input", `{"session_id":5,"tool_name":"Bash","tool_input":{}}`, false},
		{"hook.pre_tool", "input", `{"tool_input":{}}`, false},
	}
	for _, c := range cases {
		m, err := schemas.Resolved(c.method)
		if err != nil {
			t.Fatal(err)
		}
		raw := m.Input
		check := v.Input
		if c.part == "output" {
			raw, check = m.Output, v.Output
		}
		sch := compileAlone(t, c.method+"."+c.part, raw)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		gotResolved := sch.Validate(inst) == nil
		gotValidator := check(c.method, []byte(c.doc)) == nil
		if gotResolved != c.ok || gotValidator != c.ok {
			t.Errorf("%s %s %s: resolved ok=%v, validator ok=%v, want %v", c.method, c.part, c.doc, gotResolved, gotValidator, c.ok)
		}
	}
}

// The check above has teeth: an unresolved schema does not compile alone.
func TestUnresolvedNeedsCommon(t *testing.T) {
	m, err := schemas.Load("task.create")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryCompileAlone("task.create.output", m.Output); err == nil {
		t.Fatal("the raw task.create output schema compiled without common.json")
	}
}

func TestResolvedUnknownMethod(t *testing.T) {
	if _, err := schemas.Resolved("no.such"); err == nil {
		t.Fatal("want an error for an unknown method")
	}
}
