// Package help holds cb's help topics (cb help environment, cb help
// exit-codes) and cb completion.
package help

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// NewCmds are the additional help topics (cb help environment, cb help
// exit-codes) and the one completion command; the root adds them with
// root.AddCommand(help.NewCmds(f)...). A completion command of our own keeps
// cobra from adding its default one.
func NewCmds(f *cmdutil.Factory) []*cobra.Command {
	return []*cobra.Command{
		{
			Use:   "environment",
			Short: "Environment variables and config keys, with defaults",
			Long:  environmentHelp(),
		},
		{
			Use:   "exit-codes",
			Short: "Exit statuses of cb and the error codes behind them",
			Long:  exitCodesHelp(),
		},
		NewCmdCompletion(f),
	}
}

// SkipSettings replaces the root's settings loading for commands that need
// none, so a broken config file cannot break them.
func SkipSettings(*cobra.Command, []string) error { return nil }

// NewCmdCompletion is cb completion.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script for a shell on stdout. Commands, flags, event
types (cb emit, cb events; read from Redis) complete with TAB.

  bash:  source <(cb completion bash)          # or save it to
         cb completion bash > ~/.local/share/bash-completion/completions/cb
  zsh:   cb completion zsh > "${fpath[1]}/_cb"  # needs compinit
  fish:  cb completion fish > ~/.config/fish/completions/cb.fish
  powershell: cb completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		PersistentPreRunE:     SkipSettings,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(f.IOStreams.Out, true)
			case "zsh":
				return root.GenZshCompletion(f.IOStreams.Out)
			case "fish":
				return root.GenFishCompletion(f.IOStreams.Out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(f.IOStreams.Out)
			}
		},
	}
}

// environmentHelp documents every variable cb and cbd read, generated from
// protocol.ConfigKeys.
func environmentHelp() string {
	var b strings.Builder
	b.WriteString(`cb and cbd read the config file, then the environment, which wins (cbd's
flags of the same names win over both). Every config key has one variable:
the key upper-cased with dots as underscores and CB_ in front.

`)
	for _, k := range protocol.ConfigKeys() {
		fmt.Fprintf(&b, "  %s  (%s, default %s)\n", protocol.EnvName(k.Name), k.Name, formatConfigDefault(k.Default))
		for _, l := range wrapHelpText(k.Doc, 72) {
			b.WriteString("      " + l + "\n")
		}
	}
	b.WriteString(`
Other variables:

  CB_CONFIG  the config file (default $XDG_CONFIG_HOME/claudebench/config.yaml)
  XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR, XDG_STATE_HOME
      where the config, the data (AOF, SQLite), and the runtime files
      (socket, redis.url written by cbd) live; see the README
  CLAUDE_CODE_SESSION_ID  the default --session of cb emit (set by Claude Code)
  NO_COLOR  any value: no colors (also TERM=dumb)
  COLUMNS   the width to fit human output into`)
	return b.String()
}

// formatConfigDefault renders a default the way the README table does.
func formatConfigDefault(v any) string {
	switch d := v.(type) {
	case string:
		if d == "" {
			return "empty"
		}
		return d
	case time.Duration:
		return d.String()
	case []string:
		return "[" + strings.Join(d, ",") + "]"
	case []any:
		return "[]"
	}
	return fmt.Sprint(v)
}

// exitCodesHelp is the table of exit statuses, generated from protocol.Codes.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString(`Every command exits 0 on success, 2 on a usage error (wrong arguments or
flags; the command's usage follows the error) and 1 on any other failure that
has no error code. Errors cbd (or cb itself) reports carry a JSON-RPC style
code; cb exits with the status of that code:

`)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STATUS\tCODE\tNAME\tMEANING")
	fmt.Fprintln(tw, "  0\t\tsuccess\t")
	fmt.Fprintln(tw, "  1\t\tother\tan error without a code")
	fmt.Fprintln(tw, "  2\t\tusage\twrong arguments or flags")
	for _, c := range protocol.Codes {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\n", c.Exit, int(c.Code), c.Name, c.Doc)
	}
	_ = tw.Flush()
	b.WriteString(`
cb hook exits only 0 or 1, never 2 (Claude Code reads 2 as "block"), also
on a usage error. cb emit with --strict exits 1 at the first bad input line;
rejected lines without --strict still exit 0.`)
	return b.String()
}

// wrapHelpText breaks s into lines of at most width runes (longer words stay whole).
func wrapHelpText(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
