// Package policy is the decision engine of the ClaudeBench daemon (cbd).
//
// cb hook <type> forwards a Claude Code hook event's JSON to cbd, which
// asks an Engine for a Decision: allow, deny, ask, cancel, an updated input,
// permission updates, and/or additional context. A rule on an event may
// take the actions whose decision protocol.RenderHookOutput renders for
// that event (rule validation names them). The package is pure Go; its
// inputs besides the rules and the hook payload are the embedded
// defaults.yaml and rule sets (RuleSet), and the facts cbd establishes
// (Input.Facts: the settings guard's).
//
// # Rules
//
// A Rule matches on the hook event, the tool name, a gjson field of the
// tool input (optionally filtered by an RE2 regex) and an optional named
// special predicate; see Engine for the exact evaluation semantics and
// Decision for how fired rules combine (deny > cancel > ask > allow, blocking rules
// halt the chain, contexts are joined, modify rules produce the whole
// updated tool_input). A modify rule alone gives Action "" with
// UpdatedInput set; the caller turns that into allow + updatedInput.
//
// # Bash commands are understood, not grepped
//
// For the Bash tool, a rule with field "command" is not matched against the
// raw command string but against each simple command of the parsed command
// line, normalized (quotes removed, wrappers such as sudo or timeout
// stripped, nested bash -c code re-parsed): see package
// daemon/policy/shell, which does that analysis and computes the facts
// behind the Bash specials. So ^rm\s catches "ls; rm -rf /" and
// "bash -c 'rm -rf /'" but not grep "rm -rf /" notes.txt. BashCommands
// returns the commands for an input (hooks.test shows them).
package policy
