package initcmd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// The section cb init writes into CLAUDE.local.md (Claude Code reads the
// file into every session's context in the project, and keeps it out of
// git) lies between these markers, each on a line of its own: a re-run
// replaces what is between them, --undo removes them and what is between.
const (
	beginMarker = "<!-- claudebench:begin -->"
	endMarker   = "<!-- claudebench:end -->"
)

// guide writes the section. A sentence that names a tool or a command is
// written only when it exists: the tool when the running cbd publishes the
// method (system.discover), the cb command (and each flag used) when this
// cb has it.
type guide struct {
	tools   map[string]bool                     // methods published as MCP tools
	command func(path ...string) *cobra.Command // a cb command, nil when there is none
}

// tool is a method's MCP tool name in backquotes, "" when it is not published.
func (g guide) tool(method string) string {
	if !g.tools[method] {
		return ""
	}
	return "`" + protocol.MCPToolName(method) + "`"
}

// cli is ` (`cb <path> <its usage> <extra>`)`: the cb command doing the
// same as a tool, "" when this cb has no such command. extra (flags and
// their values) is written only when the command has every flag it names.
func (g guide) cli(path []string, extra ...string) string {
	if g.command == nil {
		return ""
	}
	c := g.command(path...)
	if c == nil {
		return ""
	}
	parts := append([]string{"cb"}, path[:len(path)-1]...)
	parts = append(parts, c.Use)
	for _, e := range extra {
		name, _, _ := strings.Cut(strings.TrimPrefix(e, "--"), " ")
		if c.Flags().Lookup(name) == nil {
			continue
		}
		parts = append(parts, e)
	}
	return " (`" + strings.Join(parts, " ") + "`)"
}

// section is the text between (and with) the markers, ending in a newline.
func (g guide) section() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n## Shared task queue (ClaudeBench)\n\n", beginMarker)
	w("Written by `cb init`, which rewrites this section when run again; `cb init --undo` removes it.\n\n")
	w("Work in this project can go through a task queue shared with other Claude sessions and people, kept by cbd. " +
		"Use the tools of the `claudebench` MCP server; the `cb` command in parentheses does the same from a shell. " +
		"Your worker id is `session:` followed by your session id (in a shell: `session:$CLAUDE_CODE_SESSION_ID`); " +
		"claim, renew and finish a task with the same id.\n\n")
	if t := g.tool("task.list"); t != "" {
		w("- See the queue: %s%s", t, g.cli([]string{"task", "list"}))
		if t := g.tool("task.get"); t != "" {
			w("; one task with its attachments: %s with `id`%s", t, g.cli([]string{"task", "get"}))
		}
		w(".\n")
	}
	if t := g.tool("task.create"); t != "" {
		w("- Add a task: %s with `text`, at most 500 characters, and optionally `priority`, 0 to 100, default 50, higher first%s.\n",
			t, g.cli([]string{"task", "create"}))
	}
	if t := g.tool("task.claim"); t != "" {
		w("- Take the next task: %s with `workerId`%s; it answers with the task and its attachments, and the task is yours until you finish it or its lease runs out.",
			t, g.cli([]string{"task", "claim"}, `--worker "session:$CLAUDE_CODE_SESSION_ID"`))
		if t := g.tool("task.renew"); t != "" {
			w(" Renew the lease of long work with %s%s.", t, g.cli([]string{"task", "renew"}))
		}
		w("\n")
	}
	if t := g.tool("task.attachments"); t != "" {
		w("- Read the notes, files and links left on a task: %s with `taskId`%s.\n", t, g.cli([]string{"task", "attachments"}))
	}
	if t := g.tool("task.attach"); t != "" {
		w("- Leave context on a task for whoever works on it next: %s with `taskId`, a `key` you choose, a `type` (%s) and a `value`%s.\n",
			t, "`"+strings.Join(api.AttachmentTypes, "`, `")+"`", g.cli([]string{"task", "attach"}))
	}
	if t := g.tool("task.complete"); t != "" {
		w("- Finish: %s with `id`, `workerId` and a `result`%s", t, g.cli([]string{"task", "complete"}, "--result JSON", `--worker "session:$CLAUDE_CODE_SESSION_ID"`))
		if t := g.tool("task.fail"); t != "" {
			w("; when it cannot be done, %s with `id`, `workerId` and an `error`%s", t, g.cli([]string{"task", "fail"}, `--worker "session:$CLAUDE_CODE_SESSION_ID"`))
		}
		w(".\n")
	}
	unassign, assign := g.tool("task.unassign"), g.tool("task.assign")
	if unassign != "" || assign != "" {
		w("- Hand a task over: ")
		if t := g.tool("task.attach"); t != "" {
			w("first attach a note (%s) on what is done and what is left, then ", t)
		}
		if unassign != "" {
			w("%s with `taskId` puts it back in the queue%s", unassign, g.cli([]string{"task", "unassign"}))
			if assign != "" {
				w(", or ")
			}
		}
		if assign != "" {
			w("%s with `taskId` and `instanceId` gives it to that worker%s", assign, g.cli([]string{"task", "assign"}))
		}
		w(".\n")
	}
	w("%s\n", endMarker)
	return b.String()
}

// errMarkers is a CLAUDE.local.md whose markers are not one begin line
// followed by one end line.
var errMarkers = errors.New("its " + beginMarker + " and " + endMarker + " lines are not one pair in that order; fix them by hand")

// findSection returns the byte range of the marked section in text,
// from the start of the begin line to the end of the end line (its
// newline included); ok is false when there is none.
func findSection(text []byte) (start, end int, ok bool, err error) {
	b := markerLines(text, beginMarker)
	e := markerLines(text, endMarker)
	switch {
	case len(b) == 0 && len(e) == 0:
		return 0, 0, false, nil
	case len(b) != 1 || len(e) != 1 || e[0] < b[0]:
		return 0, 0, false, errMarkers
	}
	end = e[0] + len(endMarker)
	if end < len(text) && text[end] == '\r' {
		end++
	}
	if end < len(text) && text[end] == '\n' {
		end++
	}
	return b[0], end, true, nil
}

// markerLines returns the offsets of the lines that are marker (trailing
// spaces allowed).
func markerLines(text []byte, marker string) []int {
	var out []int
	off := 0
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		if string(bytes.TrimRight(line, " \t\r\n")) == marker {
			out = append(out, off)
		}
		off += len(line)
	}
	return out
}

// putSection returns text with the section in place of the marked one, or
// appended after a blank line when there is none.
func putSection(text []byte, section string) ([]byte, error) {
	start, end, ok, err := findSection(text)
	if err != nil {
		return nil, err
	}
	if ok {
		out := append([]byte{}, text[:start]...)
		out = append(out, section...)
		return append(out, text[end:]...), nil
	}
	out := append([]byte{}, text...)
	if len(bytes.TrimSpace(out)) > 0 {
		if !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n')
		}
		out = append(out, '\n')
	}
	return append(out, section...), nil
}

// dropSection returns text without the marked section and the blank line
// putSection put before it; ok is false when there is none.
func dropSection(text []byte) (out []byte, ok bool, err error) {
	start, end, ok, err := findSection(text)
	if err != nil || !ok {
		return text, false, err
	}
	before := text[:start]
	if start > 0 && bytes.HasSuffix(before, []byte("\n\n")) {
		before = before[:len(before)-1]
	}
	out = append(append([]byte{}, before...), text[end:]...)
	return out, true, nil
}
