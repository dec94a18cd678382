package policy

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/daemon/policy/shell"
)

type preToolCase struct {
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	Decision string          `json:"decision"`
	Rule     string          `json:"rule"`
}

func loadCases(t testing.TB) []preToolCase {
	t.Helper()
	b, err := os.ReadFile("testdata/pretool_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []preToolCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func defaultEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPreToolCases(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < 60 {
		t.Fatalf("want at least 60 cases, have %d", len(cases))
	}
	e := defaultEngine(t)
	known := map[string]bool{}
	for _, r := range DefaultRules() {
		known[r.ID] = true
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.Name] {
			t.Errorf("duplicate case name %q", tc.Name)
		}
		names[tc.Name] = true
		if tc.Rule != "" && !known[tc.Rule] {
			t.Errorf("%s: expected rule %q is not a default rule", tc.Name, tc.Rule)
		}
		t.Run(tc.Name, func(t *testing.T) {
			in, err := ParseInput(tc.Input)
			if err != nil {
				t.Fatal(err)
			}
			d := e.Evaluate(in)
			cmd := string(in.ToolInput)
			if d.Action != tc.Decision {
				t.Errorf("action = %q, want %q (rules %v) for %s; commands %q", d.Action, tc.Decision, d.RuleIDs, cmd, commandsOf(in))
			}
			if tc.Rule == "" {
				if len(d.RuleIDs) != 0 {
					t.Errorf("rules fired %v, want none for %s", d.RuleIDs, cmd)
				}
			} else if !slices.Contains(d.RuleIDs, tc.Rule) {
				t.Errorf("rules fired %v, want %q among them for %s; commands %q", d.RuleIDs, tc.Rule, cmd, commandsOf(in))
			}
			if tc.Decision != "" && d.Reason == "" {
				t.Errorf("decision %s without reason", d.Action)
			}
			// The same payload passed only as Raw must give the same decision.
			d2 := e.Evaluate(Input{Raw: tc.Input})
			if !reflect.DeepEqual(d, d2) {
				t.Errorf("Raw-only input: %+v, want %+v", d2, d)
			}
		})
	}
}

func commandsOf(in Input) []string {
	var ti struct {
		Command string `json:"command"`
	}
	_ = json.Unmarshal(in.ToolInput, &ti)
	if ti.Command == "" {
		return nil
	}
	return shell.Split(ti.Command)
}

func bashInput(cmd string) Input {
	ti, _ := json.Marshal(map[string]any{"command": cmd, "description": "test", "timeout": 120000})
	return Input{Event: "pre_tool", ToolName: "Bash", ToolInput: ti, Cwd: "/home/u/proj"}
}

func mustNew(t *testing.T, rules ...Rule) *Engine {
	t.Helper()
	e, err := New(rules)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPriorityOrder(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "c-low", Tool: "Bash", Action: "context", Context: "low", Priority: 1},
		Rule{ID: "b-high", Tool: "Bash", Action: "context", Context: "high", Priority: 10},
		Rule{ID: "a-mid", Tool: "Bash", Action: "context", Context: "mid-a", Priority: 5},
		Rule{ID: "z-mid", Tool: "Bash", Action: "context", Context: "mid-z", Priority: 5},
	)
	d := e.Evaluate(bashInput("ls"))
	if want := []string{"b-high", "a-mid", "z-mid", "c-low"}; !reflect.DeepEqual(d.RuleIDs, want) {
		t.Errorf("order = %v, want %v", d.RuleIDs, want)
	}
	if d.AdditionalContext != "high\nmid-a\nmid-z\nlow" {
		t.Errorf("context = %q", d.AdditionalContext)
	}
	if d.Action != "" || d.UpdatedInput != nil {
		t.Errorf("context-only rules decided: %+v", d)
	}
	ids := []string{}
	for _, r := range e.Rules() {
		ids = append(ids, r.ID)
	}
	if !reflect.DeepEqual(ids, d.RuleIDs) {
		t.Errorf("Rules() order %v", ids)
	}
}

