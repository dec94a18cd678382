package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol/api"
)

func testTaskRoundTrip(t *testing.T, s store.Store) {
	want := store.Task{Task: api.Task{
		ID:         "t-1",
		Text:       "refactor the parser ✓ — 'quotes' \"and\" \\ backslashes",
		Status:     store.StatusInProgress,
		Priority:   -7,
		AssignedTo: "worker-3",
		Attempts:   2,
		Metadata:   json.RawMessage(`{"b": [1, 2.5, "x"], "a": {"nested": true}, "n": null}`),
		Result:     json.RawMessage(`{"ok": false}`),
		Error:      "boom",
		CreatedAt:  api.TimeOf(baseTime),
		UpdatedAt:  at(1234),
		Version:    9,
	}}
	mustUpsert(t, s, want)
	checkTask(t, mustGet(t, s, "t-1"), want)

	// Times keep millisecond precision across a day boundary and far dates.
	far := newTask("t-2", 1)
	far.CreatedAt = api.TimeOf(baseTime.AddDate(-30, 0, 0))
	far.UpdatedAt = api.TimeOf(baseTime.AddDate(50, 0, 0).Add(999 * 1000 * 1000))
	mustUpsert(t, s, far)
	checkTask(t, mustGet(t, s, "t-2"), far)

	// Zero times stay zero.
	zero := newTask("t-3", 1)
	zero.CreatedAt, zero.UpdatedAt = api.Time{}, api.Time{}
	mustUpsert(t, s, zero)
	got := mustGet(t, s, "t-3")
	if !got.CreatedAt.IsZero() || !got.UpdatedAt.IsZero() {
		t.Errorf("zero times read back as %s / %s", got.CreatedAt, got.UpdatedAt)
	}
}

func testTaskJSONValues(t *testing.T, s store.Store) {
	cases := []struct {
		meta, result string // "" means nil
	}{
		{"", ""},
		{"null", "null"},
		{"{}", `"a string"`},
		{`{"k":"v"}`, "42"},
		{`{"arr":[]}`, "[1,\"two\",{\"3\":[]}]"},
		{`  {"spaced" : 1 }  `, "true"},
		{`{"unicode":"héllo ✓","esc":"a\nb"}`, "-0.5"},
	}
	for i, c := range cases {
		task := newTask(taskID(i+1), 1)
		if c.meta != "" {
			task.Metadata = json.RawMessage(c.meta)
		}
		if c.result != "" {
			task.Result = json.RawMessage(c.result)
		}
		mustUpsert(t, s, task)
		got := mustGet(t, s, task.ID)
		checkTask(t, got, task)
		if c.meta == "" || c.meta == "null" {
			if got.Metadata != nil {
				t.Errorf("case %d: metadata = %q, want nil", i, got.Metadata)
			}
		}
		if c.result == "" || c.result == "null" {
			if got.Result != nil {
				t.Errorf("case %d: result = %q, want nil", i, got.Result)
			}
		}
	}
	// A task marshals to JSON with camelCase keys and without the tombstone.
	got := mustGet(t, s, "t-4")
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "text", "status", "priority", "attempts", "metadata", "result", "createdAt", "updatedAt", "version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON of task lacks %q: %s", k, b)
		}
	}
	for _, k := range []string{"Deleted", "deleted", "assignedTo", "error"} {
		if _, ok := m[k]; ok {
			t.Errorf("JSON of task has %q: %s", k, b)
		}
	}
}

func testTaskUpsertVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	v5 := newTask("t-1", 5)
	v5.Text = "five"
	mustUpsert(t, s, v5)

	for _, v := range []int64{5, 4, 0, -1} {
		stale := newTask("t-1", v)
		stale.Text = fmt.Sprintf("stale %d", v)
		stale.Status = store.StatusFailed
		wrote, err := s.TaskUpsert(ctx, stale)
		if err != nil {
			t.Fatalf("stale TaskUpsert v%d: %v", v, err)
		}
		if wrote {
			t.Errorf("stale TaskUpsert v%d reported a write", v)
		}
	}
	checkTask(t, mustGet(t, s, "t-1"), v5)

	v6 := newTask("t-1", 6)
	v6.Text = "six"
	v6.Status = store.StatusCompleted
	v6.Result = json.RawMessage(`{"done":true}`)
	v6.UpdatedAt = at(60_000)
	mustUpsert(t, s, v6)
	checkTask(t, mustGet(t, s, "t-1"), v6)

	// Every column is overwritten, including back to nil JSON.
	v7 := newTask("t-1", 7)
	mustUpsert(t, s, v7)
	checkTask(t, mustGet(t, s, "t-1"), v7)
}

