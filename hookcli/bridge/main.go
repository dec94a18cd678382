// Package bridge is the lean cb binary: the `cb hook` bridge Claude Code runs on
// every event, kept lean because every package cb links runs its init on
// every hook call. cb links no cobra, no go-redis, no crypto/tls and no
// daemon code (a test holds it to that); it speaks RESP2 to Redis itself.
// Every other command, and hooks whose Redis URL needs TLS or Sentinel, are
// handed over to the full CLI binary cb-cli (package hookcli/cli) with
// exec, so the user still types `cb ...` for everything.
package bridge

import (
	"fmt"
	"io"

	"github.com/claudebench/cb/protocol"
)

// CLIName is the full CLI binary cb hands everything but `cb hook` to. It
// is built beside cb (make build).
const CLIName = "cb-cli"

// Main runs cb with args (without the program name) and returns its exit
// status. `cb hook <type>` runs here; everything else is handed over to
// cb-cli, which on unix replaces this process and does not return.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "cb: internal error: %v\n", r)
			code = 1
		}
	}()
	if len(args) >= 1 && args[0] == "hook" {
		if len(args) != 2 || args[1] == "-h" || args[1] == "--help" {
			fmt.Fprint(stderr, HookUsage)
			return exitUsage
		}
		if he, ok := protocol.LookupHookEvent(args[1]); !ok || !WorktreeStep(he) {
			return RunHook(args[1], stdin, stdout, stderr, &leanTransport{hookType: args[1]})
		}
		// A worktree hook replaces Claude Code's own git worktree step;
		// cb-cli records the event and does that step (os/exec, not linked here).
	}
	code, err := execCLI(args)
	if err != nil {
		fmt.Fprintf(stderr, "cb: %v\n", err)
		return 1
	}
	return code
}

// WorktreeStep reports whether the hook of he must create or remove the
// git worktree itself: a hook on WorktreeCreate or WorktreeRemove replaces
// Claude Code's own step. cb-cli does it; cb hands those types over.
func WorktreeStep(he protocol.HookEvent) bool {
	return he.ClaudeEvent == "WorktreeCreate" || he.ClaudeEvent == "WorktreeRemove"
}

// HookUsage is the help of `cb hook`.
const HookUsage = `Usage: cb hook <type>

Reads Claude Code's hook JSON on stdin, asks cbd for a decision and prints the
hook output Claude Code understands. The type is the Claude Code event in
snake_case (pre_tool_use, permission_request, stop, task_created, ...; the
older names pre_tool, post_tool and user_prompt work too), or todo_write for
the todo tools' PostToolUse; README, Hook events, lists all 33. An event this
cb does not know is recorded, with no opinion. It exits 0 (1 on usage errors),
never 2; worktree_create and worktree_remove, which replace Claude Code's own
git worktree step, exit 1 when that step fails.
`
