package claudecode

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/policytest"
	"github.com/claudebench/cb/internal/testenv"
)

// spawnLog is a --command for cb install: a shell script that appends its
// arguments ("hook <type>") to a log and runs cb. It tells which hook types
// ran as a cb process.
type spawnLog struct{ script, log string }

func newSpawnLog(t *testing.T) spawnLog {
	t.Helper()
	dir := t.TempDir()
	s := spawnLog{script: filepath.Join(dir, "cb-logged"), log: filepath.Join(dir, "spawns.log")}
	body := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> '%s'\nexec '%s' \"$@\"\n", s.log, bin.CB)
	if err := os.WriteFile(s.script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// types lists the hook types that ran as a process, in order.
func (s spawnLog) types(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(s.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, strings.TrimPrefix(l, "hook "))
	}
	return out
}

// denyRun has the model call Bash("rm -rf /") once and returns the run and
// the tool_result the model got back.
func denyRun(t *testing.T, r *rig) (*clientRun, apiBlock) {
	t.Helper()
	api := newFakeAPI(t, func(req *apiRequest) reply {
		if req.turn() == 0 {
			return reply{Text: "Cleaning.", Tools: []toolUse{bash("rm -rf /")}}
		}
		return reply{Text: "Done."}
	})
	run := r.runClient(api, "clean up the machine", "--disallowedTools", "Bash(rm:*)")
	run.finished(t, map[string]any{"subtype": "success"})
	reqs := api.agentRequests()
	if len(reqs) != 2 || len(reqs[1].toolResults()) != 1 {
		t.Fatalf("%d model requests, want the tool call and one tool result", len(reqs))
	}
	return run, reqs[1].toolResults()[0]
}

// checkDenied fails unless the model got deny-rm-root's reason back and cbd
// audited the deny for the session.
func checkDenied(t *testing.T, r *rig, run *clientRun, b apiBlock) {
	t.Helper()
	if want := policytest.DefaultReason(t, "deny-rm-root"); !b.IsError || !strings.Contains(b.text(), want) {
		t.Fatalf("tool_result for rm -rf /: is_error=%v %q, want an error containing %q", b.IsError, b.text(), want)
	}
	var got []string
	for _, a := range r.audit(run.sessionID(), 2) {
		got = append(got, a.Event+"/"+a.Tool+"/"+a.Decision)
	}
	if !slices.Contains(got, "hook.pre_tool/Bash/deny") {
		t.Fatalf("audit of the session lacks hook.pre_tool/Bash/deny: %v", got)
	}
}

// TestClientMCPToolHooks installs with `cb install --mcp`: every hook is an
// mcp_tool hook answered by cbd's MCP server, which cb install registered
// in the user's .claude.json. A PreToolUse deny reaches the model through
// that path and is audited, and no hook but SessionStart (which Claude Code
// runs before it has an MCP connection, so it stays a command hook) ran as
// a process: the --command given is a script that logs every start.
func TestClientMCPToolHooks(t *testing.T) {
	addr := testenv.FreeAddr(t)
	spawns := newSpawnLog(t)
	r := newRig(t, clientRules, []string{"CB_HTTP_ADDR=" + addr}, "--mcp", "--command", spawns.script)
	hooks, _ := r.settings()["hooks"].(map[string]any)
	if s := fmt.Sprint(hooks["PreToolUse"]); !strings.Contains(s, "type:mcp_tool") || strings.Contains(s, "command") {
		t.Fatalf("cb install --mcp wrote PreToolUse %s", s)
	}
	global := readJSONObject(t, filepath.Join(r.config, ".claude.json"))
	if s := fmt.Sprint(global["mcpServers"]); !strings.Contains(s, "http://"+addr+"/mcp") {
		t.Fatalf("cb install --mcp registered %s", s)
	}

	run, b := denyRun(t, r)
	checkDenied(t, r, run, b)
	if got := spawns.types(t); !slices.Equal(got, []string{"session_start"}) {
		t.Errorf("hooks that ran as cb processes with --mcp: %v, want session_start only", got)
	}
	if skipped := run.debugLines("mcp_tool hook skipped"); len(skipped) > 0 {
		t.Errorf("the client skipped mcp_tool hooks:\n%s", strings.Join(skipped, "\n"))
	}
	if calls := run.debugLines("Hooks: mcp_tool calling claudebench/hook"); len(calls) < 3 {
		t.Errorf("the client called the hook tool %d times, want at least UserPromptSubmit, PreToolUse and Stop", len(calls))
	}
	// The session's other events came the same way.
	var events []string
	for _, a := range r.audit(run.sessionID(), 3) {
		events = append(events, a.Event)
	}
	for _, want := range []string{"hook.user_prompt", "hook.stop"} {
		if !slices.Contains(events, want) {
			t.Errorf("audit lacks %s (over mcp_tool): %v", want, events)
		}
	}
	if len(run.debugLines("claudebench")) == 0 {
		t.Errorf("the client's debug log never mentions the claudebench MCP server")
	}
}

