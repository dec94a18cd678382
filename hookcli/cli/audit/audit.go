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
)

// Options are cb audit's inputs.
type Options struct {
	cmdutil.CallOptions

	Session, Decision, Tool, Since string
	Limit                          int
}

// NewCmdAudit is `cb audit`; runF replaces auditRun in tests.
func NewCmdAudit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{CallOptions: cmdutil.NewCallOptions(f)}
	cmd := &cobra.Command{
		Use:   "audit [--session S] [--decision deny] [--tool T] [--since 1h] [--limit N]",
		Short: "Recorded hook decisions, newest first",
		Long: `Recorded hook decisions, newest first: a table on a terminal, tab-separated
rows without a header otherwise (time, session, event, tool, decision, rules,
latency in µs, reason).`,
		Args: cobra.NoArgs,
	}
	cmdutil.WithRun(f, cmd, opts, nil, runF, auditRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Session, "session", "", "only this Claude Code session")
	fl.StringVar(&opts.Decision, "decision", "", "only this decision: allow, deny, ask, modify, context, none")
	fl.StringVar(&opts.Tool, "tool", "", "only this tool")
	fl.StringVar(&opts.Since, "since", "", "only after: a duration (1h) or an RFC 3339 time")
	fl.IntVar(&opts.Limit, "limit", 100, "at most this many")
	return cmd
}

func auditRun(ctx context.Context, opts *Options) error {
	params := api.AuditListParams{Session: opts.Session, Decision: opts.Decision, Tool: opts.Tool, Since: opts.Since, Limit: opts.Limit}
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
		return writeRows(opts.IO.Out, res.Records)
	}
	return renderAudit(opts.IO.Out, res.Records)
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
