package hooks

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
)

func TestRenderCommands(t *testing.T) {
	var buf bytes.Buffer
	renderCommands(&buf, nil)
	if buf.Len() != 0 {
		t.Errorf("no commands printed %q", buf.String())
	}
	renderCommands(&buf, []string{"echo /", "rm -rf /", "a\tb"})
	want := "commands:\n  \"echo /\"\n  \"rm -rf /\"\n  \"a\\tb\"\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestHooksCommands(t *testing.T) {
	list := `{"rules":[{"id":"deny-rm-root","event":"pre_tool","tool":"Bash","field":"command","match":"rm -rf /","action":"deny","priority":100,"blocking":true,"reason":"no","source":"default","disabled":false}]}`
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{
		"hooks.list":    clitest.Answer(list),
		"hooks.add":     clitest.Answer(`{"ok":true}`),
		"hooks.disable": clitest.Answer(`{"ok":true}`),
		"hooks.test":    clitest.Answer(`{"result":{"decision":"deny","ruleIds":["deny-rm-root"],"reason":"no"},"commands":["rm -rf /"]}`),
	})
	cases := []struct {
		args   []string
		tty    bool
		out    string
		params string
	}{
		{[]string{"hooks", "list"}, false, "deny-rm-root\tpre_tool\tBash\tdeny!\tdefault\ton\trm -rf /\n", `{}`},
		{[]string{"hooks", "list"}, true, "ID            EVENT     TOOL  ACTION  SOURCE   STATE  MATCH\ndeny-rm-root  pre_tool  Bash  deny!   default  on     rm -rf /\n", `{}`},
		{[]string{"hooks", "add", "--id", "x", "--action", "deny", "--tool", "Bash", "--priority", "5"}, false, "added rule x\n", `{"rule":{"id":"x","action":"deny","tool":"Bash","priority":5}}`},
		{[]string{"hooks", "disable", "x"}, false, "x: disable\n", `{"id":"x"}`},
		{[]string{"hooks", "test", "--command", "rm -rf /"}, false, "decision: deny\nrules:    deny-rm-root\nreason:   no\ncommands:\n  \"rm -rf /\"\n", `{"event":"pre_tool","command":"rm -rf /","cwd":CWD}`},
	}
	for _, c := range cases {
		f, ios, s := clitest.NewFactory(fake)
		ios.SetStdoutTTY(c.tty)
		before := len(fake.Calls())
		if code := clitest.Run(f, NewCmdHooks(f), c.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, s.Err)
		}
		if s.Out.String() != c.out {
			t.Errorf("%v printed %q, want %q", c.args, s.Out, c.out)
		}
		calls := fake.Calls()[before:]
		if len(calls) != 1 {
			t.Fatalf("%v: calls %v", c.args, calls)
		}
		// cb hooks test judges a built input as if Claude Code ran here.
		wd, _ := os.Getwd()
		clitest.JSONEq(t, calls[0].Params, strings.ReplaceAll(c.params, "CWD", strconv.Quote(wd)))
	}
	f, _, s := clitest.NewFactory(fake)
	if code := clitest.Run(f, NewCmdHooks(f), "hooks", "test", "--input", "{"); code != 3 || !strings.Contains(s.Err.String(), "--input is not valid JSON") {
		t.Errorf("bad --input: exit %d, %q", code, s.Err)
	}
}
