package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol/api"
)

// newAttachment returns an attachment of type json with the given value,
// created and updated at at(ms).
func newAttachment(taskID, key, value string, ms int) store.Attachment {
	return store.Attachment{TaskID: taskID, Key: key, Type: api.AttachmentJSON, Value: []byte(value),
		CreatedBy: "w-1", CreatedAt: at(ms), UpdatedAt: at(ms)}
}

// mustPut puts a with the given max and fails the test on an error.
func mustPut(t *testing.T, s store.Store, a store.Attachment, max int) store.Attachment {
	t.Helper()
	got, err := s.AttachmentPut(t.Context(), a, max)
	if err != nil {
		t.Fatalf("AttachmentPut(%s/%s): %v", a.TaskID, a.Key, err)
	}
	return got
}

// mustList lists the attachments of ids (key: only that key) or fails.
func mustList(t *testing.T, s store.Store, key string, ids ...string) []store.Attachment {
	t.Helper()
	got, err := s.AttachmentList(t.Context(), ids, key)
	if err != nil {
		t.Fatalf("AttachmentList(%v, %q): %v", ids, key, err)
	}
	return got
}

// attachmentNames returns "task/key" of each attachment, in order.
func attachmentNames(as []store.Attachment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.TaskID + "/" + a.Key
	}
	return out
}

