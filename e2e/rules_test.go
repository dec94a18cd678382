package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	rpc "github.com/claudebench/cb/protocol/client"
	goredis "github.com/redis/go-redis/v9"
)

func bashPayload(cmd string) []byte {
	b, _ := json.Marshal(map[string]any{"session_id": "sess-rules", "hook_event_name": "PreToolUse", "cwd": "/home/user/proj",
		"tool_name": "Bash", "tool_input": map[string]any{"command": cmd}})
	return b
}

// TestHookRulesLive: a rule change made through one cbd takes effect on
// another within a second; defaults can be disabled by id.
func TestHookRulesLive(t *testing.T) {
	r := testenv.NewRedis(t)
	ha := testenv.NewHome(t, "CB_REDIS_URL="+r.URL())
	hb := testenv.NewHome(t, "CB_REDIS_URL="+r.URL())
	// rules-a serves only the admin methods (role "admin"), rules-b only
	// the hooks: a rule added through a is decided on by b.
	testenv.StartDaemon(t, bin, ha, []string{"CB_INSTANCE_ID=rules-a", "CB_INSTANCE_ROLES=admin"})
	db := testenv.StartDaemon(t, bin, hb, []string{"CB_INSTANCE_ID=rules-b", "CB_INSTANCE_ROLES=hooks"})

	in := bashPayload("psql -h prod-db.internal")
	if out := testenv.RunCB(t, bin, hb, nil, in, "hook", "pre_tool"); out.Stdout != "" {
		t.Fatalf("before the rule: %q", out.Stdout)
	}
	add := testenv.RunCB(t, bin, ha, nil, nil, "hooks", "add", "--id", "no-prod-db", "--tool", "Bash", "--field", "command",
		"--match", `^psql .*prod`, "--action", "deny", "--reason", "Production needs a human.")
	if add.Code != 0 {
		t.Fatalf("hooks add: %d %s", add.Code, add.Stderr)
	}
	added := time.Now()
	// Ask rules-b itself (its registry, in process) until it decides with
	// the new rule: the timing excludes process start-up on a loaded box.
	for {
		raw, err := hooksTestOn(t, r, in)
		if err == nil && strings.Contains(string(raw), "no-prod-db") {
			break
		}
		if time.Since(added) > time.Second {
			t.Fatalf("rule not in effect on the other instance after 1s: %s %v\n%s", raw, err, db.Log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out := testenv.RunCB(t, bin, hb, nil, in, "hook", "pre_tool"); !strings.Contains(out.Stdout, "Production needs a human.") {
		t.Fatalf("cb hook on rules-b: %q", out.Stdout)
	}
	t.Logf("rule added on rules-a decided on rules-b after %v", time.Since(added).Round(time.Millisecond))

	list := testenv.RunCB(t, bin, hb, nil, nil, "hooks", "list", "--json")
	if !strings.Contains(list.Stdout, `"no-prod-db"`) || !strings.Contains(list.Stdout, `"source":"redis"`) {
		t.Fatalf("hooks list: %s", list.Stdout)
	}
	// Disable a shipped default by id, on every instance.
	rm := bashPayload("rm -rf /")
	if out := testenv.RunCB(t, bin, hb, nil, rm, "hook", "pre_tool"); !strings.Contains(out.Stdout, "deny") {
		t.Fatalf("default rule: %q", out.Stdout)
	}
	if out := testenv.RunCB(t, bin, ha, nil, nil, "hooks", "disable", "deny-rm-root"); out.Code != 0 {
		t.Fatalf("disable: %s", out.Stderr)
	}
	waitFor(t, time.Second, func() bool {
		return !strings.Contains(testenv.RunCB(t, bin, hb, nil, rm, "hook", "pre_tool").Stdout, "deny-rm-root")
	}, "disabled default still firing on the other instance")
	testenv.RunCB(t, bin, ha, nil, nil, "hooks", "enable", "deny-rm-root")
	// Remove the run-time rule; defaults cannot be removed.
	if out := testenv.RunCB(t, bin, ha, nil, nil, "hooks", "rm", "no-prod-db"); out.Code != 0 {
		t.Fatalf("rm: %s", out.Stderr)
	}
	if out := testenv.RunCB(t, bin, ha, nil, nil, "hooks", "rm", "deny-rm-root"); out.Code == 0 || !strings.Contains(out.Stderr, "disable it instead") {
		t.Fatalf("rm of a default: %d %s", out.Code, out.Stderr)
	}
	waitFor(t, time.Second, func() bool {
		return testenv.RunCB(t, bin, hb, nil, in, "hook", "pre_tool").Stdout == ""
	}, "removed rule still firing")
	// A bad rule is refused with a clear error.
	bad := testenv.RunCB(t, bin, ha, nil, nil, "hooks", "add", "--id", "bad", "--field", "command", "--match", "([", "--action", "deny")
	if bad.Code == 0 || !strings.Contains(bad.Stderr, "bad") {
		t.Fatalf("bad rule accepted: %d %s", bad.Code, bad.Stderr)
	}
}

func waitFor(t *testing.T, within time.Duration, ok func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHooksTestAndAudit(t *testing.T) {
	h, _ := startWithRules(t)
	out := testenv.RunCB(t, bin, h, nil, nil, "hooks", "test", "--tool", "Bash", "--command", "echo ok && sudo rm -rf ~")
	if out.Code != 0 || !strings.Contains(out.Stdout, "decision: deny") || !strings.Contains(out.Stdout, "deny-rm-home") {
		t.Fatalf("hooks test: %d %s %s", out.Code, out.Stdout, out.Stderr)
	}
	out = testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_ls.json"), "hooks", "test")
	if out.Code != 0 || !strings.Contains(out.Stdout, "decision: no opinion") {
		t.Fatalf("hooks test from stdin: %s %s", out.Stdout, out.Stderr)
	}
	// Real hook calls are audited. The session is this test's own: other
	// tests' decisions for sess-e2e-1 travel on the same Redis.
	session := fmt.Sprintf("sess-audit-%d", time.Now().UnixNano())
	own := func(name string) []byte {
		return bytes.ReplaceAll(fixture(t, name), []byte(`"sess-e2e-1"`), []byte(`"`+session+`"`))
	}
	testenv.RunCB(t, bin, h, nil, own("pre_tool_rm_root.json"), "hook", "pre_tool")
	testenv.RunCB(t, bin, h, nil, own("pre_tool_ls.json"), "hook", "pre_tool")
	var recs struct {
		Records []struct {
			SessionID, Event, Tool, Decision, Reason string
			RuleIDs                                  []string
			LatencyMicros                            int64
		}
	}
	waitFor(t, 15*time.Second, func() bool { // generous: the machine may be loaded
		out := testenv.RunCB(t, bin, h, nil, nil, "audit", "--decision", "deny", "--session", session, "--since", "1h", "--json")
		_ = json.Unmarshal([]byte(out.Stdout), &recs)
		return len(recs.Records) == 1
	}, "deny decision not in the audit")
	r := recs.Records[0]
	if r.Event != "hook.pre_tool" || r.Tool != "Bash" || r.Decision != "deny" || len(r.RuleIDs) != 1 || r.RuleIDs[0] != "deny-rm-root" || r.Reason == "" {
		t.Fatalf("audit record %+v", r)
	}
	all := testenv.RunCB(t, bin, h, nil, nil, "audit")
	if !strings.Contains(all.Stdout, "deny-rm-root") || !strings.Contains(all.Stdout, "none") {
		t.Fatalf("audit table:\n%s", all.Stdout)
	}
}

// TestTodoSync: Claude Code's todos become tasks without duplicates, and
// the session's in-progress tasks can be added to the prompt's context.
func TestTodoSync(t *testing.T) {
	e := newTaskEnv(t, "CB_HOOK_PROMPT_TASKS_CONTEXT=true")
	todos := func(items ...map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"session_id": "sess-todo", "hook_event_name": "PostToolUse", "tool_name": "TodoWrite",
			"tool_input": map[string]any{"todos": items}, "tool_response": map[string]any{}})
		return b
	}
	item := func(content, status string) map[string]any {
		return map[string]any{"content": content, "status": status, "activeForm": content}
	}
	run := func(payload []byte) {
		out := testenv.RunCB(t, bin, e.h, nil, payload, "hook", "todo_write")
		if out.Code != 0 || out.Stderr != "" {
			t.Fatalf("todo_write: %d %s", out.Code, out.Stderr)
		}
	}
	run(todos(item("Write the parser", "in_progress"), item("Add tests", "pending")))
	run(todos(item("Write the parser", "in_progress"), item("Add tests", "pending"))) // re-sent: no duplicates
	raw, _ := e.call(t, "task.list", map[string]any{"orderBy": "priority"})
	var list struct{ Tasks []task }
	_ = json.Unmarshal(raw, &list)
	if len(list.Tasks) != 2 {
		t.Fatalf("want 2 tasks, got %s", raw)
	}
	parser := list.Tasks[0]
	if parser.Text != "Write the parser" || parser.Status != "in_progress" || parser.Priority != 75 || parser.AssignedTo == "" ||
		!strings.Contains(string(parser.Metadata), `"source":"todo_write"`) {
		t.Fatalf("in-progress todo: %+v %s", parser, parser.Metadata)
	}
	if list.Tasks[1].Status != "pending" || list.Tasks[1].Priority != 50 {
		t.Fatalf("pending todo: %+v", list.Tasks[1])
	}
	prompt, _ := json.Marshal(map[string]any{"session_id": "sess-todo", "hook_event_name": "UserPromptSubmit", "prompt": "continue"})
	out := testenv.RunCB(t, bin, e.h, nil, prompt, "hook", "user_prompt")
	if !strings.Contains(out.Stdout, "In-progress ClaudeBench tasks") || !strings.Contains(out.Stdout, "Write the parser") || strings.Contains(out.Stdout, "Add tests") {
		t.Fatalf("prompt context: %q", out.Stdout)
	}
	run(todos(item("Write the parser", "completed"), item("Add tests", "completed")))
	raw, _ = e.call(t, "task.list", map[string]any{"status": "completed"})
	if !strings.Contains(string(raw), `"totalCount":2`) {
		t.Fatalf("completed todos: %s", raw)
	}
}

// hooksTestOn asks for a decision over the bus with hook.pre_tool itself.
func hooksTestOn(t *testing.T, r *testenv.Redis, payload []byte) (json.RawMessage, error) {
	t.Helper()
	opt, _ := goredis.ParseURL(r.URL())
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return rpc.New(c, "rules-test").Call(ctx, "hook.pre_tool", json.RawMessage(payload), rpc.Options{})
}
