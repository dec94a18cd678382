package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

func defaultEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := policy.New(policy.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// preTool is the hook.pre_tool handler of Handlers(d).
func preTool(t *testing.T, d Deps) registry.Handler {
	t.Helper()
	for _, h := range Handlers(d) {
		if h.Event == "hook.pre_tool" {
			return h
		}
	}
	t.Fatal("no hook.pre_tool handler")
	return registry.Handler{}
}

// TestDuplicateKeysJudgedAsClaudeCodeReadsThem: an input that names a key
// twice is judged on the value JavaScript's JSON.parse keeps (the last),
// and fields are matched by their exact name (encoding/json would match
// "Tool_Name" to tool_name).
func TestDuplicateKeysJudgedAsClaudeCodeReadsThem(t *testing.T) {
	e := defaultEngine(t)
	cases := []struct {
		name, in string
		deny     bool
	}{
		{"last command is rm", `{"tool_name":"Bash","tool_input":{"command":"ls","command":"rm -rf /"}}`, true},
		{"last command is ls", `{"tool_name":"Bash","tool_input":{"command":"rm -rf /","command":"ls"}}`, false},
		{"escaped duplicate", `{"tool_name":"Bash","tool_input":{"command":"ls","comm\u0061nd":"rm -rf /"}}`, true},
		{"three times", `{"tool_name":"Bash","tool_input":{"command":"ls","command":"pwd","command":"rm -rf /"}}`, true},
		{"duplicate tool_name", `{"tool_name":"Read","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`, true},
		{"duplicate tool_input", `{"tool_name":"Bash","tool_input":{"command":"ls"},"tool_input":{"command":"rm -rf /"}}`, true},
		{"case-folded tool_name", `{"tool_name":"Bash","Tool_Name":"Read","tool_input":{"command":"rm -rf /"}}`, true},
		{"nested duplicate", `{"tool_name":"Bash","tool_input":{"command":"rm -rf /","x":[{"a":1,"a":2}]}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Decide(e, "pre_tool", json.RawMessage(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Decision == protocol.DecisionDeny; got != c.deny {
				t.Fatalf("decision %q (rules %v), want deny=%v", res.Decision, res.RuleIDs, c.deny)
			}
		})
	}
}

// TestDuplicateKeysRefuse: with hook.duplicate_keys refuse, an ambiguous
// input is not judged: the answer is the fail mode's (closed denies, open
// has no opinion), and the audit says why.
func TestDuplicateKeysRefuse(t *testing.T) {
	e := defaultEngine(t)
	for _, closed := range []bool{false, true} {
		var audited []api.AuditRecord
		h := preTool(t, Deps{
			Engine:        func() *policy.Engine { return e },
			DuplicateKeys: DuplicateKeysRefuse,
			FailClosed:    func(string) bool { return closed },
			Audit:         func(r api.AuditRecord) { audited = append(audited, r) },
		})
		// The last value is harmless: judged, it would be allowed through.
		in := `{"tool_name":"Bash","tool_input":{"command":"rm -rf /","command":"ls"}}`
		out, err := h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(in)})
		if err != nil {
			t.Fatal(err)
		}
		res := out.(protocol.HookResult)
		want := protocol.DecisionNone
		if closed {
			want = protocol.DecisionDeny
		}
		if res.Decision != want || !strings.Contains(res.Reason, `"command" twice`) || len(res.RuleIDs) != 0 {
			t.Fatalf("closed=%v: %+v, want decision %q naming the key", closed, res, want)
		}
		if len(audited) != 1 || !strings.Contains(audited[0].Reason, "hook.duplicate_keys") {
			t.Fatalf("closed=%v: audit %+v", closed, audited)
		}
		// Without duplicates, refuse mode judges as always.
		out, err = h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(`{"tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`)})
		if err != nil || out.(protocol.HookResult).Decision != protocol.DecisionDeny {
			t.Fatalf("closed=%v: plain rm -rf /: %+v %v", closed, out, err)
		}
	}
}

// TestShedSkipsOnlyNoOpinionAudit: a request run over its rate limit is
// decided as always; its audit record is kept when it decided something.
func TestShedSkipsOnlyNoOpinionAudit(t *testing.T) {
	e := defaultEngine(t)
	var audited []string
	h := preTool(t, Deps{Engine: func() *policy.Engine { return e },
		Audit: func(r api.AuditRecord) { audited = append(audited, r.Decision) }})
	for _, in := range []string{
		`{"tool_name":"Bash","tool_input":{"command":"ls"}}`,
		`{"tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`,
	} {
		out, err := h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(in), Shed: true})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(in, "rm") != (out.(protocol.HookResult).Decision == protocol.DecisionDeny) {
			t.Fatalf("%s: %+v", in, out)
		}
	}
	if !reflect.DeepEqual(audited, []string{"deny"}) {
		t.Fatalf("audited %v, want only the deny", audited)
	}
}

// FuzzResolveDuplicates: the rewritten input is what encoding/json's
// decoding into maps (last value wins, exact names) makes of the original,
// and names no key twice.
func FuzzResolveDuplicates(f *testing.F) {
	f.Add([]byte(`{"tool_name":"Bash","tool_input":{"command":"ls","command":"rm -rf /"}}`))
	f.Add([]byte(`{"a":{"b":1,"b":[{"c":1,"c":{"d":2}}]},"a":null}`))
	f.Add([]byte(`{"comm\u0061nd":1,"command":2}`))
	f.Add([]byte(`[{"x":"\ud800","x":"\udc00"}]`))
	f.Add([]byte(`"plain"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			if _, _, err := duplicateKey(data); err == nil {
				t.Fatalf("invalid JSON accepted: %q", data)
			}
			return
		}
		_, dup, err := duplicateKey(data)
		if err != nil {
			t.Fatalf("valid JSON refused: %q: %v", data, err)
		}
		out := lastWins(data)
		if !json.Valid(out) {
			t.Fatalf("lastWins(%q) = %q, not JSON", data, out)
		}
		if k, again, _ := duplicateKey(out); again {
			t.Fatalf("lastWins(%q) = %q still names %q twice", data, out, k)
		}
		want, got := decodeAny(t, data), decodeAny(t, out)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("lastWins(%q) = %q: decodes to %v, want %v", data, out, got, want)
		}
		if !dup && string(out) != string(compactOrSame(data)) {
			// Without duplicates nothing but whitespace may change.
			t.Fatalf("lastWins(%q) = %q changed an input without duplicates", data, out)
		}
	})
}

// compactOrSame is data without insignificant whitespace.
func compactOrSame(data []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return data
	}
	return b.Bytes()
}

// decodeAny decodes valid JSON as encoding/json does, numbers kept as text
// (so no valid number fails to decode).
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return v
}