// checkAttachment fails unless got equals want: JSON compared
// semantically, times to the millisecond, and Size the length of want's
// Value as given.
func checkAttachment(t *testing.T, got, want store.Attachment) {
	t.Helper()
	what := want.TaskID + "/" + want.Key
	if got.TaskID != want.TaskID || got.Key != want.Key || got.Type != want.Type || got.CreatedBy != want.CreatedBy {
		t.Errorf("attachment %s mismatch:\n got %+v\nwant %+v", what, got, want)
	}
	if got.Size != len(want.Value) {
		t.Errorf("attachment %s size = %d, want %d (the value's length as given)", what, got.Size, len(want.Value))
	}
	switch {
	case got.Value == nil:
		t.Errorf("attachment %s value is nil, want %s", what, want.Value)
	case string(bytes.TrimSpace(want.Value)) == "null": // checkJSON takes it for absent
		if string(bytes.TrimSpace(got.Value)) != "null" {
			t.Errorf("attachment %s value = %s, want null", what, got.Value)
		}
	default:
		checkJSON(t, what+" value", got.Value, want.Value)
	}
	checkTime(t, what+" createdAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what+" updatedAt", got.UpdatedAt, want.UpdatedAt)
}

// testAttachmentPutReplace: a put returns the attachment as stored; a put
// of the same key replaces everything but CreatedAt.
func testAttachmentPutReplace(t *testing.T, s store.Store) {
	mustUpsert(t, s, newTask("t-1", 1))
	first := store.Attachment{TaskID: "t-1", Key: "notes", Type: api.AttachmentNote, Value: []byte(`"read the spec first"`),
		CreatedBy: "w-1", CreatedAt: at(10), UpdatedAt: at(10)}
	checkAttachment(t, mustPut(t, s, first, 64), first)
	if got := mustList(t, s, "", "t-1"); len(got) != 1 {
		t.Fatalf("AttachmentList after one put = %v, want 1", attachmentNames(got))
	} else {
		checkAttachment(t, got[0], first)
	}

	// The replacement's CreatedAt is ignored: the first one's stays.
	second := store.Attachment{TaskID: "t-1", Key: "notes", Type: api.AttachmentJSON, Value: []byte(`{"steps": [1, 2, 3]}`),
		CreatedAt: at(5000), UpdatedAt: at(2000)}
	want := second
	want.CreatedAt = first.CreatedAt
	checkAttachment(t, mustPut(t, s, second, 64), want)
	got := mustList(t, s, "", "t-1")
	if len(got) != 1 {
		t.Fatalf("AttachmentList after a replace = %v, want 1", attachmentNames(got))
	}
	checkAttachment(t, got[0], want)

	// Zero times are set to the time of the put.
	before := time.Now()
	zero := mustPut(t, s, store.Attachment{TaskID: "t-1", Key: "now", Type: api.AttachmentNote, Value: []byte(`"x"`)}, 64)
	if zero.CreatedAt.Location() != time.UTC || zero.CreatedAt.Before(before.Add(-time.Second)) ||
		zero.CreatedAt.After(time.Now().Add(time.Second)) || !zero.UpdatedAt.Equal(zero.CreatedAt.Time) {
		t.Errorf("put with zero times stored createdAt %s updatedAt %s, want the time of the put", zero.CreatedAt, zero.UpdatedAt)
	}
	if got := mustList(t, s, "now", "t-1"); len(got) != 1 || !got[0].CreatedAt.Equal(zero.CreatedAt.Time) {
		t.Errorf("AttachmentList(now) = %+v, want createdAt %s", got, zero.CreatedAt)
	}
}

// testAttachmentListOrder: attachments come grouped by task in the order
// of the ids asked for, oldest first within a task and then by key (byte
// order), each task once; the key filter keeps one key.
func testAttachmentListOrder(t *testing.T, s store.Store) {
	for _, id := range []string{"t-1", "t-2", "t-3"} {
		mustUpsert(t, s, newTask(id, 1))
	}
	for _, a := range []store.Attachment{
		newAttachment("t-1", "b", `1`, 30),
		newAttachment("t-1", "d", `2`, 20),
		newAttachment("t-1", "c", `3`, 10),
		newAttachment("t-2", "z", `4`, 5),
		newAttachment("t-1", "a", `5`, 10),
		newAttachment("t-1", "Z", `6`, 10),
		newAttachment("t-2", "y", `7`, 6),
	} {
		mustPut(t, s, a, 0)
	}
	// A replace keeps the attachment's place.
	mustPut(t, s, newAttachment("t-1", "a", `"later"`, 90), 0)

	t1 := []string{"t-1/Z", "t-1/a", "t-1/c", "t-1/d", "t-1/b"}
	for _, c := range []struct {
		ids  []string
		key  string
		want []string
	}{
		{[]string{"t-1"}, "", t1},
		{[]string{"t-2", "t-404", "t-1", "t-3"}, "", append([]string{"t-2/z", "t-2/y"}, t1...)},
		{[]string{"t-1", "t-2", "t-1"}, "", append(slices.Clone(t1), "t-2/z", "t-2/y")},
		{[]string{"t-3"}, "", nil},
		{[]string{"t-404"}, "", nil},
		{nil, "", nil},
		{[]string{"t-1", "t-2"}, "a", []string{"t-1/a"}},
		{[]string{"t-2", "t-1"}, "z", []string{"t-2/z"}},
		{[]string{"t-1", "t-2"}, "Z", []string{"t-1/Z"}},
		{[]string{"t-1", "t-2"}, "nope", nil},
	} {
		got := mustList(t, s, c.key, c.ids...)
		if names := attachmentNames(got); !slices.Equal(names, c.want) {
			t.Errorf("AttachmentList(%v, %q) = %v, want %v", c.ids, c.key, names, c.want)
		}
	}
	got := mustList(t, s, "a", "t-1")
	if len(got) == 1 {
		checkAttachment(t, got[0], store.Attachment{TaskID: "t-1", Key: "a", Type: api.AttachmentJSON,
			Value: []byte(`"later"`), CreatedBy: "w-1", CreatedAt: at(10), UpdatedAt: at(90)})
	}
}

// testAttachmentTaskMissing: only a live task takes attachments; a
// tombstone loses its attachments and takes none, and a task brought back
// from its tombstone starts with none.
func testAttachmentTaskMissing(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.AttachmentPut(ctx, newAttachment("t-404", "k", `1`, 0), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AttachmentPut on a missing task: error = %v, want ErrNotFound", err)
	}
	mustUpsert(t, s, newTask("t-1", 1))
	mustPut(t, s, newAttachment("t-1", "k", `1`, 0), 0)
	tomb := newTask("t-1", 2)
	tomb.Deleted = true
	mustUpsert(t, s, tomb)
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("attachments of a tombstone = %v, want none", attachmentNames(got))
	}
	if _, err := s.AttachmentPut(ctx, newAttachment("t-1", "k2", `1`, 0), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AttachmentPut on a tombstone: error = %v, want ErrNotFound", err)
	}
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("attachments of a tombstone after a refused put = %v, want none", attachmentNames(got))
	}
	mustUpsert(t, s, newTask("t-1", 3))
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("attachments of a task back from its tombstone = %v, want none", attachmentNames(got))
	}
	mustPut(t, s, newAttachment("t-1", "k", `2`, 0), 0)
	if got := mustList(t, s, "", "t-1"); len(got) != 1 {
		t.Errorf("attachments after a put on the revived task = %v, want t-1/k", attachmentNames(got))
	}
}

