package eventcap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestPayload(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	in := []byte(`{"session_id":"s1","tool_name":"Write","tool_input":{"file_path":"/etc/passwd","content":"` + big + `"},"tool_response":{"content":"` + big + `"}}`)
	out := Payload(in, 64<<10)
	if len(out) > 64<<10 || !json.Valid(out) {
		t.Fatalf("capped to %d bytes, valid %v", len(out), json.Valid(out))
	}
	r := gjson.ParseBytes(out)
	if r.Get("session_id").String() != "s1" || r.Get("tool_input.file_path").String() != "/etc/passwd" {
		t.Fatalf("small fields lost: %.300s", out)
	}
	c := r.Get("tool_input.content").String()
	if !strings.HasPrefix(c, "xxx") || !strings.Contains(c, "…[truncated ") {
		t.Fatalf("content not cut with a marker: %.100s…%s", c, c[max(len(c)-40, 0):])
	}

	small := []byte(`{"a":"b"}`)
	if got := Payload(small, 64); string(got) != string(small) {
		t.Fatalf("a payload that fits changed: %s", got)
	}

	// Many small values: strings do not help, elements are dropped.
	var sb strings.Builder
	sb.WriteString(`{"session_id":"s2","tool_response":[`)
	for i := range 100000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`1`)
	}
	sb.WriteString(`]}`)
	out = Payload([]byte(sb.String()), 4096)
	if len(out) > 4096 || !json.Valid(out) || gjson.GetBytes(out, "session_id").String() != "s2" || !strings.Contains(string(out), "elements]") {
		t.Fatalf("array capped to %d bytes: %.200s", len(out), out)
	}

	if got := string(Payload([]byte(`not json at all`), 8)); got != `"`+Marker(15)+`"` {
		t.Fatalf("not JSON: %s", got)
	}
}

func FuzzPayload(f *testing.F) {
	f.Add([]byte(`{"tool_input":{"content":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}`), 40)
	f.Add([]byte(`[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,[[[[[[[[[[]]]]]]]]]]]`), 30)
	f.Add([]byte(`{"a":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`), 50)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		out := Payload(data, max)
		if len(data) <= max {
			if string(out) != string(data) {
				t.Fatalf("Payload(%q, %d) changed a payload that fits", data, max)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Payload(%q, %d) = %q, not JSON", data, max, out)
		}
		if len(out) > max && len(out) > len(`"`+Marker(len(data))+`"`) {
			t.Fatalf("Payload(%q, %d) = %d bytes", data, max, len(out))
		}
	})
}
