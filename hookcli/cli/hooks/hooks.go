// Package hooks is `cb hooks`: list, add, remove, disable, enable and test
// the hook rules every cbd applies.
package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// NewCmdHooks is `cb hooks` and its subcommands.
func NewCmdHooks(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hooks",
		Short: "List, add, remove, disable and test hook rules (applied by every cbd at once)",
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdAdd(f, nil),
		NewCmdByID(f, "rm", "hooks.remove", "Remove a rule added at run time", nil),
		NewCmdByID(f, "disable", "hooks.disable", "Switch a rule off (any rule, by id)", nil),
		NewCmdByID(f, "enable", "hooks.enable", "Switch a disabled rule back on", nil),
		NewCmdTest(f, nil))
	return cmd
}

// Options are what every hooks command shares.
type Options struct{ cmdutil.CallOptions }

func newOptions(f *cmdutil.Factory) Options { return Options{cmdutil.NewCallOptions(f)} }

// ListOptions are cb hooks list's inputs.
type ListOptions struct{ Options }

// NewCmdList is `cb hooks list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{newOptions(f)}
	return cmdutil.WithRun(f, &cobra.Command{
		Use:   "list",
		Short: "List every rule with its source (default, config, redis) and state",
		Args:  cobra.NoArgs,
	}, opts, nil, runF, listRun)
}

func listRun(ctx context.Context, opts *ListOptions) error {
	raw, err := opts.Call(ctx, "hooks.list", nil)
	if err != nil {
		return err
	}
	if opts.Print != nil {
		return opts.Print(raw)
	}
	var res api.HooksListResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("hooks.list answer: %w", err)
	}
	return renderRules(opts.IO.Out, res.Rules, opts.IO.IsStdoutTTY())
}