// testAttachmentMax: a task takes exactly max attachments; a new key past
// that is refused and stores nothing, while replacing a key at max works;
// max <= 0 is no limit, and the limit is per task.
func testAttachmentMax(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsert(t, s, newTask("t-1", 1))
	mustUpsert(t, s, newTask("t-2", 1))
	const max = 3
	for i := range max {
		mustPut(t, s, newAttachment("t-1", fmt.Sprintf("k%d", i), `1`, i), max)
	}
	if _, err := s.AttachmentPut(ctx, newAttachment("t-1", "k3", `1`, 3), max); !errors.Is(err, store.ErrTooManyAttachments) {
		t.Errorf("put of key %d of %d: error = %v, want ErrTooManyAttachments", max+1, max, err)
	}
	if got := mustList(t, s, "", "t-1"); len(got) != max {
		t.Errorf("after a refused put the task has %v, want %d", attachmentNames(got), max)
	}
	mustPut(t, s, newAttachment("t-1", "k1", `"replaced"`, 10), max)
	if got := mustList(t, s, "k1", "t-1"); len(got) != 1 || string(got[0].Value) != `"replaced"` {
		t.Errorf("replace at max: k1 = %+v", got)
	}
	// Another task has its own count.
	for i := range max {
		mustPut(t, s, newAttachment("t-2", fmt.Sprintf("k%d", i), `1`, i), max)
	}
	// No limit: 0 and negative.
	mustPut(t, s, newAttachment("t-1", "k3", `1`, 3), 0)
	mustPut(t, s, newAttachment("t-1", "k4", `1`, 4), -1)
	// Past a (lowered) max: replacing still works, a new key does not.
	mustPut(t, s, newAttachment("t-1", "k0", `2`, 11), 2)
	if _, err := s.AttachmentPut(ctx, newAttachment("t-1", "k5", `1`, 5), 2); !errors.Is(err, store.ErrTooManyAttachments) {
		t.Errorf("new key past a lowered max: error = %v, want ErrTooManyAttachments", err)
	}
	if got := mustList(t, s, "", "t-1"); len(got) != 5 {
		t.Errorf("t-1 has %v, want 5 attachments", attachmentNames(got))
	}
}

