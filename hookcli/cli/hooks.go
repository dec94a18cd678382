package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/claudebench/cb/hookcli"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (a *app) hooksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hooks",
		Short: "List, add, remove, disable and test hook rules (applied by every cbd at once)",
	}
	cmd.AddCommand(a.hooksListCmd(), a.hooksAddCmd(), a.hooksIDCmd("rm", "hooks.remove", "Remove a rule added at run time"),
		a.hooksIDCmd("disable", "hooks.disable", "Switch a rule off (any rule, by id)"),
		a.hooksIDCmd("enable", "hooks.enable", "Switch a disabled rule back on"), a.hooksTestCmd())
	return cmd
}

type listedRule struct {
	ID       string `json:"id"`
	Event    string `json:"event"`
	Tool     string `json:"tool"`
	Field    string `json:"field"`
	Match    string `json:"match"`
	Special  string `json:"special"`
	Action   string `json:"action"`
	Priority int    `json:"priority"`
	Blocking bool   `json:"blocking"`
	Reason   string `json:"reason"`
	Source   string `json:"source"`
	Disabled bool   `json:"disabled"`
}

func (a *app) hooksListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every rule with its source (default, config, redis) and state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := a.call(cmd.Context(), "hooks.list", nil)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, json.RawMessage(raw))
			}
			var res struct{ Rules []listedRule }
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("hooks.list answer: %w", err)
			}
			renderRules(a.stdout, res.Rules)
			return nil
		},
	}
}

func renderRules(w io.Writer, rules []listedRule) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tTOOL\tACTION\tSOURCE\tSTATE\tMATCH")
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
		if len(match) > 50 {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, ev, tool, action, r.Source, state, match)
	}
	tw.Flush()
}

func (a *app) hooksAddCmd() *cobra.Command {
	var r listedRule
	var file, context string
	cmd := &cobra.Command{
		Use:   "add [--id ID --action A ...] | add --file rule.yaml",
		Short: "Add or replace (by id) a rule; every cbd applies it within a second",
		Example: `  cb hooks add --id no-prod-db --tool Bash --field command --match 'psql .*prod' --action deny --reason 'needs a human'
  cb hooks add --file rule.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rule map[string]any
			if file != "" {
				data, err := readFileOrStdin(a.stdin, file)
				if err != nil {
					return err
				}
				if err := yaml.Unmarshal(data, &rule); err != nil {
					return fmt.Errorf("rule file %s: %w", file, err)
				}
			} else {
				rule = map[string]any{"id": r.ID, "action": r.Action}
				for k, v := range map[string]string{"event": r.Event, "tool": r.Tool, "field": r.Field, "match": r.Match, "reason": r.Reason, "context": context, "special": r.Special} {
					if v != "" {
						rule[k] = v
					}
				}
				if r.Priority != 0 {
					rule["priority"] = r.Priority
				}
				if r.Blocking {
					rule["blocking"] = true
				}
			}
			raw, err := a.call(cmd.Context(), "hooks.add", map[string]any{"rule": rule})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, json.RawMessage(raw))
			}
			fmt.Fprintf(a.stdout, "added rule %v\n", rule["id"])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "a YAML or JSON rule (- for stdin)")
	f.StringVar(&r.ID, "id", "", "rule id")
	f.StringVar(&r.Event, "event", "", "hook type (default pre_tool)")
	f.StringVar(&r.Tool, "tool", "", "tool name, A|B list or anchored regex (default all)")
	f.StringVar(&r.Field, "field", "", "field of the tool input to match (command, file_path, url, prompt)")
	f.StringVar(&r.Match, "match", "", "regex on the field (each simple command for Bash)")
	f.StringVar(&r.Action, "action", "", "allow, deny, ask, modify or context")
	f.StringVar(&r.Reason, "reason", "", "reason shown with the decision")
	f.StringVar(&context, "context", "", "text added for action context")
	f.StringVar(&r.Special, "special", "", "built-in predicate (outside_cwd, system_dir, pipe_to_shell, ...)")
	f.IntVar(&r.Priority, "priority", 0, "higher runs first")
	f.BoolVar(&r.Blocking, "blocking", false, "a deny or ask stops the chain")
	return cmd
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

func (a *app) hooksIDCmd(use, method, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := a.call(cmd.Context(), method, map[string]any{"id": args[0]})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, json.RawMessage(raw))
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", args[0], strings.TrimPrefix(method, "hooks."))
			return nil
		},
	}
}

func (a *app) hooksTestCmd() *cobra.Command {
	var event, tool, command, input string
	cmd := &cobra.Command{
		Use:   "test [--event E] [--tool T] [--command CMD | --input JSON] | test < payload.json",
		Short: "Show the decision, the rules that fire and the Bash commands they saw, without Claude Code",
		Example: `  cb hooks test --tool Bash --command 'ls; rm -rf /'
  cb hooks test --tool Write --input '{"file_path":"/etc/hosts","content":"x"}'
  cb hooks test --event pre_tool < testdata/hooks/pre_tool_rm_root.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := map[string]any{"event": event}
			if tool != "" {
				params["tool"] = tool
			}
			if command != "" {
				params["command"] = command
			}
			if input != "" {
				if !json.Valid([]byte(input)) {
					return &exitError{code: 3, err: fmt.Errorf("--input is not valid JSON")}
				}
				params["input"] = json.RawMessage(input)
			}
			if tool == "" && command == "" && input == "" {
				data, err := io.ReadAll(a.stdin)
				if err != nil {
					return fmt.Errorf("read payload: %w", err)
				}
				in, err := hookcli.ParseHookInput(data)
				if err != nil {
					return &exitError{code: 3, err: err}
				}
				params["payload"] = json.RawMessage(in.Raw)
			}
			raw, err := a.call(cmd.Context(), "hooks.test", params)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, json.RawMessage(raw))
			}
			var res struct {
				Result struct {
					Decision          string   `json:"decision"`
					Reason            string   `json:"reason"`
					RuleIDs           []string `json:"ruleIds"`
					AdditionalContext string   `json:"additionalContext"`
				} `json:"result"`
				Output   string   `json:"output"`
				Commands []string `json:"commands"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("hooks.test answer: %w", err)
			}
			d := res.Result.Decision
			if d == "" {
				d = "no opinion"
			}
			fmt.Fprintf(a.stdout, "decision: %s\n", d)
			if len(res.Result.RuleIDs) > 0 {
				fmt.Fprintf(a.stdout, "rules:    %s\n", strings.Join(res.Result.RuleIDs, ", "))
			}
			if res.Result.Reason != "" {
				fmt.Fprintf(a.stdout, "reason:   %s\n", res.Result.Reason)
			}
			if res.Result.AdditionalContext != "" {
				fmt.Fprintf(a.stdout, "context:  %s\n", res.Result.AdditionalContext)
			}
			if res.Output != "" {
				fmt.Fprintf(a.stdout, "output:   %s\n", res.Output)
			}
			renderCommands(a.stdout, res.Commands)
			return nil
		},
	}
	cmd.Flags().StringVar(&event, "event", "pre_tool", "hook type")
	cmd.Flags().StringVar(&tool, "tool", "", "tool name (Bash when --command is given)")
	cmd.Flags().StringVar(&command, "command", "", "Bash command")
	cmd.Flags().StringVar(&input, "input", "", "tool input JSON")
	return cmd
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
