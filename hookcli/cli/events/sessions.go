package events

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// SessionSummary is one Claude Code session as `cb sessions --json` prints
// it (a JSON array, most recently active first).
type SessionSummary struct {
	// ID is Claude Code's session_id.
	ID string `json:"id"`
	// FirstSeen and LastSeen are the times of its first and last hook event
	// in the window (RFC 3339, UTC).
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// Events counts its hook events (every cb hook call).
	Events int `json:"events"`
	// Tools counts its PreToolUse requests by tool name.
	Tools map[string]int `json:"tools"`
	// Prompts counts its UserPromptSubmit events; LastPrompt is the last one's time.
	Prompts    int        `json:"prompts"`
	LastPrompt *time.Time `json:"lastPrompt,omitempty"`
	// Denials counts deny decisions; present only when the decision stream
	// (cb:stream:hook.decision) exists.
	Denials *int `json:"denials,omitempty"`
	// Cwd is the working directory its last event reported.
	Cwd string `json:"cwd,omitempty"`
}

// decisionType is the stream of hook decisions (written by cbd's audit),
// the only place denials can be counted from: the hook streams hold the
// requests, not the answers.
const decisionType = "hook.decision"

const sessionsLong = `List the Claude Code sessions seen in the hook streams (cb:stream:hook.*)
over the last 24 hours (--since), computed by cb from the recorded events:
per session the first and last event, the number of hook events, the tools it
used (PreToolUse requests per tool), its prompts and the time of the last one.

A DENIALS column (and "denials" in JSON) appears only when cbd records its
decisions in the cb:stream:hook.decision stream; the hook streams themselves
hold the requests, not the answers, so without it denials are not shown.

Output: a table (session ids shortened to 8 characters; cb sessions show
takes any unique prefix), or with --json an array of
{"id","firstSeen","lastSeen","events","tools":{"Bash":3},"prompts","lastPrompt","denials","cwd"}
(lastPrompt, denials and cwd only when known).`

// NewCmdSessions is `cb sessions` and its subcommands.
func NewCmdSessions(f *cmdutil.Factory) *cobra.Command {
	o := &options{cmdutil.NewRun(f)}
	return o.Prepare(o.sessionsCmd())
}