// testAttachmentValidation: bad input is refused with ErrInvalidArgument
// and stores nothing.
func testAttachmentValidation(t *testing.T, s store.Store) {
	mustUpsert(t, s, newTask("t-1", 1))
	valid := newAttachment("t-1", "k", `{"a":1}`, 0)
	for _, c := range []struct {
		name string
		edit func(a *store.Attachment)
	}{
		{"empty task id", func(a *store.Attachment) { a.TaskID = "" }},
		{"empty key", func(a *store.Attachment) { a.Key = "" }},
		{"key with NUL", func(a *store.Attachment) { a.Key = "a\x00b" }},
		{"key not UTF-8", func(a *store.Attachment) { a.Key = "a\xffb" }},
		{"createdBy with NUL", func(a *store.Attachment) { a.CreatedBy = "w\x00" }},
		{"empty type", func(a *store.Attachment) { a.Type = "" }},
		{"unknown type", func(a *store.Attachment) { a.Type = "blob" }},
		{"type in capitals", func(a *store.Attachment) { a.Type = "NOTE" }},
		{"nil value", func(a *store.Attachment) { a.Value = nil }},
		{"empty value", func(a *store.Attachment) { a.Value = []byte("  ") }},
		{"invalid JSON", func(a *store.Attachment) { a.Value = []byte(`{"a":`) }},
		{"two values", func(a *store.Attachment) { a.Value = []byte(`1 2`) }},
	} {
		a := valid
		c.edit(&a)
		_, err := s.AttachmentPut(t.Context(), a, 64)
		if !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: AttachmentPut error = %v, want ErrInvalidArgument", c.name, err)
		}
	}
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("after invalid puts the task has %v, want none", attachmentNames(got))
	}
}

// testAttachmentCascades: deleting, purging or tombstoning a task (alone or
// in a batch) removes its attachments and no other task's; the purge still
// counts tasks only.
func testAttachmentCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	tasks := map[string]store.Task{}
	for i := 1; i <= 7; i++ {
		task := newTask(taskID(i), 1)
		task.UpdatedAt = at(1000)
		tasks[task.ID] = task
	}
	for _, id := range []string{"t-3", "t-5"} {
		task := tasks[id]
		task.Status = store.StatusCompleted
		tasks[id] = task
	}
	t5 := tasks["t-5"]
	t5.UpdatedAt = at(9000) // finished after the purge's cut-off
	tasks["t-5"] = t5
	for i := 1; i <= 7; i++ {
		id := taskID(i)
		mustUpsert(t, s, tasks[id])
		mustPut(t, s, newAttachment(id, "a", `1`, 1), 0)
		mustPut(t, s, newAttachment(id, "b", `2`, 2), 0)
	}

	if err := s.TaskDelete(ctx, "t-1"); err != nil {
		t.Fatal(err)
	}
	tomb := newTask("t-2", 2)
	tomb.Deleted = true
	tomb.UpdatedAt = at(9000) // kept by the purge: its cascade is the tombstone's
	mustUpsert(t, s, tomb)
	n, err := s.TaskPurge(ctx, baseTime.Add(5*time.Second), 100)
	if err != nil || n != 1 {
		t.Errorf("TaskPurge = %d, %v; want 1 (t-3: a count of tasks, not of attachments)", n, err)
	}
	// A batch that tombstones t-6 and updates t-7.
	tomb6, live7 := newTask("t-6", 2), newTask("t-7", 2)
	tomb6.Deleted = true
	live7.Text = "still here"
	if err := s.TaskUpsertMany(ctx, []store.Task{tomb6, live7}); err != nil {
		t.Fatal(err)
	}
	// A tombstone written again (a higher version) has nothing left to drop.
	tomb.Version = 3
	mustUpsert(t, s, tomb)

	got := attachmentNames(mustList(t, s, "", "t-1", "t-2", "t-3", "t-4", "t-5", "t-6", "t-7"))
	want := []string{"t-4/a", "t-4/b", "t-5/a", "t-5/b", "t-7/a", "t-7/b"}
	if !slices.Equal(got, want) {
		t.Errorf("attachments after delete (t-1), tombstone (t-2, t-6), purge (t-3) = %v, want %v", got, want)
	}
	// A task made again under a deleted id starts with no attachments.
	mustUpsert(t, s, newTask("t-1", 1))
	if got := mustList(t, s, "", "t-1"); len(got) != 0 {
		t.Errorf("a task recreated after a delete has %v, want none", attachmentNames(got))
	}
}

