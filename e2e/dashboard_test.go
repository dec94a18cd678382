package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/claudebench/cb/internal/browsertest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	goredis "github.com/redis/go-redis/v9"
)

// TestDashboard drives the dashboard cbd serves at "/" in a real headless
// Chromium: it logs in through `cb dashboard`'s one-time link (the page
// holds no token, the session cookie is HttpOnly), the page loads without
// console errors, a task created from its
// form reaches the store, a task created by the CLI appears without a
// reload, and the card actions (claim, priority, complete, fail) work. It
// leaves a screenshot in e2e/artifacts/.
func TestDashboard(t *testing.T) {
	browser := browsertest.Chromium(t)
	r := testenv.NewRedis(t)

	addr := testenv.FreeAddr(t)
	const token = "e2e-dashboard-token-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HTTP_ADDR="+addr, "CB_HTTP_TOKEN_FILE="+tokenFile)
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=cbd-dashboard"})
	base := "http://" + addr + "/"
	dashWaitServed(t, base, token)

	// cb dashboard mints the one-time login link with the token.
	res := testenv.RunCB(t, bin, h, []string{"BROWSER=", "DISPLAY=", "WAYLAND_DISPLAY="}, nil, "dashboard", "--json")
	var login struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &login); res.Code != 0 || err != nil || !strings.HasPrefix(login.URL, base+"?login=") {
		t.Fatalf("cb dashboard --json: exit %d, %q %q (%v)", res.Code, res.Stdout, res.Stderr, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := browsertest.Start(t, ctx, browser)
	page := b.Ctx

	defer b.ScreenshotIfFailed(t, "dashboard-failed.png")

	// cb dashboard hands the browser a private file that redirects to the
	// login link (the code never shows on a command line); from a file,
	// the browser withholds the SameSite=Strict cookie on the way in, and
	// the login page loads the dashboard again from its own origin.
	opened := filepath.Join(t.TempDir(), "opened")
	opener := filepath.Join(t.TempDir(), "browser")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := testenv.RunCB(t, bin, h, []string{"BROWSER=" + opener}, nil, "dashboard"); res.Code != 0 {
		t.Fatalf("cb dashboard: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	target, err := os.ReadFile(opened)
	if err != nil || !strings.HasPrefix(string(target), "file://") || strings.Contains(string(target), "login=") {
		t.Fatalf("cb dashboard opened %q (%v), want a file:// page without the code", target, err)
	}
	// The page loads and its WebSocket subscribes.
	browsertest.Step(t, page, "open the dashboard from cb dashboard's page and go live", 60*time.Second,
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(string(target)),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-state="live"]`)),
	)
	// The login code is gone from the address bar, and neither the page nor
	// script can read a credential.
	if got, err := chromedp.Run(page, chromedp.Evaluate[string](`location.href`)); err != nil || got != base {
		t.Fatalf("after the login the page is at %q (%v), want %q", got, err, base)
	}
	if html, err := chromedp.Run(page, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err != nil ||
		strings.Contains(html, token) || strings.Contains(html, "cb-token") {
		t.Fatalf("the page holds the API token (%v)", err)
	}
	if c, err := chromedp.Run(page, chromedp.Evaluate[string](`document.cookie`)); err != nil || c != "" {
		t.Fatalf("script can read cookies %q (%v): the session cookie must be HttpOnly", c, err)
	}

	// A task created from the form reaches the store.
	const fromPage = "from the page: check the dashboard"
	browsertest.Step(t, page, "create a task from the form", 30*time.Second,
		chromedp.SendKeys(chromedp.ID("task-text"), fromPage),
		chromedp.SetValue(chromedp.ID("task-priority"), "77"),
		chromedp.Click(chromedp.ID("task-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="column-pending"] [data-testid="task-card"][data-priority="77"]`)),
	)
	pageTask := dashWaitTask(t, h, 20*time.Second, func(tk dashTask) bool { return tk.Text == fromPage })
	if pageTask.Priority != 77 || pageTask.Status != "pending" {
		t.Fatalf("task created from the page: %+v", pageTask)
	}

	// A task created by the CLI appears on the page without a reload.
	res = testenv.RunCB(t, bin, h, nil, nil, "call", "task.create", `{"text":"from cli"}`)
	if res.Code != 0 {
		t.Fatalf("cb call task.create: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	var cliTask dashTask
	if err := json.Unmarshal([]byte(res.Stdout), &cliTask); err != nil || cliTask.ID == "" {
		t.Fatalf("cb call task.create printed %q: %v", res.Stdout, err)
	}
	card := func(id string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`[data-testid="task-card"][data-task-id=%q]`, id))
	}
	inColumn := func(status, id string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`[data-testid="column-%s"] [data-testid="task-card"][data-task-id=%q]`, status, id))
	}
	browsertest.Step(t, page, "see the CLI's task appear", 20*time.Second,
		chromedp.WaitVisible(inColumn("pending", cliTask.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="task.created"]`)),
	)
	if text, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(string(card(cliTask.ID))+` [data-testid="task-text-view"]`))); err != nil || text != "from cli" {
		t.Fatalf("card of %s shows %q (%v)", cliTask.ID, text, err)
	}

	// Claim takes the head of the queue (the page's task, priority 77) for
	// worker "dashboard"; Complete finishes it.
	browsertest.Step(t, page, "claim and complete the head of the queue", 30*time.Second,
		chromedp.Click(chromedp.CSS(string(inColumn("pending", pageTask.ID))+` [data-action="claim"]`)),
		chromedp.WaitVisible(inColumn("in_progress", pageTask.ID)),
		chromedp.Click(chromedp.CSS(string(inColumn("in_progress", pageTask.ID))+` [data-action="complete"]`)),
		chromedp.WaitVisible(inColumn("completed", pageTask.ID)),
	)
	if tk := dashGetTask(t, h, pageTask.ID); tk.Status != "completed" || tk.AssignedTo != "dashboard" {
		t.Fatalf("after claim and complete: %+v", tk)
	}

	// The priority buttons re-score a pending task.
	browsertest.Step(t, page, "raise a priority", 20*time.Second,
		chromedp.Click(chromedp.CSS(string(inColumn("pending", cliTask.ID))+` [data-action="prio-up"]`)),
		chromedp.WaitVisible(chromedp.CSS(string(inColumn("pending", cliTask.ID))+`[data-priority="51"]`)),
	)
	if tk := dashGetTask(t, h, cliTask.ID); tk.Priority != 51 {
		t.Fatalf("after +1: %+v", tk)
	}

	// Fail asks for the reason in the card.
	const reason = "failed from the dashboard test"
	browsertest.Step(t, page, "claim and fail a task", 30*time.Second,
		chromedp.Click(chromedp.CSS(string(inColumn("pending", cliTask.ID))+` [data-action="claim"]`)),
		chromedp.WaitVisible(inColumn("in_progress", cliTask.ID)),
		chromedp.Click(chromedp.CSS(string(inColumn("in_progress", cliTask.ID))+` [data-action="fail"]`)),
		chromedp.SendKeys(chromedp.CSS(string(card(cliTask.ID))+` [data-testid="task-fail-reason"]`), reason),
		chromedp.Click(chromedp.CSS(string(card(cliTask.ID))+` [data-testid="task-fail-confirm"]`)),
		chromedp.WaitVisible(inColumn("failed", cliTask.ID)),
	)
	if tk := dashGetTask(t, h, cliTask.ID); tk.Status != "failed" || tk.Error != reason {
		t.Fatalf("after fail: %+v", tk)
	}

	// Hook traffic, for the event stream and the decisions panel.
	for _, in := range []string{
		`{"session_id":"e2e-s1","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls; rm -rf /"}}`,
		`{"session_id":"e2e-s1","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"go test ./..."}}`,
		`{"session_id":"e2e-s2","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Read","tool_input":{"file_path":"/tmp/README.md"}}`,
	} {
		testenv.RunCB(t, bin, h, nil, []byte(in), "hook", "pre_tool")
	}
	browsertest.Step(t, page, "see the hook events in the stream", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="hook.pre_tool"][data-session="e2e-s2"]`)),
	)
	// Events beyond the first ten, and one this cb does not know, each
	// with a line that says what it is about.
	newer := []struct{ hook, in, summary string }{
		{"task_created", `{"session_id":"e2e-s3","hook_event_name":"TaskCreated","task_id":"7","task_subject":"Check the events"}`, `created #7 “Check the events”`},
		{"permission_request", `{"session_id":"e2e-s3","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"touch x"}}`, "asks: Bash: touch x"},
		{"pre_model_switch", `{"session_id":"e2e-s3","hook_event_name":"PreModelSwitch","from_model":"claude-a","to_model":"claude-b","source":"command"}`, "claude-a → claude-b (command)"},
		{"brand_new_event", `{"session_id":"e2e-s3","hook_event_name":"BrandNewEvent","novelty":"yes"}`, "novelty: yes"},
	}
	for _, n := range newer {
		if r := testenv.RunCB(t, bin, h, nil, []byte(n.in), "hook", n.hook); r.Code != 0 {
			t.Fatalf("cb hook %s: exit %d %s", n.hook, r.Code, r.Stderr)
		}
	}
	for _, n := range newer {
		typ := "hook." + n.hook
		if n.hook == "brand_new_event" {
			typ = "hook.other"
		}
		row := `[data-testid="event-row"][data-type="` + typ + `"][data-session="e2e-s3"]`
		browsertest.Step(t, page, "see "+typ+" in the stream", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(row)))
		summary, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(row+` .ev-summary`)))
		if err != nil {
			t.Fatal(err)
		}
		if summary != n.summary {
			t.Errorf("%s row says %q, want %q", typ, summary, n.summary)
		}
	}
	// Entry ids are per stream: two events written in the same millisecond
	// to two streams can carry the same id, and the page must show both.
	same := strconv.FormatInt(time.Now().UnixMilli(), 10) + "-7"
	rdb := goredis.NewClient(&goredis.Options{Network: "unix", Addr: r.Socket})
	defer rdb.Close()
	for _, typ := range []string{"demo.first", "demo.second"} {
		env := `{"type":"` + typ + `","payload":{"n":1},"metadata":{"id":"e-` + typ + `","timestamp":1,"source":"e2e"}}`
		// A writer of a new stream adds its type to the index of streams.
		if err := rdb.SAdd(t.Context(), protocol.StreamsKey, typ).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.XAdd(t.Context(), &goredis.XAddArgs{Stream: protocol.StreamKey(typ), ID: same,
			Values: []any{protocol.StreamField, env}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	browsertest.Step(t, page, "see two events of two streams that share an entry id", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="demo.first"][data-entry-id="`+same+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="demo.second"][data-entry-id="`+same+`"]`)),
	)

	// The panels fed by polling: system.health, system.metrics, audit.list
	// (or, without it, the hook.pre_tool events).
	browsertest.Step(t, page, "see this cbd in Instances (system.health)", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="instance-row"][data-instance-id="cbd-dashboard"]`)))
	browsertest.Step(t, page, "see per-method rows in Handlers (system.metrics)", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="metric-row"][data-method="task.create"]`)))
	browsertest.Step(t, page, "see Bash in Hook decisions", 30*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="decision-row"][data-tool="Bash"]`)),
		chromedp.Sleep(3*time.Second), // another metrics sample for the sparklines
	)

	// The stream's filters: by type pattern, then by session.
	browsertest.Step(t, page, "filter the event stream", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("event-filter"), "hook.*"),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="event-row"][data-type="task.created"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="hook.pre_tool"][data-session="e2e-s1"]`)),
		dashSetField("event-session", "e2e-s2", "change"),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="event-row"][data-session="e2e-s1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="hook.pre_tool"][data-session="e2e-s2"]`)),
		dashSetField("event-session", "", "change"),
		dashSetField("event-filter", "", "input"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-row"][data-type="task.created"]`)),
	)

	// A few more tasks, so that the screenshot shows a working board.
	for _, p := range []string{`{"text":"Write the release notes","priority":80}`, `{"text":"Profile hook latency under load","priority":60}`,
		`{"text":"Document the fail modes"}`, `{"text":"Tidy the README tables","priority":20}`} {
		testenv.RunCB(t, bin, h, nil, nil, "call", "task.create", p)
	}
	testenv.RunCB(t, bin, h, nil, nil, "call", "task.claim", `{"workerId":"worker-1"}`)
	browsertest.Step(t, page, "see the board fill", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="column-pending"] [data-testid="task-card"]:nth-child(3)`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="column-in_progress"] [data-testid="task-card"]`)),
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
	)

	if p := b.Screenshot(t, "dashboard.png"); p != "" {
		t.Logf("dashboard screenshot: %s", p)
	}
	if _, err := chromedp.Call(page, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err == nil {
		if p := b.Screenshot(t, "dashboard-dark.png"); p != "" {
			t.Logf("dark mode screenshot: %s", p)
		}
	}

	if errs := b.Problems(); len(errs) > 0 {
		t.Fatalf("the page logged %d console errors or uncaught exceptions:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// TestDashboardQueueHead checks the Pending column against a queue longer
// than a page: it shows the real head of the queue (the task task.claim
// takes: highest priority, then oldest), the Claim button is on that card
// and claims exactly it, "Load more" reads the next page in queue order,
// counts come from the store, and a task arriving live beyond the loaded
// cards only changes the count.
func TestDashboardQueueHead(t *testing.T) {
	browser := browsertest.Chromium(t)
	r := testenv.NewRedis(t)
	addr := testenv.FreeAddr(t)
	const token = "e2e-dashboard-queue-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HTTP_ADDR="+addr, "CB_HTTP_TOKEN_FILE="+tokenFile, "CB_HANDLERS_RATE_LIMIT=0")
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=cbd-dashboard-queue"})
	base := "http://" + addr + "/"
	dashWaitServed(t, base, token)

	// 400 tasks of one priority, before the page opens: the head is the
	// oldest. A page that lists the newest 300 and sorts them itself shows
	// the 101st oldest there instead.
	const n = 400
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, `{"text":"queued %03d","priority":50}`+"\n", i)
	}
	if res := testenv.RunCB(t, bin, h, nil, []byte(lines.String()), "emit", "task.create", "-"); res.Code != 0 {
		t.Fatalf("cb emit task.create -: exit %d %s", res.Code, res.Stderr)
	}
	var queue []dashTask // oldest (lowest id) first: the queue's order at one priority
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := testenv.RunCB(t, bin, h, nil, nil, "call", "task.list", `{"status":"pending","orderBy":"id","order":"asc","limit":1000}`)
		var list struct{ Tasks []dashTask }
		if res.Code == 0 && json.Unmarshal([]byte(res.Stdout), &list) == nil && len(list.Tasks) == n {
			queue = list.Tasks
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks in the store after 30s: %s", len(list.Tasks), n, res.Stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	res := testenv.RunCB(t, bin, h, []string{"BROWSER=", "DISPLAY=", "WAYLAND_DISPLAY="}, nil, "dashboard", "--json")
	var login struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &login); res.Code != 0 || err != nil {
		t.Fatalf("cb dashboard --json: exit %d, %q %q (%v)", res.Code, res.Stdout, res.Stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := browsertest.Start(t, ctx, browser)
	page := b.Ctx
	defer b.ScreenshotIfFailed(t, "dashboard-queue-failed.png")

	pendingCards := `[data-testid="cards-pending"] [data-testid="task-card"]`
	// pendingIDs are the ids of the Pending column's cards, top down.
	pendingIDs := func() []string {
		t.Helper()
		ids, err := chromedp.Run(page, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+pendingCards+`')].map((c) => c.dataset.taskId)`))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	idsOf := func(ts []dashTask) []string {
		out := make([]string, len(ts))
		for i, tk := range ts {
			out[i] = tk.ID
		}
		return out
	}
	sameIDs := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: %d cards %v…, want %d %v…", what, len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
		}
	}

	browsertest.Step(t, page, "open the dashboard with 400 tasks queued", 60*time.Second,
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(login.URL),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(pendingCards)),
	)
	// The first page of the queue, in claim order; the count is the store's.
	sameIDs("first page", pendingIDs(), idsOf(queue[:100]))
	if c := text(`[data-testid="count-pending"]`); c != "400" {
		t.Errorf("pending count %q, want 400", c)
	}
	claimable, err := chromedp.Run(page, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+pendingCards+`')].filter((c) => !c.querySelector('[data-action="claim"]').hidden).map((c) => c.dataset.taskId)`))
	if err != nil || len(claimable) != 1 || claimable[0] != queue[0].ID {
		t.Fatalf("Claim buttons on %v (%v), want on %s only", claimable, err, queue[0].ID)
	}

	// Claim takes exactly the card's task.
	head := fmt.Sprintf(`[data-testid="column-pending"] [data-testid="task-card"][data-task-id=%q]`, queue[0].ID)
	browsertest.Step(t, page, "claim the head of the queue", 30*time.Second,
		chromedp.Click(chromedp.CSS(head+` [data-action="claim"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="column-in_progress"] [data-task-id=%q]`, queue[0].ID))),
	)
	if tk := dashGetTask(t, h, queue[0].ID); tk.Status != "in_progress" || tk.AssignedTo != "dashboard" {
		t.Fatalf("the head after Claim: %+v", tk)
	}
	if tk := dashGetTask(t, h, queue[100].ID); tk.Status != "pending" {
		t.Fatalf("a task past the page after Claim: %+v", tk)
	}

	// Load more: the next page, by cursor, in queue order.
	browsertest.Step(t, page, "load more pending", 30*time.Second,
		chromedp.Click(chromedp.CSS(`[data-testid="load-more-pending"]`)),
		chromedp.WaitVisible(chromedp.CSS(pendingCards+`:nth-child(150)`)),
	)
	sameIDs("after Load more", pendingIDs(), idsOf(queue[1:200]))
	if c := text(`[data-testid="count-pending"]`); c != "399" {
		t.Errorf("pending count after a claim %q, want 399", c)
	}

	// A task that sorts past the loaded cards only counts; one that sorts
	// first shows first.
	late := testenv.RunCB(t, bin, h, nil, nil, "call", "task.create", `{"text":"at the back","priority":50}`)
	urgent := testenv.RunCB(t, bin, h, nil, nil, "call", "task.create", `{"text":"urgent","priority":90}`)
	var lateTask, urgentTask dashTask
	if json.Unmarshal([]byte(late.Stdout), &lateTask) != nil || json.Unmarshal([]byte(urgent.Stdout), &urgentTask) != nil {
		t.Fatalf("task.create printed %q and %q", late.Stdout, urgent.Stdout)
	}
	browsertest.Step(t, page, "see the urgent task at the head", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(pendingCards+`:first-child[data-task-id=%q]`, urgentTask.ID))),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid="count-pending"]').textContent === '401'`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	sameIDs("after two live tasks", pendingIDs(), append([]string{urgentTask.ID}, idsOf(queue[1:200])...))
	b.Screenshot(t, "dashboard-queue.png")

	if errs := b.Problems(); len(errs) > 0 {
		t.Fatalf("the page logged %d console errors or uncaught exceptions:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// TestDashboardAttachments: a task card shows its attachments (issue 17):
// a count badge, read lazily; opening it lists each attachment with its
// key, type and author, the value by type: a note as text (markup in it
// stays text and runs nothing), a file list, http(s) links that open
// without access to the page (a file: URL stays text), JSON pretty. A
// task.attached event updates an open card live, and completing the task
// adds its result; a task without attachments has no badge. The page
// reads a card's attachments once when it comes into view and when it is
// opened, not when the board renders again.
func TestDashboardAttachments(t *testing.T) {
	browser := browsertest.Chromium(t)
	r := testenv.NewRedis(t)
	addr := testenv.FreeAddr(t)
	const token = "e2e-dashboard-attach-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := testenv.NewHome(t, "CB_REDIS_URL="+r.URL(), "CB_HTTP_ADDR="+addr, "CB_HTTP_TOKEN_FILE="+tokenFile)
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=cbd-dashboard-attach"})
	dashWaitServed(t, "http://"+addr+"/", token)

	call := func(method string, params any) string {
		t.Helper()
		raw, _ := json.Marshal(params)
		res := testenv.RunCB(t, bin, h, nil, nil, "call", method, string(raw))
		if res.Code != 0 {
			t.Fatalf("cb call %s %s: exit %d %s%s", method, raw, res.Code, res.Stdout, res.Stderr)
		}
		return res.Stdout
	}
	var withCtx, bare dashTask
	_ = json.Unmarshal([]byte(call("task.create", map[string]any{"text": "task with context", "priority": 90})), &withCtx)
	_ = json.Unmarshal([]byte(call("task.create", map[string]any{"text": "task without context", "priority": 10})), &bare)
	if withCtx.ID == "" || bare.ID == "" {
		t.Fatal("task.create answered no id")
	}
	const note = "Start with parse.go.\n<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> & <b>not bold</b>"
	call("task.attach", map[string]any{"taskId": withCtx.ID, "key": "handover", "type": "note", "value": note, "createdBy": "session:alice"})
	call("task.attach", map[string]any{"taskId": withCtx.ID, "key": "touched", "type": "files", "value": []string{"parse.go", "lex/<b>lex</b>.go"}})
	call("task.attach", map[string]any{"taskId": withCtx.ID, "key": "refs", "type": "links",
		"value": []string{"https://example.com/issue/7?a=1&b=2", "file:///etc/hostname"}, "createdBy": "w2"})

	res := testenv.RunCB(t, bin, h, []string{"BROWSER=", "DISPLAY=", "WAYLAND_DISPLAY="}, nil, "dashboard", "--json")
	var login struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &login); res.Code != 0 || err != nil {
		t.Fatalf("cb dashboard --json: exit %d, %q %q (%v)", res.Code, res.Stdout, res.Stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := browsertest.Start(t, ctx, browser)
	page := b.Ctx
	defer b.ScreenshotIfFailed(t, "dashboard-attachments-failed.png")
	card := fmt.Sprintf(`[data-testid="task-card"][data-task-id=%q]`, withCtx.ID)
	bareCard := fmt.Sprintf(`[data-testid="task-card"][data-task-id=%q]`, bare.ID)
	badge := card + ` [data-testid="task-attachments-toggle"]`
	item := func(key string) string { return card + ` [data-testid="attachment"][data-key="` + key + `"]` }
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(page, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}

	// Count the page's task.attachments calls (batches count each call).
	const countCalls = `(() => {
		window.__attCalls = 0;
		const f = window.fetch;
		window.fetch = function (url, init) {
			try {
				const body = JSON.parse(init && init.body);
				for (const r of Array.isArray(body) ? body : [body]) if (r && r.method === 'task.attachments') window.__attCalls++;
			} catch (_) {}
			return f.apply(this, arguments);
		};
	})()`
	if _, err := chromedp.Call(page, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: countCalls}); err != nil {
		t.Fatal(err)
	}
	calls := func(when string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for eval(`String(window.__attCalls)`) != strconv.Itoa(want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // and no more
		if got := eval(`String(window.__attCalls)`); got != strconv.Itoa(want) {
			t.Errorf("%s: the page made %s task.attachments calls, want %d", when, got, want)
		}
	}

	browsertest.Step(t, page, "open the dashboard and see the badge", 60*time.Second,
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(login.URL),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(bareCard)),
		chromedp.WaitVisible(chromedp.CSS(badge+`[data-count="3"]`)),
	)
	if got := eval(`document.querySelector('` + badge + ` [data-testid="task-attachment-count"]').textContent`); got != "3" {
		t.Errorf("badge count %q, want 3", got)
	}
	// The bare card's count was read too (it is in view): no badge.
	browsertest.Step(t, page, "see no badge on a task without attachments", 10*time.Second,
		chromedp.Poll[chromedp.Void](`document.querySelector('`+bareCard+` [data-testid="task-attachments-toggle"]').dataset.count === '0'`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitNotVisible(chromedp.CSS(bareCard+` [data-testid="task-attachments-toggle"]`)),
	)

	calls("after loading two cards", 2)

	browsertest.Step(t, page, "open the card's attachments", 20*time.Second,
		chromedp.Click(chromedp.CSS(badge)),
		chromedp.WaitVisible(chromedp.CSS(item("handover"))),
		chromedp.WaitVisible(chromedp.CSS(item("refs"))),
	)
	// Oldest first, each with its key, type and author.
	if got := eval(`[...document.querySelectorAll('` + card + ` [data-testid="attachment"]')].map((li) => li.dataset.type + ':' + li.dataset.key).join(' ')`); got != "note:handover files:touched links:refs" {
		t.Errorf("attachments listed %q", got)
	}
	if got := eval(`document.querySelector('` + item("handover") + ` .att-head').textContent`); !strings.Contains(got, "handover") || !strings.Contains(got, "note") || !strings.Contains(got, "session:alice") {
		t.Errorf("the note's head says %q", got)
	}
	// The note is text: its markup shows as written and runs nothing.
	if got := eval(`document.querySelector('` + item("handover") + ` [data-testid="attachment-note"]').textContent`); got != note {
		t.Errorf("the note shows %q, want %q", got, note)
	}
	if got := eval(`String(document.querySelectorAll('[data-testid="task-attachments"] script, [data-testid="task-attachments"] img, [data-testid="task-attachments"] b').length) + ' ' + String(window.__pwned)`); got != "0 undefined" {
		t.Errorf("elements from attachment values, and window.__pwned: %q", got)
	}
	if got := eval(`[...document.querySelectorAll('` + item("touched") + ` [data-testid="attachment-files"] li')].map((li) => li.textContent).join('|')`); got != "parse.go|lex/<b>lex</b>.go" {
		t.Errorf("the file list shows %q", got)
	}
	// Links: the https one is a link opening in a new tab without access
	// to this page; the file: one stays text.
	links := eval(`JSON.stringify([...document.querySelectorAll('` + item("refs") + ` [data-testid="attachment-links"] li')].map((li) => {
		const a = li.querySelector('a');
		return a ? [a.getAttribute('href'), a.rel, a.target, a.textContent] : ['text', li.textContent];
	}))`)
	if want := `[["https://example.com/issue/7?a=1&b=2","noopener noreferrer","_blank","https://example.com/issue/7?a=1&b=2"],["text","file:///etc/hostname"]]`; links != want {
		t.Errorf("links %s, want %s", links, want)
	}

	// Live: an attachment added while the card is open shows at once, and
	// the badge counts it.
	call("task.attach", map[string]any{"taskId": withCtx.ID, "key": "estimate", "type": "json", "value": map[string]any{"hours": 3, "risk": "low"}})
	browsertest.Step(t, page, "see a new attachment live", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(item("estimate"))),
		chromedp.WaitVisible(chromedp.CSS(badge+`[data-count="4"]`)),
	)
	if got := eval(`document.querySelector('` + item("estimate") + ` [data-testid="attachment-json"]').textContent`); got != "{\n  \"hours\": 3,\n  \"risk\": \"low\"\n}" {
		t.Errorf("the json value shows %q", got)
	}
	calls("after opening a card and an attachment event", 3)

	// Completing the task keeps its result as an attachment, announced by
	// task.attached: the open card shows it without reading the list again.
	call("task.claim", map[string]any{"workerId": "w-e2e"})
	call("task.complete", map[string]any{"id": withCtx.ID, "workerId": "w-e2e", "result": map[string]any{"pr": 42}})
	browsertest.Step(t, page, "see the result attachment", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="column-completed"] `+item("result"))),
		chromedp.WaitVisible(chromedp.CSS(badge+`[data-count="5"]`)),
	)
	// A new card is read once; the cards already read are not read again.
	var third dashTask
	_ = json.Unmarshal([]byte(call("task.create", map[string]any{"text": "a third task"})), &third)
	browsertest.Step(t, page, "see a new card", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="task-card"][data-task-id=%q]`, third.ID))))
	calls("after a completion and a new card", 4)
	b.Screenshot(t, "dashboard-attachments.png")

	browsertest.Step(t, page, "close the card's attachments", 10*time.Second,
		chromedp.Click(chromedp.CSS(badge)),
		chromedp.WaitNotVisible(chromedp.CSS(card+` [data-testid="task-attachments"]`)),
	)
	if errs := b.Problems(); len(errs) > 0 {
		t.Fatalf("the page logged %d console errors or uncaught exceptions:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// dashWaitServed waits until cbd serves the dashboard's login page at url,
// and checks that without a login it shows no token and no data.
func dashWaitServed(t *testing.T, url, token string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized && strings.Contains(string(body), `data-testid="login-page"`) {
				if strings.Contains(string(body), token) || strings.Contains(string(body), `id="task-form"`) {
					t.Fatalf("GET %s without a login serves the token or the dashboard:\n%s", url, body)
				}
				return
			}
			if strings.Contains(string(body), token) {
				t.Fatalf("GET %s without a login serves the API token: HTTP %d", url, resp.StatusCode)
			}
			last = fmt.Sprintf("HTTP %d: %.300s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("cbd does not serve the dashboard's login page at %s "+
		"(the HTTP server must listen on CB_HTTP_ADDR and mount web.Handler at \"/\"): %s", url, last)
}

// dashSetField sets the value of the form field with the given id and fires
// event, the one the page listens for ("change" on a select, "input" on a
// text field), as a user's edit would.
func dashSetField(id, value, event string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const f = document.getElementById(%q);
		f.value = %q;
		f.dispatchEvent(new Event(%q));
	})()`, id, value, event))
}

// dashGetTask reads a task with cb call task.get.
func dashGetTask(t *testing.T, h *testenv.Home, id string) dashTask {
	t.Helper()
	res := testenv.RunCB(t, bin, h, nil, nil, "call", "task.get", fmt.Sprintf(`{"id":%q}`, id))
	if res.Code != 0 {
		t.Fatalf("cb call task.get %s: exit %d\n%s%s", id, res.Code, res.Stdout, res.Stderr)
	}
	var tk dashTask
	if err := json.Unmarshal([]byte(res.Stdout), &tk); err != nil {
		t.Fatalf("cb call task.get printed %q: %v", res.Stdout, err)
	}
	return tk
}

// dashWaitTask polls `cb call task.list` (the store) until a task matches.
func dashWaitTask(t *testing.T, h *testenv.Home, within time.Duration, match func(dashTask) bool) dashTask {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		res := testenv.RunCB(t, bin, h, nil, nil, "call", "task.list", `{"limit":100}`)
		last = res.Stdout + res.Stderr
		if res.Code == 0 {
			var list struct{ Tasks []dashTask }
			if err := json.Unmarshal([]byte(res.Stdout), &list); err == nil {
				for _, tk := range list.Tasks {
					if match(tk) {
						return tk
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching task in cb call task.list after %v:\n%s", within, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dashTask is what the test reads of a task.
type dashTask struct {
	ID         string `json:"id"`
	Text       string `json:"text"`
	Status     string `json:"status"`
	Priority   int    `json:"priority"`
	AssignedTo string `json:"assignedTo"`
	Error      string `json:"error"`
}
