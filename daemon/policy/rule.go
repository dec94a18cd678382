package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/claudebench/cb/protocol"
	"go.yaml.in/yaml/v3"
)

// Actions a rule can take.
const (
	ActionAllow   = "allow"
	ActionDeny    = "deny"
	ActionAsk     = "ask"
	ActionModify  = "modify"
	ActionContext = "context"
	// ActionCancel cancels an elicitation (Elicitation, ElicitationResult).
	ActionCancel = "cancel"
)

// Canonical event names (Rule.Event, Input.Event) are the hook types of
// protocol.HookEvents. Their aliases (pre_tool_use) and Claude Code's names
// (PreToolUse, in any case) are accepted too.
const (
	EventPreTool           = "pre_tool"
	EventPostTool          = "post_tool"
	EventPostToolFailure   = "post_tool_use_failure"
	EventPermissionRequest = "permission_request"
	EventPermissionDenied  = "permission_denied"
	EventUserPrompt        = "user_prompt"
	EventStop              = "stop"
	EventSubagentStop      = "subagent_stop"
	EventSessionStart      = "session_start"
	EventSessionEnd        = "session_end"
	EventNotification      = "notification"
	EventPreCompact        = "pre_compact"
	EventConfigChange      = "config_change"
	EventElicitation       = "elicitation"
	EventElicitationResult = "elicitation_result"
)

// eventAliases maps every accepted name, lower case, to its canonical
// event; toolEvents are the events whose input has tool_name and
// tool_input.
var eventAliases, toolEvents = func() (map[string]string, map[string]bool) {
	names := map[string]string{"post_tool_failure": EventPostToolFailure}
	tools := map[string]bool{}
	for _, he := range protocol.HookEvents {
		names[he.Type] = he.Type
		if he.Alias != "" {
			names[he.Alias] = he.Type
		}
		if he.Tool {
			tools[he.Type] = true
		}
		if k := strings.ToLower(he.ClaudeEvent); names[k] == "" {
			// PostToolUse is post_tool (the table's first), not todo_write.
			names[k] = he.Type
		}
	}
	return names, tools
}()

// CanonicalEvent maps an event name or Claude Code hook_event_name
// ("PreToolUse") to its canonical form ("pre_tool"). It returns "" for
// unknown names; the empty name means pre_tool.
func CanonicalEvent(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return EventPreTool
	}
	return eventAliases[name]
}

// isToolEvent reports whether an event carries tool_name / tool_input.
func isToolEvent(ev string) bool { return toolEvents[ev] }

