package policy_test

import (
	"fmt"
	"log"

	"github.com/claudebench/cb/daemon/policy"
)

// An engine built from a few YAML rules decides Claude Code's PreToolUse
// payloads. The Bash rule sees each simple command, so the rm behind sudo
// and && is caught while the same text as an argument of grep is not.
func ExampleEngine_Evaluate() {
	rules, err := policy.ParseRules([]byte(`
rules:
  - id: deny-rm-root
    tool: Bash
    field: command
    match: '^rm\s.*-[a-zA-Z]*r[a-zA-Z]*\s+/$'
    action: deny
    reason: deleting / is irreversible
  - id: ask-env-write
    tool: Edit|Write
    field: file_path
    match: '\.env$'
    action: ask
    reason: .env holds secrets
`))
	if err != nil {
		log.Fatal(err)
	}
	e, err := policy.New(rules)
	if err != nil {
		log.Fatal(err)
	}
	for _, payload := range []string{
		`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"make && sudo rm -rf /"}}`,
		`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"grep 'rm -rf /' notes.txt"}}`,
		`{"hook_event_name":"PreToolUse","tool_name":"Write","tool_input":{"file_path":"/p/.env","content":"K=v"}}`,
	} {
		in, err := policy.ParseInput([]byte(payload))
		if err != nil {
			log.Fatal(err)
		}
		d := e.Evaluate(in)
		fmt.Printf("%q %v %q\n", d.Action, d.RuleIDs, d.Reason)
	}
	// Output:
	// "deny" [deny-rm-root] "deleting / is irreversible"
	// "" [] ""
	// "ask" [ask-env-write] ".env holds secrets"
}
