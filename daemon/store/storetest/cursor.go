package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
)

// numID returns n of "t-<n>".
func numID(id string) int {
	n, _ := strconv.Atoi(id[2:])
	return n
}

// listFixture writes 40 tasks with many ties on every sort key, two
// assignees, two sessions, every status, and one tombstone; it returns the
// live ones.
func listFixture(t *testing.T, s store.Store) []store.Task {
	t.Helper()
	statuses := []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed}
	var live, all []store.Task
	for i := 1; i <= 40; i++ {
		task := newTask(taskID(i*7%41), 1) // ids out of insertion order, 1..40 and numeric order != text order
		task.Status = statuses[i%4]
		task.Priority = []int{0, 50, 50, 90, 100}[i%5]
		task.CreatedAt = at(i % 6)
		task.UpdatedAt = at(100 + i%9)
		switch i % 3 {
		case 1:
			task.AssignedTo = "w1"
		case 2:
			task.AssignedTo = "w2"
		}
		switch i % 4 {
		case 0:
			task.Metadata = json.RawMessage(`{"sessionId":"s-1"}`)
		case 1:
			task.Metadata = json.RawMessage(`{"sessionId":"s-2","x":1}`)
		}
		if i == 13 {
			task.Deleted = true
		} else {
			live = append(live, task)
		}
		all = append(all, task)
	}
	if err := s.TaskUpsertMany(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	return live
}

// sessionOf returns metadata.sessionId of a task, or "".
func sessionOf(task store.Task) string {
	var m struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.Unmarshal(task.Metadata, &m)
	return m.SessionID
}

// expectList filters and sorts tasks as TaskList must for p (brute force).
func expectList(t *testing.T, tasks []store.Task, p store.TaskListParams) []string {
	t.Helper()
	var before time.Time
	if p.UpdatedBefore != "" {
		var err error
		if before, err = time.Parse(time.RFC3339Nano, p.UpdatedBefore); err != nil {
			t.Fatal(err)
		}
	}
	var out []store.Task
	for _, task := range tasks {
		if (p.Status != "" && task.Status != p.Status) || (p.AssignedTo != "" && task.AssignedTo != p.AssignedTo) ||
			(p.Session != "" && sessionOf(task) != p.Session) || (!before.IsZero() && !task.UpdatedAt.Before(before)) {
			continue
		}
		out = append(out, task)
	}
	desc := p.Order == "desc" || (p.Order == "" && p.OrderBy != "queue")
	if p.OrderBy == "priority" {
		desc = !desc // priority descending is queue ascending: ties oldest first
	}
	key := func(task store.Task) int64 {
		switch p.OrderBy {
		case "", "createdAt", "id": // id order is creation order
			return task.CreatedAt.UnixMicro()
		case "updatedAt":
			return task.UpdatedAt.UnixMicro()
		case "priority", "queue":
			return -int64(task.Priority)
		}
		return 0
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		less := key(a) < key(b) || key(a) == key(b) && numID(a.ID) < numID(b.ID)
		if desc {
			return key(a) > key(b) || key(a) == key(b) && numID(a.ID) > numID(b.ID)
		}
		return less
	})
	return ids(out)
}

// walk lists every page of p by cursor and returns the ids in order.
func walk(t *testing.T, s store.Store, p store.TaskListParams, between func(page int)) []string {
	t.Helper()
	var got []string
	for page := 0; ; page++ {
		res, err := s.TaskList(t.Context(), p)
		if err != nil {
			t.Fatalf("TaskList(%+v): %v", p, err)
		}
		got = append(got, ids(res.Tasks)...)
		if res.HasMore != (res.NextCursor != "") {
			t.Fatalf("TaskList(%+v): HasMore %v with NextCursor %q", p, res.HasMore, res.NextCursor)
		}
		if !res.HasMore {
			return got
		}
		if len(res.Tasks) != p.Limit {
			t.Fatalf("TaskList(%+v): HasMore with a short page of %d", p, len(res.Tasks))
		}
		if page > 100 {
			t.Fatalf("TaskList(%+v): no end after 100 pages", p)
		}
		if between != nil {
			between(page)
		}
		p.After = res.NextCursor
	}
}

