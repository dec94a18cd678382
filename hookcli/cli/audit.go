package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type auditRecord struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	SessionID     string    `json:"sessionId"`
	Event         string    `json:"event"`
	Tool          string    `json:"tool"`
	Decision      string    `json:"decision"`
	RuleIDs       []string  `json:"ruleIds"`
	Reason        string    `json:"reason"`
	LatencyMicros int64     `json:"latencyMicros"`
}

func (a *app) auditCmd() *cobra.Command {
	var session, decision, tool, since string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--session S] [--decision deny] [--tool T] [--since 1h] [--limit N]",
		Short: "Recorded hook decisions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := map[string]any{"limit": limit}
			for k, v := range map[string]string{"session": session, "decision": decision, "tool": tool, "since": since} {
				if v != "" {
					params[k] = v
				}
			}
			raw, err := a.call(cmd.Context(), "audit.list", params)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, json.RawMessage(raw))
			}
			var res struct{ Records []auditRecord }
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("audit.list answer: %w", err)
			}
			renderAudit(a.stdout, res.Records)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&session, "session", "", "only this Claude Code session")
	f.StringVar(&decision, "decision", "", "only this decision: allow, deny, ask, modify, context, none")
	f.StringVar(&tool, "tool", "", "only this tool")
	f.StringVar(&since, "since", "", "only after: a duration (1h) or an RFC 3339 time")
	f.IntVar(&limit, "limit", 100, "at most this many")
	return cmd
}

func renderAudit(w io.Writer, recs []auditRecord) {
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
	tw.Flush()
}
