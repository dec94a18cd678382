package audit

import (
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
)

const records = `{"records":[{"id":"a1","time":"2025-06-01T11:00:00Z","sessionId":"sess-0123456789abcdef","instanceId":"cbd-1","event":"hook.pre_tool","tool":"Bash","decision":"deny","ruleIds":["deny-rm-root"],"reason":"no","latencyMicros":42}]}`

func TestAudit(t *testing.T) {
	run := func(tty bool, args ...string) (string, string, int, []clitest.Call) {
		fake := clitest.NewFakeCaller(map[string]clitest.Handler{"audit.list": clitest.Answer(records)})
		f, ios, s := clitest.NewFactory(fake)
		ios.SetStdoutTTY(tty)
		code := clitest.Run(f, NewCmdAudit(f, nil), args...)
		return s.Out.String(), s.Err.String(), code, fake.Calls()
	}
	out, errOut, code, calls := run(true, "audit", "--decision", "deny", "--since", "1h")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	clitest.JSONEq(t, calls[0].Params, `{"limit":100,"decision":"deny","since":"1h"}`)
	if !strings.HasPrefix(out, "TIME ") || !strings.Contains(out, "sess-0123456") || strings.Contains(out, "sess-0123456789") || !strings.Contains(out, "42µs") {
		t.Errorf("terminal table:\n%s", out)
	}
	// Not a terminal: whole values, tab-separated, no header.
	out, _, _, _ = run(false, "audit")
	want := "2025-06-01T11:00:00Z\tsess-0123456789abcdef\thook.pre_tool\tBash\tdeny\tdeny-rm-root\t42\tno\n"
	if out != want {
		t.Errorf("plain rows %q, want %q", out, want)
	}
	// --json keeps every field, instanceId included, on one line off a terminal.
	out, _, _, _ = run(false, "audit", "--json")
	if out != records+"\n" {
		t.Errorf("--json printed %q", out)
	}
	out, _, _, _ = run(false, "audit", "--jq", ".records[].instanceId")
	if out != "cbd-1\n" {
		t.Errorf("--jq printed %q", out)
	}
}

// A page with more after it ends with the command for the next one on
// stderr: the same filters and the cursor; --json is the answer itself.
func TestAuditMoreHint(t *testing.T) {
	page := strings.Replace(records, `]}`, `],"nextCursor":"a 1"}`, 1)
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{"audit.list": clitest.Answer(page)})
	f, ios, s := clitest.NewFactory(fake)
	ios.SetStdoutTTY(true)
	code := clitest.Run(f, NewCmdAudit(f, nil), "audit", "--decision", "deny", "--since", "2026-12-05T05:00:00Z", "--after", "a 0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, s.Err)
	}
	clitest.JSONEq(t, fake.Calls()[0].Params, `{"limit":100,"decision":"deny","since":"2026-12-05T05:00:00Z","after":"a 0"}`)
	if want := "more: cb audit --decision deny --since 2026-12-05T05:00:00Z --after 'a 1'\n"; s.Err.String() != want {
		t.Errorf("stderr %q, want %q", s.Err, want)
	}
	f, _, s = clitest.NewFactory(fake)
	if code := clitest.Run(f, NewCmdAudit(f, nil), "audit", "--json"); code != 0 || s.Out.String() != page+"\n" || s.Err.String() != "" {
		t.Errorf("--json: exit %d, stdout %q, stderr %q", code, s.Out, s.Err)
	}
}
