package cmdutil_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// run executes a small tree (cb do ARG, cb hook ARG) and returns the exit
// status, stdout and stderr.
func run(tty bool, result any, runErr error, args ...string) (int, string, string) {
	ios, _, out, errOut := iostreams.Test()
	ios.SetStdoutTTY(tty)
	f := &cmdutil.Factory{IOStreams: ios, Flags: &cmdutil.GlobalFlags{}}
	root := &cobra.Command{Use: "cb", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddGlobalFlags(root, f.Flags)
	root.AddCommand(&cobra.Command{
		Use:  "do ARG",
		Args: cobra.ExactArgs(1),
		RunE: func(*cobra.Command, []string) error {
			if runErr != nil {
				return runErr
			}
			return f.PrintJSON(result)
		},
	}, &cobra.Command{
		Use:         "hook TYPE",
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{cmdutil.UsageExitAnnotation: "1"},
		RunE:        func(*cobra.Command, []string) error { return nil },
	})
	code := cmdutil.Execute(context.Background(), root, args, ios)
	return code, out.String(), errOut.String()
}

func TestExecuteExitCodes(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		args  []string
		code  int
		usage bool
	}{
		{"ok", nil, []string{"do", "x"}, 0, false},
		{"wrong arg count", nil, []string{"do"}, 2, true},
		{"unknown flag", nil, []string{"do", "x", "--nope"}, 2, true},
		{"unknown command", nil, []string{"nope"}, 2, true},
		{"our usage error", cmdutil.FlagErrorf("--x: bad"), []string{"do", "x"}, 2, true},
		{"hook usage error exits 1", nil, []string{"hook"}, 1, true},
		{"exit error", cmdutil.Exit(6, errors.New("late")), []string{"do", "x"}, 6, false},
		{"protocol error", protocol.Errorf(protocol.CodeNotFound, "gone"), []string{"do", "x"}, 7, false},
		{"plain error", errors.New("boom"), []string{"do", "x"}, 1, false},
	}
	for _, c := range cases {
		code, _, errOut := run(false, map[string]int{"a": 1}, c.err, c.args...)
		if code != c.code || (code != 0 && !strings.HasPrefix(errOut, "cb: ")) {
			t.Errorf("%s: exit %d, stderr %q; want %d", c.name, code, errOut, c.code)
		}
		if got := strings.Contains(errOut, "Usage:"); got != c.usage {
			t.Errorf("%s: usage shown %v, want %v:\n%s", c.name, got, c.usage, errOut)
		}
	}
}

func TestPrintJSON(t *testing.T) {
	v := map[string]any{"tasks": []map[string]any{{"id": "t-1"}, {"id": "t-2"}}}
	if _, out, _ := run(false, v, nil, "do", "x", "--json"); out != `{"tasks":[{"id":"t-1"},{"id":"t-2"}]}`+"\n" {
		t.Errorf("off a terminal: %q", out)
	}
	if _, out, _ := run(true, v, nil, "do", "x", "--json"); !strings.HasPrefix(out, "{\n  \"tasks\": [") {
		t.Errorf("on a terminal: %q", out)
	}
	if _, out, _ := run(false, v, nil, "do", "x", "--jq", ".tasks[].id"); out != "t-1\nt-2\n" {
		t.Errorf("--jq strings: %q", out)
	}
	if _, out, _ := run(false, v, nil, "do", "x", "--jq", ".tasks[0]"); out != `{"id":"t-1"}`+"\n" {
		t.Errorf("--jq object: %q", out)
	}
	if code, _, errOut := run(false, v, nil, "do", "x", "--jq", ".["); code != 2 || !strings.Contains(errOut, "--jq") {
		t.Errorf("bad --jq: exit %d %q", code, errOut)
	}
}
