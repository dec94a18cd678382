package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/policytest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

const testRules = `
hook:
  rules:
    - id: test-npm-timeout
      tool: Bash
      field: command
      match: '^npm test'
      action: modify
      replace: {timeout: 600000}
    - id: test-prompt-context
      event: user_prompt
      field: prompt
      match: 'deploy'
      action: context
      context: 'Deploys need the release checklist.'
    - id: test-prompt-secret
      event: user_prompt
      field: prompt
      match: 'password'
      action: deny
      reason: 'Prompt looks like it contains a secret.'
`

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "hooks", name))
}

// decode parses stdout as exactly one JSON object on one line.
func decode(t *testing.T, stdout string) map[string]any {
	t.Helper()
	if !strings.HasSuffix(stdout, "\n") || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, "{") {
		t.Fatalf("stdout is not one JSON line: %q", stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v: %q", err, stdout)
	}
	return m
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// startWithRules runs a cbd on the package redis with the test rules.
func startWithRules(t *testing.T, extraEnv ...string) (*testenv.Home, *testenv.Daemon) {
	t.Helper()
	h := testenv.NewHome(t, append([]string{"CB_REDIS_URL=" + redis.URL()}, extraEnv...)...)
	h.WriteConfig(t, testRules)
	d := testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=" + strings.ReplaceAll(t.Name(), "/", "-")})
	return h, d
}

func TestHookRoundTrip(t *testing.T) {
	h, _ := startWithRules(t)
	cases := []struct {
		name, hook, fixture string
		want                string // "" = no opinion (empty stdout)
	}{
		{"deny rm -rf /", "pre_tool", "pre_tool_rm_root.json",
			`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":` + quote(policytest.DefaultReason(t, "deny-rm-root")) + `}}`},
		{"deny compound sudo rm -rf ~", "pre_tool", "pre_tool_compound.json",
			`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":` + quote(policytest.DefaultReason(t, "deny-rm-home")) + `}}`},
		{"no opinion for ls", "pre_tool", "pre_tool_ls.json", ""},
		{"rewritten input", "pre_tool", "pre_tool_npm_test.json",
			`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow","updatedInput":{"command":"npm test","description":"Run test suite","timeout":600000,"run_in_background":false}}}`},
		{"prompt context", "user_prompt", "user_prompt.json",
			`{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"Deploys need the release checklist."}}`},
		{"prompt blocked", "user_prompt", "user_prompt_secret.json",
			`{"decision":"block","reason":"Prompt looks like it contains a secret."}`},
		{"post_tool", "post_tool", "post_tool.json", ""},
		{"todo_write", "todo_write", "todo_write.json", ""},
		{"session_start", "session_start", "session_start.json", ""},
		{"session_end", "session_end", "session_end.json", ""},
		{"stop", "stop", "stop.json", ""},
		{"subagent_stop", "subagent_stop", "subagent_stop.json", ""},
		{"notification", "notification", "notification.json", ""},
		{"pre_compact", "pre_compact", "pre_compact.json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := testenv.RunCB(t, bin, h, nil, fixture(t, c.fixture), "hook", c.hook)
			if r.Code != 0 {
				t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
			}
			if r.Stderr != "" {
				t.Errorf("unexpected stderr %q", r.Stderr)
			}
			if c.want == "" {
				if r.Stdout != "" {
					t.Fatalf("want no opinion (empty stdout), got %q", r.Stdout)
				}
				return
			}
			if got, want := decode(t, r.Stdout), jsonOf(t, c.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("stdout\n got %s\nwant %s", r.Stdout, c.want)
			}
		})
	}
	// Every event went through its own stream and was acknowledged
	// (TestHookEveryEvent covers the types without a case here).
	rdb := redisClient(t)
	for _, c := range cases {
		key := protocol.StreamKey(protocol.HookMethod(c.hook))
		if n := rdb.XLen(context.Background(), key).Val(); n == 0 {
			t.Errorf("%s is empty", key)
		}
		p, err := rdb.XPending(context.Background(), key, protocol.GroupName).Result()
		if err != nil || p.Count != 0 {
			t.Errorf("%s: pending %v, err %v", key, p, err)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func redisClient(t *testing.T) *goredis.Client {
	t.Helper()
	return redis.Client(t)
}

func TestHookMalformedInput(t *testing.T) {
	h, _ := startWithRules(t)
	big := strings.Repeat("x", 10<<20)
	tenMB, _ := json.Marshal(map[string]any{
		"session_id": "s", "hook_event_name": "PreToolUse", "cwd": "/home/user/proj",
		"tool_name": "Write", "tool_input": map[string]any{"file_path": "/home/user/proj/big.txt", "content": big},
	})
	cases := []struct {
		name   string
		stdin  []byte
		env    []string
		stderr string // substring of the one stderr line
		denied bool   // closed mode output expected
	}{
		{"not json", []byte("hello"), nil, "expected a JSON object", false},
		{"empty", []byte(""), nil, "empty input", false},
		{"truncated", fixture(t, "pre_tool_ls.json")[:40], nil, "invalid JSON", false},
		{"wrong type in cb", []byte(`{"session_id":"s","tool_name":7,"tool_input":{}}`), nil, "field tool_name must be a string", false},
		{"wrong type in schema", []byte(`{"session_id":"s","tool_name":"Bash","tool_input":"ls"}`), nil, "invalid_params", false},
		{"missing field", []byte(`{"session_id":"s","tool_name":"Bash"}`), nil, "tool_input", false},
		{"over the size limit", tenMB, []string{"CB_HOOK_MAX_INPUT_BYTES=1048576"}, "more than 1048576 bytes", false},
		{"closed mode denies", []byte("hello"), []string{"CB_HOOK_FAIL_MODE=closed"}, "fail mode closed", true},
		{"per-event closed mode", []byte("{"), []string{"CB_HOOK_PRE_TOOL_FAIL_MODE=closed"}, "fail mode closed", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := testenv.RunCB(t, bin, h, c.env, c.stdin, "hook", "pre_tool")
			if r.Code != 0 {
				t.Fatalf("exit %d (want 0), stderr %q", r.Code, r.Stderr)
			}
			if strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, c.stderr) {
				t.Fatalf("stderr %q, want one line containing %q", r.Stderr, c.stderr)
			}
			if c.denied {
				out := decode(t, r.Stdout)
				hso, _ := out["hookSpecificOutput"].(map[string]any)
				if hso["permissionDecision"] != "deny" || hso["hookEventName"] != "PreToolUse" ||
					!strings.Contains(hso["permissionDecisionReason"].(string), "fail mode is closed") {
					t.Fatalf("closed mode output %q", r.Stdout)
				}
			} else if r.Stdout != "" {
				t.Fatalf("fail-open must print nothing, got %q", r.Stdout)
			}
		})
	}
	t.Run("10 MB payload is decided", func(t *testing.T) {
		// Correctness, not speed: a generous deadline for a loaded machine.
		r := testenv.RunCB(t, bin, h, []string{"CB_HOOK_TIMEOUT=30s"}, tenMB, "hook", "pre_tool")
		if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("usage errors exit 1", func(t *testing.T) {
		// `cb hook nope` is not one: an unknown type is a newer Claude
		// Code's event, recorded with no opinion (TestHookEveryEvent).
		for _, args := range [][]string{{"hook"}, {"hook", "pre_tool", "extra"}} {
			r := testenv.RunCB(t, bin, h, nil, []byte("{}"), args...)
			if r.Code != 1 || r.Stdout != "" {
				t.Errorf("%v: exit %d stdout %q", args, r.Code, r.Stdout)
			}
		}
	})
}

func TestHookDaemonKilled(t *testing.T) {
	h, d := startWithRules(t, "CB_HOOK_TIMEOUT=700ms")
	in := fixture(t, "pre_tool_rm_root.json")
	if r := testenv.RunCB(t, bin, h, nil, in, "hook", "pre_tool"); !strings.Contains(r.Stdout, `"deny"`) {
		t.Fatalf("daemon not deciding before the kill: %+v", r)
	}
	d.Kill() // SIGKILL: its serving lease stays in Redis until it runs out (instance.lease)
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			r := testenv.RunCB(t, bin, h, []string{"CB_HOOK_FAIL_MODE=" + mode}, in, "hook", "pre_tool")
			if r.Code != 0 {
				t.Fatalf("exit %d", r.Code)
			}
			if r.Elapsed > 700*time.Millisecond+time.Second {
				t.Fatalf("took %v, deadline is 700ms", r.Elapsed)
			}
			// Waiting for the dead cbd until the deadline, or told at once
			// that nobody serves once its lease ran out.
			if !strings.Contains(r.Stderr, "no answer within") && !strings.Contains(r.Stderr, "no cbd instance is serving") {
				t.Fatalf("stderr %q", r.Stderr)
			}
			if mode == "open" && r.Stdout != "" {
				t.Fatalf("open: stdout %q", r.Stdout)
			}
			if mode == "closed" && !strings.Contains(r.Stdout, `"permissionDecision":"deny"`) {
				t.Fatalf("closed: stdout %q", r.Stdout)
			}
		})
	}
	t.Run("redis unreachable", func(t *testing.T) {
		for _, mode := range []string{"open", "closed"} {
			r := testenv.RunCB(t, bin, h, []string{"CB_FAIL=1", "CB_HOOK_FAIL_MODE=" + mode, "CB_REDIS_URL=unix:///nonexistent/redis.sock"}, in, "hook", "pre_tool")
			if r.Code != 0 || !strings.Contains(r.Stderr, "unavailable") {
				t.Fatalf("%s: exit %d stderr %q", mode, r.Code, r.Stderr)
			}
			if (mode == "closed") != strings.Contains(r.Stdout, `"deny"`) {
				t.Fatalf("%s: stdout %q", mode, r.Stdout)
			}
		}
	})
	// A Stop hook that blocks makes Claude keep working (up to eight turns
	// with a dead cbd): the global closed mode is not inherited by it, a
	// per-type setting still is.
	t.Run("stop inherits no closed mode", func(t *testing.T) {
		stop := []byte(`{"session_id":"s1","hook_event_name":"Stop","stop_hook_active":false}`)
		for _, c := range []struct {
			env   string
			block bool
		}{{"CB_HOOK_FAIL_MODE=closed", false}, {"CB_HOOK_STOP_FAIL_MODE=closed", true}} {
			r := testenv.RunCB(t, bin, h, []string{c.env, "CB_REDIS_URL=unix:///nonexistent/redis.sock"}, stop, "hook", "stop")
			if r.Code != 0 || c.block != strings.Contains(r.Stdout, `"block"`) {
				t.Fatalf("%s: exit %d stdout %q stderr %q, want block=%v", c.env, r.Code, r.Stdout, r.Stderr, c.block)
			}
		}
	})
}

