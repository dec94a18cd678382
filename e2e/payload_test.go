package e2e

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/tidwall/gjson"
)

// usedMemory is Redis's INFO memory used_memory.
func usedMemory(t *testing.T, e *taskEnv) int64 {
	t.Helper()
	info, err := e.rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

// rssKB is a process's resident set (Linux /proc; 0 elsewhere).
func rssKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestLargeHookInputsKeptCapped: twenty large hook inputs are decided on
// the whole input (a rule matching the very end of a Write's content
// fires, rm -rf / with a huge description is denied), yet what stays in
// the streams for events.retention is capped at events.max_payload_bytes
// (64 KiB by default), with the cut marked. CB_TEST_LARGE_INPUT_MB sets
// the input size (default 2 MiB; the README figures used 16).
func TestLargeHookInputsKeptCapped(t *testing.T) {
	size := 2 << 20
	if mb, err := strconv.Atoi(os.Getenv("CB_TEST_LARGE_INPUT_MB")); err == nil && mb > 0 {
		size = mb << 20
	}
	e := newTaskEnv(t)
	e.h.WriteConfig(t, `hook:
  rules:
    - id: deny-marked-write
      tool: Write
      field: content
      match: 'END-OF-FILE-MARK$'
      action: deny
      reason: marked
`)
	// The config is read at start: restart cbd with it.
	e.d.Kill()
	e.d = testenv.StartDaemon(t, bin, e.h, []string{"CB_INSTANCE_ID=cbd-" + t.Name()})
	ctx := context.Background()
	memBefore := usedMemory(t, e)
	rssBefore := rssKB(e.d.Cmd.Process.Pid)

	filler := strings.Repeat("a", size-256) // the whole input within hook.max_input_bytes
	write := []byte(`{"session_id":"big","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Write","tool_input":{"file_path":"/tmp/x","content":"` + filler + `END-OF-FILE-MARK"}}`)
	bash := []byte(`{"session_id":"big","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"rm -rf /","description":"` + filler + `"}}`)
	start := time.Now()
	for i := range 20 {
		in := write
		if i%2 == 1 {
			in = bash
		}
		r := testenv.RunCB(t, bin, e.h, []string{"CB_HOOK_TIMEOUT=20s"}, in, "hook", "pre_tool")
		if r.Code != 0 || !strings.Contains(r.Stdout, `"permissionDecision":"deny"`) {
			t.Fatalf("input %d (%d bytes): exit %d stdout %q stderr %q", i, len(in), r.Code, r.Stdout, r.Stderr)
		}
	}
	elapsed := time.Since(start)

	// The capped copies are acknowledged without being handled; wait
	// until nothing is pending.
	stream := protocol.StreamKey("hook.pre_tool")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p, err := e.rdb.XPending(ctx, stream, protocol.GroupName).Result()
		if err == nil && p.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still pending: %+v %v", p, err)
		}
	}
	memAfter := usedMemory(t, e)
	rssAfter := rssKB(e.d.Cmd.Process.Pid)
	grew := memAfter - memBefore
	t.Logf("20 inputs of %d MiB in %s: redis used_memory %d -> %d (+%d bytes, %.2f%% of the %d input bytes); cbd RSS %d -> %d kB",
		size>>20, elapsed.Round(time.Millisecond), memBefore, memAfter, grew, 100*float64(grew)/float64(20*len(write)), 20*len(write), rssBefore, rssAfter)
	entries, err := e.rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 20 {
		t.Fatalf("%d entries kept, want 20", len(entries))
	}
	for _, m := range entries {
		raw, _ := m.Values[protocol.StreamField].(string)
		if len(raw) > 64<<10 || m.Values[protocol.StreamRecordField] == nil {
			t.Fatalf("entry %s: %d bytes, fields %v; want a capped copy of at most 64 KiB", m.ID, len(raw), len(m.Values))
		}
		p := gjson.Get(raw, "payload")
		if p.Get("session_id").String() != "big" || p.Get("tool_input.file_path").String()+p.Get("tool_input.command").String() == "" {
			t.Fatalf("entry %s lost its small fields: %.300s", m.ID, raw)
		}
		if !strings.Contains(raw, "…[truncated ") {
			t.Fatalf("entry %s has no truncation marker", m.ID)
		}
	}
	if grew > int64(20*len(write))/20 {
		t.Fatalf("redis grew by %d bytes for 20 inputs of %d bytes: more than 5%% of them is kept", grew, len(write))
	}
}
