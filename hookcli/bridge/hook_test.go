package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
)

// fakeTransport answers every request with answer and remembers them.
type fakeTransport struct {
	answer string
	sent   []protocol.Event
}

func (f *fakeTransport) Settings() (*Settings, error) {
	return LoadSettings(func([]byte) (map[string]any, error) { return map[string]any{}, nil })
}

func (f *fakeTransport) Open(string) (Conn, error) { return f, nil }

func (f *fakeTransport) CallEvent(_ context.Context, ev protocol.Event) (json.RawMessage, error) {
	f.sent = append(f.sent, ev)
	return json.RawMessage(f.answer), nil
}

func (f *fakeTransport) Close() error { return nil }

func runFake(t *testing.T, answer, hookType, input string) (tr *fakeTransport, code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	t.Setenv("CB_REDIS_URL", "redis://127.0.0.1:1")
	tr = &fakeTransport{answer: answer}
	var out, errb bytes.Buffer
	code = RunHook(hookType, strings.NewReader(input), &out, &errb, tr)
	return tr, code, out.String(), errb.String()
}

// TestRunHookEveryType: cb hook sends every type, and the alias of the
// types that have one, to its own method, and renders the answer for the
// event the input names.
func TestRunHookEveryType(t *testing.T) {
	for _, he := range protocol.HookEvents {
		for _, name := range []string{he.Type, he.Alias} {
			if name == "" {
				continue
			}
			in := `{"session_id":"s1","hook_event_name":"` + he.ClaudeEvent + `","tool_name":"Bash","tool_input":{},"prompt":"p","error":"e"}`
			tr, code, stdout, stderr := runFake(t, `{"decision":"deny","reason":"no"}`, name, in)
			if code != 0 || stderr != "" {
				t.Errorf("cb hook %s: exit %d, stderr %q", name, code, stderr)
			}
			if len(tr.sent) != 1 || tr.sent[0].Type != protocol.HookMethod(he.Type) || tr.sent[0].Metadata.SessionID != "s1" {
				t.Errorf("cb hook %s sent %+v, want one %s of session s1", name, tr.sent, protocol.HookMethod(he.Type))
			}
			want := protocol.RenderHookOutput(he.ClaudeEvent, protocol.HookResult{Decision: "deny", Reason: "no"})
			if len(want) > 0 {
				want = append(want, '\n')
			}
			if stdout != string(want) {
				t.Errorf("cb hook %s printed %q, want %q", name, stdout, want)
			}
		}
	}
}

// TestRunHookUnknownEvent: an event this cb does not know is sent to
// hook.other and answered with no opinion whatever cbd says, with one line
// on stderr and exit 0.
func TestRunHookUnknownEvent(t *testing.T) {
	tr, code, stdout, stderr := runFake(t, `{"decision":"deny","reason":"no"}`, "brand_new_event",
		`{"session_id":"s2","hook_event_name":"BrandNewEvent","novel":true}`)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: want 0 and no output", code, stdout)
	}
	if want := "cb hook: unknown hook type \"brand_new_event\": recording it as hook.other, no opinion\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if len(tr.sent) != 1 || tr.sent[0].Type != "hook.other" || !strings.Contains(string(tr.sent[0].Payload), `"novel":true`) {
		t.Errorf("sent %+v, want the whole input to hook.other", tr.sent)
	}
}
