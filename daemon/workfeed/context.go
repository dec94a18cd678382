package workfeed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// MaxReason bounds a block reason that hands over a task, in bytes: Claude
// Code gives the reason to the model as it is, so a task with large
// attachments must not flood the session's context. The task's context is
// what gets cut (with a marker naming the command that shows all of it);
// the task, and how to finish it, always fit.
const MaxReason = 8 << 10

// Bounds of one attachment in a reason, so that one large attachment does
// not crowd out the others.
const (
	maxNote  = 3000 // bytes of a note's text
	maxItems = 30   // paths of a files, URLs of a links attachment
	maxItem  = 300  // bytes of one path or URL
	maxJSON  = 600  // bytes of a result or json value, as compact JSON
)

// cutMark ends whatever was cut short.
const cutMark = "…"

// handover is the block reason that hands t to worker: head (what the
// reason is about), then the task's text, its attachments, how to leave
// notes and how to finish it, within MaxReason.
func handover(head string, t api.Task, worker string) string {
	tail := "\n\n" + howToAttach(t.ID, worker) + "\n\n" + howToFinish(t.ID, worker)
	s := head + "\n\n" + t.Text
	ctx := taskContext(t.Attachments)
	if ctx == "" {
		return s + tail
	}
	budget := MaxReason - len(s) - len("\n\n") - len(tail)
	return s + "\n\n" + fitContext(ctx, budget, t.ID) + tail
}

// fitContext cuts ctx to budget bytes, at a line end where it can, and
// says where the rest is.
func fitContext(ctx string, budget int, id string) string {
	if len(ctx) <= budget {
		return ctx
	}
	more := fmt.Sprintf("\n[… context cut at %d bytes: run `cb task attachments %s` for all of it]", MaxReason, id)
	keep := max(budget-len(more), 0)
	cut := truncate(ctx, keep, "")
	if i := strings.LastIndexByte(cut, '\n'); i > len(cut)/2 {
		cut = cut[:i]
	}
	return cut + more
}

// taskContext renders attachments for Claude: one entry per attachment,
// its type, key and who attached it, then its value by type (a note in
// full up to maxNote, a files or links list, a result or json value as
// abbreviated compact JSON). "" when there are none.
func taskContext(atts []api.Attachment) string {
	if len(atts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Context attached to this task (%d %s, oldest first):", len(atts), plural(len(atts), "attachment", "attachments"))
	for _, a := range atts {
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "[%s] %s", a.Type, a.Key)
		when := a.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC")
		if a.CreatedBy != "" {
			fmt.Fprintf(&b, " (by %s, %s)", a.CreatedBy, when)
		} else {
			fmt.Fprintf(&b, " (%s)", when)
		}
		b.WriteString(":\n")
		b.WriteString(renderValue(a))
	}
	return b.String()
}

// renderValue is an attachment's value as indented text. A value whose
// shape does not match its type (the service validates it, but a reason
// must never fail) shows as JSON.
func renderValue(a api.Attachment) string {
	switch a.Type {
	case api.AttachmentNote:
		var s string
		if json.Unmarshal(a.Value, &s) == nil {
			return indent(truncate(s, maxNote, fmt.Sprintf(" [note cut at %d of %d bytes]", maxNote, len(s))))
		}
	case api.AttachmentFiles, api.AttachmentLinks:
		var items []string
		if json.Unmarshal(a.Value, &items) == nil {
			var b strings.Builder
			for i, it := range items {
				if i == maxItems {
					fmt.Fprintf(&b, "\n  - … and %d more", len(items)-maxItems)
					break
				}
				if i > 0 {
					b.WriteByte('\n')
				}
				// One line per item: a newline in a path must not fake
				// another entry.
				b.WriteString("  - " + truncate(strings.Join(strings.Fields(it), " "), maxItem, cutMark))
			}
			return b.String()
		}
	}
	var c bytes.Buffer
	if json.Compact(&c, a.Value) != nil {
		c.Reset()
		c.Write(a.Value)
	}
	v := c.String()
	if len(v) > maxJSON {
		return indent(truncate(v, maxJSON, fmt.Sprintf("%s (%d of %d bytes)", cutMark, maxJSON, len(v))))
	}
	return indent(v)
}

// howToAttach tells Claude how to leave notes on task id for whoever
// works on it next.
func howToAttach(id, worker string) string {
	return fmt.Sprintf("To leave notes for whoever works on it next (attaching a key again replaces it): call the MCP tool %s with {\"taskId\":%q,\"key\":\"handover\",\"type\":\"note\",\"value\":\"<notes>\",\"createdBy\":%q}, or run\n"+
		"  cb task attach %s handover --type note --by %s \"<notes>\"",
		protocol.MCPToolName("task.attach"), id, worker, id, worker)
}

// truncate cuts s to at most n bytes (at a rune boundary), mark included.
func truncate(s string, n int, mark string) string {
	if len(s) <= n {
		return s
	}
	n = max(n-len(mark), 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