// renderRules prints the rules: on a terminal an aligned table with a
// header and long matches cut short, else tab-separated rows.
func renderRules(w io.Writer, rules []api.ListedRule, tty bool) error {
	var rows [][]string
	for _, r := range rules {
		state := "on"
		if r.Disabled {
			state = "off"
		}
		ev := r.Event
		if ev == "" {
			ev = "pre_tool"
		}
		match := r.Match
		if r.Special != "" {
			match = strings.TrimSpace(match + " [" + r.Special + "]")
		}
		if tty && len(match) > 50 {
			match = match[:49] + "…"
		}
		tool := r.Tool
		if tool == "" {
			tool = "*"
		}
		action := r.Action
		if r.Blocking {
			action += "!"
		}
		rows = append(rows, []string{r.ID, ev, tool, action, r.Source, state, match})
	}
	if !tty {
		return cmdutil.WriteTSV(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tTOOL\tACTION\tSOURCE\tSTATE\tMATCH")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// AddOptions are cb hooks add's inputs: a rule from flags, or File.
type AddOptions struct {
	Options
	Rule api.Rule
	File string
}

// NewCmdAdd is `cb hooks add`.
func NewCmdAdd(f *cmdutil.Factory, runF func(context.Context, *AddOptions) error) *cobra.Command {
	opts := &AddOptions{Options: newOptions(f)}
	cmd := &cobra.Command{
		Use:   "add [--id ID --action A ...] | add --file rule.yaml",
		Short: "Add or replace (by id) a rule; every cbd applies it within a second",
		Example: `  cb hooks add --id no-prod-db --tool Bash --field command --match 'psql .*prod' --action deny --reason 'needs a human'
  cb hooks add --file rule.yaml`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, nil, runF, addRun)
	fl := cmd.Flags()
	r := &opts.Rule
	fl.StringVar(&opts.File, "file", "", "a YAML or JSON rule (- for stdin)")
	fl.StringVar(&r.ID, "id", "", "rule id")
	fl.StringVar(&r.Event, "event", "", "hook type (default pre_tool)")
	fl.StringVar(&r.Tool, "tool", "", "tool name, A|B list or anchored regex (default all)")
	fl.StringVar(&r.Field, "field", "", "field of the tool input to match (command, file_path, url, prompt)")
	fl.StringVar(&r.Match, "match", "", "regex on the field (each simple command for Bash)")
	fl.StringVar(&r.Action, "action", "", "allow, deny, ask, cancel, modify or context (which ones an event takes: README, Decisions on the other events)")
	fl.StringVar(&r.Reason, "reason", "", "reason shown with the decision")
	fl.StringVar(&r.Context, "context", "", "text added for action context")
	fl.StringVar(&r.Special, "special", "", "built-in predicate (outside_cwd, system_dir, pipe_to_shell, ...)")
	fl.IntVar(&r.Priority, "priority", 0, "higher runs first")
	fl.BoolVar(&r.Blocking, "blocking", false, "a deny, cancel or ask stops the chain")
	fl.BoolVar(&r.Interrupt, "interrupt", false, "a deny on permission_request also stops the turn (permissions: use --file)")
	return cmd
}

func addRun(ctx context.Context, opts *AddOptions) error {
	var rule any = opts.Rule
	id := opts.Rule.ID
	if opts.File != "" {
		data, err := readFileOrStdin(opts.IO.In, opts.File)
		if err != nil {
			return err
		}
		// Kept as the file has it, so that cbd's schema names any field
		// it does not know.
		var fromFile map[string]any
		if err := yaml.Unmarshal(data, &fromFile); err != nil {
			return fmt.Errorf("rule file %s: %w", opts.File, err)
		}
		rule, id = fromFile, fmt.Sprint(fromFile["id"])
	}
	raw, err := opts.Call(ctx, "hooks.add", map[string]any{"rule": rule})
	if err != nil {
		return err
	}
	return opts.PrintResult(raw, func(w io.Writer, _ iostreams.ColorScheme) error {
		_, err := fmt.Fprintf(w, "added rule %s\n", id)
		return err
	})
}

func readFileOrStdin(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// ByIDOptions are the inputs of cb hooks rm, disable and enable.
type ByIDOptions struct {
	Options
	Method string
	ID     string
}

// NewCmdByID is a command that calls method with a rule id: cb hooks rm,
// disable, enable.
func NewCmdByID(f *cmdutil.Factory, use, method, short string, runF func(context.Context, *ByIDOptions) error) *cobra.Command {
	opts := &ByIDOptions{Options: newOptions(f), Method: method}
	return cmdutil.WithRun(f, &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
	}, opts, func(_ *cobra.Command, args []string) error {
		opts.ID = args[0]
		return nil
	}, runF, byIDRun)
}

func byIDRun(ctx context.Context, opts *ByIDOptions) error {
	raw, err := opts.Call(ctx, opts.Method, map[string]any{"id": opts.ID})
	if err != nil {
		return err
	}
	return opts.PrintResult(raw, func(w io.Writer, _ iostreams.ColorScheme) error {
		_, err := fmt.Fprintf(w, "%s: %s\n", opts.ID, strings.TrimPrefix(opts.Method, "hooks."))
		return err
	})
}

// TestOptions are cb hooks test's inputs; with none of Tool, Command and
// Input the hook payload is read from stdin.
type TestOptions struct {
	Options
	Event, Tool, Command, Input string
}

// NewCmdTest is `cb hooks test`.
func NewCmdTest(f *cmdutil.Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{Options: newOptions(f)}
	cmd := &cobra.Command{
		Use:   "test [--event E] [--tool T] [--command CMD | --input JSON] | test < payload.json",
		Short: "Show the decision, the rules that fire and the Bash commands they saw, without Claude Code",
		Example: `  cb hooks test --tool Bash --command 'ls; rm -rf /'
  cb hooks test --tool Write --input '{"file_path":"/etc/hosts","content":"x"}'
  cb hooks test --event pre_tool < testdata/hooks/pre_tool_rm_root.json
  cb hooks test --event permission_request --command 'git log --oneline | head'
  cb hooks test --event config_change --input '{"source":"user_settings","file_path":"/home/me/.claude/settings.json"}'
  echo '{"task_id":"1","task_subject":"WIP"}' | cb hooks test --event task_created`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, nil, runF, testRun)
	cmd.Flags().StringVar(&opts.Event, "event", "pre_tool", "hook type, its alias or Claude Code's event name (PermissionRequest)")
	cmd.Flags().StringVar(&opts.Tool, "tool", "", "tool name (Bash when --command is given)")
	cmd.Flags().StringVar(&opts.Command, "command", "", "Bash command")
	cmd.Flags().StringVar(&opts.Input, "input", "", "tool input JSON; for an event without a tool, the event's own fields")
	return cmd
}

func testRun(ctx context.Context, opts *TestOptions) error {
	params := map[string]any{"event": opts.Event}
	if opts.Tool != "" {
		params["tool"] = opts.Tool
	}
	if opts.Command != "" {
		params["command"] = opts.Command
	}
	if opts.Input != "" {
		if !json.Valid([]byte(opts.Input)) {
			return cmdutil.Exit(3, fmt.Errorf("--input is not valid JSON"))
		}
		params["input"] = json.RawMessage(opts.Input)
	}
	if opts.Tool != "" || opts.Command != "" || opts.Input != "" {
		// The input is judged as if Claude Code ran here.
		if wd, err := os.Getwd(); err == nil {
			params["cwd"] = wd
		}
	} else {
		data, err := io.ReadAll(opts.IO.In)
		if err != nil {
			return fmt.Errorf("read payload: %w", err)
		}
		in, err := bridge.ParseHookInput(data)
		if err != nil {
			return cmdutil.Exit(3, err)
		}
		params["payload"] = json.RawMessage(in.Raw)
	}
	raw, err := opts.Call(ctx, "hooks.test", params)
	if err != nil {
		return err
	}
	if opts.Print != nil {
		return opts.Print(raw)
	}
	var res api.HooksTestResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("hooks.test answer: %w", err)
	}
	w := opts.IO.Out
	d := res.Result.Decision
	if d == "" {
		d = "no opinion"
	}
	fmt.Fprintf(w, "decision: %s\n", d)
	if len(res.Result.RuleIDs) > 0 {
		fmt.Fprintf(w, "rules:    %s\n", strings.Join(res.Result.RuleIDs, ", "))
	}
	if res.Result.Reason != "" {
		fmt.Fprintf(w, "reason:   %s\n", res.Result.Reason)
	}
	if res.Result.AdditionalContext != "" {
		fmt.Fprintf(w, "context:  %s\n", res.Result.AdditionalContext)
	}
	if res.Output != "" {
		fmt.Fprintf(w, "output:   %s\n", res.Output)
	}
	renderCommands(w, res.Commands)
	return nil
}

// renderCommands lists the normalized simple commands the Bash rules were
// matched against, one per line, each quoted so that its exact text
// (spaces, control characters) is visible.
func renderCommands(w io.Writer, cmds []string) {
	if len(cmds) == 0 {
		return
	}
	fmt.Fprintln(w, "commands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %s\n", strconv.Quote(c))
	}
}