func TestBlockingHalts(t *testing.T) {
	rules := []Rule{
		{ID: "ask-npm", Tool: "Bash", Field: "command", Match: `^npm\s`, Action: "ask", Blocking: true, Priority: 10, Reason: "npm needs a human"},
		{ID: "deny-npm", Tool: "Bash", Field: "command", Match: `^npm\s`, Action: "deny", Priority: 5},
		{ID: "ctx", Tool: "Bash", Action: "context", Context: "never seen", Priority: 1},
	}
	d := mustNew(t, rules...).Evaluate(bashInput("npm publish"))
	if d.Action != "ask" || !reflect.DeepEqual(d.RuleIDs, []string{"ask-npm"}) || d.AdditionalContext != "" || d.Reason != "npm needs a human" {
		t.Errorf("blocking ask: %+v", d)
	}
	// Without blocking the later deny wins and the context is added.
	rules[0].Blocking = false
	d = mustNew(t, rules...).Evaluate(bashInput("npm publish"))
	if d.Action != "deny" || len(d.RuleIDs) != 3 || d.AdditionalContext != "never seen" || d.Reason != "policy rule deny-npm" {
		t.Errorf("non-blocking: %+v", d)
	}
	// A non-firing blocking rule does not halt anything.
	d = mustNew(t, rules...).Evaluate(bashInput("ls"))
	if d.Action != "" || !reflect.DeepEqual(d.RuleIDs, []string{"ctx"}) {
		t.Errorf("non-firing: %+v", d)
	}
}

func TestStrongestDecisionWins(t *testing.T) {
	mk := func(id, action string, prio int) Rule {
		return Rule{ID: id, Tool: "Bash", Action: action, Priority: prio, Reason: "reason " + id}
	}
	tests := []struct {
		rules  []Rule
		action string
		reason string
	}{
		{[]Rule{mk("a", "allow", 3), mk("b", "ask", 2), mk("c", "deny", 1)}, "deny", "reason c"},
		{[]Rule{mk("a", "deny", 3), mk("b", "ask", 2), mk("c", "allow", 1)}, "deny", "reason a"},
		{[]Rule{mk("a", "allow", 3), mk("b", "ask", 2)}, "ask", "reason b"},
		{[]Rule{mk("a", "ask", 3), mk("b", "allow", 2)}, "ask", "reason a"},
		{[]Rule{mk("a", "allow", 3), mk("b", "allow", 2)}, "allow", "reason a"},
		{[]Rule{mk("a", "ask", 1), mk("b", "ask", 2)}, "ask", "reason b"},
	}
	for i, tt := range tests {
		d := mustNew(t, tt.rules...).Evaluate(bashInput("make"))
		if d.Action != tt.action || d.Reason != tt.reason || len(d.RuleIDs) != len(tt.rules) {
			t.Errorf("#%d: got %+v, want %s / %s", i, d, tt.action, tt.reason)
		}
	}
}

func TestContextJoining(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "go-ctx", Tool: "Bash", Field: "command", Match: `^go\s`, Action: "context", Context: "Use -race for tests.", Priority: 2},
		Rule{ID: "all-ctx", Action: "context", Context: "Project uses Go 1.26.", Priority: 1},
		Rule{ID: "npm-ctx", Tool: "Bash", Field: "command", Match: `^npm\s`, Action: "context", Context: "npm is not used."},
		Rule{ID: "allow-go", Tool: "Bash", Field: "command", Match: `^go (test|vet|build)\b`, Action: "allow"},
	)
	d := e.Evaluate(bashInput("cd sub && go test ./..."))
	if d.AdditionalContext != "Use -race for tests.\nProject uses Go 1.26." {
		t.Errorf("context = %q", d.AdditionalContext)
	}
	if d.Action != "allow" || !reflect.DeepEqual(d.RuleIDs, []string{"go-ctx", "all-ctx", "allow-go"}) {
		t.Errorf("decision = %+v", d)
	}
}