func testTaskGetNotFound(t *testing.T, s store.Store) {
	_, err := s.TaskGet(t.Context(), "t-404")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TaskGet(missing) error = %v, want ErrNotFound", err)
	}
}

func testTaskDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsert(t, s, newTask("t-1", 1))
	mustUpsert(t, s, newTask("t-2", 1))
	if err := s.TaskDelete(ctx, "t-1"); err != nil {
		t.Fatalf("TaskDelete: %v", err)
	}
	if _, err := s.TaskGet(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskGet after delete: error = %v, want ErrNotFound", err)
	}
	if err := s.TaskDelete(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second TaskDelete: error = %v, want ErrNotFound", err)
	}
	if err := s.TaskDelete(ctx, "t-404"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskDelete(missing): error = %v, want ErrNotFound", err)
	}
	mustGet(t, s, "t-2")
	// A hard delete forgets the version: any version may be written again.
	mustUpsert(t, s, newTask("t-1", 1))
}

func testTaskTombstone(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsert(t, s, newTask("t-1", 1))
	mustUpsert(t, s, newTask("t-2", 1))
	tomb := newTask("t-1", 3)
	tomb.Deleted = true
	mustUpsert(t, s, tomb)

	if _, err := s.TaskGet(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskGet(tombstone): error = %v, want ErrNotFound", err)
	}
	res, err := s.TaskList(ctx, store.TaskListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res.Tasks); !slices.Equal(got, []string{"t-2"}) || res.TotalCount != 1 {
		t.Errorf("TaskList with a tombstone = %v (total %d), want [t-2] (total 1)", got, res.TotalCount)
	}
	counts, err := s.TaskCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusPending] != 1 {
		t.Errorf("pending count with a tombstone = %d, want 1", counts[store.StatusPending])
	}

	// A stale write cannot resurrect the task.
	wrote, err := s.TaskUpsert(ctx, newTask("t-1", 2))
	if err != nil || wrote {
		t.Errorf("stale upsert over tombstone = %v, %v; want false, nil", wrote, err)
	}
	if _, err := s.TaskGet(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskGet after stale upsert over tombstone: error = %v, want ErrNotFound", err)
	}
	// A newer one can.
	v4 := newTask("t-1", 4)
	v4.Text = "back"
	mustUpsert(t, s, v4)
	checkTask(t, mustGet(t, s, "t-1"), v4)

	// Deleting a tombstone purges it but reports ErrNotFound.
	tomb.Version = 5
	mustUpsert(t, s, tomb)
	if err := s.TaskDelete(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskDelete(tombstone): error = %v, want ErrNotFound", err)
	}
	mustUpsert(t, s, newTask("t-1", 1)) // purged: version 1 is accepted again
}

func testTaskValidation(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := map[string]func(*store.Task){
		"empty id":          func(x *store.Task) { x.ID = "" },
		"empty status":      func(x *store.Task) { x.Status = "" },
		"unknown status":    func(x *store.Task) { x.Status = "paused" },
		"invalid metadata":  func(x *store.Task) { x.Metadata = json.RawMessage(`{"a":`) },
		"array metadata":    func(x *store.Task) { x.Metadata = json.RawMessage(`[1]`) },
		"string metadata":   func(x *store.Task) { x.Metadata = json.RawMessage(`"s"`) },
		"invalid result":    func(x *store.Task) { x.Result = json.RawMessage(`nope`) },
		"trailing garbage":  func(x *store.Task) { x.Result = json.RawMessage(`{} {}`) },
		"unterminated text": func(x *store.Task) { x.Result = json.RawMessage(`"abc`) },
	}
	for name, mutate := range bad {
		task := newTask("t-1", 1)
		mutate(&task)
		wrote, err := s.TaskUpsert(ctx, task)
		if !errors.Is(err, store.ErrInvalidArgument) || wrote {
			t.Errorf("%s: TaskUpsert = %v, %v; want false, ErrInvalidArgument", name, wrote, err)
		}
	}
	if _, err := s.TaskGet(ctx, "t-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid task was stored: TaskGet error = %v", err)
	}
	for _, st := range []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed} {
		task := newTask("t-"+st, 1)
		task.Status = st
		mustUpsert(t, s, task)
	}
}

