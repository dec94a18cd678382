package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// hookPayload is an input of he for session: the real client's recording
// when e2e/claudecode/testdata/events has one, else the base fields plus
// what the event's schema requires.
func hookPayload(t *testing.T, he protocol.HookEvent, session string) []byte {
	t.Helper()
	in := map[string]any{}
	if b, err := os.ReadFile(filepath.Join("claudecode", "testdata", "events", he.ClaudeEvent+".json")); err == nil {
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
	} else {
		in["transcript_path"] = "/tmp/t.jsonl"
		in["cwd"] = t.TempDir() // not a git checkout: a worktree hook changes nothing
		if he.Tool {
			in["tool_name"], in["tool_input"] = "Read", map[string]any{"file_path": "/tmp/x"}
		}
		switch he.Type {
		case "user_prompt":
			in["prompt"] = "hello"
		case "post_tool_use_failure":
			in["error"] = "Exit code 1"
		}
	}
	in["session_id"], in["hook_event_name"] = session, he.ClaudeEvent
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamHas reports whether stream key holds an entry whose fields mention
// session.
func streamHas(t *testing.T, key, session string) bool {
	t.Helper()
	msgs, err := redisClient(t).XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for _, v := range m.Values {
			if s, ok := v.(string); ok && strings.Contains(s, session) {
				return true
			}
		}
	}
	return false
}

// checkHookOutput: cb hook exited 0, said nothing on stderr, and printed
// nothing or one JSON object for claudeEvent.
func checkHookOutput(t *testing.T, r testenv.Result, claudeEvent string) {
	t.Helper()
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r.Stdout == "" {
		return
	}
	if hso, ok := decode(t, r.Stdout)["hookSpecificOutput"].(map[string]any); ok && hso["hookEventName"] != claudeEvent {
		t.Errorf("hookEventName %v, want %q", hso["hookEventName"], claudeEvent)
	}
}

// TestHookEveryEvent: `cb hook <type>` and `cb hook <alias>` accept every
// event of the table with the real client's input (or a minimal one),
// exit 0, record it on the type's stream and count it in
// cb_hook_decisions_total; an event this cb does not know is recorded on
// hook.other and the audit, with no opinion and one line on stderr.
func TestHookEveryEvent(t *testing.T) {
	addr := testenv.FreeAddr(t)
	h := testenv.NewHome(t, "CB_REDIS_URL="+redis.URL())
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=every-event", "CB_HTTP_ADDR=" + addr})
	run := time.Now().UnixNano()
	for _, he := range protocol.HookEvents {
		names := []string{he.Type}
		if he.Alias != "" {
			names = append(names, he.Alias)
		}
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				session := fmt.Sprintf("every-%s-%d", name, run)
				r := testenv.RunCB(t, bin, h, nil, hookPayload(t, he, session), "hook", name)
				if he.ClaudeEvent != "WorktreeCreate" && he.ClaudeEvent != "WorktreeRemove" {
					// The worktree hooks also do Claude Code's git worktree
					// step (e2e/worktree_test.go): here only their record counts.
					checkHookOutput(t, r, he.ClaudeEvent)
				}
				if key := protocol.StreamKey(protocol.HookMethod(he.Type)); !streamHas(t, key, session) {
					t.Errorf("%s holds no event of session %s", key, session)
				}
			})
		}
	}

	t.Run("unknown event", func(t *testing.T) {
		session := fmt.Sprintf("every-unknown-%d", run)
		in := `{"session_id":"` + session + `","hook_event_name":"BrandNewEvent","cwd":"/tmp","brand_new_field":{"x":1}}`
		r := testenv.RunCB(t, bin, h, nil, []byte(in), "hook", "brand_new_event")
		if r.Code != 0 || r.Stdout != "" {
			t.Fatalf("exit %d, stdout %q: want 0 and no opinion", r.Code, r.Stdout)
		}
		if want := "cb hook: unknown hook type \"brand_new_event\": recording it as hook.other, no opinion\n"; r.Stderr != want {
			t.Errorf("stderr %q, want %q", r.Stderr, want)
		}
		if key := protocol.StreamKey(protocol.HookMethod(protocol.OtherHookType)); !streamHas(t, key, session) {
			t.Errorf("%s holds no event of session %s", key, session)
		}
		var recs struct {
			Records []struct {
				Event    string `json:"event"`
				Decision string `json:"decision"`
			} `json:"records"`
		}
		waitFor(t, 15*time.Second, func() bool {
			a := testenv.RunCB(t, bin, h, nil, nil, "audit", "--session", session, "--since", "1h", "--json")
			return a.Code == 0 && json.Unmarshal([]byte(a.Stdout), &recs) == nil && len(recs.Records) > 0
		}, "the unknown event is not in the audit")
		if rec := recs.Records[0]; rec.Event != "hook.other" || rec.Decision != "none" {
			t.Errorf("audit record %+v, want event hook.other, decision none", rec)
		}
	})

	// /metrics counts the answers of the new types like the old ones.
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`cb_hook_decisions_total{decision="none",event="permission_request",tool="Bash"}`,
		`cb_hook_decisions_total{decision="none",event="task_created",tool=""}`,
		`cb_hook_decisions_total{decision="none",event="other",tool=""}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
