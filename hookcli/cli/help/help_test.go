package help_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/hookcli/cli"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/help"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// runWithHelp runs the command tree with the help topics and the completion
// command added, the way the root adds them.
func runWithHelp(t *testing.T, args ...string) (string, string, *cobra.Command) {
	t.Helper()
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	var out, errb bytes.Buffer
	f, _ := cmdutil.New(iostreams.System(strings.NewReader(""), &out, &errb))
	root := cli.NewCmdRoot(f)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("cb %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String(), root
}

func TestHelpEnvironment(t *testing.T) {
	out, _, _ := runWithHelp(t, "help", "environment")
	for _, k := range protocol.ConfigKeys() {
		line := fmt.Sprintf("  %s  (%s, default %s)\n", protocol.EnvName(k.Name), k.Name, help.FormatConfigDefault(k.Default))
		if !strings.Contains(out, line) {
			t.Errorf("missing %q", line)
		}
	}
	for _, want := range []string{"CB_HOOK_TIMEOUT  (hook.timeout, default 2s)", "(redis.url, default empty)", "CB_CONFIG", "NO_COLOR", "CLAUDE_CODE_SESSION_ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len([]rune(l)) > 100 {
			t.Errorf("long line %q", l)
		}
	}
}

func TestHelpExitCodes(t *testing.T) {
	out, _, _ := runWithHelp(t, "help", "exit-codes")
	for _, c := range protocol.Codes {
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == fmt.Sprint(c.Exit) && f[1] == fmt.Sprint(int(c.Code)) && f[2] == c.Name {
				found = true
			}
		}
		if !found {
			t.Errorf("no line for %s (%d → %d):\n%s", c.Name, c.Code, c.Exit, out)
		}
	}
	if !strings.Contains(out, "  0  ") || !strings.Contains(out, "  2  ") || !strings.Contains(out, "usage") {
		t.Errorf("0, 1 and 2 missing:\n%s", out)
	}
}

func TestHelpTopicsListed(t *testing.T) {
	out, _, _ := runWithHelp(t, "--help")
	if !strings.Contains(out, "Additional help topics:") || !strings.Contains(out, "cb environment") || !strings.Contains(out, "cb exit-codes") {
		t.Fatalf("topics not listed:\n%s", out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "# bash completion V2 for cb",
		"zsh":        "#compdef cb",
		"fish":       "# fish completion for cb",
		"powershell": "# powershell completion for cb",
	} {
		out, errs, root := runWithHelp(t, "completion", shell)
		if !strings.HasPrefix(out, want) || errs != "" {
			t.Errorf("%s: %.60q, stderr %q", shell, out, errs)
		}
		n := 0
		for _, c := range root.Commands() {
			if c.Name() == "completion" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d completion commands", n)
		}
	}
	// A broken config file does not break completion.
	t.Setenv("CB_CONFIG", "")
	var out, errb bytes.Buffer
	f, _ := cmdutil.New(iostreams.System(strings.NewReader(""), &out, &errb))
	root := cli.NewCmdRoot(f)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	t.Setenv("CB_CONFIG", bad)
	if err := os.WriteFile(bad, []byte("hook: [unclosed"), 0o600); err != nil {
		t.Fatal(err)
	}
	root.SetArgs([]string{"completion", "bash"})
	if err := root.Execute(); err != nil || !strings.HasPrefix(out.String(), "# bash completion") {
		t.Fatalf("%v %.40q", err, out.String())
	}
}

func TestWrapWords(t *testing.T) {
	got := help.WrapHelpText("aa bb cc dd-long-word ee", 6)
	if strings.Join(got, "|") != "aa bb|cc|dd-long-word|ee" {
		t.Fatal(got)
	}
}

// TestVersionFlag: cb --version answers without cbd, like cbd --version.
func TestVersionFlag(t *testing.T) {
	out, _, _ := runWithHelp(t, "--version")
	if out != "cb version "+protocol.Version+"\n" {
		t.Fatalf("cb --version printed %q", out)
	}
}
