// Package audit is `cb audit`: recorded hook decisions, newest first.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Options are cb audit's inputs.
type Options struct {
	cmdutil.CallOptions

	Session, Decision, Tool, Since string
	Limit                          int
	// After is the cursor of the page to show (the nextCursor of the one
	// before it).
	After string
	// Again is the command line that lists the same records again,
	// without --after: the start of the hint for the next page.
	Again []string
}

// NewCmdAudit is `cb audit`; runF replaces auditRun in tests.
func NewCmdAudit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{CallOptions: cmdutil.NewCallOptions(f)}
	cmd := &cobra.Command{
		Use:   "audit [--session S] [--decision deny] [--tool T] [--since 1h] [--limit N] [--after CURSOR]",
		Short: "Recorded hook decisions, newest first",
		Long: `Recorded hook decisions, newest first: a table on a terminal, tab-separated
rows without a header otherwise (time, session, event, tool, decision, rules,
latency in µs, reason).

One page at a time: when there are more, the command for the next page
(the same filters with --after CURSOR) is printed on stderr; with --json the
cursor is the answer's nextCursor.`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, func(cmd *cobra.Command, _ []string) error {
		opts.Again = []string{"cb", "audit"}
		cmd.Flags().Visit(func(fl *pflag.Flag) {
			v := fl.Value.String()
			switch fl.Name {
			case "session", "decision", "tool", "limit":
			case "since":
				// An age moves on with the clock; the next page is to
				// have the same bound.
				if d, ok := cmdutil.ParseAge(v); ok && d >= 0 {
					v = time.Now().Add(-d).UTC().Format(time.RFC3339Nano)
				}
			default:
				return
			}
			opts.Again = append(opts.Again, "--"+fl.Name, cmdutil.ShellQuote(v))
		})
		return nil
	}, runF, auditRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Session, "session", "", "only this Claude Code session")
	fl.StringVar(&opts.Decision, "decision", "", "only this decision: allow, deny, ask, modify, context, none")
	fl.StringVar(&opts.Tool, "tool", "", "only this tool")
	fl.StringVar(&opts.Since, "since", "", "only after: a duration (1h) or an RFC 3339 time")
	fl.IntVar(&opts.Limit, "limit", 100, "at most this many")
	fl.StringVar(&opts.After, "after", "", "the page after this cursor (printed with the page before; --json: nextCursor)")
	return cmd
}

func auditRun(ctx context.Context, opts *Options) error {
	params := api.AuditListParams{Session: opts.Session, Decision: opts.Decision, Tool: opts.Tool, Since: opts.Since, Limit: opts.Limit, After: opts.After}
	raw, err := opts.Call(ctx, "audit.list", params)
	if err != nil {
		return err
	}
	if opts.Print != nil {
		return opts.Print(raw)
	}
	var res api.AuditListResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("audit.list answer: %w", err)
	}
	if !opts.IO.IsStdoutTTY() {
		err = writeRows(opts.IO.Out, res.Records)
	} else {
		err = renderAudit(opts.IO.Out, res.Records)
	}
	if err != nil || res.NextCursor == "" || len(opts.Again) == 0 {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.ErrOut, "more: "+strings.Join(opts.Again, " ")+" --after "+cmdutil.ShellQuote(res.NextCursor))
	return err
}

// renderAudit prints the table of a terminal: aligned, with a header,
// sessions and reasons cut short.
func renderAudit(w io.Writer, recs []api.AuditRecord) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSESSION\tEVENT\tTOOL\tDECISION\tRULES\tLATENCY\tREASON")
	for _, r := range recs {
		sess := r.SessionID
		if len(sess) > 12 {
			sess = sess[:12]
		}
		reason := r.Reason
		if len(reason) > 60 {
			reason = reason[:59] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%dµs\t%s\n", r.Time.Local().Format("01-02 15:04:05"), sess,
			strings.TrimPrefix(r.Event, "hook."), r.Tool, r.Decision, strings.Join(r.RuleIDs, ","), r.LatencyMicros, reason)
	}
	return tw.Flush()
}

// writeRows prints the records for a program: whole values, tab-separated.
func writeRows(w io.Writer, recs []api.AuditRecord) error {
	rows := make([][]string, len(recs))
	for i, r := range recs {
		rows[i] = []string{r.Time.UTC().Format(time.RFC3339Nano), r.SessionID, r.Event, r.Tool, r.Decision,
			strings.Join(r.RuleIDs, ","), strconv.FormatInt(r.LatencyMicros, 10), r.Reason}
	}
	return cmdutil.WriteTSV(w, rows)
}