// testTaskListCursorWalk: walking every order x filter by cursor, a few
// rows a page, returns exactly the brute-force ordered list; the total is
// the number of matches.
func testTaskListCursorWalk(t *testing.T, s store.Store) {
	live := listFixture(t, s)
	filters := []store.TaskListParams{{}, {Status: store.StatusPending}, {Status: store.StatusCompleted},
		{AssignedTo: "w1"}, {Session: "s-1"}, {Session: "s-2"},
		{Status: store.StatusFailed, UpdatedBefore: at(105).UTC().Format(time.RFC3339Nano)},
		{UpdatedBefore: at(103).Format(time.RFC3339Nano)}}
	for _, f := range filters {
		for _, orderBy := range []string{"", "createdAt", "updatedAt", "priority", "id", "queue"} {
			for _, order := range []string{"", "asc", "desc"} {
				p := f
				p.OrderBy, p.Order, p.Limit = orderBy, order, 3
				want := expectList(t, live, p)
				if got := walk(t, s, p, nil); !slices.Equal(got, want) {
					t.Errorf("walk %+v:\n got %v\nwant %v", p, got, want)
				}
				p.Limit = 100
				res, err := s.TaskList(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				if res.TotalCount != len(want) || res.TotalEstimated || res.HasMore || res.NextCursor != "" {
					t.Errorf("TaskList(%+v): total %d estimated %v more %v cursor %q; want total %d, one page",
						p, res.TotalCount, res.TotalEstimated, res.HasMore, res.NextCursor, len(want))
				}
			}
		}
	}
}

// testTaskListQueueOrder: the queue order is Redis's claim order,
// priority descending then id ascending (numeric), and desc reverses it.
func testTaskListQueueOrder(t *testing.T, s store.Store) {
	for _, r := range []struct{ n, pr int }{{1, 10}, {2, 90}, {10, 10}, {100, 50}, {9, 90}, {3, 50}} {
		task := newTask(taskID(r.n), 1)
		task.Priority = r.pr
		mustUpsert(t, s, task)
	}
	want := []string{"t-2", "t-9", "t-3", "t-100", "t-1", "t-10"}
	for _, order := range []string{"", "asc"} {
		if got := walk(t, s, store.TaskListParams{OrderBy: "queue", Order: order, Limit: 2}, nil); !slices.Equal(got, want) {
			t.Errorf("queue order %q = %v, want %v", order, got, want)
		}
	}
	slices.Reverse(want)
	if got := walk(t, s, store.TaskListParams{OrderBy: "queue", Order: "desc", Limit: 4}, nil); !slices.Equal(got, want) {
		t.Errorf("queue order desc = %v, want %v", got, want)
	}
}

// testTaskListCursorConcurrentInserts: rows written between pages never
// make a walk repeat or skip a row that was there from the start; a new
// row sorting after the cursor appears, one sorting before does not.
func testTaskListCursorConcurrentInserts(t *testing.T, s store.Store) {
	for i := 1; i <= 20; i++ {
		task := newTask(taskID(100+i), 1)
		task.CreatedAt = at(10 * i)
		mustUpsert(t, s, task)
	}
	next := 200
	got := walk(t, s, store.TaskListParams{OrderBy: "createdAt", Order: "asc", Limit: 3}, func(page int) {
		early, late := newTask(taskID(next), 1), newTask(taskID(next+1), 1)
		early.CreatedAt, late.CreatedAt = at(0), at(1000+page)
		next += 2
		mustUpsert(t, s, early)
		mustUpsert(t, s, late)
	})
	var want []string
	for i := 1; i <= 20; i++ {
		want = append(want, taskID(100+i))
	}
	for n := 201; n < next; n += 2 {
		want = append(want, taskID(n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("walk with inserts between pages:\n got %v\nwant %v", got, want)
	}
}

// testTaskListBadCursor: a malformed cursor, one made for another order,
// direction or filters, and After with Offset are invalid arguments.
func testTaskListBadCursor(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := 1; i <= 5; i++ {
		task := newTask(taskID(i), 1)
		task.AssignedTo = "w1"
		mustUpsert(t, s, task)
	}
	res, err := s.TaskList(ctx, store.TaskListParams{AssignedTo: "w1", OrderBy: "priority", Limit: 2})
	if err != nil || res.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", res, err)
	}
	c := res.NextCursor
	if _, err := s.TaskList(ctx, store.TaskListParams{AssignedTo: "w1", OrderBy: "priority", Limit: 2, After: c}); err != nil {
		t.Fatalf("second page: %v", err)
	}
	for name, p := range map[string]store.TaskListParams{
		"malformed":       {After: "not a cursor"},
		"not base64 json": {After: "e30"},
		"truncated":       {AssignedTo: "w1", OrderBy: "priority", After: c[:len(c)-3]},
		"other order":     {AssignedTo: "w1", OrderBy: "createdAt", After: c},
		"other direction": {AssignedTo: "w1", OrderBy: "priority", Order: "asc", After: c},
		"other filter":    {AssignedTo: "w2", OrderBy: "priority", After: c},
		"no filter":       {OrderBy: "priority", After: c},
		"added filter":    {AssignedTo: "w1", Status: store.StatusPending, OrderBy: "priority", After: c},
		"with offset":     {AssignedTo: "w1", OrderBy: "priority", After: c, Offset: 2},
		"bad time":        {UpdatedBefore: "yesterday"},
	} {
		if _, err := s.TaskList(ctx, p); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: TaskList(%+v) error = %v, want ErrInvalidArgument", name, p, err)
		}
	}
}

// countModel is the brute-force truth the counters are checked against.
type countModel map[string]store.Task

func (m countModel) counts() map[string]int {
	out := map[string]int{store.StatusPending: 0, store.StatusInProgress: 0, store.StatusCompleted: 0, store.StatusFailed: 0}
	for _, task := range m {
		if !task.Deleted {
			out[task.Status]++
		}
	}
	return out
}

// checkCounts compares TaskCountByStatus and TaskList's totals with m,
// before and after the store's maintenance.
func checkCounts(t *testing.T, s store.Store, m countModel, when string) {
	t.Helper()
	for _, maintained := range []bool{false, true} {
		if maintained {
			if err := s.Maintain(t.Context()); err != nil {
				t.Fatalf("Maintain: %v", err)
			}
		}
		want := m.counts()
		got, err := s.TaskCountByStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(got, want) {
			t.Errorf("%s (maintained %v): TaskCountByStatus = %v, want %v", when, maintained, got, want)
		}
		total := 0
		for st, n := range want {
			total += n
			res, err := s.TaskList(t.Context(), store.TaskListParams{Status: st, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.TotalCount != n || res.TotalEstimated {
				t.Errorf("%s: TaskList(status %s) total %d (estimated %v), want %d", when, st, res.TotalCount, res.TotalEstimated, n)
			}
		}
		res, err := s.TaskList(t.Context(), store.TaskListParams{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalCount != total {
			t.Errorf("%s: TaskList() total %d, want %d", when, res.TotalCount, total)
		}
	}
}

// testTaskCountsExact: the counters follow inserts, status changes, stale
// upserts (no change), tombstones, resurrection, hard deletes and purges.
func testTaskCountsExact(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := countModel{}
	put := func(task store.Task) {
		t.Helper()
		wrote, err := s.TaskUpsert(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		if old, ok := m[task.ID]; !ok || old.Version < task.Version {
			if !wrote {
				t.Fatalf("upsert %s v%d did not write", task.ID, task.Version)
			}
			m[task.ID] = task
		} else if wrote {
			t.Fatalf("stale upsert %s v%d wrote", task.ID, task.Version)
		}
	}
	statuses := []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed}
	for i := 1; i <= 30; i++ {
		task := newTask(taskID(i), 1)
		task.Status = statuses[i%4]
		put(task)
	}
	checkCounts(t, s, m, "after inserts")
	for i := 1; i <= 30; i += 3 {
		task := m[taskID(i)]
		task.Version++
		task.Status = statuses[(i+1)%4]
		put(task)
	}
	checkCounts(t, s, m, "after status changes")
	for i := 2; i <= 30; i += 5 { // stale: same or lower version, other status
		task := m[taskID(i)]
		task.Status = statuses[(i+2)%4]
		put(task)
		task.Version--
		put(task)
	}
	var batch []store.Task // a batch with a stale and a fresh write of one task
	stale, fresh := m[taskID(4)], m[taskID(4)]
	stale.Status = store.StatusFailed
	fresh.Version++
	fresh.Status = store.StatusCompleted
	batch = append(batch, fresh, stale)
	if err := s.TaskUpsertMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	m[fresh.ID] = fresh
	checkCounts(t, s, m, "after stale upserts")
	for i := 5; i <= 30; i += 6 {
		task := m[taskID(i)]
		task.Version++
		task.Deleted = true
		put(task)
	}
	checkCounts(t, s, m, "after tombstones")
	resurrect := m[taskID(5)]
	resurrect.Version++
	resurrect.Deleted = false
	resurrect.Status = store.StatusPending
	put(resurrect)
	tomb := m[taskID(11)]
	tomb.Version++
	tomb.Status = store.StatusFailed // a tombstone changing status counts nowhere
	put(tomb)
	checkCounts(t, s, m, "after resurrection")
	for _, id := range []string{taskID(1), taskID(2), taskID(17)} { // 17 is a tombstone
		err := s.TaskDelete(ctx, id)
		if m[id].Deleted != errors.Is(err, store.ErrNotFound) || (err != nil && !errors.Is(err, store.ErrNotFound)) {
			t.Fatalf("TaskDelete(%s): %v", id, err)
		}
		delete(m, id)
	}
	checkCounts(t, s, m, "after hard deletes")
	n, err := s.TaskPurge(ctx, baseTime.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	purged := 0
	for id, task := range m {
		if task.Deleted || task.Status == store.StatusCompleted || task.Status == store.StatusFailed {
			delete(m, id)
			purged++
		}
	}
	if n != purged {
		t.Errorf("TaskPurge removed %d, want %d", n, purged)
	}
	checkCounts(t, s, m, "after purge")
}

// testTaskCountEstimated: a filter no counter keeps counts up to
// MaxExactCount and then reports that, marked estimated; counters stay
// exact.
func testTaskCountEstimated(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ts []store.Task
	for i := 1; i <= store.MaxExactCount+1; i++ {
		task := newTask(taskID(i), 1)
		task.AssignedTo = "w1"
		task.Metadata = json.RawMessage(`{"sessionId":"s-1"}`)
		ts = append(ts, task)
	}
	extra := newTask(taskID(store.MaxExactCount+2), 1)
	extra.AssignedTo = "w2"
	ts = append(ts, extra)
	if err := s.TaskUpsertMany(ctx, ts); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p         store.TaskListParams
		total     int
		estimated bool
	}{
		{store.TaskListParams{}, store.MaxExactCount + 2, false},
		{store.TaskListParams{Status: store.StatusPending}, store.MaxExactCount + 2, false},
		{store.TaskListParams{AssignedTo: "w1"}, store.MaxExactCount, true},
		{store.TaskListParams{Session: "s-1"}, store.MaxExactCount, true},
		{store.TaskListParams{UpdatedBefore: at(1).Format(time.RFC3339Nano)}, store.MaxExactCount, true},
		{store.TaskListParams{AssignedTo: "w2"}, 1, false},
	} {
		c.p.Limit = 10
		res, err := s.TaskList(ctx, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalCount != c.total || res.TotalEstimated != c.estimated || len(res.Tasks) != min(10, c.total) {
			t.Errorf("TaskList(%+v): total %d estimated %v (%d tasks); want %d, %v",
				c.p, res.TotalCount, res.TotalEstimated, len(res.Tasks), c.total, c.estimated)
		}
	}
}

// testTaskPurge: the purge removes finished tasks and tombstones older than
// the cut-off, oldest first, at most limit a call, and never a pending or
// in-progress task however old.
func testTaskPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	statuses := []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed}
	var old []string // purgeable, oldest first
	keep := map[string]bool{}
	for i := 1; i <= 40; i++ {
		task := newTask(taskID(i), 1)
		task.Status = statuses[i%4]
		task.UpdatedAt = at(1000 * i)
		if i%5 == 0 {
			task.Deleted = true
		}
		mustUpsert(t, s, task)
		finished := task.Deleted || task.Status == store.StatusCompleted || task.Status == store.StatusFailed
		if finished && i <= 30 {
			old = append(old, task.ID)
		} else if !task.Deleted {
			keep[task.ID] = true
		}
	}
	cut := baseTime.Add(30500 * time.Millisecond)
	if _, err := s.TaskPurge(ctx, cut, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("TaskPurge limit 0: %v, want ErrInvalidArgument", err)
	}
	n, err := s.TaskPurge(ctx, cut, 3)
	if err != nil || n != 3 {
		t.Fatalf("first TaskPurge = %d, %v; want 3", n, err)
	}
	for _, id := range old[:3] { // the oldest went first
		if _, err := s.TaskGet(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after the first batch %s (among the oldest) remains", id)
		}
	}
	total, batches := 3, 1
	for {
		n, err := s.TaskPurge(ctx, cut, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n > 3 {
			t.Fatalf("TaskPurge(limit 3) removed %d", n)
		}
		total += n
		batches++
		if n < 3 {
			break
		}
	}
	if total != len(old) || batches != len(old)/3+1 {
		t.Errorf("purged %d in %d batches, want %d in %d", total, batches, len(old), len(old)/3+1)
	}
	res, err := s.TaskList(ctx, store.TaskListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != len(keep) {
		t.Errorf("after purge %d tasks remain, want %d", len(res.Tasks), len(keep))
	}
	for _, task := range res.Tasks {
		if !keep[task.ID] {
			t.Errorf("after purge %s remains", task.ID)
		}
	}
	// However old, pending and in-progress tasks stay.
	if n, err := s.TaskPurge(ctx, baseTime.AddDate(10, 0, 0), 1000); err != nil || n != 6 {
		t.Errorf("purge of everything = %d, %v; want the 6 newer finished tasks and tombstones", n, err)
	}
	counts, err := s.TaskCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusPending]+counts[store.StatusInProgress] != 16 || counts[store.StatusCompleted]+counts[store.StatusFailed] != 0 {
		t.Errorf("after purging everything counts = %v, want 16 pending or in progress only", counts)
	}
}

// testAuditCursorAndPurge: audit pages by cursor, newest first with ties
// on time, and the purge removes the oldest records in batches.
func testAuditCursorAndPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	var rs []store.AuditRecord
	for i := range 25 {
		r := newAudit(fmt.Sprintf("e-%02d", i), i/3) // ties on time
		if i%2 == 0 {
			r.SessionID = "s-2"
		}
		rs = append(rs, r)
	}
	if err := s.AuditInsert(ctx, rs...); err != nil {
		t.Fatal(err)
	}
	for _, session := range []string{"", "s-2"} {
		var want []string
		for i := 24; i >= 0; i-- {
			if session == "" || rs[i].SessionID == session {
				want = append(want, rs[i].ID)
			}
		}
		var got []string
		p := store.AuditListParams{SessionID: session, Limit: 4}
		for range 20 {
			page, err := s.AuditList(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, auditIDs(page.Records)...)
			if page.NextCursor == "" {
				break
			}
			p.After = page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("audit walk (session %q):\n got %v\nwant %v", session, got, want)
		}
	}
	page, err := s.AuditList(ctx, store.AuditListParams{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]store.AuditListParams{
		"malformed":    {After: "zzz"},
		"other filter": {SessionID: "s-2", After: page.NextCursor},
	} {
		if _, err := s.AuditList(ctx, p); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: AuditList error = %v, want ErrInvalidArgument", name, err)
		}
	}
	cut := baseTime.Add(5 * time.Millisecond) // records at 0..4 ms: 15 of them
	n, err := s.AuditPurge(ctx, cut, 4)
	if err != nil || n != 4 {
		t.Fatalf("AuditPurge = %d, %v; want 4", n, err)
	}
	left, err := auditRecords(ctx, s, store.AuditListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := auditIDs(left); len(got) != 21 || slices.Contains(got, "e-00") || !slices.Contains(got, "e-04") {
		t.Errorf("after purging 4 oldest: %v", got)
	}
	total := 4
	for {
		n, err := s.AuditPurge(ctx, cut, 4)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 4 {
			break
		}
	}
	if total != 15 {
		t.Errorf("AuditPurge removed %d in all, want 15", total)
	}
	left, _ = auditRecords(ctx, s, store.AuditListParams{Limit: 1000})
	if len(left) != 10 || left[len(left)-1].ID != "e-15" {
		t.Errorf("after purge: %v, want e-24..e-15", auditIDs(left))
	}
}
