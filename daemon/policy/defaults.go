package policy

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

//go:embed defaults.yaml
var defaultsYAML []byte

var parsedDefaults = sync.OnceValues(func() ([]Rule, error) {
	return ParseRules(defaultsYAML)
})

// DefaultRules returns the shipped default rules, parsed from the embedded
// defaults.yaml, in file order. Each call returns a fresh copy.
func DefaultRules() []Rule {
	rules, err := parsedDefaults()
	if err != nil {
		// The embedded file is covered by tests; this is a build defect.
		panic(fmt.Sprintf("policy: embedded defaults.yaml is invalid: %v", err))
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Replace = maps.Clone(r.Replace)
		out[i] = r
	}
	return out
}

// DefaultRulesYAML returns the embedded defaults.yaml source.
func DefaultRulesYAML() []byte {
	return append([]byte(nil), defaultsYAML...)
}

// DefaultRulesTable renders the default rules as a markdown table
// "| id | tool | action | what |" (one row per rule, in file order), for
// the README. "what" is the rule's reason; pipes in cells are escaped.
func DefaultRulesTable() string {
	var sb strings.Builder
	sb.WriteString("| id | tool | action | what |\n")
	sb.WriteString("| --- | --- | --- | --- |\n")
	for _, r := range DefaultRules() {
		tool := r.Tool
		if tool == "" {
			tool = "*"
		}
		if ev := CanonicalEvent(r.Event); !isToolEvent(ev) {
			tool = "(" + ev + ")" // no tool: the event it answers
		}
		action := r.Action
		if r.Blocking {
			action += " (blocking)"
		}
		fmt.Fprintf(&sb, "| `%s` | `%s` | %s | %s |\n",
			mdCell(r.ID), mdCell(tool), mdCell(action), mdCell(r.Reason))
	}
	return sb.String()
}

func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

//go:embed rulesets/*.yaml
var ruleSetFS embed.FS

// RuleSetNames lists the opt-in rule sets (hook.rule_sets), sorted.
func RuleSetNames() []string {
	entries, err := ruleSetFS.ReadDir("rulesets")
	if err != nil {
		panic(fmt.Sprintf("policy: embedded rule sets: %v", err))
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// RuleSet returns the rules of an opt-in rule set by name.
func RuleSet(name string) ([]Rule, error) {
	if !slices.Contains(RuleSetNames(), name) {
		return nil, fmt.Errorf("policy: unknown rule set %q (want one of %s)", name, strings.Join(RuleSetNames(), ", "))
	}
	data, err := ruleSetFS.ReadFile("rulesets/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("policy: rule set %s: %w", name, err)
	}
	rules, err := ParseRules(data)
	if err != nil {
		return nil, fmt.Errorf("policy: rule set %s: %w", name, err)
	}
	return rules, nil
}
