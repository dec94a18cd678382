package hookcli

import (
	"fmt"
	"io"
)

// Main runs cb with args (without the program name) and returns its exit
// status. `cb hook <type>` takes a short path that never builds the command
// tree; everything else goes through cobra.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "cb: internal error: %v\n", r)
			code = 1
		}
	}()
	if len(args) >= 1 && args[0] == "hook" {
		if len(args) != 2 || args[1] == "-h" || args[1] == "--help" {
			fmt.Fprint(stderr, hookUsage)
			return exitUsage
		}
		return RunHook(args[1], stdin, stdout, stderr)
	}
	return runCLI(args, stdin, stdout, stderr)
}

const hookUsage = `Usage: cb hook <type>

Reads Claude Code's hook JSON on stdin, asks cbd for a decision and prints the
hook output Claude Code understands. Types: pre_tool, post_tool, user_prompt,
todo_write, session_start, session_end, stop, subagent_stop, notification,
pre_compact. It always exits 0 (1 on usage errors), never 2.
`