func testTaskListFilterAndPage(t *testing.T, s store.Store) {
	ctx := t.Context()
	// t-1..t-10: odd ones assigned to w1, statuses cycle.
	statuses := []string{store.StatusPending, store.StatusInProgress, store.StatusCompleted, store.StatusFailed}
	for i := 1; i <= 10; i++ {
		task := newTask(taskID(i), 1)
		task.Status = statuses[i%4]
		task.CreatedAt = at(i)
		if i%2 == 1 {
			task.AssignedTo = "w1"
		}
		mustUpsert(t, s, task)
	}
	list := func(p store.TaskListParams) store.TaskListResult {
		t.Helper()
		res, err := s.TaskList(ctx, p)
		if err != nil {
			t.Fatalf("TaskList(%+v): %v", p, err)
		}
		return res
	}
	check := func(p store.TaskListParams, wantIDs []string, wantTotal int, wantMore bool) {
		t.Helper()
		res := list(p)
		if got := ids(res.Tasks); !slices.Equal(got, wantIDs) || res.TotalCount != wantTotal || res.HasMore != wantMore {
			t.Errorf("TaskList(%+v) = %v total %d more %v; want %v total %d more %v",
				p, got, res.TotalCount, res.HasMore, wantIDs, wantTotal, wantMore)
		}
	}
	// Default order: createdAt desc.
	check(store.TaskListParams{}, []string{"t-10", "t-9", "t-8", "t-7", "t-6", "t-5", "t-4", "t-3", "t-2", "t-1"}, 10, false)
	check(store.TaskListParams{Limit: 3}, []string{"t-10", "t-9", "t-8"}, 10, true)
	check(store.TaskListParams{Limit: 3, Offset: 3}, []string{"t-7", "t-6", "t-5"}, 10, true)
	check(store.TaskListParams{Limit: 3, Offset: 9}, []string{"t-1"}, 10, false)
	check(store.TaskListParams{Limit: 3, Offset: 7}, []string{"t-3", "t-2", "t-1"}, 10, false)
	check(store.TaskListParams{Offset: 10}, nil, 10, false)
	check(store.TaskListParams{Offset: 50}, nil, 10, false)
	// Filters.
	check(store.TaskListParams{Status: store.StatusPending, Order: "asc"}, []string{"t-4", "t-8"}, 2, false)
	check(store.TaskListParams{AssignedTo: "w1", Order: "asc"}, []string{"t-1", "t-3", "t-5", "t-7", "t-9"}, 5, false)
	check(store.TaskListParams{AssignedTo: "w1", Status: store.StatusInProgress, Order: "asc"}, []string{"t-1", "t-5", "t-9"}, 3, false)
	check(store.TaskListParams{AssignedTo: "w1", Status: store.StatusInProgress, Order: "asc", Limit: 1, Offset: 1}, []string{"t-5"}, 3, true)
	check(store.TaskListParams{Status: "nope"}, nil, 0, false)
	check(store.TaskListParams{AssignedTo: "nobody"}, nil, 0, false)
	// Filter values are data, never SQL.
	check(store.TaskListParams{Status: "pending' OR '1'='1"}, nil, 0, false)
}

func testTaskListOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Ids sort numerically (t-2 before t-10); createdAt and updatedAt have
	// ties broken by id in the same direction. Id order is creation order
	// (an id is made from its creation time), and priority is the queue's
	// order: priority descending with ties oldest first (asc reverses it).
	type row struct {
		n                    int
		created, updated, pr int
	}
	rows := []row{
		{n: 1, created: 30, updated: 5, pr: 10},
		{n: 2, created: 10, updated: 50, pr: 90},
		{n: 10, created: 20, updated: 5, pr: 10},
		{n: 100, created: 10, updated: 40, pr: 50},
		{n: 9, created: 40, updated: 30, pr: 90},
	}
	for _, r := range rows {
		task := newTask(taskID(r.n), 1)
		task.CreatedAt, task.UpdatedAt, task.Priority = at(r.created), at(r.updated), r.pr
		mustUpsert(t, s, task)
	}
	cases := []struct {
		orderBy, order string
		want           []string
	}{
		{"id", "asc", []string{"t-2", "t-100", "t-10", "t-1", "t-9"}},
		{"id", "desc", []string{"t-9", "t-1", "t-10", "t-100", "t-2"}},
		{"createdAt", "asc", []string{"t-2", "t-100", "t-10", "t-1", "t-9"}},
		{"createdAt", "desc", []string{"t-9", "t-1", "t-10", "t-100", "t-2"}},
		{"", "", []string{"t-9", "t-1", "t-10", "t-100", "t-2"}},
		{"updatedAt", "asc", []string{"t-1", "t-10", "t-9", "t-100", "t-2"}},
		{"updatedAt", "DESC", []string{"t-2", "t-100", "t-9", "t-10", "t-1"}},
		{"priority", "asc", []string{"t-10", "t-1", "t-100", "t-9", "t-2"}},
		{"priority", "desc", []string{"t-2", "t-9", "t-100", "t-1", "t-10"}},
		{"priority", "", []string{"t-2", "t-9", "t-100", "t-1", "t-10"}},
	}
	for _, c := range cases {
		res, err := s.TaskList(ctx, store.TaskListParams{OrderBy: c.orderBy, Order: c.order})
		if err != nil {
			t.Fatalf("TaskList(orderBy %q, order %q): %v", c.orderBy, c.order, err)
		}
		if got := ids(res.Tasks); !slices.Equal(got, c.want) {
			t.Errorf("TaskList(orderBy %q, order %q) = %v, want %v", c.orderBy, c.order, got, c.want)
		}
	}
}

