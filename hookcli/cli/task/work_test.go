package task

import (
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
)

// TestTaskWork: cb task work sends task.work with the session (from
// --session, else $CLAUDE_CODE_SESSION_ID), --off and --for, and says what
// cbd answered.
func TestTaskWork(t *testing.T) {
	const until = `"until":"2025-06-02T11:00:00.000Z"`
	f := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.work": clitest.Answer(`{"sessionId":"s-1","workerId":"session:s-1","feed":true,` + until + `}`),
	})
	cases := []struct {
		env        string // $CLAUDE_CODE_SESSION_ID
		args       []string
		params     string
		out        string
		code       int
		errContain string
	}{
		{"", []string{"work", "--session", "s-1"}, `{"sessionId":"s-1"}`, "session s-1 is fed queued tasks as session:s-1 until", 0, ""},
		{"", []string{"work", "--session", "s-1", "--for", "2h"}, `{"sessionId":"s-1","ttlMs":7200000}`, "", 0, ""},
		{"", []string{"work", "--session", "s-1", "--off"}, `{"sessionId":"s-1","off":true}`, "", 0, ""},
		{"s-env", []string{"work"}, `{"sessionId":"s-env"}`, "", 0, ""},
		{"s-env", []string{"work", "--session", "s-1"}, `{"sessionId":"s-1"}`, "", 0, ""},
		{"", []string{"work"}, "", "", 2, "--session is required"},
		{"", []string{"work", "--session", "s-1", "--for", "10ms"}, "", "", 2, "--for 10ms: want 1s to 720h"},
		{"", []string{"work", "extra"}, "", "", 2, "unknown command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " ")+" env="+c.env, func(t *testing.T) {
			t.Setenv("CLAUDE_CODE_SESSION_ID", c.env)
			before := len(f.Calls())
			out, errOut, code := runTask(f, false, c.args...)
			if code != c.code || (c.errContain != "" && !strings.Contains(errOut, c.errContain)) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, errOut, c.code, c.errContain)
			}
			if !strings.Contains(out, c.out) {
				t.Errorf("stdout = %q, want it to contain %q", out, c.out)
			}
			calls := f.Calls()[before:]
			if c.params == "" {
				if len(calls) != 0 {
					t.Errorf("calls = %v, want none", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Method != "task.work" {
				t.Fatalf("calls = %v, want one task.work", calls)
			}
			clitest.JSONEq(t, calls[0].Params, c.params)
		})
	}
	// Opted out, it says so.
	f.Handle("task.work", clitest.Answer(`{"sessionId":"s-1","workerId":"session:s-1","feed":false,`+until+`}`))
	if out, _, code := runTask(f, false, "work", "--session", "s-1", "--off"); code != 0 || !strings.HasPrefix(out, "session s-1 is not fed work until ") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}
