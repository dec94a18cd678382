// Command bare is the benchmark floor: a Go binary that reads stdin and
// prints a fixed JSON object, as cb hook does at the least.
package main

import (
	"io"
	"os"
)

func main() {
	_, _ = io.ReadAll(os.Stdin)
	_, _ = os.Stdout.Write([]byte(`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}` + "\n"))
}