// testAttachmentJSONValues: a value of each type round-trips semantically,
// with Size the length as given (whitespace included), up to a large one.
func testAttachmentJSONValues(t *testing.T, s store.Store) {
	mustUpsert(t, s, newTask("t-1", 1))
	big := `"` + strings.Repeat("x✓", 64<<10/4) + `"`
	cases := []struct{ typ, value string }{
		{api.AttachmentNote, `"héllo ✓ \"quoted\" \\ back\nline\u00e9"`},
		{api.AttachmentNote, `""`},
		{api.AttachmentFiles, `["/src/a.go", "docs/with space.md", "ünï.txt"]`},
		{api.AttachmentFiles, `[]`},
		{api.AttachmentLinks, `["https://example.com/a?b=1&c=%20", "http://localhost:7070/#/x"]`},
		{api.AttachmentResult, `{"ok": true, "n": [1, 2.5, -300, 1e-7], "nested": {"k": null, "e": {}}}`},
		{api.AttachmentResult, `  [ 1 , {"b":2,"a":1} ]  `},
		{api.AttachmentJSON, `42`},
		{api.AttachmentJSON, `null`},
		{api.AttachmentJSON, `false`},
		{api.AttachmentJSON, big},
	}
	var want []store.Attachment
	for i, c := range cases {
		a := store.Attachment{TaskID: "t-1", Key: fmt.Sprintf("k%02d", i), Type: c.typ, Value: []byte(c.value),
			CreatedAt: at(i), UpdatedAt: at(i)}
		checkAttachment(t, mustPut(t, s, a, 0), a)
		want = append(want, a)
	}
	got := mustList(t, s, "", "t-1")
	if len(got) != len(want) {
		t.Fatalf("AttachmentList = %v, want %d", attachmentNames(got), len(want))
	}
	for i := range want {
		checkAttachment(t, got[i], want[i])
	}
}

// AttachmentRace checks the attachment limit and the cascades under
// concurrency: stores are one store, or several on the same database (as
// several daemons). Goroutines putting new keys on a task one short of its
// max: exactly one wins, the others get ErrTooManyAttachments. Puts racing
// a delete of their task: none survives the delete.
func AttachmentRace(t *testing.T, stores ...store.Store) {
	ctx := t.Context()
	s := stores[0]
	const (
		rounds     = 8
		goroutines = 12
		max        = 5
	)
	for r := range rounds {
		id := taskID(r + 1)
		mustUpsert(t, s, newTask(id, 1))
		for k := range max - 1 {
			mustPut(t, s, newAttachment(id, fmt.Sprintf("k%d", k), `1`, k), max)
		}
		var won, refused atomic.Int32
		parallel(goroutines, func(g int) {
			_, err := stores[g%len(stores)].AttachmentPut(ctx, newAttachment(id, fmt.Sprintf("new%d", g), `1`, 100), max)
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, store.ErrTooManyAttachments):
				refused.Add(1)
			default:
				t.Errorf("round %d: AttachmentPut: %v", r, err)
			}
		})
		if won.Load() != 1 || refused.Load() != goroutines-1 {
			t.Errorf("round %d: %d of %d racing new keys at max-1 stored, %d refused; want 1 and %d",
				r, won.Load(), goroutines, refused.Load(), goroutines-1)
		}
		if got := mustList(t, s, "", id); len(got) != max {
			t.Errorf("round %d: the task has %d attachments, want %d", r, len(got), max)
		}
	}

	for r := range rounds {
		id := taskID(100 + r)
		mustUpsert(t, s, newTask(id, 1))
		parallel(goroutines+1, func(g int) {
			if g == goroutines {
				if err := stores[g%len(stores)].TaskDelete(ctx, id); err != nil {
					t.Errorf("round %d: TaskDelete: %v", r, err)
				}
				return
			}
			_, err := stores[g%len(stores)].AttachmentPut(ctx, newAttachment(id, fmt.Sprintf("k%d", g), `1`, g), 0)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("round %d: AttachmentPut racing a delete: %v", r, err)
			}
		})
		if got := mustList(t, s, "", id); len(got) != 0 {
			t.Errorf("round %d: attachments outlived their deleted task: %v", r, attachmentNames(got))
		}
	}
}

func testAttachmentRace(t *testing.T, s store.Store) { AttachmentRace(t, s) }
