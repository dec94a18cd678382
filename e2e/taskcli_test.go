package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol/api"
)

// TestTaskListAndExportCLI runs cb task list and cb task export against a
// real cbd holding more tasks than a page: cb task list walks the queue by
// --after in claim order and prints the next page's command, --session
// filters, and cb task export writes every finished task (more than its
// 1000-task pages) once, oldest first, and nothing else.
func TestTaskListAndExportCLI(t *testing.T) {
	e := newTaskEnv(t, "CB_HANDLERS_RATE_LIMIT=0")
	const (
		n         = 1300
		failed    = 60
		completed = 1090
		claimed   = 10 // left in progress
		inSession = 7  // of the pending ones, made by session s-e2e
	)
	// Created in bulk (cb emit), then finished over Redis.
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, `{"text":"task %04d","priority":%d}`+"\n", i, 40+i%3*10)
	}
	if res := testenv.RunCB(t, bin, e.h, nil, []byte(lines.String()), "emit", "task.create", "-"); res.Code != 0 {
		t.Fatalf("cb emit task.create -: exit %d %s", res.Code, res.Stderr)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res api.TaskListResult
		e.mustCall(t, "task.list", map[string]any{"status": "pending", "limit": 1}, &res)
		if res.TotalCount == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks pending after 60s", res.TotalCount, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	finished := map[string]string{} // id -> status
	for len(finished) < completed+failed {
		for _, tk := range e.claim(t, "w-e2e", 10) {
			if len(finished) < completed {
				e.mustTask(t, "task.complete", map[string]any{"id": tk.ID, "workerId": "w-e2e"})
				finished[tk.ID] = api.StatusCompleted
			} else {
				e.mustTask(t, "task.fail", map[string]any{"id": tk.ID, "workerId": "w-e2e", "error": "e2e"})
				finished[tk.ID] = api.StatusFailed
			}
		}
	}
	e.claim(t, "w-e2e", claimed)
	var session []string
	for i := range inSession {
		tk := e.mustTask(t, "task.create", map[string]any{"text": fmt.Sprintf("session task %d", i), "metadata": map[string]any{"sessionId": "s-e2e"}})
		session = append(session, tk.ID)
	}
	cutoff := time.Now().UTC().Add(time.Second).Format(time.RFC3339Nano)

	cb := func(args ...string) testenv.Result {
		t.Helper()
		return testenv.RunCB(t, bin, e.h, nil, nil, args...)
	}

	// The queue, in claim order, by cursor: each task once.
	var head api.TaskListResult
	e.mustCall(t, "task.list", map[string]any{"status": "pending", "orderBy": "queue", "limit": 1000}, &head)
	queue := head.Tasks
	pending := n - completed - failed - claimed + inSession
	if len(queue) != pending {
		t.Fatalf("task.list queue: %d tasks, want %d", len(queue), pending)
	}
	for i := 1; i < len(queue); i++ {
		a, b := queue[i-1], queue[i]
		if a.Priority < b.Priority || a.Priority == b.Priority && (len(a.ID) > len(b.ID) || len(a.ID) == len(b.ID) && a.ID > b.ID) {
			t.Fatalf("queue order: %s (%d) before %s (%d)", a.ID, a.Priority, b.ID, b.Priority)
		}
	}
	claimHead := e.claim(t, "w-peek", 1)
	if len(claimHead) != 1 || claimHead[0].ID != queue[0].ID {
		t.Fatalf("task.claim took %v, the queue's head is %s", claimHead, queue[0].ID)
	}
	queue = queue[1:]
	var walked []string
	after := ""
	for pages := 0; ; pages++ {
		args := []string{"task", "list", "--status", "pending", "--order-by", "queue", "--limit", "40", "--json"}
		if after != "" {
			args = append(args, "--after", after)
		}
		res := cb(args...)
		var page api.TaskListResult
		if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &page) != nil {
			t.Fatalf("cb %v: exit %d %q %s", args, res.Code, res.Stdout, res.Stderr)
		}
		if page.TotalCount != len(queue) || page.TotalEstimated {
			t.Fatalf("page %d: totalCount %d (estimated %v), want %d", pages, page.TotalCount, page.TotalEstimated, len(queue))
		}
		for _, tk := range page.Tasks {
			walked = append(walked, tk.ID)
		}
		if !page.HasMore {
			break
		}
		if page.NextCursor == "" || pages > len(queue)/40+1 {
			t.Fatalf("page %d: hasMore without a usable nextCursor %q", pages, page.NextCursor)
		}
		after = page.NextCursor
	}
	var want []string
	for _, tk := range queue {
		want = append(want, tk.ID)
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("cb task list --after walked %d tasks, want the queue's %d in order", len(walked), len(want))
	}

	// Human output: the next page's command on stderr, rows on stdout.
	res := cb("task", "list", "--status", "pending", "--order-by", "queue", "--limit", "3")
	rows := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	hint := strings.TrimSpace(res.Stderr)
	if res.Code != 0 || len(rows) != 3 || !strings.HasPrefix(rows[0], queue[0].ID+"\t") ||
		!strings.HasPrefix(hint, "more: cb task list --status pending --order-by queue --limit 3 --after ") {
		t.Fatalf("cb task list --limit 3: exit %d\n%s\nstderr %q", res.Code, res.Stdout, res.Stderr)
	}
	// The hint's command gives the next rows.
	next := strings.Fields(strings.TrimPrefix(hint, "more: cb "))
	for i, a := range next {
		next[i] = strings.Trim(a, "'")
	}
	res = cb(next...)
	if got := strings.SplitN(strings.TrimSpace(res.Stdout), "\t", 2)[0]; res.Code != 0 || got != queue[3].ID {
		t.Fatalf("cb %v: exit %d, first row %q, want %s (%s)", next, res.Code, got, queue[3].ID, res.Stderr)
	}

	// --session: exact count and only that session's tasks.
	res = cb("task", "list", "--session", "s-e2e", "--order-by", "id", "--order", "asc", "-q")
	if got := strings.Fields(res.Stdout); res.Code != 0 || !slices.Equal(got, session) {
		t.Fatalf("cb task list --session: exit %d, %v, want %v (%s)", res.Code, got, session, res.Stderr)
	}

	// cb task export: every finished task, once, oldest first, as api.Task
	// lines; nothing pending or in progress.
	export := func(args ...string) []api.Task {
		t.Helper()
		res := cb(append([]string{"task", "export", "--before", cutoff}, args...)...)
		if res.Code != 0 {
			t.Fatalf("cb task export %v: exit %d %s", args, res.Code, res.Stderr)
		}
		var out []api.Task
		sc := bufio.NewScanner(strings.NewReader(res.Stdout))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			dec := json.NewDecoder(strings.NewReader(sc.Text()))
			dec.DisallowUnknownFields()
			var tk api.Task
			if err := dec.Decode(&tk); err != nil {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			out = append(out, tk)
		}
		if want := fmt.Sprintf("exported %d tasks", len(out)); !strings.HasPrefix(res.Stderr, want) {
			t.Errorf("export %v stderr %q, want %q…", args, res.Stderr, want)
		}
		return out
	}
	all := export()
	if len(all) != completed+failed {
		t.Fatalf("exported %d tasks, want %d", len(all), completed+failed)
	}
	seen := map[string]bool{}
	for i, tk := range all {
		if seen[tk.ID] || finished[tk.ID] != tk.Status {
			t.Fatalf("exported %s (%s) twice or not finished by the test (%q)", tk.ID, tk.Status, finished[tk.ID])
		}
		seen[tk.ID] = true
		if i > 0 && tk.UpdatedAt.Before(all[i-1].UpdatedAt.Time) {
			t.Fatalf("export not oldest first: %s (%s) after %s (%s)", tk.ID, tk.UpdatedAt, all[i-1].ID, all[i-1].UpdatedAt)
		}
	}
	if got := export("--status", "failed"); len(got) != failed {
		t.Errorf("export --status failed: %d tasks, want %d", len(got), failed)
	}
	if got := export("--before", "2000-01-01T00:00:00Z"); len(got) != 0 {
		t.Errorf("export before 2000: %d tasks", len(got))
	}
	// Nothing was deleted; pending tasks are refused.
	var after1 api.TaskListResult
	e.mustCall(t, "task.list", map[string]any{"status": "completed", "limit": 1}, &after1)
	if after1.TotalCount != completed {
		t.Errorf("after export %d completed tasks, want %d", after1.TotalCount, completed)
	}
	if res := cb("task", "export", "--before", "1d", "--status", "pending"); res.Code != 2 || res.Stdout != "" {
		t.Errorf("export --status pending: exit %d, stdout %q", res.Code, res.Stdout)
	}
}