func testTaskListDefaults(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := 1; i <= store.DefaultTaskListLimit+10; i++ {
		task := newTask(taskID(i), 1)
		task.CreatedAt = at(i)
		mustUpsert(t, s, task)
	}
	res, err := s.TaskList(ctx, store.TaskListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != store.DefaultTaskListLimit || res.TotalCount != store.DefaultTaskListLimit+10 || !res.HasMore {
		t.Errorf("TaskList default = %d tasks total %d more %v; want %d, %d, true",
			len(res.Tasks), res.TotalCount, res.HasMore, store.DefaultTaskListLimit, store.DefaultTaskListLimit+10)
	}
	if len(res.Tasks) > 0 && res.Tasks[0].ID != taskID(store.DefaultTaskListLimit+10) {
		t.Errorf("TaskList default first = %s, want the newest", res.Tasks[0].ID)
	}
	// Every field comes back from a list, not only from TaskGet.
	for _, got := range res.Tasks[:1] {
		want := newTask(got.ID, 1)
		want.CreatedAt = at(store.DefaultTaskListLimit + 10)
		checkTask(t, got, want)
	}
}

func testTaskListInvalidParams(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsert(t, s, newTask("t-1", 1))
	for _, p := range []store.TaskListParams{
		{OrderBy: "created_at"},
		{OrderBy: "createdAt; DROP TABLE tasks"},
		{OrderBy: "text"},
		{OrderBy: "CREATEDAT"},
		{Order: "sideways"},
		{Order: "asc; DROP TABLE tasks"},
		{Limit: -1},
		{Offset: -1},
	} {
		if _, err := s.TaskList(ctx, p); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("TaskList(%+v) error = %v, want ErrInvalidArgument", p, err)
		}
	}
	mustGet(t, s, "t-1") // the table survived
}

func testTaskCountByStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	counts, err := s.TaskCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{store.StatusPending: 0, store.StatusInProgress: 0, store.StatusCompleted: 0, store.StatusFailed: 0}
	if !mapsEqual(counts, want) {
		t.Errorf("TaskCountByStatus on empty store = %v, want %v", counts, want)
	}
	n := map[string]int{store.StatusPending: 3, store.StatusInProgress: 1, store.StatusCompleted: 5, store.StatusFailed: 0}
	id := 0
	for st, k := range n {
		for range k {
			id++
			task := newTask(taskID(id), 1)
			task.Status = st
			mustUpsert(t, s, task)
		}
	}
	// Moving a task to another status moves its count.
	moved := newTask(taskID(id), 2)
	moved.Status = store.StatusFailed
	prev := mustGet(t, s, taskID(id)).Status
	mustUpsert(t, s, moved)
	n[prev]--
	n[store.StatusFailed]++

	counts, err = s.TaskCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, n) {
		t.Errorf("TaskCountByStatus = %v, want %v", counts, n)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testTaskUpsertMany(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ts []store.Task
	for i := 1; i <= 300; i++ {
		ts = append(ts, versionedTask(taskID(i), 2))
	}
	if err := s.TaskUpsertMany(ctx, ts); err != nil {
		t.Fatal(err)
	}
	// A stale version in a batch is skipped, a newer one wins.
	if err := s.TaskUpsertMany(ctx, []store.Task{versionedTask(taskID(1), 1), versionedTask(taskID(2), 3)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TaskGet(ctx, taskID(1)); err != nil || got.Version != 2 {
		t.Fatalf("task 1: version %d, err %v; want 2", got.Version, err)
	}
	if got, err := s.TaskGet(ctx, taskID(2)); err != nil || got.Version != 3 {
		t.Fatalf("task 2: version %d, err %v; want 3", got.Version, err)
	}
	res, err := s.TaskList(ctx, store.TaskListParams{Limit: 1})
	if err != nil || res.TotalCount != 300 {
		t.Fatalf("total %d, err %v; want 300", res.TotalCount, err)
	}
	if err := s.TaskUpsertMany(ctx, []store.Task{{Task: api.Task{ID: ""}}}); err == nil {
		t.Fatal("invalid task accepted")
	}
}
