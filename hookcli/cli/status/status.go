// Package status is `cb status`: instances, queue depth, tasks by status,
// Redis and store health, from system.health and system.metrics.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// statusJSON is what cb status --json prints: both answers as received.
type statusJSON struct {
	Health  json.RawMessage `json:"health"`
	Metrics json.RawMessage `json:"metrics"`
}

// Options are cb status's inputs.
type Options struct {
	cmdutil.CallOptions
	Now func() time.Time
}

// NewCmdStatus is `cb status`; runF replaces statusRun in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{CallOptions: cmdutil.NewCallOptions(f), Now: time.Now}
	return cmdutil.WithRun(f, &cobra.Command{
		Use:   "status",
		Short: "Show instances, queue depth, tasks by status, Redis and store health",
		Args:  cobra.NoArgs,
	}, opts, nil, runF, statusRun)
}

func statusRun(ctx context.Context, opts *Options) error {
	c, err := opts.Caller()
	if err != nil {
		return err
	}
	raw, err := fetchStatus(ctx, c)
	if err != nil {
		return err
	}
	if opts.Print != nil {
		return opts.Print(raw)
	}
	var h api.HealthResult
	var m api.MetricsResult
	if err := cmdutil.DecodeResult("system.health", raw.Health, &h); err != nil {
		return err
	}
	if err := cmdutil.DecodeResult("system.metrics", raw.Metrics, &m); err != nil {
		return err
	}
	return renderStatus(opts.IO.Out, h, m, opts.Now(), opts.IO.ColorScheme())
}

// fetchStatus asks for health and metrics at the same time.
func fetchStatus(ctx context.Context, c cmdutil.Caller) (statusJSON, error) {
	var out statusJSON
	var herr, merr error
	var wg sync.WaitGroup
	wg.Go(func() { out.Health, herr = c.Call(ctx, "system.health", nil) })
	wg.Go(func() { out.Metrics, merr = c.Call(ctx, "system.metrics", nil) })
	wg.Wait()
	if herr != nil {
		return out, herr
	}
	return out, merr
}

// statusOrder lists the task statuses first in their lifecycle order.
var statusOrder = []string{"pending", "in_progress", "completed", "failed"}

// renderStatus prints the overview: overall health, Redis, store, queue,
// tasks by status, events, then one line per instance with its heartbeat age
// (ageMs from cbd, else measured from lastSeen at now).
func renderStatus(w io.Writer, h api.HealthResult, m api.MetricsResult, now time.Time, p iostreams.ColorScheme) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	withDetail := func(status, detail string) string {
		if detail == "" {
			return p.Health(cmdutil.OrDash(status))
		}
		return p.Health(cmdutil.OrDash(status)) + " (" + detail + ")"
	}
	fmt.Fprintf(tw, "status\t%s\n", p.Health(cmdutil.OrDash(h.Status)))
	fmt.Fprintf(tw, "redis\t%s\n", withDetail(h.Redis.Status, h.Redis.Mode))
	fmt.Fprintf(tw, "store\t%s\n", withDetail(h.Store.Status, h.Store.Kind))
	fmt.Fprintf(tw, "queue\t%d queued\n", m.QueueDepth)
	fmt.Fprintf(tw, "tasks\t%s\n", formatCounts(m.TasksByStatus, p))
	var errs, limited, open, timeouts int64
	for _, row := range m.Handlers {
		errs += row.Errors
		limited += row.RateLimited
		open += row.CircuitOpen
		timeouts += row.Timeouts
	}
	fmt.Fprintf(tw, "events\t%d processed, %d errors\n", m.EventsProcessed, errs)
	fmt.Fprintf(tw, "rejected\t%d rate limited, %d circuit open, %d timeouts\n", limited, open, timeouts)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(h.Instances) == 0 {
		_, err := fmt.Fprintln(w, "no instances registered")
		return err
	}
	insts := append([]api.Instance(nil), h.Instances...)
	sort.SliceStable(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INSTANCE\t%s\tHEARTBEAT\tROLES\n", p.Header("HEALTH"))
	for _, in := range insts {
		age := now.Sub(in.LastSeen.Time)
		if in.AgeMs > 0 {
			age = time.Duration(in.AgeMs) * time.Millisecond
		}
		roles := strings.Join(in.Roles, ",")
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\n", cmdutil.OneLine(in.ID), p.Health(cmdutil.OrDash(in.Health)), cmdutil.HumanAge(age), cmdutil.OrDash(cmdutil.OneLine(roles)))
	}
	return tw.Flush()
}

// formatCounts prints counts as "pending 3, in_progress 1, ...": known
// statuses in lifecycle order, then any others by name.
func formatCounts(counts map[string]int, p iostreams.ColorScheme) string {
	if len(counts) == 0 {
		return "-"
	}
	var parts []string
	seen := map[string]bool{}
	for _, s := range statusOrder {
		if n, ok := counts[s]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", p.Status(s), n))
			seen[s] = true
		}
	}
	var rest []string
	for s := range counts {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	for _, s := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", p.Status(s), counts[s]))
	}
	return strings.Join(parts, ", ")
}