func (o *options) sessionsCmd() *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "Claude Code sessions seen in the last 24 hours",
		Long:  sessionsLong,
		Example: `  cb sessions
  cb sessions --since 2h --json | jq '.[0].tools'
  cb sessions show 3f2a9c1e`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := o.readHookEvents(cmd.Context(), since)
			if err != nil {
				return err
			}
			list := summarizeSessions(h.entries, h.haveDecisions)
			if o.JSON {
				return o.PrintJSON(list)
			}
			if len(list) == 0 {
				fmt.Fprintf(o.IO.ErrOut, "no Claude Code sessions since %s\n", h.from.Local().Format(time.DateTime))
				return nil
			}
			if !o.IO.IsStdoutTTY() {
				return writeSessionRows(o.IO.Out, list, h.haveDecisions)
			}
			return printSessions(o.IO.Out, o.IO, list, h.haveDecisions, time.Now())
		},
	}
	cmd.PersistentFlags().StringVar(&since, "since", "24h", "look back this long (10m, 2h, 1d) or from a stream entry id")
	cmd.AddCommand(&cobra.Command{
		Use:   "show SESSION",
		Short: "One session's timeline: its hook events in time order",
		Long: `Print one session's hook events (all cb:stream:hook.* streams, and its
decisions when recorded) in time order within --since. SESSION may be any
unique prefix of the id.

` + eventsOutputHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := o.readHookEvents(cmd.Context(), since)
			if err != nil {
				return err
			}
			id, err := resolveSession(h.entries, args[0])
			if err != nil {
				return err
			}
			p := o.newEventPrinter("")
			p.hideSession = true
			for _, e := range h.entries {
				if e.session != id {
					continue
				}
				if err := p.write(e.rec, e.meta, hookDetail(e)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return cmd
}

// hookEntry is one decoded event of a hook stream.
type hookEntry struct {
	rec     EventRecord
	meta    eventMeta
	session string
	hook    hookFields
}

// hookFields are the fields of Claude Code's hook JSON (and of a decision
// record) that sessions read.
type hookFields struct {
	SessionID     string `json:"session_id"`
	HookEventName string `json:"hook_event_name"`
	ToolName      string `json:"tool_name"`
	Cwd           string `json:"cwd"`
	// A hook.decision record.
	RecordSession string `json:"sessionId"`
	Decision      string `json:"decision"`
	Tool          string `json:"tool"`
}

type hookEvents struct {
	entries       []hookEntry // sorted by time, then entry id
	haveDecisions bool
	from          time.Time
}

// readHookEvents reads every hook stream from --since on.
func (o *options) readHookEvents(ctx context.Context, since string) (*hookEvents, error) {
	start, err := sinceFlag(since, false)
	if err != nil {
		return nil, err
	}
	if start == "" {
		start = "-"
	}
	h := &hookEvents{}
	if ms, _, ok := protocol.ParseStreamID(start); ok {
		h.from = time.UnixMilli(int64(ms))
	}
	c, err := o.Connect()
	if err != nil {
		return nil, err
	}
	rdb := c.Redis()
	types, err := streams.Types(ctx, rdb, "hook.*")
	if err != nil {
		return nil, redisFailure("list hook streams", err)
	}
	for _, typ := range types {
		if typ == decisionType {
			h.haveDecisions = true
		}
		err := xrangeAll(ctx, rdb, protocol.StreamKey(typ), start, func(m redis.XMessage) (bool, error) {
			// The window is on the entry ids; an event stamped earlier than
			// it (e.g. replayed) is left out too.
			if e, ok := decodeHookEntry(typ, m); ok && e.meta.Timestamp >= h.from.UnixMilli() {
				h.entries = append(h.entries, e)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(h.entries, func(x, y hookEntry) int {
		if c := cmp.Compare(x.meta.Timestamp, y.meta.Timestamp); c != 0 {
			return c
		}
		return protocol.CompareStreamIDs(x.rec.ID, y.rec.ID)
	})
	return h, nil
}

// decodeHookEntry decodes an entry of a hook stream; malformed ones and
// those without a session are left out.
func decodeHookEntry(typ string, m redis.XMessage) (hookEntry, bool) {
	rec, meta, err := decodeStreamEntry(typ, m)
	if err != nil {
		return hookEntry{}, false
	}
	e := hookEntry{rec: rec, meta: meta}
	if len(rec.Payload) > 0 && rec.Payload[0] == '{' {
		_ = json.Unmarshal(rec.Payload, &e.hook) // lenient: a field of another type stays empty
	}
	e.session = cmp.Or(meta.SessionID, e.hook.SessionID, e.hook.RecordSession)
	return e, e.session != ""
}

// summarizeSessions aggregates hook entries (in time order) per session,
// most recently active first.
func summarizeSessions(entries []hookEntry, haveDecisions bool) []SessionSummary {
	byID := map[string]*SessionSummary{}
	for _, e := range entries {
		s := byID[e.session]
		if s == nil {
			s = &SessionSummary{ID: e.session, Tools: map[string]int{}}
			if haveDecisions {
				s.Denials = new(int)
			}
			byID[e.session] = s
		}
		at := time.UnixMilli(e.meta.Timestamp).UTC()
		if e.rec.Stream == decisionType {
			if s.Denials != nil && e.hook.Decision == protocol.DecisionDeny {
				*s.Denials++
			}
			continue
		}
		if s.Events == 0 || at.Before(s.FirstSeen) {
			s.FirstSeen = at
		}
		if at.After(s.LastSeen) {
			s.LastSeen = at
		}
		s.Events++
		switch e.rec.Stream {
		case protocol.HookMethod("pre_tool"):
			if e.hook.ToolName != "" {
				s.Tools[e.hook.ToolName]++
			}
		case protocol.HookMethod("user_prompt"):
			s.Prompts++
			if s.LastPrompt == nil || at.After(*s.LastPrompt) {
				t := at
				s.LastPrompt = &t
			}
		}
		if e.hook.Cwd != "" {
			s.Cwd = e.hook.Cwd
		}
	}
	list := make([]SessionSummary, 0, len(byID))
	for _, s := range byID {
		if s.Events == 0 { // only decisions left in the window
			s.FirstSeen, s.LastSeen = time.Time{}, time.Time{}
		}
		list = append(list, *s)
	}
	slices.SortFunc(list, func(x, y SessionSummary) int {
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return list
}

// resolveSession finds the session id an argument names: exactly, or as
// the unique prefix of one.
func resolveSession(entries []hookEntry, arg string) (string, error) {
	var matches []string
	for _, e := range entries {
		if e.session == arg {
			return arg, nil
		}
		if strings.HasPrefix(e.session, arg) && !slices.Contains(matches, e.session) {
			matches = append(matches, e.session)
		}
	}
	switch len(matches) {
	case 0:
		return "", &protocol.Error{Code: protocol.CodeNotFound, Message: fmt.Sprintf("no hook events of session %q in the window (see --since)", arg)}
	case 1:
		return matches[0], nil
	}
	slices.Sort(matches)
	return "", cmdutil.Exit(1, fmt.Errorf("%q is ambiguous: %s", arg, strings.Join(matches, ", ")))
}

// writeSessionRows prints the sessions for a program: whole values,
// tab-separated, no header (id, first and last seen, events, prompts, last
// prompt, denials when known, tools).
func writeSessionRows(w io.Writer, list []SessionSummary, haveDecisions bool) error {
	rows := make([][]string, len(list))
	for i, s := range list {
		last := ""
		if s.LastPrompt != nil {
			last = s.LastPrompt.UTC().Format(time.RFC3339Nano)
		}
		row := []string{s.ID, s.FirstSeen.UTC().Format(time.RFC3339Nano), s.LastSeen.UTC().Format(time.RFC3339Nano),
			strconv.Itoa(s.Events), strconv.Itoa(s.Prompts), last}
		if haveDecisions {
			d := 0
			if s.Denials != nil {
				d = *s.Denials
			}
			row = append(row, strconv.Itoa(d))
		}
		rows[i] = append(row, toolsCell(s.Tools))
	}
	return cmdutil.WriteTSV(w, rows)
}

// printSessions writes the human table of a terminal.
func printSessions(w io.Writer, ios *iostreams.IOStreams, list []SessionSummary, haveDecisions bool, now time.Time) error {
	pal, width := ios.ColorScheme(), ios.TerminalWidth()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"SESSION", "FIRST", "LAST", "EVENTS", "PROMPTS", "LAST PROMPT"}
	if haveDecisions {
		head = append(head, "DENIALS")
	}
	head = append(head, "TOOLS")
	for i := range head {
		head[i] = pal.Header(head[i])
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	// Every cell is painted (sgrDefault when plain): escapes of one length
	// in every cell keep tabwriter's columns aligned on a terminal.
	plain := func(s string) string { return pal.Plain(s) }
	for _, s := range list {
		last := "-"
		if s.LastPrompt != nil {
			last = sessionClock(*s.LastPrompt, now)
		}
		row := []string{pal.Cyan(truncateID(cmdutil.OneLine(s.ID))), plain(sessionClock(s.FirstSeen, now)), plain(sessionClock(s.LastSeen, now)),
			plain(strconv.Itoa(s.Events)), plain(strconv.Itoa(s.Prompts)), plain(last)}
		if haveDecisions {
			d := 0
			if s.Denials != nil {
				d = *s.Denials
			}
			if d > 0 {
				row = append(row, pal.Red(strconv.Itoa(d)))
			} else {
				row = append(row, plain(strconv.Itoa(d)))
			}
		}
		tools := toolsCell(s.Tools)
		if width > 0 {
			// The fixed columns take about 70 columns; the tools get the rest.
			tools = cmdutil.Truncate(tools, max(width-75, 20))
		}
		row = append(row, tools) // the last column: no padding after it
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func truncateID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// sessionClock shows a time of today as 15:04:05, an older one with its date.
func sessionClock(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("Jan _2 15:04")
}

// toolsCell lists tool counts, most used first: "Bash 12, Read 5".
func toolsCell(tools map[string]int) string {
	if len(tools) == 0 {
		return "-"
	}
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.SortFunc(names, func(x, y string) int {
		if c := cmp.Compare(tools[y], tools[x]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = cmdutil.OneLine(n) + " " + strconv.Itoa(tools[n])
	}
	return strings.Join(parts, ", ")
}

// hookDetail is the human summary of a hook event for a timeline line: the
// prompt, what a tool call works on, or per event what it is about (a
// task's subject, a model switch, a file, an error, ...).
func hookDetail(e hookEntry) string {
	var p map[string]json.RawMessage
	if json.Unmarshal(e.rec.Payload, &p) != nil {
		return ""
	}
	str := func(m map[string]json.RawMessage, key string) string {
		var s string
		if raw, ok := m[key]; ok {
			_ = json.Unmarshal(raw, &s)
		}
		return s
	}
	// join leaves out the empty parts.
	join := func(sep string, parts ...string) string {
		return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), sep)
	}
	// quoted and paren wrap a value, and leave an absent one absent.
	quoted := func(s string) string {
		if s == "" {
			return ""
		}
		return strconv.Quote(s)
	}
	paren := func(s string) string {
		if s == "" {
			return ""
		}
		return "(" + s + ")"
	}
	if e.rec.Stream == decisionType {
		d := cmp.Or(str(p, "decision"), "none")
		if r := str(p, "reason"); r != "" {
			d += ": " + r
		}
		return d
	}
	event := str(p, "hook_event_name")
	if event == "UserPromptExpansion" {
		return join(" ", "/"+str(p, "command_name"), str(p, "command_args"))
	}
	if prompt := str(p, "prompt"); prompt != "" {
		return strconv.Quote(prompt)
	}
	if raw, ok := p["tool_input"]; ok {
		d := toolDetail(raw, str)
		switch event {
		case "PostToolUseFailure":
			var interrupted bool
			_ = json.Unmarshal(p["is_interrupt"], &interrupted)
			if interrupted {
				return d + " (interrupted)"
			}
			return join(" → ", d, str(p, "error"))
		case "PermissionRequest":
			return "asks: " + d
		case "PermissionDenied":
			return join(" → denied: ", d, str(p, "reason"))
		}
		return d
	}
	var summary string
	switch event {
	case "PostToolBatch":
		var calls []struct {
			ToolName string `json:"tool_name"`
		}
		_ = json.Unmarshal(p["tool_calls"], &calls)
		names := make([]string, len(calls))
		for i, c := range calls {
			names[i] = c.ToolName
		}
		summary = fmt.Sprintf("%d tool calls: %s", len(calls), strings.Join(names, ", "))
	case "SessionStart":
		summary = join(", model ", str(p, "source"), str(p, "model"))
	case "Stop", "SubagentStop":
		var active bool
		_ = json.Unmarshal(p["stop_hook_active"], &active)
		cont := ""
		if active {
			cont = "(continuing after a block)"
		}
		summary = join(" ", str(p, "agent_type"), cont, quoted(str(p, "last_assistant_message")))
	case "StopFailure":
		summary = join(": ", str(p, "error"), str(p, "error_details"))
	case "SubagentStart":
		summary = join(" ", str(p, "agent_type"), str(p, "agent_id"))
	case "TeammateIdle":
		summary = str(p, "teammate_name")
	case "TaskCreated", "TaskCompleted":
		summary = join(" ", "#"+str(p, "task_id"), quoted(str(p, "task_subject")), paren(str(p, "teammate_name")))
	case "PreModelSwitch", "PostModelSwitch":
		summary = join(" ", str(p, "from_model")+" → "+str(p, "to_model"), paren(str(p, "source")))
	case "Notification":
		summary = join(": ", str(p, "notification_type"), str(p, "message"))
	case "Elicitation":
		summary = join(": ", str(p, "mcp_server_name"), str(p, "message"))
	case "ElicitationResult":
		summary = join(": ", str(p, "mcp_server_name"), str(p, "action"))
	case "ConfigChange":
		summary = join(" ", str(p, "source"), str(p, "file_path"))
	case "InstructionsLoaded":
		summary = join(" ", str(p, "file_path"), paren(str(p, "load_reason")))
	case "CwdChanged":
		summary = str(p, "old_cwd") + " → " + str(p, "new_cwd")
	case "FileChanged":
		summary = join(" ", str(p, "event"), str(p, "file_path"))
	case "DirectoryAdded":
		summary = join(" ", str(p, "directory"), paren(str(p, "source")))
	case "WorktreeCreate":
		summary = str(p, "name")
	case "WorktreeRemove":
		summary = str(p, "worktree_path")
	case "MessageDisplay":
		summary = str(p, "delta")
	}
	if summary == "" {
		for _, k := range []string{"message", "source", "reason", "trigger", "error"} {
			if summary = str(p, k); summary != "" {
				break
			}
		}
	}
	if summary != "" {
		return cmp.Or(event, e.rec.Stream) + ": " + summary
	}
	return event
}

// toolDetail is what a tool call works on: its command, file, pattern, ...
// or its whole input.
func toolDetail(raw json.RawMessage, str func(map[string]json.RawMessage, string) string) string {
	var in map[string]json.RawMessage
	if json.Unmarshal(raw, &in) == nil {
		for _, k := range []string{"command", "file_path", "notebook_path", "path", "pattern", "url", "query", "subject", "description"} {
			if v := str(in, k); v != "" {
				return v
			}
		}
	}
	return string(raw)
}