// TestClientHTTPDecidingHooks installs with `cb install --http` and the
// deciding events failing closed: PreToolUse is an http hook with
// onFailure "block", and its deny reaches the model; only the events whose
// answer can carry the user's data (and SessionStart, where Claude Code
// runs no http hook) ran as cb processes.
func TestClientHTTPDecidingHooks(t *testing.T) {
	addr := testenv.FreeAddr(t)
	spawns := newSpawnLog(t)
	r := newRig(t, clientRules, []string{"CB_HTTP_ADDR=" + addr, "CB_HOOK_FAIL_MODE=closed"}, "--http", "--command", spawns.script)
	hooks, _ := r.settings()["hooks"].(map[string]any)
	if s := fmt.Sprint(hooks["PreToolUse"]); !strings.Contains(s, "type:http") || !strings.Contains(s, "onFailure:block") {
		t.Fatalf("cb install --http wrote PreToolUse %s", s)
	}

	run, b := denyRun(t, r)
	checkDenied(t, r, run, b)
	if posts := run.debugLines("HTTP hook POST to http://" + addr + "/hooks/pre_tool"); len(posts) == 0 {
		t.Errorf("the client did not POST PreToolUse to cbd")
	}
	got := spawns.types(t)
	for _, typ := range got {
		if !slices.Contains([]string{"session_start", "user_prompt", "stop", "subagent_stop", "teammate_idle"}, typ) {
			t.Errorf("%s ran as a cb process with --http: %v", typ, got)
		}
	}
	if !slices.Contains(got, "user_prompt") {
		t.Errorf("user_prompt (a command hook under --http) did not run as a process: %v", got)
	}
}

// TestClientMCPToolHooksDaemonKilled runs the client with mcp_tool hooks
// after cbd was killed, so the claudebench MCP server cannot connect: with
// the default fail mode the permission settings decide (the allowed touch
// runs); with hook.fail_mode closed, cb install wrote onFailure "block" on
// PreToolUse, and the touch is refused. (With every default event
// installed, UserPromptSubmit would already refuse the prompt.)
func TestClientMCPToolHooksDaemonKilled(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			r := newRig(t, clientRules, []string{"CB_HTTP_ADDR=" + addr, "CB_HOOK_FAIL_MODE=" + mode}, "--mcp", "--events", "pre_tool")
			if s := fmt.Sprint(r.settings()["hooks"].(map[string]any)["PreToolUse"]); strings.Contains(s, "onFailure:block") != (mode == "closed") {
				t.Fatalf("fail mode %s: PreToolUse %s", mode, s)
			}
			r.d.Kill()
			file := "cb-mcp-" + mode + ".txt"
			api := newFakeAPI(t, func(req *apiRequest) reply {
				if req.turn() == 0 {
					return reply{Tools: []toolUse{bash("touch " + file)}}
				}
				return reply{Text: "Done."}
			})
			run := r.runClient(api, "touch the file", "--allowedTools", "Bash(touch:*)")
			run.finished(t, nil)
			reqs := api.agentRequests()
			if len(reqs) != 2 || len(reqs[1].toolResults()) != 1 {
				t.Fatalf("%d model requests, want the tool call and one tool result", len(reqs))
			}
			b := reqs[1].toolResults()[0]
			_, statErr := os.Stat(filepath.Join(r.project, file))
			if mode == "open" && (b.IsError || statErr != nil) {
				t.Fatalf("fail-open: the allowed touch did not run (is_error=%v %q, %v)", b.IsError, b.text(), statErr)
			}
			if mode == "closed" && (!b.IsError || statErr == nil) {
				t.Fatalf("fail-closed: is_error=%v %q, file made: %v", b.IsError, b.text(), statErr == nil)
			}
		})
	}
}
