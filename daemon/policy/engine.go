package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/claudebench/cb/daemon/policy/shell"
	"github.com/tidwall/gjson"
)

// Input is one hook invocation. Fields left empty are filled from Raw (the
// whole hook JSON) when it is set: Event from hook_event_name, ToolName from
// tool_name, ToolInput from tool_input, Cwd from cwd, Prompt from prompt.
// Event accepts canonical names ("pre_tool") and Claude Code names
// ("PreToolUse"); when neither Event nor hook_event_name is known it is
// pre_tool.
type Input struct {
	Event     string
	ToolName  string
	ToolInput json.RawMessage
	Cwd       string
	Prompt    string
	Raw       json.RawMessage // whole hook input
	// Facts are what cbd knows about the input beyond its text (state kept
	// in Redis, files it read), by name (the Fact* constants); specials
	// read them. Absent facts are false.
	Facts map[string]bool
}

// ParseInput builds an Input from a Claude Code hook payload (stdin JSON).
func ParseInput(raw []byte) (Input, error) {
	if !gjson.ValidBytes(raw) {
		return Input{}, fmt.Errorf("policy: hook input is not valid JSON")
	}
	r := gjson.ParseBytes(raw)
	if !r.IsObject() {
		return Input{}, fmt.Errorf("policy: hook input is not a JSON object")
	}
	in := Input{
		Event:    r.Get("hook_event_name").String(),
		ToolName: r.Get("tool_name").String(),
		Cwd:      r.Get("cwd").String(),
		Prompt:   r.Get("prompt").String(),
		Raw:      json.RawMessage(raw),
	}
	if ti := r.Get("tool_input"); ti.Exists() {
		in.ToolInput = json.RawMessage(ti.Raw)
	}
	return in, nil
}

// Decision is the outcome of evaluating the rules for one input.
//
// Action is the strongest decision among the rules that fired
// (deny > cancel > ask > allow), or "" when no deciding rule fired. Reason is the
// reason of the first rule (in evaluation order) that set the winning
// Action ("policy rule <id>" when that rule has no reason).
//
// UpdatedInput is set when at least one modify rule fired: it is the WHOLE
// tool_input with the replacements of every fired modify rule applied in
// order (shallow merge on the original tool_input). A modify rule does not
// decide by itself: when only modify (and context) rules fired, Action is ""
// and UpdatedInput is set; the caller turns that into allow + updatedInput.
// When Action is deny, UpdatedInput is still reported and should be ignored.
//
// The base of UpdatedInput is tool_input for tool events and the input's
// content for elicitation_result (the user's answer), an empty object
// otherwise.
//
// AdditionalContext joins the context text of every fired context rule with
// "\n", in evaluation order.
//
// UpdatedPermissions, only when Action is allow, concatenates the
// permissions of every fired allow rule (a JSON array); Interrupt, only when
// Action is deny, is set when a fired deny rule has interrupt.
type Decision struct {
	Action             string          // "" (no opinion), "allow", "deny", "ask", "cancel"
	Reason             string          // reason of the winning rule
	RuleIDs            []string        // every rule that fired, in evaluation order
	UpdatedInput       json.RawMessage // whole tool_input after modify rules, nil if none
	AdditionalContext  string          // contexts of all fired context rules joined with "\n"
	UpdatedPermissions json.RawMessage // permissions of the fired allow rules, nil if none
	Interrupt          bool            // a fired deny rule stops the turn
}

// Engine evaluates a fixed rule set. It is immutable after New and safe for
// concurrent use.
//
// Evaluation: rules run in order of descending Priority (ties by ascending
// id). A rule fires when all of its conditions hold:
//
//   - its event equals the input event (default pre_tool);
//   - for tool events, its tool pattern matches tool_name;
//   - if Field is set, the gjson path Field exists in tool_input (tool
//     events) or in the whole input (other events), and if Match is set the
//     regex matches the field's string value. For the Bash tool and field
//     "command" the regex is applied to each simple command of the parsed
//     command line (see shell.Analyze) and the condition holds if any matches;
//   - if Special is set, the named predicate holds (see SpecialNames).
//
// All conditions see the original input, not the output of modify rules.
// A fired allow/deny/ask/cancel rule competes for Action (deny > cancel >
// ask > allow); a fired Blocking deny, cancel or ask rule stops evaluation, so later (lower
// priority) rules neither fire nor appear in RuleIDs. No rule fired gives
// the zero Decision.
type Engine struct {
	rules []*compiled
}

