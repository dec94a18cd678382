package mcpcontent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// Prompt names.
const (
	TakeNextTask = "take_next_task"
	HandOverTask = "hand_over_task"
)

// HandoverKey is the attachment key hand_over_task stores the notes under.
const HandoverKey = "handover"

// Prompt is a prompt's definition (prompts/list).
type Prompt struct {
	Name        string
	Title       string
	Description string
	Arguments   []Argument
}

// Argument is one argument of a prompt.
type Argument struct {
	Name        string
	Title       string
	Description string
	Required    bool
}

// Message is one message of a rendered prompt.
type Message struct {
	Role string // "user"
	Text string
}

// Published reports whether a method is published as an MCP tool by the
// server rendering a prompt; a prompt names only tools that are.
type Published func(method string) bool

// Prompts lists the prompts, by name (the order the Go SDK lists them
// in, which cb mcp keeps).
func Prompts() []Prompt {
	return []Prompt{
		{
			Name:        HandOverTask,
			Title:       "Hand a task over",
			Description: "Attach hand-over notes to a task and give it back to the queue, or to another worker.",
			Arguments: []Argument{
				{Name: "taskId", Title: "Task id", Description: "The task to hand over (t-<digits>).", Required: true},
				{Name: "notes", Title: "Notes", Description: "What the next worker needs to know: state, next steps, pitfalls.", Required: true},
				{Name: "to", Title: "To", Description: "A live cb instance id to assign the task to; without it the task goes back to the queue."},
			},
		},
		{
			Name:  TakeNextTask,
			Title: "Take the next task",
			Description: "Claim the next task from cb's queue, read its context, do it, record what came of it and " +
				"complete (or fail) it.",
			Arguments: []Argument{{Name: "workerId", Title: "Worker id",
				Description: "The worker id to claim as (no spaces); by default one the model picks for this session."}},
		},
	}
}

// Get renders prompt name with args. published says which methods the
// server publishes: a step whose tool is missing is left out or replaced
// (notes go to task metadata without task.attach). An unknown prompt or a
// missing required argument is a -32602 error naming it.
func Get(name string, args map[string]string, published Published) (description string, msgs []Message, err error) {
	i := slices.IndexFunc(Prompts(), func(p Prompt) bool { return p.Name == name })
	if i < 0 {
		return "", nil, protocol.Errorf(protocol.CodeInvalidParams, "unknown prompt %q (cb has %s and %s)", name, TakeNextTask, HandOverTask)
	}
	p := Prompts()[i]
	for _, a := range p.Arguments {
		if a.Required && strings.TrimSpace(args[a.Name]) == "" {
			return "", nil, &protocol.Error{Code: protocol.CodeInvalidParams,
				Message: fmt.Sprintf("prompt %s: argument %s is required", name, a.Name),
				Data:    map[string]any{"errors": []string{"arguments." + a.Name + ": required"}}}
		}
	}
	var text string
	switch name {
	case TakeNextTask:
		text = takeNextTask(strings.TrimSpace(args["workerId"]), published)
	case HandOverTask:
		text = handOverTask(strings.TrimSpace(args["taskId"]), args["notes"], strings.TrimSpace(args["to"]), published)
	}
	return p.Description, []Message{{Role: "user", Text: text}}, nil
}

// toolsNote says where the tools a prompt names are: an MCP client
// prefixes them with the name the user gave the server.
const toolsNote = "The tools named below are those of cb's MCP server (in Claude Code: mcp__<server>__<tool>, " +
	"e.g. mcp__claudebench__task_get).\n\n"

// tool is the tool name of method.
func tool(method string) string { return protocol.MCPToolName(method) }

func takeNextTask(worker string, published Published) string {
	var b strings.Builder
	who := fmt.Sprintf("%q", worker)
	if worker == "" {
		who = `a worker id of your choosing that names this session (no spaces, e.g. "claude-" and a few letters)`
	}
	fmt.Fprintf(&b, "Take the next task from the ClaudeBench (cb) queue and do it. Use %s as workerId in every call below.\n", who)
	b.WriteString(toolsNote)
	step := 0
	next := func(format string, a ...any) {
		step++
		fmt.Fprintf(&b, "%d. "+format+"\n", append([]any{step}, a...)...)
	}
	next("Claim one task: call %s with {\"workerId\": <workerId>}. If it returns no tasks, the queue is empty: say so and stop.", tool("task.claim"))
	again := ""
	if published("task.attachments") {
		again = fmt.Sprintf("; %s with {\"taskId\": <id>} reads them again", tool("task.attachments"))
	}
	next("Read the task's text and its attachments (in the claim's answer%s): notes, files and links left by whoever "+
		"worked on it before, a %q note if it was handed over.", again, HandoverKey)
	next("Do the task. If it takes long, call %s with {\"id\": <id>, \"workerId\": <workerId>} before its leaseExpiresAt, "+
		"or the task goes back to the queue.", tool("task.renew"))
	if published("task.attach") {
		next("Record what you produced or learned with %s: {\"taskId\": <id>, \"key\": ..., \"type\": ..., \"value\": ...}, "+
			"type one of %s (a note is a string, files and links are arrays of strings).", tool("task.attach"), strings.Join(api.AttachmentTypes, ", "))
	}
	next("When done, call %s with {\"id\": <id>, \"workerId\": <workerId>, \"result\": <a short JSON summary of the outcome>}. "+
		"If you cannot do it, call %s with {\"id\": <id>, \"workerId\": <workerId>, \"error\": <why>} instead.",
		tool("task.complete"), tool("task.fail"))
	b.WriteString("\nFinish with one line: the task id and what became of it.")
	return b.String()
}

func handOverTask(id, notes, to string, published Published) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hand ClaudeBench (cb) task %s over to ", id)
	if to != "" {
		fmt.Fprintf(&b, "worker %q.\n\n", to)
	} else {
		b.WriteString("the queue, for whoever claims it next.\n\n")
	}
	b.WriteString(toolsNote)
	fmt.Fprintf(&b, "The hand-over notes:\n<notes>\n%s\n</notes>\n\n", notes)
	step := 0
	next := func(format string, a ...any) {
		step++
		fmt.Fprintf(&b, "%d. "+format+"\n", append([]any{step}, a...)...)
	}
	next("Call %s with {\"id\": %q} to see its status.", tool("task.get"), id)
	if published("task.attach") {
		next("Attach the notes: %s with {\"taskId\": %q, \"key\": %q, \"type\": %q, \"value\": <the notes above, as one string>}. "+
			"Add anything the next worker needs that the notes miss (files touched, links) as more attachments.",
			tool("task.attach"), id, HandoverKey, api.AttachmentNote)
	} else {
		next("Store the notes with the task: %s with {\"id\": %q, \"updates\": {\"metadata\": {%q: <the notes above, as one string>}}}.",
			tool("task.update"), id, HandoverKey)
	}
	next("If the task is in_progress, put it back in the queue with %s {\"taskId\": %q}.", tool("task.unassign"), id)
	if to != "" {
		next("Then assign it with %s {\"taskId\": %q, \"instanceId\": %q}. If that fails (the worker is not a live cb "+
			"instance), leave the task in the queue and say so.", tool("task.assign"), id, to)
	}
	b.WriteString("\nDo not complete or fail the task. Finish with one line: where the task is now.")
	return b.String()
}