func TestModifyProducesWholeInput(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "bg-off", Tool: "Bash", Field: "command", Match: `^npm\s+(run\s+)?dev\b`, Action: "modify",
			Replace: map[string]any{"run_in_background": true, "timeout": 600000}, Priority: 2},
		Rule{ID: "desc", Tool: "Bash", Field: "command", Match: `^npm\s`, Action: "modify",
			Replace: map[string]any{"description": "npm (policy-adjusted)"}, Priority: 1},
	)
	d := e.Evaluate(bashInput("npm run dev"))
	if d.Action != "" {
		t.Errorf("modify alone must not decide, got %q", d.Action)
	}
	var got map[string]any
	if err := json.Unmarshal(d.UpdatedInput, &got); err != nil {
		t.Fatalf("updated input %s: %v", d.UpdatedInput, err)
	}
	want := map[string]any{"command": "npm run dev", "description": "npm (policy-adjusted)", "timeout": float64(600000), "run_in_background": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("updated = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(d.RuleIDs, []string{"bg-off", "desc"}) {
		t.Errorf("rules = %v", d.RuleIDs)
	}
	// No modify fired: nil UpdatedInput.
	if d := e.Evaluate(bashInput("ls")); d.UpdatedInput != nil || len(d.RuleIDs) != 0 {
		t.Errorf("unexpected %+v", d)
	}
	// Modify on a Write keeps content and file_path; from YAML with nested values.
	rules, err := ParseRules([]byte(`
- id: tag-write
  tool: Write
  action: modify
  replace:
    meta: {by: policy, tags: [a, b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ParseInput([]byte(`{"hook_event_name":"PreToolUse","tool_name":"Write","cwd":"/p","tool_input":{"file_path":"/p/a.txt","content":"x\ny"}}`))
	d = mustNew(t, rules...).Evaluate(in)
	if string(d.UpdatedInput) != `{"content":"x\ny","file_path":"/p/a.txt","meta":{"by":"policy","tags":["a","b"]}}` {
		t.Errorf("updated = %s", d.UpdatedInput)
	}
}

func TestDisableAndOverrideDefaults(t *testing.T) {
	in := bashInput("git push --force origin main")
	if d := defaultEngine(t).Evaluate(in); d.Action != "ask" {
		t.Fatalf("default: %+v", d)
	}
	// Disable by id.
	e := mustNew(t, Merge(DefaultRules(), nil, []string{"ask-force-push-main"})...)
	if d := e.Evaluate(in); d.Action != "" || len(d.RuleIDs) != 0 {
		t.Errorf("disabled: %+v", d)
	}
	// Override by id: same id, now deny and a new reason.
	user, err := ParseRules([]byte(`
rules:
  - id: ask-force-push-main
    tool: Bash
    field: command
    match: '^git\s+push\s+.*(--force|-f)\b'
    action: deny
    reason: never force-push here
  - id: ctx-git
    tool: Bash
    field: command
    match: '^git\s'
    action: context
    context: Remember to run the tests first.
`))
	if err != nil {
		t.Fatal(err)
	}
	merged := Merge(DefaultRules(), user, nil)
	if len(merged) != len(DefaultRules())+1 {
		t.Errorf("merged %d rules, want %d", len(merged), len(DefaultRules())+1)
	}
	e = mustNew(t, merged...)
	d := e.Evaluate(bashInput("git push --force origin feature"))
	if d.Action != "deny" || d.Reason != "never force-push here" || d.AdditionalContext != "Remember to run the tests first." {
		t.Errorf("override: %+v", d)
	}
	// Disabled flag in the rule itself also drops it.
	user[0].Disabled = true
	e = mustNew(t, Merge(DefaultRules(), user, nil)...)
	if d := e.Evaluate(in); d.Action != "" {
		t.Errorf("disabled flag: %+v", d)
	}
	// Merge does not modify its inputs.
	defs := DefaultRules()
	_ = Merge(defs, user, []string{"deny-rm-root"})
	if defs[0].ID != "deny-rm-root" || len(defs) != len(DefaultRules()) {
		t.Errorf("Merge modified defaults")
	}
}

func TestInvalidRules(t *testing.T) {
	tests := []struct {
		rule Rule
		want []string
	}{
		{Rule{ID: "bad-re", Tool: "Bash", Field: "command", Match: `^rm (`, Action: "deny"}, []string{`"bad-re"`, "regex"}},
		{Rule{ID: "bad-action", Action: "block"}, []string{`"bad-action"`, `unknown action "block"`}},
		{Rule{ID: "no-action"}, []string{`"no-action"`, "missing action"}},
		{Rule{ID: "mod", Tool: "Bash", Action: "modify"}, []string{`"mod"`, "replace"}},
		{Rule{ID: "mod-prompt", Event: "user_prompt", Action: "modify", Replace: map[string]any{"a": 1}}, []string{`"mod-prompt"`, "pre_tool"}},
		{Rule{ID: "ctx", Action: "context"}, []string{`"ctx"`, "context text"}},
		{Rule{ID: "ctx-on-deny", Action: "deny", Context: "x"}, []string{`"ctx-on-deny"`}},
		{Rule{ID: "rep-on-deny", Action: "deny", Replace: map[string]any{"a": 1}}, []string{`"rep-on-deny"`}},
		{Rule{ID: "match-no-field", Tool: "Bash", Match: "x", Action: "deny"}, []string{`"match-no-field"`, "field"}},
		{Rule{ID: "bad-tool", Tool: "mcp__(", Action: "deny"}, []string{`"bad-tool"`, "tool regex"}},
		{Rule{ID: "bad-special", Special: "outside_cwdd", Action: "ask"}, []string{`"bad-special"`, "outside_cwd"}},
		{Rule{ID: "bad-event", Event: "pre-tool", Action: "ask"}, []string{`"bad-event"`, "unknown event"}},
		{Rule{ID: "tool-on-prompt", Event: "user_prompt", Tool: "Bash", Action: "ask"}, []string{`"tool-on-prompt"`}},
		{Rule{ID: "blocking-ctx", Action: "context", Context: "x", Blocking: true}, []string{`"blocking-ctx"`, "blocking"}},
		{Rule{ID: "bad-replace", Action: "modify", Replace: map[string]any{"a": func() {}}}, []string{`"bad-replace"`, "JSON"}},
		{Rule{ID: "", Action: "deny"}, []string{"no id"}},
		{Rule{ID: "has space", Action: "deny"}, []string{"whitespace"}},
	}
	for _, tt := range tests {
		err := tt.rule.Validate()
		if err == nil {
			t.Errorf("%q: no error", tt.rule.ID)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not mention %q", tt.rule.ID, err, w)
			}
		}
		if _, err := New([]Rule{tt.rule}); err == nil {
			t.Errorf("%q: New accepted an invalid rule", tt.rule.ID)
		}
	}
	if _, err := New([]Rule{{ID: "x", Action: "deny"}, {ID: "x", Action: "ask"}}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("duplicate ids: %v", err)
	}
	// A disabled invalid rule is ignored by New.
	if _, err := New([]Rule{{ID: "off", Action: "nope", Disabled: true}}); err != nil {
		t.Errorf("disabled rule validated: %v", err)
	}
	// ParseRules reports the id of a rule with a bad regex, and typos in keys.
	_, err := ParseRules([]byte("- id: my-rule\n  tool: Bash\n  field: command\n  match: '[unclosed'\n  action: deny\n"))
	if err == nil || !strings.Contains(err.Error(), `"my-rule"`) {
		t.Errorf("ParseRules bad regex: %v", err)
	}
	if _, err := ParseRules([]byte("- id: typo\n  acton: deny\n")); err == nil || !strings.Contains(err.Error(), "acton") {
		t.Errorf("ParseRules unknown key: %v", err)
	}
	if _, err := ParseRules([]byte("- id: d\n  action: deny\n- id: d\n  action: ask\n")); err == nil {
		t.Errorf("ParseRules duplicate ids accepted")
	}
	if _, err := ParseRules([]byte("just a string")); err == nil {
		t.Errorf("ParseRules scalar accepted")
	}
}

func TestParseRulesForms(t *testing.T) {
	list := "- id: a\n  action: allow\n  tool: Read\n"
	mapping := "rules:\n  - id: a\n    action: allow\n    tool: Read\n"
	jsonForm := `[{"id":"a","action":"allow","tool":"Read"}]`
	jsonMap := `{"rules":[{"id":"a","action":"allow","tool":"Read"}]}`
	for _, src := range []string{list, mapping, jsonForm, jsonMap} {
		rules, err := ParseRules([]byte(src))
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if want := []Rule{{ID: "a", Action: "allow", Tool: "Read"}}; !reflect.DeepEqual(rules, want) {
			t.Errorf("%q: got %+v", src, rules)
		}
	}
	for _, empty := range []string{"", "# nothing\n", "~", "rules: []"} {
		rules, err := ParseRules([]byte(empty))
		if err != nil || len(rules) != 0 {
			t.Errorf("%q: %v %v", empty, rules, err)
		}
	}
}

func TestToolMatching(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "all", Tool: "", Action: "context", Context: "all"},
		Rule{ID: "star", Tool: "*", Action: "context", Context: "star"},
		Rule{ID: "exact", Tool: "Edit", Action: "context", Context: "exact"},
		Rule{ID: "list", Tool: "Edit|Write", Action: "context", Context: "list"},
		Rule{ID: "gh", Tool: "mcp__github__.*", Action: "context", Context: "gh"},
		Rule{ID: "mcp-create", Tool: `mcp__\w+__create_.*`, Action: "context", Context: "create"},
	)
	tests := map[string][]string{
		"Edit":                       {"all", "exact", "list", "star"},
		"Write":                      {"all", "list", "star"},
		"MultiEdit":                  {"all", "star"},
		"mcp__github__create_issue":  {"all", "gh", "mcp-create", "star"},
		"mcp__github__list_issues":   {"all", "gh", "star"},
		"mcp__gitlab__create_mr":     {"all", "mcp-create", "star"},
		"xmcp__github__create_issue": {"all", "star"},
	}
	for tool, want := range tests {
		d := e.Evaluate(Input{ToolName: tool, ToolInput: json.RawMessage(`{}`)})
		got := slices.Clone(d.RuleIDs)
		slices.Sort(got)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fired %v, want %v", tool, got, want)
		}
	}
}

func TestFieldMatching(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "no-http", Tool: "WebFetch", Field: "url", Match: `^http://`, Action: "deny", Reason: "use https"},
		Rule{ID: "has-limit", Tool: "Read", Field: "limit", Action: "context", Context: "partial read"},
		Rule{ID: "mcp-title", Tool: "mcp__github__.*", Field: "title", Match: `(?i)wip`, Action: "ask"},
		Rule{ID: "raw-command", Tool: "mcp__shell__run", Field: "command", Match: `rm -rf`, Action: "deny"},
	)
	check := func(raw string, action string, ids ...string) {
		t.Helper()
		in, err := ParseInput([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		d := e.Evaluate(in)
		if d.Action != action || !reflect.DeepEqual(d.RuleIDs, ids) && !(len(ids) == 0 && len(d.RuleIDs) == 0) {
			t.Errorf("%s: got %+v, want %s %v", raw, d, action, ids)
		}
	}
	check(`{"hook_event_name":"PreToolUse","tool_name":"WebFetch","tool_input":{"url":"http://x.io","prompt":"p"}}`, "deny", "no-http")
	check(`{"hook_event_name":"PreToolUse","tool_name":"WebFetch","tool_input":{"url":"https://x.io","prompt":"p"}}`, "")
	check(`{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/a","limit":10}}`, "", "has-limit")
	check(`{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/a"}}`, "")
	check(`{"hook_event_name":"PreToolUse","tool_name":"mcp__github__create_pull_request","tool_input":{"title":"WIP: x"}}`, "ask", "mcp-title")
	// Non-Bash tools match the raw field value, not simple commands.
	check(`{"hook_event_name":"PreToolUse","tool_name":"mcp__shell__run","tool_input":{"command":"echo 'rm -rf x'"}}`, "deny", "raw-command")
}

func TestUserPromptEvent(t *testing.T) {
	e := mustNew(t,
		Rule{ID: "prompt-secret", Event: "user_prompt", Field: "prompt", Match: `(?i)password\s*=`, Action: "deny", Reason: "no secrets in prompts"},
		Rule{ID: "prompt-ctx", Event: "UserPromptSubmit", Action: "context", Context: "Branch policy: PRs only."},
		Rule{ID: "pre-only", Action: "context", Context: "pre"},
	)
	raw := `{"session_id":"s","transcript_path":"/t","cwd":"/p","permission_mode":"default","hook_event_name":"UserPromptSubmit","prompt":"set password = hunter2"}`
	in, err := ParseInput([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	d := e.Evaluate(in)
	if d.Action != "deny" || d.AdditionalContext != "Branch policy: PRs only." || !reflect.DeepEqual(d.RuleIDs, []string{"prompt-ctx", "prompt-secret"}) {
		t.Errorf("got %+v", d)
	}
	// Prompt given directly without Raw.
	d = e.Evaluate(Input{Event: "user_prompt", Prompt: "password=1"})
	if d.Action != "deny" {
		t.Errorf("direct prompt: %+v", d)
	}
	// Unknown events match nothing.
	if d := e.Evaluate(Input{Event: "SomethingNew"}); len(d.RuleIDs) != 0 {
		t.Errorf("unknown event fired %v", d.RuleIDs)
	}
}

func TestNoOpinionIsZero(t *testing.T) {
	d := defaultEngine(t).Evaluate(bashInput("go test ./..."))
	if !reflect.DeepEqual(d, Decision{}) {
		t.Errorf("want zero decision, got %+v", d)
	}
	var nilEngine *Engine
	if d := nilEngine.Evaluate(bashInput("ls")); !reflect.DeepEqual(d, Decision{}) {
		t.Errorf("nil engine: %+v", d)
	}
	if d := defaultEngine(t).Evaluate(Input{}); !reflect.DeepEqual(d, Decision{}) {
		t.Errorf("empty input: %+v", d)
	}
}

func TestDefaultRules(t *testing.T) {
	rules := DefaultRules()
	want := []string{
		"deny-rm-root", "deny-rm-home", "deny-rm-git", "deny-rm-system", "deny-cd-rm-wildcard",
		"deny-mkfs", "deny-dd-device", "deny-write-block-device", "deny-fork-bomb", "deny-chmod-777-root",
		"deny-find-delete", "deny-rsync-delete", "deny-move-dangerous-dir", "deny-clobber-system-file", "deny-wipe-device", "deny-disable-cb-hooks",
		"ask-force-push-main", "ask-pipe-to-shell", "ask-computed-command", "ask-interpreter-delete", "ask-find-delete-filtered",
		"ask-read-secrets", "ask-write-outside-project", "ask-write-system-dir",
	}
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
		if r.Reason == "" {
			t.Errorf("%s: no reason", r.ID)
		}
		if !strings.HasPrefix(r.ID, r.Action+"-") {
			t.Errorf("%s: id does not start with its action %s", r.ID, r.Action)
		}
		if r.Action == "deny" && !r.Blocking {
			t.Errorf("%s: deny defaults should be blocking", r.ID)
		}
	}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("default ids = %v, want %v", ids, want)
	}
	// Returned rules are copies.
	rules[0].Action = "allow"
	if DefaultRules()[0].Action != "deny" {
		t.Error("DefaultRules returned shared state")
	}
	if len(DefaultRulesYAML()) == 0 {
		t.Error("empty embedded YAML")
	}
}

func TestDefaultRulesTable(t *testing.T) {
	table := DefaultRulesTable()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	rules := DefaultRules()
	if len(lines) != len(rules)+2 {
		t.Fatalf("table has %d lines, want %d:\n%s", len(lines), len(rules)+2, table)
	}
	if lines[0] != "| id | tool | action | what |" {
		t.Errorf("header = %q", lines[0])
	}
	if lines[1] != "| --- | --- | --- | --- |" {
		t.Errorf("separator = %q", lines[1])
	}
	for i, line := range lines[2:] {
		if !strings.HasPrefix(line, "| ") || !strings.HasSuffix(line, " |") {
			t.Errorf("row %d not delimited: %q", i, line)
		}
		cells := splitRow(line)
		if len(cells) != 4 {
			t.Errorf("row %d has %d cells: %q", i, len(cells), line)
			continue
		}
		for j, c := range cells {
			if strings.TrimSpace(c) == "" {
				t.Errorf("row %d cell %d empty", i, j)
			}
		}
		if cells[0] != "`"+rules[i].ID+"`" {
			t.Errorf("row %d id = %q, want %q", i, cells[0], rules[i].ID)
		}
		if !strings.HasPrefix(cells[2], rules[i].Action) {
			t.Errorf("row %d action = %q", i, cells[2])
		}
		wantTool := rules[i].Tool
		if ev := CanonicalEvent(rules[i].Event); !isToolEvent(ev) {
			wantTool = "(" + ev + ")"
		}
		if strings.ReplaceAll(cells[1], `\|`, "|") != "`"+wantTool+"`" {
			t.Errorf("row %d tool = %q", i, cells[1])
		}
	}
}

// splitRow splits a markdown table row on unescaped pipes.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) && line[i+1] == '|' {
			cur.WriteString(`\|`)
			i++
			continue
		}
		if line[i] == '|' {
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(line[i])
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func TestRequiredLiteral(t *testing.T) {
	tests := map[string]string{
		`^(?:\S*/)?rm\s(?:.*\s)?-rf`:   "-rf",
		`^git\s(?:.*\s)?push\s`:        "push",
		`^(?:mkfs\S*|mke2fs)`:          "mk", // common prefix factored out
		`^(?:mkfs|newfs)`:              "",
		`(?i)password`:                 "",
		`^dd\s(?:.*\s)?of=/dev/(?:sd)`: "of=/dev/sd",
		`a?bc|de`:                      "",
		`(x)yz+`:                       "x",
	}
	for expr, want := range tests {
		if got := requiredLiteral(expr); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", expr, got, want)
		}
	}
	// Soundness on real data: whenever a default regex matches a simple
	// command of a test case, the command contains the prefilter literal.
	var cmds []string
	for _, tc := range loadCases(t) {
		in, _ := ParseInput(tc.Input)
		cmds = append(cmds, commandsOf(in)...)
	}
	for _, r := range DefaultRules() {
		if r.Match == "" {
			continue
		}
		re := regexp.MustCompile(r.Match)
		lit := requiredLiteral(r.Match)
		for _, c := range cmds {
			if re.MatchString(c) && !strings.Contains(c, lit) {
				t.Errorf("%s: %q matches but lacks literal %q", r.ID, c, lit)
			}
		}
	}
}

func TestSpecials(t *testing.T) {
	for _, name := range SpecialNames() {
		if SpecialDoc(name) == "" {
			t.Errorf("special %s undocumented", name)
		}
	}
	e := mustNew(t, Rule{ID: "ask-sudo", Tool: "Bash", Special: "privileged", Action: "ask"})
	if d := e.Evaluate(bashInput("make && sudo make install")); d.Action != "ask" {
		t.Errorf("privileged: %+v", d)
	}
	if d := e.Evaluate(bashInput("echo sudo")); d.Action != "" {
		t.Errorf("privileged false positive: %+v", d)
	}
	// outside_cwd with a relative path and without cwd.
	out := mustNew(t, Rule{ID: "o", Tool: "Write", Special: "outside_cwd", Action: "ask"})
	rel := Input{ToolName: "Write", Cwd: "/p", ToolInput: json.RawMessage(`{"file_path":"../x"}`)}
	if d := out.Evaluate(rel); d.Action != "ask" {
		t.Errorf("relative outside: %+v", d)
	}
	rel.Cwd = ""
	if d := out.Evaluate(rel); d.Action != "" {
		t.Errorf("no cwd must not fire: %+v", d)
	}
	inside := Input{ToolName: "Write", Cwd: "/p/", ToolInput: json.RawMessage(`{"file_path":"/p/a/b"}`)}
	if d := out.Evaluate(inside); d.Action != "" {
		t.Errorf("inside with trailing slash cwd: %+v", d)
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	e := defaultEngine(t)
	cases := loadCases(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				tc := cases[(i+g)%len(cases)]
				if d := e.Evaluate(Input{Raw: tc.Input}); d.Action != tc.Decision {
					t.Errorf("%s: %q want %q", tc.Name, d.Action, tc.Decision)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkEvaluate(b *testing.B) {
	e := defaultEngine(b)
	raw := []byte(`{"session_id":"abc","transcript_path":"/home/u/.claude/projects/p/abc.jsonl","cwd":"/home/u/proj","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cd /home/u/proj && npm test -- --watch=false 2>&1 | tail -50","description":"Run tests"},"tool_use_id":"toolu_01"}`)
	in, err := ParseInput(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Evaluate(in); d.Action != "" {
			b.Fatal(d)
		}
	}
}

func BenchmarkEvaluateRead(b *testing.B) {
	e := defaultEngine(b)
	in := Input{ToolName: "Read", Cwd: "/home/u/proj", ToolInput: json.RawMessage(`{"file_path":"/home/u/proj/src/main.go"}`)}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(in)
	}
}