func TestHookNoDaemonFailsFast(t *testing.T) {
	// A cbd that stopped cleanly withdrew its serving claim: cb answers at
	// once instead of waiting for its deadline.
	own := testenv.NewRedis(t) // no claims left by other tests' killed daemons
	h := testenv.NewHome(t, "CB_REDIS_URL="+own.URL(), "CB_HOOK_TIMEOUT=5s")
	d := testenv.StartDaemon(t, bin, h, nil)
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.Wait(10 * time.Second); code != 0 {
		t.Fatalf("cbd exit %d after SIGTERM", code)
	}
	r := testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_rm_root.json"), "hook", "pre_tool")
	if r.Code != 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "no cbd instance is serving") {
		t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r.Elapsed > 2*time.Second {
		t.Fatalf("took %v", r.Elapsed)
	}
}

// TestHookConfigFile reads the hook settings from config files cb's lean
// reader takes and from ones it leaves to cb-cli's YAML parser: the fail
// mode must be the file's either way.
func TestHookConfigFile(t *testing.T) {
	dead := "CB_REDIS_URL=unix://" + filepath.Join(t.TempDir(), "none.sock")
	for _, c := range []struct{ name, config, stdout, stderr string }{
		{"lean", testRules + "  fail_mode: closed\n", "deny", "fail mode closed"},
		{"flow mapping", "hook: {fail_mode: closed}\n", "deny", "fail mode closed"},
		{"anchor", "x: &closed closed\nhook:\n  pre_tool:\n    fail_mode: *closed\n", "deny", "fail mode closed"},
		{"broken", "hook:\n  fail_mode: [closed\n", "", "parse config"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := testenv.NewHome(t, dead)
			h.WriteConfig(t, c.config)
			r := testenv.RunCB(t, bin, h, nil, fixture(t, "pre_tool_ls.json"), "hook", "pre_tool")
			if r.Code != 0 || !strings.Contains(r.Stdout, c.stdout) || (c.stdout == "" && r.Stdout != "") || !strings.Contains(r.Stderr, c.stderr) {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}