// New validates and compiles the rules (regexes are compiled once) and
// orders them by descending priority, ties broken by id. Disabled rules are
// dropped without validation. Duplicate ids are an error.
func New(rules []Rule) (*Engine, error) {
	e := &Engine{}
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Disabled {
			continue
		}
		c, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("policy: duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
		e.rules = append(e.rules, c)
	}
	sort.SliceStable(e.rules, func(i, j int) bool {
		a, b := e.rules[i], e.rules[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.ID < b.ID
	})
	return e, nil
}

// Rules returns the active rules in evaluation order.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, c := range e.rules {
		out[i] = c.Rule
	}
	return out
}

// evalCtx is the normalized input plus lazily computed views of it.
type evalCtx struct {
	event     string
	tool      string
	toolInput []byte
	raw       []byte
	cwd       string
	prompt    string
	facts     map[string]bool

	bashDone   bool
	hasCommand bool // tool_input.command exists (Bash)
	bash       *shell.Analysis
}

func newEvalCtx(in Input) *evalCtx {
	c := &evalCtx{
		tool:      in.ToolName,
		toolInput: in.ToolInput,
		raw:       in.Raw,
		cwd:       in.Cwd,
		prompt:    in.Prompt,
		facts:     in.Facts,
	}
	ev := in.Event
	if ev == "" && len(in.Raw) > 0 {
		ev = gjson.GetBytes(in.Raw, "hook_event_name").String()
	}
	c.event = CanonicalEvent(ev)
	if c.event == "" {
		c.event = strings.ToLower(strings.TrimSpace(ev)) // unknown: matches no rule
	}
	if len(in.Raw) > 0 {
		if c.tool == "" {
			c.tool = gjson.GetBytes(in.Raw, "tool_name").String()
		}
		if len(c.toolInput) == 0 {
			if ti := gjson.GetBytes(in.Raw, "tool_input"); ti.Exists() {
				c.toolInput = []byte(ti.Raw)
			}
		}
		if c.cwd == "" {
			c.cwd = gjson.GetBytes(in.Raw, "cwd").String()
		}
		if c.prompt == "" {
			c.prompt = gjson.GetBytes(in.Raw, "prompt").String()
		}
	}
	return c
}

// bashAnalysis parses tool_input.command of a Bash call once; nil for other
// tools.
func (c *evalCtx) bashAnalysis() *shell.Analysis {
	if !c.bashDone {
		c.bashDone = true
		if c.tool == "Bash" && isToolEvent(c.event) {
			cmd := gjson.GetBytes(c.toolInput, "command")
			c.hasCommand = cmd.Exists()
			b := shell.Analyze(cmd.String())
			c.bash = &b
		}
	}
	return c.bash
}

// BashCommands returns the normalized simple commands that Bash rules with
// field "command" are matched against for this input (see shell.Analyze), or
// nil when the input is not a Bash tool call with a command.
func BashCommands(in Input) []string {
	c := newEvalCtx(in)
	b := c.bashAnalysis()
	if b == nil || !c.hasCommand {
		return nil
	}
	return b.Commands
}

func (r *compiled) matches(c *evalCtx) bool {
	if r.event != c.event {
		return false
	}
	if isToolEvent(r.event) {
		if r.tools != nil && !r.tools[c.tool] {
			return false
		}
		if r.toolRe != nil && !r.toolRe.MatchString(c.tool) {
			return false
		}
	}
	if r.Field != "" && !r.fieldMatches(c) {
		return false
	}
	if r.special != nil && !r.special(c) {
		return false
	}
	return true
}

