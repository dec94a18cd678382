package hookrules

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/claudebench/cb/internal/policytest"

	"github.com/claudebench/cb/protocol"
)

// TestDuplicateKeysJudgedAsClaudeCodeReadsThem: an input that names a key
// twice is judged on the value JavaScript's JSON.parse keeps (the last),
// and fields are matched by their exact name (encoding/json would match
// "Tool_Name" to tool_name).
func TestDuplicateKeysJudgedAsClaudeCodeReadsThem(t *testing.T) {
	e := policytest.DefaultEngine(t)
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
			if _, _, err := DuplicateKey(data); err == nil {
				t.Fatalf("invalid JSON accepted: %q", data)
			}
			return
		}
		_, dup, err := DuplicateKey(data)
		if err != nil {
			t.Fatalf("valid JSON refused: %q: %v", data, err)
		}
		out := LastWins(data)
		if !json.Valid(out) {
			t.Fatalf("LastWins(%q) = %q, not JSON", data, out)
		}
		if k, again, _ := DuplicateKey(out); again {
			t.Fatalf("LastWins(%q) = %q still names %q twice", data, out, k)
		}
		want, got := decodeAny(t, data), decodeAny(t, out)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("LastWins(%q) = %q: decodes to %v, want %v", data, out, got, want)
		}
		if !dup && string(out) != string(compactOrSame(data)) {
			// Without duplicates nothing but whitespace may change.
			t.Fatalf("LastWins(%q) = %q changed an input without duplicates", data, out)
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
