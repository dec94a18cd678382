package task

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// fakeList is task.list over tasks, as the store answers it for the
// params cb task export sends: status, session and updatedBefore filters,
// updatedAt asc, cursor paging. ignoreCursor makes it a cbd that does not
// page by cursor (every call answers the first page).
func fakeList(t *testing.T, tasks []api.Task, ignoreCursor bool) clitest.Handler {
	return func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var p api.TaskListParams
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		if p.OrderBy != "updatedAt" || p.Order != "asc" || p.Status == "" || p.Limit != exportPage || p.Offset != 0 {
			t.Errorf("task.list %s", raw)
		}
		before, err := time.Parse(time.RFC3339Nano, p.UpdatedBefore)
		if err != nil {
			t.Errorf("updatedBefore %q: %v", p.UpdatedBefore, err)
		}
		var match []api.Task
		for _, task := range tasks { // tasks are in updatedAt order
			if task.Status == p.Status && task.UpdatedAt.Before(before) && (p.Session == "" || strings.Contains(string(task.Metadata), `"`+p.Session+`"`)) {
				match = append(match, task)
			}
		}
		start := 0
		if p.After != "" && !ignoreCursor {
			start, _ = strconv.Atoi(p.After)
		}
		end := min(start+p.Limit, len(match))
		res := api.TaskListResult{Tasks: match[start:end], TotalCount: len(match), HasMore: end < len(match)}
		if res.HasMore {
			res.NextCursor = strconv.Itoa(end)
		}
		return json.Marshal(res)
	}
}

func TestTaskExport(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tasks []api.Task
	statuses := []string{api.StatusCompleted, api.StatusFailed, api.StatusPending, api.StatusInProgress, api.StatusCompleted}
	for i := range 5000 {
		at := api.Time{Time: base.Add(time.Duration(i) * time.Second)}
		tasks = append(tasks, api.Task{ID: fmt.Sprintf("t-%d", 1000+i), Text: "x", Status: statuses[i%len(statuses)], Priority: 50,
			Metadata: json.RawMessage(fmt.Sprintf(`{"sessionId":"s-%d"}`, i%2)), CreatedAt: at, UpdatedAt: at, Version: 3})
	}
	cutoff := base.Add(4500 * time.Second) // tasks 0..4499
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{"task.list": fakeList(t, tasks, false)})

	export := func(args ...string) ([]api.Task, string) {
		t.Helper()
		out, errOut, code := runTask(fake, false, append([]string{"export"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var got []api.Task
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var task api.Task
			if err := json.Unmarshal(sc.Bytes(), &task); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, task)
		}
		return got, errOut
	}
	want := func(keep func(api.Task) bool) []string {
		var ids []string
		for _, task := range tasks {
			if task.UpdatedAt.Before(cutoff) && keep(task) {
				ids = append(ids, task.ID)
			}
		}
		return ids
	}
	ids := func(ts []api.Task) []string {
		out := make([]string, len(ts))
		for i, task := range ts {
			out[i] = task.ID
		}
		return out
	}
	check := func(name string, got []api.Task, want []string) {
		t.Helper()
		if g := ids(got); strings.Join(g, ",") != strings.Join(want, ",") {
			t.Errorf("%s: exported %d tasks, want %d (oldest first)", name, len(g), len(want))
		}
	}

	// Both finished statuses, merged oldest first, across pages (1800
	// completed tasks before the cutoff: two pages; 900 failed).
	got, errOut := export("--before", cutoff.Format(time.RFC3339))
	check("all", got, want(func(task api.Task) bool { return task.Status == api.StatusCompleted || task.Status == api.StatusFailed }))
	if errOut != "exported 2700 tasks last updated before 2026-01-01T01:15:00Z\n" {
		t.Errorf("stderr %q", errOut)
	}
	if len(got) > 0 && (got[0].Version != 3 || string(got[0].Metadata) != `{"sessionId":"s-0"}`) {
		t.Errorf("first task %+v", got[0])
	}
	got, _ = export("--before", cutoff.Format(time.RFC3339), "--status", "failed", "--session", "s-1")
	check("failed s-1", got, want(func(task api.Task) bool {
		return task.Status == api.StatusFailed && strings.Contains(string(task.Metadata), `"s-1"`)
	}))

	// Pending and in-progress tasks are never exported; --before is needed.
	for _, args := range [][]string{{"--before", "1d", "--status", "pending"}, {"--before", "1d", "--status", "in_progress"}, {}, {"--before", "later"}} {
		if out, errOut, code := runTask(fake, false, append([]string{"export"}, args...)...); code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}

	// A cbd that does not page by cursor answers the first page again:
	// an error, not an endless or repeating file.
	old := clitest.NewFakeCaller(map[string]clitest.Handler{"task.list": fakeList(t, tasks, true)})
	out, errOut, code := runTask(old, false, "export", "--before", cutoff.Format(time.RFC3339), "--status", "completed")
	if code == 0 || !strings.Contains(errOut, "cursor") || strings.Count(out, "\n") != exportPage {
		t.Errorf("cursor-less cbd: exit %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errOut)
	}

	// cbd's errors keep their exit codes, as in the rest of cb task.
	refusing := clitest.NewFakeCaller(map[string]clitest.Handler{"task.list": func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, protocol.Errorf(protocol.CodeConflict, "busy")
	}})
	if _, errOut, code := runTask(refusing, false, "export", "--before", "1d"); code != 8 || !strings.Contains(errOut, "busy") {
		t.Errorf("refused task.list: exit %d, stderr %q; want 8", code, errOut)
	}
}