func (r *compiled) fieldMatches(c *evalCtx) bool {
	if isToolEvent(c.event) && c.tool == "Bash" && r.Field == "command" {
		b := c.bashAnalysis()
		if !c.hasCommand {
			return false
		}
		if r.matchRe == nil {
			return true
		}
		for _, cmd := range b.Commands {
			if r.matchLit != "" && !strings.Contains(cmd, r.matchLit) {
				continue
			}
			if r.matchRe.MatchString(cmd) {
				return true
			}
		}
		return false
	}
	var v gjson.Result
	if isToolEvent(c.event) {
		v = gjson.GetBytes(c.toolInput, r.Field)
	} else {
		v = gjson.GetBytes(c.raw, r.Field)
		if !v.Exists() && r.Field == "prompt" && c.prompt != "" {
			v = gjson.Result{Type: gjson.String, Str: c.prompt}
		}
	}
	if !v.Exists() {
		return false
	}
	if r.matchRe == nil {
		return true
	}
	str := v.String()
	if r.matchLit != "" && !strings.Contains(str, r.matchLit) {
		return false
	}
	return r.matchRe.MatchString(str)
}

func strength(action string) int {
	switch action {
	case ActionDeny:
		return 4
	case ActionCancel:
		return 3
	case ActionAsk:
		return 2
	case ActionAllow:
		return 1
	}
	return 0
}

// Evaluate runs the rules against one input. See Engine and Decision for
// the semantics.
func (e *Engine) Evaluate(in Input) Decision {
	var d Decision
	if e == nil {
		return d
	}
	c := newEvalCtx(in)
	var contexts []string
	var updated map[string]json.RawMessage
	var perms []json.RawMessage
	modified := false
loop:
	for _, r := range e.rules {
		if !r.matches(c) {
			continue
		}
		d.RuleIDs = append(d.RuleIDs, r.ID)
		switch r.Action {
		case ActionContext:
			contexts = append(contexts, r.Context)
		case ActionModify:
			if !modified {
				modified = true
				if err := json.Unmarshal(c.modifyBase(), &updated); err != nil || updated == nil {
					updated = map[string]json.RawMessage{}
				}
			}
			for k, v := range r.replace {
				updated[k] = v
			}
		default:
			if r.Action == ActionAllow && r.permissions != nil {
				perms = append(perms, r.permissions)
			}
			if r.Action == ActionDeny && r.Interrupt {
				d.Interrupt = true
			}
			if strength(r.Action) > strength(d.Action) {
				d.Action = r.Action
				d.Reason = r.Reason
				if d.Reason == "" {
					d.Reason = "policy rule " + r.ID
				}
			}
			if r.Blocking && (r.Action == ActionDeny || r.Action == ActionAsk || r.Action == ActionCancel) {
				break loop
			}
		}
	}
	if modified {
		b, err := json.Marshal(updated)
		if err == nil {
			d.UpdatedInput = b
		}
	}
	d.AdditionalContext = strings.Join(contexts, "\n")
	if d.Action != ActionDeny {
		d.Interrupt = false
	}
	if d.Action == ActionAllow && len(perms) > 0 {
		d.UpdatedPermissions = joinArrays(perms)
	}
	return d
}

// modifyBase is what modify rules' replacements are merged into.
func (c *evalCtx) modifyBase() []byte {
	switch {
	case isToolEvent(c.event):
		return c.toolInput
	case c.event == EventElicitationResult:
		return []byte(gjson.GetBytes(c.raw, "content").Raw)
	}
	return nil
}

// joinArrays concatenates JSON arrays.
func joinArrays(arrays []json.RawMessage) json.RawMessage {
	var all []json.RawMessage
	for _, a := range arrays {
		var items []json.RawMessage
		if json.Unmarshal(a, &items) == nil {
			all = append(all, items...)
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil
	}
	return b
}