// Rule is one hook definition.
type Rule struct {
	ID       string         `json:"id" yaml:"id"`
	Event    string         `json:"event,omitempty" yaml:"event,omitempty"`       // hook type: "pre_tool" (default), "post_tool", "user_prompt", ...
	Tool     string         `json:"tool,omitempty" yaml:"tool,omitempty"`         // "" or "*" = all; "Bash" exact; "Edit|Write" list (exact names); anything else containing regex metachars = regex anchored as ^(?:...)$ e.g. "mcp__github__.*"
	Field    string         `json:"field,omitempty" yaml:"field,omitempty"`       // gjson path into tool_input ("command", "file_path", "url"), or into the whole input for non-tool events ("prompt"); "" = no field condition
	Match    string         `json:"match,omitempty" yaml:"match,omitempty"`       // RE2 regex applied to the field; for Bash "command" it is applied to EACH simple command, not to the raw string
	Action   string         `json:"action" yaml:"action"`                         // allow|deny|ask|cancel|modify|context; which ones an event takes: see actions.go
	Reason   string         `json:"reason,omitempty" yaml:"reason,omitempty"`     // shown to the user / model; also the "what" column of DefaultRulesTable
	Context  string         `json:"context,omitempty" yaml:"context,omitempty"`   // text added for action=context
	Priority int            `json:"priority,omitempty" yaml:"priority,omitempty"` // higher runs first
	Blocking bool           `json:"blocking,omitempty" yaml:"blocking,omitempty"` // a blocking rule whose action decides (deny, ask) halts the chain
	Replace  map[string]any `json:"replace,omitempty" yaml:"replace,omitempty"`   // for modify: fields set in tool_input (shallow merge); the result is the WHOLE updated tool_input
	Disabled bool           `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	Special  string         `json:"special,omitempty" yaml:"special,omitempty"` // optional named built-in predicate, see Specials
	// Permissions are Claude Code PermissionUpdate objects an allow rule on
	// permission_request applies with the approval (updatedPermissions),
	// e.g. {type: addRules, rules: [{toolName: Bash, ruleContent: "git log:*"}], behavior: allow, destination: session}.
	Permissions []map[string]any `json:"permissions,omitempty" yaml:"permissions,omitempty"`
	// Interrupt: a deny rule on permission_request also stops Claude's turn.
	Interrupt bool `json:"interrupt,omitempty" yaml:"interrupt,omitempty"`
}

var plainToolRe = regexp.MustCompile(`^[A-Za-z0-9_\-]+(?:\|[A-Za-z0-9_\-]+)*$`)

// Validate checks a rule for mistakes. Errors name the rule id.
func (r Rule) Validate() error {
	_, err := compileRule(r)
	return err
}

// compiled is a validated rule with its regexes compiled.
type compiled struct {
	Rule
	event   string
	tools   map[string]bool // exact tool names; nil with toolRe == nil means all tools
	toolRe  *regexp.Regexp
	matchRe *regexp.Regexp
	// matchLit is a literal that every match of matchRe contains; inputs
	// without it are rejected without running the regex.
	matchLit string
	special  specialFunc
	replace  map[string]json.RawMessage
	// permissions is Permissions encoded once (a JSON array).
	permissions json.RawMessage
}

func compileRule(r Rule) (*compiled, error) {
	id := strings.TrimSpace(r.ID)
	if id == "" {
		return nil, fmt.Errorf("policy: rule with action %q has no id", r.Action)
	}
	if id != r.ID || strings.ContainsAny(id, " \t\r\n") {
		return nil, fmt.Errorf("policy: rule %q: id must not contain whitespace", r.ID)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("policy: rule %q: %s", r.ID, fmt.Sprintf(format, args...))
	}
	c := &compiled{Rule: r}

	c.event = CanonicalEvent(r.Event)
	if c.event == "" {
		return nil, fail("unknown event %q (want one of %s)", r.Event, strings.Join(knownEvents(), ", "))
	}

	const want = "allow, deny, ask, cancel, modify or context"
	switch r.Action {
	case "":
		return nil, fail("missing action (want %s)", want)
	case ActionAllow, ActionDeny, ActionAsk, ActionCancel:
	case ActionModify:
		if len(r.Replace) == 0 {
			return nil, fail("action modify needs a non-empty replace map")
		}
	case ActionContext:
		if strings.TrimSpace(r.Context) == "" {
			return nil, fail("action context needs a non-empty context text")
		}
	default:
		return nil, fail("unknown action %q (want %s)", r.Action, want)
	}
	if err := checkEventAction(c.event, r.Action); err != nil {
		return nil, fail("%v", err)
	}
	if len(r.Replace) > 0 && r.Action != ActionModify {
		return nil, fail("replace is only valid with action modify, not %s", r.Action)
	}
	if r.Context != "" && r.Action != ActionContext {
		return nil, fail("context text is only valid with action context, not %s", r.Action)
	}
	if r.Blocking && r.Action != ActionDeny && r.Action != ActionAsk && r.Action != ActionCancel {
		return nil, fail("blocking only applies to deny, ask and cancel rules, not %s", r.Action)
	}
	if len(r.Permissions) > 0 {
		if r.Action != ActionAllow || !capsByEvent[c.event].permissions {
			return nil, fail("permissions only apply to allow rules on %s, not %s on %s",
				eventsWith(func(c eventCaps) bool { return c.permissions }), r.Action, c.event)
		}
		if err := checkPermissions(r.Permissions); err != nil {
			return nil, fail("%v", err)
		}
		b, err := json.Marshal(r.Permissions)
		if err != nil {
			return nil, fail("permissions are not JSON-encodable: %v", err)
		}
		c.permissions = b
	}
	if r.Interrupt && (r.Action != ActionDeny || !capsByEvent[c.event].interrupt) {
		return nil, fail("interrupt only applies to deny rules on %s, not %s on %s",
			eventsWith(func(c eventCaps) bool { return c.interrupt }), r.Action, c.event)
	}

	tool := strings.TrimSpace(r.Tool)
	switch {
	case tool == "" || tool == "*":
	case !isToolEvent(c.event):
		return nil, fail("tool %q set on a %s rule, which has no tool", r.Tool, c.event)
	case plainToolRe.MatchString(tool):
		c.tools = map[string]bool{}
		for _, t := range strings.Split(tool, "|") {
			c.tools[t] = true
		}
	default:
		re, err := regexp.Compile(`^(?:` + tool + `)$`)
		if err != nil {
			return nil, fail("bad tool regex %q: %v", r.Tool, err)
		}
		c.toolRe = re
	}

	if r.Match != "" {
		if r.Field == "" {
			return nil, fail("match %q needs a field (e.g. command, file_path, url, prompt)", r.Match)
		}
		re, err := regexp.Compile(r.Match)
		if err != nil {
			return nil, fail("bad match regex: %v", err)
		}
		c.matchRe = re
		c.matchLit = requiredLiteral(r.Match)
	}

	if r.Special != "" {
		s, ok := specials[r.Special]
		if !ok {
			return nil, fail("unknown special %q (want one of %s)", r.Special, strings.Join(SpecialNames(), ", "))
		}
		c.special = s.fn
	}

	if len(r.Replace) > 0 {
		c.replace = make(map[string]json.RawMessage, len(r.Replace))
		for k, v := range r.Replace {
			if k == "" {
				return nil, fail("replace has an empty key")
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fail("replace value for %q is not JSON-encodable: %v", k, err)
			}
			c.replace[k] = b
		}
	}
	return c, nil
}

func knownEvents() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range eventAliases {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// ParseRules parses rules from YAML or JSON: either a list of rules or a
// mapping with a "rules" list. Unknown fields are errors (they are usually
// typos), every rule is validated, and duplicate ids are rejected. Empty
// input yields no rules.
func ParseRules(yamlOrJSON []byte) ([]Rule, error) {
	var probe yaml.Node
	if err := yaml.Unmarshal(yamlOrJSON, &probe); err != nil {
		return nil, fmt.Errorf("policy: parse rules: %w", err)
	}
	if len(probe.Content) == 0 {
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(yamlOrJSON))
	dec.KnownFields(true)
	var rules []Rule
	switch probe.Content[0].Kind {
	case yaml.SequenceNode:
		if err := dec.Decode(&rules); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy: parse rules: %w", err)
		}
	case yaml.MappingNode:
		var doc struct {
			Rules []Rule `yaml:"rules"`
		}
		if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy: parse rules: %w", err)
		}
		rules = doc.Rules
	case yaml.ScalarNode:
		if probe.Content[0].Tag == "!!null" {
			return nil, nil
		}
		fallthrough
	default:
		return nil, errors.New("policy: parse rules: want a list of rules or a mapping with a rules list")
	}
	seen := map[string]bool{}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w (rule #%d)", err, i+1)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("policy: duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
	}
	return rules, nil
}

// Merge combines the default rules with user rules: a user rule replaces the
// default rule with the same id (in place), other user rules are appended in
// order (a later user rule with a repeated id replaces the earlier one), and
// rules whose id is listed in disabled are dropped. Evaluation order is
// decided by New (priority), not by the order returned here. The inputs are
// not modified.
func Merge(defaults, user []Rule, disabled []string) []Rule {
	off := make(map[string]bool, len(disabled))
	for _, id := range disabled {
		off[strings.TrimSpace(id)] = true
	}
	out := make([]Rule, 0, len(defaults)+len(user))
	index := map[string]int{}
	add := func(r Rule) {
		if i, ok := index[r.ID]; ok {
			out[i] = r
			return
		}
		index[r.ID] = len(out)
		out = append(out, r)
	}
	for _, r := range defaults {
		add(r)
	}
	for _, r := range user {
		add(r)
	}
	kept := out[:0]
	for _, r := range out {
		if !off[r.ID] {
			kept = append(kept, r)
		}
	}
	return kept
}

// requiredLiteral returns the longest case-sensitive literal that must occur
// in every string matched by expr, or "" if none is known. It only looks at
// literals that are direct parts of (nested) concatenations, which is
// always safe.
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	best := ""
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase == 0 {
				if s := string(re.Rune); len(s) > len(best) {
					best = s
				}
			}
		case syntax.OpCapture:
			walk(re.Sub[0])
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub)
			}
		}
	}
	walk(re.Simplify())
	return best
}
